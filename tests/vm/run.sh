#!/bin/bash
# run.sh — the QEMU VM test: the real st tape driver, and srdelayed applying a
# queue at boot on a real block device.
#
# Usage: tests/vm/run.sh BUILD_DIR/sysrecover
#
# Fetches (cached) a Debian trixie-backports kernel >= 6.16 with fetch-kernel.sh, builds
# an initramfs (build-initramfs.sh) holding busybox, the given sysrecover binary, mt-st
# and the st/scsi_debug/virtio_blk modules, boots it under QEMU with software emulation
# (TCG; KVM is not usable here), and parses the "VMTEST ..." lines that /init (init.sh),
# tape-suite.sh and srd-suite.sh print on the serial console.  A virtio disk holds an
# ext4 volume with a native srdelayed queue: the VM applies it without being told where
# it is, and the disk is checked on the host afterwards (debugfs, e2fsck).
#
# Writes BUILD_DIR/vm/initramfs.cpio.gz and BUILD_DIR/vm/console.log (the full console,
# with the kernel log at the end).  Prints every check, then as its last line
#     vm: N passed, N failed, N skipped
# and exits 0 only when nothing failed, at least one check passed and the VM reported
# VMTEST DONE.  A kernel that cannot be fetched is a failure, not a skip.  Result
# lines are tests/lib/check.sh's, behind "vm: " (tests/run-all.sh counts them).
#
# Environment: SYSRECOVER_VM_TIMEOUT (seconds for the whole VM run, default 150),
# SYSRECOVER_VM_APPEND (extra kernel command-line words), and those of fetch-kernel.sh
# (SYSRECOVER_CACHE, SYSRECOVER_VM_KERNEL, SYSRECOVER_VM_OFFLINE, ...).
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TIMEOUT=${SYSRECOVER_VM_TIMEOUT:-150}
# shellcheck source=../lib/check.sh
. "$HERE/../lib/check.sh"
CHECK_PREFIX="vm: "

fatal() {
    echo "vm: ERROR: $*" >&2
    bad vm/setup "$*"
    echo "vm: $(counts)"
    exit 1
}

[ $# -eq 1 ] || fatal "usage: $0 BUILD_DIR/sysrecover"
SR=$1
[ -f "$SR" ] && [ -x "$SR" ] || fatal "sysrecover binary '$SR' not found or not executable"
BUILD_DIR=$(cd "$(dirname "$SR")" && pwd)
OUT=$BUILD_DIR/vm
mkdir -p "$OUT" || fatal "cannot create $OUT"
LOG=$OUT/console.log
INITRD=$OUT/initramfs.cpio.gz

# Debian packages this needs: qemu-system-x86 busybox-static mt-st cpio xz-utils e2fsprogs
# debian-archive-keyring (plus apt, dpkg, util-linux, coreutils, gzip: always present)
missing=
for tool in qemu-system-x86_64:qemu-system-x86 busybox:busybox-static mt-st:mt-st \
            cpio:cpio xz:xz-utils dpkg-deb:dpkg apt-get:apt flock:util-linux; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || missing="$missing ${tool#*:}"
done
[ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || missing="$missing debian-archive-keyring"
[ -z "$missing" ] || fatal "missing tools; apt-get install$missing"
QEMU=$(command -v qemu-system-x86_64)

t0=$(date +%s)
KDIR=$("$HERE/fetch-kernel.sh" virtio_blk | tail -n 1)
[ -n "$KDIR" ] && [ -s "$KDIR/vmlinuz" ] || fatal "could not fetch the test kernel (see fetch-kernel messages above)"
"$HERE/build-initramfs.sh" "$INITRD" "$KDIR" "$SR" || fatal "could not build the initramfs"

# A virtio disk: ext4 with a native srdelayed queue, applied in the VM by
# srd-suite.sh (which names no volume: it must find this one), checked below.
DISK=$OUT/srd-disk.img
T=$(printf '\t')
rm -rf "$OUT/srd-tree" "$DISK"
mkdir -p "$OUT/srd-tree/d" "$OUT/srd-tree/var/lib/sysrecover"
echo moved >"$OUT/srd-tree/a"; echo gone >"$OUT/srd-tree/d/x"
printf '%s\n' "MoveFile${T}/a${T}/b${T}NotExecuted" "DeleteFile${T}Unused${T}/d/x${T}NotExecuted" \
    "DeleteFile${T}Unused${T}/d${T}NotExecuted" >"$OUT/srd-tree/var/lib/sysrecover/srdelayed.queue"
mke2fs -q -t ext4 -d "$OUT/srd-tree" "$DISK" 16M >/dev/null || fatal "cannot make $DISK"
t1=$(date +%s)

# -accel tcg always: -enable-kvm fails on these machines.  -nic none: no NIC option ROM.
timeout --kill-after=10 "$TIMEOUT" "$QEMU" -accel tcg -cpu max -m 512 -smp 1 \
    -nographic -no-reboot -nic none \
    -kernel "$KDIR/vmlinuz" -initrd "$INITRD" \
    -drive file="$DISK",format=raw,if=virtio \
    -append "console=ttyS0 panic=-1 quiet ${SYSRECOVER_VM_APPEND:-}" \
    < /dev/null > "$LOG" 2>&1
qrc=$?
t2=$(date +%s)

# The guest's lines: "VMTEST PASS name", "VMTEST FAIL name detail",
# "VMTEST SKIP name why", "VMTEST INFO text", "VMTEST DONE".
done_seen=0
while IFS= read -r line; do
    case "$line" in
        "VMTEST PASS "*) ok "${line#VMTEST PASS }" ;;
        "VMTEST FAIL "*) r=${line#VMTEST FAIL }; bad "${r%% *}" "$([ "$r" = "${r#* }" ] || echo "${r#* }")" ;;
        "VMTEST SKIP "*) r=${line#VMTEST SKIP }; skip "${r%% *}" "$([ "$r" = "${r#* }" ] || echo "${r#* }")" ;;
        "VMTEST INFO "*) echo "vm: INFO ${line#VMTEST INFO }" ;;
        "VMTEST DONE"*)  done_seen=1 ;;
    esac
