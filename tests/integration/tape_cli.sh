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
# 7. A missing image is an error (a misspelt name must not become a blank
# tape), unless a verb writes or --create is given.
exits missing-image 2 "^sysrecover: cannot open '$w/missing.tap': No such file or directory" \
	sr "$w/missing.tap" status
check missing-not-created test ! -e "$w/missing.tap" -a ! -e "$w/missing.tap.state"
exits missing-read-only 2 "No such file or directory" sr --read-only "$w/missing.tap" weof 1
check missing-ro-not-created test ! -e "$w/missing.tap"
exits create-option 0 ' BOT EOD ONLINE' sr --create "$w/c.tap" status
is create-makes-blank "$(stat -c %s "$w/c.tap" 2>&1)" 0
exits write-verb-creates 0 '' sr "$w/c2.tap" rewind weof 1
is write-verb-created "$(od -An -tx1 "$w/c2.tap" | tr -d ' \n')" 00000000
: >"$w/empty.tap"
exits empty-is-blank 0 ' BOT EOD ONLINE' sr "$w/empty.tap" status

# 8. A file that is not SIMH is refused, and nothing is written to it or
# beside it, even by a verb that writes.
printf 'hello, this is a text file\n' >"$w/text.tap"
cp "$w/text.tap" "$w/text.before"
exits text-not-simh 2 "^sysrecover: '$w/text.tap' is not a SIMH tape image: record length 0x6c6c6568 at byte offset 0" \
	sr "$w/text.tap" status
exits text-not-simh-weof 2 'is not a SIMH tape image' sr "$w/text.tap" weof 1
check text-unchanged cmp "$w/text.tap" "$w/text.before"
check text-no-sidecars test ! -e "$w/text.tap.idx" -a ! -e "$w/text.tap.state" -a ! -e "$w/text.tap.p1"
if command -v mkfs.ext4 >/dev/null; then
	truncate -s 4M "$w/ext4.tap"
	mkfs.ext4 -q -F "$w/ext4.tap" >/dev/null 2>&1
	cp "$w/ext4.tap" "$w/ext4.before"
	exits ext4-not-simh 2 "is not a SIMH tape image: .*byte offset 1024" \
		sr "$w/ext4.tap" rewind write "$w/f1"
	check ext4-unchanged cmp "$w/ext4.tap" "$w/ext4.before"
	check ext4-no-sidecars test ! -e "$w/ext4.tap.idx" -a ! -e "$w/ext4.tap.state"
else
	skip ext4-not-simh "no mkfs.ext4"
fi

# 9. The kept index (IMAGE.idx) is checked against the image: another
# program rewrites the image with other records of the same size and puts
# the old mtime back; the new records must come back.  Old: two records of
# 100 bytes and a filemark (2 * 108 + 4 = 220 bytes); new: one record of
# 208 bytes and a filemark (216 + 4), written here by python3.
need python3
head -c 200 /dev/zero | tr '\0' o >"$w/old200"
check idx-write sr --record-size 100 "$w/i.tap" write "$w/old200" weof 1 rewind
check idx-kept test -s "$w/i.tap.idx"
cp -p "$w/i.tap" "$w/i.ref"
python3 -c 'import struct,sys
w = struct.pack("<I", 208)
open(sys.argv[1], "wb").write(w + b"n" * 208 + w + struct.pack("<I", 0))' "$w/i.tap"
touch -r "$w/i.ref" "$w/i.tap"
is idx-same-stamp "$(stat -c '%s %y' "$w/i.tap")" "$(stat -c '%s %y' "$w/i.ref")"
head -c 208 /dev/zero | tr '\0' n >"$w/new208"
check idx-stale-new-records sh -c "'$SR' tape '$w/i.tap' rewind read - > '$w/i.out' 2>/dev/null && cmp '$w/new208' '$w/i.out'"

# 9b. An index kept after the write is marked exact and a later open uses
# it without reading the image (no pread of it at all); one that another
# user could have written (group-writable) is checked against the image.
if command -v strace >/dev/null 2>&1; then
	check idx-exact-write sr --record-size 100 "$w/j.tap" write "$w/old200" weof 1
	preads() {
		strace -e trace=pread64 -P "$w/j.tap" -o "$w/j.st" "$SR" tape --read-only "$w/j.tap" status >/dev/null 2>&1
		grep -c '^pread64' "$w/j.st"
	}
	is idx-exact-no-reads "$(preads)" 0
	chmod g+w "$w/j.tap.idx"
	n=$(preads)
	check idx-not-believed-checked test "$n" -gt 0
else
	skip idx-exact-no-reads "no strace"
fi

# 10. --record-size above what a SIMH length word holds (24 bits) is a
# usage error when the options are read, before anything is opened.
exits record-size-too-big 64 'record-size 16777216 is larger than a tape record can be' \
	sr --record-size 16777216 "$w/rs.tap" write "$w/f1"
