#!/bin/sh
# backup_restore.sh - backup sets on a SIMH tape, end to end, checked with
# tools we did not write:
#   - an ext4 volume filled through the kernel (a loop mount: nanosecond
#     times, owners, modes with setuid and sticky bits, user and trusted
#     xattrs, POSIX ACLs, hard links, a sparse file, symlinks, a fifo, a
#     device node, long and non-ASCII names, a directory of 3,000 files) is
#     backed up, listed, verified and restored onto a fresh ext4; the two
#     trees are compared through the kernel (tests/lib/manifest.py: type,
#     mode, owner, size, mtime in ns, rdev, hard-link groups, sha256, every
#     xattr, holes) and e2fsck -fn is clean;
#   - GNU tar lists and extracts the data file on its own (tape read), and
#     `tar --xattrs` brings the user.* xattrs back;
#   - a directory of the running system is backed up and restored onto ext4;
#   - an NTFS volume (filled through ntfs-3g) goes to a fresh NTFS, compared
#     through an ntfs-3g mount (sha256 and the system.ntfs_attrib values),
#     ntfsfix -n clean;
#   - a second set is appended, and a selective restore of one member at the
#     end of it spaces over the records before it;
#   - verify catches a flipped byte in the data and names the member;
#   - a mounted target, or a volume without a target, is refused before
#     anything is written (cmp).
#   backup_restore.sh SYSRECOVER [SYSRECOVER_ASAN]   (the second runs it all again)
set -u
. "$(dirname "$0")/../lib/check.sh"
. "$(dirname "$0")/../lib/fill.sh"
workdir bkrs
need mkfs.ext4 e2fsck mkntfs ntfs-3g ntfsfix python3 tar bsdtar setfacl getfattr lsattr
S=$1
M=$(cd "$(dirname "$0")/../lib" && pwd)/manifest.py
T=$w/t.tap

# ---- an ext4 volume, filled by the kernel -------------------------------------------
truncate -s 160M "$w/src.img"
mkfs.ext4 -q -F "$w/src.img"
mount -o loop "$w/src.img" "$mnt" || { bad mount-src "cannot loop-mount"; finish; exit; }
{
	fill_ext4_tree "$mnt" 3000 &&
	(
		cd "$mnt" || exit 1
		# preallocated (unwritten) extents read as zeros, around some data
		fallocate -l 3M prealloc && printf 'in the middle' | dd of=prealloc bs=1 seek=1500000 conv=notrunc status=none
		printf 'x' >"$(printf 'n%0250d' 0)"
	)
} || bad fill-src "filling the source failed"
umount "$mnt"
# read-only from here: reading the tree must not change its atimes
mount -o ro,loop "$w/src.img" "$mnt" || { bad mount-src-ro "cannot mount"; finish; exit; }
python3 "$M" "$mnt" --holes --all-times >"$w/src.manifest" || bad manifest-src "manifest.py failed"
lsattr -d "$mnt/big" "$mnt/a" | cut -d' ' -f1 >"$w/src.lsattr"
umount "$mnt"
awk -F'\t' '$13 ~ /^[0-9]+$/' "$w/src.manifest" | grep -q . ||
	bad src-btime "statx gives no creation times: the comparison would be empty"
grep -q I "$w/src.lsattr" || bad src-htree "the kernel did not index the big directory"
e2fsck -fn "$w/src.img" >/dev/null 2>&1 || bad src-fsck "the source is not clean"

# ---- backup, list, verify ---------------------------------------------------------------
exits backup 0 "set .* at tape file 0: .* 0 failed" "$S" backup -t "$T" "$w/src.img"
out sets "$S" list -t "$T" --json
has list-sets-json "$sets" '"set": 1'
has list-sets-fstype "$sets" '"fstype": "ext4"'
out members "$S" list -t "$T" --set 1
has list-members-random "$members" "v0/a/b/c/random"
has list-members-link "$members" "v0/hardlink-at-root link to v0/a/b/hardlink"
n=$(printf '%s\n' "$members" | wc -l)
want=$(($(wc -l <"$w/src.manifest") + 0))
is list-member-count "$n" "$want"
exits verify 0 "0 bad" "$S" verify -t "$T" --set 1

