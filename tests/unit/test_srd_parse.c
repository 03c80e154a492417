/* test_srd_parse.c - the srdelayed queue parsers and writer (the formats
 * are in srd.h; the documents they come from in HACKING.md): every record type, the doc's own examples with their defects,
 * the malformed cases (each a clear error, nothing returned), %20,
 * volume-GUID paths, the native form, and byte preservation by the writer.
 * Expected bytes are built here from the spec with a tiny UTF-16LE encoder,
 * never by the writer under test. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "harness.h"
#include "srd.h"

/* ASCII with embedded NULs (a string literal, its length) -> UTF-16LE. */
struct u16 {
	uint8_t b[4096];
	size_t n;
};

static void u16_add(struct u16 *u, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_true(u->n + 2 <= sizeof(u->b));
		u->b[u->n++] = (uint8_t)s[i];
		u->b[u->n++] = 0;
	}
}
#define U16(u, lit) u16_add((u), (lit), sizeof(lit) - 1)

#define GUID "{0a1b2c3d-4e5f-6789-abcd-ef0123456789}"
#define GUID_UP "{0A1B2C3D-4E5F-6789-ABCD-EF0123456789}"

static void parse_ok(const void *d, size_t n, enum srd_form f, struct srd_queue *q)
{
	struct err err = { 0 };
	int rc = srd_parse(d, n, f, q, NULL, &err);

	if (rc != 0)
		fail_msg("unexpected error: %s", err.msg);
}

/* Malformed: -EINVAL, nothing returned, the message names the place. */
static void parse_bad(const void *d, size_t n, enum srd_form f, size_t rec,
		      size_t off, const char *want)
{
	struct srd_queue q;
	struct srd_pos pos;
	struct err err = { 0 };
	char where[64];

	assert_int_equal(srd_parse(d, n, f, &q, &pos, &err), -EINVAL);
	assert_int_equal(err.code, ERR_CORRUPT);
	assert_int_equal(err.level, ERR_FATAL);
	assert_int_equal(q.n, 0);
	assert_null(q.rec);
	assert_null(q.bytes);
	if (f == SRD_FORM_WINDOWS) {
		snprintf(where, sizeof(where), "record %zu at byte %zu: ", rec, off);
		assert_int_equal(pos.record, rec);
	} else {
		snprintf(where, sizeof(where), "line %zu at byte %zu: ", rec, off);
		assert_int_equal(pos.line, rec);
	}
	if (pos.offset != off)
		fail_msg("offset %zu, want %zu: %s", pos.offset, off, err.msg);
	if (strncmp(err.msg, where, strlen(where)) || !strstr(err.msg, want))
		fail_msg("got \"%s\", want \"%s...%s...\"", err.msg, where, want);
}

static void test_doc_examples(void **state)
{
	struct u16 u = { .n = 0 };
	struct srd_queue q;

	(void)state;
	/* the srdelayed documentation's three examples, in one file */
	U16(&u, "MoveFile\0\\??\\C:\\Stage\\a.dll\0\\??\\C:\\temp\\a.dll\0NotExecuted\0");
	U16(&u, "DeleteFile\0Unused\0\\??\\C:\\temp\\b.dll\0NotExecuted\0");
	U16(&u, "SetFileShortName\0ShortN~1.dll\0\\??\\C:\\temp\\ShortFileName.dll\0NotExecuted\0");
	U16(&u, "\0");
	parse_ok(u.b, u.n, SRD_FORM_WINDOWS, &q);
	assert_int_equal(q.n, 3);
	assert_int_equal(q.rec[0].op, SRD_OP_MOVE);
	assert_int_equal(q.rec[0].path.vol, SRD_VOL_DRIVE);
	assert_int_equal(q.rec[0].path.drive, 'C');
	assert_string_equal(q.rec[0].path.path, "/Stage/a.dll");
	assert_string_equal(q.rec[0].dst.path, "/temp/a.dll");
	assert_int_equal(q.rec[0].path.flags, 0);
	assert_int_equal(q.rec[0].status, SRD_ST_NOT_EXECUTED);
	assert_int_equal(q.rec[0].index, 1);
	assert_int_equal(q.rec[0].offset, 0);
	/* "MoveFile\0" 9 + "\??\C:\Stage\a.dll\0" 19 + "\??\C:\temp\a.dll\0" 18 units */
	assert_int_equal(q.rec[0].f4_offset, 2 * (9 + 19 + 18));
	assert_int_equal(q.rec[0].f4_len, 22);
	assert_int_equal(q.rec[1].op, SRD_OP_DELETE);
	assert_string_equal(q.rec[1].arg, "Unused");
	assert_string_equal(q.rec[1].path.path, "/temp/b.dll");
	assert_null(q.rec[1].dst.path);
	assert_int_equal(q.rec[1].offset, 2 * (9 + 19 + 18 + 12));
	assert_int_equal(q.rec[2].op, SRD_OP_SHORTNAME);
	assert_string_equal(q.rec[2].arg, "ShortN~1.dll");
	assert_string_equal(q.rec[2].path.path, "/temp/ShortFileName.dll");
	assert_string_equal(q.rec[2].field[2], "\\??\\C:\\temp\\ShortFileName.dll");
	assert_int_equal(q.rec[2].index, 3);
	assert_false(q.bom);
	assert_int_equal(q.len, u.n);
	assert_memory_equal(q.bytes, u.b, u.n);
	srd_queue_free(&q);
}

