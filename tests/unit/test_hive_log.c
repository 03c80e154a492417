/* test_hive_log.c - replay of an old-format ("DIRT") log, built here around
 * an empty hive from tests/lib/mkhive.py (the real HvLE logs are checked by
 * hive_core.sh): applied when it matches, refused with every file untouched
 * and the failure an ERR_REFUSED / ERR_CORRUPT one when it does not. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "hive.h"
#include "le.h"

static char hpath[4096], lpath[4096];
static uint8_t hive[8192];

static void fix_sum(uint8_t *b)
{
	uint32_t x = 0;

	for (int i = 0; i < 508; i += 4)
		x ^= le_get32(b + i);
	le_put32(b + 508, x);
}

static void write_file(const char *p, const void *d, size_t n)
{
	FILE *f = fopen(p, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(d, 1, n, f), n);
	fclose(f);
}

/* A dirty primary and a DIRT log whose one dirty page changes the first
 * hbin's timestamp field (offset 0x14) to 8 x 0xAB. */
static int setup(void **state)
{
	uint8_t log[2048] = { 0 };
	FILE *f;

	(void)state;
	snprintf(hpath, sizeof(hpath), "%s", th_path("H"));
	snprintf(lpath, sizeof(lpath), "%s", th_path("H.LOG1"));
	th_sh("rm -f '%s' '%s'.*", hpath, hpath);
	th_must("python3 tests/lib/mkhive.py '%s'", hpath);
	f = fopen(hpath, "rb");
	assert_non_null(f);
	assert_int_equal(fread(hive, 1, sizeof(hive), f), sizeof(hive));
	fclose(f);
	le_put32(hive + 4, 300), le_put32(hive + 8, 299);
	memset(hive + 12, 0x11, 8);  /* timestamp the log must match */
	fix_sum(hive);
	write_file(hpath, hive, sizeof(hive));
	memcpy(log, hive, 512);
	le_put32(log + 4, 300), le_put32(log + 8, 300), le_put32(log + 28, 1);
	fix_sum(log);
	memcpy(log + 512, "DIRT", 4);
	log[516] = 0x01;                        /* page 0 of 8 */
	memcpy(log + 1024, hive + 4096, 512);  /* dirty pages: next sector */
	memset(log + 1024 + 0x14, 0xab, 8);
	write_file(lpath, log, sizeof(log));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return 0;
}

static void read_file(const char *p, uint8_t *d, size_t n)
{
	FILE *f = fopen(p, "rb");

	assert_non_null(f);
	assert_int_equal(fread(d, 1, n, f), n);
	fclose(f);
}

static void test_dirt_applied(void **state)
{
	struct hive *h = NULL;
	struct err e = { 0 };
	uint8_t out[8192], ab[8];

	(void)state;
	assert_int_equal(hive_open(hpath, HIVE_O_WRITE, &h, &e), 0);
	assert_true(hive_info(h)->dirty);
	assert_true(hive_info(h)->replayed);
	assert_int_equal(hive_info(h)->log_entries, 1);
	assert_int_equal(hive_commit(h, &e), 0);
	hive_close(h);
	read_file(hpath, out, sizeof(out));
	memset(ab, 0xab, 8);
	assert_memory_equal(out + 4096 + 0x14, ab, 8);
	assert_memory_equal(out + 4, out + 8, 4);  /* clean */
	assert_null(fopen(lpath, "rb"));            /* log gone */
}

static void test_mismatch_refused(void **state)
{
	struct hive *h = NULL;
	struct err e = { 0 };
	uint8_t log[2048], log2[2048], out[8192];

	(void)state;
	read_file(lpath, log, sizeof(log));
	memset(log + 12, 0x22, 8);  /* another state of the hive */
	fix_sum(log);
	write_file(lpath, log, sizeof(log));
	assert_int_equal(hive_open(hpath, HIVE_O_WRITE, &h, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "timestamp"));
	assert_non_null(strstr(e.msg, "boot Windows once"));
	assert_int_equal(e.code, ERR_REFUSED);
	assert_int_equal(e.errnum, EBUSY);
	read_file(hpath, out, sizeof(out));
	assert_memory_equal(out, hive, sizeof(hive));
	read_file(lpath, log2, sizeof(log2));
	assert_memory_equal(log, log2, sizeof(log));
	/* Read-only still opens, unreplayed, with a warning. */
	assert_int_equal(hive_open(hpath, 0, &h, &e), 0);
	assert_false(hive_info(h)->replayed);
	assert_non_null(strstr(hive_warning(h), "could not be replayed"));
	assert_int_equal(hive_error(h)->level, ERR_OK);
	hive_close(h);
}

static void test_truncated_log(void **state)
{
	struct hive *h = NULL;
	struct err e = { 0 };
	uint8_t log[2048];

	(void)state;
	read_file(lpath, log, sizeof(log));
	write_file(lpath, log, 1030);  /* dirty page cut short */
	assert_int_equal(hive_open(hpath, HIVE_O_WRITE, &h, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "cut short"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dirt_applied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mismatch_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_log, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
