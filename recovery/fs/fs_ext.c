/* fs_ext.c - the ext2/3/4 backend: every fs_ops member through libext2fs 1.47.0.
 *
 * Recipes follow e2fsprogs' misc/create_inode.c and misc/fuse2fs.c (see
 * HACKING.md).  Choices worth knowing:
 *  - Paths are resolved one component at a time and never through a symlink
 *    (ext2fs_namei would follow symlinks in the middle of a path).
 *  - Large directories are read once into a name cache that knows each
 *    name's block (fs_ext_dir.c); lookups, new names, removals and renames
 *    then touch one block (htree directories: the leaf found through the
 *    index), so directories of 100,000 names are linear.
 *  - New regular files get extents when the fs has them, block maps
 *    otherwise, and never inline data (ext2fs_file_* handles inline data
 *    written by others).  Directories and symlinks are made by ext2fs_mkdir
 *    and ext2fs_symlink, which use inline data when the feature is on.
 *  - Error codes are translated once, here: ext_errno() for the errno and
 *    the library's own message table for the text.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>
#include <ext2fs/ext2_err.h>
#include <et/com_err.h>

#include "fs_ext_dir.h"
#include "fs_ext_io.h"
#include "fs_impl.h"

struct ext_file {
	struct ext_file *next;   /* the volume's open files */
	struct fs_file *owner;
	ext2_file_t f;
	ext2_ino_t ino;
};

/* The handle: the state fs_ext_dir.c shares, and the not-cleanly-closed
 * mark of a read-write open (what the superblock said before it). */
struct ext_vol {
	struct ext_priv p;          /* first: P() casts fs->priv */
	bool marked;
	uint16_t saved_state;
	char saved_last[64];        /* s_last_mounted */
	char *bounce;               /* one block: a file's partial last block */
};

#define P(fs) ((struct ext_priv *)(fs)->priv)

/* s_last_mounted while a read-write open of ours holds the volume: what
 * FS_O_ACCEPT_UNCLEAN looks for, so that it accepts our own interrupted
 * session and nothing else (a kernel writes its mount point there). */
#define EXT_MARK "[sysrecover: open read-write]"

/* ---- errors -------------------------------------------------------------- */

static const struct { errcode_t code; int err; } ext_errtab[] = {
	{ EXT2_ET_FILE_NOT_FOUND, ENOENT },
	{ EXT2_ET_NO_DIRECTORY, ENOTDIR },
	{ EXT2_ET_DIR_EXISTS, EEXIST },
	{ EXT2_ET_FILE_EXISTS, EEXIST },
	{ EXT2_ET_BLOCK_ALLOC_FAIL, ENOSPC },
	{ EXT2_ET_INODE_ALLOC_FAIL, ENOSPC },
	{ EXT2_ET_DIR_NO_SPACE, ENOSPC },
	{ EXT2_ET_EA_NO_SPACE, ENOSPC },
	{ EXT2_ET_INLINE_DATA_NO_SPACE, ENOSPC },
	{ EXT2_ET_RO_FILSYS, EROFS },
	{ EXT2_ET_NO_MEMORY, ENOMEM },
	{ EXT2_ET_EA_KEY_NOT_FOUND, ENODATA },
	{ EXT2_ET_EA_BAD_NAME_LEN, ERANGE },
	{ EXT2_ET_EA_BAD_VALUE_SIZE, E2BIG },
	{ EXT2_ET_FILE_TOO_BIG, EFBIG },
	{ EXT2_ET_TOO_MANY_REFS, EMLINK },
	{ EXT2_ET_INVALID_ARGUMENT, EINVAL },
	{ EXT2_ET_UNIMPLEMENTED, EOPNOTSUPP },
	{ EXT2_ET_OP_NOT_SUPPORTED, EOPNOTSUPP },
	{ EXT2_ET_UNSUPP_FEATURE, EOPNOTSUPP },
	{ EXT2_ET_RO_UNSUPP_FEATURE, EROFS },
	{ EXT2_ET_BAD_MAGIC, EINVAL },
	{ EXT2_ET_CORRUPT_SUPERBLOCK, EUCLEAN },
	{ EXT2_ET_SHORT_READ, EIO },
	{ EXT2_ET_MMP_FAILED, EBUSY },
	{ EXT2_ET_MMP_FSCK_ON, EBUSY },
};

/* errcode_t -> negative errno.  Small codes are errnos already (unix_io
 * and our own helpers return them). */
static int ext_errno(errcode_t code)
{
	if (code > 0 && code < 4096)
		return -(int)code;
	for (size_t i = 0; i < sizeof(ext_errtab) / sizeof(*ext_errtab); i++)
		if (ext_errtab[i].code == code)
			return -ext_errtab[i].err;
	return -EIO;
}

/* The library's sentence for a code.  Read from libext2fs' own table, not
 * error_message(): that lives in libcom_err, which the Makefile does not
 * link (see the report); the text is the same. */
static const char *ext_strerror(errcode_t code)
{
	const struct error_table *et = &et_ext2_error_table;

	if (code > 0 && code < 4096)
		return strerror((int)code);
	if (code >= et->base && code < et->base + et->n_msgs)
		return et->msgs[code - et->base];
	return "unknown libext2fs error";
}

/* What kind of failure a library code is: the codes without an errno of
 * their own (bad checksums, bad block numbers, ...), a bad magic and a short
 * read say the volume is damaged; multi-mount protection is a refusal. */
static enum err_code ext_code(errcode_t code)
{
	int err = ext_errno(code);

	if (code > 0 && code < 4096)
		return ERR_SYSTEM;
	if (code == EXT2_ET_MMP_FAILED || code == EXT2_ET_MMP_FSCK_ON)
		return ERR_REFUSED;
	if (err == -EIO || err == -EUCLEAN || code == EXT2_ET_BAD_MAGIC)
		return ERR_CORRUPT;
	return ERR_SYSTEM;
}

/* "cannot VERB 'PATH' on NAME: strerror (library text)". */
static int ext_fail(struct fs *fs, errcode_t code, const char *verb,
		    const char *path)
{
	int err = ext_errno(code);

	if (code > 0 && code < 4096)
		return fs_fail_op(fs, err, verb, path);
	return err_setc(&fs->err, ERR_FATAL, ext_code(code), err,
			"cannot %s '%s' on %s: %s (%s)", verb, path, fs->name,
			strerror(-err), ext_strerror(code));
}

static int ext_fail_open(struct fs *fs, errcode_t code)
{
	int err = ext_errno(code);

	return err_setc(&fs->err, ERR_FATAL, ext_code(code), err,
			"cannot open %s: %s (%s)", fs->name, strerror(-err),
			ext_strerror(code));
}

/* ---- inodes ---------------------------------------------------------------- */

static bool ext_large(ext2_filsys fs)
{
	return EXT2_INODE_SIZE(fs->super) > EXT2_GOOD_OLD_INODE_SIZE;
}

/* Does the large part of `in` hold field [off, off+len)? */
static bool ext_has_extra(ext2_filsys fs, const struct ext2_inode_large *in,
			  size_t off, size_t len)
{
	return ext_large(fs) &&
	       EXT2_GOOD_OLD_INODE_SIZE + (size_t)in->i_extra_isize >= off + len;
}

#define EXT_HAS(fs, in, field) \
	ext_has_extra(fs, in, offsetof(struct ext2_inode_large, field), \
		      sizeof((in)->field))

errcode_t fs_ext_iread(ext2_filsys fs, ext2_ino_t ino,
			   struct ext2_inode_large *in)
{
	memset(in, 0, sizeof(*in));
	return ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)in,
				      sizeof(*in));
}

/* Write an inode, and keep the copy of any open file handle on it in step
 * (the handle writes its copy back when it allocates or closes). */
static errcode_t ext_iwrite(struct ext_priv *p, ext2_ino_t ino,
			    struct ext2_inode_large *in)
{
	errcode_t e = ext2fs_write_inode_full(p->fs, ino, (struct ext2_inode *)in,
					      sizeof(*in));

	for (struct ext_file *f = p->files; !e && f; f = f->next)
		if (f->ino == ino)
			*ext2fs_file_get_inode(f->f) = *(struct ext2_inode *)in;
	return e;
}

/* Before changing an inode behind an open handle's back: flush the handle
 * so what is on disk is current. */
static errcode_t ext_flush_open(struct ext_priv *p, ext2_ino_t ino)
{
	errcode_t e = 0;

	for (struct ext_file *f = p->files; !e && f; f = f->next)
		if (f->ino == ino)
			e = ext2fs_file_flush(f->f);
	return e;
}

/* ext4 time: 32 low bits of seconds; extra = nanoseconds << 2 | epoch. */
static void ext_tget(uint32_t lo, uint32_t extra, bool has_extra,
		     struct timespec *ts)
{
	int64_t sec = (int32_t)lo;

	if (has_extra) {
		sec += (int64_t)(extra & EXT4_EPOCH_MASK) << 32;
		ts->tv_nsec = extra >> EXT4_EPOCH_BITS;
	} else {
		ts->tv_nsec = 0;
	}
	ts->tv_sec = sec;
}

static void ext_tset(const struct timespec *ts, uint32_t *lo, uint32_t *extra)
{
	int64_t sec = ts->tv_sec;

	*lo = (uint32_t)sec;
	if (extra)
		*extra = (uint32_t)(((sec - (int32_t)sec) >> 32) & EXT4_EPOCH_MASK) |
			 ((uint32_t)ts->tv_nsec << EXT4_EPOCH_BITS);
}

