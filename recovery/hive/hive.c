/* hive.c - open, navigate and edit offline registry hives on libhivex, with our own base-block check. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fs.h"
#include "hive_impl.h"
#include "le.h"
#include "text.h"

/* ---- base block ----------------------------------------------------------- */

uint32_t hive_base_checksum(const uint8_t *b)
{
	uint32_t x = 0;

	for (size_t i = 0; i < 508; i += 4)
		x ^= le_get32(b + i);
	/* Windows never stores 0 or ~0 here (regf spec, "Base block"). */
	if (x == 0xffffffffu)
		x = 0xfffffffeu;
	else if (x == 0)
		x = 1;
	return x;
}

void hive_base_fix_checksum(uint8_t *b)
{
	le_put32(b + 508, hive_base_checksum(b));
}

int hive_base_parse(const uint8_t *b, size_t len, struct hive_base *out)
{
	if (len < 512 || memcmp(b, "regf", 4))
		return -EINVAL;
	out->seq1 = le_get32(b + 4);
	out->seq2 = le_get32(b + 8);
	out->major = le_get32(b + 20);
	out->minor = le_get32(b + 24);
	out->type = le_get32(b + 28);
	out->format = le_get32(b + 32);
	out->root = le_get32(b + 36);
	out->data_size = le_get32(b + 40);
	out->clustering = le_get32(b + 44);
	out->checksum = le_get32(b + 508);
	/* hivex stores the plain XOR; accept it as well as Windows' mapping. */
	uint32_t x = 0;
	for (size_t i = 0; i < 508; i += 4)
		x ^= le_get32(b + i);
	out->checksum_ok = out->checksum == x ||
			   out->checksum == hive_base_checksum(b);
	return 0;
}

/* ---- errors ------------------------------------------------------------- */

const struct err *hive_error(const struct hive *h)
{
	return &h->err;
}

const char *hive_errmsg(const struct hive *h)
{
	return h->err.msg;
}

const char *hive_warning(const struct hive *h)
{
	return h->warn.msg;
}

void hive_touch(struct hive *h, hive_key k)
{
	void *p = h->touched;

	for (size_t i = 0; i < h->ntouched; i++)
		if (h->touched[i] == k)
			return;
	if (buf_grow(&p, &h->captouched, h->ntouched + 1, sizeof(*h->touched)) < 0)
		return;  /* only weakens the post-commit check */
	h->touched = p;
	h->touched[h->ntouched++] = k;
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

int hive_read_base(const char *path, uint8_t *b, size_t *got)
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
	int rc = hive_read_base(file, b, &got);

	if (rc < 0)
		return err_set(err, rc, "cannot open hive '%s': %s", name,
			       strerror(-rc));
	if (got < HIVE_BASE_SIZE || hive_base_parse(b, got, hb) < 0)
		return err_setc(err, ERR_FATAL, ERR_CORRUPT, -EINVAL, "cannot open hive '%s': %s", name,
			       got < HIVE_BASE_SIZE ? "file too short for a hive"
			       : "no 'regf' signature (not a hive)");
	if (!hb->checksum_ok)
		return err_setc(err, ERR_FATAL, ERR_CORRUPT, -EINVAL, "cannot open hive '%s': bad checksum "
			       "(corrupt or not a hive)", name);
	if (hb->major != 1 || hb->type != 0)
		return err_setc(err, ERR_FATAL, ERR_CORRUPT, -ENOTSUP, "cannot open hive '%s': %s %u.%u "
			       "type %u is not a primary hive we can edit", name,
			       "format version", hb->major, hb->minor, hb->type);
	return 0;
}

/* ---- open --------------------------------------------------------------- */

