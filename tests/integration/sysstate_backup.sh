#!/bin/sh
# sysstate_backup.sh - `backup --system-state` of a test Windows volume
# (tests/lib/winvol.sh: mkntfs, ntfs-3g, the real SYSTEM_WIN_10_1709 and
# SYSTEM_B hives) onto a SIMH tape, checked with tools we did not write:
#   - every file the volume's own FilesNotToBackup rules name (the rule read
#     with hivexget from the SYSTEM hive on the volume, via ntfscat) is in
#     neither `list --set 1` nor GNU tar's listing of the data file, and
#     every file no rule names is in both (CSC: whatever the hive says);
#   - a rule with a variable that cannot be known offline (%UserProfile%,
#     found in the hive with hivexget) is reported as skipped;
#   - each hive and each .LOG1/.LOG2 is byte-identical to the volume's
#     (ntfscat vs tar -xO), the hives are flagged hive, the logs not;
#   - the label says system-state, and the Windows version hivexget reads
#     from the volume's SOFTWARE;
#   - the SIS Common Store stays in the set even when --exclude names it,
#     while --exclude still leaves out what it names;
#   - --dry-run shows the rule exclusions;
#   - the rules of SYSTEM_B (dirty, with logs) are read when it is the
#     running Windows' hive, the hive module's word on its logs passed on;
#   - an ext4 volume, an NTFS volume without Windows, a Windows (in lower
#     case) whose SYSTEM hive is the real damaged one, a mounted Windows
#     volume and a directory are refused, the tape byte-identical (cmp).
#   sysstate_backup.sh SYSRECOVER [SYSRECOVER_ASAN]   (the second backs up again)
set -u
. "$(dirname "$0")/../lib/check.sh"
. "$(dirname "$0")/../lib/winvol.sh"
workdir ssb
need mkntfs ntfs-3g ntfscat hivexget hivexregedit tar mkfs.ext4 python3 xz
testdata hives
S=$1
T=$w/t.tap
W=$w/win.img

winvol_make "$W" 96
rc=$?
if [ "$rc" -eq 77 ]; then
	skip sysstate-backup "winvol.sh found no test hives"
	finish
	exit
fi
[ "$rc" -eq 0 ] || { bad winvol "winvol_make failed ($rc)"; finish; exit; }
ok winvol
if [ ! -s "$W.sis" ]; then
	# no sis.py helper (tests/lib/winvol.sh hook): a store file of our own
	ntfs-3g "$W" "$mnt" && mkdir -p "$mnt/SIS Common Store" &&
		printf 'store\n' >"$mnt/SIS Common Store/11111111-2222-3333-4444-555555555555.sis"
	umount "$mnt"
fi

# ---- what the volume's own hives say (tools we did not write) --------------
ntfscat "$W" Windows/System32/config/SYSTEM >"$w/SYSTEM" &&
	ntfscat "$W" Windows/System32/config/SOFTWARE >"$w/SOFTWARE" ||
	bad ntfscat "cannot read the hives back from $W"
out cs hivexget "$w/SYSTEM" Select Current
KEY="ControlSet00$cs\\Control\\BackupRestore\\FilesNotToBackup"
out export hivexregedit --export "$w/SYSTEM" "$KEY"
# every rule string, one a line, lower case
rules=$(printf '%s\n' "$export" | sed -n 's/^"\([^"]*\)"=.*/\1/p' | while read -r v; do
	hivexget "$w/SYSTEM" "$KEY" "$v" || echo "HIVEXGET-FAILED $v"
done | tr 'A-Z' 'a-z')
case $rules in *hivexget-failed*|"") bad rules "cannot read the rules with hivexget" ;; esac
out product hivexget "$w/SOFTWARE" 'Microsoft\Windows NT\CurrentVersion' ProductName
out build hivexget "$w/SOFTWARE" 'Microsoft\Windows NT\CurrentVersion' CurrentBuild
out ubr hivexget "$w/SOFTWARE" 'Microsoft\Windows NT\CurrentVersion' UBR

