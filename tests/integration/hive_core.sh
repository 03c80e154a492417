#!/bin/sh
# hive_core.sh - `sysrecover hive info|pending|set-restore-id`, checked by
# tools we did not write: hivexget/hivexregedit (libhivex), regfinfo/
# regfexport (libregf), ntfscat, python3 for the base block bytes, cmp for
# "left untouched".
#   hive_core.sh SYSRECOVER [SYSRECOVER_ASAN]
# Part 1 builds its own SYSTEM hive (tests/lib/mkhive.py + hivexregedit) and
# runs on any clone; part 2 needs the real Windows hives (`testdata hives`:
# dirty hives, real HvLE logs, a corrupt hive) and SKIPs without them.
set -u
. "$(dirname "$0")/../lib/check.sh"
S=$1
[ -n "${2:-}" ] && [ -x "$2" ] && S=$2
L=$(cd "$(dirname "$0")/../lib" && pwd)
workdir hive-core
need hivexget hivexregedit regfinfo regfexport python3 xz

# Base block read independently: "seq1 seq2 ok|bad".
cat >"$w/base.py" <<'EOF'
import struct, sys
b = open(sys.argv[1], 'rb').read(4096)
x = 0
for i in range(0, 508, 4):
    x ^= struct.unpack_from('<I', b, i)[0]
s1, s2 = struct.unpack_from('<II', b, 4)
c = struct.unpack_from('<I', b, 508)[0]
good = c in (x, {0: 1, 0xffffffff: 0xfffffffe}.get(x, x))
print(s1, s2, 'ok' if b[:4] == b'regf' and good else 'bad')
EOF
base() { python3 "$w/base.py" "$1"; }
clean() { set -- $(base "$1"); [ "$1" = "$2" ] && [ "$3" = ok ]; }
# hivexget's PendingFileRenameOperations as "op src dst" lines.
cat >"$w/hxpend.py" <<'EOF'
import sys
s = sys.stdin.read().split("\n")
if s and s[-1] == "": s.pop()
i = 0
while i + 1 < len(s) and s[i]:
    d = s[i + 1]
    op = "delete" if not d else ("replace" if d.startswith("!") else "move")
    print(op, s[i], d.lstrip("!"))
    i += 2
EOF
cat >"$w/ourpend.py" <<'EOF'
import json, sys
j = json.load(sys.stdin)
for o in j["operations"]:
    if o["value"] == "PendingFileRenameOperations":
        print(o["op"], o["raw_src"], o["raw_dst"].lstrip("!"))
EOF
hx_pending() { # hive cs; an absent value (hivexget: "key not found") is none
	if hivexget "$1" "ControlSet00$2\\Control\\Session Manager" \
		PendingFileRenameOperations >"$w/hx.raw" 2>"$w/hx.err"; then
		python3 "$w/hxpend.py" <"$w/hx.raw"
	elif ! grep -q 'PendingFileRenameOperations: key not found' "$w/hx.err"; then
		bad tool:hivexget "$(cat "$w/hx.err")"
	fi
}
ours_pending() {
	out _op "$S" hive pending --json "$1" && printf '%s\n' "$_op" | python3 "$w/ourpend.py"
}
msz() { python3 -c 'import sys; b="".join(s+"\0" for s in sys.argv[1:]).encode("utf-16le")+b"\0\0"; print(",".join("%02x"%c for c in b))' "$@"; }

# ==== 1. a SYSTEM hive of our own ===========================================
python3 "$L/mkhive.py" "$w/SYS" SYSTEM
cat >"$w/sys.reg" <<EOF
Windows Registry Editor Version 5.00

[\\Select]
"Current"=dword:00000001
"Default"=dword:00000001

[\\ControlSet001]

[\\ControlSet001\\Control]

[\\ControlSet001\\Control\\Session Manager]
"PendingFileRenameOperations"=hex(7):$(msz '\??\C:\a.tmp' '' '\??\C:\x.new' '!\??\C:\x.dll' '\??\C:\m' '\??\C:\n')
"BootExecute"=hex(7):$(msz 'autocheck autochk *')
EOF
check hivexregedit-builds-system hivexregedit --merge "$w/SYS" "$w/sys.reg"

# -- the command line: --help everywhere, unknown options and subcommands --
for c in info pending set-restore-id merge mounted files-not-to-backup; do
	if o=$("$S" hive "$c" --help 2>&1) && [ -n "$o" ]; then ok "help-$c"; else bad "help-$c" "exit $? or no text"; fi
	"$S" hive "$c" --no-such-option "$w/SYS" >/dev/null 2>&1
	is "unknown-option-$c-exit" "$?" 64
done
"$S" hive --help >/dev/null 2>&1; is hive-help-exit "$?" 0
"$S" hive no-such-subcommand >/dev/null 2>&1; is unknown-subcommand-exit "$?" 64
"$S" hive >/dev/null 2>&1; is no-subcommand-exit "$?" 64
"$S" hive info >/dev/null 2>&1; is info-no-hive-exit "$?" 64

