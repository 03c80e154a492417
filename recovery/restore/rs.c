/* rs.c - find sets on a tape, stream their catalogs, verify their data.
 *
 * Verify reads the catalog first, into an unlinked temporary file, then the
 * data file through libarchive, and walks both in step: members come in
 * catalog order (that is how the backup wrote them), so one entry of
 * lookahead is all it keeps, whatever the size of the set.
 */
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "arc.h"
#include "hash.h"
#include "progress.h"
#include "rs.h"
#include "tape.h"

#include "rs_impl.h"

const struct err *rs_error(const struct rs *r)
{
	return &r->err;
}

size_t rs_count(const struct rs *r)
{
	return r->nsets;
}

const struct rs_set *rs_set(const struct rs *r, size_t i)
{
	return i < r->nsets ? &r->sets[i] : NULL;
}

size_t rs_foreign(const struct rs *r)
{
	return r->foreign;
}

uint32_t rs_foreign_file(const struct rs *r, size_t k)
{
	return k < r->foreign ? r->foreign_files[k] : UINT32_MAX;
}

int rs_tape_fail(struct rs *r, int rc, const char *what)
{
	return err_set(&r->err, rc, "cannot %s %s: %s", what, r->name,
		       *tape_errmsg(r->t) ? tape_errmsg(r->t) : strerror(-rc));
}

/* At the start of tape file f (rewind, then space f filemarks). */
int rs_goto_file(struct rs *r, uint32_t f)
{
	int rc = tape_rewind(r->t);

	if (rc == 0 && f)
		rc = tape_space(r->t, TAPE_SP_FILEMARKS, (long)f);
	return rc < 0 ? rs_tape_fail(r, rc, "position") : 0;
}

/* ---- finding the sets ------------------------------------------------------ */

static int add_set(struct rs *r, const struct arc_label *l, bool complete)
{
	if (r->nsets == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 16;
		struct rs_set *ns = realloc(r->sets, nc * sizeof(*ns));

		if (!ns)
			return err_set(&r->err, -ENOMEM, "out of memory");
		r->sets = ns;
		r->cap = nc;
	}
	r->sets[r->nsets] = (struct rs_set){ .label = *l, .complete = complete,
					     .number = (unsigned)r->nsets + 1 };
	r->nsets++;
	return 0;
}

/* Past the data and catalog files of the set whose label was just read:
 * 1 when both were there, 0 when the tape ends first. */
static int skip_set(struct rs *r, uint32_t *file)
{
	int rc = tape_space(r->t, TAPE_SP_FILEMARKS, 3);

	if (rc == 0) {
		*file += 3;
		return 1;
	}
	return rc == -EIO ? 0 : rs_tape_fail(r, rc, "space over a set on");
}

/* One tape file from its first record: a set, a foreign file, or the end. */
static int scan_file(struct rs *r, uint32_t *file, bool *end)
{
	enum tape_rd what;
	struct arc_label l;
	ssize_t n = tape_read(r->t, r->rec, r->rdcap, &what);
	int rc;

	if (n < 0)
		return rs_tape_fail(r, (int)n, "read");
	if (what == TAPE_RD_EOD) {
		*end = true;
		return 0;
	}
	if (what != TAPE_RD_DATA) {   /* an empty tape file */
		(*file)++;
		return 0;
	}
	rc = arc_label_parse(r->rec, (size_t)n, &l, &r->err);
	if (rc < 0)
		return err_context(&r->err, "tape file %" PRIu32 " of %s", *file, r->name);
	if (rc == 0) {
		uint32_t *nf = realloc(r->foreign_files, (r->foreign + 1) * sizeof(*nf));

		if (!nf)
			return err_set(&r->err, -ENOMEM, "out of memory");
		r->foreign_files = nf;
		r->foreign_files[r->foreign++] = *file;
		rc = tape_space(r->t, TAPE_SP_FILEMARKS, 1);
		*end = rc < 0;
		(*file)++;
		return 0;
	}
	l.tape_file = *file;  /* where it really is, whatever it says */
	rc = skip_set(r, file);
	if (rc < 0)
		return rc;
	*end = rc == 0;
	return add_set(r, &l, rc == 1);
}

