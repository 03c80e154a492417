/* fs_ext_dir.c - ext directories: a name cache for big linear directories,
 * path resolution that never follows a symlink, and adding, removing and
 * repointing directory entries.
 *
 * Why a cache: libext2fs 1.47.0 scans a non-indexed directory from its first
 * block on every lookup and every link, so filling a directory with 100,000
 * names would be quadratic.  Directories of EXT_DC_MIN_BLOCKS blocks or more
 * are read once into a hash table, and new entries are appended to their
 * last block directly.  Indexed (htree) directories go through ext2fs_link.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs_ext_dir.h"

/* ---- the directory cache --------------------------------------------------- */

static size_t dc_hash(ext2_ino_t dir, const char *name, size_t len)
{
	uint64_t h = 1469598103934665603ULL ^ dir;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 29));
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
	free(dc->tab);
	memset(dc, 0, sizeof(*dc));
}

static bool dc_loaded(const struct dcache *dc, ext2_ino_t dir)
{
	for (size_t i = 0; i < dc->ndirs; i++)
		if (dc->dirs[i] == dir)
			return true;
	return false;
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
		  size_t len, ext2_ino_t ino)
{
	struct dc_ent **pp, *e;

	if (dc->n >= dc->nb && dc_grow(dc))
		return ENOMEM;
	pp = dc_slot(dc, dir, name, len);
	if (*pp) {
		(*pp)->ino = ino;
		return 0;
	}
	e = malloc(sizeof(*e) + len);
	if (!e)
		return ENOMEM;
	*e = (struct dc_ent){ .dir = dir, .ino = ino, .len = (unsigned char)len };
	memcpy(e->name, name, len);
	*pp = e;
	dc->n++;
	dc->bytes += sizeof(*e) + len;
	return 0;
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
		if (dc->dirs[i] == dir)
			dc->dirs[i] = dc->dirs[--dc->ndirs];
}

struct dc_load {
	struct dcache *dc;
	ext2_ino_t dir;
	int err;
};

static int dc_load_cb(struct ext2_dir_entry *de, int off, int bsz, char *buf,
		      void *arg)
{
	struct dc_load *l = arg;
	int len = ext2fs_dirent_name_len(de);

	(void)off, (void)bsz, (void)buf;
	if ((len == 1 && de->name[0] == '.') ||
	    (len == 2 && de->name[0] == '.' && de->name[1] == '.'))
		return 0;
	l->err = dc_add(l->dc, l->dir, de->name, (size_t)len, de->inode);
	return l->err ? DIRENT_ABORT : 0;
}

/* Read a whole directory into the cache (dropping everything first when the
 * cache is full: it is only a speed-up). */
static errcode_t dc_load(struct ext_priv *p, ext2_ino_t dir)
{
	struct dc_load l = { &p->dc, dir, 0 };
	errcode_t e;

	if (p->dc.bytes > EXT_DC_MAX_BYTES || p->dc.ndirs == EXT_DC_MAX_DIRS)
		fs_ext_dc_clear(&p->dc);
	e = ext2fs_dir_iterate(p->fs, dir, 0, NULL, dc_load_cb, &l);
	if (!e && l.err)
		e = l.err;
	if (e) {
		fs_ext_dc_clear(&p->dc);  /* half a directory would answer wrongly */
		return e;
	}
	p->dc.dirs[p->dc.ndirs++] = dir;
	return 0;
}

/* ---- names ------------------------------------------------------------------- */

/* Look `name` up in directory `dir` (which must be a directory). */
errcode_t fs_ext_dlookup(struct ext_priv *p, ext2_ino_t dir,
			     const char *name, size_t len, ext2_ino_t *ino)
{
	struct ext2_inode_large in;
	struct dc_ent *e;
	errcode_t err;

	if (len > EXT2_NAME_LEN)
		return ENAMETOOLONG;
	if (!dc_loaded(&p->dc, dir)) {
		if ((err = fs_ext_iread(p->fs, dir, &in)))
			return err;
		if (!LINUX_S_ISDIR(in.i_mode))
			return ENOTDIR;
		if ((in.i_flags & EXT4_INLINE_DATA_FL) ||
		    EXT2_I_SIZE(&in) < EXT_DC_MIN_BLOCKS * (uint64_t)p->fs->blocksize)
			return ext2fs_lookup(p->fs, dir, name, (int)len, NULL, ino);
		if ((err = dc_load(p, dir)))
			return err;
	}
	e = *dc_slot(&p->dc, dir, name, len);
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
	e = fs_ext_parent(p, path, &dir, &base);
	return e ? e : fs_ext_dlookup(p, dir, base, strlen(base), ino);
}

/* ---- directory entries ------------------------------------------------------ */

/* Put (name -> ino) into one directory block if it has room: in an unused
 * entry or in the slack after a used one.  Returns 1 when added. */
