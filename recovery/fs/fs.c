/* fs.c - the generic volume handle: path checks, dispatch, errors, walk. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "buf.h"
#include "fs_impl.h"

/* Probe order: the library backends first; a directory is never an image. */
static const struct fs_ops *const fs_backends[] = {
	&fs_ext_ops,
	&fs_ntfs_ops,
};

#define NBACKENDS (sizeof(fs_backends) / sizeof(fs_backends[0]))

int fs_fail_op(struct fs *fs, int err, const char *verb, const char *path)
{
	return err_set(&fs->err, err, "cannot %s '%s' on %s: %s", verb, path,
		       fs->name, strerror(-err));
}

const char *fs_kind_name(enum fs_kind kind)
{
	switch (kind) {
	case FS_KIND_EXT: return "ext";
	case FS_KIND_NTFS: return "ntfs";
	case FS_KIND_DIR: return "dir";
	}
	return "?";
}

const char *fs_state_name(enum fs_state state)
{
	static const char *const names[] = {
		[FS_STATE_CLEAN] = "clean",
		[FS_STATE_NEEDS_RECOVERY] = "needs journal recovery",
		[FS_STATE_ERRORS] = "has errors",
		[FS_STATE_DIRTY] = "dirty",
		[FS_STATE_HIBERNATED] = "hibernated",
		[FS_STATE_UNCLEAN] = "not cleanly closed",
	};

	return (unsigned)state < sizeof(names) / sizeof(*names) ? names[state] : "?";
}

