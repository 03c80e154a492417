/* srd_queue.c - adding records to a queue and reading one back: a queue
 * file of the running system (locked, replaced atomically) or the native
 * queue of an unmounted volume through fs.h (see srd.h, "Adding"). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fs.h"
#include "srd.h"

static int req_path(const char *s, enum srd_form form, struct srd_path *p,
		    struct err *err)
{
	char why[200];
	int rc = form == SRD_FORM_WINDOWS
		 ? srd_path_nt(s, SRD_NT_ESCAPES, p, why, sizeof(why))
		 : srd_path_native(s, p, why, sizeof(why));

	if (rc == -ENOMEM)
		return err_set(err, rc, "out of memory");
	if (rc < 0)  /* the caller's argument: a usage error, as before */
		return err_setc(err, ERR_FATAL, ERR_USAGE, rc, "bad path: %s", why);
	return 0;
}

int srd_record_make(const struct srd_add_req *req, enum srd_form form,
		    struct srd_record *r, struct err *err)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->op = req->op;
	if (!req->path || (req->op == SRD_OP_MOVE && !req->target) ||
	    (req->op == SRD_OP_SHORTNAME && !req->name))
		return err_setc(err, ERR_FATAL, ERR_USAGE, -EINVAL,
				"%s needs %s", srd_op_name(req->op),
				req->op == SRD_OP_DELETE ? "a path" :
				req->op == SRD_OP_MOVE ? "a source and a target" :
				"a path and a short name");
	rc = req_path(req->path, form, &r->path, err);
	if (rc == 0 && req->op == SRD_OP_MOVE)
		rc = req_path(req->target, form, &r->dst, err);
	if (rc == 0 && !(r->arg = strdup(req->op == SRD_OP_SHORTNAME ?
					 req->name : "Unused")))
		rc = err_set(err, -ENOMEM, "out of memory");
	if (rc < 0)
		srd_record_clear(r);
	return rc;
}

void srd_record_clear(struct srd_record *r)
{
	srd_path_free(&r->path);
	srd_path_free(&r->dst);
	free(r->arg);
	r->arg = NULL;
}

enum srd_form srd_form_of(const uint8_t *d, size_t len, bool windows)
{
	if (!d)
		return windows ? SRD_FORM_WINDOWS : SRD_FORM_NATIVE;
	/* UTF-16 holds NULs; the native form has none. */
	return memchr(d, 0, len) ? SRD_FORM_WINDOWS : SRD_FORM_NATIVE;
}

int srd_queue_append(const uint8_t *old, size_t len,
		     const struct srd_add_req *req, uint8_t **out,
		     size_t *outlen, struct err *err)
{
	enum srd_form form = srd_form_of(old, len, req->windows);
	struct srd_queue q = { 0 };
	struct srd_record r = { 0 };
	int rc;

	rc = old ? srd_parse(old, len, form, &q, NULL, err)
		 : srd_queue_init(&q, form);
	if (rc < 0) {
		if (old)
			err_context(err, "the queue is damaged, not adding to it");
		else
			err_set(err, rc, "out of memory");
		return rc;
	}
	if ((rc = srd_record_make(req, form, &r, err)) == 0 &&
	    (rc = srd_write(&q, &r, 1, out, outlen, err)) < 0)
		err_context(err, "while adding to the queue");
	srd_record_clear(&r);
	srd_queue_free(&q);
	return rc;
}

/* The whole file, or NULL and 0 when there is none. */
static int read_local(const char *path, uint8_t **buf, size_t *len,
		      struct err *err)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	int rc = 0;

	*buf = NULL, *len = 0;
	if (!f)
		return errno == ENOENT ? 0 : err_set(err, -errno, "cannot read "
						     "%s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) < 0)
		rc = -errno;
	else if (st.st_size > (off_t)SRD_MAX_BYTES)
		rc = -EFBIG;
	else if (!(*buf = malloc((size_t)st.st_size + 1)))
		rc = -ENOMEM;
	else if (fread(*buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		rc = -EIO;
	fclose(f);
	if (rc < 0) {
		free(*buf);
		*buf = NULL;
		return err_set(err, rc, "cannot read %s: %s", path, strerror(-rc));
	}
	*len = (size_t)st.st_size;
	return 0;
}

int srd_file_replace(const char *path, const uint8_t *d, size_t len,
		     struct err *err)
{
	char *tmp = NULL;
	int fd = -1, rc = 0;

	if (asprintf(&tmp, "%s.new", path) < 0)
		return err_set(err, -ENOMEM, "out of memory");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, d, len) != (ssize_t)len || fsync(fd) < 0 ||
	    rename(tmp, path) < 0)
		rc = -(errno ? errno : EIO);
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc < 0 ? err_set(err, rc, "cannot write %s: %s", path,
				strerror(-rc)) : 0;
}

