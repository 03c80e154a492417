/* fs_ext_dir.c - ext directories: a name cache for big directories, path
 * resolution that never follows a symlink, and adding, removing and
 * repointing directory entries.
 *
 * Why: libext2fs 1.47.0 scans a directory from its first block on every
 * ext2fs_lookup, ext2fs_unlink and (linear directories) ext2fs_link, so
 * 50,000 moves inside a directory of 100,000 names would be quadratic.
 * Directories of EXT_DC_MIN_BLOCKS blocks or more are read once into a hash
 * table (name -> inode, and for a linear directory the block that holds the
 * name).  Then, per operation, one block is read and written:
 *   - linear directory: a removal edits the block the cache names; a new
 *     entry goes into a block that got a hole from a removal, or the last
 *     block, or a new block (the cache keeps each block's biggest hole);
 *   - indexed (htree) directory: a removal or repointing finds the leaf
 *     through the index (ext2fs_dirhash2 and the dx blocks, as the kernel
 *     does); a new entry goes through ext2fs_link, which inserts into htree
 *     directories since 1.46 and splits leaves itself.
 * Anything unexpected (a block that does not hold the name it should, a
 * hash collision that crosses an index block) falls back to libext2fs's
 * scans: slow, never wrong.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fs_ext_dir.h"

/* ---- the directory cache --------------------------------------------------- */

static size_t dc_hash(ext2_ino_t dir, const char *name, size_t len)
{
	uint64_t h = 1469598103934665603ULL ^ dir;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 29));
}

static void dc_dir_free(struct dc_dir *d)
{
	if (!d)
		return;
	free(d->pblk);
	free(d->gap);
	free(d->holes);
	free(d);
}

void fs_ext_dc_clear(struct dcache *dc)
{
	for (size_t i = 0; i < dc->nb; i++) {
		struct dc_ent *e = dc->tab[i], *nx;

		for (; e; e = nx) {
			nx = e->next;
			free(e);
		}
	}
	for (size_t i = 0; i < dc->ndirs; i++)
		dc_dir_free(dc->dirs[i]);
	free(dc->tab);
	memset(dc, 0, sizeof(*dc));
}

static struct dc_dir *dc_loaded(const struct dcache *dc, ext2_ino_t dir)
{
	for (size_t i = 0; i < dc->ndirs; i++)
		if (dc->dirs[i]->ino == dir)
			return dc->dirs[i];
	return NULL;
}

static struct dc_ent **dc_slot(struct dcache *dc, ext2_ino_t dir,
			       const char *name, size_t len)
{
	struct dc_ent **pp = &dc->tab[dc_hash(dir, name, len) & (dc->nb - 1)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->dir == dir && (*pp)->len == len &&
		    !memcmp((*pp)->name, name, len))
			break;
	return pp;
}

static int dc_grow(struct dcache *dc)
{
	size_t nb = dc->nb ? dc->nb * 2 : 1024;
	struct dc_ent **t = calloc(nb, sizeof(*t));

	if (!t)
		return ENOMEM;
	for (size_t i = 0; i < dc->nb; i++) {
		struct dc_ent *e = dc->tab[i], *nx;

		for (; e; e = nx) {
			size_t h = dc_hash(e->dir, e->name, e->len) & (nb - 1);

			nx = e->next;
			e->next = t[h];
			t[h] = e;
		}
	}
	free(dc->tab);
	dc->tab = t;
	dc->nb = nb;
	return 0;
}

static int dc_add(struct dcache *dc, ext2_ino_t dir, const char *name,
		  size_t len, ext2_ino_t ino, uint32_t blk)
{
	struct dc_ent **pp, *e;

	if (dc->n >= dc->nb && dc_grow(dc))
		return ENOMEM;
	pp = dc_slot(dc, dir, name, len);
	if (*pp) {
		(*pp)->ino = ino;
		(*pp)->blk = blk;
		return 0;
	}
	e = malloc(sizeof(*e) + len);
	if (!e)
		return ENOMEM;
	*e = (struct dc_ent){ .dir = dir, .ino = ino, .blk = blk,
			      .len = (unsigned char)len };
	memcpy(e->name, name, len);
	*pp = e;
	dc->n++;
	dc->bytes += sizeof(*e) + len;
	return 0;
}

static struct dc_ent *dc_get(struct dcache *dc, ext2_ino_t dir,
			     const char *name, size_t len)
{
	return dc->nb ? *dc_slot(dc, dir, name, len) : NULL;
}

static void dc_del(struct dcache *dc, ext2_ino_t dir, const char *name,
		   size_t len)
{
	struct dc_ent **pp, *e;

	if (!dc->nb)
		return;
	pp = dc_slot(dc, dir, name, len);
	if (!(e = *pp))
		return;
	*pp = e->next;
	dc->n--;
	dc->bytes -= sizeof(*e) + len;
	free(e);
}

