# initramfs-tools-c.sh - VM test C, sourced by run.sh (which gives QEMU, KDIR, MODTREE, SR,
# OUT, TIMEOUT, HERE and tests/lib/check.sh): Debian's own initramfs, built by mkinitramfs
# (initramfs-tools-core on the host) with our hook and local-premount script for the TEST
# kernel, boots an ext4 root whose native srdelayed queue must be applied before fsck and
# before the mount; then the boot goes on into that root.
#
# The host is not changed: mkinitramfs runs inside `unshare -m --propagation private`
# where
#  - /usr is an overlay: our hook and script (initramfs/initramfs-tools/) over the host's;
#  - /usr/lib/modules is a tmpfs holding KVER, an overlay over the cached modules tree
#    (fetch-kernel.sh --tree) so that depmod writes into scratch space;
#  - /boot is a tmpfs with config-KVER holding the one line mkinitramfs 0.142 reads
#    (CONFIG_RD_ZSTD=y; the boot itself proves the kernel takes a zstd initramfs).
# CONFDIR (-d) is our own: MODULES=list (virtio_blk: ext4 and virtio_pci are built into
# the cloud kernel), FSTYPE=ext4 (the fsck hook then adds fsck and e2fsck), COMPRESS=zstd.
#
# Every boot has a second disk, ext4 label srdV, named in the image's
# /etc/sysrecover/boot-volumes (the hook copies it from /etc, here an overlay in the
# namespace too).
# Run 1: the root (ext4, label srdC) holds a queue made with `sysrecover srdelayed add -V`:
# a move, a delete and a short name (answered "not supported", status 50, on ext), and
# srdV a delete; the root also holds
# /sbin/proof-init (busybox), run by init= in the booted root: it prints the moved file,
# whether the move's source and the deleted file are there, and the kernel log lines of
# our script and of the root mount, then powers off.  Proof of the order:
#  - before fsck: the e2fsck -a that initramfs-tools' checkfs runs prints "srdC: clean,
#    U/T files, B/BT blocks" on the console; those counts must be the ones dumpe2fs reads
#    on the host AFTER the boot, and differ from the ones BEFORE it (the delete frees an
#    inode): fsck saw the volume the apply had already changed;
#  - before the mount: in the kernel log (dmesg, one sequence), our "sysrecover:" line
#    comes before "EXT4-fs (vda): mounted".
# Run 2 ("quiet" on the command line): a queue whose first record fails (a move whose
# source does not exist): the boot goes on (proof-init runs), the failure is on the console, and the records stay on the
# disk (srdelayed.queue.applied: the move's error, the delete NotExecuted; the file to
# delete is still there), read with debugfs.
# Run 3: no queue: one line from us on the console; the boot goes on.

C_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sr-vm-c.XXXXXX")
C_IMG=$OUT/itools-c.img
C_KVER=$(basename "$MODTREE")
c_cleanup() {
    rm -rf "${C_TMP:?}"
}
trap c_cleanup EXIT

