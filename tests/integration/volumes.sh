#!/bin/sh
# volumes.sh - `sysrecover volumes` on real and generated disk images, checked
# against util-linux tools we did not write: `blkid -p -O OFFSET -S SIZE` for
# TYPE, UUID and LABEL of each partition, `sfdisk --json` for the table
# (offsets, sizes, GPT partition and disk GUIDs, MBR disk signature, from which
# the MBR PARTUUID is "SIGNATURE-NN"), `python3 -m json.tool` for --json, and
# the kernel (loop mounts) for MOUNTPOINT, and lsblk --json for the key
# names of --json.  Prints PASS/FAIL lines.
#   volumes.sh SYSRECOVER [SYSRECOVER_ASAN]
# Needs root (loop devices, mounts), forensics-samples-{ntfs,ext4}, fdisk,
# dosfstools, ntfs-3g, e2fsprogs, python3 (.ci/deps.sh).
set -u
. "$(dirname "$0")/../lib/check.sh"
SR=${2:-$1}
[ -x "$SR" ] || SR=$1
SAMPLES=/usr/share/forensics-samples
need blkid sfdisk python3 mkfs.vfat mkntfs mke2fs dumpe2fs ntfsinfo xz
workdir volumes
# the partitioned loop device is detached in the middle of the script, so it
# is ours to track (loopdev would detach it again at exit)
LOOP=
trap '[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null; cleanup' EXIT

# A field of the volume named NAME in a --json output file.
jget() { # file name field
	python3 -c 'import json,sys
for v in json.load(open(sys.argv[1]))["blockdevices"]:
    if v["name"] == sys.argv[2]:
        x = v[sys.argv[3]]
        print("" if x is None else str(x).lower() if isinstance(x, bool) else x)
' "$@"
}

# Every partition sfdisk sees in IMAGE, probed by blkid -p at its offset, must
# be in our --json output under IMAGE@N with the same fields.
cat >"$w/cmp.py" <<'EOF'
import json, re, subprocess, sys
sr_json, image = sys.argv[1], sys.argv[2]
ours = {v["name"]: v for v in json.load(open(sr_json))["blockdevices"]}
table = json.loads(subprocess.run(["sfdisk", "--json", image], check=True,
                                  capture_output=True).stdout)["partitiontable"]
sector = table.get("sectorsize", 512)
bad = []
seen = 0
for p in table.get("partitions", []):
    if table["label"] == "dos" and p["type"].lower() in ("5", "f", "85"):
        continue  # an extended partition holds logical ones, no filesystem
    n = int(re.search(r"(\d+)$", p["node"][len(image):]).group(1))
    off, size = p["start"] * sector, p["size"] * sector
    name = "%s@%d" % (image, n)
    v = ours.get(name)
    if v is None:
        bad.append("no entry %s" % name)
        continue
    seen += 1
    def blkid(tag):
        r = subprocess.run(["blkid", "-p", "-O", str(off), "-S", str(size),
                            "-o", "value", "-s", tag, image], capture_output=True)
        return r.stdout.rstrip(b"\n").decode("utf-8", "replace")
    if table["label"] == "gpt":
        partuuid, ptuuid = p["uuid"], table["id"]
    else:
        ptuuid = table["id"][2:] if table["id"].startswith("0x") else table["id"]
        partuuid = "%s-%02x" % (ptuuid, n)
    want = {"fstype": blkid("TYPE"), "uuid": blkid("UUID"), "label": blkid("LABEL"),
            "partuuid": partuuid, "ptuuid": ptuuid, "pttype": table["label"],
            "offset": off, "size": size, "partn": n}
    for k, exp in want.items():
        got = v[k]
        if got is None:
            got = ""
        if isinstance(exp, str):
            exp, got = exp.lower() if k in ("partuuid", "ptuuid") else exp, \
                       got.lower() if k in ("partuuid", "ptuuid") else got
        if got != exp:
            bad.append("%s %s: ours %r, blkid/sfdisk %r" % (name, k, got, exp))
    if not want["fstype"]:
        bad.append("%s: blkid found no filesystem (fixture broken)" % name)
if seen == 0 or seen != len([k for k in ours if k.startswith(image + "@")]):
    bad.append("%d partitions from sfdisk, %d entries from us" % (seen, len(ours)))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF

# Compare IMAGE's listing (table and --json) with blkid/sfdisk.
compare() { # name image
	"$SR" volumes --json "$2" >"$w/$1.json" 2>"$w/$1.err"
	check "$1-json-valid" python3 -m json.tool "$w/$1.json"
	check "$1-matches-blkid" python3 "$w/cmp.py" "$w/$1.json" "$2"
}

