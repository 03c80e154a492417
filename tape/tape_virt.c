/* tape_virt.c - a virtual tape drive with st semantics over SIMH-encoded stores.
 *
 * Records are kept in the SIMH .tap encoding (32-bit little-endian length, data
 * padded to an even size, the length again; 0 is a tape mark; 0xFFFFFFFF end of
 * medium; 0xFFFFFFFE an erase gap; bit 31 flags a record read with an error).
 * The whole image is indexed when the drive is opened so that spacing in both
 * directions is cheap and so that damage is found, and reported with its byte
 * offset, before anything trusts it.  The records before damage stay readable;
 * reaching the damaged point fails with -EIO and says where and why.
 *
 * Everything a program sees follows the Linux st driver (st.rst, st(4)), so the
 * code above can be tested here and run unchanged against a real drive.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tape_impl.h"

#define SIMH_TMK 0x00000000u
#define SIMH_EOM 0xFFFFFFFFu
#define SIMH_GAP 0xFFFFFFFEu
#define SIMH_FHGAP 0xFFFEFFFFu  /* forward half gap: 2 bytes to skip */
#define SIMH_ERF 0x80000000u    /* record had a read error when captured */
#define SIMH_MAXLEN TAPE_SIMH_MAX_RECORD
#define MB 1000000ull           /* st sizes partitions in decimal megabytes */
#define SCAN_WINDOW 65536
#define SCAN_SMALL 4096

enum tv_kind { TV_DATA, TV_BAD, TV_FM };

struct tv_obj {
	uint64_t off;
	uint32_t len;
	uint8_t kind;
};

struct tv_part {
	struct tv_obj *obj;
	size_t n, cap;
	uint64_t end;        /* where the next object goes after the last one */
	uint64_t tail;       /* bytes in the store; > end when junk follows */
	uint64_t capacity;   /* 0 = unlimited */
	char damage[240];    /* why indexing stopped early; "" if it did not */
	bool exact;          /* the kept index was vouched for (not changed since) */
	bool dirty;          /* written since it was indexed */
};

/* st's early-warning cadence: the crossing write succeeds, the next is
 * refused with ENOSPC, the next succeeds, and so on. */
enum tv_ew { TV_EW_NONE, TV_EW_PASSED, TV_EW_REFUSED };

struct tv {
	const struct tape_vstore_ops *sops;
	void *store;
	struct tv_part part[TAPE_V_MAX_PARTS];
	unsigned nparts, cur;
	uint64_t pos;        /* index of the next object in part[cur] */
	struct tape_vstate st;  /* settings kept across opens */
	bool read_only;
	enum tv_ew ew;
	long f_read, f_short, f_enospc;
};

static struct tv *V(struct tape *t)
{
	return t->priv;
}

static struct tv_part *P(struct tv *v)
{
	return &v->part[v->cur];
}

static uint32_t get_le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static void put_le32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

static int push_obj(struct tv_part *p, uint64_t off, uint32_t len, uint8_t kind)
{
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 256;
		struct tv_obj *no = realloc(p->obj, nc * sizeof(*no));

		if (!no)
			return -ENOMEM;
		p->obj = no;
		p->cap = nc;
	}
	p->obj[p->n++] = (struct tv_obj){ .off = off, .len = len, .kind = kind };
	return 0;
}

/* ---- indexing ---------------------------------------------------------- */

struct tv_scan {
	struct tv *v;
	unsigned part;
	uint64_t size;
	uint8_t *buf;
	uint64_t boff;
	size_t blen;
};

/* Fetch the 32-bit word at off through a window, so that indexing an image
 * of small records costs one read per 64 KiB rather than two per record.
 * Returns 1 if the image ends before the word does. */
static int window_word(struct tv_scan *sc, uint64_t off, size_t want, uint32_t *w)
{
	ssize_t n;

	if (off + 4 > sc->size)
		return 1;
	if (off < sc->boff || off + 4 > sc->boff + sc->blen) {
		n = sc->v->sops->pread(sc->v->store, sc->part, sc->buf, want, off);
		if (n < 0)
			return (int)n;
		sc->boff = off;
		sc->blen = (size_t)n;
		if (n < 4)
			return 1;
	}
	*w = get_le32(sc->buf + (off - sc->boff));
	return 0;
}

static int scan_word(struct tv_scan *sc, uint64_t off, uint32_t *w)
{
	/* Jumping over a large record: a full window would read data we
	 * only skip, so fetch just a page around the length word. */
	bool jump = off >= sc->boff + sc->blen + SCAN_SMALL;

	return window_word(sc, off, jump ? SCAN_SMALL : SCAN_WINDOW, w);
}

/* Index one data record at off whose leading word is w; returns the offset
 * after it, or 0 with p->damage set. */
