#!/bin/sh
# hive_core.sh - `sysrecover hive info|pending|set-restore-id` on the real
# hives of ../shared/testdata, checked by tools we did not write: hivexget
# (libhivex), regfinfo/regfexport (libyal libregf), ntfscat, python3 for the
# base block bytes, cmp for "left untouched".
#   hive_core.sh SYSRECOVER [SYSRECOVER_ASAN]
set -u
S=$1
[ -n "${2:-}" ] && [ -x "$2" ] && S=$2
D=$(cd "$(dirname "$0")/../.." && pwd)/../shared/testdata/hives
[ -d "$D" ] || { echo "FAIL hive_core-data: $D missing"; exit 1; }
w=$(mktemp -d /tmp/sr-hive.XXXXXX)
trap 'rm -rf "$w"' EXIT
fails=0
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1: $2"; fails=$((fails + 1)); }
is() { # name, got, want
	if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "got '$2', want '$3'"; fi
}
for f in SYSTEM SYSTEM_B SYSTEM_B.LOG1 SYSTEM_B.LOG2 SYSTEM_WIN_10_1709 \
	 corrupted_system_hive; do
	xz -dc "$D/$f.xz" >"$w/$f" || { echo "FAIL hive_core-xz: $f"; exit 1; }
done

# Base block read independently: "seq1 seq2 checksum_ok".
base() {
	python3 - "$1" <<'EOF'
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
}
clean() { set -- $(base "$1"); [ "$1" = "$2" ] && [ "$3" = ok ]; }

# hivexget's view of PendingFileRenameOperations: pairs -> "op src dst".
hx_pending() { # hive cs
	hivexget "$1" "ControlSet00$2\\Control\\Session Manager" \
		PendingFileRenameOperations 2>/dev/null | python3 -c '
import sys
s = sys.stdin.read().split("\n")
if s and s[-1] == "": s.pop()
i = 0
while i + 1 < len(s) and s[i]:
    d = s[i + 1]
    op = "delete" if not d else ("replace" if d.startswith("!") else "move")
    print(op, s[i], d.lstrip("!"))
    i += 2'
}
ours_pending() {
	"$S" hive pending --json "$1" 2>/dev/null | python3 -c '
import json, sys
j = json.load(sys.stdin)
for o in j["operations"]:
    if o["value"] == "PendingFileRenameOperations":
        print(o["op"], o["raw_src"], o["raw_dst"].lstrip("!"))'
}

# ---- 1. control sets and pending operations agree with hivexget --------
for h in SYSTEM SYSTEM_WIN_10_1709 SYSTEM_B; do
	cur=$(hivexget "$w/$h" Select Current)
	def=$(hivexget "$w/$h" Select Default)
	got=$("$S" hive info "$w/$h" 2>/dev/null | sed -n 's/^control sets: //p')
	is "info-ccs-$h" "$got" "Current $cur, Default $def"
	hx_pending "$w/$h" "$def" >"$w/want"
	ours_pending "$w/$h" >"$w/got"
	if cmp -s "$w/want" "$w/got"; then
		ok "pending-$h ($(wc -l <"$w/got") pairs as hivexget)"
	else
		bad "pending-$h" "$(diff "$w/want" "$w/got" | head -3 | tr '\n' ' ')"
	fi
done
n=$(ours_pending "$w/SYSTEM_WIN_10_1709" | grep -c '^replace ')
[ "$n" -gt 0 ] && ok "pending-replace-seen ($n)" || bad pending-replace-seen "no '!' targets"
"$S" hive info "$w/SYSTEM_WIN_10_1709" 2>&1 | grep -q 'state: *dirty' &&
	ok info-dirty-1709 || bad info-dirty-1709 "not reported dirty"

# ---- 2. a corrupt hive is a clear error, not a crash -----------------------
"$S" hive info "$w/corrupted_system_hive" >"$w/out" 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -q "cannot open hive '.*corrupted_system_hive'" "$w/out"; then
	ok corrupted-clear-error
else
	bad corrupted-clear-error "rc=$rc $(cat "$w/out")"
fi
head -c 3000 "$w/SYSTEM" >"$w/short"
"$S" hive info "$w/short" 2>&1 | grep -q 'too short' && ok truncated-error ||
	bad truncated-error "no clear message"

