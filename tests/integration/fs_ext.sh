#!/bin/sh
# fs_ext.sh - the ext backend at scale: 100,000 files in one directory and
# 10,000 nested directories through fs.h, then e2fsck -fn and a read-only
# loop mount (kernel ext4) count them; peak RSS must stay under 256 MB.
# The driver is tests/unit/test_fs_ext.c (its functional suite runs as a
# unit test); here it runs with "scale", on the normal and the ASan build.
#   fs_ext.sh SYSRECOVER [SYSRECOVER_ASAN]
set -u
for sr in "$1" "${2:-}"; do
	[ -n "$sr" ] || continue
	drv=$(dirname "$sr")/tests/test_fs_ext
	name=scale-$(basename "$(dirname "$sr")")
	if [ ! -x "$drv" ]; then
		echo "FAIL $name: $drv not built (make unit-bins / make asan)"
		continue
	fi
	out=$("$drv" scale 2>&1)
	echo "$out" | grep '^# scale:' | head -n 1
	if echo "$out" | grep -q '^\[  PASSED  \] 1 test'; then
		echo "PASS $name"
	else
		echo "FAIL $name: $(echo "$out" | grep -E 'ERROR|FAILED|error' | head -n 3 | tr '\n' ' ')"
	fi
done
