#!/bin/sh
# mounted.sh - a mounted volume is refused for writing whatever path reaches
# it: a hard link to the image, a bind mount of its directory, a loop device
# mounted read-write, ntfs-3g (FUSE), a read-only ext4 loop mount, and a
# partition of a partitioned image attached with `losetup -P` or with
# `losetup --offset`.  Each time `fs VOL mkdir` / `fs VOL put` exits 2 naming
# the mount point, and sha256sum (before and after, the kernel's own writes
# flushed first) shows the image unchanged.  Then the exclusive lock: while
# one sysrecover holds a volume read-write (stopped with SIGSTOP in the middle
# of a copy-in, its OFD lock seen in /proc/locks), a second read-write open
# through a hard link is refused, and the first finishes cleanly (e2fsck -fn).
# Only images and loop devices this script makes (loopdev: detached at exit,
# never by hand, so that a number another test reuses is never ours to
# detach).  Needs root.
#   mounted.sh SYSRECOVER [SYSRECOVER_ASAN]
set -u
. "$(dirname "$0")/../lib/check.sh"
need mke2fs e2fsck mkntfs ntfs-3g losetup sfdisk sha256sum
workdir mounted
MNTS=
trap 'for m in $MNTS; do umount "$m" 2>/dev/null; done; cleanup' EXIT

mkext() { # image size
	truncate -s "$2" "$1"
	mke2fs -F -q -t ext4 -E lazy_itable_init=0,lazy_journal_init=0 "$1"
}

# sha256 of the image once the kernel has written what it holds
sum() { sync; sha256sum "$1" | cut -d' ' -f1; }

# refused NAME SHOWN IMAGE VOL MOUNTPOINT: mkdir and put on VOL exit 2 and
# name MOUNTPOINT; IMAGE is unchanged.
refused() {
	_before=$(sum "$3")
	exits "$1-mkdir" 2 "is mounted on $5.*unmount it first" "$SR" fs "$4" mkdir /x
	exits "$1-put" 2 "is mounted on $5" "$SR" fs "$4" put "$w/payload" /payload
	is "$1-unchanged" "$(sum "$3")" "$_before"
}

domount() { # name mount-args...
	_n=$1; shift
	if mount "$@" 2>"$w/e"; then
		MNTS="$_last $MNTS"
		return 0
	fi
	bad "$_n-mount" "mount $*: $(cat "$w/e")"
	return 1
}

