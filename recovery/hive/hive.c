/* hive.c - open, navigate, edit and atomically commit offline registry hives
 * on top of libhivex; the base block is checked by our own reader because
 * hivex neither explains a bad header nor knows about dirty hives. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "hive_impl.h"

/* A commit moves PATH.LOGn to PATH.LOGn LOG_ASIDE before the new hive takes
 * PATH's place, and deletes it after.  Cut off between the two, the old
 * (dirty) hive is still in place and its logs only under that name: they
 * are read from there when PATH.LOGn is absent, and removed by the next
 * commit. */
#define LOG_ASIDE ".sysrecover-old"

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* ---- base block ----------------------------------------------------------- */

uint32_t hive_base_checksum(const uint8_t *b)
{
	uint32_t x = 0;

	for (size_t i = 0; i < 508; i += 4)
		x ^= le32(b + i);
	/* Windows never stores 0 or ~0 here (regf spec, "Base block"). */
	if (x == 0xffffffffu)
		x = 0xfffffffeu;
	else if (x == 0)
		x = 1;
	return x;
}

void hive_base_fix_checksum(uint8_t *b)
{
	uint32_t c = hive_base_checksum(b);

	b[508] = c & 0xff;
	b[509] = c >> 8 & 0xff;
	b[510] = c >> 16 & 0xff;
	b[511] = c >> 24;
}

int hive_base_parse(const uint8_t *b, size_t len, struct hive_base *out)
{
	if (len < 512 || memcmp(b, "regf", 4))
		return -EINVAL;
	out->seq1 = le32(b + 4);
	out->seq2 = le32(b + 8);
	out->major = le32(b + 20);
	out->minor = le32(b + 24);
	out->type = le32(b + 28);
	out->format = le32(b + 32);
	out->root = le32(b + 36);
	out->data_size = le32(b + 40);
	out->clustering = le32(b + 44);
	out->checksum = le32(b + 508);
	/* hivex stores the plain XOR; accept it as well as Windows' mapping. */
	uint32_t x = 0;
	for (size_t i = 0; i < 508; i += 4)
		x ^= le32(b + i);
	out->checksum_ok = out->checksum == x ||
			   out->checksum == hive_base_checksum(b);
	return 0;
}

/* ---- errors ------------------------------------------------------------- */

int hive_seterr(struct hive *h, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->errmsg, sizeof(h->errmsg), fmt, ap);
	va_end(ap);
	return code > 0 ? -code : code;
}

static int set_err(struct err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int set_err(struct err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (code > 0)
		code = -code;
	if (err) {
		err->level = ERR_FATAL, err->code = ERR_SYSTEM, err->errnum = -(code);
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

const char *hive_errmsg(const struct hive *h)
{
	return h->errmsg;
}

const char *hive_warning(const struct hive *h)
{
	return h->warning;
}

void hive_touch(struct hive *h, hive_key k)
{
	for (size_t i = 0; i < h->ntouched; i++)
		if (h->touched[i] == k)
			return;
	if (h->ntouched == h->captouched) {
		size_t cap = h->captouched ? h->captouched * 2 : 16;
		hive_key *t = realloc(h->touched, cap * sizeof(*t));
		if (!t)
			return;  /* only weakens the post-commit check */
		h->touched = t;
		h->captouched = cap;
	}
	h->touched[h->ntouched++] = k;
}

/* ---- UTF-16LE <-> UTF-8 ------------------------------------------------- */

static size_t put_utf8(char *o, uint32_t c)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xc0 | c >> 6);
		o[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xe0 | c >> 12);
		o[1] = (char)(0x80 | (c >> 6 & 0x3f));
		o[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | c >> 18);
	o[1] = (char)(0x80 | (c >> 12 & 0x3f));
	o[2] = (char)(0x80 | (c >> 6 & 0x3f));
	o[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

char *hive_utf16_to_utf8(const uint8_t *p, size_t len)
{
	size_t n = len / 2, o = 0;   /* an odd trailing byte is dropped */
	char *s = malloc(n * 3 + 1); /* a surrogate pair (2 units) = 4 bytes */

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = (uint32_t)p[2 * i] | (uint32_t)p[2 * i + 1] << 8;
		if (c == 0)
			break;
		if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
			uint32_t d = (uint32_t)p[2 * i + 2] |
				     (uint32_t)p[2 * i + 3] << 8;
			if (d >= 0xdc00 && d < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
				i++;
			} else {
				c = 0xfffd;
			}
		} else if (c >= 0xd800 && c < 0xe000) {
			c = 0xfffd;
		}
		o += put_utf8(s + o, c);
	}
	s[o] = '\0';
	return s;
}

/* One code point from UTF-8; 0 on invalid input. */
static size_t get_utf8(const unsigned char *s, uint32_t *c)
{
	size_t n;

	if (s[0] < 0x80) {
		*c = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		*c = s[0] & 0x1f, n = 2;
	} else if ((s[0] & 0xf0) == 0xe0) {
		*c = s[0] & 0x0f, n = 3;
	} else if ((s[0] & 0xf8) == 0xf0) {
		*c = s[0] & 0x07, n = 4;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*c = *c << 6 | (s[i] & 0x3f);
	}
	if (*c > 0x10ffff || (*c >= 0xd800 && *c < 0xe000) ||
	    (n == 2 && *c < 0x80) || (n == 3 && *c < 0x800) ||
	    (n == 4 && *c < 0x10000))
		return 0;
	return n;
}

int hive_utf8_to_utf16(const char *s, uint8_t **out, size_t *outlen)
{
	size_t len = strlen(s), o = 0;
	uint8_t *b = malloc(len * 2 + 2);  /* 4 UTF-8 bytes -> 2 units */
	const unsigned char *p = (const unsigned char *)s;

	if (!b)
		return -ENOMEM;
	while (*p) {
		uint32_t c;
		size_t n = get_utf8(p, &c);
		if (!n) {
			free(b);
			return -EILSEQ;
		}
		p += n;
		if (c >= 0x10000) {
			c -= 0x10000;
			uint32_t hi = 0xd800 + (c >> 10), lo = 0xdc00 + (c & 0x3ff);
			b[o++] = hi & 0xff, b[o++] = (uint8_t)(hi >> 8);
			c = lo;
		}
		b[o++] = c & 0xff, b[o++] = (uint8_t)(c >> 8);
	}
	b[o++] = 0, b[o++] = 0;
	*out = b;
	*outlen = o;
	return 0;
}

/* ---- files -------------------------------------------------------------- */

bool hive_file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int hive_mktemp(char **name, const char *what)
{
	const char *dir = getenv("TMPDIR");
	char *t = NULL;
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	if (asprintf(&t, "%s/sysrecover-%s-XXXXXX", dir, what) < 0)
		return -ENOMEM;
	fd = mkstemp(t);
	if (fd < 0) {
		int e = errno;
		free(t);
		return -e;
	}
	close(fd);
	*name = t;
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int hive_copy_file(const char *src, const char *dst)
{
	char buf[65536];
	int in = -1, out = -1, rc = 0;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if ((rc = write_all(out, buf, (size_t)n)) < 0)
			goto out;
	}
	if (fsync(out) < 0)
		rc = -errno;
out:
	if (out >= 0 && close(out) < 0 && !rc)
		rc = -errno;
	close(in);
	return rc;
}

static int read_base(const char *path, uint8_t *b, size_t *got)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, b, HIVE_BASE_SIZE, 0);
	close(fd);
	if (n < 0)
		return -errno;
	*got = (size_t)n;
	return 0;
}

