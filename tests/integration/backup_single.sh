#!/bin/sh
# backup_single.sh - single instance: content identical to an earlier
# member of a set (SHA-256, files of 4 KiB or more) goes on tape once.
#   - An ext4 volume and an NTFS volume (filled through the kernel and
#     ntfs-3g) hold copies of one content under other names, owners, modes,
#     times and xattrs, across directories and across the two volumes, a
#     hard-link pair whose first name is a copy, a file of the same size
#     with other content, and small identical files.  The expected number of
#     copies is worked out here with python's hashlib over the mounted trees.
#   - backup, list and verify agree with it; GNU tar sees each copy as a
#     hard link to the first member (tar -tv), and GNU tar and bsdtar
#     extract every file with its right content;
#   - a full restore onto fresh volumes gives the same tree as the source,
#     every metadata field, copies as files of their own (manifest.py
#     through kernel and ntfs-3g mounts), e2fsck -fn and ntfsfix -n clean;
#   - a selective restore of one copy alone brings its content (read from
#     its holder, stashed and removed again) and nothing else;
#   - restore --scan (no catalog) restores the same tree, and names a copy
#     whose holder it was told to leave out;
#   - a crafted copy mark whose hash does not match its holder is not
#     restored, and is named.
#   backup_single.sh SYSRECOVER [SYSRECOVER_ASAN]
set -u
. "$(dirname "$0")/../lib/check.sh"
workdir single
need mkfs.ext4 e2fsck mkntfs ntfs-3g ntfsfix python3 tar bsdtar getfattr setfattr
M=$(cd "$(dirname "$0")/../lib" && pwd)/manifest.py
L=$(cd "$(dirname "$0")/../lib" && pwd)

# ---- the sources ------------------------------------------------------------------------
head -c 300000 /dev/urandom >"$w/r1"
head -c 300000 /dev/urandom >"$w/r2"   # the same size, other content
truncate -s 64M "$w/ext.img"
mkfs.ext4 -q -F "$w/ext.img"
mount -o loop "$w/ext.img" "$mnt" || { bad mount-ext "cannot loop-mount"; finish; exit; }
(
	cd "$mnt" || exit 1
	mkdir -p dup other
	cp "$w/r1" dup/a
	cp "$w/r1" dup/b && chown 1000:1000 dup/b && chmod 600 dup/b &&
		setfattr -n user.note -v copy dup/b && touch -d '2002-02-02 02:02:02.5' dup/b
	cp "$w/r1" other/c
	cp "$w/r1" hl1 && ln hl1 hl2
	cp "$w/r2" dup/d
	echo tiny >s1 && echo tiny >s2
) || bad fill-ext "filling the ext4 source failed"
umount "$mnt"
truncate -s 64M "$w/ntfs.img"
mkntfs -Q -F -q "$w/ntfs.img" >/dev/null 2>&1
ntfs-3g "$w/ntfs.img" "$mnt" || { bad mount-ntfs "cannot mount"; finish; exit; }
mkdir -p "$mnt/win" && cp "$w/r1" "$mnt/win/same-as-ext" && cp "$w/r2" "$mnt/win/r2" &&
	cp "$w/r2" "$mnt/win/r2-again" || bad fill-ntfs "filling the NTFS source failed"
umount "$mnt"

# What single instance must find, worked out here: files of 4 KiB or more,
# one per inode, grouped by SHA-256 across both volumes; each group's
# members after its first are copies.
count_copies() { # DIR...
	python3 - "$@" <<'EOF'
import hashlib, os, sys
seen, groups = set(), {}
for top in sys.argv[1:]:
    for d, _, fs in sorted(os.walk(top)):
        for f in sorted(fs):
            p = os.path.join(d, f)
            st = os.lstat(p)
            if not os.path.isfile(p) or os.path.islink(p) or st.st_size < 4096:
                continue
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            h = hashlib.sha256(open(p, "rb").read()).hexdigest()
            groups[h] = groups.get(h, 0) + 1
print(sum(n - 1 for n in groups.values()))
EOF
}
mkdir -p "$w/m2"
mount -o ro,loop "$w/ext.img" "$mnt" && ntfs-3g -o ro "$w/ntfs.img" "$w/m2" || { bad mount-src "cannot mount"; finish; exit; }
want=$(count_copies "$mnt" "$w/m2")
python3 "$M" "$mnt" --holes --all-times >"$w/ext.manifest" || bad manifest-ext "manifest.py failed"
python3 "$M" "$w/m2" --no-owner >"$w/ntfs.manifest" || bad manifest-ntfs "manifest.py failed"
(cd "$mnt" && find . -type f | sort | xargs sha256sum) >"$w/ext.sums"
umount "$w/m2"
umount "$mnt"
# (a sanity check of the count: dup/b, other/c, hl1, win/same-as-ext of r1;
# win/r2 and win/r2-again of dup/d's content)
is expected-copies "$want" 6

