#!/bin/sh
# sysstate_restore.sh - `restore --system-state` onto an installed Windows
# (the "current" machine), onto an empty NTFS volume, refusals, and a kill
# at every write point.
#   - a Windows volume built here with mkntfs and an ntfs-3g mount: the real
#     SYSTEM hive of the test data (plus a FilesNotToBackup rule for the SIS
#     store), SOFTWARE made with mkhive.py + hivexregedit, SAM, SECURITY,
#     DEFAULT, a page file, a hiberfil.sys, CSC and TEMP files, a SIS store;
#     backed up with a plain `backup`;
#   - the current machine: a copy of it whose SYSTEM was changed through an
#     ntfs-3g mount with hivexregedit --merge (MountedDevices, a service's
#     Start, PendingFileRenameOperations, a new Services subkey, a
#     KeysNotToRestore rule "Services\*", the computer name, a
#     LastRestoreId), stale CSC/TEMP files and a hiberfil.sys with a "hibr"
#     header: refused without --remove-hiberfile (cmp: unchanged), restored
#     with it; each KeysNotToRestore form checked with hivexget against the
#     hives' own rules and values, LastRestoreId new, every hive loads in
#     regfinfo (libregf), hiberfil.sys / pagefile.sys / stale files gone, the
#     SIS store intact, ntfsfix -n clean;
#   - --kntr-merge 2003 against vss (a Start the current machine raised);
#     the same restore run again before Windows ran keeps its id, after a
#     change to SYSTEM (Windows ran) it is a new restore with a new id;
#   - an empty NTFS volume (a dry run first: nothing written, one JSON
#     object): the report says what could not be kept;
#   - a set whose SYSTEM is damaged, and one without SYSTEM: refused,
#     target unchanged; an unknown --kntr-merge: a usage error;
#   - kill test: SYSRECOVER_TEST_KILL_AFTER_WRITE=N for every write point N
#     of a small set, ntfsfix -d, run again, compared with an uninterrupted
#     run (tree, hashes, hivexregedit --export of every hive with
#     LastRestoreId set aside, and LastRestoreId = the one the killed run
#     recorded in its marker);
#   - the issue's machine: `backup --system-state` of tests/lib/winvol.sh
#     (the real SYSTEM_WIN_10_1709, dirty without logs: installed with a
#     warning; SIS links and a common store; encrypted files), restored onto
#     a copy of that volume changed as above (cur.reg, a "hibr" header):
#     refused without --remove-hiberfile (cmp), restored with it; each
#     KeysNotToRestore form, LastRestoreId new, regfinfo of every hive, the
#     other hives the backup's, hiberfil.sys, pagefile.sys and every file a
#     rule names gone, SIS reparse data, holes, store files and ACLs and EFS
#     raw bytes and $EFS streams as on the source (efs_raw mounts),
#     ntfsfix -n; then onto an empty NTFS volume: the report says what could
#     not be kept, SIS and EFS as on the source; then onto a copy of its own
#     volume (every hive clean, every rule's file gone);
#   - the real SYSTEM_B, whose real logs do not replay: refused, the target
#     unchanged (cmp).
#   sysstate_restore.sh SYSRECOVER
set -u
. "$(dirname "$0")/../lib/check.sh"
workdir sysst
need mkntfs ntfs-3g ntfsfix ntfscat ntfsls hivexget hivexregedit regfinfo python3 xz
testdata hives
S=$1
L=$(cd "$(dirname "$0")/../lib" && pwd)
T=$w/t.tap
export TMPDIR="$w"
CFG=Windows/System32/config

msz() { python3 -c 'import sys; b="".join(s+"\0" for s in sys.argv[1:]).encode("utf-16le")+b"\0\0"; print(",".join("%02x"%c for c in b))' "$@"; }
um() { umount "$mnt" 2>/dev/null || fusermount -u "$mnt" 2>/dev/null; }
reg() { printf 'Windows Registry Editor Version 5.00\n\n' >"$1"; cat >>"$1"; }

# ---- the hives -------------------------------------------------------------------
xz -dc "$TD/SYSTEM.xz" >"$w/SYSTEM" || bad setup-system "xz"
xz -dc "$TD/SAM.xz" >"$w/SAM" || bad setup-sam "xz"
xz -dc "$TD/SECURITY.xz" >"$w/SECURITY" || bad setup-security "xz"
xz -dc "$TD/NTUSER.DAT.xz" >"$w/DEFAULT" || bad setup-default "xz"
# The regipy SECURITY is dirty without logs (a restore refuses such a hive,
# see "refusals"): a commit by hivex (an empty merge) makes it clean.
printf 'Windows Registry Editor Version 5.00\n\n' >"$w/empty.reg"
for h in SAM SECURITY DEFAULT; do check "setup-clean-$h" hivexregedit --merge "$w/$h" "$w/empty.reg"; done
reg "$w/sis.reg" <<EOF
[\\ControlSet001\\Control\\BackupRestore\\FilesNotToBackup]
"SIS Store"=hex(7):$(msz '\SIS Common Store\*.* /s')
EOF
check setup-backup-system hivexregedit --merge "$w/SYSTEM" "$w/sis.reg"
python3 "$L/mkhive.py" "$w/SOFTWARE" ROOT
reg "$w/sw.reg" <<EOF
[\\Microsoft]

[\\Microsoft\\Windows NT]

[\\Microsoft\\Windows NT\\CurrentVersion]
"SystemRoot"="C:\\\\Windows"
"ProductName"="sysrecover test"
EOF
check setup-software hivexregedit --merge "$w/SOFTWARE" "$w/sw.reg"