done < <(tr -d '\r' < "$LOG" | sed -n 's/^.*\(VMTEST \(PASS\|FAIL\|SKIP\|INFO\|DONE\).*\)$/\1/p')

if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
    bad vm/timeout "the VM did not finish within ${TIMEOUT}s"
elif [ $qrc -ne 0 ]; then
    bad vm/qemu "qemu exited with status $qrc: $(grep -a -m1 -i 'qemu' "$LOG")"
fi
if [ $done_seen -eq 0 ]; then
    bad vm/done "no 'VMTEST DONE' (the VM crashed or the suite died)"
    echo "vm: last console lines:"
    tr -d '\r' < "$LOG" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | grep -av '^dmesg: ' | tail -n 15 | sed 's/^/vm:   | /'
fi

# The disk, read by e2fsprogs on the host after the VM applied its queue.
# Each check needs the tool to have read the disk: an empty or failed listing
# is a FAIL, never an absence.
if out b debugfs -R 'cat /b' "$DISK"; then is srd/moved "$b" moved; fi
if out root debugfs -R 'ls -p /' "$DISK"; then
    # "ls -p" lines are /inode/mode/uid/gid/name/size/
    names=" $(printf '%s\n' "$root" | awk -F/ 'NF > 6 { print $6 }' | tr '\n' ' ')"
    case "$names" in
        *" var "*)
            case "$names" in
                *" d "*) bad srd/deleted-file-and-dir "/d is still there:$names" ;;
                *) ok srd/deleted-file-and-dir ;;
            esac ;;
        *) bad srd/deleted-file-and-dir "debugfs did not list the root directory: $(printf '%s' "$root" | head -c 200)" ;;
    esac
fi
if out applied debugfs -R 'cat /var/lib/sysrecover/srdelayed.queue.applied' "$DISK"; then
    is srd/statuses "$(printf '%s\n' "$applied" | grep -c 'SC=00000000')" 3
fi
check srd/e2fsck-clean e2fsck -fn "$DISK"

if [ "$passes" -eq 0 ]; then
    bad vm/ran "no check passed"
fi

echo "vm: INFO kernel $(cat "$KDIR/VERSION" 2>/dev/null), prepare $((t1 - t0))s, VM run $((t2 - t1))s, console log $LOG"
echo "vm: $(counts)"
finish