# ---- 3. edit: LastRestoreId, clear pending; clean, readable, no logs -------
cp "$w/SYSTEM" "$w/E"
: >"$w/E.LOG1"; : >"$w/E.LOG2"
g=$("$S" hive set-restore-id --backup "$w/E" 2>"$w/err" | sed -n 's/^LastRestoreId //p')
def=$(hivexget "$w/E" Select Default)
is set-restore-id-hivexget "$(hivexget "$w/E" \
	"ControlSet00$def\\Control\\BackupRestore\\SystemStateRestore" LastRestoreId)" "$g"
echo "$g" | grep -Eq '^\{[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}\}$' &&
	ok guid-format || bad guid-format "$g"
clean "$w/E" && ok set-restore-id-clean || bad set-restore-id-clean "$(base "$w/E")"
[ ! -e "$w/E.LOG1" ] && [ ! -e "$w/E.LOG2" ] && ok no-stale-logs || bad no-stale-logs "logs left"
cmp -s "$w/E.bak" "$w/SYSTEM" && ok backup-kept || bad backup-kept "E.bak differs"
regfinfo "$w/E" >/dev/null 2>&1 && ok regfinfo-edited || bad regfinfo-edited "regfinfo fails"
regfexport "$w/E" 2>/dev/null | grep -q "$g" && ok regfexport-sees-guid ||
	bad regfexport-sees-guid "GUID not in regfexport output"
cp "$w/SYSTEM_WIN_10_1709" "$w/W"
"$S" hive pending --clear "$w/W" >/dev/null 2>"$w/err"
grep -q 'dirty' "$w/err" && ok dirty-no-logs-warns || bad dirty-no-logs-warns "no warning"
clean "$w/W" && ok cleared-clean || bad cleared-clean "$(base "$w/W")"
hivexget "$w/W" 'ControlSet001\Control\Session Manager' PendingFileRenameOperations \
	>/dev/null 2>&1 && bad pending-cleared "value still there" || ok pending-cleared
hivexget "$w/W" 'ControlSet001\Control\Session Manager' BootExecute >/dev/null &&
	ok other-values-kept || bad other-values-kept "BootExecute lost"
regfinfo "$w/W" >/dev/null 2>&1 && ok regfinfo-cleared || bad regfinfo-cleared "regfinfo fails"

# ---- 4. dirty SYSTEM_B: its logs skip entries, so writing is refused -------
for f in SYSTEM_B SYSTEM_B.LOG1 SYSTEM_B.LOG2; do cp "$w/$f" "$w/R${f#SYSTEM_B}"; done
"$S" hive set-restore-id "$w/R" >/dev/null 2>"$w/err"
rc=$?
[ $rc -ne 0 ] && grep -q 'boot Windows once' "$w/err" && ok dirty-refused ||
	bad dirty-refused "rc=$rc $(cat "$w/err")"
cmp -s "$w/R" "$w/SYSTEM_B" && cmp -s "$w/R.LOG1" "$w/SYSTEM_B.LOG1" &&
	cmp -s "$w/R.LOG2" "$w/SYSTEM_B.LOG2" && [ ! -e "$w/R.sysrecover-new" ] &&
	ok refused-byte-identical || bad refused-byte-identical "files changed"

# ---- 5. replay of the real HvLE logs --------------------------------------
# The logs continue sequence 2107; a copy of the primary that says so lets
# every real entry (Marvin32 hashes and all) be checked and applied.
python3 - "$w/SYSTEM_B" "$w/P" <<'EOF'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
struct.pack_into('<II', b, 4, 2107, 2106)
x = 0
for i in range(0, 508, 4):
    x ^= struct.unpack_from('<I', b, i)[0]
struct.pack_into('<I', b, 508, x)
open(sys.argv[2], 'wb').write(b)
EOF
cp "$w/SYSTEM_B.LOG1" "$w/P.LOG1"; cp "$w/SYSTEM_B.LOG2" "$w/P.LOG2"
cp "$w/P" "$w/P.orig"
"$S" hive info "$w/P" 2>&1 | grep -q 'replayed (24 entries)' && ok replay-24-entries ||
	bad replay-24-entries "$("$S" hive info "$w/P" 2>&1 | tr '\n' ' ')"
