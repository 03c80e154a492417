/* fuzz_arc_label.c - libFuzzer target for the set label parser.  The input
 * is one tape record.  Properties checked: a parse is 1, 0 or negative with
 * a message; a label that parses formats back to text that parses to the
 * same label (the formatter accepts everything the parser does). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arc.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

static struct arc_label l, back;
static char text[ARC_LABEL_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err err = { 0 };
	size_t len = 0;
	int rc;

	/* a copy of exactly size bytes: ASan sees any read past the record */
	uint8_t *rec = malloc(size ? size : 1);

	if (!rec)
		return 0;
	memcpy(rec, data, size);
	rc = arc_label_parse(rec, size, &l, &err);
	free(rec);
	CHECK(rc >= -4095 && rc <= 1);
	if (rc < 0)
		CHECK(err.msg[0] && (err.code == ERR_CORRUPT || err.code == ERR_REFUSED));
	if (rc != 1)
		return 0;
	rc = arc_label_format(&l, text, sizeof(text), &len, &err);
	if (rc) {
		/* only a label too large once escaped may not come back */
		fprintf(stderr, "format: %s\n", err.msg);
		CHECK(rc == -28);
		return 0;
	}
	CHECK(arc_label_parse(text, len, &back, &err) == 1);
	CHECK(!memcmp(&l, &back, sizeof(l)));
	return 0;
}