/* Our own look at the base block, so a wrong file gets a clear reason. */
static int check_base(const char *file, const char *name, struct hive_base *hb,
		      struct err *err)
{
	uint8_t b[HIVE_BASE_SIZE];
	size_t got = 0;
	int rc = read_base(file, b, &got);

	if (rc < 0)
		return set_err(err, rc, "cannot open hive '%s': %s", name,
			       strerror(-rc));
	if (got < HIVE_BASE_SIZE || hive_base_parse(b, got, hb) < 0)
		return set_err(err, EINVAL, "cannot open hive '%s': %s", name,
			       got < HIVE_BASE_SIZE ? "file too short for a hive"
			       : "no 'regf' signature (not a hive)");
	if (!hb->checksum_ok)
		return set_err(err, EINVAL, "cannot open hive '%s': bad checksum "
			       "(corrupt or not a hive)", name);
	if (hb->major != 1 || hb->type != 0)
		return set_err(err, ENOTSUP, "cannot open hive '%s': %s %u.%u "
			       "type %u is not a primary hive we can edit", name,
			       "format version", hb->major, hb->minor, hb->type);
	return 0;
}

/* ---- open --------------------------------------------------------------- */

static struct hive *hive_new(const char *path, struct fs *fs, unsigned flags)
{
	struct hive *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->fs = fs;
	h->flags = flags;
	h->path = strdup(path);
	if (fs) {
		if (asprintf(&h->name, "%s:%s", fs_name(fs), path) < 0)
			h->name = NULL;
	} else {
		h->name = strdup(path);
	}
	if (!h->path || !h->name) {
		hive_close(h);
		return NULL;
	}
	return h;
}

static void unlink_tmp(char **p)
{
	if (*p) {
		unlink(*p);
		free(*p);
		*p = NULL;
	}
}

/* Replay failed: a writer is refused, a reader gets the file as it is. */
static int replay_failed(struct hive *h, const char *src, const char *why,
			 struct err *err)
{
	int rc;

	if (h->flags & HIVE_O_WRITE)
		return set_err(err, EBUSY, "cannot open hive '%s' for writing: "
			       "it is dirty (sequence %u/%u) and its logs cannot "
			       "be replayed (%.200s); boot Windows once so it applies "
			       "them, or remove %s.LOG1 and %s.LOG2 if you accept "
			       "losing the newest changes", h->name, h->info.seq1,
			       h->info.seq2, why, h->name, h->name);
	snprintf(h->warning, sizeof(h->warning), "hive is dirty (sequence "
		 "%u/%u) and its logs could not be replayed (%.300s): the newest "
		 "changes are missing", h->info.seq1, h->info.seq2, why);
	rc = hive_copy_file(src, h->work);  /* undo a half replay */
	if (rc < 0)
		return set_err(err, rc, "cannot copy hive '%s': %s", h->name,
			       strerror(-rc));
	return 0;
}

