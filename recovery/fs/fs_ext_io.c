/* fs_ext_io.c - a write-back block cache in front of libext2fs's unix_io.
 *
 * unix_io keeps 8 blocks, and flushes them all before any write of more than
 * 4 blocks.  Restoring many small files therefore wrote the same inode-table,
 * bitmap and directory blocks once per file.  This layer holds small reads
 * and writes (metadata) in memory, writes the dirty ones at flush time in
 * block order, one write per contiguous run; large reads and writes (file
 * data) go straight through, and a write refreshes any held copy, so
 * nothing is ever read back stale.
 *
 * Used for every open (a read-only one only ever holds clean blocks);
 * ext2fs_flush2/close2 flush it.  unix_io's own cache is switched off
 * underneath (see cio_open).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "fs_ext_io.h"

#define CIO_SMALL 4              /* writes of up to this many blocks are cached */
#define CIO_MAX_BYTES (64u << 20) /* then everything is written out, dropped */
/* Read-only (a backup walking a volume): clean blocks only, which the page
 * cache also has; a smaller bound keeps a backup of millions of files
 * well inside its memory budget, at a few more reads. */
#define CIO_RO_MAX_BYTES (16u << 20)

struct cio_ent {
	unsigned long long blk;
	char *buf;
	bool dirty;              /* newer than the disk */
};

struct cio {
	io_channel real;
	struct cio_ent *e;       /* held blocks, unsorted; sorted at flush */
	size_t n, cap;
	size_t *slot;            /* open-addressing index: block -> e[] + 1 */
	size_t nslot;
	size_t max;              /* bytes held before everything is dropped */
};

static struct cio *C(io_channel ch)
{
	return ch->private_data;
}

static size_t hash_blk(unsigned long long b, size_t nslot)
{
	return (size_t)((b * 0x9E3779B97F4A7C15ull) >> 20) & (nslot - 1);
}

static struct cio_ent *find(struct cio *c, unsigned long long b)
{
	for (size_t h = hash_blk(b, c->nslot);; h = (h + 1) & (c->nslot - 1)) {
		if (!c->slot[h])
			return NULL;
		if (c->e[c->slot[h] - 1].blk == b)
			return &c->e[c->slot[h] - 1];
	}
}

static void index_put(struct cio *c, size_t i)
{
	size_t h = hash_blk(c->e[i].blk, c->nslot);

	while (c->slot[h])
		h = (h + 1) & (c->nslot - 1);
	c->slot[h] = i + 1;
}

static void drop_all(struct cio *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->e[i].buf);
	c->n = 0;
	if (c->slot)
		memset(c->slot, 0, c->nslot * sizeof(*c->slot));
}

static int by_blk(const void *a, const void *b)
{
	unsigned long long x = ((const struct cio_ent *)a)->blk;
	unsigned long long y = ((const struct cio_ent *)b)->blk;

	return x < y ? -1 : x > y;
}

/* Write every dirty block, in order, one write per contiguous run of
 * dirty blocks; they stay cached, clean. */
static errcode_t write_back(io_channel ch)
{
	struct cio *c = C(ch);
	size_t bs = (size_t)ch->block_size, i = 0;
	errcode_t e = 0;
	char *run = NULL;

	if (!c->n)
		return 0;
	qsort(c->e, c->n, sizeof(*c->e), by_blk);
	/* the index points into e[]: rebuild it */
	memset(c->slot, 0, c->nslot * sizeof(*c->slot));
	for (size_t k = 0; k < c->n; k++)
		index_put(c, k);
	while (!e && i < c->n) {
		size_t j = i + 1;

		if (!c->e[i].dirty) {
			i++;
			continue;
		}
		while (j < c->n && c->e[j].dirty && c->e[j].blk == c->e[j - 1].blk + 1 &&
		       j - i < 256)
			j++;
		run = realloc(run, (j - i) * bs);
		if (!run)
			return EXT2_ET_NO_MEMORY;
		for (size_t k = i; k < j; k++)
			memcpy(run + (k - i) * bs, c->e[k].buf, bs);
		e = io_channel_write_blk64(c->real, c->e[i].blk, (int)(j - i), run);
		for (size_t k = i; !e && k < j; k++)
			c->e[k].dirty = false;
		i = j;
	}
	free(run);
	return e;
}

/* Everything out and forgotten: the memory bound, and before operations
 * that change blocks below this layer (byte writes, discard, zeroout). */
static errcode_t write_back_drop(io_channel ch)
{
	errcode_t e = write_back(ch);

	if (!e)
		drop_all(C(ch));
	return e;
}