#define EXT_TSET(fs, in, ts, f) \
	ext_tset(ts, &(in)->i_##f, EXT_HAS(fs, in, i_##f##_extra) ? \
		 &(in)->i_##f##_extra : NULL)

static void ext_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

/* Mark an inode changed now: ctime, and mtime too for a directory whose
 * entries changed. */
static void ext_touch(ext2_filsys fs, struct ext2_inode_large *in, bool mtime)
{
	struct timespec now;

	ext_now(&now);
	EXT_TSET(fs, in, &now, ctime);
	if (mtime)
		EXT_TSET(fs, in, &now, mtime);
}

errcode_t fs_ext_touch_ino(struct ext_priv *p, ext2_ino_t ino, bool mtime,
			       int dlinks)
{
	struct ext2_inode_large in;
	errcode_t e = fs_ext_iread(p->fs, ino, &in);

	if (e)
		return e;
	ext_touch(p->fs, &in, mtime);
	if (dlinks < 0 && in.i_links_count > 1)
		in.i_links_count--;
	else if (dlinks > 0)
		in.i_links_count++;
	return ext_iwrite(p, ino, &in);
}

static void ext_rdev_get(const struct ext2_inode_large *in, uint32_t *ma,
			 uint32_t *mi)
{
	uint32_t b0 = in->i_block[0], b1 = in->i_block[1];

	if (b0) {   /* old encoding: both numbers < 256 */
		*ma = (b0 >> 8) & 0xff;
		*mi = b0 & 0xff;
	} else {
		*ma = (b1 & 0xfff00) >> 8;
		*mi = (b1 & 0xff) | ((b1 >> 12) & 0xfff00);
	}
}

static void ext_rdev_set(struct ext2_inode_large *in, uint32_t ma, uint32_t mi)
{
	memset(in->i_block, 0, sizeof(in->i_block));
	if (ma < 256 && mi < 256)
		in->i_block[0] = ma << 8 | mi;
	else
		in->i_block[1] = (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
}

static void ext_fill_stat(ext2_filsys fs, ext2_ino_t ino,
			  const struct ext2_inode_large *in, struct fs_stat *st)
{
	uint32_t m = in->i_mode;

	memset(st, 0, sizeof(*st));
	st->ino = ino;
	st->mode = m;
	st->uid = inode_uid(*in);
	st->gid = inode_gid(*in);
	st->nlink = in->i_links_count;
	st->size = EXT2_I_SIZE(in);
	st->alloc = (uint64_t)ext2fs_get_stat_i_blocks(fs, (struct ext2_inode *)in) * 512;
	ext_tget(in->i_atime, in->i_atime_extra, EXT_HAS(fs, in, i_atime_extra), &st->atime);
	ext_tget(in->i_mtime, in->i_mtime_extra, EXT_HAS(fs, in, i_mtime_extra), &st->mtime);
	ext_tget(in->i_ctime, in->i_ctime_extra, EXT_HAS(fs, in, i_ctime_extra), &st->ctime);
	if (EXT_HAS(fs, in, i_crtime))
		ext_tget(in->i_crtime, in->i_crtime_extra,
			 EXT_HAS(fs, in, i_crtime_extra), &st->btime);
	if (LINUX_S_ISCHR(m) || LINUX_S_ISBLK(m))
		ext_rdev_get(in, &st->rdev_major, &st->rdev_minor);
}

static int ext_ftype(uint32_t mode)
{
	switch (mode & LINUX_S_IFMT) {
	case LINUX_S_IFREG: return EXT2_FT_REG_FILE;
	case LINUX_S_IFDIR: return EXT2_FT_DIR;
	case LINUX_S_IFCHR: return EXT2_FT_CHRDEV;
	case LINUX_S_IFBLK: return EXT2_FT_BLKDEV;
	case LINUX_S_IFIFO: return EXT2_FT_FIFO;
	case LINUX_S_IFSOCK: return EXT2_FT_SOCK;
	case LINUX_S_IFLNK: return EXT2_FT_SYMLINK;
	}
	return EXT2_FT_UNKNOWN;
}

/* libext2fs 1.46.6 to 1.47.3 (Debian 12 has 1.47.0) refuse to free an
 * extent that ends at the last block of the filesystem: punch_extent_blocks
 * checks "start + count >= blocks_count", an off-by-one fixed upstream in
 * 1.47.4 (commit 509da989).  A file that filled the volume up to its end
 * then could be neither removed nor truncated, and a failed removal left
 * the bitmaps wrong.  Around the calls that punch, the in-memory block count
 * is one higher, so the check lets the last block through; nothing is
 * allocated by a punch to the end of a file, and nothing writes the
 * superblock during one, so the raised count never reaches the disk. */
static bool ext_punch_bug(void)
{
	static int bug = -1;
	const char *v = NULL;
	int a = 0, b = 0, c = 0;

	if (bug < 0) {
		ext2fs_get_library_version(&v, NULL);
		bug = v && sscanf(v, "%d.%d.%d", &a, &b, &c) >= 2 &&
		      a * 10000 + b * 100 + c >= 14606 && a * 10000 + b * 100 + c < 14704;
	}
	return bug;
}

static errcode_t ext_punch_to_end(ext2_filsys fs, ext2_ino_t ino,
				  struct ext2_inode *in, ext2_file_t file,
				  uint64_t size)
{
	blk64_t n = ext2fs_blocks_count(fs->super);
	bool bump = ext_punch_bug();
	errcode_t e;

	if (bump)
		ext2fs_blocks_count_set(fs->super, n + 1);
	e = file ? ext2fs_file_set_size2(file, size) :
		   ext2fs_punch(fs, ino, in, NULL, 0, ~0ULL);
	if (bump)
		ext2fs_blocks_count_set(fs->super, n);
	return e;
}

/* Drop one link to an inode; free it (xattrs, blocks, the inode) at zero.
 * As fuse2fs's remove_inode. */
static errcode_t ext_put_inode(struct ext_priv *p, ext2_ino_t ino)
{
	ext2_filsys fs = p->fs;
	struct ext2_inode_large in;
	errcode_t e = fs_ext_iread(fs, ino, &in);

	if (e || in.i_links_count == 0)
		return e;
	in.i_links_count--;
	ext_touch(fs, &in, false);
	if (in.i_links_count)
		return ext_iwrite(p, ino, &in);
	in.i_dtime = fs->now ? (uint32_t)fs->now : (uint32_t)time(NULL);
	if ((e = ext2fs_free_ext_attr(fs, ino, &in)))
		return e;
	if (ext2fs_inode_has_valid_blocks2(fs, (struct ext2_inode *)&in)) {
		e = ext_punch_to_end(fs, ino, (struct ext2_inode *)&in, NULL, 0);
		if (e)
			return e;
	}
	ext2fs_inode_alloc_stats2(fs, ino, -1, LINUX_S_ISDIR(in.i_mode));
	return ext_iwrite(p, ino, &in);
}

/* ---- probe, state, open, close ------------------------------------------------- */

static int ext_read_super(const struct fs_target *tg, struct ext2_super_block *sb)
{
	int fd = open(tg->file, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, sb, sizeof(*sb), (off_t)(tg->offset + SUPERBLOCK_OFFSET));
	close(fd);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(*sb) || ext2fs_le16_to_cpu(sb->s_magic) != EXT2_SUPER_MAGIC)
		return 0;
	return 1;
}

static int ext_probe(const struct fs_target *tg)
{
	struct ext2_super_block sb;

	return ext_read_super(tg, &sb);
}

static enum fs_state ext_sb_state(const struct ext2_super_block *sb)
{
	uint32_t incompat = ext2fs_le32_to_cpu(sb->s_feature_incompat);
	uint16_t state = ext2fs_le16_to_cpu(sb->s_state);

	if (incompat & EXT3_FEATURE_INCOMPAT_RECOVER)
		return FS_STATE_NEEDS_RECOVERY;
	if (state & EXT2_ERROR_FS)
		return FS_STATE_ERRORS;
	if (!(state & EXT2_VALID_FS))
		return FS_STATE_UNCLEAN;
	return FS_STATE_CLEAN;
}

static bool ext_has_mark(const struct ext2_super_block *sb)
{
	return !strncmp((const char *)sb->s_last_mounted, EXT_MARK,
			sizeof(sb->s_last_mounted));
}

/* The e2fsck command that checks this volume: on the file, or for a
 * partition inside an image on "FILE?offset=N" (e2fsck hands the part after
 * '?' to its I/O layer, so no loop device is needed). */
static void ext_fsck_cmd(const struct fs_target *tg, char *buf, size_t cap)
{
	if (tg->offset)
		snprintf(buf, cap, "e2fsck -f '%s?offset=%llu'", tg->file,
			 (unsigned long long)tg->offset);
	else
		snprintf(buf, cap, "'e2fsck -f %s'", tg->file);
}

static int ext_state(const struct fs_target *tg, enum fs_state *st,
		     struct err *err)
{
	struct ext2_super_block sb;
	int rc = ext_read_super(tg, &sb);

	if (rc <= 0)
		return rc ? err_set(err, rc, "%s: %s", tg->file, strerror(-rc))
			  : err_setc(err, ERR_FATAL, ERR_CORRUPT, -EINVAL,
				     "%s: no ext2/3/4 superblock", tg->file);
	*st = ext_sb_state(&sb);
	return 0;
}

/* Run e2fsck with opt1, opt2, opt3 (NULL ends them early) on target, its
 * output discarded: its exit status, or -1 when it could not run. */
/* Runs e2fsck with argv (argv[0] "e2fsck", NULL-terminated), quietly:
 * its exit status, or -1 when it could not run. */
static int ext_e2fsck(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
		}
		execvp("e2fsck", argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* `e2fsck -E journal_only -y FILE`: replays the journal, checks nothing. */
static int ext_replay(struct fs *fs, const struct fs_target *tg)
{
	int st;

	if (tg->offset)
		return err_setc(&fs->err, ERR_FATAL, ERR_REFUSED, -EBUSY, "%s: the journal needs recovery, and"
			       " e2fsck cannot replay it inside an image (at byte"
			       " %llu): attach the partition with 'losetup -o %llu"
			       " -f --show %s' and open the loop device", fs->name,
			       (unsigned long long)tg->offset,
			       (unsigned long long)tg->offset, tg->file);
	st = ext_e2fsck((char *const[]){ "e2fsck", "-E", "journal_only", "-y",
					(char *)tg->file, NULL });
	if (st < 0 || st >= 4)
		return err_set(&fs->err, -EIO, "%s: 'e2fsck -E journal_only -y %s' failed"
			       " (exit status %d): run e2fsck by hand", fs->name,
			       tg->file, st);
	return 0;
}

/* `e2fsck -fpD FILE[?offset=N]`: every directory hashed and compacted, as
 * the kernel leaves big ones; nothing else to repair on a volume we just
 * closed cleanly (exit 1, "changed", is the expected answer). */
static int ext_index_dirs(const struct fs_target *tg, const char *name, struct err *err)
{
	char target[4200];
	int st;

	if (tg->offset)
		snprintf(target, sizeof(target), "%s?offset=%llu", tg->file,
			 (unsigned long long)tg->offset);
	else
		snprintf(target, sizeof(target), "%s", tg->file);
	st = ext_e2fsck((char *const[]){ "e2fsck", "-fpD", target, NULL });
	if (st < 0 || st > 1)
		return err_setc(err, ERR_WARNING, ERR_SYSTEM, -EIO, "%s: 'e2fsck -fpD %s' "
				"(indexing its directories) failed with exit status %d: the "
				"volume is usable, its big directories are linear", name,
				target, st);
	return 0;
}

static errcode_t ext_open_lib(const struct fs_target *tg, int flags,
			      ext2_filsys *out)
{
	char opts[64] = "";

	if (tg->offset)
		snprintf(opts, sizeof(opts), "offset=%llu",
			 (unsigned long long)tg->offset);
	*out = NULL;
	/* metadata in a larger cache than unix_io's 8 blocks (fs_ext_io.c): a
	 * backup walking 40,000 files re-read inode-table blocks 130,000 times */
	return ext2fs_open2(tg->file, opts[0] ? opts : NULL, flags | EXT2_FLAG_64BITS,
			    0, 0, fs_ext_cache_io, out);
}

/* A filesystem bigger than the bytes that hold it (a cut-off image, a
 * partition table that lies): writing could allocate past the end. */
static int ext_check_size(struct fs *fs, const struct fs_target *tg,
			  ext2_filsys lfs)
{
	uint64_t need = ext2fs_blocks_count(lfs->super) * (uint64_t)lfs->blocksize;
	uint64_t have = tg->size;
	blk64_t blocks;

	if (!have && !ext2fs_get_device_size2(tg->file, 1, &blocks))
		have = blocks > tg->offset ? blocks - tg->offset : 0;
	if (!have || have >= need)
		return 1;
	return err_setc(&fs->err, ERR_FATAL, ERR_REFUSED, -EIO, "%s is truncated: the filesystem is %llu bytes but"
		       " only %llu are there; copy the whole volume, or open it"
		       " read-only to salvage what is left", fs->name,
		       (unsigned long long)need, (unsigned long long)have);
}

/* The read-write refusals, checked on a read-only open so that a refused
 * volume is not touched at all.  1 = go on, < 0 refused.  (Mounted is
 * fs_open's first check, fs.c.)  The 'e2fsck -f' advice names the partition
 * inside an image as e2fsck takes it. */
static int ext_check_rw(struct fs *fs, const struct fs_target *tg,
			unsigned flags)
{
	ext2_filsys lfs = NULL;
	errcode_t e;
	enum fs_state st;
	char fsck[4200];
	bool mark;
	int rc = 1;

	ext_fsck_cmd(tg, fsck, sizeof(fsck));
	for (int pass = 0; rc == 1 && pass < 2; pass++) {
		if ((e = ext_open_lib(tg, 0, &lfs)))
			return ext_fail_open(fs, e);
		st = ext_sb_state(lfs->super);
		mark = ext_has_mark(lfs->super);
		rc = ext_check_size(fs, tg, lfs);
		ext2fs_close_free(&lfs);
		if (rc < 0)
			break;
		if (st == FS_STATE_NEEDS_RECOVERY && !pass &&
		    (flags & FS_O_REPLAY_JOURNAL))
			rc = ext_replay(fs, tg) ? -EBUSY : 1;
		else if (st == FS_STATE_NEEDS_RECOVERY)
			rc = err_setc(&fs->err, ERR_FATAL, ERR_REFUSED, -EBUSY, "%s: the journal needs recovery (it"
				     " was not cleanly unmounted): replay it with"
				     " --replay-journal or 'e2fsck -E journal_only"
				     " %s', then try again", fs->name, tg->file);
		else if (st == FS_STATE_ERRORS)
			rc = err_setc(&fs->err, ERR_FATAL, ERR_REFUSED, -EUCLEAN, "%s has"
				      " errors recorded by the kernel: check it with"
				      " %s first", fs->name, fsck);
		else if (st == FS_STATE_UNCLEAN &&
			 !((flags & FS_O_ACCEPT_UNCLEAN) && mark))
			rc = err_setc(&fs->err, ERR_FATAL, ERR_REFUSED, -EUCLEAN, "%s was"
				      " not cleanly closed (%s): check it with"
				      " %s first", fs->name, mark ?
				      "a sysrecover session that wrote to it was"
				      " interrupted" : "it was not cleanly unmounted",
				      fsck);
		else
			break;
	}
	if (rc < 0 && !fs->err.msg[0])
		err_setc(&fs->err, ERR_FATAL, ERR_REFUSED, rc, "%s: refused", fs->name);
	return rc;
}

/* Mark the volume not cleanly closed, on disk, before the first change
 * (fs.c calls ops->mark): EXT2_VALID_FS cleared (what the kernel does when it mounts a
 * filesystem without a journal, and what makes e2fsck check it at boot) and
 * EXT_MARK in s_last_mounted.  Only the primary superblock is written. */
static errcode_t ext_mark(struct ext_vol *v)
{
	struct ext2_super_block *sb = v->p.fs->super;
	errcode_t e;

	v->saved_state = sb->s_state;
	memcpy(v->saved_last, sb->s_last_mounted, sizeof(v->saved_last));
	if (ext_has_mark(sb))   /* left by an interrupted session */
		memset(v->saved_last, 0, sizeof(v->saved_last));
	sb->s_state &= (uint16_t)~EXT2_VALID_FS;
	memset(sb->s_last_mounted, 0, sizeof(sb->s_last_mounted));
	memcpy(sb->s_last_mounted, EXT_MARK, sizeof(EXT_MARK));
	ext2fs_mark_super_dirty(v->p.fs);
	v->p.fs->flags |= EXT2_FLAG_SUPER_ONLY;
	e = ext2fs_flush2(v->p.fs, 0);
	v->p.fs->flags &= ~EXT2_FLAG_SUPER_ONLY;
	v->marked = !e;
	return e;
}

static int ext_mark_op(struct fs *fs)
{
	errcode_t e = ext_mark(fs->priv);

	return e ? err_set(&fs->err, ext_errno(e), "cannot mark %s in use: %s",
			   fs->name, ext_strerror(e)) : 0;
}

/* At a clean close: the superblock as it was.  A volume that was marked
 * when we opened it (FS_O_ACCEPT_UNCLEAN) keeps the mark: what the
 * interrupted session left is still to be checked. */
static void ext_unmark(struct ext_vol *v)
{
	struct ext2_super_block *sb = v->p.fs->super;

	if (!v->marked)
		return;
	sb->s_state = v->saved_state;
	if (v->saved_state & EXT2_VALID_FS)
		memcpy(sb->s_last_mounted, v->saved_last, sizeof(v->saved_last));
	ext2fs_mark_super_dirty(v->p.fs);
}

static int ext_open(struct fs *fs, const struct fs_target *tg, unsigned flags)
{
	struct ext_vol *v = calloc(1, sizeof(*v));
	struct ext_priv *p = &v->p;
	errcode_t e;
	int rc;

	if (!v)
		return err_set(&fs->err, -ENOMEM, "out of memory");
	if ((flags & FS_O_RDWR) && (rc = ext_check_rw(fs, tg, flags)) < 0)
		goto out;
	e = ext_open_lib(tg, (flags & FS_O_RDWR) ?
			 EXT2_FLAG_RW | EXT2_FLAG_EXCLUSIVE : 0, &p->fs);
	if (e == EBUSY) {
		rc = err_setc(&fs->err, ERR_FATAL, ERR_REFUSED, -EBUSY, "%s is in use (mounted or open elsewhere):"
			     " unmount or close it first", fs->name);
		goto out;
	}
	if (!e)   /* before any allocation (libext2fs does not load them) */
		e = ext2fs_read_bitmaps(p->fs);
	if (e) {
		rc = ext_fail_open(fs, e);
		goto out;
	}
	fs->priv = v;
	return 0;
out:
	if (p->fs)
		ext2fs_close_free(&p->fs);
	free(v);
	return rc;
}

static int ext_close(struct fs *fs)
{
	struct ext_vol *v = fs->priv;
	struct ext_priv *p = &v->p;
	errcode_t e, e2;

	while (p->files) {   /* a caller that forgot: its data still lands */
		struct ext_file *f = p->files;

		p->files = f->next;
		ext2fs_file_close(f->f);
		f->owner->priv = NULL;
		free(f);
	}
	/* Everything else first, the mark last.  A session that changed
	 * nothing was never marked and writes nothing: the image stays
	 * byte-identical (a refused plan must leave no trace). */
	e = v->marked ? ext2fs_flush2(p->fs, 0) : 0;
	if (!e)
		ext_unmark(v);
	e2 = ext2fs_close_free(&p->fs);
	if (!e)
		e = e2;
	fs_ext_dc_clear(&p->dc);
	fs_ext_made_free(p);
	free(v->bounce);
	free(v);
	fs->priv = NULL;
	return e ? ext_fail(fs, e, "close", fs->name) : 0;
}

static int ext_space(struct fs *fs, uint64_t *free_bytes, uint64_t *size,
		     uint64_t *free_files)
{
	ext2_filsys e = P(fs)->fs;

	*free_files = e->super->s_free_inodes_count;
	*free_bytes = ext2fs_free_blocks_count(e->super) * (uint64_t)e->blocksize;
	*size = ext2fs_blocks_count(e->super) * (uint64_t)e->blocksize;
	return 0;
}

static int ext_sync(struct fs *fs)
{
	struct ext_priv *p = P(fs);
	errcode_t e = 0;

	if (!(p->fs->flags & EXT2_FLAG_RW))
		return 0;
	for (struct ext_file *f = p->files; !e && f; f = f->next)
		e = ext2fs_file_flush(f->f);
	if (!e)
		e = ext2fs_flush2(p->fs, 0);
	return e ? ext_fail(fs, e, "flush", fs->name) : 0;
}

/* ---- names: lookup and readdir ------------------------------------------------ */

static void ext_seen(struct fs *fs, const char *path, const struct fs_stat *st)
{
	fs_ext_seen(P(fs), path, (ext2_ino_t)st->ino);
}

static int ext_lookup(struct fs *fs, const char *path, struct fs_stat *st)
{
	struct ext_priv *p = P(fs);
	struct ext2_inode_large in;
	ext2_ino_t ino;
	errcode_t e = fs_ext_resolve(p, path, &ino);

	if (!e)
		e = fs_ext_iread(p->fs, ino, &in);
	if (e)
		return ext_fail(fs, e, "look up", path);
	ext_fill_stat(p->fs, ino, &in, st);
	return 0;
}

struct ext_rd {
	ext2_filsys fs;
	fs_dir_cb cb;
	void *arg;
	int rc;
	errcode_t err;
};

static int ext_readdir_cb(struct ext2_dir_entry *de, int off, int bsz,
			  char *buf, void *arg)
{
	struct ext_rd *r = arg;
	int len = ext2fs_dirent_name_len(de);
	char name[EXT2_NAME_LEN + 1];
	struct ext2_inode_large in;
	struct fs_stat st;

	(void)off, (void)bsz, (void)buf;
	if ((len == 1 && de->name[0] == '.') ||
	    (len == 2 && de->name[0] == '.' && de->name[1] == '.'))
		return 0;
	memcpy(name, de->name, (size_t)len);
	name[len] = 0;
	if ((r->err = fs_ext_iread(r->fs, de->inode, &in)))
		return DIRENT_ABORT;
	ext_fill_stat(r->fs, de->inode, &in, &st);
	r->rc = r->cb(r->arg, name, &st);
	return r->rc ? DIRENT_ABORT : 0;
}

static int ext_readdir(struct fs *fs, const char *path, fs_dir_cb cb, void *arg)
{
	struct ext_priv *p = P(fs);
	struct ext_rd r = { p->fs, cb, arg, 0, 0 };
	struct ext2_inode_large in;
	ext2_ino_t ino;
	errcode_t e = fs_ext_resolve(p, path, &ino);

	if (!e)
		e = fs_ext_iread(p->fs, ino, &in);
	if (!e && !LINUX_S_ISDIR(in.i_mode))
		e = ENOTDIR;
	if (!e)
		e = ext2fs_dir_iterate(p->fs, ino, 0, NULL, ext_readdir_cb, &r);
	if (!e)
		e = r.err;
	if (e)
		return ext_fail(fs, e, "read directory", path);
	return r.rc;
}

/* ---- creating --------------------------------------------------------------- */

/* Where a new name goes: its parent, and proof that it is free. */
static errcode_t ext_new_name(struct ext_priv *p, const char *path,
			      ext2_ino_t *dir, const char **base)
{
	ext2_ino_t ino;
	errcode_t e = fs_ext_parent(p, path, dir, base);

	if (e)
		return e;
	e = fs_ext_dlookup(p, *dir, *base, strlen(*base), &ino);
	if (e == EXT2_ET_FILE_NOT_FOUND)
		return 0;
	return e ? e : EEXIST;
}

/* The fresh on-disk inode: zeroed to the full inode size (no stale in-inode
 * xattrs of a previous owner), large part sized, times now. */
static errcode_t ext_write_fresh(struct ext_priv *p, ext2_ino_t ino,
				 struct ext2_inode_large *in)
{
	ext2_filsys fs = p->fs;
	size_t isz = EXT2_INODE_SIZE(fs->super);
	struct timespec now;
	char *buf;
	errcode_t e;

	if (ext_large(fs))
		in->i_extra_isize = sizeof(*in) - EXT2_GOOD_OLD_INODE_SIZE;
	ext_now(&now);
	EXT_TSET(fs, in, &now, atime);
	EXT_TSET(fs, in, &now, mtime);
	EXT_TSET(fs, in, &now, ctime);
	if (ext_large(fs))
		EXT_TSET(fs, in, &now, crtime);
	if ((e = ext2fs_get_memzero(isz, &buf)))
		return e;
	memcpy(buf, in, isz < sizeof(*in) ? isz : sizeof(*in));
	e = ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)buf, (int)isz);
	ext2fs_free_mem(&buf);
	return e;
}

