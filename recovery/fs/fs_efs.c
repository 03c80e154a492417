/* fs_efs.c - structure checks for raw encrypted (EFS) files, before any
 * byte of one is written.
 *
 * What libntfs-3g's efs_raw mode (vol->efs_raw, our FS_O_EFS_RAW; the
 * `-o efs_raw` mount option of ntfs-3g) exposes, read from its sources
 * (libntfs-3g/attrib.c ntfs_attr_pread_i, efs.c, src/ntfs-3g.c) and seen on
 * a mount:
 *
 *  - Reading the unnamed (or a named) data stream of an encrypted file
 *    gives the still-encrypted clusters, never plaintext, no key needed:
 *    data_size rounded up to 512, then two more bytes that are not on disk:
 *    le16 "padding", the number of bytes the rounding added
 *    (511 - ((data_size - 1) & 511)).  So a raw stream is 0 bytes (an empty
 *    file: stat and read show 0) or 512*k + 2 bytes, and its real size is
 *    raw - 2 - padding, padding <= 511.  An encrypted stream whose
 *    initialized size differs from its data size cannot be read raw
 *    (EINVAL, "uninitialized encrypted file not supported").  A read that
 *    starts at the trailer fails with EIO when the stream ends on a cluster
 *    boundary (libntfs-3g looks for the next cluster): fs_ntfs.c makes
 *    those two bytes itself; on a mount, read such a file with direct_io
 *    in pieces that do not start there.
 *  - user.ntfs.efsinfo (system.ntfs_efsinfo without efs_raw) is the whole
 *    $EFS logged utility stream; libntfs-3g refuses to return one whose
 *    first le32 (its length) is not its size.
 *  - Writing back: create the file, write the raw bytes (the trailer
 *    included) while it is a plain file, then set user.ntfs.efsinfo.
 *    ntfs_set_efs_info refuses an already encrypted file (EEXIST) or a
 *    header length that is not the value's size (EINVAL), adds the $EFS
 *    attribute, and for every data stream (fixup_loop ->
 *    ntfs_efs_fixup_attribute) demands a size of 0 or 512*k + 2, reads the
 *    trailer, refuses a padding over 511 or over the size, truncates the
 *    two trailer bytes off, sets data_size = raw - 2 - padding, makes the
 *    stream non-resident and flags it ATTR_IS_ENCRYPTED; then the file gets
 *    FILE_ATTRIBUTE_ENCRYPTED.  A stream written to a file that is already
 *    encrypted is fixed up the same way when it is closed (ntfs-3g's
 *    release; fs_ntfs.c's file_close).  system.ntfs_attrib cannot set the
 *    encrypted bit (it is not in FILE_ATTR_SETTABLE), so only efsinfo does.
 *
 * This raw form is libntfs-3g's, not MS-EFSR's ("ROBS"/"NTFS"/"GURE"
 * marshalled streams, which only Windows' ReadEncryptedFileRaw makes):
 * what we back up from an unmounted volume and write back to one.
 *
 * The $EFS layout (libntfs-3g include/ntfs-3g/layout.h, EFS_ATTR_HEADER and
 * the DF structures; Microsoft does not document it):
 *   0  le32 length (of the whole stream)   4  le32 state
 *   8  le32 version                        12 le32 crypto API version
 *   16 3 x 16 bytes (GUID, checksums)      64 le32 offset of the DDF array
 *   68 le32 offset of the DRF array (0: none)   72 le32 reserved   (76 bytes)
 * An array: le32 count, then that many fields, each
 *   0 le32 length of the field   4 le32 offset of its credential header
 *   8 le32 size of the encrypted FEK   12 le32 offset of the FEK   16 le32
 * and a credential header: le32 length, le32 offset of a SID (0: none),
 * le32 type, ...  Offsets in a field count from the field's start, in a
 * credential header from the header's.  ntfs.sys is said (layout.h) to
 * crash on a length of 0x54 or less, or over 0x40000.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fs.h"
#include "le.h"

#define EFS_HDR 76u           /* EFS_ATTR_HEADER */
#define EFS_MIN 0x55u         /* ntfs.sys: 0x54 or less crashes it */
#define EFS_MAX 0x40000u
#define EFS_DF_HDR 20u        /* EFS_DF_HEADER */
#define EFS_CRED_MIN 12u      /* cred_length, sid_offset, type */

struct efs_blob {
	const uint8_t *p;
	size_t len;
	char *why;
	size_t cap;
};