# Does some rule string mention a distinctive part of PATH (a component
# other than the generic ones)?  $1 path, $2 the rule text.
named() {
	printf '%s\n' "$1" | tr '/A-Z' '\na-z' | while read -r c; do
		case $c in windows|system32|programdata|microsoft|"") continue ;; esac
		case $2 in *"$c"*) echo yes; break ;; esac
	done
}

# ---- the backup ---------------------------------------------------------------
"$S" backup --system-state -t "$T" "$W" >"$w/bout" 2>"$w/berr"
is backup-exit "$?" 0
bout=$(cat "$w/bout") berr=$(cat "$w/berr")
out list "$S" list -t "$T" --set 1
exits tape-read 0 "stopped at a filemark" "$S" tape "$T" rewind fsf 1 read "$w/data.tar"
out tarlist tar --warning=no-unknown-keyword -tf "$w/data.tar"

in_list() { printf '%s\n' "$list" | grep -qF "  v0/$1"; }
in_tar() { printf '%s\n' "$tarlist" | grep -qxF "v0/$1"; }

printf '%s\n' "$WINVOL_FNTB" >"$w/fntb"
while IFS='|' read -r comp f; do
	rule=$(hivexget "$w/SYSTEM" "$KEY" "$comp" | tr 'A-Z' 'a-z')
	if [ -z "$rule" ] || [ -z "$(named "$f" "$rule")" ]; then
		bad "rule-$f" "the hive's rule '$comp' ($rule) does not name $f: winvol.sh is out of date"
		continue
	fi
	if in_list "$f"; then bad "excluded-list-$f" "rule '$comp' names it, list shows it"
	else ok "excluded-list-$f"; fi
	if in_tar "$f"; then bad "excluded-tar-$f" "rule '$comp' names it, tar lists it"
	else ok "excluded-tar-$f"; fi
done <"$w/fntb"

printf '%s\n' "$WINVOL_KEEP" >"$w/keep"
while read -r f; do
	if [ -n "$(named "$f" "$rules")" ]; then
		# the hive names it after all (another SYSTEM): it must be out
		if in_tar "$f"; then bad "kept-$f" "a rule names it, tar lists it"
		else ok "kept-$f (a rule names it: left out)"; fi
		continue
	fi
	if in_list "$f" && in_tar "$f"; then ok "kept-$f"
	else bad "kept-$f" "no rule names it, but it is not in the set"; fi
done <"$w/keep"

# A rule with %UserProfile% cannot be expanded offline: reported, skipped.
case $rules in
*%userprofile%*) has skipped-userprofile "$berr" "skipped: %UserProfile% is unresolved" ;;
*) skip skipped-userprofile "the hive has no %UserProfile% rule" ;;
esac
has summary-pagefile "$bout" "(first: v0/pagefile.sys)"

# ---- hives: as found, flagged -----------------------------------------------------
printf '%s\n%s\n' "$WINVOL_HIVES" "$WINVOL_LOGS" >"$w/hives"
while read -r h; do
	rm -f "$w/a" "$w/b"
	ntfscat "$W" "$h" >"$w/a" && tar --warning=no-unknown-keyword -xOf "$w/data.tar" "v0/$h" >"$w/b" &&
		cmp -s "$w/a" "$w/b" && [ -s "$w/a" ] && ok "identical-$h" ||
		bad "identical-$h" "ntfscat and tar -xO differ (or failed)"
	line=$(printf '%s\n' "$list" | grep -F "  v0/$h" | grep -vF "v0/$h.")
	case $h in
	*.LOG1|*.LOG2) case $line in *hive*) bad "flag-$h" "a log flagged: $line" ;; "") bad "flag-$h" "not listed" ;; *) ok "flag-$h" ;; esac ;;
	*) has "flag-$h" "$line" "[hive" ;;
	esac
done <"$w/hives"

