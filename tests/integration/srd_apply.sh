#!/bin/sh
# srd_apply.sh - `sysrecover srdelayed add|list|apply`: the rules one by one,
# on small disks built here.  Hives start empty (tests/lib/mkhive.py) and
# are filled with hivexregedit (MountedDevices, Select, pending renames,
# SetupExecute); volumes are checked with ntfscat/ntfsls, debugfs, e2fsck,
# hivexget, and md5sum for "nothing changed".  Needs no test data.
#   srd_apply.sh SYSRECOVER [SYSRECOVER_ASAN]
set -u
S=$1
[ -n "${2:-}" ] && [ -x "$2" ] && S=$2
L=$(cd "$(dirname "$0")/../lib" && pwd)
. "$L/check.sh"
need python3 hivexregedit hivexget mkntfs ntfs-3g ntfscat ntfsls sfdisk \
	mke2fs debugfs e2fsck md5sum setfattr
workdir srdapply
T=$(printf '\t')
SM='ControlSet001\Control\Session Manager'

# hex(7) of strings (REG_MULTI_SZ, UTF-16LE), written by python, not by us.
multi() {
	python3 -c '
import sys
b = "".join(s + "\0" for s in sys.argv[1:]) + "\0"
print(",".join("%02x" % x for x in b.encode("utf-16-le")))' "$@"
}
# A SYSTEM hive: C: = MBR signature 0x1234abcd, partition at 1 MiB; E: the
# same disk at 512 MiB (never attached here); D: a CD-ROM.
# mkhive OUT [PENDING-HEX7] [SETUPEXECUTE-HEX7]
mkhive() {
	python3 "$L/mkhive.py" "$1" || { bad mkhive "mkhive.py $1"; return 1; }
	{
		echo 'Windows Registry Editor Version 5.00'
		echo
		echo '[HKEY_LOCAL_MACHINE\SYSTEM\Select]'
		echo '"Current"=dword:00000001'
		echo '"Default"=dword:00000001'
		echo
		echo '[HKEY_LOCAL_MACHINE\SYSTEM\MountedDevices]'
		printf '%s\n' '"\\DosDevices\\C:"=hex:cd,ab,34,12,00,00,10,00,00,00,00,00'
		printf '%s\n' '"\\DosDevices\\E:"=hex:cd,ab,34,12,00,00,00,20,00,00,00,00'
		printf '%s' '"\\DosDevices\\D:"=hex:'
		echo "$(printf '\\??\\IDE#CdRom' | python3 -c 'import sys; print(",".join("%02x" % x for x in sys.stdin.read().encode("utf-16-le")))')"
		echo
		echo '[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001]'
		echo
		echo '[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Control]'
		echo
		printf "[HKEY_LOCAL_MACHINE\\SYSTEM\\%s]\n" "$SM"
		[ -n "${2:-}" ] && echo "\"PendingFileRenameOperations\"=hex(7):$2"
		[ -n "${3:-}" ] && echo "\"SetupExecute\"=hex(7):$3"
		echo
	} >"$w/h.reg"
	hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SYSTEM' "$1" "$w/h.reg" ||
		bad mkhive "hivexregedit --merge $1"
}
# A disk with signature 0x1234abcd and one 16 MiB NTFS partition at 1 MiB
# holding /Windows/System32/config/SYSTEM = HIVE and the files named
# (path[=content]; a trailing / makes a directory).  windisk DISK HIVE FILE...
windisk() {
	disk=$1 hive=$2
	shift 2
	truncate -s 24M "$w/part"
	mkntfs -F -Q -q "$w/part" >/dev/null 2>&1
	ntfs-3g "$w/part" "$mnt" || { bad windisk ntfs-3g; return 1; }
	mkdir -p "$mnt/Windows/System32/config"
	cp "$hive" "$mnt/Windows/System32/config/SYSTEM"
	python3 "$L/mkhive.py" "$mnt/Windows/System32/config/SOFTWARE"
	for f in "$@"; do
		case "$f" in
		*/) mkdir -p "$mnt/$f" ;;
		*=*) mkdir -p "$mnt/$(dirname "${f%%=*}")"; printf '%s' "${f#*=}" >"$mnt/${f%%=*}" ;;
		*) mkdir -p "$mnt/$(dirname "$f")"; printf 'x' >"$mnt/$f" ;;
		esac
	done
	umount "$mnt"
	truncate -s 32M "$disk"
	printf 'label: dos\nlabel-id: 0x1234abcd\nstart=2048, size=49152, type=7\n' |
		sfdisk -q "$disk" >/dev/null
	dd if="$w/part" of="$disk" bs=1M seek=1 conv=notrunc status=none
}
part() { dd if="$1" of="$w/p" bs=1M skip=1 count=24 status=none; echo "$w/p"; }
# A file's content, "<absent>" when ntfscat says there is none; any other
# failure of ntfscat is its own text, which no check expects.
cat_() {
	_c=$(ntfscat -f "$(part "$1")" "$2" 2>&1) && { printf '%s' "$_c"; return; }
	case "$_c" in
	*"Couldn't open inode: No such file"*) echo "<absent>" ;;
	*) echo "<ntfscat failed: $_c>" ;;
	esac
}
# The names in a directory of an NTFS volume (ntfsls, which fails on error).
names() { # var disk dir
	out "$1" ntfsls -f "$(part "$2")" -p "$3"
}

