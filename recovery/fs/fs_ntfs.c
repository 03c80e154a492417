/* fs_ntfs.c - NTFS volumes through libntfs-3g: no mount, no FUSE.
 *
 * Choices worth knowing (see also fs.h):
 * - The volume is reached through our own device layer (fs_ntfs_io.c), so
 *   that a partition inside an image works and is locked as a whole.
 * - Read-write opens first look at the volume read-only and refuse a
 *   hibernated / Fast Startup volume (hiberfil.sys header, $LogFile restart
 *   page 2.0), an unclean one ($LogFile not clean) or one not cleanly closed
 *   (VOLUME_IS_DIRTY, unless FS_O_ACCEPT_UNCLEAN) before the library is
 *   allowed to write anything.  NTFS_MNT_RECOVER is never used: it throws
 *   Windows' journal away.
 * - A read-write session sets VOLUME_IS_DIRTY before its first change and
 *   clears it at a clean close (ntfs_mark, ntfs_close).
 * - Windows reparse points (symlinks, junctions, mount points, ...) keep the
 *   type of the object that carries them (S_IFDIR / S_IFREG); the reparse
 *   data travels as system.ntfs_reparse_data and attrib has
 *   FILE_ATTRIBUTE_REPARSE_POINT.  That way an NTFS -> NTFS copy recreates
 *   a junction as the directory it is.  S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO
 *   and S_IFSOCK are the Interix objects ntfs-3g itself creates, and
 *   fs_symlink / fs_mknod create those (as ntfs-3g does).
 * - user.X extended attributes are the named data stream X, and security.*,
 *   trusted.* and other system.* names the stream "ntfs-3g.<name>", exactly
 *   as an ntfs-3g mount (streams_interface=xattr) stores them.  They are
 *   not repeated by xattr_list: streams are listed by stream_list.
 * - libntfs-3g does not touch timestamps on write (only ntfs_delete and
 *   short-name changes bump the parent's); callers set times last.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/device.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/efs.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/layout.h>
#include <ntfs-3g/logfile.h>
#include <ntfs-3g/logging.h>
#include <ntfs-3g/cache.h>
#include <ntfs-3g/runlist.h>
#include <ntfs-3g/security.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>
#include <ntfs-3g/xattrs.h>

#include "buf.h"
#include "fs_impl.h"
#include "fs_ntfs_io.h"

#define NTFS_PATH_MAX 4096
#define XATTR_NTFS3G_PREFIX "ntfs-3g."

struct ntfs_fs {
	ntfs_volume *vol;
	struct ntfs_range range;
	struct SECURITY_CONTEXT scx;
	struct PERMISSIONS_CACHE *seccache;
	/* ntfs_inherited_id is costly (reads and hashes the parent's
	 * descriptor): remember the last answer per parent descriptor. */
	le32 inh_parent[2], inh_id[2];
	unsigned tmpseq;
	bool marked;   /* we set the dirty flag at open; clear it at close */
};

static struct ntfs_fs *P(struct fs *fs)
{
	return fs->priv;
}

/* libntfs-3g returns -1 with errno, or -errno, depending on the function;
 * callers clear errno first so that -1 with errno 0 reads as -EPERM. */
static int lib_err(int rc)
{
	if (rc == -1)
		return errno ? -errno : -EPERM;
	return rc < 0 ? rc : -EIO;
}

static int errno_or(int dflt)
{
	return errno ? -errno : -dflt;
}

/* ---- state ------------------------------------------------------------ */

/* $LogFile: clean, dirty, or a version 2.0 restart page, which is what
 * Windows Fast Startup (and hibernation of a non-system volume) leaves. */
static int logfile_state(ntfs_volume *vol, enum fs_state *st)
{
	RESTART_PAGE_HEADER *rp = NULL;
	ntfs_inode *ni = ntfs_inode_open(vol, FILE_LogFile);
	ntfs_attr *na = NULL;
	int rc = 0;

	if (!ni)
		return errno_or(EIO);
	na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
	if (!na) {
		rc = errno_or(EIO);
		goto out;
	}
	if (!ntfs_check_logfile(na, &rp) || !ntfs_is_logfile_clean(na, rp))
		*st = FS_STATE_DIRTY;
	if (rp && rp->major_ver == const_cpu_to_le16(2) &&
	    rp->minor_ver == const_cpu_to_le16(0))
		*st = FS_STATE_HIBERNATED;
out:
	free(rp);
	if (na)
		ntfs_attr_close(na);
	ntfs_inode_close(ni);
	return rc;
}

static int volume_state(ntfs_volume *vol, enum fs_state *st)
{
	int rc;

	*st = FS_STATE_CLEAN;
	errno = 0;
	if (ntfs_volume_check_hiberfile(vol, 0) < 0) {
		if (errno != EPERM)
			return errno_or(EIO);
		*st = FS_STATE_HIBERNATED;
		return 0;
	}
	rc = logfile_state(vol, st);
	if (rc == 0 && *st == FS_STATE_CLEAN && (vol->flags & VOLUME_IS_DIRTY))
		*st = FS_STATE_UNCLEAN;
	return rc;
}

static const char *mount_why(int e)
{
	switch (e) {
	case EINVAL:
		return "not a valid NTFS volume (corrupt boot sector, or the image "
		       "is truncated)";
	case EIO:
		return "NTFS metadata is unreadable or corrupt (run chkdsk /f on "
		       "Windows)";
	case EBUSY:
		return "the volume is in use (mounted, or open in another program); "
		       "unmount it first";
	case EPERM:
		return "Windows is hibernated or Fast Startup is on; boot Windows "
		       "and shut down fully (shutdown /s /f /t 0)";
	case ENOMEM:
		return "out of memory";
	default:
		return strerror(e);
	}
}