static bool is_dir(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Turn a volume name into the bytes that hold it: a plain file or device as
 * it is, anything else (IMAGE@N, UUID=, LABEL=, PARTUUID=) through libblkid. */
static int find_target(const char *spec, struct fs_target *tg,
		       struct fs_volume *vol, struct err *err)
{
	struct stat sb;
	int rc;

	if (stat(spec, &sb) == 0) {
		*tg = (struct fs_target){ .file = spec };
		return 0;
	}
	rc = fs_volume_resolve(spec, NULL, 0, vol, err);
	if (rc < 0)
		return rc;
	*tg = (struct fs_target){ .file = vol->path, .offset = vol->offset,
				  .size = vol->size };
	return 0;
}

static const struct fs_ops *probe_target(const struct fs_target *tg, int *rc)
{
	for (size_t i = 0; i < NBACKENDS; i++) {
		*rc = fs_backends[i]->probe(tg);
		if (*rc != 0)
			return *rc > 0 ? fs_backends[i] : NULL;
	}
	return NULL;
}

int fs_probe(const char *path, enum fs_kind *kind)
{
	struct fs_volume vol;
	struct fs_target tg;
	const struct fs_ops *ops;
	int rc;

	if (is_dir(path)) {
		*kind = FS_KIND_DIR;
		return 1;
	}
	rc = find_target(path, &tg, &vol, NULL);
	if (rc < 0)
		return rc;
	ops = probe_target(&tg, &rc);
	if (ops)
		*kind = ops->kind;
	return rc;
}

/* The backend for a volume name, with the bytes it is in.  A partitioned
 * image or disk named as a whole is the one filesystem it holds
 * (fs_volume_resolve says which, or lists the choices). */
static int find_ops(const char *path, struct fs_target *tg, struct fs_volume *vol,
		    const struct fs_ops **ops, struct err *err)
{
	int rc = find_target(path, tg, vol, err);

	if (rc < 0)
		return rc;
	*ops = probe_target(tg, &rc);
	if (*ops)
		return 0;
	if (rc == 0 && tg->file == path && tg->offset == 0) {
		rc = fs_volume_resolve(path, NULL, 0, vol, err);
		if (rc < 0)
			return rc;
		*tg = (struct fs_target){ .file = vol->path, .offset = vol->offset,
					  .size = vol->size };
		*ops = probe_target(tg, &rc);
		if (*ops)
			return 0;
	}
	if (rc < 0)
		return err_set(err, rc, "%s: %s", path, strerror(-rc));
	return err_setc(err, ERR_FATAL, ERR_CORRUPT, -EINVAL, "%s: no ext2/3/4"
			" or NTFS filesystem found", path);
}

int fs_state(const char *path, enum fs_state *state, struct err *err)
{
	struct fs_volume vol;
	struct fs_target tg;
	const struct fs_ops *ops;
	int rc = find_ops(path, &tg, &vol, &ops, err);

	return rc < 0 ? rc : ops->state(&tg, state, err);
}

static int refuse_mounted(const char *name, const struct fs_target *tg,
			  struct err *err);

int fs_index_dirs(const char *path, struct err *err)
{
	struct fs_volume vol;
	struct fs_target tg;
	const struct fs_ops *ops;
	int rc = find_ops(path, &tg, &vol, &ops, err);

	if (rc == 0)
		rc = refuse_mounted(path, &tg, err);
	if (rc < 0 || !ops->index_dirs)
		return rc;
	return ops->index_dirs(&tg, path, err);
}

/* A read-write open must not touch a mounted volume: checked first, by
 * identity, so that the refusal names the mount and not a symptom of it. */
static int refuse_mounted(const char *name, const struct fs_target *tg,
			  struct err *err)
{
	struct fs_mount m;

	if (!fs_target_mounted(tg, &m))
		return 0;
	return err_setc(err, ERR_FATAL, ERR_REFUSED, -EBUSY, "'%s' is mounted on"
			" %s%s%s%s: unmount it first (the kernel and this tool"
			" would both write to it)", name, m.point,
			m.via[0] && strcmp(m.via, tg->file) ? " (through " : "",
			m.via[0] && strcmp(m.via, tg->file) ? m.via : "",
			m.via[0] && strcmp(m.via, tg->file) ? ")" : "");
}

/* The exclusive lock of a read-write open of an image file: an OFD write
 * lock on the volume's bytes, which belongs to this open (not to the
 * process, so no other open or close in this process drops it) and meets
 * every other sysrecover and ntfs-3g's lock, through any name of the file.
 * Block devices are opened O_EXCL by the backends instead.  *out: the fd
 * that holds it, -1 when there is nothing to lock. */
static int lock_target(const char *name, const struct fs_target *tg, int *out,
		       struct err *err)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = (off_t)tg->offset, .l_len = (off_t)tg->size };
	struct stat sb;
	char pid[32] = "";
	int fd, e;

	*out = -1;
	if (stat(tg->file, &sb) < 0 || !S_ISREG(sb.st_mode))
		return 0;
	fd = open(tg->file, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, -errno, "cannot open '%s': %s", tg->file,
			       strerror(errno));
	if (fcntl(fd, F_OFD_SETLK, &fl) == 0) {
		*out = fd;
		return 0;
	}
	e = errno;
	if (e == EAGAIN || e == EACCES) {
		if (fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK &&
		    fl.l_pid > 0)
			snprintf(pid, sizeof(pid), " (process %d)", (int)fl.l_pid);
		close(fd);
		return err_setc(err, ERR_FATAL, ERR_REFUSED, -EBUSY, "'%s' is open"
				" read-write in another program%s (another"
				" sysrecover, ntfs-3g, ...): wait for it to"
				" finish, then try again", name, pid);
	}
	close(fd);
	return err_set(err, -e, "cannot lock '%s': %s", tg->file, strerror(e));
}

int fs_open(const char *path, unsigned flags, struct fs **out, struct err *err)
{
	const struct fs_ops *ops = &fs_dir_ops;
	struct fs_volume vol;
	struct fs_target tg = { .file = path };
	struct fs *fs;
	int rc = 0, lock = -1;

	if (!is_dir(path)) {
		rc = find_ops(path, &tg, &vol, &ops, err);
		if (rc < 0)
			return rc;
		if ((flags & FS_O_RDWR) &&
		    ((rc = refuse_mounted(path, &tg, err)) < 0 ||
		     (rc = lock_target(path, &tg, &lock, err)) < 0))
			return rc;
	}
	fs = calloc(1, sizeof(*fs));
	if (!fs || !(fs->name = strdup(path))) {
		free(fs);
		if (lock >= 0)
			close(lock);
		return err_set(err, -ENOMEM, "out of memory");
	}
	fs->ops = ops;
	fs->flags = flags;
	fs->lock_fd = lock;
	rc = ops->open(fs, &tg, flags);
	if (rc < 0) {
		if (!fs->err.msg[0])
			err_set(&fs->err, rc, "cannot open %s: %s", fs->name,
				strerror(-rc));
		err_copy(err, &fs->err);
		if (lock >= 0)
			close(lock);
		free(fs->name);
		free(fs);
		return rc;
	}
	*out = fs;
	return 0;
}

