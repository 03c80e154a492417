#!/bin/sh
# fs_copy.sh - `sysrecover fs VOL copy-in SRC /` (fs_copy_tree) of a tree made
# with real tools (holes, hard links, symlinks, a fifo, a device node, xattrs,
# an ACL, set-id bits, odd names, fixed mtimes) into a fresh ext4 image, a
# fresh NTFS image and a directory, each checked by independent tools:
#   ext4: e2fsck -fn, and a read-only kernel loop mount compared with the
#         source (type, mode, owner, size, mtime ns, links, symlink target,
#         device numbers, sha256, getfattr, getfacl, allocated bytes);
#   NTFS: an ntfs-3g read-only mount (tree, contents, mtimes, link counts,
#         user xattrs), ntfsls, and the summary's skipped/not-kept counts;
#   dir:  the same comparison as ext4, and a planted difference is caught.
#   fs_copy.sh SYSRECOVER [SYSRECOVER_ASAN]
set -u
. "$(dirname "$0")/../lib/check.sh"
SR=$1
SRA=${2:-}
workdir fscopy
T=$w
MNT=$mnt
need mke2fs e2fsck mkntfs ntfs-3g ntfsls setfattr getfattr setfacl getfacl sha256sum mknod

# ---- the source tree --------------------------------------------------------
S=$T/src
make_src() {
	mkdir -p "$S/dir/deep/er" "$S/odd name ü" "$S/empty"
	printf 'hello\n' >"$S/a.txt"
	truncate -s 20M "$S/sparse"
	dd if=/dev/urandom of="$S/sparse" bs=4096 count=3 seek=1000 conv=notrunc status=none
	dd if=/dev/urandom of="$S/sparse" bs=4096 count=1 seek=0 conv=notrunc status=none
	truncate -s 1M "$S/allhole"
	dd if=/dev/urandom of="$S/big" bs=1M count=3 status=none
	: >"$S/zero"
	ln "$S/a.txt" "$S/dir/hard1"
	ln "$S/a.txt" "$S/odd name ü/hard 2"
	ln -s a.txt "$S/link"
	ln -s "../odd name ü/f ü" "$S/dir/rel link"
	ln -s /nonexistent/target "$S/dangling"
	mkfifo "$S/fifo"
	mknod "$S/null2" c 1 3
	mknod "$S/blk" b 7 200
	printf 'x\n' >"$S/odd name ü/f ü"
	printf 'y\n' >"$S/dir/deep/er/leaf"
	setfattr -n user.color -v blue "$S/a.txt"
	setfattr -n user.bin -v 0x00ff10 "$S/big"
	setfattr -n user.dirattr -v d "$S/dir"
	setfattr -n trusted.t -v secret "$S/zero"
	setfacl -m u:1234:rw,g:77:r "$S/big"
	setfacl -d -m u:99:rx "$S/dir"
	chown 1000:1001 "$S/a.txt"
	chown -h 42:43 "$S/link"
	chown 5:6 "$S/dir/deep"
	chmod 4751 "$S/zero"
	chmod 2770 "$S/dir/deep"
	chmod 0555 "$S/dir/deep/er"
	chmod 0700 "$S/odd name ü"
	# mtimes (100 ns multiples, so NTFS can hold them exactly), children first
	find "$S" -depth -exec touch -h -d '2001-02-03 04:05:06.1234567 UTC' {} +
	touch -d '1999-12-31 23:59:59.5 UTC' "$S/big"
	touch -h -d '2010-06-07 08:09:10.2 UTC' "$S/link"
	touch -d '2020-01-01 00:00:00 UTC' "$S/dir"
}
make_src

# One line per object, sorted: the metadata a POSIX copy must keep.
listing() ( # ROOT [ntfs]
	cd "$1" || exit 1
	sorted . | while IFS= read -r p; do
		# %s for directories depends on the filesystem: left out; so is
		# the link count of an ext root (lost+found)
		if [ "$p" = . ]; then
			stat -c '%F|%a|%u|%g|-|%.9Y|-|%N|-' -- "$p"
		elif [ -d "$p" ] && [ ! -L "$p" ]; then
			stat -c '%F|%a|%u|%g|-|%.9Y|%h|%N|-' -- "$p"
		else
			stat -c '%F|%a|%u|%g|%s|%.9Y|%h|%N|%t:%T' -- "$p"
		fi
		if [ -f "$p" ] && [ ! -L "$p" ]; then
			sha256sum <"$p"
			du --block-size=1 -- "$p" | cut -f1
		fi
	done
)
# getfattr/getfacl -R follow directory order: walk in sorted order instead.
sorted() ( cd "$1" && find . -path ./lost+found -prune -o -print | LC_ALL=C sort )
xattrs() ( cd "$1" && sorted . | while IFS= read -r p; do
	echo "$p"; getfattr -h -d -m - -e hex -- "$p" 2>/dev/null | grep -v '^#'; done )