/* The doc's defects: trailing '\' on the volume-GUID examples, and
 * "\??\C:Program%20Files\a.dll" without the '\' after "C:". */
static void test_doc_defects(void **state)
{
	struct u16 u = { .n = 0 };
	struct srd_queue q;

	(void)state;
	U16(&u, "DeleteFile\0Unused\0\\??\\Volume" GUID_UP "\\temp\\b.dll\\\0NotExecuted\0");
	U16(&u, "SetFileShortName\0ShortN~1.dll\0\\??\\Volume" GUID "\\temp\\ShortFileName.dll\\\0NotExecuted\0");
	U16(&u, "MoveFile\0\\??\\C:Program%20Files\\a.dll\0\\??\\c:\\Program Files\\b.dll\0NotExecuted\0");
	U16(&u, "\0");
	parse_ok(u.b, u.n, SRD_FORM_WINDOWS, &q);
	assert_int_equal(q.n, 3);
	assert_int_equal(q.rec[0].path.vol, SRD_VOL_GUID);
	assert_string_equal(q.rec[0].path.volume, GUID);
	assert_string_equal(q.rec[0].path.path, "/temp/b.dll");
	assert_int_equal(q.rec[0].path.flags, SRD_PATH_TRAILING_SEP);
	assert_string_equal(q.rec[1].path.volume, GUID);
	assert_string_equal(q.rec[1].path.path, "/temp/ShortFileName.dll");
	assert_int_equal(q.rec[2].path.drive, 'C');
	assert_string_equal(q.rec[2].path.path, "/Program Files/a.dll");
	assert_int_equal(q.rec[2].path.flags, SRD_PATH_NO_ROOT_SEP | SRD_PATH_ESCAPES);
	assert_int_equal(q.rec[2].dst.drive, 'C');  /* lowercase drive, literal space */
	assert_string_equal(q.rec[2].dst.path, "/Program Files/b.dll");
	srd_queue_free(&q);
}

static void test_status_forms(void **state)
{
	struct u16 u = { .n = 0 };
	struct srd_queue q;

	(void)state;
	U16(&u, "DeleteFile\0Unused\0\\??\\C:\\a\0SC=00000000\0");
	U16(&u, "DeleteFile\0Unused\0\\??\\C:\\b\0SC=8007002\0");  /* the doc's 7 x's */
	U16(&u, "SetFileShortName\0\0\\??\\C:\\c\0SC=b7\0");         /* empty: remove */
	U16(&u, "\0");
	parse_ok(u.b, u.n, SRD_FORM_WINDOWS, &q);
	assert_int_equal(q.n, 3);
	assert_int_equal(q.rec[0].status, SRD_ST_DONE);
	assert_int_equal(q.rec[0].sc, 0);
	assert_int_equal(q.rec[1].sc, 0x8007002);
	assert_int_equal(q.rec[2].sc, 0xb7);
	assert_string_equal(q.rec[2].arg, "");
	srd_queue_free(&q);
}

static void test_bom_and_empty(void **state)
{
	struct u16 u = { .n = 2, .b = { 0xff, 0xfe } };
	struct srd_queue q;
	static const uint8_t empty[2] = { 0, 0 };

	(void)state;
	U16(&u, "DeleteFile\0Unused\0\\??\\C:\\a\0NotExecuted\0\0");
	parse_ok(u.b, u.n, SRD_FORM_WINDOWS, &q);
	assert_true(q.bom);
	assert_int_equal(q.n, 1);
	assert_int_equal(q.rec[0].offset, 2);
	srd_queue_free(&q);
	parse_ok(empty, 2, SRD_FORM_WINDOWS, &q);
	assert_int_equal(q.n, 0);
	srd_queue_free(&q);
}

