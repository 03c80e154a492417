#!/bin/sh
# efs.sh - raw encrypted (EFS) files through backup and restore, checked
# with ntfs-3g, getfattr, ntfsinfo, ntfsfix, debugfs and e2fsck:
#   - encrypted files (0, 300, 512, 4096, 4000, 70000, 1 MiB and 5000 bytes, an encrypted
#     directory, an encrypted named stream) are made on a fresh NTFS through
#     an ntfs-3g -o efs_raw mount by tests/lib/efs.py; their raw bytes and
#     user.ntfs.efsinfo are saved from that mount;
#   - backup: the catalog flags each of them efs-raw (and not a plain file);
#   - restore onto a fresh NTFS: through an efs_raw mount the raw bytes,
#     the stream and user.ntfs.efsinfo are identical; through a plain mount
#     the files carry FILE_ATTRIBUTE_ENCRYPTED (system.ntfs_attrib & 0x4000)
#     and cannot be read; ntfsinfo shows the real sizes; ntfsfix -n clean;
#   - restore onto ext4: the content is the raw bytes, user.ntfs.efsinfo is
#     there (debugfs), the report says "kept raw", e2fsck -fn clean;
#   - a $EFS stream damaged on tape (three ways) is refused with a clear
#     error and the target image is unchanged (cmp), on NTFS and on ext4,
#     and verify fails the set;
#   - a damaged $EFS stream on the source (one ntfs-3g accepts) is reported
#     at backup and only that member is lost.
#   efs.sh SYSRECOVER [SYSRECOVER_ASAN]   (the second runs it all again)
set -u
. "$(dirname "$0")/../lib/check.sh"
workdir efs
need mkntfs ntfs-3g ntfsinfo ntfsfix getfattr mkfs.ext4 e2fsck debugfs python3 sha256sum
EFS=$(cd "$(dirname "$0")/../lib" && pwd)/efs.py
FILES="secret-empty.txt secret-small.txt secret-block.bin secret-4k.bin secret-4000.bin secret-multi.bin secret-1m.bin EncDir/inner.doc"

mkntfs_img() { truncate -s 48M "$1" && mkntfs -F -q -Q "$1" >/dev/null 2>&1; }
efsinfo() { # file: its user.ntfs.efsinfo in hex, "" when absent
	getfattr -e hex -n user.ntfs.efsinfo "$1" 2>/dev/null | sed -n 's/^user\.ntfs\.efsinfo=//p'
}

# ---- the source: encrypted files made through an efs_raw mount -----------------------
mkntfs_img "$w/src.img" || { bad mkntfs "mkntfs failed"; finish; exit; }
ntfs-3g -o efs_raw "$w/src.img" "$mnt" || { bad mount-src "ntfs-3g failed"; finish; exit; }
check efs-make python3 "$EFS" make "$mnt"
printf 'not encrypted\n' >"$mnt/plain.txt"
umount "$mnt"
# read back raw (direct_io: see efs.py; in odd pieces, so that no read of
# the kernel's starts at a trailer alone) and compared with what efs.py wrote
rawcat() { dd if="$1" bs=999 status=none; }
mkdir -p "$w/raw/EncDir"
if ntfs-3g -o ro,efs_raw,direct_io "$w/src.img" "$mnt"; then
	for f in $FILES; do
		rawcat "$mnt/$f" >"$w/raw/$f" && efsinfo "$mnt/$f" >"$w/raw/$f.efs"
		python3 "$EFS" raw "$f" | cmp -s - "$w/raw/$f" || bad "src-raw-$f" "not what efs.py wrote"
	done
	efsinfo "$mnt/EncDir" >"$w/raw/EncDir.efs"
	getfattr -e hex -n user.Zone "$mnt/secret-small.txt" 2>/dev/null |
		sed -n 's/^user\.Zone=//p' >"$w/raw/zone"
	umount "$mnt"
else
	bad mount-src-raw "ntfs-3g -o efs_raw,direct_io failed"
fi
# what the test put in: raw sizes 0, 514, 514, 70146, 5122 and a $EFS each
is src-raw-sizes "$(for f in $FILES; do wc -c <"$w/raw/$f"; done | tr '\n' ' ')" \
	"0 514 514 4098 4098 70146 1048578 5122 "
