#!/bin/sh
# make-corpus.sh SYSRECOVER OUTDIR [TARGET] - seed inputs for one fuzz target:
# fuzz_simh (the default), fuzz_hive_rules, fuzz_fntb_expand, fuzz_srd_parse,
# fuzz_arc_label, fuzz_arc_catalog or fuzz_rs_names (a tar or pax archive).
#
# fuzz_hive_rules: first byte 0 = a KeysNotToRestore entry, 1 = a
# FilesNotToBackup entry (optionally a TAB and a path to match), 2 = a
# MountedDevices value; the entries are forms Microsoft documents.
# fuzz_fntb_expand: a byte of unset variables (bit 0 SystemRoot, 1 TEMP,
# 2 TMP, 3 ProgramData, 4 ProgramFiles), then NUL-separated: a
# FilesNotToBackup entry, the values of SystemRoot, TEMP, TMP and
# ProgramData, a path to match, the value of ProgramFiles; the
# entries are the real ones of SYSTEM_WIN_10_1709, the values Windows' own.
# fuzz_srd_parse: first byte even = a Windows queue (UTF-16LE, NUL-separated
# fields), odd = a native one (UTF-8, TAB-separated, one record a line).
# fuzz_arc_label: one label record; fuzz_arc_catalog: two bytes of split
# point, then a catalog.  There is no CLI that writes them yet: the valid
# seeds are built here from the format in README.md ("Backup set format"),
# their checksums by Python's hashlib, so they do not come from our writer.
#
# fuzz_simh:
# Valid images are written by `sysrecover tape` itself (several records, odd
# lengths, filemarks, fixed blocks, two partitions); corrupt ones are made by
# hand (truncated record, disagreeing length words, oversized length, EOM
# marker, gaps, error-flagged record...).  Some seeds carry the optional
# sections fuzz_simh.c understands: "--p1--" (second partition), "--state--"
# (drive sidecar) and "--ops--" (operation program).  SYSRECOVER may be
# missing: then only the hand-made seeds are written.
set -eu

SR=${1:?usage: make-corpus.sh SYSRECOVER OUTDIR [TARGET]}
OUT=${2:?usage: make-corpus.sh SYSRECOVER OUTDIR [TARGET]}
TARGET=${3:-fuzz_simh}
mkdir -p "$OUT"

case "$TARGET" in
fuzz_simh) ;;
fuzz_hive_rules)
	python3 - "$OUT" <<'PY'
import os, struct, sys
out = sys.argv[1]
seeds = {}
kntr = ["MountedDevices\\", "CurrentControlSet\\Services\\*",
        "CurrentControlSet\\Control\\Session Manager\\PendingFileRenameOperations",
        "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\*",
        "hklm\\system\\MountedDevices\\", "  \\Disk\\\\  ", "HKLM\\SYSTEM\\*", ""]
fntb = ["\\Pagefile.sys", "%Systemroot%\\CSC\\* /s", "\\SIS Common Store\\*.* /s",
        "%TEMP%\\* /s\t\\Windows\\TEMP\\a\\b.tmp",
        "C:\\Windows\\system32\\MSDtc\\MSDTC.LOG",
        "%UserProfile%\\index.dat /s\t\\Users\\x\\index.dat",
        "\\System Volume Information\\*{3808876B-C176-4e48-B7AE-04046E6CC752} /s",
        "Temporary Files"]
for i, e in enumerate(kntr):
    seeds["kntr%d" % i] = b"\x00" + e.encode()
for i, e in enumerate(fntb):
    seeds["fntb%d" % i] = b"\x01" + e.encode()
seeds["md-gpt"] = b"\x02" + b"DMIO:ID:" + bytes(range(16))
seeds["md-mbr"] = b"\x02" + struct.pack("<IQ", 0x12345678, 1048576)
seeds["md-path"] = b"\x02" + "\\??\\SCSI#Disk&Ven_QEMU#{53f56307-b6bf-11d0-94f2-00a0c91efb8b}".encode("utf-16-le")
seeds["md-short"] = b"\x02" + b"DMIO"
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
PY
	echo "make-corpus: $(ls "$OUT" | wc -l) seeds in $OUT"
	exit 0 ;;
