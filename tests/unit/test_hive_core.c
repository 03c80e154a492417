/* test_hive_core.c - hive.c, hive_commit.c and hive_pending.c on hives made
 * here: an empty one from tests/lib/mkhive.py, filled through the API or by
 * hivexregedit.  No real Windows data is needed. */
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

#include "harness.h"
#include "hive.h"

static char path[4096];

/* Every test starts from a fresh empty hive H in the scratch directory. */
static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "%s", th_path("H"));
	th_sh("rm -f '%s' '%s'.*", path, path);
	th_must("python3 tests/lib/mkhive.py '%s'", path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return 0;
}

static struct hive *open_w(void)
{
	struct hive *h = NULL;
	struct err e = { 0 };

	assert_int_equal(hive_open(path, HIVE_O_WRITE, &h, &e), 0);
	return h;
}

/* A SYSTEM-like skeleton: Select (Current 2, Default 3) and two sets. */
static void make_system(void)
{
	struct hive *h = open_w();
	struct err e = { 0 };
	hive_key k;

	assert_int_equal(hive_create(h, "Select", &k), 0);
	assert_int_equal(hive_set_dword(h, k, "Current", 2), 0);
	assert_int_equal(hive_set_dword(h, k, "Default", 3), 0);
	assert_int_equal(hive_create(h, "ControlSet002\\Control\\Session Manager", &k), 0);
	assert_int_equal(hive_set_sz(h, k, "Which", "two"), 0);
	assert_int_equal(hive_create(h, "ControlSet003\\Control\\Session Manager", &k), 0);
	assert_int_equal(hive_set_sz(h, k, "Which", "three"), 0);
	assert_int_equal(hive_commit(h, &e), 0);
	hive_close(h);
}

static void test_values_roundtrip(void **state)
{
	struct hive *h = open_w();
	struct err e = { 0 };
	char *s = NULL, **v = NULL;
	char *const ms[] = { "a", "", "Grüße €", NULL };
	uint32_t d;
	hive_key k;

	(void)state;
	assert_int_equal(hive_create(h, "A\\B\\C", &k), 0);
	assert_int_equal(hive_set_sz(h, k, "s", "héllo \xf0\x9f\x98\x80"), 0);
	assert_int_equal(hive_set_dword(h, k, "d", 0xdeadbeef), 0);
	assert_int_equal(hive_set_multi_sz(h, k, "m", ms), 0);
	assert_int_equal(hive_unset(h, k, "d"), 0);
	assert_int_equal(hive_unset(h, k, "d"), -ENOENT);
	assert_int_equal(hive_set_sz(h, k, "bad", "\xff"), -EILSEQ);
	assert_int_equal(hive_commit(h, &e), 0);
	hive_close(h);

	assert_int_equal(hive_open(path, 0, &h, &e), 0);
	assert_false(hive_info(h)->dirty);
	assert_int_equal(hive_lookup(h, "a\\b\\c", &k), 0);  /* any case */
	assert_int_equal(hive_get_sz(h, k, "S", &s), 0);
	assert_string_equal(s, "héllo \xf0\x9f\x98\x80");
	assert_int_equal(hive_get_dword(h, k, "d", &d), -ENOENT);
	assert_int_equal(hive_get_multi_sz(h, k, "m", &v), 0);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "");  /* empty in the middle is kept */
	assert_string_equal(v[2], "Grüße €");
	assert_null(v[3]);
	assert_int_equal(hive_lookup(h, "A\\X", &k), -ENOENT);
	assert_int_equal(hive_error(h)->errnum, ENOENT);
	assert_non_null(strstr(hive_errmsg(h), "no key 'A\\X'"));
	assert_int_equal(hive_create(h, "A\\X", &k), -EROFS);
	assert_int_equal(hive_lookup(h, "A\\B", &k), 0);
	assert_int_equal(hive_error(h)->level, ERR_OK);  /* cleared by success */
	free(s);
	hive_strv_free(v);
	hive_close(h);
}

