#!/bin/sh
# restore_scan.sh - sets without a usable catalog, and tapes of other tools:
#   - a backup stopped by SIGINT finishes a smaller set with its catalog:
#     exit 2 naming how many members it holds, verify clean, as many
#     catalog lines as it said;
#   - a set cut off inside its data (the image truncated, as a power cut or
#     the end of the medium leaves it): list says it was cut off, a plain
#     restore refuses and points at --scan, `list --scan` and `restore
#     --scan` read what is there: exit 1, "the data ends early", every file
#     restored is whole (sha256 against the source), e2fsck clean;
#   - a tape written by GNU tar alone (posix format, blocking factor 20):
#     list shows it as another tool's tape file, `list --file 0` lists it,
#     and `restore --file 0` puts it onto an unmounted ext4, compared with
#     the source through the kernel (tests/lib/manifest.py).
#   restore_scan.sh SYSRECOVER
set -u
. "$(dirname "$0")/../lib/check.sh"
workdir rsscan
need python3 mkfs.ext4 e2fsck tar
S=$1
L=$(cd "$(dirname "$0")/../lib" && pwd)

D=$w/src
python3 - "$D" <<'EOF'
import os, sys
r = sys.argv[1]
for d in range(30):
    os.makedirs(os.path.join(r, "d%02d" % d))
    for f in range(50):
        with open(os.path.join(r, "d%02d" % d, "f%02d" % f), "wb") as fh:
            fh.write(os.urandom(20000 + (d * 50 + f) * 97 % 30000))
EOF
(cd "$D" && find . -type f -exec sha256sum {} + | sed 's| \./| /|' | sort) >"$w/src.sums"
fresh() { rm -f "$1"; truncate -s 128M "$1"; mkfs.ext4 -q -F "$1"; }

# ---- SIGINT during a backup: a smaller, complete set ------------------------------
exits full-backup 0 "0 failed" "$S" backup -t "$w/full.tap" "$D"
t0=$(date +%s.%N)
"$S" backup -t "$w/t0.tap" "$D" >/dev/null 2>&1
t1=$(date +%s.%N)
delay=$(awk "BEGIN { printf \"%.3f\", ($t1 - $t0) / 2 }")
stopped=0
for try in 1 2 3; do
	rm -f "$w/i.tap" "$w/i.tap.idx" "$w/i.tap.state"
	env --default-signal=INT "$S" backup -t "$w/i.tap" "$D" >"$w/i.out" 2>&1 &
	pid=$!
	sleep "$delay"
	kill -INT "$pid" 2>/dev/null
	wait "$pid"
	[ $? -eq 2 ] && { stopped=1; break; }
	delay=$(awk "BEGIN { print $delay / 2 }")
done
if [ $stopped -eq 1 ]; then
	n=$(sed -n 's/.*after \([0-9]*\) members: the set .* holds those.*/\1/p' "$w/i.out")
	[ -n "$n" ] && ok "stopped backup: $n members" || bad stopped-message "$(cat "$w/i.out")"
	exits stopped-verify 0 " 0 bad" "$S" verify -t "$w/i.tap"
	out lines "$S" list -t "$w/i.tap" --set 1
	is stopped-catalog-lines "$(printf '%s\n' "$lines" | wc -l)" "${n:-?}"
else
	bad stopped-backup "SIGINT never reached a backup in mid-run"
fi

# ---- a set cut off inside its data -------------------------------------------------
# cut after a record in the middle of the data file: the tape just ends there
python3 - "$w/full.tap" "$w/cut.tap" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
pos, marks, recs, cut = 0, 0, 0, None
while pos + 4 <= len(d):
    n = struct.unpack("<I", d[pos:pos + 4])[0]
    if n == 0:
        marks += 1
        pos += 4
        continue
    if n == 0xFFFFFFFF:
        break
    pos += 4 + n + (n & 1) + 4
    if marks == 1:
        recs += 1
        cut = pos
        if recs == 40:
            break
open(sys.argv[2], "wb").write(d[:cut])
EOF
out l "$S" list -t "$w/cut.tap"
has cut-listed "$l" "cut off"
refuses cut-plain-restore "restore --scan" "$S" restore -t "$w/cut.tap" --to "v0=$w/x.img"
members=$("$S" list -t "$w/cut.tap" --set 1 --scan 2>"$w/scan.err")
is cut-scan-exit "$?" 1
has cut-scan-says "$(cat "$w/scan.err")" "ends early"
nm=$(printf '%s\n' "$members" | grep -c ' v0/d')
[ "$nm" -gt 100 ] && ok "cut: list --scan shows $nm members" || bad cut-scan-list "$nm members"
fresh "$w/x.img"
exits cut-restore-scan 1 "the data ends early" "$S" restore -t "$w/cut.tap" --scan --to "v0=$w/x.img"
check cut-e2fsck e2fsck -fn "$w/x.img"
if mount -o ro,loop "$w/x.img" "$mnt"; then
	(cd "$mnt" && find . -path ./lost+found -prune -o -type f -exec sha256sum {} + |
		sed 's| \./| /|' | sort) >"$w/got.sums"
	umount "$mnt"
	extra=$(comm -23 "$w/got.sums" "$w/src.sums" | head -n 2 | tr '\n' ' ')
	n=$(wc -l <"$w/got.sums")
	[ -z "$extra" ] && [ "$n" -gt 100 ] && ok "cut: $n files restored, each whole" ||
		bad cut-whole "$n files; not as in the source: $extra"
fi

# ---- a tape written by GNU tar ------------------------------------------------------------
G=$w/gsrc
mkdir -p "$G/etc/app" "$G/var"
echo "config" >"$G/etc/app/conf"
head -c 200000 /dev/urandom >"$G/var/data"
ln -s ../etc/app/conf "$G/var/link"
ln "$G/var/data" "$G/var/hard"
chmod 0640 "$G/etc/app/conf"
(cd "$G" && tar --format=posix -b 20 -cf "$w/g.tar" .) || bad gnu-tar "tar failed"
python3 "$L/mkset.py" "$w/g.tap" - "$w/g.tar" --plain || bad mkset "cannot write the tape"
out gl "$S" list -t "$w/g.tap"
has gnu-listed "$gl" "tape files of other tools (list --file F): 0"
out gm "$S" list -t "$w/g.tap" --file 0
has gnu-members "$gm" "./var/hard link to ./var/data"
fresh "$w/g.img"
exits gnu-restore 0 "0 failed, 0 refused" "$S" restore -t "$w/g.tap" --file 0 --to "v0=$w/g.img"
check gnu-e2fsck e2fsck -fn "$w/g.img"
if mount -o ro,loop "$w/g.img" "$mnt"; then
	python3 "$L/manifest.py" "$mnt" --skip lost+found >"$w/g.got"
	umount "$mnt"
	python3 "$L/manifest.py" "$G" >"$w/g.want"
	cmp -s "$w/g.want" "$w/g.got" && ok "gnu: the tree GNU tar wrote, every field" ||
		bad gnu-same "$(diff "$w/g.want" "$w/g.got" | head -n 4 | tr '\t\n' ' |')"
fi
finish