# mkinitramfs for the test kernel in a private mount namespace (see above).
c_mkinitramfs() {
    local ns=$C_TMP/ns src=$HERE/../../initramfs/initramfs-tools t0
    t0=$(date +%s)
    mkdir -p "$ns/usr/share/initramfs-tools/hooks" "$ns/usr/share/initramfs-tools/scripts/local-premount" \
        "$ns/usr/lib/modules" "$ns/kup" "$ns/kwork" "$ns/tmp" "$ns/conf" "$ns/etc/sysrecover"
    printf '%s\n' "# the second disk of every boot" "" "LABEL=srdV" >"$ns/etc/sysrecover/boot-volumes"
    install -m 0755 "$src/hooks/sysrecover" "$ns/usr/share/initramfs-tools/hooks/sysrecover"
    install -m 0755 "$src/scripts/local-premount/sysrecover" \
        "$ns/usr/share/initramfs-tools/scripts/local-premount/sysrecover"
    printf '%s\n' MODULES=list BUSYBOX=auto COMPRESS=zstd FSTYPE=ext4 RUNSIZE=10% >"$ns/conf/initramfs.conf"
    echo virtio_blk >"$ns/conf/modules"
    : >"$ns/c.sh"
    {
        echo 'set -eu'
        echo 'mount -t overlay overlay -o "lowerdir=$NS/usr:/usr" /usr'
        echo 'mount -t overlay overlay -o "lowerdir=$NS/etc:/etc" /etc'
        echo 'mount -t tmpfs tmpfs /usr/lib/modules'
        echo 'mkdir "/usr/lib/modules/$KVER"'
        echo 'mount -t overlay overlay -o "lowerdir=$MODTREE,upperdir=$NS/kup,workdir=$NS/kwork" "/usr/lib/modules/$KVER"'
        echo 'depmod "$KVER"'
        echo 'mount -t tmpfs tmpfs /boot'
        echo 'echo CONFIG_RD_ZSTD=y >"/boot/config-$KVER"'
        echo 'TMPDIR=$NS/tmp mkinitramfs -d "$NS/conf" -o "$IMG" "$KVER"'
    } >"$ns/c.sh"
    if ! out c_mk env NS="$ns" KVER="$C_KVER" MODTREE="$MODTREE" IMG="$C_IMG" SYSRECOVER_BIN="$SR" \
            unshare -m --propagation private bash "$ns/c.sh"; then
        bad itools-c/mkinitramfs "$(printf '%s\n' "$c_mk" | tail -n 5)"
        return 1
    fi
    echo "vm: INFO itools-c mkinitramfs: $(stat -c %s "$C_IMG") bytes (zstd) in $(($(date +%s) - t0)) s"
    # The image, read by initramfs-tools' own lsinitramfs.
    if out c_ls lsinitramfs "$C_IMG"; then
        for f in usr/bin/sysrecover usr/bin/srdelayed usr/sbin/e2fsck usr/sbin/fsck \
                 scripts/local-premount/sysrecover etc/sysrecover/boot-volumes; do
            if printf '%s\n' "$c_ls" | grep -q -x -F "$f"; then ok "itools-c/image-has-$f"
            else bad "itools-c/image-has-$f" "lsinitramfs does not list $f"; fi
        done
        is itools-c/image-has-gconv "$(printf '%s\n' "$c_ls" | grep -c -e '/gconv/UTF-16.so$' -e '/gconv/ISO8859-1.so$' -e '/gconv/gconv-modules$')" 3
    fi
    return 0
}

# c_disk NAME: an ext4 root (label srdC) with busybox and /sbin/proof-init; the caller queues.
c_disk() {
    local d=$C_TMP/$1 img=$OUT/itools-c-$1.img
    rm -rf "${d:?}" "${img:?}"
    mkdir -p "$d/bin" "$d/sbin" "$d/dev" "$d/proc" "$d/sys" "$d/run" "$d/tmp" "$d/d"
    cp /bin/busybox "$d/bin/busybox"
    echo "moved at boot" >"$d/a.txt"
    echo "deleted at boot" >"$d/gone.txt"
    {
        echo '#!/bin/busybox sh'
        echo 'b=/bin/busybox'
        echo 'echo "PROOF moved=$($b cat /b.txt 2>/dev/null || echo "<absent>")"'
        echo 'for f in /a.txt /gone.txt; do if [ -e "$f" ]; then echo "PROOF $f=present"; else echo "PROOF $f=absent"; fi; done'
        echo '$b dmesg | $b grep -e "sysrecover:" -e "EXT4-fs (vda): mounted" | $b sed "s/^/PROOF dmesg /"'
        echo 'echo "PROOF done"'
        echo '$b sync'
        echo '$b poweroff -f'
    } >"$d/sbin/proof-init"
    chmod 755 "$d/sbin/proof-init"
    mke2fs -q -t ext4 -L srdC -d "$d" "$img" 32M >/dev/null 2>&1 || { bad "itools-c/$1-mke2fs" "$img"; return 1; }
    echo "$img"
}

# c_vol NAME: the second disk (ext4, label srdV, named in boot-volumes) with /v.txt.
c_vol() {
    local d=$C_TMP/$1-vol img=$OUT/itools-c-$1-vol.img
    rm -rf "${d:?}" "${img:?}"
    mkdir -p "$d"
    echo "on the other volume" >"$d/v.txt"
    mke2fs -q -t ext4 -L srdV -d "$d" "$img" 8M >/dev/null 2>&1 || { bad "itools-c/$1-vol-mke2fs" "$img"; return 1; }
    echo "$img"
}

