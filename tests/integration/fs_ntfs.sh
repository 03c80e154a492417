#!/bin/sh
# fs_ntfs.sh - the NTFS backend (fs_ntfs.c) checked by tools we did not write:
# ntfs-3g's FUSE mount, getfattr, ntfsls, ntfscat, ntfsinfo, ntfsfix -n, cmp.
# Our writes go through build*/tests/test_fs_ntfs (helper mode, fs.h API).
#   fs_ntfs.sh SYSRECOVER [SYSRECOVER_ASAN]     (FS_NTFS_SCALE=0 skips scale)
set -u
. "$(dirname "$0")/../lib/check.sh"
B=$(dirname "$1")
T=$B/tests/test_fs_ntfs
[ -n "${2:-}" ] && [ -x "$(dirname "$2")/tests/test_fs_ntfs" ] && T=$(dirname "$2")/tests/test_fs_ntfs
[ -x "$T" ] || { bad fs_ntfs-helper "$T missing (make unit-bins)"; exit 1; }
need ntfs-3g mkntfs ntfsfix ntfsls ntfscat ntfsinfo getfattr setfattr iconv
workdir ntfs
M=$mnt
mkdir -p "$w/m2"
# check.sh unmounts $mnt; the second mount point is ours
trap 'mountpoint -q "$w/m2" && umount "$w/m2"; cleanup' EXIT