/* A directory inode that goes away must not stay "loaded": its number will
 * be reused.  (It is empty, so it has no entries in the table.) */
void fs_ext_dc_forget(struct dcache *dc, ext2_ino_t dir)
{
	for (size_t i = 0; i < dc->ndirs; i++)
		if (dc->dirs[i]->ino == dir) {
			dc_dir_free(dc->dirs[i]);
			dc->dirs[i] = dc->dirs[--dc->ndirs];
			return;
		}
}

/* Room for logical block `b` in a linear directory's arrays. */
static int dc_dir_reserve(struct dc_dir *d, uint32_t b)
{
	size_t cap = d->cap;

	if (b < d->cap)
		return 0;
	if (buf_grow((void **)&d->pblk, &cap, (size_t)b + 1, sizeof(*d->pblk)))
		return ENOMEM;
	cap = d->cap;
	if (buf_grow((void **)&d->gap, &cap, (size_t)b + 1, sizeof(*d->gap)))
		return ENOMEM;
	d->cap = cap;
	return 0;
}

static void dc_hole(struct dc_dir *d, uint32_t b)
{
	if (d->nholes && d->holes[d->nholes - 1] == b)
		return;
	if (!buf_grow((void **)&d->holes, &d->capholes, d->nholes + 1, sizeof(*d->holes)))
		d->holes[d->nholes++] = b;   /* no memory: only space not reused */
}

/* ---- one directory block ------------------------------------------------------ */

/* Where entries may lie in a directory block: before the checksum tail. */
static unsigned blk_limit(ext2_filsys fs)
{
	unsigned limit = fs->blocksize;

	if (ext2fs_has_feature_metadata_csum(fs->super))
		limit -= sizeof(struct ext2_dir_entry_tail);
	return limit;
}

/* The entry at `off`, its record length checked; NULL when the block is
 * corrupt there. */
static struct ext2_dir_entry *blk_ent(ext2_filsys fs, char *buf, unsigned off,
				      unsigned limit, unsigned *rec)
{
	struct ext2_dir_entry *de = (struct ext2_dir_entry *)(buf + off);

	if (off + 8 > limit || ext2fs_get_rec_len(fs, de, rec) || *rec < 8 ||
	    (*rec & 3) || off + *rec > limit ||
	    (unsigned)ext2fs_dirent_name_len(de) + 8 > *rec)
		return NULL;
	return de;
}

/* The biggest new entry this block can take. */
static uint32_t blk_gap(ext2_filsys fs, char *buf)
{
	unsigned off = 0, limit = blk_limit(fs), rec, best = 0;
	struct ext2_dir_entry *de;

	while (off < limit && (de = blk_ent(fs, buf, off, limit, &rec))) {
		unsigned used = de->inode ? EXT2_DIR_REC_LEN(ext2fs_dirent_name_len(de)) : 0;

		if (rec - used > best)
			best = rec - used;
		off += rec;
	}
	return best;
}

/* Find `name` in a block: its offset, and the previous entry's (== off when
 * it is the first).  1 found, 0 not, -1 corrupt. */
static int blk_find(ext2_filsys fs, char *buf, const char *name, size_t len,
		    unsigned *off, unsigned *prev)
{
	unsigned o = 0, pr = 0, limit = blk_limit(fs), rec;
	struct ext2_dir_entry *de;

	while (o < limit) {
		if (!(de = blk_ent(fs, buf, o, limit, &rec)))
			return -1;
		if (de->inode && (size_t)ext2fs_dirent_name_len(de) == len &&
		    !memcmp(de->name, name, len)) {
			*off = o;
			*prev = pr;
			return 1;
		}
		pr = o;
		o += rec;
	}
	return 0;
}

/* Take the entry at `off` out: the previous one absorbs it, or (first in
 * the block) it becomes unused, as ext2fs_unlink and the kernel do. */
static void blk_remove(ext2_filsys fs, char *buf, unsigned off, unsigned prev)
{
	struct ext2_dir_entry *de = (struct ext2_dir_entry *)(buf + off);
	struct ext2_dir_entry *pe = (struct ext2_dir_entry *)(buf + prev);
	unsigned rec, prec;

	if (prev == off) {
		de->inode = 0;
		return;
	}
	ext2fs_get_rec_len(fs, de, &rec);
	ext2fs_get_rec_len(fs, pe, &prec);
	ext2fs_set_rec_len(fs, prec + rec, pe);
}

/* Put (name -> ino) into one directory block if it has room: in an unused
 * entry or in the slack after a used one.  Returns 1 when added, 0 when
 * there is no room, -1 when the block is corrupt. */