/* src: the hive file to start from; log1/log2: its logs or NULL. */
static int open_common(struct hive *h, const char *src, const char *log1,
		       const char *log2, struct err *err)
{
	struct hive_base hb;
	struct err lerr = { 0 };
	int rc = check_base(src, h->name, &hb, err);

	if (rc < 0)
		return rc;
	h->info.seq1 = hb.seq1;
	h->info.seq2 = hb.seq2;
	h->info.dirty = hb.seq1 != hb.seq2;
	h->info.logs_present = log1 || log2;
	bool replay = h->info.dirty && h->info.logs_present;
	if ((h->flags & HIVE_O_WRITE) || replay) {
		if ((rc = hive_mktemp(&h->work, "hive")) < 0 ||
		    (rc = hive_copy_file(src, h->work)) < 0)
			return set_err(err, rc, "cannot copy hive '%s' to a "
				       "private file: %s", h->name, strerror(-rc));
	}
	if (replay) {
		rc = hive_log_replay(h->work, log1, log2, &h->info.log_entries,
				     &lerr);
		if (rc == 0)
			h->info.replayed = true;
		else if ((rc = replay_failed(h, src, lerr.msg, err)) < 0)
			return rc;
	} else if (h->info.dirty) {
		snprintf(h->warning, sizeof(h->warning), "hive is dirty "
			 "(sequence %u/%u) and has no logs beside it: the "
			 "newest changes Windows made may be missing",
			 hb.seq1, hb.seq2);
	}
	const char *file = h->work ? h->work : src;
	h->hx = hivex_open(file, h->flags & HIVE_O_WRITE ? HIVEX_OPEN_WRITE : 0);
	if (!h->hx)
		return set_err(err, errno ? errno : EINVAL, "cannot open hive "
			       "'%s': libhivex rejects its structure (%s): corrupt "
			       "or not a hive", h->name,
			       strerror(errno ? errno : EINVAL));
	if (hivex_root(h->hx) == 0)
		return set_err(err, EINVAL, "cannot open hive '%s': no readable "
			       "root key (corrupt)", h->name);
	return 0;
}

/* PATH.LOGn, or the name a cut-off commit left it under. */
static char *local_log(const char *path, int n)
{
	char *p = NULL;

	if (asprintf(&p, "%s.LOG%d", path, n) < 0)
		return NULL;
	if (hive_file_exists(p))
		return p;
	free(p);
	return asprintf(&p, "%s.LOG%d" LOG_ASIDE, path, n) < 0 ? NULL : p;
}

int hive_open(const char *path, unsigned flags, struct hive **out,
	      struct err *err)
{
	struct hive *h = hive_new(path, NULL, flags);
	char *l1 = NULL, *l2 = NULL;
	int rc;

	if (!h)
		return set_err(err, ENOMEM, "cannot open hive '%s': %s", path,
			       strerror(ENOMEM));
	if (!(l1 = local_log(path, 1)) || !(l2 = local_log(path, 2))) {
		rc = set_err(err, ENOMEM, "out of memory");
		goto out;
	}
	rc = open_common(h, path, hive_file_exists(l1) ? l1 : NULL,
			 hive_file_exists(l2) ? l2 : NULL, err);
out:
	free(l1);
	free(l2);
	if (rc < 0) {
		hive_close(h);
		return rc;
	}
	*out = h;
	return 0;
}

void hive_close(struct hive *h)
{
	if (!h)
		return;
	if (h->hx)
		hivex_close(h->hx);
	unlink_tmp(&h->work);
	unlink_tmp(&h->orig);
	free(h->touched);
	free(h->path);
	free(h->name);
	free(h);
}

const struct hive_info *hive_info(const struct hive *h)
{
	return &h->info;
}

const char *hive_name(const struct hive *h)
{
	return h->name;
}

/* ---- open from a volume ------------------------------------------------- */