static int ntfs_probe(const struct fs_target *tg)
{
	char bs[512];
	ssize_t n;
	int fd = open(tg->file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = pread(fd, bs, sizeof(bs), (off_t)tg->offset);
	close(fd);
	if (n < 0)
		return -EIO;
	/* BitLocker's OEM id is "-FVE-FS-": it is not NTFS to us. */
	return n == (ssize_t)sizeof(bs) && !memcmp(bs + 3, "NTFS    ", 8);
}

/* What kind of failure a mount errno is (libntfs-3g says it through errno). */
static enum err_code mount_code(int e)
{
	if (e == EINVAL || e == EIO)
		return ERR_CORRUPT;
	if (e == EBUSY || e == EPERM)
		return ERR_REFUSED;
	return ERR_SYSTEM;
}

static int ntfs_state(const struct fs_target *tg, enum fs_state *st,
		      struct err *err)
{
	struct ntfs_range r;
	ntfs_volume *vol = fs_ntfs_mount(tg, &r, NTFS_MNT_RDONLY);
	int rc;

	if (!vol) {
		int e = errno;

		return err_setc(err, ERR_FATAL, mount_code(e), -e,
				"cannot read NTFS volume %s: %s", tg->file,
				mount_why(e));
	}
	rc = volume_state(vol, st);
	ntfs_umount(vol, FALSE);
	if (rc < 0)
		return err_set(err, rc, "cannot read the state of NTFS volume "
				  "%s: %s", tg->file, strerror(-rc));
	return 0;
}

/* The state of a volume whose hiberfil.sys is to be discarded
 * (FS_O_REMOVE_HIBERFILE): what the $LogFile and the dirty flag say, as if
 * the hibernation image were gone already.  A Fast Startup $LogFile stays
 * HIBERNATED: discarding the file does not undo that. */
static int state_past_hiberfile(const struct fs_target *tg, enum fs_state *st,
				struct err *err)
{
	struct ntfs_range r;
	ntfs_volume *vol = fs_ntfs_mount(tg, &r, NTFS_MNT_RDONLY);
	int rc;

	if (!vol)
		return err_set(err, -(errno ? errno : EIO), "cannot read NTFS volume %s: %s",
			       tg->file, mount_why(errno ? errno : EIO));
	*st = FS_STATE_CLEAN;
	rc = logfile_state(vol, st);
	if (rc == 0 && *st == FS_STATE_CLEAN && (vol->flags & VOLUME_IS_DIRTY))
		*st = FS_STATE_UNCLEAN;
	ntfs_umount(vol, FALSE);
	if (rc < 0)
		return err_set(err, rc, "cannot read the state of NTFS volume %s: %s",
			       tg->file, strerror(-rc));
	return 0;
}

/* How to run ntfsfix on tg: the file, or for a partition inside an image a
 * loop device over just that partition. */
static void ntfsfix_advice(const struct fs_target *tg, char *buf, size_t cap)
{
	if (tg->offset)
		snprintf(buf, cap, "'ntfsfix -d DEV' on the loop device that 'losetup"
			 " -f --show -o %llu --sizelimit %llu %s' prints (then"
			 " 'losetup -d DEV')", (unsigned long long)tg->offset,
			 (unsigned long long)tg->size, tg->file);
	else
		snprintf(buf, cap, "'ntfsfix -d %s'", tg->file);
}

/* The read-write refusals, checked on a read-only look at the volume so
 * that a refused volume is not written at all.  (Mounted is fs_open's
 * first check, fs.c.) */
static int refuse_rw(struct fs *fs, const struct fs_target *tg, unsigned flags)
{
	enum fs_state st;
	struct err err = { 0 };
	char fix[4400];
	int rc;

	rc = ntfs_state(tg, &st, &err);
	if (rc == 0 && st == FS_STATE_HIBERNATED && (flags & FS_O_REMOVE_HIBERFILE))
		rc = state_past_hiberfile(tg, &st, &err);
	if (rc < 0) {
		err_copy(&fs->err, &err);
		return rc;
	}
	if (st == FS_STATE_HIBERNATED)
		return err_setc(&fs->err, ERR_FATAL, ERR_REFUSED, -EPERM, "refusing to open %s read-write: %s",
			       fs->name, mount_why(EPERM));
	if (st == FS_STATE_DIRTY)
		return err_setc(&fs->err, ERR_FATAL, ERR_REFUSED, -EUCLEAN, "refusing to open %s read-write: the "
			       "NTFS volume was not cleanly unmounted (unclean "
			       "$LogFile); boot Windows and run chkdsk /f, "
			       "then shut down fully", fs->name);
	ntfsfix_advice(tg, fix, sizeof(fix));
	if (st == FS_STATE_UNCLEAN && !(flags & FS_O_ACCEPT_UNCLEAN))
		return err_setc(&fs->err, ERR_FATAL, ERR_REFUSED, -EUCLEAN, "refusing to open %s read-write: it was"
				" not cleanly closed (the NTFS dirty flag is set: a"
				" sysrecover or ntfs-3g session that wrote to it"
				" was interrupted, or Windows found an error);"
				" boot Windows and run chkdsk /f, or check it"
				" with %s", fs->name, fix);
	return 0;
}

/* Before the first change (fs.c calls ops->mark): the dirty flag, so that
 * chkdsk checks a volume whose session was cut off; a volume that has it
 * already keeps it. */
static int ntfs_mark(struct fs *fs)
{
	struct ntfs_fs *p = P(fs);
	ntfs_volume *vol = p->vol;

	if (vol->flags & VOLUME_IS_DIRTY)
		return 0;
	errno = 0;
	if (ntfs_volume_write_flags(vol, vol->flags | VOLUME_IS_DIRTY) < 0 ||
	    vol->dev->d_ops->sync(vol->dev) < 0)
		return err_set(&fs->err, errno_or(EIO), "cannot mark %s in use: %s",
			       fs->name, strerror(errno ? errno : EIO));
	p->marked = true;
	return 0;
}

static int remove_name(struct fs *fs, const char *path, int want_dir);
static int ntfs_close(struct fs *fs);

/* FS_O_REMOVE_HIBERFILE, as ntfs-3g's remove_hiberfile: when the hibernation
 * check still fails (EPERM: a "hibr" or "wake" header), the volume is marked
 * in use and /hiberfil.sys deleted, before any other change.  Windows then
 * boots afresh and makes a new one. */
static int drop_hiberfile(struct fs *fs)
{
	int rc;

	errno = 0;
	if (ntfs_volume_check_hiberfile(P(fs)->vol, 0) == 0)
		return 0;
	if (errno != EPERM)
		return err_set(&fs->err, errno_or(EIO), "cannot read the hibernation file "
			       "of %s: %s", fs->name, strerror(errno ? errno : EIO));
	if ((rc = ntfs_mark(fs)) < 0)
		return rc;
	if ((rc = remove_name(fs, "/hiberfil.sys", 0)) < 0 && !fs->err.msg[0])
		err_set(&fs->err, rc, "cannot remove the hibernation file of %s: %s",
			fs->name, strerror(-rc));
	return rc;
}

static int ntfs_open(struct fs *fs, const struct fs_target *tg, unsigned flags)
{
	bool rw = flags & FS_O_RDWR;
	struct ntfs_fs *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return err_set(&fs->err, -ENOMEM, "out of memory");
	rc = rw ? refuse_rw(fs, tg, flags) : 0;
	if (rc < 0)
		goto out;
	p->vol = fs_ntfs_mount(tg, &p->range, !rw ? NTFS_MNT_RDONLY :
			       (flags & FS_O_REMOVE_HIBERFILE) ?
			       NTFS_MNT_EXCLUSIVE | NTFS_MNT_IGNORE_HIBERFILE : NTFS_MNT_EXCLUSIVE);
	if (!p->vol) {
		int e = errno;

		rc = err_setc(&fs->err, ERR_FATAL, mount_code(e), -e,
			      "cannot open NTFS volume %s: %s", fs->name,
			      mount_why(e));
		goto out;
	}
	/* ntfs_device_mount opened $Secure already (ntfs_open_secure), and
	 * ntfs_umount closes it. */
	p->vol->efs_raw = (flags & FS_O_EFS_RAW) != 0;
	p->scx.vol = p->vol;
	p->scx.pseccache = &p->seccache;
	fs->priv = p;
	p = NULL;
	if (rw && (flags & FS_O_REMOVE_HIBERFILE) && (rc = drop_hiberfile(fs)) < 0) {
		ntfs_close(fs);   /* unmounted: the open failed */
		fs->priv = NULL;
	}
out:
	free(p);
	return rc;
}

static int ntfs_close(struct fs *fs)
{
	struct ntfs_fs *p = P(fs);
	int rc = 0;

	ntfs_destroy_security_context(&p->scx);
	errno = 0;
	/* everything written through first, the mark cleared last */
	if (p->marked && (p->vol->dev->d_ops->sync(p->vol->dev) < 0 ||
			  ntfs_cache_bypass(&p->range) < 0 ||
			  ntfs_volume_write_flags(p->vol, p->vol->flags &
						  ~VOLUME_IS_DIRTY) < 0))
		rc = err_set(&fs->err, errno_or(EIO), "cannot mark %s clean: %s",
			     fs->name, strerror(errno ? errno : EIO));
	if (ntfs_umount(p->vol, FALSE) < 0 && rc == 0)
		rc = err_set(&fs->err, errno_or(EIO), "cannot close NTFS volume %s: %s",
			     fs->name, strerror(errno ? errno : EIO));
	free(p);
	return rc;
}

static int ntfs_space(struct fs *fs, uint64_t *free_bytes, uint64_t *size,
		      uint64_t *free_files)
{
	ntfs_volume *vol = P(fs)->vol;

	*free_files = UINT64_MAX;   /* the MFT grows into free clusters */
	if (ntfs_volume_get_free_space(vol) < 0)
		return err_set(&fs->err, errno_or(EIO), "cannot count the free clusters of %s",
			       fs->name);
	*free_bytes = (uint64_t)vol->free_clusters * vol->cluster_size;
	*size = (uint64_t)vol->nr_clusters * vol->cluster_size;
	return 0;
}

static int ntfs_sync(struct fs *fs)
{
	struct ntfs_device *dev = P(fs)->vol->dev;

	if (dev->d_ops->sync(dev) < 0)
		return err_set(&fs->err, -errno, "cannot sync %s: %s", fs->name,
			       strerror(errno));
	return 0;
}

/* ---- paths and names ---------------------------------------------------- */

/* Copy the parent of path into buf, return the leaf ("" for the root). */
static const char *split_path(const char *path, char *buf)
{
	const char *slash = strrchr(path, '/');
	size_t n = (size_t)(slash - path);

	if (n == 0)
		n = 1;
	memcpy(buf, path, n);
	buf[n] = 0;
	return slash + 1;
}

static int open_path(struct fs *fs, const char *path, ntfs_inode **ni)
{
	errno = 0;
	*ni = ntfs_pathname_to_inode(P(fs)->vol, NULL, path);
	return *ni ? 0 : errno_or(ENOENT);
}

static bool is_dir(ntfs_inode *ni)
{
	return (ni->mrec->flags & MFT_RECORD_IS_DIRECTORY) != 0;
}

/* $MFT, $Bitmap, $Extend and the rest are never changed through paths. */
static int refuse_system(struct fs *fs, ntfs_inode *ni, const char *path)
{
	if (ni->mft_no < FILE_first_user && ni->mft_no != FILE_root)
		return err_set(&fs->err, -EPERM, "cannot change '%s' on %s: it is an NTFS "
			       "system file", path, fs->name);
	return 0;
}

static int to_ucs(struct fs *fs, const char *name, ntfschar **u)
{
	int len;

	*u = NULL;
	len = ntfs_mbstoucs(name, u);
	if (len < 0)
		return err_set(&fs->err, -EILSEQ, "cannot use name '%s' on %s: not valid "
			       "in the current character set", name, fs->name);
	if (len > NTFS_MAX_NAME_LEN) {
		free(*u);
		*u = NULL;
		return err_set(&fs->err, -ENAMETOOLONG, "name '%s' is longer than 255 "
			       "UTF-16 units", name);
	}
	return len;
}

/* The parent directory of path and the leaf in UTF-16, for operations that
 * add or remove a name.  must_exist: 1 the leaf must exist, 0 it must not,
 * -1 either. */
struct parent {
	ntfs_inode *dir;
	ntfschar *uname;
	int len;
	u64 mref;  /* of the leaf, (u64)-1 when absent */
};

static void parent_done(struct parent *pa)
{
	if (pa->dir)
		ntfs_inode_close(pa->dir);
	free(pa->uname);
	pa->dir = NULL;
	pa->uname = NULL;
}

static int parent_open(struct fs *fs, const char *path, int must_exist,
		       struct parent *pa)
{
	char dir[NTFS_PATH_MAX];
	const char *leaf = split_path(path, dir);
	int rc;

	*pa = (struct parent){ .mref = (u64)-1 };
	if (!*leaf)
		return err_set(&fs->err, -EBUSY, "cannot change the root of %s", fs->name);
	rc = open_path(fs, dir, &pa->dir);
	if (rc < 0)
		goto out;
	rc = !is_dir(pa->dir) ? -ENOTDIR : refuse_system(fs, pa->dir, path);
	if (rc < 0)
		goto out;
	rc = pa->len = to_ucs(fs, leaf, &pa->uname);
	if (rc < 0)
		goto out;
	errno = 0;
	pa->mref = ntfs_inode_lookup_by_name(pa->dir, pa->uname, pa->len);
	if (pa->mref == (u64)-1 && errno != ENOENT)
		rc = errno_or(EIO);
	else if (must_exist == 1 && pa->mref == (u64)-1)
		rc = -ENOENT;
	else if (must_exist == 0 && pa->mref != (u64)-1)
		rc = -EEXIST;
	else
		rc = 0;
out:
	if (rc < 0)
		parent_done(pa);
	return rc;
}

/* ---- stat --------------------------------------------------------------- */

/* NTFS time (100 ns since 1601) to timespec, correct before 1970 too. */
static struct timespec nt2ts(sle64 t)
{
	s64 v = sle64_to_cpu(t) - NTFS_TIME_OFFSET;
	s64 sec = v / 10000000, rem = v % 10000000;

	if (rem < 0) {
		rem += 10000000;
		sec--;
	}
	return (struct timespec){ .tv_sec = sec, .tv_nsec = rem * 100 };
}

static u64 ts2nt(struct timespec ts)
{
	return (u64)((s64)ts.tv_sec * 10000000 + ts.tv_nsec / 100 +
		     NTFS_TIME_OFFSET);
}

/* Hard links as POSIX counts them: names other than DOS aliases. */
static uint32_t count_links(ntfs_inode *ni)
{
	ntfs_attr_search_ctx *ctx = ntfs_attr_get_search_ctx(ni, NULL);
	uint32_t n = 0;

	if (!ctx)
		return le16_to_cpu(ni->mrec->link_count);
	while (!ntfs_attr_lookup(AT_FILE_NAME, AT_UNNAMED, 0, CASE_SENSITIVE, 0,
				 NULL, 0, ctx)) {
		const FILE_NAME_ATTR *fn = (const FILE_NAME_ATTR *)
			((const u8 *)ctx->attr + le16_to_cpu(ctx->attr->value_offset));

		if (fn->file_name_type != FILE_NAME_DOS)
			n++;
	}
	ntfs_attr_put_search_ctx(ctx);
	return n ? n : 1;
}

/* The unnamed data of a small system file, for Interix types.  NULL when
 * it is not one (or is too big to be one). */
static INTX_FILE *read_intx(ntfs_inode *ni, s64 *size)
{
	ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
	INTX_FILE *ix = NULL;

	if (!na)
		return NULL;
	*size = na->data_size;
	if (na->data_size > (s64)sizeof(INTX_FILE_TYPES) &&
	    na->data_size <= (s64)(sizeof(INTX_FILE_TYPES) + 2 * NTFS_PATH_MAX) &&
	    (ix = malloc((size_t)na->data_size)) &&
	    ntfs_attr_pread(na, 0, na->data_size, ix) != na->data_size) {
		free(ix);
		ix = NULL;
	}
	ntfs_attr_close(na);
	return ix;
}

/* The target of an Interix symlink: UTF-16 right after the magic. */
static ntfschar *intx_target(INTX_FILE *ix)
{
	return (ntfschar *)((u8 *)ix + sizeof(INTX_FILE_TYPES));
}

/* ntfs-3g's conventions for Interix objects (system attribute set). */
static void interix_mode(ntfs_inode *ni, struct fs_stat *st)
{
	s64 size = -1;
	INTX_FILE *ix = read_intx(ni, &size);
	size_t dev_len = offsetof(INTX_FILE, device_end);

	if (size >= 0 && size <= 1 && !(ni->flags & FILE_ATTR_HIDDEN))
		st->mode = (size ? S_IFSOCK : S_IFIFO) | 0777;
	if (!ix)
		return;
	if ((ix->magic == INTX_BLOCK_DEVICE || ix->magic == INTX_CHARACTER_DEVICE)
	    && size == (s64)dev_len) {
		st->mode = (ix->magic == INTX_BLOCK_DEVICE ? S_IFBLK : S_IFCHR) | 0777;
		st->rdev_major = (uint32_t)le64_to_cpu(ix->major);
		st->rdev_minor = (uint32_t)le64_to_cpu(ix->minor);
	} else if (ix->magic == INTX_SYMBOLIC_LINK) {
		char *t = NULL;
		int n = ntfs_ucstombs(intx_target(ix), (int)((size_t)(size - 8) / 2), &t, 0);

		st->mode = S_IFLNK | 0777;
		if (n >= 0)
			st->size = (uint64_t)n;
		free(t);
	}
	free(ix);
}

static void fill_stat(ntfs_inode *ni, struct fs_stat *st, bool efs_raw)
{
	memset(st, 0, sizeof(*st));
	st->ino = ni->mft_no;
	st->nlink = count_links(ni);
	st->attrib = le32_to_cpu(ni->flags);
	if (is_dir(ni))
		st->attrib |= le32_to_cpu(FILE_ATTR_DIRECTORY);
	st->atime = nt2ts(ni->last_access_time);
	st->mtime = nt2ts(ni->last_data_change_time);
	st->ctime = nt2ts(ni->last_mft_change_time);
	st->btime = nt2ts(ni->creation_time);
	if (is_dir(ni)) {
		st->mode = S_IFDIR | 0777;
		return;
	}
	st->mode = S_IFREG | 0777;
	st->size = (uint64_t)ni->data_size;
	st->alloc = (uint64_t)ni->allocated_size;
	/* raw EFS I/O sees the stream padded to 512 plus 2 bytes of pad length */
	if (efs_raw && (ni->flags & FILE_ATTR_ENCRYPTED) && ni->data_size)
		st->size = (((uint64_t)ni->data_size + 511) & ~511ull) + 2;
	if ((ni->flags & FILE_ATTR_SYSTEM) && !(ni->flags & FILE_ATTR_REPARSE_POINT))
		interix_mode(ni, st);
}

static int ntfs_lookup(struct fs *fs, const char *path, struct fs_stat *st)
{
	ntfs_inode *ni;
	int rc = open_path(fs, path, &ni);

	if (rc < 0)
		return rc;
	fill_stat(ni, st, P(fs)->vol->efs_raw);
	ntfs_inode_close(ni);
	return 0;
}

/* ---- readdir ------------------------------------------------------------ */

/* Names are gathered first and stat'ed after ntfs_readdir returns: opening
 * inodes from inside its callback leaks them in libntfs-3g (seen with ASan),
 * and the caller's callback must not run while the index is being walked. */
struct rd_ent {
	char *name;
	u64 mref;
};

struct rd_ctx {
	bool root;
	struct rd_ent *e;
	size_t n, cap;
	int rc;
};

static int rd_fill(void *arg, const ntfschar *name, const int name_len,
		   const int name_type, const s64 pos, const MFT_REF mref,
		   const unsigned dt_type)
{
	struct rd_ctx *c = arg;
	char *mb = NULL;

	(void)pos, (void)dt_type;
	if (name_type == FILE_NAME_DOS)
		return 0;  /* the short alias of a name we list anyway */
	if (name[0] == const_cpu_to_le16('.') && (name_len == 1 ||
	    (name_len == 2 && name[1] == const_cpu_to_le16('.'))))
		return 0;
	if (c->root && MREF(mref) < FILE_first_user)
		return 0;  /* $MFT, $Bitmap, ..., $Extend */
	if (buf_grow((void **)&c->e, &c->cap, c->n + 1, sizeof(*c->e))) {
		c->rc = -ENOMEM;
		return -1;
	}
	if (ntfs_ucstombs(name, name_len, &mb, 0) < 0) {
		c->rc = errno_or(EILSEQ);
		return -1;
	}
	c->e[c->n++] = (struct rd_ent){ .name = mb, .mref = MREF(mref) };
	return 0;
}

static int rd_visit(struct fs *fs, struct rd_ent *e, fs_dir_cb cb, void *arg)
{
	struct fs_stat st;
	ntfs_inode *ni;

	errno = 0;
	ni = ntfs_inode_open(P(fs)->vol, e->mref);
	if (!ni)
		return err_set(&fs->err, errno_or(EIO), "cannot read '%s' (inode %llu) "
			       "on %s: %s", e->name, (unsigned long long)e->mref,
			       fs->name, strerror(errno ? errno : EIO));
	fill_stat(ni, &st, P(fs)->vol->efs_raw);
	ntfs_inode_close(ni);
	return cb(arg, e->name, &st);
}

static int ntfs_readdir_op(struct fs *fs, const char *path, fs_dir_cb cb,
			   void *arg)
{
	struct rd_ctx c = { .root = !strcmp(path, "/") };
	ntfs_inode *dir;
	s64 pos = 0;
	int rc = open_path(fs, path, &dir);

	if (rc < 0)
		return rc;
	if (!is_dir(dir)) {
		ntfs_inode_close(dir);
		return -ENOTDIR;
	}
	errno = 0;
	if (ntfs_readdir(dir, &pos, &c, rd_fill) < 0 && !c.rc)
		rc = errno_or(EIO);
	if (c.rc)
		rc = c.rc;
	ntfs_inode_close(dir);
	for (size_t i = 0; rc == 0 && i < c.n; i++)
		rc = rd_visit(fs, &c.e[i], cb, arg);
	for (size_t i = 0; i < c.n; i++)
		free(c.e[i].name);
	free(c.e);
	return rc;
}

/* ---- create --------------------------------------------------------------- */

/* A new object gets the descriptor Windows would give it: inherited from
 * the parent's inheritable ACEs (owner Administrators, as we run as root).
 * 0 lets ntfs_create fall back to its Everyone-full-access default. */
static le32 inherit_id(struct ntfs_fs *p, ntfs_inode *dir, bool fordir)
{
	int k = fordir;

	if (dir->security_id && p->inh_parent[k] == dir->security_id)
		return p->inh_id[k];
	p->inh_id[k] = ntfs_inherited_id(&p->scx, dir, fordir);
	p->inh_parent[k] = dir->security_id;
	return p->inh_id[k];
}

static int make_obj(struct fs *fs, const char *path, mode_t type, dev_t rdev,
		    const char *target)
{
	struct parent pa;
	ntfschar *ut = NULL;
	ntfs_inode *ni = NULL;
	int rc = parent_open(fs, path, 0, &pa), tl;
	le32 sid;

	if (rc < 0)
		return rc;
	sid = inherit_id(P(fs), pa.dir, S_ISDIR(type));
	errno = 0;
	if (S_ISLNK(type)) {
		rc = tl = to_ucs(fs, target, &ut);
		if (rc >= 0)
			ni = ntfs_create_symlink(pa.dir, sid, pa.uname, (u8)pa.len,
						 ut, tl);
	} else if (S_ISCHR(type) || S_ISBLK(type)) {
		ni = ntfs_create_device(pa.dir, sid, pa.uname, (u8)pa.len, type, rdev);
	} else {
		ni = ntfs_create(pa.dir, sid, pa.uname, (u8)pa.len, type);
	}
	if (rc >= 0)
		rc = ni ? 0 : errno_or(EIO);
	if (ni && ntfs_inode_close_in_dir(ni, pa.dir) < 0)
		rc = errno_or(EIO);
	free(ut);
	parent_done(&pa);
	return rc;
}

static int ntfs_create_op(struct fs *fs, const char *path, uint32_t mode)
{
	(void)mode;  /* NTFS has no POSIX mode: the descriptor is inherited */
	return make_obj(fs, path, S_IFREG, 0, NULL);
}

static int ntfs_mkdir_op(struct fs *fs, const char *path, uint32_t mode)
{
	(void)mode;
	return make_obj(fs, path, S_IFDIR, 0, NULL);
}

static int ntfs_symlink_op(struct fs *fs, const char *path, const char *target)
{
	return make_obj(fs, path, S_IFLNK, 0, target);
}

static int ntfs_mknod_op(struct fs *fs, const char *path, uint32_t mode,
			 uint32_t major, uint32_t minor)
{
	mode_t t = mode & S_IFMT;

	if (t != S_IFCHR && t != S_IFBLK && t != S_IFIFO && t != S_IFSOCK &&
	    t != S_IFREG)
		return -EINVAL;
	return make_obj(fs, path, t, makedev(major, minor), NULL);
}

static ssize_t ntfs_readlink_op(struct fs *fs, const char *path, char *buf,
				size_t cap)
{
	ntfs_inode *ni;
	INTX_FILE *ix = NULL;
	char *t = NULL;
	s64 size = -1;
	ssize_t rc = open_path(fs, path, &ni);
	int n;

	if (rc < 0)
		return rc;
	if (!is_dir(ni) && (ni->flags & FILE_ATTR_SYSTEM))
		ix = read_intx(ni, &size);
	if (!ix || ix->magic != INTX_SYMBOLIC_LINK) {
		rc = -EINVAL;  /* as readlink(2) on what is not a symlink */
		goto out;
	}
	n = ntfs_ucstombs(intx_target(ix), (int)((size_t)(size - 8) / 2), &t, 0);
	if (n < 0) {
		rc = errno_or(EILSEQ);
		goto out;
	}
	rc = n;
	memcpy(buf, t, (size_t)n < cap ? (size_t)n : cap);
	if ((size_t)n < cap)
		buf[n] = 0;
out:
	free(t);
	free(ix);
	ntfs_inode_close(ni);
	return rc;
}

/* ---- link, unlink, rename --------------------------------------------- */

/* Add the name `to` for the object at `from`.  No directories: POSIX has no
 * hard links to them (rename links directories itself). */
static int link_ni(struct fs *fs, ntfs_inode *ni, const char *to)
{
	struct parent pa;
	int rc = parent_open(fs, to, 0, &pa);

	if (rc < 0)
		return rc;
	errno = 0;
	if (ntfs_link(ni, pa.dir, pa.uname, (u8)pa.len) < 0)
		rc = errno_or(EIO);
	parent_done(&pa);
	return rc;
}

static int ntfs_link_op(struct fs *fs, const char *existing, const char *newpath)
{
	ntfs_inode *ni;
	int rc = open_path(fs, existing, &ni);

	if (rc < 0)
		return rc;
	rc = is_dir(ni) ? -EPERM : refuse_system(fs, ni, existing);
	if (rc == 0)
		rc = link_ni(fs, ni, newpath);
	ntfs_inode_close(ni);
	return rc;
}

/* Remove one name.  want_dir: 1 directory only, 0 non-directory only, -1
 * either (rename).  ntfs_delete closes both inodes whatever happens. */
static int remove_name(struct fs *fs, const char *path, int want_dir)
{
	struct parent pa;
	ntfs_inode *ni;
	int rc = parent_open(fs, path, 1, &pa);

	if (rc < 0)
		return rc;
	ni = ntfs_inode_open(P(fs)->vol, MREF(pa.mref));
	if (!ni) {
		rc = errno_or(EIO);
		goto out;
	}
	rc = refuse_system(fs, ni, path);
	if (rc == 0 && want_dir == 1 && !is_dir(ni))
		rc = -ENOTDIR;
	if (rc == 0 && want_dir == 0 && is_dir(ni))
		rc = -EISDIR;
	if (rc < 0) {
		ntfs_inode_close(ni);
		goto out;
	}
	errno = 0;
	if (ntfs_delete(P(fs)->vol, path, ni, pa.dir, pa.uname, (u8)pa.len) < 0)
		rc = errno_or(EIO);
	pa.dir = NULL;  /* closed by ntfs_delete */
out:
	parent_done(&pa);
	return rc;
}

static int ntfs_unlink_op(struct fs *fs, const char *path)
{
	return remove_name(fs, path, 0);
}

static int ntfs_rmdir_op(struct fs *fs, const char *path)
{
	return remove_name(fs, path, 1);
}

/* The short name of the object at path, "" when none. */
static int get_short(struct fs *fs, const char *path, char *buf, size_t cap)
{
	struct parent pa;
	ntfs_inode *ni;
	int rc;

	buf[0] = 0;
	if (!strcmp(path, "/"))
		return 0;  /* the root has no parent, so no short name */
	rc = parent_open(fs, path, 1, &pa);
	if (rc < 0)
		return rc;
	ni = ntfs_inode_open(P(fs)->vol, MREF(pa.mref));
	if (!ni) {
		rc = errno_or(EIO);
		goto out;
	}
	errno = 0;
	rc = ntfs_get_ntfs_dos_name(ni, pa.dir, buf, cap - 1);
	if (rc == -ENODATA)
		rc = 0;
	if (rc >= 0)
		buf[rc] = 0;
	ntfs_inode_close(ni);
out:
	parent_done(&pa);
	return rc;
}

static int short_name_check(struct fs *fs, const char *path, const char *name,
			    char *up);
static int short_name_free(struct fs *fs, ntfs_inode *dir, const char *name,
			   u64 self);
static int set_short(struct fs *fs, const char *path, const char *up);

/* What rename needs to know about one end; gathered with the inode open
 * only briefly, because libntfs-3g must never hold two in-memory copies of
 * one MFT record (the second close would undo the first one's changes). */
struct rename_end {
	bool exists, dir, empty;
	u64 mft_no;
};

struct rename_op {
	const char *from, *to;
	char tmp[NTFS_PATH_MAX];
	char shortname[64];
	struct rename_end src, dst;
};

static int rename_probe(struct fs *fs, const char *path, struct rename_end *e)
{
	ntfs_inode *ni;
	int rc = open_path(fs, path, &ni);

	if (rc < 0)
		return rc;
	rc = refuse_system(fs, ni, path);
	e->exists = true;
	e->dir = is_dir(ni);
	e->empty = e->dir && ntfs_check_empty_dir(ni) == 0;
	e->mft_no = ni->mft_no;
	ntfs_inode_close(ni);
	return rc;
}

/* Refuse what POSIX rename refuses before changing anything; 1 = nothing
 * to do (both names are links to one file). */
static int rename_check(struct fs *fs, struct rename_op *op, unsigned flags)
{
	int rc = rename_probe(fs, op->from, &op->src);

	if (rc < 0)
		return rc;
	rc = rename_probe(fs, op->to, &op->dst);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (op->dst.mft_no == op->src.mft_no)
		return 1;
	if (flags & FS_RENAME_NOREPLACE)
		return -EEXIST;
	if (op->src.dir && !op->dst.dir)
		return -ENOTDIR;
	if (!op->src.dir && op->dst.dir)
		return -EISDIR;
	return op->dst.dir && !op->dst.empty ? -ENOTEMPTY : 0;
}

/* Is the short name free in the target directory?  Checked first so that a
 * rename never loses the name it promised to keep. */
static int rename_short_ok(struct fs *fs, struct rename_op *op)
{
	char dir[NTFS_PATH_MAX];
	ntfs_inode *d;
	int rc = get_short(fs, op->from, op->shortname, sizeof(op->shortname));

	if (rc <= 0)
		return rc;
	split_path(op->to, dir);
	rc = open_path(fs, dir, &d);
	if (rc < 0)
		return rc;
	rc = short_name_free(fs, d, op->shortname, op->src.mft_no);
	/* the file the rename replaces may hold it: it goes before the short
	 * name is set on the new one (restore renames over files that kept
	 * their 8.3 names) */
	if (rc == -EEXIST && op->dst.exists)
		rc = short_name_free(fs, d, op->shortname, op->dst.mft_no);
	ntfs_inode_close(d);
	if (rc == -EEXIST)
		rc = err_set(&fs->err, rc, "cannot rename '%s' to '%s' on %s: its short "
			     "name %s is taken in the target directory", op->from,
			     op->to, fs->name, op->shortname);
	return rc;
}

static int link_path(struct fs *fs, const char *from, const char *to)
{
	ntfs_inode *ni;
	int rc = open_path(fs, from, &ni);

	if (rc < 0)
		return rc;
	rc = link_ni(fs, ni, to);
	ntfs_inode_close(ni);
	return rc;
}

/* link + delete, as ntfs-3g's FUSE does; an existing target is first moved
 * aside to a temporary name so that a failure can put it back. */
static int rename_move(struct fs *fs, struct rename_op *op)
{
	int rc;

	if (op->dst.exists) {
		snprintf(op->tmp, sizeof(op->tmp), "%s.sysrecover-%u", op->to,
			 P(fs)->tmpseq++);
		rc = link_path(fs, op->to, op->tmp);
		if (rc == 0)
			rc = remove_name(fs, op->to, -1);
		if (rc < 0)
			return rc;
	}
	rc = link_path(fs, op->from, op->to);
	if (rc < 0 && op->dst.exists && link_path(fs, op->tmp, op->to) == 0)
		remove_name(fs, op->tmp, -1);  /* the old target is back */
	return rc;
}

static int ntfs_rename_op(struct fs *fs, const char *from, const char *to,
			  unsigned flags)
{
	struct rename_op op = { .from = from, .to = to };
	int rc = rename_check(fs, &op, flags);

	if (rc == 0)
		rc = rename_short_ok(fs, &op);
	if (rc == 0)
		rc = rename_move(fs, &op);
	if (rc != 0)
		return rc == 1 ? 0 : rc;
	rc = remove_name(fs, from, -1);
	if (rc < 0) {
		remove_name(fs, to, -1);  /* as ntfs-3g: undo the new name */
		return rc;
	}
	if (op.dst.exists)
		remove_name(fs, op.tmp, -1);
	return op.shortname[0] ? set_short(fs, to, op.shortname) : 0;
}

/* ---- times ---------------------------------------------------------------- */

static int ntfs_set_times_op(struct fs *fs, const char *path, const struct fs_times *t)
{
	ntfs_inode *ni;
	u64 v[3];
	int rc = open_path(fs, path, &ni);

	if (rc < 0)
		return rc;
	v[0] = (t->mask & FS_T_BTIME) ? ts2nt(t->btime) : (u64)sle64_to_cpu(ni->creation_time);
	v[1] = (t->mask & FS_T_MTIME) ? ts2nt(t->mtime) :
					(u64)sle64_to_cpu(ni->last_data_change_time);
	v[2] = (t->mask & FS_T_ATIME) ? ts2nt(t->atime) :
					(u64)sle64_to_cpu(ni->last_access_time);
	for (int i = 0; i < 3; i++)
		v[i] = cpu_to_le64(v[i]);
	errno = 0;
	if (ntfs_inode_set_times(ni, (const char *)v, sizeof(v), 0) < 0)
		rc = errno_or(EIO);
	/* set_times stamps the change time "now" and marks the times as set so
	 * that the sync on close leaves them alone.  For a wanted change time,
	 * put it in the inode and let that sync copy all four (the other three
	 * are already in the inode) into $STANDARD_INFORMATION and $FILE_NAME. */
	if (rc == 0 && (t->mask & FS_T_CTIME)) {
		ni->last_mft_change_time = cpu_to_sle64((s64)ts2nt(t->ctime));
		clear_nino_flag(ni, TimesSet);
		ntfs_inode_mark_dirty(ni);
		NInoFileNameSetDirty(ni);
	}
	if (ntfs_inode_close(ni) < 0 && rc == 0)
		rc = errno_or(EIO);
	return rc;
}

/* ---- short names ---------------------------------------------------------- */

/* 8.3 rules ([MS-FSCC] 2.1.5.2.1, RtlIsNameLegalDOS8Dot3): ASCII 0x21-0x7E without " * + , / : ; < = >
 * ? [ \ ] |, base 1-8, at most one dot, extension 1-3; stored uppercase. */
static int short_name_check(struct fs *fs, const char *path, const char *name,
			    char *up)
{
	const char *bad = "\"*+,/:;<=>?[\\]|";
	const char *dot = strchr(name, '.');
	size_t len = strlen(name), base = dot ? (size_t)(dot - name) : len;
	size_t ext = dot ? len - base - 1 : 0;
	const char *why = NULL;

	if (len == 0 || len > 12)
		why = "it must have 1 to 12 characters";
	else if (base == 0 || base > 8)
		why = "the part before the dot must have 1 to 8 characters";
	else if (dot && (ext == 0 || ext > 3 || strchr(dot + 1, '.')))
		why = "it may have one dot, followed by 1 to 3 characters";
	for (size_t i = 0; !why && i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x21 || c > 0x7e || (c != '.' && strchr(bad, c)))
			why = "it has a character not allowed in 8.3 names "
			      "(spaces, control, non-ASCII or \"*+,/:;<=>?[\\]|)";
		up[i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
	}
	if (why)
		return err_set(&fs->err, -EINVAL, "cannot set short name '%s' on '%s': %s",
			       name, path, why);
	up[len] = 0;
	return 0;
}

/* Is `name` free in dir, compared as Windows does (ignoring case)?  It may
 * be taken by `self` (its own long name, or its current short name). */
static int short_name_free(struct fs *fs, ntfs_inode *dir, const char *name,
			   u64 self)
{
	ntfs_volume *vol = P(fs)->vol;
	ntfschar *u = NULL;
	int len = to_ucs(fs, name, &u), rc = 0;
	u64 m;

	if (len < 0)
		return len;
	NVolClearCaseSensitive(vol);
	errno = 0;
	m = ntfs_inode_lookup_by_name(dir, u, len);
	NVolSetCaseSensitive(vol);
	if (m == (u64)-1 && errno != ENOENT)
		rc = errno_or(EIO);
	else if (m != (u64)-1 && MREF(m) != self)
		rc = -EEXIST;
	free(u);
	return rc;
}

/* Set an already validated, uppercase short name. */
static int set_short(struct fs *fs, const char *path, const char *up)
{
	struct parent pa;
	ntfs_inode *ni;
	int rc = parent_open(fs, path, 1, &pa);

	if (rc < 0)
		return rc;
	rc = short_name_free(fs, pa.dir, up, MREF(pa.mref));
	if (rc == -EEXIST)
		rc = err_set(&fs->err, rc, "cannot set short name '%s' on '%s': another "
			     "name in %s already is (or abbreviates to) it", up,
			     path, fs->name);
	ni = rc < 0 ? NULL : ntfs_inode_open(P(fs)->vol, MREF(pa.mref));
	if (rc == 0 && !ni)
		rc = errno_or(EIO);
	if (rc < 0)
		goto out;
	errno = 0;
	/* closes ni and pa.dir, whatever happens */
	rc = ntfs_set_ntfs_dos_name(ni, pa.dir, up, strlen(up), 0);
	pa.dir = NULL;
	if (rc < 0)
		rc = lib_err(rc);
	if (rc == -EINVAL)
		rc = err_set(&fs->err, rc, "cannot set short name '%s' on '%s': the "
			     "long name is not a valid Windows name", up, path);
out:
	parent_done(&pa);
	return rc;
}

static int ntfs_shortname_set_op(struct fs *fs, const char *path, const char *name)
{
	char up[16];
	ntfs_inode *ni;
	int rc = short_name_check(fs, path, name, up);

	if (rc < 0)
		return rc;
	rc = open_path(fs, path, &ni);
	if (rc < 0)
		return rc;
	rc = refuse_system(fs, ni, path);
	ntfs_inode_close(ni);
	return rc < 0 ? rc : set_short(fs, path, up);
}

static ssize_t ntfs_shortname_get_op(struct fs *fs, const char *path, char *buf,
				     size_t cap)
{
	char tmp[64];
	int rc = get_short(fs, path, tmp, sizeof(tmp));

	if (rc < 0)
		return rc;
	if ((size_t)rc >= cap)
		return -ERANGE;
	memcpy(buf, tmp, (size_t)rc + 1);
	return rc;
}

static int ntfs_shortname_remove_op(struct fs *fs, const char *path)
{
	struct parent pa;
	ntfs_inode *ni;
	char cur[64];
	int rc = get_short(fs, path, cur, sizeof(cur));

	if (rc <= 0)
		return rc;  /* none: nothing to remove (as SetFileShortName "") */
	rc = parent_open(fs, path, 1, &pa);
	if (rc < 0)
		return rc;
	ni = ntfs_inode_open(P(fs)->vol, MREF(pa.mref));
	if (!ni) {
		rc = errno_or(EIO);
		goto out;
	}
	errno = 0;
	/* closes ni and pa.dir, whatever happens */
	if (ntfs_remove_ntfs_dos_name(ni, pa.dir) < 0)
		rc = errno_or(EIO);
	pa.dir = NULL;
out:
	parent_done(&pa);
	return rc;
}

/* ---- extended attributes ------------------------------------------------ */

/* The named stream behind a non-system xattr name, as ntfs-3g maps it. */
static int xattr_stream(struct fs *fs, const char *name, ntfschar **u)
{
	char buf[300];

	if (!strncmp(name, "user.", 5) && name[5])
		return to_ucs(fs, name + 5, u);
	if ((!strncmp(name, "security.", 9) && name[9]) ||
	    (!strncmp(name, "trusted.", 8) && name[8]) ||
	    (!strncmp(name, "system.", 7) && name[7])) {
		if (snprintf(buf, sizeof(buf), XATTR_NTFS3G_PREFIX "%s", name) >=
		    (int)sizeof(buf))
			return -ERANGE;
		return to_ucs(fs, buf, u);
	}
	return -EOPNOTSUPP;
}

static ssize_t stream_get(ntfs_inode *ni, ntfschar *u, int len, void *buf,
			  size_t cap)
{
	ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, u, (u32)len);
	ssize_t rc;

	if (!na)
		return errno == ENOENT ? -ENODATA : errno_or(EIO);
	rc = (ssize_t)na->data_size;
	if (cap && (size_t)rc > cap)
		rc = -ERANGE;
	else if (cap && rc && ntfs_attr_pread(na, 0, rc, buf) != rc)
		rc = errno_or(EIO);
	ntfs_attr_close(na);
	return rc;
}

