#!/bin/sh
# srd_windows.sh - `sysrecover srdelayed apply` on Windows disks built to match
# the real SYSTEM hives of the test data ($SYSRECOVER_TESTDATA/hives; the
# script SKIPs without it, and FAILs under SYSRECOVER_REQUIRE_TESTDATA=1):
#  - SYSTEM_WIN_10_1709: an MBR disk whose signature and partition offset are
#    what its MountedDevices says C: is, NTFS there, the hive at
#    Windows/System32/config/SYSTEM and every file its 101 pending renames
#    name;
#  - SYSTEM_B: the same on GPT (partition GUID from MountedDevices), with its
#    real (unusable) logs beside it;
#  - an srdelayed input file (written here by python, UTF-16LE) registered in
#    SetupExecute with hivexregedit, applied with success and with a short
#    name that fails.
# Expected results come from a model of Session Manager's rules written here
# over the pairs hivexget reads; the results are read with ntfsls/ntfscat,
# hivexget and hivexregedit.
#   srd_windows.sh SYSRECOVER [SYSRECOVER_ASAN]
set -u
S=$1
[ -n "${2:-}" ] && [ -x "$2" ] && S=$2
L=$(cd "$(dirname "$0")/../lib" && pwd)
. "$L/check.sh"
testdata hives
D=$TD
need python3 xz hivexget hivexregedit mkntfs ntfs-3g ntfscat ntfsls ntfsfix \
	sfdisk getfattr md5sum
workdir srdwin
SM='ControlSet001\Control\Session Manager'

# Pending pairs as hivexget prints them (one string per line, empty ones
# kept): "src<TAB>dst" lines; none when hivexget says the value is absent
# (any other failure of hivexget is a FAIL).
pairs() { # hive out
	: >"$2"
	if ! hivexget "$1" "$SM" PendingFileRenameOperations >"$w/pv" 2>"$w/pv.err"; then
		case "$(cat "$w/pv.err")" in
		*"PendingFileRenameOperations: key not found"*) return 0 ;;
		*) bad "hivexget-$(basename "$1")" "$(cat "$w/pv.err")"; return 1 ;;
		esac
	fi
	python3 -c '
import sys
s = open(sys.argv[1]).read().split("\n")
if s and s[-1] == "": s.pop()
for i in range(0, len(s) - 1, 2):
    print(s[i] + "\t" + s[i + 1])' "$w/pv" >"$2"
}

# Populate a mounted NTFS volume: the hive, and every path the pairs name
# (case-insensitively one tree, as Windows sees it); write the model's
# expected end state to $2.  Files hold their own path, so a move shows.
populate() { # pairs-file expected-file
	python3 - "$mnt" "$1" "$2" <<'EOF'
import os, sys
root, pairs, out = sys.argv[1], sys.argv[2], sys.argv[3]
made = {}           # lower-case path -> path as created
def nt(p):
    p = p.lstrip("!")
    assert p.startswith("\\??\\C:\\"), p
    return p[7:].replace("\\", "/")
def real(p):        # create parents case-insensitively
    parts, cur = p.split("/"), ""
    for c in parts:
        nxt = cur + "/" + c if cur else c
        cur = made.setdefault(nxt.lower(), made.get(nxt.lower(), nxt))
    return cur
def mkfile(p, data):
    r = real(p)
    os.makedirs(os.path.dirname(root + "/" + r), exist_ok=True)
    with open(root + "/" + r, "w") as f: f.write(data)
real("Windows/System32/config/SYSTEM")
ops = [l.rstrip("\n").split("\t") for l in open(pairs)]
dirs = set()
for s, d in ops:
    for p in [nt(s)] + ([nt(d)] if d else []):
        parts = p.split("/")
        for i in range(1, len(parts)):
            dirs.add("/".join(parts[:i]).lower())
state = {}          # lower path -> content (None = directory)
for s, d in ops:
    sp = nt(s)
    if sp.lower() in state: continue
    if not d and sp.lower() in dirs:
        os.makedirs(root + "/" + real(sp), exist_ok=True); state[sp.lower()] = None
    else:
        mkfile(sp, "src " + sp); state[sp.lower()] = "src " + sp
    if d.startswith("!") and nt(d).lower() not in state:
        mkfile(nt(d), "old " + nt(d)); state[nt(d).lower()] = "old " + nt(d)
for dd in dirs:
    state.setdefault(dd, None)
watched = set(state)
# Session Manager, pair by pair; a failed pair does not stop the rest.
failed = 0
for s, d in ops:
    sp = nt(s).lower()
    if sp not in state: failed += 1; continue
    if not d:
        if state[sp] is None and any(k.startswith(sp + "/") for k in state):
            failed += 1; continue
        del state[sp]; continue
    dp = nt(d).lower()
    if dp in state and not d.startswith("!"): failed += 1; continue
    real(nt(d)); state[dp] = state.pop(sp); watched.add(dp)
with open(out, "w") as f:
    f.write("failed %d\n" % failed)
    for k in sorted(watched):
        v = state.get(k, "<absent>") if k in state else "<absent>"
        f.write("%s\t%s\n" % (made.get(k, k), "<dir>" if v is None else v))
EOF
}

