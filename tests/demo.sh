#!/bin/sh
# demo.sh - the README's first command: show the newest end-to-end capability.
#
# The tape layer (a drive self-test on a fresh virtual tape, a round trip of
# mt-style operations with GNU tar writing and reading through the tape), then
# the volume layer: a partitioned disk image found by libblkid, a tree copied
# onto its unmounted ext4 and NTFS partitions, a short name, and a registry
# hive edited inside the NTFS partition, each checked with e2fsck, ntfsls and
# ntfscat; then delayed operations: a native queue on the ext4 partition, and
# pending renames plus an srdelayed file on the NTFS one, found through a
# SYSTEM hive whose MountedDevices names that GPT partition; last, both
# partitions backed up to a virtual tape as one set, wiped with mkfs, and
# restored from the tape, checked with e2fsck, debugfs, ntfsfix and ntfsls
# (and the kernel's ext4 where loop mounts work); then the Windows
# partition as system state: backed up with its FilesNotToBackup rule (the
# page file stays out), changed (a new drive letter, a new page file) and
# restored with --system-state (KeysNotToRestore keeps the drive letter, a
# new LastRestoreId, the stale page file deleted), checked with hivexget,
# ntfsls and ntfsfix.  Files are left in build/demo for a look.
#
# It needs nothing beside the clone: the hives are made here, empty by
# tests/lib/mkhive.py and filled by hivexregedit (libwin-hivex-perl).  The
# checks print PASS/FAIL lines (tests/lib/check.sh); a command of the demo
# that fails stops it with a FAIL line.
set -eu
SR=${1:-build/sysrecover}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/check.sh"
D=$(cd "$(dirname "$SR")" && pwd)/demo
rm -rf "${D:?}"
mkdir -p "$D/src/etc" "$D/out"
T=$D/demo.tap
step() { printf '\n\033[1m== %s\033[0m\n' "$*" 2>/dev/null || printf '\n== %s\n' "$*"; }
# run CMD...: show it, run it; a failure ends the demo.
run() {
	printf '$ %s\n' "$*"
	"$@" || { _rc=$?; bad "demo" "'$*' exited $_rc"; exit 1; }
}
# quiet CMD...: the same without showing it (setup steps).
quiet() { "$@" || { _rc=$?; bad "demo" "'$*' exited $_rc"; exit 1; }; }
need sfdisk mke2fs mkntfs e2fsck debugfs ntfsls ntfscat hivexregedit hivexget python3 tar
[ "$fails" -eq 0 ] || exit 1

step "1. Drive self-test on a fresh 8 MB virtual tape (SIMH image $T)"
run "$SR" tape --capacity 8M --early-warning 256k "$T" test

step "2. Round trip: two tar archives as two tape files, 10240-byte records"
rm -f "$T" "$T.state"
# Generated, not copied from /etc, so the layout is the same on every machine:
# one.tar is 3 records of 10240 bytes, so byte 20000 lies inside file 0.
seq -f 'line %g of a small configuration file' 1 700 >"$D/src/etc/config.txt"
head -c 1000000 /dev/urandom >"$D/src/random.bin"
seq 1 20000 >"$D/src/numbers.txt"
(cd "$D/src" && sha256sum random.bin numbers.txt >"$D/sums")
quiet tar -C "$D/src" -cf "$D/one.tar" etc
quiet tar -C "$D/src" -cf "$D/two.tar" random.bin numbers.txt
run "$SR" tape --capacity 8M --record-size 10240 "$T" write "$D/one.tar" weof 1 \
	write "$D/two.tar" weof 1 status

step "3. Position like mt: rewind, forward one file, where are we?"
run "$SR" tape "$T" rewind fsf 1 status tell

step "4. Read the second file back and let GNU tar check and unpack it"
# (into a file first: a pipe would hide a failing read behind tar's status)
run "$SR" tape "$T" read "$D/two.read"
run tar -C "$D/out" -xvf "$D/two.read"
check tar-contents-exact sh -c 'cd "$1" && sha256sum -c "$2"' sh "$D/out" "$D/sums"