/* The lock goes last, after the backend has flushed and cleared its mark. */
int fs_close(struct fs *fs)
{
	int rc;

	if (!fs)
		return 0;
	rc = fs->ops->close(fs);
	if (fs->lock_fd >= 0)
		close(fs->lock_fd);
	free(fs->name);
	free(fs);
	return rc;
}

enum fs_kind fs_kind(const struct fs *fs)
{
	return fs->ops->kind;
}

unsigned fs_caps(const struct fs *fs)
{
	return fs->ops->caps;
}

const char *fs_name(const struct fs *fs)
{
	return fs->name;
}

const struct err *fs_error(const struct fs *fs)
{
	return &fs->err;
}

const char *fs_errmsg(const struct fs *fs)
{
	return fs->err.msg;
}

/* ---- paths ------------------------------------------------------------- */

#define FS_PATH_MAX 4096

/* Normalise into buf: "/" + components joined by "/"; refuse what could
 * leave the volume or mean two things ("..", ".", empty, NUL-free only). */
static int norm_path(struct fs *fs, const char *in, char *buf)
{
	size_t n = 0;
	const char *p = in;

	if (!in || in[0] != '/')
		return err_set(&fs->err, -EINVAL, "path '%s' on %s must start with '/'",
			       in ? in : "(null)", fs->name);
	while (*p) {
		const char *c;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		c = p;
		while (*p && *p != '/')
			p++;
		len = (size_t)(p - c);
		if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return err_set(&fs->err, -EINVAL, "path '%s' on %s has a '.' or"
				       " '..' component", in, fs->name);
		if (n + 1 + len >= FS_PATH_MAX)
			return err_set(&fs->err, -ENAMETOOLONG, "path '%s' is too long", in);
		buf[n++] = '/';
		memcpy(buf + n, c, len);
		n += len;
	}
	if (n == 0)
		buf[n++] = '/';
	buf[n] = 0;
	return 0;
}

/* "cannot VERB 'PATH' on NAME: KIND volumes do not support that" */
static int unsupported(struct fs *fs, const char *what, const char *path)
{
	return err_set(&fs->err, -EOPNOTSUPP, "cannot %s '%s' on %s: %s volumes do not"
		       " support that", what, path, fs->name,
		       fs_kind_name(fs->ops->kind));
}

