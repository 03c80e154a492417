/* hive_log.c - replay a dirty hive's transaction logs (.LOG1/.LOG2, old "DIRT" and new "HvLE") into our private copy.
 *
 * The formats follow M. Suhanov's "Windows registry file format
 * specification" (see HACKING.md).  hivex cannot do this, and editing a
 * dirty hive without it would let Windows replay stale logs over our edit.
 * A log we cannot use is ERR_CORRUPT; the caller decides what that means. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "hive_impl.h"
#include "le.h"

#define LOG_MAX_SIZE (1u << 30)        /* no real log comes near this */
#define HBINS_MAX (0x7fffffffu - HIVE_BASE_SIZE)
#define HVLE_HDR 40u
/* The spec's HvLE seed, 14219357686671994754, is given as stored bytes: as
 * the (lo, hi) state Marvin32 takes it is this value (checked against real
 * Windows logs: SYSTEM_B.LOG1/LOG2 in testdata). */
#define MARVIN_SEED 0x82ef4d887a4e55c5ull

struct logf {
	const char *path;
	uint8_t *d;
	size_t len;
	struct hive_base hb;
};

/* One checked HvLE entry: every field below is within the log. */
struct entry {
	const uint8_t *p;
	uint32_t size, seq, hbins, npages;
};

/* ---- Marvin32 (the HvLE entry hashes) ----------------------------------- */

static uint32_t rotl(uint32_t x, unsigned n)
{
	return x << n | x >> (32 - n);
}

static void marvin_mix(uint32_t *lo, uint32_t *hi)
{
	*hi ^= *lo, *lo = rotl(*lo, 20);
	*lo += *hi, *hi = rotl(*hi, 9);
	*hi ^= *lo, *lo = rotl(*lo, 27);
	*lo += *hi, *hi = rotl(*hi, 19);
}

static uint64_t marvin32(const uint8_t *p, size_t n, uint64_t seed)
{
	uint32_t lo = (uint32_t)seed, hi = (uint32_t)(seed >> 32), fin = 0x80;

	for (; n >= 4; p += 4, n -= 4) {
		lo += le_get32(p);
		marvin_mix(&lo, &hi);
	}
	/* The tail bytes, then a 0x80 marker above them. */
	for (size_t i = n; i > 0; i--)
		fin = fin << 8 | p[i - 1];
	lo += fin;
	marvin_mix(&lo, &hi);
	marvin_mix(&lo, &hi);
	return (uint64_t)hi << 32 | lo;
}

/* ---- loading ------------------------------------------------------------ */

static int load_log(const char *path, struct logf *l, struct err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	memset(l, 0, sizeof(*l));
	l->path = path;
	if (fd < 0)
		return err_set(err, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || st.st_size < 1024 || st.st_size > LOG_MAX_SIZE) {
		rc = err_setc(err, ERR_FATAL, ERR_CORRUPT, -EINVAL,
			"%s: not a log (size %lld)", path,
			  (long long)st.st_size);
		goto out;
	}
	l->len = (size_t)st.st_size;
	l->d = malloc(l->len);
	if (!l->d || pread(fd, l->d, l->len, 0) != (ssize_t)l->len) {
		rc = err_set(err, -(l->d ? EIO : ENOMEM), "%s: cannot read", path);
		goto out;
	}
	if (hive_base_parse(l->d, l->len, &l->hb) < 0 || !l->hb.checksum_ok)
		rc = err_setc(err, ERR_FATAL, ERR_CORRUPT, -EINVAL,
			"%s: bad log base block (checksum)", path);
	else if (l->hb.seq1 != l->hb.seq2)
		rc = err_setc(err, ERR_FATAL, ERR_CORRUPT, -EINVAL,
			"%s: log was not completely written "
			  "(sequence %u/%u)", path, l->hb.seq1, l->hb.seq2);
	else if (l->hb.type != 1 && l->hb.type != 2 && l->hb.type != 6)
		rc = err_setc(err, ERR_FATAL, ERR_CORRUPT, -EINVAL,
			"%s: file type %u is not a log", path,
			  l->hb.type);
out:
	close(fd);
	if (rc < 0) {
		free(l->d);
		l->d = NULL;
	}
	return rc;
}

/* ---- new format (HvLE) -------------------------------------------------- */

