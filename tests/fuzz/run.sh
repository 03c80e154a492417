#!/bin/sh
# run.sh FUZZER SECONDS - run a libFuzzer target on fresh seeds plus the kept
# corpus, fail on any crash, timeout, leak or undefined behaviour.
#
#   make fuzz-run FUZZ_SECONDS=600       (or: sh tests/fuzz/run.sh build/fuzz/fuzz_simh 600)
#
# Seeds are made in a temporary directory by make-corpus.sh; inputs that find
# new coverage go to DIR/corpus next to the fuzzer (build/fuzz/corpus) so runs
# accumulate.  Crashing inputs are saved as DIR/artifacts/crash-*.  The whole
# libFuzzer log is kept in DIR/last-run.log.
#
# Environment:
#   SYSRECOVER        CLI used for the valid seeds (default: DIR/../sysrecover)
#   FUZZ_JOBS         parallel fuzzing processes (default 1)
#   FUZZ_UBSAN_SUPP   UBSan suppressions file, to keep fuzzing past a known,
#                     reported bug (e.g. "signed-integer-overflow:set_capacities")
#   FUZZ_SIMH_KNOWN_BUGS  relax fuzz_simh checks for known bugs (see fuzz_simh.c)
#   FUZZ_ARGS         extra libFuzzer options
set -u

FUZZER=${1:?usage: run.sh FUZZER SECONDS}
SECS=${2:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
FDIR=$(cd "$(dirname "$FUZZER")" && pwd)
FUZZER=$FDIR/$(basename "$FUZZER")
SR=${SYSRECOVER:-$FDIR/../sysrecover}
CORPUS=$FDIR/corpus
ART=$FDIR/artifacts
LOG=$FDIR/last-run.log
JOBS=${FUZZ_JOBS:-1}

[ -x "$FUZZER" ] || { echo "run.sh: no fuzzer at $FUZZER (make fuzz)" >&2; exit 2; }
mkdir -p "$CORPUS" "$ART"
# The target keeps its scratch images in TMPDIR: a private one, on tmpfs when
# there is one (the read-write pass fsyncs every input).
base=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
W=$(mktemp -d "$base/fuzz-run.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
sh "$HERE/make-corpus.sh" "$SR" "$W/seeds" >/dev/null || {
	echo "run.sh: make-corpus.sh failed" >&2; exit 2; }

ubsan=halt_on_error=1:print_stacktrace=1
[ -n "${FUZZ_UBSAN_SUPP:-}" ] && ubsan="$ubsan:suppressions=$FUZZ_UBSAN_SUPP"
par=""
[ "$JOBS" -gt 1 ] && par="-jobs=$JOBS -workers=$JOBS"

echo "fuzz: $(basename "$FUZZER") for ${SECS}s, corpus $CORPUS ($(ls "$CORPUS" | wc -l) kept" \
     "+ $(ls "$W/seeds" | wc -l) seeds), log $LOG"
start=$(date +%s)
# shellcheck disable=SC2086
TMPDIR=$W UBSAN_OPTIONS=$ubsan ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	"$FUZZER" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
	-max_len=65536 -dict="$HERE/simh.dict" -artifact_prefix="$ART/" \
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
	echo "fuzz: FAILED (exit $rc) after ${execs:-?} execs in ${el}s (${rate} exec/s), cov ${cov:-?} ft ${ft:-?}"
	grep -E 'ERROR|runtime error|SUMMARY|Test unit written|ALARM|deadly signal' "$LOG" | head -20
	ls -t "$ART" | head -3 | sed "s|^|  artifact: $ART/|"
	echo "  reproduce: $FUZZER ARTIFACT   (full log: $LOG)"
	[ "$rc" -ne 0 ] || rc=1
	exit "$rc"
fi
echo "fuzz: OK ${execs} execs in ${el}s (${rate} exec/s), cov ${cov:-?} ft ${ft:-?}, corpus ${kept} inputs, no crash/timeout/leak"