static int blk_insert(ext2_filsys fs, char *buf, const char *name, size_t len,
		      ext2_ino_t ino, int ftype)
{
	unsigned need = EXT2_DIR_REC_LEN(len), off = 0, limit = blk_limit(fs), rec;

	while (off < limit) {
		struct ext2_dir_entry *de = blk_ent(fs, buf, off, limit, &rec);
		unsigned used;

		if (!de)
			return -1;
		used = de->inode ? EXT2_DIR_REC_LEN(ext2fs_dirent_name_len(de)) : 0;
		if (rec >= used + need) {
			if (used) {
				ext2fs_set_rec_len(fs, used, de);
				de = (struct ext2_dir_entry *)(buf + off + used);
			}
			ext2fs_set_rec_len(fs, rec - used, de);
			de->inode = ino;
			ext2fs_dirent_set_name_len(de, (int)len);
			ext2fs_dirent_set_file_type(de, ftype);
			memcpy(de->name, name, len);
			return 1;
		}
		off += rec;
	}
	return 0;
}

/* ---- loading a directory ---------------------------------------------------- */

struct dc_load {
	struct ext_priv *p;
	struct dc_dir *d;
	ext2_ino_t dir;
	char *buf;
	errcode_t err;
};

static int dc_load_blk(ext2_filsys fs, blk64_t *pblk, e2_blkcnt_t cnt,
		       blk64_t ref, int refoff, void *arg)
{
	struct dc_load *l = arg;
	unsigned off = 0, limit = blk_limit(fs), rec;
	struct ext2_dir_entry *de;

	(void)ref, (void)refoff;
	if (cnt < 0 || (uint64_t)cnt >= l->d->nblk || (l->d->htree && !cnt))
		return 0;   /* an index root holds only "." and ".." */
	if ((l->err = ext2fs_read_dir_block4(fs, *pblk, l->buf, 0, l->dir)))
		return BLOCK_ABORT;
	if (!l->d->htree) {
		l->d->pblk[cnt] = *pblk;
		l->d->gap[cnt] = blk_gap(fs, l->buf);
	}
	if (l->d->htree && cnt && !((struct ext2_dir_entry *)l->buf)->inode) {
		unsigned r0;   /* an index block: one unused entry over it all */

		if (!ext2fs_get_rec_len(fs, (struct ext2_dir_entry *)l->buf, &r0) &&
		    r0 == fs->blocksize)
			return 0;
	}
	while (off < limit) {
		int len;

		if (!(de = blk_ent(fs, l->buf, off, limit, &rec))) {
			l->err = EXT2_ET_DIR_CORRUPTED;
			return BLOCK_ABORT;
		}
		len = ext2fs_dirent_name_len(de);
		off += rec;
		if (!de->inode || (len == 1 && de->name[0] == '.') ||
		    (len == 2 && de->name[0] == '.' && de->name[1] == '.'))
			continue;
		if ((l->err = dc_add(&l->p->dc, l->dir, de->name, (size_t)len,
				     de->inode, l->d->htree ? EXT_DC_NOBLK : (uint32_t)cnt)))
			return BLOCK_ABORT;
	}
	return 0;
}

/* Is this directory's index one we can follow?  (As the kernel: the
 * feature and the flag, and a hash we know.) */
static bool ext_is_htree(ext2_filsys fs, const struct ext2_inode_large *in)
{
	return ext2fs_has_feature_dir_index(fs->super) &&
	       (in->i_flags & EXT2_INDEX_FL);
}

/* Read a whole directory into the cache (dropping everything first when the
 * cache is full: it is only a speed-up). */
static errcode_t dc_load(struct ext_priv *p, ext2_ino_t dir,
			 const struct ext2_inode_large *in)
{
	struct dc_load l = { p, NULL, dir, NULL, 0 };
	uint64_t nblk = EXT2_I_SIZE(in) / p->fs->blocksize;
	errcode_t e;

	if (nblk >= EXT_DC_NOBLK)
		return EXT2_ET_DIR_CORRUPTED;
	if (p->dc.bytes > EXT_DC_MAX_BYTES || p->dc.ndirs == EXT_DC_MAX_DIRS)
		fs_ext_dc_clear(&p->dc);
	if (!(l.d = calloc(1, sizeof(*l.d))))
		return ENOMEM;
	l.d->ino = dir;
	l.d->htree = ext_is_htree(p->fs, in);
	l.d->nblk = (uint32_t)nblk;
	e = l.d->htree || !nblk ? 0 : dc_dir_reserve(l.d, l.d->nblk - 1);
	if (!e)
		e = ext2fs_get_mem(p->fs->blocksize, &l.buf);
	if (!e)
		e = ext2fs_block_iterate3(p->fs, dir, BLOCK_FLAG_READ_ONLY |
					  BLOCK_FLAG_DATA_ONLY, NULL, dc_load_blk, &l);
	if (!e)
		e = l.err;
	ext2fs_free_mem(&l.buf);
	if (e) {
		dc_dir_free(l.d);
		fs_ext_dc_clear(&p->dc);  /* half a directory would answer wrongly */
		return e;
	}
	p->dc.dirs[p->dc.ndirs++] = l.d;
	return 0;
}

/* The cached directory `dir`, loaded now if it is big enough to be worth
 * it; NULL (and 0) when it is small or inline: use libext2fs. */