# c_counts IMG: "U/T files, B/BT blocks" as e2fsck prints them, from dumpe2fs.
c_counts() {
    dumpe2fs -h "$1" 2>/dev/null | awk -F: '
        /^Inode count/ { ic = $2 + 0 } /^Free inodes/ { fi = $2 + 0 }
        /^Block count/ { bc = $2 + 0 } /^Free blocks/ { fb = $2 + 0 }
        END { if (ic) printf "%d/%d files, %d/%d blocks", ic - fi, ic, bc - fb, bc }'
}

# c_boot NAME IMG VOL [WORDS]: boot it with the root IMG and the second disk VOL (WORDS:
# more kernel command-line words); the console in $OUT/itools-c-NAME.log, cleaned into $c_con.
c_boot() {
    local log=$OUT/itools-c-$1.log
    vm_boot "itools-c/$1" "$log" 512 "$C_IMG" \
        "console=ttyS0 panic=-1 root=LABEL=srdC init=/sbin/proof-init ${4:-}" \
        -drive file="$2",format=raw,if=virtio -drive file="$3",format=raw,if=virtio
    c_con=$(tr -d '\r' <"$log")
    if printf '%s\n' "$c_con" | grep -q '^PROOF done'; then
        ok "itools-c/$1-booted-into-root"
    else
        bad "itools-c/$1-booted-into-root" "no 'PROOF done' from /sbin/proof-init on the console"
        printf '%s\n' "$c_con" | tail -n 15 | sed 's/^/vm:   | /'
    fi
}

# c_has NAME STRING: the console shows that line part (fixed string).
c_has() {
    if printf '%s\n' "$c_con" | grep -q -F -e "$2"; then ok "$1"
    else bad "$1" "'$2' is not on the console"; fi
}

# c_line PATTERN: the first console line number matching a fixed string (0: none).
c_line() {
    printf '%s\n' "$c_con" | grep -n -F -m1 -e "$1" | cut -d: -f1 | grep . || echo 0
}