# A Windows volume: IMG [small]
mkwin() {
	rm -f "$1"; truncate -s 160M "$1"
	mkntfs -Q -F -q "$1" >/dev/null 2>&1 || { bad "mkntfs-$1" "mkntfs failed"; return 1; }
	ntfs-3g "$1" "$mnt" || { bad "mount-$1" "ntfs-3g failed"; return 1; }
	mkdir -p "$mnt/$CFG" "$mnt/Windows/System32/drivers" "$mnt/Windows/CSC/v2.0.6/namespace" \
		"$mnt/Windows/Temp" "$mnt/SIS Common Store" "$mnt/Users/u"
	for h in SYSTEM SOFTWARE SAM SECURITY DEFAULT; do cp "$w/$h" "$mnt/$CFG/$h"; done
	echo backup-driver >"$mnt/Windows/System32/drivers/sr.sys"
	echo notepad >"$mnt/Windows/notepad.exe"
	echo document >"$mnt/Users/u/doc.txt"
	head -c 65536 /dev/urandom >"$mnt/pagefile.sys"
	head -c 8192 /dev/zero >"$mnt/hiberfil.sys"
	echo offline >"$mnt/Windows/CSC/v2.0.6/namespace/a.txt"
	echo temp >"$mnt/Windows/Temp/t.tmp"
	echo store >"$mnt/SIS Common Store/0001.sis"
	um
}

hives_from() { # IMG PREFIX NAME: the five hives of IMG to $w/PREFIX_H, each loading (regfinfo)
	for h in SYSTEM SOFTWARE SAM SECURITY DEFAULT; do
		ntfscat "$1" "/$CFG/$h" >"$w/$2_$h" 2>/dev/null || bad "$3-ntfscat-$h" "cannot read it"
		check "$3-$h" regfinfo "$w/$2_$h"
	done
}
export_key() { # HIVE KEY -> the key's export without its header line
	hivexregedit --export "$1" "$2" 2>&1 | tail -n +2
}

# ---- set 1: the Windows volume -------------------------------------------------------
mkwin "$w/src.img"
exits backup-source 0 "0 failed" "$S" backup -t "$T" "$w/src.img"

# ---- the current machine ----------------------------------------------------------------
cp "$w/src.img" "$w/cur.img"
reg "$w/cur.reg" <<EOF
[\\MountedDevices]
"\\\\DosDevices\\\\C:"=hex(3):88,77,66,55,00,00,10,00,00,00,00,00
"\\\\DosDevices\\\\Q:"=hex(3):11,22,33,44,00,00,20,00,00,00,00,00

[\\ControlSet001\\Services\\Beep]
"Start"=dword:00000000

[\\ControlSet001\\Services\\Cdrom]
"Start"=dword:00000004

[\\ControlSet001\\Services\\SrTestSvc]
"Start"=dword:00000002

[\\ControlSet001\\Services\\SrTestSvc\\Parameters]
"Where"="current"

[\\ControlSet001\\Control\\Session Manager]
"PendingFileRenameOperations"=hex(7):$(msz '\??\C:\current-pending.tmp' '')

[\\ControlSet001\\Control\\BackupRestore\\KeysNotToRestore]
"Installed Services"=hex(7):$(msz 'CurrentControlSet\Services\*')

[\\ControlSet001\\Control\\BackupRestore\\SystemStateRestore]
"LastRestoreId"="{11111111-2222-3333-4444-555555555555}"

[\\ControlSet001\\Control\\ComputerName\\ComputerName]
"ComputerName"="CURRENT-PC"
EOF
reg "$w/cursw.reg" <<EOF
[\\SrCurrentOnly]
"x"="current"
EOF
if ntfs-3g "$w/cur.img" "$mnt"; then
	check current-system-changed hivexregedit --merge "$mnt/$CFG/SYSTEM" "$w/cur.reg"
	check current-software-changed hivexregedit --merge "$mnt/$CFG/SOFTWARE" "$w/cursw.reg"
	cp "$mnt/$CFG/SYSTEM" "$w/CUR_SYSTEM"
	echo current-driver >"$mnt/Windows/System32/drivers/sr.sys"
	echo current-only >"$mnt/Users/u/current-only.txt"
	echo stale >"$mnt/Windows/CSC/v2.0.6/namespace/stale.dat"
	echo stale >"$mnt/Windows/Temp/stale.tmp"
	rm -f "$mnt/Windows/Temp/t.tmp"   # in the set only: never written, so never deleted
	head -c 65536 /dev/urandom >"$mnt/pagefile.sys"
	um
else
	bad current-mount "ntfs-3g failed"
fi
cp "$w/cur.img" "$w/curbase.img"   # for the kill test
# a hibernation image: "hibr" at the start of hiberfil.sys
ntfs-3g "$w/cur.img" "$mnt" && { printf 'hibr' | dd of="$mnt/hiberfil.sys" conv=notrunc status=none; um; }
cp "$w/cur.img" "$w/cur0.img"

# ---- hibernated: refused without the flag, nothing changed ------------------------------
refuses hibernated-refused "hibernated" "$S" restore -t "$T" --set 1 --system-state --to "v0=$w/cur.img"
check hibernated-unchanged cmp "$w/cur.img" "$w/cur0.img"
refuses flag-needs-system-state "goes with --system-state" \
	"$S" restore -t "$T" --set 1 --remove-hiberfile --to "v0=$w/cur.img"