/* libntfs-3g knows user.ntfs.efsinfo only through the xattr mapping that
 * ntfs-3g's FUSE builds at mount (ntfs_xattr_build_mapping), which a library
 * user does not get: it is system.ntfs_efsinfo's other name, and the library
 * itself refuses it (EPERM) on a volume not opened with FS_O_EFS_RAW, rather
 * than it becoming a named stream. */
static enum SYSTEMXATTRS xattr_type(const char *name, ntfs_volume *vol)
{
	if (!strcmp(name, FS_EFS_XATTR))
		return XATTR_NTFS_EFSINFO;
	return ntfs_xattr_system_type(name, vol);
}

static ssize_t ntfs_xattr_get_op(struct fs *fs, const char *path,
				 const char *name, void *buf, size_t cap)
{
	struct ntfs_fs *p = P(fs);
	enum SYSTEMXATTRS a = xattr_type(name, p->vol);
	ntfschar *u = NULL;
	ntfs_inode *ni;
	ssize_t rc;

	if (a == XATTR_NTFS_DOS_NAME) {
		char tmp[64];

		rc = get_short(fs, path, tmp, sizeof(tmp));
		if (rc == 0)
			return -ENODATA;
		if (rc > 0 && cap && (size_t)rc > cap)
			return -ERANGE;
		if (rc > 0 && cap)
			memcpy(buf, tmp, (size_t)rc);
		return rc;
	}
	rc = open_path(fs, path, &ni);
	if (rc < 0)
		return rc;
	if (a != XATTR_UNMAPPED) {
		errno = 0;
		rc = ntfs_xattr_system_getxattr(&p->scx, a, ni, NULL, buf, cap);
		rc = rc < 0 ? lib_err((int)rc) : rc;
	} else {
		rc = xattr_stream(fs, name, &u);
		if (rc >= 0)
			rc = stream_get(ni, u, (int)rc, buf, cap);
	}
	free(u);
	ntfs_inode_close(ni);
	return rc;
}

