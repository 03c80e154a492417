/* test_common.c - recovery/common: the error ladder and context, the one
 * UTF-8 rule, UTF-16LE both ways, JSON and terminal-safe names, byte order
 * and growth.  Expected values come from the standards (RFC 3629, RFC
 * 8259) and from Python's codecs, not from this code. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "harness.h"
#include "le.h"
#include "progress.h"
#include "text.h"

static void t_err_set_and_context(void **state)
{
	struct err e = { 0 };
	int rc;

	(void)state;
	rc = err_set(&e, -ENOSPC, "cannot create '%s' on %s: %s", "/Windows/x",
		     "/dev/sda2", strerror(ENOSPC));
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(e.level, ERR_FATAL);
	assert_int_equal(e.code, ERR_SYSTEM);
	assert_int_equal(e.errnum, ENOSPC);
	rc = err_context(&e, "while restoring member %d", 1234);
	assert_int_equal(rc, -ENOSPC);
	assert_string_equal(e.msg, "cannot create '/Windows/x' on /dev/sda2: "
			    "No space left on device (while restoring member 1234)");
	assert_int_equal(err_set(NULL, -EIO, "ignored"), -EIO);
}

static void t_err_ladder_exit_codes(void **state)
{
	struct err e = { 0 };

	(void)state;
	assert_int_equal(err_exit_code(&e), 0);
	err_setc(&e, ERR_WARNING, ERR_SYSTEM, 0, "dirty hive without logs");
	assert_false(err_failed(&e));
	assert_int_equal(err_exit_code(&e), 0);
	err_relevel(&e, ERR_ITEM);
	assert_true(err_failed(&e));
	assert_int_equal(err_exit_code(&e), 1);
	err_setc(&e, ERR_FATAL, ERR_REFUSED, -EBUSY, "mounted");
	assert_int_equal(err_exit_code(&e), 2);
	err_setc(&e, ERR_FATAL, ERR_USAGE, -EINVAL, "bad option");
	assert_int_equal(err_exit_code(&e), 64);
	err_setc(&e, ERR_FATAL, ERR_INTERNAL, -EFAULT, "bug");
	assert_int_equal(err_exit_code(&e), 70);
	/* An EPERM is an operation failure, never a usage error. */
	err_set(&e, -EPERM, "cannot write");
	assert_int_equal(err_exit_code(&e), 2);
	assert_int_equal(err_worse(ERR_ITEM, ERR_WARNING), ERR_ITEM);
	assert_int_equal(err_exit_level(ERR_ITEM), 1);
}

static void t_err_context_truncates_safely(void **state)
{
	struct err e = { 0 };
	char big[600];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	err_set(&e, -EIO, "%s", big);
	err_context(&e, "while x");
	assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
	/* No message yet: the context goes after the errno's text. */
	err_clear(&e);
	e.level = ERR_FATAL, e.errnum = ENOENT;
	err_context(&e, "while y");
	assert_string_equal(e.msg, "No such file or directory (while y)");
}

/* RFC 3629 section 3 and the surrogate / range rules. */
static void t_utf8_rule(void **state)
{
	static const struct { const char *s; size_t n, want; uint32_t cp; } c[] = {
		{ "A", 1, 1, 0x41 },
		{ "\xc3\xa9", 2, 2, 0xe9 },
		{ "\xe2\x82\xac", 3, 3, 0x20ac },
		{ "\xf0\x9f\x98\x80", 4, 4, 0x1f600 },
		{ "\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff },
		{ "\xc0\xaf", 2, 0, 0 },          /* overlong '/' */
		{ "\xe0\x80\xaf", 3, 0, 0 },      /* overlong '/' */
		{ "\xed\xa0\x80", 3, 0, 0 },      /* U+D800 */
		{ "\xf4\x90\x80\x80", 4, 0, 0 },  /* U+110000 */
		{ "\xe2\x82", 2, 0, 0 },          /* truncated */
		{ "\x80", 1, 0, 0 },              /* lone continuation */
		{ "\xf8\x88\x80\x80\x80", 5, 0, 0 },
	};
	uint32_t cp;

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		cp = 0;
		assert_int_equal(text_utf8_seq((const unsigned char *)c[i].s, c[i].n, &cp),
				 c[i].want);
		if (c[i].want)
			assert_int_equal(cp, c[i].cp);
	}
	/* The NUL-terminated form never reads past the NUL. */
	assert_int_equal(text_utf8_len((const unsigned char *)"\xe2\x82"), 0);
	assert_true(text_utf8_valid("gr\xc3\xbc\xc3\x9f", 6));
	assert_false(text_utf8_valid("a\xff", 2));
}

