#!/bin/sh
# tape-suite.sh — runs inside the test VM (see init.sh) against /dev/nst0, which is
# the real st driver on scsi_debug ptype=1.
#
#  a. `sysrecover tape /dev/nst0 test` (the built-in self-test); each of its
#     PASS/FAIL/SKIP lines becomes a VMTEST line named tape-test/<name>.
#  b. a verb suite: every mt-compatible verb of `sysrecover tape DEV VERB [ARG]` is run
#     and its effect cross-checked with mt-st's `mt` (an independent implementation):
#     file/block number, partition, block size, BOT/EOF/EOD flags, `tell`, and the
#     4-byte tag at the start of the block read next (scsi_debug keeps only the first
#     4 bytes of each block, so every test block is tagged).
#  c. "VMTEST DONE" at the end; the host treats a missing DONE as a crash.
#
# Output protocol (one line each): VMTEST PASS <name> | VMTEST FAIL <name> <detail> |
# VMTEST SKIP <name> <why> | VMTEST INFO <text> | VMTEST DONE
#
# NB: busybox sh runs its own applets before searching PATH, and busybox has an `mt`
# applet, so mt-st is always called by its full path.

SR=/bin/sysrecover
MT=/bin/mt-st
DEV=/dev/nst0
SCSI_DEBUG_ARGS="ptype=1 delay=0"   # delay=0: answer at once (default 1 jiffy per command)
T=/tmp/suite
mkdir -p $T

pass() { echo "VMTEST PASS $1"; }
fail() { n=$1; shift; echo "VMTEST FAIL $n $*"; }
skip() { n=$1; shift; echo "VMTEST SKIP $n $*"; }
info() { echo "VMTEST INFO $*"; }

# ------------------------------------------------------------------ helpers

# fresh tape: scsi_debug keeps its tape in memory per device; reloading the module
# gives a blank tape (and a new st instance with default options).
reset_tape() {
    rmmod scsi_debug 2>/dev/null
    i=0
    while [ -e $DEV ] && [ $i -lt 50 ]; do sleep 0.05; i=$((i + 1)); done
    insmod /lib/modules/scsi_debug.ko $SCSI_DEBUG_ARGS || { fail "$1/reset" "insmod scsi_debug failed"; return 1; }
    i=0
    while [ ! -c $DEV ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    [ -c $DEV ] || { fail "$1/reset" "$DEV did not come back"; return 1; }
    timeout 20 $MT -f $DEV rewind >/dev/null 2>&1 || { fail "$1/reset" "mt rewind failed"; return 1; }
}

# a file of N 512-byte blocks, block b starting with the 4-byte tag <P><b> (P two chars)
mkblocks() { # PREFIX N FILE
    : > "$3"
    b=0
    while [ $b -lt "$2" ]; do
        { printf '%s%02d' "$1" $b; head -c 508 /dev/zero; } >> "$3"
        b=$((b + 1))
    done
}

# Standard layout, written with dd + mt-st only (each dd closes the device, and st
# writes a filemark on close after writing):
#   file 0: A000 A001 A002 | FM | file 1: B000 B001 | FM | file 2: C000..C003 | FM | EOD
#   logical block addresses (MTIOCPOS, filemarks count): A0=0 A1=1 A2=2 FM=3 B0=4
#   B1=5 FM=6 C0=7 .. C3=10 FM=11 EOD=12
write_layout() {
    mkblocks A0 3 $T/f0; mkblocks B0 2 $T/f1; mkblocks C0 4 $T/f2
    timeout 20 $MT -f $DEV rewind >/dev/null 2>&1
    for f in f0 f1 f2; do
        timeout 20 dd if=$T/$f of=$DEV bs=512 2>/dev/null || { fail "$1/layout" "dd write failed"; return 1; }
    done
    timeout 20 $MT -f $DEV rewind >/dev/null 2>&1
}

# sr VERB [ARG]: run sysrecover; output in $T/sr.out, exit code in SR_RC
sr() {
    timeout 20 $SR tape $DEV "$@" > $T/sr.out 2> $T/sr.err
    SR_RC=$?
    cat $T/sr.err >> $T/sr.out
}
# mtc ARGS: run mt-st; output in $T/mt.out, exit code in MT_RC
mtc() { timeout 20 $MT -f $DEV "$@" > $T/mt.out 2>&1; MT_RC=$?; return $MT_RC; }

# parse mt-style status text (file $1) into ${2}_FILE _BLOCK _PART _BS _FLAGS
# shellcheck disable=SC2034  # f b p bs fl are used through eval
parse_status() {
    line=$(grep -o 'File number=-\{0,1\}[0-9]*, block number=-\{0,1\}[0-9]*, partition=[0-9]*' "$1" | head -n 1)
    f=$(echo "$line" | sed -n 's/.*File number=\(-\{0,1\}[0-9]*\),.*/\1/p')
    b=$(echo "$line" | sed -n 's/.*block number=\(-\{0,1\}[0-9]*\),.*/\1/p')
    p=$(echo "$line" | sed -n 's/.*partition=\([0-9]*\).*/\1/p')
    bs=$(sed -n 's/.*[Bb]lock size \([0-9]*\) bytes.*/\1/p' "$1" | head -n 1)
    fl=
    for tok in $(cat "$1"); do
        case "$tok" in
            BOT|EOF|EOD|EOT|WR_PROT|ONLINE|DR_OPEN) case " $fl " in *" $tok "*) ;; *) fl="$fl $tok" ;; esac ;;
        esac
    done
    fl=$(for x in $fl; do echo $x; done | sort | tr '\n' ' ' | sed 's/ $//')
    eval "${2}_FILE=\$f ${2}_BLOCK=\$b ${2}_PART=\$p ${2}_BS=\$bs ${2}_FLAGS=\"\$fl\""
}

