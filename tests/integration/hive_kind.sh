#!/bin/sh
# hive_kind.sh - which hive a file is, the SYSTEM-only subcommands refusing
# the others, `hive restore`, and the volume and --json options of `hive`.
# Hives are built with tests/lib/mkhive.py + hivexregedit (shaped like SAM,
# SOFTWARE, NTUSER.DAT, SECURITY and SYSTEM); results are checked with
# hivexget, ntfscat, ntfsls, ntfsfix -n, cmp and md5sum.  Part 2 uses the
# real Windows hives (testdata hives) and SKIPs without them.
#   hive_kind.sh SYSRECOVER [SYSRECOVER_ASAN]
set -u
S=$1
[ -n "${2:-}" ] && [ -x "$2" ] && S=$2
L=$(cd "$(dirname "$0")/../lib" && pwd)
. "$L/check.sh"
need python3 hivexregedit hivexget mkntfs ntfscat ntfsls ntfsfix md5sum cmp xz
workdir hivekind

# mk OUT KEY... : a hive holding those keys (parents first), one value each.
mk() {
	_o=$1; shift
	python3 "$L/mkhive.py" "$_o" || { bad mkhive "$_o"; return 1; }
	{
		echo 'Windows Registry Editor Version 5.00'
		for k in "$@"; do
			echo
			printf '[\\%s]\n' "$k"
			echo '"v"=dword:00000001'
		done
		echo
	} >"$w/mk.reg"
	hivexregedit --merge "$_o" "$w/mk.reg" || bad mkhive "hivexregedit $_o"
}
mk "$w/SYSTEM" Select ControlSet001 ControlSet001\\Control \
	'ControlSet001\Control\Session Manager' MountedDevices
mk "$w/SAM" SAM SAM\\Domains SAM\\Domains\\Account
mk "$w/SOFTWARE" Microsoft 'Microsoft\Windows NT' 'Microsoft\Windows NT\CurrentVersion' Classes
mk "$w/NTUSER.DAT" Software Environment 'Control Panel' Console
mk "$w/SECURITY" Policy RXACT SAM
mk "$w/EMPTY"

# ==== 1. kinds, refusals ======================================================
for k in SYSTEM SAM SOFTWARE NTUSER.DAT SECURITY; do
	out inf "$S" hive info "$w/$k" && has "info-kind-$k" "$inf" "kind:         $k"
done
out inf "$S" hive info "$w/EMPTY" && has info-kind-unknown "$inf" "kind:         unknown"
out j "$S" hive info --json "$w/SAM" &&
	is info-json "$(printf '%s' "$j" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["kind"], j["dirty"], j["root_keys"])')" "SAM False 1"
# Each SYSTEM-only subcommand on each other hive: exit 2, the kind named,
# the file byte for byte as it was.
for k in SAM SOFTWARE NTUSER.DAT SECURITY EMPTY; do
	sum=$(md5sum <"$w/$k")
	case $k in
	EMPTY) kw="is not a SYSTEM hive \\(none of the keys a SYSTEM hive has at its root[^)]*\\)" ;;
	NTUSER.DAT) kw="is an NTUSER.DAT hive, not a SYSTEM hive" ;;
	*) kw="is a $k hive, not a SYSTEM hive" ;;
	esac
	exits "pending-refuses-$k" 2 "'$w/$k' $kw: pending renames" "$S" hive pending "$w/$k"
	exits "pending-clear-refuses-$k" 2 "$kw" "$S" hive pending --clear "$w/$k"
	exits "set-restore-id-refuses-$k" 2 "$kw: LastRestoreId lives in SYSTEM" "$S" hive set-restore-id "$w/$k"
	exits "mounted-refuses-$k" 2 "$kw: MountedDevices" "$S" hive mounted "$w/$k"
	exits "fntb-refuses-$k" 2 "$kw: FilesNotToBackup" "$S" hive files-not-to-backup "$w/$k"
	exits "merge-current-refuses-$k" 2 "$kw: KeysNotToRestore" \
		"$S" hive merge --current "$w/$k" --restored "$w/SYSTEM" -o "$w/m.out"
	exits "merge-restored-refuses-$k" 2 "$kw: KeysNotToRestore" \
		"$S" hive merge --current "$w/SYSTEM" --restored "$w/$k" -o "$w/m.out"
	is "refused-unchanged-$k" "$(md5sum <"$w/$k")" "$sum"
done
check merge-wrote-nothing [ ! -e "$w/m.out" ]
exits fntb-software-refuses-sam 2 "is a SAM hive, not a SOFTWARE hive" \
	"$S" hive files-not-to-backup --software "$w/SAM" "$w/SYSTEM"
check system-pending-accepted "$S" hive pending "$w/SYSTEM"
check system-mounted-accepted "$S" hive mounted "$w/SYSTEM"
check system-fntb-accepted "$S" hive files-not-to-backup --software "$w/SOFTWARE" "$w/SYSTEM"

