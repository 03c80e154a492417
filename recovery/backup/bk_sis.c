/* bk_sis.c - SIS links and the common store, as a backup sees them.
 *
 * What is published (Microsoft's SIS backup pages, Backup/sis-*.md): a SIS
 * link is a sparse file, usually with nothing allocated, carrying a reparse
 * point with the tag IO_REPARSE_TAG_SIS (0x80000007) whose data names one
 * file of the volume's common store, the directory "\SIS Common Store";
 * store files are named by a globally unique GUID (observed on real
 * volumes as "GUID.sis"), their content never changes, and a backup must
 * keep the link as it is (its holes, its reparse data exactly) and the
 * store files once.  The layout of the reparse data is NOT published: the
 * pages call it opaque, MS-FSCC 2.1.2.1 says "server-side interpretation
 * only", and the structure found in circulation comes from leaked Windows
 * sources, which we do not use.
 *
 * So the reparse data is never parsed.  ntfs-3g gives it to us as the
 * xattr system.ntfs_reparse_data (the REPARSE_DATA_BUFFER: tag, length,
 * reserved, data), bk.c stores it byte for byte like any other xattr, and
 * the file's own $DATA travels as a sparse member with its holes.  The
 * one thing we do with the bytes: look for the 16-byte binary form
 * (MS-DTYP 2.3.4.1, as Windows stores a GUID) of each store file's name in
 * them.  Exactly one found: that is the store file the link names, and the
 * catalog records it as the link's target.  None or several: no target,
 * and verify then says the link's store file is not in the set.  A random
 * 16-byte match is not a practical risk; a mismatch only costs a target.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "bk_sis.h"
#include "fs.h"
#include "le.h"

#define SIS_TAG 0x80000007u
#define SIS_NAME_MAX 64

struct bk_sis_file {
	uint8_t guid[16];               /* binary, as Windows stores it */
	char name[SIS_NAME_MAX];        /* as on the volume */
};

struct bk_sis {
	struct bk_sis_file *f;
	size_t n, cap;
	int rc;
};

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.sis", braces allowed, any case:
 * the GUID's 16 bytes in Windows' order (the first three groups little
 * endian, the last two as written). */
static bool parse_name(const char *name, uint8_t g[16])
{
	static const int group[5] = { 8, 4, 4, 4, 12 };
	uint8_t b[16];
	const char *p = name;
	size_t k = 0, len = strlen(name);
	bool brace = *p == '{';

	if (len < 4 || strcasecmp(name + len - 4, ".sis"))
		return false;
	p += brace;
	for (int i = 0; i < 5; i++) {
		for (int j = 0; j < group[i]; j += 2, p += 2) {
			int hi = hexval((unsigned char)p[0]), lo = hi < 0 ? -1 : hexval((unsigned char)p[1]);

			if (lo < 0)
				return false;
			b[k++] = (uint8_t)(hi << 4 | lo);
		}
		if (i < 4 && *p++ != '-')
			return false;
	}
	if (brace && *p++ != '}')
		return false;
	if (strcasecmp(p, ".sis"))
		return false;
	le_put32(g, (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
	le_put16(g + 4, (uint16_t)(b[4] << 8 | b[5]));
	le_put16(g + 6, (uint16_t)(b[6] << 8 | b[7]));
	memcpy(g + 8, b + 8, 8);
	return true;
}

static int note(void *arg, const char *name, const struct fs_stat *st)
{
	struct bk_sis *s = arg;
	uint8_t g[16];

	if (!S_ISREG(st->mode) || strlen(name) >= SIS_NAME_MAX || !parse_name(name, g))
		return 0;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 16;
		struct bk_sis_file *nf = realloc(s->f, nc * sizeof(*nf));

		if (!nf) {
			s->rc = -ENOMEM;
			return 1;
		}
		s->f = nf;
		s->cap = nc;
	}
	memcpy(s->f[s->n].guid, g, 16);
	strcpy(s->f[s->n].name, name);
	s->n++;
	return 0;
}

static int guid_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 16);   /* guid is the first member */
}

int bk_sis_scan(struct fs *fs, struct bk_sis **out)
{
	struct bk_sis *s;

	*out = NULL;
	if (!(fs_caps(fs) & FS_CAP_NTFS))
		return 0;
	if (!(s = calloc(1, sizeof(*s))))
		return -ENOMEM;
	/* no store (or it cannot be read): links get no target, and the
	 * store's own files, if any, fail on their own in the walk */
	fs_readdir(fs, BK_SIS_STORE, note, s);
	if (s->rc < 0) {
		int rc = s->rc;

		bk_sis_free(s);
		return rc;
	}
	if (s->n)   /* qsort's base must not be NULL, even for no elements */
		qsort(s->f, s->n, sizeof(*s->f), guid_cmp);   /* looked up per link */
	*out = s;
	return 0;
}

void bk_sis_free(struct bk_sis *s)
{
	if (s) {
		free(s->f);
		free(s);
	}
}

bool bk_sis_in_store(const char *path)
{
	size_t n = strlen(BK_SIS_STORE);

	/* NTFS names are case-insensitive */
	return !strncasecmp(path, BK_SIS_STORE, n) && (path[n] == 0 || path[n] == '/');
}

const char *bk_sis_store_of(const struct bk_sis *s, const void *rp, size_t len, bool *link)
{
	const uint8_t *p = rp;
	const char *found = NULL;

	*link = len >= 8 && le_get32(p) == SIS_TAG;
	if (!*link || !s)
		return NULL;
	/* every 16 bytes of the data (after the 8-byte header) looked up:
	 * at most 16 KiB of reparse data, however large the store */
	for (size_t off = 8; s->n && off + 16 <= len; off++) {
		const struct bk_sis_file *f = bsearch(p + off, s->f, s->n, sizeof(*s->f),
						      guid_cmp);

		if (!f)
			continue;
		if (found && found != f->name)
			return NULL;   /* two store files named: neither */
		found = f->name;
	}
	return found;
}