/* Copy a file out of the volume into a new temp file. -ENOENT if absent. */
static int fs_copy_out(struct fs *fs, const char *path, char **tmp)
{
	struct fs_file *f = NULL;
	char buf[65536];
	uint64_t off = 0;
	int fd = -1, rc;

	rc = fs_file_open(fs, path, NULL, 0, &f);
	if (rc < 0)
		return rc;
	if ((rc = hive_mktemp(tmp, "fshive")) < 0)
		goto out;
	fd = open(*tmp, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = fs_file_pread(f, buf, sizeof(buf), off);
		if (n < 0) {
			rc = (int)n;
			goto out;
		}
		if (n == 0)
			break;
		if ((rc = write_all(fd, buf, (size_t)n)) < 0)
			goto out;
		off += (uint64_t)n;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (f)
		fs_file_close(f);
	if (rc < 0 && *tmp)
		unlink_tmp(tmp);
	return rc;
}

int hive_open_fs(struct fs *fs, const char *path, unsigned flags,
		 struct hive **out, struct err *err)
{
	struct hive *h = hive_new(path, fs, flags);
	char *logs[2] = { NULL, NULL };
	int rc;

	if (!h)
		return set_err(err, ENOMEM, "out of memory");
	rc = fs_copy_out(fs, path, &h->orig);
	if (rc < 0) {
		rc = set_err(err, rc, "cannot open hive '%s': %s", h->name,
			     *fs_errmsg(fs) ? fs_errmsg(fs) : strerror(-rc));
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		char *lp = NULL;
		if (asprintf(&lp, "%s.LOG%d", path, i + 1) < 0) {
			rc = set_err(err, ENOMEM, "out of memory");
			goto out;
		}
		rc = fs_copy_out(fs, lp, &logs[i]);
		free(lp);
		lp = NULL;
		if (rc == -ENOENT && asprintf(&lp, "%s.LOG%d" LOG_ASIDE, path,
					      i + 1) >= 0)
			rc = fs_copy_out(fs, lp, &logs[i]);
		free(lp);
		if (rc < 0 && rc != -ENOENT) {
			rc = set_err(err, rc, "cannot read the log of hive '%s': "
				     "%s", h->name, fs_errmsg(fs));
			goto out;
		}
	}
	rc = open_common(h, h->orig, logs[0], logs[1], err);
out:
	unlink_tmp(&logs[0]);
	unlink_tmp(&logs[1]);
	if (rc < 0) {
		hive_close(h);
		return rc;
	}
	*out = h;
	return 0;
}

/* ---- commit ------------------------------------------------------------- */

/* Same value list, names and bytes in both hives. */
static bool same_values(hive_h *a, hive_node_h na, hive_h *b, hive_node_h nb)
{
	hive_value_h *va = hivex_node_values(a, na);
	hive_value_h *vb = hivex_node_values(b, nb);
	bool same = va && vb;

	for (size_t i = 0; same && (va[i] || vb[i]); i++) {
		hive_type ta, tb;
		size_t la, lb;
		char *ka = hivex_value_key(a, va[i]), *kb = NULL;
		char *da = NULL, *db = NULL;
		same = va[i] && vb[i] && ka && (kb = hivex_value_key(b, vb[i]));
		same = same && !strcmp(ka, kb) &&
		       (da = hivex_value_value(a, va[i], &ta, &la)) &&
		       (db = hivex_value_value(b, vb[i], &tb, &lb)) &&
		       ta == tb && la == lb && !memcmp(da, db, la);
		free(ka), free(kb), free(da), free(db);
	}
	free(va);
	free(vb);
	return same;
}

/* The committed file: our base-block reader says clean, hivex reads it,
 * and every key we changed reads back the same (node offsets are kept by
 * hivex_commit, which writes the in-memory image). */
static int verify_committed(struct hive *h, const char *file)
{
	uint8_t b[HIVE_BASE_SIZE];
	struct hive_base hb = { 0 };
	size_t got = 0;
	hive_h *n;
	int rc = read_base(file, b, &got);

	if (rc < 0)
		return hive_seterr(h, rc, "cannot read back '%s': %s", file,
				   strerror(-rc));
	if (got < HIVE_BASE_SIZE || hive_base_parse(b, got, &hb) < 0 ||
	    !hb.checksum_ok || hb.seq1 != hb.seq2)
		return hive_seterr(h, EIO, "hivex wrote '%s' with a bad base block"
				   " (sequence %u/%u)", file, hb.seq1, hb.seq2);
	n = hivex_open(file, 0);
	if (!n || !hivex_root(n)) {
		rc = errno ? errno : EIO;
		if (n)
			hivex_close(n);
		return hive_seterr(h, rc, "written hive '%s' does not open: %s",
				   file, strerror(rc));
	}
	for (size_t i = 0; i < h->ntouched && rc == 0; i++) {
		hive_key k = h->touched[i];
		char *a = hivex_node_name(h->hx, k), *c;
		if (!a)
			continue;  /* deleted after it was changed */
		c = hivex_node_name(n, k);
		if (!c || strcmp(a, c) || !same_values(h->hx, k, n, k))
			rc = hive_seterr(h, EIO, "written hive '%s' does not "
					 "read back key '%s' as edited", file, a);
		free(a);
		free(c);
	}
	hivex_close(n);
	return rc;
}

static int fsync_path(const char *path, bool dir)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0 && errno != EINVAL)
		rc = -errno;
	close(fd);
	return rc;
}

/* The replacement failed: put the logs back where Windows expects them,
 * beside the original hive they belong to. */
static void logs_back(struct hive *h, char *aside[2])
{
	for (int i = 0; i < 2; i++) {
		char *lp = NULL;

		if (aside[i] && asprintf(&lp, "%s.LOG%d", h->path, i + 1) >= 0) {
			if (h->fs)
				fs_rename(h->fs, aside[i], lp, 0);
			else
				rename(aside[i], lp);
		}
		free(lp);
		free(aside[i]);
		aside[i] = NULL;
	}
}

static bool aside_exists(struct hive *h, const char *p)
{
	struct fs_stat st;

	return h->fs ? fs_lookup(h->fs, p, &st) == 0 : hive_file_exists(p);
}

/* Move PATH.LOGn aside (to PATH.bak.LOGn with a backup, else to a name we
 * delete once the new hive is in place), so that a crash can never leave a
 * clean new hive beside logs that Windows could replay over it. */
static int logs_aside(struct hive *h, char *aside[2])
{
	for (int i = 0; i < 2; i++) {
		char *lp = NULL;
		int rc = 0;
		if (asprintf(&lp, "%s.LOG%d", h->path, i + 1) < 0 ||
		    asprintf(&aside[i], h->flags & HIVE_O_BACKUP ? "%s.bak.LOG%d"
			     : "%s.LOG%d" LOG_ASIDE, h->path, i + 1) < 0) {
			free(lp);
			return -ENOMEM;
		}
		if (h->fs) {
			rc = fs_rename(h->fs, lp, aside[i], 0);
		} else if (rename(lp, aside[i]) < 0) {
			rc = -errno;
		}
		free(lp);
		if (rc == -ENOENT && !(h->flags & HIVE_O_BACKUP) &&
		    aside_exists(h, aside[i])) {
			rc = 0;  /* left by a commit cut off: drop it with ours */
		} else if (rc == -ENOENT) {
			free(aside[i]);
			aside[i] = NULL;
		} else if (rc < 0) {
			rc = hive_seterr(h, rc, "cannot move the log of hive "
					 "'%s' aside: %s", h->name, h->fs ?
					 fs_errmsg(h->fs) : strerror(-rc));
			free(aside[i]);
			aside[i] = NULL;
			logs_back(h, aside);  /* the one moved already */
			return rc;
		}
	}
	return 0;
}