acls() ( cd "$1" && sorted . | while IFS= read -r p; do
	[ -L "$p" ] || getfacl -n -- "$p" 2>/dev/null; done )

compare_tree() { # NAME SRC DST
	listing "$2" >"$T/l.src"
	listing "$3" >"$T/l.dst"
	check "$1-tree-metadata" diff "$T/l.src" "$T/l.dst"
	xattrs "$2" >"$T/x.src"
	xattrs "$3" >"$T/x.dst"
	check "$1-xattrs" diff "$T/x.src" "$T/x.dst"
	acls "$2" >"$T/a.src"
	acls "$3" >"$T/a.dst"
	check "$1-acls" diff "$T/a.src" "$T/a.dst"
}

summary() { grep '^copy-in:' "$1"; }
count() { summary "$1" | sed -n "s/.*[ ,;]\\([0-9][0-9]*\\) $2.*/\\1/p"; }

# ---- (a) ext4 ---------------------------------------------------------------
for sr in "$SR" $SRA; do
	v=$(basename "$(dirname "$sr")")
	img=$T/e.img
	rm -f "$img"
	truncate -s 128M "$img"
	mke2fs -q -t ext4 -b 4096 -I 256 "$img"
	"$sr" fs "$img" copy-in "$S" / >"$T/out" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then ok "ext4-copy-in-$v"; else bad "ext4-copy-in-$v" "rc=$rc $(tail -n 5 "$T/out" | tr '\n' ' ')"; fi
	# 7 files (a.txt with 3 names), 5 dirs, 3 symlinks, 3 specials, 2 links
	s=$(summary "$T/out")
	case "$s" in
	*" 7 files, 5 dirs, 3 symlinks, 3 special, 2 hard links, "*"skipped 0, owner not kept 0, metadata not kept 0, failed 0")
		ok "ext4-summary-$v";;
	*) bad "ext4-summary-$v" "$s";;
	esac
	check "ext4-e2fsck-$v" e2fsck -fn "$img"
	if mount -o ro,loop,noload "$img" "$MNT"; then
		compare_tree "ext4-$v" "$S" "$MNT"
		umount "$MNT"
	else
		bad "ext4-mount-$v" "kernel ext4 refused the image"
	fi
done

# Copying again: every top-level name exists -> each is a failed item, the
# volume stays consistent, the exit status says so.
"$SR" fs "$T/e.img" copy-in "$S" / >"$T/out" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q 'File exists' "$T/out" && \
   summary "$T/out" | grep -q 'failed [1-9]'; then
	ok ext4-eexist-reported
else
	bad ext4-eexist-reported "rc=$rc $(tail -n 3 "$T/out" | tr '\n' ' ')"
fi
check ext4-eexist-e2fsck e2fsck -fn "$T/e.img"