static uint64_t scan_record(struct tv_scan *sc, struct tv_part *p, uint64_t off,
			    uint32_t w)
{
	uint32_t len = w & ~SIMH_ERF, tw = 0;
	uint64_t padded = len + (len & 1u);
	int rc;

	if (len > SIMH_MAXLEN) {
		snprintf(p->damage, sizeof(p->damage),
			 "corrupt SIMH image: record length 0x%08" PRIx32
			 " at byte offset %" PRIu64 " exceeds the maximum of %u",
			 w, off, SIMH_MAXLEN);
		return 0;
	}
	rc = scan_word(sc, off + 4 + padded, &tw);
	if (rc != 0) {
		snprintf(p->damage, sizeof(p->damage),
			 "corrupt SIMH image: truncated record at byte offset %"
			 PRIu64 ": length word says %" PRIu32
			 " bytes but the image ends at %" PRIu64, off, len, sc->size);
		return 0;
	}
	if (tw != w) {
		snprintf(p->damage, sizeof(p->damage),
			 "corrupt SIMH image: length words disagree for the record"
			 " at byte offset %" PRIu64 ": leading %" PRIu32
			 ", trailing %" PRIu32 " (at byte offset %" PRIu64 ")",
			 off, len, tw & ~SIMH_ERF, off + 4 + padded);
		return 0;
	}
	if (push_obj(p, off, len, (w & SIMH_ERF) ? TV_BAD : TV_DATA) < 0) {
		snprintf(p->damage, sizeof(p->damage), "out of memory indexing");
		return 0;
	}
	return off + 8 + padded;
}

/* Index partition `part`.  Damage is not an error here: it is recorded and
 * reported when the tape is positioned there. */
static int scan_part(struct tv *v, unsigned part, uint8_t *window)
{
	struct tv_part *p = &v->part[part];
	struct tv_scan sc = { .v = v, .part = part, .buf = window };
	uint64_t off = 0, gap = UINT64_MAX;  /* start of trailing gaps */
	uint32_t w;
	int rc;

	rc = v->sops->size(v->store, part, &sc.size);
	if (rc < 0)
		return rc;
	p->tail = sc.size;
	while (off < sc.size) {
		bool is_gap;

		rc = scan_word(&sc, off, &w);
		if (rc < 0)
			return rc;
		if (rc > 0) {
			snprintf(p->damage, sizeof(p->damage),
				 "corrupt SIMH image: truncated length word at"
				 " byte offset %" PRIu64 " (image is %" PRIu64
				 " bytes)", off, sc.size);
			break;
		}
		is_gap = w == SIMH_GAP || w == SIMH_FHGAP;
		if (is_gap && gap == UINT64_MAX)
			gap = off;
		if (w == SIMH_TMK) {
			if (push_obj(p, off, 0, TV_FM) < 0)
				return -ENOMEM;
			off += 4;
		} else if (w == SIMH_EOM) {
			break;  /* end-of-medium marker: nothing after it counts */
		} else if (w == SIMH_GAP) {
			off += 4;
		} else if (w == SIMH_FHGAP) {
			off += 2;  /* a half gap: the next word starts 2 bytes on */
		} else {
			uint64_t next = scan_record(&sc, p, off, w);

			if (!next)
				break;
			off = next;
		}
		if (!is_gap)
			gap = UINT64_MAX;
	}
	/* Data ends before any gaps that trail it, so that a write there
	 * replaces them whole instead of cutting a marker in two. */
	p->end = gap != UINT64_MAX ? gap : off;
	return 0;
}

static void set_capacities(struct tv *v)
{
	uint64_t c = v->st.capacity, s;
	long sp = v->st.split_mb;

	v->part[0].capacity = c;
	v->part[1].capacity = 0;
	if (sp > 0) {
		s = (uint64_t)sp * MB;
		v->part[1].capacity = s;
		v->part[0].capacity = c > s ? c - s : (c ? 1 : 0);
	} else if (sp < 0) {
		s = -(uint64_t)sp * MB;
		v->part[0].capacity = s;
		v->part[1].capacity = c > s ? c - s : (c ? 1 : 0);
	}
}

static void free_parts(struct tv *v)
{
	for (unsigned i = 0; i < TAPE_V_MAX_PARTS; i++) {
		free(v->part[i].obj);
		memset(&v->part[i], 0, sizeof(v->part[i]));
	}
}

/* ---- the kept index ------------------------------------------------------
 * At close the index of an image is saved (simh: IMAGE.idx), and at open it
 * is used if the store's stamp still matches.  Where the store vouches that
 * the image has not changed since the index was checked against its bytes
 * (simh: device, inode, size, mtime and ctime, taken only once the clock
 * has moved past the image's last change; see tape_simh.c), the index is
 * used as it is: it is then what a scan would find, so every operation
 * (read, space, locate, the position, end of data) answers as after a scan.
 * Otherwise every entry is checked against the image itself: possible after
 * the one before, and its length words (leading, and the trailing one of a
 * record) read back equal; only gaps between entries.  Any difference
 * discards the index and the image is scanned.  The check reads only those
 * words: where entries follow each other, the trailing word of one and the
 * leading word of the next are 8 adjacent bytes, one small read, and words
 * close together (marks, small records) share one read.  An index the store
 * vouches for and that nothing has changed since is not saved again.
 *   "SRVIDX1\0", u64 end, u64 tail, u32 n, u32 damage length, damage,
 *   n x { u64 offset, u32 length, u8 kind, 3 bytes zero }     (little endian)
 */
#define IDX_MAGIC "SRVIDX1"
#define IDX_HEAD 32
#define IDX_ENT 16

