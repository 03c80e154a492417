# apply-a.sh - VM test A, sourced by run.sh (which gives QEMU, KDIR, MODTREE, BUILDER,
# SR, OUT, TIMEOUT and tests/lib/check.sh): the product recovery image, built by
# initramfs/build.sh with its defaults (zstd, the 16 MiB budget) and the test kernel's
# modules tree, boots with "sysrecover=apply sysrecover.then=poweroff" and two virtio disks:
#  vda  ext4 (label srdA) with a native srdelayed queue: a move and a delete;
#  vdb  an MBR disk whose signature and partition offset are what the real Windows 10
#       SYSTEM hive's MountedDevices says C: is, NTFS there, that hive with its
#       PendingFileRenameOperations replaced (hivexregedit) by a rename and a delete.
#       C: is the partition device /dev/vdb1, whose own offset is 0: MountedDevices
#       names it by its start on the disk (fs_volume.part_start).
# /init applies every queue on every volume, copies its log to LABEL=srdA:/sysrecover.log
# and powers off.  The host then checks with debugfs, e2fsck, ntfscat, ntfsls, ntfsfix and
# hivexget; every expected value is what this script put in, never what our code printed.

A_IMG=$OUT/apply-a.img
A_LOG=$OUT/apply-a.log
A_EXT=$OUT/apply-a-ext4.img
A_WIN=$OUT/apply-a-ntfs.img
A_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sr-vm-a.XXXXXX")
a_cleanup() {
    mountpoint -q "$A_TMP/mnt" 2>/dev/null && umount "$A_TMP/mnt"
    rm -rf "${A_TMP:?}"
}
trap a_cleanup EXIT
SM='ControlSet001\Control\Session Manager'
T=$(printf '\t')

a_setup() {
    local t0 hive
    t0=$(date +%s)
    out a_build bash "$BUILDER" -o "$A_IMG" --sysrecover "$SR" --modules-dir "$MODTREE" || return 1
    echo "vm: INFO apply-a image: $(printf '%s\n' "$a_build" | tail -n 1) (built in $(($(date +%s) - t0)) s)"

    # vda: ext4 with a native queue
    rm -rf "${A_TMP:?}/ext" "${A_EXT:?}"
    mkdir -p "$A_TMP/ext/var/lib/sysrecover"
    echo "moved by the recovery image" >"$A_TMP/ext/a.txt"
    echo "deleted by the recovery image" >"$A_TMP/ext/gone.txt"
    printf '%s\n' "MoveFile${T}/a.txt${T}/b.txt${T}NotExecuted" "DeleteFile${T}Unused${T}/gone.txt${T}NotExecuted" \
        >"$A_TMP/ext/var/lib/sysrecover/srdelayed.queue"
    mke2fs -q -t ext4 -L srdA -d "$A_TMP/ext" "$A_EXT" 16M >/dev/null || { bad apply-a/mke2fs "$A_EXT"; return 1; }

    # vdb: the Windows 10 1709 disk layout (signature df4546ae, C: at 501 MiB)
    hive=${SYSRECOVER_TESTDATA:-}/hives/SYSTEM_WIN_10_1709.xz
    if [ ! -s "$hive" ]; then
        if [ "${SYSRECOVER_REQUIRE_TESTDATA:-}" = 1 ]; then bad apply-a/testdata "$hive missing"
        else skip apply-a/ntfs "the real hives are not at \$SYSRECOVER_TESTDATA/hives"; fi
        A_WIN=
        return 0
    fi
    xz -dc "$hive" >"$A_TMP/SYSTEM" || { bad apply-a/xz "$hive"; return 1; }
    # PendingFileRenameOperations: a rename and a delete (REG_MULTI_SZ, UTF-16LE)
    python3 - "$A_TMP/pending.reg" "$SM" <<'EOF' || { bad apply-a/reg python3; return 1; }
import sys
out, sm = sys.argv[1], sys.argv[2]
strings = ["\\??\\C:\\stage\\new.dll", "\\??\\C:\\app\\moved.dll", "\\??\\C:\\app\\old.dll", ""]
data = ("".join(s + "\0" for s in strings) + "\0").encode("utf-16-le")
with open(out, "w") as f:
    f.write("Windows Registry Editor Version 5.00\n\n")
    f.write("[HKEY_LOCAL_MACHINE\\SYSTEM\\%s]\n" % sm)
    f.write('"PendingFileRenameOperations"=hex(7):%s\n\n' % ",".join("%02x" % b for b in data))
EOF
    check apply-a/hive-made hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SYSTEM' "$A_TMP/SYSTEM" "$A_TMP/pending.reg"
    out a_pv hivexget "$A_TMP/SYSTEM" "$SM" PendingFileRenameOperations &&
        is apply-a/hive-pending-set "$(printf '%s\n' "$a_pv" | tr '\n' '|')" '\??\C:\stage\new.dll|\??\C:\app\moved.dll|\??\C:\app\old.dll|'
    mkdir -p "$A_TMP/mnt"
    truncate -s 64M "$A_TMP/c.ntfs"
    mkntfs -F -Q -q "$A_TMP/c.ntfs" >/dev/null 2>&1 || { bad apply-a/mkntfs "$A_TMP/c.ntfs"; return 1; }
    ntfs-3g "$A_TMP/c.ntfs" "$A_TMP/mnt" || { bad apply-a/ntfs-3g "cannot mount $A_TMP/c.ntfs"; return 1; }
    mkdir -p "$A_TMP/mnt/Windows/System32/config" "$A_TMP/mnt/stage" "$A_TMP/mnt/app"
    cp "$A_TMP/SYSTEM" "$A_TMP/mnt/Windows/System32/config/SYSTEM"
    python3 "$HERE/../lib/mkhive.py" "$A_TMP/mnt/Windows/System32/config/SOFTWARE"
    echo new >"$A_TMP/mnt/stage/new.dll"
    echo old >"$A_TMP/mnt/app/old.dll"
    echo keep >"$A_TMP/mnt/app/keep.dll"
    umount "$A_TMP/mnt" || { bad apply-a/umount "$A_TMP/mnt"; return 1; }
    rm -f "$A_WIN"
    truncate -s 600M "$A_WIN"
    printf 'label: dos\nlabel-id: 0xdf4546ae\nstart=1026048, size=131072, type=7\n' |
        sfdisk -q "$A_WIN" >/dev/null || { bad apply-a/sfdisk "$A_WIN"; return 1; }
    dd if="$A_TMP/c.ntfs" of="$A_WIN" bs=1M seek=501 conv=notrunc,sparse status=none ||
        { bad apply-a/dd "$A_WIN"; return 1; }
}

