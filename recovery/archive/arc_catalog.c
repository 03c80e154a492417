/* arc_catalog.c - the catalog: one text line per member, cut into records
 * of the set's size, ending in "END count sha256" (arc.h; the format is in
 * README.md, "Backup set format").
 *
 * Both sides hold one line at a time, never the catalog: a set of ten
 * million members is written and read in ARC_CAT_LINE_MAX bytes and one
 * record.  The reader is strict in the same way as the label's parser: it
 * takes back exactly what the writer writes (canonical numbers, flags in
 * bit order, the escape of arc_text.h) and nothing else. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arc.h"
#include "arc_text.h"
#include "hash.h"

#define CAT_MAGIC "SYSRECOVER CATALOG "
#define CAT_FIELDS 12          /* without the optional target */

static const char *const member_flag_name[] = { "sparse", "copy", "efs-raw", "lost", "sis", "hive" };
#define NMEMBER_FLAGS (sizeof(member_flag_name) / sizeof(member_flag_name[0]))

static bool type_ok(int t)
{
	return t && strchr("fdlhcbpsa", t);
}

/* Links name their target; a copy names the member that holds its content. */
static bool has_target(int t, uint32_t flags)
{
	return t == ARC_T_SYMLINK || t == ARC_T_HARDLINK ||
	       (t == ARC_T_FILE && (flags & ARC_M_COPY));
}

/* A SIS link names its common-store file's member when the backup found
 * it, and nothing when it did not (verify then fails it). */
static bool target_ok(int t, uint32_t flags, const char *target)
{
	if (t == ARC_T_FILE && (flags & ARC_M_SIS) && !(flags & ARC_M_COPY))
		return !target || target[0];
	return has_target(t, flags) ? target && target[0] : !target;
}

/* ---- writer -------------------------------------------------------------- */

struct arc_catw {
	struct err *err;
	arc_put_fn put;
	void *arg;
	uint32_t rsize;
	size_t fill;           /* bytes in rec */
	uint64_t count, nrec;
	int failed;            /* a put failed: every later call returns it */
	struct hash_sha256 h;
	unsigned char *rec;
	char line[ARC_CAT_LINE_MAX + 1];
};

/* The record so far to put; a failure sticks.  put may fill the writer's
 * struct err itself (cleared before the call, so that what is there after
 * it is put's): then the record number is added as context. */
static int w_put(struct arc_catw *w)
{
	int rc;

	err_clear(w->err);
	rc = w->put(w->arg, w->rec, w->fill);
	if (rc < 0) {
		w->failed = rc;
		if (!err_failed(w->err))
			return err_set(w->err, rc, "cannot write catalog record %" PRIu64 ": %s",
				       w->nrec, strerror(-rc));
		return err_context(w->err, "while writing catalog record %" PRIu64, w->nrec);
	}
	w->nrec++;
	w->fill = 0;
	return 0;
}

/* Bytes into records; each full one goes to put. */
static int w_emit(struct arc_catw *w, const char *p, size_t n)
{
	while (n) {
		size_t k = w->rsize - w->fill;

		if (k > n)
			k = n;
		memcpy(w->rec + w->fill, p, k);
		w->fill += k;
		p += k;
		n -= k;
		if (w->fill == w->rsize && w_put(w) < 0)
			return w->failed;
	}
	return 0;
}

static int w_line(struct arc_catw *w, const char *p, size_t n, bool hashed)
{
	if (hashed)
		hash_sha256_update(&w->h, p, n);
	return w_emit(w, p, n);
}

int arc_catw_open(struct arc_catw **out, uint32_t record_size, arc_put_fn put,
		  void *arg, struct err *err)
{
	struct arc_catw *w;
	int n;

	*out = NULL;
	if (record_size == 0 || record_size > ARC_RECORD_MAX || !put)
		return err_setc(err, ERR_FATAL, ERR_INTERNAL, -EINVAL,
				"catalog writer: record size %" PRIu32 " out of range", record_size);
	w = calloc(1, sizeof(*w));
	if (w)
		w->rec = malloc(record_size);
	if (!w || !w->rec) {
		free(w);
		return err_set(err, -ENOMEM, "cannot start the catalog: %s", strerror(ENOMEM));
	}
	*w = (struct arc_catw){ .err = err, .put = put, .arg = arg, .rsize = record_size,
				.rec = w->rec };
	hash_sha256_init(&w->h);
	n = snprintf(w->line, sizeof(w->line), CAT_MAGIC "%d\n", ARC_FORMAT_VERSION);
	w_line(w, w->line, (size_t)n, true);  /* shorter than a record: cannot fail */
	*out = w;
	return 0;
}