static void test_non_ascii(void **state)
{
	/* "\??\C:\é\😀" with é = U+00E9 and U+1F600 as a surrogate pair */
	struct u16 u = { .n = 0 };
	struct srd_queue q;
	static const uint8_t tail[] = { 0xe9, 0, '\\', 0, 0x3d, 0xd8, 0x00, 0xde, 0, 0 };

	(void)state;
	U16(&u, "DeleteFile\0Unused\0\\??\\C:\\");
	memcpy(u.b + u.n, tail, sizeof(tail));
	u.n += sizeof(tail);
	U16(&u, "NotExecuted\0\0");
	parse_ok(u.b, u.n, SRD_FORM_WINDOWS, &q);
	assert_string_equal(q.rec[0].path.path, "/\xc3\xa9/\xf0\x9f\x98\x80");
	srd_queue_free(&q);
}

static void test_malformed_windows(void **state)
{
	struct u16 u;
	const size_t rec1 = 2 * (11 + 7 + 9 + 12);  /* the first record's size */

	(void)state;
#define ONE "DeleteFile\0Unused\0\\??\\C:\\a\0NotExecuted\0"
	/* 3 fields: the empty "fourth" is the final NUL */
	u.n = 0; U16(&u, ONE "MoveFile\0\\??\\C:\\a\0\\??\\C:\\b\0\0");
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 2, rec1, "3 fields, a record needs 4");
	/* 3 fields and not even the final NUL */
	u.n = 0; U16(&u, "MoveFile\0\\??\\C:\\a\0\\??\\C:\\b\0");
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 1, u.n, "3 fields");
	/* missing final NUL */
	u.n = 0; U16(&u, ONE);
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 2, rec1, "without the final NUL");
	/* odd byte length */
	u.n = 0; U16(&u, ONE "\0");
	u.b[u.n++] = 'x';
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 2, u.n - 1, "odd file length");
	u.n = 0; U16(&u, ONE "Delete");
	u.b[u.n++] = 'F';
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 2, u.n - 1, "odd file length (91 bytes)");
	/* unknown operation: the brief's own message */
	u.n = 0; U16(&u, ONE ONE "movefile\0\\??\\C:\\a\0\\??\\C:\\b\0NotExecuted\0\0");
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 3, 2 * rec1,
		  "unknown operation 'movefile' (operations are case-sensitive: MoveFile, DeleteFile, SetFileShortName)");
	/* bad prefixes */
	u.n = 0; U16(&u, "DeleteFile\0Unused\0\\\\?\\C:\\a\0NotExecuted\0\0");
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 1, 0, "field 3 '\\\\?\\C:\\a': bad path prefix '\\\\?\\'");
	u.n = 0; U16(&u, "DeleteFile\0Unused\0C:\\a\0NotExecuted\0\0");
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 1, 0, "bad path prefix");
	u.n = 0; U16(&u, "MoveFile\0\\DosDevices\\C:\\a\0\\??\\C:\\b\0NotExecuted\0\0");
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 1, 0, "field 2");
	u.n = 0; U16(&u, "DeleteFile\0Unused\0*1\\??\\C:\\a\0NotExecuted\0\0");
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 1, 0, "bad path prefix");
	u.n = 0; U16(&u, "DeleteFile\0Unused\0\\??\\UNC\\srv\\share\\a\0NotExecuted\0\0");
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 1, 0, "network share");
	u.n = 0; U16(&u, "DeleteFile\0Unused\0\\??\\Volume{0a1b2c3d}\\a\0NotExecuted\0\0");
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 1, 0, "bad volume GUID");
	/* .. escaping the volume, directly and after decoding */
	u.n = 0; U16(&u, ONE "MoveFile\0\\??\\C:\\a\\..\\..\\Windows\\x\0\\??\\C:\\b\0NotExecuted\0\0");
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 2, rec1, "'..' climbs above the root");
	u.n = 0; U16(&u, "DeleteFile\0Unused\0\\??\\C:\\%2E%2E\\x\0NotExecuted\0\0");
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 1, 0, "'..' climbs above the root");
	/* %XX that would make a separator, '/' inside a name, the root */
	u.n = 0; U16(&u, "DeleteFile\0Unused\0\\??\\C:\\a%5C..\\x\0NotExecuted\0\0");
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 1, 0, "'%5C' decodes to a byte not allowed");
	u.n = 0; U16(&u, "DeleteFile\0Unused\0\\??\\C:\\a/b\0NotExecuted\0\0");
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 1, 0, "'/' in a name");
	u.n = 0; U16(&u, "DeleteFile\0Unused\0\\??\\C:\\\0NotExecuted\0\0");
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 1, 0, "names the root");
	/* empty path, bad status, unterminated field, data after the end */
	u.n = 0; U16(&u, "MoveFile\0\0\\??\\C:\\b\0NotExecuted\0\0");
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 1, 0, "field 2 is empty");
	u.n = 0; U16(&u, "DeleteFile\0Unused\0\\??\\C:\\a\0notexecuted\0\0");
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 1, 0, "unknown status 'notexecuted'");
	u.n = 0; U16(&u, "DeleteFile\0Unused\0\\??\\C:\\a\0SC=123456789\0\0");
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 1, 0, "unknown status");
	u.n = 0; U16(&u, "DeleteFile\0Unused\0\\??\\C:\\a");
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 1, 36, "field 3 is not NUL-terminated");
	u.n = 0; U16(&u, ONE "\0" ONE "\0");
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 2, rec1 + 2, "80 bytes after the final NUL");
	/* a lone surrogate */
	u.n = 0; U16(&u, "DeleteFile\0Unused\0\\??\\C:\\");
	u.b[u.n++] = 0x00, u.b[u.n++] = 0xd8;
	U16(&u, "\0NotExecuted\0\0");
	parse_bad(u.b, u.n, SRD_FORM_WINDOWS, 1, 36, "unpaired UTF-16 surrogate");
	/* empty file */
	parse_bad(u.b, 0, SRD_FORM_WINDOWS, 1, 0, "without the final NUL");
