# restore-b.sh - VM test B, sourced by run.sh (which gives QEMU, KDIR, MODTREE, BUILDER,
# SR, OUT, TIMEOUT and tests/lib/check.sh): an unattended restore in the product recovery
# image.  On the host, an ext4 and an NTFS source volume are filled through the kernel and
# ntfs-3g (tests/integration/backup_restore.sh's variety: hard links, symlinks, a sparse
# file, xattrs, ACLs, times in ns, setuid and sticky bits, a fifo, a device node, non-ASCII
# names; NTFS: attributes, named streams, a sparse file, a hard link) and backed up with
# `sysrecover backup` into set 1 on a SIMH image (set 2 leaves two files out).  The image
# (initramfs/build.sh defaults: zstd, the 16 MiB budget) boots with
#   sysrecover=restore sysrecover.tape=simh:/dev/vda sysrecover.set=1 sysrecover.to=v0=/dev/vdb,v1=/dev/vdc
#   sysrecover.log=LABEL=srlogB:/sysrecover.log sysrecover.then=poweroff
# and four virtio disks:
#  vda  the SIMH image's bytes, zero-padded to a whole sector (init copies it into /run:
#       the SIMH reader reads a block device as empty, and refuses the 2-byte zero tail
#       an image of 4n+2 bytes leaves, which init then cuts);
#  vdb  a blank ext4 (fresh mkfs, a new UUID), vdc a blank NTFS: the set's targets;
#  vdd  a small ext4 for the log (a log file on a target would change the tree compared).
# The host then compares every object of each target with its SOURCE image, both read
# through the kernel (read-only loop mount) or ntfs-3g: tests/lib/manifest.py (type, mode,
# owner, size, mtime, atime and creation time in ns, rdev, hard-link groups, sha256, every
# xattr incl. ACLs, holes), the system.ntfs_* attributes, times and ACL of every NTFS file,
# and runs e2fsck -fn and ntfsfix -n.  Nothing is compared with what our code printed.
#
# A second boot ("sysrecover=run", an image with the test scripts, gzip) drives tapes
# through the real st driver: restore-b-st.sh writes two sets on scsi_debug (which keeps
# only 4 bytes of each block) and checks their layout and positions with mt-st and dd;
# restore-b-tgt.sh then restores from tgt's full-data tape over the guest's loopback
# (set 2 in full, and its last member alone, spaced to), sha256sum against the sources.

B_TAP=$OUT/restore-b.tap
B_LOG=$OUT/restore-b.log
B_LOG_ST=$OUT/restore-b-st.log
B_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sr-vm-b.XXXXXX")
B_M=$HERE/../lib/manifest.py
b_cleanup() {
    mountpoint -q "$B_TMP/mnt" 2>/dev/null && umount "$B_TMP/mnt"
    rm -rf "${B_TMP:?}"
}
trap b_cleanup EXIT

# The ext4 source, filled by the kernel through a loop mount: the engine's tree
# (tests/lib/fill.sh) and a last member, written after everything else.
# shellcheck source=../lib/fill.sh
. "$HERE/../lib/fill.sh"
b_fill_ext4() { # MOUNTPOINT
    fill_ext4_tree "$1" 300 && head -c 2000000 /dev/urandom >"$1/zzz-last"
}

# The NTFS source, filled through ntfs-3g (named streams are its user.* xattrs).
b_fill_ntfs() { # MOUNTPOINT
    (
        cd "$1" || exit 1
        mkdir -p Windows/System32 "Users/a b"
        head -c 500000 /dev/urandom >Windows/System32/k.dll
        echo "hello" >"Users/a b/note.txt"
        ln "Users/a b/note.txt" "Users/note-link.txt"
        setfattr -n system.ntfs_attrib_be -v 0x00000021 "Users/a b/note.txt"
        setfattr -n user.Zone.Identifier -v "[ZoneTransfer] ZoneId=3" "Users/a b/note.txt"
        python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.big", os.urandom(60000))' \
            Windows/System32/k.dll
        # a security descriptor of its own: the group SID's last sub-authority 544
        # (Administrators) becomes 545 (Users), the same length
        python3 -c '
import os, sys
p = sys.argv[1]
sd = bytearray(os.getxattr(p, "system.ntfs_acl"))
g = int.from_bytes(sd[8:12], "little")
assert sd[g:g + 16] == bytes.fromhex("01020000000000052000000020020000"), sd[g:g + 16].hex()
sd[g + 12] = 0x21
os.setxattr(p, "system.ntfs_acl", bytes(sd))' Windows/System32/k.dll
        truncate -s 8M sparse.bin && printf 'middle' | dd of=sparse.bin bs=1 seek=4000000 conv=notrunc status=none
        touch -d '2003-04-05 06:07:08.1234567' "Users/a b/note.txt" Windows/System32
    )
}

