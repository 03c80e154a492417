#!/bin/sh
# fs_dir.sh - `sysrecover fs` on a plain directory: every verb, checked with
# coreutils, getfattr/getfacl and sha256sum; and nothing escapes the root.
#   fs_dir.sh SYSRECOVER [SYSRECOVER_ASAN]
set -u
. "$(dirname "$0")/../lib/check.sh"
SR=${2:-$1}
[ -x "$SR" ] || SR=$1
need getfattr setfattr getfacl setfacl
workdir fsdir
R=$w/root
O=$w/outside
mkdir -p "$R" "$O"

f() { "$SR" fs "$R" "$@"; }

# put / get keep content, mode, times; holes stay holes
head -c 200000 /dev/urandom >"$w/data"
chmod 0640 "$w/data"
touch -d '2001-02-03 04:05:06.789' "$w/data"
check mkdir f mkdir /d 0750
check mkdir-mode test "$(stat -c %a "$R/d")" = 750
check put f put "$w/data" /d/file
check put-content cmp "$w/data" "$R/d/file"
check put-mode test "$(stat -c %a "$R/d/file")" = 640
check put-mtime test "$(stat -c %y "$R/d/file")" = "$(stat -c %y "$w/data")"
truncate -s 50M "$w/sparse"; printf 'tail' | dd of="$w/sparse" bs=1 seek=40000000 conv=notrunc 2>/dev/null
check put-sparse f put "$w/sparse" /sparse
check sparse-content cmp "$w/sparse" "$R/sparse"
check sparse-stays-sparse test "$(stat -c %b "$R/sparse")" -lt 1000
check get f get /d/file "$w/back"
check get-content cmp "$w/data" "$w/back"
check get-sparse sh -c "'$SR' fs '$R' get /sparse '$w/sback' && cmp '$w/sparse' '$w/sback' && [ \$(stat -c %b '$w/sback') -lt 1000 ]"
f cat /d/file >"$w/cat"
check cat cmp "$w/data" "$w/cat"

# names: ln, ln -s, mv, rm, mknod
check hardlink f ln /d/file /d/hard
check hardlink-count test "$(stat -c %h "$R/d/file")" = 2
check symlink f ln -s ../d/file /d/sym
check symlink-target test "$(readlink "$R/d/sym")" = ../d/file
f stat /d/sym >"$w/st"
check stat-symlink-not-followed grep -q '^type: l' "$w/st"
check mv f mv /d/hard /moved
check mv-result sh -c "[ -f '$R/moved' ] && [ ! -e '$R/d/hard' ]"
echo old >"$w/o"; f put "$w/o" /victim >/dev/null 2>&1
check mv-replaces f mv /moved /victim
check mv-replaced-content cmp "$w/data" "$R/victim"
check mkfifo f mknod /fifo p
check fifo-type test "$(stat -c %F "$R/fifo")" = fifo
check mknod-char f mknod /null c 1 3
check char-dev test "$(stat -c '%F %t %T' "$R/null")" = "character special file 1 3"
check rm-file f rm /victim
refuses rm-nonempty-dir 'Directory not empty' f rm /d
check rm-dir sh -c "'$SR' fs '$R' rm /d/sym && '$SR' fs '$R' rm /d/file && '$SR' fs '$R' rm /d && [ ! -e '$R/d' ]"

# xattrs and ACLs, checked with getfattr / getfacl
f put "$w/o" /x >/dev/null
check xattr-set f xattr /x user.comment hello
check xattr-getfattr test "$(getfattr --only-values -n user.comment "$R/x" 2>/dev/null)" = hello
check xattr-hex f xattr /x user.bin 0x00ff10
hexattr() { getfattr -e hex -n "$1" "$2" 2>/dev/null | sed -n "s/^$1=//p"; }
check xattr-hex-getfattr test "$(hexattr user.bin "$R/x")" = 0x00ff10
f xattr /x >"$w/xl"
check xattr-list sh -c "grep -qx user.comment '$w/xl' && grep -qx user.bin '$w/xl'"
check xattr-remove f xattr /x user.comment -
refuses xattr-removed 'No such attribute' getfattr -n user.comment "$R/x"
setfacl -m u:1234:r "$R/x"
acl=$(hexattr system.posix_acl_access "$R/x")
f put "$w/o" /y >/dev/null
check acl-set f xattr /y system.posix_acl_access "$acl"
check acl-getfacl sh -c "getfacl -c '$R/y' 2>/dev/null | grep -qx 'user:1234:r--'"

# nothing escapes the root
ln -s "$O" "$R/escape"
refuses escape-through-symlink 'Too many levels of symbolic links' f put "$w/o" /escape/planted
check escape-nothing-written test ! -e "$O/planted"
refuses escape-dotdot "has a '.' or '..' component" f put "$w/o" /../planted2
check escape-dotdot-nothing test ! -e "$w/planted2"
refuses escape-mkdir-symlink 'Too many levels of symbolic links' f mkdir /escape/sub
check escape-mkdir-nothing test ! -e "$O/sub"

# scripts are checked whole before anything runs
printf 'mkdir /s1\nbogus /x\n' >"$w/bad.script"
exits script-bad-verb-rejected 64 "unknown verb 'bogus'.*bad.script line 2" f -f "$w/bad.script"
check script-nothing-ran test ! -e "$R/s1"
printf '# make two\nmkdir /s1\nmkdir "/s 2"\nput %s "/s 2/f"\n' "$w/o" >"$w/good.script"
check script-runs f -f "$w/good.script"
check script-result cmp "$w/o" "$R/s 2/f"
exits missing-clear-error 2 "cannot look up '/nonexistent' on $R: No such file or directory" f stat /nonexistent
finish