# ---- pending renames: each rule ---------------------------------------------
mkhive "$w/sys" "$(multi '\??\C:\a.txt' '\??\C:\exists.txt' \
	'\??\C:\b.txt' '!\??\C:\exists.txt' \
	'\??\C:\gone.txt' '' \
	'\??\C:\Dir\' '' \
	'\??\C:\full' '' \
	'*1\??\C:\c.txt' '\??\C:\nodir\c.txt' \
	'\??\C:\MixedCase\D.TXT' '\??\C:\mixedcase\moved.txt' \
	'\??\C:\missing.txt' '\??\C:\x.txt')"
windisk "$w/p1.img" "$w/sys" a.txt=A b.txt=B exists.txt=OLD gone.txt dir/ full/f \
	c.txt=C MixedCase/d.txt=D
out=$("$S" srdelayed apply --json "$w/p1.img@1" 2>&1)
rc=$?
printf '%s\n' "$out" >"$w/p1.json"
is pfro-exit "$rc" 1
j() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$w/p1.json" 2>&1; }
is pfro-codes "$(j x '" ".join("%s:%d" % (o["outcome"], o["code"]) for o in j["operations"])')" \
	"failed:183 done:0 done:0 done:0 failed:145 failed:3 done:0 failed:2"
is pfro-no-bang-kept-target "$(cat_ "$w/p1.img" /exists.txt)" B
is pfro-no-bang-source-stays "$(cat_ "$w/p1.img" /a.txt)" A
is pfro-bang-replaced "$(cat_ "$w/p1.img" /b.txt)" "<absent>"
is pfro-deleted "$(cat_ "$w/p1.img" /gone.txt)" "<absent>"
names l "$w/p1.img" / && is pfro-empty-dir-deleted "$(printf '%s\n' "$l" | grep -cx dir)" 0
is pfro-full-dir-kept "$(cat_ "$w/p1.img" /full/f)" x
is pfro-prefix-star1-parsed "$(cat_ "$w/p1.img" /c.txt)" C
is pfro-case-insensitive "$(cat_ "$w/p1.img" /MixedCase/moved.txt)" D
check pfro-system-readable sh -c 'ntfscat -f "$1" /Windows/System32/config/SYSTEM >"$2"' - "$(part "$w/p1.img")" "$w/after"
refuses pfro-value-cleared-failed-included "PendingFileRenameOperations: key not found" \
	hivexget "$w/after" "$SM" PendingFileRenameOperations

