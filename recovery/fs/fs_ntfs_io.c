/* fs_ntfs_io.c - the NTFS device layer: libntfs-3g reads and writes a byte
 * range of a file or block device through these ntfs_device_operations.
 *
 * Why our own and not the library's unix_io: a partition inside an image
 * (tg->offset, tg->size) must work, and reads and writes must stay inside
 * it.  The exclusive lock of a read-write open is fs_open's (fs.c), an OFD
 * lock on the same range: ntfs-3g's own POSIX lock meets it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ntfs-3g/types.h>
#include <ntfs-3g/device.h>
#include <ntfs-3g/cache.h>
#include <ntfs-3g/logging.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>

#include "fs_ntfs_io.h"
#include "text.h"

static struct ntfs_range *RANGE(struct ntfs_device *dev)
{
	return dev->d_private;
}

static int range_size(struct ntfs_range *r, const struct stat *sb)
{
	uint64_t total = (uint64_t)sb->st_size;

	if (S_ISBLK(sb->st_mode) && ioctl(r->fd, BLKGETSIZE64, &total) < 0)
		return -1;
	if (r->off > total) {
		errno = EINVAL;
		return -1;
	}
	/* a partition table may promise more than a truncated image has */
	if (r->size == 0 || r->size > total - r->off)
		r->size = total - r->off;
	return 0;
}

static int dev_open(struct ntfs_device *dev, int flags)
{
	struct ntfs_range *r = RANGE(dev);
	bool rw = (flags & O_ACCMODE) == O_RDWR;
	struct stat sb;
	int e;

	if (NDevOpen(dev)) {
		errno = EBUSY;
		return -1;
	}
	if (stat(dev->d_name, &sb) < 0)
		return -1;
	/* O_EXCL on a block device fails when the kernel has it mounted */
	r->fd = open(dev->d_name, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC |
		     (rw && S_ISBLK(sb.st_mode) ? O_EXCL : 0));
	if (r->fd < 0)
		return -1;
	if (fstat(r->fd, &sb) < 0 || range_size(r, &sb) < 0)
		goto fail;
	r->pos = 0;
	r->rdonly = !rw;
	if (ntfs_cache_init(r) < 0)
		goto fail;
	if (!rw)
		NDevSetReadOnly(dev);
	if (S_ISBLK(sb.st_mode))
		NDevSetBlock(dev);
	NDevSetOpen(dev);
	return 0;
fail:
	e = errno;
	close(r->fd);
	r->fd = -1;
	errno = e;
	return -1;
}

static int dev_close(struct ntfs_device *dev)
{
	struct ntfs_range *r = RANGE(dev);
	int rc = 0;

	if (!r->rdonly && (ntfs_cache_flush(r) < 0 || fsync(r->fd) < 0))
		rc = -1;
	ntfs_cache_free(r);
	if (close(r->fd) < 0)
		rc = -1;
	r->fd = -1;
	NDevClearOpen(dev);
	return rc;
}

/* Seeking past the end fails: that is how libntfs-3g notices a truncated
 * image (it seeks to the last sector the boot sector promises). */
static s64 dev_seek(struct ntfs_device *dev, s64 offset, int whence)
{
	struct ntfs_range *r = RANGE(dev);
	s64 base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (s64)r->pos
							       : (s64)r->size;

	if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END) {
		errno = EINVAL;
		return -1;
	}
	if (base + offset < 0 || (u64)(base + offset) > r->size) {
		errno = EINVAL;
		return -1;
	}
	r->pos = (u64)(base + offset);
	return (s64)r->pos;
}

static s64 dev_pread(struct ntfs_device *dev, void *buf, s64 count, s64 offset)
{
	struct ntfs_range *r = RANGE(dev);

	if (offset < 0 || count < 0) {
		errno = EINVAL;
		return -1;
	}
	if ((u64)offset >= r->size)
		return 0;
	if ((u64)count > r->size - (u64)offset)
		count = (s64)(r->size - (u64)offset);
	return ntfs_cache_pread(r, buf, count, (u64)offset);
}