before=$(ours_pending "$w/P.orig" | wc -l)
"$S" hive pending --json "$w/P" >"$w/pj" 2>/dev/null
after=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["operations"]))' "$w/pj")
# hivexget on the un-replayed primary shows 8 pairs; the logs added more.
[ "$after" -gt "$before" ] && ok "replay-visible (pending $before -> $after)" ||
	bad replay-visible "pending $before -> $after"
"$S" hive set-restore-id "$w/P" >/dev/null 2>&1
clean "$w/P" && ok replayed-written-clean || bad replayed-written-clean "$(base "$w/P")"
[ ! -e "$w/P.LOG1" ] && [ ! -e "$w/P.LOG2" ] && ok replayed-logs-removed ||
	bad replayed-logs-removed "logs left"
regfinfo "$w/P" >/dev/null 2>&1 && ok regfinfo-replayed || bad regfinfo-replayed "fails"
n=$(hx_pending "$w/P" 1 | wc -l)
is replay-hivexget-pending "$n" "$after"
# A commit cut off after moving the logs aside (PATH.LOGn.sysrecover-old)
# and before the new hive took PATH's place: the old dirty hive's logs are
# found under that name, and the next commit removes them.
cp "$w/P.orig" "$w/Q"
cp "$w/SYSTEM_B.LOG1" "$w/Q.LOG1.sysrecover-old"
cp "$w/SYSTEM_B.LOG2" "$w/Q.LOG2.sysrecover-old"
"$S" hive info "$w/Q" 2>&1 | grep -q 'replayed (24 entries)' && ok aside-logs-replayed ||
	bad aside-logs-replayed "$("$S" hive info "$w/Q" 2>&1 | tr '\n' ' ')"
"$S" hive set-restore-id "$w/Q" >/dev/null 2>&1
clean "$w/Q" && [ ! -e "$w/Q.LOG1.sysrecover-old" ] && [ ! -e "$w/Q.LOG2.sysrecover-old" ] &&
	ok aside-logs-dropped-by-commit || bad aside-logs-dropped-by-commit "$(ls "$w" | grep '^Q')"
is aside-logs-same-result "$(hx_pending "$w/Q" 1 | wc -l)" "$after"
# A log entry with one flipped byte fails its hash: replay refuses it.
cp "$w/P.orig" "$w/Q"; cp "$w/SYSTEM_B.LOG1" "$w/Q.LOG1"; cp "$w/SYSTEM_B.LOG2" "$w/Q.LOG2"
printf '\377' | dd of="$w/Q.LOG1" bs=1 seek=2000 conv=notrunc 2>/dev/null
"$S" hive set-restore-id "$w/Q" >/dev/null 2>&1 && bad bad-hash-refused "accepted" ||
	ok bad-hash-refused
cmp -s "$w/Q" "$w/P.orig" && ok bad-hash-untouched || bad bad-hash-untouched "changed"

# ---- 6. a hive inside an NTFS image (hive_open_fs) --------------------------
I=$w/ntfs.img
truncate -s 64M "$I" && mkntfs -q -F -Q "$I" >/dev/null 2>&1
"$S" fs "$I" mkdir /Config >/dev/null 2>&1
if "$S" fs "$I" put "$w/SYSTEM" /Config/SYSTEM >/dev/null 2>&1; then
	g=$("$S" hive set-restore-id --volume "$I" /Config/SYSTEM 2>"$w/err" |
	    sed -n 's/^LastRestoreId //p')
	ntfscat "$I" /Config/SYSTEM >"$w/x" 2>/dev/null
	is ntfs-hivexget "$(hivexget "$w/x" \
		'ControlSet001\Control\BackupRestore\SystemStateRestore' LastRestoreId 2>&1)" "$g"
	clean "$w/x" && ok ntfs-clean || bad ntfs-clean "$(base "$w/x")"
	ntfsls "$I" /Config 2>/dev/null | grep -q sysrecover && bad ntfs-no-temp "temp left" ||
		ok ntfs-no-temp
else
	bad ntfs-put "cannot put the hive into the image"
fi

[ $fails -eq 0 ]