# ---- nothing applied: malformed and unattached -------------------------------
unchanged() { # name disk expected-message
	sum=$(md5sum <"$2")
	out=$("$S" srdelayed apply "$2@1" 2>&1)
	rc=$?
	is "$1-exit" "$rc" 2
	has "$1-says-why" "$out" "$3"
	is "$1-nothing-changed" "$(md5sum <"$2")" "$sum"
}
se() { multi "C:\\Windows\\System32\\srdelayed.exe $1"; }
u16() { python3 -c 'import sys; sys.stdout.buffer.write(sys.argv[1].encode("utf-16-le"))' "$1"; }
# a PFRO pair that is fine, then an srdelayed file that is not: the pair
# must not run either
mkhive "$w/sys2" "$(multi '\??\C:\a.txt' '')" "$(se '\??\C:\ops')"
mk_ops() { # disk content-in-python-string-syntax
	windisk "$1" "$w/sys2" a.txt
	dd if="$1" of="$w/part" bs=1M skip=1 count=24 status=none
	ntfs-3g "$w/part" "$mnt" && python3 -c "import sys; open(sys.argv[1],'wb').write(($2).encode('utf-16-le'))" "$mnt/ops" && umount "$mnt"
	dd if="$w/part" of="$1" bs=1M seek=1 conv=notrunc status=none
}
mk_ops "$w/m1.img" '"MoveFile\0\\??\\C:\\a\0\\??\\C:\\b\0\0"'
unchanged bad-3-fields "$w/m1.img" "3 fields, a record needs 4"
mk_ops "$w/m2.img" '"DeleteFile\0Unused\0\\??\\C:\\a.txt\0NotExecuted\0"'
unchanged bad-no-final-nul "$w/m2.img" "final NUL"
mk_ops "$w/m3.img" '"DeleteFile\0Unused\0\\??\\C:\\a.txt\0NotExecuted\0\0" + "x"'
# one byte more: utf-16 of "x" is two, so cut one off after writing
dd if="$w/m3.img" of="$w/part" bs=1M skip=1 count=24 status=none
ntfs-3g "$w/part" "$mnt" && truncate -s -1 "$mnt/ops" && umount "$mnt"
dd if="$w/part" of="$w/m3.img" bs=1M seek=1 conv=notrunc status=none
unchanged bad-odd-length "$w/m3.img" "odd file length"
mk_ops "$w/m4.img" '"deletefile\0Unused\0\\??\\C:\\a.txt\0NotExecuted\0\0"'
unchanged bad-unknown-op "$w/m4.img" "unknown operation 'deletefile'"
mk_ops "$w/m5.img" '"DeleteFile\0Unused\0\\\\?\\C:\\a.txt\0NotExecuted\0\0"'
unchanged bad-prefix "$w/m5.img" "bad path prefix"
mk_ops "$w/m6.img" '"DeleteFile\0Unused\0\\??\\C:\\Windows\\..\\..\\etc\\passwd\0NotExecuted\0\0"'
unchanged bad-dotdot "$w/m6.img" "climbs above the root"
mk_ops "$w/m7.img" '"DeleteFile\0Unused\0\\??\\E:\\a.txt\0NotExecuted\0\0"'
unchanged not-attached "$w/m7.img" "E: (MBR disk signature 1234abcd, offset 536870912"
mk_ops "$w/m8.img" '"DeleteFile\0Unused\0\\??\\D:\\a.txt\0NotExecuted\0\0"'
unchanged cdrom "$w/m8.img" "D: is not a disk partition"
mk_ops "$w/m9.img" '"DeleteFile\0Unused\0\\??\\Z:\\a.txt\0NotExecuted\0\0"'
unchanged unknown-letter "$w/m9.img" "Z: is not in MountedDevices"
# a source and then the end of the data: no target, not even the final NUL
# ("src\0\0" would be a delete, as Session Manager reads it)
mkhive "$w/sys3" "$(python3 -c 'print(",".join("%02x" % x for x in "\\??\\C:\\a.txt\0".encode("utf-16-le")))')"
windisk "$w/m10.img" "$w/sys3" a.txt
unchanged pfro-odd "$w/m10.img" "has no target"