# 1. The real images from Debian's forensics-samples (MBR, partition at 2048).
for fs in ntfs ext4; do
	if [ -r "$SAMPLES/fs.$fs.xz" ]; then
		xz -dc "$SAMPLES/fs.$fs.xz" >"$w/fs.$fs"
		compare "forensics-$fs" "$w/fs.$fs"
		check "forensics-$fs-type" test "$(jget "$w/forensics-$fs.json" "$w/fs.$fs@1" fstype)" = "$fs"
		check "forensics-$fs-offset" test "$(jget "$w/forensics-$fs.json" "$w/fs.$fs@1" offset)" = 1048576
	else
		bad "forensics-$fs" "$SAMPLES/fs.$fs.xz missing (apt-get install forensics-samples-$fs)"
	fi
done

# 2. A generated GPT: ext4 with a hostile label, NTFS, swap.
G=$w/gpt.img
truncate -s 96M "$G"
sfdisk -q "$G" >/dev/null <<'EOF'
label: gpt
start=2048, size=65536, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"
start=67584, size=65536, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="win"
start=133120, size=32768, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F
EOF
LBL=$(printf 'r"o\\o\tt\377 x')
mke2fs -F -q -t ext4 -L "$LBL" -E offset=$((2048 * 512)) "$G" 32M
truncate -s 32M "$w/nt.img"
mkntfs -F -Q -q -L WinData -p 67584 -H 255 -S 63 "$w/nt.img" >/dev/null 2>&1
dd if="$w/nt.img" of="$G" bs=1M seek=33 conv=notrunc,sparse status=none
truncate -s 16M "$w/sw.img"
mkswap -q -L 'sw ap' "$w/sw.img" >/dev/null
dd if="$w/sw.img" of="$G" bs=1M seek=65 conv=notrunc,sparse status=none
compare gpt "$G"
check gpt-hostile-label-exact test "$(jget "$w/gpt.json" "$G@1" label)" = \
	"$(printf 'r"o\\o\tt\357\277\275 x')"
check gpt-types test "$(jget "$w/gpt.json" "$G@1" fstype)/$(jget "$w/gpt.json" "$G@2" fstype)/$(jget "$w/gpt.json" "$G@3" fstype)" = ext4/ntfs/swap
U1=$(blkid -p -O 1048576 -S 33554432 -o value -s UUID "$G")
U2=$(blkid -p -O $((67584 * 512)) -S 33554432 -o value -s UUID "$G")
PU3=$(sfdisk --part-uuid "$G" 3)

# The table: a header, one line per partition, the hostile label escaped.
"$SR" volumes "$G" >"$w/table" 2>&1
check table-header grep -q '^NAME  *TYPE  *SIZE  *UUID  *PARTUUID  *LABEL  *STATE  *MOUNTPOINT$' "$w/table"
check table-rows test "$(grep -c "^$G@[123] " "$w/table")" -eq 3
check table-row-fields grep -qE "^$G@1 +ext4 +32M +$U1 " "$w/table"
check table-label-escaped grep -qF 'r"o\o\x09t\xff x' "$w/table"
check table-size-human grep -q "^$G@3  *swap  *16M " "$w/table"

# 3. A generated MBR: primary vfat and ext2, an extended with a logical ext4.
M=$w/mbr.img
truncate -s 64M "$M"
sfdisk -q "$M" >/dev/null <<'EOF'
label: dos
label-id: 0xc0ffee01
start=2048, size=16384, type=c
start=18432, size=16384, type=83
start=34816, size=96256, type=5
start=36864, size=16384, type=83
EOF
truncate -s 8M "$w/fat.img"
mkfs.vfat -n 'FAT LBL' -i 1234ABCD "$w/fat.img" >/dev/null
dd if="$w/fat.img" of="$M" bs=1M seek=1 conv=notrunc status=none
mke2fs -F -q -t ext2 -L two -E offset=$((18432 * 512)) "$M" 8M
mke2fs -F -q -t ext4 -L logical -E offset=$((36864 * 512)) "$M" 8M
compare mbr "$M"
check mbr-logical-is-5 test "$(jget "$w/mbr.json" "$M@5" label)" = logical
check mbr-no-extended-entry test -z "$(jget "$w/mbr.json" "$M@3" name)"
check mbr-partuuid test "$(jget "$w/mbr.json" "$M@5" partuuid)" = c0ffee01-05

