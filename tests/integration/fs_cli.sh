#!/bin/sh
# fs_cli.sh - `sysrecover fs` on unmounted ext4 and NTFS images, each result
# checked with e2fsck/debugfs/a kernel loop mount and with an ntfs-3g mount,
# getfattr and ntfsls/ntfscat; then the command line itself: --help, usage
# errors (64), failures (2), partial results (1), read-only opening.
#   fs_cli.sh SYSRECOVER [SYSRECOVER_ASAN]
set -u
SR=${2:-$1}
[ -x "$SR" ] || SR=$1
. "$(dirname "$0")/../lib/check.sh"
workdir fscli
need mke2fs e2fsck debugfs mkntfs ntfsls ntfscat ntfs-3g getfattr
M=$mnt

head -c 300000 /dev/urandom >"$w/data"
chmod 0604 "$w/data"
touch -d '2010-06-07 08:09:10.5' "$w/data"
printf 'hello\n' >"$w/small"

# ---- ext4 --------------------------------------------------------------
E=$w/e.img
truncate -s 64M "$E"
check ext-mke2fs mke2fs -F -q -t ext4 "$E"
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
if out ds debugfs -R 'stat /etc/data' "$E"; then
	has ext-debugfs-links "$ds" 'Links: 2'
	has ext-debugfs-mode "$ds" 'Mode:  0604'
fi
if mount -o ro,loop "$E" "$M" 2>"$w/e"; then
	check ext-kernel-content cmp "$w/data" "$M/etc/data"
	is ext-kernel-mtime "$(stat -c %y "$M/etc/data")" "$(stat -c %y "$w/data")"
	is ext-kernel-hardlink "$(stat -c %i "$M/etc/data")" "$(stat -c %i "$M/etc/hard")"
	is ext-kernel-symlink "$(readlink "$M/etc/sym")" data
	is ext-kernel-chardev "$(stat -c '%F %t %T' "$M/etc/tty")" "character special file 4 1"
	is ext-kernel-fifo "$(stat -c %F "$M/etc/pipe")" fifo
	out xa getfattr --only-values -n user.origin "$M/etc/data" &&
		is ext-kernel-xattr "$xa" sysrecover
	check ext-kernel-renamed sh -c "[ ! -e '$M/etc/with space' ] && cmp '$w/small' '$M/etc/moved'"
	umount "$M"
else
	bad ext-kernel-mount "$(cat "$w/e")"
fi
check ext-get "$SR" fs "$E" get /etc/data "$w/back"
check ext-get-same cmp "$w/data" "$w/back"
if out ls "$SR" fs "$E" ls /etc; then
	has ext-ls-data "$ls" ' data'
	has ext-ls-moved "$ls" ' moved'
	is ext-ls-count "$(printf '%s\n' "$ls" | wc -l)" 6
fi
exits ext-shortname-unsupported 2 \
	"^sysrecover: cannot set the short name of '/etc/data' on .*: ext volumes do not support that" \
	"$SR" fs "$E" shortname /etc/data DATA.TXT
check ext-unchanged-after-refusal e2fsck -fn "$E"

# a mounted volume is refused for writing, and nothing changes (a read-only
# mount, so that the kernel itself writes nothing either)
if mount -o ro,loop "$E" "$M" 2>"$w/e"; then
	cp "$E" "$w/before.img"
	exits ext-mounted-refused 2 'is mounted' "$SR" fs "$E" mkdir /nope
	umount "$M"
	check ext-mounted-unchanged cmp "$E" "$w/before.img"
else
	bad ext-mounted-mount "$(cat "$w/e")"
fi

# ---- NTFS --------------------------------------------------------------
N=$w/n.img
truncate -s 64M "$N"
check ntfs-mkntfs mkntfs -q -F -Q "$N"
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
out nl ntfsls -p /Windows "$N" &&
	is ntfs-ntfsls "$(printf '%s\n' "$nl" | grep -vx '[.]' | sort | tr '\n' ' ')" \
		'Long File Name.txt data.bin moved.bin '