static void put_num(struct arc_out *o, uint64_t v, bool dash_max)
{
	if (dash_max && v == UINT64_MAX)
		arc_out_add(o, "-", 1);
	else
		arc_out_fmt(o, "%" PRIu64, v);
}

static void format_entry(struct arc_out *o, const struct arc_entry *e)
{
	char hex[HASH_SHA256_HEX + 1] = "-";

	if (e->has_hash)
		hash_hex(e->sha256, sizeof(e->sha256), hex);
	arc_out_fmt(o, "%" PRIu64 "\t%" PRIu32 "\t%c\t", e->index, e->vol, (char)e->type);
	arc_out_flags(o, e->flags, member_flag_name, NMEMBER_FLAGS, "-");
	arc_out_fmt(o, "\t%" PRIu64 "\t%s\t%" PRIu32 "\t%" PRIu32 "\t%" PRIu64 "\t", e->size, hex,
		    e->pos.partition, e->pos.file, e->pos.block);
	put_num(o, e->pos.lblock, true);
	arc_out_fmt(o, "\t%" PRIu32 "\t", e->pos.offset);
	arc_out_esc(o, e->path, 0);
	if (e->target) {
		arc_out_add(o, "\t", 1);
		arc_out_esc(o, e->target, 0);
	}
	arc_out_add(o, "\n", 1);
}

/* What is wrong with e as the next member, or NULL. */
static const char *check_entry(const struct arc_catw *w, const struct arc_entry *e)
{
	if (e->index != w->count)
		return "its index is not the next one";
	if (!type_ok(e->type) || e->type > 0x7f)
		return "its type is unknown";
	if (e->flags >> NMEMBER_FLAGS)
		return "it has unknown flags";
	if (!e->path || e->path[0] != '/')
		return "its path does not start with '/'";
	if (!target_ok(e->type, e->flags, e->target))
		return "it has a target and is not a link or copy, or is one without";
	if ((e->flags & ARC_M_COPY) && (e->type != ARC_T_FILE || !e->has_hash))
		return "it is a copy and not a file with a hash";
	return NULL;
}

int arc_catw_add(struct arc_catw *w, const struct arc_entry *e)
{
	const char *why;
	struct arc_out o;

	if (w->failed)
		return w->failed;
	why = check_entry(w, e);
	if (why)
		return err_setc(w->err, ERR_FATAL, ERR_INTERNAL, -EINVAL,
				"cannot catalog member %" PRIu64 ": %s", w->count, why);
	arc_out_init(&o, w->line, sizeof(w->line));
	format_entry(&o, e);
	if (o.full || o.n > ARC_CAT_LINE_MAX)
		return err_setc(w->err, ERR_ITEM, ERR_SYSTEM, -ENAMETOOLONG,
				"cannot catalog member %" PRIu64 ": its escaped path and target "
				"are longer than a catalog line (%u bytes)", w->count,
				ARC_CAT_LINE_MAX);
	if (w_line(w, o.b, o.n, true))
		return w->failed;
	w->count++;
	return 0;
}

int arc_catw_close(struct arc_catw *w, uint64_t *count)
{
	uint8_t sum[HASH_SHA256_LEN];
	char hex[HASH_SHA256_HEX + 1];
	int rc = w->failed, n;

	if (!rc) {
		hash_sha256_final(&w->h, sum);
		hash_hex(sum, sizeof(sum), hex);
		n = snprintf(w->line, sizeof(w->line), "END %" PRIu64 " %s\n", w->count, hex);
		rc = w_line(w, w->line, (size_t)n, false);
	}
	if (!rc && w->fill)
		rc = w_put(w);
	if (!rc && count)
		*count = w->count;
	arc_catw_abort(w);
	return rc < 0 ? rc : 0;
}

void arc_catw_abort(struct arc_catw *w)
{
	if (!w)
		return;
	free(w->rec);
	free(w);
}

/* ---- reader -------------------------------------------------------------- */

struct arc_catr {
	struct err *err;
	arc_entry_fn cb;
	void *arg;
	size_t n;              /* bytes of the current line in line */
	uint64_t lineno;       /* lines completed */
	uint64_t count;        /* members delivered */
	bool ended;            /* the END line was read and checked */
	int failed;            /* sticky: a bad line, or cb's non-zero */
	struct hash_sha256 h;
	char line[ARC_CAT_LINE_MAX + 1];
};