/* A regular file, device node, fifo or socket: new inode, link it. */
static errcode_t ext_make_node(struct ext_priv *p, const char *path,
			       uint32_t mode, uint32_t ma, uint32_t mi)
{
	ext2_filsys fs = p->fs;
	struct ext2_inode_large in;
	ext2_ino_t dir, ino;
	const char *base;
	ext2_extent_handle_t h;
	errcode_t e = ext_new_name(p, path, &dir, &base);

	if (!e)
		e = ext2fs_new_inode(fs, dir, (int)mode, NULL, &ino);
	if (e)
		return e;
	memset(&in, 0, sizeof(in));
	in.i_mode = (uint16_t)mode;
	in.i_links_count = 1;
	if (LINUX_S_ISCHR(mode) || LINUX_S_ISBLK(mode))
		ext_rdev_set(&in, ma, mi);
	if (LINUX_S_ISREG(mode) && ext2fs_has_feature_extents(fs->super)) {
		/* an empty extent tree in i_block, as create_inode.c does */
		if ((e = ext2fs_extent_open2(fs, ino, (struct ext2_inode *)&in, &h)))
			return e;
		ext2fs_extent_free(h);
	}
	ext2fs_inode_alloc_stats2(fs, ino, +1, 0);
	e = ext_write_fresh(p, ino, &in);
	if (!e)
		e = fs_ext_dlink(p, dir, base, ino, ext_ftype(mode));
	if (e) {   /* give the inode back */
		ext2fs_inode_alloc_stats2(fs, ino, -1, 0);
		in.i_links_count = 0;
		in.i_dtime = (uint32_t)time(NULL);
		ext_iwrite(p, ino, &in);
	}
	return e;
}