out nl ntfsls -x -p /Windows "$N" && has ntfs-ntfsls-dos "$nl" 'LONGFI~1.TXT'
check ntfs-ntfscat sh -c "ntfscat '$N' /Windows/data.bin > '$w/nc' && cmp '$w/nc' '$w/data'"
if ntfs-3g -o ro "$N" "$M" 2>"$w/e"; then
	check ntfs-mount-content cmp "$w/data" "$M/Windows/data.bin"
	is ntfs-mount-links "$(stat -c %h "$M/Windows/data.bin")" 2
	is ntfs-mount-mtime "$(stat -c %Y "$M/Windows/data.bin")" "$(stat -c %Y "$w/data")"
	out v getfattr --only-values -n system.ntfs_dos_name "$M/Windows/Long File Name.txt" &&
		is ntfs-dos-name "$v" LONGFI~1.TXT
	out v getfattr --only-values -n user.extra "$M/Windows/data.bin" &&
		is ntfs-stream "$v" "stream text"
	out v getfattr -e hex -n system.ntfs_acl "$M/Windows/data.bin" &&
		is ntfs-sd "$(printf '%s\n' "$v" | sed -n 's/^system.ntfs_acl=0x//p')" "$SD"
	umount "$M"
else
	bad ntfs-mount "$(cat "$w/e")"
fi
out st "$SR" fs "$N" streams /Windows/data.bin && has ntfs-streams-verb "$st" ' extra'
out sn "$SR" fs "$N" shortname "/Windows/Long File Name.txt" &&
	is ntfs-shortname-verb "$sn" 'LONGFI~1.TXT'
out sd "$SR" fs "$N" sd /Windows/data.bin && is ntfs-sd-verb "$sd" "0x$SD"
exits ntfs-shortname-invalid 2 "^sysrecover: .*BAD\*NAME.TXT" \
	"$SR" fs "$N" shortname /Windows/data.bin 'BAD*NAME.TXT'
exits ntfs-shortname-duplicate 2 "^sysrecover: cannot set short name .* another name .* already is" \
	"$SR" fs "$N" shortname /Windows/data.bin longfi~1.txt
# a file that carries a short name renamed over the file that holds that
# short name (what a restore does when it replaces such a file): allowed,
# the name moves with it (ntfsls -x shows the 8.3 names)
printf 'old\n' >"$w/old.bin"
printf 'new\n' >"$w/new.bin"
check ntfs-sn-put-old "$SR" fs "$N" put "$w/old.bin" /Windows/random.bin
check ntfs-sn-set-old "$SR" fs "$N" shortname /Windows/random.bin RANDOM~1.BIN
check ntfs-sn-put-new "$SR" fs "$N" put "$w/new.bin" /new.bin
check ntfs-sn-set-new "$SR" fs "$N" shortname /new.bin RANDOM~1.BIN
check ntfs-sn-rename-over "$SR" fs "$N" mv /new.bin /Windows/random.bin
out snl ntfsls -x -p /Windows "$N" && has ntfs-sn-moved "$snl" RANDOM~1.BIN
out snc ntfscat "$N" /Windows/random.bin && is ntfs-sn-content "$snc" new
check ntfs-sn-ntfsfix ntfsfix -n "$N"
exits ntfs-bad-args 64 "'mknod': too many arguments" \
	"$SR" fs "$N" mknod /Windows/x c 1 1 extra

# ---- the command line --------------------------------------------------
# --help: the group, and each verb without opening the volume (none.img
# does not exist).
exits help-group 0 '^usage: sysrecover fs ' "$SR" fs --help
exits help-group-lists-verbs 0 '^  copy-in LOCALDIR PATH' "$SR" fs -h
for v in ls stat cat get put ln xattr sd copy-in copy-out; do
	exits "help-$v" 0 "^usage: sysrecover fs VOL $v" "$SR" fs "$w/none.img" "$v" --help
done
check help-opens-no-volume test ! -e "$w/none.img"
# usage errors: 64, and a script is checked whole before anything runs
exits unknown-option 64 "unknown option '--bogus'" "$SR" fs --bogus "$E" ls
exits unknown-verb-option 64 "ls: unknown option '--bogus'" "$SR" fs "$E" ls --bogus
exits unknown-verb 64 "^sysrecover: unknown verb 'frobnicate'" "$SR" fs "$E" frobnicate
exits missing-arg 64 "'get' needs 2 arguments" "$SR" fs "$E" get /etc/data
exits no-verb 64 'which verb' "$SR" fs "$E"
exits script-and-verb 64 'not both' "$SR" fs "$E" -f "$w/ext.script" ls
cp "$E" "$w/before.img"
printf 'mkdir /new\nput %s /new/x\nfrobnicate 1\n' "$w/small" >"$w/bad.script"
exits script-unknown-verb 64 "unknown verb 'frobnicate'.*bad.script line 3" \
	"$SR" fs "$E" -f "$w/bad.script"
