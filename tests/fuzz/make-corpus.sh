#!/bin/sh
# make-corpus.sh SYSRECOVER OUTDIR [TARGET] - seed inputs for one fuzz target:
# fuzz_simh (the default), fuzz_hive_rules or fuzz_srd_parse.
#
# fuzz_hive_rules: first byte 0 = a KeysNotToRestore entry, 1 = a
# FilesNotToBackup entry (optionally a TAB and a path to match), 2 = a
# MountedDevices value; the entries are forms Microsoft documents.
# fuzz_srd_parse: first byte even = a Windows queue (UTF-16LE, NUL-separated
# fields), odd = a native one (UTF-8, TAB-separated, one record a line).
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
*)
	echo "make-corpus: unknown target $TARGET (fuzz_simh, fuzz_hive_rules or fuzz_srd_parse)" >&2
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