for f in $FILES EncDir; do
	[ -s "$w/raw/$f.efs" ] || bad "src-efsinfo-$f" "the source has no user.ntfs.efsinfo"
done
[ -s "$w/raw/zone" ] || bad src-zone "the source has no encrypted stream Zone"

cp "$w/src.img" "$w/src0.img"

engine() { # SYSRECOVER: everything from the backup on
S=$1
runs=$((${runs:-0} + 1))
T=$w/t$runs.tap
cp "$w/src0.img" "$w/src.img"

# ---- backup ------------------------------------------------------------------------------
out bk "$S" backup -t "$T" "$w/src.img"
has backup-ok "$bk" " 0 failed"
has backup-efs-count "$bk" "encrypted: 8 files stored raw"
exits catalog-read 0 "filemark" "$S" tape "$T" rewind fsf 2 read "$w/catalog"
for f in $FILES; do
	grep -F "/$f" "$w/catalog" | grep -q efs-raw || bad "catalog-efs-raw-$f" "not flagged efs-raw"
done
grep -F "/secret-small.txt:Zone" "$w/catalog" | grep -q efs-raw ||
	bad catalog-efs-raw-stream "the encrypted stream is not flagged efs-raw"
grep -F "/plain.txt" "$w/catalog" | grep -q efs-raw && bad catalog-plain "plain.txt flagged efs-raw"
ok catalog-flags
exits verify 0 "0 bad" "$S" verify -t "$T"

# ---- restore onto a fresh NTFS ----------------------------------------------------------
mkntfs_img "$w/ntfs.img"
exits restore-ntfs 0 "8 encrypted files restored raw" "$S" restore -t "$T" --to "v0=$w/ntfs.img"
check ntfsfix-clean ntfsfix -n "$w/ntfs.img"
if ntfs-3g -o ro,efs_raw,direct_io "$w/ntfs.img" "$mnt"; then
	for f in $FILES; do
		rawcat "$mnt/$f" | cmp -s - "$w/raw/$f" || bad "ntfs-raw-$f" "the raw bytes differ"
		is "ntfs-efsinfo-$f" "$(efsinfo "$mnt/$f")" "$(cat "$w/raw/$f.efs")"
	done
	is ntfs-efsinfo-dir "$(efsinfo "$mnt/EncDir")" "$(cat "$w/raw/EncDir.efs")"
	is ntfs-stream-raw "$(getfattr -e hex -n user.Zone "$mnt/secret-small.txt" 2>/dev/null |
		sed -n 's/^user\.Zone=//p')" "$(cat "$w/raw/zone")"
	umount "$mnt"
else
	bad mount-ntfs-raw "ntfs-3g -o efs_raw failed"
fi
if ntfs-3g -o ro "$w/ntfs.img" "$mnt"; then
	for f in $FILES EncDir; do
		a=$(getfattr -e hex -n system.ntfs_attrib "$mnt/$f" 2>/dev/null |
			sed -n 's/^system\.ntfs_attrib=//p')
		# little-endian le32: 0x4000 is bit 6 of the second byte
		case "$a" in
		0x??[4-7cCdDeEfF]?????) ok "ntfs-encrypted-$f" ;;
		*) bad "ntfs-encrypted-$f" "system.ntfs_attrib is '$a'" ;;
		esac
	done
	refuses ntfs-not-plaintext "Permission denied" cat "$mnt/secret-small.txt"
	umount "$mnt"
else
	bad mount-ntfs "ntfs-3g failed"
fi
out info ntfsinfo -F /secret-multi.bin "$w/ntfs.img"
has ntfsinfo-real-size "$info" "Data size:		 70000"
has ntfsinfo-encrypted "$info" "ENCRYPTED"

# ---- restore onto ext4 -------------------------------------------------------------------
truncate -s 64M "$w/ext.img"
mkfs.ext4 -q -F -b 4096 "$w/ext.img"
exits restore-ext 0 "secret-multi.bin: kept raw: still encrypted" \
	"$S" restore -t "$T" --to "v0=$w/ext.img"
