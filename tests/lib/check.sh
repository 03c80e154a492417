# check.sh - the one shell library of every test script (integration, vm,
# demo, bench); sourced, never run:
#   . "$(dirname "$0")/../lib/check.sh"; workdir NAME
#
# Result lines, which tests/run-all.sh counts:
#   PASS name            ok NAME
#   FAIL name: why       bad NAME WHY
#   SKIP name: why       skip NAME WHY
# Checks:
#   is NAME GOT WANT          equal strings
#   has NAME TEXT PART        PART occurs in TEXT
#   check NAME CMD...         CMD exits 0 (its output is shown when not)
#   refuses NAME PATTERN CMD...
#       CMD exits non-zero AND says PATTERN (grep -E).  This is the form for
#       "the tool finds nothing there": a checker that fails for another
#       reason (not installed, crashed, wrong arguments) does not say
#       PATTERN, so the check fails instead of passing by accident.
#   exits NAME CODE PATTERN CMD...
#       CMD exits with exactly CODE and says PATTERN (grep -E, stdout and
#       stderr together), so a crash or a usage error is never taken for the
#       failure a check wants.
#   out VAR CMD...            VAR=stdout of CMD; returns CMD's status, and a
#       failing CMD is a FAIL line of its own, so a check that reads VAR
#       never passes on the output of a tool that failed.
# Data and tools:
#   need TOOL...              a tool the deps script installs: missing = FAIL
#   testdata [SUBDIR]         sets $TD to $SYSRECOVER_TESTDATA (default: the
#       testdata/ of the shared/ directory beside the clone, as an absolute
#       path; tests/run-all.sh exports the same) or SUBDIR of it.
#       When it is not there the whole script is one SKIP line and exits 0,
#       except under SYSRECOVER_REQUIRE_TESTDATA=1 (CI), where it is a FAIL.
#   loopdev VAR IMG [losetup options]
#       attach IMG (only an image this test made) and detach it at exit
#   finish                    the script's exit status: 1 when anything failed
#   counts                    prints "N passed, N failed, N skipped" (so far)
# CHECK_PREFIX, when set (e.g. "vm: "), is printed before every result line;
# tests/run-all.sh accepts such a prefix.
# Scratch:
#   workdir NAME gives $w (mktemp -d) and $mnt (a mount point in it); at exit
#   $mnt is unmounted, the loop devices from loopdev are detached and $w is
#   removed (KEEP=1 keeps $w).

fails=0
passes=0
skips=0
_loops=

ok() { echo "${CHECK_PREFIX:-}PASS $1"; passes=$((passes + 1)); }
bad() { echo "${CHECK_PREFIX:-}FAIL $1: $2"; fails=$((fails + 1)); }
skip() { echo "${CHECK_PREFIX:-}SKIP $1: $2"; skips=$((skips + 1)); }
is() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "got '$2', want '$3'"; fi; }
has() { case "$2" in *"$3"*) ok "$1" ;; *) bad "$1" "'$3' not in: $2" ;; esac; }

check() { # name cmd...
	_n=$1; shift
	if _o=$("$@" 2>&1); then ok "$_n"; else
		bad "$_n" "'$*' failed: $(printf '%s' "$_o" | tail -n 3 | tr '\n' ' ')"
	fi
}

refuses() { # name pattern cmd...
	_n=$1 _p=$2; shift 2
	if _o=$("$@" 2>&1); then
		bad "$_n" "'$*' succeeded"
	elif printf '%s\n' "$_o" | grep -qE -- "$_p"; then
		ok "$_n"
	else
		bad "$_n" "'$*' failed without saying /$_p/: $(printf '%s' "$_o" | tail -n 3 | tr '\n' ' ')"
	fi
}

exits() { # name code pattern cmd...
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

out() { # var cmd...
	_v=$1; shift
	_e=$(mktemp)
	if _o=$("$@" 2>"$_e"); then
		rm -f "$_e"
		eval "$_v=\$_o"
		return 0
	else
		_rc=$?
	fi
	bad "tool:$1" "'$*' exited $_rc: $(tail -n 3 "$_e" | tr '\n' ' ')"
	rm -f "$_e"
	eval "$_v="
	return "$_rc"
}

need() {
	for _t in "$@"; do
		command -v "$_t" >/dev/null 2>&1 ||
			bad "need-$_t" "$_t is not installed (run: sh .ci/deps.sh)"
	done
}

testdata() { # [subdir]
	_top=$(cd "$(dirname "$0")/../.." && pwd)
	TD=${SYSRECOVER_TESTDATA:-$(dirname "$_top")/shared/testdata}
	[ -n "${1:-}" ] && TD=$TD/$1
	[ -d "$TD" ] && return 0
	if [ "${SYSRECOVER_REQUIRE_TESTDATA:-}" = 1 ]; then
		bad "$(basename "$0" .sh)-testdata" "$TD missing, and this run requires the real data"
		exit 1
	fi
	skip "$(basename "$0" .sh)" "real test data not found at $TD (set SYSRECOVER_TESTDATA)"
	# What ran before the skip still counts: a FAIL there fails the script.
	finish
	exit
}

loopdev() { # var img [options]
	_v=$1 _i=$2; shift 2
	_d=$(losetup -f --show "$@" "$_i") || { bad "losetup-$_i" "cannot attach"; return 1; }
	_loops="$_loops $_d"
	eval "$_v=\$_d"
}

cleanup() {
	[ -n "${mnt:-}" ] && mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
	for _d in $_loops; do losetup -d "$_d" 2>/dev/null; done
	[ -n "${w:-}" ] || return 0
	[ -n "${KEEP:-}" ] && { echo "kept $w" >&2; return 0; }
	rm -rf "${w:?}"
}

workdir() {
	w=$(mktemp -d "/tmp/sr-$1.XXXXXX")
	mnt=$w/mnt
	mkdir -p "$mnt"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
}

finish() { [ "$fails" -eq 0 ]; }
counts() { echo "$passes passed, $fails failed, $skips skipped"; }