/* Write a whole named stream, creating it if needed. */
static int stream_put(ntfs_inode *ni, ntfschar *u, int len, const void *val,
		      size_t size)
{
	ntfs_attr *na;
	int rc = 0;

	errno = 0;
	if (!ntfs_attr_exist(ni, AT_DATA, u, (u32)len) &&
	    ntfs_attr_add(ni, AT_DATA, u, (u8)len, NULL, 0) < 0)
		return errno_or(EIO);
	na = ntfs_attr_open(ni, AT_DATA, u, (u32)len);
	if (!na)
		return errno_or(EIO);
	if (ntfs_attr_truncate(na, (s64)size) < 0 ||
	    (size && ntfs_attr_pwrite(na, 0, (s64)size, val) != (s64)size))
		rc = errno_or(EIO);
	ntfs_attr_close(na);
	return rc;
}

static int ntfs_xattr_set_op(struct fs *fs, const char *path, const char *name,
			     const void *val, size_t len)
{
	struct ntfs_fs *p = P(fs);
	enum SYSTEMXATTRS a = xattr_type(name, p->vol);
	ntfschar *u = NULL;
	ntfs_inode *ni;
	int rc;

	if (a == XATTR_NTFS_DOS_NAME) {
		char nm[16];

		if (len == 0 || len > 12)
			return err_set(&fs->err, -EINVAL, "cannot set short name on '%s': "
				       "it must have 1 to 12 characters", path);
		memcpy(nm, val, len);
		nm[len] = 0;
		return ntfs_shortname_set_op(fs, path, nm);
	}
	rc = open_path(fs, path, &ni);
	if (rc < 0)
		return rc;
	rc = refuse_system(fs, ni, path);
	if (rc == 0 && a != XATTR_UNMAPPED) {
		errno = 0;
		rc = ntfs_xattr_system_setxattr(&p->scx, a, ni, NULL, val, len, 0);
		rc = rc < 0 ? lib_err(rc) : 0;
	} else if (rc == 0) {
		rc = xattr_stream(fs, name, &u);
		if (rc >= 0)
			rc = stream_put(ni, u, rc, val, len);
	}
	free(u);
	if (ntfs_inode_close(ni) < 0 && rc == 0)
		rc = errno_or(EIO);
	return rc;
}