static void logs_drop(struct hive *h, char *aside[2])
{
	for (int i = 0; i < 2; i++) {
		if (aside[i] && !(h->flags & HIVE_O_BACKUP)) {
			if (h->fs)
				fs_unlink(h->fs, aside[i]);
			else
				unlink(aside[i]);
		}
		free(aside[i]);
		aside[i] = NULL;
	}
}

static int replace_local(struct hive *h, const char *newf)
{
	char *bak = NULL, *dir = NULL, *aside[2] = { NULL, NULL };
	int rc = fsync_path(newf, false);

	if (rc < 0) {
		rc = hive_seterr(h, rc, "cannot sync '%s': %s", newf, strerror(-rc));
		goto out;
	}
	if (h->flags & HIVE_O_BACKUP) {
		if (asprintf(&bak, "%s.bak", h->path) < 0) {
			rc = -ENOMEM;
			goto out;
		}
		unlink(bak);
		if (link(h->path, bak) < 0 && hive_copy_file(h->path, bak) < 0) {
			rc = hive_seterr(h, errno, "cannot keep '%s': %s", bak,
					 strerror(errno));
			goto out;
		}
	}
	if ((rc = logs_aside(h, aside)) < 0)
		goto out;
	if (rename(newf, h->path) < 0) {
		rc = hive_seterr(h, errno, "cannot replace hive '%s': %s",
				 h->name, strerror(errno));
		logs_back(h, aside);
		goto out;
	}
	if ((dir = strdup(h->path)) != NULL)
		fsync_path(dirname(dir), true);
	logs_drop(h, aside);
out:
	for (int i = 0; i < 2; i++)
		free(aside[i]);
	free(bak);
	free(dir);
	return rc;
}

/* Write a local file into the volume at path (replacing it), read back. */
static int fs_put_file(struct fs *fs, const char *src, const char *path)
{
	struct fs_file *f = NULL;
	char buf[65536], chk[65536];
	uint64_t off = 0;
	int fd = open(src, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	rc = fs_unlink(fs, path);
	if ((rc < 0 && rc != -ENOENT) || (rc = fs_create(fs, path, 0644)) < 0 ||
	    (rc = fs_file_open(fs, path, NULL, FS_F_WRITE, &f)) < 0)
		goto out;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf)), w;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		w = fs_file_pwrite(f, buf, (size_t)n, off);
		if (w == n)
			w = fs_file_pread(f, chk, (size_t)n, off);
		if (w != n || memcmp(buf, chk, (size_t)n)) {
			rc = w < 0 ? (int)w : -EIO;
			goto out;
		}
		off += (uint64_t)n;
	}
	rc = 0;
out:
	if (f && fs_file_close(f) < 0 && rc == 0)
		rc = -EIO;
	close(fd);
	return rc;
}

static int replace_fs(struct hive *h, const char *newf)
{
	char *side = NULL, *bak = NULL, *aside[2] = { NULL, NULL };
	int rc;

	if (asprintf(&side, "%s.sysrecover-new", h->path) < 0 ||
	    asprintf(&bak, "%s.bak", h->path) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = fs_put_file(h->fs, newf, side)) < 0 ||
	    ((h->flags & HIVE_O_BACKUP) &&
	     (rc = fs_put_file(h->fs, h->orig, bak)) < 0)) {
		rc = hive_seterr(h, rc, "cannot write beside hive '%s': %s",
				 h->name, *fs_errmsg(h->fs) ? fs_errmsg(h->fs) :
				 strerror(-rc));
		goto out;
	}
	if ((rc = logs_aside(h, aside)) < 0)
		goto out;
	if ((rc = fs_rename(h->fs, side, h->path, 0)) < 0) {
		rc = hive_seterr(h, rc, "cannot replace hive '%s': %s", h->name,
				 fs_errmsg(h->fs));
		logs_back(h, aside);
		goto out;
	}
	logs_drop(h, aside);
	if ((rc = fs_sync(h->fs)) < 0)
		rc = hive_seterr(h, rc, "cannot sync volume of hive '%s': %s",
				 h->name, fs_errmsg(h->fs));
out:
	for (int i = 0; i < 2; i++)
		free(aside[i]);
	free(side);
	free(bak);
	return rc;
}

static int commit_file(struct hive *h, char **newf)
{
	if (h->fs)
		return hive_mktemp(newf, "commit");
	if (asprintf(newf, "%s.sysrecover-new", h->path) < 0)
		return -ENOMEM;
	unlink(*newf);
	return 0;
}

