#!/bin/sh
# dirty_mark.sh - an interrupted read-write session never leaves a volume
# silently broken.  A session killed with SIGKILL (the test-only
# SYSRECOVER_TEST_KILL_AFTER_WRITE=N injection) on ext4, NTFS, and an ext4
# and an NTFS partition inside a partitioned image: `volumes` says "not
# cleanly closed" (also in --json), dumpe2fs says "not clean" / ntfsinfo says
# the volume is scheduled for a check, a write is refused (exit 2) with the
# advice, and after running exactly the advised command (e2fsck -fy,
# ntfsfix -d), writes are accepted again.  A normal session leaves
# everything as before: state clean, e2fsck -fn / ntfsfix -n clean.
#   dirty_mark.sh SYSRECOVER [SYSRECOVER_ASAN]
set -u
. "$(dirname "$0")/../lib/check.sh"
need mke2fs e2fsck dumpe2fs mkntfs ntfsfix ntfsinfo sfdisk losetup python3
workdir dirty

jstate() { # json-file name
	python3 -c 'import json, sys
for v in json.load(open(sys.argv[1]))["blockdevices"]:
    if v["name"] == sys.argv[2]:
        print(v["state"])' "$@"
}

# The advice in a refusal ("check it with 'e2fsck -f X' first", "check it
# with e2fsck -f 'X?offset=N' first", "check it with 'ntfsfix -d X'"), as
# the shell reads it: the words, one per line.
advice() {
	_a=$(sed -n "s/.*check it with \(.*\) first\$/\1/p; s/.*check it with \('ntfsfix -d [^']*'\)\$/\1/p" "$1")
	eval "set -- $_a"
	[ $# -eq 1 ] && set -- $1
	printf '%s\n' "$@"
}

# state NAME VOL KIND: after a kill, everything the issue asks.
after_kill() { # tag vol kind img
	out v "$SR" volumes --json "$4" || return
	printf '%s\n' "$v" >"$w/v.json"
	is "$1-volumes-json" "$(jstate "$w/v.json" "$2")" "not cleanly closed"
	out t "$SR" volumes "$4"
	has "$1-volumes-table" "$t" "not cleanly closed"
	exits "$1-refused" 2 "not cleanly closed.*check it with" "$SR" fs "$2" mkdir /after
	"$SR" fs "$2" mkdir /after >/dev/null 2>"$w/refusal"
}

for SR in "$@"; do
	tag=$(basename "$(dirname "$SR")")

	# ---- ext4, a whole image ------------------------------------------------
	I=$w/e.img
	truncate -s 32M "$I"
	mke2fs -F -q -t ext4 "$I"
	check "$tag-ext-normal" "$SR" fs "$I" mkdir /normal
	check "$tag-ext-normal-fsck" e2fsck -fn "$I"
	is "$tag-ext-normal-state" "$(dumpe2fs -h "$I" 2>/dev/null | sed -n 's/^Filesystem state: *//p')" clean
	SYSRECOVER_TEST_KILL_AFTER_WRITE=1 "$SR" fs "$I" mkdir /killed >/dev/null 2>&1
	is "$tag-ext-killed" "$?" 137
	is "$tag-ext-dumpe2fs" "$(dumpe2fs -h "$I" 2>/dev/null | sed -n 's/^Filesystem state: *//p')" "not clean"
	after_kill "$tag-ext" "$I" ext "$I"
	has "$tag-ext-says-interrupted" "$(cat "$w/refusal")" "a sysrecover session that wrote to it was interrupted"
	cmd=$(advice "$w/refusal" | tr '\n' ' ')
	is "$tag-ext-advice" "$cmd" "e2fsck -f $I "
	# the advised command, run with -y instead of asking
	e2fsck -fy "$(advice "$w/refusal" | sed -n 3p)" >/dev/null 2>&1
	check "$tag-ext-write-after-fsck" "$SR" fs "$I" mkdir /after
	check "$tag-ext-fsck-after" e2fsck -fn "$I"

	# ---- NTFS, a whole image ------------------------------------------------
	N=$w/n.img
	truncate -s 32M "$N"
	mkntfs -F -Q -q "$N" >/dev/null 2>&1
	check "$tag-ntfs-normal" "$SR" fs "$N" mkdir /normal
	refuses "$tag-ntfs-normal-flags" "Volume Flags: 0x0000" sh -c "ntfsinfo -m '$N' 2>&1 | grep 'Volume Flags' && false"
	check "$tag-ntfs-normal-ntfsfix" ntfsfix -n "$N"
	SYSRECOVER_TEST_KILL_AFTER_WRITE=1 "$SR" fs "$N" mkdir /killed >/dev/null 2>&1
	is "$tag-ntfs-killed" "$?" 137
	check "$tag-ntfs-scheduled" sh -c "ntfsinfo -m '$N' 2>&1 | grep -q 'scheduled for check'"
	after_kill "$tag-ntfs" "$N" ntfs "$N"
	has "$tag-ntfs-says-interrupted" "$(cat "$w/refusal")" "sysrecover or ntfs-3g session that wrote to it was interrupted"
	cmd=$(advice "$w/refusal" | tr '\n' ' ')
	is "$tag-ntfs-advice" "$cmd" "ntfsfix -d $N "
	ntfsfix -d "$(advice "$w/refusal" | sed -n 3p)" >/dev/null 2>&1
	check "$tag-ntfs-write-after-fix" "$SR" fs "$N" mkdir /after
	check "$tag-ntfs-ntfsfix-after" ntfsfix -n "$N"

	# ---- partitions inside an image: the advice must work there -------------
	P=$w/p.img
	truncate -s 80M "$P"
	printf 'label: dos\nstart=2048, size=65536, type=83\nstart=67584, size=65536, type=7\n' |
		sfdisk -q "$P" >/dev/null
	mke2fs -F -q -t ext4 -E offset=$((2048 * 512)) "$P" 32M
	truncate -s 32M "$w/part.ntfs"
	mkntfs -F -Q -q -p 67584 -H 255 -S 63 "$w/part.ntfs" >/dev/null 2>&1
	dd if="$w/part.ntfs" of="$P" bs=512 seek=67584 conv=notrunc status=none
	SYSRECOVER_TEST_KILL_AFTER_WRITE=1 "$SR" fs "$P@1" mkdir /killed >/dev/null 2>&1
	is "$tag-pext-killed" "$?" 137
	after_kill "$tag-pext" "$P@1" ext "$P"
	cmd=$(advice "$w/refusal" | tr '\n' ' ')
	is "$tag-pext-advice" "$cmd" "e2fsck -f $P?offset=1048576 "
	e2fsck -fy "$(advice "$w/refusal" | sed -n 3p)" >/dev/null 2>&1
	check "$tag-pext-write-after-fsck" "$SR" fs "$P@1" mkdir /after
	check "$tag-pext-fsck-after" e2fsck -fn "$P?offset=1048576"

	SYSRECOVER_TEST_KILL_AFTER_WRITE=1 "$SR" fs "$P@2" mkdir /killed >/dev/null 2>&1
	is "$tag-pntfs-killed" "$?" 137
	after_kill "$tag-pntfs" "$P@2" ntfs "$P"
	has "$tag-pntfs-advice" "$(cat "$w/refusal")" "losetup -f --show -o $((67584 * 512)) --sizelimit $((65536 * 512)) $P"
	if loopdev L "$P" -o $((67584 * 512)) --sizelimit $((65536 * 512)); then
		ntfsfix -d "$L" >/dev/null 2>&1
		check "$tag-pntfs-write-after-fix" "$SR" fs "$P@2" mkdir /after
		check "$tag-pntfs-ntfsfix-after" ntfsfix -n "$L"
	fi
	rm -f "$w"/*.img
done
finish
