#!/bin/sh
# tape_cli.sh - `sysrecover tape` end to end on SIMH images, checked with GNU tar,
# cmp and the images' own bytes; then the command line itself: --help, usage
# errors (64), failures (2), partial results (1).  Prints PASS/FAIL lines.
#   tape_cli.sh SYSRECOVER [SYSRECOVER_ASAN]
set -u
SR=${2:-$1}
[ -x "$SR" ] || SR=$1
. "$(dirname "$0")/../lib/check.sh"
workdir tapecli
need tar cmp
T=$w/t.tap

sr() { "$SR" tape "$@"; }
# exits NAME CODE PATTERN CMD...: CMD exits with CODE and says PATTERN
# (grep -E, stdout and stderr), so that a crash or a usage error is not
# taken for the failure the check wants.
exits() {
	_n=$1 _want=$2 _p=$3; shift 3
	_o=$("$@" 2>&1)
	_rc=$?
	if [ "$_rc" -ne "$_want" ]; then
		bad "$_n" "'$*' exited $_rc, want $_want: $(printf '%s' "$_o" | tail -n 3 | tr '\n' ' ')"
	elif printf '%s\n' "$_o" | grep -qE -- "$_p"; then
		ok "$_n"
	else
		bad "$_n" "'$*' did not say /$_p/: $(printf '%s' "$_o" | tail -n 3 | tr '\n' ' ')"
	fi
}

# 1. GNU tar writes through the tape and reads back what it wrote.
mkdir -p "$w/src/sub"
head -c 300000 /dev/urandom >"$w/src/a.bin"
seq 1 5000 >"$w/src/sub/b.txt"
ln -s a.bin "$w/src/link"
check tar-create tar -C "$w/src" -cf "$w/in.tar" .
check tar-write sr --record-size 10240 "$T" write "$w/in.tar" weof 1
check tar-read sh -c "'$SR' tape '$T' rewind read - > '$w/out.tar'"
check tar-identical cmp "$w/in.tar" "$w/out.tar"
if out l1 tar -tf "$w/out.tar" && out l2 tar -tf "$w/in.tar"; then
	is tar-lists "$(printf '%s\n' "$l1" | sort)" "$(printf '%s\n' "$l2" | sort)"
fi
mkdir "$w/x"
check tar-extracts sh -c "'$SR' tape '$T' rewind read - | tar -C '$w/x' -xf - && cmp '$w/src/a.bin' '$w/x/a.bin' && cmp '$w/src/sub/b.txt' '$w/x/sub/b.txt'"
# 10240-byte records: 300 KB of tar data makes exactly size/10240 records,
# each 8 bytes of SIMH framing bigger (even size, no pad).
recs=$(( $(stat -c %s "$w/in.tar") / 10240 ))
is simh-size "$(stat -c %s "$T")" $(( recs * (10240 + 8) + 4 ))

# 2. Files and filemarks, position kept between invocations as on /dev/nst0.
rm -f "$T" "$T.state" "$T.idx"
printf 'first file\n' >"$w/f1"
printf 'second file\n' >"$w/f2"
check two-files sr "$T" write "$w/f1" weof 1 write "$w/f2" weof 1 rewind
check fsf-persists sr "$T" fsf 1
out st sr "$T" status && has status-after-fsf "$st" 'File number=1, block number=0, partition=0.'
check read-second sh -c "'$SR' tape '$T' read - > '$w/r2' && cmp '$w/f2' '$w/r2'"
out tl sr "$T" rewind tell && is tell-at-bot "$tl" 'At block 0.'
out r3 sr "$T" seek 2 read - && is seek-counts-filemarks "$r3" "$(cat "$w/f2")"
out st sr "$T" eod status && has status-eod "$st" ' EOD'
# mt's aliases name the same verbs: eof = weof, seod = eod.
cp "$T" "$w/alias.tap"
check alias-eof sr "$w/alias.tap" seod eof 2
out st sr "$w/alias.tap" rewind fsf 3 status && has alias-wrote-marks "$st" 'File number=3,'

