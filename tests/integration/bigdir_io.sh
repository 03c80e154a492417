#!/bin/sh
# bigdir_io.sh - the cost of moves and deletes inside one big ext4 directory
# grows with the number of operations, not with operations times the size
# of the directory.  Counted without a clock: strace counts the reads
# (pread64) that the apply makes on the image.  Before the name cache knew
# each name's block, every unlink read the whole directory: 3,000 operations
# in a 20,000-name directory made well over 100,000 reads; now each touches a
# block or two.  The bound below is 10 reads per operation.
#   bigdir_io.sh SYSRECOVER [SYSRECOVER_ASAN]   (the plain build is counted)
set -u
S=$1
L=$(cd "$(dirname "$0")/../lib" && pwd)
. "$L/check.sh"
need strace python3 mke2fs e2fsck debugfs
workdir bigdirio
N=20000 MOVES=2000 DELS=1000

mkdir -p "$w/tree/d" "$w/tree/var/lib/sysrecover"
python3 - "$w" "$N" "$MOVES" "$DELS" <<'PY' || { bad generate "python failed"; finish; exit; }
import sys
w, n, mv, dl = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for i in range(n):
    open("%s/tree/d/f%06d" % (w, i), "w").close()
with open("%s/tree/var/lib/sysrecover/srdelayed.queue" % w, "w") as q:
    for i in range(mv):
        q.write("MoveFile\t/d/f%06d\t/d/m%06d\tNotExecuted\n" % (i, i))
    for i in range(mv, mv + dl):
        q.write("DeleteFile\tUnused\t/d/f%06d\tNotExecuted\n" % i)
PY
truncate -s 256M "$w/img"
mke2fs -q -F -t ext4 "$w/img" || { bad mkfs mke2fs; finish; exit; }
check copy-in "$S" fs "$w/img" copy-in "$w/tree" /
check apply strace -f -qq -c -e trace=pread64 -o "$w/st" "$S" srdelayed apply "$w/img"
reads=$(awk '$NF == "pread64" { print $4 }' "$w/st")
ops=$((MOVES + DELS))
if [ -z "$reads" ]; then
	bad reads-counted "no pread64 line from strace: $(cat "$w/st")"
elif [ "$reads" -le $((ops * 10)) ]; then
	ok "reads-grow-with-operations ($reads reads for $ops operations in a $N-name directory)"
else
	bad reads-grow-with-operations "$reads reads for $ops operations in a $N-name directory (bound $((ops * 10)))"
fi
check e2fsck e2fsck -fn "$w/img"
# ls -p: one "/ino/mode/uid/gid/name/size/" line per name (ino 0: an unused
# entry, left at the start of a block by a removal)
out names debugfs -R "ls -p /d" "$w/img" && {
	is names-left "$(printf '%s\n' "$names" | awk -F/ '$2 != 0 && $6 ~ /^[fm][0-9]+$/' | wc -l)" $((N - DELS))
	is names-moved "$(printf '%s\n' "$names" | awk -F/ '$2 != 0 && $6 ~ /^m[0-9]+$/' | wc -l)" "$MOVES"
}
finish