check e2fsck-clean e2fsck -fn "$w/ext.img"
for f in $FILES; do
	debugfs -R "dump /$f $w/ext-$(basename "$f")" "$w/ext.img" >/dev/null 2>&1
	cmp -s "$w/ext-$(basename "$f")" "$w/raw/$f" || bad "ext-raw-$f" "the content is not the raw bytes"
	x=$(debugfs -R "ea_get -x /$f user.ntfs.efsinfo" "$w/ext.img" 2>/dev/null |
		tr -d ' \n' | sed 's/^.*=//')
	is "ext-efsinfo-$f" "0x$x" "$(cat "$w/raw/$f.efs")"
done

# ---- a $EFS stream damaged on tape: refused, target unchanged ----------------------------
hex=$(cat "$w/raw/secret-small.txt.efs")
for how in ddf length fek; do
	cp "$T" "$w/bad.tap"
	check "damage-$how" python3 "$EFS" damage "$w/bad.tap" "$hex" "$how"
	mkntfs_img "$w/bad-ntfs.img"
	cp "$w/bad-ntfs.img" "$w/bad-ntfs.orig"
	exits "refuse-ntfs-$how" 1 "v0/secret-small.txt: damaged encrypted file: its \\\$EFS stream" \
		"$S" restore -t "$w/bad.tap" --to "v0=$w/bad-ntfs.img" v0/secret-small.txt
	check "unchanged-ntfs-$how" cmp "$w/bad-ntfs.img" "$w/bad-ntfs.orig"
	exits "verify-bad-$how" 2 "v0/secret-small.txt: damaged encrypted file" \
		"$S" verify -t "$w/bad.tap"
done
# every other check of the $EFS structure: verify fails the set, naming it
for how in "version:version 0 is not one of 1 to 4" \
	"count:the DDF array holds 1000 key fields, which cannot fit" \
	"cred:a credential of [0-9]+ bytes does not fit its key field" \
	"sid:a SID has revision 2" \
	"overlap:the DDF array .* and the DRF array .* overlap"; do
	cp "$T" "$w/bad2.tap"
	check "damage-${how%%:*}" python3 "$EFS" damage "$w/bad2.tap" "$hex" "${how%%:*}"
	exits "verify-bad-${how%%:*}" 2 "v0/secret-small.txt: damaged encrypted file: .*${how#*:}" \
		"$S" verify -t "$w/bad2.tap"
done
cp "$w/ext.img" "$w/ext.orig"
exits refuse-ext 1 "v0/secret-small.txt: damaged encrypted file" \
	"$S" restore -t "$w/bad.tap" --to "v0=$w/ext.img" v0/secret-small.txt
check unchanged-ext cmp "$w/ext.img" "$w/ext.orig"

# ---- a damaged $EFS stream on the source -------------------------------------------------
if ntfs-3g -o efs_raw "$w/src.img" "$mnt"; then
	check efs-make-damaged python3 "$EFS" make-damaged "$mnt"
	umount "$mnt"
else
	bad mount-src-again "ntfs-3g failed"
fi
exits backup-damaged 1 "/damaged.bin: damaged encrypted file: .*DDF array offset" \
	"$S" backup -t "$T" "$w/src.img"
out list2 "$S" list -t "$T" --set 2
has list-damaged-lost "$list2" "v0/damaged.bin  (lost at backup)"
has list-others-kept "$list2" "v0/secret-multi.bin"
case "$list2" in *"secret-multi.bin  (lost"*) bad list-others-whole "a sound file was lost" ;; *) ok list-others-whole ;; esac
# list names the flag of every encrypted member (the catalog's efs-raw)
line=$(printf '%s\n' "$list2" | grep 'v0/secret-multi\.bin ')
case "$line" in *"[efs-raw"*|*",efs-raw"*) ok list-efs-raw ;; *) bad list-efs-raw "no efs-raw flag on: $line" ;; esac
}

engine "$1"
if [ -n "${2:-}" ] && [ -x "$2" ]; then
	CHECK_PREFIX="asan: " engine "$2"
fi

counts
finish