#undef ONE
}

static void path_nt(const char *s, unsigned opts, enum srd_vol vol, const char *want,
		    unsigned flags)
{
	struct srd_path p;
	char why[200];

	if (srd_path_nt(s, opts, &p, why, sizeof(why)) != 0)
		fail_msg("%s: %s", s, why);
	assert_int_equal(p.vol, vol);
	assert_string_equal(p.path, want);
	assert_int_equal(p.flags, flags);
	srd_path_free(&p);
}

static void path_nt_bad(const char *s, unsigned opts, const char *want)
{
	struct srd_path p;
	char why[200];

	assert_int_equal(srd_path_nt(s, opts, &p, why, sizeof(why)), -EINVAL);
	assert_null(p.path);
	assert_null(p.volume);
	if (!strstr(why, want))
		fail_msg("%s: got \"%s\", want \"%s\"", s, why, want);
}

static void test_path_normaliser(void **state)
{
	struct srd_path p;
	char why[200];

	(void)state;
	path_nt("\\??\\C:\\a\\.\\b\\\\c\\..\\d", 0, SRD_VOL_DRIVE, "/a/b/d", SRD_PATH_DOTS);
	path_nt("\\??\\C:\\a\\b\\..\\..\\c", 0, SRD_VOL_DRIVE, "/c", SRD_PATH_DOTS);
	path_nt("\\??\\C:\\a%20b", 0, SRD_VOL_DRIVE, "/a%20b", 0);  /* no decoding asked */
	path_nt("\\??\\C:\\a%20b%2", SRD_NT_ESCAPES, SRD_VOL_DRIVE, "/a b%2", SRD_PATH_ESCAPES);
	path_nt("\\??\\C:\\100%\\x%zz", SRD_NT_ESCAPES, SRD_VOL_DRIVE, "/100%/x%zz", 0);
	path_nt("\\??\\Volume" GUID "\\x", 0, SRD_VOL_GUID, "/x", 0);
	path_nt_bad("\\??\\C:\\a%2Fb", SRD_NT_ESCAPES, "'%2F' decodes");
	path_nt_bad("\\??\\C:\\a%00b", SRD_NT_ESCAPES, "'%00' decodes");
	path_nt_bad("\\??\\C:\\a%C3%A9", SRD_NT_ESCAPES, "'%C3' decodes");
	path_nt_bad("\\??\\C:\\..", 0, "climbs above");
	path_nt_bad("\\??\\C:", 0, "names the root");
	path_nt_bad("\\??\\Volume" GUID, 0, "names the root");
	path_nt_bad("\\??\\Volume" GUID "x", 0, "no '\\' after");
	path_nt_bad("\\??\\GLOBALROOT\\Device\\HarddiskVolume1\\x", 0, "bad path prefix");
	path_nt_bad("\\??\\CD:\\x", 0, "bad path prefix");
	path_nt_bad("!\\??\\C:\\x", 0, "bad path prefix");
	/* PendingFileRenameOperations strings: "*1" and '!' prefixes, literal '%' */
	assert_int_equal(srd_path_nt("*1!\\??\\c:\\dst\\a%20b", SRD_NT_PENDING, &p, why, sizeof(why)), 0);
	assert_int_equal(p.drive, 'C');
	assert_string_equal(p.prefix, "*1");
	assert_string_equal(p.path, "/dst/a%20b");
	assert_int_equal(p.flags, SRD_PATH_REPLACE);
	srd_path_free(&p);
	assert_int_equal(srd_path_nt("\\??\\C:\\x", SRD_NT_PENDING, &p, why, sizeof(why)), 0);
	assert_string_equal(p.prefix, "");
	assert_int_equal(p.flags, 0);
	srd_path_free(&p);
	path_nt_bad("*1x\\??\\C:\\x", SRD_NT_PENDING, "'x' before");
	path_nt_bad("123456789\\??\\C:\\x", SRD_NT_PENDING, "bad path prefix");
}