# same_tree NAME A B: $w/A.manifest and $w/B.manifest are the same
same_tree() {
	if cmp -s "$w/$2.manifest" "$w/$3.manifest"; then ok "$1"
	else bad "$1" "$(diff "$w/$2.manifest" "$w/$3.manifest" | head -n 6 | tr '\t\n' ' |')"; fi
}

for S in "$1" ${2:+"$2"}; do
t=$(basename "$(dirname "$S")")
T=$w/$t.tap
rm -f "$T" "$T.idx"

# ---- backup, list, verify -------------------------------------------------------------------
out js "$S" backup -t "$T" --json "$w/ext.img" "$w/ntfs.img"
is "$t-backup-copies" "$(printf '%s' "$js" | sed -n 's/.*"copies": \([0-9]*\).*/\1/p')" "$want"
is "$t-backup-copy-bytes" "$(printf '%s' "$js" | sed -n 's/.*"copy_bytes": \([0-9]*\).*/\1/p')" \
	$((want * 300000))
out ls "$S" list -t "$T" --set 1
is "$t-list-copies" "$(printf '%s\n' "$ls" | grep -c ' copy of ')" "$want"
has "$t-list-copy-of-other-volume" "$ls" "v1/win/same-as-ext copy of v0/"
has "$t-list-real-hard-link" "$ls" "v0/hl2 link to v0/hl1"
exits "$t-verify" 0 " 0 bad" "$S" verify -t "$T"

# ---- what tar sees -------------------------------------------------------------------------
exits "$t-tape-read" 0 "filemark" "$S" tape "$T" rewind fsf 1 read "$w/data.tar"
out tv tar -tvf "$w/data.tar"
is "$t-tar-sees-links" "$(printf '%s\n' "$tv" | grep -c '^h.* link to ')" $((want + 1))
is "$t-tar-tiny-stored-twice" "$(printf '%s\n' "$tv" | grep -c '^-.* v0/s[12]$')" 2
size=$(stat -c %s "$w/data.tar")
[ "$size" -lt $((5 * 300000)) ] && ok "$t-data-holds-two-contents ($size bytes)" ||
	bad "$t-data-size" "$size bytes: the copies' content was written again"
for x in tar bsdtar; do
	rm -rf "${w:?}/x" && mkdir -p "$w/x"
	if [ $x = tar ]; then check "$t-$x-extract" tar -x -b 512 -f "$w/data.tar" -C "$w/x"
	else check "$t-$x-extract" bsdtar --no-xattrs -x -f "$w/data.tar" -C "$w/x"; fi
	is "$t-$x-contents" "$(cd "$w/x/v0" && find . -type f | sort | xargs sha256sum)" \
		"$(cat "$w/ext.sums")"
	is "$t-$x-ntfs-copy" "$(sha256sum <"$w/x/v1/win/same-as-ext")" "$(sha256sum <"$w/r1")"
done

# ---- full restore onto fresh volumes -----------------------------------------------------------
truncate -s 64M "$w/e2.img" "$w/n2.img"
mkfs.ext4 -q -F "$w/e2.img"
mkntfs -Q -F -q "$w/n2.img" >/dev/null 2>&1
exits "$t-restore" 0 "of which $want copies.* 0 failed, 0 refused" \
	"$S" restore -t "$T" --to "v0=$w/e2.img" --to "v1=$w/n2.img"
check "$t-restore-e2fsck" e2fsck -fn "$w/e2.img"
check "$t-restore-ntfsfix" ntfsfix -n "$w/n2.img"
if mount -o ro,loop,noload "$w/e2.img" "$mnt"; then
	python3 "$M" "$mnt" --holes --all-times >"$w/e2.manifest"
	umount "$mnt"
	same_tree "$t-restore-ext-same-tree" ext e2