# 4. Resolving names, and the errors.
sel() { "$SR" volumes --json "$1" >"$w/sel.json" 2>"$w/sel.err"; }
sel "$G@UUID=$U1"
check resolve-uuid test "$(jget "$w/sel.json" "$G@1" uuid)" = "$U1"
sel "$G@UUID=$(echo "$U2" | tr 'A-F' 'a-f')"
check resolve-uuid-any-case test "$(jget "$w/sel.json" "$G@2" uuid)" = "$U2"
sel "$G@LABEL=WinData"
check resolve-label test "$(jget "$w/sel.json" "$G@2" fstype)" = ntfs
sel "$G@PARTUUID=$PU3"
check resolve-partuuid test "$(jget "$w/sel.json" "$G@3" fstype)" = swap
sel "$G@2"
check resolve-number test "$(jget "$w/sel.json" "$G@2" label)" = WinData
"$SR" volumes "$G@4" >"$w/e" 2>&1; rc=$?
check err-out-of-range sh -c "[ $rc -eq 2 ] && grep -q 'partition 4 out of range.*has 3 partitions' '$w/e'"
"$SR" volumes "$w/sw.img@1" >"$w/e" 2>&1; rc=$?
check err-not-partitioned sh -c "[ $rc -eq 2 ] && grep -q 'not a partitioned image' '$w/e'"
"$SR" volumes "$G@LABEL=nosuch" >"$w/e" 2>&1; rc=$?
check err-missing-label sh -c "[ $rc -eq 2 ] && grep -q 'no volume with .*LABEL=nosuch' '$w/e'"
"$SR" volumes "$w/nothere.img@1" >"$w/e" 2>&1; rc=$?
check err-missing-image sh -c "[ $rc -eq 2 ] && grep -q 'no such volume' '$w/e'"
# the same ext4 in partitions 1 and 2: ambiguous, both named
D=$w/dup.img
cp --sparse=always "$G" "$D"
dd if="$G" of="$D" bs=1M skip=1 seek=33 count=32 conv=notrunc status=none
"$SR" volumes "$D@UUID=$U1" >"$w/e" 2>&1; rc=$?
check err-ambiguous sh -c "[ $rc -eq 2 ] && grep -q 'ambiguous' '$w/e' && grep -qF '$D@1' '$w/e' && grep -qF '$D@2' '$w/e'"
"$SR" volumes "$G" "$w/nothere.img@1" >"$w/e" 2>/dev/null; rc=$?
check err-partial-exit sh -c "[ $rc -eq 1 ] && grep -qF '$G@1' '$w/e'"

# 5. Block devices: the GPT image on a read-only loop device, found among
# every block device by UUID= (as fs_open does), named by its partition node
# if the kernel scanned it, else /dev/loopN@1.
LOOP=$(losetup -r -P -f --show "$G" 2>"$w/e")
if [ -n "$LOOP" ]; then
	"$SR" volumes --json "$LOOP" >"$w/loop.json" 2>&1
	check loop-lists-partitions sh -c "python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[\"blockdevices\"]; sys.exit(not ([x[\"uuid\"] for x in v] == [\"$U1\", \"$U2\", \"$(jget "$w/gpt.json" "$G@3" uuid)\"]))' '$w/loop.json'"
	sel "UUID=$U1"
	check loop-resolve-uuid sh -c "python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[\"blockdevices\"]; sys.exit(not (len(v)==1 and v[0][\"name\"] in (\"${LOOP}p1\", \"${LOOP}@1\")))' '$w/sel.json'"
	# the --json shape and key names are lsblk's; the values agree
	lsblk --json -b -o NAME,PATH,SIZE,FSTYPE,UUID,LABEL,PARTUUID,PTTYPE,PTUUID,MOUNTPOINT \
		"$LOOP" >"$w/lsblk.json" 2>"$w/e"
	check lsblk-shape python3 -c 'import json, sys
ours = json.load(open(sys.argv[1]))["blockdevices"]
theirs = json.load(open(sys.argv[2]))["blockdevices"]
devs = [d for t in theirs for d in [t] + t.get("children", [])]
keys = set(k for d in devs for k in d) - {"children"}
bad = [(v["name"], keys - set(v)) for v in ours if not keys <= set(v)]
by_path = {d["path"]: d for d in devs}
for v in ours:
    d = by_path.get(v["name"])
    for k in ("size", "fstype", "uuid", "label", "partuuid", "mountpoint") if d else ():
        if d[k] is not None and str(d[k]).lower() != str(v[k]).lower():
            bad.append((v["name"], k, v[k], d[k]))