step "5. Back over two filemarks and forward over one: the start of file 1 again"
run "$SR" tape "$T" bsf 2 fsf 1 tell
quiet "$SR" tape "$T" rewind read "$D/one.back"
quiet "$SR" tape "$T" read "$D/two.back"
check archive-1-read-back cmp "$D/one.tar" "$D/one.back"
check archive-2-read-back cmp "$D/two.tar" "$D/two.back"

step "6. A damaged image is reported with the byte offset, and the rest stays readable"
[ "$(stat -c %s "$D/one.tar")" -ge 30720 ] || { bad demo "one.tar too small"; exit 1; }
head -c 20000 "$T" >"$D/damaged.tap"
printf '$ %s tape %s read /dev/null\n' "$SR" "$D/damaged.tap"
refuses damage-reported 'byte offset' "$SR" tape "$D/damaged.tap" read /dev/null

step "7. Volumes without mounting: a partitioned disk image with ext4 and NTFS"
IMG=$D/disk.img
truncate -s 96M "$IMG"
printf 'label: gpt\nstart=1M, size=40M, type=L\nstart=41M, size=40M, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\n' >"$D/layout"
quiet sfdisk -q "$IMG" <"$D/layout" >/dev/null
truncate -s 40M "$D/p1" "$D/p2"
quiet mke2fs -q -F -t ext4 -L demo-ext4 "$D/p1"
quiet mkntfs -q -F -Q -L DEMO-NTFS "$D/p2" >/dev/null 2>&1
quiet dd if="$D/p1" of="$IMG" bs=1M seek=1 conv=notrunc,sparse status=none
quiet dd if="$D/p2" of="$IMG" bs=1M seek=41 conv=notrunc,sparse status=none
run "$SR" volumes "$IMG"

# extract PART: partition PART of the disk image into $D/pPART, for the
# independent checkers (which read a bare filesystem)
extract() { quiet dd if="$IMG" of="$D/p$1" bs=1M skip=$((1 + 40 * ($1 - 1))) count=40 status=none; }

step "8. Copy a tree onto both partitions through libext2fs and libntfs-3g, then check with e2fsck and ntfsls"
cp "$D/src/numbers.txt" "$D/src/Long Numbers List.txt"
run "$SR" fs "$IMG@1" copy-in "$D/src" /
run "$SR" fs "$IMG@2" copy-in "$D/src" /
run "$SR" fs "$IMG@2" shortname "/Long Numbers List.txt" LONGNU~1.TXT
run "$SR" fs "$IMG@2" ls /
extract 1
extract 2
check e2fsck-clean-after-copy e2fsck -fn "$D/p1"
printf '$ ntfsls -x -p / (partition 2: the 8.3 name we set)\n'
out ls2 ntfsls -x -p / "$D/p2" && { printf '%s\n' "$ls2" | grep -i long || true; }
has ntfs-short-name "$ls2" LONGNU~1.TXT
check ntfscat-random.bin-identical sh -c 'ntfscat "$1" /random.bin | cmp - "$2"' sh "$D/p2" "$D/src/random.bin"

step "9. A registry hive inside the NTFS partition, edited offline (LastRestoreId)"
# A SYSTEM hive made here: an empty regf file (tests/lib/mkhive.py) given
# the keys every SYSTEM hive has at its root (Select, ControlSet001) by
# hivexregedit; set-restore-id refuses any other kind of hive.
HIVE=$D/empty.hive
quiet python3 "$HERE/lib/mkhive.py" "$HIVE" SYSTEM
printf 'Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\r\n"Current"=dword:00000001\r\n"Default"=dword:00000001\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001]\r\n\r\n' >"$D/sys9.reg"
quiet hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SYSTEM' "$HIVE" "$D/sys9.reg"
"$SR" fs "$IMG@2" mkdir /Windows >/dev/null 2>&1 || true
quiet "$SR" fs "$IMG@2" put "$HIVE" /Windows/SYSTEM
run "$SR" hive set-restore-id --volume "$IMG@2" /Windows/SYSTEM
run "$SR" hive info --volume "$IMG@2" /Windows/SYSTEM

