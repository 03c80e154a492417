/* fs_ntfs_cache.c - a write-back block cache under libntfs-3g.
 *
 * Why: libntfs-3g writes an MFT record each time one attribute of it
 * changes and reads it again on every inode open, one 1 KiB pread or pwrite
 * per call.  Copying 40,000 small files onto NTFS made 1.6 million such
 * system calls; most hit the same few records and index blocks over and over
 * (create, security, data, times, the rename into place).  ntfs-3g under FUSE
 * gets the kernel's page cache for this; we open the image ourselves and get
 * none, so the device layer keeps its own: small requests go through 4 KiB
 * pages held here, large ones (file data) go straight to the file and keep
 * the cached pages they overlap coherent.
 *
 * Ordering: nothing here reorders across a sync.  fs_ntfs.c marks a volume
 * dirty and syncs before its first change, and at close it syncs, then
 * switches the cache off (ntfs_cache_bypass) before it clears the mark, so
 * the mark is cleared only after everything else is on disk, as without the
 * cache.  Between syncs the volume carries the dirty mark, so a kill there
 * leaves a volume that says it needs a check, exactly as before.
 *
 * Memory is bounded (NC_PAGES pages); when every page is in use, the dirty
 * ones are written back in offset order and the cache starts empty again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fs_ntfs_io.h"

#define NC_SHIFT 12
#define NC_PAGE (1u << NC_SHIFT)
#define NC_PAGES 8192u           /* 32 MiB */
#define NC_BUCKETS (NC_PAGES * 2)
#define NC_DIRECT (64u * 1024)   /* larger requests bypass the pages */
#define NC_IOV 256u              /* pages per write-back call */

struct nc_page {
	struct nc_page *next;    /* hash chain */
	uint64_t pno;
	uint32_t len;            /* valid bytes: the last page may be short */
	bool dirty;
	unsigned char data[NC_PAGE];
};

struct ntfs_cache {
	struct nc_page *pool;
	struct nc_page **bucket;
	struct nc_page **order;  /* scratch for write-back in offset order */
	size_t used;
};

static size_t nc_hash(uint64_t pno)
{
	return (size_t)((pno * 0x9E3779B97F4A7C15ull) >> 32) & (NC_BUCKETS - 1);
}

int ntfs_cache_init(struct ntfs_range *r)
{
	struct ntfs_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	c->pool = malloc(NC_PAGES * sizeof(*c->pool));
	c->bucket = calloc(NC_BUCKETS, sizeof(*c->bucket));
	c->order = malloc(NC_PAGES * sizeof(*c->order));
	if (!c->pool || !c->bucket || !c->order) {
		free(c->pool);
		free(c->bucket);
		free(c->order);
		free(c);
		errno = ENOMEM;
		return -1;
	}
	r->cache = c;
	return 0;
}

void ntfs_cache_free(struct ntfs_range *r)
{
	struct ntfs_cache *c = r->cache;

	if (!c)
		return;
	free(c->pool);
	free(c->bucket);
	free(c->order);
	free(c);
	r->cache = NULL;
}

static struct nc_page *nc_find(struct ntfs_cache *c, uint64_t pno)
{
	for (struct nc_page *p = c->bucket[nc_hash(pno)]; p; p = p->next)
		if (p->pno == pno)
			return p;
	return NULL;
}

