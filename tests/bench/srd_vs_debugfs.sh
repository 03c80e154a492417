#!/bin/sh
# srd_vs_debugfs.sh SYSRECOVER - 10,000 queued moves and deletes applied to an
# unmounted ext4 image, against `debugfs -w -f` doing the same work.
#
#   make bench                 (or: sh tests/bench/srd_vs_debugfs.sh build/sysrecover)
#
# The image holds 100 directories s0..s99 of 100 small files each, 100 empty
# directories t0..t99, and a native queue of 10,000 records: per directory,
# files 0-49 moved to tN/ and files 50-99 deleted.
#   sysrecover srdelayed apply IMG        (parse, resolve, journal, apply,
#                                          statuses, move the queue aside)
#   debugfs -w -f CMDS IMG                ("ln sN/fK tN/fK" + "unlink sN/fK"
#                                          per move, "rm sN/fK" per delete)
# Each run starts from a fresh copy of the image (made outside the timed
# part, page cache warm); BENCH_REPS runs each (default 5), alternating, the
# median reported.  Both results are checked: the same names in every
# directory (debugfs ls), and e2fsck -fn clean.  debugfs keeps no journal and
# flushes once at the end; sysrecover flushes and fsyncs every 256
# operations (srd.h, "Crash safety"), which is part of what is measured.
# Exit status: 0 when both results are right; the ratio is reported (the
# goal is sysrecover/debugfs <= 1.0), not failed.
set -u

SR=${1:?usage: srd_vs_debugfs.sh SYSRECOVER}
[ -x "$SR" ] || { echo "bench: $SR is not executable (make)" >&2; exit 2; }
REPS=${BENCH_REPS:-5}
W=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/srd-bench.XXXXXX") || exit 2
trap 'rm -rf "$W"' EXIT INT TERM

now() { date +%s.%N; }
T=$(printf '\t')
mkdir -p "$W/tree/var/lib/sysrecover"
: >"$W/cmds"
q=$W/tree/var/lib/sysrecover/srdelayed.queue
for d in $(seq 0 99); do
	mkdir -p "$W/tree/s$d" "$W/tree/t$d"
	for f in $(seq 0 99); do echo "$d $f" >"$W/tree/s$d/f$f"; done
	for f in $(seq 0 49); do
		echo "MoveFile${T}/s$d/f$f${T}/t$d/f$f${T}NotExecuted"
		printf 'ln /s%s/f%s /t%s/f%s\nunlink /s%s/f%s\n' $d $f $d $f $d $f >>"$W/cmds"
	done
	for f in $(seq 50 99); do
		echo "DeleteFile${T}Unused${T}/s$d/f$f${T}NotExecuted"
		echo "rm /s$d/f$f" >>"$W/cmds"
	done
done >"$q"
mke2fs -q -t ext4 -d "$W/tree" "$W/base.img" 256M || exit 2
echo "queue: $(wc -l <"$q") records; debugfs script: $(wc -l <"$W/cmds") commands"

listing() { # image -> every directory's names, sorted
	for d in $(seq 0 99); do
		for p in s t; do
			debugfs -R "ls /$p$d" "$1" 2>/dev/null | tr -s ' ' '\n' |
				grep '^f' | sort | tr '\n' ' '
			echo
		done
	done
}

ours=""; theirs=""; ok=0
for r in $(seq 1 "$REPS"); do
	cp "$W/base.img" "$W/a.img"; cp "$W/base.img" "$W/b.img"; sync
	t0=$(now)
	"$SR" srdelayed apply "$W/a.img" >"$W/a.out" 2>&1
	rc=$?
	t1=$(now)
	debugfs -w -f "$W/cmds" "$W/b.img" >/dev/null 2>&1
	t2=$(now)
	ours="$ours $(awk "BEGIN { print $t1 - $t0 }")"
	theirs="$theirs $(awk "BEGIN { print $t2 - $t1 }")"
	if [ "$r" = 1 ]; then
		[ "$rc" = 0 ] || { echo "bench: sysrecover exit $rc: $(tail -2 "$W/a.out")"; ok=1; }
		tail -1 "$W/a.out"
		e2fsck -fn "$W/a.img" >/dev/null 2>&1 || { echo "bench: e2fsck: sysrecover's image"; ok=1; }
		e2fsck -fn "$W/b.img" >/dev/null 2>&1 || { echo "bench: e2fsck: debugfs's image"; ok=1; }
		[ "$(listing "$W/a.img")" = "$(listing "$W/b.img")" ] ||
			{ echo "bench: the two trees differ"; ok=1; }
	fi
done
median() { printf '%s\n' $1 | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
mo=$(median "$ours"); mt=$(median "$theirs")
printf '10,000 moves+deletes on ext4: sysrecover %.3f s, debugfs %.3f s, ratio %.2f (median of %s)\n' \
	"$mo" "$mt" "$(awk "BEGIN { print $mo / $mt }")" "$REPS"
exit $ok
