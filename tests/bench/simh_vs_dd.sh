#!/bin/sh
# simh_vs_dd.sh SYSRECOVER - throughput of the SIMH tape backend against dd.
#
#   make bench                      (or: sh tests/bench/simh_vs_dd.sh build/sysrecover)
#
# For each record size, the same incompressible data is
#   written:  dd if=DATA of=OUT.raw bs=RS conv=fdatasync
#         vs  sysrecover tape --record-size RS simh:OUT.tap write DATA
#   read:     dd if=OUT.raw of=/dev/null bs=RS
#         vs  sysrecover tape --read-only simh:OUT.tap rewind read /dev/null
# and the tape is read back into a file and compared with the data (cmp).
# dd gets conv=fdatasync because closing a writable simh tape fdatasyncs the
# image (and writes IMAGE.state); both start from a removed output file after
# a sync, outside the timed part.
# Each measurement runs BENCH_REPS times (default 5), alternating dd and
# sysrecover, and the median is reported.  The page cache is warm for both
# (the data file and the images stay cached: it measures CPU and syscall cost,
# plus the flush to disk on writes) unless BENCH_COLD=1 (root), which drops
# caches before every run.
#
# Environment: BENCH_MB (data size, default 1024; shrunk to fit free space),
# BENCH_RS (record sizes in bytes, default "262144 65536 10240"), BENCH_REPS,
# BENCH_COLD, BENCH_DIR (scratch directory, default TMPDIR or /tmp; it should
# be a real disk, not tmpfs, to include the flush), BENCH_VERBOSE=1 (print
# every time).  The last column also gives how long opening the image takes
# (`tape --read-only IMAGE status`): the image is indexed at open, and that
# time is part of every sysrecover read.
# Result lines (tests/lib/check.sh): "PASS read-back-SIZE" when the tape read
# back is the data byte for byte and every timed command succeeded, a FAIL
# line otherwise.  Exit status: 0 when every one passed, 1 otherwise.  The
# goal is a ratio sysrecover/dd of at least 0.80; a lower ratio is reported,
# not failed.
set -u
. "$(dirname "$0")/../lib/check.sh"

SR=${1:?usage: simh_vs_dd.sh SYSRECOVER}
[ -x "$SR" ] || { echo "bench: $SR is not executable (make)" >&2; exit 2; }
MB=${BENCH_MB:-1024}
RSS=${BENCH_RS:-262144 65536 10240}
REPS=${BENCH_REPS:-5}
COLD=${BENCH_COLD:-0}
W=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/simh-bench.XXXXXX") || exit 2
trap 'rm -rf "${W:?}"' EXIT INT TERM

# Data, raw copy, tape image and read-back must fit, with some slack.
avail=$(df -Pk "$W" | awk 'NR == 2 { print int($4 / 1024) }')
if [ "$((MB * 4 + 256))" -gt "$avail" ]; then
	MB=$(((avail - 256) / 4))
	[ "$MB" -ge 16 ] || { echo "bench: not enough space in $W" >&2; exit 2; }
	echo "bench: only ${avail} MB free: using ${MB} MiB of data"
fi

now() { date +%s.%N; }

drop() {
	[ "$COLD" = 1 ] || return 0
	sync
	echo 3 > /proc/sys/vm/drop_caches
}

