#!/bin/sh
# fuzz_build.sh - every libFuzzer target of `make fuzz` builds from this tree
# and runs a few hundred inputs under ASan+UBSan without a finding.
#   fuzz_build.sh [SYSRECOVER ...]   (arguments ignored: builds its own)
# The fuzz targets link parts of the engine of their own choosing, outside
# `make all`: when a module gains a call into a new file, only their build
# shows it (the restore's name checks stopped linking once verify called the
# SIS and EFS code, and nothing else noticed).  The long runs (10 minutes
# each) are `make fuzz-run`; this is the check that they still can.
set -u
. "$(dirname "$0")/../lib/check.sh"
workdir fuzzbuild
need clang make
top=$(cd "$(dirname "$0")/../.." && pwd)
targets=$(sed -n 's/^.*-o \$(B)\/fuzz\/\(fuzz_[a-z_]*\) .*/\1/p' "$top/Makefile")
[ -n "$targets" ] && ok "fuzz targets named in the Makefile: $(echo $targets)" ||
	bad fuzz-targets "no -o \$(B)/fuzz/fuzz_* line in the Makefile"

if make -s -C "$top" fuzz B="$w" >"$w/build.log" 2>&1; then
	ok fuzz-build
else
	bad fuzz-build "$(grep -m 3 -E 'error|undefined' "$w/build.log" | tr '\n' ' ')"
fi
for t in $targets; do
	if [ ! -x "$w/fuzz/$t" ]; then
		bad "fuzz-built-$t" "make fuzz did not make $t"
		continue
	fi
	mkdir -p "$w/corpus-$t"
	# -runs on an empty corpus: libFuzzer's own generated inputs; a crash,
	# leak or UBSan report exits non-zero
	if timeout 120 "$w/fuzz/$t" -runs=500 -seed=1 "$w/corpus-$t" >"$w/$t.log" 2>&1; then
		ok "fuzz-runs-$t"
	else
		bad "fuzz-runs-$t" "$(grep -m 2 -E 'ERROR|SUMMARY|runtime error' "$w/$t.log" | tr '\n' ' ')"
	fi
done
finish