fuzz_fntb_expand)
	python3 - "$OUT" <<'PY'
import os, sys
out = sys.argv[1]
win = ["C:\\Windows", "%SystemRoot%\\TEMP", "%SystemRoot%\\TEMP", "%SystemDrive%\\ProgramData"]
def seed(unset, entry, path, values=win, pf="C:\\Program Files"):
    return bytes([unset]) + b"\0".join(x.encode() for x in [entry] + values + [path, pf])
seeds = {
    "pagefile": seed(0, "\\Pagefile.sys", "\\pagefile.sys"),
    "temp": seed(0, "%TEMP%\\* /s", "\\Windows\\Temp\\sub\\a.tmp"),
    "wer": seed(0, "%ProgramData%\\Microsoft\\Windows\\WER\\* /s", "\\ProgramData\\Microsoft\\Windows\\WER\\q\\r"),
    "kernel": seed(0, "%systemroot%\\Minidump\\* /s", "\\WINDOWS\\minidump\\x.dmp"),
    "wua": seed(0, "%windir%\\softwaredistribution\\*.* /s", "\\Windows\\SoftwareDistribution\\D\\k.cab"),
    "vss": seed(0, "\\System Volume Information\\*{3808876B-C176-4e48-B7AE-04046E6CC752} /s",
                "\\System Volume Information\\{3808876B-C176-4e48-B7AE-04046E6CC752}"),
    "msdtc": seed(0, "C:\\Windows\\system32\\MSDtc\\MSDTC.LOG", "\\Windows\\System32\\MSDtc\\msdtc.log"),
    "userprofile": seed(0, "%UserProfile%\\index.dat /s", "\\Users\\a\\index.dat"),
    "sis": seed(0, "\\SIS Common Store\\*.* /s", "\\SIS Common Store\\x.sis"),
    "unset-root": seed(1, "%SystemRoot%\\netlogon.chg", "\\Windows\\netlogon.chg"),
    "loop": seed(0, "%TEMP%\\x", "\\x", ["C:\\W", "%TMP%", "%TEMP%", "%ProgramData%"]),
    "nodrive": seed(0, "%SystemRoot%\\x", "\\x", ["Windows", "", "", ""]),
    "percent": seed(0, "%%\\%a%b\\%", "\\%%", ["%%SystemRoot%", "%", "%%", "%SystemDrive%"]),
    "name": seed(0, "Temporary Files", "\\Temporary Files"),
    "programfiles": seed(0, "%ProgramFiles%\\App\\cache\\* /s", "\\Program Files\\App\\cache\\a"),
    "programfiles-x86": seed(0, "%ProgramFiles(x86)%\\x.log", "\\Program Files\\x.log"),
    "programfiles-unset": seed(16, "%ProgramW6432%\\x", "\\x"),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
PY
	echo "make-corpus: $(ls "$OUT" | wc -l) seeds in $OUT"
	exit 0 ;;
fuzz_srd_parse)
	python3 - "$OUT" <<'PY'
import os, sys
out = sys.argv[1]
def win(*fields):
    return b"\x00" + "".join(f + "\0" for f in fields + ("",)).encode("utf-16-le")
def native(*lines):
    return b"\x01" + "".join("\t".join(l) + "\n" for l in lines).encode()
seeds = {
    "win-move": win("MoveFile", "\\??\\C:\\a.txt", "\\??\\C:\\b.txt", "NotExecuted"),
    "win-two": win("MoveFile", "\\??\\C:\\random.bin", "\\??\\C:\\etc\\random.bin", "NotExecuted",
                   "SetFileShortName", "RANDOM~1.BIN", "\\??\\C:\\etc\\random.bin", "NotExecuted"),
    "win-delete-done": win("DeleteFile", "Unused", "\\??\\D:\\x", "SC=00000000"),
    "win-volume": win("MoveFile", "\\??\\Volume{01234567-89ab-cdef-0123-456789abcdef}\\x",
                      "\\??\\C:\\y", "NotExecuted"),
    "native-three": native(("MoveFile", "/a", "/b", "NotExecuted"),
                           ("DeleteFile", "Unused", "/d/x", "NotExecuted"),
                           ("DeleteFile", "Unused", "/d", "SC=00000032")),
    "native-shortname": native(("SetFileShortName", "CONFIG~1.TXT", "/etc/config.txt", "NotExecuted")),
    "native-crlf": b"\x01MoveFile\t/a\t/b\tNotExecuted\r\n",
    "empty-win": b"\x00",
    "empty-native": b"\x01",
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
PY
	echo "make-corpus: $(ls "$OUT" | wc -l) seeds in $OUT"
	exit 0 ;;
fuzz_arc_label | fuzz_arc_catalog)
	python3 - "$OUT" "$TARGET" <<'PY'