/* Write all of buf at the volume offset off (pwrite may write less). */
static int nc_put(struct ntfs_range *r, const void *buf, size_t len, uint64_t off)
{
	const unsigned char *b = buf;

	while (len) {
		ssize_t n = pwrite(r->fd, b, len, (off_t)(r->off + off));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		b += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Write the pages v[0..n), adjacent on the volume, with as few calls as
 * pwritev allows; they are not adjacent in memory. */
static int nc_put_run(struct ntfs_range *r, struct nc_page **v, size_t n)
{
	struct iovec iov[NC_IOV];

	while (n) {
		size_t k = n < NC_IOV ? n : NC_IOV, total = 0;
		uint64_t off = v[0]->pno << NC_SHIFT;
		ssize_t w;

		for (size_t i = 0; i < k; i++) {
			iov[i] = (struct iovec){ v[i]->data, v[i]->len };
			total += v[i]->len;
		}
		w = pwritev(r->fd, iov, (int)k, (off_t)(r->off + off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if ((size_t)w < total) {
			/* short: the rest one page at a time, through nc_put's loop */
			for (size_t i = 0; i < k; i++)
				if (nc_put(r, v[i]->data, v[i]->len, v[i]->pno << NC_SHIFT) < 0)
					return -1;
		}
		v += k;
		n -= k;
	}
	return 0;
}

static int nc_cmp(const void *a, const void *b)
{
	uint64_t x = (*(struct nc_page *const *)a)->pno;
	uint64_t y = (*(struct nc_page *const *)b)->pno;

	return x < y ? -1 : x > y;
}

/* Write every dirty page back, in offset order; they stay cached, clean. */
int ntfs_cache_flush(struct ntfs_range *r)
{
	struct ntfs_cache *c = r->cache;
	size_t n = 0;

	if (!c)
		return 0;
	for (size_t i = 0; i < c->used; i++)
		if (c->pool[i].dirty)
			c->order[n++] = &c->pool[i];
	qsort(c->order, n, sizeof(*c->order), nc_cmp);
	/* runs of adjacent pages go out in one call each: a restore dirties
	 * long runs (new MFT records, index blocks, small files' data) */
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && c->order[j]->pno == c->order[j - 1]->pno + 1; j++)
			;
		if (nc_put_run(r, c->order + i, j - i) < 0)
			return -1;
		for (size_t k = i; k < j; k++)
			c->order[k]->dirty = false;
	}
	return 0;
}

/* Every page in use: write back and start again (see the header). */
static int nc_reset(struct ntfs_range *r)
{
	struct ntfs_cache *c = r->cache;

	if (ntfs_cache_flush(r) < 0)
		return -1;
	memset(c->bucket, 0, NC_BUCKETS * sizeof(*c->bucket));
	c->used = 0;
	return 0;
}

/* The page's valid length: the last page of the volume may be short. */
static size_t nc_len(const struct ntfs_range *r, uint64_t pno)
{
	uint64_t off = pno << NC_SHIFT;

	return r->size - off < NC_PAGE ? (size_t)(r->size - off) : NC_PAGE;
}

/* The cached page pno, read from the volume when it is not cached yet --
 * unless the caller is about to overwrite all of it (fill false): reading
 * what is about to be replaced cost a restore one 4 KiB read per page of
 * new data and metadata, and on a sparse image the kernel zero-filled a
 * readahead window for each. */
static struct nc_page *nc_get(struct ntfs_range *r, uint64_t pno, bool fill)
{
	struct ntfs_cache *c = r->cache;
	struct nc_page *p = nc_find(c, pno);
	uint64_t off = pno << NC_SHIFT;
	size_t want = nc_len(r, pno);
	size_t got = fill ? 0 : want;

	if (p)
		return p;
	if (c->used == NC_PAGES && nc_reset(r) < 0)
		return NULL;
	p = &c->pool[c->used];
	while (got < want) {
		ssize_t n = pread(r->fd, p->data + got, want - got,
				  (off_t)(r->off + off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return NULL;
		if (n == 0)  /* a short image: what is not there reads as zeros */
			break;
		got += (size_t)n;
	}
	memset(p->data + got, 0, NC_PAGE - got);
	c->used++;
	p->pno = pno;
	p->len = (uint32_t)want;
	p->dirty = false;
	p->next = c->bucket[nc_hash(pno)];
	c->bucket[nc_hash(pno)] = p;
	return p;
}

/* Dirty pages inside [off, off+len) written back (before a direct read). */
static int nc_flush_range(struct ntfs_range *r, uint64_t off, uint64_t len)
{
	struct ntfs_cache *c = r->cache;

	for (uint64_t pno = off >> NC_SHIFT; pno <= (off + len - 1) >> NC_SHIFT; pno++) {
		struct nc_page *p = nc_find(c, pno);

		if (p && p->dirty) {
			if (nc_put(r, p->data, p->len, pno << NC_SHIFT) < 0)
				return -1;
			p->dirty = false;
		}
	}
	return 0;
}

/* After a direct write: cached pages in its range take the new bytes. */
static void nc_update_range(struct ntfs_range *r, const unsigned char *buf,
			    uint64_t off, uint64_t len)
{
	struct ntfs_cache *c = r->cache;

	for (uint64_t pno = off >> NC_SHIFT; pno <= (off + len - 1) >> NC_SHIFT; pno++) {
		struct nc_page *p = nc_find(c, pno);
		uint64_t ps = pno << NC_SHIFT, a, b;

		if (!p)
			continue;
		a = off > ps ? off : ps;
		b = off + len < ps + p->len ? off + len : ps + p->len;
		if (b > a)
			memcpy(p->data + (a - ps), buf + (a - off), (size_t)(b - a));
	}
}

/* Bytes through the pages: into buf (a read) or out of it (a write, which
 * dirties them).  A short count when a page cannot be read. */
static s64 nc_span(struct ntfs_range *r, unsigned char *buf, uint64_t len, uint64_t off,
		   bool write)
{
	uint64_t done = 0;

	while (done < len) {
		uint64_t pos = off + done, in = pos & (NC_PAGE - 1);
		size_t n = (size_t)(NC_PAGE - in < len - done ? NC_PAGE - in : len - done);
		bool whole = write && in == 0 && n == nc_len(r, pos >> NC_SHIFT);
		struct nc_page *p = nc_get(r, pos >> NC_SHIFT, !whole);

		if (!p)
			return done ? (s64)done : -1;
		if (write) {
			memcpy(p->data + in, buf + done, n);
			p->dirty = true;
		} else {
			memcpy(buf + done, p->data + in, n);
		}
		done += n;
	}
	return (s64)done;
}

/* count bytes at off, already clamped to the volume by the caller. */
s64 ntfs_cache_pread(struct ntfs_range *r, void *buf, s64 count, uint64_t off)
{
	unsigned char *b = buf;
	uint64_t len = (uint64_t)count;

	if (!r->cache || len > NC_DIRECT) {
		if (r->cache && len && nc_flush_range(r, off, len) < 0)
			return -1;
		return pread(r->fd, buf, (size_t)len, (off_t)(r->off + off));
	}
	return nc_span(r, b, len, off, false);
}

s64 ntfs_cache_pwrite(struct ntfs_range *r, const void *buf, s64 count, uint64_t off)
{
	const unsigned char *b = buf;
	uint64_t len = (uint64_t)count;

	if (!r->cache || len > NC_DIRECT) {
		if (nc_put(r, buf, (size_t)len, off) < 0)
			return -1;
		if (r->cache && len)
			nc_update_range(r, buf, off, len);
		return count;
	}
	return nc_span(r, (unsigned char *)b, len, off, true);
}

/* From now on every request goes straight to the file (see the header). */
int ntfs_cache_bypass(struct ntfs_range *r)
{
	if (ntfs_cache_flush(r) < 0)
		return -1;
	ntfs_cache_free(r);
	return 0;
}