# The NTFS-only metadata of every file and directory, read through ntfs-3g: the
# attributes, the creation, modification and access times (the fourth, the MFT change
# time, is set by every change, as ctime is) and the security descriptor (as sha256).
b_ntfs_extra() { # MOUNTPOINT
    (
        cd "$1" || exit 1
        find . -mindepth 1 | LC_ALL=C sort | while IFS= read -r p; do
            printf '%s\t%s\t%s\t%s\n' "$p" \
                "$(getfattr --only-values -n system.ntfs_attrib_be "$p" 2>&1 | od -An -v -tx1 | tr -d ' \n')" \
                "$(getfattr --only-values -n system.ntfs_times_be "$p" 2>&1 | od -An -v -tx1 | tr -d ' \n' | cut -c1-48)" \
                "$(getfattr --only-values -n system.ntfs_acl "$p" 2>&1 | sha256sum | cut -c1-16)"
        done
    )
}

b_setup() {
    local t0 m=$B_TMP/mnt
    t0=$(date +%s)
    need setfacl setfattr getfattr python3 mkfs.ext4 debugfs mkntfs ntfs-3g ntfsfix
    # The product image as it is: no locale in it (sysrecover needs none: the set below has
    # UTF-8 names from an NTFS volume, which once needed one).
    out b_build bash "$BUILDER" -o "$OUT/restore-b.img" --sysrecover "$SR" --modules-dir "$MODTREE" || return 1
    echo "vm: INFO restore-b image: $(printf '%s\n' "$b_build" | tail -n 1) (built in $(($(date +%s) - t0)) s)"
    mkdir -p "$m"

    truncate -s 48M "$B_TMP/src-ext4.img"
    mkfs.ext4 -q -F "$B_TMP/src-ext4.img" || { bad restore-b/mkfs-src "ext4"; return 1; }
    mount -o loop "$B_TMP/src-ext4.img" "$m" || { bad restore-b/mount-src "ext4"; return 1; }
    b_fill_ext4 "$m" || bad restore-b/fill-ext4 "filling the ext4 source failed"
    umount "$m" || return 1
    # read-only: reading the tree must not change its atimes
    mount -o ro,loop "$B_TMP/src-ext4.img" "$m" || { bad restore-b/mount-src-ro "ext4"; return 1; }
    python3 "$B_M" "$m" --holes --all-times >"$B_TMP/src-ext4.manifest" || bad restore-b/manifest-src "ext4"
    umount "$m" || return 1

    truncate -s 32M "$B_TMP/src-ntfs.img"
    mkntfs -Q -F -q "$B_TMP/src-ntfs.img" >/dev/null 2>&1 || { bad restore-b/mkntfs-src "ntfs"; return 1; }
    ntfs-3g "$B_TMP/src-ntfs.img" "$m" || { bad restore-b/mount-src "ntfs-3g"; return 1; }
    b_fill_ntfs "$m" || bad restore-b/fill-ntfs "filling the NTFS source failed"
    umount "$m" || return 1
    ntfs-3g -o ro "$B_TMP/src-ntfs.img" "$m" || { bad restore-b/mount-src-ro "ntfs-3g"; return 1; }
    python3 "$B_M" "$m" --no-owner --holes --all-times >"$B_TMP/src-ntfs.manifest" || bad restore-b/manifest-src "ntfs"
    b_ntfs_extra "$m" >"$B_TMP/src-ntfs.extra"
    umount "$m" || return 1
    # the sources hold what the comparison is about (else it would compare nothing)
    grep -q '	holes' "$B_TMP/src-ext4.manifest" || bad restore-b/src-ext4-sparse "no sparse file in the ext4 source"
    grep -q '	holes' "$B_TMP/src-ntfs.manifest" || bad restore-b/src-ntfs-sparse "no sparse file in the NTFS source"
    grep -q 'user.Zone.Identifier=' "$B_TMP/src-ntfs.manifest" || bad restore-b/src-ntfs-stream "no named stream in the NTFS source"
    grep -q 'system.posix_acl_default=' "$B_TMP/src-ext4.manifest" || bad restore-b/src-ext4-acl "no ACL in the ext4 source"
    awk -F'\t' 'length($3) != 48 || $3 !~ /^[0-9a-f]+$/ { bad = 1 } END { exit bad || NR < 8 }' "$B_TMP/src-ntfs.extra" ||
        bad restore-b/src-ntfs-times "getfattr did not give the NTFS times: $(head -n 2 "$B_TMP/src-ntfs.extra")"
    [ "$(cut -f4 "$B_TMP/src-ntfs.extra" | sort -u | wc -l)" -ge 2 ] ||
        bad restore-b/src-ntfs-acl "no file with a security descriptor of its own in the NTFS source"
    grep -q 'note.txt	00000021	' "$B_TMP/src-ntfs.extra" || bad restore-b/src-ntfs-attrib "no attributes set in the NTFS source"

    rm -f "${B_TAP:?}" "$B_TAP.idx" "$B_TAP.state"
    # LANG=C.UTF-8, as in a user's shell (the set is the same bytes whatever LANG is:
    # tests/integration/backup_locale.sh)
    exits restore-b/backup 0 "set .* 0 failed" env LC_ALL= LANG=C.UTF-8 "$SR" backup -t "$B_TAP" "$B_TMP/src-ext4.img" "$B_TMP/src-ntfs.img"
    # set 2, the last: the same volumes without two files, so a restore that ignored
    # sysrecover.set=1 gives a tree without them
    exits restore-b/backup-set-2 0 "set .* 0 failed" env LC_ALL= LANG=C.UTF-8 "$SR" backup -t "$B_TAP" \
        --exclude /zzz-last --exclude /sparse.bin "$B_TMP/src-ext4.img" "$B_TMP/src-ntfs.img"
    [ -s "$B_TAP" ] || return 1
    # the tape disk: the image's bytes, zero-padded to whole sectors
    cp "$B_TAP" "$B_TMP/tape.disk" && truncate -s %512 "$B_TMP/tape.disk" || return 1

    # blank targets: fresh file systems with new UUIDs, never the sources' ones
    truncate -s 48M "$B_TMP/dst-ext4.img"
    mkfs.ext4 -q -F "$B_TMP/dst-ext4.img" || { bad restore-b/mkfs-dst "ext4"; return 1; }
    truncate -s 32M "$B_TMP/dst-ntfs.img"
    mkntfs -Q -F -q "$B_TMP/dst-ntfs.img" >/dev/null 2>&1 || { bad restore-b/mkntfs-dst "ntfs"; return 1; }
    truncate -s 8M "$B_TMP/log.img"
    mkfs.ext4 -q -F -L srlogB "$B_TMP/log.img" || { bad restore-b/mkfs-log "ext4"; return 1; }
}

