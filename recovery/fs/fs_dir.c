/* fs_dir.c - a directory of the running system as a volume (backup of a live
 * system, restore into a directory), through plain POSIX calls.
 *
 * The one rule that matters here: nothing may reach outside the root.  Every
 * parent directory is opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)
 * relative to the root, and the last component is used with *at() calls that
 * do not follow it, so neither ".." (already refused by fs.c) nor a symlink
 * planted inside the tree can redirect a write.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs_impl.h"

/* The last parent directory opened is kept, because a copy asks about one
 * directory's entries many times in a row; it is forgotten whenever a
 * rename or rmdir could change what its path names. */
struct dir_fs {
	int root;
	int cfd;            /* cached parent, or -1 */
	int cuse;           /* callers holding cfd right now */
	char cdir[4096];    /* its path relative to the root */
};

struct dir_file {
	int fd;
};

static int ROOT(struct fs *fs)
{
	return ((struct dir_fs *)fs->priv)->root;
}

static int open_beneath(int root, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			   RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, root, *rel ? rel : ".", &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

static struct dir_fs *D(struct fs *fs)
{
	return fs->priv;
}

/* Open the directory holding `path` and point *leaf at the last component.
 * For the root itself the leaf is "" and callers use AT_EMPTY_PATH.  Give
 * the descriptor back with put_parent. */
static int parent_of(struct fs *fs, const char *path, const char **leaf)
{
	struct dir_fs *d = D(fs);
	const char *slash = strrchr(path, '/');
	size_t n = (size_t)(slash - path);
	char dir[4096];
	int fd;

	*leaf = slash + 1;
	if (n == 0)
		return d->root;  /* an O_PATH directory serves as a dirfd */
	memcpy(dir, path + 1, n - 1);
	dir[n - 1] = 0;
	if (d->cfd >= 0 && !strcmp(dir, d->cdir)) {
		d->cuse++;
		return d->cfd;
	}
	fd = open_beneath(d->root, dir, O_PATH | O_DIRECTORY);
	if (fd >= 0 && d->cuse == 0) {
		if (d->cfd >= 0)
			close(d->cfd);
		d->cfd = fd;
		memcpy(d->cdir, dir, n);
		d->cuse = 1;
	}
	return fd;
}

static void put_parent(struct fs *fs, int fd)
{
	struct dir_fs *d = D(fs);

	if (fd == d->root || fd < 0)
		return;
	if (fd == d->cfd)
		d->cuse--;
	else
		close(fd);
}

/* After a rename or rmdir a kept path may name something else. */
static void forget_parent(struct fs *fs)
{
	struct dir_fs *d = D(fs);

	if (d->cfd >= 0 && d->cuse == 0) {
		close(d->cfd);
		d->cfd = -1;
	}
}

static void from_statx(const struct statx *x, struct fs_stat *st)
{
	st->ino = x->stx_ino;
	st->mode = x->stx_mode;
	st->uid = x->stx_uid;
	st->gid = x->stx_gid;
	st->nlink = x->stx_nlink;
	st->size = x->stx_size;
	st->alloc = x->stx_blocks * 512;
	st->atime = (struct timespec){ x->stx_atime.tv_sec, x->stx_atime.tv_nsec };
	st->mtime = (struct timespec){ x->stx_mtime.tv_sec, x->stx_mtime.tv_nsec };
	st->ctime = (struct timespec){ x->stx_ctime.tv_sec, x->stx_ctime.tv_nsec };
	if (x->stx_mask & STATX_BTIME)
		st->btime = (struct timespec){ x->stx_btime.tv_sec,
					       x->stx_btime.tv_nsec };
	st->rdev_major = x->stx_rdev_major;
	st->rdev_minor = x->stx_rdev_minor;
}

static int stat_at(int dfd, const char *leaf, struct fs_stat *st)
{
	struct statx x;
	int fl = AT_SYMLINK_NOFOLLOW | (*leaf ? 0 : AT_EMPTY_PATH);

	if (statx(dfd, leaf, fl, STATX_BASIC_STATS | STATX_BTIME, &x) < 0)
		return -errno;
	from_statx(&x, st);
	return 0;
}

static int dir_open(struct fs *fs, const struct fs_target *tg, unsigned flags)
{
	struct dir_fs *d = calloc(1, sizeof(*d));

	(void)flags;
	if (!d)
		return -ENOMEM;
	d->cfd = -1;
	d->root = open(tg->file, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d->root < 0) {
		int e = errno;

		free(d);
		return err_set(&fs->err, -e, "cannot open directory '%s': %s", tg->file,
			       strerror(e));
	}
	fs->priv = d;
	return 0;
}

static int dir_close(struct fs *fs)
{
	struct dir_fs *d = fs->priv;

	if (d->cfd >= 0)
		close(d->cfd);
	close(d->root);
	free(d);
	return 0;
}

static int dir_space(struct fs *fs, uint64_t *free_bytes, uint64_t *size,
		     uint64_t *free_files)
{
	struct statvfs sv;

	if (fstatvfs(ROOT(fs), &sv) < 0)
		return err_set(&fs->err, -errno, "cannot measure the free space of %s: %s",
			       fs->name, strerror(errno));
	*free_bytes = (uint64_t)sv.f_bfree * sv.f_frsize;
	*size = (uint64_t)sv.f_blocks * sv.f_frsize;
	*free_files = sv.f_files ? (uint64_t)sv.f_ffree : UINT64_MAX;
	return 0;
}

static int dir_sync(struct fs *fs)
{
	int fd = open_beneath(ROOT(fs), "", O_RDONLY | O_DIRECTORY);

	if (fd < 0)
		return fd;
	if (syncfs(fd) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	return 0;
}

static int dir_lookup(struct fs *fs, const char *path, struct fs_stat *st)
{
	const char *leaf;
	int pfd = parent_of(fs, path, &leaf), rc;

	if (pfd < 0)
		return pfd;
	rc = stat_at(pfd, leaf, st);
	put_parent(fs, pfd);
	return rc;
}

static int dir_readdir(struct fs *fs, const char *path, fs_dir_cb cb, void *arg)
{
	int fd = open_beneath(ROOT(fs), path + 1, O_RDONLY | O_DIRECTORY), rc = 0;
	struct dirent *de;
	struct fs_stat st;
	DIR *dir;

	if (fd < 0)
		return fd;
	dir = fdopendir(fd);
	if (!dir) {
		rc = -errno;
		close(fd);
		return rc;
	}
	while (rc == 0 && (errno = 0, de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		memset(&st, 0, sizeof(st));
		rc = stat_at(dirfd(dir), de->d_name, &st);
		if (rc == 0)
			rc = cb(arg, de->d_name, &st);
	}
	if (rc == 0 && errno)
		rc = -errno;
	closedir(dir);
	return rc;
}

/* Run one *at() call on the parent of path; op returns -1/errno like libc. */
#define AT_PARENT(fs, path, call)                                   \
	({                                                          \
		const char *leaf;                                   \
		int pfd_ = parent_of((fs), (path), &leaf), rc_;     \
		if (pfd_ < 0)                                       \
			rc_ = pfd_;                                 \
		else {                                              \
			rc_ = (call) < 0 ? -errno : 0;              \
			put_parent((fs), pfd_);                     \
		}                                                   \
		rc_;                                                \
	})

static int dir_create(struct fs *fs, const char *path, uint32_t mode)
{
	const char *leaf;
	int pfd = parent_of(fs, path, &leaf), fd;

	if (pfd < 0)
		return pfd;
	fd = openat(pfd, leaf, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
		    mode & 07777);
	if (fd < 0)
		fd = -errno;
	put_parent(fs, pfd);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static int dir_mkdir(struct fs *fs, const char *path, uint32_t mode)
{
	return AT_PARENT(fs, path, mkdirat(pfd_, leaf, mode & 07777));
}

static int dir_symlink(struct fs *fs, const char *path, const char *target)
{
	return AT_PARENT(fs, path, symlinkat(target, pfd_, leaf));
}

static ssize_t dir_readlink(struct fs *fs, const char *path, char *buf, size_t cap)
{
	const char *leaf;
	int pfd = parent_of(fs, path, &leaf);
	ssize_t n;

	if (pfd < 0)
		return pfd;
	n = readlinkat(pfd, leaf, buf, cap);
	if (n < 0)
		n = -errno;
	put_parent(fs, pfd);
	if (n >= 0 && (size_t)n < cap)
		buf[n] = 0;
	return n;
}

static int dir_mknod(struct fs *fs, const char *path, uint32_t mode,
		     uint32_t major, uint32_t minor)
{
	return AT_PARENT(fs, path, mknodat(pfd_, leaf, mode, makedev(major, minor)));
}

static int dir_unlink(struct fs *fs, const char *path)
{
	return AT_PARENT(fs, path, unlinkat(pfd_, leaf, 0));
}

static int dir_rmdir(struct fs *fs, const char *path)
{
	int rc = AT_PARENT(fs, path, unlinkat(pfd_, leaf, AT_REMOVEDIR));

	forget_parent(fs);
	return rc;
}

/* Two parents at once, for link and rename. */
static int two_parents(struct fs *fs, const char *a, const char *b, int *pa,
		       const char **la, int *pb, const char **lb)
{
	*pa = parent_of(fs, a, la);
	if (*pa < 0)
		return *pa;
	*pb = parent_of(fs, b, lb);
	if (*pb < 0) {
		put_parent(fs, *pa);
		return *pb;
	}
	return 0;
}

static int dir_link(struct fs *fs, const char *existing, const char *newpath)
{
	const char *la, *lb;
	int pa, pb, rc = two_parents(fs, existing, newpath, &pa, &la, &pb, &lb);

	if (rc < 0)
		return rc;
	rc = linkat(pa, la, pb, lb, 0) < 0 ? -errno : 0;
	put_parent(fs, pa);
	put_parent(fs, pb);
	return rc;
}

static int dir_rename(struct fs *fs, const char *from, const char *to,
		      unsigned flags)
{
	const char *la, *lb;
	int pa, pb, rc = two_parents(fs, from, to, &pa, &la, &pb, &lb);

	if (rc < 0)
		return rc;
	rc = renameat2(pa, la, pb, lb, (flags & FS_RENAME_NOREPLACE) ?
		       RENAME_NOREPLACE : 0) < 0 ? -errno : 0;
	put_parent(fs, pa);
	put_parent(fs, pb);
	forget_parent(fs);
	return rc;
}

/* The root has no parent to name it from: metadata calls on it go through
 * the O_PATH descriptor's /proc/self/fd link instead. */
static int root_call(struct fs *fs, int (*op)(const char *proc, const void *arg),
		     const void *arg)
{
	char proc[64];
	int fd = open_beneath(ROOT(fs), "", O_PATH | O_DIRECTORY), rc;

	if (fd < 0)
		return fd;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	rc = op(proc, arg) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

struct owner { uint32_t uid, gid; };

static int chown_proc(const char *proc, const void *arg)
{
	const struct owner *o = arg;

	return chown(proc, o->uid, o->gid);
}

static int chmod_proc(const char *proc, const void *arg)
{
	return chmod(proc, *(const uint32_t *)arg);
}

static int utimens_proc(const char *proc, const void *arg)
{
	return utimensat(AT_FDCWD, proc, arg, 0);
}

static int dir_set_owner(struct fs *fs, const char *path, uint32_t uid,
			 uint32_t gid)
{
	struct owner o = { uid, gid };

	if (!strcmp(path, "/"))
		return root_call(fs, chown_proc, &o);
	return AT_PARENT(fs, path, fchownat(pfd_, leaf, uid, gid,
					    AT_SYMLINK_NOFOLLOW));
}

static int dir_set_mode(struct fs *fs, const char *path, uint32_t mode)
{
	struct fs_stat st;
	int rc = dir_lookup(fs, path, &st);

	if (rc < 0)
		return rc;
	if (S_ISLNK(st.mode))  /* Linux symlinks have no mode of their own */
		return 0;
	if (!strcmp(path, "/"))
		return root_call(fs, chmod_proc, &mode);
	return AT_PARENT(fs, path, fchmodat(pfd_, leaf, mode, 0));
}

/* ctime and btime cannot be set through POSIX calls; they are skipped. */
static int dir_set_times(struct fs *fs, const char *path, const struct fs_times *t)
{
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT },
				  { .tv_nsec = UTIME_OMIT } };

	if (t->mask & FS_T_ATIME)
		ts[0] = t->atime;
	if (t->mask & FS_T_MTIME)
		ts[1] = t->mtime;
	if (!strcmp(path, "/"))
		return root_call(fs, utimens_proc, ts);
	return AT_PARENT(fs, path, utimensat(pfd_, leaf, ts, AT_SYMLINK_NOFOLLOW));
}

/* xattr calls take a path, so go through the O_PATH descriptor's
 * /proc/self/fd link, which names exactly the object we opened. */
static int xattr_fd(struct fs *fs, const char *path, char proc[64])
{
	const char *leaf;
	int pfd = parent_of(fs, path, &leaf), fd;

	if (pfd < 0)
		return pfd;
	fd = *leaf ? openat(pfd, leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC) : dup(pfd);
	if (fd < 0)
		fd = -errno;
	put_parent(fs, pfd);
	if (fd >= 0)
		snprintf(proc, 64, "/proc/self/fd/%d", fd);
	return fd;
}

static int dir_xattr_list(struct fs *fs, const char *path, fs_xattr_cb cb,
			  void *arg)
{
	char proc[64], *buf = NULL;
	int fd = xattr_fd(fs, path, proc), rc = 0;
	ssize_t n;

	if (fd < 0)
		return fd;
	n = listxattr(proc, NULL, 0);
	if (n > 0 && (buf = malloc((size_t)n)))
		n = listxattr(proc, buf, (size_t)n);
	if (n < 0)
		rc = errno == ENOTSUP ? 0 : -errno;
	for (ssize_t i = 0; rc == 0 && buf && i < n; i += (ssize_t)strlen(buf + i) + 1)
		rc = cb(arg, buf + i);
	free(buf);
	close(fd);
	return rc;
}

static ssize_t dir_xattr_get(struct fs *fs, const char *path, const char *name,
			     void *buf, size_t cap)
{
	char proc[64];
	int fd = xattr_fd(fs, path, proc);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = getxattr(proc, name, buf, cap);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

static int dir_xattr_set(struct fs *fs, const char *path, const char *name,
			 const void *val, size_t len)
{
	char proc[64];
	int fd = xattr_fd(fs, path, proc), rc;

	if (fd < 0)
		return fd;
	rc = setxattr(proc, name, val, len, 0) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static int dir_xattr_remove(struct fs *fs, const char *path, const char *name)
{
	char proc[64];
	int fd = xattr_fd(fs, path, proc), rc;

	if (fd < 0)
		return fd;
	rc = removexattr(proc, name) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static int dir_file_open(struct fs_file *f, const char *path, const char *stream,
			 unsigned flags)
{
	struct dir_file *df = calloc(1, sizeof(*df));
	const char *leaf;
	int pfd;

	(void)stream;  /* fs.c refuses named streams: no stream_list here */
	if (!df)
		return -ENOMEM;
	pfd = parent_of(f->fs, path, &leaf);
	df->fd = pfd < 0 ? pfd : openat(pfd, leaf, ((flags & FS_F_WRITE) ? O_RDWR :
				      O_RDONLY) | O_NOFOLLOW | O_CLOEXEC);
	if (pfd >= 0) {
		if (df->fd < 0)
			df->fd = -errno;
		put_parent(f->fs, pfd);
	}
	if (df->fd < 0) {
		int rc = df->fd;

		free(df);
		return rc;
	}
	f->priv = df;
	return 0;
}

static int FFD(struct fs_file *f)
{
	return ((struct dir_file *)f->priv)->fd;
}

static ssize_t dir_pread(struct fs_file *f, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(FFD(f), buf, len, (off_t)off);

	return n < 0 ? -errno : n;
}

static ssize_t dir_pwrite(struct fs_file *f, const void *buf, size_t len,
			  uint64_t off)
{
	ssize_t n = pwrite(FFD(f), buf, len, (off_t)off);

	return n < 0 ? -errno : n;
}

static int dir_truncate(struct fs_file *f, uint64_t size)
{
	return ftruncate(FFD(f), (off_t)size) < 0 ? -errno : 0;
}

static int dir_next_data(struct fs_file *f, uint64_t off, uint64_t *data_off,
			 uint64_t *data_len)
{
	off_t d = lseek(FFD(f), (off_t)off, SEEK_DATA), h;

	if (d < 0)
		return -errno;  /* ENXIO: nothing but a hole after off */
	h = lseek(FFD(f), d, SEEK_HOLE);
	if (h < 0)
		return -errno;
	*data_off = (uint64_t)d;
	*data_len = (uint64_t)(h - d);
	return 0;
}

static int dir_file_close(struct fs_file *f)
{
	struct dir_file *df = f->priv;
	int rc = close(df->fd) < 0 ? -errno : 0;

	free(df);
	return rc;
}

const struct fs_ops fs_dir_ops = {
	.kind = FS_KIND_DIR,
	.caps = FS_CAP_SYMLINK | FS_CAP_HARDLINK | FS_CAP_DEVICES | FS_CAP_OWNER |
		FS_CAP_XATTR | FS_CAP_POSIX_ACL,
	.open = dir_open,
	.close = dir_close,
	.sync = dir_sync,
	.space = dir_space,
	.lookup = dir_lookup,
	.readdir = dir_readdir,
	.create = dir_create,
	.mkdir = dir_mkdir,
	.symlink = dir_symlink,
	.readlink = dir_readlink,
	.link = dir_link,
	.mknod = dir_mknod,
	.unlink = dir_unlink,
	.rmdir = dir_rmdir,
	.rename = dir_rename,
	.set_owner = dir_set_owner,
	.set_mode = dir_set_mode,
	.set_times = dir_set_times,
	.xattr_list = dir_xattr_list,
	.xattr_get = dir_xattr_get,
	.xattr_set = dir_xattr_set,
	.xattr_remove = dir_xattr_remove,
	.file_open = dir_file_open,
	.file_pread = dir_pread,
	.file_pwrite = dir_pwrite,
	.file_truncate = dir_truncate,
	.file_next_data = dir_next_data,
	.file_close = dir_file_close,
};