/* Check the entry at off; 0 when every field and both hashes are right. */
static int entry_check(const struct logf *l, size_t off, struct entry *e)
{
	const uint8_t *p = l->d + off;
	uint64_t need;

	if (off + HVLE_HDR > l->len || memcmp(p, "HvLE", 4))
		return -EINVAL;
	e->p = p;
	e->size = le_get32(p + 4);
	e->seq = le_get32(p + 12);
	e->hbins = le_get32(p + 16);
	e->npages = le_get32(p + 20);
	if (e->size < HVLE_HDR || e->size % 512 || e->size > l->len - off ||
	    e->hbins == 0 || e->hbins % HIVE_BIN_ALIGN || e->hbins > HBINS_MAX)
		return -EINVAL;
	need = HVLE_HDR + 8ull * e->npages;
	if (need > e->size)
		return -EINVAL;
	for (uint32_t i = 0; i < e->npages; i++) {
		uint32_t po = le_get32(p + HVLE_HDR + 8 * i);
		uint32_t ps = le_get32(p + HVLE_HDR + 8 * i + 4);
		if (ps == 0 || po % 512 || ps % 512 ||
		    (uint64_t)po + ps > e->hbins)
			return -EINVAL;
		need += ps;
	}
	if (need > e->size)
		return -EINVAL;
	if (marvin32(p + HVLE_HDR, e->size - HVLE_HDR, MARVIN_SEED) != le_get64(p + 24) ||
	    marvin32(p, 32, MARVIN_SEED) != le_get64(p + 32))
		return -EBADMSG;
	return 0;
}

/* Valid entries of one log, in file order, until the first invalid one
 * (the spec: recovery stops at a bogus entry). */
static int collect(const struct logf *l, struct entry **v, size_t *n,
		   size_t *cap)
{
	size_t off = 512;
	struct entry e;

	while (entry_check(l, off, &e) == 0) {
		void *p = *v;

		if (buf_grow(&p, cap, *n + 1, sizeof(**v)) < 0)
			return -ENOMEM;
		*v = p;
		(*v)[(*n)++] = e;
		off += e.size;
	}
	return 0;
}

