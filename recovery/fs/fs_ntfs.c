/* fs_ntfs.c - SKELETON being written now; replaced by the real backend. */
#include "fs_impl.h"

static int ntfs_probe(const struct fs_target *tg)
{
	(void)tg;
	return 0;
}

const struct fs_ops fs_ntfs_ops = {
	.kind = FS_KIND_NTFS,
	.probe = ntfs_probe,
};
