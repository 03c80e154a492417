/* bk_si.c - the single-instance table: open addressing on the SHA-256 (it
 * is already uniform, so its first 8 bytes are the hash), a second small
 * table of the sizes seen, and the holders' names packed in chunks.  Every
 * byte allocated is counted against the budget. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bk_si.h"

#define SI_CHUNK (256u * 1024)

struct si_ent {
	uint8_t sha[32];
	uint64_t size;
	const char *name;          /* NULL: a free slot */
};

struct si_chunk {
	struct si_chunk *next;
	size_t used;
	char text[SI_CHUNK];
};

struct bk_si {
	size_t budget, spent;
	struct si_ent *ent;        /* a power of two, at most 3/4 full */
	size_t nent, cap;
	uint64_t *sizes;           /* size + 1 (0: a free slot), likewise */
	size_t nsizes, capsizes;
	struct si_chunk *chunks;
	bool full;
};

static uint64_t mix(uint64_t v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdull;
	v ^= v >> 33;
	return v;
}

static uint64_t sha_key(const uint8_t sha[32])
{
	uint64_t k;

	memcpy(&k, sha, sizeof(k));
	return k;
}

/* Room for n bytes more, or false (and the table is full from now on). */
static bool afford(struct bk_si *si, size_t n)
{
	if (si->spent + n > si->budget) {
		si->full = true;
		return false;
	}
	return true;
}

static void put_ent(struct si_ent *t, size_t cap, const struct si_ent *e)
{
	size_t i = (size_t)sha_key(e->sha) & (cap - 1);

	while (t[i].name)
		i = (i + 1) & (cap - 1);
	t[i] = *e;
}

static int grow_ents(struct bk_si *si)
{
	size_t nc = si->cap ? si->cap * 2 : 1024;
	struct si_ent *nt;

	if (!afford(si, nc * sizeof(*nt)))
		return 1;
	nt = calloc(nc, sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	for (size_t i = 0; i < si->cap; i++)
		if (si->ent[i].name)
			put_ent(nt, nc, &si->ent[i]);
	si->spent += nc * sizeof(*nt);
	si->spent -= si->cap * sizeof(*nt);
	free(si->ent);
	si->ent = nt;
	si->cap = nc;
	return 0;
}

static bool put_size(uint64_t *t, size_t cap, uint64_t v)
{
	size_t i = (size_t)mix(v) & (cap - 1);

	while (t[i] && t[i] != v)
		i = (i + 1) & (cap - 1);
	if (t[i])
		return false;
	t[i] = v;
	return true;
}

static int grow_sizes(struct bk_si *si)
{
	size_t nc = si->capsizes ? si->capsizes * 2 : 1024;
	uint64_t *nt;

	if (!afford(si, nc * sizeof(*nt)))
		return 1;
	nt = calloc(nc, sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	for (size_t i = 0; i < si->capsizes; i++)
		if (si->sizes[i])
			put_size(nt, nc, si->sizes[i]);
	si->spent += nc * sizeof(*nt);
	si->spent -= si->capsizes * sizeof(*nt);
	free(si->sizes);
	si->sizes = nt;
	si->capsizes = nc;
	return 0;
}

/* A copy of name in the chunks, or NULL (*rc: 1 over budget, -ENOMEM). */
static const char *keep_name(struct bk_si *si, const char *name, int *rc)
{
	size_t n = strlen(name) + 1;
	struct si_chunk *c = si->chunks;
	char *p;

	*rc = 0;
	if (n > SI_CHUNK) {
		*rc = 1;   /* no name is that long (PATH_MAX): never stored */
		return NULL;
	}
	if (!c || SI_CHUNK - c->used < n) {
		if (!afford(si, sizeof(*c))) {
			*rc = 1;
			return NULL;
		}
		c = malloc(sizeof(*c));
		if (!c) {
			*rc = -ENOMEM;
			return NULL;
		}
		si->spent += sizeof(*c);
		c->used = 0;
		c->next = si->chunks;
		si->chunks = c;
	}
	p = c->text + c->used;
	memcpy(p, name, n);
	c->used += n;
	return p;
}

int bk_si_new(struct bk_si **out, size_t budget)
{
	struct bk_si *si = calloc(1, sizeof(*si));

	*out = si;
	if (!si)
		return -ENOMEM;
	si->budget = budget;
	return 0;
}

void bk_si_free(struct bk_si *si)
{
	if (!si)
		return;
	for (struct si_chunk *c = si->chunks, *n; c; c = n) {
		n = c->next;
		free(c);
	}
	free(si->ent);
	free(si->sizes);
	free(si);
}

bool bk_si_size_known(const struct bk_si *si, uint64_t size)
{
	size_t i;

	if (!si->capsizes)
		return false;
	for (i = (size_t)mix(size + 1) & (si->capsizes - 1); si->sizes[i];
	     i = (i + 1) & (si->capsizes - 1))
		if (si->sizes[i] == size + 1)
			return true;
	return false;
}

const char *bk_si_find(const struct bk_si *si, uint64_t size, const uint8_t sha[32])
{
	size_t i;

	if (!si->cap)
		return NULL;
	for (i = (size_t)sha_key(sha) & (si->cap - 1); si->ent[i].name;
	     i = (i + 1) & (si->cap - 1))
		if (si->ent[i].size == size && !memcmp(si->ent[i].sha, sha, 32))
			return si->ent[i].name;
	return NULL;
}

int bk_si_add(struct bk_si *si, uint64_t size, const uint8_t sha[32], const char *name)
{
	struct si_ent e = { .size = size };
	int rc = 0;

	if (si->full)
		return 1;
	if (bk_si_find(si, size, sha))
		return 0;
	if (4 * (si->nent + 1) > 3 * si->cap)
		rc = grow_ents(si);
	if (rc == 0 && 4 * (si->nsizes + 1) > 3 * si->capsizes)
		rc = grow_sizes(si);
	if (rc == 0 && !(e.name = keep_name(si, name, &rc)))
		return rc;
	if (rc)
		return rc;
	memcpy(e.sha, sha, sizeof(e.sha));
	put_ent(si->ent, si->cap, &e);
	si->nent++;
	si->nsizes += put_size(si->sizes, si->capsizes, size + 1);
	return 0;
}

bool bk_si_full(const struct bk_si *si)
{
	return si->full;
}