int hive_commit(struct hive *h, struct err *err)
{
	char *newf = NULL;
	int rc;

	h->errmsg[0] = '\0';
	if (!(h->flags & HIVE_O_WRITE))
		return set_err(err, EROFS, "cannot commit hive '%s': opened "
			       "read-only", h->name);
	if ((rc = commit_file(h, &newf)) < 0) {
		rc = hive_seterr(h, rc, "cannot commit hive '%s': %s", h->name,
				 strerror(-rc));
		goto out;
	}
	if (hivex_commit(h->hx, newf, 0) < 0) {
		rc = hive_seterr(h, errno, "cannot commit hive '%s': hivex: %s",
				 h->name, strerror(errno));
		goto out;
	}
	if ((rc = verify_committed(h, newf)) < 0)
		goto out;
	rc = h->fs ? replace_fs(h, newf) : replace_local(h, newf);
	if (rc == 0 && !h->fs) {
		free(newf);  /* renamed into place */
		newf = NULL;
	}
out:
	if (newf) {
		unlink(newf);
		free(newf);
	}
	if (rc < 0)
		return set_err(err, rc, "%s", h->errmsg);
	h->info.dirty = false;
	h->info.logs_present = false;
	h->ntouched = 0;
	return 0;
}

/* ---- keys --------------------------------------------------------------- */

int hive_root(struct hive *h, hive_key *out)
{
	hive_node_h r = hivex_root(h->hx);

	if (!r)
		return hive_seterr(h, errno ? errno : EINVAL, "hive '%s' has no "
				   "readable root key", h->name);
	*out = r;
	return 0;
}

static int resolve(struct hive *h, const char *path, bool create, hive_key *out)
{
	char *copy = strdup(path), *save = NULL, *comp, ccs[16];
	hive_node_h node = hivex_root(h->hx);
	int rc = 0;
	bool first = true;

	if (!copy)
		return -ENOMEM;
	if (!node) {
		rc = hive_seterr(h, EINVAL, "hive '%s' has no root key", h->name);
		goto out;
	}
	for (comp = strtok_r(copy, "\\", &save); comp;
	     comp = strtok_r(NULL, "\\", &save)) {
		unsigned cur, def;
		if (first && !strcasecmp(comp, "CurrentControlSet")) {
			if ((rc = hive_ccs(h, &cur, &def)) < 0)
				goto out;
			snprintf(ccs, sizeof(ccs), "ControlSet%03u", cur);
			comp = ccs;
		}
		first = false;
		errno = 0;
		hive_node_h next = hivex_node_get_child(h->hx, node, comp);
		if (!next && errno) {
			rc = hive_seterr(h, errno, "cannot read key '%s' in hive "
					 "'%s': %s", path, h->name, strerror(errno));
			goto out;
		}
		if (!next && create) {
			next = hivex_node_add_child(h->hx, node, comp);
			if (!next) {
				rc = hive_seterr(h, errno ? errno : EIO, "cannot "
						 "create key '%s' in hive '%s': %s",
						 path, h->name, strerror(errno));
				goto out;
			}
			hive_touch(h, node);
			hive_touch(h, next);
		}
		if (!next) {
			rc = hive_seterr(h, ENOENT, "no key '%s' in hive '%s'",
					 path, h->name);
			goto out;
		}
		node = next;
	}
	*out = node;
out:
	free(copy);
	return rc;
}

int hive_lookup(struct hive *h, const char *path, hive_key *out)
{
	h->errmsg[0] = '\0';
	return resolve(h, path, false, out);
}

int hive_create(struct hive *h, const char *path, hive_key *out)
{
	h->errmsg[0] = '\0';
	if (!(h->flags & HIVE_O_WRITE))
		return hive_seterr(h, EROFS, "hive '%s' is open read-only",
				   h->name);
	return resolve(h, path, true, out);
}

int hive_delete_key(struct hive *h, hive_key k)
{
	hive_node_h parent;

	if (!(h->flags & HIVE_O_WRITE))
		return hive_seterr(h, EROFS, "hive '%s' is open read-only",
				   h->name);
	if (k == hivex_root(h->hx))
		return hive_seterr(h, EINVAL, "cannot delete the root key of "
				   "hive '%s'", h->name);
	parent = hivex_node_parent(h->hx, k);
	if (!parent || hivex_node_delete_child(h->hx, k) < 0)
		return hive_seterr(h, errno ? errno : EINVAL, "cannot delete key "
				   "in hive '%s': %s", h->name, strerror(errno));
	hive_touch(h, parent);
	return 0;
}

int hive_children(struct hive *h, hive_key k, hive_child_cb cb, void *arg)
{
	hive_node_h *kids = hivex_node_children(h->hx, k);
	int rc = 0;

	if (!kids)
		return hive_seterr(h, errno ? errno : EINVAL, "cannot list "
				   "subkeys in hive '%s': %s", h->name,
				   strerror(errno ? errno : EINVAL));
	for (size_t i = 0; kids[i] && rc == 0; i++) {
		char *name = hivex_node_name(h->hx, kids[i]);
		if (!name) {
			rc = hive_seterr(h, errno ? errno : EINVAL, "bad subkey "
					 "name in hive '%s'", h->name);
			break;
		}
		rc = cb(arg, name, kids[i]);
		free(name);
	}
	free(kids);
	return rc;
}