# ---- GNU tar reads the data file alone --------------------------------------------------
exits tape-read 0 "stopped at a filemark" "$S" tape "$T" rewind fsf 1 read "$w/data.tar"
check tar-list tar -tf "$w/data.tar"
mkdir -p "$w/tarx"
check tar-extract tar -x --xattrs -b 512 -f "$w/data.tar" -C "$w/tarx"
is tar-random "$(sha256sum <"$w/tarx/v0/a/b/c/random" | cut -d' ' -f1)" \
	"$(awk -F'\t' '$1 == "a/b/c/random" { print $9 }' "$w/src.manifest")"
is tar-user-xattr "$(getfattr --only-values -n user.colour "$w/tarx/v0/a/small" 2>/dev/null)" blue
mkdir -p "$w/bsdx"
check bsdtar-extract bsdtar -x -f "$w/data.tar" -C "$w/bsdx"
is bsdtar-random "$(sha256sum <"$w/bsdx/v0/a/b/c/random" | cut -d' ' -f1)" \
	"$(awk -F'\t' '$1 == "a/b/c/random" { print $9 }' "$w/src.manifest")"
is bsdtar-sparse-holes "$(du -k "$w/bsdx/v0/sparse" | cut -f1)" "$(du -k "$w/tarx/v0/sparse" | cut -f1)"

# ---- restore onto a fresh ext4, compare through the kernel ------------------------------
truncate -s 160M "$w/dst.img"
mkfs.ext4 -q -F "$w/dst.img"
exits restore 0 "0 failed, 0 refused" "$S" restore -t "$T" --to "v0=$w/dst.img"
check restore-e2fsck e2fsck -fn "$w/dst.img"
if mount -o ro,loop "$w/dst.img" "$mnt"; then
	python3 "$M" "$mnt" --holes --all-times >"$w/dst.manifest" || bad manifest-dst "manifest.py failed"
	lsattr -d "$mnt/big" "$mnt/a" | cut -d' ' -f1 >"$w/dst.lsattr"
	umount "$mnt"
	check restore-htree-as-the-kernel cmp "$w/src.lsattr" "$w/dst.lsattr"
	if cmp -s "$w/src.manifest" "$w/dst.manifest"; then
		ok "restore-same-tree: $(wc -l <"$w/src.manifest") objects, every field (atime, mtime and creation time in ns)"
	else
		bad restore-same-tree "$(diff "$w/src.manifest" "$w/dst.manifest" | head -n 6 | tr '\t\n' ' |')"
	fi
else
	bad mount-dst "cannot mount the restored volume"
fi

# ---- a second restore onto the same volume: replaces, keeps what is not in the set --------
mount -o loop "$w/dst.img" "$mnt" && echo "changed" >"$mnt/a/small" && echo keep >"$mnt/not-in-set" && umount "$mnt"
exits restore-again 0 "0 failed" "$S" restore -t "$T" --to "v0=$w/dst.img"
check restore-again-e2fsck e2fsck -fn "$w/dst.img"
if mount -o ro,loop "$w/dst.img" "$mnt"; then
	is restore-again-replaced "$(cat "$mnt/a/small")" "small file"
	is restore-again-kept "$(cat "$mnt/not-in-set")" keep
	is restore-again-no-tmp "$(ls -a "$mnt" | grep -c sysrecover-tmp)" 0
	umount "$mnt"
fi

# ---- refusals before any write ------------------------------------------------------------
cp "$w/dst.img" "$w/dst.before"
mount -o ro,loop "$w/dst.img" "$mnt"
refuses refuse-mounted "mounted" "$S" restore -t "$T" --to "v0=$w/dst.img"
umount "$mnt"
check refuse-mounted-unchanged cmp "$w/dst.img" "$w/dst.before"
# a target that was not cleanly closed (its state says so), and a damaged catalog
cp "$w/dst.before" "$w/dirty.img"
debugfs -w -R "ssv state 0" "$w/dirty.img" >/dev/null 2>&1
cp "$w/dirty.img" "$w/dirty.before"
refuses refuse-dirty "not cleanly closed|has errors|needs" "$S" restore -t "$T" --to "v0=$w/dirty.img"
check refuse-dirty-unchanged cmp "$w/dirty.img" "$w/dirty.before"
cp "$T" "$w/badcat.tap"
off=$(grep -obUa 'SYSRECOVER CATALOG 1' "$w/badcat.tap" | head -n 1 | cut -d: -f1)
printf 'X' | dd of="$w/badcat.tap" bs=1 seek=$((off + 60)) conv=notrunc status=none
refuses refuse-damaged-catalog "catalog" "$S" restore -t "$w/badcat.tap" --to "v0=$w/dst.img"
check refuse-damaged-catalog-unchanged cmp "$w/dst.img" "$w/dst.before"
truncate -s 4M "$w/tiny.img"
mkfs.ext4 -q -F "$w/tiny.img"
cp "$w/tiny.img" "$w/tiny.before"
refuses refuse-too-small "its target .* (has [0-9]* free|room for [0-9]* more).*nothing was written" \
	"$S" restore -t "$T" --to "v0=$w/tiny.img"
