#!/bin/sh
# run-all.sh - every test suite, then one summary line:
#     N passed, N failed, N skipped
#   run-all.sh [--only SUITE] BUILD_DIR ASAN_BUILD_DIR
# Suites: unit (cmocka, normal build), asan (the same under ASan+UBSan),
# integration (tests/integration/*.sh), vm (tests/vm/run.sh: real st driver).
# Exits 0 when nothing failed; skipped tests do not fail the run (CI makes the
# missing real data a failure with SYSRECOVER_REQUIRE_TESTDATA=1, see .ci/run).
#
# The real test data: SYSRECOVER_TESTDATA, when unset, is exported as the
# absolute path of the testdata/ directory of the shared/ directory beside the
# clone, so that the unit tests (tests/unit/harness.c th_testdata) and the
# scripts (tests/lib/check.sh testdata) look at the same place whatever the
# current directory.  When it is not there, those tests are SKIPped.
set -u
only=
if [ "${1:-}" = --only ]; then only=$2; shift 2; fi
B=${1:-build}
BA=${2:-build-asan}
top=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${SYSRECOVER_TESTDATA:-}" ]; then
	SYSRECOVER_TESTDATA=$(dirname "$top")/shared/testdata
	export SYSRECOVER_TESTDATA
fi
pass=0
fail=0
skipped=0
log=$(mktemp -d /tmp/sysrecover-check.XXXXXX)
trap 'rm -rf "${log:?}"' EXIT

want() { [ -z "$only" ] || [ "$only" = "$1" ]; }

add() { # passed failed skipped
	pass=$((pass + $1))
	fail=$((fail + $2))
	skipped=$((skipped + $3))
}

# cmocka's TAP output (libcmocka 1.1): "ok N - name", "not ok N - name", and
# for a test that called skip() "not ok N # SKIP name" (TAP itself would say
# "ok N # SKIP"; both count as skipped).  Its own summary is "# ok - group".
run_cmocka() { # suite binary
	out="$log/$1.$(basename "$2").tap"
	CMOCKA_MESSAGE_OUTPUT=TAP "$2" >"$out" 2>&1
	rc=$?
	s=$(grep -cE '^(not )?ok [0-9]+ # SKIP' "$out")
	p=$(grep -E '^ok [0-9]+' "$out" | grep -cv '# SKIP')
	f=$(grep -E '^not ok [0-9]+' "$out" | grep -cv '# SKIP')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi  # crashed mid-run
	grep -E '^(not ok|#)' "$out" | grep -v '^# ok - ' | sed "s|^|  $1: |"
	[ "$rc" -ne 0 ] && [ "$f" -ge 1 ] && tail -n 20 "$out" | sed "s|^|  $1: |"
	echo "$1 $(basename "$2"): $p passed, $f failed, $s skipped"
	add "$p" "$f" "$s"
}

# A script suite prints "PASS name" / "FAIL name: why" / "SKIP name: why"
# lines (tests/lib/check.sh), optionally behind a "suite: " prefix (the VM
# harness says "vm: PASS ...").
run_script() { # suite script args...
	s=$1; shift
	out="$log/$s.$(basename "$1").out"
	# a script that lost its x bit still runs (the integration ones are sh)
	if [ -x "$1" ]; then "$@"; else sh "$@"; fi >"$out" 2>&1
	rc=$?
	p=$(grep -cE '^([a-z]+: )?PASS ' "$out")
	f=$(grep -cE '^([a-z]+: )?FAIL ' "$out")
	k=$(grep -cE '^([a-z]+: )?SKIP ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	grep -E '^([a-z]+: )?(FAIL|SKIP) ' "$out" | sed "s|^|  $s: |"
	[ "$rc" -ne 0 ] && tail -n 30 "$out" | sed "s|^|  $s: |"
	echo "$s $(basename "$1"): $p passed, $f failed, $k skipped"
	add "$p" "$f" "$k"
}

# A suite whose binaries are missing is a failure, not an empty pass.
no_bins() { # suite dir
	echo "$1: no test binaries in $2/tests (make unit-bins / make asan)"
	add 0 1 0
}

if want unit; then
	found=
	for t in "$B"/tests/test_*; do
		[ -x "$t" ] || continue
		found=1
		run_cmocka unit "$t"
	done
	[ -n "$found" ] || no_bins unit "$B"
fi
if want asan; then
	found=
	for t in "$BA"/tests/test_*; do
		[ -x "$t" ] || continue
		found=1
		run_cmocka asan "$t"
	done
	[ -n "$found" ] || no_bins asan "$BA"
fi
if want integration; then
	for t in "$top"/tests/integration/*.sh; do
		[ -e "$t" ] && run_script integration "$t" "$B/sysrecover" "$BA/sysrecover"
	done
fi
if want vm; then
	run_script vm "$top/tests/vm/run.sh" "$B/sysrecover"
fi
echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