struct hive *hive_new(const char *path, struct fs *fs, unsigned flags)
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
		return err_setc(err, ERR_FATAL, ERR_REFUSED, -EBUSY, "cannot open hive '%s' for writing: "
			       "it is dirty (sequence %u/%u) and its logs cannot "
			       "be replayed (%.200s); boot Windows once so it applies "
			       "them, or remove %s.LOG1 and %s.LOG2 if you accept "
			       "losing the newest changes", h->name, h->info.seq1,
			       h->info.seq2, why, h->name, h->name);
	err_setc(&h->warn, ERR_WARNING, ERR_CORRUPT, 0, "hive is dirty (sequence "
		 "%u/%u) and its logs could not be replayed (%.300s): the newest "
		 "changes are missing", h->info.seq1, h->info.seq2, why);
	rc = hive_copy_file(src, h->work);  /* undo a half replay */
	if (rc < 0)
		return err_set(err, rc, "cannot copy hive '%s': %s", h->name,
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
			return err_set(err, rc, "cannot copy hive '%s' to a "
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
		err_setc(&h->warn, ERR_WARNING, ERR_CORRUPT, 0, "hive is dirty "
			 "(sequence %u/%u) and has no logs beside it: the "
			 "newest changes Windows made may be missing",
			 hb.seq1, hb.seq2);
	}
	const char *file = h->work ? h->work : src;
	h->hx = hivex_open(file, h->flags & HIVE_O_WRITE ? HIVEX_OPEN_WRITE : 0);
	if (!h->hx)
		return err_setc(err, ERR_FATAL, ERR_CORRUPT, -(errno ? errno : EINVAL), "cannot open hive "
			       "'%s': libhivex rejects its structure (%s): corrupt "
			       "or not a hive", h->name,
			       strerror(errno ? errno : EINVAL));
	if (hivex_root(h->hx) == 0)
		return err_setc(err, ERR_FATAL, ERR_CORRUPT, -EINVAL, "cannot open hive '%s': no readable "
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
	return asprintf(&p, "%s.LOG%d" HIVE_LOG_ASIDE, path, n) < 0 ? NULL : p;
}

int hive_open(const char *path, unsigned flags, struct hive **out,
	      struct err *err)
{
	struct hive *h = hive_new(path, NULL, flags);
	char *l1 = NULL, *l2 = NULL;
	int rc;

	if (!h)
		return err_set(err, -ENOMEM, "cannot open hive '%s': %s", path,
			       strerror(ENOMEM));
	if (!(l1 = local_log(path, 1)) || !(l2 = local_log(path, 2))) {
		rc = err_set(err, -ENOMEM, "out of memory");
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

/* Copy a file out of the volume into a new temp file. -ENOENT if absent.
 * A failure on the volume keeps fs's own sentence (fs.h promises one); a
 * local one gets its own. */
int hive_copy_from_volume(struct fs *fs, const char *path, char **tmp,
			  struct err *e)
{
	struct fs_file *f = NULL;
	char buf[65536];
	uint64_t off = 0;
	int fd = -1, rc;

	if ((rc = fs_file_open(fs, path, NULL, 0, &f)) < 0)
		goto fs_failed;
	if ((rc = hive_mktemp(tmp, "fshive")) < 0) {
		err_set(e, rc, "cannot make a temporary copy of '%s': %s", path,
			strerror(-rc));
		goto out;
	}
	fd = open(*tmp, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0) {
		rc = err_set(e, -errno, "cannot open '%s': %s", *tmp, strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t n = fs_file_pread(f, buf, sizeof(buf), off);
		if (n < 0) {
			rc = (int)n;
			goto fs_failed;
		}
		if (n == 0)
			break;
		if ((rc = write_all(fd, buf, (size_t)n)) < 0) {
			err_set(e, rc, "cannot write '%s': %s", *tmp, strerror(-rc));
			goto out;
		}
		off += (uint64_t)n;
	}
	rc = 0;
	goto out;
fs_failed:
	err_copy(e, fs_error(fs));
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
		return err_set(err, -ENOMEM, "out of memory");
	rc = hive_copy_from_volume(fs, path, &h->orig, err);
	if (rc < 0) {
		err_context(err, "while opening hive '%s'", h->name);
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		char *lp = NULL;
		if (asprintf(&lp, "%s.LOG%d", path, i + 1) < 0) {
			rc = err_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		rc = hive_copy_from_volume(fs, lp, &logs[i], err);
		free(lp);
		lp = NULL;
		if (rc == -ENOENT && asprintf(&lp, "%s.LOG%d" HIVE_LOG_ASIDE, path,
					      i + 1) >= 0)
			rc = hive_copy_from_volume(fs, lp, &logs[i], err);
		free(lp);
		if (rc < 0 && rc != -ENOENT) {
			err_context(err, "while reading the logs of hive '%s'", h->name);
			goto out;
		}
		if (rc == -ENOENT)
			err_clear(err);
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

/* ---- keys --------------------------------------------------------------- */

int hive_root(struct hive *h, hive_key *out)
{
	hive_node_h r = hivex_root(h->hx);

	if (!r)
		return err_setc(&h->err, ERR_FATAL, ERR_CORRUPT, -(errno ? errno : EINVAL), "hive '%s' has no "
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
		rc = err_setc(&h->err, ERR_FATAL, ERR_CORRUPT, -EINVAL, "hive '%s' has no root key", h->name);
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
			rc = err_set(&h->err, -errno, "cannot read key '%s' in hive "
					 "'%s': %s", path, h->name, strerror(errno));
			goto out;
		}
		if (!next && create) {
			next = hivex_node_add_child(h->hx, node, comp);
			if (!next) {
				rc = err_set(&h->err, -(errno ? errno : EIO), "cannot "
						 "create key '%s' in hive '%s': %s",
						 path, h->name, strerror(errno));
				goto out;
			}
			hive_touch(h, node);
			hive_touch(h, next);
		}
		if (!next) {
			rc = err_set(&h->err, -ENOENT, "no key '%s' in hive '%s'",
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
	err_clear(&h->err);
	return resolve(h, path, false, out);
}

int hive_create(struct hive *h, const char *path, hive_key *out)
{
	err_clear(&h->err);
	if (!(h->flags & HIVE_O_WRITE))
		return err_set(&h->err, -EROFS, "hive '%s' is open read-only",
				   h->name);
	return resolve(h, path, true, out);
}

int hive_delete_key(struct hive *h, hive_key k)
{
	hive_node_h parent;

	if (!(h->flags & HIVE_O_WRITE))
		return err_set(&h->err, -EROFS, "hive '%s' is open read-only",
				   h->name);
	if (k == hivex_root(h->hx))
		return err_set(&h->err, -EINVAL, "cannot delete the root key of "
				   "hive '%s'", h->name);
	parent = hivex_node_parent(h->hx, k);
	if (!parent || hivex_node_delete_child(h->hx, k) < 0)
		return err_set(&h->err, -(errno ? errno : EINVAL), "cannot delete key "
				   "in hive '%s': %s", h->name, strerror(errno));
	hive_touch(h, parent);
	return 0;
}

int hive_children(struct hive *h, hive_key k, hive_child_cb cb, void *arg)
{
	hive_node_h *kids = hivex_node_children(h->hx, k);
	int rc = 0;

	if (!kids)
		return err_set(&h->err, -(errno ? errno : EINVAL), "cannot list "
				   "subkeys in hive '%s': %s", h->name,
				   strerror(errno ? errno : EINVAL));
	for (size_t i = 0; kids[i] && rc == 0; i++) {
		char *name = hivex_node_name(h->hx, kids[i]);
		if (!name) {
			rc = err_setc(&h->err, ERR_FATAL, ERR_CORRUPT, -(errno ? errno : EINVAL), "bad subkey "
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
		return err_set(&h->err, -(errno ? errno : EINVAL), "cannot list "
				   "values in hive '%s': %s", h->name,
				   strerror(errno ? errno : EINVAL));
	for (size_t i = 0; vals[i] && rc == 0; i++) {
		hive_type t;
		size_t len;
		char *name = hivex_value_key(h->hx, vals[i]);
		char *data = name ? hivex_value_value(h->hx, vals[i], &t, &len)
				  : NULL;
		if (!data)
			rc = err_setc(&h->err, ERR_FATAL, ERR_CORRUPT, -(errno ? errno : EINVAL), "unreadable "
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

	err_clear(&h->err);
	errno = 0;
	v = hivex_node_get_value(h->hx, k, name);
	if (!v)
		return errno ? err_set(&h->err, -errno, "cannot read value '%s' in "
					   "hive '%s': %s", name, h->name,
					   strerror(errno))
			     : err_set(&h->err, -ENOENT, "no value '%s' in hive "
					   "'%s'", name, h->name);
	d = hivex_value_value(h->hx, v, &t, len);
	if (!d)
		return err_set(&h->err, -(errno ? errno : EINVAL), "cannot read value "
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

	err_clear(&h->err);
	if (!(h->flags & HIVE_O_WRITE))
		return err_set(&h->err, -EROFS, "hive '%s' is open read-only",
				   h->name);
	/* set_value replaces or adds this one value and keeps the others. */
	if (hivex_node_set_value(h->hx, k, &v, 0) < 0)
		return err_set(&h->err, -(errno ? errno : EIO), "cannot set value "
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
		rc = err_set(&h->err, -EROFS, "hive '%s' is open read-only", h->name);
	else if (!vals)
		rc = err_set(&h->err, -(errno ? errno : EINVAL), "cannot list values "
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
			rc = err_setc(&h->err, ERR_FATAL, ERR_CORRUPT, -EIO, "unreadable value in hive '%s'",
					 h->name);
			goto out;
		}
	}
	if (!sv)
		rc = -ENOMEM;
	else if (!found)
		rc = err_set(&h->err, -ENOENT, "no value '%s' in hive '%s'", name,
				 h->name);
	/* hivex has no "delete value": write the list back without it. */
	else if (hivex_node_set_values(h->hx, k, kept, sv, 0) < 0)
		rc = err_set(&h->err, -(errno ? errno : EIO), "cannot remove value "
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
	return err_setc(&h->err, ERR_FATAL, ERR_CORRUPT, -EINVAL, "value '%s' in hive '%s' is type %u, not %s",
			   name, h->name, t, want);
}

int hive_get_sz(struct hive *h, hive_key k, const char *name, char **out)
{
	void *d;
	size_t len;
	int rc = get_text(h, k, name, "a string", &d, &len);

	if (rc < 0)
		return rc;
	rc = text_utf16le_to_utf8(d, len, TEXT_STOP_AT_NUL, out, NULL);
	free(d);
	return rc;
}

int hive_set_sz(struct hive *h, hive_key k, const char *name, const char *s)
{
	uint8_t *u;
	size_t len;
	int rc = text_utf8_to_utf16le(s, strlen(s), true, &u, &len);

	if (rc < 0)
		return err_set(&h->err, rc, "value '%s': %s", name,
			       rc == -EILSEQ ? "not valid UTF-8" : strerror(-rc));
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
		if (text_utf16le_to_utf8(d + 2 * start, 2 * (i - start),
					 TEXT_STOP_AT_NUL, &v[n++], NULL) < 0) {
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
	static const uint8_t nul[2] = { 0, 0 };
	struct buf b = { 0 };
	int rc = 0;

	for (size_t i = 0; strs && strs[i] && rc == 0; i++) {
		uint8_t *u;
		size_t ul;

		rc = text_utf8_to_utf16le(strs[i], strlen(strs[i]), true, &u, &ul);
		if (rc == 0)
			buf_add(&b, u, ul);
		if (rc == 0)
			free(u);
	}
	buf_add(&b, nul, sizeof(nul));  /* the list terminator */
	if (rc == 0)
		rc = b.rc;
	if (rc < 0)
		err_set(&h->err, rc, "value '%s': %s", name, rc == -EILSEQ ?
			"not valid UTF-8" : strerror(-rc));
	else
		rc = hive_set(h, k, name, HIVE_REG_MULTI_SZ, b.d, b.n);
	buf_free(&b);
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
		rc = err_setc(&h->err, ERR_FATAL, ERR_CORRUPT, -EINVAL, "value '%s' in hive '%s' is not a "
				 "DWORD (type %u, %zu bytes)", name, h->name, t,
				 len);
	else if (t == 5)  /* REG_DWORD_BIG_ENDIAN */
		memcpy(v, p, 4), *v = be32toh(*v);
	else
		*v = le_get32(p);
	free(d);
	return rc;
}

int hive_set_dword(struct hive *h, hive_key k, const char *name, uint32_t v)
{
	uint8_t b[4];

	le_put32(b, v);
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
			return err_set(&h->err, -errno, "cannot read key 'Select' "
					   "in hive '%s'", h->name);
		*current = *def = 1;  /* no Select: ControlSet001, as Windows */
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
		return err_setc(&h->err, ERR_FATAL, ERR_CORRUPT, -EINVAL, "hive '%s': Select\\Current = %u, "
				   "Default = %u: control set out of range 1..999",
				   h->name, cur, d);
	err_clear(&h->err);
	*current = cur;
	*def = d;
	return 0;
}