# ==== 2. hive restore ==========================================================
# An NTFS volume with /Windows/System32/config/SYSTEM (an old hive) and its
# logs; the source is a different, valid SYSTEM hive.
mk "$w/OLD" Select ControlSet001 ControlSet001\\Control
mk "$w/NEW" Select ControlSet001 ControlSet001\\Control ControlSet001\\Services
I=$w/ntfs.img
C=/Windows/System32/config
mkimg() {
	rm -f "$I"; truncate -s 32M "$I"
	mkntfs -q -F -Q "$I" >/dev/null 2>&1 || bad mkntfs "$I"
	"$S" fs "$I" mkdir -p "$C" >/dev/null 2>&1 || "$S" fs "$I" mkdir "$C" >/dev/null 2>&1 ||
		{ "$S" fs "$I" mkdir /Windows && "$S" fs "$I" mkdir /Windows/System32 &&
		  "$S" fs "$I" mkdir "$C"; } || bad mkimg mkdir
	"$S" fs "$I" put "$w/OLD" "$C/SYSTEM" || bad mkimg put
	printf 'log1' >"$w/l1"; printf 'log2' >"$w/l2"
	"$S" fs "$I" put "$w/l1" "$C/SYSTEM.LOG1" && "$S" fs "$I" put "$w/l2" "$C/SYSTEM.LOG2" ||
		bad mkimg logs
}
names() { out "$1" ntfsls -p "$C" "$I"; }
mkimg
out r "$S" hive restore -V "$I" "$w/NEW" "$C/SYSTEM" && has restore-says "$r" "restored SYSTEM hive"
check restore-bytes sh -c 'ntfscat "$1" "$2" >"$3" && cmp "$3" "$4"' - "$I" "$C/SYSTEM" "$w/got" "$w/NEW"
check restore-hivexget hivexget "$w/got" ControlSet001\\Services v
names l && is restore-logs-gone "$(printf '%s\n' "$l" | grep -c 'LOG\|sysrecover')" 0
check restore-ntfsfix ntfsfix -n "$I"
# --backup: the old hive as SYSTEM.bak, its logs as SYSTEM.bak.LOGn
mkimg
check restore-backup "$S" hive restore --backup --volume "$I" "$w/NEW" "$C/SYSTEM"
check restore-backup-old-kept sh -c 'ntfscat "$1" "$2" >"$3" && cmp "$3" "$4"' - "$I" "$C/SYSTEM.bak" "$w/bak" "$w/OLD"
check restore-backup-new sh -c 'ntfscat "$1" "$2" >"$3" && cmp "$3" "$4"' - "$I" "$C/SYSTEM" "$w/got" "$w/NEW"
names l && is restore-backup-names "$(printf '%s\n' "$l" | grep -v '^\.' | sort | tr '\n' ' ')" \
	"SYSTEM SYSTEM.bak SYSTEM.bak.LOG1 SYSTEM.bak.LOG2 "
check restore-backup-ntfsfix ntfsfix -n "$I"
# refused: nothing on the volume changes
mkimg
refused() { # name pattern source [dest]
	sum=$(md5sum <"$I")
	exits "$1" 2 "$2" "$S" hive restore -V "$I" "$3" "${4:-$C/SYSTEM}"
	is "$1-unchanged" "$(md5sum <"$I")" "$sum"
}
cp "$w/NEW" "$w/CORRUPT"
dd if=/dev/urandom of="$w/CORRUPT" bs=1 seek=4200 count=600 conv=notrunc 2>/dev/null
refused restore-corrupt-refused "damaged|cannot open hive|corrupt" "$w/CORRUPT"
head -c 3000 "$w/NEW" >"$w/SHORT"
refused restore-short-refused "too short|cannot open hive" "$w/SHORT"
# dirty (sequence numbers differ), no logs beside it
python3 - "$w/NEW" "$w/DIRTY" <<'EOF'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
s = struct.unpack_from('<I', b, 4)[0]
struct.pack_into('<I', b, 4, s + 1)
x = 0
for i in range(0, 508, 4):
    x ^= struct.unpack_from('<I', b, i)[0]
struct.pack_into('<I', b, 508, x)
open(sys.argv[2], 'wb').write(b)
EOF
refused restore-dirty-refused "is dirty .* has no logs beside it" "$w/DIRTY"
refused restore-wrong-kind "'$w/SAM' is SAM hive|is where a SYSTEM hive lives" "$w/SAM"
refused restore-unknown-kind "not a known kind of hive" "$w/EMPTY"
# a host file as DEST, no volume
cp "$w/OLD" "$w/host-SYSTEM"; printf 'x' >"$w/host-SYSTEM.LOG1"
check restore-host-file "$S" hive restore "$w/NEW" "$w/host-SYSTEM"
check restore-host-bytes cmp "$w/host-SYSTEM" "$w/NEW"
check restore-host-log-gone [ ! -e "$w/host-SYSTEM.LOG1" ]
out j "$S" hive restore --json "$w/NEW" "$w/host-SYSTEM" &&
	is restore-json "$(printf '%s' "$j" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["kind"], j["replaced"])')" "SYSTEM True"