b_boot() {
    vm_boot restore-b "$B_LOG" 512 "$OUT/restore-b.img" \
        "console=ttyS0 panic=-1 quiet sysrecover=restore sysrecover.tape=simh:/dev/vda sysrecover.set=1 sysrecover.to=v0=/dev/vdb,v1=/dev/vdc sysrecover.then=poweroff sysrecover.onfail=poweroff sysrecover.log=LABEL=srlogB:/sysrecover.log" \
        -drive file="$B_TMP/tape.disk",format=raw,if=virtio,readonly=on \
        -drive file="$B_TMP/dst-ext4.img",format=raw,if=virtio \
        -drive file="$B_TMP/dst-ntfs.img",format=raw,if=virtio \
        -drive file="$B_TMP/log.img",format=raw,if=virtio
    if tr -d '\r' <"$B_LOG" | grep -q '^sysrecover-init: result ok'; then
        ok restore-b/result-ok
    else
        bad restore-b/result-ok "no 'sysrecover-init: result ok' on the console"
        tr -d '\r' <"$B_LOG" | grep -a '^sysrecover\|^/dev\|failed\|error' | tail -n 15 | sed 's/^/vm:   | /'
    fi
    if out b_log debugfs -R 'cat /sysrecover.log' "$B_TMP/log.img"; then
        has restore-b/log-on-volume "$b_log" "sysrecover-init: result ok"
    fi
}

# same NAME FILE-FROM-SOURCE FILE-FROM-TARGET
b_same() {
    if [ ! -s "$2" ]; then
        bad "$1" "nothing was read from the source"
    elif cmp -s "$2" "$3"; then
        ok "$1: $(wc -l <"$2") objects"
    else
        bad "$1" "$(diff "$2" "$3" | head -n 6 | tr '\t\n' ' |')"
    fi
}