# What a volume holds at each watched path, read with ntfsls/ntfscat.  A
# path is "<absent>" only when the tool says so: ntfscat prints "Couldn't
# open inode: No such file", ntfsls exits 3 without a word (a volume it
# cannot open is exit 2); any other failure shows as itself and differs.
observe() { # part expected-file
	tail -n +2 "$2" | while IFS="$(printf '\t')" read -r p want; do
		if [ "$want" = "<dir>" ]; then
			ntfsls -f "$1" -p "/$p" >/dev/null 2>"$w/ls.err"
			case $? in
			0) echo "$p	<dir>" ;;
			3) echo "$p	<absent>" ;;
			*) echo "$p	<ntfsls failed: $(cat "$w/ls.err")>" ;;
			esac
		else
			echo "$p	$(ntcat "$1" "/$p")"
		fi
	done
}
# A file's content, or "<absent>" when ntfscat says there is no such file.
ntcat() { # part path
	_c=$(ntfscat -f "$1" "$2" 2>&1) && { printf '%s' "$_c"; return; }
	case "$_c" in
	*"Couldn't open inode: No such file"*) echo "<absent>" ;;
	*) echo "<ntfscat failed: $_c>" ;;
	esac
}
# A file of the volume copied out; a failing ntfscat is a FAIL.
ntget() { # name part path out
	check "$1" sh -c 'ntfscat -f "$1" "$2" >"$3"' - "$2" "$3" "$4"
}

# mkntfs a partition file, fill it through ntfs-3g, unmount.
mkpart() { # file MiB hive pairs-file expected-file
	truncate -s "$2M" "$1"
	mkntfs -F -Q -q "$1" >/dev/null 2>&1 || { bad mkntfs "$1"; return 1; }
	ntfs-3g "$1" "$mnt" || { bad ntfs-3g-mount "$1"; return 1; }
	populate "$4" "$5"
	mkdir -p "$mnt/Windows/System32/config"
	cp "$3" "$mnt/Windows/System32/config/SYSTEM"
	python3 "$L/mkhive.py" "$mnt/Windows/System32/config/SOFTWARE"
	for l in LOG1 LOG2; do
		[ -f "$3.$l" ] && cp "$3.$l" "$mnt/Windows/System32/config/SYSTEM.$l"
	done
	umount "$mnt"
}

# The partition back out of the disk image, for the ntfs tools.
part_of() { # disk start-MiB size-MiB out
	dd if="$1" of="$4" bs=1M skip="$2" count="$3" status=none
}

check_windows() { # name disk start-MiB size-MiB hive expected
	n=$1
	out=$("$S" srdelayed apply --json "$2@1" 2>"$w/$n.err")
	rc=$?
	printf '%s\n' "$out" >"$w/$n.json"
	# exit 1: pairs failed (the repeated ones), which is what the model says
	want_failed=$(head -1 "$6" | cut -d' ' -f2)
	want_rc=0; [ "$want_failed" -gt 0 ] && want_rc=1
	is "$n-exit" "$rc" "$want_rc"
	is "$n-failed-pairs" "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["failed"])' <"$w/$n.json" 2>&1)" "$want_failed"
	is "$n-ran-all" "$(python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["done"]+j["failed"])' <"$w/$n.json" 2>&1)" "$(wc -l <"$w/$n.pairs" | tr -d ' ')"
	part_of "$2" "$3" "$4" "$w/$n.part"
	observe "$w/$n.part" "$6" >"$w/$n.got"
	tail -n +2 "$6" >"$w/$n.want"
	if cmp -s "$w/$n.got" "$w/$n.want"; then
		ok "$n-tree ($(wc -l <"$w/$n.want" | tr -d ' ') paths: deletes, moves, replaces)"
	else
		bad "$n-tree" "$(diff "$w/$n.want" "$w/$n.got" | head -5)"
	fi
	ntget "$n-system-read" "$w/$n.part" /Windows/System32/config/SYSTEM "$w/$n.after"
	refuses "$n-value-cleared" "PendingFileRenameOperations: key not found" \
		hivexget "$w/$n.after" "$SM" PendingFileRenameOperations
	is "$n-hive-clean" "$(python3 -c 'import struct,sys; b=open(sys.argv[1],"rb").read(12); print(b[:4]==b"regf" and struct.unpack_from("<II",b,4)[0]==struct.unpack_from("<II",b,4)[1])' "$w/$n.after")" True
	is "$n-other-keys-kept" "$(hivexget "$w/$n.after" 'Select' Current)" "$(hivexget "$5" 'Select' Current)"
	out l ntfsls -f "$w/$n.part" -p /Windows/System32/config &&
		is "$n-no-logs-left" "$(printf '%s\n' "$l" | grep -c '^SYSTEM\.LOG')" 0
	out l ntfsls -f "$w/$n.part" -p / &&
		is "$n-no-journal-left" "$(printf '%s\n' "$l" | grep -c sysrecover)" 0
	check "$n-ntfsfix" ntfsfix -n "$w/$n.part"
}

