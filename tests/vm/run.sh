#!/bin/bash
# run.sh — the QEMU VM tests: the real st tape driver, srdelayed applying a queue at boot
# on a real block device, and the product recovery image (initramfs/build.sh, /init).
#
# Usage: tests/vm/run.sh BUILD_DIR/sysrecover
#
# Fetches (cached) a Debian trixie-backports kernel >= 6.16 and its modules tree with
# fetch-kernel.sh --tree, and boots it under QEMU with software emulation (TCG; KVM is not
# usable here), with images made by the product builder
# initramfs/build.sh:
#  1. the suites: the image plus vmtest.sh, tape-suite.sh, srd-suite.sh and scsi_debug.ko
#     (--add), booted with "sysrecover=run sysrecover.run=/vmtest.sh": the real st driver on
#     scsi_debug, and a virtio ext4 disk whose native srdelayed queue the VM applies without
#     being told where it is (checked on the host afterwards with debugfs and e2fsck).
#     The "VMTEST ..." lines of vmtest.sh, tape-suite.sh and srd-suite.sh are parsed.
#  2. VM test A (apply-a.sh): the plain product image (default compression and budget)
#     with "sysrecover=apply sysrecover.then=poweroff", an ext4 disk with a native queue
#     and an NTFS disk whose SYSTEM hive has pending renames; checked on the host.
#  3. VM test B (restore-b.sh): "sysrecover=restore" restores a set from a SIMH image on a
#     virtio disk onto blank ext4 and NTFS disks and powers off; compared with the sources.
#  4. VM test C (initramfs-tools-c.sh): Debian's mkinitramfs with our hook and premount
#     script boots an ext4 root whose queue is applied before fsck and the mount (twice).
#  5. VM test D (dracut-d.sh): dracut-core's initrds, systemd and not, with our dracut module
#     (BUILD_DIR/vm/dracut-d-*: images, console logs, the guests' saved dmesg).
#  6. the rescue ISO (rescue-iso.sh, initramfs/rescue-iso.sh): booted under SeaBIOS and OVMF,
#     from a CD-ROM and from a disk, to the shell on ttyS0, where a typed command answers.
# Also: the builder gives the same bytes twice, and refuses an image over its budget.
#
# Writes BUILD_DIR/vm/{initramfs.cpio.gz,console.log,apply-a.img,apply-a.log}.  Prints
# every check, then as its last line
#     vm: N passed, N failed, N skipped
# and exits 0 only when nothing failed, at least one check passed and the VM reported
# VMTEST DONE.  A kernel that cannot be fetched is a failure, not a skip.  Result
# lines are tests/lib/check.sh's, behind "vm: " (tests/run-all.sh counts them).
#
# Environment: SYSRECOVER_VM_ONLY (a comma-separated list of the parts to run: suites, a,
# b, c, d, iso; default all), SYSRECOVER_VM_TIMEOUT (seconds for each VM run, default 150),
# SYSRECOVER_VM_APPEND (extra kernel command-line words), SYSRECOVER_TESTDATA (the real
# hives, for test A's NTFS disk), and those of fetch-kernel.sh (SYSRECOVER_CACHE,
# SYSRECOVER_VM_KERNEL, SYSRECOVER_VM_OFFLINE, ...).
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

# Debian packages this needs: qemu-system-x86 busybox-static mt-st cpio xz-utils zstd
# e2fsprogs ntfs-3g libhivex-bin debian-archive-keyring (plus apt, dpkg, util-linux,
# coreutils, gzip: always present)
missing=
for tool in qemu-system-x86_64:qemu-system-x86 busybox:busybox-static mt-st:mt-st \
            cpio:cpio xz:xz-utils zstd:zstd dpkg-deb:dpkg apt-get:apt flock:util-linux \
            mkntfs:ntfs-3g hivexget:libhivex-bin; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || missing="$missing ${tool#*:}"