b_check() {
    local m=$B_TMP/mnt
    check restore-b/ext4-e2fsck e2fsck -fn "$B_TMP/dst-ext4.img"
    if mount -o ro,loop "$B_TMP/dst-ext4.img" "$m"; then
        python3 "$B_M" "$m" --holes --all-times >"$B_TMP/dst-ext4.manifest"
        umount "$m"
        b_same restore-b/ext4-same-tree "$B_TMP/src-ext4.manifest" "$B_TMP/dst-ext4.manifest"
    else
        bad restore-b/ext4-mount "cannot mount the restored ext4"
    fi
    check restore-b/ntfs-ntfsfix ntfsfix -n "$B_TMP/dst-ntfs.img"
    if ntfs-3g -o ro "$B_TMP/dst-ntfs.img" "$m"; then
        python3 "$B_M" "$m" --no-owner --holes --all-times >"$B_TMP/dst-ntfs.manifest"
        b_ntfs_extra "$m" >"$B_TMP/dst-ntfs.extra"
        umount "$m"
        b_same restore-b/ntfs-same-tree "$B_TMP/src-ntfs.manifest" "$B_TMP/dst-ntfs.manifest"
        b_same restore-b/ntfs-same-attributes-times-acls "$B_TMP/src-ntfs.extra" "$B_TMP/dst-ntfs.extra"
    else
        bad restore-b/ntfs-mount "ntfs-3g cannot mount the restored NTFS"
    fi
}

# The tape image: the product image (gzip: quicker to build; a 64 MiB budget) plus
# restore-b-st.sh with scsi_debug, and restore-b-tgt.sh with tgt, open-iscsi, the iSCSI
# modules and what it restores: a SIMH image with two sets of directories (set 2 ends with
# a 1 MiB file), and the sha256sum of every file of set 2's source.
b_tape_setup() {
    local t0 s i d=$B_TMP/tape
    t0=$(date +%s)
    need tgtd tgtadm tgtimg iscsid iscsiadm
    mkdir -p "$d/src1/x" "$d/src2/x/y"
    for i in $(seq 0 29); do head -c $((i * 1000 + 5)) /dev/urandom >"$d/src1/x/f$i"; done
    head -c 300000 /dev/urandom >"$d/src2/x/y/data"
    for i in $(seq 0 199); do head -c 5000 /dev/urandom >"$d/src2/x/f$i"; done
    head -c 1048576 /dev/urandom >"$d/src2/zzz-last"
    (cd "$d/src2" && find . -type f | LC_ALL=C sort | xargs sha256sum) >"$d/src2.sha256" || return 1
    for s in 1 2; do
        exits "restore-b/tgt-twin-backup-$s" 0 "set .* 0 failed" "$SR" backup -t "$d/twin.tap" --record-size 64k "$d/src$s"
    done
    [ -s "$d/twin.tap" ] || return 1
    printf '%s\n' 'node.startup = manual' 'node.session.auth.authmethod = None' >"$d/iscsid.conf"
    out b_build bash "$BUILDER" -o "$OUT/restore-b-tape.img" --sysrecover "$SR" --modules-dir "$MODTREE" \
        --compress gzip --budget 64 --module iscsi_tcp \
        --add "$HERE/restore-b-st.sh=/restore-b-st.sh" --add "$KDIR/modules/scsi_debug.ko=/lib/modules/scsi_debug.ko" \
        --add "$HERE/restore-b-tgt.sh=/restore-b-tgt.sh" --add "$d/twin.tap=/b/twin.tap" \
        --add "$d/src2.sha256=/b/src2.sha256" --add "$d/iscsid.conf=/etc/iscsi/iscsid.conf" \
        --add "$(command -v tgtd)=/sbin/tgtd" --add "$(command -v tgtadm)=/sbin/tgtadm" \
        --add "$(command -v tgtimg)=/sbin/tgtimg" --add "$(command -v iscsid)=/sbin/iscsid" \
        --add "$(command -v iscsiadm)=/sbin/iscsiadm" || return 1
    echo "vm: INFO restore-b tape image: $(printf '%s\n' "$b_build" | tail -n 1) (built in $(($(date +%s) - t0)) s)"
}

# The st part (restore-b-st.sh, then restore-b-tgt.sh): the VMTEST lines of its guest, as
# run.sh reads the suites'.
b_boot_st() {
    vm_boot restore-b/st "$B_LOG_ST" 512 "$OUT/restore-b-tape.img" \
        "console=ttyS0 panic=-1 quiet sysrecover=run sysrecover.run=/restore-b-st.sh sysrecover.then=poweroff sysrecover.onfail=poweroff sysrecover.wait=1"
    vm_results restore-b/ "$B_LOG_ST"
    [ "$vm_done" = 1 ] || bad restore-b/st-done "no 'VMTEST DONE' from restore-b-st.sh"
}

if b_setup; then
    b_boot
    b_check
    if b_tape_setup; then b_boot_st; else bad restore-b/tape-setup "the tape image could not be made"; fi
else
    bad restore-b/setup "the image, the sources, the set or the targets could not be made"
fi
b_cleanup
trap - EXIT