# ---- restored with it ---------------------------------------------------------------------
"$S" restore -t "$T" --set 1 --system-state --remove-hiberfile --to "v0=$w/cur.img" >"$w/r1.out" 2>&1
is restore-exit "$?" 0
has restore-says-hibernation "$(cat "$w/r1.out")" "hibernation image"
id=$(sed -n 's/^LastRestoreId: \({[0-9A-F-]*}\).*/\1/p' "$w/r1.out")
[ -n "$id" ] && ok "restore prints the LastRestoreId" || bad restore-id "$(tail -n 5 "$w/r1.out" | tr '\n' ' ')"
check restore-ntfsfix ntfsfix -n "$w/cur.img"
hives_from "$w/cur.img" R regfinfo-loads
R=$w/R_SYSTEM
K='ControlSet001\Control\BackupRestore\KeysNotToRestore'
# the rules are the union of both hives' own (read here with hivexget)
kntr() { # HIVE: its KeysNotToRestore strings, one a line
	hivexget "$1" "$K" | python3 -c '
import re, sys
for m in re.finditer(r"=hex\(7\):([0-9a-f,\\\s]*)", sys.stdin.read()):
    b = bytes.fromhex(re.sub(r"[^0-9a-f]", "", m.group(1)))
    for s in b.decode("utf-16le").split("\0"):
        if s: print(s)'
}
rules=$( (kntr "$w/SYSTEM"; kntr "$w/CUR_SYSTEM") | sort -u)
has kntr-key-rule-in-hives "$rules" 'MountedDevices\'
has kntr-value-rule-in-hives "$rules" 'Session Manager\PendingFileRenameOperations'
has kntr-merge-rule-in-hives "$rules" 'CurrentControlSet\Services\*'
# key form (MountedDevices\): the current machine's key, whole
is kntr-key-form "$(export_key "$R" MountedDevices)" "$(export_key "$w/CUR_SYSTEM" MountedDevices)"
# value form: the current machine's value
is kntr-value-form "$(hivexget "$R" 'ControlSet001\Control\Session Manager' PendingFileRenameOperations 2>&1)" \
	"$(hivexget "$w/CUR_SYSTEM" 'ControlSet001\Control\Session Manager' PendingFileRenameOperations 2>&1)"
# merge form: a service only the current machine has comes in with its subkey;
# one both have keeps the lower Start (VSS), which is the current one here
is kntr-merge-new-service "$(hivexget "$R" 'ControlSet001\Services\SrTestSvc\Parameters' Where 2>&1)" current
bs=$(hivexget "$w/SYSTEM" 'ControlSet001\Services\Beep' Start 2>&1)
cs=$(hivexget "$w/CUR_SYSTEM" 'ControlSet001\Services\Beep' Start 2>&1)
want=$bs; [ "$cs" -lt "$bs" ] 2>/dev/null && want=$cs
is kntr-merge-start-lower "$(hivexget "$R" 'ControlSet001\Services\Beep' Start 2>&1)" "$want"
[ "$want" != "$bs" ] && ok "the Start rule had something to do ($bs -> $cs)" || bad start-setup "current Start $cs not below $bs"
# a Start the current machine raised: VSS keeps the lower (the backup's)
bc=$(hivexget "$w/SYSTEM" 'ControlSet001\Services\Cdrom' Start 2>&1)
cc=$(hivexget "$w/CUR_SYSTEM" 'ControlSet001\Services\Cdrom' Start 2>&1)
[ "$cc" -gt "$bc" ] 2>/dev/null && ok "current Cdrom Start $cc is above the backup's $bc" || bad cdrom-setup "$cc / $bc"
is kntr-vss-start-min "$(hivexget "$R" 'ControlSet001\Services\Cdrom' Start 2>&1)" "$bc"
# not in any rule: the backup's value
is not-kept-computername "$(hivexget "$R" 'ControlSet001\Control\ComputerName\ComputerName' ComputerName 2>&1)" \
	"$(hivexget "$w/SYSTEM" 'ControlSet001\Control\ComputerName\ComputerName' ComputerName 2>&1)"
# LastRestoreId: new, the printed one
L_ID=$(hivexget "$R" 'ControlSet001\Control\BackupRestore\SystemStateRestore' LastRestoreId 2>&1)
is last-restore-id-printed "$L_ID" "$id"
guid() { printf '%s\n' "$1" | grep -qE '^\{[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}\}$'; }
guid "$L_ID" && [ "$L_ID" != "{11111111-2222-3333-4444-555555555555}" ] &&
	ok "LastRestoreId is a GUID and differs from the current one" || bad id-current "$L_ID"
src_id=$(hivexget "$w/SYSTEM" 'ControlSet001\Control\BackupRestore\SystemStateRestore' LastRestoreId 2>/dev/null)
guid "$L_ID" && [ "$L_ID" != "$src_id" ] && ok "LastRestoreId differs from the backup's ('$src_id')" || bad id-source "$L_ID"
# the other hives are the backup's, made clean
is software-replaced "$(hivexregedit --export "$w/R_SOFTWARE" '\' | md5sum)" "$(hivexregedit --export "$w/SOFTWARE" '\' | md5sum)"
is sam-replaced "$(hivexregedit --export "$w/R_SAM" '\' | md5sum)" "$(hivexregedit --export "$w/SAM" '\' | md5sum)"
# files
if ntfs-3g -o ro "$w/cur.img" "$mnt"; then
	for f in hiberfil.sys pagefile.sys Windows/CSC/v2.0.6/namespace/a.txt \
		Windows/CSC/v2.0.6/namespace/stale.dat Windows/Temp/t.tmp Windows/Temp/stale.tmp; do
		[ ! -e "$mnt/$f" ] && ok "gone: $f" || bad "left: $f" "still on the target"
	done
	is sis-store-intact "$(cat "$mnt/SIS Common Store/0001.sis" 2>&1)" store
	is driver-replaced "$(cat "$mnt/Windows/System32/drivers/sr.sys" 2>&1)" backup-driver
	is other-files-stay "$(cat "$mnt/Users/u/current-only.txt" 2>&1)" current-only
	[ -e "$mnt/.sysrecover-sysstate/done" ] && ok "the marker says done" || bad marker-done "$(ls -a "$mnt/.sysrecover-sysstate" 2>&1 | tr '\n' ' ')"
	ls "$mnt/$CFG" | grep -i '\.log' >"$w/logs" && bad logs-left "$(cat "$w/logs")" || ok "no hive logs left"
	um
else
	bad restore-mount "ntfs-3g failed"
