#!/bin/sh
# srd_interrupt.sh - SIGINT and SIGTERM at many moments of `srdelayed apply`
# of a queue of 20,000 moves, on ext4 and on NTFS.  An interrupted run must
# exit 2, say "interrupted by SIG... after N of M operations", have moved
# exactly N files (counted with debugfs / ntfsls, not with our code), and
# leave the volume clean for the checker (e2fsck -fn / ntfsfix -n) and
# closed cleanly; the queue is not retired (its journal keeps the place).
# Run again, it must end where a run that was never interrupted ends: every
# file in /live with its own bytes, /stage empty, the queue gone.
#   srd_interrupt.sh SYSRECOVER
set -u
. "$(dirname "$0")/../lib/check.sh"
workdir srdint
need mkfs.ext4 e2fsck debugfs mkntfs ntfsfix ntfsls ntfscat python3
S=$1
N=20000
MOMENTS=${MOMENTS:-8}

# ---- the tree and its queue -------------------------------------------------------
T=$w/tree
python3 - "$T" "$N" <<'EOF'
import os, sys
r, n = sys.argv[1], int(sys.argv[2])
os.makedirs(os.path.join(r, "stage"))
os.makedirs(os.path.join(r, "live"))
os.makedirs(os.path.join(r, "var/lib/sysrecover"))
with open(os.path.join(r, "var/lib/sysrecover/srdelayed.queue"), "w") as q:
    for i in range(n):
        with open(os.path.join(r, "stage", "f%05d" % i), "w") as f:
            f.write("file %d\n" % i)
        q.write("MoveFile\t/stage/f%05d\t/live/f%05d\tNotExecuted\n" % (i, i))
EOF
truncate -s 128M "$w/ext.pristine" && mkfs.ext4 -q -F -d "$T" "$w/ext.pristine" ||
	bad mkfs-ext4 "mkfs.ext4 -d failed"
truncate -s 128M "$w/ntfs.pristine" && mkntfs -Q -F -q "$w/ntfs.pristine" >/dev/null 2>&1 &&
	"$S" fs "$w/ntfs.pristine" copy-in "$T" / >/dev/null 2>&1 ||
	bad mkntfs "mkntfs or the copy-in of the tree failed"

# Files per directory, through tools we did not write.
count() { # KIND IMG DIR
	if [ "$1" = ext ]; then
		# ls -p also shows removed entries, with inode 0
		debugfs -R "ls -p $3" "$2" 2>/dev/null | awk -F/ '$2 != 0 && $6 ~ /^f[0-9]/' | wc -l
	else
		ntfsls "$2" -p "$3" | grep -c '^f[0-9]'
	fi
}
has_queue() { # KIND IMG
	if [ "$1" = ext ]; then
		debugfs -R "ls -p /var/lib/sysrecover" "$2" 2>/dev/null | grep -q '/srdelayed.queue/'
	else
		ntfsls "$2" -p /var/lib/sysrecover | grep -qx srdelayed.queue
	fi
}
fsck_clean() { # KIND IMG
	if [ "$1" = ext ]; then
		e2fsck -fn "$2" >"$w/fsck.out" 2>&1
	else
		ntfsfix -n "$2" >"$w/fsck.out" 2>&1
	fi
}
# The end state: every file in /live holds its own bytes, /stage is empty.
final_ok() { # NAME KIND IMG
	live=$(count "$2" "$3" /live) stage=$(count "$2" "$3" /stage)
	[ "$live" -eq "$N" ] && [ "$stage" -eq 0 ] ||
		{ bad "$1-tree" "/live has $live, /stage $stage files"; return; }
	for f in 00000 01234 19999; do
		if [ "$2" = ext ]; then
			got=$(debugfs -R "cat /live/f$f" "$3" 2>/dev/null)
		else
			got=$(ntfscat "$3" "/live/f$f")
		fi
		[ "$got" = "file $((1$f - 100000))" ] ||
			{ bad "$1-bytes" "/live/f$f holds '$got'"; return; }
	done
	if has_queue "$2" "$3"; then bad "$1-queue" "the queue was not retired"; return; fi
	fsck_clean "$2" "$3" || { bad "$1-fsck" "$(tail -n 3 "$w/fsck.out")"; return; }
	ok "$1: the end state of an uninterrupted run"
}