step "10. Delayed operations on the unmounted ext4: queue, list, apply (srdelayed)"
run "$SR" srdelayed add -V "$IMG@1" move /random.bin /etc/random.bin
run "$SR" srdelayed add -V "$IMG@1" delete /numbers.txt
run "$SR" srdelayed add -V "$IMG@1" shortname /etc/config.txt CONFIG~1.TXT
run "$SR" srdelayed list "$IMG@1"
# exit 1: ext has no short names, a recorded failure the queue goes past
printf '$ %s srdelayed apply %s\n' "$SR" "$IMG@1"
rc=0
"$SR" srdelayed apply "$IMG@1" || rc=$?
is ext4-apply-exit-1 "$rc" 1
extract 1
printf '$ debugfs -R "ls /etc" (partition 1)\n'
out etc1 debugfs -R 'ls /etc' "$D/p1" && printf '%s\n' "$etc1"
has ext4-moved-in "$etc1" random.bin
check e2fsck-clean-after-apply e2fsck -fn "$D/p1"
printf '$ debugfs -R "cat /var/lib/sysrecover/srdelayed.queue.applied"\n'
out applied debugfs -R 'cat /var/lib/sysrecover/srdelayed.queue.applied' "$D/p1" &&
	printf '%s\n' "$applied"
has ext4-queue-applied "$applied" SC=

step "11. Windows: pending renames and an srdelayed file, found through the hive's MountedDevices"
# C: is partition 2, named as Windows names a GPT partition.
out g sfdisk --part-uuid "$IMG" 2 || exit 1
quiet python3 - "$g" "$D/sys.reg" <<'PY'
import sys, uuid
g, out = sys.argv[1], sys.argv[2]
hx = lambda b: ",".join("%02x" % x for x in b)
msz = lambda *s: hx(("".join(x + "\0" for x in s) + "\0").encode("utf-16-le"))
open(out, "w").write("\r\n".join([
    "Windows Registry Editor Version 5.00", "",
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]", '"Current"=dword:00000001',
    '"Default"=dword:00000001', "",
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\MountedDevices]",
    '"\\\\DosDevices\\\\C:"=hex:' + hx(b"DMIO:ID:" + uuid.UUID(g).bytes_le), "",
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001]", "",
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control]", "",
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\Session Manager]",
    '"PendingFileRenameOperations"=hex(7):' + msz(
        "\\??\\C:\\numbers.txt", "",
        "\\??\\C:\\etc\\config.txt", "!\\??\\C:\\Long Numbers List.txt"),
    '"SetupExecute"=hex(7):' + msz(
        "C:\\Windows\\System32\\srdelayed.exe \\??\\C:\\Delayed%20Ops"), "", ""]))
PY
cp "$HIVE" "$D/SYSTEM"; chmod 644 "$D/SYSTEM"
quiet hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SYSTEM' "$D/SYSTEM" "$D/sys.reg"
quiet python3 -c 'import sys; open(sys.argv[1], "wb").write(("MoveFile\0\\??\\C:\\random.bin\0\\??\\C:\\etc\\random.bin\0NotExecuted\0SetFileShortName\0RANDOM~1.BIN\0\\??\\C:\\etc\\random.bin\0NotExecuted\0\0").encode("utf-16-le"))' "$D/ops"
for d in /Windows/System32 /Windows/System32/config; do
	"$SR" fs "$IMG@2" mkdir "$d" >/dev/null 2>&1 || true