# ---- verify shows the flags: as many hives as winvol put there, links as
# sis.py made, encrypted files as efs.py made ---------------------------------------
nh=$(printf '%s\n' "$WINVOL_HIVES" | grep -c .)
nl=$(grep -c . "$W.sis" 2>/dev/null)
# encrypted members: what has FILE_ATTRIBUTE_ENCRYPTED (0x4000) on the volume,
# files and directories alike (ntfs-3g's system.ntfs_attrib_be)
ne=0
if ntfs-3g -o ro "$W" "$mnt"; then
	ne=$(find "$mnt" -mindepth 1 | while read -r f; do
		getfattr -h --absolute-names --only-values -n system.ntfs_attrib_be -e hex "$f" 2>/dev/null |
			od -An -tx1 | tr -d ' \n' | python3 -c 'import sys; v=sys.stdin.read().strip(); print(1 if v and int(v, 16) & 0x4000 else 0)'
	done | grep -c 1)
	umount "$mnt"
else
	bad verify-mount "ntfs-3g failed"
fi
[ "$ne" -gt 0 ] && ok "the volume has $ne encrypted files and directories" || bad verify-efs-setup "none encrypted"
exits verify-flags 0 "^set 1 \\(system state\\): .* 0 bad" "$S" verify -t "$T"
exits verify-counts 0 "^set 1: $nh hives, $nl SIS links \\(0 without their common-store file\\), $ne encrypted members raw" \
	"$S" verify -t "$T"
out vjson "$S" verify -t "$T" --json
check verify-json python3 -c '
import json, sys
v = json.loads(sys.argv[1])
assert v["system_state"] is True and v["bad"] == 0, v
assert (v["hives"], v["sis"], v["efs_raw"]) == tuple(map(int, sys.argv[2:5])), v
' "$vjson" "$nh" "$nl" "$ne"

# ---- the label ------------------------------------------------------------------------
out sets "$S" list -t "$T"
has label-system-state "$sets" "system state: $product build $build.$ubr"
exits label-read 0 "" "$S" tape "$T" rewind read "$w/label"
check label-flag grep -qx 'flags: system-state' "$w/label"
check label-hive grep -qx 'hive: v0/Windows/System32/config/SYSTEM' "$w/label"
out sets_json "$S" list -t "$T" --json
check label-json python3 -c '
import json, sys
s = json.loads(sys.argv[1])["sets"][0]["system_state"]
assert s["windows"] == sys.argv[2], s
assert s["build"] == sys.argv[3], s
assert "v0/Windows/System32/config/SAM" in s["hives"], s
' "$sets_json" "$product" "$build.$ubr"
out mjson "$S" list -t "$T" --set 1 --json
check member-json-flags python3 -c '
import json, sys
m = {e["name"]: e for e in json.loads(sys.argv[1])["members"]}
assert m["v0/Windows/System32/config/SYSTEM"]["flags"] == ["hive"] or \
    "hive" in m["v0/Windows/System32/config/SYSTEM"]["flags"], m["v0/Windows/System32/config/SYSTEM"]
assert "hive" not in m["v0/Windows.old/Windows/System32/config/SYSTEM.LOG1"]["flags"]
' "$mjson"

# ---- the SIS Common Store: never left out, --exclude still works -----------------
out store ntfsls "$W" -p "/SIS Common Store"
store=$(printf '%s\n' "$store" | grep '\.sis$')
[ -n "$store" ] || bad sis-store "no store files on the volume"
out xout "$S" backup --system-state -t "$w/x.tap" --exclude '/SIS Common Store*' \
	--exclude '/Users/Public/Documents/notes.txt' --exclude '/Windows*' "$W"
out xlist "$S" list -t "$w/x.tap" --set 1
for f in $store; do
	in_list "SIS Common Store/$f" && ok "sis-in-set-$f" || bad "sis-in-set-$f" "missing from set 1"
	case $xlist in *"v0/SIS Common Store/$f"*) ok "sis-despite-exclude-$f" ;;
	*) bad "sis-despite-exclude-$f" "--exclude removed it" ;; esac
done
case $xlist in *notes.txt*) bad exclude-still-works "notes.txt is in the set" ;;
*) ok exclude-still-works ;; esac