static void test_native(void **state)
{
	static const char text[] =
		"# sysrecover srdelayed queue\n"
		"MoveFile\tUUID=0a1b-2c3d:/etc/new.conf\tUUID=0a1b-2c3d:/etc/app.conf\tNotExecuted\n"
		"\n"
		"DeleteFile\tUnused\t/var/tmp/a%09b%25c\tSC=00000002\r\n"
		"SetFileShortName\tAPP~1.CON\tLABEL=root:/etc/app.conf/\tNotExecuted\n"
		"DeleteFile\tUnused\tPARTUUID=5e-01:/x/./y/../z\tNotExecuted\n";
	struct srd_queue q;

	(void)state;
	parse_ok(text, sizeof(text) - 1, SRD_FORM_NATIVE, &q);
	assert_int_equal(q.n, 4);
	assert_int_equal(q.rec[0].op, SRD_OP_MOVE);
	assert_int_equal(q.rec[0].line, 2);
	assert_int_equal(q.rec[0].offset, 29);
	assert_int_equal(q.rec[0].path.vol, SRD_VOL_SPEC);
	assert_string_equal(q.rec[0].path.volume, "UUID=0a1b-2c3d");
	assert_string_equal(q.rec[0].path.path, "/etc/new.conf");
	assert_string_equal(q.rec[0].dst.path, "/etc/app.conf");
	assert_int_equal(q.rec[1].line, 4);
	assert_int_equal(q.rec[1].index, 2);
	assert_int_equal(q.rec[1].path.vol, SRD_VOL_SELF);
	assert_null(q.rec[1].path.volume);
	assert_string_equal(q.rec[1].path.path, "/var/tmp/a\tb%c");
	assert_int_equal(q.rec[1].status, SRD_ST_DONE);
	assert_int_equal(q.rec[1].sc, 2);
	assert_int_equal(q.rec[1].f4_len, 11);  /* the CR is not part of field 4 */
	assert_memory_equal(text + q.rec[1].f4_offset, "SC=00000002\r\n", 13);
	assert_string_equal(q.rec[2].path.volume, "LABEL=root");
	assert_int_equal(q.rec[2].path.flags, SRD_PATH_TRAILING_SEP);
	assert_string_equal(q.rec[2].arg, "APP~1.CON");
	assert_string_equal(q.rec[3].path.volume, "PARTUUID=5e-01");
	assert_string_equal(q.rec[3].path.path, "/x/z");
	srd_queue_free(&q);
	parse_ok("", 0, SRD_FORM_NATIVE, &q);
	assert_int_equal(q.n, 0);
	srd_queue_free(&q);
}