for f in SYSTEM_WIN_10_1709 SYSTEM_B SYSTEM_B.LOG1 SYSTEM_B.LOG2; do
	xz -dc "$D/$f.xz" >"$w/$f" || { bad srd_windows-xz "$f"; exit 1; }
done

# ---- Windows 10 1709: MBR, signature df4546ae, C: at 0x1f500000 = 501 MiB
pairs "$w/SYSTEM_WIN_10_1709" "$w/w10.pairs"
is w10-pairs-read "$(wc -l <"$w/w10.pairs" | tr -d ' ')" 101
mkpart "$w/w10.ntfs" 64 "$w/SYSTEM_WIN_10_1709" "$w/w10.pairs" "$w/w10.expect"
truncate -s 600M "$w/w10.img"
printf 'label: dos\nlabel-id: 0xdf4546ae\nstart=1026048, size=131072, type=7\n' |
	sfdisk -q "$w/w10.img" >/dev/null
dd if="$w/w10.ntfs" of="$w/w10.img" bs=1M seek=501 conv=notrunc,sparse status=none
cp --sparse=always "$w/w10.img" "$w/w10dev.img"
check_windows w10 "$w/w10.img" 501 64 "$w/SYSTEM_WIN_10_1709" "$w/w10.expect"
# A second run finds nothing left to do.
out=$("$S" srdelayed apply "$w/w10.img@1" 2>&1)
is w10-rerun-nothing "$(echo "$out" | tail -1)" "0 done, 0 failed, 0 not reached, 0 skipped"
# The same disk as a block device with partition nodes (losetup -P): C: is
# /dev/loopNp1, whose own offset is 0; MountedDevices names it by the
# partition's start on the disk.  (It was not found: "no attached volume has
# MBR disk signature df4546ae, offset 0x1f500000".)
if loopdev w10dev "$w/w10dev.img" -P; then
	i=0; while [ ! -e "/sys/class/block/$(basename "$w10dev")p1" ] && [ $i -lt 20 ]; do
		sleep 0.1; i=$((i + 1)); done
	p1=${w10dev}p1
	mm=$(cat "/sys/class/block/$(basename "$w10dev")p1/dev" 2>/dev/null)
	if [ -n "$mm" ] && [ ! -b "$p1" ]; then   # no udev: make the node
		p1=$w/$(basename "$w10dev")p1
		mknod "$p1" b "${mm%%:*}" "${mm#*:}"
	fi
fi
if [ -z "${mm:-}" ]; then
	# this kernel makes no partitions of loop devices; tests/vm/apply-a.sh
	# boots the same disk layout as /dev/vdb1
	skip w10-partdev "the kernel made no partition node for $w10dev (losetup -P)"
else
	out=$("$S" srdelayed apply --json "$p1" 2>"$w/w10dev.err")
	rc=$?
	is w10-partdev-exit "$rc" "$(python3 -c 'import json,sys; print(1 if json.load(sys.stdin)["failed"] else 0)' <"$w/w10.json")"
	is w10-partdev-ran-all "$(printf '%s' "$out" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["done"]+j["failed"])' 2>&1)" \
		"$(wc -l <"$w/w10.pairs" | tr -d ' ')"
	ntget w10-partdev-system-read "$p1" /Windows/System32/config/SYSTEM "$w/w10dev.after"
	refuses w10-partdev-value-cleared "PendingFileRenameOperations: key not found" \
		hivexget "$w/w10dev.after" "$SM" PendingFileRenameOperations
	check w10-partdev-ntfsfix ntfsfix -n "$p1"
