#!/bin/sh
# restore_media.sh - a read error in the middle of a set's data (SIMH fault
# injection at one tape record) costs only the members that record held:
# the restore goes on from the next member the catalog places after it,
# names every member it lost, exits 1, and leaves a clean volume on which
# every other file is whole.  The members that must be lost are worked out
# here from the catalog's positions (list --json): those whose bytes, from
# their header to the next member's, meet the bad record (a directory lost
# that way is still made, as a parent, with default metadata).  Six records are
# tried: the first data record, ones inside a big file, ones holding several
# small members, and the last.
#   restore_media.sh SYSRECOVER [SYSRECOVER_ASAN]
set -u
. "$(dirname "$0")/../lib/check.sh"
workdir rsmedia
need python3 mkfs.ext4 e2fsck
D=$w/src
python3 - "$D" <<'EOF'
import os, sys
r = sys.argv[1]
os.makedirs(os.path.join(r, "small"))
os.makedirs(os.path.join(r, "big"))
for i in range(80):
    with open(os.path.join(r, "small", "s%02d" % i), "wb") as f:
        f.write(os.urandom(3000 + i * 37))
for i in range(3):
    with open(os.path.join(r, "big", "b%d" % i), "wb") as f:
        f.write(os.urandom(400000))
EOF
(cd "$D" && find . -type f -exec sha256sum {} + | sed 's| \./| /|' | sort) >"$w/src.sums"
"$1" backup -t "$w/t.tap" --record-size 32k "$D" >/dev/null 2>&1 || bad backup "backup failed"
"$1" list -t "$w/t.tap" --set 1 --json >"$w/cat.json" || bad list "list failed"
nrec=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["members"]; print(max(x["record"] for x in m))' "$w/cat.json")

# expected losses for data record R: members whose [header, next header) meets it
lost_for() { # R
	python3 - "$w/cat.json" "$1" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))["members"]
bad, rs = int(sys.argv[2]), 32768
offs = [x["record"] * rs + x["offset"] for x in m] + [10 ** 15]
for i, x in enumerate(m):
    if offs[i] < (bad + 1) * rs and offs[i + 1] > bad * rs:
        print(x["name"], x["type"])
EOF
}

for x in "$1" ${2:+"$2"}; do
	t=$(basename "$(dirname "$x")")
	for r in 0 3 9 20 $((nrec / 2)) "$nrec"; do
		n="$t-record$r"
		rm -f "$w/x.img"
		truncate -s 64M "$w/x.img"
		mkfs.ext4 -q -F "$w/x.img"
		# the set's data starts at logical object 2: label, filemark
		o=$("$x" restore -t "$w/t.tap" --to "v0=$w/x.img" --inject "read-error@$((r + 2))" 2>&1)
		rc=$?
		lost_for "$r" | sort >"$w/want.typed"
		cut -d' ' -f1 "$w/want.typed" >"$w/want"
		nfiles=$(grep -c ' [fa]$' "$w/want.typed")
		printf '%s\n' "$o" | sed -n 's/^sysrecover: \(v0[^:]*\): lost to a read error.*/\1/p' |
			sort >"$w/got"
		if [ -s "$w/want" ]; then
			is "$n-exit" "$rc" 1
		else
			is "$n-exit (only directories there)" "$rc" 0
		fi
		check "$n-lost-exactly-those" cmp "$w/want" "$w/got"
		check "$n-e2fsck" e2fsck -fn "$w/x.img"
		if mount -o ro,loop "$w/x.img" "$mnt"; then
			(cd "$mnt" && find . -path ./lost+found -prune -o -type f -exec sha256sum {} + |
				sed 's| \./| /|' | sort) >"$w/got.sums"
			umount "$mnt"
			extra=$(comm -23 "$w/got.sums" "$w/src.sums" | head -n 2 | tr '\n' ' ')
			missing=$(($(wc -l <"$w/src.sums") - $(wc -l <"$w/got.sums")))
			[ -z "$extra" ] && [ "$missing" -eq "$nfiles" ] &&
				ok "$n: $(wc -l <"$w/got.sums") files whole, $missing lost as named" ||
				bad "$n-rest-whole" "missing $missing, not as in the source: $extra"
		fi
	done
done
finish
