#!/bin/sh
# run-all.sh - every test suite, then one summary line: "N passed, N failed".
#   run-all.sh [--only SUITE] BUILD_DIR ASAN_BUILD_DIR
# Suites: unit (cmocka, normal build), asan (the same under ASan+UBSan),
# integration (tests/integration/*.sh), vm (tests/vm/run.sh: real st driver).
set -u
only=
if [ "${1:-}" = --only ]; then only=$2; shift 2; fi
B=${1:-build}
BA=${2:-build-asan}
top=$(cd "$(dirname "$0")/.." && pwd)
pass=0
fail=0
log=$(mktemp -d /tmp/sysrecover-check.XXXXXX)
trap 'rm -rf "$log"' EXIT

want() { [ -z "$only" ] || [ "$only" = "$1" ]; }

# cmocka's TAP output: "ok N - name" / "not ok N - name".
run_cmocka() { # suite binary
	out="$log/$1.$(basename "$2").tap"
	CMOCKA_MESSAGE_OUTPUT=TAP "$2" >"$out" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^not ok ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi  # crashed mid-run
	grep -E '^(not ok|#)' "$out" | sed "s|^|  $1: |"
	[ "$rc" -ne 0 ] && [ "$f" -ge 1 ] && tail -n 20 "$out" | sed "s|^|  $1: |"
	echo "$1 $(basename "$2"): $p passed, $f failed"
	pass=$((pass + p))
	fail=$((fail + f))
}

# A script suite prints "PASS name" / "FAIL name" lines, optionally behind a
# "suite: " prefix (the VM harness says "vm: PASS ...").
run_script() { # suite script args...
	s=$1; shift
	out="$log/$s.$(basename "$1").out"
	"$@" >"$out" 2>&1
	rc=$?
	p=$(grep -cE '^([a-z]+: )?PASS ' "$out")
	f=$(grep -cE '^([a-z]+: )?FAIL ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	grep -E '^([a-z]+: )?(FAIL|SKIP) ' "$out" | sed "s|^|  $s: |"
	[ "$rc" -ne 0 ] && tail -n 30 "$out" | sed "s|^|  $s: |"
	echo "$s $(basename "$1"): $p passed, $f failed"
	pass=$((pass + p))
	fail=$((fail + f))
}

if want unit; then
	for t in "$B"/tests/test_*; do run_cmocka unit "$t"; done
fi
if want asan; then
	for t in "$BA"/tests/test_*; do run_cmocka asan "$t"; done
fi
if want integration; then
	for t in "$top"/tests/integration/*.sh; do
		[ -e "$t" ] && run_script integration "$t" "$B/sysrecover" "$BA/sysrecover"
	done
fi
if want vm; then
	run_script vm "$top/tests/vm/run.sh" "$B/sysrecover"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
