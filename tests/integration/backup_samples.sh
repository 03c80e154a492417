#!/bin/sh
# backup_samples.sh - the real images of Debian's forensics-samples-ext4 and
# forensics-samples-ntfs (an MBR disk, one partition each, made by other
# people's tools) backed up as one set, verified, and restored onto fresh
# filesystems of the same types; compared through the kernel's ext4
# (tests/lib/manifest.py: every field, xattrs included) and through
# ntfs-3g (sha256 of every file, and the NTFS security descriptor,
# attributes, short name and the creation/write/access times of every
# object; the MFT change time is not settable through libntfs-3g, so the
# fourth time is left out); e2fsck -fn and ntfsfix -n clean.
#   backup_samples.sh SYSRECOVER
set -u
. "$(dirname "$0")/../lib/check.sh"
workdir samples
need xz python3 mkfs.ext4 e2fsck mkntfs ntfs-3g ntfsfix getfattr losetup
S=$1
M=$(cd "$(dirname "$0")/../lib" && pwd)/manifest.py
F=/usr/share/forensics-samples
for k in ext4 ntfs; do
	[ -r "$F/fs.$k.xz" ] || { bad "sample-$k" "$F/fs.$k.xz missing (sh .ci/deps.sh)"; finish; exit 1; }
	xz -dc "$F/fs.$k.xz" >"$w/$k.raw"
done
cp "$w/ext4.raw" "$w/ext4.orig"
cp "$w/ntfs.raw" "$w/ntfs.orig"

exits backup 0 "0 failed" "$S" backup -t "$w/t.tap" "$w/ext4.raw" "$w/ntfs.raw"
check backup-read-only cmp "$w/ext4.raw" "$w/ext4.orig"
check backup-read-only-ntfs cmp "$w/ntfs.raw" "$w/ntfs.orig"
exits verify 0 " 0 bad" "$S" verify -t "$w/t.tap"
truncate -s 60M "$w/e.img" "$w/n.img"
mkfs.ext4 -q -F "$w/e.img"
mkntfs -Q -F -q "$w/n.img" >/dev/null 2>&1
exits restore 0 "0 failed, 0 refused, 0 lost at backup, 0 with metadata" \
	"$S" restore -t "$w/t.tap" --to "v0=$w/e.img" --to "v1=$w/n.img"
check restore-e2fsck e2fsck -fn "$w/e.img"
check restore-ntfsfix ntfsfix -n "$w/n.img"

ntfs_view() { # MOUNTPOINT -> every object: sha256 and NTFS metadata
	(cd "$1" && find . -mindepth 1 | sort | while IFS= read -r f; do
		printf '%s' "$f"
		[ -f "$f" ] && printf ' %s' "$(sha256sum <"$f" | cut -c1-64)"
		for a in ntfs_acl ntfs_attrib ntfs_dos_name; do
			printf ' %s=%s' "$a" "$(getfattr --only-values -n "system.$a" "$f" 2>/dev/null | od -An -tx1 | tr -d ' \n')"
		done
		printf ' times=%s\n' "$(getfattr --only-values -n system.ntfs_times "$f" 2>/dev/null | head -c 24 | od -An -tx1 | tr -d ' \n')"
	done)
}

# ext4: the sample's partition through a loop device, then ours
loopdev e "$w/ext4.raw" -o 1048576 -r || { finish; exit 1; }
mount -o ro "$e" "$mnt" && python3 "$M" "$mnt" --holes >"$w/e.want" && umount "$mnt" ||
	bad ext4-view "cannot read the sample"
mount -o ro,loop "$w/e.img" "$mnt" && python3 "$M" "$mnt" --holes >"$w/e.got" && umount "$mnt" ||
	bad ext4-view-restored "cannot read the restored volume"
cmp -s "$w/e.want" "$w/e.got" && ok "ext4: $(wc -l <"$w/e.want") objects, every field" ||
	bad ext4-same "$(diff "$w/e.want" "$w/e.got" | head -n 4 | tr '\t\n' ' |')"

# NTFS
loopdev n "$w/ntfs.raw" -o 1048576 -r || { finish; exit 1; }
ntfs-3g -o ro "$n" "$mnt" && ntfs_view "$mnt" >"$w/n.want" && umount "$mnt" ||
	bad ntfs-view "cannot read the sample"
ntfs-3g -o ro "$w/n.img" "$mnt" && ntfs_view "$mnt" >"$w/n.got" && umount "$mnt" ||
	bad ntfs-view-restored "cannot read the restored volume"
grep -q ntfs_acl=01 "$w/n.want" || bad ntfs-view-has-acl "the sample's view has no security descriptors"
cmp -s "$w/n.want" "$w/n.got" && ok "ntfs: $(wc -l <"$w/n.want") objects, data and NTFS metadata" ||
	bad ntfs-same "$(diff "$w/n.want" "$w/n.got" | head -n 4 | tr '\n' '|')"
finish
