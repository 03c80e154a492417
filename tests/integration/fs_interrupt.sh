#!/bin/sh
# fs_interrupt.sh - SIGINT (and SIGTERM) at many moments of a `fs IMG
# copy-in` of a tree of 10,000+ files, onto ext4 and onto NTFS images.
# The uninterrupted copy is timed once per volume kind and binary, and the
# signals are spread over that time (MOMENTS of them, from 3% to 85%: a
# busy machine makes a run vary; the second binary, ASan, gets only
# MOMENTS2 of them, for memory errors on the stop path).
# After each run, one of two outcomes is accepted:
#   - the checker is clean (e2fsck -fn / ntfsfix -n and ntfsls -R), the
#     volume opens read-write again (a mkdir works), no ".sysrecover-tmp."
#     name is left and every file present has its source's size; or
#   - `sysrecover volumes` does not say "clean" and a write is refused
#     (the volume says it needs a check).
# A checker that is unclean while the volume still says "clean" and accepts
# a write is a FAIL.  An interrupted run must exit 2 and say "interrupted by
# SIGINT" (or SIGTERM) and where it stopped; a run that the signal reached
# only after the copy was done exits 0 (and the later moments are then
# moved earlier), one killed before the handler was installed must have left
# the image unchanged.  At least MOMENTS-4 (20) of the runs of each kind
# must really have been interrupted (the spread is checked).
#   fs_interrupt.sh SYSRECOVER [SYSRECOVER_ASAN]
set -u
. "$(dirname "$0")/../lib/check.sh"
workdir fsint
need mkfs.ext4 e2fsck debugfs mkntfs ntfsfix ntfsls python3
MOMENTS=${MOMENTS:-24}
MOMENTS2=${MOMENTS2:-6}
WANT=$((MOMENTS - 4))

# ---- the tree: 100 dirs x 100 files of 200-600 bytes, a few of 300 kB, and
# 10 subdirectories: 10,111 objects ---------------------------------------------
S=$w/src
python3 - "$S" <<'EOF'
import os, sys
r = sys.argv[1]
for d in range(100):
    dd = os.path.join(r, "d%03d" % d)
    os.makedirs(dd)
    if d % 10 == 0:
        os.makedirs(os.path.join(dd, "sub"))
    for f in range(100):
        size = 200 + ((d * 100 + f) * 37) % 400
        if f == 0 and d % 20 == 0:
            size = 300000
        with open(os.path.join(dd, "f%03d" % f), "wb") as fh:
            fh.write(bytes([(d + f) % 251]) * size)
EOF
(cd "$S" && find . -type f -printf '/%P %s\n' | sort) >"$w/src.sizes"
(cd "$S" && find . -mindepth 1 -type d -printf '/%P\n' | sort) >"$w/src.dirs"
nsrc=$(wc -l <"$w/src.sizes")
[ "$nsrc" -ge 10000 ] && ok "tree: $nsrc files" || bad tree "only $nsrc files"

truncate -s 64M "$w/ext.pristine" && mkfs.ext4 -q -F "$w/ext.pristine" ||
	bad mkfs-ext4 "mkfs.ext4 failed"
truncate -s 64M "$w/ntfs.pristine" && mkntfs -Q -F -q "$w/ntfs.pristine" >/dev/null 2>&1 ||
	bad mkntfs "mkntfs failed"

now() { date +%s.%N; }
# Run with SIGINT at its default action, as from a terminal: without job
# control sh starts a background job with SIGINT ignored, and sysrecover
# keeps an ignored signal ignored.  env(1) resets it and execs (same pid).

# The files on the volume, "/path size", sorted: through debugfs / ntfsls.
list_ext() { # IMG
	{ echo "ls -p /"; sed 's|^|ls -p |' "$w/src.dirs"; } >"$w/dbg.cmd"
	debugfs -f "$w/dbg.cmd" "$1" 2>/dev/null | awk -F/ '
		/^debugfs: ls -p / { dir = substr($0, 16); if (dir == "/") dir = ""; next }
		$3 ~ /^10/ { print dir "/" $6 " " $7 }' | sort
}
list_ntfs() { # IMG
	ntfsls -R -l "$1" | awk '
		/^\/.*:$/ { dir = substr($0, 1, length($0) - 1); if (dir == "/") dir = ""; next }
		NF >= 6 && $1 != 0 { print dir "/" $6 " " $1 }' | sort
}

# Every file present is a source file with the source's size; no temporary
# name (the directory .sysrecover-tmp at the root, or a file) is left.
check_files() { # NAME KIND IMG
	if ! list_"$2" "$3" >"$w/vol.sizes"; then
		bad "$1-list" "cannot list the volume"
		return
	fi
	if [ "$2" = ext ]; then
		debugfs -R 'ls /' "$3" >"$w/root.ls" 2>/dev/null
	else
		ntfsls "$3" >"$w/root.ls"
	fi
	grep -q lost+found "$w/root.ls" || grep -q d000 "$w/root.ls" || [ "$2" = ntfs ] ||
		bad "$1-root" "cannot list the root"
	if grep -q 'sysrecover-tmp' "$w/vol.sizes" "$w/root.ls"; then
		bad "$1-tmp" "a temporary name is left: $(grep sysrecover-tmp "$w/vol.sizes" | head -n 2)"
	fi
	extra=$(comm -23 "$w/vol.sizes" "$w/src.sizes" | head -n 3 | tr "\n" " ")
	[ -z "$extra" ] || bad "$1-sizes" "not as in the source: $extra"
}