import hashlib, os, sys
out, target = sys.argv[1], sys.argv[2]
def label(fmt=b"1", vols=(b"v0 fstype=ext4 size=1073741824 used=52428800 uuid=5b0a9c6e-1d2f-4e3a-9b8c-7d6e5f4a3b2c label=root source=/dev/sda2",
                          b"v1 fstype=ntfs size=0 used=0 uuid= label=my%20disk%25 source=img@2"),
          flags=b"partial", count=None, windows=b""):
    t = (b"SYSRECOVER BACKUP SET LABEL\nformat: " + fmt + b"\nset: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\n"
         b"created: 2026-11-26T14:00:00Z\nhost: rescue box\ntool: sysrecover 0.3.0\n"
         b"record-size: 262144\ntape-file: 3\ntape: 1\nflags: " + flags + b"\n"
         b"volumes: " + str(len(vols) if count is None else count).encode() + b"\n" +
         b"".join(b"volume: " + v + b"\n" for v in vols) + b"\n" + windows +
         b"To recover this set without sysrecover:\n  mt -f /dev/nst0 asf 4\n")
    return t + b"sha256: " + hashlib.sha256(t).hexdigest().encode() + b"\n"
def catalog(lines):
    t = b"SYSRECOVER CATALOG 1\n" + b"".join(b"\t".join(l) + b"\n" for l in lines)
    return t + b"END %d " % len(lines) + hashlib.sha256(t).hexdigest().encode() + b"\n"
H = hashlib.sha256(b"x").hexdigest().encode()
members = [[b"0", b"0", b"d", b"-", b"0", b"-", b"0", b"4", b"0", b"-", b"0", b"/"],
           [b"1", b"0", b"f", b"sparse", b"1048576", H, b"0", b"4", b"0", b"1234", b"1536", b"/etc/passwd"],
           [b"2", b"1", b"l", b"-", b"0", b"-", b"0", b"4", b"1", b"-", b"512", b"/a%20b%09c", b"../t%25"],
           [b"3", b"1", b"h", b"lost", b"0", b"-", b"1", b"4", b"2", b"99", b"0", b"/caf\xc3\xa9%FF", b"/etc/passwd"],
           [b"4", b"0", b"a", b"sparse,efs-raw,lost", b"7", H, b"0", b"4", b"3", b"-", b"0", b"/f:stream"],
           [b"5", b"0", b"f", b"copy", b"4096", H, b"0", b"4", b"3", b"-", b"1024", b"/etc/copy", b"v0/etc/passwd"]]
if target == "fuzz_arc_label":
    seeds = {"valid": label(), "valid-none": label(vols=(), flags=b"none"),
             "valid-padded": label() + b"\0" * 300, "newer": label(fmt=b"2"),
             "system-state": label(flags=b"system-state", windows=b"windows: Windows 10 Pro\n"
                                   b"windows-build: 16299.15\nwindows-root: v0 C:\\Windows\n"
                                   b"hive: v0/Windows/System32/config/SYSTEM\n"
                                   b"hive: v0/Windows/System32/config/SOFTWARE\n\n"),
             "system-state-nohive": label(flags=b"system-state,partial", windows=b"windows: \n"
                                          b"windows-build: \nwindows-root: v0 C:\\WINNT\n\n"),
             "count-wrong": label(count=3), "tar-header": b"etc/passwd".ljust(512, b"\0")}
else:
    cat = catalog(members)
    seeds = {"valid": b"\0\x07" + cat, "valid-split": b"\x01\x00" + cat,
             "valid-empty": b"\0\0" + catalog([]), "cut": b"\0\x10" + cat[:-40],
             "out-of-order": b"\0\0" + catalog([members[1]]),
             "newer": b"\0\0" + cat.replace(b"CATALOG 1", b"CATALOG 2")}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
