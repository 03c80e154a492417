/* rs_efs.c - raw encrypted (EFS) files in a restore (rs_impl.h).
 *
 * A member is one when it is a regular file whose pax xattrs hold
 * user.ntfs.efsinfo (the catalog flags it ARC_M_EFS_RAW; the data alone
 * decides, so a set without a catalog is treated the same).  Its data is
 * the raw stream libntfs-3g's efs_raw mode reads (fs.h): written as it is
 * under the temporary name, then its $EFS stream is set, which on an NTFS
 * target opened with FS_O_EFS_RAW strips the trailer, sets the real size
 * and makes the file encrypted: the same file, encrypted the same way.  On
 * any other target the raw bytes are the content and the $EFS stream an
 * xattr: still encrypted, it needs its key on Windows.
 *
 * The $EFS stream and the raw size are checked before anything of the
 * member is written; the trailer (the last two bytes) only once the data
 * is in the temporary file, which is removed when it is wrong.  Named
 * streams of an encrypted file are written raw after it and fixed up when
 * closed (fs_ntfs.c), where libntfs-3g checks their trailer.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <archive_entry.h>

#include "fs.h"
#include "rs_impl.h"

static const void *efs_info(struct archive_entry *ae, size_t *len)
{
	const char *xn;
	const void *xv;
	size_t xl;

	if (archive_entry_filetype(ae) != AE_IFREG || archive_entry_hardlink(ae))
		return NULL;
	archive_entry_xattr_reset(ae);
	while (archive_entry_xattr_next(ae, &xn, &xv, &xl) == ARCHIVE_OK)
		if (!strcmp(xn, FS_EFS_XATTR)) {
			*len = xl;
			return xv;
		}
	return NULL;
}

bool rs_efs_is(struct archive_entry *ae)
{
	size_t len;

	return efs_info(ae, &len) != NULL;
}

int rs_efs_check(struct archive_entry *ae, const char *name, struct err *err)
{
	size_t len = 0;
	const void *info = efs_info(ae, &len);
	int rc;

	if (!info)
		return 0;
	rc = fs_efs_check_info(name, info, len, err);
	if (rc == 0)
		rc = fs_efs_check_size(name, (uint64_t)archive_entry_size(ae), err);
	return rc < 0 ? rc : 1;
}

static int tail_of(struct fs *fs, const char *tmp, uint64_t size, uint8_t tail[2])
{
	struct fs_file *f = NULL;
	int rc = fs_file_open(fs, tmp, NULL, 0, &f);
	ssize_t n = rc == 0 ? fs_file_pread(f, tail, 2, size - 2) : rc;

	if (f)
		fs_file_close(f);
	return n == 2 ? 0 : n < 0 ? (int)n : -EIO;
}

int rs_efs_finish(struct fs *fs, const char *tmp, const char *name, struct archive_entry *ae,
		  struct err *err)
{
	uint64_t size = (uint64_t)archive_entry_size(ae);
	uint8_t tail[2] = { 0, 0 };
	size_t len = 0;
	const void *info = efs_info(ae, &len);
	int rc;

	if (!info)
		return 0;
	rc = rs_efs_check(ae, name, err);
	if (rc >= 0 && size && (rc = tail_of(fs, tmp, size, tail)) < 0)
		return err_set(err, rc, "%s: cannot read back its raw data: %s", name,
			       fs_errmsg(fs)[0] ? fs_errmsg(fs) : strerror(-rc));
	if (rc >= 0)
		rc = fs_efs_check_trailer(name, size, tail, err);
	if (rc < 0)
		return rc;
	rc = fs_xattr_set(fs, tmp, FS_EFS_XATTR, info, len);
	if (rc < 0)   /* without it the raw data is of no use: the file fails */
		return err_set(err, rc, "%s: cannot set its $EFS stream (%s, %zu bytes): %s%s",
			       name, FS_EFS_XATTR, len,
			       fs_errmsg(fs)[0] ? fs_errmsg(fs) : strerror(-rc),
			       rc == -ENOSPC && !(fs_caps(fs) & FS_CAP_NTFS) ?
			       " (an ext volume holds larger xattrs with bigger blocks, "
			       "mkfs.ext4 -b 4096, or -O ea_inode)" : "");
	return 1;
}

int rs_efs_verify(struct archive_entry *ae, const char *name, char *why, size_t cap)
{
	struct err e = { 0 };
	size_t n = strlen(name);
	int rc = rs_efs_check(ae, name, &e);

	if (rc > 0)
		return 0;
	if (rc == 0)
		snprintf(why, cap, "the catalog flags it efs-raw, but it has no $EFS stream (%s)",
			 FS_EFS_XATTR);
	else   /* the message without its leading "NAME: " */
		snprintf(why, cap, "%s", strncmp(e.msg, name, n) || strncmp(e.msg + n, ": ", 2) ?
			 e.msg : e.msg + n + 2);
	return -1;
}
