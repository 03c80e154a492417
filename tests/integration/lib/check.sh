# check.sh - what the integration scripts share; sourced, not run (it is not
# in tests/integration/ itself, so run-all.sh does not take it for a suite).
#   . "$(dirname "$0")/lib/check.sh"; workdir NAME
# gives $w (a scratch directory), $mnt (a mount point inside it, unmounted
# and everything removed at exit; KEEP=1 keeps them), $fails, and the
# result lines run-all.sh counts: ok NAME, bad NAME WHY, is NAME GOT WANT,
# has NAME TEXT PART.

fails=0
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1: $2"; fails=$((fails + 1)); }
is() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "got '$2', want '$3'"; fi; }
has() { case "$2" in *"$3"*) ok "$1" ;; *) bad "$1" "'$3' not in: $2" ;; esac; }

cleanup() {
	mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
	[ -n "${KEEP:-}" ] && { echo "kept $w" >&2; return; }
	rm -rf "$w"
}

workdir() {
	w=$(mktemp -d "/tmp/sr-$1.XXXXXX")
	mnt=$w/mnt
	mkdir -p "$mnt"
	trap cleanup EXIT
}
