# tree.sh - what the benchmarks that copy a real tree share (sourced, with
# BENCH set to the script's name and the positional parameters as given to
# it: SYSRECOVER [WORKDIR]): the tree (the largest /usr/share
# subdirectories until >= MIN_FILES files and >= MIN_BYTES bytes, copied
# once into WORKDIR/src so every tool reads it from the page cache), its tar
# and WIM (untimed), the image size, timing helpers, and the checks that
# keep a broken result from being reported as fast (check_ext: e2fsck -fn
# and a kernel mount; check_ntfs: an ntfs-3g mount; both: the object count
# and sha256 of a sample).
set -u
SR=$(realpath "$1")
W=${2:-/tmp/sysrecover-$BENCH}
MIN_FILES=${MIN_FILES:-30000}
MIN_BYTES=${MIN_BYTES:-500000000}
for t in mke2fs e2fsck mkntfs ntfs-3g wimlib-imagex tar sha256sum; do
	command -v $t >/dev/null || { echo "$BENCH: $t missing (sh .ci/deps.sh)" >&2; exit 1; }
done
rm -rf "${W:?}"
mkdir -p "$W/src" "$W/mnt"
MNT=$W/mnt
trap 'mountpoint -q "$MNT" && umount "$MNT"; rm -rf "${W:?}"' EXIT

now() { date +%s.%N; }
sub() { awk "BEGIN { printf \"%.2f\", $1 - $2 }"; }
ratio() { awk "BEGIN { if ($2 > 0) printf \"%.2f\", $1 / $2; else print \"-\" }"; }
die() { echo "$BENCH: $*" >&2; exit 1; }

# ---- the source ---------------------------------------------------------------
files=0 bytes=0 pick=
for d in $(cd /usr/share && for x in */; do
		printf '%s %s\n' "$(du -sb "$x" | cut -f1)" "${x%/}"; done | sort -rn | cut -d' ' -f2); do
	[ "$files" -ge "$MIN_FILES" ] && [ "$bytes" -ge "$MIN_BYTES" ] && break
	pick="$pick $d"
	files=$((files + $(find "/usr/share/$d" | wc -l)))
	bytes=$((bytes + $(du -sb "/usr/share/$d" | cut -f1)))
done
for d in $pick; do cp -a "/usr/share/$d" "$W/src/"; done
S=$W/src
nobj=$(find "$S" -mindepth 1 | wc -l)
nreg=$(find "$S" -type f | wc -l)
sbytes=$(du -sb --apparent-size "$S" | cut -f1)
echo "source:$pick -> $nobj objects, $nreg files, $sbytes bytes (in page cache)"
find "$S" -type f -size +100k | sort | awk 'NR % 97 == 1' | head -n 20 >"$W/sample"
(cd "$S" && sed "s|^$S/||" "$W/sample" | xargs -d '\n' sha256sum) >"$W/sample.sha"
# image: twice the data, at least 2 GiB
isz=$(( (sbytes * 2 / 1048576 + 2048) ))M
tar -C "$S" -cf "$W/src.tar" .
wimlib-imagex capture "$S" "$W/x.wim" --compress=none >/dev/null 2>&1 || die "wim capture failed"
sync

# ---- checks -------------------------------------------------------------------
# Same objects (names of everything but lost+found) and the sample's hashes.
check_tree() { # NAME DIR
	n=$(cd "$2" && find . -mindepth 1 -path ./lost+found -prune -o -print | wc -l)
	[ "$n" -eq "$nobj" ] || { echo "BROKEN $1: $n objects, want $nobj"; return 1; }
	(cd "$2" && sha256sum -c --quiet "$W/sample.sha") >/dev/null 2>&1 ||
		{ echo "BROKEN $1: sample hashes differ"; return 1; }
	return 0
}
check_ext() { # NAME IMG
	e2fsck -fn "$2" >"$W/fsck" 2>&1 || { echo "BROKEN $1: e2fsck"; tail -n 5 "$W/fsck"; return 1; }
	mount -o ro,loop,noload "$2" "$MNT" || { echo "BROKEN $1: mount"; return 1; }
	check_tree "$1" "$MNT"; r=$?
	umount "$MNT"
	return $r
}
check_ntfs() { # NAME IMG
	ntfs-3g -o ro "$2" "$MNT" || { echo "BROKEN $1: ntfs-3g mount"; return 1; }
	check_tree "$1" "$MNT"; r=$?
	umount "$MNT"
	return $r
}
wait_unused() { while fuser -s "$1" 2>/dev/null; do sleep 0.05; done; }