static errcode_t grow(struct cio *c)
{
	size_t nc = c->cap ? c->cap * 2 : 1024, ns = nc * 2;
	struct cio_ent *ne = realloc(c->e, nc * sizeof(*ne));
	size_t *nsl;

	if (!ne)
		return EXT2_ET_NO_MEMORY;
	c->e = ne;
	c->cap = nc;
	nsl = calloc(ns, sizeof(*nsl));
	if (!nsl)
		return EXT2_ET_NO_MEMORY;
	free(c->slot);
	c->slot = nsl;
	c->nslot = ns;
	for (size_t i = 0; i < c->n; i++)
		index_put(c, i);
	return 0;
}

/* Hold one block (replacing an older copy): dirty when written, clean
 * when read. */
static errcode_t keep(io_channel ch, unsigned long long b, const char *buf,
		      bool dirty)
{
	struct cio *c = C(ch);
	size_t bs = (size_t)ch->block_size;
	struct cio_ent *x = c->nslot ? find(c, b) : NULL;
	errcode_t e;

	if (x) {
		memcpy(x->buf, buf, bs);
		x->dirty = x->dirty || dirty;
		return 0;
	}
	if ((c->n + 1) * bs > c->max && (e = write_back_drop(ch)))
		return e;
	if (c->n == c->cap && (e = grow(c)))
		return e;
	c->e[c->n].blk = b;
	c->e[c->n].dirty = dirty;
	c->e[c->n].buf = malloc(bs);
	if (!c->e[c->n].buf)
		return EXT2_ET_NO_MEMORY;
	memcpy(c->e[c->n].buf, buf, bs);
	index_put(c, c->n++);
	return 0;
}

/* Cached copies in [blk, blk + count) take the bytes of buf; clean says
 * that the disk has them too (after a write straight through). */
static void refresh(io_channel ch, unsigned long long blk, int count,
		    const char *buf, bool clean)
{
	struct cio *c = C(ch);
	size_t bs = (size_t)ch->block_size;

	for (int i = 0; c->n && i < count; i++) {
		struct cio_ent *x = find(c, blk + (unsigned)i);

		if (x) {
			memcpy(x->buf, buf + (size_t)i * bs, bs);
			if (clean)
				x->dirty = false;
		}
	}
}

static errcode_t cio_write_blk64(io_channel ch, unsigned long long blk,
				 int count, const void *data)
{
	struct cio *c = C(ch);
	size_t bs = (size_t)ch->block_size;
	const char *p = data;
	errcode_t e = 0;

	if (count < 0) {   /* a byte count: rare (superblock); keep it simple */
		e = write_back_drop(ch);
		return e ? e : io_channel_write_blk64(c->real, blk, count, data);
	}
	if (count <= CIO_SMALL) {
		for (int i = 0; !e && i < count; i++)
			e = keep(ch, blk + (unsigned)i, p + (size_t)i * bs, true);
		return e;
	}
	/* file data: straight through.  A cached copy takes the new bytes and
	 * is clean: a block that libext2fs zeroed when it allocated it is then
	 * not written a second time. */
	e = io_channel_write_blk64(c->real, blk, count, data);
	if (!e)
		refresh(ch, blk, count, p, true);
	return e;
}

/* Small reads are answered from the held blocks and held (clean); a large
 * read (file data) goes below, and held blocks, newer than the disk when
 * dirty, are laid over it. */
static errcode_t cio_read_blk64(io_channel ch, unsigned long long blk,
				int count, void *data)
{
	struct cio *c = C(ch);
	size_t bs = (size_t)ch->block_size;
	char *p = data;
	errcode_t e = 0;

	if (count < 0) {
		e = write_back(ch);
		return e ? e : io_channel_read_blk64(c->real, blk, count, data);
	}
	if (count > CIO_SMALL)
		return fs_ext_io_read_data(ch, blk, count, data);
	for (int i = 0; !e && i < count; i++) {
		unsigned long long b = blk + (unsigned)i;
		struct cio_ent *x = c->n ? find(c, b) : NULL;

		if (x) {
			memcpy(p + (size_t)i * bs, x->buf, bs);
			continue;
		}
		e = io_channel_read_blk64(c->real, b, 1, p + (size_t)i * bs);
		if (!e)
			e = keep(ch, b, p + (size_t)i * bs, false);
	}
	return e;
}

errcode_t fs_ext_io_read_data(io_channel ch, unsigned long long blk, int count,
			      void *data)
{
	struct cio *c = C(ch);
	size_t bs = (size_t)ch->block_size;
	char *p = data;
	errcode_t e = io_channel_read_blk64(c->real, blk, count, data);

	for (int i = 0; !e && c->n && i < count; i++) {
		struct cio_ent *x = find(c, blk + (unsigned)i);

		if (x)
			memcpy(p + (size_t)i * bs, x->buf, bs);
	}
	return e;
}

