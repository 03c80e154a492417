#!/bin/sh
# hive_rules.sh - KeysNotToRestore (hive merge), MountedDevices and
# FilesNotToBackup, checked with tools we did not write: hivexget/hivexml/
# hivexregedit (libhivex), regfinfo/regfexport (libregf), sfdisk and python3
# (which decodes hivexget's hex output itself).
#   hive_rules.sh SYSRECOVER [SYSRECOVER_ASAN]
# Part 1 builds its own SYSTEM hives (tests/lib/mkhive.py + hivexregedit)
# and runs on any clone; part 2 checks the real Windows hives (`testdata
# hives`) and SKIPs without them.
set -u
. "$(dirname "$0")/../lib/check.sh"
SR=${2:-$1}
[ -x "$SR" ] || SR=$1
L=$(cd "$(dirname "$0")/../lib" && pwd)
workdir hive-rules
need hivexget hivexml hivexregedit regfinfo regfexport sfdisk python3 xz

# python helpers: decode hivexget's "name"=hex(N):.. / dword: / "str" lines.
cat >"$w/hx.py" <<'EOF'
import re, subprocess, sys, json, struct, uuid
def values(hive, key):
    out = subprocess.run(["hivexget", hive, key], capture_output=True, check=True).stdout.decode("utf-8", "replace")
    vals = {}
    for line in re.split(r"\n(?=\")", out.strip()):
        m = re.match(r'"((?:[^"\\]|\\.)*)"=(.*)', line, re.S)
        if not m:
            continue
        name = m.group(1).replace("\\\\", "\\").replace('\\"', '"')
        v = m.group(2).replace("\\\n", "").replace("\n", "")
        if v.startswith("hex("):
            t, data = v[4:].split("):", 1)
            vals[name] = (int(t, 16), bytes.fromhex(data.replace(",", "").strip()))
        elif v.startswith("dword:"):
            vals[name] = (4, struct.pack("<I", int(v[6:], 16)))
        else:
            vals[name] = (1, v.strip('"'))
    return vals
def multi(b):
    return [s for s in b.decode("utf-16le").split("\0") if s]
EOF

# ==== 1. SYSTEM hives of our own ============================================
msz() { python3 -c 'import sys; b="".join(s+"\0" for s in sys.argv[1:]).encode("utf-16le")+b"\0\0"; print(",".join("%02x"%c for c in b))' "$@"; }
u16() { python3 -c 'import sys; print(",".join("%02x"%c for c in sys.argv[1].encode("utf-16le")))' "$1"; }
GPTG=0b1a2c3d-4e5f-4071-8293-a4b5c6d7e8f9
gpt_hex=$(python3 -c 'import uuid,sys; print(",".join("%02x"%c for c in b"DMIO:ID:"+uuid.UUID(sys.argv[1]).bytes_le))' "$GPTG")
# The backup ("restored") hive: rules, MountedDevices in all three forms,
# services, FilesNotToBackup.
python3 "$L/mkhive.py" "$w/B" SYSTEM
cat >"$w/b.reg" <<EOF
Windows Registry Editor Version 5.00

[\\Select]
"Current"=dword:00000001
"Default"=dword:00000001

[\\MountedDevices]
"\\\\DosDevices\\\\C:"=hex(3):44,33,22,11,00,00,10,00,00,00,00,00
"\\\\DosDevices\\\\A:"=hex(3):$(u16 '\??\FDC#GENERIC_FLOPPY_DRIVE')
"\\\\??\\\\Volume{$GPTG}"=hex(3):$gpt_hex

[\\ControlSet001]

[\\ControlSet001\\Control]

[\\ControlSet001\\Control\\Session Manager]
"PendingFileRenameOperations"=hex(7):$(msz '\??\C:\old.tmp' '')

[\\ControlSet001\\Control\\Session Manager\\Environment]
"TEMP"="C:\\\\Windows\\\\TEMP"

[\\ControlSet001\\Control\\BackupRestore]

