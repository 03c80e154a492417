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
BENCH=populate
. "$(dirname "$0")/tree.sh"

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
