#!/bin/sh
# bigdir.sh - srdelayed queues working inside big ext4 directories: /big1
# with 100,000 files and /big2 with 20,000, and a native queue of about
# 30,000 records (moves to new names, moves over existing names, name
# swaps through a third name, deletes, deletes then the name made again by a
# move, moves between the two directories).  The expected end state is
# computed here (python, from the queue alone); the result is checked with
# tools we did not write: e2fsck -fn, the live names of both directories
# (debugfs ls -p), the contents of a sample (debugfs cat; each file holds its
# original name), and a read-only kernel mount (ls, cat of a sample; root).
# Three volumes from one base: a linear directory on ext4 with dir_index (as
# libext2fs makes them), an indexed one (e2fsck -fyD, as the kernel makes
# them) and dir_index off (tune2fs -O ^dir_index).  No timing is checked
# (tests/bench/bigdir_vs_debugfs.sh measures it).
#   bigdir.sh SYSRECOVER [SYSRECOVER_ASAN]
set -u
S=$1
[ -n "${2:-}" ] && [ -x "$2" ] && S=$2
L=$(cd "$(dirname "$0")/../lib" && pwd)
. "$L/check.sh"
need python3 mke2fs e2fsck debugfs tune2fs cmp
workdir bigdir
N1=${BIGDIR_N1:-100000}
N2=${BIGDIR_N2:-20000}

# The tree, the queue and the model (want1/want2: "name content" sorted).
python3 - "$w" "$N1" "$N2" <<'EOF' || { bad generate "python failed"; finish; exit; }
import os, random, sys
w, n1, n2 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(w + "/tree/var/lib/sysrecover")
d = {"big1": {}, "big2": {}}
for dn, n, pre in (("big1", n1, "f"), ("big2", n2, "h")):
    os.makedirs("%s/tree/%s" % (w, dn))
    for i in range(n):
        name = "%s%06d" % (pre, i)
        with open("%s/tree/%s/%s" % (w, dn, name), "w") as f:
            f.write(name + "\n")
        d[dn][name] = name
r = random.Random(10)
q = []
def pick(dn):
    return r.choice(sorted(d[dn])) if len(d[dn]) < 1000 else \
        r.choice(list(d[dn]))
def move(a, an, b, bn):
    q.append("MoveFile\t/%s/%s\t/%s/%s\tNotExecuted" % (a, an, b, bn))
    d[b][bn] = d[a].pop(an)
def delete(a, an):
    q.append("DeleteFile\tUnused\t/%s/%s\tNotExecuted" % (a, an))
    del d[a][an]
new = 0
for k in range(16000):
    c = k % 6
    if c == 0:                      # within big1, to a new name
        new += 1
        move("big1", pick("big1"), "big1", "n%06d" % new)
    elif c == 1:                    # within big1, over an existing name
        a, b = pick("big1"), pick("big1")
        if a != b:
            move("big1", a, "big1", b)
    elif c == 2:                    # swap two names through a third
        a, b = pick("big1"), pick("big1")
        if a != b:
            move("big1", a, "big1", "swap.tmp")
            move("big1", b, "big1", a)
            move("big1", "swap.tmp", "big1", b)
    elif c == 3:                    # delete, then the name again by a move
        a, b = pick("big1"), pick("big1")
        if a != b:
            delete("big1", a)
            move("big1", b, "big1", a)
    elif c == 4:                    # between the two big directories
        a = pick("big1")
        move("big1", a, "big2", a if a not in d["big2"] else a + ".x")
        b = pick("big2")
        move("big2", b, "big1", b if b not in d["big1"] else b + ".y")
    else:                           # deletes in both
        delete("big1", pick("big1"))
        delete("big2", pick("big2"))
with open(w + "/tree/var/lib/sysrecover/srdelayed.queue", "w") as f:
    f.write("\n".join(q) + "\n")