static int bad(struct efs_blob *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int bad(struct efs_blob *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->why, b->cap, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/* A SID at off inside a credential of cred bytes (both from the blob's
 * start: cbase): revision 1, at most 15 sub-authorities, all inside. */
static int check_sid(struct efs_blob *b, uint64_t cbase, uint32_t cred, uint32_t off)
{
	uint8_t rev, n;

	if ((uint64_t)off + 8 > cred)
		return bad(b, "a SID offset (%u) is outside its credential of %u bytes",
			   off, cred);
	rev = b->p[cbase + off];
	n = b->p[cbase + off + 1];
	if (rev != 1 || n > 15)
		return bad(b, "a SID has revision %u and %u sub-authorities", (unsigned)rev,
			   (unsigned)n);
	if ((uint64_t)off + 8 + 4u * n > cred)
		return bad(b, "a SID of %u sub-authorities runs past its credential "
			   "(%u bytes)", (unsigned)n, cred);
	return 0;
}

/* One decryption or recovery field at pos (its bytes are inside the blob). */
static int check_df(struct efs_blob *b, uint64_t pos, uint32_t dflen)
{
	const uint8_t *d = b->p + pos;
	uint32_t coff = le_get32(d + 4), fsize = le_get32(d + 8), foff = le_get32(d + 12);
	uint32_t clen, sid;

	if (fsize == 0 || foff < EFS_DF_HDR || (uint64_t)foff + fsize > dflen)
		return bad(b, "a key field's encrypted key (%u bytes at %u) is not "
			   "inside the field", fsize, foff);
	if (coff < EFS_DF_HDR || (uint64_t)coff + EFS_CRED_MIN > dflen)
		return bad(b, "a key field's credential offset %u is not inside the field "
			   "of %u bytes", coff, dflen);
	clen = le_get32(d + coff);
	sid = le_get32(d + coff + 4);
	if (clen < EFS_CRED_MIN || (uint64_t)coff + clen > dflen)
		return bad(b, "a credential of %u bytes does not fit its key field of "
			   "%u bytes", clen, dflen);
	return sid ? check_sid(b, pos + coff, clen, sid) : 0;
}

/* The array at off: count >= 1 fields, each inside the blob; its end in *end. */
static int check_array(struct efs_blob *b, const char *which, uint32_t off, uint64_t *end)
{
	uint64_t pos = (uint64_t)off + 4;
	uint32_t n;
	int rc = 0;

	if (off < EFS_HDR || pos > b->len)
		return bad(b, "the %s array offset %u is outside the stream of %zu bytes",
			   which, off, b->len);
	n = le_get32(b->p + off);
	if (n == 0 || n > (b->len - pos) / EFS_DF_HDR)
		return bad(b, "the %s array holds %u key fields, which cannot fit in "
			   "%llu bytes", which, n, (unsigned long long)(b->len - pos));
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		uint32_t dflen;

		if (pos + EFS_DF_HDR > b->len)
			return bad(b, "%s key field %u starts %llu bytes before the end",
				   which, i, (unsigned long long)(b->len - pos));
		dflen = le_get32(b->p + pos);
		if (dflen < EFS_DF_HDR || pos + dflen > b->len)
			return bad(b, "%s key field %u has %u bytes, but %llu are left", which,
				   i, dflen, (unsigned long long)(b->len - pos));
		rc = check_df(b, pos, dflen);
		pos += dflen;
	}
	*end = pos;
	return rc;
}

static int check_info(struct efs_blob *b)
{
	uint32_t ver, ddf, drf;
	uint64_t ddf_end = 0, drf_end = 0;
	int rc;

	if (b->len < EFS_MIN || b->len > EFS_MAX)
		return bad(b, "its size, %zu bytes, is not %u to %u", b->len, EFS_MIN, EFS_MAX);
	if (le_get32(b->p) != b->len)
		return bad(b, "its header says %u bytes, it has %zu", le_get32(b->p), b->len);
	ver = le_get32(b->p + 8);
	if (ver < 1 || ver > 4)
		return bad(b, "version %u is not one of 1 to 4", ver);
	ddf = le_get32(b->p + 64);
	drf = le_get32(b->p + 68);
	if (!ddf)
		return bad(b, "it has no data decryption field (DDF)");
	rc = check_array(b, "DDF", ddf, &ddf_end);
	if (rc == 0 && drf)
		rc = check_array(b, "DRF", drf, &drf_end);
	if (rc == 0 && drf && drf < ddf_end && ddf < drf_end)
		rc = bad(b, "the DDF array (at %u) and the DRF array (at %u) overlap",
			 ddf, drf);
	return rc;
}

int fs_efs_check_info(const char *name, const void *blob, size_t len, struct err *err)
{
	char why[200];
	struct efs_blob b = { .p = blob, .len = len, .why = why, .cap = sizeof(why) };
	int rc = blob ? check_info(&b) : bad(&b, "it is missing");

	if (rc < 0)
		return err_setc(err, ERR_ITEM, ERR_CORRUPT, rc, "%s: damaged encrypted file: "
				"its $EFS stream (%s) is not sound: %s", name, FS_EFS_XATTR, why);
	return 0;
}

int fs_efs_check_size(const char *name, uint64_t size, struct err *err)
{
	if (size != 0 && (size & 511) != 2)
		return err_setc(err, ERR_ITEM, ERR_CORRUPT, -EBADMSG, "%s: damaged encrypted "
				"file: its raw data has %llu bytes, not 0 or a multiple of 512 "
				"plus 2", name, (unsigned long long)size);
	return 0;
}

int fs_efs_check_trailer(const char *name, uint64_t size, const uint8_t tail[2],
			 struct err *err)
{
	unsigned pad = le_get16(tail);
	int rc = fs_efs_check_size(name, size, err);

	if (rc == 0 && size && (pad > 511 || pad > size - 2))
		rc = err_setc(err, ERR_ITEM, ERR_CORRUPT, -EBADMSG, "%s: damaged encrypted "
			      "file: the padding length in its raw data's last two bytes is %u "
			      "(at most 511 and the %llu bytes before it)", name, pad,
			      (unsigned long long)(size - 2));
	return rc;
}

uint64_t fs_efs_real_size(uint64_t size, const uint8_t tail[2])
{
	return size < 2 ? 0 : size - 2 - le_get16(tail);
}