/* Odd length, no terminator, lone surrogate: read, never overrun. */
static void test_untidy_strings(void **state)
{
	struct hive *h = open_w();
	const uint8_t odd[] = { 'a', 0, 'b', 0, 'c' };
	const uint8_t lone[] = { 0x00, 0xd8, 'x', 0 };
	char *s = NULL;
	hive_key k;

	(void)state;
	assert_int_equal(hive_root(h, &k), 0);
	assert_int_equal(hive_set(h, k, "odd", HIVE_REG_SZ, odd, sizeof(odd)), 0);
	assert_int_equal(hive_set(h, k, "lone", HIVE_REG_SZ, lone, sizeof(lone)), 0);
	assert_int_equal(hive_get_sz(h, k, "odd", &s), 0);
	assert_string_equal(s, "ab");
	free(s);
	assert_int_equal(hive_get_sz(h, k, "lone", &s), 0);
	assert_string_equal(s, "\xef\xbf\xbdx");
	free(s);
	hive_close(h);  /* uncommitted: discarded */
}

static void test_ccs(void **state)
{
	struct hive *h;
	struct err e = { 0 };
	unsigned cur, def;
	char *s = NULL;
	hive_key k;

	(void)state;
	assert_int_equal(hive_open(path, 0, &h, &e), 0);
	assert_int_equal(hive_ccs(h, &cur, &def), 0);
	assert_int_equal(cur, 1);  /* no Select: ControlSet001 */
	hive_close(h);
	make_system();
	assert_int_equal(hive_open(path, 0, &h, &e), 0);
	assert_int_equal(hive_ccs(h, &cur, &def), 0);
	assert_int_equal(cur, 2);
	assert_int_equal(def, 3);
	assert_int_equal(hive_lookup(h, "currentcontrolset\\Control\\Session Manager",
				     &k), 0);
	assert_int_equal(hive_get_sz(h, k, "Which", &s), 0);
	assert_string_equal(s, "two");
	free(s);
	hive_close(h);
}

/* "A" -> "B" (move), "C" -> "" (delete), "*1\??\D" -> "!\??\E" (replace
 * with a prefix); odd: then a source without a target (and without the
 * list terminator, else its target would read as "" = delete). */
static void put_pfro(struct hive *h, hive_key k, const char *name, int odd)
{
	const char *s[] = { "\\??\\C:\\a", "\\??\\C:\\b", "\\??\\C:\\c", "",
			    "*1\\??\\C:\\d", "!\\??\\C:\\e", "\\??\\C:\\f" };
	uint8_t buf[256];
	size_t n = 0, cnt = odd ? 7 : 6;

	for (size_t i = 0; i < cnt; i++) {
		for (const char *p = s[i]; *p; p++)
			buf[n++] = (uint8_t)*p, buf[n++] = 0;
		buf[n++] = 0, buf[n++] = 0;
	}
	if (!odd)
		buf[n++] = 0, buf[n++] = 0;
	assert_int_equal(hive_set(h, k, name, HIVE_REG_MULTI_SZ, buf, n), 0);
}