fi
if ntfs-3g -o ro "$w/n2.img" "$mnt"; then
	python3 "$M" "$mnt" --no-owner >"$w/n2.manifest"
	umount "$mnt"
	same_tree "$t-restore-ntfs-same-tree" ntfs n2
fi

# ---- one copy alone: its holder is stashed and removed -----------------------------------------
truncate -s 64M "$w/e3.img"
mkfs.ext4 -q -F "$w/e3.img"
exits "$t-selective-copy" 0 "1 files of which 1 copies.* 0 failed" \
	"$S" restore -t "$T" --to "v0=$w/e3.img" 'v0/dup/b'
check "$t-selective-e2fsck" e2fsck -fn "$w/e3.img"
if mount -o ro,loop,noload "$w/e3.img" "$mnt"; then
	is "$t-selective-content" "$(sha256sum <"$mnt/dup/b")" "$(sha256sum <"$w/r1")"
	is "$t-selective-meta" "$(stat -c '%u:%g %a %y' "$mnt/dup/b")" "1000:1000 600 2002-02-02 02:02:02.500000000 +0000"
	is "$t-selective-xattr" "$(getfattr --only-values -n user.note "$mnt/dup/b" 2>/dev/null)" copy
	is "$t-selective-nothing-else" "$(cd "$mnt" && find . -path ./lost+found -prune -o -print | sort | tr '\n' ' ')" \
		". ./dup ./dup/b "
	umount "$mnt"
fi

# ---- without the catalog ----------------------------------------------------------------------
truncate -s 64M "$w/e4.img" "$w/n4.img"
mkfs.ext4 -q -F "$w/e4.img"
mkntfs -Q -F -q "$w/n4.img" >/dev/null 2>&1
exits "$t-scan-restore" 0 "0 failed" "$S" restore -t "$T" --set 1 --scan --to "v0=$w/e4.img" \
	--to "v1=$w/n4.img"
if mount -o ro,loop,noload "$w/e4.img" "$mnt"; then
	python3 "$M" "$mnt" --holes --all-times >"$w/e4.manifest"
	umount "$mnt"
	same_tree "$t-scan-restore-same-tree" ext e4
fi
truncate -s 64M "$w/e5.img"
mkfs.ext4 -q -F "$w/e5.img"
exits "$t-scan-copy-without-holder" 1 "v0/dup/b: not restored: it is a copy of v0/dup/a" \
	"$S" restore -t "$T" --set 1 --scan --to "v0=$w/e5.img" --to "v1=$w/n4.img" 'v0/dup/b'
check "$t-scan-copy-without-holder-e2fsck" e2fsck -fn "$w/e5.img"
done

# ---- a crafted mark: the hash is not the holder's ------------------------------------------------
"$1" tape "$w/$(basename "$(dirname "$1")").tap" rewind read "$w/label.bin" >/dev/null 2>&1 ||
	bad label "cannot read a label back"
python3 - "$w/crafted.tar" <<'EOF'
import hashlib, io, sys, tarfile
t = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
def add(name, data=None, link=None, mark=None):
    i = tarfile.TarInfo(name)
    i.mode = 0o644
    if link:
        i.type, i.linkname = tarfile.LNKTYPE, link
        i.pax_headers = {"SCHILY.xattr.sysrecover.copy": mark}
        t.addfile(i)
    else:
        i.size = len(data)
        t.addfile(i, io.BytesIO(data))
add("v0/holder", data=b"A" * 5000)
add("v0/wrong", link="v0/holder", mark=hashlib.sha256(b"B" * 5000).hexdigest())
add("v0/right", link="v0/holder", mark=hashlib.sha256(b"A" * 5000).hexdigest())
t.close()
EOF
python3 "$L/mkset.py" "$w/crafted.tap" "$w/label.bin" "$w/crafted.tar" || bad mkset "cannot build the tape"
mkdir -p "$w/box"
exits crafted-wrong-hash 1 "v0/wrong: not restored: it is a copy of v0/holder, which this restore did not write \(or not with this content\)" \
	"$1" restore -t "$w/crafted.tap" --to "v0=$w/box"
is crafted-right-copy "$(cat "$w/box/right" 2>/dev/null | sha256sum)" "$(printf 'A%.0s' $(seq 5000) | sha256sum)"
is crafted-nothing-else "$(ls -A "$w/box" | tr '\n' ' ')" "holder right "
finish