# ---- (b) NTFS ---------------------------------------------------------------
# NTFS has no POSIX owner, mode or ACL: those are counted as not kept.  Fifos
# and device nodes become Interix objects (as ntfs-3g makes them).
ntfs_list() ( # ROOT: names, type, size, mtime to 100 ns, links, sha256
	cd "$1" || exit 1
	find . | LC_ALL=C sort | while IFS= read -r p; do
		if [ -d "$p" ] && [ ! -L "$p" ]; then
			stat -c '%F|-|%.9Y|-' -- "$p" | sed 's/\(\.[0-9]\{7\}\)[0-9][0-9]|/\1|/'
		else
			# the size of an Interix device or fifo is its record: left out
			if [ -f "$p" ] || [ -L "$p" ]; then f='%F|%s|%.9Y|%h'; else f='%F|-|%.9Y|%h'; fi
			stat -c "$f" -- "$p" | sed 's/\(\.[0-9]\{7\}\)[0-9][0-9]|/\1|/'
		fi
		echo "$p"
		[ -L "$p" ] && readlink -- "$p"
		if [ -f "$p" ] && [ ! -L "$p" ]; then sha256sum <"$p"; fi
	done
)
for sr in "$SR" $SRA; do
	v=$(basename "$(dirname "$sr")")
	img=$T/n.img
	rm -f "$img"
	truncate -s 128M "$img"
	mkntfs -Q -F -q "$img" >/dev/null 2>&1 || { bad "ntfs-mkntfs-$v" "mkntfs failed"; continue; }
	"$sr" fs "$img" copy-in "$S" / >"$T/out" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then ok "ntfs-copy-in-$v"; else bad "ntfs-copy-in-$v" "rc=$rc $(tail -n 5 "$T/out" | tr '\n' ' ')"; fi
	s=$(summary "$T/out")
	nobj=$(find "$S" -mindepth 0 | wc -l)   # every object but the 2 extra names
	case "$s" in
	*" 7 files, 5 dirs, 3 symlinks, 3 special, 2 hard links, "*"failed 0") ok "ntfs-summary-counts-$v";;
	*) bad "ntfs-summary-counts-$v" "$s";;
	esac
	no=$(count "$T/out" "owner not kept")
	[ -z "$no" ] && no=$(echo "$s" | sed -n 's/.*owner not kept \([0-9]*\).*/\1/p')
	if [ "$no" = $((nobj - 2)) ]; then ok "ntfs-owner-not-kept-$v"; else bad "ntfs-owner-not-kept-$v" "owner not kept '$no', want $((nobj - 2)): $s"; fi
	# not kept: big's ACL, dir's default ACL (POSIX ACLs)
	nm=$(echo "$s" | sed -n 's/.*metadata not kept \([0-9]*\).*/\1/p')
	if [ "$nm" = 2 ] && grep -q 'system.posix_acl_access not kept' "$T/out"; then
		ok "ntfs-acl-not-kept-$v"
	else
		bad "ntfs-acl-not-kept-$v" "metadata not kept '$nm': $(grep -v '^copy-in' "$T/out" | head -n 3 | tr '\n' ' ')"
	fi
	if ntfs-3g -o ro "$img" "$MNT" 2>"$T/err"; then
		ntfs_list "$S" >"$T/l.src"
		ntfs_list "$MNT" >"$T/l.dst"
		check "ntfs-tree-contents-mtimes-links-$v" diff "$T/l.src" "$T/l.dst"
		x=$(getfattr --absolute-names --only-values -n user.color "$MNT/a.txt" 2>&1)
		y=$(getfattr --absolute-names -e hex -n user.bin "$MNT/big" 2>&1 | grep user.bin)
		z=$(getfattr --absolute-names --only-values -n user.dirattr "$MNT/dir" 2>&1)
		if [ "$x" = blue ] && [ "$y" = 'user.bin=0x00ff10' ] && [ "$z" = d ]; then
			ok "ntfs-user-xattrs-$v"
		else
			bad "ntfs-user-xattrs-$v" "got '$x' '$y' '$z'"
		fi
		umount "$MNT"
	else
		bad "ntfs-mount-$v" "$(cat "$T/err")"
	fi
	ntfsls -R -a "$img" 2>&1 | grep -v '^\$' >"$T/ls" || true
	miss=
	for n in a.txt big sparse 'odd name ü' 'f ü' 'hard 2' leaf hard1 empty; do
		grep -qxF "$n" "$T/ls" || miss="$miss '$n'"
	done
	if [ -z "$miss" ]; then ok "ntfs-ntfsls-$v"; else bad "ntfs-ntfsls-$v" "missing:$miss"; fi
done

# ---- (c) a directory --------------------------------------------------------
# Into a subdirectory of the volume: a dst_path that is not the root.
mkdir -p "$T/dvol/sub"
D=$T/dvol/sub
"$SR" fs "$T/dvol" copy-in "$S" /sub >"$T/out" 2>&1
rc=$?
if [ $rc -eq 0 ]; then ok dir-copy-in; else bad dir-copy-in "rc=$rc $(tail -n 5 "$T/out" | tr '\n' ' ')"; fi
compare_tree dir "$S" "$D"
# The comparison can fail: a changed mtime, an xattr and a byte are caught.
touch -h -d '2002-01-01' "$D/link"
listing "$S" >"$T/l.src"; listing "$D" >"$T/l.dst"
refuses dir-compare-catches-mtime 'differ' diff -q "$T/l.src" "$T/l.dst"
setfattr -n user.color -v red "$D/a.txt"
xattrs "$S" >"$T/x.src"; xattrs "$D" >"$T/x.dst"
refuses dir-compare-catches-xattr 'differ' diff -q "$T/x.src" "$T/x.dst"
# ---- (d) a full volume ----------------------------------------------------------
# More data than the image holds: the copy goes on (exit 1), every failure
# names the source file, every file present under its real name is whole
# (compared byte for byte through debugfs rdump / an ntfs-3g read-only
# mount), and no temporary name is left.
F=$T/full
mkdir -p "$F/d"
i=0
while [ $i -lt 40 ]; do
	head -c $((150000 + i * 9000)) /dev/urandom >"$F/d/f$i"
	i=$((i + 1))