now() { date +%s.%N; }
for kind in ext ntfs; do
	img=$w/$kind.img
	cp --sparse=always "$w/$kind.pristine" "$img"
	t0=$(now)
	exits "$kind-reference" 0 "$N done, 0 failed" "$S" srdelayed apply "$img"
	t1=$(now)
	final_ok "$kind-reference" "$kind" "$img"
	full=$(awk "BEGIN { print $t1 - $t0 }")
	stopped=0
	i=0
	while [ "$i" -lt "$MOMENTS" ]; do
		sig=INT
		[ $((i % 4)) -eq 3 ] && sig=TERM
		delay=$(awk "BEGIN { printf \"%.3f\", $full * (0.15 + 0.7 * $i / $MOMENTS) }")
		n="$kind-$i-SIG$sig@${delay}s"
		cp --sparse=always "$w/$kind.pristine" "$img"
		env --default-signal=INT "$S" srdelayed apply "$img" >"$w/run.out" 2>&1 &
		pid=$!
		sleep "$delay"
		kill -"$sig" "$pid" 2>/dev/null
		wait "$pid"
		rc=$?
		i=$((i + 1))
		if [ "$rc" -eq 0 ]; then
			ok "$n: the signal came after the last operation"
			continue
		fi
		if [ "$rc" -ne 2 ]; then
			bad "$n-exit" "exit $rc: $(tail -n 2 "$w/run.out" | tr '\n' ' ')"
			continue
		fi
		done_n=$(sed -n "s/.*interrupted by SIG$sig after \([0-9]*\) of $N operations.*/\1/p" "$w/run.out")
		if [ -z "$done_n" ]; then
			if grep -q "interrupted by SIG$sig" "$w/run.out"; then
				bad "$n-message" "$(tail -n 2 "$w/run.out" | tr '\n' ' ')"
			else  # a signal before the handler: the default action
				cmp -s "$img" "$w/$kind.pristine" &&
					ok "$n: killed before the handler, volume untouched" ||
					bad "$n-early" "exit 2 without the message, volume changed"
			fi
			continue
		fi
		stopped=$((stopped + 1))
		live=$(count "$kind" "$img" /live) stage=$(count "$kind" "$img" /stage)
		[ "$live" -eq "$done_n" ] && [ $((live + stage)) -eq "$N" ] &&
			ok "$n: stopped after $done_n moves, as said" ||
			bad "$n-count" "said $done_n, /live has $live and /stage $stage"
		fsck_clean "$kind" "$img" && ok "$n: checker clean" ||
			bad "$n-fsck" "$(tail -n 3 "$w/fsck.out" | tr '\n' ' ')"
		"$S" volumes --json "$img" >"$w/vol.json" 2>&1
		grep -q '"state": *"clean"' "$w/vol.json" && ok "$n: closed cleanly" ||
			bad "$n-state" "$(cat "$w/vol.json" | tr -d '\n' | cut -c1-200)"
		has_queue "$kind" "$img" && ok "$n: the queue is still there" ||
			bad "$n-queue" "the queue was retired by a stopped run"
		exits "$n-resume" 0 "done, 0 failed, 0 not reached" "$S" srdelayed apply "$img"
		final_ok "$n-resumed" "$kind" "$img"
	done
	[ "$stopped" -ge $((MOMENTS / 2)) ] && ok "$kind: $stopped of $MOMENTS runs were stopped" ||
		bad "$kind-spread" "only $stopped of $MOMENTS runs were stopped by the signal"
done
finish