static errcode_t dc_dir_get(struct ext_priv *p, ext2_ino_t dir,
			    struct dc_dir **out)
{
	struct ext2_inode_large in;
	errcode_t e;

	if ((*out = dc_loaded(&p->dc, dir)))
		return 0;
	if ((e = fs_ext_iread(p->fs, dir, &in)))
		return e;
	if (!LINUX_S_ISDIR(in.i_mode))
		return ENOTDIR;
	if ((in.i_flags & EXT4_INLINE_DATA_FL) ||
	    EXT2_I_SIZE(&in) < EXT_DC_MIN_BLOCKS * (uint64_t)p->fs->blocksize)
		return 0;
	if ((e = dc_load(p, dir, &in)))
		return e;
	*out = dc_loaded(&p->dc, dir);
	return 0;
}

/* ---- names ------------------------------------------------------------------- */

/* Look `name` up in directory `dir` (which must be a directory). */
static errcode_t ext_dlookup_checked(struct ext_priv *p, ext2_ino_t dir,
			     const char *name, size_t len, ext2_ino_t *ino)
{
	struct dc_dir *d;
	struct dc_ent *e;
	errcode_t err;

	if (len > EXT2_NAME_LEN)
		return ENAMETOOLONG;
	if ((err = dc_dir_get(p, dir, &d)))
		return err;
	if (!d)
		return ext2fs_lookup(p->fs, dir, name, (int)len, NULL, ino);
	e = dc_get(&p->dc, dir, name, len);
	if (!e)
		return EXT2_ET_FILE_NOT_FOUND;
	*ino = e->ino;
	return 0;
}

/* Resolve `rel` (components separated by '/', no leading '/') from `ino`,
 * never through a symlink: every component but the last must be a
 * directory. */
static errcode_t ext_walk(struct ext_priv *p, ext2_ino_t ino, const char *rel,
			  size_t len, ext2_ino_t *out)
{
	size_t i = 0;

	while (i < len) {
		size_t j = i;
		errcode_t e;

		while (j < len && rel[j] != '/')
			j++;
		e = fs_ext_dlookup(p, ino, rel + i, j - i, &ino);
		if (e)
			return e;
		i = j + 1;
	}
	*out = ino;
	return 0;
}

/* The remembered directory that is the longest prefix of d (len bytes),
 * or -1. */
static int ext_ldir_match(const struct ext_priv *p, const char *d, size_t len)
{
	int best = -1;

	for (int i = 0; i < 2; i++) {
		const struct ext_ldir *l = &p->ldir[i];

		if (l->ino && len >= l->len && !memcmp(d, l->path, l->len) &&
		    (len == l->len || d[l->len] == '/') &&
		    (best < 0 || l->len > p->ldir[best].len))
			best = i;
	}
	return best;
}

/* Resolve a directory path (no trailing '/', "" = root), starting from a
 * remembered one when it is a prefix: restores create many entries in the
 * same or a nested directory. */
static errcode_t ext_resolve_dir(struct ext_priv *p, const char *d, size_t len,
				 ext2_ino_t *out)
{
	ext2_ino_t ino = EXT2_ROOT_INO;
	int m = ext_ldir_match(p, d, len);
	size_t skip = len ? 1 : 0;
	struct ext_ldir *l;
	errcode_t e;

	if (m >= 0) {
		ino = p->ldir[m].ino;
		skip = p->ldir[m].len + (len > p->ldir[m].len);
		if (p->ldir[m].len == len) {   /* this very directory */
			p->ldir_mru = (unsigned)m;
			*out = ino;
			return 0;
		}
	}
	e = ext_walk(p, ino, d + skip, len - skip, &ino);
	if (e)
		return e;
	if (len < sizeof(p->ldir[0].path)) {   /* replace the one used longer ago */
		p->ldir_mru ^= 1;
		l = &p->ldir[p->ldir_mru];
		memcpy(l->path, d, len);
		l->len = len;
		l->ino = ino;
	}
	*out = ino;
	return 0;
}

void fs_ext_seen(struct ext_priv *p, const char *path, ext2_ino_t ino)
{
	size_t n = strlen(path);

	p->seen.ino = 0;
	if ((p->fs->flags & EXT2_FLAG_RW) || n >= sizeof(p->seen.path))
		return;
	memcpy(p->seen.path, path, n + 1);
	p->seen.len = n;
	p->seen.ino = ino;
}

void fs_ext_forget_paths(struct ext_priv *p)
{
	p->ldir[0].ino = p->ldir[1].ino = 0;
	p->ldir[0].len = p->ldir[1].len = 0;
}

/* Split a normalised path into its parent directory (resolved, checked to be
 * a directory) and its last component. */