static void put_le64(uint8_t *b, uint64_t v)
{
	put_le32(b, (uint32_t)v);
	put_le32(b + 4, (uint32_t)(v >> 32));
}

static uint64_t get_le64(const uint8_t *b)
{
	return get_le32(b) | (uint64_t)get_le32(b + 4) << 32;
}

/* Is entry i possible after the one before it, inside `tail` bytes? */
static bool idx_entry_ok(const struct tv_obj *o, const struct tv_obj *prev,
			 uint64_t end)
{
	uint64_t size = o->kind == TV_FM ? 4 : 8 + (uint64_t)o->len + (o->len & 1u);

	if (o->kind > TV_FM || o->len > SIMH_MAXLEN || (o->kind == TV_FM && o->len))
		return false;
	if (prev && o->off < prev->off + (prev->kind == TV_FM ? 4 : 8 + prev->len))
		return false;
	return o->off + size <= end;
}

/* Step over erase gaps from *off to `to`, where the next object must
 * start; false if anything else lies between. */
static bool skip_gaps(struct tv_scan *sc, uint64_t *off, uint64_t to)
{
	uint32_t w;

	while (*off < to) {
		if (scan_word(sc, *off, &w) != 0)
			return false;
		if (w == SIMH_GAP)
			*off += 4;
		else if (w == SIMH_FHGAP)
			*off += 2;
		else
			return false;
	}
	return *off == to;
}

/* The length words of entry o: its leading one, and a record's trailing. */
static unsigned entry_words(const struct tv_obj *o, uint64_t w[2])
{
	w[0] = o->off;
	if (o->kind == TV_FM)
		return 1;
	w[1] = o->off + 4 + o->len + (o->len & 1u);
	return 2;
}

/* Where a read for the word at `from` (one of entry i's or after) should
 * end: past the words of entries i, i+1, ... that lie close behind it
 * (within SCAN_SMALL of the one before), inside one SCAN_WINDOW. */
static uint64_t span_end(const struct tv_part *p, size_t i, uint64_t from)
{
	uint64_t end = from + 4, w[2];

	for (; i < p->n; i++) {
		unsigned k = entry_words(&p->obj[i], w);

		for (unsigned j = 0; j < k; j++) {
			if (w[j] < from)
				continue;
			if (w[j] > end + SCAN_SMALL || w[j] + 4 - from > SCAN_WINDOW)
				return end;
			end = w[j] + 4;
		}
	}
	return end;
}

/* The word at off, needed for entry i: from what was read, or read now
 * with the words close behind it.  Nonzero if the store ends first. */
static int entry_word(struct tv_scan *sc, const struct tv_part *p, size_t i,
		      uint64_t off, uint32_t *w)
{
	uint64_t end = off + 4;

	if (off + 4 <= sc->size && (off < sc->boff || off + 4 > sc->boff + sc->blen)) {
		end = span_end(p, i, off);   /* only when a read is due: it walks */
		if (end > sc->size)
			end = sc->size;
	}
	return window_word(sc, off, (size_t)(end - off), w);
}

/* Is the loaded index exactly what a scan of the store would find?  Every
 * entry's length words are read back: the leading one, and the trailing one
 * of a record; between entries only gaps; after the last, gaps up to the
 * end of the store or an end-of-medium marker.  An index of a damaged image
 * is never trusted: those are scanned. */
static bool index_matches(struct tv *v, unsigned part, uint8_t *window)
{
	struct tv_part *p = &v->part[part];
	struct tv_scan sc = { .v = v, .part = part, .buf = window, .size = p->tail };
	uint64_t off = 0, at[2];
	uint32_t w;

	if (p->damage[0])
		return false;
	for (size_t i = 0; i < p->n; i++) {
		const struct tv_obj *o = &p->obj[i];
		uint32_t want = o->kind == TV_FM ? SIMH_TMK :
				o->len | (o->kind == TV_BAD ? SIMH_ERF : 0);
		unsigned k = entry_words(o, at);

		if (!skip_gaps(&sc, &off, o->off))
			return false;
		for (unsigned j = 0; j < k; j++)
			if (entry_word(&sc, p, i, at[j], &w) != 0 || w != want)
				return false;
		off = at[k - 1] + 4;
	}
	if (p->end != off)
		return false;
	while (off < p->tail) {
		if (scan_word(&sc, off, &w) != 0)
			return false;
		if (w == SIMH_EOM)
			return true;
		if (w == SIMH_GAP)
			off += 4;
		else if (w == SIMH_FHGAP)
			off += 2;
		else
			return false;
	}
	return off == p->tail;
}

/* For the store's index_save: check the index against the image now. */
static bool index_exact(void *arg, unsigned part)
{
	uint8_t *window = malloc(SCAN_WINDOW);
	bool ok = window && index_matches(arg, part, window);

	free(window);
	return ok;
}

