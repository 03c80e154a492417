/* fs_ext_io.h - the write-back cache io manager for libext2fs; private to fs/. */
#ifndef SYSRECOVER_FS_EXT_IO_H
#define SYSRECOVER_FS_EXT_IO_H

#include <ext2fs/ext2_io.h>

/* unix_io with a large write-back cache for small (metadata) writes. */
extern io_manager fs_ext_cache_io;

/* File data: count blocks from below the cache (held blocks, newer, laid
 * over them), without keeping them: data read once must not push metadata
 * out.  ch must be a channel of fs_ext_cache_io. */
errcode_t fs_ext_io_read_data(io_channel ch, unsigned long long blk, int count,
			      void *data);

#endif