static int ext_blk_insert(ext2_filsys fs, char *buf, const char *name,
			  ext2_ino_t ino, int ftype)
{
	unsigned need = EXT2_DIR_REC_LEN(strlen(name)), off = 0, limit = fs->blocksize;

	if (ext2fs_has_feature_metadata_csum(fs->super))
		limit -= sizeof(struct ext2_dir_entry_tail);
	while (off < limit) {
		struct ext2_dir_entry *de = (struct ext2_dir_entry *)(buf + off);
		unsigned rec, used;

		if (ext2fs_get_rec_len(fs, de, &rec) || rec < 8 || off + rec > limit)
			return -1;   /* corrupt: leave it to ext2fs_link */
		used = de->inode ? EXT2_DIR_REC_LEN(ext2fs_dirent_name_len(de)) : 0;
		if (rec >= used + need) {
			if (used) {
				ext2fs_set_rec_len(fs, used, de);
				de = (struct ext2_dir_entry *)(buf + off + used);
			}
			ext2fs_set_rec_len(fs, rec - used, de);
			de->inode = ino;
			ext2fs_dirent_set_name_len(de, (int)strlen(name));
			ext2fs_dirent_set_file_type(de, ftype);
			memcpy(de->name, name, strlen(name));
			return 1;
		}
		off += rec;
	}
	return 0;
}

/* Append to the last block of a big linear directory; grow it by a block
 * when that one is full.  EAGAIN: not possible here, use ext2fs_link. */
static errcode_t ext_append(struct ext_priv *p, ext2_ino_t dir,
			    const char *name, ext2_ino_t ino, int ftype)
{
	ext2_filsys fs = p->fs;
	struct ext2_inode_large in;
	blk64_t pblk;
	char *buf = NULL;
	errcode_t e;
	int r = 0;

	if ((e = ext2fs_get_mem(fs->blocksize, &buf)))
		return e;
	for (int pass = 0; pass < 2 && r == 0; pass++) {
		if (pass && (e = ext2fs_expand_dir(fs, dir)))
			goto out;
		if ((e = fs_ext_iread(fs, dir, &in)))
			goto out;
		if ((in.i_flags & (EXT2_INDEX_FL | EXT4_INLINE_DATA_FL)) ||
		    EXT2_I_SIZE(&in) < fs->blocksize) {
			e = EAGAIN;
			goto out;
		}
		e = ext2fs_bmap2(fs, dir, (struct ext2_inode *)&in, NULL, 0,
				 EXT2_I_SIZE(&in) / fs->blocksize - 1, NULL, &pblk);
		if (!e && !pblk)
			e = EAGAIN;
		if (!e)
			e = ext2fs_read_dir_block4(fs, pblk, buf, 0, dir);
		if (e)
			goto out;
		r = ext_blk_insert(fs, buf, name, ino, ftype);
	}
	if (r < 0)
		e = EAGAIN;
	else if (r == 0)
		e = EXT2_ET_DIR_NO_SPACE;
	else
		e = ext2fs_write_dir_block4(fs, pblk, buf, 0, dir);
out:
	ext2fs_free_mem(&buf);
	return e;
}

/* Add a directory entry; the link counts are the caller's business. */
errcode_t fs_ext_dlink(struct ext_priv *p, ext2_ino_t dir, const char *name,
			   ext2_ino_t ino, int ftype)
{
	errcode_t e = EAGAIN;
	bool cached = dc_loaded(&p->dc, dir);

	if (cached)
		e = ext_append(p, dir, name, ino, ftype);
	if (e == EAGAIN) {
		e = ext2fs_link(p->fs, dir, name, ino, ftype);
		if (e == EXT2_ET_DIR_NO_SPACE) {   /* 1.47.0: grow, then retry */
			e = ext2fs_expand_dir(p->fs, dir);
			if (!e)
				e = ext2fs_link(p->fs, dir, name, ino, ftype);
		}
	}
	if (!e && cached && dc_add(&p->dc, dir, name, strlen(name), ino))
		fs_ext_dc_clear(&p->dc);
	if (!e)
		e = fs_ext_touch_ino(p, dir, true, 0);
	return e;
}

errcode_t fs_ext_dunlink(struct ext_priv *p, ext2_ino_t dir,
			     const char *name)
{
	errcode_t e = ext2fs_unlink(p->fs, dir, name, 0, 0);

	dc_del(&p->dc, dir, name, strlen(name));
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
errcode_t fs_ext_dreplace(struct ext_priv *p, ext2_ino_t dir,
			      const char *name, ext2_ino_t ino, int ftype)
{
	struct ext_repl r = { name, ino, ftype, 0 };
	errcode_t e = ext2fs_dir_iterate(p->fs, dir, 0, NULL, ext_repl_cb, &r);

	if (!e && !r.done)
		e = EXT2_ET_FILE_NOT_FOUND;
	if (!e && dc_loaded(&p->dc, dir) &&
	    dc_add(&p->dc, dir, name, strlen(name), ino))
		fs_ext_dc_clear(&p->dc);
	if (!e)
		e = fs_ext_touch_ino(p, dir, true, 0);
	return e;
}