static int ext_create(struct fs *fs, const char *path, uint32_t mode)
{
	errcode_t e = ext_make_node(P(fs), path, LINUX_S_IFREG | (mode & 07777), 0, 0);

	return e ? ext_fail(fs, e, "create", path) : 0;
}

static int ext_mknod(struct fs *fs, const char *path, uint32_t mode,
		     uint32_t major, uint32_t minor)
{
	uint32_t t = mode & S_IFMT;
	errcode_t e;

	if (t != S_IFCHR && t != S_IFBLK && t != S_IFIFO && t != S_IFSOCK)
		return err_set(&fs->err, -EINVAL, "cannot create device node '%s' on %s:"
			       " mode %o is not a device, fifo or socket", path,
			       fs->name, mode);
	if (major > 0xfff || minor > 0xfffff)
		return err_set(&fs->err, -EINVAL, "cannot create device node '%s' on %s:"
			       " device %u:%u does not fit in 12:20 bits", path,
			       fs->name, major, minor);
	e = ext_make_node(P(fs), path, mode & (S_IFMT | 07777), major, minor);
	return e ? ext_fail(fs, e, "create device node", path) : 0;
}

/* Fix up an inode that ext2fs_mkdir / ext2fs_symlink made (root-owned,
 * umask mode, seconds-only times): our mode and full times. */
static errcode_t ext_fixup_new(struct ext_priv *p, ext2_ino_t ino, uint32_t perm)
{
	struct ext2_inode_large in;
	struct timespec now;
	errcode_t e = fs_ext_iread(p->fs, ino, &in);

	if (e)
		return e;
	in.i_mode = (uint16_t)((in.i_mode & LINUX_S_IFMT) | (perm & 07777));
	if (ext_large(p->fs) && in.i_extra_isize < sizeof(in) - EXT2_GOOD_OLD_INODE_SIZE)
		in.i_extra_isize = sizeof(in) - EXT2_GOOD_OLD_INODE_SIZE;
	ext_now(&now);
	EXT_TSET(p->fs, &in, &now, atime);
	EXT_TSET(p->fs, &in, &now, mtime);
	EXT_TSET(p->fs, &in, &now, ctime);
	if (ext_large(p->fs))
		EXT_TSET(p->fs, &in, &now, crtime);
	return ext_iwrite(p, ino, &in);
}

