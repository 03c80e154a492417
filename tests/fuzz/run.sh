#!/bin/sh
# run.sh FUZZER [SECONDS]        run one libFuzzer target
# run.sh --all FUZZ_DIR [SECONDS] run every fuzz_* target in FUZZ_DIR, one after
#                                the other, SECONDS each
# On fresh seeds plus the kept corpus; fails on any crash, timeout, leak or
# undefined behaviour.
#
#   make fuzz-run FUZZ_SECONDS=600       (or: sh tests/fuzz/run.sh build/fuzz/fuzz_simh 600,
#                                         sh tests/fuzz/run.sh --all build/fuzz 600)
#
# Targets: fuzz_simh, fuzz_hive_rules, fuzz_fntb_expand, fuzz_srd_parse, fuzz_arc_label,
# fuzz_arc_catalog, fuzz_rs_names.  Each has its own seeds
# (made in a temporary directory by make-corpus.sh FUZZER's name), its own
# corpus DIR/corpus-TARGET next to the fuzzer (build/fuzz/corpus-fuzz_simh...),
# where inputs that find new coverage go so that runs accumulate, its own
# crash directory DIR/artifacts-TARGET/crash-* and its own whole libFuzzer log
# DIR/last-run-TARGET.log; a dictionary tests/fuzz/NAME.dict (NAME: the target
# without "fuzz_") is used when there is one.
#
# Environment:
#   SYSRECOVER        CLI used for the valid seeds (default: DIR/../sysrecover)
#   FUZZ_JOBS         parallel fuzzing processes (default 1)
#   FUZZ_UBSAN_SUPP   UBSan suppressions file, to keep fuzzing past a known,
#                     reported bug (e.g. "signed-integer-overflow:set_capacities")
#   FUZZ_SIMH_KNOWN_BUGS  relax fuzz_simh checks for known bugs (see fuzz_simh.c)
#   FUZZ_ARGS         extra libFuzzer options
set -u

HERE=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" = --all ]; then
	dir=${2:?usage: run.sh --all FUZZ_DIR [SECONDS]}
	rc=0 n=0
	for f in "$dir"/fuzz_*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		n=$((n + 1))
		sh "$0" "$f" "${3:-60}" || rc=1
	done
	[ "$n" -gt 0 ] || { echo "run.sh: no fuzz_* targets in $dir (make fuzz)" >&2; exit 2; }
	exit "$rc"
fi

FUZZER=${1:?usage: run.sh FUZZER [SECONDS] | run.sh --all FUZZ_DIR [SECONDS]}
SECS=${2:-60}
FDIR=$(cd "$(dirname "$FUZZER")" && pwd)
NAME=$(basename "$FUZZER")
FUZZER=$FDIR/$NAME
SR=${SYSRECOVER:-$FDIR/../sysrecover}
CORPUS=$FDIR/corpus-$NAME
ART=$FDIR/artifacts-$NAME
LOG=$FDIR/last-run-$NAME.log
JOBS=${FUZZ_JOBS:-1}
DICT=$HERE/${NAME#fuzz_}.dict

[ -x "$FUZZER" ] || { echo "run.sh: no fuzzer at $FUZZER (make fuzz)" >&2; exit 2; }
mkdir -p "$CORPUS" "$ART"
# The target keeps its scratch images in TMPDIR: a private one, on tmpfs when
# there is one (the read-write pass fsyncs every input).
base=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
W=$(mktemp -d "$base/fuzz-run.XXXXXX")
trap 'rm -rf "${W:?}"' EXIT INT TERM
sh "$HERE/make-corpus.sh" "$SR" "$W/seeds" "$NAME" >/dev/null || {
	echo "run.sh: make-corpus.sh failed for $NAME" >&2; exit 2; }

ubsan=halt_on_error=1:print_stacktrace=1
[ -n "${FUZZ_UBSAN_SUPP:-}" ] && ubsan="$ubsan:suppressions=$FUZZ_UBSAN_SUPP"
par=""
[ "$JOBS" -gt 1 ] && par="-jobs=$JOBS -workers=$JOBS"
dict=""
[ -f "$DICT" ] && dict="-dict=$DICT"

echo "fuzz: $NAME for ${SECS}s, corpus $CORPUS ($(ls "$CORPUS" | wc -l) kept" \
     "+ $(ls "$W/seeds" | wc -l) seeds), log $LOG"
start=$(date +%s)
# shellcheck disable=SC2086
TMPDIR=$W UBSAN_OPTIONS=$ubsan ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	"$FUZZER" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
	-max_len=65536 $dict -artifact_prefix="$ART/" \
	-print_final_stats=1 $par ${FUZZ_ARGS:-} "$CORPUS" "$W/seeds" >"$LOG" 2>&1
rc=$?
[ "$JOBS" -gt 1 ] && cat fuzz-*.log >>"$LOG" 2>/dev/null && rm -f fuzz-*.log
end=$(date +%s)

# Numbers for the summary: the last status line and the final stats.
last=$(grep -aoE '^#[0-9]+[[:space:]]+[A-Z]+[[:space:]]+cov: [0-9]+ ft: [0-9]+' "$LOG" | tail -1)
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG" | awk '{s+=$1} END {print s+0}')
[ "$execs" -gt 0 ] || execs=$(echo "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
el=$((end - start))
[ "$el" -gt 0 ] || el=1
rate=$((${execs:-0} / el))
kept=$(ls "$CORPUS" | wc -l)

if [ "$rc" -ne 0 ] || grep -qE '^(==[0-9]+==ERROR|SUMMARY: (Address|Undefined|Leak)Sanitizer|.*runtime error:|ALARM: working on the last Unit)' "$LOG"; then
	echo "fuzz: $NAME FAILED (exit $rc) after ${execs:-?} execs in ${el}s (${rate} exec/s), cov ${cov:-?} ft ${ft:-?}"
	grep -E 'ERROR|runtime error|SUMMARY|Test unit written|ALARM|deadly signal' "$LOG" | head -20
	ls -t "$ART" | head -3 | sed "s|^|  artifact: $ART/|"
	echo "  reproduce: $FUZZER ARTIFACT   (full log: $LOG)"
	[ "$rc" -ne 0 ] || rc=1
	exit "$rc"
fi
echo "fuzz: $NAME OK ${execs} execs in ${el}s (${rate} exec/s), cov ${cov:-?} ft ${ft:-?}, corpus ${kept} inputs, no crash/timeout/leak"