static int cmp_seq(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int apply_entry(int fd, const struct entry *e)
{
	const uint8_t *data = e->p + HVLE_HDR + 8ull * e->npages;

	for (uint32_t i = 0; i < e->npages; i++) {
		uint32_t po = le_get32(e->p + HVLE_HDR + 8 * i);
		uint32_t ps = le_get32(e->p + HVLE_HDR + 8 * i + 4);
		if (pwrite(fd, data, ps, (off_t)HIVE_BASE_SIZE + po) != (ssize_t)ps)
			return errno ? -errno : -EIO;
		data += ps;
	}
	return 0;
}

/* Apply, in sequence order, the entries that continue the primary: the
 * first must carry the primary's sequence number, each next one +1. */
static int replay_new(int fd, uint8_t *base, struct logf *logs, size_t nlogs,
		      unsigned *applied, struct err *err)
{
	struct entry *v = NULL;
	size_t n = 0, i = 0, cap = 0;
	uint32_t want = le_get32(base + 4), last = 0, hbins = le_get32(base + 40);
	int rc = 0;

	for (size_t k = 0; k < nlogs && rc == 0; k++)
		rc = collect(&logs[k], &v, &n, &cap);
	if (rc < 0)
		return err_set(err, rc, "out of memory");
	qsort(v, n, sizeof(*v), cmp_seq);
	while (i < n && v[i].seq < want)
		i++;  /* already in the primary */
	if (i == n || v[i].seq != want) {
		rc = n == 0 ? err_setc(err, ERR_FATAL, ERR_CORRUPT, -EINVAL,
			"the logs hold no valid entries")
		     : err_setc(err, ERR_FATAL, ERR_CORRUPT, -EINVAL,
			"the logs hold sequence %u..%u but the "
			    "hive needs %u next: the entries between are gone",
			    v[0].seq, v[n - 1].seq, want);
		goto out;
	}
	for (; i < n && v[i].seq <= want; i++) {
		if (v[i].seq < want)
			continue;  /* the same entry in both logs */
		if ((rc = apply_entry(fd, &v[i])) < 0) {
			rc = err_set(err, rc, "cannot write the private copy: %s",
				  strerror(-rc));
			goto out;
		}
		last = v[i].seq;
		hbins = v[i].hbins;
		want = last + 1;
		(*applied)++;
	}
	le_put32(base + 4, last);
	le_put32(base + 8, last);
	le_put32(base + 40, hbins);
out:
	free(v);
	return rc;
}

/* ---- old format (dirty vector) ------------------------------------------ */

static int replay_old(int fd, uint8_t *base, const struct logf *l,
		      unsigned *applied, struct err *err)
{
	uint32_t hbins = l->hb.data_size, bits = hbins / 512;
	size_t bytes = (bits + 7) / 8, pages, k = 0;

	if (memcmp(l->d + 12, base + 12, 8))
		return err_setc(err, ERR_FATAL, ERR_CORRUPT, -EINVAL,
			"%s: written for another state of the "
			    "hive (timestamp differs)", l->path);
	if (hbins == 0 || hbins % HIVE_BIN_ALIGN || hbins > HBINS_MAX ||
	    l->len < 512 + 4 + bytes || memcmp(l->d + 512, "DIRT", 4))
		return err_setc(err, ERR_FATAL, ERR_CORRUPT, -EINVAL,
			"%s: no valid dirty vector", l->path);
	pages = (512 + 4 + bytes + 511) / 512 * 512;
	for (uint32_t b = 0; b < bits; b++) {
		if (!(l->d[516 + b / 8] >> (b % 8) & 1))
			continue;
		size_t src = pages + 512 * k++;
		if (src + 512 > l->len)
			return err_setc(err, ERR_FATAL, ERR_CORRUPT, -EINVAL,
			"%s: dirty pages cut short",
				    l->path);
		if (pwrite(fd, l->d + src, 512, (off_t)HIVE_BASE_SIZE +
			   512 * (off_t)b) != 512)
			return err_set(err, -EIO, "cannot write the private copy");
	}
	*applied = (unsigned)k;
	le_put32(base + 8, le_get32(base + 4));
	le_put32(base + 40, hbins);
	return 0;
}

/* ---- driver ------------------------------------------------------------- */

/* The base block back, the file long enough for its bins, and hivex must
 * read the result: a replay that hivex cannot open is a failed replay. */
static int finish(int fd, const char *work, uint8_t *base, struct err *err)
{
	struct stat st;
	off_t need = (off_t)HIVE_BASE_SIZE + le_get32(base + 40);
	hive_h *hx;

	hive_base_fix_checksum(base);
	if (pwrite(fd, base, HIVE_BASE_SIZE, 0) != HIVE_BASE_SIZE ||
	    fstat(fd, &st) < 0 || (st.st_size < need && ftruncate(fd, need) < 0) ||
	    fsync(fd) < 0)
		return err_set(err, -(errno ? errno : EIO), "cannot write the private "
			    "copy: %s", strerror(errno ? errno : EIO));
	hx = hivex_open(work, 0);
	if (!hx || !hivex_root(hx)) {
		if (hx)
			hivex_close(hx);
		return err_setc(err, ERR_FATAL, ERR_CORRUPT, -EINVAL,
			"the replayed hive does not open");
	}
	hivex_close(hx);
	return 0;
}

int hive_log_replay(const char *work, const char *log1, const char *log2,
		    unsigned *applied, struct err *err)
{
	struct logf logs[2];
	const char *paths[2] = { log1, log2 };
	size_t n = 0, nnew = 0;
	uint8_t base[HIVE_BASE_SIZE];
	int fd = open(work, O_RDWR | O_CLOEXEC), rc = 0;

	*applied = 0;
	if (fd < 0)
		return err_set(err, -errno, "%s: %s", work, strerror(errno));
	if (pread(fd, base, sizeof(base), 0) != (ssize_t)sizeof(base)) {
		rc = err_set(err, -EIO, "cannot read the private copy");
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		struct err lerr = { 0 };

		if (paths[i] && load_log(paths[i], &logs[n], &lerr) == 0)
			nnew += logs[n++].hb.type == 6;
		else if (paths[i])
			err_copy(err, &lerr);  /* kept in case no log is usable */
	}
	if (n == 0) {
		rc = paths[0] || paths[1] ? -EINVAL
		     : err_set(err, -ENOENT, "no logs");
		goto out;
	}
	if (nnew) {
		rc = replay_new(fd, base, logs, n, applied, err);
	} else {
		rc = -EINVAL;
		for (size_t i = 0; i < n && rc < 0; i++)
			rc = replay_old(fd, base, &logs[i], applied, err);
	}
	if (rc == 0)
		rc = finish(fd, work, base, err);
out:
	for (size_t i = 0; i < n; i++)
		free(logs[i].d);
	close(fd);
	return rc;
}
