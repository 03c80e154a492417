#!/bin/sh
# scale.sh - a set of 1,000,000 small files (1,000 directories of 1,000):
# backup, list and the restore of one member, each under /usr/bin/time -v,
# whose peak resident memory must stay under 64 MiB (the engines hold one
# member, one catalog line, and the records in flight, never the set).
# The source is a directory of the running system; the tape a SIMH image.
#   scale.sh SYSRECOVER [WORKDIR] [FILES_PER_DIR]
set -u
SR=$(realpath "$1")
W=${2:-/tmp/sysrecover-scale}
PER=${3:-1000}
LIMIT_KB=65536
command -v /usr/bin/time >/dev/null || { echo "scale: /usr/bin/time missing (sh .ci/deps.sh)" >&2; exit 1; }
rm -rf "${W:?}"
mkdir -p "$W/src"
trap 'rm -rf "${W:?}"' EXIT
python3 - "$W/src" "$PER" <<'EOF'
import os, sys
r, per = sys.argv[1], int(sys.argv[2])
for d in range(1000):
    dd = os.path.join(r, "d%03d" % d)
    os.mkdir(dd)
    for f in range(per):
        with open(os.path.join(dd, "f%04d" % f), "w") as fh:
            fh.write("%d/%d\n" % (d, f))
EOF
n=$(find "$W/src" -type f | wc -l)
echo "source: $n files in 1000 directories"
fails=0
measure() { # NAME CMD...
	name=$1; shift
	/usr/bin/time -v -o "$W/time" "$@" >"$W/out" 2>"$W/err"
	rc=$?
	kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$W/time")
	secs=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$W/time")
	printf '%-28s exit %d  %8s  peak RSS %6d KiB  %s\n' "$name" "$rc" "$secs" "$kb" \
		"$([ "$kb" -lt $LIMIT_KB ] && echo "< 64 MiB ok" || echo "OVER 64 MiB")"
	[ "$rc" -eq 0 ] && [ "$kb" -lt $LIMIT_KB ] || { fails=$((fails + 1)); tail -n 3 "$W/err"; }
}
measure "backup (1M members)" "$SR" backup -t "$W/t.tap" "$W/src"
tail -n 1 "$W/out"
measure "list --set 1 (1M lines)" "$SR" list -t "$W/t.tap" --set 1
lines=$(wc -l <"$W/out")
echo "list printed $lines members"
truncate -s 64M "$W/one.img"
mkfs.ext4 -q -F "$W/one.img"
measure "restore one member" "$SR" restore -t "$W/t.tap" --json --to "v0=$W/one.img" 'v0/d999/f0999'
cat "$W/out"
got=$(debugfs -R 'cat /d999/f0999' "$W/one.img" 2>/dev/null)
[ "$got" = "999/999" ] && echo "restored member content ok" || { echo "restored member WRONG: '$got'"; fails=$((fails + 1)); }
[ "$fails" -eq 0 ] && echo "scale: OK" || { echo "scale: $fails FAILED"; exit 1; }
