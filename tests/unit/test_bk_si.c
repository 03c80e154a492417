/* test_bk_si.c - the single-instance table (recovery/backup/bk_si.c): every
 * content added is found again by size and SHA-256 (hashes made here with
 * nettle's sha256 from a counter), a size or hash that was never added is
 * not, the first holder's name stays the one found, and the table stops
 * adding at its budget without losing what it holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <nettle/sha2.h>

#include "bk_si.h"

static void content(unsigned i, uint8_t sha[32])
{
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, sizeof(i), (const uint8_t *)&i);
	sha256_digest(&c, 32, sha);
}

static void t_found_again(void **state)
{
	struct bk_si *si;
	uint8_t sha[32];
	char name[64];

	(void)state;
	assert_int_equal(bk_si_new(&si, 64u << 20), 0);
	assert_false(bk_si_size_known(si, 4096));
	for (unsigned i = 0; i < 50000; i++) {
		content(i, sha);
		snprintf(name, sizeof(name), "v0/f%u", i);
		assert_int_equal(bk_si_add(si, 4096 + i % 977, sha, name), 0);
	}
	/* the same content again under another name: the first holder stays */
	content(7, sha);
	assert_int_equal(bk_si_add(si, 4096 + 7, sha, "v1/later"), 0);
	for (unsigned i = 0; i < 50000; i++) {
		content(i, sha);
		snprintf(name, sizeof(name), "v0/f%u", i);
		assert_true(bk_si_size_known(si, 4096 + i % 977));
		assert_string_equal(bk_si_find(si, 4096 + i % 977, sha), name);
		assert_null(bk_si_find(si, 4096 + (i + 1) % 977, sha));  /* other size */
	}
	content(50000, sha);
	assert_null(bk_si_find(si, 4096, sha));
	assert_false(bk_si_size_known(si, 4096 + 977));
	assert_false(bk_si_size_known(si, 0));
	assert_false(bk_si_full(si));
	bk_si_free(si);
}

static void t_budget(void **state)
{
	struct bk_si *si;
	uint8_t sha[32];
	char name[64];
	unsigned added = 0;
	int rc = 0;

	(void)state;
	assert_int_equal(bk_si_new(&si, 1u << 20), 0);
	for (unsigned i = 0; i < 1000000 && rc == 0; i++) {
		content(i, sha);
		snprintf(name, sizeof(name), "v0/%u", i);
		rc = bk_si_add(si, 5000 + i, sha, name);
		added += rc == 0;
	}
	assert_int_equal(rc, 1);
	assert_true(bk_si_full(si));
	assert_true(added > 1000);
	for (unsigned i = 0; i < added; i++) {   /* nothing lost on the way */
		content(i, sha);
		snprintf(name, sizeof(name), "v0/%u", i);
		assert_string_equal(bk_si_find(si, 5000 + i, sha), name);
	}
	content(added, sha);
	assert_null(bk_si_find(si, 5000 + added, sha));
	assert_int_equal(bk_si_add(si, 1, sha, "x"), 1);
	bk_si_free(si);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_found_again),
		cmocka_unit_test(t_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