check refuse-too-small-unchanged cmp "$w/tiny.img" "$w/tiny.before"

# ---- a directory source, and a second set on the same tape --------------------------------
D=$w/dirsrc
mkdir -p "$D/x/y"
head -c 300000 /dev/urandom >"$D/x/y/data"
echo hi >"$D/x/hi"
i=0
while [ $i -lt 400 ]; do head -c 5000 /dev/urandom >"$D/x/f$i"; i=$((i + 1)); done
head -c 3000000 /dev/urandom >"$D/zzz-last"
python3 "$M" "$D" --no-owner >"$w/dir.manifest"
exits backup-dir 0 "at tape file 3:" "$S" backup -t "$T" --record-size 64k "$D"
out sets2 "$S" list -t "$T"
has list-two-sets "$sets2" "set 2"
refuses refuse-no-target "no UUID" "$S" restore -t "$T" --set 2
truncate -s 4M "$w/tiny2.img"
mkfs.ext4 -q -F -N 2048 "$w/tiny2.img"
cp "$w/tiny2.img" "$w/tiny2.before"
refuses refuse-no-room-for-data "needs [0-9]* bytes and its target .* has [0-9]* free.*nothing was written" \
	"$S" restore -t "$T" --set 2 --to "v0=$w/tiny2.img"
check refuse-no-room-unchanged cmp "$w/tiny2.img" "$w/tiny2.before"
truncate -s 64M "$w/dir.img"
mkfs.ext4 -q -F "$w/dir.img"
exits restore-dir 0 "0 failed" "$S" restore -t "$T" --set 2 --to "v0=$w/dir.img"
if mount -o ro,loop "$w/dir.img" "$mnt"; then
	python3 "$M" "$mnt" --no-owner --skip lost+found >"$w/dir2.manifest"
	umount "$mnt"
	cmp -s "$w/dir.manifest" "$w/dir2.manifest" && ok restore-dir-same-tree ||
		bad restore-dir-same-tree "$(diff "$w/dir.manifest" "$w/dir2.manifest" | head -n 4 | tr '\t\n' ' |')"
fi

# ---- selective: one member from the end of set 2 ---------------------------------------------
truncate -s 64M "$w/sel.img"
mkfs.ext4 -q -F "$w/sel.img"
out sel "$S" restore -t "$T" --set 2 --json --to "v0=$w/sel.img" 'v0/zzz-last'
skipped=$(printf '%s' "$sel" | sed -n 's/.*"records_skipped": \([0-9]*\).*/\1/p')
readn=$(printf '%s' "$sel" | sed -n 's/.*"records_read": \([0-9]*\).*/\1/p')
[ "${skipped:-0}" -gt 20 ] && [ "${readn:-999}" -le 60 ] &&
	ok "selective: spaced over $skipped records, read $readn" ||
	bad selective-positioning "spaced over ${skipped:-?}, read ${readn:-?}: $sel"
if mount -o ro,loop "$w/sel.img" "$mnt"; then
	check selective-content cmp "$D/zzz-last" "$mnt/zzz-last"
	is selective-only-that "$(ls "$mnt" | grep -vc lost+found)" 1
	umount "$mnt"
fi

