/* bk_efs.c - raw encrypted (EFS) files in a backup: which they are, and
 * their structure checked before they go on tape (bk_efs.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "bk_efs.h"

bool bk_efs_member(struct fs *src, const struct fs_stat *st)
{
	return (fs_caps(src) & FS_CAP_EFS_RAW) && S_ISREG(st->mode) &&
	       (st->attrib & FS_FILE_ATTRIBUTE_ENCRYPTED);
}

static int read_fail(struct fs *src, struct err *why, int rc, const char *what,
		     const char *path)
{
	const struct err *fe = fs_error(src);

	if (fe->msg[0]) {
		err_copy(why, fe);
		return rc;
	}
	return err_set(why, rc, "cannot read %s of '%s' on %s: %s", what, path, fs_name(src),
		       strerror(-rc));
}

/* The le16 padding length: the last two bytes of the raw stream. */
static int read_tail(struct fs *src, const char *path, const char *stream, uint64_t size,
		     uint8_t tail[2], struct err *why)
{
	struct fs_file *f = NULL;
	ssize_t n;
	int rc = fs_file_open(src, path, stream, 0, &f);

	if (rc < 0)
		return read_fail(src, why, rc, "the raw data", path);
	n = fs_file_pread(f, tail, 2, size - 2);
	if (n != 2)
		rc = read_fail(src, why, n < 0 ? (int)n : -EIO, "the raw data", path);
	fs_file_close(f);
	return rc;
}

int bk_efs_check(struct fs *src, const char *path, const char *stream, uint64_t size,
		 void *buf, size_t cap, struct err *why)
{
	char name[4200];
	uint8_t tail[2] = { 0, 0 };
	int rc = 0;

	snprintf(name, sizeof(name), "%s%s%s", path, stream ? ":" : "", stream ? stream : "");
	if (!stream) {
		ssize_t n = fs_xattr_get(src, path, FS_EFS_XATTR, buf, cap);

		if (n < 0 && n != -ENODATA)
			return read_fail(src, why, (int)n, "the $EFS stream", path);
		rc = fs_efs_check_info(name, n < 0 ? NULL : buf, n < 0 ? 0 : (size_t)n, why);
	}
	if (rc == 0)
		rc = fs_efs_check_size(name, size, why);
	if (rc == 0 && size)
		rc = read_tail(src, path, stream, size, tail, why);
	if (rc == 0)
		rc = fs_efs_check_trailer(name, size, tail, why);
	return rc;
}
