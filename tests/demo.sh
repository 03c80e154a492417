#!/bin/sh
# demo.sh - the README's first command: show the newest end-to-end capability.
#
# Today that is the tape layer: a drive self-test on a fresh virtual tape, then
# a round trip of mt-style operations with GNU tar writing and reading through
# the tape, every step checked.  Files are left in build/demo for a look.
set -eu
SR=${1:-build/sysrecover}
D=$(cd "$(dirname "$SR")" && pwd)/demo
rm -rf "$D"
mkdir -p "$D/src/etc" "$D/out"
T=$D/demo.tap
step() { printf '\n\033[1m== %s\033[0m\n' "$*" 2>/dev/null || printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "1. Drive self-test on a fresh 8 MB virtual tape (SIMH image $T)"
run "$SR" tape --capacity 8M --early-warning 256k "$T" test

step "2. Round trip: two tar archives as two tape files, 10240-byte records"
rm -f "$T" "$T.state"
# Generated, not copied from /etc, so the layout is the same on every machine:
# one.tar is 3 records of 10240 bytes, so byte 20000 lies inside file 0.
seq -f 'line %g of a small configuration file' 1 700 >"$D/src/etc/config.txt"
head -c 1000000 /dev/urandom >"$D/src/random.bin"
seq 1 20000 >"$D/src/numbers.txt"
(cd "$D/src" && sha256sum random.bin numbers.txt >"$D/sums")
tar -C "$D/src" -cf "$D/one.tar" etc
tar -C "$D/src" -cf "$D/two.tar" random.bin numbers.txt
run "$SR" tape --capacity 8M --record-size 10240 "$T" write "$D/one.tar" weof 1 \
	write "$D/two.tar" weof 1 status

step "3. Position like mt: rewind, forward one file, where are we?"
run "$SR" tape "$T" rewind fsf 1 status tell

step "4. Read the second file back and let GNU tar check and unpack it"
printf '$ %s tape %s read - | tar -x\n' "$SR" "$T"
"$SR" tape "$T" read - | tar -C "$D/out" -xvf -
(cd "$D/out" && sha256sum -c "$D/sums")

step "5. Back over two filemarks and forward over one: the start of file 1 again"
run "$SR" tape "$T" bsf 2 fsf 1 tell
"$SR" tape "$T" rewind read - >"$D/one.back" && cmp "$D/one.tar" "$D/one.back"
"$SR" tape "$T" read - >"$D/two.back" && cmp "$D/two.tar" "$D/two.back"
echo "both archives read back byte for byte"

step "6. A damaged image is reported with the byte offset, and the rest stays readable"
[ "$(stat -c %s "$D/one.tar")" -ge 30720 ] || { echo "demo: one.tar too small" >&2; exit 1; }
head -c 20000 "$T" >"$D/damaged.tap"
printf '$ %s tape %s read - >/dev/null\n' "$SR" "$D/damaged.tap"
if "$SR" tape "$D/damaged.tap" read - >/dev/null; then
	echo "demo: a damaged image was not reported" >&2
	exit 1
fi

printf '\ndemo OK: self-test passed, tar round trip exact, damage reported.\n'
