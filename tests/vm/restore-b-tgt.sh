#!/bin/sh
# restore-b-tgt.sh - the byte-exact part of VM test B, run in the guest after
# restore-b-st.sh: tgt's tape emulation (which keeps every byte, unlike scsi_debug) as
# an iSCSI target on the guest's loopback, behind the real st driver (/dev/nst0).
# The tape files of /b/twin.tap (two sets, written on the host by `sysrecover backup
# --record-size 64k`) are copied to /dev/nst0 record by record with dd (tgt 1.0.85 has no
# READ POSITION, which `sysrecover backup` needs on a real drive; see
# /work/shared/reference/tgt-tape-notes.md), then through st:
#  - a full restore of set 2 (spaces over set 1) into a directory: sha256sum of every
#    file against /b/src2.sha256, which the host's sha256sum made from the source;
#  - a selective restore of /zzz-last, the last member: it spaces over the records before
#    it (the --json counts: more than 20 spaced over, at most 20 read), same sha256.
# Output: the VMTEST protocol (PASS/FAIL/INFO; restore-b-st.sh says DONE after this).
SR=/bin/sysrecover
DEV=/dev/nst0
T=/tmp/btgt
RS=65536
IQN=iqn.2026-11.test.sysrecover:tape
mkdir -p $T /tape /run/lock/iscsi /etc/iscsi/nodes /var/lib/iscsi
dmesg -c >/dev/null      # the block limits read below are this drive's, not scsi_debug's
[ -e /var/run ] || ln -s /run /var/run     # tgtd's and iscsid's sockets

pass() { echo "VMTEST PASS tgt/$1"; }
fail() { n=$1; shift; echo "VMTEST FAIL tgt/$n $*"; }
info() { echo "VMTEST INFO tgt: $*"; }

# tgtd with one tape LUN, and the kernel's iSCSI initiator logged in to it over lo
tgt_up() {
    ip link set lo up
    tgtimg --op new --device-type tape --barcode SR0001 --size 16 --type data --file /tape/t.img \
        >$T/tgt.out 2>&1 || { fail tgtimg "$(cat $T/tgt.out)"; return 1; }
    tgtd -f --iscsi portal=127.0.0.1:3260 >$T/tgtd.log 2>&1 &
    i=0
    until tgtadm --op show --mode sys >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 100 ] || { fail tgtd "did not start: $(cat $T/tgtd.log)"; return 1; }
        sleep 0.1
    done
    tgtadm --lld iscsi --mode target --op new --tid 1 -T $IQN &&
        tgtadm --lld iscsi --mode logicalunit --op new --tid 1 --lun 1 --device-type tape --bstype ssc -b /tape/t.img &&
        tgtadm --lld iscsi --mode target --op bind --tid 1 -I 127.0.0.1 ||
        { fail tgtadm "the target could not be made"; return 1; }
    echo "InitiatorName=iqn.2026-11.test.sysrecover:guest" >/etc/iscsi/initiatorname.iscsi
    iscsid -f >$T/iscsid.log 2>&1 &
    # iscsiadm fails until iscsid listens: try for up to 10 s (a loaded host is slow)
    i=0
    until iscsiadm -m discovery -t st -p 127.0.0.1 >$T/disc.out 2>&1; do
        i=$((i + 1)); [ $i -lt 50 ] || { fail iscsi-discovery "$(tail -n 3 $T/disc.out | tr '\n' ' ')"; return 1; }
        sleep 0.2
    done
    iscsiadm -m node -T $IQN -p 127.0.0.1 --login >$T/login.out 2>&1 ||
        { fail iscsi-login "$(tail -n 3 $T/login.out | tr '\n' ' ')"; return 1; }
    i=0
    while [ ! -c $DEV ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    [ -c $DEV ] || { fail nst0 "$DEV did not appear"; return 1; }
    pass tape-up
}

