/* tape_mem.c - a virtual tape in memory, for unit tests and `mem:` self-tests. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tape_impl.h"

struct mem_store {
	uint8_t *buf[TAPE_V_MAX_PARTS];
	size_t len[TAPE_V_MAX_PARTS], cap[TAPE_V_MAX_PARTS];
	unsigned n;
};

static ssize_t mem_pread(void *s, unsigned part, void *buf, size_t n,
			 uint64_t off)
{
	struct mem_store *m = s;

	if (off >= m->len[part])
		return 0;
	if (n > m->len[part] - off)
		n = m->len[part] - (size_t)off;
	memcpy(buf, m->buf[part] + off, n);
	return (ssize_t)n;
}

static int mem_reserve(struct mem_store *m, unsigned part, size_t need)
{
	size_t nc = m->cap[part] ? m->cap[part] : 4096;
	uint8_t *nb;

	if (need <= m->cap[part])
		return 0;
	while (nc < need)
		nc *= 2;
	nb = realloc(m->buf[part], nc);
	if (!nb)
		return -ENOMEM;
	m->buf[part] = nb;
	m->cap[part] = nc;
	return 0;
}

static int mem_pwritev(void *s, unsigned part, const struct iovec *iov, int cnt,
		       uint64_t off)
{
	struct mem_store *m = s;
	size_t total = 0;
	int rc;

	for (int i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	rc = mem_reserve(m, part, (size_t)off + total);
	if (rc < 0)
		return rc;
	if (off > m->len[part])
		memset(m->buf[part] + m->len[part], 0, (size_t)off - m->len[part]);
	for (int i = 0; i < cnt; i++) {
		memcpy(m->buf[part] + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	if (off > m->len[part])
		m->len[part] = (size_t)off;
	return 0;
}

static int mem_truncate(void *s, unsigned part, uint64_t size)
{
	struct mem_store *m = s;

	if (size < m->len[part])
		m->len[part] = (size_t)size;
	return 0;
}

static int mem_size(void *s, unsigned part, uint64_t *size)
{
	*size = ((struct mem_store *)s)->len[part];
	return 0;
}

static int mem_set_parts(void *s, unsigned n)
{
	struct mem_store *m = s;

	for (unsigned i = 0; i < TAPE_V_MAX_PARTS; i++)
		m->len[i] = 0;
	m->n = n;
	return 0;
}

static unsigned mem_parts(void *s)
{
	return ((struct mem_store *)s)->n;
}

static int mem_sync(void *s)
{
	(void)s;
	return 0;
}

static int mem_close(void *s, const struct tape_vstate *st)
{
	struct mem_store *m = s;

	(void)st;  /* nothing outlives the process */
	for (unsigned i = 0; i < TAPE_V_MAX_PARTS; i++)
		free(m->buf[i]);
	free(m);
	return 0;
}

static const struct tape_vstore_ops mem_ops = {
	.pread = mem_pread,
	.pwritev = mem_pwritev,
	.truncate = mem_truncate,
	.size = mem_size,
	.set_parts = mem_set_parts,
	.parts = mem_parts,
	.sync = mem_sync,
	.close = mem_close,
};

int tape_open_mem(const struct tape_vopts *vo, struct tape **out)
{
	struct mem_store *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->n = 1;
	return tape_virt_open("mem", "mem:", &mem_ops, m, vo, NULL, out, NULL, 0);
}