printf 'mkdir /new\nmkdir /new2 0999\n' >"$w/bad.script"
exits script-bad-mode 64 "bad mode '0999'" "$SR" fs "$E" -f "$w/bad.script"
check script-checked-before-running cmp "$E" "$w/before.img"
# a failing operation: 2, with the volume's message
exits failing-op 2 "^sysrecover: cannot look up '/nope' on " "$SR" fs "$E" stat /nope
printf 'mkdir /new\nstat /nope\nmkdir /never\n' >"$w/stop.script"
exits script-stops-at-failure 2 "'/nope'.*stop.script line 2" "$SR" fs "$E" -f "$w/stop.script"
out ls "$SR" fs "$E" ls / && has script-ran-up-to-failure "$ls" ' new' &&
	case $ls in *never*) bad script-stopped "/never was made" ;; *) ok script-stopped ;; esac
# errno 1 (EPERM) is exit 2, not 64: -1 once meant "usage" in this code.
# link(2) refuses to hard-link a directory with EPERM, even for root.
mkdir -p "$w/dvol/sub"
exits eperm-is-exit-2 2 "^sysrecover: cannot link .*Operation not permitted" \
	"$SR" fs "$w/dvol" ln /sub /sub2
# copy-in with items that fail (the names exist already): a partial
# result, exit 1, each failure said
mkdir -p "$w/tree/d"
printf 'x\n' >"$w/tree/d/f"
check copy-in "$SR" fs "$w/dvol" copy-in "$w/tree" /sub
exits copy-in-failed-items-exit-1 1 'File exists' "$SR" fs "$w/dvol" copy-in "$w/tree" /sub
# Reading verbs open the volume read-only, writing verbs read-write (the
# table's flags): an immutable image can be read, even by root not written.
cp "$E" "$w/imm.img"
if chattr +i "$w/imm.img" 2>/dev/null; then
	check ro-verb-on-immutable "$SR" fs "$w/imm.img" ls /etc
	check ro-xattr-show-on-immutable "$SR" fs "$w/imm.img" xattr /etc/data user.origin
	exits rw-verb-on-immutable 2 '^sysrecover: cannot open .*Operation not permitted' \
		"$SR" fs "$w/imm.img" xattr /etc/data user.origin other
	chattr -i "$w/imm.img"
else
	skip ro-verb-on-immutable "chattr +i not supported on $(dirname "$w")"
fi
# ---- issue 10: no local data loss, cat anywhere, copy-out, ls/stat --------
# cat writes in order: to a pipe, to a terminal (a pty from script(1)), and
# to a file opened for appending (a positioned write would overwrite it).
check cat-pipe sh -c "'$SR' fs '$E' cat /etc/data | cat > '$w/cp' && cmp '$w/data' '$w/cp'"
if command -v script >/dev/null 2>&1; then
	out pty script -qec "'$SR' fs '$E' cat /etc/moved" /dev/null &&
		has cat-terminal "$pty" hello
else
	skip cat-terminal "script(1) not installed"
fi
printf 'first\n' >"$w/app"
check cat-append sh -c "'$SR' fs '$E' cat /etc/moved >> '$w/app'"
is cat-append-kept "$(cat "$w/app")" "$(printf 'first\nhello')"
# get: a missing PATH leaves LOCAL alone; a symlink at LOCAL is replaced,
# never written through; -p keeps mode and mtime; no temporary file stays.
printf 'precious\n' >"$w/precious"
exits get-missing-path 2 "cannot look up '/etc/nope'" "$SR" fs "$E" get /etc/nope "$w/precious"
is get-missing-keeps-local "$(cat "$w/precious")" precious
exits get-directory-path 2 "not a regular file" "$SR" fs "$E" get /etc "$w/precious"
is get-dir-keeps-local "$(cat "$w/precious")" precious
ln -s "$w/precious" "$w/symlink"
check get-over-symlink "$SR" fs "$E" get /etc/data "$w/symlink"
is get-symlink-target-untouched "$(cat "$w/precious")" precious
check get-symlink-replaced sh -c "[ ! -L '$w/symlink' ] && cmp '$w/data' '$w/symlink'"
check get-p "$SR" fs "$E" get -p /etc/data "$w/withmeta"
is get-p-mode "$(stat -c %a "$w/withmeta")" 604
is get-p-mtime "$(stat -c %y "$w/withmeta")" "$(stat -c %y "$w/data")"
is get-no-tmp-left "$(ls -a "$w" | grep -c sysrecover-tmp)" 0
# ls escapes names as debugfs's ls does (debugfs made them, debugfs is the
# reference); --json gives the exact names and the metadata
X=$w/x.img
truncate -s 8M "$X"
check names-mke2fs mke2fs -F -q -t ext4 "$X"
check names-write debugfs -w -R "write $w/small /plain" "$X"
for n in "$(printf 'a\001b')" "$(printf 'hi\200\377z')" "$(printf 'utf\303\251')" \
	 "$(printf 'tab\there')" "$(printf 'del\177')" 'back\slash' 'sp ace'; do
	debugfs -w -R "ln /plain \"$n\"" "$X" 2>/dev/null