# ---- selective: hard links whose first name is not wanted ---------------------------------------
# a/small, a/b/hardlink and hardlink-at-root are one inode; the data travels
# with the first of them, which is not asked for: the two wanted names must
# still get the content and the inode's metadata, as the fill above made them.
truncate -s 64M "$w/sel2.img"
mkfs.ext4 -q -F "$w/sel2.img"
first=$("$S" list -t "$T" --set 1 | awk '$1 == "f" && $3 ~ /(small|hardlink)$/ { print $3; exit }')
wantl=$(for n in v0/a/small v0/a/b/hardlink v0/hardlink-at-root; do [ "$n" = "$first" ] || echo "$n"; done)
[ -n "$first" ] && [ "$(printf '%s\n' "$wantl" | wc -l)" -eq 2 ] || bad selective-links-setup "first name of the link group not found: '$first'"
# shellcheck disable=SC2086
exits selective-links 0 " 2 hard links.*; 0 failed" "$S" restore -t "$T" --set 1 --to "v0=$w/sel2.img" $wantl
if mount -o ro,loop "$w/sel2.img" "$mnt"; then
	l1=$mnt/$(printf '%s\n' "$wantl" | sed -n 1p | cut -c4-)
	l2=$mnt/$(printf '%s\n' "$wantl" | sed -n 2p | cut -c4-)
	is selective-links-content "$(cat "$l1")" "small file"
	is selective-links-one-inode "$(stat -c %i "$l1")" "$(stat -c %i "$l2")"
	is selective-links-nlink "$(stat -c %h "$l1")" 2
	is selective-links-mode "$(stat -c %a "$l1")" 4755
	is selective-links-xattr "$(getfattr --only-values -n user.colour "$l1" 2>/dev/null)" blue
	is selective-links-mtime "$(stat -c %.9Y "$l1")" "$(date -d '2001-02-03 04:05:06.123456789' +%s.%N)"
	[ ! -e "$mnt/${first#v0/}" ] && ok selective-links-first-not-restored ||
		bad selective-links-first-not-restored "$first was restored too"
	is selective-links-no-temporary "$(ls -A "$mnt" | grep -v lost+found | sort | tr '\n' ' ')" \
		"$(for n in $wantl; do echo "$n" | cut -d/ -f2; done | sort -u | tr '\n' ' ')"
	umount "$mnt"
else
	bad selective-links-mount "cannot mount the target"
fi
check selective-links-fsck e2fsck -fn "$w/sel2.img"

# ---- verify catches damage in the data --------------------------------------------------------
cp "$T" "$w/bad.tap"
off=$(grep -obUaP 'small file' "$w/bad.tap" | head -n 1 | cut -d: -f1)
if [ -n "$off" ]; then
	printf 'X' | dd of="$w/bad.tap" bs=1 seek="$off" conv=notrunc status=none
	refuses verify-damage "v0/a/b/hardlink: its data does not match" "$S" verify -t "$w/bad.tap" --set 1
else
	bad verify-damage-setup "the member's bytes were not found in the image"
fi

