#!/bin/sh
# restore-b-st.sh - the st part of VM test B, run in the recovery image with
# "sysrecover=run sysrecover.run=/restore-b-st.sh" (restore-b.sh adds it and scsi_debug.ko
# with --add).  /dev/nst0 is the real st driver on scsi_debug ptype=1, which keeps only
# the first 4 bytes of each block: a set written there cannot be read back whole (its
# catalog is lost), so the checks read tags, with mt-st and dd, never with sysrecover:
#  - two `sysrecover backup -t /dev/nst0` runs: the second appends after the first set
#    (positioning to the end of data on a real drive);
#  - the tape holds [label] FM [data] FM [catalog] FM twice, then EOD (README "Backup set
#    format": label and catalog records start with "SYSRECOVER");
#  - the data file of set 2 holds, record after record, the blocks of a file this script
#    tagged (block i of 512 bytes starts with "Z" and i in 3 hex digits): consecutive
#    records carry tags RECORD/512 blocks apart, in order, up to its last block;
#  - the catalog position of that file in the same backup written to a SIMH image in the
#    guest (record B of the data file) is where the real tape has it: after fsf 4 and
#    fsr B+1 (mt-st), the next record is one of the file's tagged blocks.
# Output: the VMTEST protocol of vmtest.sh (PASS/FAIL/SKIP/INFO, then DONE).
SR=/bin/sysrecover
MT=/bin/mt-st
DEV=/dev/nst0
T=/tmp/bst
RS=16384                       # record size: 32 blocks of 512 bytes
mkdir -p $T