done
if out dl debugfs -R 'ls -l /' "$X" && out sl "$SR" fs "$X" ls /; then
	is ls-names-as-debugfs "$(printf '%s\n' "$sl" | grep '^-' | sed 's/^[^ ]* *[^ ]* *[^ ]* *[^ ]* *[^ ]* [^ ]* [^ ]* //' | sort)" \
		"$(printf '%s\n' "$dl" | sed -n 's/^ *[0-9]* *100644 ([0-9]*) *[0-9]* *[0-9]* *[0-9]* [^ ]* [^ ]* //p' | sort)"
fi
if out js "$SR" fs "$X" ls --json /; then
	is ls-json-names "$(printf '%s' "$js" | python3 -c 'import json,sys
print(sorted(e["name"] for e in json.loads(sys.stdin.buffer.read().decode("utf-8","surrogateescape")))[:3])')" \
		"['a\\x01b', 'back\\\\slash', 'del\\x7f']"
fi
if out js "$SR" fs "$E" stat --json /etc/data; then
	is stat-json "$(printf '%s' "$js" | python3 -c 'import json,sys
d=json.load(sys.stdin); print(d["type"], oct(d["mode"]), d["links"], d["size"], int(d["mtime"]))')" \
		"- 0o604 2 300000 $(stat -c %Y "$w/data")"
fi
# copy-out: the mirror of copy-in, checked against the kernel's view
check copy-out "$SR" fs "$E" copy-out /etc "$w/out"
check copy-out-content cmp "$w/data" "$w/out/data"
is copy-out-hardlink "$(stat -c %i "$w/out/data")" "$(stat -c %i "$w/out/hard")"
is copy-out-symlink "$(readlink "$w/out/sym")" data
is copy-out-mode "$(stat -c %a "$w/out/data")" 604
is copy-out-mtime "$(stat -c %y "$w/out/data")" "$(stat -c %y "$w/data")"
is copy-out-fifo "$(stat -c %F "$w/out/pipe")" fifo
out xa getfattr --only-values -n user.origin "$w/out/data" && is copy-out-xattr "$xa" sysrecover
exits copy-out-not-empty 2 "is not empty" "$SR" fs "$E" copy-out /etc "$w/out"
# hostile names from a damaged volume: a name holding '/' ("../../Q") and a
# name that is "..", made by editing the directory block of a scratch image
H=$w/h.img
truncate -s 8M "$H"
check hostile-mke2fs mke2fs -F -q -t ext4 -O ^metadata_csum "$H"
check hostile-mkdir debugfs -w -R "mkdir /h" "$H"
for n in SLASHxQ DDQ2 okfile; do debugfs -w -R "write $w/small /h/$n" "$H" >/dev/null 2>&1; done
check hostile-edit python3 -c 'import sys
d = open(sys.argv[1], "rb").read()
for a, b in ((b"SLASHxQ", b"../../Q"), (b"DDQ2", b"..\0\0")):
    assert d.count(a) == 1, a
    d = d.replace(a, b)
open(sys.argv[1], "wb").write(d)' "$H"
out dl debugfs -R 'ls /h' "$H" && has hostile-made "$dl" '../../Q'
mkdir -p "$w/jail"
exits copy-out-hostile 1 "refusing the name '\.\./\.\./Q' in '/h'" "$SR" fs "$H" copy-out / "$w/jail/o"
exits copy-out-hostile-dotdot 1 "refusing the name '\.\.' in '/h'" "$SR" fs "$H" copy-out / "$w/jail/o2"
is copy-out-hostile-stays-inside "$(ls "$w/jail" | tr '\n' ' ')" "o o2 "
check copy-out-hostile-rest test -f "$w/jail/o/h/okfile"
is copy-out-hostile-nothing-else "$(cd "$w/jail/o" && find . | sort | tr '\n' ' ')" ". ./h ./h/okfile ./lost+found "
finish