static int ext_mkdir(struct fs *fs, const char *path, uint32_t mode)
{
	struct ext_priv *p = P(fs);
	ext2_ino_t dir, ino;
	const char *base;
	errcode_t e = ext_new_name(p, path, &dir, &base);

	if (!e)
		e = ext2fs_new_inode(p->fs, dir, LINUX_S_IFDIR | 0755, NULL, &ino);
	/* name NULL: it makes the inode and bumps the parent's link count,
	 * we link it (ext2fs_mkdir would scan the parent twice to link). */
	if (!e)
		e = ext2fs_mkdir(p->fs, dir, ino, NULL);
	if (e)
		return ext_fail(fs, e, "make directory", path);
	e = ext_fixup_new(p, ino, mode);
	if (!e)
		e = fs_ext_dlink(p, dir, base, ino, EXT2_FT_DIR);
	if (e) {   /* undo: the inode twice ("." and its name), the parent's ".." */
		ext_put_inode(p, ino);
		ext_put_inode(p, ino);
		fs_ext_touch_ino(p, dir, false, -1);
		return ext_fail(fs, e, "make directory", path);
	}
	fs_ext_made_dir(p, ino);
	return 0;
}

static int ext_symlink(struct fs *fs, const char *path, const char *target)
{
	struct ext_priv *p = P(fs);
	ext2_ino_t dir, ino;
	const char *base;
	errcode_t e;

	if (!target[0] || strlen(target) >= p->fs->blocksize)
		return err_set(&fs->err, -ENAMETOOLONG, "cannot create symlink '%s' on %s:"
			       " the target must be 1 to %u bytes", path, fs->name,
			       p->fs->blocksize - 1);
	e = ext_new_name(p, path, &dir, &base);
	if (!e)
		e = ext2fs_new_inode(p->fs, dir, LINUX_S_IFLNK | 0777, NULL, &ino);
	if (!e)
		e = ext2fs_symlink(p->fs, dir, ino, NULL, target);
	if (e)
		return ext_fail(fs, e, "create symlink", path);
	e = ext_fixup_new(p, ino, 0777);
	if (!e)
		e = fs_ext_dlink(p, dir, base, ino, EXT2_FT_SYMLINK);
	if (e) {
		ext_put_inode(p, ino);
		return ext_fail(fs, e, "create symlink", path);
	}
	return 0;
}

static errcode_t ext_read_target(ext2_filsys fs, ext2_ino_t ino,
				 struct ext2_inode_large *in, char *buf, size_t *len)
{
	size_t sz = EXT2_I_SIZE(in);
	ext2_file_t f;
	unsigned got = 0;
	errcode_t e;

	if (sz >= fs->blocksize)
		return EXT2_ET_DIR_CORRUPTED;
	if (ext2fs_is_fast_symlink((struct ext2_inode *)in)) {
		memcpy(buf, in->i_block, sz);
		*len = sz;
		return 0;
	}
	/* inline-data and block symlinks: the file reader knows both */
	if ((e = ext2fs_file_open(fs, ino, 0, &f)))
		return e;
	e = ext2fs_file_read(f, buf, (unsigned)sz, &got);
	ext2fs_file_close(f);
	*len = got;
	return e;
}

static ssize_t ext_readlink(struct fs *fs, const char *path, char *buf, size_t cap)
{
	struct ext_priv *p = P(fs);
	struct ext2_inode_large in;
	ext2_ino_t ino;
	size_t len = 0;
	char *tmp = NULL;
	errcode_t e = fs_ext_resolve(p, path, &ino);

	if (!e)
		e = fs_ext_iread(p->fs, ino, &in);
	if (!e && !LINUX_S_ISLNK(in.i_mode))
		e = EINVAL;
	if (!e)
		e = ext2fs_get_mem(p->fs->blocksize, &tmp);
	if (!e)
		e = ext_read_target(p->fs, ino, &in, tmp, &len);
	if (!e) {
		memcpy(buf, tmp, len < cap ? len : cap);
		if (len < cap)
			buf[len] = 0;
	}
	ext2fs_free_mem(&tmp);
	return e ? ext_fail(fs, e, "read symlink", path) : (ssize_t)len;
}

static int ext_link(struct fs *fs, const char *existing, const char *newpath)
{
	struct ext_priv *p = P(fs);
	struct ext2_inode_large in;
	ext2_ino_t ino, dir;
	const char *base;
	errcode_t e = fs_ext_resolve(p, existing, &ino);

	if (!e)
		e = fs_ext_iread(p->fs, ino, &in);
	if (!e && LINUX_S_ISDIR(in.i_mode))
		e = EPERM;
	if (!e && in.i_links_count >= EXT2_LINK_MAX)
		e = EMLINK;
	if (!e)
		e = ext_new_name(p, newpath, &dir, &base);
	if (!e)
		e = fs_ext_dlink(p, dir, base, ino, ext_ftype(in.i_mode));
	if (!e && !(e = ext_flush_open(p, ino)) && !(e = fs_ext_iread(p->fs, ino, &in))) {
		in.i_links_count++;
		ext_touch(p->fs, &in, false);
		e = ext_iwrite(p, ino, &in);
	}
	if (e)
		return err_set(&fs->err, ext_errno(e), "cannot link '%s' to '%s' on %s: %s"
			       " (%s)", newpath, existing, fs->name,
			       strerror(-ext_errno(e)), ext_strerror(e));
	return 0;
}

/* ---- removing and renaming ---------------------------------------------------- */

static int ext_unlink(struct fs *fs, const char *path)
{
	struct ext_priv *p = P(fs);
	struct ext2_inode_large in;
	ext2_ino_t dir, ino;
	const char *base;
	errcode_t e = fs_ext_parent(p, path, &dir, &base);

	if (!e)
		e = fs_ext_dlookup(p, dir, base, strlen(base), &ino);
	if (!e)
		e = fs_ext_iread(p->fs, ino, &in);
	if (!e && LINUX_S_ISDIR(in.i_mode))
		e = EISDIR;
	if (!e)
		e = ext_flush_open(p, ino);
	if (!e)
		e = fs_ext_dunlink(p, dir, base);
	if (!e)
		e = ext_put_inode(p, ino);
	return e ? ext_fail(fs, e, "remove", path) : 0;
}

struct ext_empty {
	int entries;
	ext2_ino_t dotdot;
};

static int ext_empty_cb(struct ext2_dir_entry *de, int off, int bsz, char *buf,
			void *arg)
{
	struct ext_empty *m = arg;
	int len = ext2fs_dirent_name_len(de);

	(void)off, (void)bsz, (void)buf;
	if (len == 2 && de->name[0] == '.' && de->name[1] == '.')
		m->dotdot = de->inode;
	else if (!(len == 1 && de->name[0] == '.'))
		m->entries++;
	return m->entries ? DIRENT_ABORT : 0;
}

/* An empty directory: ENOTEMPTY otherwise; its ".." in *dotdot. */
static errcode_t ext_check_empty(struct ext_priv *p, ext2_ino_t ino,
				 ext2_ino_t *dotdot)
{
	struct ext_empty m = { 0, 0 };
	errcode_t e = ext2fs_dir_iterate(p->fs, ino, 0, NULL, ext_empty_cb, &m);

	if (e)
		return e;
	*dotdot = m.dotdot;
	return m.entries ? ENOTEMPTY : 0;
}

/* Free a directory whose name is already gone: "." and the name, and the
 * parent's link from "..". */
static errcode_t ext_drop_dir(struct ext_priv *p, ext2_ino_t ino,
			      ext2_ino_t parent)
{
	errcode_t e = ext_put_inode(p, ino);

	if (!e)
		e = ext_put_inode(p, ino);
	if (!e && parent)
		e = fs_ext_touch_ino(p, parent, false, -1);
	fs_ext_dc_forget(&p->dc, ino);
	return e;
}

static int ext_rmdir(struct fs *fs, const char *path)
{
	struct ext_priv *p = P(fs);
	struct ext2_inode_large in;
	ext2_ino_t dir, ino, dotdot = 0;
	const char *base;
	errcode_t e = fs_ext_parent(p, path, &dir, &base);

	if (!e)
		e = fs_ext_dlookup(p, dir, base, strlen(base), &ino);
	if (!e)
		e = fs_ext_iread(p->fs, ino, &in);
	if (!e && !LINUX_S_ISDIR(in.i_mode))
		e = ENOTDIR;
	if (!e)
		e = ext_check_empty(p, ino, &dotdot);
	fs_ext_forget_paths(p);
	if (!e)
		e = fs_ext_dunlink(p, dir, base);
	if (!e)
		e = ext_drop_dir(p, ino, dir);
	return e ? ext_fail(fs, e, "remove directory", path) : 0;
}

struct ext_dotdot {
	ext2_ino_t to;
};

static int ext_dotdot_cb(struct ext2_dir_entry *de, int off, int bsz, char *buf,
			 void *arg)
{
	(void)off, (void)bsz, (void)buf;
	if (ext2fs_dirent_name_len(de) == 2 && de->name[0] == '.' &&
	    de->name[1] == '.') {
		de->inode = ((struct ext_dotdot *)arg)->to;
		return DIRENT_CHANGED | DIRENT_ABORT;
	}
	return 0;
}

/* What rename may do to an existing target, as rename(2) answers. */
static errcode_t ext_rename_check(struct ext_priv *p, uint16_t fmode,
				  ext2_ino_t tino, unsigned flags)
{
	struct ext2_inode_large tin;
	ext2_ino_t dd;
	errcode_t e;

	if (flags & FS_RENAME_NOREPLACE)
		return EEXIST;
	if ((e = fs_ext_iread(p->fs, tino, &tin)))
		return e;
	if (LINUX_S_ISDIR(fmode) && !LINUX_S_ISDIR(tin.i_mode))
		return ENOTDIR;
	if (!LINUX_S_ISDIR(fmode) && LINUX_S_ISDIR(tin.i_mode))
		return EISDIR;
	return LINUX_S_ISDIR(tin.i_mode) ? ext_check_empty(p, tino, &dd) : 0;
}