# 3. Errors: clear message, documented exit code, nothing changed.
cp "$T" "$w/before"
exits unknown-verb 64 "^sysrecover: unknown tape verb 'frobnicate'" sr "$T" frobnicate
check unknown-verb-unchanged cmp "$T" "$w/before"
exits missing-arg-checked-first 64 "'setblk' needs an argument" sr "$T" rewind fsf 1 setblk
exits bad-word-checked-first 64 "erase takes 'short' or 'long'" sr "$T" weof 1 erase bogus
check bad-verbs-unchanged cmp "$T" "$w/before"
exits bsr-at-bot-fails 2 '^sysrecover: bsr 1 on .*beginning of partition' sr "$T" rewind bsr 1
exits not-a-tape 2 "^sysrecover: cannot open tape" sr /etc/hostname status
# f1's record is 4 + 11 + 1 pad + 4 = 20 bytes, its filemark 4: f2's record
# starts at byte 24.  Cut the image inside it.
head -c 30 "$w/before" >"$w/cut.tap"
exits corrupt-image-offset 2 'truncated record at byte offset 24' sr "$w/cut.tap" fsf 1 read -
out r1 sr "$w/cut.tap" rewind read - && is corrupt-image-prefix-readable "$r1" "$(cat "$w/f1")"
exits injected-read-error 2 'injected read error at record 0' \
	sr --inject read-error@0 --read-only "$T" rewind read -
check read-only-unchanged cmp "$T" "$w/before"

# 4. The self-test refuses a tape holding data unless forced; failed checks
# are a partial result (exit 1), not a failure of the command.
exits test-refuses-data 2 'holds data' sr "$T" test
check test-refused-unchanged cmp "$T" "$w/before"
exits test-forced 0 '^tape test: .* 0 failed' sr --force --capacity 4M --early-warning 64k "$T" test
out tt sr --force --capacity 4M --early-warning 64k "$T" test &&
	has test-covered-ew "$tt" 'PASS early-warning-readback'
exits test-failed-checks-exit-1 1 '^tape test: .* [1-9][0-9]* failed' \
	sr --inject read-error@0 mem: test

# 5. The command line: --help for the group and each verb (exit 0, no drive
# touched), unknown options and verbs (64), two-number and negative
# arguments.
exits help-group 0 '^usage: sysrecover tape ' sr --help
exits help-group-lists-verbs 0 'partseek +P N' sr -h
for v in status fsf weof partseek write mkpartition; do
	exits "help-$v" 0 "^usage: sysrecover tape DEV $v" sr "$w/none.tap" "$v" --help
done
exits help-alias 0 "^usage: sysrecover tape DEV weof.*" sr "$w/none.tap" eof --help
check help-touches-no-drive test ! -e "$w/none.tap"
exits unknown-option 64 "unknown option '--bogus'" sr --bogus "$T" status
exits option-missing-value 64 "'--capacity', or its value is missing" sr --capacity
exits unknown-verb-option 64 "fsf: unknown option '--bogus'" sr "$T" fsf --bogus
exits no-verb 64 'which device' sr "$T"
exits partseek-needs-two 64 "'partseek' needs 2 arguments" sr "$T" partseek 1
rm -f "$w/p.tap" "$w/p.tap.state" "$w/p.tap.idx"
exits partseek-two-numbers 0 '^Partition 1 of 2\.' \
	sr --capacity 4M "$w/p.tap" mkpartition 1 partseek 1 0 partition
exits mkpartition-negative 0 '^Partition 0 of 2\.' \
	sr --capacity 4M "$w/p.tap" mkpartition -1 partition

# 6. A failure with errno 1 (EPERM) is exit 2, not 64: -1 once meant "usage"
# in this code.  An immutable image cannot be opened for writing, even by
# root; chattr needs a filesystem with the flag (ext4, xfs, btrfs).
cp "$w/before" "$w/imm.tap"
if chattr +i "$w/imm.tap" 2>/dev/null; then
	exits eperm-is-exit-2 2 "^sysrecover: cannot open '.*imm.tap': Operation not permitted" \
		sr "$w/imm.tap" weof 1
	chattr -i "$w/imm.tap"
else
	skip eperm-is-exit-2 "chattr +i not supported on $(dirname "$w")"
fi
finish