static void test_pending(void **state)
{
	struct hive *h;
	struct err e = { 0 };
	struct hive_pending_list l;
	char *const se[] = { "C:\\Windows\\System32\\srdelayed.exe \\??\\C:\\q", NULL };
	char **got = NULL, guid[39], *s = NULL;
	hive_key k;

	(void)state;
	make_system();
	h = open_w();
	/* Next boot = Default (3): the ops there count, not those in 2. */
	assert_int_equal(hive_lookup(h, "ControlSet003\\Control\\Session Manager", &k), 0);
	put_pfro(h, k, "PendingFileRenameOperations", 0);
	put_pfro(h, k, "PendingFileRenameOperations2", 1);
	assert_int_equal(hive_setup_execute_set(h, se), 0);
	assert_int_equal(hive_pending_read(h, &l), 0);
	assert_int_equal(l.control_set, 3);
	assert_int_equal(l.n, 6);
	assert_true(l.malformed);
	assert_int_equal(l.ops[0].op, HIVE_PEND_MOVE);
	assert_string_equal(l.ops[0].dst, "\\??\\C:\\b");
	assert_int_equal(l.ops[1].op, HIVE_PEND_DELETE);
	assert_int_equal(l.ops[2].op, HIVE_PEND_REPLACE);
	assert_string_equal(l.ops[2].src, "\\??\\C:\\d");
	assert_string_equal(l.ops[2].src_prefix, "*1");
	assert_string_equal(l.ops[2].dst, "\\??\\C:\\e");
	assert_string_equal(l.ops[2].raw_dst, "!\\??\\C:\\e");
	assert_true(l.ops[5].flags & HIVE_PEND_F_VALUE2);
	hive_pending_free(&l);
	assert_int_equal(hive_pending_clear(h), 0);
	assert_int_equal(hive_set_last_restore_id(h, guid), 0);
	assert_int_equal(hive_commit(h, &e), 0);
	hive_close(h);

	assert_int_equal(hive_open(path, 0, &h, &e), 0);
	assert_int_equal(hive_pending_read(h, &l), 0);
	assert_int_equal(l.n, 0);
	hive_pending_free(&l);
	assert_int_equal(hive_setup_execute_get(h, &got), 0);
	assert_string_equal(got[0], se[0]);
	assert_null(got[1]);
	hive_strv_free(got);
	assert_int_equal(hive_lookup(h, "ControlSet003\\Control\\BackupRestore\\"
				     "SystemStateRestore", &k), 0);
	assert_int_equal(hive_get_sz(h, k, "LastRestoreId", &s), 0);
	assert_string_equal(s, guid);
	free(s);
	hive_close(h);
}

static void test_restore_status(void **state)
{
	struct hive *h = open_w();
	uint32_t v;
	hive_key k;

	(void)state;
	assert_int_equal(hive_restore_status_set(h, 5, 7), 0);
	assert_int_equal(hive_restore_status_set(h, 0, 0), 0);
	assert_int_equal(hive_lookup(h, "Microsoft\\Windows NT\\CurrentVersion\\"
				     "SystemRestore", &k), 0);
	assert_int_equal(hive_get_dword(h, k, "RestoreStatusResult", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(hive_get_dword(h, k, "RestoreStatusDetails", &v), -ENOENT);
	hive_close(h);
}

static int name_cb(void *arg, const char *name, hive_key k)
{
	(void)k;
	(*(int *)arg) += name != NULL;
	return 0;
}

static void test_special_and_errors(void **state)
{
	struct hive *h = NULL;
	struct err e = { 0 };
	hive_key k;
	int n = 0, rc;
	FILE *f;

	(void)state;
	/* Key names with spaces, dots, braces and non-ASCII, by hivexregedit
	 * (th_path's buffer is reused: one name per call). */
	char sp[4200], reg[4200];

	snprintf(sp, sizeof(sp), "%s", th_path("special"));
	snprintf(reg, sizeof(reg), "%s", th_path("special.reg"));
	th_must("cp '%s' '%s' && printf 'Windows Registry Editor Version 5.00\\n\\n"
		"[\\\\with space]\\n\\n[\\\\a.b-c{1}]\\n\\n"
		"[\\\\\\303\\274ml\\303\\244ut]\\n' >'%s' && "
		"hivexregedit --merge '%s' '%s'", path, sp, reg, sp, reg);
	assert_int_equal(hive_open(sp, 0, &h, &e), 0);
	assert_int_equal(hive_root(h, &k), 0);
	assert_int_equal(hive_children(h, k, name_cb, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(hive_lookup(h, "WITH SPACE", &k), 0);
	hive_close(h);
	/* not a hive / bad checksum */
	f = fopen(path, "r+");
	assert_non_null(f);
	fseek(f, 100, SEEK_SET);
	fputc('X', f);
	fclose(f);
	assert_int_equal(hive_open(path, 0, &h, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "bad checksum"));
	assert_int_equal(e.code, ERR_CORRUPT);
	assert_int_equal(e.level, ERR_FATAL);
	rc = hive_open(th_path("missing/H"), 0, &h, &e);
	assert_int_equal(rc, -ENOENT);
	assert_int_equal(e.code, ERR_SYSTEM);
	assert_int_equal(e.errnum, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_values_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untidy_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ccs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_special_and_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