static void test_malformed_native(void **state)
{
#define L1 "DeleteFile\tUnused\t/a\tNotExecuted\n"   /* 33 bytes */
	static const char three[] = L1 "MoveFile\t/a\t/b\n";
	static const char five[] = L1 L1 "MoveFile\t/a\t/b\tNotExecuted\tx\n";
	static const char nonl[] = L1 "DeleteFile\tUnused\t/a\tNotExecuted";
	static const char op[] = "# c\n" "deletefile\tUnused\t/a\tNotExecuted\n";
	static const char dots[] = L1 "DeleteFile\tUnused\tUUID=1:/a/../../b\tNotExecuted\n";
	static const char pfx[] = "DeleteFile\tUnused\tC:/a\tNotExecuted\n";
	static const char spec[] = "DeleteFile\tUnused\tUUID=1:a\tNotExecuted\n";
	static const char utf[] = "DeleteFile\tUnused\t/a\xff\tNotExecuted\n";
	static const char ctl[] = "DeleteFile\tUnused\t/a\rb\tNotExecuted\n";
	static const char nul[] = "DeleteFile\tUnused\t/a\0b\tNotExecuted\n";

	(void)state;
	parse_bad(three, sizeof(three) - 1, SRD_FORM_NATIVE, 2, 33, "3 fields, a record needs 4");
	parse_bad(five, sizeof(five) - 1, SRD_FORM_NATIVE, 3, 66, "5 fields");
	parse_bad(nonl, sizeof(nonl) - 1, SRD_FORM_NATIVE, 2, sizeof(nonl) - 1, "does not end in a newline");
	parse_bad(op, sizeof(op) - 1, SRD_FORM_NATIVE, 2, 4, "unknown operation 'deletefile' (operations are case-sensitive");
	parse_bad(dots, sizeof(dots) - 1, SRD_FORM_NATIVE, 2, 33, "climbs above the root");
	parse_bad(pfx, sizeof(pfx) - 1, SRD_FORM_NATIVE, 1, 0, "a native path is /path, UUID=");
	parse_bad(spec, sizeof(spec) - 1, SRD_FORM_NATIVE, 1, 0, "expected UUID=<value>:/path");
	parse_bad(utf, sizeof(utf) - 1, SRD_FORM_NATIVE, 1, 20, "not UTF-8");
	parse_bad(ctl, sizeof(ctl) - 1, SRD_FORM_NATIVE, 1, 20, "control byte 0x0d");
	parse_bad(nul, sizeof(nul) - 1, SRD_FORM_NATIVE, 1, 20, "control byte 0x00");
#undef L1
}

/* Status write-back: only field 4 changes; hand-built expectation. */
static void test_write_status_windows(void **state)
{
	struct u16 in = { .n = 2, .b = { 0xff, 0xfe } }, want = { .n = 2, .b = { 0xff, 0xfe } };
	struct srd_queue q;
	struct err err = { 0 };
	uint8_t *out;
	size_t len;

	(void)state;
	U16(&in, "MoveFile\0\\??\\C:\\Stage\\a.dll\0\\??\\C:\\temp\\a.dll\0NotExecuted\0");
	U16(&in, "DeleteFile\0Unused\0\\??\\C:Program%20Files\\b.dll\\\0SC=1\0");
	U16(&in, "SetFileShortName\0ShortN~1.dll\0\\??\\C:\\temp\\ShortFileName.dll\0SC=b7\0");
	U16(&in, "DeleteFile\0Unused\0\\??\\C:\\c\0NotExecuted\0\0");
	parse_ok(in.b, in.n, SRD_FORM_WINDOWS, &q);
	q.rec[0].status = SRD_ST_DONE, q.rec[0].sc = 0;          /* same length */
	q.rec[1].sc = 0x80070005;                                 /* 4 -> 11 units */
	q.rec[2].sc = 0xb7;                                       /* unchanged: kept as "SC=b7" */
	U16(&want, "MoveFile\0\\??\\C:\\Stage\\a.dll\0\\??\\C:\\temp\\a.dll\0SC=00000000\0");
	U16(&want, "DeleteFile\0Unused\0\\??\\C:Program%20Files\\b.dll\\\0SC=80070005\0");
	U16(&want, "SetFileShortName\0ShortN~1.dll\0\\??\\C:\\temp\\ShortFileName.dll\0SC=b7\0");
	U16(&want, "DeleteFile\0Unused\0\\??\\C:\\c\0NotExecuted\0\0");
	assert_int_equal(srd_write(&q, NULL, 0, &out, &len, &err), 0);
	assert_int_equal(len, want.n);
	assert_memory_equal(out, want.b, want.n);
	free(out);
	/* in-place patch bytes for the apply engine */
	{
		uint8_t b[24];
		struct u16 sc = { .n = 0 };

		U16(&sc, "SC=0000007B");
		assert_int_equal(srd_status_bytes(SRD_FORM_WINDOWS, SRD_ST_DONE, 0x7b, b), 22);
		assert_memory_equal(b, sc.b, 22);
		assert_int_equal(srd_status_bytes(SRD_FORM_NATIVE, SRD_ST_NOT_EXECUTED, 0, b), 11);
		assert_memory_equal(b, "NotExecuted", 11);
	}
	srd_queue_free(&q);
}

