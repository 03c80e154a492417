#!/bin/sh
# bigdir_vs_debugfs.sh SYSRECOVER - 50,000 moves and 25,000 deletes inside
# one directory of 100,000 files on an unmounted ext4 image, applied from a
# native srdelayed queue, against `debugfs -w -f` doing the same work.
#
#   make bench                 (or: sh tests/bench/bigdir_vs_debugfs.sh build/sysrecover)
#
# The image holds /big with files f0..f99999 and a native queue of 75,000
# records: f0..f49999 moved to g0..g49999 in /big, f50000..f74999 deleted.
#   sysrecover srdelayed apply IMG        (parse, resolve, journal, apply,
#                                          statuses, move the queue aside)
#   debugfs -w -f CMDS IMG                ("ln /big/fK /big/gK" + "unlink
#                                          /big/fK" per move, "rm /big/fK"
#                                          per delete)
# /big is an indexed (htree) directory, as the kernel makes big directories
# (BIGDIR_INDEX=0: a linear one, as mke2fs -d and libext2fs make them).  The
# base image is filled with `sysrecover fs IMG copy-in` (mke2fs -d takes
# minutes for one directory of 100,000 names: libext2fs scans the directory
# for every new name), checked with e2fsck -fn and indexed with e2fsck -fyD.
# Each run starts from a fresh copy of the image (made outside the timed
# part, page cache warm).  sysrecover runs BENCH_REPS times (default 3);
# debugfs, which takes minutes here (it scans the directory for every lookup
# and unlink), runs BENCH_DEBUGFS_REPS times (default 1; 3 for a median);
# medians are reported (0: sysrecover alone, e.g. to compare two builds).  Both results of the first run are checked: e2fsck
# -fn clean, and the names in /big (debugfs ls -p, live entries) equal to
# the expected set.  sysrecover flushes and fsyncs every 256 operations
# (srd.h, "Crash safety"); debugfs keeps no journal and flushes once.
# Exit status: 0 when both results are right; the ratio is reported (the
# goal is sysrecover/debugfs <= 1.0), not failed.
set -u

SR=${1:?usage: bigdir_vs_debugfs.sh SYSRECOVER}
[ -x "$SR" ] || { echo "bench: $SR is not executable (make)" >&2; exit 2; }
REPS=${BENCH_REPS:-3}
DREPS=${BENCH_DEBUGFS_REPS:-1}
N=${BIGDIR_FILES:-100000}
NM=${BIGDIR_MOVES:-50000}
ND=${BIGDIR_DELETES:-25000}
W=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/bigdir-bench.XXXXXX") || exit 2
trap 'rm -rf "${W:?}"' EXIT INT TERM

now() { date +%s.%N; }
python3 - "$W" "$N" "$NM" "$ND" <<'EOF' || exit 2
import os, sys
w, n, nm, nd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
os.makedirs(w + "/tree/big")
os.makedirs(w + "/tree/var/lib/sysrecover")
for i in range(n):
    with open("%s/tree/big/f%d" % (w, i), "w") as f:
        f.write("%d\n" % i)
with open(w + "/tree/var/lib/sysrecover/srdelayed.queue", "w") as q, \
     open(w + "/cmds", "w") as c:
    for i in range(nm):
        q.write("MoveFile\t/big/f%d\t/big/g%d\tNotExecuted\n" % (i, i))
        c.write("ln /big/f%d /big/g%d\nunlink /big/f%d\n" % (i, i, i))
    for i in range(nm, nm + nd):
        q.write("DeleteFile\tUnused\t/big/f%d\tNotExecuted\n" % i)
        c.write("rm /big/f%d\n" % i)
names = ["g%d" % i for i in range(nm)] + ["f%d" % i for i in range(nm + nd, n)]
with open(w + "/want", "w") as f:
    f.write("\n".join(sorted(names)) + "\n")
EOF
mke2fs -q -t ext4 -N $((N + 20000)) "$W/base.img" 512M >/dev/null || exit 2
"$SR" fs "$W/base.img" copy-in "$W/tree" / >"$W/ci.out" 2>&1 ||
	{ cat "$W/ci.out"; echo "bench: copy-in failed" >&2; exit 2; }
e2fsck -fn "$W/base.img" >/dev/null 2>&1 || { echo "bench: e2fsck: the base image" >&2; exit 2; }
if [ "${BIGDIR_INDEX:-1}" = 1 ]; then
	e2fsck -fyD "$W/base.img" >/dev/null 2>&1
	[ $? -le 1 ] || { echo "bench: e2fsck -fyD failed" >&2; exit 2; }
	debugfs -R "htree /big" "$W/base.img" 2>/dev/null | grep -q 'Indirect levels' ||
		{ echo "bench: /big is not indexed" >&2; exit 2; }
	kind=htree
else
	kind=linear
fi
rm -rf "${W:?}/tree"
echo "/big: $N files ($kind); queue: $NM moves, $ND deletes; debugfs script: $(wc -l <"$W/cmds") commands"

names() { # image -> the live names in /big, sorted
	debugfs -R "ls -p /big" "$1" 2>/dev/null |
		awk -F/ 'NF >= 7 && $2 != 0 && $6 != "." && $6 != ".." { print $6 }' | sort
}
check() { # image who
	e2fsck -fn "$1" >/dev/null 2>&1 || { echo "bench: e2fsck: $2's image"; ok=1; }
	names "$1" >"$W/got"
	cmp -s "$W/got" "$W/want" || { echo "bench: $2's /big is not the expected set"; ok=1; }
}

ours=""; theirs=""; ok=0
for r in $(seq 1 "$REPS"); do
	cp "$W/base.img" "$W/a.img"; sync
	t0=$(now)
	"$SR" srdelayed apply "$W/a.img" >"$W/a.out" 2>&1
	rc=$?
	t1=$(now)
	ours="$ours $(awk "BEGIN { print $t1 - $t0 }")"
	if [ "$r" = 1 ]; then
		[ "$rc" = 0 ] || { echo "bench: sysrecover exit $rc: $(tail -2 "$W/a.out")"; ok=1; }
		tail -1 "$W/a.out"
		check "$W/a.img" sysrecover
	fi
	rm -f "$W/a.img"
done
for r in $(seq 1 "$DREPS"); do
	cp "$W/base.img" "$W/b.img"; sync
	t1=$(now)
	debugfs -w -f "$W/cmds" "$W/b.img" >/dev/null 2>&1
	t2=$(now)
	theirs="$theirs $(awk "BEGIN { print $t2 - $t1 }")"
	[ "$r" = 1 ] && check "$W/b.img" debugfs
	rm -f "$W/b.img"
done
median() { printf '%s\n' $1 | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
mo=$(median "$ours")
if [ "$DREPS" = 0 ]; then
	printf '%s moves + %s deletes in one %s directory of %s on ext4: sysrecover %.3f s (median of %s)\n' \
		"$NM" "$ND" "$kind" "$N" "$mo" "$REPS"
	exit $ok
fi
mt=$(median "$theirs")
printf '%s moves + %s deletes in one %s directory of %s on ext4: sysrecover %.3f s (median of %s), debugfs %.3f s (median of %s), ratio %.3f\n' \
	"$NM" "$ND" "$kind" "$N" "$mo" "$REPS" "$mt" "$DREPS" "$(awk "BEGIN { print $mo / $mt }")"
exit $ok