/* The new name first (a replaced target's entry is repointed in place, so
 * `to` always exists), then ".." and the parents' counts, then the old
 * name: an interruption leaves two names, never none. */
static errcode_t ext_rename2(struct ext_priv *p, ext2_ino_t fdir, const char *fname,
			     ext2_ino_t fino, ext2_ino_t tdir, const char *tname,
			     ext2_ino_t tino)
{
	struct ext2_inode_large in;
	struct ext_dotdot dd = { tdir };
	errcode_t e = fs_ext_iread(p->fs, fino, &in);
	bool isdir = LINUX_S_ISDIR(in.i_mode);

	if (e)
		return e;
	if (tino)
		e = fs_ext_dreplace(p, tdir, tname, fino, ext_ftype(in.i_mode));
	else
		e = fs_ext_dlink(p, tdir, tname, fino, ext_ftype(in.i_mode));
	if (!e && tino)
		e = LINUX_S_ISDIR(in.i_mode) ? ext_drop_dir(p, tino, tdir)
					     : (ext_flush_open(p, tino) ?: ext_put_inode(p, tino));
	if (!e && isdir && fdir != tdir) {
		e = ext2fs_dir_iterate(p->fs, fino, 0, NULL, ext_dotdot_cb, &dd);
		if (!e)
			e = fs_ext_touch_ino(p, tdir, false, +1);
		if (!e)
			e = fs_ext_touch_ino(p, fdir, false, -1);
	}
	if (!e)
		e = fs_ext_dunlink(p, fdir, fname);
	if (!e && !(e = ext_flush_open(p, fino)))
		e = fs_ext_touch_ino(p, fino, false, 0);
	return e;
}

static int ext_rename(struct fs *fs, const char *from, const char *to,
		      unsigned flags)
{
	struct ext_priv *p = P(fs);
	struct ext2_inode_large in;
	ext2_ino_t fdir, tdir, fino, tino = 0;
	const char *fname, *tname;
	errcode_t e = fs_ext_parent(p, from, &fdir, &fname);

	if (!e)
		e = fs_ext_dlookup(p, fdir, fname, strlen(fname), &fino);
	if (!e)
		e = fs_ext_iread(p->fs, fino, &in);
	if (!e)
		e = fs_ext_parent(p, to, &tdir, &tname);
	if (!e) {
		e = fs_ext_dlookup(p, tdir, tname, strlen(tname), &tino);
		if (e == EXT2_ET_FILE_NOT_FOUND)
			e = tino = 0;
		else if (!e && tino != fino)
			e = ext_rename_check(p, in.i_mode, tino, flags);
	}
	/* The remembered parent directory stays right unless a directory
	 * moves (it may be that one, or above it); a file has no children.
	 * copy-in renames every file into place, so this matters. */
	if (e || LINUX_S_ISDIR(in.i_mode))
		fs_ext_forget_paths(p);
	if (!e && tino != fino)
		e = ext_rename2(p, fdir, fname, fino, tdir, tname, tino);
	if (e)
		return err_set(&fs->err, ext_errno(e), "cannot rename '%s' to '%s' on %s:"
			       " %s (%s)", from, to, fs->name,
			       strerror(-ext_errno(e)), ext_strerror(e));
	return 0;
}

/* ---- metadata ------------------------------------------------------------------- */

/* Read, change with `fn`, write back: the shape of every set_* call. */
static int ext_modify(struct fs *fs, const char *path, const char *verb,
		      void (*fn)(ext2_filsys, struct ext2_inode_large *, const void *),
		      const void *arg)
{
	struct ext_priv *p = P(fs);
	struct ext2_inode_large in;
	ext2_ino_t ino;
	errcode_t e = fs_ext_resolve(p, path, &ino);

	if (!e)
		e = ext_flush_open(p, ino);
	if (!e)
		e = fs_ext_iread(p->fs, ino, &in);
	if (!e) {
		fn(p->fs, &in, arg);
		e = ext_iwrite(p, ino, &in);
	}
	return e ? ext_fail(fs, e, verb, path) : 0;
}

static void ext_owner_fn(ext2_filsys fs, struct ext2_inode_large *in, const void *a)
{
	const uint32_t *ug = a;

	in->i_uid = (uint16_t)ug[0];
	ext2fs_set_i_uid_high(*in, ug[0] >> 16);
	in->i_gid = (uint16_t)ug[1];
	ext2fs_set_i_gid_high(*in, ug[1] >> 16);
	ext_touch(fs, in, false);
}

static int ext_set_owner(struct fs *fs, const char *path, uint32_t uid, uint32_t gid)
{
	uint32_t ug[2] = { uid, gid };

	return ext_modify(fs, path, "set the owner of", ext_owner_fn, ug);
}

static void ext_mode_fn(ext2_filsys fs, struct ext2_inode_large *in, const void *a)
{
	in->i_mode = (uint16_t)((in->i_mode & LINUX_S_IFMT) |
				(*(const uint32_t *)a & 07777));
	ext_touch(fs, in, false);
}

static int ext_set_mode(struct fs *fs, const char *path, uint32_t mode)
{
	return ext_modify(fs, path, "set the mode of", ext_mode_fn, &mode);
}

/* ctime is set to now unless given: a metadata change, as the kernel does.
 * btime needs large inodes; on 128-byte inodes it is dropped silently (the
 * filesystem cannot hold it, as with tar onto ext3). */
static void ext_times_fn(ext2_filsys fs, struct ext2_inode_large *in, const void *a)
{
	const struct fs_times *t = a;

	if (t->mask & FS_T_ATIME)
		EXT_TSET(fs, in, &t->atime, atime);
	if (t->mask & FS_T_MTIME)
		EXT_TSET(fs, in, &t->mtime, mtime);
	if (t->mask & FS_T_CTIME)
		EXT_TSET(fs, in, &t->ctime, ctime);
	else
		ext_touch(fs, in, false);
	if ((t->mask & FS_T_BTIME) && EXT_HAS(fs, in, i_crtime)) {
		if (EXT_HAS(fs, in, i_crtime_extra))
			ext_tset(&t->btime, &in->i_crtime, &in->i_crtime_extra);
		else
			ext_tset(&t->btime, &in->i_crtime, NULL);
	}
}

static int ext_set_times(struct fs *fs, const char *path, const struct fs_times *t)
{
	return ext_modify(fs, path, "set the times of", ext_times_fn, t);
}

/* ---- extended attributes ---------------------------------------------------------- */

static errcode_t ext_xopen(struct ext_priv *p, const char *path,
			   struct ext2_xattr_handle **h)
{
	ext2_ino_t ino;
	errcode_t e = fs_ext_resolve(p, path, &ino);

	*h = NULL;
	if (!e)
		e = ext_flush_open(p, ino);
	if (!e)
		e = ext2fs_xattrs_open(p->fs, ino, h);
	if (!e && (e = ext2fs_xattrs_read(*h)))
		ext2fs_xattrs_close(h);
	return e;
}

struct ext_xl {
	fs_xattr_cb cb;
	void *arg;
	int rc;
};

static int ext_xlist_cb(char *name, char *value, size_t len, void *arg)
{
	struct ext_xl *x = arg;

	(void)value, (void)len;
	x->rc = x->cb(x->arg, name);
	return x->rc ? XATTR_ABORT : 0;
}

static int ext_xattr_list(struct fs *fs, const char *path, fs_xattr_cb cb, void *arg)
{
	struct ext2_xattr_handle *h;
	struct ext_xl x = { cb, arg, 0 };
	errcode_t e = ext_xopen(P(fs), path, &h);

	if (!e) {
		e = ext2fs_xattrs_iterate(h, ext_xlist_cb, &x);
		ext2fs_xattrs_close(&h);
	}
	return e ? ext_fail(fs, e, "list extended attributes of", path) : x.rc;
}

static ssize_t ext_xattr_get(struct fs *fs, const char *path, const char *name,
			     void *buf, size_t cap)
{
	struct ext2_xattr_handle *h;
	void *val = NULL;
	size_t len = 0;
	errcode_t e = ext_xopen(P(fs), path, &h);

	if (!e) {
		e = ext2fs_xattr_get(h, name, &val, &len);
		ext2fs_xattrs_close(&h);
	}
	if (!e && cap && len > cap)
		e = ERANGE;
	if (!e && cap)
		memcpy(buf, val, len);
	ext2fs_free_mem(&val);
	if (e == EXT2_ET_EA_KEY_NOT_FOUND)
		return err_set(&fs->err, -ENODATA, "'%s' on %s has no extended attribute"
			       " '%s'", path, fs->name, name);
	return e ? ext_fail(fs, e, "read extended attribute of", path) : (ssize_t)len;
}

static int ext_xattr_set(struct fs *fs, const char *path, const char *name,
			 const void *val, size_t len)
{
	struct ext2_xattr_handle *h;
	errcode_t e = ext_xopen(P(fs), path, &h);

	if (!e) {
		e = ext2fs_xattr_set(h, name, val, len);
		errcode_t e2 = ext2fs_xattrs_close(&h);

		if (!e)
			e = e2;
	}
	return e ? ext_fail(fs, e, "set extended attribute of", path) : 0;
}

static int ext_xattr_remove(struct fs *fs, const char *path, const char *name)
{
	struct ext2_xattr_handle *h;
	void *val = NULL;
	size_t len;
	errcode_t e = ext_xopen(P(fs), path, &h);

	/* 1.47.0's remove answers 0 for a missing key: ask first */
	if (!e && !(e = ext2fs_xattr_get(h, name, &val, &len)))
		e = ext2fs_xattr_remove(h, name);
	if (h) {
		errcode_t e2 = ext2fs_xattrs_close(&h);

		if (!e)
			e = e2;
	}
	ext2fs_free_mem(&val);
	if (e == EXT2_ET_EA_KEY_NOT_FOUND)
		return err_set(&fs->err, -ENODATA, "'%s' on %s has no extended attribute"
			       " '%s'", path, fs->name, name);
	return e ? ext_fail(fs, e, "remove extended attribute of", path) : 0;
}

