/* test_hive_rules.c - the pure rule parsers: KeysNotToRestore entries (three
 * forms, absolute prefixes, CurrentControlSet, de-duplication), the
 * FilesNotToBackup entries Microsoft documents and their matcher, and the
 * three MountedDevices value forms (where they are specified: HACKING.md). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hive.h"

static void kntr(const char *entry, enum hive_kntr_form form, bool ccs,
		 const char *key, const char *value)
{
	struct hive_kntr_rule r;
	int rc = hive_kntr_parse("c", entry, &r);

	assert_int_equal(r.form, form);
	if (form == HIVE_KNTR_INVALID) {
		assert_int_equal(rc, -EINVAL);
		assert_non_null(r.why);
	} else {
		assert_int_equal(rc, 0);
		assert_int_equal(r.ccs, ccs);
		assert_string_equal(r.key, key);
		if (value)
			assert_string_equal(r.value, value);
		else
			assert_null(r.value);
	}
	hive_kntr_rule_free(&r);
}

static void test_kntr_forms(void **state)
{
	(void)state;
	kntr("MountedDevices\\", HIVE_KNTR_KEY, false, "MountedDevices", NULL);
	kntr("Disk\\", HIVE_KNTR_KEY, false, "Disk", NULL);
	kntr("CurrentControlSet\\Services\\*", HIVE_KNTR_MERGE, true, "Services", NULL);
	kntr("CurrentControlset\\Control\\Session Manager\\PendingFileRenameOperations",
	     HIVE_KNTR_VALUE, true, "Control\\Session Manager", "PendingFileRenameOperations");
	kntr("Setup\\SystemPartition", HIVE_KNTR_VALUE, false, "Setup", "SystemPartition");
	kntr("CurrentControlSet\\Services\\NTDS\\Restore In Progress\\", HIVE_KNTR_KEY, true,
	     "Services\\NTDS\\Restore In Progress", NULL);
	kntr("HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\*", HIVE_KNTR_MERGE,
	     true, "Services", NULL);
	kntr("hklm\\system\\MountedDevices\\", HIVE_KNTR_KEY, false, "MountedDevices", NULL);
	kntr("  \\MountedDevices\\\\  ", HIVE_KNTR_KEY, false, "MountedDevices", NULL);
	kntr("CurrentControlSet\\", HIVE_KNTR_KEY, true, "", NULL);
	kntr("", HIVE_KNTR_INVALID, false, NULL, NULL);
	kntr("\\", HIVE_KNTR_INVALID, false, NULL, NULL);
	kntr("*", HIVE_KNTR_INVALID, false, NULL, NULL);
	kntr("HKLM\\SYSTEM\\", HIVE_KNTR_INVALID, false, NULL, NULL);
	kntr("HKLM\\SYSTEM\\*", HIVE_KNTR_INVALID, false, NULL, NULL);
	kntr("a\x01" "b\\", HIVE_KNTR_INVALID, false, NULL, NULL);
	/* "HKLM\SYSTEMX" is not the SYSTEM prefix. */
	kntr("HKLM\\SYSTEMX\\Foo\\", HIVE_KNTR_KEY, false, "HKLM\\SYSTEMX\\Foo", NULL);
}

static void test_casecmp(void **state)
{
	(void)state;
	assert_int_equal(hive_name_casecmp("MountedDevices", "mounteddevices"), 0);
	assert_int_equal(hive_name_casecmp("\xc3\x84rger", "\xc3\xa4RGER"), 0);  /* Ä ä */
	assert_int_equal(hive_name_casecmp("\xd0\x96", "\xd0\xb6"), 0);           /* Ж ж */
	assert_true(hive_name_casecmp("a", "b") < 0);
	assert_true(hive_name_casecmp("ab", "a") > 0);
	assert_true(hive_name_casecmp("\xff", "\xfe") != 0);
}

