/* hive_commit.c - commit a hive: a new file, re-opened and verified, then an atomic replace with its logs moved aside. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "hive_impl.h"

/* The order of a commit, and what a cut at each step leaves:
 *   1. hivex writes the edited image to PATH.sysrecover-new (a temp file
 *      for a hive in a volume) and we re-open it: base block clean, every
 *      touched key reads back as edited.  A cut leaves PATH as it was.
 *   2. with HIVE_O_BACKUP, PATH is kept as PATH.bak.
 *   3. PATH.LOGn is moved aside (PATH.bak.LOGn with a backup, else
 *      PATH.LOGn HIVE_LOG_ASIDE).  A cut leaves the old dirty hive with its
 *      logs under the aside name: hive_open reads them from there.
 *   4. the new file is renamed over PATH, then the aside logs are dropped.
 *      A cut between the two leaves a clean hive beside aside logs, which
 *      nothing replays and the next commit removes.
 */

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
	int rc = hive_read_base(file, b, &got);

	if (rc < 0)
		return err_set(&h->err, rc, "cannot read back '%s': %s", file,
				   strerror(-rc));
	if (got < HIVE_BASE_SIZE || hive_base_parse(b, got, &hb) < 0 ||
	    !hb.checksum_ok || hb.seq1 != hb.seq2)
		return err_set(&h->err, -EIO, "hivex wrote '%s' with a bad base block"
				   " (sequence %u/%u)", file, hb.seq1, hb.seq2);
	n = hivex_open(file, 0);
	if (!n || !hivex_root(n)) {
		rc = errno ? errno : EIO;
		if (n)
			hivex_close(n);
		return err_set(&h->err, -rc, "written hive '%s' does not open: %s",
				   file, strerror(rc));
	}
	for (size_t i = 0; i < h->ntouched && rc == 0; i++) {
		hive_key k = h->touched[i];
		char *a = hivex_node_name(h->hx, k), *c;
		if (!a)
			continue;  /* deleted after it was changed */
		c = hivex_node_name(n, k);
		if (!c || strcmp(a, c) || !same_values(h->hx, k, n, k))
			rc = err_set(&h->err, -EIO, "written hive '%s' does not "
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
			     : "%s.LOG%d" HIVE_LOG_ASIDE, h->path, i + 1) < 0) {
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
			rc = err_set(&h->err, rc, "cannot move the log of hive "
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
		rc = err_set(&h->err, rc, "cannot sync '%s': %s", newf, strerror(-rc));
		goto out;
	}
	if (h->flags & HIVE_O_BACKUP) {
		if (asprintf(&bak, "%s.bak", h->path) < 0) {
			rc = -ENOMEM;
			goto out;
		}
		unlink(bak);
		if (link(h->path, bak) < 0 && hive_copy_file(h->path, bak) < 0) {
			rc = err_set(&h->err, -errno, "cannot keep '%s': %s", bak,
					 strerror(errno));
			goto out;
		}
	}
	if ((rc = logs_aside(h, aside)) < 0)
		goto out;
	if (rename(newf, h->path) < 0) {
		rc = err_set(&h->err, -errno, "cannot replace hive '%s': %s",
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
static int put_into_volume(struct fs *fs, const char *src, const char *path,
			   struct err *e)
{
	struct fs_file *f = NULL;
	char buf[65536], chk[65536];
	uint64_t off = 0;
	int fd = open(src, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return err_set(e, -errno, "cannot open '%s': %s", src, strerror(errno));
	rc = fs_unlink(fs, path);
	if ((rc < 0 && rc != -ENOENT) || (rc = fs_create(fs, path, 0644)) < 0 ||
	    (rc = fs_file_open(fs, path, NULL, FS_F_WRITE, &f)) < 0)
		goto fs_failed;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf)), w;
		if (n < 0) {
			rc = err_set(e, -errno, "cannot read '%s': %s", src, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		w = fs_file_pwrite(f, buf, (size_t)n, off);
		if (w == n)
			w = fs_file_pread(f, chk, (size_t)n, off);
		if (w < 0) {
			rc = (int)w;
			goto fs_failed;
		}
		if (w != n || memcmp(buf, chk, (size_t)n)) {
			rc = err_set(e, -EIO, "'%s' on %s reads back differently from what "
				     "was written", path, fs_name(fs));
			goto out;
		}
		off += (uint64_t)n;
	}
	rc = 0;
	goto out;
fs_failed:
	err_copy(e, fs_error(fs));
out:
	if (f && fs_file_close(f) < 0 && rc == 0) {
		rc = -EIO;
		err_copy(e, fs_error(fs));
	}
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
	if ((rc = put_into_volume(h->fs, newf, side, &h->err)) < 0 ||
	    ((h->flags & HIVE_O_BACKUP) &&
	     (rc = put_into_volume(h->fs, h->orig, bak, &h->err)) < 0)) {
		err_context(&h->err, "while writing beside hive '%s'", h->name);
		goto out;
	}
	if ((rc = logs_aside(h, aside)) < 0)
		goto out;
	if ((rc = fs_rename(h->fs, side, h->path, 0)) < 0) {
		rc = err_set(&h->err, rc, "cannot replace hive '%s': %s", h->name,
				 fs_errmsg(h->fs));
		logs_back(h, aside);
		goto out;
	}
	logs_drop(h, aside);
	if ((rc = fs_sync(h->fs)) < 0)
		rc = err_set(&h->err, rc, "cannot sync volume of hive '%s': %s",
				 h->name, fs_errmsg(h->fs));
out:
	for (int i = 0; i < 2; i++)
		free(aside[i]);
	free(side);
	free(bak);
	return rc;
}

int hive_install(struct hive *h, const char *newf)
{
	return h->fs ? replace_fs(h, newf) : replace_local(h, newf);
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

	err_clear(&h->err);
	if (!(h->flags & HIVE_O_WRITE))
		return err_set(err, -EROFS, "cannot commit hive '%s': opened "
			       "read-only", h->name);
	if ((rc = commit_file(h, &newf)) < 0) {
		rc = err_set(&h->err, rc, "cannot commit hive '%s': %s", h->name,
				 strerror(-rc));
		goto out;
	}
	if (hivex_commit(h->hx, newf, 0) < 0) {
		rc = err_set(&h->err, -errno, "cannot commit hive '%s': hivex: %s",
				 h->name, strerror(errno));
		goto out;
	}
	if ((rc = verify_committed(h, newf)) < 0)
		goto out;
	rc = hive_install(h, newf);
	if (rc == 0 && !h->fs) {
		free(newf);  /* renamed into place */
		newf = NULL;
	}
out:
	if (newf) {
		unlink(newf);
		free(newf);
	}
	if (rc < 0) {
		err_copy(err, &h->err);
		return rc;
	}
	h->info.dirty = false;
	h->info.logs_present = false;
	h->ntouched = 0;
	return 0;
}