print(bad)
sys.exit(1 if bad or not ours else 0)' "$w/loop.json" "$w/lsblk.json"
	"$SR" volumes >"$w/all" 2>&1
	check all-block-devices grep -qE "^${LOOP}(p1|@1) +ext4 .*$U1" "$w/all"
	losetup -d "$LOOP" && LOOP=
else
	bad loop "losetup failed: $(cat "$w/e")"
fi

# 6. MOUNTED: the ext4 partition of the image mounted through a loop device
# at its offset; the NTFS next to it is not.
mkdir -p "$w/mnt"
if mount -o ro,loop,offset=1048576 "$G" "$w/mnt" 2>"$w/e"; then
	"$SR" volumes --json "$G" >"$w/m.json" 2>&1
	check mounted-yes test "$(jget "$w/m.json" "$G@1" mountpoint)" = "$w/mnt"
	check mounted-other-no test "$(jget "$w/m.json" "$G@2" mountpoint)" = ""
	"$SR" volumes "$G" >"$w/m.txt" 2>&1
	check mounted-table grep -qE "^$G@1 .* $w/mnt\$" "$w/m.txt"
	check mounted-table-other grep -qE "^$G@2 .* -\$" "$w/m.txt"
	umount "$w/mnt"
	"$SR" volumes --json "$G" >"$w/m.json" 2>&1
	check mounted-no-after-umount test "$(jget "$w/m.json" "$G@1" mountpoint)" = ""
else
	bad mounted "cannot loop-mount: $(cat "$w/e")"
fi
# a whole-filesystem image mounted through a loop device
truncate -s 8M "$w/whole.img"
mke2fs -F -q -t ext4 -L whole "$w/whole.img"
if mount -o ro,loop "$w/whole.img" "$w/mnt" 2>"$w/e"; then
	"$SR" volumes --json "$w/whole.img" >"$w/m.json" 2>&1
	check mounted-whole-image test "$(jget "$w/m.json" "$w/whole.img" mountpoint)" = "$w/mnt"
	umount "$w/mnt"
else
	bad mounted-whole "cannot loop-mount: $(cat "$w/e")"
fi

# 7. The state column, against what e2fsprogs and ntfs-3g's own tools say.
D=$(dirname "$1")
truncate -s 32M "$w/sc.img" "$w/sj.img" "$w/se.img" "$w/nc.img" "$w/nd.img"
for i in sc sj se; do mke2fs -F -q -t ext4 "$w/$i.img"; done
debugfs -w -R 'feature needs_recovery' "$w/sj.img" >/dev/null 2>&1
debugfs -w -R 'ssv state 2' "$w/se.img" >/dev/null 2>&1
for i in nc nd; do mkntfs -q -F -Q "$w/$i.img" >/dev/null 2>&1; done
[ -x "$D/tests/test_fs_ntfs" ] && "$D/tests/test_fs_ntfs" dirty "$w/nd.img" >/dev/null 2>&1
"$SR" volumes --json "$w/sc.img" "$w/sj.img" "$w/se.img" "$w/nc.img" "$w/nd.img" >"$w/s.json" 2>&1
st() { jget "$w/s.json" "$w/$1.img" state; }
dstate() { dumpe2fs -h "$w/$1.img" 2>/dev/null | sed -n 's/^Filesystem state: *//p'; }
check state-ext-clean test "$(dstate sc)/$(st sc)" = "clean/clean"
check state-ext-journal sh -c "dumpe2fs -h '$w/sj.img' 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery' && [ '$(st sj)' = 'needs journal recovery' ]"
check state-ext-errors sh -c "echo '$(dstate se)' | grep -q 'with errors' && [ '$(st se)' = 'has errors' ]"
check state-ntfs-clean sh -c "ntfsinfo -m '$w/nc.img' >/dev/null 2>&1 && [ '$(st nc)' = clean ]"
check state-ntfs-dirty sh -c "ntfsinfo -m '$w/nd.img' 2>&1 | grep -q 'scheduled for check' && [ '$(st nd)' = 'not cleanly closed' ]"

# 8. --help and usage errors.
check help sh -c "'$SR' volumes --help | grep -q 'usage: sysrecover volumes'"
"$SR" volumes --bogus >/dev/null 2>&1; rc=$?
check usage-exit test "$rc" -eq 64
finish