static const struct hive_fntb_env env = {
	.systemroot = "C:\\Windows", .systemroot_src = "default",
	.temp = "%SystemRoot%\\TEMP", .tmp = "%SystemRoot%\\TEMP",
	.programdata = "%SystemDrive%\\ProgramData", .programdata_src = "default",
};

static struct hive_fntb *documented(void)
{
	static const char *const e[] = {
		"\\Pagefile.sys", "\\hiberfil.sys", "%Systemroot%\\CSC\\* /s",
		"\\SIS Common Store\\*.* /s", "%TEMP%\\* /s",
		"C:\\Windows\\system32\\MSDtc\\MSDTC.LOG",
		"C:\\Windows\\system32\\MSDtc\\trace\\dtctrace.log",
		"Temporary Files", "%UserProfile%\\index.dat /s",
		"\\System Volume Information\\FVE.{e40ad34d-dae9-4bc7-95bd-b16218c10f72}.*",
		"\\System Volume Information\\*{3808876B-C176-4e48-B7AE-04046E6CC752} /s",
	};
	struct hive_fntb *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++)
		assert_int_equal(hive_fntb_add(f, "doc", e[i], &env), 0);
	return f;
}

static void match(const struct hive_fntb *f, char drive, const char *path,
		  const char *entry)
{
	const struct hive_fntb_rule *r = hive_fntb_match(f, drive, path);

	if (!entry) {
		if (r)
			fail_msg("%c:%s matched '%s'", drive, path, r->entry);
		return;
	}
	if (!r)
		fail_msg("%c:%s matched nothing, want '%s'", drive, path, entry);
	assert_string_equal(r->entry, entry);
}

/* %ProgramFiles% and its kin expand from what SOFTWARE gives, and stay
 * unresolved (the entry skipped) when it gives nothing: no guess. */
static void test_fntb_programfiles(void **state)
{
	struct hive_fntb_env e = env;
	struct hive_fntb_rule r;
	char why[160];

	(void)state;
	e.programfiles = "D:\\Apps";
	e.programfiles_x86 = "D:\\Apps86";
	e.commonfiles = "%ProgramFiles%\\Common Files";
	assert_int_equal(hive_fntb_parse("c", "%ProgramFiles%\\x\\* /s", &e, &r, why, sizeof(why)), 0);
	assert_string_equal(r.expanded, "D:\\Apps\\x\\* /s");
	assert_true(r.recursive);
	assert_int_equal(r.drive, 'D');
	hive_fntb_rule_free(&r);
	assert_int_equal(hive_fntb_parse("c", "%ProgramFiles(x86)%\\y.log", &e, &r, why, sizeof(why)), 0);
	assert_string_equal(r.dir, "\\Apps86");
	hive_fntb_rule_free(&r);
	assert_int_equal(hive_fntb_parse("c", "%CommonProgramFiles%\\z", &e, &r, why, sizeof(why)), 0);
	assert_string_equal(r.dir, "\\Apps\\Common Files");
	hive_fntb_rule_free(&r);
	assert_int_equal(hive_fntb_parse("c", "%ProgramW6432%\\z", &env, &r, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "ProgramW6432"));
	hive_fntb_rule_free(&r);
}