# ---- the srdelayed file: statuses, stop rule, RestoreStatus, SetupExecute ---
mkhive "$w/sys4" "" "$(multi 'C:\Windows\System32\srdelayed.exe \??\C:\ops' 'C:\Windows\System32\other.exe /x')"
windisk "$w/s1.img" "$w/sys4" dir/f
dd if="$w/s1.img" of="$w/part" bs=1M skip=1 count=24 status=none
ntfs-3g "$w/part" "$mnt" && python3 -c "import sys; open(sys.argv[1],'wb').write(('MoveFile\0\\\\??\\\\C:\\\\dir\0\\\\??\\\\C:\\\\dir2\0NotExecuted\0' + 'DeleteFile\0Unused\0\\\\??\\\\C:\\\\dir\\\\f\0NotExecuted\0\0').encode('utf-16-le'))" "$mnt/ops" && umount "$mnt"
dd if="$w/part" of="$w/s1.img" bs=1M seek=1 conv=notrunc status=none
out=$("$S" srdelayed apply "$w/s1.img@1" 2>&1)
is srd-stop-exit "$?" 1
has srd-dir-move-refused "$out" "SC=00000005"
has srd-stop-not-reached "$out" "not-reached"
has srd-other-program-noted "$out" "other.exe /x' is not srdelayed: left for Windows"
p=$(part "$w/s1.img")
check srd-ops-readable sh -c 'ntfscat -f "$1" /ops >"$2"' - "$p" "$w/ops.after"
is srd-stop-statuses "$(python3 -c 'import sys; u=open(sys.argv[1],"rb").read().decode("utf-16-le").split("\0"); print(u[3], u[7])' "$w/ops.after")" \
	"SC=00000005 NotExecuted"
is srd-stop-file-kept "$(cat_ "$w/s1.img" /dir/f)" x
check srd-system-readable sh -c 'ntfscat -f "$1" /Windows/System32/config/SYSTEM >"$2"' - "$p" "$w/after"
is srd-setupexecute-ours-removed "$(hivexget "$w/after" "$SM" SetupExecute)" 'C:\Windows\System32\other.exe /x'
check srd-software-readable sh -c 'ntfscat -f "$1" /Windows/System32/config/SOFTWARE >"$2"' - "$p" "$w/sw"
K='Microsoft\Windows NT\CurrentVersion\SystemRestore'
is srd-RestoreStatusResult "$(hivexget "$w/sw" "$K" RestoreStatusResult)" 5
is srd-RestoreStatusDetails "$(hivexget "$w/sw" "$K" RestoreStatusDetails)" 1

# ---- native queues, add and list, other volumes -----------------------------
mkdir -p "$w/t1/etc" "$w/t2"
echo one >"$w/t1/etc/a"; echo two >"$w/t1/etc/b"; echo other >"$w/t2/o"
mke2fs -q -t ext4 -L SRDVOL1 -d "$w/t1" "$w/e1.img" 16M
mke2fs -q -t ext4 -L SRDVOL2 -d "$w/t2" "$w/e2.img" 16M
check native-add-move "$S" srdelayed add -V "$w/e1.img" move /etc/a /etc/a2
check native-add-delete "$S" srdelayed add -V "$w/e1.img" delete LABEL=SRDVOL2:/o
check native-add-shortname "$S" srdelayed add -V "$w/e1.img" shortname /etc/b B~1
check native-add-other-volume "$S" srdelayed add -V "$w/e1.img" move /etc/b 'LABEL=SRDVOL2:/b'
# debugfs prints "PATH: File not found by ext2_lookup" and exits 0: its
# output is the check.
dcat() { debugfs -R "cat $2" "$1" 2>&1 | sed '/^debugfs [0-9]/d'; }
is native-add-written "$(dcat "$w/e1.img" /var/lib/sysrecover/srdelayed.queue)" \
	"$(printf 'MoveFile\t/etc/a\t/etc/a2\tNotExecuted\nDeleteFile\tUnused\tLABEL=SRDVOL2:/o\tNotExecuted\nSetFileShortName\tB~1\t/etc/b\tNotExecuted\nMoveFile\t/etc/b\tLABEL=SRDVOL2:/b\tNotExecuted')"