__attribute__((format(printf, 2, 3)))
static int r_bad(struct arc_catr *r, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	r->failed = err_setc(r->err, ERR_FATAL, ERR_CORRUPT, -EINVAL,
			     "the catalog is damaged: line %" PRIu64 ": %s", r->lineno + 1, what);
	return r->failed;
}

int arc_catr_open(struct arc_catr **out, arc_entry_fn cb, void *arg, struct err *err)
{
	struct arc_catr *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return err_set(err, -ENOMEM, "cannot read the catalog: %s", strerror(ENOMEM));
	r->err = err;
	r->cb = cb;
	r->arg = arg;
	hash_sha256_init(&r->h);
	*out = r;
	return 0;
}

static int r_magic(struct arc_catr *r, const char *s, size_t n)
{
	size_t k = sizeof(CAT_MAGIC) - 1;
	uint64_t v;

	if (n < k || memcmp(s, CAT_MAGIC, k) || arc_parse_u64(s + k, n - k, UINT32_MAX, &v) ||
	    v == 0)
		return r_bad(r, "this is not a sysrecover catalog");
	if (v > ARC_FORMAT_VERSION)
		return r->failed = err_setc(r->err, ERR_FATAL, ERR_REFUSED, -ENOTSUP,
					    "the catalog is in format %" PRIu64 "; this sysrecover "
					    "reads format %d only: use a newer sysrecover", v,
					    ARC_FORMAT_VERSION);
	return 0;
}

static int r_end(struct arc_catr *r, const char *s, size_t n)
{
	const char *sp = memchr(s, ' ', n);
	uint8_t want[HASH_SHA256_LEN], got[HASH_SHA256_LEN];
	uint64_t v;

	if (!sp || arc_parse_u64(s, (size_t)(sp - s), UINT64_MAX, &v) ||
	    hash_unhex(sp + 1, n - (size_t)(sp + 1 - s), want, sizeof(want)))
		return r_bad(r, "the END line is not 'END count sha256'");
	if (v != r->count)
		return r_bad(r, "END says %" PRIu64 " members, the catalog has %" PRIu64, v,
			     r->count);
	hash_sha256_final(&r->h, got);
	if (memcmp(got, want, sizeof(got)))
		return r_bad(r, "checksum mismatch: the catalog is not what was written");
	r->ended = true;
	return 0;
}

/* Split a member line (without its LF) at TABs into f[]; the count. */
static size_t split(char *s, size_t n, char *f[CAT_FIELDS + 2], size_t len[CAT_FIELDS + 2])
{
	size_t k = 0;

	for (;;) {
		char *tab = memchr(s, '\t', n);
		size_t m = tab ? (size_t)(tab - s) : n;

		if (k == CAT_FIELDS + 2)
			return k;
		f[k] = s;
		len[k++] = m;
		if (!tab)
			return k;
		s += m + 1;
		n -= m + 1;
	}
}

static bool get_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	return arc_parse_u64(s, n, max, out) == 0;
}