static void test_write_status_native(void **state)
{
	static const char in[] =
		"# keep me\n"
		"MoveFile\t/a\t/b\tNotExecuted\r\n"
		"DeleteFile\tUnused\t/c\tSC=1\n"
		"DeleteFile\tUnused\t/d\tNotExecuted\n";
	static const char want[] =
		"# keep me\n"
		"MoveFile\t/a\t/b\tSC=00000000\r\n"
		"DeleteFile\tUnused\t/c\tSC=00000091\n"
		"DeleteFile\tUnused\t/d\tNotExecuted\n";
	struct srd_queue q;
	struct err err = { 0 };
	uint8_t *out;
	size_t len;

	(void)state;
	parse_ok(in, sizeof(in) - 1, SRD_FORM_NATIVE, &q);
	q.rec[0].status = SRD_ST_DONE;
	q.rec[1].sc = 0x91;
	assert_int_equal(srd_write(&q, NULL, 0, &out, &len, &err), 0);
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(out, want, len);
	free(out);
	srd_queue_free(&q);
}

static void mkpath(const char *nt, unsigned opts, struct srd_path *p)
{
	char why[200];

	if (srd_path_nt(nt, opts, p, why, sizeof(why)))
		fail_msg("%s: %s", nt, why);
}

/* `srdelayed add`: a new Windows file, and appending to a native one. */
static void test_write_add(void **state)
{
	struct srd_record r[3];
	struct srd_queue q;
	struct err err = { 0 };
	struct u16 want = { .n = 0 };
	uint8_t *out;
	size_t len;
	char why[200], *f;

	(void)state;
	memset(r, 0, sizeof(r));
	r[0].op = SRD_OP_MOVE;
	mkpath("\\??\\C:\\Stage\\a b%41.dll", 0, &r[0].path);
	mkpath("\\??\\Volume" GUID_UP "\\temp\\a.dll", 0, &r[0].dst);
	r[1].op = SRD_OP_DELETE;
	mkpath("\\??\\d:\\x\\", 0, &r[1].path);
	r[2].op = SRD_OP_SHORTNAME;
	r[2].arg = (char *)"SHORTN~1.DLL";
	mkpath("\\??\\C:\\temp\\ShortFileName.dll", 0, &r[2].path);
	assert_int_equal(srd_queue_init(&q, SRD_FORM_WINDOWS), 0);
	assert_int_equal(srd_write(&q, r, 3, &out, &len, &err), 0);
	U16(&want, "MoveFile\0\\??\\C:\\Stage\\a%20b%2541.dll\0\\??\\Volume" GUID "\\temp\\a.dll\0NotExecuted\0");
	U16(&want, "DeleteFile\0Unused\0\\??\\D:\\x\0NotExecuted\0");
	U16(&want, "SetFileShortName\0SHORTN~1.DLL\0\\??\\C:\\temp\\ShortFileName.dll\0NotExecuted\0\0");
	assert_int_equal(len, want.n);
	assert_memory_equal(out, want.b, want.n);
	free(out);
	srd_queue_free(&q);
	/* a path of the other form cannot be written */
	assert_int_equal(srd_queue_init(&q, SRD_FORM_NATIVE), 0);
	assert_int_equal(srd_write(&q, r, 1, &out, &len, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "new record 1: field 2: the path cannot be written in the native form"));
	srd_queue_free(&q);
	for (int i = 0; i < 3; i++)
		srd_path_free(&r[i].path), srd_path_free(&r[i].dst);

	/* native: appended after the existing lines, every old byte kept */
	{
		static const char in[] = "# q\nDeleteFile\tUnused\t/a\tSC=0\n";
		static const char exp[] = "# q\nDeleteFile\tUnused\t/a\tSC=0\n"
			"MoveFile\tUUID=1-2:/t/a%09b%25\t/t/%0A\tSC=00000005\n";

		memset(r, 0, sizeof(r));
		r[0].op = SRD_OP_MOVE;
		r[0].status = SRD_ST_DONE, r[0].sc = 5;
		assert_int_equal(srd_path_native("UUID=1-2:/t/a%09b%25", &r[0].path, why, sizeof(why)), 0);
		assert_int_equal(srd_path_native("/t/%0a", &r[0].dst, why, sizeof(why)), 0);
		parse_ok(in, sizeof(in) - 1, SRD_FORM_NATIVE, &q);
		assert_int_equal(srd_write(&q, r, 1, &out, &len, &err), 0);
		assert_int_equal(len, sizeof(exp) - 1);
		assert_memory_equal(out, exp, len);
		free(out);
		srd_queue_free(&q);
		srd_path_free(&r[0].path), srd_path_free(&r[0].dst);
	}
	/* srd_path_field on its own */
	mkpath("\\??\\C:Program%20Files\\a.dll", SRD_NT_ESCAPES, &r[0].path);
	f = srd_path_field(&r[0].path, SRD_FORM_WINDOWS);
	assert_string_equal(f, "\\??\\C:\\Program%20Files\\a.dll");
	free(f);
	assert_null(srd_path_field(&r[0].path, SRD_FORM_NATIVE));
	srd_path_free(&r[0].path);
}

