/* fuzz_rs_names.c - hostile pax/tar members through libarchive into the
 * restore's name checks (rs_norm_name, rs_member_path), as a restore reads
 * them: every name and hard-link target that is accepted must be a path
 * that cannot leave the target (starts with '/', no empty, "." or ".."
 * component, shorter than RS_PATH_MAX, volume in range, not in the
 * restore's temporary directory); anything else must be refused, never
 * crash.  A member's single-instance copy mark (rs_copy_mark) is read too.
 * The input is a tar/pax archive. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "rs_impl.h"

static void check_path(const char *p, uint32_t vol, uint32_t nvol)
{
	size_t n = strlen(p);

	if (p[0] != '/' || n >= RS_PATH_MAX || vol >= nvol)
		abort();
	if (!strcmp(p, "/"))
		return;
	if (strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../") || p[n - 1] == '/' ||
	    (n >= 2 && !strcmp(p + n - 2, "/.")) || (n >= 3 && !strcmp(p + n - 3, "/..")) ||
	    !strncmp(p, "/.sysrecover-tmp/", 17) || !strcmp(p, "/.sysrecover-tmp"))
		abort();
}

static void one_name(const struct rs_set *s, const char *raw)
{
	char buf[RS_PATH_MAX + 64];
	const char *name = rs_norm_name(raw, buf, sizeof(buf)), *why, *p;
	uint32_t vol = 0;

	p = rs_member_path(s, name, &vol, &why);
	if (p)
		check_path(p, vol, (uint32_t)s->label.nvol);
	else if (!why || !*why)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rs_set s = { .label = { .nvol = 2 } };
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int n = 0;

	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, data, size) == ARCHIVE_OK) {
		while (n++ < 64 && archive_read_next_header(a, &e) == ARCHIVE_OK) {
			uint8_t sha[32];

			one_name(&s, archive_entry_pathname(e));
			if (archive_entry_hardlink(e))
				one_name(&s, archive_entry_hardlink(e));
			if (rs_copy_mark(e, sha) && !archive_entry_hardlink(e))
				abort();   /* only a hard-link member is a copy */
			archive_read_data_skip(a);
		}
	}
	archive_read_free(a);
	return 0;
}