fi

# ---- SYSTEM_B: GPT, C: = partition 09931f21-7faf-44a9-81d8-1e73c14b9eaf.
# The hive is dirty.  With its real logs beside it (they cannot be replayed:
# their sequence numbers do not follow the hive's), the registry rule for
# writing is to refuse: nothing may change.  Without logs it is used, with a
# warning, like the Windows 10 one.
pairs "$w/SYSTEM_B" "$w/b.pairs"
is b-pairs-read "$(wc -l <"$w/b.pairs" | tr -d ' ')" 8
gpt_disk() { # disk ntfs
	truncate -s 64M "$1"
	printf 'label: gpt\nstart=2048, size=98304, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, uuid=09931F21-7FAF-44A9-81D8-1E73C14B9EAF\n' |
		sfdisk -q "$1" >/dev/null
	dd if="$2" of="$1" bs=1M seek=1 conv=notrunc,sparse status=none
}
cp "$w/SYSTEM_B" "$w/SYSTEM_BL"
cp "$w/SYSTEM_B.LOG1" "$w/SYSTEM_BL.LOG1"
cp "$w/SYSTEM_B.LOG2" "$w/SYSTEM_BL.LOG2"
mkpart "$w/bl.ntfs" 48 "$w/SYSTEM_BL" "$w/b.pairs" "$w/bl.expect"
gpt_disk "$w/bl.img" "$w/bl.ntfs"
sum=$(md5sum <"$w/bl.img")
"$S" srdelayed apply "$w/bl.img@1" >"$w/bl.out" 2>&1
is b-logs-refused-exit "$?" 2
has b-logs-refused-why "$(cat "$w/bl.out")" 'logs cannot be replayed'
is b-logs-refused-untouched "$(md5sum <"$w/bl.img")" "$sum"
cp "$w/SYSTEM_B" "$w/SYSTEM_BN"
mkpart "$w/b.ntfs" 48 "$w/SYSTEM_BN" "$w/b.pairs" "$w/b.expect"
gpt_disk "$w/b.img" "$w/b.ntfs"
check_windows b "$w/b.img" 1 48 "$w/SYSTEM_BN" "$w/b.expect"
has b-dirty-warned "$(cat "$w/b.json")" dirty