fi
# in the set and named by a rule: pagefile.sys, hiberfil.sys, CSC/a.txt, Temp/t.tmp
has report-not-restored "$(cat "$w/r1.out")" "FilesNotToBackup: not restored: 4 ("
# on the target and named by a rule: pagefile.sys, CSC/a.txt, CSC/stale.dat,
# Temp/stale.tmp (hiberfil.sys went with the hibernation image; a file that
# was restored and then deleted would make it more)
has report-deleted "$(cat "$w/r1.out")" "stale files deleted from the target: 4 ("
has report-kntr "$(cat "$w/r1.out")" "KeysNotToRestore MountedDevices\\ (Mount Manager, key): kept"

# the same restore run again, Windows not booted since: the same restore
exits repeat-same-exit 0 "resuming the finished" \
	"$S" restore -t "$T" --set 1 --system-state --to "v0=$w/cur.img"
ntfscat "$w/cur.img" "/$CFG/SYSTEM" >"$w/R2_SYSTEM" 2>/dev/null
is repeat-same-id "$(hivexget "$w/R2_SYSTEM" 'ControlSet001\Control\BackupRestore\SystemStateRestore' LastRestoreId 2>&1)" "$id"
# Windows ran (it changed SYSTEM): a new restore, a new id
if ntfs-3g "$w/cur.img" "$mnt"; then
	check booted-system-changed hivexregedit --merge "$mnt/$CFG/SYSTEM" "$w/cursw.reg"
	um
fi
"$S" restore -t "$T" --set 1 --system-state --to "v0=$w/cur.img" >"$w/r3.out" 2>&1
is repeat-new-exit "$?" 0
id3=$(sed -n 's/^LastRestoreId: \({[0-9A-F-]*}\).*/\1/p' "$w/r3.out")
[ -n "$id3" ] && [ "$id3" != "$id" ] && ok "after Windows ran: a new LastRestoreId" ||
	bad repeat-new-id "'$id3' (first '$id')"

# --kntr-merge 2003: the current machine's services as they are (base =
# current), plus what only the backup has
cp "$w/curbase.img" "$w/c2003.img"
exits kntr-2003-exit 0 "LastRestoreId" "$S" restore -t "$T" --set 1 --system-state \
	--kntr-merge 2003 --to "v0=$w/c2003.img"
ntfscat "$w/c2003.img" "/$CFG/SYSTEM" >"$w/R3_SYSTEM" 2>/dev/null
is kntr-2003-start-current "$(hivexget "$w/R3_SYSTEM" 'ControlSet001\Services\Cdrom' Start 2>&1)" "$cc"
is kntr-2003-new-service "$(hivexget "$w/R3_SYSTEM" 'ControlSet001\Services\SrTestSvc\Parameters' Where 2>&1)" current

# ---- an empty NTFS volume ------------------------------------------------------------------
rm -f "$w/empty.img"; truncate -s 160M "$w/empty.img"
mkntfs -Q -F -q "$w/empty.img" >/dev/null 2>&1
cp "$w/empty.img" "$w/e0.img"
# a dry run: checks everything, writes nothing; --json is one object
"$S" restore -t "$T" --set 1 --system-state --dry-run --json --to "v0=$w/empty.img" >"$w/dry.json" 2>"$w/dry.err"
is dry-run-exit "$?" 0
check dry-run-unchanged cmp "$w/empty.img" "$w/e0.img"
check dry-run-json python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["dry_run"] and d["system_state"]["no_current_system"], d' "$w/dry.json"
"$S" restore -t "$T" --set 1 --system-state --to "v0=$w/empty.img" >"$w/r2.out" 2>&1
is empty-exit "$?" 0
has empty-says-no-windows "$(cat "$w/r2.out")" "holds no Windows"
has empty-says-drive-letters "$(cat "$w/r2.out")" "drive letters (SYSTEM\\MountedDevices)"
has empty-says-hardware "$(cat "$w/r2.out")" "hardware keys"
has empty-lists-rule "$(cat "$w/r2.out")" "MountedDevices\\ (Mount Manager, key): not kept"
ntfscat "$w/empty.img" "/$CFG/SYSTEM" >"$w/E_SYSTEM" 2>/dev/null
check empty-regfinfo regfinfo "$w/E_SYSTEM"
is empty-mounteddevices-from-backup "$(export_key "$w/E_SYSTEM" MountedDevices)" "$(export_key "$w/SYSTEM" MountedDevices)"
out eid hivexget "$w/E_SYSTEM" 'ControlSet001\Control\BackupRestore\SystemStateRestore' LastRestoreId &&
	has empty-last-restore-id "$(cat "$w/r2.out")" "LastRestoreId: $eid"
check empty-ntfsfix ntfsfix -n "$w/empty.img"

# ---- refusals -------------------------------------------------------------------------------
# set 2: a damaged SYSTEM (the test data's corrupted hive)
xz -dc "$TD/corrupted_system_hive.xz" >"$w/DIRTY"
rm -f "$w/d.img"; truncate -s 64M "$w/d.img"; mkntfs -Q -F -q "$w/d.img" >/dev/null 2>&1
if ntfs-3g "$w/d.img" "$mnt"; then
	mkdir -p "$mnt/$CFG"; cp "$w/DIRTY" "$mnt/$CFG/SYSTEM"; um
fi
exits backup-dirty 0 "0 failed" "$S" backup -t "$T" "$w/d.img"
cp "$w/empty.img" "$w/e0.img"
refuses damaged-refused "SYSTEM cannot be used: .*nothing was written" \
	"$S" restore -t "$T" --set 2 --system-state --to "v0=$w/empty.img"
check damaged-target-unchanged cmp "$w/empty.img" "$w/e0.img"
# set 3: no SYSTEM at all
rm -f "$w/n.img"; truncate -s 32M "$w/n.img"; mkntfs -Q -F -q "$w/n.img" >/dev/null 2>&1
ntfs-3g "$w/n.img" "$mnt" && { echo x >"$mnt/x"; um; }
exits backup-nosys 0 "0 failed" "$S" backup -t "$T" "$w/n.img"
refuses nosys-refused "holds no SYSTEM hive" \
	"$S" restore -t "$T" --set 3 --system-state --to "v0=$w/empty.img"