static void t_utf16(void **state)
{
	/* "é😀" in UTF-16LE, as Python's 'é😀'.encode('utf-16-le'). */
	static const uint8_t u16[] = { 0xe9, 0x00, 0x3d, 0xd8, 0x00, 0xde };
	static const uint8_t lone[] = { 0x41, 0x00, 0x3d, 0xd8, 0x42, 0x00 };
	static const uint8_t nul[] = { 0x41, 0x00, 0x00, 0x00, 0x42, 0x00 };
	uint8_t *b;
	size_t n;
	char *s;

	(void)state;
	assert_int_equal(text_utf16le_to_utf8(u16, sizeof(u16), TEXT_STRICT, &s, &n), 0);
	assert_string_equal(s, "\xc3\xa9\xf0\x9f\x98\x80");
	assert_int_equal(n, 6);
	free(s);
	assert_int_equal(text_utf16le_to_utf8(lone, sizeof(lone), TEXT_STRICT, &s, NULL),
			 -EILSEQ);
	assert_int_equal(text_utf16le_to_utf8(lone, sizeof(lone), 0, &s, NULL), 0);
	assert_string_equal(s, "A\xef\xbf\xbd" "B");
	free(s);
	assert_int_equal(text_utf16le_to_utf8(u16, 5, TEXT_STRICT, &s, NULL), -EILSEQ);
	assert_int_equal(text_utf16le_to_utf8(nul, sizeof(nul), TEXT_STOP_AT_NUL, &s, NULL), 0);
	assert_string_equal(s, "A");
	free(s);
	assert_int_equal(text_utf8_to_utf16le("\xc3\xa9\xf0\x9f\x98\x80", 6, true, &b, &n), 0);
	assert_int_equal(n, sizeof(u16) + 2);
	assert_memory_equal(b, u16, sizeof(u16));
	assert_int_equal(b[6] | b[7], 0);
	free(b);
	assert_int_equal(text_utf8_to_utf16le("\xed\xa0\x80", 3, false, &b, &n), -EILSEQ);
}

static void capture(void (*fn)(FILE *, const char *), const char *in, char *out,
		    size_t cap)
{
	FILE *f = fmemopen(out, cap, "w");

	assert_non_null(f);
	fn(f, in);
	fclose(f);
}

static void t_json_and_names(void **state)
{
	char out[128];

	(void)state;
	capture(text_json_str, "a\"b\\c\n\x01\xff\xc3\xa9", out, sizeof(out));
	assert_string_equal(out, "\"a\\\"b\\\\c\\u000a\\u0001\\ufffd\xc3\xa9\"");
	capture(text_name, "a\x1b[2Jb\\\xff\xc2\x9b\xc3\xa9", out, sizeof(out));
	assert_string_equal(out, "a\\x1b[2Jb\\\\xff\\xc2\\x9b\xc3\xa9");
}

static void t_le_and_grow(void **state)
{
	uint8_t b[8];
	int *v = NULL;
	size_t cap = 0;

	(void)state;
	le_put32(b, 0x11223344);
	assert_int_equal(b[0], 0x44);
	assert_int_equal(b[3], 0x11);
	assert_int_equal(le_get32(b), 0x11223344);
	le_put64(b, 0x0102030405060708ull);
	assert_int_equal(b[0], 8);
	assert_true(le_get64(b) == 0x0102030405060708ull);
	le_put16(b + 1, 0xbeef);
	assert_int_equal(le_get16(b + 1), 0xbeef);
	assert_int_equal(buf_grow((void **)&v, &cap, 17, sizeof(*v)), 0);
	assert_int_equal(cap, 32);
	v[16] = 1;
	assert_int_equal(buf_grow((void **)&v, &cap, SIZE_MAX / 2, sizeof(*v)), -ENOMEM);
	assert_int_equal(cap, 32);
	free(v);
}

static void t_buf_and_size(void **state)
{
	struct buf b = { 0 };
	int64_t n;

	(void)state;
	for (int i = 0; i < 1000; i++)
		buf_add(&b, "xy", 2);
	assert_int_equal(b.rc, 0);
	assert_int_equal(b.n, 2000);
	buf_free(&b);
	assert_true(text_parse_size("64k", false, &n) && n == 65536);
	assert_true(text_parse_size("-3", true, &n) && n == -3);
	assert_false(text_parse_size("-3", false, &n));
	assert_false(text_parse_size("9223372036854775807k", false, &n));
	assert_false(text_parse_size("12q", false, &n));
}

static uint64_t fake_ns;
static uint64_t fake_clock(void) { return fake_ns; }

static void t_progress(void **state)
{
	struct progress p;
	char out[512];
	FILE *f;

	(void)state;
	/* Not a terminal and not forced: nothing is drawn. */
	unsetenv("SYSRECOVER_PROGRESS");
	progress_start(&p, "copy-in", 0, 0, 0);
	if (!isatty(STDERR_FILENO))
		assert_false(p.on);
	progress_start(&p, "copy-in", 0, 0, PROGRESS_FORCE | PROGRESS_QUIET);
	assert_false(p.on);

	f = fmemopen(out, sizeof(out), "w");
	assert_non_null(f);
	progress_start(&p, "copy-in", 4ull << 30, 100, PROGRESS_FORCE);
	p.out = f;
	p.clock = fake_clock;
	fake_ns = p.t0 = p.last = 1000000000ull;
	fake_ns += 100000000ull;           /* 0.1 s: too soon to redraw */
	progress_add(&p, 1ull << 30, 10);
	fflush(f);
	assert_int_equal(ftell(f), 0);
	fake_ns += 1900000000ull;          /* 2 s in, a quarter done */
	progress_add(&p, 0, 15);
	progress_end(&p);
	fclose(f);
	/* 1 GiB of 4 in 2 s: 512 MiB/s, 25%, 6 s left; drawn by the add
	 * and once more, kept, by the end. */
#define LINE "\rcopy-in: 1.0 GiB / 4.0 GiB  25 objects  512.0 MiB/s   25%  ETA 0:00:06\033[K"
	assert_string_equal(out, LINE LINE "\n");
#undef LINE
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_err_set_and_context),
		cmocka_unit_test(t_err_ladder_exit_codes),
		cmocka_unit_test(t_err_context_truncates_safely),
		cmocka_unit_test(t_utf8_rule),
		cmocka_unit_test(t_utf16),
		cmocka_unit_test(t_json_and_names),
		cmocka_unit_test(t_le_and_grow),
		cmocka_unit_test(t_buf_and_size),
		cmocka_unit_test(t_progress),
	};

	return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