static void save_index(struct tv *v, unsigned part)
{
	struct tv_part *p = &v->part[part];
	size_t dl = strlen(p->damage), len = IDX_HEAD + dl + p->n * IDX_ENT;
	uint8_t *b, *e;

	if (p->exact && !p->dirty)
		return;  /* the kept one still stands, vouched for */
	b = calloc(1, len);
	if (!b || p->tail == UINT64_MAX || p->n > UINT32_MAX)
		goto out;
	memcpy(b, IDX_MAGIC, 8);
	put_le64(b + 8, p->end);
	put_le64(b + 16, p->tail);
	put_le32(b + 24, (uint32_t)p->n);
	put_le32(b + 28, (uint32_t)dl);
	memcpy(b + IDX_HEAD, p->damage, dl);
	e = b + IDX_HEAD + dl;
	for (size_t i = 0; i < p->n; i++, e += IDX_ENT) {
		put_le64(e, p->obj[i].off);
		put_le32(e + 8, p->obj[i].len);
		e[12] = p->obj[i].kind;
	}
	/* a cache: may fail */
	v->sops->index_save(v->store, part, b, len, index_exact, v);
out:
	free(b);
}

static bool load_index(struct tv *v, unsigned part, uint8_t *window)
{
	struct tv_part *p = &v->part[part];
	uint8_t *b = NULL;
	size_t len = 0, dl, n;
	uint64_t size;
	bool ok = false, exact = false;

	if (!v->sops->index_load ||
	    v->sops->index_load(v->store, part, &b, &len, &exact) < 0 ||
	    v->sops->size(v->store, part, &size) < 0 || len < IDX_HEAD ||
	    memcmp(b, IDX_MAGIC, 8))
		goto out;
	p->end = get_le64(b + 8);
	p->tail = get_le64(b + 16);
	n = get_le32(b + 24);
	dl = get_le32(b + 28);
	if (p->tail != size || p->end > size || dl >= sizeof(p->damage) ||
	    len != IDX_HEAD + dl + n * IDX_ENT)
		goto out;
	memcpy(p->damage, b + IDX_HEAD, dl);
	p->damage[dl] = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *e = b + IDX_HEAD + dl + i * IDX_ENT;
		struct tv_obj o = { get_le64(e), get_le32(e + 8), e[12] };

		if (!idx_entry_ok(&o, i ? &p->obj[i - 1] : NULL, p->end) ||
		    push_obj(p, o.off, o.len, o.kind) < 0)
			goto out;
	}
	/* Vouched for: what was checked then is what a scan finds now. */
	ok = !p->damage[0] && (exact || index_matches(v, part, window));
	p->exact = ok && exact;
out:
	if (!ok) {
		free(p->obj);
		memset(p, 0, sizeof(*p));
	}
	free(b);
	return ok;
}

/* ---- helpers for the operations ---------------------------------------- */

static int need_medium(struct tape *t)
{
	if (!V(t)->st.loaded)
		return tape_fail(t, -ENOMEDIUM, "no medium loaded (use 'load')");
	return 0;
}

static int need_writable(struct tape *t)
{
	int rc = need_medium(t);

	if (rc == 0 && V(t)->read_only)
		rc = tape_fail(t, -EACCES, "the medium is write-protected");
	return rc;
}

/* Byte offset of the current position. */
static uint64_t pos_off(struct tv *v)
{
	struct tv_part *p = P(v);

	return v->pos < p->n ? p->obj[v->pos].off : p->end;
}

static bool past_ew(struct tv *v)
{
	struct tv_part *p = P(v);
	uint64_t zone;

	if (!p->capacity)
		return false;
	zone = v->st.ew_zone < p->capacity ? v->st.ew_zone : p->capacity;
	return pos_off(v) >= p->capacity - zone;
}

/* Reading or spacing has reached the end of what was indexed. */
static int at_end(struct tape *t, const char *what)
{
	struct tv_part *p = P(V(t));

	if (p->damage[0])
		return tape_fail(t, -EIO, "%s", p->damage);
	return tape_fail(t, -EIO, "end of data reached %s", what);
}

/* Drop everything from the current position on: what a write does. */
static int cut_here(struct tv *v)
{
	struct tv_part *p = P(v);
	uint64_t off = pos_off(v);
	int rc;

	if (p->tail > off) {
		rc = v->sops->truncate(v->store, v->cur, off);
		if (rc < 0)
			return rc;
	}
	p->n = v->pos;
	p->end = p->tail = off;
	p->damage[0] = 0;
	p->dirty = true;
	return 0;
}

/* Append one object at the current position, dropping what follows. */
static int put_obj(struct tape *t, uint8_t kind, const void *buf, uint32_t len)
{
	struct tv *v = V(t);
	struct tv_part *p = P(v);
	uint8_t hdr[4], pad[1] = { 0 };
	uint64_t off = pos_off(v), need;
	struct iovec iov[4];
	int cnt = 0, rc;

	if (kind != TV_FM && (len == 0 || len > SIMH_MAXLEN))  /* 0 = a mark */
		return tape_fail(t, -EINVAL, "cannot store a record of %" PRIu32
				 " bytes", len);
	need = kind == TV_FM ? 4 : 8 + (uint64_t)len + (len & 1u);
	if (p->capacity && off + need > p->capacity)
		return tape_fail(t, -ENOSPC, "end of medium: %" PRIu64
				 " of %" PRIu64 " bytes used", off, p->capacity);
	rc = cut_here(v);
	if (rc < 0)
		return tape_fail(t, rc, "cannot truncate image: %s", strerror(-rc));
	put_le32(hdr, kind == TV_FM ? SIMH_TMK : len);
	iov[cnt++] = (struct iovec){ hdr, 4 };
	if (kind != TV_FM) {
		iov[cnt++] = (struct iovec){ (void *)buf, len };
		if (len & 1u)
			iov[cnt++] = (struct iovec){ pad, 1 };
		iov[cnt++] = (struct iovec){ hdr, 4 };
	}
	rc = v->sops->pwritev(v->store, v->cur, iov, cnt, off);
	if (rc < 0) {
		p->tail = UINT64_MAX;  /* a partial record may be there */
		return tape_fail(t, rc, "cannot write image at byte offset %"
				 PRIu64 ": %s", off, strerror(-rc));
	}
	rc = push_obj(p, off, len, kind);
	if (rc < 0)
		return tape_fail(t, rc, "out of memory");
	v->pos++;
	p->end = p->tail = off + need;
	return 0;
}

