#!/bin/sh
# selective.sh - one member from the end of a set of more than 4 GB: our
# restore spaces to it through the catalog and reads a handful of records;
# GNU tar, given the same data (the set's data file, read off the tape
# beforehand and in the page cache), reads through everything before it.
# Same run, same member, both results compared with the source.  Goal: ours
# at least 100 times faster.
#   selective.sh SYSRECOVER [WORKDIR]
set -u
SR=$(realpath "$1")
W=${2:-/tmp/sysrecover-selective}
rm -rf "${W:?}"
mkdir -p "$W/src/big" "$W/x" "$W/y"
trap 'rm -rf "${W:?}"' EXIT
now() { date +%s.%N; }
sub() { awk "BEGIN { printf \"%.3f\", $1 - $2 }"; }
head -c 67108864 /dev/urandom >"$W/chunk"
# 66 x 64 MiB, each with other content (its number written over its first
# bytes): identical files would be stored once (single instance)
for i in $(seq -w 1 66); do
	cat "$W/chunk" >"$W/src/big/part$i"
	printf 'part %s' "$i" | dd of="$W/src/big/part$i" conv=notrunc status=none
done
printf 'the member at the end\n' >"$W/src/zz-last"
rm -f "$W/chunk"
"$SR" backup -t "$W/t.tap" "$W/src" >/dev/null || { echo "selective: backup failed" >&2; exit 1; }
"$SR" tape "$W/t.tap" rewind fsf 1 read "$W/data.tar" >/dev/null 2>&1
size=$(stat -c %s "$W/data.tar")
cat "$W/data.tar" >/dev/null   # in the page cache, as the tape image is
t0=$(now)
"$SR" restore -t "$W/t.tap" --json --to "v0=$W/x" 'v0/zz-last' >"$W/ours.json"
t1=$(now)
# --no-seek: a tape cannot seek; from a regular file GNU tar would lseek over data
tar --no-seek --warning=no-unknown-keyword -x -b 512 -f "$W/data.tar" -C "$W/y" v0/zz-last
t2=$(now)
# and through the tape, as tar on a drive reads it (the records, in order)
mkdir -p "$W/z"
"$SR" tape "$W/t.tap" rewind fsf 1 >/dev/null
t3=$(now)
"$SR" tape "$W/t.tap" read - 2>/dev/null |
	tar --warning=no-unknown-keyword -x -b 512 -f - -C "$W/z" v0/zz-last
t4=$(now)
cmp "$W/src/zz-last" "$W/x/zz-last" && cmp "$W/src/zz-last" "$W/y/v0/zz-last" &&
	cmp "$W/src/zz-last" "$W/z/v0/zz-last" ||
	{ echo "selective: a restored member differs" >&2; exit 1; }
ours=$(sub "$t1" "$t0")
tar=$(sub "$t2" "$t1")
tape=$(sub "$t4" "$t3")
echo "set data: $size bytes; $(sed 's/.*"records_read": \([0-9]*\).*"records_skipped": \([0-9]*\).*/records read \1, spaced over \2/' "$W/ours.json")"
printf 'ours %s s; GNU tar on the data file (page cache, --no-seek) %s s: ratio %s\n' \
	"$ours" "$tar" "$(awk "BEGIN { printf \"%.0f\", $tar / $ours }")"
printf 'GNU tar reading the records off the tape image %s s: ratio %s (goal >= 100)\n' \
	"$tape" "$(awk "BEGIN { printf \"%.0f\", $tape / $ours }")"