# ==== 3. the command line ========================================================
for c in info pending set-restore-id restore; do
	out h "$S" hive "$c" --help && has "help-$c-names-V" "$h" "-V VOL"
	exits "unknown-option-$c" 64 "bad command line" "$S" hive "$c" --no-such-option "$w/SYSTEM"
done
out h "$S" hive --help && has help-lists-restore "$h" "hive restore"
exits restore-one-arg 64 "bad command line" "$S" hive restore "$w/NEW"
cp "$w/SYSTEM" "$w/S2"
mkimg
"$S" fs "$I" put "$w/SYSTEM" /S2 >/dev/null || bad put-s2 put
out a "$S" hive info -V "$I" /S2 && out b "$S" hive info --volume "$I" /S2 && is info-V-same-as-volume "$a" "$b"
check pending-V "$S" hive pending -V "$I" /S2
out a "$S" hive mounted --json -V "$I" /S2 && out b "$S" hive mounted --json "$w/SYSTEM" && is mounted-V "$a" "$b"
out a "$S" hive files-not-to-backup -V "$I" /S2 && out b "$S" hive files-not-to-backup "$w/SYSTEM" && is fntb-V "$a" "$b"
"$S" fs "$I" put "$w/SAM" /SAM >/dev/null || bad put-sam put
exits mounted-V-refuses-sam 2 "is a SAM hive, not a SYSTEM hive" "$S" hive mounted -V "$I" /SAM
for c in mounted files-not-to-backup; do
	out h "$S" hive "$c" --help && has "help-$c-names-V" "$h" "-V VOL"
done

# ==== 4. the real Windows hives =================================================
testdata hives
for f in SYSTEM SAM SECURITY NTUSER.DAT SYSTEM_WIN_10_1709; do
	xz -dc "$TD/$f.xz" >"$w/real-$f" || bad "xz-$f" "cannot unpack"
done
for k in SAM SECURITY NTUSER.DAT; do
	out inf "$S" hive info "$w/real-$k" && has "real-info-kind-$k" "$inf" "kind:         $k"
	sum=$(md5sum <"$w/real-$k")
	exits "real-pending-refuses-$k" 2 "hive, not a SYSTEM hive" "$S" hive pending "$w/real-$k"
	exits "real-set-restore-id-refuses-$k" 2 "hive, not a SYSTEM hive" "$S" hive set-restore-id "$w/real-$k"
	is "real-refused-unchanged-$k" "$(md5sum <"$w/real-$k")" "$sum"
done
for k in SYSTEM SYSTEM_WIN_10_1709; do
	out inf "$S" hive info "$w/real-$k" && has "real-info-kind-$k" "$inf" "kind:         SYSTEM"
	check "real-pending-accepted-$k" "$S" hive pending "$w/real-$k"
	check "real-mounted-accepted-$k" "$S" hive mounted "$w/real-$k"
done
# a real SYSTEM restored into a volume, read back by hivexget
mkimg
check real-restore "$S" hive restore -V "$I" "$w/real-SYSTEM" "$C/SYSTEM"
check real-restore-bytes sh -c 'ntfscat "$1" "$2" >"$3" && cmp "$3" "$4"' - "$I" "$C/SYSTEM" "$w/got" "$w/real-SYSTEM"
check real-restore-hivexget hivexget "$w/got" Select Current
check real-restore-ntfsfix ntfsfix -n "$I"
# a dirty source with its logs beside it: the logs are replayed into what is
# installed (clean), the source is left as it was.  SYSTEM_B's logs
# continue sequence 2107; a copy of the primary that says so replays.
for f in SYSTEM_B SYSTEM_B.LOG1 SYSTEM_B.LOG2; do
	xz -dc "$TD/$f.xz" >"$w/real-$f" || bad "xz-$f" "cannot unpack"
done
python3 - "$w/real-SYSTEM_B" "$w/P" <<'EOF2'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
struct.pack_into('<II', b, 4, 2107, 2106)
x = 0
for i in range(0, 508, 4):
    x ^= struct.unpack_from('<I', b, i)[0]
struct.pack_into('<I', b, 508, x)
open(sys.argv[2], 'wb').write(b)
EOF2
cp "$w/real-SYSTEM_B.LOG1" "$w/P.LOG1"; cp "$w/real-SYSTEM_B.LOG2" "$w/P.LOG2"; cp "$w/P" "$w/P.orig"
mkimg
out j "$S" hive restore --json -V "$I" "$w/P" "$C/SYSTEM" &&
	is restore-replayed "$(printf '%s' "$j" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["replayed"], j["log_entries"])')" "True 24"
check restore-replayed-source-unchanged cmp "$w/P" "$w/P.orig"
check restore-replayed-read sh -c 'ntfscat "$1" "$2" >"$3"' - "$I" "$C/SYSTEM" "$w/got"
is restore-replayed-clean "$(python3 -c 'import struct,sys; b=open(sys.argv[1],"rb").read(12); s=struct.unpack_from("<II",b,4); print(b[:4]==b"regf" and s[0]==s[1])' "$w/got")" True
check restore-replayed-hivexget hivexget "$w/got" Select Current
check restore-replayed-ntfsfix ntfsfix -n "$I"
finish