errcode_t fs_ext_parent(struct ext_priv *p, const char *path,
			    ext2_ino_t *dir, const char **base)
{
	const char *slash = strrchr(path, '/');
	struct ext2_inode_large in;
	errcode_t e;

	if (!path[1])
		return EINVAL;   /* the root has no parent */
	*base = slash + 1;
	if (strlen(*base) > EXT2_NAME_LEN)
		return ENAMETOOLONG;
	e = ext_resolve_dir(p, path, (size_t)(slash - path), dir);
	if (!e)
		e = fs_ext_iread(p->fs, *dir, &in);
	if (!e && !LINUX_S_ISDIR(in.i_mode))
		e = ENOTDIR;
	return e;
}

errcode_t fs_ext_resolve(struct ext_priv *p, const char *path,
			     ext2_ino_t *ino)
{
	ext2_ino_t dir;
	const char *base;
	errcode_t e;

	if (!path[1]) {
		*ino = EXT2_ROOT_INO;
		return 0;
	}
	if (p->seen.ino && !strcmp(path, p->seen.path)) {
		*ino = p->seen.ino;
		return 0;
	}
	e = fs_ext_parent(p, path, &dir, &base);
	return e ? e : fs_ext_dlookup(p, dir, base, strlen(base), ino);
}

/* ---- finding an entry ----------------------------------------------------------- */

/* Where a name's entry is: its block (read into the caller's buffer) and
 * the offsets blk_find gives. */
struct dloc {
	blk64_t pblk;
	uint32_t lblk;
	unsigned off, prev;
};

static errcode_t read_lblk(ext2_filsys fs, ext2_ino_t dir,
			   struct ext2_inode_large *in, uint32_t lblk, char *buf,
			   blk64_t *pblk)
{
	int flags = 0;
	errcode_t e = ext2fs_bmap2(fs, dir, (struct ext2_inode *)in, NULL, 0, lblk,
				   &flags, pblk);

	if (!e && (!*pblk || (flags & BMAP_RET_UNINIT)))
		e = EXT2_ET_DIR_CORRUPTED;
	return e ? e : ext2fs_read_dir_block4(fs, *pblk, buf, 0, dir);
}

/* The last index entry whose hash is <= hash (entry 0 has no hash: it
 * covers everything below entry 1's). */
static int dx_search(const struct ext2_dx_entry *ent, int count, uint32_t hash)
{
	int lo = 1, hi = count - 1;

	while (lo <= hi) {
		int m = lo + (hi - lo) / 2;

		if (ext2fs_le32_to_cpu(ent[m].hash) > hash)
			hi = m - 1;
		else
			lo = m + 1;
	}
	return lo - 1;
}

/* Find `name` through an indexed directory's htree, as the kernel does:
 * hash the name, walk the index blocks down to the leaf whose range holds
 * the hash, and on to the next leaves while their range continues the same
 * hash (a collision).  0 (*found set or not); EAGAIN when this is not an
 * index we follow (an unknown hash, or a collision run that goes past its
 * index block): then the caller scans. */
static errcode_t dx_find(ext2_filsys fs, ext2_ino_t dir, const char *name,
			 size_t len, char *buf, struct dloc *loc, int *found)
{
	struct ext2_inode_large in;
	struct ext2_dx_root_info *root;
	struct ext2_dx_countlimit *cc;
	struct ext2_dx_entry *ent = NULL;
	ext2_dirhash_t hash, minor;
	uint64_t up = UINT64_MAX;   /* where the range after ours starts */
	int alg, levels, count = 0, i = 0;
	char *ibuf = NULL;
	blk64_t pblk;
	errcode_t e;

	*found = 0;
	if ((e = fs_ext_iread(fs, dir, &in)))
		return e;
	if (!ext_is_htree(fs, &in))
		return EAGAIN;
	if ((e = ext2fs_get_mem(fs->blocksize, &ibuf)))
		return e;
	if ((e = read_lblk(fs, dir, &in, 0, ibuf, &pblk)))
		goto out;
	root = (struct ext2_dx_root_info *)(ibuf + 24);  /* after "." and ".." */
	alg = root->hash_version;
	levels = root->indirect_levels;
	if (alg != EXT2_HASH_LEGACY && alg != EXT2_HASH_HALF_MD4 &&
	    alg != EXT2_HASH_TEA) {
		e = EAGAIN;
		goto out;
	}
	if (fs->super->s_flags & EXT2_FLAGS_UNSIGNED_HASH)
		alg += 3;   /* the _UNSIGNED variants */
	if (levels >= (int)ext2_dir_htree_level(fs)) {
		e = EXT2_ET_DIR_CORRUPTED;
		goto out;
	}
	e = ext2fs_dirhash2(alg, name, (int)len, fs->encoding,
			    in.i_flags & EXT4_CASEFOLD_FL, fs->super->s_hash_seed,
			    &hash, &minor);
	for (int lev = 0; !e; lev++) {
		if ((e = ext2fs_get_dx_countlimit(fs, (struct ext2_dir_entry *)ibuf,
						  &cc, NULL)))
			break;
		count = ext2fs_le16_to_cpu(cc->count);
		if (!count || count > ext2fs_le16_to_cpu(cc->limit)) {
			e = EXT2_ET_DIR_CORRUPTED;
			break;
		}
		ent = (struct ext2_dx_entry *)cc;
		i = dx_search(ent, count, hash);
		if (lev == levels)
			break;
		if (i + 1 < count)
			up = ext2fs_le32_to_cpu(ent[i + 1].hash);
		e = read_lblk(fs, dir, &in, ext2fs_le32_to_cpu(ent[i].block) & 0x0fffffff,
			      ibuf, &pblk);
	}
	while (!e) {
		uint32_t lblk = ext2fs_le32_to_cpu(ent[i].block) & 0x0fffffff;
		uint64_t next = i + 1 < count ? ext2fs_le32_to_cpu(ent[i + 1].hash) : up;
		int r;

		if ((e = read_lblk(fs, dir, &in, lblk, buf, &loc->pblk)))
			break;
		r = blk_find(fs, buf, name, len, &loc->off, &loc->prev);
		if (r < 0)
			e = EXT2_ET_DIR_CORRUPTED;
		if (r) {
			loc->lblk = lblk;
			*found = r > 0;
			break;
		}
		if (next == UINT64_MAX || (next & ~1ULL) != hash)
			break;   /* the next leaf holds other hashes */
		if (i + 1 == count)
			e = EAGAIN;   /* the run continues under another index block */
		i++;
	}
out:
	ext2fs_free_mem(&ibuf);
	return e;
}

