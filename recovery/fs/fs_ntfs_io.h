/* fs_ntfs_io.h - the NTFS device layer (a byte range of a file or block
 * device) for libntfs-3g; private to fs/. */
#ifndef SYSRECOVER_FS_NTFS_IO_H
#define SYSRECOVER_FS_NTFS_IO_H

#include <stdbool.h>
#include <stdint.h>

#include <ntfs-3g/types.h>
#include <ntfs-3g/volume.h>

#include "fs_impl.h"

/* The byte range of the file that holds the volume. */
struct ntfs_range {
	int fd;
	uint64_t off, size, pos;
	bool rdonly;
};

/* Mount tg (a whole file or a partition inside one) through our device
 * operations; r must outlive the volume.  NULL with errno on failure. */
ntfs_volume *fs_ntfs_mount(const struct fs_target *tg, struct ntfs_range *r,
			   ntfs_mount_flags flags);

#endif