check nosys-target-unchanged cmp "$w/empty.img" "$w/e0.img"
refuses bad-policy "is not 2003 or vss" \
	"$S" restore -t "$T" --set 1 --system-state --kntr-merge 2008 --to "v0=$w/empty.img"

# ---- kill at every write point -------------------------------------------------------------
# A small set (a SYSTEM of our own, made with mkhive.py + hivexregedit, so
# that a run takes few writes and an export is quick), restored onto a
# current machine (its SYSTEM changed with the same cur.reg) once without
# interruption for reference.
snapshot() { # IMG OUT: tree + hashes, every hive exported, LastRestoreId apart
	: >"$2"
	ntfs-3g -o ro "$1" "$mnt" || { echo "cannot mount" >"$2"; return; }
	(cd "$mnt" && find . -path './.sysrecover-sysstate*' -prune -o -print | LC_ALL=C sort) >>"$2"
	(cd "$mnt" && find . -path './.sysrecover-sysstate*' -prune -o -type f -print0 |
		xargs -0 sha256sum | grep -v "/$CFG/" | LC_ALL=C sort) >>"$2"
	for h in SYSTEM SOFTWARE SAM; do
		hivexregedit --export "$mnt/$CFG/$h" '\' 2>&1 | grep -v '^"LastRestoreId"=' >>"$2"
	done
	hivexget "$mnt/$CFG/SYSTEM" 'ControlSet001\Control\BackupRestore\SystemStateRestore' \
		LastRestoreId >"$2.id" 2>&1
	um
}
python3 "$L/mkhive.py" "$w/KSYS" SYSTEM
reg "$w/ksys.reg" <<EOF
[\\Select]
"Current"=dword:00000001
"Default"=dword:00000001

[\\MountedDevices]
"\\\\DosDevices\\\\C:"=hex(3):44,33,22,11,00,00,10,00,00,00,00,00

[\\ControlSet001]

[\\ControlSet001\\Control]

[\\ControlSet001\\Control\\BackupRestore]

