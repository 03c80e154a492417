#!/bin/sh
# layering.sh - the include-direction check (tests/lint/layering.sh) passes
# on this tree, and fails on copies of it with a wrong include planted.
#   layering.sh [SYSRECOVER ...]   (arguments ignored: a static check)
set -u
. "$(dirname "$0")/../lib/check.sh"
workdir layering
top=$(cd "$(dirname "$0")/../.." && pwd)
lint=$top/tests/lint/layering.sh

check layering-tree sh "$lint" "$top"

# The check must be able to fail: plant one breach of each kind in a copy.
plant() { # name file line pattern
	rm -rf "${w:?}/t"
	mkdir -p "$w/t"
	(cd "$top" && tar -cf - tape recovery srdelayed) | tar -xf - -C "$w/t"
	printf '%s\n' "$3" >>"$w/t/$2"
	refuses "layering-catches-$1" "$4" sh "$lint" "$w/t"
}
plant tape-uses-fs tape/tape.c '#include "fs.h"' 'tape/tape.c:[0-9]+: module tape must not include fs.h'
plant fs-uses-hive recovery/fs/fs.c '#include "hive.h"' 'module fs must not include hive.h'
plant private-header srdelayed/srd_plan.c '#include "fs_impl.h"' 'fs_impl.h is private to module fs'
plant lib-above-fs srdelayed/srd_plan.c '#include <ext2fs/ext2fs.h>' 'module srd must not include <ext2fs/ext2fs.h>'
plant common-uses-cli recovery/common/err.c '#include "cli.h"' 'module common must not include cli.h'
finish