# -- info and pending agree with hivexget --
out got "$S" hive info "$w/SYS" && has info-ccs "$got" "control sets: Current 1, Default 1"
has info-clean "$got" "state:        clean"
hx_pending "$w/SYS" 1 >"$w/want"
ours_pending "$w/SYS" >"$w/got"
check "pending-equals-hivexget ($(wc -l <"$w/want") pairs)" cmp "$w/want" "$w/got"
is pending-three-pairs "$(wc -l <"$w/got")" 3
out txt "$S" hive pending "$w/SYS" && has pending-text-replace "$txt" "replace "

# -- errors: not a hive, too short --
head -c 3000 "$w/SYS" >"$w/short"
refuses truncated-error 'too short' "$S" hive info "$w/short"
cp "$w/SYS" "$w/notahive"; printf 'XXXX' | dd of="$w/notahive" conv=notrunc 2>/dev/null
"$S" hive info "$w/notahive" >"$w/out" 2>&1
is not-a-hive-exit "$?" 2
check not-a-hive-says-why grep -q "no 'regf' signature" "$w/out"

# -- edits: LastRestoreId with --backup, then pending --clear --
cp "$w/SYS" "$w/E"; : >"$w/E.LOG1"; : >"$w/E.LOG2"
out sr "$S" hive set-restore-id --backup "$w/E"
g=$(printf '%s\n' "$sr" | sed -n 's/^LastRestoreId //p')
out hx hivexget "$w/E" 'ControlSet001\Control\BackupRestore\SystemStateRestore' LastRestoreId
is set-restore-id-hivexget "$hx" "$g"
has guid-format "$(echo "$g" | grep -E '^\{[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}\}$')" "$g"
check set-restore-id-clean clean "$w/E"
check no-stale-logs sh -c "[ ! -e '$w/E.LOG1' ] && [ ! -e '$w/E.LOG2' ]"
check backup-kept cmp "$w/E.bak" "$w/SYS"
check regfinfo-edited regfinfo "$w/E"
out ex regfexport "$w/E" && has regfexport-sees-guid "$ex" "$g"
cp "$w/SYS" "$w/C"
check pending-clear "$S" hive pending --clear "$w/C"
check cleared-clean clean "$w/C"
refuses pending-cleared 'PendingFileRenameOperations: key not found' \
	hivexget "$w/C" 'ControlSet001\Control\Session Manager' PendingFileRenameOperations
check other-values-kept hivexget "$w/C" 'ControlSet001\Control\Session Manager' BootExecute
check regfinfo-cleared regfinfo "$w/C"

# -- a hive inside an NTFS image (hive_open_fs) --
if command -v mkntfs >/dev/null && command -v ntfscat >/dev/null; then
	I=$w/ntfs.img
	truncate -s 64M "$I" && mkntfs -q -F -Q "$I" >/dev/null 2>&1
	check ntfs-mkdir "$S" fs "$I" mkdir /Config
	check ntfs-put "$S" fs "$I" put "$w/SYS" /Config/SYSTEM
	out sr "$S" hive set-restore-id --volume "$I" /Config/SYSTEM
	g=$(printf '%s\n' "$sr" | sed -n 's/^LastRestoreId //p')
	ntfscat "$I" /Config/SYSTEM >"$w/x" 2>/dev/null
	out hx hivexget "$w/x" 'ControlSet001\Control\BackupRestore\SystemStateRestore' LastRestoreId
	is ntfs-hivexget "$hx" "$g"
	check ntfs-clean clean "$w/x"
	out ls ntfsls -p /Config "$I"
	case $ls in *sysrecover*) bad ntfs-no-temp "temp left: $ls" ;; *) ok ntfs-no-temp ;; esac
	out inf "$S" hive info --volume "$I" /Config/SYSTEM && has ntfs-info "$inf" "state:        clean"
else
	bad need-ntfs "mkntfs/ntfscat missing (run: sh .ci/deps.sh)"
fi

# ==== 2. the real Windows hives =============================================
testdata hives
D=$TD
for f in SYSTEM SYSTEM_B SYSTEM_B.LOG1 SYSTEM_B.LOG2 SYSTEM_WIN_10_1709 \
	 corrupted_system_hive; do
	xz -dc "$D/$f.xz" >"$w/$f" || { bad "xz-$f" "cannot unpack"; finish; exit; }
done

# -- control sets and pending operations agree with hivexget --
for h in SYSTEM SYSTEM_WIN_10_1709 SYSTEM_B; do
	out cur hivexget "$w/$h" Select Current
	out def hivexget "$w/$h" Select Default
	out inf "$S" hive info "$w/$h"
	is "info-ccs-$h" "$(printf '%s\n' "$inf" | sed -n 's/^control sets: //p')" "Current $cur, Default $def"
	hx_pending "$w/$h" "$def" >"$w/want"
	ours_pending "$w/$h" >"$w/got"
	check "pending-$h ($(wc -l <"$w/got") pairs as hivexget)" cmp "$w/want" "$w/got"