static int ntfs_xattr_remove_op(struct fs *fs, const char *path, const char *name)
{
	struct ntfs_fs *p = P(fs);
	enum SYSTEMXATTRS a = xattr_type(name, p->vol);
	ntfschar *u = NULL;
	ntfs_inode *ni;
	int rc;

	if (a == XATTR_NTFS_DOS_NAME)
		return ntfs_shortname_remove_op(fs, path);
	rc = open_path(fs, path, &ni);
	if (rc < 0)
		return rc;
	rc = refuse_system(fs, ni, path);
	if (rc == 0 && a != XATTR_UNMAPPED) {
		errno = 0;
		rc = ntfs_xattr_system_removexattr(&p->scx, a, ni, NULL);
		rc = rc < 0 ? lib_err(rc) : 0;
	} else if (rc == 0) {
		rc = xattr_stream(fs, name, &u);
		errno = 0;
		if (rc >= 0 && ntfs_attr_remove(ni, AT_DATA, u, (u32)rc) < 0)
			rc = errno == ENOENT ? -ENODATA : errno_or(EIO);
		else if (rc >= 0)
			rc = 0;
	}
	free(u);
	if (ntfs_inode_close(ni) < 0 && rc == 0)
		rc = errno_or(EIO);
	return rc;
}

/* The NTFS metadata names that exist on this object.  Named streams
 * (user.* on an ntfs-3g mount) are listed by stream_list instead, so a
 * backup does not carry them twice. */