# ---- an srdelayed input file through SetupExecute -------------------------
# utf16 FILE RECORD...: RECORD = "F1|F2|F3|F4"; UTF-16LE, NUL-separated,
# one extra NUL at the end (the format in srd.h), written without our code.
utf16() {
	python3 - "$@" <<'EOF'
import sys
out = sys.argv[1]
s = "".join("\0".join(r.split("|")) + "\0" for r in sys.argv[2:]) + "\0"
open(out, "wb").write(s.encode("utf-16-le"))
EOF
}
fields4() { # file -> one line per record: "F1|F2|F3|F4"
	python3 -c '
import sys
u = open(sys.argv[1], "rb").read().decode("utf-16-le").split("\0")
for i in range(0, len(u) - 4, 4): print("|".join(u[i:i + 4]))' "$1"
}
setup_hive() { # hive input-nt-path
	cat >"$w/se.reg" <<EOF
Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\Session Manager]
"SetupExecute"=hex(7):$(python3 -c '
import sys
b = ("C:\\Windows\\System32\\srdelayed.exe " + sys.argv[1] + "\0\0").encode("utf-16-le")
print(",".join("%02x" % x for x in b))' "$2")
"PendingFileRenameOperations"=-

EOF
	hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SYSTEM' "$1" "$w/se.reg"
}
srd_case() { # name shortname want-sc3 want-result
	n=$1
	cp "$w/SYSTEM_WIN_10_1709" "$w/$n.hive"
	setup_hive "$w/$n.hive" '\??\C:\temp\Delayed%20Ops' || { bad "$n-reg" hivexregedit; return; }
	: >"$w/$n.pairs"
	truncate -s 64M "$w/$n.ntfs"
	mkntfs -F -Q -q "$w/$n.ntfs" >/dev/null 2>&1
	ntfs-3g "$w/$n.ntfs" "$mnt" || { bad "$n-mount" ntfs-3g; return; }
	mkdir -p "$mnt/Windows/System32/config" "$mnt/Stage" "$mnt/temp" "$mnt/Program Files"
	cp "$w/$n.hive" "$mnt/Windows/System32/config/SYSTEM"
	python3 "$L/mkhive.py" "$mnt/Windows/System32/config/SOFTWARE"
	echo new >"$mnt/Stage/a.dll"; echo old >"$mnt/temp/a.dll"
	echo gone >"$mnt/temp/b.dll"; echo long >"$mnt/Program Files/ShortFileName.dll"
	echo after >"$mnt/temp/c.dll"
	utf16 "$mnt/temp/Delayed Ops" \
		'MoveFile|\??\C:\Stage\a.dll|\??\C:\temp\a.dll|NotExecuted' \
		'DeleteFile|Unused|\??\C:\temp\b.dll|NotExecuted' \
		"SetFileShortName|$2|\\??\\C:Program%20Files\\ShortFileName.dll\\|NotExecuted" \
		'DeleteFile|Unused|\??\C:\temp\c.dll|NotExecuted'
	umount "$mnt"
	truncate -s 600M "$w/$n.img"
	printf 'label: dos\nlabel-id: 0xdf4546ae\nstart=1026048, size=131072, type=7\n' |
		sfdisk -q "$w/$n.img" >/dev/null
	dd if="$w/$n.ntfs" of="$w/$n.img" bs=1M seek=501 conv=notrunc,sparse status=none
	"$S" srdelayed apply "$w/$n.img@1" >"$w/$n.out" 2>&1
	part_of "$w/$n.img" 501 64 "$w/$n.part"
	ntget "$n-queue-read" "$w/$n.part" "/temp/Delayed Ops" "$w/$n.q"
	is "$n-statuses" "$(fields4 "$w/$n.q" | cut -d'|' -f4 | tr '\n' ' ')" \
		"SC=00000000 SC=00000000 $3 SC=00000000 "
	is "$n-other-fields-kept" "$(fields4 "$w/$n.q" | cut -d'|' -f1-3 | md5sum)" \
		"$(printf '%s\n' 'MoveFile|\??\C:\Stage\a.dll|\??\C:\temp\a.dll' 'DeleteFile|Unused|\??\C:\temp\b.dll' \
		"SetFileShortName|$2|\\??\\C:Program%20Files\\ShortFileName.dll\\" 'DeleteFile|Unused|\??\C:\temp\c.dll' | md5sum)"
	is "$n-moved" "$(ntfscat -f "$w/$n.part" /temp/a.dll 2>&1)" new
	is "$n-source-gone" "$(ntcat "$w/$n.part" /Stage/a.dll)" "<absent>"
	is "$n-deleted" "$(ntcat "$w/$n.part" /temp/b.dll)" "<absent>"
	is "$n-went-on" "$(ntcat "$w/$n.part" /temp/c.dll)" "<absent>"
	ntget "$n-software-read" "$w/$n.part" /Windows/System32/config/SOFTWARE "$w/$n.sw"
	K='Microsoft\Windows NT\CurrentVersion\SystemRestore'
	is "$n-RestoreStatusResult" "$(hivexget "$w/$n.sw" "$K" RestoreStatusResult 2>&1)" "$4"
	if [ "$5" = none ]; then
		refuses "$n-RestoreStatusDetails" "RestoreStatusDetails: key not found" \
			hivexget "$w/$n.sw" "$K" RestoreStatusDetails
	else
		is "$n-RestoreStatusDetails" "$(hivexget "$w/$n.sw" "$K" RestoreStatusDetails 2>&1)" "$5"
	fi
	ntget "$n-system-read" "$w/$n.part" /Windows/System32/config/SYSTEM "$w/$n.sys"
	# (the value may be gone, or kept with other programs' entries)
	if _se=$(hivexget "$w/$n.sys" "$SM" SetupExecute 2>&1) ||
		printf '%s' "$_se" | grep -q 'SetupExecute: key not found'; then
		is "$n-setupexecute-removed" "$(printf '%s\n' "$_se" | grep -c 'srdelayed\.exe')" 0
	else
		bad "$n-setupexecute-removed" "hivexget: $_se"
	fi
}
srd_case srd-ok SHORTF~1.DLL SC=00000000 0 none
# the short name now exists: with ntfs-3g's view of the file
if ntfs-3g -o ro "$w/srd-ok.part" "$mnt"; then
	is srd-ok-shortname "$(getfattr --absolute-names -h --only-values -n system.ntfs_dos_name "$mnt/Program Files/ShortFileName.dll" 2>&1)" SHORTF~1.DLL
	umount "$mnt"
else
	bad srd-ok-shortname "cannot mount"
fi
# "A B.DLL" has a space: invalid 8.3 (MS-FSCC) -> 87, and the run goes on
srd_case srd-badname 'A B.DLL' SC=00000057 87 1

finish