"$S" srdelayed add -V "$w/e1.img" move /../x /y 2>"$w/err"
is native-add-bad-path-exit "$?" 64
is list-volume "$("$S" srdelayed list --disk "$w/e1.img" --disk "$w/e2.img" -V "$w/e1.img" 2>&1 | grep -c '^planned .*e1.img:/var/lib/sysrecover/srdelayed.queue#')" 4
sum=$(md5sum <"$w/e1.img")
out=$("$S" srdelayed apply --dry-run "$w/e1.img" "$w/e2.img" 2>&1)
is dry-run-exit "$?" 0
has dry-run-plans "$out" "planned"
is dry-run-unchanged "$(md5sum <"$w/e1.img")" "$sum"
check mount-ro mount -o ro,loop "$w/e1.img" "$mnt"
out=$("$S" srdelayed apply "$w/e1.img" 2>&1)
is mounted-refused-exit "$?" 2
has mounted-refused-why "$out" "mounted"
umount "$mnt"
ln -sf "$(readlink -f "$S")" "$w/srdelayed"
out=$("$w/srdelayed" apply "$w/e1.img" --disk "$w/e1.img" --disk "$w/e2.img" 2>&1)
is native-exit "$?" 1
has native-progname "$out" "done"
is native-moved "$(dcat "$w/e1.img" /etc/a2)" one
has native-other-volume-deleted "$(dcat "$w/e2.img" /o)" "/o: File not found by ext2_lookup"
has native-shortname-on-ext "$out" "SC=00000032"
has native-cross-volume "$out" "SC=00000011"
out l debugfs -R 'ls -p /var/lib/sysrecover' "$w/e1.img" &&
	is native-queue-retired "$(printf '%s\n' "$l" | cut -d/ -f6 | grep srd | tr '\n' ' ')" "srdelayed.queue.applied "
check native-fsck-e1 e2fsck -fn "$w/e1.img"
check native-fsck-e2 e2fsck -fn "$w/e2.img"
out=$("$S" srdelayed apply --disk "$w/e2.img" "UUID=00000000-0000-0000-0000-000000000000" 2>&1)
is unknown-uuid-exit "$?" 2
# a queue file of the running system
q=$w/local.queue
check local-add-delete "$S" srdelayed add -q "$q" delete /tmp/x
check local-add-move "$S" srdelayed add -q "$q" move 'UUID=abcd:/a b' /c
is local-list "$("$S" srdelayed list -q "$q")" "$(printf '1\tDeleteFile\tUnused\t/tmp/x\tNotExecuted\n2\tMoveFile\tUUID=abcd:/a b\t/c\tNotExecuted')"
"$S" srdelayed list --json -q "$q" | python3 -c 'import json,sys; j=json.load(sys.stdin); assert j[1]["fields"][1] == "UUID=abcd:/a b"' &&
	ok local-list-json || bad local-list-json "not valid"
check windows-add-runs "$S" srdelayed add -q "$w/win.q" --windows shortname '\??\C:\Program Files\x.dll' X~1.DLL
is windows-add "$(python3 -c 'import sys; print(open(sys.argv[1],"rb").read().decode("utf-16-le").split("\0"))' "$w/win.q")" \
	"['SetFileShortName', 'X~1.DLL', '\\\\??\\\\C:\\\\Program%20Files\\\\x.dll', 'NotExecuted', '', '']"

