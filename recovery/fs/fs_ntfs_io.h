/* fs_ntfs_io.h - the NTFS device layer (a byte range of a file or block
 * device) for libntfs-3g; private to fs/. */
#ifndef SYSRECOVER_FS_NTFS_IO_H
#define SYSRECOVER_FS_NTFS_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>  /* before ntfs-3g: its ntfstime.h tests st_mtime */
#include <time.h>

#include <ntfs-3g/types.h>
#include <ntfs-3g/volume.h>

#include "fs_impl.h"

struct ntfs_cache;

/* The byte range of the file that holds the volume. */
struct ntfs_range {
	int fd;
	uint64_t off, size, pos;
	bool rdonly;
	struct ntfs_cache *cache;  /* NULL: every request goes to the file */
};

/* Mount tg (a whole file or a partition inside one) through our device
 * operations; r must outlive the volume.  NULL with errno on failure. */
ntfs_volume *fs_ntfs_mount(const struct fs_target *tg, struct ntfs_range *r,
			   ntfs_mount_flags flags);

/* The block cache between libntfs-3g and the file (fs_ntfs_cache.c).  The
 * device operations call these; requests are clamped to the range first.
 * pread and pwrite return what pread(2)/pwrite(2) would, -1 with errno. */
int ntfs_cache_init(struct ntfs_range *r);
void ntfs_cache_free(struct ntfs_range *r);
s64 ntfs_cache_pread(struct ntfs_range *r, void *buf, s64 count, uint64_t off);
s64 ntfs_cache_pwrite(struct ntfs_range *r, const void *buf, s64 count,
		      uint64_t off);
int ntfs_cache_flush(struct ntfs_range *r);  /* write back, keep the pages */
int ntfs_cache_bypass(struct ntfs_range *r); /* write back, then no cache */

#endif