done
n=$(ours_pending "$w/SYSTEM_WIN_10_1709" | grep -c '^replace ')
check "pending-replace-seen ($n)" [ "$n" -gt 0 ]
out inf "$S" hive info "$w/SYSTEM_WIN_10_1709" && has info-dirty-1709 "$inf" "state:        dirty"

# -- a corrupt hive is a clear error, not a crash --
"$S" hive info "$w/corrupted_system_hive" >"$w/out" 2>&1
is corrupted-exit "$?" 2
check corrupted-clear-error grep -q "cannot open hive '.*corrupted_system_hive'" "$w/out"

# -- dirty without logs: warned, cleared, clean --
cp "$w/SYSTEM_WIN_10_1709" "$w/W"
"$S" hive pending --clear "$w/W" >/dev/null 2>"$w/err"
is dirty-clear-exit "$?" 0
check dirty-no-logs-warns grep -q 'warning: .*dirty' "$w/err"
check dirty-cleared-clean clean "$w/W"
refuses dirty-pending-cleared 'PendingFileRenameOperations: key not found' \
	hivexget "$w/W" 'ControlSet001\Control\Session Manager' PendingFileRenameOperations
check dirty-other-values-kept hivexget "$w/W" 'ControlSet001\Control\Session Manager' BootExecute

# -- dirty SYSTEM_B: its logs skip entries, so writing is refused --
for f in SYSTEM_B SYSTEM_B.LOG1 SYSTEM_B.LOG2; do cp "$w/$f" "$w/R${f#SYSTEM_B}"; done
refuses dirty-refused 'boot Windows once' "$S" hive set-restore-id "$w/R"
check refused-byte-identical sh -c "cmp -s '$w/R' '$w/SYSTEM_B' && cmp -s '$w/R.LOG1' '$w/SYSTEM_B.LOG1' &&
	cmp -s '$w/R.LOG2' '$w/SYSTEM_B.LOG2' && [ ! -e '$w/R.sysrecover-new' ]"

# -- replay of the real HvLE logs --
# The logs continue sequence 2107; a copy of the primary that says so lets
# every real entry (Marvin32 hashes and all) be checked and applied.
cat >"$w/seq.py" <<'EOF'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
struct.pack_into('<II', b, 4, 2107, 2106)
x = 0
for i in range(0, 508, 4):
    x ^= struct.unpack_from('<I', b, i)[0]
struct.pack_into('<I', b, 508, x)
open(sys.argv[2], 'wb').write(b)
EOF
python3 "$w/seq.py" "$w/SYSTEM_B" "$w/P"
cp "$w/SYSTEM_B.LOG1" "$w/P.LOG1"; cp "$w/SYSTEM_B.LOG2" "$w/P.LOG2"
cp "$w/P" "$w/P.orig"
out inf "$S" hive info "$w/P" && has replay-24-entries "$inf" 'replayed (24 entries)'
before=$(ours_pending "$w/P.orig" | wc -l)
out pj "$S" hive pending --json "$w/P"
after=$(printf '%s' "$pj" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["operations"]))')
# hivexget on the un-replayed primary shows 8 pairs; the logs added more.
check "replay-visible (pending $before -> $after)" [ "$after" -gt "$before" ]
check replayed-set-restore-id "$S" hive set-restore-id "$w/P"
check replayed-written-clean clean "$w/P"
check replayed-logs-removed sh -c "[ ! -e '$w/P.LOG1' ] && [ ! -e '$w/P.LOG2' ]"
check regfinfo-replayed regfinfo "$w/P"
is replay-hivexget-pending "$(hx_pending "$w/P" 1 | wc -l)" "$after"
# A commit cut off after moving the logs aside (PATH.LOGn.sysrecover-old)
# and before the new hive took PATH's place: the old dirty hive's logs are
# found under that name, and the next commit removes them.
cp "$w/P.orig" "$w/Q"
cp "$w/SYSTEM_B.LOG1" "$w/Q.LOG1.sysrecover-old"
cp "$w/SYSTEM_B.LOG2" "$w/Q.LOG2.sysrecover-old"
out inf "$S" hive info "$w/Q" && has aside-logs-replayed "$inf" 'replayed (24 entries)'
check aside-set-restore-id "$S" hive set-restore-id "$w/Q"
check aside-commit-clean clean "$w/Q"
check aside-logs-dropped-by-commit sh -c "[ ! -e '$w/Q.LOG1.sysrecover-old' ] && [ ! -e '$w/Q.LOG2.sysrecover-old' ]"
is aside-logs-same-result "$(hx_pending "$w/Q" 1 | wc -l)" "$after"
# A log entry with one flipped byte fails its hash: replay refuses it.
cp "$w/P.orig" "$w/Q"; cp "$w/SYSTEM_B.LOG1" "$w/Q.LOG1"; cp "$w/SYSTEM_B.LOG2" "$w/Q.LOG2"
printf '\377' | dd of="$w/Q.LOG1" bs=1 seek=2000 conv=notrunc 2>/dev/null
refuses bad-hash-refused 'cannot be replayed' "$S" hive set-restore-id "$w/Q"
check bad-hash-untouched cmp "$w/Q" "$w/P.orig"
finish
