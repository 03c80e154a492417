#!/bin/sh
# sis.sh - single-instance-store (SIS) links and the common store, end to
# end on a SIMH tape, checked with tools we did not write:
#   - an NTFS volume (mkntfs) gets, through an ntfs-3g mount, a common
#     store with an ACL of its own and SIS links (tests/lib/sis.py: sparse
#     files with nothing allocated and an IO_REPARSE_TAG_SIS reparse point
#     set with setfattr);
#   - backup (with --exclude '/SIS Common Store/*', which must not drop the
#     store), list (each link names the store file whose GUID sis.py put in
#     its reparse data), verify;
#   - restore onto a fresh NTFS: reparse data byte-identical (getfattr -e
#     hex), links still sparse with nothing allocated (ntfsinfo -v: only
#     holes in the runlist), store files' sha256 and system.ntfs_acl
#     identical, ntfsfix -n clean;
#   - restore again: the store files are skipped as identical (and one
#     changed on the target is written again);
#   - a selective restore of one link brings its store file along;
#   - a set holding a link whose store file is missing fails verify (exit 1)
#     and names the link;
#   - restore onto ext4: each link reported as not restorable, the store
#     files restored (debugfs dump, sha256), e2fsck -fn clean.
#   sis.sh SYSRECOVER [SYSRECOVER_ASAN]   (the second runs it all again)
set -u
. "$(dirname "$0")/../lib/check.sh"
workdir sis
need mkntfs ntfs-3g ntfsfix ntfsinfo mkfs.ext4 e2fsck debugfs python3 getfattr setfattr sha256sum
S=$1
SIS=$(cd "$(dirname "$0")/../lib" && pwd)/sis.py
T=$w/t.tap
STORE="SIS Common Store"

newntfs() { truncate -s 64M "$1" && mkntfs -Q -F -q "$1" >/dev/null 2>&1; }

# the reparse data of a link, as ntfs-3g gives it (the links show as
# symlinks to an unsupported reparse point: -h)
reparse() { getfattr -h --absolute-names --only-values -e hex -n system.ntfs_reparse_data "$1"; }
acl() { getfattr -h --absolute-names --only-values -e hex -n system.ntfs_acl "$1"; }

. "$(dirname "$0")/../lib/holes.sh"

# ---- the source volume ----------------------------------------------------------------
newntfs "$w/src.img" || { bad mkntfs "mkntfs failed"; finish; exit; }
ntfs-3g "$w/src.img" "$mnt" || { bad mount-src "ntfs-3g failed"; finish; exit; }
if ! python3 "$SIS" make "$mnt" >"$w/links"; then
	bad sis-make "sis.py make failed"
fi
printf 'not a link\n' >"$mnt/plain.txt"
umount "$mnt"
cp "$w/src.img" "$w/orphan.img"
ntfs-3g -o ro "$w/src.img" "$mnt" || { bad mount-src-ro "ntfs-3g failed"; finish; exit; }
nlinks=$(wc -l <"$w/links")
[ "$nlinks" -ge 3 ] || bad sis-links "sis.py made $nlinks links"
while IFS='	' read -r p g size; do
	reparse "$mnt$p" >"$w/rp.$(basename "$p")" || bad "src-reparse$p" "getfattr failed"
done <"$w/links"
for f in "$mnt/$STORE"/*.sis; do
	sha256sum <"$f" | cut -d' ' -f1 >"$w/sha.$(basename "$f")"
	acl "$f" >"$w/acl.$(basename "$f")" || bad "src-acl-$(basename "$f")" "getfattr failed"
done
acl "$mnt/$STORE" >"$w/acl.store" || bad src-acl-store "getfattr failed"
umount "$mnt"
nstore=$(ls "$w" | grep -c '^sha\.')
[ "$nstore" -ge 2 ] || bad src-store "$nstore store files"

# ---- backup, list, verify --------------------------------------------------------------
exits backup 0 "set .* 0 failed" "$S" backup -t "$T" --exclude "/$STORE/*" "$w/src.img"
out members "$S" list -t "$T" --set 1
while IFS='	' read -r p g size; do
	has "list-sis$p" "$members" "v0$p  sis link, store v0/$STORE/$g.sis"
done <"$w/links"
# a member line of its own (link lines name the store files too)
for f in "$w"/sha.*; do
	n=${f##*/sha.}
	is "list-store-kept-$n" "$(printf '%s\n' "$members" | grep -c "^f  *[0-9]*  v0/$STORE/$n\$")" 1
done
case $members in *"plain.txt  sis"*) bad list-plain "a plain file is flagged sis" ;; *) ok list-plain ;; esac
out json "$S" list -t "$T" --set 1 --json
has list-json-sis "$json" '"sis": true, "sis_store": "v0/SIS Common Store/'
exits verify 0 "0 bad" "$S" verify -t "$T" --set 1

# ---- restore onto a fresh NTFS -----------------------------------------------------------
newntfs "$w/dst.img"
exits restore-ntfs 0 "0 failed, 0 refused" "$S" restore -t "$T" --set 1 --to "v0=$w/dst.img"
check ntfsfix-dst ntfsfix -n "$w/dst.img"
while IFS='	' read -r p g size; do
	is "holes$p" "$(holes "$w/dst.img" "$p")" holes
	ntfsinfo -F "$p" "$w/dst.img" 2>/dev/null | grep -q 'SPARSE_FILE.*REPARSE_POINT' &&
		ok "sparse-attr$p" || bad "sparse-attr$p" "not sparse with a reparse point"