/* ---- file data ---------------------------------------------------------------------- */

static int ext_file_open(struct fs_file *ff, const char *path, const char *stream,
			 unsigned flags)
{
	struct fs *fs = ff->fs;
	struct ext_priv *p = P(fs);
	struct ext2_inode_large in;
	struct ext_file *f = NULL;
	ext2_ino_t ino;
	errcode_t e = fs_ext_resolve(p, path, &ino);

	(void)stream;   /* fs.c refuses streams: we have no stream_list */
	if (!e)
		e = fs_ext_iread(p->fs, ino, &in);
	if (!e && LINUX_S_ISDIR(in.i_mode))
		e = EISDIR;
	else if (!e && !LINUX_S_ISREG(in.i_mode))
		e = EINVAL;
	if (!e && !(f = calloc(1, sizeof(*f))))
		e = ENOMEM;
	if (!e)
		e = ext2fs_file_open(p->fs, ino, (flags & FS_F_WRITE) ?
				     EXT2_FILE_WRITE : 0, &f->f);
	if (e) {
		free(f);
		return ext_fail(fs, e, "open", path);
	}
	f->ino = ino;
	f->owner = ff;
	f->next = p->files;
	p->files = f;
	ff->priv = f;
	return 0;
}

static int ext_file_err(struct fs_file *ff, errcode_t e, const char *verb)
{
	return ext_fail(ff->fs, e, verb, ff->path);
}

#define EXT_BATCH 1024   /* blocks mapped and read or written per direct batch */

/* Through ext2fs_file_read: partial blocks, inline data, the tail. */
static errcode_t ext_read_buffered(struct ext_file *f, char *buf, size_t len,
				   uint64_t off, size_t *done)
{
	errcode_t e = ext2fs_file_llseek(f->f, off, EXT2_SEEK_SET, NULL);

	*done = 0;
	while (!e && *done < len) {
		unsigned got = 0, n = len - *done > (1u << 30) ? 1u << 30 : (unsigned)(len - *done);

		e = ext2fs_file_read(f->f, buf + *done, n, &got);
		*done += got;
		if (!got)
			break;
	}
	return e;
}

/* Whole blocks inside the file straight from the disk, one read per run of
 * physically contiguous blocks: ext2fs_file_read moves one block per call
 * (a backup of 700 MB made 190,000 of them).  Holes and unwritten extents
 * read as zeros.  Returns the blocks read before an error. */
/* The run of blocks from lblk (at most max) that are one extent of the
 * file: *p its first physical block, 0 for a hole or an unwritten extent
 * (they read as zeros).  Through the extent tree when the file has one:
 * ext2fs_bmap2, block by block, opened the extent tree and allocated a
 * block buffer for every block, a malloc and a free per 4 KiB read. */
static errcode_t ext_run(ext2_filsys fs, struct ext_file *f, struct ext2_inode *in,
			 ext2_extent_handle_t h, char *bb, blk64_t lblk, blk64_t max,
			 blk64_t *p, blk64_t *run)
{
	struct ext2fs_extent x;
	errcode_t e;
	int rf = 0;

	*p = 0;
	*run = 1;
	if (!h) {   /* block-mapped (ext2/3): block by block */
		e = ext2fs_bmap2(fs, f->ino, in, bb, 0, lblk, &rf, p);
		if (!e && (rf & BMAP_RET_UNINIT))
			*p = 0;
		return e;
	}
	e = ext2fs_extent_goto2(h, 0, lblk);
	if (e == EXT2_ET_EXTENT_NOT_FOUND)
		return 0;   /* a hole: one block of zeros */
	if (!e)
		e = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &x);
	if (e)
		return e;
	if (lblk < x.e_lblk || lblk - x.e_lblk >= x.e_len)
		return 0;
	*run = x.e_lblk + x.e_len - lblk;
	if (*run > max)
		*run = max;
	if (!(x.e_flags & EXT2_EXTENT_FLAGS_UNINIT))
		*p = x.e_pblk + (lblk - x.e_lblk);
	return 0;
}

static blk64_t ext_read_direct(ext2_filsys fs, struct ext_file *f, char *buf,
			       blk64_t lblk, blk64_t n, errcode_t *e)
{
	struct ext2_inode in;
	ext2_extent_handle_t h = NULL;
	char *bb = NULL;
	blk64_t i = 0;

	*e = ext2fs_file_flush(f->f);   /* a write it still holds goes first */
	if (!*e)
		*e = ext2fs_read_inode(fs, f->ino, &in);
	if (!*e && (in.i_flags & EXT4_EXTENTS_FL))
		*e = ext2fs_extent_open2(fs, f->ino, &in, &h);
	else if (!*e && !(bb = malloc(3 * (size_t)fs->blocksize)))
		*e = EXT2_ET_NO_MEMORY;
	while (!*e && i < n) {
		blk64_t p, run, max = n - i < EXT_BATCH ? n - i : EXT_BATCH;

		*e = ext_run(fs, f, &in, h, bb, lblk + i, max, &p, &run);
		if (*e)
			break;
		if (!p) {
			memset(buf + i * fs->blocksize, 0, (size_t)run * fs->blocksize);
			i += run;
			continue;
		}
		/* a block-mapped file: extend the run while it stays contiguous */
		while (!h && run < max) {
			blk64_t q, one;

			if (ext_run(fs, f, &in, h, bb, lblk + i + run, 1, &q, &one) || q != p + run)
				break;
			run++;
		}
		*e = fs_ext_io_read_data(fs->io, p, (int)run, buf + i * fs->blocksize);
		if (!*e)
			i += run;
	}
	if (h)
		ext2fs_extent_free(h);
	free(bb);
	return i;
}

static ssize_t ext_file_pread(struct fs_file *ff, void *buf, size_t len, uint64_t off)
{
	struct ext_file *f = ff->priv;
	ext2_filsys fs = f ? ext2fs_file_get_fs(f->f) : NULL;
	uint64_t size = f ? ext2fs_file_get_size(f->f) : 0;
	size_t done = 0, got = 0;
	unsigned bs = fs ? fs->blocksize : 1;
	errcode_t e = f ? 0 : EBADF;
	struct ext2_inode *in = f ? ext2fs_file_get_inode(f->f) : NULL;

	if (off >= size)
		return 0;
	if (len > size - off)
		len = (size_t)(size - off);
	/* A read from a block boundary, when the data is in blocks: straight
	 * from the disk, the partial last block through a bounce buffer.
	 * Through ext2fs_file_read each block would be a read of its own and
	 * land in the metadata cache (fs_ext_io.c), a malloc and a copy for
	 * every block of every small file a backup reads. */
	if (!e && off % bs == 0 && in && !(in->i_flags & EXT4_INLINE_DATA_FL)) {
		struct ext_vol *v = ff->fs->priv;
		blk64_t nb = len / bs, m = nb ? ext_read_direct(fs, f, buf, off / bs, nb, &e) : 0;

		done = (size_t)m * bs;
		if (!e && m == nb && done < len && (v->bounce || (v->bounce = malloc(bs))) &&
		    ext_read_direct(fs, f, v->bounce, off / bs + nb, 1, &e) == 1) {
			memcpy((char *)buf + done, v->bounce, len - done);
			done = len;
		}
	}
	if (!e && done < len)
		e = ext_read_buffered(f, (char *)buf + done, len - done, off + done, &got);
	done += got;
	return e && !done ? ext_file_err(ff, e, "read") : (ssize_t)done;
}

/* ext2fs_file_write maps only the blocks it writes: skipped ranges stay
 * holes (and i_size follows the end of the write). */

/* Map n blocks from lblk, allocating holes and initialising preallocated
 * extents, exactly as ext2fs_file_write does block by block (bmap2 keeps
 * `in` in step with the extent tree and writes it).  Returns how many were
 * mapped before an error. */
static blk64_t ext_map_blocks(ext2_filsys fs, ext2_ino_t ino, struct ext2_inode *in,
			      blk64_t lblk, blk64_t n, blk64_t *pblk, errcode_t *e)
{
	blk64_t i;

	*e = 0;
	for (i = 0; i < n && !*e; i++) {
		int rf = 0;

		pblk[i] = 0;
		*e = ext2fs_bmap2(fs, ino, in, NULL, 0, lblk + i, &rf, &pblk[i]);
		if (!*e && pblk[i] && (rf & BMAP_RET_UNINIT))
			*e = ext2fs_bmap2(fs, ino, in, NULL, BMAP_SET, lblk + i, 0,
					  &pblk[i]);
		else if (!*e && !pblk[i])
			*e = ext2fs_bmap2(fs, ino, in, NULL, BMAP_ALLOC, lblk + i, 0,
					  &pblk[i]);
	}
	return *e ? i - 1 : i;
}

/* One write per run of physically contiguous blocks. */
static errcode_t ext_write_runs(ext2_filsys fs, const char *buf,
				const blk64_t *pblk, blk64_t n)
{
	errcode_t e = 0;

	for (blk64_t i = 0, j; !e && i < n; i = j) {
		for (j = i + 1; j < n && pblk[j] == pblk[j - 1] + 1; j++)
			;
		e = io_channel_write_blk64(fs->io, pblk[i], (int)(j - i),
					   buf + i * fs->blocksize);
	}
	return e;
}

/* Whole blocks straight to disk.  ext2fs_file_write moves data one block
 * per write(2); for a restore that is most of the cost.  The file handle
 * is closed around the batch so its one-block buffer and inode copy can
 * never disagree with what we wrote, then opened again. */