/* Dispatch an operation on one path: normalise, check support, call. */
#define FS_CALL1(fs, member, what, path, ...)                                 \
	({                                                                    \
		char np_[FS_PATH_MAX];                                        \
		long rc_;                                                     \
		err_clear(&(fs)->err);                                           \
		if (!(fs)->ops->member)                                       \
			rc_ = unsupported((fs), (what), (path));                      \
		else if ((rc_ = norm_path((fs), (path), np_)) == 0)           \
			rc_ = (fs)->ops->member((fs), np_, ##__VA_ARGS__);    \
		if (rc_ < 0 && !(fs)->err.msg[0])                                 \
			fs_fail_op((fs), (int)rc_, (what), (path));          \
		rc_;                                                          \
	})

/* The same for operations that change the volume: refused when read-only,
 * and the volume marked not cleanly closed before the first change.
 * FS_CALLX is for operations on an object that must exist: until the mark
 * is there, a missing object fails without writing it (a run that changes
 * nothing leaves the volume byte for byte as it was). */
#define FS_CALLW_(fs, member, what, path, check, ...)                        \
	({                                                                    \
		long w_;                                                      \
		if (!((fs)->flags & FS_O_RDWR))                               \
			w_ = read_only(fs, what, path);                       \
		else if ((w_ = fs_begin(fs, check, what)) == 0)               \
			w_ = fs_wrote((fs), FS_CALL1(fs, member, what, path,  \
						    ##__VA_ARGS__));          \
		w_;                                                           \
	})
#define FS_CALLW(fs, member, what, path, ...)                                 \
	FS_CALLW_(fs, member, what, path, NULL, ##__VA_ARGS__)
#define FS_CALLX(fs, member, what, path, ...)                                 \
	FS_CALLW_(fs, member, what, path, path, ##__VA_ARGS__)

/* ---- test-only fault injection ----------------------------------------------
 * SYSRECOVER_TEST_KILL_AFTER_WRITE=N kills the process (SIGKILL, no cleanup)
 * right after the Nth successful change to any volume, once that change has
 * been flushed to the device: what is on disk is then exactly "the first N
 * changes".  N = 0 only counts, and prints the total at exit, so a crash
 * test knows how many kill points there are.  A "change" is one mutating
 * call of this interface (create, rename, unlink, a file write, ...).
 * Unset (always, outside tests) costs one branch per change. */
static long fault_after = -2;   /* -2 unread, -1 off, 0 count, N kill */
static long fault_count;

static void fault_report(void)
{
	fprintf(stderr, "sysrecover: fault injection: %ld writes\n", fault_count);
}

static void fault_init(void)
{
	const char *e = getenv("SYSRECOVER_TEST_KILL_AFTER_WRITE");
	char *end;

	fault_after = -1;
	if (!e || !*e)
		return;
	fault_after = strtol(e, &end, 10);
	if (*end || fault_after < 0)
		fault_after = -1;
	else if (fault_after == 0)
		atexit(fault_report);
}

static long fs_wrote(struct fs *fs, long rc)
{
	if (fault_after == -2)
		fault_init();
	if (rc < 0 || fault_after < 0)
		return rc;
	fs_sync(fs);
	if (++fault_count == fault_after) {
		fprintf(stderr, "sysrecover: fault injection: killed after write "
			"%ld\n", fault_count);
		raise(SIGKILL);
	}
	return rc;
}

/* Before the first change of a session: the backend's not-cleanly-closed
 * mark, once `must_exist` (when given) is found.  Its failure is the call's
 * failure (nothing is changed without it). */
static int fs_begin(struct fs *fs, const char *must_exist, const char *what)
{
	struct fs_stat st;
	int rc = 0;

	err_clear(&fs->err);
	if (fs->marked || !fs->ops->mark)
		return 0;
	if (must_exist && (rc = fs_lookup(fs, must_exist, &st)) < 0) {
		err_clear(&fs->err);
		return fs_fail_op(fs, rc, what, must_exist);
	}
	rc = fs->ops->mark(fs);
	if (rc < 0 && !fs->err.msg[0])
		err_set(&fs->err, rc, "cannot mark %s in use: %s", fs->name,
			strerror(-rc));
	fs->marked = rc == 0;
	return rc;
}

static long read_only(struct fs *fs, const char *what, const char *path)
{
	return err_set(&fs->err, -EROFS, "cannot %s '%s': %s is open read-only", what,
		       path, fs->name);
}

int fs_sync(struct fs *fs)
{
	err_clear(&fs->err);
	return fs->ops->sync ? fs->ops->sync(fs) : 0;
}

int fs_space(struct fs *fs, uint64_t *free_bytes, uint64_t *size, uint64_t *free_files)
{
	err_clear(&fs->err);
	*free_bytes = *size = *free_files = 0;
	if (!fs->ops->space)
		return unsupported(fs, "measure the free space of", "/");
	return fs->ops->space(fs, free_bytes, size, free_files);
}

int fs_lookup(struct fs *fs, const char *path, struct fs_stat *st)
{
	memset(st, 0, sizeof(*st));
	return (int)FS_CALL1(fs, lookup, "look up", path, st);
}

int fs_readdir(struct fs *fs, const char *path, fs_dir_cb cb, void *arg)
{
	return (int)FS_CALL1(fs, readdir, "read directory", path, cb, arg);
}

int fs_create(struct fs *fs, const char *path, uint32_t mode)
{
	return (int)FS_CALLW(fs, create, "create", path, mode);
}

int fs_mkdir(struct fs *fs, const char *path, uint32_t mode)
{
	return (int)FS_CALLW(fs, mkdir, "make directory", path, mode);
}

int fs_symlink(struct fs *fs, const char *path, const char *target)
{
	return (int)FS_CALLW(fs, symlink, "create symlink", path, target);
}

ssize_t fs_readlink(struct fs *fs, const char *path, char *buf, size_t cap)
{
	return FS_CALL1(fs, readlink, "read symlink", path, buf, cap);
}

int fs_mknod(struct fs *fs, const char *path, uint32_t mode, uint32_t major,
	     uint32_t minor)
{
	return (int)FS_CALLW(fs, mknod, "create device node", path, mode, major,
			     minor);
}

int fs_unlink(struct fs *fs, const char *path)
{
	return (int)FS_CALLX(fs, unlink, "remove", path);
}

int fs_rmdir(struct fs *fs, const char *path)
{
	return (int)FS_CALLX(fs, rmdir, "remove directory", path);
}

int fs_set_owner(struct fs *fs, const char *path, uint32_t uid, uint32_t gid)
{
	return (int)FS_CALLX(fs, set_owner, "set the owner of", path, uid, gid);
}

int fs_set_mode(struct fs *fs, const char *path, uint32_t mode)
{
	return (int)FS_CALLX(fs, set_mode, "set the mode of", path, mode & 07777);
}

int fs_set_times(struct fs *fs, const char *path, const struct fs_times *t)
{
	return (int)FS_CALLX(fs, set_times, "set the times of", path, t);
}

int fs_xattr_list(struct fs *fs, const char *path, fs_xattr_cb cb, void *arg)
{
	return (int)FS_CALL1(fs, xattr_list, "list extended attributes of", path,
			     cb, arg);
}

ssize_t fs_xattr_get(struct fs *fs, const char *path, const char *name,
		     void *buf, size_t cap)
{
	return FS_CALL1(fs, xattr_get, "read extended attribute of", path, name,
			buf, cap);
}

int fs_xattr_set(struct fs *fs, const char *path, const char *name,
		 const void *val, size_t len)
{
	return (int)FS_CALLX(fs, xattr_set, "set extended attribute of", path,
			     name, val, len);
}

int fs_xattr_remove(struct fs *fs, const char *path, const char *name)
{
	return (int)FS_CALLX(fs, xattr_remove, "remove extended attribute of",
			     path, name);
}

int fs_stream_list(struct fs *fs, const char *path, fs_stream_cb cb, void *arg)
{
	return (int)FS_CALL1(fs, stream_list, "list data streams of", path, cb, arg);
}

int fs_stream_remove(struct fs *fs, const char *path, const char *stream)
{
	return (int)FS_CALLX(fs, stream_remove, "remove a data stream of", path,
			     stream);
}

ssize_t fs_shortname_get(struct fs *fs, const char *path, char *buf, size_t cap)
{
	return FS_CALL1(fs, shortname_get, "read the short name of", path, buf, cap);
}

int fs_shortname_set(struct fs *fs, const char *path, const char *name)
{
	return (int)FS_CALLX(fs, shortname_set, "set the short name of", path, name);
}

int fs_shortname_remove(struct fs *fs, const char *path)
{
	return (int)FS_CALLX(fs, shortname_remove, "remove the short name of", path);
}

/* Two-path operations: both are normalised. */
static int two_paths(struct fs *fs, const char *a, const char *b, char *na,
		     char *nb, const char *what)
{
	int rc;

	err_clear(&fs->err);
	if (!(fs->flags & FS_O_RDWR))
		return (int)read_only(fs, "change", b);
	rc = norm_path(fs, a, na);
	if (rc == 0)
		rc = norm_path(fs, b, nb);
	return rc < 0 ? rc : fs_begin(fs, na, what);
}

int fs_link(struct fs *fs, const char *existing, const char *newpath)
{
	char a[FS_PATH_MAX], b[FS_PATH_MAX];
	int rc = two_paths(fs, existing, newpath, a, b, "hard-link");

	if (rc == 0)
		rc = (int)fs_wrote(fs, fs->ops->link ? fs->ops->link(fs, a, b)
				   : unsupported(fs, "hard-link", newpath));
	if (rc < 0 && !fs->err.msg[0])
		err_set(&fs->err, rc, "cannot link '%s' to '%s' on %s: %s", newpath,
			existing, fs->name, strerror(-rc));
	return rc;
}

int fs_rename(struct fs *fs, const char *from, const char *to, unsigned flags)
{
	char a[FS_PATH_MAX], b[FS_PATH_MAX];
	int rc = two_paths(fs, from, to, a, b, "rename");

	if (rc == 0 && !strcmp(a, "/"))
		rc = err_set(&fs->err, -EBUSY, "cannot rename the root of %s", fs->name);
	if (rc == 0 && strncmp(b, a, strlen(a)) == 0 && b[strlen(a)] == '/')
		rc = err_set(&fs->err, -EINVAL, "cannot move '%s' into itself", from);
	if (rc == 0)
		rc = (int)fs_wrote(fs, fs->ops->rename ?
				   fs->ops->rename(fs, a, b, flags) :
				   unsupported(fs, "rename", from));
	if (rc < 0 && !fs->err.msg[0])
		err_set(&fs->err, rc, "cannot rename '%s' to '%s' on %s: %s", from, to,
			fs->name, strerror(-rc));
	return rc;
}

/* ---- files ---------------------------------------------------------------- */

int fs_file_open(struct fs *fs, const char *path, const char *stream,
		 unsigned flags, struct fs_file **out)
{
	char np[FS_PATH_MAX];
	struct fs_file *f = NULL;
	int rc;

	err_clear(&fs->err);
	if ((flags & FS_F_WRITE) && !(fs->flags & FS_O_RDWR))
		return (int)read_only(fs, "write", path);
	if ((flags & FS_F_WRITE) &&
	    (rc = fs_begin(fs, (flags & FS_F_CREATE) ? NULL : path, "open")) < 0)
		return rc;
	if (stream && !fs->ops->stream_list)
		return unsupported(fs, "open a named stream of", path);
	rc = norm_path(fs, path, np);
	if (rc < 0)
		return rc;
	f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(np))) {
		rc = err_set(&fs->err, -ENOMEM, "out of memory");
		goto out;
	}
	f->fs = fs;
	rc = fs->ops->file_open(f, np, stream, flags);
	if (rc < 0 && !fs->err.msg[0])
		fs_fail_op(fs, rc, "open", path);
out:
	if (rc < 0) {
		if (f)
			free(f->path);
		free(f);
		return rc;
	}
	*out = f;
	return 0;
}

struct fs *fs_file_fs(struct fs_file *f)
{
	return f->fs;
}

/* After a file call: a backend that failed without saying why gets the
 * standard sentence, so that every call in fs.h leaves a message. */
static long file_done(struct fs_file *f, long rc, const char *verb)
{
	if (rc < 0 && !f->fs->err.msg[0])
		fs_fail_op(f->fs, (int)rc, verb, f->path);
	return rc;
}

ssize_t fs_file_pread(struct fs_file *f, void *buf, size_t len, uint64_t off)
{
	err_clear(&f->fs->err);
	return file_done(f, f->fs->ops->file_pread(f, buf, len, off), "read");
}

ssize_t fs_file_pwrite(struct fs_file *f, const void *buf, size_t len,
		       uint64_t off)
{
	err_clear(&f->fs->err);
	return fs_wrote(f->fs, file_done(f, f->fs->ops->file_pwrite(f, buf, len,
						off), "write"));
}

int fs_file_truncate(struct fs_file *f, uint64_t size)
{
	err_clear(&f->fs->err);
	return (int)fs_wrote(f->fs, file_done(f, f->fs->ops->file_truncate(f, size),
					      "truncate"));
}

int fs_file_next_data(struct fs_file *f, uint64_t off, uint64_t *data_off,
		      uint64_t *data_len)
{
	err_clear(&f->fs->err);
	return (int)file_done(f, f->fs->ops->file_next_data(f, off, data_off,
							    data_len),
			      "find the data of");
}

/* Callers close after a failed read or write and then report it: a close
 * that succeeds keeps that message. */
int fs_file_close(struct fs_file *f)
{
	struct err before;
	int rc;

	if (!f)
		return 0;
	err_copy(&before, &f->fs->err);
	err_clear(&f->fs->err);
	rc = (int)file_done(f, f->fs->ops->file_close(f), "close");
	if (rc == 0)
		err_copy(&f->fs->err, &before);
	free(f->path);
	free(f);
	return rc;
}

int fs_read_file(struct fs *fs, const char *path, size_t max, uint8_t **buf,
		 size_t *len)
{
	struct fs_stat st;
	struct fs_file *f = NULL;
	ssize_t n = 0;
	int rc = fs_lookup(fs, path, &st);

	*buf = NULL;
	if (rc == 0 && !S_ISREG(st.mode))
		rc = -EINVAL;
	if (rc == 0 && st.size > max)
		rc = -EFBIG;
	if (rc == 0 && !(*buf = malloc(st.size + 1)))
		rc = -ENOMEM;
	if (rc == 0)
		rc = fs_file_open(fs, path, NULL, 0, &f);
	if (rc == 0 && (n = fs_file_pread(f, *buf, st.size, 0)) >= 0 &&
	    (uint64_t)n != st.size)
		n = -EIO;
	if (rc == 0 && n < 0)
		rc = (int)n;
	fs_file_close(f);
	if (rc < 0) {
		free(*buf);
		*buf = NULL;
	}
	*len = rc < 0 ? 0 : (size_t)st.size;
	return rc;
}

/* ---- walk ----------------------------------------------------------------- */

struct walk_ent {
	char *name;
	struct fs_stat st;
};

struct walk_list {
	struct walk_ent *e;
	size_t n, cap;
};

static int collect(void *arg, const char *name, const struct fs_stat *st)
{
	struct walk_list *l = arg;

	if (buf_grow((void **)&l->e, &l->cap, l->n + 1, sizeof(*l->e)))
		return -ENOMEM;
	l->e[l->n].name = strdup(name);
	if (!l->e[l->n].name)
		return -ENOMEM;
	l->e[l->n++].st = *st;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct walk_ent *)a)->name,
		      ((const struct walk_ent *)b)->name);
}

