/* fuzz_hive_rules.c - libFuzzer target for the registry rule parsers: a
 * KeysNotToRestore path, a FilesNotToBackup entry (then the matcher and the
 * wildcard on the rest of the input), a MountedDevices value.  The first
 * byte picks the parser; everything after it is the untrusted input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_kntr(const char *s)
{
	struct hive_kntr_rule r;

	hive_kntr_parse("fuzz", s, &r);
	if (r.form != HIVE_KNTR_INVALID && (!r.key || (r.form == HIVE_KNTR_VALUE && !r.value)))
		abort();
	hive_name_casecmp(s, r.key ? r.key : "");
	hive_kntr_rule_free(&r);
}

static void fuzz_fntb(const char *s)
{
	static const struct hive_fntb_env env = {
		.systemroot = "C:\\Windows", .systemroot_src = "default",
		.temp = "%SystemRoot%\\TEMP", .tmp = "%TEMP%",
		.programdata = "%SystemDrive%\\ProgramData", .programdata_src = "default",
	};
	struct hive_fntb f = { 0 };
	const char *tab = strchr(s, '\t');
	char *entry = tab ? strndup(s, (size_t)(tab - s)) : strdup(s);
	const char *path = tab ? tab + 1 : "\\Windows\\Temp\\x.tmp";

	if (!entry)
		return;
	if (hive_fntb_add(&f, "fuzz", entry, &env) == 0) {
		hive_fntb_match(&f, 'C', path);
		hive_fntb_match(&f, 0, path);
		if (f.n)
			hive_fntb_wildcard(f.rules[0].pattern, path);
	}
	free(f.systemroot);
	f.systemroot = NULL;
	for (size_t i = 0; i < f.n; i++)
		hive_fntb_rule_free(&f.rules[i]);
	for (size_t i = 0; i < f.nskipped; i++) {
		free(f.skipped[i].component);
		free(f.skipped[i].entry);
	}
	free(f.rules);
	free(f.skipped);
	free(entry);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hive_md_value v;
	char *s;

	if (size < 1 || size > 65536)
		return 0;
	if (data[0] % 3 == 2) {
		hive_md_decode(data + 1, size - 1, &v);
		hive_md_value_free(&v);
		return 0;
	}
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] % 3 == 0)
		fuzz_kntr(s);
	else
		fuzz_fntb(s);
	free(s);
	return 0;
}