a_boot() {
    vm_boot apply-a "$A_LOG" 512 "$A_IMG" \
        "console=ttyS0 panic=-1 quiet sysrecover=apply sysrecover.then=poweroff sysrecover.onfail=poweroff sysrecover.log=LABEL=srdA:/sysrecover.log" \
        -drive file="$A_EXT",format=raw,if=virtio ${A_WIN:+-drive file="$A_WIN",format=raw,if=virtio}
    if tr -d '\r' <"$A_LOG" | grep -q '^sysrecover-init: result ok'; then
        ok apply-a/result-ok
    else
        bad apply-a/result-ok "no 'sysrecover-init: result ok' on the console"
        tr -d '\r' <"$A_LOG" | grep -a '^sysrecover\|^/dev\|failed\|error' | tail -n 15 | sed 's/^/vm:   | /'
    fi
}

a_check_ext4() {
    local b root applied log
    if out b debugfs -R 'cat /b.txt' "$A_EXT"; then is apply-a/ext4-moved "$b" "moved by the recovery image"; fi
    if out root debugfs -R 'ls -p /' "$A_EXT"; then
        names=" $(printf '%s\n' "$root" | awk -F/ 'NF > 6 { print $6 }' | tr '\n' ' ')"
        case "$names" in
            *" var "*) is apply-a/ext4-source-and-deleted-gone \
                "$(printf '%s\n' $names | grep -c -x -e a.txt -e gone.txt)" 0 ;;
            *) bad apply-a/ext4-source-and-deleted-gone "debugfs did not list the root directory: $names" ;;
        esac
    fi
    if out applied debugfs -R 'cat /var/lib/sysrecover/srdelayed.queue.applied' "$A_EXT"; then
        is apply-a/ext4-statuses "$(printf '%s\n' "$applied" | grep -c 'SC=00000000')" 2
    fi
    if out log debugfs -R 'cat /sysrecover.log' "$A_EXT"; then
        has apply-a/log-on-volume "$log" "sysrecover-init: result ok"
    fi
    check apply-a/ext4-e2fsck-clean e2fsck -fn "$A_EXT"
}

# A file's content from the NTFS partition, or <absent> when ntfscat says there is none.
a_ntcat() { # part path
    local c
    c=$(ntfscat -f "$1" "$2" 2>&1) && { printf '%s' "$c"; return; }
    case "$c" in
        *"Couldn't open inode: No such file"*) echo "<absent>" ;;
        *) echo "<ntfscat failed: $c>" ;;
    esac
}

a_check_ntfs() {
    local p=$A_TMP/c.part pv ls
    [ -n "$A_WIN" ] || return 0
    dd if="$A_WIN" of="$p" bs=1M skip=501 count=64 status=none || { bad apply-a/ntfs-read "dd"; return; }
    is apply-a/ntfs-renamed "$(a_ntcat "$p" /app/moved.dll)" new
    is apply-a/ntfs-rename-source-gone "$(a_ntcat "$p" /stage/new.dll)" "<absent>"
    is apply-a/ntfs-deleted "$(a_ntcat "$p" /app/old.dll)" "<absent>"
    is apply-a/ntfs-other-file-kept "$(a_ntcat "$p" /app/keep.dll)" keep
    if out ls ntfsls -f "$p" -p /; then
        is apply-a/ntfs-no-journal-left "$(printf '%s\n' "$ls" | grep -c -i sysrecover)" 0
    fi
    check apply-a/ntfs-system-read sh -c 'ntfscat -f "$1" /Windows/System32/config/SYSTEM >"$2"' - "$p" "$A_TMP/SYSTEM.after"
    # the value is gone, or kept empty; hivexget failing for another reason is a FAIL
    if pv=$(hivexget "$A_TMP/SYSTEM.after" "$SM" PendingFileRenameOperations 2>&1); then
        is apply-a/ntfs-pending-cleared "$(printf '%s' "$pv" | tr -d '\n')" ""
    else
        has apply-a/ntfs-pending-cleared "$pv" "PendingFileRenameOperations: key not found"
    fi
    if out a_sel hivexget "$A_TMP/SYSTEM.after" Select Current; then
        is apply-a/ntfs-other-keys-kept "$a_sel" "$(hivexget "$A_TMP/SYSTEM" Select Current)"
    fi
    check apply-a/ntfs-ntfsfix ntfsfix -n "$p"
}

if a_setup; then
    a_boot
    a_check_ext4
    a_check_ntfs
else
    bad apply-a/setup "the image or the disks could not be made"
fi
a_cleanup
trap - EXIT
