#!/bin/sh
# fs_ext.sh - the ext backend at scale: 100,000 files in one directory and
# 10,000 nested directories through fs.h, then e2fsck -fn and a read-only
# loop mount (kernel ext4) count them; peak RSS must stay under 256 MB.
# The driver is tests/unit/test_fs_ext.c (its functional suite runs as a
# unit test); here it runs with "scale", on the normal and the ASan build.
#   fs_ext.sh SYSRECOVER [SYSRECOVER_ASAN]
set -u
. "$(dirname "$0")/../lib/check.sh"
for sr in "$1" "${2:-}"; do
	[ -n "$sr" ] || continue
	drv=$(dirname "$sr")/tests/test_fs_ext
	name=scale-$(basename "$(dirname "$sr")")
	if [ ! -x "$drv" ]; then
		bad "$name" "$drv not built (make unit-bins / make asan)"
		continue
	fi
	o=$("$drv" scale 2>&1); rc=$?
	printf '%s\n' "$o" | grep '^# scale:' | head -n 1
	if [ "$rc" -eq 0 ] && printf '%s\n' "$o" | grep -q '^\[  PASSED  \] 1 test'; then
		ok "$name"
	else
		bad "$name" "exit $rc: $(printf '%s\n' "$o" | grep -E 'ERROR|FAILED|error' | head -n 3 | tr '\n' ' ')"
	fi
done
finish
