#!/bin/sh
# demo.sh - `make demo` (tests/demo.sh) as part of the suite, so that the
# README's first command cannot break unnoticed: its PASS/FAIL lines are
# counted like any other script's.  It works in the build directory of the
# binary it is given (build/demo).
#   demo.sh SYSRECOVER [SYSRECOVER_ASAN]   (the plain build runs it)
exec sh "$(dirname "$0")/../demo.sh" "$1"