static bool get_u32(const char *s, size_t n, uint32_t *out)
{
	uint64_t v;

	if (!get_u64(s, n, UINT32_MAX, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Fields 3 to 10: flags, size, hash and the position. */
static const char *r_fields(char **f, size_t *len, struct arc_entry *e)
{
	if (arc_parse_flags(f[3], len[3], member_flag_name, NMEMBER_FLAGS, "-", &e->flags))
		return "flags";
	if (!get_u64(f[4], len[4], UINT64_MAX, &e->size))
		return "size";
	e->has_hash = !(len[5] == 1 && f[5][0] == '-');
	if (e->has_hash && hash_unhex(f[5], len[5], e->sha256, sizeof(e->sha256)))
		return "sha256";
	if (!get_u32(f[6], len[6], &e->pos.partition) || !get_u32(f[7], len[7], &e->pos.file) ||
	    !get_u64(f[8], len[8], UINT64_MAX, &e->pos.block))
		return "position";
	e->pos.lblock = UINT64_MAX;
	if (!(len[9] == 1 && f[9][0] == '-') &&
	    !get_u64(f[9], len[9], UINT64_MAX - 1, &e->pos.lblock))
		return "logical block";
	if (!get_u32(f[10], len[10], &e->pos.offset))
		return "offset";
	return NULL;
}

/* A member line, without its LF (s[n] is writable): checked, unescaped in
 * place, given to cb. */
static int r_member(struct arc_catr *r, char *s, size_t n)
{
	char *f[CAT_FIELDS + 2];
	size_t len[CAT_FIELDS + 2], k = split(s, n, f, len);
	struct arc_entry e = { 0 };
	const char *bad = NULL;
	int rc;

	if (k != CAT_FIELDS && k != CAT_FIELDS + 1)
		return r_bad(r, "%zu fields where a member has %d or %d", k, CAT_FIELDS,
			     CAT_FIELDS + 1);
	if (!get_u64(f[0], len[0], UINT64_MAX, &e.index) || e.index != r->count)
		return r_bad(r, "the index is not %" PRIu64 ", the next member's", r->count);
	if (!get_u32(f[1], len[1], &e.vol))
		bad = "volume";
	else if (len[2] != 1 || !type_ok(f[2][0]))
		bad = "type";
	else
		bad = r_fields(f, len, &e);
	if (bad)
		return r_bad(r, "member %" PRIu64 ": bad %s field", e.index, bad);
	e.type = (enum arc_type)f[2][0];
	if (arc_unesc(f[11], len[11], f[11], len[11] + 1, 0) < 0 || f[11][0] != '/')
		return r_bad(r, "member %" PRIu64 ": bad path", e.index);
	e.path = f[11];
	if (k > CAT_FIELDS && arc_unesc(f[12], len[12], f[12], len[12] + 1, 0) <= 0)
		return r_bad(r, "member %" PRIu64 ": bad target", e.index);
	e.target = k > CAT_FIELDS ? f[12] : NULL;
	if (!target_ok(e.type, e.flags, e.target))
		return r_bad(r, "member %" PRIu64 ": a link without a target or a target without a link",
			     e.index);
	if ((e.flags & ARC_M_COPY) && (e.type != ARC_T_FILE || !e.has_hash))
		return r_bad(r, "member %" PRIu64 ": a copy that is not a file with a hash",
			     e.index);
	rc = r->cb ? r->cb(r->arg, &e) : 0;
	if (rc == 0)
		r->count++;
	return rc;
}

/* One whole line, LF included, in r->line. */
static int r_line(struct arc_catr *r)
{
	char *s = r->line;
	size_t n = r->n - 1;

	s[n] = '\0';
	if (r->lineno == 0) {
		hash_sha256_update(&r->h, s, n);
		hash_sha256_update(&r->h, "\n", 1);
		return r_magic(r, s, n);
	}
	if (n >= 4 && !memcmp(s, "END ", 4))
		return r_end(r, s + 4, n - 4);
	hash_sha256_update(&r->h, s, n);
	hash_sha256_update(&r->h, "\n", 1);
	return r_member(r, s, n);
}

int arc_catr_feed(struct arc_catr *r, const void *rec, size_t len)
{
	const char *p = rec;

	while (len && !r->failed) {
		const char *lf;
		size_t k;

		if (r->ended) {
			/* a drive in fixed-block mode pads the last record */
			if (*p)
				return r_bad(r, "bytes after the END line");
			p++;
			len--;
			continue;
		}
		lf = memchr(p, '\n', len);
		k = lf ? (size_t)(lf - p) + 1 : len;
		if (k > ARC_CAT_LINE_MAX - r->n)
			return r_bad(r, "a line longer than %u bytes", ARC_CAT_LINE_MAX);
		memcpy(r->line + r->n, p, k);
		r->n += k;
		p += k;
		len -= k;
		if (lf) {
			int rc = r_line(r);

			r->n = 0;
			r->lineno++;
			if (rc)
				r->failed = rc;
		}
	}
	return r->failed;
}

int arc_catr_close(struct arc_catr *r, uint64_t *count)
{
	int rc = r->failed;

	if (!rc && !r->ended && r->count == 0)
		rc = err_setc(r->err, ERR_FATAL, ERR_CORRUPT, -EINVAL,
			      "the catalog is damaged: it ends before its first member, "
			      "without its END line");
	else if (!rc && !r->ended)
		rc = err_setc(r->err, ERR_FATAL, ERR_CORRUPT, -EINVAL,
			      "the catalog is damaged: it ends after member %" PRIu64
			      " without its END line", r->count - 1);
	if (!rc && count)
		*count = r->count;
	free(r);
	return rc;
}

void arc_catr_abort(struct arc_catr *r)
{
	free(r);
}
