/* fs_ext_io.h - the write-back cache io manager for libext2fs; private to fs/. */
#ifndef SYSRECOVER_FS_EXT_IO_H
#define SYSRECOVER_FS_EXT_IO_H

#include <ext2fs/ext2_io.h>

/* unix_io with a large write-back cache for small (metadata) writes. */
extern io_manager fs_ext_cache_io;

#endif