static void test_fntb_documented(void **state)
{
	struct hive_fntb *f = documented();

	(void)state;
	assert_int_equal(f->n, 9);
	assert_int_equal(f->nskipped, 2);  /* "Temporary Files", %UserProfile% */
	assert_string_equal(f->skipped[0].entry, "Temporary Files");
	assert_non_null(strstr(f->skipped[1].why, "UserProfile"));
	match(f, 'C', "\\pagefile.sys", "\\Pagefile.sys");
	match(f, 'D', "\\PAGEFILE.SYS", "\\Pagefile.sys");
	match(f, 'C', "\\Windows\\pagefile.sys", NULL);
	match(f, 'E', "\\hiberfil.sys", "\\hiberfil.sys");
	match(f, 'C', "\\Windows\\CSC\\v2.0.6\\namespace\\x.txt", "%Systemroot%\\CSC\\* /s");
	match(f, 'C', "\\windows\\csc\\a", "%Systemroot%\\CSC\\* /s");
	match(f, 'D', "\\Windows\\CSC\\a", NULL);  /* %SystemRoot% is on C: */
	match(f, 'C', "\\Windows\\CSCX\\a", NULL);
	match(f, 'C', "\\Windows\\Temp\\sub\\dir\\f.tmp", "%TEMP%\\* /s");
	match(f, 'c', "\\Windows\\system32\\MSDtc\\MSDTC.LOG",
	      "C:\\Windows\\system32\\MSDtc\\MSDTC.LOG");
	match(f, 'C', "\\Windows\\system32\\msdtc\\trace\\DTCTRACE.LOG",
	      "C:\\Windows\\system32\\MSDtc\\trace\\dtctrace.log");
	match(f, 'C', "\\Windows\\system32\\MSDtc\\other.log", NULL);
	/* never the SIS Common Store, whatever the rules say */
	match(f, 'C', "\\SIS Common Store\\0000000000000001.sis", NULL);
	match(f, 'C', "\\sis common store\\MaxIndex", NULL);
	match(f, 'C', "\\System Volume Information\\FVE.{e40ad34d-dae9-4bc7-95bd-b16218c10f72}",
	      "\\System Volume Information\\FVE.{e40ad34d-dae9-4bc7-95bd-b16218c10f72}.*");
	match(f, 'C', "\\System Volume Information\\FVE.{e40ad34d-dae9-4bc7-95bd-b16218c10f72}.1",
	      "\\System Volume Information\\FVE.{e40ad34d-dae9-4bc7-95bd-b16218c10f72}.*");
	match(f, 'C', "\\System Volume Information\\{abc}{3808876b-c176-4e48-b7ae-04046e6cc752}",
	      "\\System Volume Information\\*{3808876B-C176-4e48-B7AE-04046E6CC752} /s");
	match(f, 0, "\\Windows\\Temp\\x", NULL);  /* unknown drive: only \ rules */
	match(f, 0, "\\hiberfil.sys", "\\hiberfil.sys");
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->rules[i].entry, "\\SIS Common Store\\*.* /s"))
			assert_true(f->rules[i].sis);
	hive_fntb_free(f);
}

static void fntb_bad(const char *entry, int want)
{
	struct hive_fntb_rule r;
	char why[160];

	assert_int_equal(hive_fntb_parse("c", entry, &env, &r, why, sizeof(why)), want);
	assert_true(why[0] != '\0');
	hive_fntb_rule_free(&r);
}

static void test_fntb_parse(void **state)
{
	struct hive_fntb_rule r;
	char why[160];

	(void)state;
	assert_int_equal(hive_fntb_parse("c", "%windir%\\softwaredistribution\\*.* /S", &env,
					 &r, why, sizeof(why)), 0);
	assert_int_equal(r.drive, 'C');
	assert_string_equal(r.dir, "\\Windows\\softwaredistribution");
	assert_string_equal(r.pattern, "*.*");
	assert_true(r.recursive);
	hive_fntb_rule_free(&r);
	assert_int_equal(hive_fntb_parse("c", "%ProgramData%\\Microsoft\\RAC\\*", &env,
					 &r, why, sizeof(why)), 0);
	assert_string_equal(r.expanded, "C:\\ProgramData\\Microsoft\\RAC\\*");
	assert_false(r.recursive);
	hive_fntb_rule_free(&r);
	fntb_bad("Temporary Files", -EINVAL);
	fntb_bad("%UserProfile%\\index.dat /s", -ENOENT);
	fntb_bad("%NoSuchVar%\\x", -ENOENT);
	fntb_bad("\\Windows\\*\\x.log", -EINVAL);  /* no wildcards in Path */
	fntb_bad("\\Windows\\", -EINVAL);
	fntb_bad("\\..\\x", -EINVAL);
	fntb_bad("", -EINVAL);
	assert_true(hive_fntb_wildcard("*.*", "noext"));
	assert_true(hive_fntb_wildcard("a?c", "ABC"));
	assert_false(hive_fntb_wildcard("a?c", "abbc"));
	assert_true(hive_fntb_wildcard("*.log", "x.y.LOG"));
	assert_false(hive_fntb_wildcard("*.log", "x.logx"));
}