done
quiet "$SR" fs "$IMG@2" put "$D/SYSTEM" /Windows/System32/config/SYSTEM
quiet "$SR" fs "$IMG@2" put "$HIVE" /Windows/System32/config/SOFTWARE
quiet "$SR" fs "$IMG@2" put "$D/ops" "/Delayed Ops"
run "$SR" hive pending --volume "$IMG@2" /Windows/System32/config/SYSTEM
run "$SR" srdelayed apply "$IMG@2"
extract 2
printf '$ ntfsls -p /etc; ntfsls -x -p /etc (partition 2: moved in, and its new 8.3 name)\n'
out etc2 ntfsls -p /etc "$D/p2" && printf '%s\n' "$etc2"
has ntfs-moved-in "$etc2" random.bin
out etc2x ntfsls -x -p /etc "$D/p2" && { printf '%s\n' "$etc2x" | grep -v '^\.' || true; }
has ntfs-new-short-name "$etc2x" RANDOM~1.BIN
printf '$ ntfscat "/Long Numbers List.txt" (replaced by config.txt)\n'
out long ntfscat "$D/p2" "/Long Numbers List.txt" && printf '%s\n' "$long" | head -n 2
has ntfs-replaced "$long" "line 1 of a small configuration file"
quiet ntfscat "$D/p2" /Windows/System32/config/SOFTWARE >"$D/SOFTWARE.after"
printf '$ hivexget SOFTWARE ...\\SystemRestore RestoreStatusResult\n'
out rsr hivexget "$D/SOFTWARE.after" 'Microsoft\Windows NT\CurrentVersion\SystemRestore' RestoreStatusResult &&
	printf '%s\n' "$rsr"

step "12. Back up both partitions as one set on a new tape, wipe them, restore them from the tape"
T2=$D/backup.tap
rm -f "$T2" "$T2.idx" "$T2.state"
extract 1
extract 2
mkdir -p "$D/before1" "$D/after1"
quiet debugfs -R "rdump / $D/before1" "$D/p1" 2>/dev/null
out before2 ntfsls -R -p / "$D/p2"
run "$SR" backup -t "$T2" "$IMG@1" "$IMG@2"
run "$SR" list -t "$T2"
run "$SR" verify -t "$T2"
printf '$ mke2fs; mkntfs  (both partitions wiped: new, empty filesystems)\n'
quiet mke2fs -q -F -t ext4 -L demo-ext4 "$D/p1"
quiet mkntfs -q -F -Q -L DEMO-NTFS "$D/p2" >/dev/null 2>&1
quiet dd if="$D/p1" of="$IMG" bs=1M seek=1 conv=notrunc status=none
quiet dd if="$D/p2" of="$IMG" bs=1M seek=41 conv=notrunc status=none
run "$SR" fs "$IMG@1" ls /
run "$SR" restore -t "$T2" --to "v0=$IMG@1" --to "v1=$IMG@2"
extract 1
extract 2
check e2fsck-clean-after-restore e2fsck -fn "$D/p1"
check ntfsfix-clean-after-restore ntfsfix -n "$D/p2"
quiet debugfs -R "rdump / $D/after1" "$D/p1" 2>/dev/null
check ext4-tree-restored-exactly diff -r "$D/before1" "$D/after1"
out after2 ntfsls -R -p / "$D/p2"
is ntfs-tree-restored "$after2" "$before2"
check ntfs-data-restored sh -c 'ntfscat "$1" /etc/random.bin | cmp - "$2"' sh "$D/p2" "$D/src/random.bin"
if mount -o ro,loop "$D/p1" "$D/out" 2>/dev/null; then
	printf '$ mount -o ro,loop (the kernel reads the restored ext4)\n'
	check kernel-ext4-reads-it cmp "$D/out/etc/random.bin" "$D/src/random.bin"
	umount "$D/out"
fi