PY
	echo "make-corpus: $(ls "$OUT" | wc -l) seeds in $OUT"
	exit 0 ;;
fuzz_rs_names)
	# pax and ustar archives from python's tarfile: good names, hostile
	# ones, long ones (pax path records), hard links
	python3 - "$OUT" <<'PY'
import io, os, sys, tarfile
out = sys.argv[1]
def tar(names, fmt=tarfile.PAX_FORMAT):
    b = io.BytesIO()
    t = tarfile.open(fileobj=b, mode="w", format=fmt)
    for n, link in names:
        i = tarfile.TarInfo(n)
        if link:
            i.type, i.linkname = tarfile.LNKTYPE, link
            if n.endswith("copy"):   # a single-instance copy: bk.c's mark
                i.pax_headers = {"SCHILY.xattr.sysrecover.copy": "ab" * 32}
            t.addfile(i)
        else:
            i.size = 1
            t.addfile(i, io.BytesIO(b"x"))
    t.close()
    return b.getvalue()
seeds = {
    "good": tar([("v0/", None), ("v0/etc/passwd", None), ("v1/a b/c", None)]),
    "hostile": tar([("v0/../x", None), ("/abs", None), ("v9/x", None), ("v0//x", None),
                    ("v0/.sysrecover-tmp/0", None), ("v0/./x", None)]),
    "links": tar([("v0/a", None), ("v0/b", "v0/a"), ("v0/c", "v1/a"), ("v0/d", "../x")]),
    "copies": tar([("v0/a", None), ("v0/copy", "v0/a"), ("v1/copy", "v0/a"),
                   ("v0/x/copy", "v0/../a")]),
    "long": tar([("v0/" + "d/" * 200 + "f" * 200, None)]),
    "ustar": tar([("v0/x", None)], tarfile.USTAR_FORMAT),
    "gnu": tar([("v0/" + "n" * 300, None)], tarfile.GNU_FORMAT),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
PY
	echo "make-corpus: $(ls "$OUT" | wc -l) seeds in $OUT"
	exit 0 ;;
*)
	echo "make-corpus: unknown target $TARGET (fuzz_simh, fuzz_hive_rules, fuzz_fntb_expand, fuzz_srd_parse, fuzz_arc_label, fuzz_arc_catalog or fuzz_rs_names)" >&2
	exit 2 ;;