mkimg() { rm -f "$1"; truncate -s "${2:-64M}" "$1" && mkntfs -q -F -Q "$1" >/dev/null 2>&1; }
ro() { ntfs-3g -o ro "$1" "$2"; }
un() { fusermount -u "$1"; }
hex() { getfattr -h -e hex --only-values -n "$2" "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n'; }

# ---- 1. a tree written through fs.h, read back by ntfs-3g and ntfsprogs ----
I=$w/api.img
mkimg "$I"
head -c 300000 /dev/urandom >"$w/rand"
seq 1 20000 >"$w/text"
# sparse host file: 64 KiB data, 8 MiB hole, 64 KiB data
head -c 65536 /dev/urandom >"$w/sparse"; truncate -s 8454144 "$w/sparse"
head -c 65536 /dev/urandom >>"$w/sparse"
printf 'alternate stream data' >"$w/ads"
# a self-relative descriptor: owner Administrators, group SYSTEM, DACL Everyone read
SD=010004801400000024000000000000003000000001020000000000052000000020020000010100000000000512000000
SD=${SD}02001c000100000000001400a9001200010100000000000100000000
# a relative symlink reparse point to "target.txt"
RP=0c0000a034000000140014000000140001000000
RP=${RP}7400610072006700650074002e0074007800740074006100720067006500740020e0074007800740
RP=0c0000a034000000140014000000140001000000$(printf 'target.txttarget.txt' | iconv -t UTF-16LE | od -An -tx1 | tr -d ' \n')
OID=00112233445566778899aabbccddeeff
printf '%s\n' "mkdir	/Program Files" "mkdir	/Program Files/App" \
	"put	$w/rand	/Program Files/App/random.bin" \
	"put	$w/text	/Program Files/App/numbers.txt" \
	"short	/Program Files	PROGRA~1" \
	"put	$w/sparse	/sparse.bin" \
	"put	$w/text	/streams.txt" "put	$w/ads	/streams.txt	extra" \
	"xset	/streams.txt	system.ntfs_acl	$SD" \
	"xset	/streams.txt	system.ntfs_attrib	0x21000000" \
	"xset	/streams.txt	system.ntfs_object_id	$OID" \
	"put	$w/text	/link.txt" "xset	/link.txt	system.ntfs_reparse_data	$RP" \
	"link	/Program Files/App/numbers.txt	/hardlink.txt" \
	"put	$w/text	/Old Long Name.txt" "short	/Old Long Name.txt	OLDLON~1.TXT" \
	"rename	/Old Long Name.txt	/New Long Name.txt" \
	"put	$w/text	/gone.txt" "rm	/gone.txt" \
	"symlink	/ix-link	Program Files/App" \
	"btime	/Program Files/App/numbers.txt	1234567890" >"$w/verbs"
check api-write "$T" run "$I" <"$w/verbs"
check api-ntfsfix-n ntfsfix -n "$I"
if ro "$I" "$M" 2>"$w/err"; then
	check api-mount-tree sh -c "cd '$M' && find . | sort | grep -v '^./\\\$' > '$w/tree' &&
		printf '%s\n' . ./New\ Long\ Name.txt ./Program\ Files ./Program\ Files/App \
		'./Program Files/App/numbers.txt' './Program Files/App/random.bin' ./hardlink.txt \
		./ix-link ./link.txt ./sparse.bin ./streams.txt | cmp - '$w/tree'"
	check api-content sh -c "cmp '$w/rand' '$M/Program Files/App/random.bin' &&
		cmp '$w/text' '$M/Program Files/App/numbers.txt' && cmp '$w/sparse' '$M/sparse.bin' &&
		cmp '$w/text' '$M/streams.txt' && cmp '$w/text' '$M/New Long Name.txt'"
	check api-ads test "$(getfattr --only-values -n user.extra "$M/streams.txt" 2>/dev/null)" = "alternate stream data"
	check api-acl test "$(hex "$M/streams.txt" system.ntfs_acl)" = "$SD"
	check api-attrib test "$(hex "$M/streams.txt" system.ntfs_attrib)" = 21000000
	v=$(hex "$M/streams.txt" system.ntfs_object_id)
	check api-objid test "${v%"${v#????????????????????????????????}"}" = "$OID"
	check api-reparse test "$(hex "$M/link.txt" system.ntfs_reparse_data)" = "$RP"
	check api-reparse-shown-as-link test -L "$M/link.txt"
	check api-short-dir test "$(getfattr --only-values -n system.ntfs_dos_name "$M/Program Files" 2>/dev/null)" = PROGRA~1
	check api-short-kept-by-rename test "$(getfattr --only-values -n system.ntfs_dos_name "$M/New Long Name.txt" 2>/dev/null)" = OLDLON~1.TXT
	check api-hardlink test "$(stat -c %h "$M/hardlink.txt")" = 2
	check api-interix-symlink test "$(readlink "$M/ix-link")" = "Program Files/App"
	# 1234567890 s after 1970 in 100 ns units since 1601, little-endian (python3 -c)
	check api-crtime test "$(hex "$M/Program Files/App/numbers.txt" system.ntfs_crtime)" = 00f59632338ec901
	un "$M"
else
	bad api-mount "$(cat "$w/err")"
fi
check api-ntfsls sh -c "ntfsls -f '$I' -p '/Program Files/App' | grep -v '^\\.' | sort | tr '\n' ' ' | grep -qx 'numbers.txt random.bin '"
check api-ntfsls-root sh -c "ntfsls -f '$I' | tr '\n' ' ' | grep -qx 'hardlink.txt ix-link link.txt New Long Name.txt Program Files sparse.bin streams.txt '"
check api-ntfsls-dos sh -c "ntfsls -f -x '$I' | grep -qx 'PROGRA~1' && ntfsls -f -x '$I' | grep -qx 'OLDLON~1.TXT'"
check api-ntfscat sh -c "ntfscat '$I' '/Program Files/App/random.bin' | cmp - '$w/rand'"
check api-ntfscat-ads sh -c "ntfscat -a 0x80 -n extra '$I' /streams.txt | cmp - '$w/ads'"
ntfsinfo -F /sparse.bin "$I" >"$w/info" 2>&1
alloc=$(grep -m1 'Compressed size' "$w/info" | awk '{print $(NF-1)}')
check api-sparse-alloc sh -c "grep -q 'SPARSE_FILE' '$w/info' && [ '${alloc:-0}' -gt 0 ] && [ '${alloc:-99999999}' -lt 1048576 ]"

# ---- 2. NTFS -> NTFS: a source made by ntfs-3g, copied by us, compared ----
S=$w/src.img D=$w/dst.img
mkimg "$S"; mkimg "$D"
if ntfs-3g "$S" "$M" 2>"$w/err"; then
	mkdir -p "$M/dir/sub"
	cp "$w/rand" "$M/dir/sub/r.bin"; cp "$w/text" "$M/Long Name File.txt"
	cp --sparse=always "$w/sparse" "$M/sparse.bin"
	ln "$M/dir/sub/r.bin" "$M/dir/hard.bin"
	setfattr -n user.s1 -v "first stream" "$M/Long Name File.txt"
	setfattr -n user.big -v "0x$(head -c 20000 /dev/urandom | od -An -tx1 | tr -d ' \n')" "$M/dir/sub/r.bin"
	setfattr -n system.ntfs_dos_name -v LONGNA~1.TXT "$M/Long Name File.txt"
	setfattr -n system.ntfs_acl -v 0x$SD "$M/dir/sub/r.bin"
	setfattr -n system.ntfs_attrib -v 0x23000000 "$M/Long Name File.txt"
	setfattr -n system.ntfs_object_id -v 0x$OID "$M/dir/sub"
	touch "$M/rp"; setfattr -n system.ntfs_reparse_data -v 0x$RP "$M/rp"
	setfattr -n system.ntfs_times -v 0x00d2bf6ccb5eca0100e057eb8bd5d20100c0e27fc4a6c901 "$M/dir/hard.bin"
	setfattr -h -n system.ntfs_times -v 0x00d2bf6ccb5eca0100e057eb8bd5d20100c0e27fc4a6c901 "$M/dir"
	un "$M"
	check copy-run "$T" copy "$S" "$D"
	check copy-ntfsfix-n ntfsfix -n "$D"
	ro "$S" "$M" && ro "$D" "$w/m2" || bad copy-mount "cannot mount"
	# every name: type, size, links, content hash, and the NTFS xattrs
	desc() {
		cd "$1" && find . ! -name '.' | grep -v '^\./\$' | sort | while IFS= read -r f; do
			printf '%s|%s|' "$f" "$(stat -c '%F %s %h' "$f")"
			[ -f "$f" ] && [ ! -L "$f" ] && printf '%s|' "$(sha256sum <"$f" | cut -c1-16)"
			for x in system.ntfs_acl system.ntfs_attrib system.ntfs_dos_name \
				 system.ntfs_reparse_data system.ntfs_object_id system.ntfs_times; do
				v=$(hex "$f" $x); [ $x = system.ntfs_times ] && v=$(echo "$v" | cut -c1-48)
				printf '%s=%s|' "${x#system.ntfs_}" "$v"
			done
			getfattr -h -d -e hex "$f" 2>/dev/null | grep '^user' | tr '\n' '|'
			echo
		done
	}
	(desc "$M") >"$w/d1"; (desc "$w/m2") >"$w/d2"
	check copy-identical diff "$w/d1" "$w/d2"
	# dos_name is LONGNA~1.TXT in hex; r.bin and hard.bin are one file
	check copy-nontrivial sh -c "[ \$(wc -l < '$w/d1') -ge 7 ] && grep -q 'dos_name=4c4f4e474e417e312e545854' '$w/d1' && grep -q 'user.big' '$w/d1' && grep -q 'regular file 300000 2|' '$w/d1' && grep -q 'symbolic link' '$w/d1'"
	un "$M"; un "$w/m2"
	a1=$(ntfsinfo -F /sparse.bin "$S" | grep -m1 'Compressed size' | awk '{print $(NF-1)}')
	a2=$(ntfsinfo -F /sparse.bin "$D" | grep -m1 'Compressed size' | awk '{print $(NF-1)}')
	check copy-sparse-alloc sh -c "[ -n '$a1' ] && [ '$a1' = '$a2' ]"
else
	bad copy-source "$(cat "$w/err")"
fi

# ---- 3. refusals: the condition made for real, the image unchanged ----
R=$w/dirty.img
mkimg "$R" 32M
check dirty-make "$T" dirty "$R"
check dirty-made sh -c "'$T' state '$R' | grep -qx 'not cleanly closed'"
cp "$R" "$w/before"
refuses dirty-refused 'not cleanly closed.*chkdsk.*ntfsfix -d' "$T" open-rw "$R"
check dirty-unchanged cmp "$R" "$w/before"

H=$w/hiber.img
mkimg "$H" 32M
if ntfs-3g "$H" "$M" 2>"$w/err"; then
	{ printf 'hibr'; head -c 8188 /dev/zero; } >"$M/hiberfil.sys"; un "$M"
fi
check hiber-made sh -c "'$T' state '$H' | grep -qx hibernated"
cp "$H" "$w/before"
refuses hiber-refused 'hibernated or Fast Startup.*shutdown /s /f /t 0' "$T" open-rw "$H"
check hiber-unchanged cmp "$H" "$w/before"
# ntfs-3g says so, and falls back to a read-only mount
o=$(ntfs-3g "$H" "$M" 2>&1)
mountpoint -q "$M" && un "$M"
has hiber-ntfs3g-agrees "$o" 'Windows is hibernated'

K=$w/mounted.img
mkimg "$K" 32M
if ntfs-3g "$K" "$M" 2>"$w/err"; then
	cp "$K" "$w/before"
	refuses mounted-refused 'refused.*(mounted|in use)' "$T" open-rw "$K"
	un "$M"
	check mounted-unchanged cmp "$K" "$w/before"
else
	bad mounted-made "$(cat "$w/err")"
fi
check clean-opens sh -c "'$T' open-rw '$K' | grep -qx opened"

# ---- 4. scale: 100,000 files in one directory, 10,000 nested directories ----
if [ "${FS_NTFS_SCALE:-1}" != 0 ]; then
	L=$w/scale.img
	mkimg "$L" 1G
	# the plain build: ASan's own bookkeeping would swamp the RSS figure
	"$B/tests/test_fs_ntfs" scale "$L" 100000 10000 >"$w/scale" 2>&1
	check scale-run grep -q '^seconds' "$w/scale"
	echo "# scale: $(cat "$w/scale")"
	rss=$(awk '/maxrss_kb/ {print $4}' "$w/scale")
	check scale-rss-under-256MB test "${rss:-999999}" -lt 262144
	check scale-ntfsfix-n ntfsfix -n "$L"
	check scale-ntfsls sh -c "[ \$(ntfsls -f '$L' -p /flat | grep -vx '\\.\\|\\.\\.' | wc -l) -eq 100000 ]"
	if ro "$L" "$M" 2>"$w/err"; then
		check scale-mount-count sh -c "[ \$(ls '$M/flat' | wc -l) -eq 100000 ] && [ -f '$M/flat/file099999' ]"
		check scale-mount-depth sh -c "[ \$(find '$M' -path '$M/n*' -type d | wc -l) -eq 10000 ] && [ \$(find '$M/n9' -type d | wc -l) -eq 1000 ]"
		un "$M"
	else
		bad scale-mount "$(cat "$w/err")"
	fi
fi
finish
