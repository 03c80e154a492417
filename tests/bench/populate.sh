#!/bin/sh
# populate.sh - populate a fresh ext4 and a fresh NTFS image from a real tree
# (>= 30,000 files, >= 500 MB: the largest subdirectories of /usr/share) with
# `sysrecover fs IMG copy-in SRC /` and with what a user would run instead:
#   ext4: mke2fs -t ext4 -d SRC; GNU tar extracting into a loop-mounted ext4
#   NTFS: ntfs-3g FUSE mount + cp -a; wimlib-imagex apply of a WIM (to an
#         unmounted image, as ours)
# All in one run, same image size, the source copied once into a scratch dir
# so every tool reads it from the page cache.  Untimed: making the tar and
# the WIM, and mkfs before ours/tar/cp/wimlib.  mke2fs -d includes making the
# filesystem, so an empty mke2fs is timed too and subtracted.  Every timed run
# ends with `sync` (the data is on the image, as with the kernel path).  Every
# result image is checked (e2fsck -fn / ntfs-3g mount, object count, sha256 of
# a sample) so a broken image is never reported as fast.
#   populate.sh SYSRECOVER [WORKDIR]     (root: loop and FUSE mounts)
set -u
SR=$(realpath "$1")
W=${2:-/tmp/sysrecover-bench}
MIN_FILES=${MIN_FILES:-30000}
MIN_BYTES=${MIN_BYTES:-500000000}
for t in mke2fs e2fsck mkntfs ntfs-3g wimlib-imagex tar sha256sum; do
	command -v $t >/dev/null || { echo "populate: $t missing (sh .ci/deps.sh)" >&2; exit 1; }
done
rm -rf "${W:?}"
mkdir -p "$W/src" "$W/mnt"
MNT=$W/mnt
trap 'mountpoint -q "$MNT" && umount "$MNT"; rm -rf "${W:?}"' EXIT

now() { date +%s.%N; }
sub() { awk "BEGIN { printf \"%.2f\", $1 - $2 }"; }
ratio() { awk "BEGIN { if ($2 > 0) printf \"%.2f\", $1 / $2; else print \"-\" }"; }
die() { echo "populate: $*" >&2; exit 1; }

# ---- the source ---------------------------------------------------------------
files=0 bytes=0 pick=
for d in $(cd /usr/share && for x in */; do
		printf '%s %s\n' "$(du -sb "$x" | cut -f1)" "${x%/}"; done | sort -rn | cut -d' ' -f2); do
	[ "$files" -ge "$MIN_FILES" ] && [ "$bytes" -ge "$MIN_BYTES" ] && break
	pick="$pick $d"
	files=$((files + $(find "/usr/share/$d" | wc -l)))
	bytes=$((bytes + $(du -sb "/usr/share/$d" | cut -f1)))
done
for d in $pick; do cp -a "/usr/share/$d" "$W/src/"; done
S=$W/src
nobj=$(find "$S" -mindepth 1 | wc -l)
nreg=$(find "$S" -type f | wc -l)
sbytes=$(du -sb --apparent-size "$S" | cut -f1)
echo "source:$pick -> $nobj objects, $nreg files, $sbytes bytes (in page cache)"
find "$S" -type f -size +100k | sort | awk 'NR % 97 == 1' | head -n 20 >"$W/sample"
(cd "$S" && sed "s|^$S/||" "$W/sample" | xargs -d '\n' sha256sum) >"$W/sample.sha"
# image: twice the data, at least 2 GiB
isz=$(( (sbytes * 2 / 1048576 + 2048) ))M
tar -C "$S" -cf "$W/src.tar" .
wimlib-imagex capture "$S" "$W/x.wim" --compress=none >/dev/null 2>&1 || die "wim capture failed"
sync

# ---- checks -------------------------------------------------------------------
# Same objects (names of everything but lost+found) and the sample's hashes.
check_tree() { # NAME DIR
	n=$(cd "$2" && find . -mindepth 1 -path ./lost+found -prune -o -print | wc -l)
	[ "$n" -eq "$nobj" ] || { echo "BROKEN $1: $n objects, want $nobj"; return 1; }
	(cd "$2" && sha256sum -c --quiet "$W/sample.sha") >/dev/null 2>&1 ||
		{ echo "BROKEN $1: sample hashes differ"; return 1; }
	return 0
}
check_ext() { # NAME IMG
	e2fsck -fn "$2" >"$W/fsck" 2>&1 || { echo "BROKEN $1: e2fsck"; tail -n 5 "$W/fsck"; return 1; }
	mount -o ro,loop,noload "$2" "$MNT" || { echo "BROKEN $1: mount"; return 1; }
	check_tree "$1" "$MNT"; r=$?
	umount "$MNT"
	return $r
}
check_ntfs() { # NAME IMG
	ntfs-3g -o ro "$2" "$MNT" || { echo "BROKEN $1: ntfs-3g mount"; return 1; }
	check_tree "$1" "$MNT"; r=$?
	umount "$MNT"
	return $r
}
wait_unused() { while fuser -s "$1" 2>/dev/null; do sleep 0.05; done; }

