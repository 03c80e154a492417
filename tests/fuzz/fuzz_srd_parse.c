/* fuzz_srd_parse.c - libFuzzer target for both srdelayed queue parsers and
 * the writer.  The first byte picks the form (bit 0: Windows UTF-16LE or
 * native UTF-8) and seeds the statuses written back; the rest is the queue.
 * Properties checked on every queue that parses:
 *   - status write-back: parse -> set statuses -> write -> parse gives the
 *     same records with the new statuses, and every byte outside the field-4
 *     spans is kept, in order;
 *   - append: writing every record again as a new one parses back to the
 *     same operations and normalised paths;
 * and the shared path normaliser is run on the raw input as a pending-rename
 * string (with "*1"/"!" prefixes allowed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "srd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

static bool same_path(const struct srd_path *a, const struct srd_path *b)
{
	if (!a->path || !b->path)
		return a->path == b->path;
	return a->vol == b->vol && a->drive == b->drive && !strcmp(a->path, b->path) &&
	       (!a->volume ? !b->volume : b->volume && !strcmp(a->volume, b->volume));
}

static bool same_rec(const struct srd_record *a, const struct srd_record *b)
{
	return a->op == b->op && same_path(&a->path, &b->path) && same_path(&a->dst, &b->dst) &&
	       (!a->arg ? !b->arg : b->arg && !strcmp(a->arg, b->arg));
}

/* Bytes outside the field-4 spans, in order, must be identical. */
static void check_kept(const struct srd_queue *a, const struct srd_queue *b)
{
	size_t pa = 0, pb = 0;

	for (size_t i = 0; i <= a->n; i++) {
		size_t ea = i < a->n ? a->rec[i].f4_offset : a->len;
		size_t eb = i < b->n ? b->rec[i].f4_offset : b->len;

		CHECK(ea - pa == eb - pb && !memcmp(a->bytes + pa, b->bytes + pb, ea - pa));
		if (i < a->n) {
			pa = ea + a->rec[i].f4_len;
			pb = eb + b->rec[i].f4_len;
		}
	}
}

static void roundtrip_status(struct srd_queue *q, uint8_t seed)
{
	struct srd_queue q2;
	struct err err = { 0 };
	uint8_t *out = NULL;
	size_t len = 0;

	for (size_t i = 0; i < q->n; i++) {
		if ((seed >> (i % 7)) & 2)
			continue;  /* leave some untouched */
		q->rec[i].status = SRD_ST_DONE;
		q->rec[i].sc = (uint32_t)(i * 0x9e3779b9u) ^ seed;
	}
	CHECK(srd_write(q, NULL, 0, &out, &len, &err) == 0);
	if (srd_parse(out, len, q->form, &q2, NULL, &err) != 0) {
		fprintf(stderr, "reparse failed: %s\n", err.msg);
		abort();
	}
	CHECK(q2.n == q->n);
	for (size_t i = 0; i < q->n; i++) {
		CHECK(same_rec(&q->rec[i], &q2.rec[i]));
		CHECK(q2.rec[i].status == q->rec[i].status);
		CHECK(q2.rec[i].status == SRD_ST_NOT_EXECUTED || q2.rec[i].sc == q->rec[i].sc);
	}
	check_kept(q, &q2);
	srd_queue_free(&q2);
	free(out);
}

static void roundtrip_append(const struct srd_queue *q)
{
	struct srd_queue q2;
	struct err err = { 0 };
	uint8_t *out = NULL;
	size_t len = 0;
	int rc = srd_write(q, q->rec, q->n, &out, &len, &err);

	/* %20 makes a field up to 3 times longer: past the cap is refused */
	if (rc == -22 && strstr(err.msg, "too long"))
		return;
	if (rc != 0)
		fprintf(stderr, "append: rc %d: %s\n", rc, err.msg);
	CHECK(rc == 0);
	if (srd_parse(out, len, q->form, &q2, NULL, &err) != 0) {
		fprintf(stderr, "reparse after append failed: %s\n", err.msg);
		abort();
	}
	CHECK(q2.n == 2 * q->n);
	for (size_t i = 0; i < q->n; i++)
		CHECK(same_rec(&q->rec[i], &q2.rec[q->n + i]));
	srd_queue_free(&q2);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct srd_queue q;
	struct err err = { 0 };
	struct srd_pos pos;
	struct srd_path p;
	char why[200], *s;
	enum srd_form form;

	if (size < 1)
		return 0;
	form = data[0] & 1 ? SRD_FORM_NATIVE : SRD_FORM_WINDOWS;
	if (srd_parse(data + 1, size - 1, form, &q, &pos, &err) == 0) {
		roundtrip_append(&q);
		roundtrip_status(&q, data[0]);
		srd_queue_free(&q);
	} else {
		CHECK(q.n == 0 && q.rec == NULL && q.bytes == NULL && err.msg[0]);
		CHECK(err.level == ERR_FATAL && err.code == ERR_CORRUPT);
		CHECK(pos.offset <= size - 1 || pos.offset == SRD_MAX_BYTES);
	}
	s = strndup((const char *)data + 1, size - 1);
	if (!s)
		return 0;
	if (srd_path_nt(s, data[0] & 2 ? SRD_NT_PENDING : SRD_NT_ESCAPES, &p, why, sizeof(why)) == 0) {
		CHECK(p.path && p.path[0] == '/' && !strstr(p.path, "//"));
		srd_path_free(&p);
	}
	if (srd_path_native(s, &p, why, sizeof(why)) == 0) {
		CHECK(p.path && p.path[0] == '/' && !strstr(p.path, "/../"));
		srd_path_free(&p);
	}
	free(s);
	return 0;
}
