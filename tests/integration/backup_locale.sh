#!/bin/sh
# backup_locale.sh - a set does not depend on the caller's locale.  libarchive
# converts names between a pax header's UTF-8 and LC_CTYPE, and libntfs-3g
# sets the locale from $LANG when an NTFS volume is opened: before
# sysrecover fixed its own locale, a set with an NTFS volume written from a
# UTF-8 shell could not be restored at all (exit 2, "Pathname can't be
# converted from UTF-8 to current locale"), and the same tree gave different
# sets under LANG=C and LANG=C.UTF-8.  Names are checked as bytes through the
# kernel (a read-only loop mount) against the names this script made: UTF-8
# names on ext4 and NTFS, and a Latin-1 byte (not UTF-8) on ext4.
#   backup_locale.sh SYSRECOVER [SYSRECOVER_ASAN]
set -u
. "$(dirname "$0")/../lib/check.sh"
workdir bkloc
need mkfs.ext4 mkntfs ntfs-3g
S=$1
U8=$(printf 'gr\303\274\303\237e-\346\227\245\346\234\254')   # grüße-日本
L1=$(printf 'lat\351n')                                     # not UTF-8
N8=$(printf '\303\261and\303\272-\342\202\254')               # ñandú-€

mkdir "$w/t" && echo x >"$w/t/$U8" && echo y >"$w/t/$L1" || bad setup "cannot make the names"
mke2fs -q -t ext4 -d "$w/t" "$w/e.img" 16M || bad setup "mke2fs"
truncate -s 16M "$w/n.img" && mkntfs -Q -F -q "$w/n.img" >/dev/null 2>&1 || bad setup "mkntfs"
if ntfs-3g "$w/n.img" "$mnt"; then
	echo z >"$mnt/$N8"
	umount "$mnt"
else
	bad setup "ntfs-3g mount"
fi

# names, one a line, sorted as bytes
names() { (cd "$1" && LC_ALL=C ls -A | grep -a -v '^lost+found$' | LC_ALL=C sort); }
want_e=$(printf '%s\n%s\n' "$U8" "$L1" | LC_ALL=C sort)

for wl in C C.UTF-8; do
	exits "backup-LANG=$wl" 0 "0 failed" env -u LC_ALL LANG=$wl "$S" backup -t "$w/$wl.tap" "$w/e.img" "$w/n.img"
	"$S" tape "$w/$wl.tap" rewind fsf 1 read "$w/$wl.tar" >/dev/null 2>&1 || bad "read-data-$wl" "tape read"
done
check same-data-whatever-LANG cmp "$w/C.tar" "$w/C.UTF-8.tar"

for wl in C C.UTF-8; do
	for rl in C C.UTF-8; do
		n="written-LANG=$wl-read-LANG=$rl"
		truncate -s 16M "$w/oe.img" "$w/on.img"
		mkfs.ext4 -q -F "$w/oe.img" && mkfs.ext4 -q -F "$w/on.img" || bad "$n-mkfs" mkfs
		exits "$n" 0 "; 0 failed, 0 refused" env -u LC_ALL LANG=$rl \
			"$S" restore -t "$w/$wl.tap" --to "v0=$w/oe.img" --to "v1=$w/on.img"
		if mount -o ro,loop "$w/oe.img" "$mnt"; then
			is "$n-ext-names" "$(names "$mnt")" "$want_e"
			umount "$mnt"
		else
			bad "$n-ext-mount" "cannot mount"
		fi
		if mount -o ro,loop "$w/on.img" "$mnt"; then
			is "$n-ntfs-names" "$(names "$mnt")" "$N8"
			umount "$mnt"
		else
			bad "$n-ntfs-mount" "cannot mount"
		fi
	done
done
# Where C.UTF-8 is not installed (a bare initramfs: here an empty directory
# over /usr/lib/locale, in a mount namespace of the restore's own), the C
# locale: a name libarchive cannot convert is kept as its bytes, not refused.
mkdir -p "$w/nolocale"
truncate -s 16M "$w/oe.img" "$w/on.img"
mkfs.ext4 -q -F "$w/oe.img" && mkfs.ext4 -q -F "$w/on.img" || bad "no-locale-mkfs" mkfs
exits no-C.UTF-8-restore 0 "; 0 failed, 0 refused" unshare -m --propagation private sh -c \
	'mount --bind "$1" /usr/lib/locale && [ -z "$(ls -A /usr/lib/locale)" ] && shift && exec "$@"' \
	sh "$w/nolocale" env LANG=C.UTF-8 "$S" restore -t "$w/C.UTF-8.tap" --to "v0=$w/oe.img" --to "v1=$w/on.img"
if mount -o ro,loop "$w/oe.img" "$mnt"; then
	is no-C.UTF-8-ext-names "$(names "$mnt")" "$want_e"
	umount "$mnt"
fi
if mount -o ro,loop "$w/on.img" "$mnt"; then
	is no-C.UTF-8-ntfs-names "$(names "$mnt")" "$N8"
	umount "$mnt"
fi

# GNU tar sees the UTF-8 names as UTF-8 (only the Latin-1 one goes as bytes)
out list tar -tf "$w/C.tar"
has tar-utf8-name "$list" "v0/$U8"
has tar-ntfs-name "$list" "v1/$N8"
finish
