/* fs_ext_dir.h - the ext backend's directory cache, path resolution and
 * directory-entry editing (fs_ext_dir.c), shared with fs_ext.c; private to
 * fs/. */
#ifndef SYSRECOVER_FS_EXT_DIR_H
#define SYSRECOVER_FS_EXT_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#define EXT_DC_MIN_BLOCKS 2  /* cache directories this big: at 8, walking a
				 * 3-block root per lookup was most of the
				 * time of 10,000 queued moves (tests/bench) */
#define EXT_DC_MAX_BYTES (64u << 20)    /* drop the cache beyond this */
#define EXT_DC_MAX_DIRS 256
#define EXT_DC_NOBLK UINT32_MAX         /* dc_ent.blk: block not known */
#define EXT_PATH_MAX 4096

/* One cached directory entry; chained in a hash table keyed by (dir, name).
 * blk: the logical directory block that holds it (linear directories). */
struct dc_ent {
	struct dc_ent *next;
	ext2_ino_t dir, ino;
	uint32_t blk;
	unsigned char len;
	char name[];
};

/* One directory read into the cache.  A linear directory also keeps, per
 * logical block, its physical block and the biggest hole a new entry could
 * take (`gap`, in bytes), and a stack of blocks that got holes from
 * removals, so that a new name goes into a hole or the last block without
 * scanning.  An indexed (htree) directory keeps only its names: entries are
 * found through the index and added by ext2fs_link. */
struct dc_dir {
	ext2_ino_t ino;
	bool htree;
	uint32_t nblk;          /* logical blocks (i_size / blocksize) */
	size_t cap;
	blk64_t *pblk;          /* linear only: [nblk], 0 = hole */
	uint32_t *gap;          /* linear only: [nblk] */
	uint32_t *holes;        /* linear only: blocks that got room */
	size_t nholes, capholes;
};

struct dcache {
	struct dc_ent **tab;
	size_t nb, n, bytes;
	struct dc_dir *dirs[EXT_DC_MAX_DIRS];   /* directories fully loaded */
	size_t ndirs;
};

struct ext_file;

struct ext_priv {
	ext2_filsys fs;
	struct dcache dc;
	struct ext_file *files;
	/* The last two parent directories resolved, and their inodes (0 =
	 * none): a copy-in alternates between its staging directory and the
	 * directory it fills, and must not walk from the root each time. */
	struct ext_ldir {
		char path[EXT_PATH_MAX];
		size_t len;
		ext2_ino_t ino;
	} ldir[2];
	unsigned ldir_mru;         /* the slot used last */
	/* Read-only sessions: the path a walk is at and its inode, so that
	 * the calls a backup makes on each member (xattrs, open, readlink)
	 * do not look its name up again, one directory scan and checksum
	 * each.  Never set in a read-write session, where names change. */
	struct ext_ldir seen;
	/* Directories this session made.  Their blocks were checksummed when
	 * we wrote them, under our exclusive lock, so reading them back skips
	 * the check: crc32c of each directory block on every read was most of
	 * what renaming each file into place (copy-in) cost.  Blocks of every
	 * other directory are checked on every read, as libext2fs does. */
	ext2_ino_t *made;          /* open addressing, 0 = empty */
	size_t made_cap, made_n;
};

/* fs_ext.c: inode I/O the directory code needs */
errcode_t fs_ext_iread(ext2_filsys fs, ext2_ino_t ino,
	struct ext2_inode_large *in);
errcode_t fs_ext_touch_ino(struct ext_priv *p, ext2_ino_t ino, bool mtime,
	int dlinks);

/* fs_ext_dir.c */
void fs_ext_dc_clear(struct dcache *dc);
void fs_ext_dc_forget(struct dcache *dc, ext2_ino_t dir);
errcode_t fs_ext_dlookup(struct ext_priv *p, ext2_ino_t dir, const char *name,
	size_t len, ext2_ino_t *ino);
void fs_ext_forget_paths(struct ext_priv *p);
/* A walk of a read-only session is at path, inode ino (see ext_priv.seen). */
void fs_ext_seen(struct ext_priv *p, const char *path, ext2_ino_t ino);
/* Remember a directory this session made (see ext_priv.made); free all. */
void fs_ext_made_dir(struct ext_priv *p, ext2_ino_t ino);
void fs_ext_made_free(struct ext_priv *p);
errcode_t fs_ext_parent(struct ext_priv *p, const char *path, ext2_ino_t *dir,
	const char **base);
errcode_t fs_ext_resolve(struct ext_priv *p, const char *path, ext2_ino_t *ino);
errcode_t fs_ext_dlink(struct ext_priv *p, ext2_ino_t dir, const char *name,
	ext2_ino_t ino, int ftype);
errcode_t fs_ext_dunlink(struct ext_priv *p, ext2_ino_t dir, const char *name);
errcode_t fs_ext_dreplace(struct ext_priv *p, ext2_ino_t dir, const char *name,
	ext2_ino_t ino, int ftype);

#endif