one_run() { # SR KIND DELAY SIGNAL I -> sets interrupted=1/0
	img=$w/$2.img
	cp --sparse=always "$w/$2.pristine" "$img"
	env --default-signal=INT "$1" fs "$img" copy-in "$S" / >"$w/run.out" 2>&1 &
	pid=$!
	sleep "$3"
	kill -"$4" "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	n="$2-$5-$4@${3}s"
	interrupted=0
	if [ "$rc" -eq 2 ]; then
		interrupted=1
		grep -q "interrupted by SIG$4 after [0-9]* objects .*before '/" "$w/run.out" &&
			grep -q "was closed cleanly" "$w/run.out" ||
			bad "$n-message" "$(tail -n 2 "$w/run.out" | tr '\n' ' ')"
	elif { [ "$rc" -eq 130 ] || [ "$rc" -eq 143 ]; } && cmp -s "$img" "$w/$2.pristine"; then
		ok "$n: killed before the handler was installed, volume untouched"
		return
	elif [ "$rc" -ne 0 ]; then
		bad "$n-exit" "exit $rc: $(tail -n 2 "$w/run.out" | tr '\n' ' ')"
	fi
	if [ "$2" = ext ]; then
		e2fsck -fn "$img" >"$w/fsck.out" 2>&1
	else
		ntfsfix -n "$img" >"$w/fsck.out" 2>&1 && ntfsls -R "$img" >/dev/null 2>>"$w/fsck.out"
	fi
	fsck_rc=$?
	state=$("$1" volumes "$img" 2>/dev/null | awk 'NR == 2 { print $(NF - 1) }')
	[ "$fsck_rc" -eq 0 ] && check_files "$n" "$2" "$img"
	"$1" fs "$img" mkdir /probe >"$w/probe.out" 2>&1
	write_rc=$?
	if [ "$fsck_rc" -eq 0 ] && [ "$write_rc" -eq 0 ]; then
		ok "$n: exit $rc, checker clean, writable again"
	elif [ "$state" != clean ] && [ "$write_rc" -ne 0 ]; then
		ok "$n: exit $rc, volume says '$state' and refuses writes"
	else
		bad "$n" "exit $rc, checker rc $fsck_rc, state '$state', write rc $write_rc: $(tail -n 3 "$w/fsck.out" "$w/probe.out" | tr '\n' ' ')"
	fi
}

n_moments=$MOMENTS
for SR in "$@"; do
	tag=$(basename "$(dirname "$SR")")
	for kind in ext ntfs; do
		img=$w/$kind.img
		cp --sparse=always "$w/$kind.pristine" "$img"
		t0=$(now)
		"$SR" fs "$img" copy-in "$S" / >"$w/run.out" 2>&1 || bad "$tag-$kind-full" "$(tail -n 2 "$w/run.out")"
		t1=$(now)
		dur=$(awk "BEGIN { print $t1 - $t0 }")
		echo "# $tag $kind: uninterrupted copy-in took ${dur}s"
		if [ "$kind" = ext ]; then
			check "$tag-$kind-full-e2fsck" e2fsck -fn "$img"
		else
			check "$tag-$kind-full-ntfsfix" ntfsfix -n "$img"
		fi
		check_files "$tag-$kind-full" "$kind" "$img"
		is "$tag-$kind-full-count" "$(wc -l <"$w/vol.sizes")" "$nsrc"
		hits=0
		i=1
		while [ "$i" -le "$n_moments" ]; do
			d=$(awk "BEGIN { printf \"%.3f\", $dur * (0.03 + 0.82 * ($i - 1) / ($n_moments - 1)) }")
			sig=INT
			[ $((i % 8)) -eq 4 ] && sig=TERM
			one_run "$SR" "$kind" "$d" "$sig" "$tag-$i"
			hits=$((hits + interrupted))
			# the copy was faster this time (a busy machine): aim earlier
			[ "$rc" -eq 0 ] && dur=$(awk "BEGIN { print $dur * 0.85 }")
			i=$((i + 1))
		done
		want=$WANT
		[ "$n_moments" -lt "$MOMENTS" ] && want=$((n_moments / 2))
		if [ "$hits" -ge "$want" ]; then
			ok "$tag-$kind: $hits of $n_moments runs were interrupted mid-copy"
		else
			bad "$tag-$kind-spread" "only $hits of $n_moments runs were interrupted mid-copy"
		fi
	done
	n_moments=$MOMENTS2
done
finish
