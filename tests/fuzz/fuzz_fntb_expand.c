/* fuzz_fntb_expand.c - libFuzzer target for FilesNotToBackup entries and the
 * expansion of their variables, with the values of the variables fuzzed
 * too (a backup takes them from the volume's own hives: SOFTWARE and the
 * SYSTEM Environment key are as untrusted as the rules).
 *
 * Input: one byte saying which variables are unset (bit 0 SystemRoot,
 * 1 TEMP, 2 TMP, 3 ProgramData, 4 ProgramFiles), then NUL-separated
 * fields: the entry, SystemRoot, TEMP, TMP, ProgramData, a path to match,
 * ProgramFiles (also used for the x86 and common ones).  Missing fields are
 * "".  Properties: the parse result is 0, -ENOENT, -EINVAL or -ENOMEM, with
 * a reason whenever it is not 0; a rule has a directory from '\' without
 * wildcards, a non-empty pattern, an expansion shorter than a Windows path;
 * the same entry parses the same way twice; the matcher returns a rule of
 * the set or NULL and never a match inside \SIS Common Store. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)
#define NFIELD 7

static void check_rule(const struct hive_fntb_rule *r)
{
	CHECK(r->expanded && r->dir && r->pattern && r->component && r->entry);
	CHECK(r->dir[0] == '\\');
	CHECK(!strpbrk(r->dir, "*?"));
	CHECK(r->pattern[0] && !strchr(r->pattern, '\\'));
	CHECK(strlen(r->expanded) < 32767);
	CHECK(r->drive == 0 || (r->drive >= 'A' && r->drive <= 'Z'));
}

static void fuzz_one(char *f[NFIELD], unsigned unset)
{
	struct hive_fntb_env env = {
		.systemroot = unset & 1 ? NULL : f[1], .systemroot_src = "fuzz",
		.temp = unset & 2 ? NULL : f[2], .tmp = unset & 4 ? NULL : f[3],
		.programdata = unset & 8 ? NULL : f[4], .programdata_src = "fuzz",
		.programfiles = unset & 16 ? NULL : f[6],
		.programfiles_x86 = unset & 16 ? NULL : f[6], .commonfiles = f[6],
	};
	struct hive_fntb_rule r1, r2;
	struct hive_fntb set = { 0 };
	const struct hive_fntb_rule *hit;
	char why[160];
	int rc1 = hive_fntb_parse("fuzz", f[0], &env, &r1, why, sizeof(why));
	int rc2;

	CHECK(rc1 == 0 || rc1 == -ENOENT || rc1 == -EINVAL || rc1 == -ENOMEM);
	if (rc1 == -ENOENT || rc1 == -EINVAL)
		CHECK(why[0]);
	rc2 = hive_fntb_parse("fuzz", f[0], &env, &r2, why, sizeof(why));
	CHECK(rc1 == rc2);
	if (rc1 == 0) {
		check_rule(&r1);
		CHECK(!strcmp(r1.expanded, r2.expanded) && !strcmp(r1.dir, r2.dir) &&
		      !strcmp(r1.pattern, r2.pattern) && r1.recursive == r2.recursive);
	}
	hive_fntb_rule_free(&r1);
	hive_fntb_rule_free(&r2);
	/* the same entry in a set, then the matcher on the fuzzed path */
	if (hive_fntb_add(&set, "fuzz", f[0], &env) == 0) {
		for (int drive = 0; drive < 2; drive++) {
			hit = hive_fntb_match(&set, drive ? 'c' : 0, f[5]);
			CHECK(!hit || (hit >= set.rules && hit < set.rules + set.n));
			if (hit) {
				const char *p = f[5] + (f[5][0] == '\\');

				CHECK(strncasecmp(p, "SIS Common Store", 16) ||
				      (p[16] != '\0' && p[16] != '\\'));
			}
		}
	}
	for (size_t i = 0; i < set.n; i++)
		hive_fntb_rule_free(&set.rules[i]);
	for (size_t i = 0; i < set.nskipped; i++) {
		CHECK(set.skipped[i].why[0]);
		free(set.skipped[i].component);
		free(set.skipped[i].entry);
	}
	free(set.rules);
	free(set.skipped);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *f[NFIELD];
	size_t at = 1;

	if (size < 1 || size > 65536)
		return 0;
	/* a copy of exactly the bytes, NUL-terminated: fields end at NULs */
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (int i = 0; i < NFIELD; i++) {
		f[i] = at <= size ? buf + at : buf + size;
		at += strlen(f[i]) + 1;
	}
	fuzz_one(f, data[0]);
	free(buf);
	return 0;
}