static int ntfs_xattr_list_op(struct fs *fs, const char *path, fs_xattr_cb cb,
			      void *arg)
{
	char sn[64];
	ntfs_inode *ni;
	bool has_short, oid, ea, rp, enc;
	int rc = get_short(fs, path, sn, sizeof(sn));

	if (rc < 0)
		return rc;
	has_short = rc > 0;
	rc = open_path(fs, path, &ni);
	if (rc < 0)
		return rc;
	oid = ntfs_attr_exist(ni, AT_OBJECT_ID, AT_UNNAMED, 0);
	ea = ntfs_attr_exist(ni, AT_EA, AT_UNNAMED, 0);
	rp = (ni->flags & FILE_ATTR_REPARSE_POINT) != 0;
	enc = (ni->flags & FILE_ATTR_ENCRYPTED) && P(fs)->vol->efs_raw;
	ntfs_inode_close(ni);
	rc = cb(arg, "system.ntfs_acl");
	if (rc == 0)
		rc = cb(arg, "system.ntfs_attrib");
	if (rc == 0)
		rc = cb(arg, "system.ntfs_times");
	if (rc == 0 && has_short)
		rc = cb(arg, "system.ntfs_dos_name");
	if (rc == 0 && rp)
		rc = cb(arg, "system.ntfs_reparse_data");
	if (rc == 0 && oid)
		rc = cb(arg, "system.ntfs_object_id");
	if (rc == 0 && ea)
		rc = cb(arg, "system.ntfs_ea");
	if (rc == 0 && enc)
		rc = cb(arg, "user.ntfs.efsinfo");
	return rc;
}