static errcode_t ext_write_direct(struct ext_priv *p, struct ext_file *f,
				  const char *buf, blk64_t lblk, blk64_t n,
				  blk64_t *done)
{
	ext2_filsys fs = p->fs;
	struct ext2_inode in;
	blk64_t *pblk = malloc(n * sizeof(*pblk)), m = 0;
	uint64_t end;
	errcode_t e = pblk ? ext2fs_file_close(f->f) : EXT2_ET_NO_MEMORY, e2;

	if (pblk)
		f->f = NULL;
	if (!e)
		e = ext2fs_read_inode(fs, f->ino, &in);
	if (!e)
		m = ext_map_blocks(fs, f->ino, &in, lblk, n, pblk, &e);
	/* mapped blocks read as data: they get theirs even if mapping stopped */
	e2 = ext_write_runs(fs, buf, pblk, m);
	if (e2)
		m = 0, e = e2;
	end = (uint64_t)(lblk + m) * fs->blocksize;
	if (m && EXT2_I_SIZE(&in) < end) {
		e2 = ext2fs_inode_size_set(fs, &in, end);
		if (!e2)
			e2 = ext2fs_write_inode(fs, f->ino, &in);
		e = e ? e : e2;
	}
	if (!f->f) {
		e2 = ext2fs_file_open(fs, f->ino, EXT2_FILE_WRITE, &f->f);
		e = e ? e : e2;
	}
	free(pblk);
	*done = m;
	return e;
}

/* Through ext2fs_file_write: partial blocks, inline data, small writes. */
static errcode_t ext_write_buffered(struct ext_file *f, const char *buf,
				    size_t len, uint64_t off, size_t *done)
{
	errcode_t e = ext2fs_file_llseek(f->f, off, EXT2_SEEK_SET, NULL);

	*done = 0;
	while (!e && *done < len) {
		unsigned put = 0, n = len - *done > (1u << 30) ? 1u << 30
						       : (unsigned)(len - *done);

		e = ext2fs_file_write(f->f, buf + *done, n, &put);
		*done += put;
		if (!put)
			break;
	}
	if (!e && *done < len)
		e = EXT2_ET_BLOCK_ALLOC_FAIL;
	return e;
}

static ssize_t ext_file_pwrite(struct fs_file *ff, const void *buf, size_t len,
			       uint64_t off)
{
	struct ext_file *f = ff->priv;
	struct ext_priv *p = P(ff->fs);
	unsigned bs = p->fs->blocksize;
	const char *b = buf;
	size_t done = 0, part;
	errcode_t e = f && f->f ? 0 : EBADF;

	while (!e && done < len) {
		uint64_t pos = off + done, head = (bs - pos % bs) % bs;
		blk64_t n = (len - done - head) / bs, got = 0;

		if (n > EXT_BATCH)
			n = EXT_BATCH;
		if (head || n < 2 ||
		    (ext2fs_file_get_inode(f->f)->i_flags & EXT4_INLINE_DATA_FL)) {
			part = head ? head : len - done;
			if (part > len - done)
				part = len - done;
			e = ext_write_buffered(f, b + done, part, pos, &part);
			done += part;
			continue;
		}
		e = ext_write_direct(p, f, b + done, pos / bs, n, &got);
		done += got * bs;
	}
	return e && !done ? ext_file_err(ff, e, "write") : (ssize_t)done;
}

static int ext_file_truncate(struct fs_file *ff, uint64_t size)
{
	struct ext_file *f = ff->priv;
	errcode_t e = f ? ext2fs_file_flush(f->f) : EBADF;

	/* shrinking punches the blocks past the end; growing adds a hole */
	if (!e)
		e = ext_punch_to_end(ext2fs_file_get_fs(f->f), f->ino, NULL, f->f, size);
	return e ? ext_file_err(ff, e, "truncate") : 0;
}

/* First run of initialised extents at or after lblk, in O(depth) to find
 * it: unwritten (preallocated) extents read as zeros, so they are holes. */
static errcode_t ext_extent_data(ext2_filsys fs, ext2_ino_t ino,
				 struct ext2_inode *in, blk64_t lblk,
				 blk64_t *ds, blk64_t *dl)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent x;
	errcode_t e = ext2fs_extent_open2(fs, ino, in, &h);

	if (e)
		return e;
	*dl = 0;
	e = ext2fs_extent_goto(h, lblk);
	if (!e || e == EXT2_ET_EXTENT_NOT_FOUND)
		e = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &x);
	for (; !e; e = ext2fs_extent_get(h, EXT2_EXTENT_NEXT_LEAF, &x)) {
		blk64_t end = x.e_lblk + x.e_len, s = x.e_lblk > lblk ? x.e_lblk : lblk;

		if (!(x.e_flags & EXT2_EXTENT_FLAGS_LEAF) || end <= lblk)
			continue;
		if (x.e_flags & EXT2_EXTENT_FLAGS_UNINIT) {
			if (*dl)
				break;
			continue;
		}
		if (*dl && s != *ds + *dl)
			break;
		if (!*dl)
			*ds = s;
		*dl = end - *ds;
	}
	if (e == EXT2_ET_EXTENT_NO_NEXT || e == EXT2_ET_NO_CURRENT_NODE ||
	    e == EXT2_ET_EXTENT_NOT_FOUND)
		e = 0;
	ext2fs_extent_free(h);
	return e;
}

struct ext_bscan {
	blk64_t from, ds, dl;
};

static int ext_bscan_cb(ext2_filsys fs, blk64_t *blk, e2_blkcnt_t cnt,
			blk64_t ref, int refoff, void *arg)
{
	struct ext_bscan *b = arg;

	(void)fs, (void)ref, (void)refoff;
	if (cnt < 0 || !*blk || (blk64_t)cnt < b->from)
		return 0;
	if (b->dl && (blk64_t)cnt != b->ds + b->dl)
		return BLOCK_ABORT;
	if (!b->dl)
		b->ds = (blk64_t)cnt;
	b->dl++;
	return 0;
}

static int ext_file_next_data(struct fs_file *ff, uint64_t off, uint64_t *doff,
			      uint64_t *dlen)
{
	struct ext_file *f = ff->priv;
	ext2_filsys fs = ff->fs->priv ? P(ff->fs)->fs : NULL;
	struct ext2_inode *in = f ? ext2fs_file_get_inode(f->f) : NULL;
	uint64_t size = in ? EXT2_I_SIZE(in) : 0, bs = fs ? fs->blocksize : 1, end;
	struct ext_bscan b = { off / bs, 0, 0 };
	errcode_t e = f ? ext2fs_file_flush(f->f) : EBADF;

	if (e || off >= size)
		return e ? ext_file_err(ff, e, "find data in") : -ENXIO;
	if (in->i_flags & EXT4_INLINE_DATA_FL)
		b = (struct ext_bscan){ 0, 0, (size + bs - 1) / bs };
	else if (in->i_flags & EXT4_EXTENTS_FL)
		e = ext_extent_data(fs, f->ino, in, off / bs, &b.ds, &b.dl);
	else   /* block maps: holes in the indirect tree are skipped whole */
		e = ext2fs_block_iterate3(fs, f->ino, BLOCK_FLAG_READ_ONLY |
					  BLOCK_FLAG_DATA_ONLY, NULL, ext_bscan_cb, &b);
	if (e)
		return ext_file_err(ff, e, "find data in");
	*doff = b.ds * bs > off ? b.ds * bs : off;
	end = (b.ds + b.dl) * bs < size ? (b.ds + b.dl) * bs : size;
	if (!b.dl || *doff >= end)
		return -ENXIO;
	*dlen = end - *doff;
	return 0;
}

static int ext_file_close(struct fs_file *ff)
{
	struct ext_file *f = ff->priv, **pp;
	errcode_t e;

	if (!f)
		return 0;   /* the volume was closed first and closed this too */
	for (pp = &P(ff->fs)->files; *pp != f; pp = &(*pp)->next)
		;
	*pp = f->next;
	e = ext2fs_file_close(f->f);
	free(f);
	ff->priv = NULL;
	return e ? ext_fail(ff->fs, e, "close", "file") : 0;
}

const struct fs_ops fs_ext_ops = {
	.kind = FS_KIND_EXT,
	.caps = FS_CAP_SYMLINK | FS_CAP_HARDLINK | FS_CAP_DEVICES | FS_CAP_OWNER |
		FS_CAP_XATTR | FS_CAP_POSIX_ACL | FS_CAP_BTIME,
	.probe = ext_probe,
	.state = ext_state,
	.seen = ext_seen,
	.open = ext_open,
	.close = ext_close,
	.mark = ext_mark_op,
	.sync = ext_sync,
	.space = ext_space,
	.index_dirs = ext_index_dirs,
	.lookup = ext_lookup,
	.readdir = ext_readdir,
	.create = ext_create,
	.mkdir = ext_mkdir,
	.symlink = ext_symlink,
	.readlink = ext_readlink,
	.link = ext_link,
	.mknod = ext_mknod,
	.unlink = ext_unlink,
	.rmdir = ext_rmdir,
	.rename = ext_rename,
	.set_owner = ext_set_owner,
	.set_mode = ext_set_mode,
	.set_times = ext_set_times,
	.xattr_list = ext_xattr_list,
	.xattr_get = ext_xattr_get,
	.xattr_set = ext_xattr_set,
	.xattr_remove = ext_xattr_remove,
	.file_open = ext_file_open,
	.file_pread = ext_file_pread,
	.file_pwrite = ext_file_pwrite,
	.file_truncate = ext_file_truncate,
	.file_next_data = ext_file_next_data,
	.file_close = ext_file_close,
};
