/* fs_impl.h - what the filesystem backends share with fs.c; private to fs/. */
#ifndef SYSRECOVER_FS_IMPL_H
#define SYSRECOVER_FS_IMPL_H

#include "fs.h"

/* Where a backend finds its bytes: a whole file/device, or a byte range of
 * one (a partition inside an image).  size 0 = to the end. */
struct fs_target {
	const char *file;
	uint64_t offset;
	uint64_t size;
};

/* One backend.  A NULL member means the filesystem cannot do that; fs.c then
 * answers -EOPNOTSUPP with a message naming the operation and the kind.
 * Paths given to a backend are already normalised: absolute, no "." or "..",
 * no empty components, "/" alone for the root. */
struct fs_ops {
	enum fs_kind kind;
	unsigned caps;           /* FS_CAP_* */
	/* 1 mine, 0 not mine, < 0 I/O error; must not change anything */
	int (*probe)(const struct fs_target *tg);
	int (*state)(const struct fs_target *tg, enum fs_state *st, struct err *err);
	/* fill fs->priv; refusals are ERR_REFUSED with the reason and the fix */
	int (*open)(struct fs *fs, const struct fs_target *tg, unsigned flags);
	int (*close)(struct fs *fs);  /* flush, clear the mark, free priv */
	/* before the first change of a read-write session: mark the volume
	 * not cleanly closed on disk (flushed); close clears it.  A session
	 * that changes nothing leaves the volume byte for byte as it was. */
	int (*mark)(struct fs *fs);
	int (*sync)(struct fs *fs);
	int (*space)(struct fs *fs, uint64_t *free_bytes, uint64_t *size,
		     uint64_t *free_files);
	/* on a closed volume: see fs_index_dirs; NULL: nothing to do */
	int (*index_dirs)(const struct fs_target *tg, const char *name, struct err *err);

	/* fs_walk met path with stat st, just before its callback: a
	 * read-only session may remember where it is (NULL: nothing) */
	void (*seen)(struct fs *fs, const char *path, const struct fs_stat *st);
	int (*lookup)(struct fs *fs, const char *path, struct fs_stat *st);
	int (*readdir)(struct fs *fs, const char *path, fs_dir_cb cb, void *arg);
	int (*create)(struct fs *fs, const char *path, uint32_t mode);
	int (*mkdir)(struct fs *fs, const char *path, uint32_t mode);
	int (*symlink)(struct fs *fs, const char *path, const char *target);
	ssize_t (*readlink)(struct fs *fs, const char *path, char *buf, size_t cap);
	int (*link)(struct fs *fs, const char *existing, const char *newpath);
	int (*mknod)(struct fs *fs, const char *path, uint32_t mode, uint32_t major,
		     uint32_t minor);
	int (*unlink)(struct fs *fs, const char *path);
	int (*rmdir)(struct fs *fs, const char *path);
	int (*rename)(struct fs *fs, const char *from, const char *to, unsigned flags);

	int (*set_owner)(struct fs *fs, const char *path, uint32_t uid, uint32_t gid);
	int (*set_mode)(struct fs *fs, const char *path, uint32_t mode);
	int (*set_times)(struct fs *fs, const char *path, const struct fs_times *t);

	int (*xattr_list)(struct fs *fs, const char *path, fs_xattr_cb cb, void *arg);
	ssize_t (*xattr_get)(struct fs *fs, const char *path, const char *name,
			     void *buf, size_t cap);
	int (*xattr_set)(struct fs *fs, const char *path, const char *name,
			 const void *val, size_t len);
	int (*xattr_remove)(struct fs *fs, const char *path, const char *name);

	int (*stream_list)(struct fs *fs, const char *path, fs_stream_cb cb, void *arg);
	int (*stream_remove)(struct fs *fs, const char *path, const char *stream);
	ssize_t (*shortname_get)(struct fs *fs, const char *path, char *buf, size_t cap);
	int (*shortname_set)(struct fs *fs, const char *path, const char *name);
	int (*shortname_remove)(struct fs *fs, const char *path);

	/* fill f->priv */
	int (*file_open)(struct fs_file *f, const char *path, const char *stream,
			 unsigned flags);
	ssize_t (*file_pread)(struct fs_file *f, void *buf, size_t len, uint64_t off);
	ssize_t (*file_pwrite)(struct fs_file *f, const void *buf, size_t len,
			       uint64_t off);
	int (*file_truncate)(struct fs_file *f, uint64_t size);
	int (*file_next_data)(struct fs_file *f, uint64_t off, uint64_t *data_off,
			      uint64_t *data_len);
	int (*file_close)(struct fs_file *f);  /* frees priv */
};

struct fs {
	const struct fs_ops *ops;
	void *priv;
	char *name;
	unsigned flags;
	int lock_fd;      /* read-write image files: holds the OFD write lock */
	bool marked;      /* ops->mark done (or not needed) */
	struct err err;   /* of the last call; fs_error() */
};

struct fs_file {
	struct fs *fs;
	void *priv;
	char *path;       /* normalised, for messages */
};

extern const struct fs_ops fs_ext_ops;
extern const struct fs_ops fs_ntfs_ops;
extern const struct fs_ops fs_dir_ops;

/* The module's one wrapper over err_set: the usual sentence
 * "cannot VERB 'PATH' on NAME: strerror(err)" into fs->err; returns err.
 * Everything else is err_set/err_setc on fs->err (or on the caller's
 * struct err before there is a handle). */
int fs_fail_op(struct fs *fs, int err, const char *verb, const char *path);

/* Where a volume is mounted: the mount point ("[SWAP]" for swap) and what
 * it goes through (a loop device node, a FUSE type; "" when the volume's
 * own device). */
struct fs_mount {
	char point[4096];
	char via[256];
};

/* Is any byte of tg used by a mount or an active swap area?  Decided by
 * identity (device and inode of files, device numbers, loop devices' backing
 * inode and offset, partitions' ranges), not by path: 1 and *m filled, or 0
 * (volume.c). */
int fs_target_mounted(const struct fs_target *tg, struct fs_mount *m);

#endif