/* ---- streams -------------------------------------------------------------- */

struct stream_ent {
	char *name;
	u64 size;
};

struct stream_set {
	struct stream_ent *e;
	size_t n;
};

static void free_streams(struct stream_set *ss)
{
	for (size_t i = 0; i < ss->n; i++)
		free(ss->e[i].name);
	free(ss->e);
}

/* Note one named $DATA attribute (the record with vcn 0 of it); raw: the
 * volume reads encrypted streams raw (efs_raw). */
static int note_stream(struct stream_set *ss, ATTR_RECORD *a, bool raw)
{
	struct stream_ent *ne;
	char *mb = NULL;

	if (!a->name_length || (a->non_resident && a->lowest_vcn))
		return 0;
	if (ntfs_ucstombs((ntfschar *)((u8 *)a + le16_to_cpu(a->name_offset)),
			  a->name_length, &mb, 0) < 0)
		return errno_or(EILSEQ);
	ne = realloc(ss->e, (ss->n + 1) * sizeof(*ne));
	if (!ne) {
		free(mb);
		return -ENOMEM;
	}
	ss->e = ne;
	ss->e[ss->n].name = mb;
	ss->e[ss->n].size = a->non_resident ? (u64)sle64_to_cpu(a->data_size)
					    : le32_to_cpu(a->value_length);
	/* an encrypted stream read raw: padded to 512, plus the le16 trailer */
	if (raw && a->non_resident && (a->flags & ATTR_IS_ENCRYPTED) && ss->e[ss->n].size)
		ss->e[ss->n].size = ((ss->e[ss->n].size + 511) & ~511ull) + 2;
	ss->n++;
	return 0;
}

/* The names are collected and the inode closed before any callback runs:
 * a callback that opens the same file (to copy a stream) would otherwise
 * make libntfs-3g hold two copies of one MFT record, and lose one. */
static int ntfs_stream_list_op(struct fs *fs, const char *path, fs_stream_cb cb,
			       void *arg)
{
	struct stream_set ss = { 0 };
	ntfs_attr_search_ctx *ctx;
	ntfs_inode *ni;
	int rc = open_path(fs, path, &ni);

	if (rc < 0)
		return rc;
	ctx = ntfs_attr_get_search_ctx(ni, NULL);
	if (!ctx)
		rc = errno_or(ENOMEM);
	while (ctx && rc == 0 && !ntfs_attr_lookup(AT_DATA, NULL, 0, CASE_SENSITIVE,
						   0, NULL, 0, ctx))
		rc = note_stream(&ss, ctx->attr, P(fs)->vol->efs_raw);
	if (ctx)
		ntfs_attr_put_search_ctx(ctx);
	ntfs_inode_close(ni);
	for (size_t i = 0; rc == 0 && i < ss.n; i++)
		rc = cb(arg, ss.e[i].name, ss.e[i].size);
	free_streams(&ss);
	return rc;
}

static int ntfs_stream_remove_op(struct fs *fs, const char *path,
				 const char *stream)
{
	ntfschar *u = NULL;
	ntfs_inode *ni;
	int rc = open_path(fs, path, &ni), len;

	if (rc < 0)
		return rc;
	rc = refuse_system(fs, ni, path);
	len = rc < 0 ? rc : to_ucs(fs, stream, &u);
	errno = 0;
	if (len < 0)
		rc = len;
	else if (len == 0)
		rc = -EINVAL;
	else if (ntfs_attr_remove(ni, AT_DATA, u, (u32)len) < 0)
		rc = errno_or(EIO);
	free(u);
	if (ntfs_inode_close(ni) < 0 && rc == 0)
		rc = errno_or(EIO);
	return rc;
}

/* ---- data ----------------------------------------------------------------- */

/* A handle keeps the inode number and stream name, not the inode: each call
 * opens and closes it, as ntfs-3g's FUSE does.  libntfs-3g must never hold
 * two in-memory copies of one MFT record, and a lookup or a second handle
 * on the same file while this one is open would make exactly that. */
struct ntfs_file {
	u64 mft_no;
	ntfschar *sname;
	int slen;
	bool wrote;
};

struct fattr {
	ntfs_inode *ni;
	ntfs_attr *na;
};

static struct ntfs_file *F(struct fs_file *f)
{
	return f->priv;
}

static int fattr_open(struct fs_file *f, struct fattr *fa)
{
	struct ntfs_file *nf = F(f);

	errno = 0;
	fa->na = NULL;
	fa->ni = ntfs_inode_open(P(f->fs)->vol, nf->mft_no);
	if (fa->ni)
		fa->na = ntfs_attr_open(fa->ni, AT_DATA,
					nf->sname ? nf->sname : AT_UNNAMED,
					(u32)nf->slen);
	if (fa->na)
		return 0;
	if (fa->ni)
		ntfs_inode_close(fa->ni);
	return errno_or(EIO);
}

static int fattr_close(struct fattr *fa, int rc)
{
	ntfs_attr_close(fa->na);
	errno = 0;
	if (ntfs_inode_close(fa->ni) < 0 && rc >= 0)
		rc = errno_or(EIO);
	return rc;
}

static int file_fail(struct fs_file *f, int err, const char *verb)
{
	return fs_fail_op(f->fs, err, verb, f->path);
}

/* Find (and with FS_F_CREATE make) the stream; check it opens. */
static int file_stream(struct fs_file *f, const char *path, const char *stream,
		       unsigned flags, ntfs_inode *ni)
{
	struct ntfs_file *nf = F(f);
	ntfs_attr *na;

	if (!stream && is_dir(ni))
		return -EISDIR;
	if (stream) {
		nf->slen = to_ucs(f->fs, stream, &nf->sname);
		if (nf->slen <= 0)
			return nf->slen < 0 ? nf->slen : -EINVAL;
	}
	errno = 0;
	if (stream && (flags & FS_F_CREATE) &&
	    !ntfs_attr_exist(ni, AT_DATA, nf->sname, (u32)nf->slen) &&
	    ntfs_attr_add(ni, AT_DATA, nf->sname, (u8)nf->slen, NULL, 0) < 0)
		return errno_or(EIO);
	na = ntfs_attr_open(ni, AT_DATA, stream ? nf->sname : AT_UNNAMED,
			    (u32)nf->slen);
	if (na) {
		ntfs_attr_close(na);
		return 0;
	}
	if (errno == ENOENT && stream)
		return err_set(&f->fs->err, -ENOENT, "'%s' on %s has no data stream '%s'",
			       path, f->fs->name, stream);
	return errno_or(EIO);
}