check record-size-nothing-made test ! -e "$w/rs.tap"
exits record-size-max 0 '1 records, 11 bytes written' sr --record-size 16777215 "$w/rs.tap" write "$w/f1"

# 11. mt's habits: -f DEV, --file DEV, $TAPE; fsfm, bsfm, asf, rewoffl as
# mt-st defines them.  Three files of two 10-byte records each: objects
# A1 A2 FM B1 B2 FM C1 C2 FM (logical blocks 0-8).
for x in a b c; do head -c 20 /dev/zero | tr '\0' "$x" >"$w/$x.20"; done
M=$w/mt.tap
check mt-build sr --record-size 10 "$M" write "$w/a.20" weof 1 write "$w/b.20" weof 1 write "$w/c.20" weof 1
exits dash-f 0 'File number=1, block number=0' sr -f "$M" rewind fsf 1 status
exits dash-dash-file 0 'File number=2, block number=0' sr --file "$M" rewind fsf 2 status
exits tape-env 0 'At block 3\.' env TAPE="$M" "$SR" tape rewind fsf 1 tell
exits tape-env-dev-wins 0 'At block 6\.' env TAPE="$w/missing.tap" "$SR" tape "$M" rewind fsf 2 tell
exits no-dev-no-env 64 'which device' env -u TAPE "$SR" tape status
# fsfm N: forward N filemarks, back over the last: its BOT side.
exits fsfm-1 0 'At block 2\.' sr "$M" rewind fsfm 1 tell
exits fsfm-2 0 'File number=1, block number=2' sr "$M" rewind fsfm 2 status
# bsfm N: back N filemarks, forward over the last: the first block of the
# file N-1 files before this one.
exits bsfm-2 0 'At block 6\.' sr "$M" eod bsfm 2 tell
exits bsfm-3 0 'File number=1, block number=0' sr "$M" eod bsfm 3 status
# asf N: rewind, then N filemarks, wherever the tape was.
exits asf-1 0 'At block 3\.' sr "$M" eod asf 1 tell
check asf-reads-file-2 sh -c "'$SR' tape '$M' eod asf 1 read - 2>/dev/null | cmp - '$w/b.20'"
# rewoffl: rewound and unloaded; 'load' finds it at BOT.
exits rewoffl 0 ' DR_OPEN' sr "$M" rewind fsf 2 rewoffl status
exits rewoffl-needs-load 2 'no medium loaded' sr "$M" read -
exits rewoffl-rewound 0 'At block 0\.' sr "$M" load tell

# 12. --json for status, params and test: checked by python3's json.
qn=$w/'q"uo\te.tap'
check json-build sr --record-size 10 "$qn" write "$w/a.20" weof 1
out js sr "$qn" rewind fsf 1 status --json &&
	check json-status python3 -c 'import json,sys
d = json.loads(sys.argv[1])
assert d["device"] == sys.argv[2], d["device"]
assert (d["kind"], d["file"], d["block"], d["partition"], d["logical_block"]) == ("simh", 1, 0, 0, 3), d
assert "EOF" in d["flags"] and "ONLINE" in d["flags"] and "BOT" not in d["flags"], d' "$js" "$qn"
out jp sr "$qn" params --json &&
	check json-params python3 -c 'import json,sys
d = json.loads(sys.argv[1])
assert d["max_block"] == 16777215 and d["block_size"] == 0 and d["partitions"] == 1, d
assert "locate" in d["features"] and d["compression"] is False, d' "$jp"
out jt sr mem: test --json &&
	check json-test python3 -c 'import json,sys
d = json.loads(sys.argv[1])
assert d["failed"] == 0 and d["passed"] > 10, d
assert len(d["checks"]) == d["passed"] + d["failed"] + d["skipped"], d
assert all(c["result"] in ("PASS", "FAIL", "SKIP") and c["check"] for c in d["checks"]), d' "$jt"
exits json-test-refused 2 '^sysrecover: test on .*holds data' sr "$qn" test --json
exits json-other-verb 64 "tell: unknown option '--json'" sr "$qn" tell --json
exits json-help 0 '--json' sr "$qn" status --help

# 13. The progress line of write and read: forced by SYSRECOVER_PROGRESS=1
# (stderr is not a terminal here), absent otherwise.
P=$w/pg.tap
SYSRECOVER_PROGRESS=1 "$SR" tape "$P" write "$w/in.tar" 2>"$w/pg.err"
has progress-write "$(cat "$w/pg.err")" 'tape write: '
has progress-write-total "$(cat "$w/pg.err")" ' objects'
SYSRECOVER_PROGRESS=1 "$SR" tape "$P" rewind read "$w/pg.out" 2>"$w/pg.err"
has progress-read "$(cat "$w/pg.err")" 'tape read: '
check progress-read-data cmp "$w/pg.out" "$w/in.tar"
SYSRECOVER_PROGRESS=0 "$SR" tape "$P" rewind read "$w/pg.out" 2>"$w/pg.err"
check progress-off-not-tty sh -c "! grep -q 'tape read: ' '$w/pg.err'"
finish