[\\ControlSet001\\Control\\BackupRestore\\KeysNotToRestore]
"Mount Manager"=hex(7):$(msz 'MountedDevices\')
"Pending Rename Operations"=hex(7):$(msz 'CurrentControlSet\Control\Session Manager\PendingFileRenameOperations')

[\\ControlSet001\\Control\\BackupRestore\\FilesNotToBackup]
"Memory Page File"=hex(7):$(msz '\Pagefile.sys')
"Temporary Files"=hex(7):$(msz '%SystemRoot%\Temp\* /s')

[\\ControlSet001\\Control\\ComputerName]

[\\ControlSet001\\Control\\ComputerName\\ComputerName]
"ComputerName"="BACKUP-PC"

[\\ControlSet001\\Control\\Session Manager]

[\\ControlSet001\\Services]

[\\ControlSet001\\Services\\Beep]
"Start"=dword:00000001
EOF
check kill-system-built hivexregedit --merge "$w/KSYS" "$w/ksys.reg"
rm -f "$w/ks.img"; truncate -s 48M "$w/ks.img"; mkntfs -Q -F -q "$w/ks.img" >/dev/null 2>&1
if ntfs-3g "$w/ks.img" "$mnt"; then
	mkdir -p "$mnt/$CFG" "$mnt/Windows/System32/drivers" "$mnt/Windows/Temp"
	cp "$w/KSYS" "$mnt/$CFG/SYSTEM"; cp "$w/SOFTWARE" "$w/SAM" "$mnt/$CFG/"
	echo backup-driver >"$mnt/Windows/System32/drivers/sr.sys"
	echo notepad >"$mnt/Windows/notepad.exe"
	head -c 65536 /dev/urandom >"$mnt/pagefile.sys"
	echo temp >"$mnt/Windows/Temp/t.tmp"
	um
fi
exits backup-small 0 "0 failed" "$S" backup -t "$T" "$w/ks.img"
cp "$w/ks.img" "$w/k0.img"
if ntfs-3g "$w/k0.img" "$mnt"; then
	check kill-current-system hivexregedit --merge "$mnt/$CFG/SYSTEM" "$w/cur.reg"
	echo current-driver >"$mnt/Windows/System32/drivers/sr.sys"
	echo stale >"$mnt/Windows/Temp/stale.tmp"
	echo current-only >"$mnt/current-only.txt"
	head -c 8192 /dev/zero >"$mnt/hiberfil.sys"   # no rule names it in this set
	um
fi
cp "$w/k0.img" "$w/kref.img"
t0=$(date +%s)
SYSRECOVER_TEST_KILL_AFTER_WRITE=0 "$S" restore -t "$T" --set 4 --system-state \
	--to "v0=$w/kref.img" >"$w/kref.out" 2>&1
is kill-reference-exit "$?" 0
n=$(sed -n 's/.*fault injection: \([0-9]*\) writes.*/\1/p' "$w/kref.out")
t1=$(date +%s)
snapshot "$w/kref.img" "$w/ref.snap"
if ! grep -qx '\./Windows' "$w/ref.snap"; then bad kill-ref-snapshot "$(head -n 2 "$w/ref.snap")"
elif grep -qix '\./hiberfil\.sys' "$w/ref.snap"; then bad kill-ref-hiberfil "hiberfil.sys left (no rule names it: it must go anyway)"
else ok "kill reference: no hiberfil.sys left though no rule names it"; fi
[ "${n:-0}" -gt 10 ] && ok "kill: $n write points in the reference run ($((t1 - t0))s)" ||
	bad kill-count "got '${n:-}' write points"
k=1
ids=0
bad0=$fails
while [ "$k" -le "${n:-0}" ]; do
	cp "$w/k0.img" "$w/k.img"
	SYSRECOVER_TEST_KILL_AFTER_WRITE=$k "$S" restore -t "$T" --set 4 --system-state \
		--to "v0=$w/k.img" >"$w/k.out" 2>&1
	rc=$?
	[ "$rc" -eq 137 ] || { bad "kill-$k-killed" "exit $rc: $(tail -n 2 "$w/k.out" | tr '\n' ' ')"; k=$((k + 1)); continue; }
	# the id the killed run chose, if it got as far as recording it
	kid=$(ntfscat -f "$w/k.img" /.sysrecover-sysstate/id 2>/dev/null)
	ntfsfix -d "$w/k.img" >/dev/null 2>&1 || bad "kill-$k-ntfsfix" "ntfsfix -d failed"
	"$S" restore -t "$T" --set 4 --system-state --to "v0=$w/k.img" >"$w/k2.out" 2>&1 ||
		{ bad "kill-$k-rerun" "$(tail -n 3 "$w/k2.out" | tr '\n' ' ')"; k=$((k + 1)); continue; }
	snapshot "$w/k.img" "$w/k.snap"
	cmp -s "$w/ref.snap" "$w/k.snap" ||
		bad "kill-$k-same" "$(diff "$w/ref.snap" "$w/k.snap" | head -n 4 | tr '\n' ' ')"
	if [ -n "$kid" ]; then
		ids=$((ids + 1))
		[ "$(cat "$w/k.snap.id")" = "$kid" ] ||
			bad "kill-$k-id-kept" "LastRestoreId $(cat "$w/k.snap.id"), the killed run chose $kid"
	fi
	ntfsfix -n "$w/k.img" >/dev/null 2>&1 || bad "kill-$k-ntfsfix-n" "not clean after the rerun"
	k=$((k + 1))
done
[ "$fails" -eq "$bad0" ] && ok "kill: all $n kill points, rerun = uninterrupted run ($ids resumed with the recorded LastRestoreId)"
[ "$ids" -gt 0 ] && ok "kill: some runs were killed after the marker" || bad kill-ids "no killed run had recorded its id"
# ---- sets made by `backup --system-state` of the shared test volume -------------------------
# tests/lib/winvol.sh.  Its Windows hive is the real SYSTEM_WIN_10_1709,
# dirty without logs: installed as backed up, made clean, with a warning.
# With WINVOL_MAIN=b it is the real SYSTEM_B with its real logs, which do
# not replay: refused.  wv_restore puts a set onto a copy of its own volume
# (the same machine, where the files the rules name came back since), the
# last set on the tape (no --set).
. "$L/winvol.sh"
FB='ControlSet001\Control\BackupRestore\FilesNotToBackup'
wv_restore() { # NAME IMG HIVE(the set's SYSTEM, for its rules)
	exits "$1-backup" 0 "0 failed" "$S" backup -t "$T" --system-state "$2"
	cp "$2" "$w/wvc.img"
	"$S" restore -t "$T" --system-state --to "v0=$w/wvc.img" >"$w/wv.out" 2>&1
	is "$1-restore-exit" "$?" 0
	check "$1-ntfsfix" ntfsfix -n "$w/wvc.img"
	hives_from "$w/wvc.img" WV "$1-regfinfo"
	for h in SYSTEM SOFTWARE SAM SECURITY DEFAULT; do
		# installed clean: the regf sequence numbers are equal (od)
		is "$1-clean-$h" "$(od -An -tu4 -j4 -N4 "$w/WV_$h")" "$(od -An -tu4 -j8 -N4 "$w/WV_$h")"
	done
	out wvid hivexget "$w/WV_SYSTEM" 'ControlSet001\Control\BackupRestore\SystemStateRestore' LastRestoreId &&
		{ guid "$wvid" && ok "$1: LastRestoreId $wvid" || bad "$1-id" "'$wvid'"; }
	: >"$w/wv.res"
	if ntfs-3g -o ro "$w/wvc.img" "$mnt"; then
		printf '%s\n' "$WINVOL_FNTB" | while IFS='|' read -r c f; do
			hivexget "$3" "$FB" "$c" >/dev/null 2>&1 || continue   # not a rule of this SYSTEM
			[ ! -e "$mnt/$f" ] && echo "PASS $f" || echo "FAIL $f ($c)"
		done >"$w/wv.res"
		um
	fi
	while read -r r f; do
		[ "$r" = PASS ] && ok "$1: gone: $f" || bad "$1-left" "$f is on the target"
	done <"$w/wv.res"
	[ -s "$w/wv.res" ] || bad "$1-fntb" "no rule named a file of the volume"
}
# ---- the issue's machine: the shared test volume, changed since ---------------------------
# The set: `backup --system-state` of winvol (the real SYSTEM_WIN_10_1709,
# SIS links with their common store, encrypted files made through an
# efs_raw mount).  The "current" machine: a copy of that volume whose SYSTEM
# got cur.reg (MountedDevices, a service's Start lowered and another's
# raised, a new Services\SrTestSvc with a Parameters subkey,
# PendingFileRenameOperations, a KeysNotToRestore merge rule, a
# LastRestoreId, the computer name) and whose hiberfil.sys carries a "hibr"
# header.  Every expectation comes from the hives (hivexget, hivexregedit
# --export), the source volume, or what the test put there.
. "$(dirname "$0")/../lib/holes.sh"
# IMG LINKS(sis.py's list) EFS(efs.py's list) OUT: what SIS and EFS must
# keep, read through a read-only efs_raw mount: each link's reparse data
# and holes, each store file's sha256 and ACL, each encrypted file's raw
# bytes (read in odd pieces: see efs.sh) and $EFS stream.
xa() { # NAME FILE: the xattr in hex, or what getfattr said
	getfattr -h --absolute-names -e hex -n "$1" "$2" 2>&1 | sed -n "s/^$1=//p"
}
sis_efs_digest() {
	ntfs-3g -o ro,efs_raw,direct_io "$1" "$mnt" || { echo "mount failed"; return; }
	while IFS="$(printf '\t')" read -r p g n; do
		printf 'link %s %s\n' "$p" "$(xa system.ntfs_reparse_data "$mnt$p")"
	done <"$2"
	find "$mnt/SIS Common Store" -type f | sort | while read -r f; do
		printf 'store %s %s %s\n' "${f#"$mnt"}" "$(sha256sum <"$f" | cut -c1-64)" \
			"$(xa system.ntfs_acl "$f")"
	done
	while read -r f n; do
		e="$mnt/Users/Public/Encrypted/$f"
		printf 'efs %s %s %s\n' "$f" "$(dd if="$e" bs=999 status=none | sha256sum | cut -c1-64)" \
			"$(xa user.ntfs.efsinfo "$e")"
	done <"$3"
	um
	while IFS="$(printf '\t')" read -r p g n; do
		printf 'holes %s %s\n' "$p" "$(holes "$1" "$p")"
	done <"$2"
}
if winvol_make "$w/wv.img" 160; then
	xz -dc "$TD/SYSTEM_WIN_10_1709.xz" >"$w/S1709"
	exits wvm-backup 0 "0 failed" "$S" backup -t "$T" --system-state "$w/wv.img"
	for h in SOFTWARE SAM SECURITY DEFAULT; do
		ntfscat "$w/wv.img" "/$CFG/$h" >"$w/WS_$h" 2>/dev/null || bad "wvm-src-$h" "ntfscat failed"
	done
	[ -s "$w/wv.img.sis" ] && [ -s "$w/wv.img.efs" ] && ok "wvm: the volume has SIS links and encrypted files" ||
		bad wvm-sis-efs "sis.py or efs.py made nothing"
	sis_efs_digest "$w/wv.img" "$w/wv.img.sis" "$w/wv.img.efs" >"$w/wv.digest"
	# the digest holds something to compare: reparse data, store hashes and
	# ACLs, raw hashes and $EFS streams for all that sis.py and efs.py made
	is wvm-digest-links "$(grep -c '^link /.* 0x07000080' "$w/wv.digest")" "$(grep -c . "$w/wv.img.sis")"
	is wvm-digest-stores "$(grep -c '^store /.* [0-9a-f]\{64\} 0x' "$w/wv.digest")" \
		"$(cut -f2 "$w/wv.img.sis" | sort -u | grep -c .)"
	is wvm-digest-efs "$(grep -c '^efs .* [0-9a-f]\{64\} 0x' "$w/wv.digest")" "$(grep -c . "$w/wv.img.efs")"
	grep -c '^holes .* holes$' "$w/wv.digest" | grep -qx "$(wc -l <"$w/wv.img.sis")" &&
		ok "wvm: the source's links are all holes" || bad wvm-src-holes "$(grep '^holes' "$w/wv.digest")"
	cp "$w/wv.img" "$w/wcur.img"
	if ntfs-3g "$w/wcur.img" "$mnt"; then
		check wvm-current-system hivexregedit --merge "$mnt/$CFG/SYSTEM" "$w/cur.reg"
		cp "$mnt/$CFG/SYSTEM" "$w/WCUR_SYSTEM"
		printf 'hibr' | dd of="$mnt/hiberfil.sys" conv=notrunc status=none
		um
	else
		bad wvm-current-mount "ntfs-3g failed"
	fi
	cp "$w/wcur.img" "$w/wcur0.img"
	refuses wvm-hibernated-refused "hibernated" \
		"$S" restore -t "$T" --system-state --to "v0=$w/wcur.img"
	check wvm-hibernated-unchanged cmp "$w/wcur.img" "$w/wcur0.img"
	"$S" restore -t "$T" --system-state --remove-hiberfile --to "v0=$w/wcur.img" >"$w/wr.out" 2>&1
	is wvm-restore-exit "$?" 0
	wid=$(sed -n 's/^LastRestoreId: \({[0-9A-F-]*}\).*/\1/p' "$w/wr.out")
	check wvm-ntfsfix ntfsfix -n "$w/wcur.img"
	hives_from "$w/wcur.img" WR wvm-regfinfo-loads
	R=$w/WR_SYSTEM
	rules=$( (kntr "$w/S1709"; kntr "$w/WCUR_SYSTEM") | sort -u)
	has wvm-kntr-key-rule "$rules" 'MountedDevices\'
	has wvm-kntr-value-rule "$rules" 'Session Manager\PendingFileRenameOperations'
	has wvm-kntr-merge-rule "$rules" 'CurrentControlSet\Services\*'
	# key form: the current machine's MountedDevices, whole
	is wvm-kntr-key-form "$(export_key "$R" MountedDevices)" "$(export_key "$w/WCUR_SYSTEM" MountedDevices)"
	[ "$(export_key "$w/WCUR_SYSTEM" MountedDevices)" != "$(export_key "$w/S1709" MountedDevices)" ] &&
		ok "wvm: the current MountedDevices differs from the backup's" || bad wvm-md-setup "the same"
	# value form: the current machine's PendingFileRenameOperations
	is wvm-kntr-value-form "$(hivexget "$R" 'ControlSet001\Control\Session Manager' PendingFileRenameOperations 2>&1)" \
		"$(hivexget "$w/WCUR_SYSTEM" 'ControlSet001\Control\Session Manager' PendingFileRenameOperations 2>&1)"
	# merge form (VSS): a service only the current machine has comes with
	# its subkey; of a Start both have, the lower
	is wvm-kntr-merge-new-service "$(hivexget "$R" 'ControlSet001\Services\SrTestSvc\Parameters' Where 2>&1)" current
	for svc in Beep cdrom; do
		b=$(hivexget "$w/S1709" "ControlSet001\\Services\\$svc" Start 2>&1)
		c=$(hivexget "$w/WCUR_SYSTEM" "ControlSet001\\Services\\$svc" Start 2>&1)
		want=$b; [ "$c" -lt "$b" ] 2>/dev/null && want=$c
		[ "$b" != "$c" ] && ok "wvm: $svc Start was changed ($b -> $c)" || bad "wvm-$svc-setup" "$b / $c"
		is "wvm-kntr-merge-start-$svc" "$(hivexget "$R" "ControlSet001\\Services\\$svc" Start 2>&1)" "$want"
	done
	is wvm-not-kept-computername "$(hivexget "$R" 'ControlSet001\Control\ComputerName\ComputerName' ComputerName 2>&1)" \
		"$(hivexget "$w/S1709" 'ControlSet001\Control\ComputerName\ComputerName' ComputerName 2>&1)"
	# LastRestoreId: the printed one, a GUID, neither the current one nor the backup's
	WL=$(hivexget "$R" 'ControlSet001\Control\BackupRestore\SystemStateRestore' LastRestoreId 2>&1)
	is wvm-last-restore-id-printed "$WL" "$wid"
	cur_id=$(hivexget "$w/WCUR_SYSTEM" 'ControlSet001\Control\BackupRestore\SystemStateRestore' LastRestoreId 2>&1)
	src_id=$(hivexget "$w/S1709" 'ControlSet001\Control\BackupRestore\SystemStateRestore' LastRestoreId 2>/dev/null)
	guid "$WL" && [ "$WL" != "$cur_id" ] && [ "$WL" != "$src_id" ] &&
		ok "wvm: LastRestoreId $WL is new" || bad wvm-id "'$WL' (current '$cur_id', backup '$src_id')"
	# the other hives: the backup's
	for h in SOFTWARE SAM SECURITY DEFAULT; do
		is "wvm-replaced-$h" "$(hivexregedit --export "$w/WR_$h" '\' | md5sum)" "$(hivexregedit --export "$w/WS_$h" '\' | md5sum)"
	done
	# no hibernation image, no page file, nothing a rule names
	: >"$w/wvm.res"
	if ntfs-3g -o ro "$w/wcur.img" "$mnt"; then
		for f in hiberfil.sys pagefile.sys; do
			[ ! -e "$mnt/$f" ] && echo "PASS $f" || echo "FAIL $f"
		done >>"$w/wvm.res"
		printf '%s\n' "$WINVOL_FNTB" | while IFS='|' read -r c f; do
			hivexget "$w/S1709" "$FB" "$c" >/dev/null 2>&1 || continue
			[ ! -e "$mnt/$f" ] && echo "PASS $f" || echo "FAIL $f ($c)"
		done >>"$w/wvm.res"
		um
	else
		bad wvm-mount "ntfs-3g failed"
	fi
	while read -r r f; do
		[ "$r" = PASS ] && ok "wvm: gone: $f" || bad "wvm-left" "$f is on the target"
	done <"$w/wvm.res"
	[ "$(grep -c . "$w/wvm.res")" -gt 2 ] || bad wvm-fntb "no rule named a file of the volume"
	# SIS (reparse data, holes, store files and their ACL) and EFS (raw
	# bytes, $EFS) as on the source
	sis_efs_digest "$w/wcur.img" "$w/wv.img.sis" "$w/wv.img.efs" >"$w/wcur.digest"
	is wvm-sis-efs-intact "$(diff "$w/wv.digest" "$w/wcur.digest" && echo same)" same
	has wvm-digest-has-store "$(cat "$w/wv.digest")" "store /SIS Common Store/"

	# the same set onto an empty NTFS volume: what could not be kept is said
	rm -f "$w/wempty.img"; truncate -s 160M "$w/wempty.img"
	mkntfs -Q -F -q "$w/wempty.img" >/dev/null 2>&1
	"$S" restore -t "$T" --system-state --to "v0=$w/wempty.img" >"$w/we.out" 2>&1
	is wvm-empty-exit "$?" 0
	has wvm-empty-says-no-windows "$(cat "$w/we.out")" "holds no Windows"
	has wvm-empty-says-drive-letters "$(cat "$w/we.out")" "drive letters (SYSTEM\\MountedDevices)"
	has wvm-empty-says-hardware "$(cat "$w/we.out")" "hardware keys"
	ntfscat "$w/wempty.img" "/$CFG/SYSTEM" >"$w/WE_SYSTEM" 2>/dev/null
	check wvm-empty-regfinfo regfinfo "$w/WE_SYSTEM"
	check wvm-empty-ntfsfix ntfsfix -n "$w/wempty.img"
	sis_efs_digest "$w/wempty.img" "$w/wv.img.sis" "$w/wv.img.efs" >"$w/we.digest"
	is wvm-empty-sis-efs "$(diff "$w/wv.digest" "$w/we.digest" && echo same)" same

	wv_restore wv1709 "$w/wv.img" "$w/S1709"
	has wv1709-warns "$(cat "$w/wv.out")" "SYSTEM is dirty and its logs are not in the set"
else
	bad winvol "winvol_make failed"
fi
# SYSTEM_B's real logs do not replay (a sequence gap): the hive layer's
# rule refuses to write such a hive, so the system-state restore is refused
# before anything is written, and says what a plain restore would do
if WINVOL_MAIN=b winvol_make "$w/wvb.img" 96; then
	exits wvb-backup 0 "0 failed" "$S" backup -t "$T" --system-state "$w/wvb.img"
	cp "$w/wvb.img" "$w/wvbc.img"
	refuses wvb-unreplayable-refused "SYSTEM is dirty \(sequence [0-9]+/[0-9]+\) and its logs in the set do not replay: .*nothing was written" \
		"$S" restore -t "$T" --system-state --to "v0=$w/wvbc.img"
	check wvb-target-unchanged cmp "$w/wvb.img" "$w/wvbc.img"
else
	bad winvol-b "winvol_make WINVOL_MAIN=b failed"
fi
finish