esac
W=$(mktemp -d "${TMPDIR:-/tmp}/mkcorpus.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM

seed() {  # seed NAME FILE...: concatenate files into OUTDIR/NAME
	name=$1; shift
	cat "$@" > "$OUT/$name"
}

# ---- valid images written by the tape CLI ---------------------------------
if [ -x "$SR" ]; then
	head -c 1001 /dev/urandom > "$W/a"     # odd length, several records
	head -c 64 /dev/urandom > "$W/b"
	printf 'hello tape\n' > "$W/c"          # 11 bytes: padded record
	head -c 4096 /dev/zero > "$W/z"
	tape() { "$SR" tape "$@" >/dev/null 2>&1; }

	tape --record-size 333 "simh:$W/v1.tap" write "$W/a" weof 1 write "$W/b" weof 2
	tape --record-size 7 "simh:$W/v2.tap" write "$W/c" weof 1 write "$W/c" weof 1 write "$W/c"
	tape "simh:$W/v3.tap" weof 3
	tape "simh:$W/v4.tap" setblk 512 write "$W/z" weof 1 write "$W/c" weof 1
	tape --record-size 1 "simh:$W/v5.tap" write "$W/c" weof 1
	tape "simh:$W/v6.tap" write "$W/a" weof 1 rewind fsr 1 write "$W/b" weof 1
	: > "$W/v7.tap"                            # blank tape
	tape "simh:$W/v7.tap" status
	# two partitions: 1 MB partition 1 beside the image in .p1
	tape "simh:$W/v8.tap" mkpartition 1 write "$W/c" weof 1 \
		setpartition 1 write "$W/b" weof 1 write "$W/c"
	for i in 1 2 3 4 5 6 7; do
		[ -f "$W/v$i.tap" ] && seed "valid$i" "$W/v$i.tap"
	done
	if [ -f "$W/v8.tap.p1" ]; then
		printf -- '--p1--' > "$W/sep"
		seed valid8-p1 "$W/v8.tap" "$W/sep" "$W/v8.tap.p1"
	fi
	if [ -f "$W/v1.tap.state" ]; then
		# its own sidecar, stamps dropped (the fuzzer appends the right ones)
		printf -- '--state--' > "$W/sep"
		grep -v '^stamp' "$W/v1.tap.state" | sed 's/^position .*/position 3/' \
			> "$W/st"
		seed valid1-state "$W/v1.tap" "$W/sep" "$W/st"
	fi
else
	echo "make-corpus: $SR not found; hand-made seeds only" >&2
fi

# ---- hand-made images, valid and corrupt ------------------------------------
python3 - "$OUT" <<'EOF'
import os, struct, sys
out = sys.argv[1]

def w32(v):
    return struct.pack('<I', v)

def rec(data, flag=0):
    n = len(data) | flag
    pad = b'\0' if len(data) & 1 else b''
    return w32(n) + data + pad + w32(n)

TM, EOM, GAP = w32(0), w32(0xFFFFFFFF), w32(0xFFFFFFFE)
good = rec(b'A' * 5) + rec(b'B' * 80) + TM + rec(b'C' * 3) + TM + TM

seeds = {
    'h-good': good,
    'h-truncated-record': rec(b'x' * 40) + w32(100) + b'y' * 30,
    'h-truncated-word': rec(b'x' * 4) + b'\x10\x00',
    'h-length-mismatch': rec(b'x' * 4) + w32(6) + b'abcdef' + w32(7) + TM,
    'h-oversized': rec(b'x' * 4) + w32(0x01000000) + b'z' * 16,
    'h-max-length-word': w32(0x00FFFFFF) + b'q' * 64,
    'h-eom': rec(b'x' * 9) + TM + EOM + rec(b'after eom'),
    'h-gaps': GAP + rec(b'x' * 9) + GAP + GAP + TM + rec(b'y'),
    'h-half-gap': w32(0xFFFEFFFF) + rec(b'z' * 2) + TM,
    'h-bad-record': rec(b'x' * 12) + rec(b'bad!' * 3, 0x80000000) + rec(b'after') + TM,
    'h-bad-trailer-flag': w32(4) + b'abcd' + w32(0x80000004) + TM,
    'h-only-marks': TM * 8,
    'h-junk-tail': good + b'\x01\x02\x03',
    'h-odd-pad': w32(3) + b'abc' + b'\xff' + w32(3) + TM,
}
# With operation programs (first byte: drive options) and extra sections.
ops = bytes([0, 2, 3, 2, 3, 0xFE, 4, 1, 4, 0xFF, 7, 2, 0, 12, 0, 9, 15, 0,
             17, 1, 18, 1, 12, 1, 0, 14, 0, 2, 2, 20, 0, 9, 10, 8])
seeds['h-good-ops'] = good + b'--ops--' + ops
seeds['h-good-ops-capacity'] = good + b'--ops--' + bytes([5]) + ops[1:]
seeds['h-good-ops-faults'] = good + b'--ops--' + bytes([0x98]) + ops[1:]
seeds['h-fixed-ops'] = (rec(b'F' * 512) * 3 + TM + b'--ops--' +
                        bytes([0, 11, 4, 0, 0, 0, 1, 20, 0, 12, 0, 0, 9, 11, 0]))
seeds['h-p1'] = good + b'--p1--' + rec(b'p1 data') + TM + b'--ops--' + bytes([0, 18, 1, 20, 0, 9, 7, 0, 1])
seeds['h-state'] = (good + b'--state--' +
                    b'sysrecover-vtape 1\ncapacity 0\new_zone 0\nsplit_mb 0\n'
                    b'partition 0\nposition 2\nblock_size 0\ncompression 1\n'
                    b'locked 1\nloaded 1\n')
seeds['h-state-unloaded'] = (good + b'--state--' +
                    b'sysrecover-vtape 1\nposition 1\nloaded 0\nsplit_mb -5\n')

for name, data in seeds.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
EOF
echo "make-corpus: $(ls "$OUT" | wc -l) seeds in $OUT"