pass() { echo "VMTEST PASS st/$1"; }
fail() { n=$1; shift; echo "VMTEST FAIL st/$n $*"; }
info() { echo "VMTEST INFO st: $*"; }
expect_eq() { if [ "x$2" = "x$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi; }
mtc() { timeout 20 $MT -f $DEV "$@" >$T/mt.out 2>&1; }

# the tag of the next record (its first 4 bytes), "" at a filemark; TAG_RC is dd's status
read_tag() {
    rm -f $T/blk
    timeout 20 dd if=$DEV of=$T/blk bs=$RS count=1 2>/dev/null
    TAG_RC=$?
    TAG=$(head -c 4 $T/blk 2>/dev/null)
}

# a file of N 512-byte blocks, block i starting with Z and i in 3 hex digits
tagged_file() { # FILE N
    : >"$1"
    i=0
    while [ $i -lt "$2" ]; do
        { printf 'Z%03x' $i; head -c 508 /dev/zero; } >>"$1"
        i=$((i + 1))
    done
}

sources() {
    mkdir -p $T/src1/d $T/src2/d
    i=0
    while [ $i -lt 40 ]; do head -c $((i * 100 + 1)) /dev/urandom >$T/src1/d/f$i; i=$((i + 1)); done
    i=0
    while [ $i -lt 60 ]; do head -c $((i * 300 + 7)) /dev/urandom >$T/src2/d/f$i; i=$((i + 1)); done
    head -c 70000 /dev/urandom >$T/src2/d/big
    tagged_file $T/src2/zzz-last 400       # 200 KiB: about 12 records
}

backup_two() {
    insmod /lib/modules/scsi_debug.ko ptype=1 delay=0 || { fail insmod "scsi_debug"; return 1; }
    i=0
    while [ ! -c $DEV ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    [ -c $DEV ] || { fail nst0 "$DEV did not appear"; return 1; }
    # no rewind first: a freshly loaded st does not know its file number,
    # and backup must find the end of data all the same
    for s in 1 2; do
        if timeout 60 $SR backup -t $DEV --record-size $RS $T/src$s >$T/bk$s.out 2>&1; then
            pass backup-set-$s
        else
            fail backup-set-$s "$(tail -n 3 $T/bk$s.out | tr '\n' ' ')"
            return 1
        fi
        info "$(tail -n 1 $T/bk$s.out)"
        # the same sets on a SIMH image, for their catalog
        timeout 60 $SR backup -t $T/twin.tap --record-size $RS $T/src$s >/dev/null 2>&1 ||
            { fail simh-twin-$s "backup to a SIMH image failed"; return 1; }
    done
}

# [label] FM [data] FM [catalog] FM, twice, then EOD, read with mt-st and dd alone
layout() {
    mtc rewind || { fail layout/rewind "$(cat $T/mt.out)"; return 1; }
    for f in 0 1 2 3 4 5; do
        read_tag
        case $f in
            0|2|3|5) expect_eq layout/file-$f-starts-with-SYSR "$TAG_RC:$TAG" "0:SYSR" ;;
            *) [ "$TAG_RC" = 0 ] && [ -n "$TAG" ] && pass layout/file-$f-has-records ||
                   fail layout/file-$f-has-records "dd $TAG_RC, tag '$TAG'" ;;
        esac
        mtc rewind; mtc fsf $((f + 1)) || { fail layout/fsf-$((f + 1)) "$(cat $T/mt.out)"; return 1; }
    done
    # after the sixth filemark: nothing more (dd reads no record)
    read_tag
    expect_eq layout/eod-after-two-sets "$(wc -c <$T/blk 2>/dev/null || echo 0)" 0
}

# The records of set 2's data file: the tagged blocks, in order, RS/512 apart
data_records() {
    mtc rewind; mtc fsf 4 || { fail data/fsf-4 "$(cat $T/mt.out)"; return 1; }
    : >$T/tags
    n=0
    while [ $n -lt 1000 ]; do
        read_tag
        [ "$TAG_RC" = 0 ] && [ -s $T/blk ] || break
        echo "$TAG" >>$T/tags
        n=$((n + 1))
    done
    info "set 2 data file: $n records"
    # the tags of the records that start inside zzz-last, as block numbers
    grep '^Z[0-9a-f][0-9a-f][0-9a-f]$' $T/tags | while read -r z; do echo $((0x${z#Z})); done >$T/zblocks
    k=$(wc -l <$T/zblocks)
    if [ "$k" -lt 10 ]; then
        fail data/tagged-records "only $k records start inside the tagged file: $(tr '\n' ' ' <$T/tags | head -c 300)"
        return 1
    fi
    prev= bad=
    while read -r b; do
        [ -z "$prev" ] || [ "$b" -eq $((prev + RS / 512)) ] || bad="$bad $prev->$b"
        prev=$b
    done <$T/zblocks
    expect_eq "data/tagged-records-in-order-$((RS / 512))-blocks-apart ($k records)" "${bad:-none}" none
    # the last one is within the file's 400 blocks, and no more than one record from its end
    [ "$prev" -lt 400 ] && [ "$prev" -ge $((400 - RS / 512)) ] && pass data/last-tagged-record ||
        fail data/last-tagged-record "block $prev of 400"
}

# the catalog of the SIMH twin's set 2: where zzz-last's pax header is (record B of the data
# file); on the real tape, fsf 4 + fsr B+1 reaches a record that starts inside zzz-last
catalog_position() {
    timeout 30 $SR tape $T/twin.tap rewind fsf 5 read $T/cat2 >/dev/null 2>&1 ||
        { fail position/twin-catalog "cannot read the SIMH twin's catalog"; return 1; }
    # index vol type flags size sha256 partition file block lblock offset path
    b=$(awk -F'\t' '$12 == "/zzz-last" { print $9 }' $T/cat2)
    case "$b" in ''|*[!0-9]*) fail position/catalog-line "no /zzz-last in: $(head -c 300 $T/cat2)"; return 1 ;; esac
    info "zzz-last: record $b of the data file (SIMH twin's catalog)"
    mtc rewind; mtc fsf 4 && mtc fsr $((b + 1)) || { fail position/mt "$(cat $T/mt.out)"; return 1; }
    read_tag
    case "$TAG" in
        Z[0-9a-f][0-9a-f][0-9a-f]) pass "position/catalog-record-on-st (record $((b + 1)) starts at block $((0x${TAG#Z})))" ;;
        *) fail position/catalog-record-on-st "record $((b + 1)) has tag '$(printf '%s' "$TAG" | tr -c '[:alnum:]' '?')'" ;;
    esac
}

sources
if backup_two; then
    layout
    data_records
    catalog_position
fi
# the byte-exact part, on tgt's tape (also /dev/nst0 once scsi_debug is gone)
rmmod scsi_debug
[ -x /restore-b-tgt.sh ] && /restore-b-tgt.sh
echo "VMTEST DONE"
exit 0