done <"$w/links"
if ntfs-3g -o ro "$w/dst.img" "$mnt"; then
	while IFS='	' read -r p g size; do
		is "reparse$p" "$(reparse "$mnt$p")" "$(cat "$w/rp.$(basename "$p")")"
	done <"$w/links"
	for f in "$w"/sha.*; do
		n=${f##*/sha.}
		is "store-sha-$n" "$(sha256sum <"$mnt/$STORE/$n" | cut -d' ' -f1)" "$(cat "$f")"
		is "store-acl-$n" "$(acl "$mnt/$STORE/$n")" "$(cat "$w/acl.$n")"
	done
	is store-dir-acl "$(acl "$mnt/$STORE")" "$(cat "$w/acl.store")"
	umount "$mnt"
else
	bad mount-dst "ntfs-3g failed"
fi

# ---- again onto the result: the store files are there, identical ---------------------------
# one of them changed on the target: that one is written again
first=$(ls "$w" | grep '^sha\.' | head -n 1 | sed 's/^sha\.//')
if ntfs-3g "$w/dst.img" "$mnt"; then
	printf 'changed' >"$mnt/$STORE/$first"
	umount "$mnt"
fi
out again "$S" restore -t "$T" --set 1 --to "v0=$w/dst.img"
has again-skipped "$again" "$((nstore - 1)) SIS common-store files were on the target already, identical"
check ntfsfix-again ntfsfix -n "$w/dst.img"
# the same count in --json (a third restore: all of them identical now)
out againj "$S" restore -t "$T" --set 1 --json --to "v0=$w/dst.img"
check again-json python3 -c 'import json, sys; d = json.loads(sys.argv[1]); assert d["sis_kept"] == int(sys.argv[2]), d' \
	"$againj" "$nstore"
if ntfs-3g -o ro "$w/dst.img" "$mnt"; then
	is again-rewritten "$(sha256sum <"$mnt/$STORE/$first" | cut -d' ' -f1)" "$(cat "$w/sha.$first")"
	umount "$mnt"
fi

# ---- a selective restore of one link brings its store file -----------------------------------
last=$(sed -n '$p' "$w/links")
p=$(printf '%s\n' "$last" | cut -f1)
g=$(printf '%s\n' "$last" | cut -f2)
newntfs "$w/sel.img"
exits select 0 "0 failed" "$S" restore -t "$T" --set 1 --to "v0=$w/sel.img" "$p"
if ntfs-3g -o ro "$w/sel.img" "$mnt"; then
	is select-store "$(sha256sum <"$mnt/$STORE/$g.sis" | cut -d' ' -f1)" "$(cat "$w/sha.$g.sis")"
	is select-reparse "$(reparse "$mnt$p")" "$(cat "$w/rp.$(basename "$p")")"
	is select-only "$(ls "$mnt/$STORE" | wc -l)" 1
	is select-store-dir-acl "$(acl "$mnt/$STORE")" "$(cat "$w/acl.store")"
	umount "$mnt"
fi

# ---- a link whose store file is not in the set -----------------------------------------------
if ntfs-3g "$w/orphan.img" "$mnt"; then
	python3 "$SIS" orphan "$mnt" >/dev/null || bad sis-orphan "sis.py orphan failed"
	umount "$mnt"
	exits backup-orphan 0 "0 failed" "$S" backup -t "$T" "$w/orphan.img"
	out members2 "$S" list -t "$T" --set 2
	has list-orphan "$members2" "v0/sis/orphan  sis link, store not found"
	exits verify-orphan 1 "v0/sis/orphan: a single-instance-store link whose common-store file" \
		"$S" verify -t "$T" --set 2
else
	bad mount-orphan "ntfs-3g failed"
fi

# ---- onto ext4: no SIS there -----------------------------------------------------------------
truncate -s 64M "$w/ext.img"
mkfs.ext4 -q -F "$w/ext.img"
ext=$("$S" restore -t "$T" --set 1 --to "v0=$w/ext.img" 2>&1)
is ext-exit "$?" 0
out extls debugfs -R "ls /sis" "$w/ext.img"
has ext-sis-dir "$extls" ".."
while IFS='	' read -r p g size; do
	has "ext-named$p" "$ext" "v0$p: not restored: a single-instance-store link"
	case " $extls " in
	*" ${p##*/} "*) bad "ext-absent$p" "debugfs lists it: $extls" ;;
	*) ok "ext-absent$p" ;;
	esac
done <"$w/links"
n=$(printf '%s' "$ext" | sed -n 's/.*, \([0-9]*\) with metadata the target cannot hold.*/\1/p')
[ "${n:-0}" -ge "$nlinks" ] && ok "ext-not-kept: $n" || bad ext-not-kept "want >= $nlinks: $ext"
for f in "$w"/sha.*; do
	n=${f##*/sha.}
	debugfs -R "dump \"/$STORE/$n\" $w/dump" "$w/ext.img" >/dev/null 2>&1
	is "ext-store-$n" "$(sha256sum <"$w/dump" | cut -d' ' -f1)" "$(cat "$f")"
	rm -f "$w/dump"
done
check ext-fsck e2fsck -fn "$w/ext.img"

# the same under ASan and UBSan, when the run-all gives that build
if [ -n "${2:-}" ] && [ -x "$2" ]; then
	CHECK_PREFIX="asan: " sh "$0" "$2" || fails=$((fails + 1))
fi
finish