/* One directory level: list, sort, visit, recurse into subdirectories.
 * Memory is one directory's entries per level of depth. */
static int walk_dir(struct fs *fs, char *path, size_t plen, fs_walk_cb cb,
		    void *arg)
{
	struct walk_list l = { 0 };
	int rc = fs_readdir(fs, plen ? path : "/", collect, &l);

	if (rc == 0 && l.n)  /* qsort(NULL, 0) is undefined */
		qsort(l.e, l.n, sizeof(*l.e), by_name);
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		size_t nl = strlen(l.e[i].name);

		if (plen + 1 + nl >= FS_PATH_MAX) {
			rc = err_set(&fs->err, -ENAMETOOLONG, "path under '%s' too long", path);
			break;
		}
		path[plen] = '/';
		memcpy(path + plen + 1, l.e[i].name, nl + 1);
		if (fs->ops->seen)
			fs->ops->seen(fs, path, &l.e[i].st);
		rc = cb(arg, path, &l.e[i].st);
		if (rc == 0 && S_ISDIR(l.e[i].st.mode))
			rc = walk_dir(fs, path, plen + 1 + nl, cb, arg);
		path[plen] = 0;
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.e[i].name);
	free(l.e);
	return rc;
}

int fs_walk(struct fs *fs, const char *path, fs_walk_cb cb, void *arg)
{
	char np[FS_PATH_MAX];
	struct fs_stat st;
	int rc = norm_path(fs, path, np);

	if (rc == 0)
		rc = fs_lookup(fs, np, &st);
	if (rc == 0)
		rc = cb(arg, np, &st);
	if (rc == 0 && S_ISDIR(st.mode))
		rc = walk_dir(fs, np, strcmp(np, "/") ? strlen(np) : 0, cb, arg);
	return rc;
}
