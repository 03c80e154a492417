/* bk_efs.h - raw encrypted (EFS) files in a backup (private to
 * recovery/backup).
 *
 * NTFS sources are opened with FS_O_EFS_RAW: an encrypted file reads as its
 * still-encrypted data (padded to 512 plus a le16 trailer, see fs.h) and
 * its $EFS stream is the xattr user.ntfs.efsinfo, which goes into the
 * member's pax xattrs with the others.  Nothing is decrypted, no key is
 * needed.  The member is flagged ARC_M_EFS_RAW, written without a sparse
 * map (the raw size is past the stream's extents) and is never a
 * single-instance candidate: two raw streams with equal bytes are the same
 * ciphertext under two $EFS streams, and the content alone is not the
 * file (a copy would not carry its own key fields). */
#ifndef SYSRECOVER_BK_EFS_H
#define SYSRECOVER_BK_EFS_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "fs.h"

/* Is this object of src an encrypted regular file read raw? */
bool bk_efs_member(struct fs *src, const struct fs_stat *st);

/* Check it before anything of it is written: its $EFS stream (read into
 * buf, cap bytes; unnamed stream only) and its raw size and trailer (the
 * stream `stream`, NULL: the unnamed one, of raw size `size`).  0, or
 * -EBADMSG with "NAME: damaged encrypted file: ..." (ERR_ITEM) in why, or
 * the read's error. */
int bk_efs_check(struct fs *src, const char *path, const char *stream, uint64_t size,
		 void *buf, size_t cap, struct err *why);

#endif