/* Read the data of the object at the current position and step past it. */
static ssize_t get_data(struct tape *t, void *buf, size_t len)
{
	struct tv *v = V(t);
	const struct tv_obj *o = &P(v)->obj[v->pos];
	uint64_t here = v->pos++;
	ssize_t n;

	if (o->len > len)
		return tape_fail(t, -ENOMEM, "block of %" PRIu32 " bytes does not"
				 " fit the %zu-byte read buffer", o->len, len);
	if (o->kind == TV_BAD)
		return tape_fail(t, -EIO, "medium error: record %" PRIu64
				 " (byte offset %" PRIu64 ") is marked bad",
				 here, o->off);
	if (v->cur == 0 && v->f_read >= 0 && (uint64_t)v->f_read == here)
		return tape_fail(t, -EIO, "medium error: injected read error"
				 " at record %" PRIu64, here);
	n = v->sops->pread(v->store, v->cur, buf, o->len, o->off + 4);
	if (n < 0)
		return tape_fail(t, (int)n, "cannot read image: %s",
				 strerror((int)-n));
	if ((size_t)n != o->len)
		return tape_fail(t, -EIO, "image shrank under us at byte offset %"
				 PRIu64, o->off);
	return n;
}

/* ---- operations ---------------------------------------------------------- */

/* What is at the current position: data, a mark, or the end (-1). */
static int here_kind(struct tv *v)
{
	struct tv_part *p = P(v);

	return v->pos < p->n ? p->obj[v->pos].kind : -1;
}

/* A read at a mark steps over it, at the end reports it; either way no
 * data.  Returns 1 when data is next, else what the read returns. */
static int meet_mark(struct tape *t, int k, enum tape_rd *what)
{
	struct tv *v = V(t);

	if (k == TV_DATA || k == TV_BAD)
		return 1;
	if (k < 0) {
		if (P(v)->damage[0])
			return at_end(t, "");
		*what = TAPE_RD_EOD;
		return 0;
	}
	v->pos++;
	*what = TAPE_RD_FILEMARK;
	return 0;
}

static ssize_t tv_read_fixed(struct tape *t, char *buf, size_t len,
			     enum tape_rd *what)
{
	struct tv *v = V(t);
	uint32_t bs = v->st.block_size;
	size_t got = 0;
	int k, rc;