static int scan(struct rs *r)
{
	uint32_t file = 0;
	bool end = false;
	int rc = tape_rewind(r->t);

	if (rc < 0)
		return rs_tape_fail(r, rc, "rewind");
	while (!end && (rc = scan_file(r, &file, &end)) == 0)
		;
	return rc;
}

int rs_open(const char *tape, struct rs **out, struct err *err)
{
	return rs_open_faulty(tape, -1, out, err);
}

int rs_next_header(struct archive *a, struct archive_entry **ae)
{
	int ar = archive_read_next_header(a, ae);

	return ar == ARCHIVE_WARN ? ARCHIVE_OK : ar;
}

/* How much one read asks for: a whole SIMH record, but no more than the
 * drive's largest block (read block limits), which st checks every read
 * against: 1 MiB on tgt's emulated drive, 8 MiB on some LTO drives. */
static size_t read_cap(struct tape *t)
{
	struct tape_params p;

	if (tape_get_params(t, &p) == 0 && p.max_block && p.max_block < RS_RECORD_MAX)
		return p.max_block;
	return RS_RECORD_MAX;
}

int rs_open_faulty(const char *tape, long read_error_at, struct rs **out,
		   struct err *err)
{
	struct tape_vopts vo;
	struct rs *r = calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	if (!r || !(r->name = strdup(tape)) || !(r->rec = malloc(RS_RECORD_MAX))) {
		rs_close(r);
		return err_set(err, -ENOMEM, "out of memory");
	}
	tape_vopts_init(&vo);
	vo.read_only = true;
	vo.must_exist = true;
	vo.fault_read_error = read_error_at;
	rc = tape_open(tape, &vo, &r->t);
	if (rc < 0)
		err_set(&r->err, rc, "cannot open %s: %s", tape, strerror(-rc));
	else {
		r->rdcap = read_cap(r->t);
		rc = scan(r);
	}
	if (rc < 0) {
		err_copy(err, &r->err);
		rs_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

void rs_close(struct rs *r)
{
	if (!r)
		return;
	if (r->t)
		tape_close(r->t);
	free(r->sets);
	free(r->foreign_files);
	free(r->rec);
	free(r->name);
	free(r);
}

/* ---- the catalog ------------------------------------------------------------------ */

/* Feed the records of the current tape file to a catalog reader. */
static int feed_catalog(struct rs *r, struct arc_catr *cr, uint64_t *count)
{
	enum tape_rd what;
	ssize_t n;
	int rc = 0;

	while (rc == 0 && (n = tape_read(r->t, r->rec, r->rdcap, &what)) >= 0 &&
	       what == TAPE_RD_DATA)
		rc = arc_catr_feed(cr, r->rec, (size_t)n);
	if (rc == 0 && n < 0)
		rc = rs_tape_fail(r, (int)n, "read the catalog from");
	if (rc != 0) {
		arc_catr_abort(cr);
		return rc;
	}
	return arc_catr_close(cr, count);
}

int rs_catalog(struct rs *r, size_t i, arc_entry_fn cb, void *arg)
{
	struct arc_catr *cr;
	uint64_t count;
	int rc;

	err_clear(&r->err);
	if (i >= r->nsets)
		return err_set(&r->err, -ENOENT, "%s holds %zu sets: there is no set %zu",
			       r->name, r->nsets, i + 1);
	if (!r->sets[i].complete)
		return err_setc(&r->err, ERR_FATAL, ERR_CORRUPT, -ENODATA, "set %zu on %s "
				"was cut off before its catalog", i + 1, r->name);
	rc = rs_goto_file(r, r->sets[i].label.tape_file + 2);
	if (rc == 0)
		rc = arc_catr_open(&cr, cb, arg, &r->err);
	if (rc == 0)
		rc = feed_catalog(r, cr, &count);
	if (rc < 0 && !err_failed(&r->err))
		err_set(&r->err, rc, "cannot read the catalog of set %zu on %s", i + 1,
			r->name);
	return rc;
}

/* ---- scanning a data file ---------------------------------------------------------------- */

const char *rs_foreign_name(const char *in, char *buf, size_t cap)
{
	while (in && in[0] == '.' && in[1] == '/')
		in += 2;
	if (!in || (size_t)snprintf(buf, cap, "v0/%s", in) >= cap)
		return NULL;
	return buf;
}

static enum arc_type scan_type(struct archive_entry *ae)
{
	if (archive_entry_hardlink(ae))
		return ARC_T_HARDLINK;
	switch (archive_entry_filetype(ae)) {
	case AE_IFDIR: return ARC_T_DIR;
	case AE_IFLNK: return ARC_T_SYMLINK;
	case AE_IFCHR: return ARC_T_CHR;
	case AE_IFBLK: return ARC_T_BLK;
	case AE_IFIFO: return ARC_T_FIFO;
	case AE_IFSOCK: return ARC_T_SOCK;
	default: return ARC_T_FILE;
	}
}

/* One header as a catalog entry would say it. */
static int scan_one(struct archive *a, struct archive_entry *ae, uint32_t file,
		    uint32_t rs, uint64_t index, bool foreign, arc_entry_fn cb, void *arg)
{
	char buf[8192];
	const char *name = rs_norm_name(archive_entry_pathname(ae), buf, sizeof(buf));
	const char *slash = name && !foreign ? strchr(name, '/') : NULL;
	la_int64_t off = archive_read_header_position(a);
	struct arc_entry e = {
		.index = index, .type = scan_type(ae),
		.size = (uint64_t)archive_entry_size(ae),
		.pos = { .file = file, .block = (uint64_t)off / rs,
			 .offset = (uint32_t)((uint64_t)off % rs), .lblock = UINT64_MAX },
		.path = slash ? slash : name ? name : "?",
		.target = archive_entry_hardlink(ae) ? archive_entry_hardlink(ae) :
			  archive_entry_symlink(ae),
	};

	if (name && slash && name[0] == 'v')
		e.vol = (uint32_t)strtoul(name + 1, NULL, 10);
	if (!foreign && rs_copy_mark(ae, e.sha256)) {
		e.type = ARC_T_FILE;
		e.flags |= ARC_M_COPY;
		e.has_hash = true;
	}
	return cb(arg, &e);
}

int rs_scan(struct rs *r, size_t i, bool foreign, arc_entry_fn cb, void *arg)
{
	struct rs_reader rd = { .r = r };
	struct archive_entry *ae;
	struct archive *a;
	uint32_t file, rs = 512;
	uint64_t n = 0;
	int rc, ar = ARCHIVE_OK;

	err_clear(&r->err);
	if (foreign ? i >= r->foreign : i >= r->nsets)
		return err_set(&r->err, -ENOENT, "%s has no %s %zu", r->name,
			       foreign ? "foreign tape file number" : "set", i + 1);
	file = foreign ? r->foreign_files[i] : r->sets[i].label.tape_file + 1;
	if (!foreign)
		rs = r->sets[i].label.record_size;
	rc = rs_goto_file(r, file);
	if (rc < 0)
		return rc;
	a = archive_read_new();
	if (!a)
		return err_set(&r->err, -ENOMEM, "out of memory");
	archive_read_support_format_tar(a);
	if (archive_read_open(a, &rd, NULL, rs_read_cb, NULL) != ARCHIVE_OK)
		ar = ARCHIVE_FATAL;
	while (ar == ARCHIVE_OK && rc == 0 && (ar = rs_next_header(a, &ae)) == ARCHIVE_OK)
		rc = scan_one(a, ae, file, rs, n++, foreign, cb, arg);
	if (rc == 0 && ar != ARCHIVE_EOF && !rd.err) {   /* cut off: what was there */
		err_setc(&r->err, ERR_ITEM, ERR_CORRUPT, -EIO, "tape file %" PRIu32 " of %s "
			 "ends early, after %" PRIu64 " members: %s", file, r->name, n,
			 archive_error_string(a) ? archive_error_string(a) : "cut off");
		rc = 1;
	} else if (rc == 0 && ar != ARCHIVE_EOF) {
		rc = err_set(&r->err, rd.err, "cannot read tape file %" PRIu32 " of %s after %"
			     PRIu64 " members: %s", file, r->name, n,
			     archive_error_string(a) ? archive_error_string(a) : "damaged");
	}
	archive_read_free(a);
	return rc;
}

/* ---- verify -------------------------------------------------------------------------- */

/* A catalog entry, copied out of the reader's buffer. */
struct rs_ent {
	struct arc_entry e;
	char *path, *target;
};

/* The catalog, spooled, read back in step with the data. */
struct cursor {
	FILE *spool;
	struct arc_catr *cr;
	struct rs_ent *q;         /* entries parsed but not yet used */
	size_t nq, head, cap;
	bool eof;
	struct err *err;
};

static int queue_entry(void *arg, const struct arc_entry *e)
{
	struct cursor *c = arg;
	struct rs_ent *x;

	if (c->nq == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 64;
		struct rs_ent *nq = realloc(c->q, nc * sizeof(*nq));

		if (!nq)
			return -ENOMEM;
		c->q = nq;
		c->cap = nc;
	}
	x = &c->q[c->nq];
	x->e = *e;
	x->path = strdup(e->path);
	x->target = e->target ? strdup(e->target) : NULL;
	if (!x->path || (e->target && !x->target)) {
		free(x->path);
		free(x->target);
		return -ENOMEM;
	}
	x->e.path = x->path;
	x->e.target = x->target;
	c->nq++;
	return 0;
}

/* Every entry, the ones handed out too: a caller keeps an entry only until
 * its next call. */
static void drop_queue(struct cursor *c)
{
	for (size_t k = 0; k < c->nq; k++) {
		free(c->q[k].path);
		free(c->q[k].target);
	}
	c->nq = c->head = 0;
}

/* The next catalog entry, or NULL at the end (c->eof) or on error. */
static struct rs_ent *next_entry(struct cursor *c, int *rc)
{
	unsigned char chunk[4096];

	*rc = 0;
	if (c->head == c->nq)
		drop_queue(c);
	while (c->head == c->nq && !c->eof) {
		size_t n = fread(chunk, 1, sizeof(chunk), c->spool);

		if (n == 0) {
			c->eof = true;
			*rc = arc_catr_close(c->cr, &(uint64_t){ 0 });
			c->cr = NULL;
			break;
		}
		if ((*rc = arc_catr_feed(c->cr, chunk, n)) != 0)
			return NULL;
	}
	if (c->head == c->nq)
		return NULL;
	return &c->q[c->head++];
}

static void free_cursor(struct cursor *c)
{
	drop_queue(c);
	free(c->q);
	if (c->cr)
		arc_catr_abort(c->cr);
	if (c->spool)
		fclose(c->spool);
}

/* The catalog file of set i, raw, into c->spool (it is checked when read
 * back through the cursor). */
static int spool_catalog(struct rs *r, size_t i, struct cursor *c)
{
	enum tape_rd what;
	ssize_t n;
	int rc = rs_goto_file(r, r->sets[i].label.tape_file + 2);

	c->spool = rc == 0 ? tmpfile() : NULL;
	if (rc == 0 && !c->spool)
		return err_set(&r->err, -errno, "cannot make a temporary file: %s",
			       strerror(errno));
	while (rc == 0 && (n = tape_read(r->t, r->rec, r->rdcap, &what)) >= 0 &&
	       what == TAPE_RD_DATA)
		if (fwrite(r->rec, 1, (size_t)n, c->spool) != (size_t)n)
			rc = err_set(&r->err, -EIO, "cannot spool the catalog");
	if (rc == 0 && n < 0)
		rc = rs_tape_fail(r, (int)n, "read the catalog from");
	if (rc == 0 && (fflush(c->spool) || fseek(c->spool, 0, SEEK_SET)))
		rc = err_set(&r->err, -EIO, "cannot read the spooled catalog back");
	if (rc == 0)
		rc = arc_catr_open(&c->cr, queue_entry, c, &r->err);
	return rc;
}

/* libarchive's read callback: the records of the data file, up to its
 * filemark; the first one from rd->skip bytes in (a member in mid-record). */
la_ssize_t rs_read_cb(struct archive *a, void *ctx, const void **buf)
{
	struct rs_reader *rd = ctx;
	enum tape_rd what;
	const unsigned char *rec = rd->r->rec;
	const char *msg = NULL;
	ssize_t n = rd->ra ? rs_ahead_read(rd, &rec, &what, &msg) :
		    tape_read(rd->r->t, rd->r->rec, rd->r->rdcap, &what);
	size_t skip = rd->skip;

	rd->skip = 0;
	if (n < 0) {
		rd->err = (int)n;
		archive_set_error(a, -(int)n, "%s", msg ? msg : tape_errmsg(rd->r->t));
		return -1;
	}
	if (what != TAPE_RD_DATA)
		return 0;
	rd->records++;
	if (skip > (size_t)n) {
		archive_set_error(a, EIO, "a member's offset is past the end of its record");
		return -1;
	}
	*buf = rec + skip;
	return (la_ssize_t)((size_t)n - skip);
}

/* Without the trailing '/' tar gives directory names ("v0/etc/"); "v0/"
 * (the root) stays. */
bool rs_copy_mark(struct archive_entry *ae, uint8_t sha[32])
{
	const char *xn;
	const void *xv;
	size_t xl;

	if (!archive_entry_hardlink(ae))
		return false;
	archive_entry_xattr_reset(ae);
	while (archive_entry_xattr_next(ae, &xn, &xv, &xl) == ARCHIVE_OK)
		if (!strcmp(xn, "sysrecover.copy"))
			return hash_unhex(xv, xl, sha, 32) == 0;
	return false;
}

const char *rs_norm_name(const char *in, char *buf, size_t cap)
{
	size_t n;

	if (!in || (n = strlen(in)) >= cap)
		return in;
	memcpy(buf, in, n + 1);
	while (n > 1 && buf[n - 1] == '/' && strchr(buf, '/') != buf + n - 1)
		buf[--n] = 0;
	return buf;
}

/* The first component of a name: is it one of the restore's own
 * temporary directories (".sysrecover-tmp", ".sysrecover-tmp1", ...)? */
static bool is_tmp_dir(const char *p)
{
	static const char tmp[] = "/.sysrecover-tmp";

	return !strncmp(p, tmp, sizeof(tmp) - 1) &&
	       strspn(p + sizeof(tmp) - 1, "0123456789") == strcspn(p + sizeof(tmp) - 1, "/");
}

const char *rs_member_path(const struct rs_set *s, const char *name, uint32_t *vol,
			   const char **why)
{
	const char *slash, *p;
	size_t n;

	*why = "it is not named vN/PATH";
	if (!name || name[0] != 'v' || !(slash = strchr(name, '/')))
		return NULL;
	for (*vol = 0, p = name + 1; p < slash; p++) {
		if (*p < '0' || *p > '9' || *vol > ARC_VOL_MAX)
			return NULL;
		*vol = *vol * 10 + (uint32_t)(*p - '0');
	}
	*why = "it names a volume the set does not have";
	if (p == name + 1 || *vol >= s->label.nvol)
		return NULL;
	*why = "its path is too long";
	if (strlen(slash) >= RS_PATH_MAX)
		return NULL;
	if (!strcmp(slash, "/"))
		return slash;   /* "vN/": the root */
	*why = "its path has an empty, \".\" or \"..\" component";
	for (p = slash; *p; p += n) {
		p++;   /* past the '/' */
		n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return NULL;
	}
	*why = "it is inside the directory the restore keeps its temporary files in";
	return is_tmp_dir(slash) ? NULL : slash;
}

/* "vN/path" of an entry. */
void rs_member_name(const struct rs_set *s, const struct arc_entry *e, char *buf,
			size_t cap)
{
	snprintf(buf, cap, "%s%s", e->vol < s->label.nvol ? s->label.vol[e->vol].id : "v?",
		 e->path);
}

struct verify {
	struct rs *r;
	const struct rs_set *s;
	const struct rs_verify_opts *o;
	struct rs_verify_result *res;
	struct archive *a;
	struct cursor cur;
	unsigned char *buf;
	struct rs_sis *sis;       /* SIS links and store files (rs_sis.c) */
	int sis_rc;
};

static void bad(struct verify *v, const char *name, const char *what)
{
	char why[600];

	snprintf(why, sizeof(why), "%s: %s", name, what);
	v->res->bad++;
	if (v->o && v->o->report)
		v->o->report(v->o->arg, name, why);
}

/* Not bad data: the set is whole, but a link in it cannot be used. */
static void sis_bad(void *arg, const char *name, const char *what)
{
	struct verify *v = arg;
	char why[1200];

	snprintf(why, sizeof(why), "%s: %s", name, what);
	v->res->sis_missing++;
	if (v->o && v->o->report)
		v->o->report(v->o->arg, name, why);
}

/* The data of the current member against the entry's hash. */
static int check_data(struct verify *v, const struct rs_ent *x, const char *name)
{
	struct hash_sha256 h;
	uint8_t sum[32];
	uint64_t got = 0;
	la_ssize_t n;

	hash_sha256_init(&h);
	while ((n = archive_read_data(v->a, v->buf, RS_BUF)) > 0) {
		hash_sha256_update(&h, v->buf, (size_t)n);
		got += (uint64_t)n;
		v->res->bytes += (uint64_t)n;
		if (v->o && v->o->progress)
			progress_add(v->o->progress, (uint64_t)n, 0);
	}
	if (n < 0)
		return -EIO;
	/* libarchive gives no zeros for a sparse member's last hole (all of
	 * a SIS link): they are part of the content the catalog hashed */
	if (x->e.flags & ARC_M_SPARSE) {
		memset(v->buf, 0, RS_BUF);
		for (; got < x->e.size; got += n) {
			n = x->e.size - got < RS_BUF ? (la_ssize_t)(x->e.size - got) : RS_BUF;
			hash_sha256_update(&h, v->buf, (size_t)n);
		}
	}
	hash_sha256_final(&h, sum);
	v->res->checked++;
	if (memcmp(sum, x->e.sha256, sizeof(sum)))
		bad(v, name, "its data does not match the catalog's SHA-256");
	return 0;
}

/* A copy carries no data: its mark must name the catalog's holder and
 * hash (the holder's own data was checked against the same hash). */
static int check_copy(struct verify *v, const struct rs_ent *x, struct archive_entry *ae,
		      const char *name)
{
	char hbuf[8192];
	const char *held = rs_norm_name(archive_entry_hardlink(ae), hbuf, sizeof(hbuf));
	uint8_t sum[32];
	char why[300];

	v->res->checked++;
	if (!rs_copy_mark(ae, sum) || !held || strcmp(held, x->e.target) ||
	    memcmp(sum, x->e.sha256, sizeof(sum))) {
		snprintf(why, sizeof(why), "the data does not mark it as the catalog's copy "
			 "of %.200s", x->e.target);
		bad(v, name, why);
	}
	return 0;
}

/* The next catalog entry that has a member in the data. */
static struct rs_ent *next_in_data(struct verify *v, int *rc)
{
	struct rs_ent *x;

	while ((x = next_entry(&v->cur, rc)) != NULL) {
		v->res->members++;
		v->res->sis += (x->e.flags & ARC_M_SIS) != 0;
		v->res->efs_raw += (x->e.flags & ARC_M_EFS_RAW) != 0;
		v->res->hives += (x->e.flags & ARC_M_HIVE) != 0;
		if (!v->sis_rc)
			v->sis_rc = rs_sis_verify_note(&v->sis, v->s, &x->e);
		if (!(x->e.flags & ARC_M_LOST))
			return x;
		v->res->lost++;
		if (x->e.pos.file)  /* its header was written, with zeros */
			return x;
	}
	return NULL;
}

static int verify_member(struct verify *v, struct archive_entry *ae)
{
	char name[8192], gbuf[8192], why[600];
	const char *got = rs_norm_name(archive_entry_pathname(ae), gbuf, sizeof(gbuf));
	int rc;
	struct rs_ent *x = next_in_data(v, &rc);

	if (!x) {
		if (rc == 0)
			bad(v, got ? got : "?", "in the data but not in the catalog");
		return rc;
	}
	rs_member_name(v->s, &x->e, name, sizeof(name));
	if (!got || strcmp(got, name)) {
		bad(v, name, "the data has another member here");
		return 0;
	}
	if (x->e.flags & ARC_M_LOST)
		return 0;
	if (x->e.flags & ARC_M_COPY)
		return check_copy(v, x, ae, name);
	if ((x->e.flags & ARC_M_EFS_RAW) && x->e.type == ARC_T_FILE &&
	    rs_efs_verify(ae, name, why, sizeof(why)) < 0)
		bad(v, name, why);   /* restore would refuse it */
	if (x->e.has_hash && x->e.type != ARC_T_HARDLINK)
		return check_data(v, x, name);
	return 0;
}

static int verify_data(struct verify *v, size_t i)
{
	struct rs_reader rd = { .r = v->r };
	struct archive_entry *ae;
	int rc = rs_goto_file(v->r, v->s->label.tape_file + 1), ar = ARCHIVE_OK;

	v->a = rc == 0 ? archive_read_new() : NULL;
	if (rc == 0 && !v->a)
		return err_set(&v->r->err, -ENOMEM, "out of memory");
	if (rc == 0) {
		archive_read_support_format_tar(v->a);
		if (archive_read_open(v->a, &rd, NULL, rs_read_cb, NULL) != ARCHIVE_OK)
			rc = -EIO;
	}
	while (rc == 0 && (ar = rs_next_header(v->a, &ae)) == ARCHIVE_OK)
		rc = verify_member(v, ae);
	if (rc == 0 && ar != ARCHIVE_EOF)
		rc = -EIO;
	if (rc == -EIO && !err_failed(&v->r->err))
		err_set(&v->r->err, rd.err ? rd.err : -EIO, "cannot read the data of set "
			"%zu on %s: %s", i + 1, v->r->name, archive_error_string(v->a) ?
			archive_error_string(v->a) : "damaged");
	return rc;
}

int rs_verify(struct rs *r, size_t i, const struct rs_verify_opts *o,
	      struct rs_verify_result *res)
{
	struct verify v = { .r = r, .o = o, .res = res };
	struct rs_ent *x;
	int rc;

	memset(res, 0, sizeof(*res));
	err_clear(&r->err);
	if (i >= r->nsets)
		return err_set(&r->err, -ENOENT, "%s holds %zu sets: there is no set %zu",
			       r->name, r->nsets, i + 1);
	v.s = &r->sets[i];
	v.cur.err = &r->err;
	v.buf = malloc(RS_BUF);
	rc = v.buf ? spool_catalog(r, i, &v.cur) : err_set(&r->err, -ENOMEM, "out of memory");
	if (rc == 0)
		rc = verify_data(&v, i);
	while (rc == 0 && (x = next_in_data(&v, &rc)) != NULL) {
		char name[8192];

		rs_member_name(v.s, &x->e, name, sizeof(name));
		bad(&v, name, "in the catalog but not in the data");
	}
	if (rc == 0 && v.sis_rc)
		rc = err_set(&r->err, v.sis_rc, "out of memory");
	if (rc == 0)
		rs_sis_verify_end(v.sis, sis_bad, &v);
	rs_sis_free(v.sis);
	if (v.a)
		archive_read_free(v.a);
	free_cursor(&v.cur);
	free(v.buf);
	return rc < 0 ? rc : res->bad || res->sis_missing ? 1 : 0;
}