[\\ControlSet001\\Control\\BackupRestore\\KeysNotToRestore]
"Mount Manager"=hex(7):$(msz 'MountedDevices\')
"Session Manager"=hex(7):$(msz 'CurrentControlSet\Control\Session Manager\PendingFileRenameOperations')

[\\ControlSet001\\Control\\BackupRestore\\FilesNotToBackup]
"Test"=hex(7):$(msz '\Pagefile.sys' '%TEMP%\* /s' '%UserProfile%\index.dat /s')

[\\ControlSet001\\Services]

[\\ControlSet001\\Services\\Beep]
"Start"=dword:00000001

[\\ControlSet001\\Services\\Parport]
"Start"=dword:00000003

[\\ControlSet001\\Services\\Null]
"Start"=dword:00000001
EOF
check "own: hivexregedit builds the backup" hivexregedit --merge "$w/B" "$w/b.reg"
# The current hive: the backup, changed.
cp "$w/B" "$w/C"
cat >"$w/c.reg" <<EOF
Windows Registry Editor Version 5.00

[\\MountedDevices]
"\\\\DosDevices\\\\C:"=hex(3):88,77,66,55,00,00,10,00,00,00,00,00
"\\\\DosDevices\\\\Z:"=hex(3):$gpt_hex
"\\\\DosDevices\\\\A:"=-

[\\ControlSet001\\Control\\Session Manager]
"PendingFileRenameOperations"=hex(7):$(msz '\??\C:\new.tmp' '' '\??\C:\x.new' '!\??\C:\x.dll')

[\\ControlSet001\\Control\\BackupRestore\\KeysNotToRestore]
"Installed Services"=hex(7):$(msz 'CurrentControlSet\Services\*')

[\\ControlSet001\\Services\\Beep]
"Start"=dword:00000004

[\\ControlSet001\\Services\\Parport]
"Start"=dword:00000002

[-\\ControlSet001\\Services\\Null]

[\\ControlSet001\\Services\\SrTestNew]
"Start"=dword:00000003
EOF
check "own: hivexregedit makes the current hive" hivexregedit --merge "$w/C" "$w/c.reg"
sha256sum "$w/C" "$w/B" >"$w/own.sums"

check "own: merge --dry-run" "$SR" hive merge --current "$w/C" --restored "$w/B" -o "$w/own.dry" --dry-run
check "own: dry run wrote nothing" sh -c "[ ! -e '$w/own.dry' ] && sha256sum -c --quiet '$w/own.sums'"
check "own: merge" sh -c "'$SR' hive merge --current '$w/C' --restored '$w/B' -o '$w/own.hiv' --json >'$w/own.json'"
check "own: merge left CUR and REST alone" sha256sum -c --quiet "$w/own.sums"
check "own: no staging files left" sh -c "! ls '$w' | grep -q sysrecover-merge"
refuses "own: merge refuses an existing OUT" "exists: merge writes a new file" \
	"$SR" hive merge --current "$w/C" --restored "$w/B" -o "$w/own.hiv"
"$SR" hive merge --current "$w/C" --restored "$w/B" -o "$w/own.hiv" >/dev/null 2>&1
is "own: existing OUT exits 64" "$?" 64
check "own: merge report" python3 - "$w/own.json" <<'EOF'
import sys, json
j = json.load(open(sys.argv[1]))
r = {x["entry"]: x for x in j["rules"]}
assert r["MountedDevices\\"]["outcome"] == "kept", r["MountedDevices\\"]
p = r["CurrentControlSet\\Control\\Session Manager\\PendingFileRenameOperations"]
assert p["outcome"] == "kept" and p["from"] == "both", p
s = r["CurrentControlSet\\Services\\*"]
assert s["outcome"] == "merged" and s["from"] == "current" and s["backup_keys"] == 1, s
assert j["counts"]["failed"] == 0 and j["counts"]["ignored"] == 0, j["counts"]
EOF
check "own: output loads in regfinfo" regfinfo "$w/own.hiv"
check "own: MountedDevices is the current one" python3 - "$w/own.hiv" "$w/C" <<'EOF'
import sys; sys.path.insert(0, sys.argv[1].rsplit("/", 1)[0]); from hx import *
a, b = values(sys.argv[1], "MountedDevices"), values(sys.argv[2], "MountedDevices")
assert a == b and "\\DosDevices\\Z:" in a and "\\DosDevices\\A:" not in a, (a, b)
EOF
check "own: PendingFileRenameOperations is the current one" python3 - "$w/own.hiv" "$w/C" <<'EOF'
import sys; sys.path.insert(0, sys.argv[1].rsplit("/", 1)[0]); from hx import *
k = "ControlSet001\\Control\\Session Manager"
a, b = values(sys.argv[1], k)["PendingFileRenameOperations"], values(sys.argv[2], k)["PendingFileRenameOperations"]
assert a == b and multi(a[1])[0] == "\\??\\C:\\new.tmp", (a, b)
EOF
check "own: \\* keeps current, adds backup-only Null" python3 - "$w/own.hiv" "$w/B" <<'EOF'
import sys; sys.path.insert(0, sys.argv[1].rsplit("/", 1)[0]); from hx import *
o, bk = sys.argv[1], sys.argv[2]
assert values(o, "ControlSet001\\Services\\Null") == values(bk, "ControlSet001\\Services\\Null")
assert values(o, "ControlSet001\\Services\\Beep")["Start"][1] == struct.pack("<I", 4)
assert values(o, "ControlSet001\\Services\\Parport")["Start"][1] == struct.pack("<I", 2)
assert values(o, "ControlSet001\\Services\\SrTestNew")["Start"][1] == struct.pack("<I", 3)
EOF
check "own: merge --kntr-merge=vss" "$SR" hive merge --current "$w/C" --restored "$w/B" -o "$w/own-vss.hiv" --kntr-merge=vss
check "own: vss keeps the lower Start" python3 - "$w/own-vss.hiv" <<'EOF'
import sys; sys.path.insert(0, sys.argv[1].rsplit("/", 1)[0]); from hx import *
o = sys.argv[1]
assert values(o, "ControlSet001\\Services\\Beep")["Start"][1] == struct.pack("<I", 1)
assert values(o, "ControlSet001\\Services\\Parport")["Start"][1] == struct.pack("<I", 2)
assert "Start" in values(o, "ControlSet001\\Services\\SrTestNew")
EOF
"$SR" hive merge --current "$w/C" --restored "$w/B" -o "$w/own-x.hiv" --kntr-merge=xp >/dev/null 2>&1
is "own: bad --kntr-merge exits 64" "$?" 64
# An invalid rule is ignored, and the exit status says so (1).
cp "$w/C" "$w/C3"
cat >"$w/c3.reg" <<EOF
Windows Registry Editor Version 5.00

[\\ControlSet001\\Control\\BackupRestore\\KeysNotToRestore]
"Bad"=hex(7):$(msz 'HKLM\SYSTEM\')
EOF
check "own: hivexregedit adds an invalid rule" hivexregedit --merge "$w/C3" "$w/c3.reg"
"$SR" hive merge --current "$w/C3" --restored "$w/B" -o "$w/own3.hiv" >"$w/own3.txt" 2>&1
is "own: ignored rule exits 1" "$?" 1
check "own: ignored rule reported" grep -q '^ignored .*HKLM' "$w/own3.txt"
check "own: ignored rule says why" grep -q 'names the whole SYSTEM hive' "$w/own3.txt"
# A key missing in current stays missing in the output.
cp "$w/C" "$w/C2"
printf 'Windows Registry Editor Version 5.00\n\n[-\\MountedDevices]\n' >"$w/c2.reg"
check "own: hivexregedit deletes MountedDevices" hivexregedit --merge "$w/C2" "$w/c2.reg"
check "own: merge with MountedDevices missing in current" "$SR" hive merge --current "$w/C2" --restored "$w/B" -o "$w/own2.hiv"
refuses "own: missing in current -> missing in output" "MountedDevices' not found" hivexget "$w/own2.hiv" MountedDevices
check "own: output still has Select" hivexget "$w/own2.hiv" Select Current

# -- MountedDevices: decoded as hivexget shows it --
check "own: mounted --json" sh -c "'$SR' hive mounted '$w/B' --json >'$w/own.md.json'"
check "own: mounted equals hivexget" python3 - "$w/B" "$w/own.md.json" <<'EOF'
import sys, json; sys.path.insert(0, sys.argv[1].rsplit("/", 1)[0]); from hx import *
want = values(sys.argv[1], "MountedDevices")
got = {e["name"]: e for e in json.load(open(sys.argv[2]))}
assert set(want) == set(got) and len(got) == 3, (set(want) ^ set(got))
kinds = sorted(e["kind"] for e in got.values())
assert kinds == ["device", "gpt", "mbr"], kinds
for name, (t, d) in want.items():
    e = got[name]
    assert bytes.fromhex(e["data"]) == d, name
    if e["kind"] == "mbr":
        sig, off = struct.unpack("<IQ", d)
        assert e["signature"] == "%08x" % sig and e["offset"] == off, e
    elif e["kind"] == "gpt":
        assert e["guid"] == str(uuid.UUID(bytes_le=d[8:])), e
    else:
        assert e["device"] == d.decode("utf-16le").rstrip("\0"), e
EOF
out mt "$SR" hive mounted "$w/B" && has "own: mounted text names the GPT GUID" "$mt" "GPT partition $GPTG"
# -- the resolver, against disk images built to match --
truncate -s 16M "$w/own-mbr.img"
printf 'label: dos\nlabel-id: 0x11223344\nstart=2048, size=4096, type=7\nstart=8192, size=4096, type=7\n' |
	sfdisk -q "$w/own-mbr.img" >/dev/null 2>&1
truncate -s 16M "$w/own-gpt.img"
printf 'label: gpt\nstart=2048, size=4096, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\nstart=6144, size=4096, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, uuid=%s\n' "$GPTG" |
	sfdisk -q "$w/own-gpt.img" >/dev/null 2>&1
out r1 "$SR" hive mounted "$w/B" --resolve C: "$w/own-gpt.img" "$w/own-mbr.img" &&
	has "own: resolve C: (MBR, 1 MiB) -> own-mbr.img@1" "$r1" "own-mbr.img@1"
out r2 "$SR" hive mounted "$w/B" --resolve "Volume{$GPTG}" "$w/own-mbr.img" "$w/own-gpt.img" &&
	has "own: resolve Volume{GUID} (GPT) -> own-gpt.img@2" "$r2" "own-gpt.img@2"
check "own: resolve --json" sh -c "'$SR' hive mounted '$w/B' --json --resolve C: '$w/own-mbr.img' | python3 -c 'import json,sys; j=json.load(sys.stdin); assert j[0][\"volume\"].endswith(\"own-mbr.img@1\")'"
refuses "own: resolve A: (device string) fails clearly" "names no disk partition" "$SR" hive mounted "$w/B" --resolve A: "$w/own-mbr.img"
refuses "own: resolve Q: (absent) fails clearly" "Q:: no such value in MountedDevices" "$SR" hive mounted "$w/B" --resolve Q: "$w/own-mbr.img"
refuses "own: resolve on another disk fails" "no attached volume has" "$SR" hive mounted "$w/B" --resolve C: "$w/own-gpt.img"

# -- FilesNotToBackup --
check "own: files-not-to-backup --json" sh -c "'$SR' hive files-not-to-backup '$w/B' --json >'$w/own.fntb.json'"
check "own: files-not-to-backup rules" python3 - "$w/own.fntb.json" <<'EOF'
import sys, json
j = json.load(open(sys.argv[1]))
r = {x["entry"]: x for x in j["rules"]}
sk = {x["entry"]: x["why"] for x in j["skipped"]}
assert set(r) == {"\\Pagefile.sys", "%TEMP%\\* /s"} and "%UserProfile%\\index.dat /s" in sk, (r, sk)
pf = r["\\Pagefile.sys"]
assert pf["drive"] is None and pf["dir"] == "\\" and pf["pattern"] == "Pagefile.sys" and not pf["recursive"]
t = r["%TEMP%\\* /s"]
assert t["drive"] == "C" and t["dir"] == "\\Windows\\TEMP" and t["recursive"], t
assert j["systemroot"] == "C:\\Windows" and j["systemroot_source"] == "default"
EOF
"$SR" hive files-not-to-backup "$w/B" >"$w/own.fntb.txt" 2>&1
is "own: files-not-to-backup exit (skips are warnings)" "$?" 0
check "own: skipped entry warned" grep -q "warning: FilesNotToBackup \[Test\] '%UserProfile%.*' skipped" "$w/own.fntb.txt"

# ==== 2. the real Windows hives =============================================
testdata hives
for h in SYSTEM SYSTEM_WIN_10_1709 SYSTEM_B; do
	xz -dc "$TD/$h.xz" >"$w/$h" || { bad "xz-$h" "cannot unpack"; finish; exit; }
done

# ---- KeysNotToRestore rules = what hivexget shows --------------------------
for h in SYSTEM SYSTEM_WIN_10_1709 SYSTEM_B; do
	check "merge --dry-run of $h" sh -c "'$SR' hive merge --current '$w/$h' --restored '$w/$h' --dry-run --json >'$w/$h.kntr.json'"
	check "kntr rules of $h equal hivexget" python3 - "$w/$h" "$w/$h.kntr.json" <<'EOF'
import sys, json; sys.path.insert(0, sys.argv[1].rsplit("/", 1)[0]); from hx import *
h = sys.argv[1]
cs = struct.unpack("<I", values(h, "Select")["Current"][1])[0]
want = set()
for name, (t, d) in values(h, "ControlSet%03d\\Control\\BackupRestore\\KeysNotToRestore" % cs).items():
    for s in multi(d):
        want.add((name, s))
got = {(r["component"], r["entry"]) for r in json.load(open(sys.argv[2]))["rules"]}
print("want", sorted(want)); print("got", sorted(got))
assert want == got and len(want) >= 5
EOF
done

# ---- MountedDevices = what hivexget shows, decoded independently -----------
for h in SYSTEM SYSTEM_WIN_10_1709 SYSTEM_B; do
	check "mounted of $h" sh -c "'$SR' hive mounted '$w/$h' --json >'$w/$h.md.json'"
	check "mounted devices of $h equal hivexget" python3 - "$w/$h" "$w/$h.md.json" <<'EOF'
import sys, json; sys.path.insert(0, sys.argv[1].rsplit("/", 1)[0]); from hx import *
want = values(sys.argv[1], "MountedDevices")
got = {e["name"]: e for e in json.load(open(sys.argv[2]))}
assert set(want) == set(got), (set(want) ^ set(got))
for name, (t, d) in want.items():
    e = got[name]
    assert bytes.fromhex(e["data"]) == d, name
    if len(d) == 12:
        sig, off = struct.unpack("<IQ", d)
        assert e["kind"] == "mbr" and e["signature"] == "%08x" % sig and e["offset"] == off, e
    elif len(d) == 24 and d[:8] == b"DMIO:ID:":
        assert e["kind"] == "gpt" and e["guid"] == str(uuid.UUID(bytes_le=d[8:])), e
    else:
        assert e["kind"] == "device" and e["device"] == d.decode("utf-16le").rstrip("\0"), e
print(len(want), "values")
EOF
done
check "SYSTEM_B C: is the GPT form" grep -q '"name": "\\\\DosDevices\\\\C:", "kind": "gpt"' "$w/SYSTEM_B.md.json"

# ---- merge on real hives: SYSTEM is the backup, a changed copy the current --
cp "$w/SYSTEM" "$w/cur"
msz() { python3 -c 'import sys; b="".join(s+"\0" for s in sys.argv[1:]).encode("utf-16le")+b"\0\0"; print(",".join("%02x"%c for c in b))' "$@"; }
cat >"$w/cur.reg" <<EOF
Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\\SYSTEM\\MountedDevices]
"\\\\DosDevices\\\\C:"=hex(3):11,22,33,44,00,00,10,00,00,00,00,00
"\\\\DosDevices\\\\Z:"=hex(3):44,4d,49,4f,3a,49,44,3a,00,11,22,33,44,55,66,77,88,99,aa,bb,cc,dd,ee,ff
"\\\\DosDevices\\\\A:"=-

[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\Session Manager]
"PendingFileRenameOperations"=hex(7):$(msz '\??\C:\temp\a.tmp' '' '\??\C:\x.new' '!\??\C:\x.dll')

[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\Beep]
"Start"=dword:00000004

[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\Parport]
"Start"=dword:00000002

[-HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\Null]

[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\SrTestNew]
"Start"=dword:00000003

[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\BackupRestore\\KeysNotToRestore]
"Installed Services"=hex(7):$(msz 'CurrentControlSet\Services\*')
EOF
check "hivexregedit makes the current hive" hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SYSTEM' "$w/cur" "$w/cur.reg"
sha256sum "$w/cur" "$w/SYSTEM" >"$w/sums"

check "merge --dry-run" "$SR" hive merge --current "$w/cur" --restored "$w/SYSTEM" -o "$w/dry" --dry-run
check "dry run wrote nothing" sh -c "[ ! -e '$w/dry' ] && sha256sum -c --quiet '$w/sums'"
check "merge" sh -c "'$SR' hive merge --current '$w/cur' --restored '$w/SYSTEM' -o '$w/out.hiv' --json >'$w/merge.json'"
check "merge left CUR and REST alone" sha256sum -c --quiet "$w/sums"
refuses "merge refuses an existing OUT" "exists: merge writes a new file" "$SR" hive merge --current "$w/cur" --restored "$w/SYSTEM" -o "$w/out.hiv"
check "merge report: kept/merged/left alone" python3 - "$w/merge.json" <<'EOF'
import sys, json
r = {x["entry"]: x for x in json.load(open(sys.argv[1]))["rules"]}
assert r["MountedDevices\\"]["outcome"] == "kept", r["MountedDevices\\"]
p = r["CurrentControlSet\\Control\\Session Manager\\PendingFileRenameOperations"]
assert p["outcome"] == "kept" and p["from"] == "both", p
s = r["CurrentControlSet\\Services\\*"]
assert s["outcome"] == "merged" and s["from"] == "current" and s["backup_keys"] == 1, s
assert r["CurrentControlSet\\Control\\MSDTC\\ASR\\"]["outcome"] in ("left alone", "missing")
EOF
check "output loads in hivex" hivexget "$w/out.hiv" Select Current
check "output loads in regfinfo" regfinfo "$w/out.hiv"
check "output exports with regfexport" sh -c "regfexport '$w/out.hiv' >'$w/out.export' 2>&1 && grep -q 'SrTestNew' '$w/out.export'"
check "\\ subtree (MountedDevices) is the current one" python3 - "$w/out.hiv" "$w/cur" <<'EOF'
import sys; sys.path.insert(0, sys.argv[1].rsplit("/", 1)[0]); from hx import *
a, b = values(sys.argv[1], "MountedDevices"), values(sys.argv[2], "MountedDevices")
assert a == b and "\\DosDevices\\Z:" in a and "\\DosDevices\\A:" not in a
EOF
check "value (PendingFileRenameOperations) is the current one" python3 - "$w/out.hiv" "$w/cur" <<'EOF'
import sys; sys.path.insert(0, sys.argv[1].rsplit("/", 1)[0]); from hx import *
k = "ControlSet001\\Control\\Session Manager"
a, b = values(sys.argv[1], k)["PendingFileRenameOperations"], values(sys.argv[2], k)["PendingFileRenameOperations"]
assert a == b and multi(a[1])[0] == "\\??\\C:\\temp\\a.tmp", (a, b)
EOF
check "\\* (Services): backup-only Null added, current values kept" python3 - "$w/out.hiv" "$w/SYSTEM" <<'EOF'
import sys; sys.path.insert(0, sys.argv[1].rsplit("/", 1)[0]); from hx import *
o, bk = sys.argv[1], sys.argv[2]
assert values(o, "ControlSet001\\Services\\Null") == values(bk, "ControlSet001\\Services\\Null")
assert values(o, "ControlSet001\\Services\\Beep")["Start"][1] == struct.pack("<I", 4)
assert values(o, "ControlSet001\\Services\\Parport")["Start"][1] == struct.pack("<I", 2)
assert values(o, "ControlSet001\\Services\\SrTestNew")["Start"][1] == struct.pack("<I", 3)
EOF
# Everything outside the rules' subtrees: identical hivexml (without the
# byte_runs, which are file offsets, not content).
cat >"$w/strip.py" <<'EOF'
import sys, xml.etree.ElementTree as ET
t = ET.parse(sys.argv[1]).getroot()
for e in t.iter():
    for c in [c for c in e if c.tag == "byte_runs"]:
        e.remove(c)
def walk(e, path):
    for c in list(e):
        if c.tag == "byte_runs":
            e.remove(c); continue
        if c.tag == "node":
            p = path + [c.get("name").lower()]  # path[1] is the root's name
            if p[2:] in (["mounteddevices"], ["controlset001", "services"]):
                e.remove(c); continue
            walk(c, p)
        elif c.tag == "value" and path[2:] == ["controlset001", "control", "session manager"] \
                and c.get("key").lower() == "pendingfilerenameoperations":
            e.remove(c)
walk(t, [""])
sys.stdout.write(ET.tostring(t, encoding="unicode"))
EOF
check "hivexml reads both" sh -c "hivexml '$w/SYSTEM' >'$w/a.xml' && hivexml '$w/out.hiv' >'$w/b.xml'"
check "strip.py on both" sh -c "python3 '$w/strip.py' '$w/a.xml' >'$w/a.s' && python3 '$w/strip.py' '$w/b.xml' >'$w/b.s'"
check "every other key byte-identical to the backup (hivexml)" cmp "$w/a.s" "$w/b.s"

check "merge --kntr-merge=vss" "$SR" hive merge --current "$w/cur" --restored "$w/SYSTEM" -o "$w/vss.hiv" --kntr-merge=vss
check "vss: restored Start kept unless current is lower" python3 - "$w/vss.hiv" "$w/SYSTEM" <<'EOF'
import sys; sys.path.insert(0, sys.argv[1].rsplit("/", 1)[0]); from hx import *
o, bk = sys.argv[1], sys.argv[2]
assert values(o, "ControlSet001\\Services\\Beep")["Start"][1] == struct.pack("<I", 1)
assert values(o, "ControlSet001\\Services\\Parport")["Start"][1] == struct.pack("<I", 2)
assert values(o, "ControlSet001\\Services\\Null") == values(bk, "ControlSet001\\Services\\Null")
assert "Start" in values(o, "ControlSet001\\Services\\SrTestNew")
EOF
check "vss output loads in regfinfo" regfinfo "$w/vss.hiv"

# A rule whose key is missing in current keeps it missing in the output.
cat >"$w/cur2.reg" <<'EOF'
Windows Registry Editor Version 5.00

[-HKEY_LOCAL_MACHINE\SYSTEM\MountedDevices]
EOF
cp "$w/SYSTEM" "$w/cur2"
check "hivexregedit deletes MountedDevices" hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SYSTEM' "$w/cur2" "$w/cur2.reg"
check "merge with MountedDevices missing in current" "$SR" hive merge --current "$w/cur2" --restored "$w/SYSTEM" -o "$w/out2.hiv"
refuses "missing in current -> missing in output" "MountedDevices' not found" hivexget "$w/out2.hiv" MountedDevices
check "output still has Select" hivexget "$w/out2.hiv" Select Current

# ---- FilesNotToBackup: every real entry is a rule, skipped or ignored -------
for h in SYSTEM SYSTEM_WIN_10_1709 SYSTEM_B; do
	check "files-not-to-backup of $h" sh -c "'$SR' hive files-not-to-backup '$w/$h' --json >'$w/$h.fntb.json'"
	check "files-not-to-backup of $h covers hivexget" python3 - "$w/$h" "$w/$h.fntb.json" <<'EOF'
import sys, json; sys.path.insert(0, sys.argv[1].rsplit("/", 1)[0]); from hx import *
h = sys.argv[1]
cs = struct.unpack("<I", values(h, "Select")["Current"][1])[0]
want = set()
for name, (t, d) in values(h, "ControlSet%03d\\Control\\BackupRestore\\FilesNotToBackup" % cs).items():
    for s in multi(d):
        want.add((name, s))
j = json.load(open(sys.argv[2]))
got = {(r["component"], r["entry"]) for r in j["rules"]} | {(r["component"], r["entry"]) for r in j["skipped"]}
assert want == got, want ^ got
sk = {r["entry"]: r["why"] for r in j["skipped"]}
assert "%UserProfile%\\index.dat /s" in sk, sk
assert j["systemroot"] == "C:\\Windows" and j["systemroot_source"] == "default"
r = {x["entry"]: x for x in j["rules"]}
pf = r["\\Pagefile.sys"]
assert pf["drive"] is None and pf["dir"] == "\\" and pf["pattern"] == "Pagefile.sys" and not pf["recursive"]
t = r["%TEMP%\\* /s"]
assert t["drive"] == "C" and t["dir"].lower() == "\\windows\\temp" and t["recursive"]
EOF
done

# ---- MountedDevices resolver against disk images built to match -------------
# MBR: SYSTEM_WIN_10_1709's \DosDevices\C: (signature bytes ae 46 45 df, i.e.
# the LE dword 0xdf4546ae that libblkid and sfdisk show, offset 0x1f500000).
python3 - "$w/SYSTEM_WIN_10_1709" >"$w/mbr.env" <<'EOF'
import sys; sys.path.insert(0, sys.argv[1].rsplit("/", 1)[0]); from hx import *
d = values(sys.argv[1], "MountedDevices")["\\DosDevices\\C:"][1]
sig, off = struct.unpack("<IQ", d)
print("SIG=0x%08x START=%d" % (sig, off // 512))
EOF
. "$w/mbr.env"
truncate -s $(( (START + 8192) * 512 )) "$w/mbr.img"
printf 'label: dos\nlabel-id: %s\nstart=2048, size=4096, type=7\nstart=%s, size=4096, type=7\n' "$SIG" "$START" |
	sfdisk -q "$w/mbr.img" >/dev/null 2>&1
check "MBR image signature bytes equal the hive's" python3 - "$w/SYSTEM_WIN_10_1709" "$w/mbr.img" <<'EOF'
import sys; sys.path.insert(0, sys.argv[1].rsplit("/", 1)[0]); from hx import *
d = values(sys.argv[1], "MountedDevices")["\\DosDevices\\C:"][1]
f = open(sys.argv[2], "rb"); f.seek(0x1b8); assert f.read(4) == d[:4]
j = json.loads(subprocess.run(["sfdisk", "--json", sys.argv[2]], capture_output=True).stdout)
assert j["partitiontable"]["partitions"][1]["start"] * 512 == struct.unpack("<Q", d[4:])[0]
EOF
check "resolve C: (MBR) -> mbr.img@2" sh -c "'$SR' hive mounted '$w/SYSTEM_WIN_10_1709' --resolve C: '$w/mbr.img' | grep -q 'mbr.img@2'"
check "resolve \\DosDevices\\E: (MBR, offset 1 MiB) -> mbr.img@1" sh -c "'$SR' hive mounted '$w/SYSTEM_WIN_10_1709' --resolve '\\DosDevices\\E:' '$w/mbr.img' | grep -q 'mbr.img@1'"
refuses "resolve F: (other disk) fails" "F:: no attached volume has" "$SR" hive mounted "$w/SYSTEM_WIN_10_1709" --resolve F: "$w/mbr.img"
refuses "resolve D: (device string) fails clearly" "names no disk partition" "$SR" hive mounted "$w/SYSTEM_WIN_10_1709" --resolve D: "$w/mbr.img"
# Volume{GUID} form: SYSTEM's \??\Volume{656b1715-...} (MBR, 1 MiB).
python3 - "$w/SYSTEM" >"$w/vol.env" <<'EOF'
import sys; sys.path.insert(0, sys.argv[1].rsplit("/", 1)[0]); from hx import *
d = values(sys.argv[1], "MountedDevices")["\\??\\Volume{656b1715-ecf6-11df-92e6-806e6f6e6963}"][1]
sig, off = struct.unpack("<IQ", d)
print("SIG=0x%08x START=%d" % (sig, off // 512))
EOF
. "$w/vol.env"
truncate -s 16M "$w/vol.img"
printf 'label: dos\nlabel-id: %s\nstart=%s, size=8192, type=7\n' "$SIG" "$START" | sfdisk -q "$w/vol.img" >/dev/null 2>&1
check "resolve Volume{GUID} (MBR) -> vol.img@1" sh -c "'$SR' hive mounted '$w/SYSTEM' --resolve 'Volume{656b1715-ecf6-11df-92e6-806e6f6e6963}' '$w/vol.img' '$w/mbr.img' | grep -q 'vol.img@1'"
check "resolve \\??\\Volume{GUID} (MBR) -> vol.img@1" sh -c "'$SR' hive mounted '$w/SYSTEM' --resolve '\\??\\Volume{656b1715-ecf6-11df-92e6-806e6f6e6963}' '$w/vol.img' | grep -q 'vol.img@1'"
# GPT: SYSTEM_B's \DosDevices\C: partition GUID.
cat >"$w/guid.py" <<'EOF'
import sys; sys.path.insert(0, sys.argv[1].rsplit("/", 1)[0]); from hx import *
print(uuid.UUID(bytes_le=values(sys.argv[1], "MountedDevices")["\\DosDevices\\C:"][1][8:]))
EOF
out GUID python3 "$w/guid.py" "$w/SYSTEM_B"
truncate -s 16M "$w/gpt.img"
printf 'label: gpt\nstart=2048, size=4096, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\nstart=6144, size=4096, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, uuid=%s\n' "$GUID" |
	sfdisk -q "$w/gpt.img" >/dev/null 2>&1
check "GPT image partition GUID equals the hive's" sh -c "sfdisk --json '$w/gpt.img' | grep -qi '$GUID'"
check "resolve C: (GPT) -> gpt.img@2" sh -c "'$SR' hive mounted '$w/SYSTEM_B' --resolve C: '$w/gpt.img' '$w/mbr.img' | grep -q 'gpt.img@2'"
check "resolve --json" sh -c "'$SR' hive mounted '$w/SYSTEM_B' --json --resolve C: '$w/gpt.img' | python3 -c 'import json,sys; j=json.load(sys.stdin); assert j[0][\"volume\"].endswith(\"gpt.img@2\")'"
finish