# ---- dry run --------------------------------------------------------------------------
out dout "$S" backup --system-state --dry-run "$W"
has dry-run-rules "$dout" "Memory Page File: \\Pagefile.sys  (first: v0/pagefile.sys)"
has dry-run-count "$dout" "would write"

# ---- SYSTEM_B, dirty with its logs, as the running Windows (WINVOL_MAIN=b) ----
# Its rules are read all the same; what the hive module says of its logs is
# passed on as a warning naming the hive.
if WINVOL_MAIN=b winvol_make "$w/winb.img" 96; then
	"$S" backup --system-state --dry-run "$w/winb.img" >"$w/bdry" 2>"$w/bdry.err"
	is main-b-exit "$?" 0
	has main-b-warning "$(cat "$w/bdry.err")" "/Windows/System32/config/SYSTEM: hive is dirty"
	ntfscat "$w/winb.img" Windows/System32/config/SYSTEM >"$w/SYSTEM_B" ||
		bad main-b-ntfscat "cannot read SYSTEM back"
	out bpage hivexget "$w/SYSTEM_B" "ControlSet001\\Control\\BackupRestore\\FilesNotToBackup" "Memory Page File"
	case $bpage in *[Pp]agefile.sys*) has main-b-rule "$(cat "$w/bdry")" "(first: v0/pagefile.sys)" ;;
	*) bad main-b-rule "SYSTEM_B has no page-file rule: '$bpage'" ;; esac
else
	bad main-b "winvol_make with WINVOL_MAIN=b failed"
fi

# ---- refusals, before the tape is touched -------------------------------------------
cp "$T" "$w/before.tap"
truncate -s 32M "$w/ext.img" && mkfs.ext4 -q -F "$w/ext.img"
truncate -s 32M "$w/bare.img" && mkntfs -q -F -f "$w/bare.img" >/dev/null 2>&1
exits refuse-ext4 2 "is ext, not an NTFS volume" "$S" backup --system-state -t "$T" "$w/ext.img"
exits refuse-no-windows 2 "no Windows on" "$S" backup --system-state -t "$T" "$w/bare.img"
exits refuse-dir 2 "is a directory, not an NTFS volume" "$S" backup --system-state -t "$T" "$w"
# Windows in other case, with a damaged SYSTEM hive (the real one from
# testdata): found all the same, and refused because it cannot be read.
truncate -s 32M "$w/bad.img" && mkntfs -q -F -f "$w/bad.img" >/dev/null 2>&1
if ntfs-3g "$w/bad.img" "$mnt" && mkdir -p "$mnt/windows/system32/CONFIG" &&
	xz -dc "$TD/corrupted_system_hive.xz" >"$mnt/windows/system32/CONFIG/system"; then
	umount "$mnt"
	exits refuse-bad-hive 2 "cannot read the SYSTEM hive '/windows/system32/CONFIG/system'" \
		"$S" backup --system-state -t "$T" "$w/bad.img"
else
	mountpoint -q "$mnt" && umount "$mnt"
	bad refuse-bad-hive "cannot build the volume with a damaged hive"
fi
if ntfs-3g -o ro "$W" "$mnt"; then
	exits refuse-mounted 2 "is mounted at" "$S" backup --system-state -t "$T" "$W"
	umount "$mnt"
else
	bad refuse-mounted "cannot mount $W with ntfs-3g"
fi
check tape-unchanged cmp "$T" "$w/before.tap"

# ---- the sanitizer build: the same backup, the same members ---------------------
if [ $# -ge 2 ] && [ -x "$2" ]; then
	"$2" backup --system-state -t "$w/asan.tap" "$W" >"$w/asan.out" 2>&1
	is asan-backup-exit "$?" 0
	out alist "$2" list -t "$w/asan.tap" --set 1
	is asan-same-members "$alist" "$list"
	exits asan-refuse-bad-hive 2 "cannot read the SYSTEM hive" \
		"$2" backup --system-state -t "$w/asan.tap" "$w/bad.img"
fi

echo "# $(counts)"
finish