/* Find the entry of `name` in directory `dir` (d: its cache, or NULL): 0
 * (loc and buf filled), EXT2_ET_FILE_NOT_FOUND, or EAGAIN when only a scan
 * can tell (the caller then uses libext2fs; a linear directory whose block
 * did not hold the name has been dropped from the cache). */
static errcode_t ent_find(struct ext_priv *p, struct dc_dir *d, ext2_ino_t dir,
			  const char *name, size_t len, char *buf,
			  struct dloc *loc)
{
	struct dc_ent *c;
	errcode_t e;
	int r;

	if (!d)
		return EAGAIN;
	if (d->htree) {
		e = dx_find(p->fs, dir, name, len, buf, loc, &r);
		return e ? e : r ? 0 : EXT2_ET_FILE_NOT_FOUND;
	}
	if (!(c = dc_get(&p->dc, dir, name, len)))
		return EXT2_ET_FILE_NOT_FOUND;
	if (c->blk >= d->nblk || !d->pblk[c->blk])
		return EAGAIN;
	loc->lblk = c->blk;
	loc->pblk = d->pblk[c->blk];
	if ((e = ext2fs_read_dir_block4(p->fs, loc->pblk, buf, 0, dir)))
		return e;
	r = blk_find(p->fs, buf, name, len, &loc->off, &loc->prev);
	if (r > 0)
		return 0;
	fs_ext_dc_clear(&p->dc);   /* the cache was wrong: never trust it again */
	return r < 0 ? EXT2_ET_DIR_CORRUPTED : EAGAIN;
}

/* ---- directory entries ------------------------------------------------------ */

/* Give a linear directory one more block (ext2fs_expand_dir) and note it. */
static errcode_t lin_grow(ext2_filsys fs, struct dc_dir *d, ext2_ino_t dir)
{
	struct ext2_inode_large in;
	blk64_t pblk = 0;
	errcode_t e = ext2fs_expand_dir(fs, dir);

	if (!e)
		e = fs_ext_iread(fs, dir, &in);
	if (!e && EXT2_I_SIZE(&in) / fs->blocksize != (uint64_t)d->nblk + 1)
		e = EAGAIN;
	if (!e)
		e = dc_dir_reserve(d, d->nblk);
	if (!e)
		e = ext2fs_bmap2(fs, dir, (struct ext2_inode *)&in, NULL, 0, d->nblk,
				 NULL, &pblk);
	if (!e && !pblk)
		e = EAGAIN;
	if (e)
		return e;
	d->pblk[d->nblk] = pblk;
	d->gap[d->nblk] = blk_limit(fs);
	d->nblk++;
	return 0;
}

/* Add (name -> ino) to a cached linear directory: into a block that got a
 * hole from a removal, else the last block, else a new one.  The gaps are
 * hints: each block is read and checked before it is written.  *blk: the
 * block used.  EAGAIN: the directory is not as expected, use ext2fs_link. */