static int ntfs_file_open_op(struct fs_file *f, const char *path,
			     const char *stream, unsigned flags)
{
	struct ntfs_file *nf = calloc(1, sizeof(*nf));
	ntfs_inode *ni = NULL;
	int rc;

	if (!nf)
		return -ENOMEM;
	f->priv = nf;
	rc = open_path(f->fs, path, &ni);
	if (rc == 0 && (flags & FS_F_WRITE))
		rc = refuse_system(f->fs, ni, path);
	if (rc == 0) {
		nf->mft_no = ni->mft_no;
		rc = file_stream(f, path, stream, flags, ni);
	}
	if (ni && ntfs_inode_close(ni) < 0 && rc == 0)
		rc = errno_or(EIO);
	if (rc < 0) {
		free(nf->sname);
		free(nf);
		f->priv = NULL;
	}
	return rc;
}

/* A raw encrypted stream (efs_raw) ends with two bytes that are not on
 * disk: the le16 padding length.  libntfs-3g makes them in
 * ntfs_attr_pread_i, but a read that starts at or past the rounded size
 * (the trailer alone) fails there with EIO when the stream ends on a
 * cluster boundary (it looks for a cluster that is not allocated): a
 * 4096-byte file, or any read cut at that point.  Those bytes are made
 * here.  Returns how many (0 at the end), -1 when off is before them or the
 * stream is not read raw. */
static ssize_t efs_trailer(ntfs_attr *na, void *buf, size_t len, uint64_t off)
{
	u64 ds = (u64)na->data_size, r = ((ds + 511) & ~511ull);
	unsigned pad = (unsigned)(511 - ((ds - 1) & 511));
	size_t n = 0;

	if (!na->ni->vol->efs_raw || !(na->data_flags & ATTR_IS_ENCRYPTED) ||
	    !NAttrNonResident(na) || !ds || off < r)
		return -1;
	for (; n < len && off + n < r + 2; n++)
		((u8 *)buf)[n] = (u8)(pad >> (8 * (off + n - r)));
	return (ssize_t)n;
}

static ssize_t ntfs_pread_op(struct fs_file *f, void *buf, size_t len, uint64_t off)
{
	struct fattr fa;
	size_t done = 0;
	int rc = fattr_open(f, &fa);

	while (rc == 0 && done < len) {
		ssize_t t = efs_trailer(fa.na, (char *)buf + done, len - done, off + done);
		s64 n;

		if (t >= 0) {
			done += (size_t)t;
			break;
		}
		errno = 0;
		n = ntfs_attr_pread(fa.na, (s64)(off + done), (s64)(len - done),
				    (char *)buf + done);
		if (n < 0)
			rc = errno_or(EIO);
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	if (fa.na)
		rc = fattr_close(&fa, rc);
	return rc < 0 ? file_fail(f, rc, "read") : (ssize_t)done;
}

static ssize_t ntfs_pwrite_op(struct fs_file *f, const void *buf, size_t len,
			      uint64_t off)
{
	struct fattr fa;
	size_t done = 0;
	int rc = fattr_open(f, &fa);

	F(f)->wrote = true;
	while (rc == 0 && done < len) {
		s64 n;

		errno = 0;
		n = ntfs_attr_pwrite(fa.na, (s64)(off + done), (s64)(len - done),
				     (const char *)buf + done);
		if (n <= 0)
			rc = errno_or(EIO);
		else
			done += (size_t)n;
	}
	if (fa.na)
		rc = fattr_close(&fa, rc);
	return rc < 0 ? file_fail(f, rc, "write") : (ssize_t)done;
}

static int ntfs_truncate_op(struct fs_file *f, uint64_t size)
{
	struct fattr fa;
	int rc = fattr_open(f, &fa);

	F(f)->wrote = true;
	errno = 0;
	if (rc == 0 && ntfs_attr_truncate(fa.na, (s64)size) < 0)
		rc = errno_or(EIO);
	if (fa.na)
		rc = fattr_close(&fa, rc);
	return rc < 0 ? file_fail(f, rc, "truncate") : 0;
}

/* The first run at or after off that is not a hole, merged with the runs
 * that follow it. */
static int find_data(ntfs_attr *na, uint64_t off, uint64_t *start, uint64_t *end)
{
	u64 cs = na->ni->vol->cluster_size;

	*start = *end = 0;
	if (!NAttrNonResident(na)) {
		*start = off, *end = (u64)na->data_size;
		return 0;
	}
	errno = 0;
	if (ntfs_attr_map_whole_runlist(na) < 0)
		return errno_or(EIO);
	for (runlist_element *rl = na->rl; rl && rl->length; rl++) {
		u64 a = (u64)rl->vcn * cs, b = (u64)(rl->vcn + rl->length) * cs;

		if (rl->lcn == LCN_HOLE || b <= off) {
			if (*end)
				break;
			continue;
		}
		if (!*end)
			*start = a > off ? a : off;
		*end = b;
	}
	return 0;
}

static int ntfs_next_data_op(struct fs_file *f, uint64_t off, uint64_t *data_off,
			     uint64_t *data_len)
{
	struct fattr fa;
	uint64_t start = 0, end = 0, size = 0;
	int rc = fattr_open(f, &fa);

	if (rc == 0) {
		size = (u64)fa.na->data_size;
		rc = off >= size ? -ENXIO : find_data(fa.na, off, &start, &end);
		rc = fattr_close(&fa, rc);
	}
	if (rc == 0 && (!end || start >= size))
		rc = -ENXIO;
	if (rc == -ENXIO)
		return rc;  /* as SEEK_DATA: only a hole is left */
	if (rc < 0)
		return file_fail(f, rc, "map the extents of");
	*data_off = start;
	*data_len = (end < size ? end : size) - start;
	return 0;
}

/* What ntfs-3g's FUSE does on release: finish the last compression block,
 * and for a raw EFS write strip the padding trailer and mark the stream
 * encrypted. */
static int ntfs_file_close_op(struct fs_file *f)
{
	struct ntfs_file *nf = F(f);
	struct fattr fa;
	int rc = nf->wrote ? fattr_open(f, &fa) : 0;

	if (nf->wrote && rc == 0) {
		errno = 0;
		if ((fa.na->data_flags & ATTR_COMPRESSION_MASK) &&
		    ntfs_attr_pclose(fa.na) < 0)
			rc = errno_or(EIO);
		if (fa.ni->vol->efs_raw && (fa.ni->flags & FILE_ATTR_ENCRYPTED) &&
		    ntfs_efs_fixup_attribute(NULL, fa.na) < 0 && rc == 0)
			rc = errno_or(EIO);
		rc = fattr_close(&fa, rc);
	}
	if (rc < 0)
		err_set(&f->fs->err, rc, "cannot finish writing '%s' on %s: %s",
			f->path, f->fs->name, strerror(-rc));
	free(nf->sname);
	free(nf);
	return rc;
}

const struct fs_ops fs_ntfs_ops = {
	.kind = FS_KIND_NTFS,
	.caps = FS_CAP_SYMLINK | FS_CAP_HARDLINK | FS_CAP_DEVICES | FS_CAP_BTIME |
		FS_CAP_NTFS | FS_CAP_EFS_RAW,
	.probe = ntfs_probe,
	.state = ntfs_state,
	.open = ntfs_open,
	.close = ntfs_close,
	.mark = ntfs_mark,
	.sync = ntfs_sync,
	.space = ntfs_space,
	.lookup = ntfs_lookup,
	.readdir = ntfs_readdir_op,
	.create = ntfs_create_op,
	.mkdir = ntfs_mkdir_op,
	.symlink = ntfs_symlink_op,
	.readlink = ntfs_readlink_op,
	.link = ntfs_link_op,
	.mknod = ntfs_mknod_op,
	.unlink = ntfs_unlink_op,
	.rmdir = ntfs_rmdir_op,
	.rename = ntfs_rename_op,
	.set_times = ntfs_set_times_op,
	.xattr_list = ntfs_xattr_list_op,
	.xattr_get = ntfs_xattr_get_op,
	.xattr_set = ntfs_xattr_set_op,
	.xattr_remove = ntfs_xattr_remove_op,
	.stream_list = ntfs_stream_list_op,
	.stream_remove = ntfs_stream_remove_op,
	.shortname_get = ntfs_shortname_get_op,
	.shortname_set = ntfs_shortname_set_op,
	.shortname_remove = ntfs_shortname_remove_op,
	.file_open = ntfs_file_open_op,
	.file_pread = ntfs_pread_op,
	.file_pwrite = ntfs_pwrite_op,
	.file_truncate = ntfs_truncate_op,
	.file_next_data = ntfs_next_data_op,
	.file_close = ntfs_file_close_op,
};