done
[ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || missing="$missing debian-archive-keyring"
[ -z "$missing" ] || fatal "missing tools; apt-get install$missing"
QEMU=$(command -v qemu-system-x86_64)

t0=$(date +%s)
KDIR=$("$HERE/fetch-kernel.sh" --tree virtio_blk | tail -n 1)
[ -n "$KDIR" ] && [ -s "$KDIR/vmlinuz" ] || fatal "could not fetch the test kernel (see fetch-kernel messages above)"
MODTREE=$(ls -d "$KDIR"/tree/lib/modules/* 2>/dev/null | head -n 1)
[ -n "$MODTREE" ] || fatal "fetch-kernel.sh --tree gave no modules tree in $KDIR"
BUILDER=$HERE/../../initramfs/build.sh
# vm_boot NAME LOG MEM INITRD APPEND [QEMU ARGS...]: boots the test kernel with INITRD
# (-accel tcg always: -enable-kvm fails on these machines; -nic none: no NIC option ROM)
# until it powers off or TIMEOUT ends, the console into LOG; checks NAME/qemu-exit (or
# NAME/timeout) and returns QEMU's status.
vm_boot() {
    local name=$1 log=$2 mem=$3 initrd=$4 append=$5 t0 qrc
    shift 5
    t0=$(date +%s)
    timeout --kill-after=10 "$TIMEOUT" "$QEMU" -accel tcg -cpu max -m "$mem" -smp 1 \
        -nographic -no-reboot -nic none -kernel "$KDIR/vmlinuz" -initrd "$initrd" \
        "$@" -append "$append" </dev/null >"$log" 2>&1
    qrc=$?
    echo "vm: INFO $name VM run $(($(date +%s) - t0)) s, console log $log"
    if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
        bad "$name/timeout" "the VM did not power off within ${TIMEOUT}s"
    else
        is "$name/qemu-exit" "$qrc" 0
    fi
    return $qrc
}

# vm_results PREFIX LOG: a guest's lines "VMTEST PASS name", "VMTEST FAIL name detail",
# "VMTEST SKIP name why", "VMTEST INFO text" as results named PREFIXname; vm_done=1 when
# it printed "VMTEST DONE".
vm_results() {
    local line r
    vm_done=0
    while IFS= read -r line; do
        case "$line" in
            "VMTEST PASS "*) ok "$1${line#VMTEST PASS }" ;;
            "VMTEST FAIL "*) r=${line#VMTEST FAIL }; bad "$1${r%% *}" "$([ "$r" = "${r#* }" ] || echo "${r#* }")" ;;
            "VMTEST SKIP "*) r=${line#VMTEST SKIP }; skip "$1${r%% *}" "$([ "$r" = "${r#* }" ] || echo "${r#* }")" ;;
            "VMTEST INFO "*) echo "vm: INFO $1${line#VMTEST INFO }" ;;
            "VMTEST DONE"*) vm_done=1 ;;
        esac
    done < <(tr -d '\r' <"$2" | sed -n 's/^.*\(VMTEST \(PASS\|FAIL\|SKIP\|INFO\|DONE\).*\)$/\1/p')
}

# vm_want PART: whether SYSRECOVER_VM_ONLY (default: every part) names it.
vm_want() {
    case ",${SYSRECOVER_VM_ONLY:-all}," in *",all,"*|*",$1,"*) return 0 ;; esac
    return 1
}
# The suites' image: the product image (gzip: quicker to build) plus the test scripts.
suite_image() { # OUTPUT
    bash "$BUILDER" -o "$1" --sysrecover "$SR" --modules-dir "$MODTREE" --compress gzip --budget 64 \
        --add "$HERE/vmtest.sh=/vmtest.sh" --add "$HERE/tape-suite.sh=/tape-suite.sh" \
        --add "$HERE/srd-suite.sh=/srd-suite.sh" --add "$KDIR/modules/scsi_debug.ko=/lib/modules/scsi_debug.ko"
}
if vm_want suites; then
suite_image "$INITRD" || fatal "could not build the initramfs"

# A virtio disk: ext4 with a native srdelayed queue, applied in the VM by
# srd-suite.sh (which names no volume: it must find this one), checked below.
DISK=$OUT/srd-disk.img
T=$(printf '\t')
rm -rf "${OUT:?}/srd-tree" "${DISK:?}"
mkdir -p "$OUT/srd-tree/d" "$OUT/srd-tree/var/lib/sysrecover"
echo moved >"$OUT/srd-tree/a"; echo gone >"$OUT/srd-tree/d/x"
printf '%s\n' "MoveFile${T}/a${T}/b${T}NotExecuted" "DeleteFile${T}Unused${T}/d/x${T}NotExecuted" \
    "DeleteFile${T}Unused${T}/d${T}NotExecuted" >"$OUT/srd-tree/var/lib/sysrecover/srdelayed.queue"
mke2fs -q -t ext4 -d "$OUT/srd-tree" "$DISK" 16M >/dev/null || fatal "cannot make $DISK"
t1=$(date +%s)

vm_boot vm "$LOG" 512 "$INITRD" \
    "console=ttyS0 panic=-1 quiet sysrecover=run sysrecover.run=/vmtest.sh sysrecover.then=poweroff sysrecover.onfail=poweroff ${SYSRECOVER_VM_APPEND:-}" \
    -drive file="$DISK",format=raw,if=virtio
t2=$(date +%s)
vm_results "" "$LOG"
done_seen=$vm_done
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

# The builder: the same inputs give the same bytes; an image over the budget is refused.
if suite_image "$OUT/initramfs-again.cpio.gz" >/dev/null 2>&1; then
    check initramfs/reproducible cmp "$INITRD" "$OUT/initramfs-again.cpio.gz"
else
    bad initramfs/reproducible "the second build failed"
fi
rm -f "$OUT/initramfs-again.cpio.gz"
exits initramfs/over-budget 2 'over the budget of 1 MiB' \
    bash "$BUILDER" -o "$OUT/too-big.img" --sysrecover "$SR" --modules-dir "$MODTREE" --compress gzip --budget 1
if [ -e "$OUT/too-big.img" ]; then bad initramfs/over-budget-no-output "$OUT/too-big.img was written"; fi
fi

# VM test A: the product image applies the queues of an ext4 and an NTFS disk.
# shellcheck source=apply-a.sh
vm_want a && . "$HERE/apply-a.sh"

# VM test B: sysrecover=restore from a SIMH tape image (restore-b.sh).
# shellcheck source=restore-b.sh
vm_want b && . "$HERE/restore-b.sh"

# VM test C: Debian's mkinitramfs with our hook (initramfs-tools-c.sh).
# shellcheck source=initramfs-tools-c.sh
vm_want c && . "$HERE/initramfs-tools-c.sh"

# VM test D: dracut with our module, with and without systemd (dracut-d.sh).
# shellcheck source=dracut-d.sh
vm_want d && . "$HERE/dracut-d.sh"

# The rescue ISO under SeaBIOS and OVMF, as a CD-ROM and as a disk (rescue-iso.sh).
# shellcheck source=rescue-iso.sh
vm_want iso && . "$HERE/rescue-iso.sh"


if [ "$passes" -eq 0 ]; then
    bad vm/ran "no check passed"
fi

vm_want suites && echo "vm: INFO kernel $(cat "$KDIR/VERSION" 2>/dev/null), prepare $((t1 - t0))s, VM run $((t2 - t1))s, console log $LOG"
echo "vm: $(counts)"
finish