# ---- NTFS to a fresh NTFS --------------------------------------------------------------------
truncate -s 64M "$w/n.img"
mkntfs -Q -F -q "$w/n.img" >/dev/null 2>&1
if ntfs-3g "$w/n.img" "$mnt"; then
	mkdir -p "$mnt/Windows/System32" "$mnt/Users/a b"
	head -c 500000 /dev/urandom >"$mnt/Windows/System32/k.dll"
	echo "hello" >"$mnt/Users/a b/note.txt"
	setfattr -n system.ntfs_attrib_be -v 0x00000021 "$mnt/Users/a b/note.txt"
	# named data streams (ntfs-3g shows them as user.* xattrs)
	setfattr -n user.Zone.Identifier -v "[ZoneTransfer] ZoneId=3" "$mnt/Users/a b/note.txt"
	python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.big", os.urandom(60000))' \
		"$mnt/Windows/System32/k.dll" || bad ntfs-stream-write "cannot write a stream"
	umount "$mnt"
	exits backup-ntfs 0 "2 streams.* 0 failed" "$S" backup -t "$T" "$w/n.img"
	truncate -s 64M "$w/n2.img"
	mkntfs -Q -F -q "$w/n2.img" >/dev/null 2>&1
	exits restore-ntfs 0 "0 failed" "$S" restore -t "$T" --set 3 --to "v0=$w/n2.img"
	check restore-ntfsfix ntfsfix -n "$w/n2.img"
	for img in n n2; do
		ntfs-3g -o ro "$w/$img.img" "$mnt" || { bad "mount-$img" "ntfs-3g failed"; continue; }
		(cd "$mnt" && find Windows Users -type f | sort | xargs -d '\n' sha256sum &&
			getfattr --only-values -n system.ntfs_attrib_be "Users/a b/note.txt" | od -An -tx1 &&
			getfattr --only-values -n user.Zone.Identifier "Users/a b/note.txt" &&
			getfattr --only-values -n user.big Windows/System32/k.dll | sha256sum) \
			>"$w/$img.sums" 2>&1
		umount "$mnt"
	done
	grep -q ZoneId=3 "$w/n.sums" || bad ntfs-stream-setup "the source has no stream"
	cmp -s "$w/n.sums" "$w/n2.sums" && ok "ntfs-same-files-attributes-and-streams" ||
		bad ntfs-same "$(diff "$w/n.sums" "$w/n2.sums" | head -n 4 | tr '\n' ' ')"
	# ---- cross restores: what the other kind cannot hold is counted and named ----
	truncate -s 64M "$w/x2e.img"
	mkfs.ext4 -q -F "$w/x2e.img"
	out cross1 sh -c '"$1" restore -t "$2" --set 3 --to "v0=$3" 2>&1' sh "$S" "$T" "$w/x2e.img"
	has ntfs-to-ext-counted "$cross1" "0 failed, 0 refused, 0 lost at backup"
	has ntfs-to-ext-names-acl "$cross1" "xattr system.ntfs_acl not kept"
	has ntfs-to-ext-names-stream "$cross1" "alternate data stream not kept"
	check ntfs-to-ext-e2fsck e2fsck -fn "$w/x2e.img"
	if mount -o ro,loop "$w/x2e.img" "$mnt"; then
		(cd "$mnt" && find Windows Users -type f | sort | xargs -d '\n' sha256sum) >"$w/x2e.sums"
		umount "$mnt"
		head -n 2 "$w/n.sums" | cmp -s - "$w/x2e.sums" && ok ntfs-to-ext-data ||
			bad ntfs-to-ext-data "$(cat "$w/x2e.sums" | tr '\n' ' ')"
	fi
	truncate -s 160M "$w/x2n.img"
	mkntfs -Q -F -q "$w/x2n.img" >/dev/null 2>&1
	out cross2 sh -c '"$1" restore -t "$2" --set 1 --to "v0=$3" 2>&1' sh "$S" "$T" "$w/x2n.img"
	has ext-to-ntfs-counted "$cross2" "0 failed, 0 refused, 0 lost at backup"
	has ext-to-ntfs-names-owner "$cross2" "owner and mode not kept"
	has ext-to-ntfs-names-acl "$cross2" "xattr system.posix_acl_access not kept"
	n=$(printf '%s' "$cross2" | sed -n 's/.*, \([0-9]*\) with metadata the target cannot hold.*/\1/p')
	[ "${n:-0}" -gt 0 ] && ok "ext-to-ntfs: $n members with metadata NTFS cannot hold" ||
		bad ext-to-ntfs-count "no count: $cross2"
	check ext-to-ntfs-ntfsfix ntfsfix -n "$w/x2n.img"
	if ntfs-3g -o ro "$w/x2n.img" "$mnt"; then
		is ext-to-ntfs-data "$(sha256sum <"$mnt/a/b/c/random" | cut -d' ' -f1)" \
			"$(awk -F'\t' '$1 == "a/b/c/random" { print $9 }' "$w/src.manifest")"
		umount "$mnt"
	fi
else
	bad mount-ntfs "ntfs-3g failed"
fi
# A medium that fills up under the backup (a tape on a 1 MiB tmpfs): the
# writer thread's failure reaches the reader, the hashing thread and the
# catalog, and the backup ends with the error, not a hang or a "set" line.
if mount -t tmpfs -o size=1M tmpfs "$mnt"; then
	exits full-medium 2 "cannot write to .*No space left on device" \
		timeout 120 "$S" backup -t "$mnt/full.tap" "$w/src.img"
	umount "$mnt"
else
	bad full-medium-tmpfs "cannot mount a tmpfs"
fi
# the same under ASan and UBSan, when the run-all gives that build
if [ -n "${2:-}" ] && [ -x "$2" ]; then
	CHECK_PREFIX="asan: " sh "$0" "$2" || fails=$((fails + 1))
fi
finish
