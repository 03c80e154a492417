#!/bin/sh
# tape_cli.sh - `sysrecover tape` end to end on SIMH images, checked with GNU tar,
# cmp and the images' own bytes.  Prints PASS/FAIL lines.
#   tape_cli.sh SYSRECOVER [SYSRECOVER_ASAN]
set -u
SR=${2:-$1}
[ -x "$SR" ] || SR=$1
w=$(mktemp -d /tmp/sr-cli.XXXXXX)
trap 'rm -rf "$w"' EXIT
T=$w/t.tap

ok() { echo "PASS $1"; }
bad() { echo "FAIL $1: $2"; }
check() { # name, then a command that must succeed
	n=$1; shift
	if "$@" >"$w/out" 2>&1; then ok "$n"; else bad "$n" "$(tail -n 3 "$w/out" | tr '\n' ' ')"; fi
}
sr() { "$SR" tape "$@"; }

# 1. GNU tar writes through the tape and reads back what it wrote.
mkdir -p "$w/src/sub"
head -c 300000 /dev/urandom >"$w/src/a.bin"
seq 1 5000 >"$w/src/sub/b.txt"
ln -s a.bin "$w/src/link"
tar -C "$w/src" -cf "$w/in.tar" . || exit 1
check tar-write sr --record-size 10240 "$T" write "$w/in.tar" weof 1
check tar-read sh -c "'$SR' tape '$T' rewind read - > '$w/out.tar'"
check tar-identical cmp "$w/in.tar" "$w/out.tar"
check tar-lists sh -c "tar -tf '$w/out.tar' | sort > '$w/l1' && tar -tf '$w/in.tar' | sort > '$w/l2' && cmp '$w/l1' '$w/l2'"
mkdir "$w/x"
check tar-extracts sh -c "'$SR' tape '$T' rewind read - | tar -C '$w/x' -xf - && cmp '$w/src/a.bin' '$w/x/a.bin' && cmp '$w/src/sub/b.txt' '$w/x/sub/b.txt'"
# 10240-byte records: 300 KB of tar data makes exactly size/10240 records,
# each 8 bytes of SIMH framing bigger (even size, no pad).
recs=$(( $(stat -c %s "$w/in.tar") / 10240 ))
check simh-size test "$(stat -c %s "$T")" -eq $(( recs * (10240 + 8) + 4 ))

# 2. Files and filemarks, position kept between invocations as on /dev/nst0.
rm -f "$T" "$T.state"
printf 'first file\n' >"$w/f1"
printf 'second file\n' >"$w/f2"
check two-files sr "$T" write "$w/f1" weof 1 write "$w/f2" weof 1 rewind
check fsf-persists sr "$T" fsf 1
sr "$T" status >"$w/st" 2>&1
check status-after-fsf grep -q '^File number=1, block number=0, partition=0\.' "$w/st"
check read-second sh -c "'$SR' tape '$T' read - > '$w/r2' && cmp '$w/f2' '$w/r2'"
sr "$T" rewind tell >"$w/tell" 2>&1
check tell-at-bot grep -qx 'At block 0.' "$w/tell"
sr "$T" seek 2 read - >"$w/r3" 2>/dev/null
check seek-counts-filemarks cmp "$w/f2" "$w/r3"
sr "$T" eod status >"$w/st" 2>&1
check status-eod grep -q ' EOD' "$w/st"

# 3. Errors: clear message, documented exit code, nothing changed.
cp "$T" "$w/before"
sr "$T" frobnicate >"$w/e" 2>&1; rc=$?
check unknown-verb sh -c "[ $rc -eq 64 ] && grep -q \"unknown tape verb 'frobnicate'\" '$w/e'"
check unknown-verb-unchanged cmp "$T" "$w/before"
sr "$T" rewind fsf 1 setblk >"$w/e" 2>&1; rc=$?
check missing-arg-checked-first sh -c "[ $rc -eq 64 ] && grep -q \"'setblk' needs an argument\" '$w/e'"
sr "$T" rewind bsr 1 >"$w/e" 2>&1; rc=$?
check bsr-at-bot-fails sh -c "[ $rc -eq 2 ] && grep -q 'beginning of partition' '$w/e'"
sr /etc/hostname status >"$w/e" 2>&1; rc=$?
check not-a-tape sh -c "[ $rc -eq 2 ] && grep -q 'cannot open tape' '$w/e'"
# f1's record is 4 + 11 + 1 pad + 4 = 20 bytes, its filemark 4: f2's record
# starts at byte 24.  Cut the image inside it.
head -c 30 "$w/before" >"$w/cut.tap"
sr "$w/cut.tap" fsf 1 read - >"$w/e" 2>&1; rc=$?
check corrupt-image-offset sh -c "[ $rc -eq 2 ] && grep -q 'truncated record at byte offset 24' '$w/e'"
sr "$w/cut.tap" rewind read - >"$w/e" 2>/dev/null
check corrupt-image-prefix-readable cmp "$w/f1" "$w/e"
sr --inject read-error@0 --read-only "$T" rewind read - >"$w/e" 2>&1; rc=$?
check injected-read-error sh -c "[ $rc -eq 2 ] && grep -q 'injected read error at record 0' '$w/e'"
check read-only-unchanged cmp "$T" "$w/before"

# 4. The self-test refuses a tape holding data unless forced.
sr "$T" test >"$w/e" 2>&1; rc=$?
check test-refuses-data sh -c "[ $rc -eq 2 ] && grep -q 'holds data' '$w/e'"
check test-refused-unchanged cmp "$T" "$w/before"
sr --force --capacity 4M --early-warning 64k "$T" test >"$w/e" 2>&1; rc=$?
check test-forced sh -c "[ $rc -eq 0 ] && grep -q '^tape test: .* 0 failed' '$w/e'"
check test-covered-ew grep -q '^PASS early-warning-readback' "$w/e"
exit 0