int hive_values(struct hive *h, hive_key k, hive_value_cb cb, void *arg)
{
	hive_value_h *vals = hivex_node_values(h->hx, k);
	int rc = 0;

	if (!vals)
		return hive_seterr(h, errno ? errno : EINVAL, "cannot list "
				   "values in hive '%s': %s", h->name,
				   strerror(errno ? errno : EINVAL));
	for (size_t i = 0; vals[i] && rc == 0; i++) {
		hive_type t;
		size_t len;
		char *name = hivex_value_key(h->hx, vals[i]);
		char *data = name ? hivex_value_value(h->hx, vals[i], &t, &len)
				  : NULL;
		if (!data)
			rc = hive_seterr(h, errno ? errno : EINVAL, "unreadable "
					 "value in hive '%s'", h->name);
		else
			rc = cb(arg, name, (uint32_t)t, data, len);
		free(name);
		free(data);
	}
	free(vals);
	return rc;
}

/* ---- values ------------------------------------------------------------- */

int hive_get(struct hive *h, hive_key k, const char *name, uint32_t *type,
	     void **data, size_t *len)
{
	hive_value_h v;
	hive_type t;
	char *d;

	h->errmsg[0] = '\0';
	errno = 0;
	v = hivex_node_get_value(h->hx, k, name);
	if (!v)
		return errno ? hive_seterr(h, errno, "cannot read value '%s' in "
					   "hive '%s': %s", name, h->name,
					   strerror(errno))
			     : hive_seterr(h, ENOENT, "no value '%s' in hive "
					   "'%s'", name, h->name);
	d = hivex_value_value(h->hx, v, &t, len);
	if (!d)
		return hive_seterr(h, errno ? errno : EINVAL, "cannot read value "
				   "'%s' in hive '%s': %s", name, h->name,
				   strerror(errno ? errno : EINVAL));
	*type = (uint32_t)t;
	*data = d;
	return 0;
}

int hive_set(struct hive *h, hive_key k, const char *name, uint32_t type,
	     const void *data, size_t len)
{
	hive_set_value v = {
		.key = (char *)name, .t = (hive_type)type, .len = len,
		.value = (char *)data,
	};

	h->errmsg[0] = '\0';
	if (!(h->flags & HIVE_O_WRITE))
		return hive_seterr(h, EROFS, "hive '%s' is open read-only",
				   h->name);
	/* set_value replaces or adds this one value and keeps the others. */
	if (hivex_node_set_value(h->hx, k, &v, 0) < 0)
		return hive_seterr(h, errno ? errno : EIO, "cannot set value "
				   "'%s' in hive '%s': %s", name, h->name,
				   errno == ERANGE ? "value too large for hivex"
				   : strerror(errno ? errno : EIO));
	hive_touch(h, k);
	return 0;
}

static void free_setv(hive_set_value *sv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(sv[i].key);
		free(sv[i].value);
	}
	free(sv);
}

int hive_unset(struct hive *h, hive_key k, const char *name)
{
	hive_value_h *vals = hivex_node_values(h->hx, k);
	hive_set_value *sv = NULL;
	size_t n = 0, kept = 0;
	bool found = false;
	int rc = 0;

	if (!(h->flags & HIVE_O_WRITE))
		rc = hive_seterr(h, EROFS, "hive '%s' is open read-only", h->name);
	else if (!vals)
		rc = hive_seterr(h, errno ? errno : EINVAL, "cannot list values "
				 "in hive '%s'", h->name);
	if (rc < 0)
		goto out;
	while (vals[n])
		n++;
	sv = calloc(n + 1, sizeof(*sv));
	for (size_t i = 0; sv && i < n; i++) {
		char *key = hivex_value_key(h->hx, vals[i]);
		if (key && !found && !strcasecmp(key, name)) {
			found = true;
			free(key);
			continue;
		}
		sv[kept].key = key;
		sv[kept].value = hivex_value_value(h->hx, vals[i], &sv[kept].t,
						   &sv[kept].len);
		if (!key || !sv[kept++].value) {
			rc = hive_seterr(h, EIO, "unreadable value in hive '%s'",
					 h->name);
			goto out;
		}
	}
	if (!sv)
		rc = -ENOMEM;
	else if (!found)
		rc = hive_seterr(h, ENOENT, "no value '%s' in hive '%s'", name,
				 h->name);
	/* hivex has no "delete value": write the list back without it. */
	else if (hivex_node_set_values(h->hx, k, kept, sv, 0) < 0)
		rc = hive_seterr(h, errno ? errno : EIO, "cannot remove value "
				 "'%s' in hive '%s': %s", name, h->name,
				 strerror(errno ? errno : EIO));
	else
		hive_touch(h, k);
out:
	free_setv(sv, kept);
	free(vals);
	return rc;
}

/* ---- typed helpers ------------------------------------------------------ */

/* The bytes of a string value of any of the three string types; real
 * hives mix them up, so each reader accepts all three. */
static int get_text(struct hive *h, hive_key k, const char *name,
		    const char *want, void **d, size_t *len)
{
	uint32_t t;
	int rc = hive_get(h, k, name, &t, d, len);

	if (rc < 0)
		return rc;
	if (t == HIVE_REG_SZ || t == HIVE_REG_EXPAND_SZ || t == HIVE_REG_MULTI_SZ)
		return 0;
	free(*d);
	return hive_seterr(h, EINVAL, "value '%s' in hive '%s' is type %u, not %s",
			   name, h->name, t, want);
}

int hive_get_sz(struct hive *h, hive_key k, const char *name, char **out)
{
	void *d;
	size_t len;
	int rc = get_text(h, k, name, "a string", &d, &len);

	if (rc < 0)
		return rc;
	if (!(*out = hive_utf16_to_utf8(d, len)))
		rc = -ENOMEM;
	free(d);
	return rc;
}