c_run1() {
    local img vol before after fl q dm v
    img=$(c_disk ok) || return
    vol=$(c_vol ok) || return
    check itools-c/ok-queue-other-volume "$SR" srdelayed add -V "$vol" delete /v.txt
    check itools-c/ok-queue-move "$SR" srdelayed add -V "$img" move /a.txt /b.txt
    check itools-c/ok-queue-delete "$SR" srdelayed add -V "$img" delete /gone.txt
    check itools-c/ok-queue-shortname "$SR" srdelayed add -V "$img" shortname /b.txt B~1.TXT
    before=$(c_counts "$img")
    c_boot ok "$img" "$vol"
    after=$(c_counts "$img")
    c_has itools-c/ok-proof-moved "PROOF moved=moved at boot"
    c_has itools-c/ok-proof-source-gone "PROOF /a.txt=absent"
    c_has itools-c/ok-proof-deleted "PROOF /gone.txt=absent"
    # fsck saw the applied volume: its counts are the final ones, not the first ones
    if [ -n "$before" ] && [ -n "$after" ] && [ "$before" != "$after" ]; then
        c_has itools-c/ok-fsck-saw-applied-volume "srdC: clean, $after"
    else
        bad itools-c/ok-fsck-saw-applied-volume "dumpe2fs counts before '$before' after '$after'"
    fi
    fl=$(c_line "srdC: clean,")
    q=$(c_line "sysrecover: srdelayed apply on /dev/vda LABEL=srdV")
    if [ "$q" -gt 0 ] && [ "$fl" -gt "$q" ]; then ok itools-c/ok-apply-before-fsck
    else bad itools-c/ok-apply-before-fsck "console lines: sysrecover $q, fsck $fl"; fi
    # the kernel log is one sequence: our line, then the root mount
    dm=$(printf '%s\n' "$c_con" | grep '^PROOF dmesg ' | sed -n -e '/sysrecover:/{s/.*/S/p}' -e '/EXT4-fs (vda): mounted/{s/.*/M/p}' | tr -d '\n')
    case "$dm" in
        S*M*) ok itools-c/ok-apply-before-mount ;;
        *) bad itools-c/ok-apply-before-mount "dmesg order '$dm' (S: sysrecover, M: the root mount)" ;;
    esac
    if out b debugfs -R 'cat /b.txt' "$img"; then is itools-c/ok-ext4-moved "$b" "moved at boot"; fi
    if out q debugfs -R 'cat /var/lib/sysrecover/srdelayed.queue.applied' "$img"; then
        is itools-c/ok-statuses "$(printf '%s\n' "$q" | awk -F'\t' '{ print $1 "=" $NF }' | tr '\n' ' ')" \
            "MoveFile=SC=00000000 DeleteFile=SC=00000000 SetFileShortName=SC=00000032 "
    fi
    check itools-c/ok-e2fsck-clean e2fsck -fn "$img"
    # the volume named in /etc/sysrecover/boot-volumes had its queue applied too
    if out v debugfs -R 'ls -p /' "$vol"; then
        case "$v" in
            */lost+found/*) is itools-c/ok-other-volume-deleted "$(printf '%s\n' "$v" | awk -F/ 'NF > 6 { print $6 }' | grep -c -x v.txt)" 0 ;;
            *) bad itools-c/ok-other-volume-deleted "debugfs did not list the root directory: $v" ;;
        esac
    fi
    if out q debugfs -R 'cat /var/lib/sysrecover/srdelayed.queue.applied' "$vol"; then
        is itools-c/ok-other-volume-status "$(printf '%s\n' "$q" | awk -F'\t' '{ print $1 "=" $NF }' | tr '\n' ' ')" "DeleteFile=SC=00000000 "
    fi
    check itools-c/ok-other-volume-e2fsck-clean e2fsck -fn "$vol"
}

c_run2() {
    local img vol q g
    img=$(c_disk fail) || return
    vol=$(c_vol fail) || return
    check itools-c/fail-queue-move "$SR" srdelayed add -V "$img" move /missing.txt /b.txt
    check itools-c/fail-queue-delete "$SR" srdelayed add -V "$img" delete /gone.txt
    # "quiet": the failure must reach the console all the same
    c_boot fail "$img" "$vol" quiet
    c_has itools-c/fail-reported "sysrecover: srdelayed apply on /dev/vda LABEL=srdV: exit 1, not every record was applied"
    c_has itools-c/fail-proof-kept "PROOF /gone.txt=present"
    if out q debugfs -R 'cat /var/lib/sysrecover/srdelayed.queue.applied' "$img"; then
        is itools-c/fail-records-kept "$(printf '%s\n' "$q" | awk -F'\t' '{ print $1 "=" $NF }' | tr '\n' ' ')" \
            "MoveFile=SC=00000002 DeleteFile=NotExecuted "
    fi
    if out g debugfs -R 'cat /gone.txt' "$img"; then is itools-c/fail-file-kept "$g" "deleted at boot"; fi
    check itools-c/fail-e2fsck-clean e2fsck -fn "$img"
}

# Run 3: a root with no queue: one short line from us on the console, and the boot goes on.
c_run3() {
    local img vol n
    img=$(c_disk empty) || return
    vol=$(c_vol empty) || return
    c_boot empty "$img" "$vol"
    n=$(printf '%s\n' "$c_con" | grep -v -e 'command line:' -e '^PROOF ' | grep -c -i -e sysrecover -e '/dev/vda:')
    is itools-c/empty-one-line "$n" 1
    c_has itools-c/empty-summary "sysrecover: srdelayed apply on /dev/vda LABEL=srdV: 0 done, 0 failed"
    c_has itools-c/empty-proof-untouched "PROOF /gone.txt=present"
}

if ! command -v mkinitramfs >/dev/null || ! command -v lsinitramfs >/dev/null; then
    bad itools-c/setup "mkinitramfs missing: apt-get install --no-install-recommends initramfs-tools-core"
elif c_mkinitramfs; then
    c_run1
    c_run2
    c_run3
fi
c_cleanup
trap - EXIT
