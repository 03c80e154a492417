#!/bin/sh
# layering.sh - the one-way dependencies of HACKING.md, checked on every
# #include in the tree:
#   layering.sh [TOP]    check TOP (default: this clone); exit 1 on a breach
# Each source directory is a module; a module may include its own headers,
# the PUBLIC header of the modules below it, and the library headers that
# belong to it.  A module's other headers (*_impl.h, fs_ext_io.h, ...) are
# private to it.  Printed as PASS/FAIL lines, which tests/run-all.sh counts.
set -u
top=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
fails=0

# module-of-directory
mod_of_dir() {
	case $1 in
	tape) echo tape ;;
	recovery/common) echo common ;;
	recovery/fs) echo fs ;;
	recovery/hive) echo hive ;;
	recovery/archive) echo archive ;;
	recovery/backup | recovery/restore) echo engine ;;
	srdelayed) echo srd ;;
	recovery/cli) echo cli ;;
	*) echo "" ;;
	esac
}

# The module a project header belongs to, and whether it is public.
hdr_mod() {
	case $1 in
	err.h | text.h | le.h | buf.h | progress.h | stop.h | hash.h) echo "common public" ;;
	tape.h) echo "tape public" ;;
	tape_*.h) echo "tape private" ;;
	fs.h) echo "fs public" ;;
	fs_*.h) echo "fs private" ;;
	hive.h) echo "hive public" ;;
	hive_*.h) echo "hive private" ;;
	arc.h) echo "archive public" ;;
	arc_*.h) echo "archive private" ;;
	bk.h | rs.h) echo "engine public" ;;
	bk_*.h | rs_*.h) echo "engine private" ;;
	srd.h) echo "srd public" ;;
	srd_*.h) echo "srd private" ;;
	cli.h) echo "cli public" ;;
	*) echo "unknown private" ;;
	esac
}

# Which modules' public headers a module may include (besides its own).
may_use() {
	case $1 in
	tape | common) echo "" ;;
	fs) echo "common" ;;
	hive) echo "common fs" ;;
	archive) echo "common tape" ;;
	engine) echo "common tape fs hive archive srd" ;;
	srd) echo "common fs hive" ;;
	cli) echo "common tape fs hive archive engine srd" ;;
	esac
}

# Library headers, and the one module that may include them: nothing above
# fs sees a filesystem library, nothing but hive sees hivex.
lib_ok() { # module header
	case $2 in
	ext2fs/* | et/* | ntfs-3g/* | blkid.h | blkid/*) [ "$1" = fs ] ;;
	hivex.h) [ "$1" = hive ] ;;
	# libarchive: the pax data is the engines' (arc.h: label and catalog)
	archive.h | archive_entry.h) [ "$1" = archive ] || [ "$1" = engine ] ;;
	openssl/* | gcrypt.h | nettle/*) [ "$1" = common ] || [ "$1" = archive ] ;;
	*) true ;;
	esac
}

check_file() { # dir file
	m=$(mod_of_dir "$1")
	grep -nE '^[[:space:]]*#[[:space:]]*include' "$top/$2" | while IFS= read -r line; do
		n=${line%%:*}
		h=$(printf '%s' "$line" | sed -nE 's/.*include[[:space:]]*[<"]([^>"]+)[>"].*/\1/p')
		case $line in
		*'"'*)
			hm=$(hdr_mod "$(basename "$h")")
			hmod=${hm% *} vis=${hm#* }
			if [ "$hmod" = "$m" ]; then continue; fi
			if [ "$vis" = private ]; then
				echo "$2:$n: $h is private to module $hmod"
				continue
			fi
			case " $(may_use "$m") " in
			*" $hmod "*) ;;
			*) echo "$2:$n: module $m must not include $h (module $hmod)" ;;
			esac
			;;
		*)
			lib_ok "$m" "$h" || echo "$2:$n: module $m must not include <$h>"
			;;
		esac
	done
}

breaches=$(mktemp)
trap 'rm -f "$breaches"' EXIT
for d in tape recovery/common recovery/fs recovery/hive recovery/archive \
	 recovery/backup recovery/restore srdelayed recovery/cli; do
	[ -d "$top/$d" ] || continue
	for f in "$top/$d"/*.c "$top/$d"/*.h; do
		[ -e "$f" ] || continue
		check_file "$d" "$d/$(basename "$f")" >>"$breaches"
	done
done
if [ -s "$breaches" ]; then
	while IFS= read -r b; do echo "FAIL layering: $b"; done <"$breaches"
	exit 1
fi
echo "PASS layering: every #include follows the module order"