static errcode_t cio_read_blk(io_channel ch, unsigned long blk, int count,
			      void *data)
{
	return cio_read_blk64(ch, blk, count, data);
}

static errcode_t cio_write_blk(io_channel ch, unsigned long blk, int count,
			       const void *data)
{
	return cio_write_blk64(ch, blk, count, data);
}

static errcode_t cio_flush(io_channel ch)
{
	errcode_t e = write_back(ch);

	return e ? e : io_channel_flush(C(ch)->real);
}

static errcode_t cio_set_blksize(io_channel ch, int blksize)
{
	errcode_t e = write_back_drop(ch);

	if (!e)
		e = io_channel_set_blksize(C(ch)->real, blksize);
	if (!e)
		ch->block_size = blksize;
	return e;
}

static errcode_t cio_write_byte(io_channel ch, unsigned long off, int count,
				const void *data)
{
	errcode_t e = write_back_drop(ch);

	return e ? e : io_channel_write_byte(C(ch)->real, off, count, data);
}

/* Options ("offset=N" for a partition inside an image) are unix_io's. */
static errcode_t cio_set_option(io_channel ch, const char *opt, const char *arg)
{
	io_channel r = C(ch)->real;

	return r->manager->set_option ? r->manager->set_option(r, opt, arg)
				      : EXT2_ET_INVALID_ARGUMENT;
}

static errcode_t cio_get_stats(io_channel ch, io_stats *st)
{
	io_channel r = C(ch)->real;

	return r->manager->get_stats ? r->manager->get_stats(r, st)
				     : EXT2_ET_OP_NOT_SUPPORTED;
}

static errcode_t cio_discard(io_channel ch, unsigned long long blk,
			     unsigned long long count)
{
	errcode_t e = write_back_drop(ch);

	return e ? e : io_channel_discard(C(ch)->real, blk, count);
}

static errcode_t cio_zeroout(io_channel ch, unsigned long long blk,
			     unsigned long long count)
{
	errcode_t e = write_back_drop(ch);

	return e ? e : io_channel_zeroout(C(ch)->real, blk, count);
}

static errcode_t cio_close(io_channel ch)
{
	struct cio *c = C(ch);
	errcode_t e = 0;

	if (--ch->refcount > 0)
		return 0;
	e = write_back(ch);
	if (io_channel_close(c->real) && !e)
		e = EXT2_ET_SHORT_WRITE;
	drop_all(c);
	free(c->e);
	free(c->slot);
	free(c);
	free(ch->name);
	free(ch);
	return e;
}

static errcode_t cio_open(const char *name, int flags, io_channel *out);

/* const: libext2fs only reads it (io_manager is a non-const pointer type) */
static const struct struct_io_manager cio_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "sysrecover write-back cache over unix_io",
	.open = cio_open,
	.close = cio_close,
	.set_blksize = cio_set_blksize,
	.read_blk = cio_read_blk,
	.write_blk = cio_write_blk,
	.flush = cio_flush,
	.write_byte = cio_write_byte,
	.set_option = cio_set_option,
	.get_stats = cio_get_stats,
	.read_blk64 = cio_read_blk64,
	.write_blk64 = cio_write_blk64,
	.discard = cio_discard,
	.zeroout = cio_zeroout,
};

io_manager fs_ext_cache_io = (io_manager)&cio_manager;

static errcode_t cio_open(const char *name, int flags, io_channel *out)
{
	io_channel ch = calloc(1, sizeof(*ch));
	struct cio *c = calloc(1, sizeof(*c));
	errcode_t e = EXT2_ET_NO_MEMORY;

	if (!ch || !c || !(ch->name = strdup(name)))
		goto out;
	e = unix_io_manager->open(name, flags, &c->real);
	if (e)
		goto out;
	/* unix_io's own 8-block cache is off: in 1.46/1.47.0-2 a large write
	 * flushes it but keeps its clean blocks (fixed upstream in 1.47.3,
	 * commit 3f148554), so a block read before one of our runs or data
	 * writes covered it was read back stale afterwards: a directory
	 * entry came back after its removal.  This layer holds what is dirty;
	 * clean reads come from the kernel's page cache. */
	e = c->real->manager->set_option(c->real, "cache", "off");
	if (e) {
		io_channel_close(c->real);
		goto out;
	}
	c->max = (flags & IO_FLAG_RW) ? CIO_MAX_BYTES : CIO_RO_MAX_BYTES;
	ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	ch->manager = fs_ext_cache_io;
	ch->block_size = c->real->block_size;
	ch->refcount = 1;
	ch->flags = c->real->flags;
	ch->private_data = c;
	*out = ch;
	return 0;
out:
	if (ch)
		free(ch->name);
	free(ch);
	free(c);
	return e;
}