done
for v in ext ntfs; do
	img=$T/full-$v.img
	rm -f "$img"
	truncate -s 6M "$img"
	if [ $v = ext ]; then
		mke2fs -q -F -t ext4 "$img"
	else
		mkntfs -Q -F -q "$img" >/dev/null 2>&1
	fi
	for x in "$SR" ${SRA:+"$SRA"}; do
		[ $v = ext ] && mke2fs -q -F -t ext4 "$img"
		[ $v = ntfs ] && mkntfs -Q -F -q "$img" >/dev/null 2>&1
		t=$v-$(basename "$(dirname "$x")")
		exits "full-$t-exit-1" 1 "No space left on device.* \(copying '$F/d/f[0-9]+'\)" \
			"$x" fs "$img" copy-in "$F" /
		rm -rf "${T:?}/got"
		mkdir -p "$T/got"
		if [ $v = ext ]; then
			# A file that filled the volume to its last block must
			# be removable (libext2fs 1.47.0's punch off-by-one).
			if e2fsck -fn "$img" >"$T/fsck" 2>&1; then ok "full-$t-e2fsck"
			else bad "full-$t-e2fsck" "$(grep -v '^Fix' "$T/fsck" | sed -n '6,9p' | tr '\n' ' ')"; fi
			check "full-$t-rdump" debugfs -R "rdump /d $T/got" "$img"
		elif ntfs-3g -o ro "$img" "$MNT" 2>"$T/err"; then
			cp -a "$MNT/d" "$T/got/" 2>"$T/err" || bad "full-$t-read" "$(cat "$T/err")"
			umount "$MNT"
		else
			bad "full-$t-mount" "$(cat "$T/err")"
		fi
		n=$(ls "$T/got/d" | wc -l)
		[ "$n" -gt 0 ] && [ "$n" -lt 40 ] && ok "full-$t-some-fit: $n of 40" ||
			bad "full-$t-some-fit" "$n of 40 files on the volume"
		whole=0
		for f in "$T/got/d/"*; do
			cmp -s "$f" "$F/d/$(basename "$f")" || { bad "full-$t-whole" "$(basename "$f") differs from its source"; whole=1; }
		done
		[ $whole -eq 0 ] && ok "full-$t-every-file-whole"
		if [ $v = ext ]; then
			out rl debugfs -R 'ls /' "$img"
		else
			out rl ntfsls -a "$img"
		fi
		has "full-$t-listed" "$rl" d
		is "full-$t-no-tmp" "$(printf '%s\n' "$rl" "$(ls -a "$T/got/d")" | grep -c sysrecover-tmp)" 0
	done
done

# ---- (e) one file bigger than the whole volume -----------------------------------
# `put` and a copy-in of just that file: it fills the volume to its last
# block, fails with ENOSPC naming the source, and leaves nothing: no file,
# no temporary directory, a clean checker.  (On ext this met two bugs of
# Debian 12's libext2fs: punch refused the extent that ends at the last
# block, and unix_io read a directory block back stale after the removal.)
head -c 8000000 /dev/urandom >"$T/huge"
mkdir -p "$T/one" && cp "$T/huge" "$T/one/huge"
for v in ext ntfs; do
	img=$T/huge-$v.img
	for how in put copy-in; do
		rm -f "$img"
		truncate -s 6M "$img"
		if [ $v = ext ]; then mke2fs -q -F -t ext4 "$img"
		else mkntfs -Q -F -q "$img" >/dev/null 2>&1; fi
		t=huge-$v-$how
		if [ $how = put ]; then
			exits "$t-exit" 2 "No space left on device.* \(copying '$T/huge'\)" \
				"$SR" fs "$img" put "$T/huge" /huge
		else
			exits "$t-exit" 1 "No space left on device.* \(copying '$T/one/huge'\)" \
				"$SR" fs "$img" copy-in "$T/one" /
		fi
		if [ $v = ext ]; then
			check "$t-e2fsck" e2fsck -fn "$img"
			out rl debugfs -R 'ls /' "$img"
		else
			check "$t-ntfsfix" ntfsfix -n "$img"
			out rl ntfsls -a "$img"
		fi
		is "$t-nothing-left" "$(printf '%s\n' "$rl" | grep -cE 'huge|sysrecover-tmp')" 0
	done
done
finish