int hive_set_sz(struct hive *h, hive_key k, const char *name, const char *s)
{
	uint8_t *u;
	size_t len;
	int rc = hive_utf8_to_utf16(s, &u, &len);

	if (rc < 0)
		return hive_seterr(h, rc, "value '%s': not valid UTF-8", name);
	rc = hive_set(h, k, name, HIVE_REG_SZ, u, len);
	free(u);
	return rc;
}

void hive_strv_free(char **strs)
{
	if (!strs)
		return;
	for (size_t i = 0; strs[i]; i++)
		free(strs[i]);
	free(strs);
}

/* Every NUL-terminated string (empty ones in the middle kept, trailing
 * empty ones dropped: they are the terminator). */
static char **split_multi(const uint8_t *d, size_t len)
{
	size_t units = len / 2, n = 0, start = 0;
	char **v = calloc(units + 2, sizeof(*v));

	if (!v)
		return NULL;
	for (size_t i = 0; i <= units; i++) {
		bool end = i == units;
		if (!end && (d[2 * i] || d[2 * i + 1]))
			continue;
		if (end && start == units)
			break;
		v[n] = hive_utf16_to_utf8(d + 2 * start, 2 * (i - start));
		if (!v[n++]) {
			hive_strv_free(v);
			return NULL;
		}
		start = i + 1;
	}
	while (n > 0 && !*v[n - 1]) {
		free(v[--n]);
		v[n] = NULL;
	}
	return v;
}

int hive_get_multi_sz(struct hive *h, hive_key k, const char *name, char ***strs)
{
	void *d;
	size_t len;
	int rc = get_text(h, k, name, "REG_MULTI_SZ", &d, &len);

	if (rc < 0)
		return rc;
	if (!(*strs = split_multi(d, len)))
		rc = -ENOMEM;
	free(d);
	return rc;
}

int hive_set_multi_sz(struct hive *h, hive_key k, const char *name,
		      char *const *strs)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = 0;

	for (size_t i = 0; strs && strs[i] && rc == 0; i++) {
		uint8_t *u, *nb;
		size_t ul;
		if ((rc = hive_utf8_to_utf16(strs[i], &u, &ul)) < 0)
			break;
		nb = realloc(buf, len + ul + 2);
		if (nb) {
			buf = nb;
			memcpy(buf + len, u, ul);
			len += ul;
		} else {
			rc = -ENOMEM;
		}
		free(u);
	}
	uint8_t *nb = rc == 0 ? realloc(buf, len + 2) : NULL;
	if (nb) {
		buf = nb;
		buf[len++] = 0, buf[len++] = 0;  /* the list terminator */
		rc = hive_set(h, k, name, HIVE_REG_MULTI_SZ, buf, len);
	} else if (rc == 0) {
		rc = -ENOMEM;
	}
	if (rc < 0 && !h->errmsg[0])
		hive_seterr(h, rc, "value '%s': %s", name, strerror(-rc));
	free(buf);
	return rc;
}

int hive_get_dword(struct hive *h, hive_key k, const char *name, uint32_t *v)
{
	uint32_t t;
	void *d;
	size_t len;
	int rc = hive_get(h, k, name, &t, &d, &len);
	const uint8_t *p = d;

	if (rc < 0)
		return rc;
	if ((t != HIVE_REG_DWORD && t != 5) || len < 4)
		rc = hive_seterr(h, EINVAL, "value '%s' in hive '%s' is not a "
				 "DWORD (type %u, %zu bytes)", name, h->name, t,
				 len);
	else if (t == 5)  /* REG_DWORD_BIG_ENDIAN */
		*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		     (uint32_t)p[2] << 8 | p[3];
	else
		*v = le32(p);
	free(d);
	return rc;
}

int hive_set_dword(struct hive *h, hive_key k, const char *name, uint32_t v)
{
	uint8_t b[4] = { v & 0xff, v >> 8 & 0xff, v >> 16 & 0xff, v >> 24 };

	return hive_set(h, k, name, HIVE_REG_DWORD, b, 4);
}

/* ---- control sets ------------------------------------------------------- */

int hive_ccs(struct hive *h, unsigned *current, unsigned *def)
{
	hive_node_h sel;
	uint32_t cur = 0, d = 0;
	int rc;

	errno = 0;
	sel = hivex_node_get_child(h->hx, hivex_root(h->hx), "Select");
	if (!sel) {
		if (errno)
			return hive_seterr(h, errno, "cannot read key 'Select' "
					   "in hive '%s'", h->name);
		*current = *def = 1;  /* seed-digest 7: no Select = ControlSet001 */
		return 0;
	}
	rc = hive_get_dword(h, sel, "Current", &cur);
	if (rc == -ENOENT)
		rc = hive_get_dword(h, sel, "Default", &cur);
	if (rc == -ENOENT) {
		cur = 1;
		rc = 0;
	}
	if (rc == 0 && (rc = hive_get_dword(h, sel, "Default", &d)) == -ENOENT) {
		d = cur;
		rc = 0;
	}
	if (rc < 0)
		return rc;
	if (cur < 1 || cur > 999 || d < 1 || d > 999)
		return hive_seterr(h, EINVAL, "hive '%s': Select\\Current = %u, "
				   "Default = %u: control set out of range 1..999",
				   h->name, cur, d);
	h->errmsg[0] = '\0';
	*current = cur;
	*def = d;
	return 0;
}