static s64 dev_pwrite(struct ntfs_device *dev, const void *buf, s64 count,
		      s64 offset)
{
	struct ntfs_range *r = RANGE(dev);

	if (r->rdonly) {
		errno = EROFS;
		return -1;
	}
	if (offset < 0 || count < 0 || (u64)offset + (u64)count > r->size) {
		errno = offset < 0 || count < 0 ? EINVAL : ENOSPC;
		return -1;
	}
	NDevSetDirty(dev);
	return ntfs_cache_pwrite(r, buf, count, (u64)offset);
}

static s64 dev_read(struct ntfs_device *dev, void *buf, s64 count)
{
	s64 n = dev_pread(dev, buf, count, (s64)RANGE(dev)->pos);

	if (n > 0)
		RANGE(dev)->pos += (u64)n;
	return n;
}

static s64 dev_write(struct ntfs_device *dev, const void *buf, s64 count)
{
	s64 n = dev_pwrite(dev, buf, count, (s64)RANGE(dev)->pos);

	if (n > 0)
		RANGE(dev)->pos += (u64)n;
	return n;
}

static int dev_sync(struct ntfs_device *dev)
{
	if (!NDevReadOnly(dev) && NDevDirty(dev)) {
		if (ntfs_cache_flush(RANGE(dev)) < 0 || fsync(RANGE(dev)->fd) < 0)
			return -1;
		NDevClearDirty(dev);
	}
	return 0;
}

static int dev_stat(struct ntfs_device *dev, struct stat *buf)
{
	if (fstat(RANGE(dev)->fd, buf) < 0)
		return -1;
	buf->st_size = (off_t)RANGE(dev)->size;
	return 0;
}

/* Only the size is answered here (so libntfs-3g need not probe for it);
 * geometry and sector size fall back to the library's defaults. */
static int dev_ioctl(struct ntfs_device *dev, unsigned long request, void *argp)
{
	if (request == BLKGETSIZE64) {
		*(u64 *)argp = RANGE(dev)->size;
		return 0;
	}
	errno = ENOTTY;
	return -1;
}

/* const: the library only reads it (its prototype predates const) */
static const struct ntfs_device_operations range_ops = {
	.open = dev_open,
	.close = dev_close,
	.seek = dev_seek,
	.read = dev_read,
	.write = dev_write,
	.pread = dev_pread,
	.pwrite = dev_pwrite,
	.sync = dev_sync,
	.stat = dev_stat,
	.ioctl = dev_ioctl,
};

/* ---- mounting ----------------------------------------------------------- */

static void lib_init(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	ntfs_set_locale();   /* picks ntfs-3g's own UTF-8 conversion in C and UTF-8 locales */
	text_locale_init();  /* and ours back: ntfs_set_locale set LC_ALL from $LANG */
	/* Every library failure is turned into one sentence of ours; its own
	 * stderr chatter is only wanted when debugging. */
	if (!getenv("SYSRECOVER_NTFS_DEBUG"))
		ntfs_log_clear_levels(NTFS_LOG_LEVEL_INFO | NTFS_LOG_LEVEL_QUIET |
				      NTFS_LOG_LEVEL_WARNING | NTFS_LOG_LEVEL_ERROR |
				      NTFS_LOG_LEVEL_PERROR | NTFS_LOG_LEVEL_PROGRESS |
				      NTFS_LOG_LEVEL_VERBOSE);
}

ntfs_volume *fs_ntfs_mount(const struct fs_target *tg, struct ntfs_range *r,
				ntfs_mount_flags flags)
{
	struct ntfs_device *dev;
	ntfs_volume *vol;
	int e;

	lib_init();
	*r = (struct ntfs_range){ .fd = -1, .off = tg->offset, .size = tg->size };
	dev = ntfs_device_alloc(tg->file, 0, (struct ntfs_device_operations *)&range_ops, r);
	if (!dev)
		return NULL;
	errno = 0;
	vol = ntfs_device_mount(dev, flags);
	if (!vol) {
		e = errno ? errno : EIO;
		if (NDevOpen(dev))
			dev_close(dev);
		ntfs_device_free(dev);
		errno = e;
		return NULL;
	}
	ntfs_create_lru_caches(vol);
	return vol;
}