int srd_queue_add_file(const char *path, const struct srd_add_req *req,
		       struct err *err)
{
	char *dir = strdup(path);
	uint8_t *old = NULL, *out = NULL;
	size_t len = 0, outlen = 0;
	int dfd = -1, rc;

	if (!dir)
		return err_set(err, -ENOMEM, "out of memory");
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || flock(dfd, LOCK_EX) < 0) {
		rc = err_set(err, -errno, "cannot lock the directory of %s: %s",
			     path, strerror(errno));
		goto out;
	}
	if ((rc = read_local(path, &old, &len, err)) == 0 &&
	    (rc = srd_queue_append(old, len, req, &out, &outlen, err)) == 0)
		rc = srd_file_replace(path, out, outlen, err);
out:
	if (dfd >= 0)
		close(dfd);  /* and the lock with it */
	free(dir);
	free(old);
	free(out);
	return rc;
}

/* The queue file on fs, made (with its directories) when absent. */
static int vol_read(struct fs *fs, uint8_t **old, size_t *len)
{
	static const char *const dirs[] = {
		"/var", "/var/lib", "/var/lib/sysrecover",
	};
	struct fs_stat st;
	int rc = 0;

	if (fs_lookup(fs, SRD_NATIVE_QUEUE_PATH, &st) == 0)
		return fs_read_file(fs, SRD_NATIVE_QUEUE_PATH, SRD_MAX_BYTES,
				    old, len);
	for (size_t i = 0; i < 3 && rc == 0; i++)
		if ((rc = fs_mkdir(fs, dirs[i], 0755)) == -EEXIST)
			rc = 0;
	return rc < 0 ? rc : fs_create(fs, SRD_NATIVE_QUEUE_PATH, 0644);
}

static int vol_write(struct fs *fs, const uint8_t *d, size_t len)
{
	struct fs_file *f = NULL;
	ssize_t n;
	int rc = fs_file_open(fs, SRD_NATIVE_QUEUE_PATH, NULL, FS_F_WRITE, &f);

	if (rc == 0 && (n = fs_file_pwrite(f, d, len, 0)) != (ssize_t)len)
		rc = n < 0 ? (int)n : -EIO;
	if (rc == 0)
		rc = fs_file_truncate(f, len);
	fs_file_close(f);
	return rc;
}

int srd_queue_add_volume(const char *vol, const struct srd_add_req *req,
			 struct err *err)
{
	struct fs *fs = NULL;
	uint8_t *old = NULL, *out = NULL;
	size_t len = 0, outlen = 0;
	int rc = fs_open(vol, FS_O_RDWR, &fs, err);

	if (rc < 0)
		return rc;
	if ((rc = vol_read(fs, &old, &len)) < 0 ||
	    (rc = srd_queue_append(old, len, req, &out, &outlen, err)) < 0 ||
	    (rc = vol_write(fs, out, outlen)) < 0) {
		if (!err_failed(err))
			err_set(err, rc, "cannot update %s on %s: %s",
				SRD_NATIVE_QUEUE_PATH, vol, fs_errmsg(fs));
	}
	if (fs_close(fs) < 0 && rc == 0)  /* fs is gone: no message left */
		rc = err_set(err, -EIO, "cannot update %s on %s: %s",
			     SRD_NATIVE_QUEUE_PATH, vol, strerror(EIO));
	free(old);
	free(out);
	return rc;
}

int srd_queue_read_file(const char *path, struct srd_queue *q,
			struct err *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = read_local(path, &buf, &len, err);

	memset(q, 0, sizeof(*q));
	if (rc == 0 && !buf)
		return err_set(err, -ENOENT, "cannot read %s: no such file", path);
	if (rc < 0)
		return rc;
	rc = srd_parse(buf, len, srd_form_of(buf, len, false), q, NULL, err);
	free(buf);
	if (rc < 0)
		err_context(err, "in %s", path);
	return rc;
}
