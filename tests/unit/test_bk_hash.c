/* test_bk_hash.c - the backup's hashing thread (recovery/backup/bk_hash.c)
 * against nettle's sha256 run here, in this thread, on the same bytes:
 * 3,000 files of random sizes (empty, a few bytes, many small ones that
 * share a buffer, ones that span several buffers), fed in random pieces,
 * some abandoned half-way (bk_hash_drop) and the next file still right;
 * digests fetched late (up to LAG files behind, without waiting when they
 * are ready), so the thread runs ahead and behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <nettle/sha2.h>

#include "bk_hash.h"
#include "harness.h"

#define NFILES 3000u
#define LAG 200u    /* < BK_HASH_KEEP */

static size_t file_size(void)
{
	switch (th_rand() % 6) {
	case 0: return 0;
	case 1: return 1 + th_rand() % 100;
	case 2: case 3: return 100 + th_rand() % 20000;    /* share a buffer */
	case 4: return BK_HASH_BUF - 10 + th_rand() % 20;  /* around one buffer */
	default: return th_rand() % (3 * BK_HASH_BUF);     /* several */
	}
}

struct want {
	size_t off, size;
	bool drop;
	uint64_t ticket;
	uint8_t sha[32];
};

/* Every file's content is a slice of one random pool, its digest made
 * first: the feeding loop then runs at memcpy speed, far ahead of the
 * thread, so a buffer handed out again too early would be overwritten
 * while it is hashed (and a digest be wrong). */
static void plan(struct want *w, const unsigned char *pool, size_t poolsize)
{
	for (unsigned i = 0; i < NFILES; i++) {
		struct sha256_ctx c;

		w[i].size = file_size();
		w[i].off = th_rand() % (poolsize - w[i].size + 1);
		w[i].drop = th_rand() % 20 == 0 && w[i].size > 0;
		sha256_init(&c);
		sha256_update(&c, w[i].size, pool + w[i].off);
		sha256_digest(&c, 32, w[i].sha);
	}
}

/* The file's bytes [0, stop) in random pieces, some reads short. */
static void feed(struct bk_hash *h, const unsigned char *src, size_t size, size_t stop)
{
	for (size_t off = 0; off < stop;) {
		size_t want = 1 + th_rand() % BK_HASH_BUF, n;
		unsigned char *p;

		if (want > size - off)
			want = size - off;
		p = bk_hash_buf(h, want);
		n = want > 1 && th_rand() % 4 == 0 ? want / 2 : want;
		memcpy(p, src + off, n);
		bk_hash_feed(h, n);
		off += n;
	}
}

static void t_digests_match(void **state)
{
	size_t poolsize = 4 * BK_HASH_BUF;
	struct bk_hash *h;
	struct want *w = calloc(NFILES, sizeof(*w));
	unsigned char *pool = malloc(poolsize);
	unsigned done = 0, fetched = 0;
	uint8_t got[32];

	(void)state;
	assert_non_null(w);
	assert_non_null(pool);
	for (size_t k = 0; k < poolsize; k++)
		pool[k] = (unsigned char)th_rand();
	plan(w, pool, poolsize);
	assert_int_equal(bk_hash_new(&h), 0);
	for (unsigned i = 0; i < NFILES; i++) {
		const unsigned char *src = pool + w[i].off;

		if (w[i].drop) {   /* abandoned half-way, then again whole */
			feed(h, src, w[i].size, w[i].size / 2);
			bk_hash_drop(h);
		}
		feed(h, src, w[i].size, w[i].size);
		w[i].ticket = bk_hash_end(h);
		assert_int_equal(w[i].ticket, ++done);
		/* fetch what is ready; never fall LAG files behind */
		while (fetched < done && (done - fetched >= LAG ||
					 bk_hash_result(h, w[fetched].ticket, got, false))) {
			if (done - fetched >= LAG)
				assert_true(bk_hash_result(h, w[fetched].ticket, got, true));
			assert_memory_equal(got, w[fetched].sha, 32);
			fetched++;
		}
	}
	for (; fetched < done; fetched++) {
		assert_true(bk_hash_result(h, w[fetched].ticket, got, true));
		assert_memory_equal(got, w[fetched].sha, 32);
	}
	bk_hash_free(h);
	free(w);
	free(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_digests_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