/* `srdelayed add` as the engine calls it: a new queue, appending, a bad
 * path (the caller's: ERR_USAGE), a damaged queue (ERR_CORRUPT), and a
 * queue file of the running system replaced under its directory lock. */
static void test_queue_add(void **state)
{
	struct srd_add_req req = { .op = SRD_OP_MOVE, .path = "/a b",
				   .target = "LABEL=x:/c" };
	struct err err = { 0 };
	struct srd_queue q;
	uint8_t *out = NULL, *out2 = NULL;
	size_t len = 0, len2 = 0;
	char buf[256];

	(void)state;
	assert_int_equal(srd_queue_append(NULL, 0, &req, &out, &len, &err), 0);
	assert_int_equal(len, strlen("MoveFile\t/a b\tLABEL=x:/c\tNotExecuted\n"));
	assert_memory_equal(out, "MoveFile\t/a b\tLABEL=x:/c\tNotExecuted\n", len);
	req = (struct srd_add_req){ .op = SRD_OP_DELETE, .path = "/d" };
	assert_int_equal(srd_queue_append(out, len, &req, &out2, &len2, &err), 0);
	assert_int_equal(srd_parse(out2, len2, SRD_FORM_NATIVE, &q, NULL, &err), 0);
	assert_int_equal(q.n, 2);
	assert_string_equal(q.rec[1].field[2], "/d");
	srd_queue_free(&q);
	free(out2);
	req.path = "/../x";
	assert_int_equal(srd_queue_append(out, len, &req, &out2, &len2, &err), -EINVAL);
	assert_int_equal(err.code, ERR_USAGE);
	assert_non_null(strstr(err.msg, "bad path"));
	req.path = "/d";
	assert_int_equal(srd_queue_append(out, len - 1, &req, &out2, &len2, &err), -EINVAL);
	assert_int_equal(err.code, ERR_CORRUPT);
	assert_non_null(strstr(err.msg, "damaged"));
	free(out);
	/* a file: created, appended to, read back */
	assert_int_equal(srd_queue_add_file(th_path("q"), &req, &err), 0);
	req = (struct srd_add_req){ .op = SRD_OP_SHORTNAME, .path = "/e", .name = "E~1" };
	assert_int_equal(srd_queue_add_file(th_path("q"), &req, &err), 0);
	assert_int_equal(th_sh_out(buf, sizeof(buf), "cat '%s'", th_path("q")), 0);
	assert_string_equal(buf, "DeleteFile\tUnused\t/d\tNotExecuted\n"
			    "SetFileShortName\tE~1\t/e\tNotExecuted\n");
	assert_int_equal(srd_queue_read_file(th_path("q"), &q, &err), 0);
	assert_int_equal(q.n, 2);
	srd_queue_free(&q);
	assert_int_equal(srd_queue_read_file(th_path("none"), &q, &err), -ENOENT);
	/* Windows form when asked for a new file */
	req = (struct srd_add_req){ .op = SRD_OP_DELETE, .path = "\\??\\C:\\x",
				    .windows = true };
	assert_int_equal(srd_queue_add_file(th_path("w"), &req, &err), 0);
	assert_int_equal(srd_queue_read_file(th_path("w"), &q, &err), 0);
	assert_int_equal(q.form, SRD_FORM_WINDOWS);
	assert_string_equal(q.rec[0].field[2], "\\??\\C:\\x");
	srd_queue_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_examples),
		cmocka_unit_test(test_doc_defects),
		cmocka_unit_test(test_status_forms),
		cmocka_unit_test(test_bom_and_empty),
		cmocka_unit_test(test_non_ascii),
		cmocka_unit_test(test_malformed_windows),
		cmocka_unit_test(test_path_normaliser),
		cmocka_unit_test(test_native),
		cmocka_unit_test(test_malformed_native),
		cmocka_unit_test(test_write_status_windows),
		cmocka_unit_test(test_write_status_native),
		cmocka_unit_test(test_write_add),
		cmocka_unit_test(test_queue_add),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