# ---- plans that cannot be crash-safe are refused before anything changes ----
# (a record that moves, deletes or replaces a queue being run, the journal, an
# applied queue, or a directory holding one; paths compared as the volume
# resolves them)
mk_ext() { # img label
	rm -rf "$w/gt"; mkdir -p "$w/gt/etc" "$w/gt/var/lib/sysrecover"
	echo a >"$w/gt/etc/a"; : >"$w/gt/.sysrecover-srdelayed.journal.x"
	mke2fs -q -t ext4 -L "$2" -d "$w/gt" "$1" 16M || bad mk-ext "mke2fs $1"
}
refused_ext() { # name img pattern
	sum=$(md5sum <"$2")
	exits "$1" 2 "$3" "$S" srdelayed apply --disk "$2" --disk "$w/g2.img" "$2"
	is "$1-nothing-changed" "$(md5sum <"$2")" "$sum"
}
mk_ext "$w/g2.img" SRDGUARD2
"$S" srdelayed add -V "$w/g2.img" delete /etc/a || bad guard-setup "add g2"
guard_ext() { # name pattern add-arguments...
	_g=$1 _pat=$2; shift 2
	mk_ext "$w/g.img" SRDGUARD1
	"$S" srdelayed add -V "$w/g.img" move /etc/a /etc/b || bad "$_g-setup" "add"
	"$S" srdelayed add -V "$w/g.img" "$@" || bad "$_g-setup" "add $*"
	refused_ext "$_g" "$w/g.img" "$_pat"
}
guard_ext guard-delete-queue "srdelayed.queue record 2 \(DeleteFile /var/lib/sysrecover/srdelayed.queue\): it deletes the queue being run" \
	delete /var/lib/sysrecover/srdelayed.queue
guard_ext guard-move-queue "record 2 .*it moves the queue being run" \
	move /var/lib/sysrecover/srdelayed.queue /etc/q
guard_ext guard-dots "record 2 .*it deletes the queue being run" \
	delete /var//lib/./sysrecover/../sysrecover/srdelayed.queue
guard_ext guard-delete-journal "record 2 .*it deletes the apply journal" \
	delete /.sysrecover-srdelayed.journal
guard_ext guard-target-applied "record 2 .*its target replaces the applied queue" \
	move /etc/a /var/lib/sysrecover/srdelayed.queue.applied
guard_ext guard-target-journal "record 2 .*its target replaces the apply journal" \
	move /etc/a /.sysrecover-srdelayed.journal
guard_ext guard-directory "record 2 .*it deletes a directory holding the queue being run" \
	delete /var/lib
guard_ext guard-other-volume "record 2 .*it deletes the native queue, .*g2.img:/var/lib/sysrecover/srdelayed.queue" \
	delete LABEL=SRDGUARD2:/var/lib/sysrecover/srdelayed.queue
# a name that only starts like a guarded one is not refused
mk_ext "$w/g.img" SRDGUARD1
"$S" srdelayed add -V "$w/g.img" move /etc/a /.sysrecover-srdelayed.journal.y || bad guard-prefix-setup add
exits guard-prefix-name-allowed 0 "1 done" "$S" srdelayed apply "$w/g.img"
# Windows: the srdelayed input file named by SetupExecute, another case,
# an 8.3 short name, pending renames
guard_win() { # name pattern file pfro-hex7 ops-python-string [short-name]
	mkhive "$w/gsys" "$4" "$(se "\\??\\C:\\$3")"
	windisk "$w/gw.img" "$w/gsys" a.txt
	dd if="$w/gw.img" of="$w/part" bs=1M skip=1 count=24 status=none
	ntfs-3g "$w/part" "$mnt" &&
		python3 -c "import sys; open(sys.argv[1],'wb').write(($5).encode('utf-16-le'))" "$mnt/$3" &&
		{ [ -z "${6:-}" ] || setfattr -h -v "$6" -n system.ntfs_dos_name "$mnt/$3"; } &&
		umount "$mnt" || bad "$1-setup" "ntfs-3g"
	dd if="$w/part" of="$w/gw.img" bs=1M seek=1 conv=notrunc status=none
	sum=$(md5sum <"$w/gw.img")
	exits "$1" 2 "$2" "$S" srdelayed apply "$w/gw.img@1"
	is "$1-nothing-changed" "$(md5sum <"$w/gw.img")" "$sum"
}
guard_win guard-win-case "ops record 1 .*it deletes the queue being run" ops "" \
	'"DeleteFile\0Unused\0\\??\\C:\\OPS\0NotExecuted\0\0"'
