#!/bin/sh
# restore_hostile.sh - a tape written by an attacker: a real label, a pax
# data file made with python's tarfile holding 22 hostile members among
# good ones, and a catalog that lists them all (tests/lib/mkset.py).
# Restored onto an ext4 image and onto a plain directory, each hostile
# member must be refused and named (exit 1), nothing may appear outside the
# target (the directory's parent is compared before and after, and the
# image's tree is read through a kernel mount), the good members must be
# there, and e2fsck -fn must be clean.
#   restore_hostile.sh SYSRECOVER [SYSRECOVER_ASAN]
set -u
. "$(dirname "$0")/../lib/check.sh"
workdir hostile
need python3 mkfs.ext4 e2fsck
L=$(cd "$(dirname "$0")/../lib" && pwd)

# a label: from a real one-volume set
mkdir -p "$w/one"
echo seed >"$w/one/seed"
"$1" backup -t "$w/real.tap" --record-size 10k "$w/one" >/dev/null 2>&1 ||
	bad real-set "cannot write a set to take the label from"
"$1" tape "$w/real.tap" rewind read "$w/label.bin" >/dev/null 2>&1 ||
	bad real-label "cannot read the label back"

python3 - "$w/hostile.tar" <<'EOF'
import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
def add(name, kind=tarfile.REGTYPE, data=b"x", link=""):
    i = tarfile.TarInfo(name)
    i.type = kind
    i.linkname = link
    i.mode = 0o644 if kind != tarfile.DIRTYPE else 0o755
    i.size = len(data) if kind == tarfile.REGTYPE else 0
    t.addfile(i, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
add("v0/", tarfile.DIRTYPE)
add("v0/good", data=b"good\n")
add("v0/gooddir", tarfile.DIRTYPE)
add("v0/gooddir/inner", data=b"inner\n")
# hostile
for n in ["v0/../escape1", "v0/a/../../escape2", "/abs/escape3", "../escape4",
          "v9/escape5", "v1/escape6", "x/escape7", "v0", "v0//escape8",
          "v0/./escape9", "v0/..", "v0/gooddir/..", "v0/" + "n" * 5000,
          "v0/.sysrecover-tmp/0", "v0/.sysrecover-tmp7/x", "vv0/escape10",
          "v-1/escape11"]:
    add(n, data=b"hostile\n")
add("v0/hl1", tarfile.LNKTYPE, link="v1/escape")
add("v0/hl2", tarfile.LNKTYPE, link="v0/../../etc/passwd")
add("v0/hl3", tarfile.LNKTYPE, link="/etc/passwd")
# through a symlink restored just before: never followed
add("v0/lnk", tarfile.SYMTYPE, link="/tmp")
add("v0/lnk/escape12", data=b"hostile\n")
add("v0/up", tarfile.SYMTYPE, link="../..")
add("v0/up/escape13", data=b"hostile\n")
add("v0/last", data=b"last\n")
t.close()
EOF
python3 "$L/mkset.py" "$w/h.tap" "$w/label.bin" "$w/hostile.tar" ||
	bad mkset "cannot build the hostile tape"

check_out() { # name output
	n=$(printf '%s\n' "$2" | grep -c 'refused')
	[ "$n" -eq 20 ] && ok "$1: 20 names refused and named" ||
		bad "$1-refused" "$n refused: $(printf '%s' "$2" | tail -n 3 | tr '\n' ' ')"
	n=$(printf '%s\n' "$2" | grep -c 'escape1[23]')
	[ "$n" -eq 2 ] && ok "$1: the two members under symlinks failed, named" ||
		bad "$1-symlinked" "$(printf '%s' "$2" | grep escape1 | tr '\n' ' ')"
}

for x in "$1" ${2:+"$2"}; do
	t=$(basename "$(dirname "$x")")
	# onto an ext4 image
	rm -f "$w/e.img"
	truncate -s 32M "$w/e.img"
	mkfs.ext4 -q -F "$w/e.img"
	o=$("$x" restore -t "$w/h.tap" --to "v0=$w/e.img" 2>&1)
	rc=$?
	is "img-$t-exit" "$rc" 1
	check_out "img-$t" "$o"
	check "img-$t-e2fsck" e2fsck -fn "$w/e.img"
	if mount -o ro,loop "$w/e.img" "$mnt"; then
		is "img-$t-good" "$(cat "$mnt/good" "$mnt/gooddir/inner" "$mnt/last" 2>&1)" \
			"$(printf 'good\ninner\nlast')"
		is "img-$t-no-escape" "$(find "$mnt" -name 'escape*' | wc -l)" 0
		is "img-$t-links" "$(readlink "$mnt/lnk") $(readlink "$mnt/up")" "/tmp ../.."
		umount "$mnt"
	fi
	# onto a directory: nothing beside it may change
	rm -rf "${w:?}/box"
	mkdir -p "$w/box/target"
	(cd "$w/box" && find . | sort) >"$w/before"
	find /tmp -maxdepth 1 -name 'escape*' >"$w/tmp.before"
	o=$("$x" restore -t "$w/h.tap" --to "v0=$w/box/target" 2>&1)
	is "dir-$t-exit" "$?" 1
	check_out "dir-$t" "$o"
	(cd "$w/box" && find . | sort) >"$w/after"
	printf './target/good\n./target/gooddir\n./target/gooddir/inner\n./target/last\n./target/lnk\n./target/up\n' >>"$w/before"
	sort -o "$w/before" "$w/before"
	check "dir-$t-nothing-beside" cmp "$w/before" "$(printf '%s' "$w/after")"
	is "dir-$t-nothing-outside" "$(find "$w" /tmp -maxdepth 1 -name 'escape*' | wc -l)" \
		"$(wc -l <"$w/tmp.before")"
	is "dir-$t-good" "$(cat "$w/box/target/good" "$w/box/target/last")" \
		"$(printf 'good\nlast')"
done
finish
