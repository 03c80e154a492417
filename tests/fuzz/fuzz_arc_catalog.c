/* fuzz_arc_catalog.c - libFuzzer target for the catalog reader, and the
 * writer behind it.  The first two bytes choose where the rest is split
 * into two feeds (and a third, one byte, when the split is odd) so record
 * boundaries fall anywhere.  Properties checked: the reader returns 0 or a
 * negative errno with a message; every member it delivers is written again
 * through the writer, and when the input was accepted whole, the writer's
 * catalog (in records of 512 bytes) is the input byte for byte, END line
 * included, without the NUL padding the reader allows after it (the format
 * has one spelling). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arc.h"
#include "buf.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

static int put_buf(void *arg, const void *rec, size_t len)
{
	CHECK(len <= 512);
	buf_add(arg, rec, len);
	return 0;
}

static int rewrite(void *arg, const struct arc_entry *e)
{
	struct arc_catw *w = arg;

	CHECK(e->path && e->path[0] == '/');
	CHECK(arc_catw_add(w, e) == 0);
	return 0;
}

static int feed(struct arc_catr *r, const uint8_t *p, size_t n)
{
	/* an exact-size copy: ASan sees any read past the record */
	uint8_t *rec = malloc(n ? n : 1);
	int rc;

	if (!rec)
		abort();
	memcpy(rec, p, n);
	rc = arc_catr_feed(r, rec, n);
	free(rec);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err rerr = { 0 }, werr = { 0 };
	struct buf out = { 0 };
	struct arc_catr *r;
	struct arc_catw *w;
	uint64_t count = 0, wcount = 0;
	size_t split;
	int rc;

	if (size < 2)
		return 0;
	split = ((size_t)data[0] << 8 | data[1]) % (size - 1);
	data += 2;
	size -= 2;
	CHECK(arc_catw_open(&w, 512, put_buf, &out, &werr) == 0);
	CHECK(arc_catr_open(&r, rewrite, w, &rerr) == 0);
	rc = feed(r, data, split);
	if (!rc && split & 1 && split < size)
		rc = feed(r, data + split, 1), split++;
	if (!rc)
		rc = feed(r, data + split, size - split);
	if (rc) {
		CHECK(rc < 0 && rerr.msg[0]);
		arc_catr_abort(r);
		arc_catw_abort(w);
		buf_free(&out);
		return 0;
	}
	rc = arc_catr_close(r, &count);
	CHECK(rc <= 0);
	CHECK(rc == 0 || rerr.msg[0]);
	CHECK(arc_catw_close(w, &wcount) == 0);
	if (rc == 0) {
		size_t n = size;

		while (n && !data[n - 1])
			n--;  /* the padding the reader allows after END */
		CHECK(wcount == count && out.n == n && !memcmp(out.d, data, n));
	}
	buf_free(&out);
	return 0;
}