static void test_md_decode(void **state)
{
	static const uint8_t mbr[12] = { 0xae, 0x46, 0x45, 0xdf, 0, 0, 0x50, 0x1f, 0, 0, 0, 0 };
	static const uint8_t gpt[24] = { 'D', 'M', 'I', 'O', ':', 'I', 'D', ':', 0x21, 0x1f,
		0x93, 0x09, 0xaf, 0x7f, 0xa9, 0x44, 0x81, 0xd8, 0x1e, 0x73, 0xc1, 0x4b, 0x9e, 0xaf };
	static const uint8_t dev[] = { '_', 0, '?', 0, '?', 0, '_', 0, 'U', 0, 'S', 0, 'B', 0 };
	static const uint8_t odd[3] = { 1, 2, 3 };
	static const uint8_t ctl[4] = { 1, 0, 2, 0 };
	struct hive_md_value v;

	(void)state;
	hive_md_decode(mbr, sizeof(mbr), &v);
	assert_int_equal(v.kind, HIVE_MD_MBR);
	assert_int_equal(v.signature, 0xdf4546aeu);
	assert_int_equal(v.offset, 0x1f500000u);
	hive_md_decode(gpt, sizeof(gpt), &v);
	assert_int_equal(v.kind, HIVE_MD_GPT);
	assert_string_equal(v.guid, "09931f21-7faf-44a9-81d8-1e73c14b9eaf");
	hive_md_decode(dev, sizeof(dev), &v);
	assert_int_equal(v.kind, HIVE_MD_DEVICE);
	assert_string_equal(v.device, "_??_USB");
	hive_md_value_free(&v);
	hive_md_decode(odd, sizeof(odd), &v);
	assert_int_equal(v.kind, HIVE_MD_UNKNOWN);
	assert_string_equal(v.text, "unknown (3 bytes) 010203");
	hive_md_decode(ctl, sizeof(ctl), &v);
	assert_int_equal(v.kind, HIVE_MD_UNKNOWN);
	hive_md_decode(NULL, 0, &v);
	assert_int_equal(v.kind, HIVE_MD_UNKNOWN);
}

static void test_md_find(void **state)
{
	struct hive_md_entry e[2] = {
		{ .name = "\\DosDevices\\C:" },
		{ .name = "\\??\\Volume{656b1715-ecf6-11df-92e6-806e6f6e6963}" },
	};

	(void)state;
	assert_ptr_equal(hive_md_find(e, 2, "C:"), &e[0]);
	assert_ptr_equal(hive_md_find(e, 2, "c:"), &e[0]);
	assert_ptr_equal(hive_md_find(e, 2, "\\DosDevices\\C:"), &e[0]);
	assert_ptr_equal(hive_md_find(e, 2, "Volume{656B1715-ECF6-11DF-92E6-806E6F6E6963}"), &e[1]);
	assert_ptr_equal(hive_md_find(e, 2, "\\\\?\\Volume{656b1715-ecf6-11df-92e6-806e6f6e6963}\\"), &e[1]);
	assert_null(hive_md_find(e, 2, "D:"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kntr_forms),
		cmocka_unit_test(test_casecmp),
		cmocka_unit_test(test_fntb_documented),
		cmocka_unit_test(test_fntb_parse),
		cmocka_unit_test(test_fntb_programfiles),
		cmocka_unit_test(test_md_decode),
		cmocka_unit_test(test_md_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