# the six tape files of the SIMH image onto the st tape, each record as it is
copy_sets() {
    mt-st -f $DEV rewind || { fail copy/rewind "mt rewind"; return 1; }
    for f in 0 1 2 3 4 5; do
        $SR tape /b/twin.tap rewind fsf $f read $T/file >$T/rd.out 2>&1 ||
            { fail copy/read-$f "$(cat $T/rd.out)"; return 1; }
        # st writes a filemark when the device is closed after writing
        dd if=$T/file of=$DEV bs=$RS 2>$T/dd.out || { fail copy/write-$f "$(cat $T/dd.out)"; return 1; }
    done
    rm -f $T/file
    pass copy-two-sets
}

# sha256sum of every file under DIR, as the host made /b/src2.sha256
sums() { # DIR
    (cd "$1" && find . -type f | LC_ALL=C sort | xargs sha256sum)
}

# A restore that st refused because it reads more than the drive's largest block: sysrecover
# reads every record with a 16 MiB - 1 buffer, whatever the drive says (reported, to be
# fixed in recovery/restore).  Only exactly that is a SKIP; any other failure is a FAIL,
# and once the restore reads within the limit these checks run and must pass.
over_limit() { # OUTPUT-FILE
    # st logs the limits (READ BLOCK LIMITS; tgt: 1 MiB) at the first open
    LIMITS=$(dmesg | sed -n 's/.*\[st0\] Block limits \([0-9]*\) - \([0-9]*\) bytes.*/\1 \2/p' | tail -n 1)
    max=${LIMITS#* }
    [ -n "$max" ] && [ "$max" -lt 16777215 ] &&
        grep -q 'read of 16777215 bytes from /dev/nst0: Invalid argument' "$1"
}

restores() {
    mkdir -p $T/full $T/sel
    if timeout 120 $SR restore -t $DEV --set 2 --to v0=$T/full >$T/full.out 2>&1; then
        pass full-restore
    elif over_limit $T/full.out; then
        echo "VMTEST SKIP tgt/restore sysrecover restore reads 16777215 bytes per record, over the drive's limit of ${LIMITS#* } (st: EINVAL)"
        return 0
    else
        fail full-restore "$(tail -n 3 $T/full.out | tr '\n' ' ')"
    fi
    info "$(tail -n 1 $T/full.out)"
    sums $T/full >$T/full.sha256
    n=$(wc -l </b/src2.sha256)
    if [ "$n" -gt 50 ] && cmp -s /b/src2.sha256 $T/full.sha256; then
        pass "full-restore-sha256 ($n files)"
    else
        fail full-restore-sha256 "$(diff /b/src2.sha256 $T/full.sha256 | head -n 4 | tr '\n' ' ')"
    fi

    timeout 120 $SR restore -t $DEV --set 2 --json --to v0=$T/sel 'v0/zzz-last' >$T/sel.out 2>&1 ||
        fail selective-restore "$(tail -n 3 $T/sel.out | tr '\n' ' ')"
    skipped=$(sed -n 's/.*"records_skipped": \([0-9]*\).*/\1/p' $T/sel.out)
    readn=$(sed -n 's/.*"records_read": \([0-9]*\).*/\1/p' $T/sel.out)
    info "selective restore of /zzz-last: spaced over ${skipped:-?} records, read ${readn:-?}"
    [ "${skipped:-0}" -gt 20 ] && [ "${readn:-999}" -le 20 ] && pass selective-spaced ||
        fail selective-spaced "spaced over ${skipped:-?}, read ${readn:-?}: $(head -c 300 $T/sel.out)"
    want=$(grep ' ./zzz-last$' /b/src2.sha256 | cut -d' ' -f1)
    got=$(sha256sum <$T/sel/zzz-last 2>/dev/null | cut -d' ' -f1)
    [ -n "$want" ] && [ "$got" = "$want" ] && pass selective-sha256 ||
        fail selective-sha256 "got '$got', want '$want'"
    only=$(cd $T/sel && find . -type f | wc -l)
    [ "$only" = 1 ] && pass selective-only-that || fail selective-only-that "$only files restored"
}

if tgt_up && copy_sets; then
    restores
fi