step "13. Windows system state: back up the Windows partition, change the machine, restore with the backup rules"
# The partition's SYSTEM gets the backup rules Windows keeps: FilesNotToBackup
# leaves the page file out, KeysNotToRestore keeps the machine's own drive
# letters (MountedDevices) on restore.
quiet python3 - "$D/rules.reg" <<'PY'
import sys
hx = lambda b: ",".join("%02x" % x for x in b)
msz = lambda *s: hx(("".join(x + "\0" for x in s) + "\0").encode("utf-16-le"))
k = "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\BackupRestore\\"
open(sys.argv[1], "w").write("\r\n".join([
    "Windows Registry Editor Version 5.00", "",
    k[:-1] + "]", "",
    k + "FilesNotToBackup]", '"Memory Page File"=hex(7):' + msz("\\Pagefile.sys"), "",
    k + "KeysNotToRestore]", '"Mount Manager"=hex(7):' + msz("MountedDevices\\"), "", ""]))
PY
extract 2
quiet ntfscat "$D/p2" /Windows/System32/config/SYSTEM >"$D/SYSTEM13"
quiet hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SYSTEM' "$D/SYSTEM13" "$D/rules.reg"
quiet "$SR" fs "$IMG@2" rm /Windows/System32/config/SYSTEM
quiet "$SR" fs "$IMG@2" put "$D/SYSTEM13" /Windows/System32/config/SYSTEM
quiet head -c 65536 /dev/urandom >"$D/pagefile.sys"
quiet "$SR" fs "$IMG@2" put "$D/pagefile.sys" /pagefile.sys
T3=$D/system-state.tap
rm -f "$T3" "$T3.idx" "$T3.state"
run "$SR" backup -t "$T3" --system-state "$IMG@2"
out l13 "$SR" list -t "$T3" --set 1
case $l13 in *pagefile.sys*) bad demo-pagefile-left-out "pagefile.sys is in the set" ;; *) ok demo-pagefile-left-out ;; esac
# The machine changes: a new drive letter; its page file is still there.
printf 'Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\MountedDevices]\r\n"\\\\DosDevices\\\\D:"=hex:44,4d,49,4f\r\n\r\n' >"$D/cur.reg"
quiet hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SYSTEM' "$D/SYSTEM13" "$D/cur.reg"
quiet "$SR" fs "$IMG@2" rm /Windows/System32/config/SYSTEM
quiet "$SR" fs "$IMG@2" put "$D/SYSTEM13" /Windows/System32/config/SYSTEM
run "$SR" restore -t "$T3" --system-state --to "v0=$IMG@2"
extract 2
check ntfsfix-clean-after-system-state ntfsfix -n "$D/p2"
quiet ntfscat "$D/p2" /Windows/System32/config/SYSTEM >"$D/SYSTEM.restored"
printf '$ hivexget SYSTEM MountedDevices (the machine'"'"'s own D:, kept by KeysNotToRestore)\n'
out md hivexget "$D/SYSTEM.restored" MountedDevices && printf '%s\n' "$md"
has kntr-kept-drive-letter "$md" 'DosDevices\\D:'
out lri hivexget "$D/SYSTEM.restored" 'ControlSet001\Control\BackupRestore\SystemStateRestore' LastRestoreId &&
	printf 'LastRestoreId in the restored hive: %s\n' "$lri"
printf '%s\n' "$lri" | grep -qE '^\{[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}\}$' &&
	ok last-restore-id-set || bad last-restore-id-set "'$lri'"
out root13 ntfsls -p / "$D/p2"
case $root13 in *pagefile.sys*) bad demo-stale-pagefile-deleted "still there" ;; *) ok demo-stale-pagefile-deleted ;; esac

if ! finish; then
	printf '\ndemo FAILED: %s check(s) failed, see the FAIL lines above\n' "$fails"
	exit 1
fi
printf '\ndemo OK: self-test passed, tar round trip exact, damage reported, volumes found,\n'
printf 'trees copied onto unmounted ext4 and NTFS and checked by e2fsck and ntfs-3g tools,\n'
printf 'queued moves, deletes and short names applied to both and checked the same way,\n'
printf 'both partitions backed up to tape as one set, wiped, and restored exactly,\n'
printf 'and the Windows partition restored as system state by Windows'"'"' backup rules.\n'