for dn in d:
    with open("%s/want-%s" % (w, dn), "w") as f:
        for name in sorted(d[dn]):
            f.write("%s %s\n" % (name, d[dn][name]))
    with open("%s/sample-%s" % (w, dn), "w") as f:
        for name in r.sample(sorted(d[dn]), min(40, len(d[dn]))):
            f.write("%s %s\n" % (name, d[dn][name]))
EOF
nrec=$(wc -l <"$w/tree/var/lib/sysrecover/srdelayed.queue")
echo "# /big1 $N1 files, /big2 $N2 files, queue of $nrec records"

# One base (sysrecover copy-in: mke2fs -d takes minutes for 100,000 names
# in one directory), checked before use.
check mke2fs mke2fs -q -F -t ext4 -N $((N1 + N2 + 10000)) "$w/base.img" 768M
check copy-in "$S" fs "$w/base.img" copy-in "$w/tree" /
check base-e2fsck e2fsck -fn "$w/base.img"
rm -rf "${w:?}/tree"

# The live names of DIR in IMG with their contents' first line, sorted.
names() { # img dir
	debugfs -R "ls -p /$2" "$1" 2>/dev/null |
		awk -F/ 'NF >= 7 && $2 != 0 && $6 != "." && $6 != ".." { print $6 }' | sort
}

run() { # kind
	k=$1 img=$w/$1.img
	echo "# $k"
	if ! e2fsck -fn "$img" >/dev/null 2>&1; then
		bad "$k-before" "e2fsck -fn fails before apply"
		return
	fi
	out o "$S" srdelayed apply "$img" || return
	has "$k-apply" "$o" "$nrec done, 0 failed"
	check "$k-e2fsck" e2fsck -fn "$img"
	for dn in big1 big2; do
		names "$img" "$dn" >"$w/got-$dn"
		cut -d' ' -f1 "$w/want-$dn" >"$w/wantn-$dn"
		check "$k-$dn-names" cmp "$w/wantn-$dn" "$w/got-$dn"
		bads=0
		while read -r name content; do
			c=$(debugfs -R "cat /$dn/$name" "$img" 2>/dev/null)
			[ "$c" = "$content" ] || { bads=$((bads + 1)); echo "# /$dn/$name: '$c', want '$content'"; }
		done <"$w/sample-$dn"
		is "$k-$dn-contents" "$bads" 0
	done
	if [ "$(id -u)" != 0 ]; then
		skip "$k-kernel" "not root: no loop mount"
		return
	fi
	if ! mount -o ro,loop -t ext4 "$img" "$mnt"; then
		bad "$k-kernel" "mount -o ro,loop failed"
		return
	fi
	for dn in big1 big2; do
		(cd "$mnt/$dn" && ls -f | grep -v '^\.\.\?$' | LC_ALL=C sort) >"$w/kls-$dn"
		LC_ALL=C sort "$w/wantn-$dn" | cmp -s - "$w/kls-$dn" &&
			ok "$k-kernel-$dn-names" || bad "$k-kernel-$dn-names" "ls differs"
		bads=0
		while read -r name content; do
			[ "$(cat "$mnt/$dn/$name")" = "$content" ] || bads=$((bads + 1))
		done <"$w/sample-$dn"
		is "$k-kernel-$dn-contents" "$bads" 0
	done
	umount "$mnt"
}

cp "$w/base.img" "$w/linear.img"
run linear
rm -f "$w/linear.img"

cp "$w/base.img" "$w/htree.img"
e2fsck -fyD "$w/htree.img" >/dev/null 2>&1
[ $? -le 1 ] || bad htree-index "e2fsck -fyD failed"
debugfs -R "htree /big1" "$w/htree.img" 2>/dev/null | grep -q 'Indirect levels' &&
	ok htree-indexed || bad htree-indexed "/big1 is not an htree directory"
run htree
rm -f "$w/htree.img"

cp "$w/base.img" "$w/nodx.img"
check nodx-tune2fs tune2fs -O ^dir_index "$w/nodx.img"
run nodx
rm -f "$w/nodx.img"

finish