static errcode_t lin_insert(struct ext_priv *p, struct dc_dir *d, ext2_ino_t dir,
			    const char *name, size_t len, ext2_ino_t ino,
			    int ftype, uint32_t *blk)
{
	ext2_filsys fs = p->fs;
	uint32_t need = EXT2_DIR_REC_LEN(len), b;
	bool grown = false;
	char *buf = NULL;
	errcode_t e;

	if ((e = ext2fs_get_mem(fs->blocksize, &buf)))
		return e;
	for (;;) {
		int r;

		while (d->nholes && d->gap[d->holes[d->nholes - 1]] < need)
			d->nholes--;
		if (d->nholes) {
			b = d->holes[d->nholes - 1];
		} else if (d->nblk && d->gap[d->nblk - 1] >= need && d->pblk[d->nblk - 1]) {
			b = d->nblk - 1;
		} else if (grown || (e = lin_grow(fs, d, dir))) {
			e = e ? e : EXT2_ET_DIR_NO_SPACE;
			break;
		} else {
			grown = true;
			b = d->nblk - 1;
		}
		if (!d->pblk[b]) {
			d->gap[b] = 0;
			continue;
		}
		if ((e = ext2fs_read_dir_block4(fs, d->pblk[b], buf, 0, dir)))
			break;
		r = blk_insert(fs, buf, name, len, ino, ftype);
		d->gap[b] = blk_gap(fs, buf);
		if (r < 0) {
			e = EAGAIN;
			break;
		}
		if (r) {
			e = ext2fs_write_dir_block4(fs, d->pblk[b], buf, 0, dir);
			*blk = b;
			break;
		}
	}
	ext2fs_free_mem(&buf);
	return e;
}

/* Add a directory entry; the link counts are the caller's business. */
static errcode_t ext_dlink_checked(struct ext_priv *p, ext2_ino_t dir, const char *name,
			   ext2_ino_t ino, int ftype)
{
	size_t len = strlen(name);
	uint32_t blk = EXT_DC_NOBLK;
	struct dc_dir *d = dc_loaded(&p->dc, dir);   /* the caller looked up */
	errcode_t e = EAGAIN;

	if (d && !d->htree)
		e = lin_insert(p, d, dir, name, len, ino, ftype, &blk);
	if (e == EAGAIN) {
		if (d && !d->htree) {   /* the cache no longer knows the blocks */
			fs_ext_dc_clear(&p->dc);
			d = NULL;
		}
		e = ext2fs_link(p->fs, dir, name, ino, ftype);
		if (e == EXT2_ET_DIR_NO_SPACE && !d) {   /* 1.47.0: grow, then retry */
			e = ext2fs_expand_dir(p->fs, dir);
			if (!e)
				e = ext2fs_link(p->fs, dir, name, ino, ftype);
		}
	}
	if (e)
		fs_ext_dc_clear(&p->dc);   /* a half-done change: read again */
	else if (d && dc_add(&p->dc, dir, name, len, ino, blk))
		fs_ext_dc_clear(&p->dc);
	if (!e)
		e = fs_ext_touch_ino(p, dir, true, 0);
	return e;
}

static errcode_t ext_dunlink_checked(struct ext_priv *p, ext2_ino_t dir,
			     const char *name)
{
	ext2_filsys fs = p->fs;
	size_t len = strlen(name);
	struct dloc loc;
	struct dc_dir *d;
	char *buf = NULL;
	errcode_t e = dc_dir_get(p, dir, &d);

	if (!e)
		e = ext2fs_get_mem(fs->blocksize, &buf);
	if (!e)
		e = ent_find(p, d, dir, name, len, buf, &loc);
	d = dc_loaded(&p->dc, dir);   /* ent_find may have dropped it */
	if (!e) {
		blk_remove(fs, buf, loc.off, loc.prev);
		e = ext2fs_write_dir_block4(fs, loc.pblk, buf, 0, dir);
		if (!e && d && !d->htree) {
			d->gap[loc.lblk] = blk_gap(fs, buf);
			dc_hole(d, loc.lblk);
		}
	} else if (e == EAGAIN) {
		e = ext2fs_unlink(fs, dir, name, 0, 0);
	}
	ext2fs_free_mem(&buf);
	if (e)
		fs_ext_dc_clear(&p->dc);
	else
		dc_del(&p->dc, dir, name, len);
	if (!e)
		e = fs_ext_touch_ino(p, dir, true, 0);
	return e;
}

struct ext_repl {
	const char *name;
	ext2_ino_t ino;
	int ftype, done;
};

static int ext_repl_cb(struct ext2_dir_entry *de, int off, int bsz, char *buf,
		       void *arg)
{
	struct ext_repl *r = arg;
	size_t len = (size_t)ext2fs_dirent_name_len(de);

	(void)off, (void)bsz, (void)buf;
	if (!de->inode || len != strlen(r->name) || memcmp(de->name, r->name, len))
		return 0;
	de->inode = r->ino;
	ext2fs_dirent_set_file_type(de, r->ftype);
	r->done = 1;
	return DIRENT_CHANGED | DIRENT_ABORT;
}

/* Point an existing entry at another inode: rename's replace, in one block
 * write, so the name never disappears. */
