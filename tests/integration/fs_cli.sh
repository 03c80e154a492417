#!/bin/sh
# fs_cli.sh - `sysrecover fs` on unmounted ext4 and NTFS images, each result
# checked with e2fsck/debugfs/a kernel loop mount and with an ntfs-3g mount,
# getfattr and ntfsls/ntfscat.
#   fs_cli.sh SYSRECOVER [SYSRECOVER_ASAN]
set -u
SR=${2:-$1}
[ -x "$SR" ] || SR=$1
w=$(mktemp -d /tmp/sr-fscli.XXXXXX)
M=$w/mnt
mkdir -p "$M"
cleanup() { umount "$M" 2>/dev/null; rm -rf "$w"; }
trap cleanup EXIT

ok() { echo "PASS $1"; }
bad() { echo "FAIL $1: $2"; }
check() { n=$1; shift; if "$@" >"$w/out" 2>&1; then ok "$n"; else bad "$n" "$(tail -n 3 "$w/out" | tr '\n' ' ')"; fi; }
fails() { n=$1; shift; if "$@" >"$w/fout" 2>&1; then bad "$n" "succeeded but must fail"; else ok "$n"; fi; }

head -c 300000 /dev/urandom >"$w/data"
chmod 0604 "$w/data"
touch -d '2010-06-07 08:09:10.5' "$w/data"
printf 'hello\n' >"$w/small"

# ---- ext4 --------------------------------------------------------------
E=$w/e.img
truncate -s 64M "$E" && mke2fs -F -q -t ext4 "$E"
cat >"$w/ext.script" <<EOS
mkdir /etc 0755
put $w/data /etc/data
put $w/small "/etc/with space"
ln /etc/data /etc/hard
ln -s data /etc/sym
mknod /etc/tty c 4 1
mknod /etc/pipe p
xattr /etc/data user.origin sysrecover
mv "/etc/with space" /etc/moved
EOS
check ext-script "$SR" fs "$E" -f "$w/ext.script"
check ext-e2fsck e2fsck -fn "$E"
debugfs -R 'stat /etc/data' "$E" >"$w/ds" 2>/dev/null
check ext-debugfs-links grep -q 'Links: 2' "$w/ds"
check ext-debugfs-mode grep -q 'Mode:  0604' "$w/ds"
if mount -o ro,loop "$E" "$M" 2>"$w/e"; then
	check ext-kernel-content cmp "$w/data" "$M/etc/data"
	check ext-kernel-mtime test "$(stat -c %y "$M/etc/data")" = "$(stat -c %y "$w/data")"
	check ext-kernel-hardlink test "$(stat -c %i "$M/etc/data")" = "$(stat -c %i "$M/etc/hard")"
	check ext-kernel-symlink test "$(readlink "$M/etc/sym")" = data
	check ext-kernel-chardev test "$(stat -c '%F %t %T' "$M/etc/tty")" = "character special file 4 1"
	check ext-kernel-fifo test "$(stat -c %F "$M/etc/pipe")" = fifo
	check ext-kernel-xattr test "$(getfattr --only-values -n user.origin "$M/etc/data" 2>/dev/null)" = sysrecover
	check ext-kernel-renamed sh -c "[ ! -e '$M/etc/with space' ] && cmp '$w/small' '$M/etc/moved'"
	umount "$M"
else
	bad ext-kernel-mount "$(cat "$w/e")"
fi
"$SR" fs "$E" get /etc/data "$w/back" && check ext-get cmp "$w/data" "$w/back"
"$SR" fs "$E" ls /etc >"$w/ls"
check ext-ls sh -c "grep -q ' data\$' '$w/ls' && grep -q ' moved\$' '$w/ls' && [ \$(wc -l < '$w/ls') -eq 6 ]"
fails ext-shortname-unsupported "$SR" fs "$E" shortname /etc/data DATA.TXT
check ext-shortname-message grep -q "cannot set the short name of '/etc/data' on $E: ext volumes do not support that" "$w/fout"
check ext-unchanged-after-refusal e2fsck -fn "$E"

