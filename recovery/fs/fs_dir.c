/* fs_dir.c - SKELETON being written now. */
#include "fs_impl.h"

const struct fs_ops fs_dir_ops = {
	.kind = FS_KIND_DIR,
};
