#!/bin/sh
# restore_interrupt.sh - a restore cut off and run again ends with the same
# tree as one that was never cut off.
#   - SIGINT or SIGTERM at 8 moments: the run stops between members (exit 2,
#     "interrupted by SIG..."), the volume is closed cleanly (e2fsck -fn,
#     `volumes` says clean), no file is left half-written under its real
#     name (every file present has its source's SHA-256), and a second run
#     gives the reference tree;
#   - SIGKILL at 6 moments: the volume says it was not cleanly closed and
#     refuses the second run until checked; after `e2fsck -fy` the second
#     run gives the reference tree, and no temporary directory is left.
# The reference is one uninterrupted restore of the same set; trees are
# compared through a kernel mount (tests/lib/manifest.py).
#   restore_interrupt.sh SYSRECOVER
set -u
. "$(dirname "$0")/../lib/check.sh"
workdir rsint
need python3 mkfs.ext4 e2fsck
S=$1
M=$(cd "$(dirname "$0")/../lib" && pwd)/manifest.py

D=$w/src
python3 - "$D" <<'EOF'
import os, sys
r = sys.argv[1]
for d in range(40):
    dd = os.path.join(r, "d%02d" % d)
    os.makedirs(dd)
    for f in range(60):
        size = 3000 + (d * 60 + f) * 131 % 40000
        if f == 0 and d % 8 == 0:
            size = 2000000
        with open(os.path.join(dd, "f%02d" % f), "wb") as fh:
            fh.write(os.urandom(size))
EOF
(cd "$D" && find . -type f -exec sha256sum {} + | sed 's| \./| /|' | sort) >"$w/src.sums"
exits backup 0 "0 failed" "$S" backup -t "$w/t.tap" "$D"

fresh() { rm -f "$1"; truncate -s 256M "$1"; mkfs.ext4 -q -F "$1"; }
tree() { # IMG OUT
	mount -o ro,loop "$1" "$mnt" || { echo "cannot mount"; return; }
	python3 "$M" "$mnt" --skip lost+found >"$2"
	(cd "$mnt" && find . -type f -exec sha256sum {} + | sed 's| \./| /|' | sort) >"$2.sums"
	ls -a "$mnt" | grep -c sysrecover-tmp >"$2.tmp"
	umount "$mnt"
}

fresh "$w/ref.img"
t0=$(date +%s.%N)
exits reference 0 "0 failed" "$S" restore -t "$w/t.tap" --to "v0=$w/ref.img"
t1=$(date +%s.%N)
tree "$w/ref.img" "$w/ref"
full=$(awk "BEGIN { print $t1 - $t0 }")

same_as_ref() { # NAME IMG
	tree "$2" "$w/got"
	if cmp -s "$w/ref" "$w/got"; then ok "$1: the reference tree"
	else bad "$1-tree" "$(diff "$w/ref" "$w/got" | head -n 4 | tr '\t\n' ' |')"; fi
	is "$1-no-tmp" "$(cat "$w/got.tmp")" 0
}

# every file present is whole: its SHA-256 is the source's
whole_files() { # NAME IMG
	mount -o ro,loop "$2" "$mnt" || { bad "$1-mount" "cannot mount"; return; }
	(cd "$mnt" && find . -path ./lost+found -prune -o -path './.sysrecover-tmp*' -prune \
		-o -type f -exec sha256sum {} + | sed 's| \./| /|' | sort) >"$w/part.sums"
	umount "$mnt"
	extra=$(comm -23 "$w/part.sums" "$w/src.sums" | head -n 2 | tr '\n' ' ')
	[ -z "$extra" ] && ok "$1: $(wc -l <"$w/part.sums") files present, each whole" ||
		bad "$1-half-file" "$extra"
}

i=0
stopped=0
while [ $i -lt 8 ]; do
	sig=INT
	[ $((i % 3)) -eq 2 ] && sig=TERM
	delay=$(awk "BEGIN { printf \"%.3f\", $full * (0.1 + 0.8 * $i / 8) }")
	n="sig$sig-$i@${delay}s"
	fresh "$w/x.img"
	env --default-signal=INT "$S" restore -t "$w/t.tap" --to "v0=$w/x.img" >"$w/run.out" 2>&1 &
	pid=$!
	sleep "$delay"
	kill -"$sig" "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	i=$((i + 1))
	if [ "$rc" -eq 2 ] && grep -q "interrupted by SIG$sig" "$w/run.out"; then
		stopped=$((stopped + 1))
		check "$n-e2fsck" e2fsck -fn "$w/x.img"
		has "$n-clean" "$("$S" volumes "$w/x.img" 2>&1)" clean
		whole_files "$n" "$w/x.img"
	elif [ "$rc" -ne 0 ]; then
		bad "$n-exit" "exit $rc: $(tail -n 2 "$w/run.out" | tr '\n' ' ')"
		continue
	fi
	exits "$n-rerun" 0 "0 failed" "$S" restore -t "$w/t.tap" --to "v0=$w/x.img"
	same_as_ref "$n" "$w/x.img"
done
[ $stopped -ge 4 ] && ok "signals: $stopped of 8 runs stopped" ||
	bad signals-spread "only $stopped of 8 runs were stopped by the signal"

i=0
killed=0
while [ $i -lt 6 ]; do
	delay=$(awk "BEGIN { printf \"%.3f\", $full * (0.15 + 0.7 * $i / 6) }")
	n="kill-$i@${delay}s"
	fresh "$w/x.img"
	"$S" restore -t "$w/t.tap" --to "v0=$w/x.img" >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	i=$((i + 1))
	if [ "$rc" -eq 137 ]; then
		killed=$((killed + 1))
		refuses "$n-refused-until-checked" "not cleanly closed" \
			"$S" restore -t "$w/t.tap" --to "v0=$w/x.img"
		e2fsck -fy "$w/x.img" >/dev/null 2>&1
		[ $? -le 1 ] || bad "$n-fsck" "e2fsck -fy could not repair it"
	fi
	exits "$n-rerun" 0 "0 failed" "$S" restore -t "$w/t.tap" --to "v0=$w/x.img"
	check "$n-e2fsck" e2fsck -fn "$w/x.img"
	same_as_ref "$n" "$w/x.img"
done
[ $killed -ge 3 ] && ok "kills: $killed of 6 runs killed mid-way" ||
	bad kills-spread "only $killed of 6 runs were killed mid-way"
finish