# a mounted volume is refused for writing, and nothing changes (a read-only
# mount, so that the kernel itself writes nothing either)
if mount -o ro,loop "$E" "$M" 2>"$w/e"; then
	cp "$E" "$w/before.img"
	fails ext-mounted-refused "$SR" fs "$E" mkdir /nope
	check ext-mounted-message grep -q 'is mounted' "$w/fout"
	umount "$M"
	check ext-mounted-unchanged cmp "$E" "$w/before.img"
fi

# ---- NTFS --------------------------------------------------------------
N=$w/n.img
truncate -s 64M "$N" && mkntfs -q -F -Q "$N" >/dev/null 2>&1
# a security descriptor: owner Administrators, group Users, DACL granting
# Everyone full access (self-relative, built here byte by byte)
SD=0100048014000000240000000000000034000000010200000000000520000000200200000102000000000005200000002102000002001c000100000000001400ff011f00010100000000000100000000
cat >"$w/ntfs.script" <<EOS
mkdir /Windows
put $w/data /Windows/data.bin
put $w/small "/Windows/Long File Name.txt"
shortname "/Windows/Long File Name.txt" LONGFI~1.TXT
ln /Windows/data.bin /Windows/hard.bin
xattr /Windows/data.bin user.extra "stream text"
sd /Windows/data.bin 0x$SD
mv /Windows/hard.bin /Windows/moved.bin
EOS
check ntfs-script "$SR" fs "$N" -f "$w/ntfs.script"
check ntfs-ntfsls sh -c "ntfsls -p /Windows '$N' | grep -vx '[.]' | sort | tr '\n' ' ' | grep -qx 'Long File Name.txt data.bin moved.bin '"
check ntfs-ntfsls-dos sh -c "ntfsls -x -p /Windows '$N' | grep -qx 'LONGFI~1.TXT'"
check ntfs-ntfscat sh -c "ntfscat '$N' /Windows/data.bin | cmp - '$w/data'"
if ntfs-3g -o ro "$N" "$M" 2>"$w/e"; then
	check ntfs-mount-content cmp "$w/data" "$M/Windows/data.bin"
	check ntfs-mount-links test "$(stat -c %h "$M/Windows/data.bin")" = 2
	check ntfs-mount-mtime test "$(stat -c %Y "$M/Windows/data.bin")" = "$(stat -c %Y "$w/data")"
	check ntfs-dos-name test "$(getfattr --only-values -n system.ntfs_dos_name "$M/Windows/Long File Name.txt" 2>/dev/null)" = LONGFI~1.TXT
	check ntfs-stream test "$(getfattr --only-values -n user.extra "$M/Windows/data.bin" 2>/dev/null)" = "stream text"
	check ntfs-sd test "$(getfattr -e hex -n system.ntfs_acl "$M/Windows/data.bin" 2>/dev/null | sed -n 's/^system.ntfs_acl=0x//p')" = "$SD"
	umount "$M"
else
	bad ntfs-mount "$(cat "$w/e")"
fi
"$SR" fs "$N" streams /Windows/data.bin >"$w/st"
check ntfs-streams-verb grep -q ' extra$' "$w/st"
"$SR" fs "$N" shortname "/Windows/Long File Name.txt" >"$w/sn"
check ntfs-shortname-verb grep -qx 'LONGFI~1.TXT' "$w/sn"
fails ntfs-shortname-invalid "$SR" fs "$N" shortname /Windows/data.bin 'BAD*NAME.TXT'
fails ntfs-shortname-duplicate "$SR" fs "$N" shortname /Windows/data.bin longfi~1.txt
fails ntfs-bad-args "$SR" fs "$N" mknod /Windows/x c 1 1 extra
check ntfs-bad-args-usage grep -q 'wrong number of arguments' "$w/fout"
exit 0