mt_status() { mtc status; cp $T/mt.out $T/mtstat.out; parse_status $T/mtstat.out MT; }
mt_tell() { mtc tell; MT_TELL=$(grep -o 'At block -\{0,1\}[0-9]*' $T/mt.out | sed 's/At block //'); }

# read one block with dd; TAG = its first 4 bytes ("" for a filemark / EOD / error),
# TAG_RC = dd's exit code (0 for a block and for a filemark, not for an error)
read_tag() {
    rm -f $T/blk
    timeout 20 dd if=$DEV of=$T/blk bs=65536 count=1 2>/dev/null
    TAG_RC=$?
    TAG=$(head -c 4 $T/blk 2>/dev/null)
}

has_flag() { case " $2 " in *" $1 "*) return 0 ;; esac; return 1; }

# ---- assertions (each prints exactly one VMTEST line)
expect_rc0() { # NAME
    if [ "$SR_RC" = 0 ]; then pass "$1"; else fail "$1" "exit $SR_RC: $(head -c 200 $T/sr.out | tr '\n' ' ')"; fi
}
expect_rcnz() { # NAME: the verb must report failure
    if [ "$SR_RC" != 0 ]; then pass "$1"; else fail "$1" "exit 0, expected a failure exit"; fi
}
expect_eq() { # NAME GOT WANT
    if [ "x$2" = "x$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi
}
expect_pos() { # NAME FILE BLOCK  (per mt-st status)
    mt_status
    expect_eq "$1" "file=$MT_FILE block=$MT_BLOCK" "file=$2 block=$3"
}
expect_flag() { # NAME FLAG
    if has_flag "$2" "$MT_FLAGS"; then pass "$1"; else fail "$1" "mt status flags '$MT_FLAGS' lack $2"; fi
}
expect_tell() { # NAME N
    mt_tell
    expect_eq "$1" "$MT_TELL" "$2"
}
expect_tag() { # NAME WANT: reads one block
    read_tag
    expect_eq "$1" "$TAG" "$2"
}
# the next read meets a filemark: dd reads nothing AND succeeds (an I/O
# error also reads nothing, and must not pass for a filemark)
expect_filemark() { # NAME
    read_tag
    if [ "$TAG_RC" = 0 ] && [ -z "$TAG" ]; then pass "$1"
    else fail "$1" "dd exit $TAG_RC, read '$TAG'; want a filemark (exit 0, no data)"; fi
}
# `sysrecover tape DEV status` must agree with `mt status` on every field
expect_status_agrees() { # NAME
    sr status
    if [ "$SR_RC" != 0 ]; then fail "$1" "status exit $SR_RC: $(head -c 200 $T/sr.out | tr '\n' ' ')"; return; fi
    cp $T/sr.out $T/srstat.out
    parse_status $T/srstat.out S
    mt_status
    got="file=$S_FILE block=$S_BLOCK part=$S_PART bs=$S_BS flags=[$S_FLAGS]"
    want="file=$MT_FILE block=$MT_BLOCK part=$MT_PART bs=$MT_BS flags=[$MT_FLAGS]"
    expect_eq "$1" "$got" "$want"
}
# `sysrecover tape DEV tell` must print what `mt tell` prints
expect_tell_agrees() { # NAME
    sr tell
    srt=$(grep -o 'At block -\{0,1\}[0-9]*\.' $T/sr.out | head -n 1)
    mtc tell
    mtt=$(grep -o 'At block -\{0,1\}[0-9]*\.' $T/mt.out | head -n 1)
    if [ "$SR_RC" != 0 ]; then fail "$1" "tell exit $SR_RC"; return; fi
    [ -n "$mtt" ] || { fail "$1" "mt tell printed nothing usable: $(cat $T/mt.out)"; return; }
    expect_eq "$1" "$srt" "$mtt"
}

# ------------------------------------------------------------------ a. self-test

# run the self-test (extra options in $1), turning its lines into VMTEST lines
run_selftest() {
    timeout 90 $SR tape $1 $DEV test > $T/selftest.out 2> $T/selftest.err
    ST_RC=$?
    sed 's/^/selftest: /' $T/selftest.out $T/selftest.err
    ST_PASS=0 ST_FAIL=0
    while IFS= read -r line; do
        case "$line" in
            "PASS "*) rest=${line#PASS }; name=${rest%%:*}
                      pass "tape-test/$name"; ST_PASS=$((ST_PASS + 1)) ;;
            "FAIL "*) rest=${line#FAIL }; name=${rest%%:*}; detail=${rest#*:}
                      [ "$detail" = "$rest" ] && detail=
                      fail "tape-test/$name" "${detail# }"; ST_FAIL=$((ST_FAIL + 1)) ;;
            "SKIP "*) rest=${line#SKIP }; name=${rest%%:*}; detail=${rest#*:}
                      [ "$detail" = "$rest" ] && detail=
                      skip "tape-test/$name" "${detail# }" ;;
        esac
    done < $T/selftest.out
}

selftest() {
    reset_tape tape-test || return
    # a blank tape must be accepted without --force
    run_selftest ""
    if [ $ST_PASS -eq 0 ] && [ $ST_FAIL -eq 0 ] && [ $ST_RC -ne 0 ]; then
        fail tape-test/blank-accepted "refused a blank tape (exit $ST_RC): $(cat $T/selftest.out $T/selftest.err | tr '\n' ' ' | head -c 200)"
        info "running the self-test again with --force"
        reset_tape tape-test || return
        run_selftest --force
    else
        pass tape-test/blank-accepted
    fi
    if [ $ST_RC -eq 124 ] || [ $ST_RC -eq 143 ]; then
        fail tape-test/finished "timed out after 90 s"
    elif [ $ST_PASS -eq 0 ] && [ $ST_FAIL -eq 0 ]; then
        fail tape-test/ran "no PASS/FAIL lines (exit $ST_RC): $(head -c 200 $T/selftest.err | tr '\n' ' ')"
    elif [ $ST_FAIL -gt 0 ] && [ $ST_RC -eq 0 ]; then
        fail tape-test/exit-status "exit 0 although $ST_FAIL check(s) failed"
    elif [ $ST_FAIL -eq 0 ] && [ $ST_RC -ne 0 ]; then
        fail tape-test/exit-status "exit $ST_RC although no check failed"
    else
        pass tape-test/exit-status
    fi

    # a tape holding data must be refused without --force, and left intact
    reset_tape tape-test || return
    write_layout tape-test || return
    sr test
    expect_rcnz tape-test/refuses-data-without-force
    mtc rewind
    expect_tag tape-test/data-left-intact A000
}

# ------------------------------------------------------------------ b. verb suite

verbs() {
    V=verb
    reset_tape $V || return
    write_layout $V || return

    # status at BOT
    mtc rewind
    expect_status_agrees $V/status/bot
    mt_status; expect_flag $V/status/bot-flag BOT
    expect_tell_agrees $V/tell/bot

    # fsf
    sr fsf 1;     expect_rc0 $V/fsf/exit
    expect_pos    $V/fsf/position 1 0
    expect_flag   $V/fsf/eof-flag EOF
    expect_status_agrees $V/status/after-fsf
    expect_tell   $V/fsf/tell 4
    expect_tell_agrees $V/tell/after-fsf
    expect_tag    $V/fsf/next-block B000

    # rewind
    sr rewind;    expect_rc0 $V/rewind/exit
    expect_pos    $V/rewind/position 0 0
    expect_flag   $V/rewind/bot-flag BOT
    expect_tag    $V/rewind/next-block A000

    # fsr / bsr
    mtc rewind
    sr fsr 2;     expect_rc0 $V/fsr/exit
    expect_pos    $V/fsr/position 0 2
    expect_tell_agrees $V/tell/after-fsr
    expect_tag    $V/fsr/next-block A002
    sr bsr 2;     expect_rc0 $V/bsr/exit
    expect_pos    $V/bsr/position 0 1
    expect_status_agrees $V/status/after-bsr
    expect_tag    $V/bsr/next-block A001

    # fsf 2, then bsf 1 (lands before the filemark ending file 1)
    mtc rewind
    sr fsf 2;     expect_rc0 $V/fsf2/exit
    expect_pos    $V/fsf2/position 2 0
    expect_tell   $V/fsf2/tell 7
    sr bsf 1;     expect_rc0 $V/bsf/exit
    expect_tell   $V/bsf/tell 6
    mt_status;    expect_eq $V/bsf/file "$MT_FILE" 1
    expect_status_agrees $V/status/after-bsf
    expect_filemark $V/bsf/reads-filemark
    expect_pos    $V/bsf/after-filemark 2 0

    # eod
    mtc rewind
    sr eod;       expect_rc0 $V/eod/exit
    mt_status;    expect_flag $V/eod/eod-flag EOD
    expect_tell   $V/eod/tell 12
    expect_status_agrees $V/status/at-eod
    expect_tell_agrees $V/tell/at-eod

    # seek / tell
    sr seek 5;    expect_rc0 $V/seek/exit
    expect_tell   $V/seek/tell 5
    expect_tell_agrees $V/tell/after-seek
    expect_tag    $V/seek/next-block B001
    sr seek 8;    expect_rc0 $V/seek2/exit
    expect_tag    $V/seek2/next-block C001
    sr tell;      expect_rc0 $V/tell/exit
    expect_eq     $V/tell/output "$(grep -o 'At block -\{0,1\}[0-9]*\.' $T/sr.out | head -n 1)" "At block 9."

    # errors must be reported
    mtc rewind
    sr bsr 1;     expect_rcnz $V/bsr-at-bot/fails
    expect_pos    $V/bsr-at-bot/position 0 0
    sr bsf 1;     expect_rcnz $V/bsf-at-bot/fails
    mtc rewind
    sr fsf 5;     expect_rcnz $V/fsf-past-eod/fails
    mt_status;    expect_flag $V/fsf-past-eod/eod-flag EOD
    mtc rewind
    sr fsr 5;     expect_rcnz $V/fsr-over-filemark/fails
    expect_pos    $V/fsr-over-filemark/position 1 0
    sr seek 40;   expect_rcnz $V/seek-past-eod/fails
    sr frobnicate; expect_rcnz $V/unknown-verb/fails

    # weof at EOD, then the tape holds two more (empty) files.  (Rewind first: after
    # a seek st no longer knows the file number, and MTEOM keeps it unknown.)
    mtc rewind; mtc eod
    sr weof 2;    expect_rc0 $V/weof/exit
    expect_pos    $V/weof/position 5 0
    mt_status;    expect_flag $V/weof/eof-flag EOF
    expect_status_agrees $V/status/after-weof
    expect_tell   $V/weof/tell 14
    mtc rewind; mtc eod
    expect_tell   $V/weof/eod-after 14
    mtc rewind
    sr fsf 4;     expect_rc0 $V/weof/fsf-into-new-file
    expect_filemark $V/weof/new-file-empty

    # weof in the middle truncates: rewind, fsr 1, weof 1 -> A000 | FM | EOD
    mtc rewind; mtc fsr 1
    sr weof 1;    expect_rc0 $V/weof-mid/exit
    mtc rewind; mtc eod
    expect_tell   $V/weof-mid/truncated 2

    # setblk
    write_layout $V
    sr setblk 1024; expect_rc0 $V/setblk/exit
    mt_status;    expect_eq $V/setblk/mt-blocksize "$MT_BS" 1024
    expect_status_agrees $V/status/fixed-1024
    sr setblk 100; expect_rcnz $V/setblk-invalid/fails
    mt_status;    expect_eq $V/setblk-invalid/unchanged "$MT_BS" 1024
    sr setblk 0;  expect_rc0 $V/setblk0/exit
    mt_status;    expect_eq $V/setblk0/mt-blocksize "$MT_BS" 0

    # compression (scsi_debug implements the compression mode page)
    sr compression 1; expect_rc0 $V/compression-on/exit
    sr compression 0; expect_rc0 $V/compression-off/exit

    # lock / unlock leave the position alone
    mtc rewind; mtc fsr 2
    sr lock;      expect_rc0 $V/lock/exit
    expect_tell   $V/lock/position 2
    sr unlock;    expect_rc0 $V/unlock/exit
    expect_tell   $V/unlock/position 2

    # tension (retension) ends at BOT
    sr tension;   expect_rc0 $V/tension/exit
    expect_pos    $V/tension/position 0 0
    mt_status;    expect_flag $V/tension/bot-flag BOT

    # erase from file 1: file 0 stays, the rest is gone
    mtc rewind; mtc fsf 1
    sr erase;     expect_rc0 $V/erase/exit
    mtc rewind
    expect_tag    $V/erase/file0-kept A000
    mtc eod
    expect_tell   $V/erase/eod 4

    # unload / load (open with O_NONBLOCK is needed while no tape is loaded)
    write_layout $V
    mtc fsr 1
    sr unload;    expect_rc0 $V/unload/exit
    # a fresh open of an unloaded drive: st reports neither ONLINE nor BOT
    mt_status
    if [ "$MT_RC" != 0 ]; then
        fail $V/unload/offline "mt status failed (exit $MT_RC): $(head -c 200 $T/mtstat.out | tr '\n' ' ')"
    elif has_flag ONLINE "$MT_FLAGS"; then
        fail $V/unload/offline "mt status flags '$MT_FLAGS' still show ONLINE"
    else pass $V/unload/offline; fi
    sr load;      expect_rc0 $V/load/exit
    mt_status
    expect_flag   $V/load/online ONLINE
    expect_eq     $V/load/position "file=$MT_FILE block=$MT_BLOCK" "file=0 block=0"
    if ! has_flag ONLINE "$MT_FLAGS"; then
        # recover with mt-st so that the checks after this one still mean something
        # (a plain open of an unloaded drive blocks for about 120 s)
        info "load failed; reloading the tape with mt-st"
        mtc load
    fi
    expect_tag    $V/load/data-kept A000

    # partitions (st needs MT_ST_CAN_PARTITIONS; mkpartition by mt-st, switch by us)
    reset_tape $V-part || return
    mtc stsetoptions can-partitions && mtc mkpartition 1
    if [ $? -ne 0 ]; then
        skip $V/partition "mt-st could not create partition 1: $(tr '\n' ' ' < $T/mt.out)"
    else
        sr partition 1; expect_rc0 $V/partition1/exit
        mt_status;    expect_eq $V/partition1/mt-partition "$MT_PART" 1
        expect_status_agrees $V/status/partition1
        mkblocks P1 2 $T/p1
        dd if=$T/p1 of=$DEV bs=512 2>/dev/null
        expect_tell_agrees $V/tell/partition1
        sr partition 0; expect_rc0 $V/partition0/exit
        mt_status;    expect_eq $V/partition0/mt-partition "$MT_PART" 0
        mkblocks P0 1 $T/p0
        dd if=$T/p0 of=$DEV bs=512 2>/dev/null
        sr partition 1; expect_rc0 $V/partition1-again/exit
        mtc rewind
        expect_tag    $V/partition1/data P100
        mtc setpartition 0; mtc rewind
        expect_tag    $V/partition0/data P000
    fi
}

# The rewinding node works, and says that positioning will not last.
rewinding() {
    RW=$(echo "$DEV" | sed 's|/nst|/st|')
    if [ -e "$RW" ] && timeout 20 $SR tape "$RW" status > $T/rw.out 2>&1; then
        if grep -q 'rewinds when closed' $T/rw.out; then pass verbs/rewinding-node-warns
        else fail verbs/rewinding-node-warns "no warning: $(head -c 200 $T/rw.out | tr '\n' ' ')"; fi
    else
        fail verbs/rewinding-node-warns "$RW status failed: $(head -c 200 $T/rw.out 2>/dev/null | tr '\n' ' ')"
    fi
}

selftest
verbs
rewinding
echo "VMTEST DONE"