IMG=$W/img
fresh() { rm -f "$IMG"; truncate -s "$isz" "$IMG"; }
mk_ext() { fresh; mke2fs -q -F -t ext4 "$IMG"; sync; }
mk_ntfs() { fresh; mkntfs -Q -F -q "$IMG" >/dev/null 2>&1; sync; }

# ---- ext4 ------------------------------------------------------------------------
fresh; sync
t0=$(now); mke2fs -q -F -t ext4 "$IMG"; sync; t1=$(now)
t_mkfs=$(sub "$t1" "$t0")

mk_ext
t0=$(now); "$SR" fs "$IMG" copy-in "$S" / 2>"$W/ours.log"; rc=$?; sync; t1=$(now)
t_ext_ours=$(sub "$t1" "$t0")
[ $rc -eq 0 ] || { cat "$W/ours.log"; die "ours (ext4) failed"; }
grep '^copy-in:' "$W/ours.log"
check_ext "ours-ext4" "$IMG" || t_ext_ours=BROKEN

fresh; sync
t0=$(now); mke2fs -q -F -t ext4 -d "$S" "$IMG"; sync; t1=$(now)
t_mke2fs_d=$(sub "$(sub "$t1" "$t0")" "$t_mkfs")
check_ext "mke2fs-d" "$IMG" || t_mke2fs_d=BROKEN

mk_ext
mount -o loop "$IMG" "$MNT" || die "loop mount failed"
t0=$(now); tar -C "$MNT" -xf "$W/src.tar"; sync; umount "$MNT"; t1=$(now)
t_kernel=$(sub "$t1" "$t0")
check_ext "kernel-tar" "$IMG" || t_kernel=BROKEN

# ---- NTFS ------------------------------------------------------------------------
mk_ntfs
t0=$(now); "$SR" fs "$IMG" copy-in "$S" / 2>"$W/ours.log"; rc=$?; sync; t1=$(now)
t_ntfs_ours=$(sub "$t1" "$t0")
[ $rc -eq 0 ] || { tail -n 5 "$W/ours.log"; die "ours (NTFS) failed"; }
grep '^copy-in:' "$W/ours.log"
check_ntfs "ours-ntfs" "$IMG" || t_ntfs_ours=BROKEN

mk_ntfs
ntfs-3g "$IMG" "$MNT" || die "ntfs-3g mount failed"
t0=$(now); cp -a "$S/." "$MNT/" 2>/dev/null; umount "$MNT"; wait_unused "$IMG"; sync; t1=$(now)
t_ntfs3g=$(sub "$t1" "$t0")   # cp -a cannot keep owners on NTFS: its errors are expected
check_ntfs "ntfs-3g-cp" "$IMG" || t_ntfs3g=BROKEN

mk_ntfs
t0=$(now); wimlib-imagex apply "$W/x.wim" 1 "$IMG" >"$W/wim.log" 2>&1; rc=$?; sync; t1=$(now)
t_wim=$(sub "$t1" "$t0")
[ $rc -eq 0 ] || { tail -n 5 "$W/wim.log"; t_wim=BROKEN; }
check_ntfs "wimlib-apply" "$IMG" || t_wim=BROKEN

# ---- the table ----------------------------------------------------------------------
printf '\n%-40s %10s\n' "populate $nobj objects / $sbytes bytes, image $isz" seconds
printf '%-40s %10s\n' "ext4: sysrecover copy-in" "$t_ext_ours" \
	"ext4: mke2fs -d (minus empty mke2fs $t_mkfs)" "$t_mke2fs_d" \
	"ext4: tar into loop mount + sync" "$t_kernel" \
	"NTFS: sysrecover copy-in" "$t_ntfs_ours" \
	"NTFS: ntfs-3g mount + cp -a + umount" "$t_ntfs3g" \
	"NTFS: wimlib-imagex apply" "$t_wim"
printf '\n%-40s %8s %8s\n' ratio value goal
printf '%-40s %8s %8s\n' "ext: ours / mke2fs -d" "$(ratio "$t_ext_ours" "$t_mke2fs_d")" "<= 0.25" \
	"ext: ours / kernel tar" "$(ratio "$t_ext_ours" "$t_kernel")" "<= 1.0" \
	"NTFS: ours / ntfs-3g cp -a" "$(ratio "$t_ntfs_ours" "$t_ntfs3g")" "< 1.0" \
	"NTFS: ours / wimlib apply" "$(ratio "$t_ntfs_ours" "$t_wim")" "< 1.0"