echo payload >"$w/payload"
for SR in "$@"; do
	tag=$(basename "$(dirname "$SR")")

	# 1. a hard link to the image, mounted read-only through a loop device
	mkext "$w/a.img" 16M
	mkdir -p "$w/other" "$w/m1"
	ln -f "$w/a.img" "$w/other/link.img"
	_last=$w/m1
	if domount "$tag-hardlink" -o ro,loop "$w/other/link.img" "$w/m1"; then
		refused "$tag-hardlink" - "$w/a.img" "$w/a.img" "$w/m1"
		umount "$w/m1"
	fi

	# 2. a bind mount of the image's directory, the image loop-mounted
	# through the bind
	mkdir -p "$w/real" "$w/bind" "$w/m2"
	mkext "$w/real/b.img" 16M
	_last=$w/bind
	if domount "$tag-bind" --bind "$w/real" "$w/bind"; then
		_last=$w/m2
		if domount "$tag-bind-loop" -o ro,loop "$w/bind/b.img" "$w/m2"; then
			refused "$tag-bind" - "$w/real/b.img" "$w/real/b.img" "$w/m2"
			umount "$w/m2"
		fi
		umount "$w/bind"
	fi

	# 3. a loop device of ours, mounted read-write
	mkext "$w/c.img" 16M
	mkdir -p "$w/m3"
	if loopdev L "$w/c.img"; then
		_last=$w/m3
		if domount "$tag-loop-rw" -o noinit_itable "$L" "$w/m3"; then
			refused "$tag-loop-rw" - "$w/c.img" "$w/c.img" "$w/m3 \\(through $L\\)"
			# the device itself is refused too (O_EXCL and identity)
			exits "$tag-loop-dev" 2 "is mounted on $w/m3" "$SR" fs "$L" mkdir /x
			umount "$w/m3"
		fi
	fi

	# 4. ntfs-3g (FUSE) mount of an image file
	truncate -s 16M "$w/n.img"
	mkntfs -F -Q -q "$w/n.img" >/dev/null 2>&1
	mkdir -p "$w/m4"
	if ntfs-3g -o ro "$w/n.img" "$w/m4" 2>"$w/e"; then
		MNTS="$w/m4 $MNTS"
		refused "$tag-ntfs-3g" - "$w/n.img" "$w/n.img" "$w/m4"
		umount "$w/m4"
	else
		bad "$tag-ntfs-3g-mount" "$(cat "$w/e")"
	fi

	# 5. a read-only ext4 loop mount, named by the kernel's path
	mkext "$w/e.img" 16M
	mkdir -p "$w/m5"
	_last=$w/m5
	if domount "$tag-ro-loop" -o ro,loop "$w/e.img" "$w/m5"; then
		refused "$tag-ro-loop" - "$w/e.img" "$w/e.img" "$w/m5"
		out v "$SR" volumes --json "$w/e.img"
		has "$tag-ro-loop-volumes" "$v" "\"mountpoint\": \"$w/m5\""
		umount "$w/m5"
	fi

	# 6. partitions of a partitioned image: losetup -P and mount p1; then a
	# loop device over partition 2 only (--offset --sizelimit)
	P=$w/p.img
	truncate -s 80M "$P"
	printf 'label: gpt\nstart=2048, size=65536\nstart=67584, size=65536\n' |
		sfdisk -q "$P" >/dev/null
	mke2fs -F -q -t ext4 -L one -E offset=$((2048 * 512)) "$P" 32M
	mke2fs -F -q -t ext4 -L two -E offset=$((67584 * 512)) "$P" 32M
	mkdir -p "$w/m6"
	if loopdev L "$P" -P -r; then
		_last=$w/m6
		# a kernel without the GPT parser finds no partition: partx adds
		# it; without udev nobody makes the node: we make ours
		N=${L}p1 S=/sys/block/${L#/dev/}/${L#/dev/}p1
		[ -d "$S" ] || partx -a "$L" 2>/dev/null
		if [ ! -b "$N" ] && [ -r "$S/dev" ]; then
			N=$w/part1
			mknod "$N" b $(tr ':' ' ' <"$S/dev")
		fi
		if [ -b "$N" ] && domount "$tag-part" -o ro "$N" "$w/m6"; then
			refused "$tag-part" - "$P" "$P@1" "$w/m6"
			# the other partition is not mounted: written, and clean
			check "$tag-part-other-ok" "$SR" fs "$P@2" mkdir /x
			refused "$tag-part-again" - "$P" "$P@1" "$w/m6"
			umount "$w/m6"
		else
			bad "$tag-part" "no partition 1 of $L after losetup -P and partx -a"
		fi
	fi
	check "$tag-part-other-fsck" e2fsck -fn "$P?offset=$((67584 * 512))"
	if loopdev L "$P" -r -o $((67584 * 512)) --sizelimit $((65536 * 512)); then
		_last=$w/m6
		if domount "$tag-offset" -o ro "$L" "$w/m6"; then
			refused "$tag-offset" - "$P" "$P@2" "$w/m6 \\(through $L\\)"
			check "$tag-offset-other-ok" "$SR" fs "$P@1" mkdir /y
			umount "$w/m6"
		fi
	fi
	# a whole partitioned image with two filesystems: the choices
	exits "$tag-choices" 2 "p.img@1 \\(ext4, LABEL=one\\), .*p.img@2 \\(ext4, LABEL=two\\)" \
		"$SR" fs "$P" ls /

	# 7. two read-write opens: the second, through a hard link, is refused
	# while the first holds the lock
	mkext "$w/l.img" 64M
	ln -f "$w/l.img" "$w/other/l-link.img"
	mkdir -p "$w/tree"
	i=0
	while [ $i -lt 400 ]; do
		head -c 20000 /dev/urandom >"$w/tree/f$i"
		i=$((i + 1))
	done
	"$SR" fs "$w/l.img" copy-in "$w/tree" / >"$w/copy.out" 2>&1 &
	pid=$!
	ino=$(stat -c %i "$w/l.img")
	n=0
	while ! grep -q "OFDLCK.*:$ino " /proc/locks && [ $n -lt 200 ] &&
		kill -0 $pid 2>/dev/null; do
		sleep 0.05
		n=$((n + 1))
	done
	if kill -STOP $pid 2>/dev/null && grep -q "OFDLCK.*:$ino " /proc/locks; then
		exits "$tag-second-rw" 2 "open read-write in another program" \
			"$SR" fs "$w/other/l-link.img" mkdir /second
		kill -CONT $pid
		wait $pid
		is "$tag-first-finished" "$?" 0
		check "$tag-first-fsck" e2fsck -fn "$w/l.img"
		check "$tag-after-first" "$SR" fs "$w/other/l-link.img" mkdir /second
	else
		kill -CONT $pid 2>/dev/null
		wait $pid
		bad "$tag-second-rw" "the copy-in ended before its lock was seen: $(cat "$w/copy.out")"
	fi
	rm -f "$w"/*.img "$w/other"/*.img
done
finish