static errcode_t ext_dreplace_checked(struct ext_priv *p, ext2_ino_t dir,
			      const char *name, ext2_ino_t ino, int ftype)
{
	struct ext_repl r = { name, ino, ftype, 0 };
	ext2_filsys fs = p->fs;
	size_t len = strlen(name);
	uint32_t blk = EXT_DC_NOBLK;
	struct dloc loc;
	struct dc_dir *d;
	char *buf = NULL;
	errcode_t e = dc_dir_get(p, dir, &d);

	if (!e)
		e = ext2fs_get_mem(fs->blocksize, &buf);
	if (!e)
		e = ent_find(p, d, dir, name, len, buf, &loc);
	d = dc_loaded(&p->dc, dir);
	if (!e) {
		struct ext2_dir_entry *de = (struct ext2_dir_entry *)(buf + loc.off);

		de->inode = ino;
		ext2fs_dirent_set_file_type(de, ftype);
		e = ext2fs_write_dir_block4(fs, loc.pblk, buf, 0, dir);
		if (d && !d->htree)
			blk = loc.lblk;
	} else if (e == EAGAIN) {
		e = ext2fs_dir_iterate(fs, dir, 0, NULL, ext_repl_cb, &r);
		if (!e && !r.done)
			e = EXT2_ET_FILE_NOT_FOUND;
	}
	ext2fs_free_mem(&buf);
	if (e)
		fs_ext_dc_clear(&p->dc);
	else if (d && dc_add(&p->dc, dir, name, len, ino, blk))
		fs_ext_dc_clear(&p->dc);
	if (!e)
		e = fs_ext_touch_ino(p, dir, true, 0);
	return e;
}

/* ---- directories this session made --------------------------------------- */

static size_t made_slot(const struct ext_priv *p, ext2_ino_t ino)
{
	size_t i = (ino * 2654435761u) & (p->made_cap - 1);

	while (p->made[i] && p->made[i] != ino)
		i = (i + 1) & (p->made_cap - 1);
	return i;
}

static bool made(const struct ext_priv *p, ext2_ino_t ino)
{
	return p->made_cap && p->made[made_slot(p, ino)] == ino;
}

void fs_ext_made_dir(struct ext_priv *p, ext2_ino_t ino)
{
	/* Kept at most half full; a failed grow only costs the shortcut. */
	if ((p->made_n + 1) * 2 > p->made_cap) {
		size_t cap = p->made_cap ? p->made_cap * 2 : 64;
		ext2_ino_t *old = p->made, *n = calloc(cap, sizeof(*n));
		size_t ocap = p->made_cap;

		if (!n)
			return;
		p->made = n;
		p->made_cap = cap;
		p->made_n = 0;
		for (size_t i = 0; i < ocap; i++)
			if (old[i]) {
				p->made[made_slot(p, old[i])] = old[i];
				p->made_n++;
			}
		free(old);
	}
	if (!p->made[made_slot(p, ino)]) {
		p->made[made_slot(p, ino)] = ino;
		p->made_n++;
	}
}

void fs_ext_made_free(struct ext_priv *p)
{
	free(p->made);
	p->made = NULL;
	p->made_cap = p->made_n = 0;
}

/* Skip libext2fs's checksum checks for the length of one call on a
 * directory we made; returns what trust_end needs to undo. */
static bool trust_begin(struct ext_priv *p, ext2_ino_t dir)
{
	if ((p->fs->flags & EXT2_FLAG_IGNORE_CSUM_ERRORS) || !made(p, dir))
		return false;
	p->fs->flags |= EXT2_FLAG_IGNORE_CSUM_ERRORS;
	return true;
}

static void trust_end(struct ext_priv *p, bool t)
{
	if (t)
		p->fs->flags &= ~EXT2_FLAG_IGNORE_CSUM_ERRORS;
}

errcode_t fs_ext_dlookup(struct ext_priv *p, ext2_ino_t dir, const char *name,
			 size_t len, ext2_ino_t *ino)
{
	bool t = trust_begin(p, dir);
	errcode_t e = ext_dlookup_checked(p, dir, name, len, ino);

	trust_end(p, t);
	return e;
}

errcode_t fs_ext_dlink(struct ext_priv *p, ext2_ino_t dir, const char *name,
		       ext2_ino_t ino, int ftype)
{
	bool t = trust_begin(p, dir);
	errcode_t e = ext_dlink_checked(p, dir, name, ino, ftype);

	trust_end(p, t);
	return e;
}

errcode_t fs_ext_dunlink(struct ext_priv *p, ext2_ino_t dir, const char *name)
{
	bool t = trust_begin(p, dir);
	errcode_t e = ext_dunlink_checked(p, dir, name);

	trust_end(p, t);
	return e;
}

errcode_t fs_ext_dreplace(struct ext_priv *p, ext2_ino_t dir, const char *name,
			  ext2_ino_t ino, int ftype)
{
	bool t = trust_begin(p, dir);
	errcode_t e = ext_dreplace_checked(p, dir, name, ino, ftype);

	trust_end(p, t);
	return e;
}