guard_win guard-win-target "ops record 1 .*its target replaces the queue being run" ops "" \
	'"MoveFile\0\\??\\C:\\a.txt\0\\??\\c:\\Ops\0NotExecuted\0\0"'
guard_win guard-win-shortname "record 1 .*it deletes the queue being run" sysrecover-ops.txt "" \
	'"DeleteFile\0Unused\0\\??\\C:\\SYSREC~1.TXT\0NotExecuted\0\0"' SYSREC~1.TXT
guard_win guard-pfro-queue "PendingFileRenameOperations pair 1 .*it deletes the queue being run" ops \
	"$(multi '\??\c:\OPS' '')" '"DeleteFile\0Unused\0\\??\\C:\\a.txt\0NotExecuted\0\0"'
guard_win guard-pfro-journal "PendingFileRenameOperations pair 1 .*it moves the apply journal" ops \
	"$(multi '\??\C:\.SYSRECOVER-srdelayed.journal' '\??\C:\j')" '"DeleteFile\0Unused\0\\??\\C:\\a.txt\0NotExecuted\0\0"'

# ---- apply --disk IMG with no VOL: what is on that disk -----------------------
mk_ext "$w/d1.img" SRDDISK1
"$S" srdelayed add -V "$w/d1.img" move /etc/a /etc/moved || bad disk-setup add
mkhive "$w/dsys" "$(multi '\??\C:\a.txt' '\??\C:\b.txt')"
windisk "$w/d2.img" "$w/dsys" a.txt=A
out=$("$S" srdelayed list --disk "$w/d1.img" --disk "$w/d2.img" 2>&1)
is disk-only-list-exit "$?" 0
is disk-only-list-plans "$(printf '%s\n' "$out" | grep -c '^planned ')" 2
out=$("$S" srdelayed apply --disk "$w/d1.img" --disk "$w/d2.img" 2>&1)
is disk-only-exit "$?" 0
has disk-only-both "$out" "2 done, 0 failed"
is disk-only-ext-applied "$(dcat "$w/d1.img" /etc/moved)" a
is disk-only-ntfs-applied "$(cat_ "$w/d2.img" /b.txt)" A
check disk-only-fsck e2fsck -fn "$w/d1.img"
exits disk-only-nothing 0 "no unmounted volume on the disks given" \
	"$S" srdelayed apply --disk "$w/d1.img"

# ---- --replay-journal: a dirty ext journal (what the boot hooks meet) -------
# The journal holds a transaction (written by debugfs, not by us) that rewrites
# the data block of /etc/a.  Without the flag the volume is refused and left
# as it was; with it, e2fsck replays the journal first, so the file moved is
# the journal's version of /etc/a.
dirty_ext() { # img label
	mk_ext "$1" "$2"
	"$S" srdelayed add -V "$1" move /etc/a /etc/moved >/dev/null || bad "$2-setup" add
	blk=$(debugfs -R 'bmap /etc/a 0' "$1" 2>/dev/null)
	{ printf 'J\n'; head -c 4094 /dev/zero; } >"$w/jblock"  # /etc/a is 2 bytes
	printf 'jo\njw -b %s %s\njc\n' "$blk" "$w/jblock" >"$w/jcmds"
	debugfs -w -f "$w/jcmds" "$1" >/dev/null 2>&1
	dumpe2fs -h "$1" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery' ||
		bad "$2-setup" "debugfs did not leave a journal to replay in $1"
}
dirty_ext "$w/j1.img" SRDJ1
sum=$(md5sum <"$w/j1.img")
exits journal-refused 2 "the journal needs recovery.*--replay-journal" "$S" srdelayed apply "$w/j1.img"
is journal-refused-unchanged "$(md5sum <"$w/j1.img")" "$sum"
exits journal-replayed 0 "1 done, 0 failed" "$S" srdelayed apply --replay-journal "$w/j1.img"
is journal-replayed-first "$(dcat "$w/j1.img" /etc/moved)" J
check journal-replayed-flag-cleared sh -c "dumpe2fs -h '$w/j1.img' 2>/dev/null | grep '^Filesystem features:' | grep -qv needs_recovery"
check journal-replayed-fsck e2fsck -fn "$w/j1.img"
# with no VOL: a dirty volume on a named disk whose stale view shows a queue is
# refused with the advice; one that shows none is named, not passed over in silence
dirty_ext "$w/j2.img" SRDJ2
exits journal-disk-refused 2 "the journal needs recovery.*--replay-journal" \
	"$S" srdelayed apply --disk "$w/j2.img"