	if (len % bs)
		return tape_fail(t, -EINVAL, "read of %zu bytes is not a multiple"
				 " of the %" PRIu32 "-byte block size", len, bs);
	*what = TAPE_RD_DATA;
	while (got < len) {
		k = here_kind(v);
		if (got && (k != TV_DATA || P(v)->obj[v->pos].len != bs))
			break;  /* deliver what we have; the next read meets it */
		rc = meet_mark(t, k, what);
		if (rc <= 0)
			return rc;
		if (P(v)->obj[v->pos].len != bs)  /* st: the tape does not move */
			return tape_fail(t, -EIO, "block of %" PRIu32 " bytes does"
					 " not match the fixed block size %" PRIu32,
					 P(v)->obj[v->pos].len, bs);
		ssize_t n = get_data(t, buf + got, bs);

		if (n < 0)
			return n;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static ssize_t tv_read(struct tape *t, void *buf, size_t len, enum tape_rd *what)
{
	struct tv *v = V(t);
	int rc = need_medium(t);

	if (rc < 0)
		return rc;
	v->ew = TV_EW_NONE;
	if (v->st.block_size)
		return tv_read_fixed(t, buf, len, what);
	*what = TAPE_RD_DATA;
	rc = meet_mark(t, here_kind(v), what);
	return rc <= 0 ? rc : get_data(t, buf, len);
}

/* Write `n` records of `rlen` bytes from buf, honouring injected faults. */
static ssize_t write_records(struct tape *t, const char *buf, size_t n,
			     uint32_t rlen)
{
	struct tv *v = V(t);
	size_t done = 0;
	int rc;

	for (size_t i = 0; i < n; i++) {
		uint32_t l = rlen;
		bool inj0 = v->cur == 0;

		if (inj0 && v->f_enospc >= 0 && (uint64_t)v->f_enospc == v->pos) {
			rc = tape_fail(t, -ENOSPC, "end of medium (injected at"
				       " record %" PRIu64 ")", v->pos);
			return done ? (ssize_t)done : rc;
		}
		if (inj0 && v->f_short >= 0 && (uint64_t)v->f_short == v->pos) {
			/* Half the bytes, never none: a 0-byte record is
			 * what SIMH calls a filemark. */
			if (rlen < 2) {
				rc = tape_fail(t, -EIO, "medium error: injected"
					       " short write at record %" PRIu64
					       " (a 1-byte record cannot be"
					       " shorter)", v->pos);
				return done ? (ssize_t)done : rc;
			}
			l = rlen / 2;
		}
		rc = put_obj(t, TV_DATA, buf + i * rlen, l);
		if (rc < 0)
			return done ? (ssize_t)done : rc;
		done += l;
		if (l != rlen)
			break;
	}
	return (ssize_t)done;
}

static ssize_t tv_write(struct tape *t, const void *buf, size_t len)
{
	struct tv *v = V(t);
	uint32_t bs = v->st.block_size;
	int rc = need_writable(t);
	ssize_t n;

	if (rc < 0)
		return rc;
	if (bs && len % bs)
		return tape_fail(t, -EINVAL, "write of %zu bytes is not a multiple"
				 " of the %" PRIu32 "-byte block size", len, bs);
	if (!bs && len > SIMH_MAXLEN)
		return tape_fail(t, -EINVAL, "block of %zu bytes exceeds the"
				 " drive's maximum of %u", len, SIMH_MAXLEN);
	if (len == 0)
		return 0;
	if (v->ew == TV_EW_PASSED) {
		v->ew = TV_EW_REFUSED;
		return tape_fail(t, -ENOSPC, "early warning: end of medium is"
				 " near (%" PRIu64 " of %" PRIu64 " bytes used)",
				 pos_off(v), P(v)->capacity);
	}
	n = bs ? write_records(t, buf, len / bs, bs)
	       : write_records(t, buf, 1, (uint32_t)len);
	if (n > 0 && past_ew(v))
		v->ew = TV_EW_PASSED;
	return n;
}

static int tv_write_marks(struct tape *t, enum tape_mark kind, unsigned count)
{
	int rc = need_writable(t);

	if (rc < 0)
		return rc;
	if (kind == TAPE_MK_SETMARK)
		return tape_fail(t, -EOPNOTSUPP, "virtual drives have no setmarks"
				 " (SIMH images cannot record them)");
	for (unsigned i = 0; i < count; i++) {
		rc = put_obj(t, TV_FM, NULL, 0);
		if (rc < 0)
			return rc;
	}
	if (count == 0)
		return V(t)->sops->sync(V(t)->store);  /* st: WEOF 0 flushes */
	return 0;
}

static int tv_rewind(struct tape *t)
{
	int rc = need_medium(t);

	if (rc < 0)
		return rc;
	V(t)->pos = 0;
	V(t)->ew = TV_EW_NONE;
	return 0;
}

static int space_records(struct tape *t, long count)
{
	struct tv *v = V(t);
	long i;

	for (i = 0; i < count; i++) {
		int k = here_kind(v);

		if (k < 0)
			return at_end(t, "while spacing over records");
		v->pos++;
		if (k == TV_FM)
			return tape_fail(t, -EIO, "filemark reached after %ld of"
					 " %ld records", i, count);
	}
	for (i = 0; i > count; i--) {
		if (v->pos == 0)
			return tape_fail(t, -EIO, "beginning of partition reached"
					 " after %ld of %ld records", -i, -count);
		v->pos--;
		if (here_kind(v) == TV_FM)
			return tape_fail(t, -EIO, "filemark reached after %ld of"
					 " %ld records", -i, -count);
	}
	return 0;
}

static int space_filemarks(struct tape *t, long count)
{
	struct tv *v = V(t);
	long seen = 0;

	while (seen < count) {
		int k = here_kind(v);

		if (k < 0)
			return at_end(t, "while spacing over filemarks");
		v->pos++;
		seen += k == TV_FM;
	}
	while (seen > count) {
		if (v->pos == 0)
			return tape_fail(t, -EIO, "beginning of partition reached"
					 " after %ld of %ld filemarks", -seen, -count);
		v->pos--;
		seen -= here_kind(v) == TV_FM;
	}
	return 0;
}

static int tv_space(struct tape *t, enum tape_space what, long count)
{
	struct tv *v = V(t);
	int rc = need_medium(t);

	if (rc < 0)
		return rc;
	v->ew = TV_EW_NONE;
	switch (what) {
	case TAPE_SP_RECORDS:
		return space_records(t, count);
	case TAPE_SP_FILEMARKS:
		return space_filemarks(t, count);
	case TAPE_SP_EOD:
		v->pos = P(v)->n;
		return 0;
	case TAPE_SP_SETMARKS:
		break;
	}
	return tape_fail(t, -EOPNOTSUPP, "virtual drives have no setmarks");
}

static int tv_locate(struct tape *t, unsigned part, uint64_t block)
{
	struct tv *v = V(t);
	int rc = need_medium(t);

	if (rc < 0)
		return rc;
	if (part >= v->nparts)
		return tape_fail(t, -EINVAL, "no partition %u (the medium has %u)",
				 part, v->nparts);
	v->cur = part;
	v->ew = TV_EW_NONE;
	if (block > P(v)->n) {
		v->pos = P(v)->n;
		return tape_fail(t, -EIO, "block %" PRIu64 " is past end of data"
				 " (%zu blocks in partition %u)", block, P(v)->n,
				 part);
	}
	v->pos = block;
	return 0;
}

static int tv_tell(struct tape *t, unsigned *part, uint64_t *block)
{
	int rc = need_medium(t);

	if (rc < 0)
		return rc;
	*part = V(t)->cur;
	*block = V(t)->pos;
	return 0;
}

static int tv_erase(struct tape *t, bool long_erase)
{
	struct tv *v = V(t);
	int rc = need_writable(t);

	(void)long_erase;  /* both end the data here; there is no gap to keep */
	if (rc < 0)
		return rc;
	rc = cut_here(v);
	if (rc < 0)
		return tape_fail(t, rc, "cannot truncate image: %s", strerror(-rc));
	return 0;
}

static int tv_prepare(struct tape *t, enum tape_prep op)
{
	struct tv *v = V(t);

	switch (op) {
	case TAPE_PREP_LOAD:
		v->st.loaded = true;
		v->cur = 0;
		return tv_rewind(t);
	case TAPE_PREP_UNLOAD:
		if (v->st.locked)
			return tape_fail(t, -EBUSY, "medium removal is prevented"
					 " (use 'unlock' first)");
		v->pos = 0;
		v->cur = 0;
		v->st.loaded = false;
		return 0;
	case TAPE_PREP_LOCK:
	case TAPE_PREP_UNLOCK:
		v->st.locked = op == TAPE_PREP_LOCK;
		return 0;
	case TAPE_PREP_TENSION:
		return tv_rewind(t);
	}
	return tape_fail(t, -EINVAL, "unknown prepare operation %d", (int)op);
}

static int tv_mkpart(struct tape *t, long size_mb)
{
	struct tv *v = V(t);
	uint64_t mag = size_mb < 0 ? -(uint64_t)size_mb : (uint64_t)size_mb;
	uint64_t want = mag * MB;
	unsigned n = size_mb ? 2 : 1;
	int rc = need_writable(t);

	if (rc < 0)
		return rc;
	if (mag > UINT64_MAX / MB)
		return tape_fail(t, -EINVAL, "partition size %ld MB is too large",
				 size_mb);
	if (v->st.capacity && want >= v->st.capacity)
		return tape_fail(t, -EINVAL, "a %ld MB partition does not fit a"
				 " medium of %" PRIu64 " bytes", size_mb,
				 v->st.capacity);
	rc = v->sops->set_parts(v->store, n);
	if (rc < 0)
		return tape_fail(t, rc, "cannot create partitions: %s",
				 strerror(-rc));
	free_parts(v);
	v->nparts = n;
	v->st.split_mb = size_mb;
	set_capacities(v);
	v->cur = 0;
	v->pos = 0;
	v->ew = TV_EW_NONE;
	return 0;
}

static int tv_setpart(struct tape *t, unsigned part)
{
	return tv_locate(t, part, 0);
}

static int tv_get_params(struct tape *t, struct tape_params *p)
{
	struct tv *v = V(t);
	struct tv_part *cp = P(v);

	p->block_size = v->st.block_size;
	p->min_block = 1;
	p->max_block = SIMH_MAXLEN;
	p->compression = v->st.compression;
	p->max_partitions = TAPE_V_MAX_PARTS;
	p->partitions = v->nparts;
	p->capacity = cp->capacity;
	p->remaining = cp->capacity > cp->end ? cp->capacity - cp->end : 0;
	p->ew_zone = cp->capacity ? v->st.ew_zone : 0;
	p->features = TAPE_FEAT_PARTITIONS | TAPE_FEAT_COMPRESSION |
		      TAPE_FEAT_FIXED_BLOCK | TAPE_FEAT_LOCATE |
		      TAPE_FEAT_BYTE_EXACT;
	if (cp->capacity)
		p->features |= TAPE_FEAT_EARLY_WARNING;
	return 0;
}

static int tv_set_blksize(struct tape *t, uint32_t bs)
{
	if (bs > SIMH_MAXLEN)
		return tape_fail(t, -EINVAL, "block size %" PRIu32 " exceeds the"
				 " drive's maximum of %u", bs, SIMH_MAXLEN);
	V(t)->st.block_size = bs;
	return 0;
}

static int tv_set_compression(struct tape *t, bool on)
{
	/* Recorded and reported; a virtual drive stores the bytes as given. */
	V(t)->st.compression = on;
	return 0;
}

static int tv_status(struct tape *t, struct tape_status *s)
{
	struct tv *v = V(t);
	struct tv_part *p = P(v);
	uint64_t start = 0;
	long file = 0;

	for (uint64_t i = 0; i < v->pos && i < p->n; i++) {
		if (p->obj[i].kind == TV_FM) {
			file++;
			start = i + 1;
		}
	}
	s->online = v->st.loaded;
	s->no_medium = !v->st.loaded;
	s->locked = v->st.locked;
	s->wr_prot = v->read_only;
	s->block_size = v->st.block_size;
	s->partition = v->cur;
	if (!v->st.loaded)
		return 0;
	s->file = file;
	s->block = (long)(v->pos - start);
	s->logical = v->pos;
	s->logical_valid = true;
	s->bot = v->pos == 0;
	s->eof = v->pos > 0 && v->pos <= p->n && p->obj[v->pos - 1].kind == TV_FM;
	s->eod = v->pos >= p->n;
	s->eot = past_ew(v);
	return 0;
}

static int tv_close(struct tape *t)
{
	struct tv *v = V(t);
	struct tape_vstate st = v->st;
	int rc;

	st.part = v->cur;
	st.pos = v->pos;
	for (unsigned i = 0; v->sops->index_save && !v->read_only && i < v->nparts; i++)
		save_index(v, i);
	rc = v->sops->close(v->store, &st);
	free_parts(v);
	free(v);
	return rc;
}

static const struct tape_ops tv_ops = {
	.read = tv_read,
	.write = tv_write,
	.write_marks = tv_write_marks,
	.rewind = tv_rewind,
	.space = tv_space,
	.locate = tv_locate,
	.tell = tv_tell,
	.erase = tv_erase,
	.prepare = tv_prepare,
	.mkpart = tv_mkpart,
	.setpart = tv_setpart,
	.get_params = tv_get_params,
	.set_blksize = tv_set_blksize,
	.set_compression = tv_set_compression,
	.status = tv_status,
	.close = tv_close,
};

/* Settings: the options given now win over what was kept from last time. */
static void tv_settings(struct tv *v, const struct tape_vopts *vo,
			const struct tape_vstate *st)
{
	if (st) {
		v->st = *st;
	} else {
		memset(&v->st, 0, sizeof(v->st));
		v->st.loaded = true;
	}
	v->f_read = v->f_short = v->f_enospc = -1;
	if (vo) {
		if (vo->capacity)
			v->st.capacity = vo->capacity;
		if (vo->ew_zone)
			v->st.ew_zone = vo->ew_zone;
		v->read_only = vo->read_only;
		v->f_read = vo->fault_read_error;
		v->f_short = vo->fault_short_write;
		v->f_enospc = vo->fault_enospc;
	}
}

static int tv_index(struct tv *v)
{
	uint8_t *window = malloc(SCAN_WINDOW);
	int rc = 0;

	if (!window)
		return -ENOMEM;
	v->nparts = v->sops->parts(v->store);
	if (v->nparts < 1 || v->nparts > TAPE_V_MAX_PARTS)
		rc = -EINVAL;
	for (unsigned i = 0; rc == 0 && i < v->nparts; i++)
		if (!load_index(v, i, window))
			rc = scan_part(v, i, window);
	free(window);
	return rc;
}

/* A store that is not a SIMH image at all: its scan met damage before
 * finding a single data record (a text file, a filesystem image).  An
 * image with records before its damage is a damaged tape, and opens. */
static const char *not_simh(const struct tv_part *p)
{
	static const char pfx[] = "corrupt SIMH image: ";

	if (!p->damage[0])
		return NULL;
	for (size_t i = 0; i < p->n; i++)
		if (p->obj[i].kind != TV_FM)
			return NULL;
	return strncmp(p->damage, pfx, sizeof(pfx) - 1) ? p->damage :
	       p->damage + sizeof(pfx) - 1;
}

static const char *store_name(struct tv *v, const char *name, unsigned part)
{
	return v->sops->part_name ? v->sops->part_name(v->store, part) : name;
}

int tape_virt_open(const char *kind, const char *name, const struct tape_vstore_ops *sops,
	    void *store, const struct tape_vopts *vo, const struct tape_vstate *st,
	    struct tape **out, char *why, size_t cap)
{
	struct tv *v = calloc(1, sizeof(*v));
	struct tape *t = NULL;
	const char *bad;
	int rc = -ENOMEM;

	if (!v)
		goto out;
	v->sops = sops;
	v->store = store;
	tv_settings(v, vo, st);
	rc = tv_index(v);
	if (rc < 0) {
		if (why && cap)
			snprintf(why, cap, "cannot read '%s': %s", name,
				 strerror(-rc));
		goto out;
	}
	for (unsigned i = 0; i < v->nparts; i++) {
		if (!(bad = not_simh(&v->part[i])))
			continue;
		if (why && cap)
			snprintf(why, cap, "'%s' is not a SIMH tape image: %s",
				 store_name(v, name, i), bad);
		rc = -EMEDIUMTYPE;
		goto out;
	}
	if (v->nparts == 1 || v->st.split_mb > (long)(UINT64_MAX / MB / 2) ||
	    v->st.split_mb < -(long)(UINT64_MAX / MB / 2))
		v->st.split_mb = 0;  /* kept state that cannot be right */
	set_capacities(v);
	/* A kept position only stands if it still exists on this medium. */
	if (v->st.part < v->nparts && v->st.pos <= v->part[v->st.part].n) {
		v->cur = v->st.part;
		v->pos = v->st.pos;
	}
	rc = -ENOMEM;
	t = tape_alloc(&tv_ops, kind, name);
	if (!t)
		goto out;
	t->priv = v;
	*out = t;
	return 0;
out:
	if (v)
		free_parts(v);
	free(v);
	sops->close(store, NULL);
	return rc;
}