# run_timed CMD...: print elapsed seconds of CMD (stdout/stderr discarded).
run_timed() {
	drop
	t0=$(now)
	"$@" >/dev/null 2>&1 || { echo "bench: failed: $*" >&2; echo fail; return; }
	t1=$(now)
	echo "$t0 $t1" | awk '{ printf "%.6f\n", $2 - $1 }'
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", b / s / 1e6; else print "?" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "?" }'; }

w_dd() { dd if="$W/data" of="$W/out.raw" bs="$1" conv=fdatasync; }
w_sr() { "$SR" tape --record-size "$1" "simh:$W/out.tap" write "$W/data"; }
# Before a write: no output file, and nothing of the last run still to flush.
fresh() { rm -f "$W/out.raw" "$W/out.tap" "$W/out.tap.state"; sync; }
r_dd() { dd if="$W/out.raw" of=/dev/null bs="$1"; }
r_sr() { "$SR" tape --read-only "simh:$W/out.tap" rewind read /dev/null; }

BYTES=$((MB * 1048576))
start=$(now)
head -c "$BYTES" /dev/urandom > "$W/data" || exit 2
cat "$W/data" > /dev/null  # warm
echo "bench: ${MB} MiB of random data in $W, ${REPS} runs each, median;" \
     "$([ "$COLD" = 1 ] && echo "caches dropped before each run" || echo "warm page cache")"

tab="$W/table"
results="$W/results"
: >"$results"
printf '%-9s %-6s %10s %14s %8s\n' "record" "op" "dd MB/s" "sysrecover MB/s" "ratio" > "$tab"
for rs in $RSS; do
	wd="" ws="" rd="" rsr=""
	for _ in $(seq "$REPS"); do
		fresh
		wd="$wd $(run_timed w_dd "$rs")"
		fresh
		ws="$ws $(run_timed w_sr "$rs")"
	done
	w_dd "$rs" >/dev/null 2>&1  # both images exist for the reads
	for _ in $(seq "$REPS"); do
		rd="$rd $(run_timed r_dd "$rs")"
		rsr="$rsr $(run_timed r_sr)"
	done
	# What opening costs: the image is indexed (scanned) at open.
	op=""
	for _ in $(seq "$REPS"); do
		op="$op $(run_timed "$SR" tape --read-only "simh:$W/out.tap" status)"
	done
	opm=$(echo "$op" | median)
	# Correctness: the records read back are the data, byte for byte.
	kib=$((rs / 1024))
	if [ $((kib * 1024)) -eq "$rs" ]; then label="${kib}KiB"; else label="${rs}B"; fi
	rm -f "$W/back"
	if ! rb=$("$SR" tape --read-only "simh:$W/out.tap" rewind read "$W/back" 2>&1); then
		verdict="READ-BACK FAILED"
		bad "read-back-$label" "sysrecover read failed: $(printf '%s' "$rb" | tail -n 2 | tr '\n' ' ')" >>"$results"
	elif cmp -s "$W/data" "$W/back"; then
		verdict="read-back OK"
	else
		verdict="READ-BACK DIFFERS"
		bad "read-back-$label" "the records read back differ from the data" >>"$results"
	fi
	rm -f "$W/back"
	case "$wd$ws$rd$rsr$op" in
	*fail*)
		verdict="$verdict, a command FAILED"
		bad "commands-$label" "a timed command failed (see the bench: lines)" >>"$results" ;;
	esac
	case "$verdict" in "read-back OK") ok "read-back-$label" >>"$results" ;; esac
	wdm=$(echo "$wd" | median) wsm=$(echo "$ws" | median)
	rdm=$(echo "$rd" | median) rsm=$(echo "$rsr" | median)
	printf '%-9s %-6s %10s %14s %8s\n' "$label" write "$(mbps $BYTES "$wdm")" \
		"$(mbps $BYTES "$wsm")" "$(ratio "$wsm" "$wdm")" >> "$tab"
	printf '%-9s %-6s %10s %14s %8s   %s\n' "$label" read "$(mbps $BYTES "$rdm")" \
		"$(mbps $BYTES "$rsm")" "$(ratio "$rsm" "$rdm")" \
		"$verdict; open (index) $(awk -v s="$opm" 'BEGIN { printf "%.0f", s * 1000 }') ms" >> "$tab"
	if [ -n "${BENCH_VERBOSE:-}" ]; then
		echo "  $label times (s): dd write$wd | sr write$ws | dd read$rd | sr read$rsr | sr open$op"
	fi
	rm -f "$W/out.raw" "$W/out.tap" "$W/out.tap.state"
done
cat "$tab"
cat "$results"
echo "bench: ratio = sysrecover MB/s / dd MB/s (goal >= 0.80); MB = 10^6 bytes;" \
     "took $(echo "$start $(now)" | awk '{ printf "%.0f", $2 - $1 }') s"
finish