mk_ext "$w/j3.img" SRDJ3
debugfs -w -R 'feature needs_recovery' "$w/j3.img" >/dev/null 2>&1
exits journal-disk-noted 0 "j3.img: its journal needs recovery: not looked at .--replay-journal" \
	"$S" srdelayed apply --disk "$w/j3.img"
exits journal-disk-replayed 0 "1 done, 0 failed" "$S" srdelayed apply --replay-journal --disk "$w/j2.img"
is journal-disk-replayed-first "$(dcat "$w/j2.img" /etc/moved)" J
exits journal-list-refused 64 "list: --replay-journal is for apply" "$S" srdelayed list --replay-journal "$w/j2.img"
exits journal-add-refused 64 "add: --replay-journal is for apply" "$S" srdelayed add --replay-journal -V "$w/j2.img" delete /x

# ---- progress: a line on stderr (SYSRECOVER_PROGRESS=1), stdout unchanged ----
mkdir -p "$w/pa" "$w/pb" "$w/pc" "$w/pd"
S=$(cd "$(dirname "$S")" && pwd)/$(basename "$S")  # the runs below cd
mk_ext "$w/pa/e.img" SRDPROG
for i in 1 2 3; do "$S" srdelayed add -V "$w/pa/e.img" move /etc/a /etc/a$i >/dev/null 2>&1; done
for d in pb pc pd; do cp "$w/pa/e.img" "$w/$d/e.img"; done
(cd "$w/pa" && SYSRECOVER_PROGRESS=1 "$S" srdelayed apply e.img >"$w/pa/out" 2>"$w/pa/err")
(cd "$w/pb" && "$S" srdelayed apply e.img >"$w/pb/out" 2>"$w/pb/err")
has progress-line "$(cat "$w/pa/err")" "srdelayed apply: "
has progress-objects "$(cat "$w/pa/err")" "3 objects"
is progress-stdout-unchanged "$(cat "$w/pa/out")" "$(cat "$w/pb/out")"
is progress-off-pipe "$(cat "$w/pb/err")" ""
(cd "$w/pc" && SYSRECOVER_PROGRESS=1 "$S" srdelayed apply --json e.img >"$w/pc/out" 2>"$w/pc/err")
(cd "$w/pd" && "$S" srdelayed apply --json e.img >"$w/pd/out" 2>"$w/pd/err")
is progress-json-unchanged "$(cat "$w/pc/out")" "$(cat "$w/pd/out")"
is progress-json-quiet "$(cat "$w/pc/err")" ""
check progress-json-valid python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$w/pc/out"

# ---- the command line ---------------------------------------------------------
for sub in add list apply; do
	out h "$S" srdelayed "$sub" --help && has "$sub-help" "$h" "usage: sysrecover srdelayed $sub"
	"$S" srdelayed "$sub" --no-such-option >/dev/null 2>&1
	is "$sub-unknown-option-exit" "$?" 64
done
out h "$S" srdelayed --help && has group-help "$h" "srdelayed apply"
out h "$w/srdelayed" list -h && has progname-help "$h" "usage: srdelayed list"
"$S" srdelayed apply -q "$q" >/dev/null 2>&1
is apply-queue-refused-exit "$?" 64
"$S" srdelayed >/dev/null 2>&1
is no-subcommand-exit "$?" 64

finish
