/* fs_copy.c - copy a tree from one open volume to another through fs.h only.
 *
 * One fs_walk of the source (parents before children) creates each object
 * in dst as it is met.  A directory's owner, mode, xattrs and times are set
 * when the walk leaves it (a stack of open directories, one entry per level
 * of depth): its children would otherwise change its mtime, a read-only mode
 * could refuse them, and a default ACL would be inherited by children that
 * did not have it in the source.  Everything else is set right after the
 * object is made, times last.  Hard links are found by source inode number;
 * only inodes with more than one link are remembered, and each is forgotten
 * when its last name has been made, so memory stays bounded by what is still
 * to come, not by the size of the tree.  A regular file is made under a
 * temporary name and renamed into place when complete (see create_tmp), so
 * that a full volume or a kill never leaves half a file under a real name;
 * stop_requested() is polled between objects (SIGINT, SIGTERM).
 *
 * The order for NTFS -> NTFS follows what round-trips through libntfs-3g
 * (and wimlib's ntfs-3g_apply.c): create, short name, security descriptor /
 * attributes / reparse data / object id / EAs, data, named streams, times.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "fs_impl.h"
#include "progress.h"
#include "stop.h"

#define CP_BUF (1u << 20)       /* data buffer: large sequential I/O */
#define CP_XATTR_MAX 65536      /* what an ext xattr (a Linux one) can hold */
#define CP_PATH_MAX 8192

/* What dst cannot hold, reported once per kind (the counts are in stats). */
enum cp_drop {
	DROP_OWNER = 1u << 0,
	DROP_ACL = 1u << 1,
	DROP_XATTR = 1u << 2,
	DROP_NTFS = 1u << 3,
	DROP_STREAM = 1u << 4,
	DROP_LINK = 1u << 5,
};

/* A source inode with names still to be made: where its first copy is. */
struct cp_link {
	struct cp_link *next;
	uint64_t ino;
	uint32_t left;          /* names still to come */
	char path[];            /* in dst */
};

/* A directory the walk is inside of. */
struct cp_dir {
	char *spath, *dpath;
	size_t slen;
	struct fs_stat st;
};

struct cp {
	struct fs *src, *dst;
	const struct fs_copy_opts *o;
	struct fs_copy_stats *st;
	unsigned scaps, dcaps;
	bool both_ntfs;
	size_t sroot_len;       /* of the source root prefix ("" for "/") */
	char droot[CP_PATH_MAX];
	size_t droot_len;
	char *buf;
	unsigned char *xbuf;
	size_t xcap;
	struct cp_link **links;
	size_t nbuckets, nlinks;
	struct cp_dir *dirs;
	size_t ndirs, capdirs;
	char *failed;           /* a source dir that failed: skip its subtree */
	size_t failed_len;
	unsigned reported;      /* cp_drop kinds already reported */
	char msg[600];          /* why the current item failed */
	bool canceled;
	bool stopped;           /* SIGINT/SIGTERM: stopped before `next` */
	char *next;             /* the first source object not copied */
	unsigned tmpseq;        /* temporary names: a number in tmpdir */
	char tmpdir[CP_PATH_MAX];  /* in dst, "" until made */
};

/* A file is written under a temporary name and renamed into place only when
 * its data and metadata are complete.  The temporary names live in one
 * directory of their own, made in dst_path for the copy and removed at its
 * end: a rename out of a directory that holds one entry costs nothing,
 * while removing a name from a big directory means scanning it (ext). */
#define CP_TMP ".sysrecover-tmp"

/* ---- errors ---------------------------------------------------------------- */

/* Keep the first message of an item: from the volume that failed.  A
 * failure found here (a short read) has none: cp_fail names the path. */
static int cp_err(struct cp *c, struct fs *fs, int rc)
{
	if (rc < 0 && !c->msg[0])
		snprintf(c->msg, sizeof(c->msg), "%s", fs_errmsg(fs));
	return rc;
}

static int cp_report(struct cp *c, const char *path, int err, const char *why)
{
	if (c->o && c->o->report && c->o->report(c->o->arg, path, err, why)) {
		c->canceled = true;
		return -ECANCELED;
	}
	return 0;
}

/* Something dst cannot hold: count it, report the first of its kind. */
static int cp_drop(struct cp *c, unsigned kind, const char *path, const char *what)
{
	char why[300];

	if (kind == DROP_OWNER)
		c->st->no_owner++;
	else
		c->st->no_meta++;
	if (c->reported & kind)
		return 0;
	c->reported |= kind;
	snprintf(why, sizeof(why), "%s not kept: %s volumes cannot hold it%s", what,
		 fs_kind_name(fs_kind(c->dst)),
		 kind == DROP_OWNER ? " (reported once; see the count)" : "");
	return cp_report(c, path, 0, why);
}

/* Every failure names the source object: "... (copying '/src/dir/f')". */
static void cp_name_source(struct cp *c, const char *spath)
{
	size_t n = strlen(c->msg);
	bool dir = fs_kind(c->src) == FS_KIND_DIR;
	const char *root = fs_name(c->src);

	if (dir && !strcmp(spath, "/"))
		spath = "";
	else if (dir && !strcmp(root, "/"))
		root = "";
	if (dir)
		snprintf(c->msg + n, sizeof(c->msg) - n, " (copying '%s%s')", root, spath);
	else
		snprintf(c->msg + n, sizeof(c->msg) - n, " (copying '%s' of %s)", spath,
			 root);
}

/* An item failed: stop, or report it and go on (a directory takes its
 * subtree with it). */
static int cp_fail(struct cp *c, const char *spath, bool is_dir, int rc)
{
	int r;

	c->st->failed++;
	if (!c->msg[0])
		snprintf(c->msg, sizeof(c->msg), "%s: %s", spath, strerror(-rc));
	cp_name_source(c, spath);
	if (!c->o || !c->o->keep_going) {
		err_set(&c->dst->err, rc, "%s", c->msg);
		return rc;
	}
	r = cp_report(c, spath, rc, c->msg);
	c->msg[0] = 0;
	if (r)
		return r;
	if (is_dir) {
		free(c->failed);
		c->failed = strdup(spath);
		c->failed_len = c->failed ? strlen(spath) : 0;
	}
	return 0;
}

static bool under(const char *path, const char *dir, size_t dlen)
{
	return !strncmp(path, dir, dlen) && (path[dlen] == '/' || dlen == 0 ||
					     (dlen == 1 && dir[0] == '/'));
}

/* ---- hard links ------------------------------------------------------------ */

static size_t link_hash(const struct cp *c, uint64_t ino)
{
	return (size_t)((ino * 0x9E3779B97F4A7C15ull) >> 20) & (c->nbuckets - 1);
}

static int link_grow(struct cp *c)
{
	size_t nb = c->nbuckets ? c->nbuckets * 2 : 1024;
	struct cp_link **t = calloc(nb, sizeof(*t));
	size_t ob = c->nbuckets;
	struct cp_link **old = c->links;

	if (!t)
		return -ENOMEM;
	c->links = t;
	c->nbuckets = nb;
	for (size_t i = 0; i < ob; i++)
		for (struct cp_link *l = old[i], *n; l; l = n) {
			size_t h = link_hash(c, l->ino);

			n = l->next;
			l->next = t[h];
			t[h] = l;
		}
	free(old);
	return 0;
}

static struct cp_link **link_find(struct cp *c, uint64_t ino)
{
	struct cp_link **pp;

	if (!c->nbuckets)
		return NULL;
	for (pp = &c->links[link_hash(c, ino)]; *pp; pp = &(*pp)->next)
		if ((*pp)->ino == ino)
			return pp;
	return NULL;
}

static int link_add(struct cp *c, uint64_t ino, uint32_t left, const char *dpath)
{
	size_t len = strlen(dpath) + 1;
	struct cp_link *l;
	size_t h;

	if (c->nlinks >= c->nbuckets * 2 && link_grow(c) < 0)
		return -ENOMEM;
	l = malloc(sizeof(*l) + len);
	if (!l)
		return -ENOMEM;
	l->ino = ino;
	l->left = left;
	memcpy(l->path, dpath, len);
	h = link_hash(c, ino);
	l->next = c->links[h];
	c->links[h] = l;
	c->nlinks++;
	return 0;
}

static void link_free(struct cp *c)
{
	for (size_t i = 0; i < c->nbuckets; i++)
		for (struct cp_link *l = c->links[i], *n; l; l = n) {
			n = l->next;
			free(l);
		}
	free(c->links);
}

/* A further name of an inode already copied: 1 = linked, 0 = not one. */
static int try_link(struct cp *c, const char *dpath, const struct fs_stat *st)
{
	struct cp_link **pp, *l;
	int rc;

	if (S_ISDIR(st->mode) || st->nlink < 2 || !(pp = link_find(c, st->ino)))
		return 0;
	l = *pp;
	rc = cp_err(c, c->dst, fs_link(c->dst, l->path, dpath));
	if (rc < 0)
		return rc;
	c->st->links++;
	if (--l->left == 0) {
		*pp = l->next;
		free(l);
		c->nlinks--;
	}
	return 1;
}

/* ---- data ---------------------------------------------------------------- */

/* Copy one data stream (NULL = the unnamed one), holes kept as holes. */
/* A short write (the volume filled up part-way) is followed by one for
 * the rest, which says why: ENOSPC, not a made-up EIO. */
static int put_all(struct cp *c, struct fs_file *out, size_t n, uint64_t off)
{
	for (size_t done = 0; done < n;) {
		ssize_t w = fs_file_pwrite(out, c->buf + done, n - done, off + done);

		if (w <= 0)
			return cp_err(c, c->dst, w < 0 ? (int)w : -EIO);
		done += (size_t)w;
	}
	return 0;
}

static int copy_data(struct cp *c, const char *spath, const char *dpath,
		     const char *stream, uint64_t size)
{
	struct fs_file *in = NULL, *out = NULL;
	uint64_t off = 0, doff, dlen;
	int rc = cp_err(c, c->src, fs_file_open(c->src, spath, stream, 0, &in));

	if (rc == 0)
		rc = cp_err(c, c->dst, fs_file_open(c->dst, dpath, stream, FS_F_WRITE |
						    (stream ? FS_F_CREATE : 0), &out));
	while (rc == 0 && off < size) {
		rc = fs_file_next_data(in, off, &doff, &dlen);
		if (rc == -ENXIO) {
			rc = 0;
			break;
		}
		if (rc == -EOPNOTSUPP)  /* no sparse map: it is all data */
			rc = 0, doff = off, dlen = size - off;
		if (cp_err(c, c->src, rc) < 0 || dlen == 0)
			break;
		if (doff >= size)
			break;
		if (dlen > size - doff)
			dlen = size - doff;
		for (uint64_t end = doff + dlen; rc == 0 && doff < end;) {
			size_t want = end - doff < CP_BUF ? (size_t)(end - doff) : CP_BUF;
			ssize_t n = fs_file_pread(in, c->buf, want, doff);

			if (n <= 0) {
				rc = cp_err(c, c->src, n < 0 ? (int)n : -EIO);
				break;
			}
			rc = put_all(c, out, (size_t)n, doff);
			if (rc < 0)
				break;
			doff += (uint64_t)n;
			c->st->bytes += (uint64_t)n;
			if (c->o && c->o->progress)
				progress_add(c->o->progress, (uint64_t)n, 0);
		}
		off = doff;
	}
	if (rc == 0 && off < size)  /* a hole at the end */
		rc = cp_err(c, c->dst, fs_file_truncate(out, size));
	fs_file_close(in);
	if (out) {
		int crc = fs_file_close(out);

		if (rc == 0)
			rc = cp_err(c, c->dst, crc);
	}
	return rc;
}

/* ---- xattrs and streams ------------------------------------------------------- */

struct cp_names {
	char **v;
	size_t n;
	uint64_t *size;   /* streams only */
};

static void names_free(struct cp_names *nl)
{
	for (size_t i = 0; i < nl->n; i++)
		free(nl->v[i]);
	free(nl->v);
	free(nl->size);
}

static int names_add(struct cp_names *nl, const char *name, uint64_t size)
{
	char **nv = realloc(nl->v, (nl->n + 1) * sizeof(*nv));
	uint64_t *ns;

	if (!nv)
		return -ENOMEM;
	nl->v = nv;
	ns = realloc(nl->size, (nl->n + 1) * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	nl->size = ns;
	if (!(nl->v[nl->n] = strdup(name)))
		return -ENOMEM;
	nl->size[nl->n++] = size;
	return 0;
}

static int xattr_name_cb(void *arg, const char *name)
{
	return names_add(arg, name, 0);
}

static int stream_name_cb(void *arg, const char *name, uint64_t size)
{
	return names_add(arg, name, size);
}

/* Read a source xattr into c->xbuf, growing it when needed. */
static ssize_t get_xattr(struct cp *c, const char *spath, const char *name)
{
	ssize_t n = fs_xattr_get(c->src, spath, name, c->xbuf, c->xcap);

	if (n == -ERANGE) {
		n = fs_xattr_get(c->src, spath, name, NULL, 0);
		if (n > 0) {
			unsigned char *nb = realloc(c->xbuf, (size_t)n);

			if (!nb)
				return -ENOMEM;
			c->xbuf = nb;
			c->xcap = (size_t)n;
			n = fs_xattr_get(c->src, spath, name, c->xbuf, c->xcap);
		}
	}
	if (n < 0 && n != -ENODATA)
		cp_err(c, c->src, (int)n);
	return n;
}

/* What to do with one source xattr name: 1 copy, 0 leave (handled
 * elsewhere or internal), or a cp_drop kind (negated) when dst cannot hold it. */
static int xattr_policy(const struct cp *c, const char *name)
{
	if (!strcmp(name, "system.ntfs_times") || !strcmp(name, "system.data"))
		return 0;  /* times are set by fs_set_times; inline data is data */
	if (!strcmp(name, "system.ntfs_dos_name"))
		return c->both_ntfs ? 0 : -DROP_NTFS;  /* set right after create */
	if (!strncmp(name, "system.ntfs_", 12) || !strcmp(name, "user.ntfs.efsinfo"))
		return (c->dcaps & FS_CAP_NTFS) ? 1 : -DROP_NTFS;
	if (!strncmp(name, "system.posix_acl_", 17))
		return (c->dcaps & FS_CAP_POSIX_ACL) ? 1 : -DROP_ACL;
	/* NTFS keeps the other names as named streams, as an ntfs-3g mount does */
	return (c->dcaps & (FS_CAP_XATTR | FS_CAP_NTFS)) ? 1 : -DROP_XATTR;
}

static int copy_xattrs(struct cp *c, const char *spath, const char *dpath)
{
	struct cp_names nl = { 0 };
	int rc;

	if (!(c->scaps & (FS_CAP_XATTR | FS_CAP_NTFS | FS_CAP_POSIX_ACL)))
		return 0;
	rc = cp_err(c, c->src, fs_xattr_list(c->src, spath, xattr_name_cb, &nl));
	for (size_t i = 0; rc == 0 && i < nl.n; i++) {
		int pol = xattr_policy(c, nl.v[i]);
		ssize_t n;

		if (pol < 0)
			rc = cp_drop(c, (unsigned)-pol, spath, nl.v[i]);
		if (pol <= 0)
			continue;
		n = get_xattr(c, spath, nl.v[i]);
		if (n == -ENODATA)  /* listed but gone (NTFS object id, ...) */
			continue;
		rc = n < 0 ? (int)n : cp_err(c, c->dst, fs_xattr_set(c->dst, dpath,
					     nl.v[i], c->xbuf, (size_t)n));
	}
	names_free(&nl);
	return rc;
}

/* An NTFS stream onto a volume without streams: the xattr an ntfs-3g mount
 * shows for it ("ntfs-3g.X" is X, anything else user.NAME). */
static int stream_to_xattr(struct cp *c, const char *spath, const char *dpath,
			   const char *name, uint64_t size)
{
	char xn[300];
	struct fs_file *in = NULL;
	ssize_t n = 0;
	int rc;

	if (!strncmp(name, "ntfs-3g.", 8))
		snprintf(xn, sizeof(xn), "%s", name + 8);
	else
		snprintf(xn, sizeof(xn), "user.%s", name);
	if (xattr_policy(c, xn) <= 0 || size > CP_XATTR_MAX || !(c->dcaps & FS_CAP_XATTR))
		return cp_drop(c, DROP_STREAM, spath, "named data stream");
	rc = cp_err(c, c->src, fs_file_open(c->src, spath, name, 0, &in));
	if (rc == 0 && size)
		n = fs_file_pread(in, c->buf, (size_t)size, 0);
	fs_file_close(in);
	if (rc == 0 && n != (ssize_t)size)
		rc = cp_err(c, c->src, n < 0 ? (int)n : -EIO);
	if (rc == 0)
		rc = cp_err(c, c->dst, fs_xattr_set(c->dst, dpath, xn, c->buf, (size_t)size));
	return rc;
}

static int copy_streams(struct cp *c, const char *spath, const char *dpath)
{
	struct cp_names nl = { 0 };
	int rc;

	if (!(c->scaps & FS_CAP_NTFS))
		return 0;
	rc = cp_err(c, c->src, fs_stream_list(c->src, spath, stream_name_cb, &nl));
	for (size_t i = 0; rc == 0 && i < nl.n; i++) {
		if (!(c->dcaps & FS_CAP_NTFS)) {
			rc = stream_to_xattr(c, spath, dpath, nl.v[i], nl.size[i]);
			continue;
		}
		rc = copy_data(c, spath, dpath, nl.v[i], nl.size[i]);
		c->st->streams += rc == 0;
	}
	names_free(&nl);
	return rc;
}

/* ---- metadata ------------------------------------------------------------------- */

static int copy_owner(struct cp *c, const char *spath, const char *dpath,
		      const struct fs_stat *st)
{
	int rc;

	if (!(c->scaps & FS_CAP_OWNER))
		return 0;
	if (!(c->dcaps & FS_CAP_OWNER))
		return cp_drop(c, DROP_OWNER, spath, "owner, group and mode");
	/* owner first: a chown clears set-id bits the mode then restores */
	rc = cp_err(c, c->dst, fs_set_owner(c->dst, dpath, st->uid, st->gid));
	if (rc == 0 && !S_ISLNK(st->mode))
		rc = cp_err(c, c->dst, fs_set_mode(c->dst, dpath, st->mode & 07777));
	return rc;
}

static int copy_times(struct cp *c, const char *dpath, const struct fs_stat *st)
{
	struct fs_times t = { .mask = FS_T_ATIME | FS_T_MTIME, .atime = st->atime,
			      .mtime = st->mtime };

	if ((c->scaps & c->dcaps & FS_CAP_BTIME) && (st->btime.tv_sec || st->btime.tv_nsec)) {
		t.mask |= FS_T_BTIME;
		t.btime = st->btime;
	}
	if (c->both_ntfs) {  /* the MFT change time is part of the object */
		t.mask |= FS_T_CTIME;
		t.ctime = st->ctime;
	}
	return cp_err(c, c->dst, fs_set_times(c->dst, dpath, &t));
}

/* Everything after the object exists and before its times. */
static int copy_meta(struct cp *c, const char *spath, const char *dpath,
		     const struct fs_stat *st)
{
	int rc = 0;

	if (!c->both_ntfs) {
		rc = copy_owner(c, spath, dpath, st);
		if (rc == 0 && !S_ISLNK(st->mode))
			rc = copy_streams(c, spath, dpath);
	}
	if (rc == 0)
		rc = copy_xattrs(c, spath, dpath);
	return rc;
}

static int copy_shortname(struct cp *c, const char *spath, const char *dpath)
{
	char sn[64];
	ssize_t n;

	if (!c->both_ntfs)
		return 0;
	n = fs_shortname_get(c->src, spath, sn, sizeof(sn));
	if (n < 0)
		return cp_err(c, c->src, (int)n);
	return n ? cp_err(c, c->dst, fs_shortname_set(c->dst, dpath, sn)) : 0;
}

/* ---- objects -------------------------------------------------------------------- */

/* The directory of temporary names, made on first use (a name left by a
 * killed run is not reused). */
static int make_tmpdir(struct cp *c)
{
	int rc = -EEXIST;

	for (int i = 0; rc == -EEXIST && i < 100; i++) {
		if ((size_t)snprintf(c->tmpdir, sizeof(c->tmpdir), "%s/" CP_TMP "%.0d",
				     c->droot, i) >= sizeof(c->tmpdir))
			rc = err_set(&c->dst->err, -ENAMETOOLONG, "path '%s' is too long",
				     c->droot);
		else
			rc = fs_mkdir(c->dst, c->tmpdir, 0700);
	}
	if (rc < 0)
		c->tmpdir[0] = 0;
	return cp_err(c, c->dst, rc);
}

/* Keeps dst's message: the failure that ended the copy is what to say. */
static void drop_tmpdir(struct cp *c)
{
	struct err keep = c->dst->err;

	if (c->tmpdir[0] && fs_rmdir(c->dst, c->tmpdir) == 0)
		c->tmpdir[0] = 0;
	c->dst->err = keep;
}

/* Create a new empty file under a temporary name (into tmp). */
static int create_tmp(struct cp *c, uint32_t mode, char *tmp)
{
	int rc = c->tmpdir[0] ? 0 : make_tmpdir(c);

	if (rc == 0 && (size_t)snprintf(tmp, CP_PATH_MAX, "%s/%u", c->tmpdir,
					c->tmpseq++) >= CP_PATH_MAX)
		rc = -ENAMETOOLONG;
	if (rc == 0)
		rc = fs_create(c->dst, tmp, mode);
	return cp_err(c, c->dst, rc);
}

/* The complete file takes its real name; an existing one is kept. */
static int place_tmp(struct cp *c, const char *tmp, const char *dpath)
{
	int rc = fs_rename(c->dst, tmp, dpath, FS_RENAME_NOREPLACE);

	if (rc == -EEXIST)  /* say it of the real name, not of the temporary one */
		err_set(&c->dst->err, rc, "cannot create '%s' on %s: %s", dpath,
			fs_name(c->dst), strerror(EEXIST));
	return cp_err(c, c->dst, rc);
}

static int copy_file(struct cp *c, const char *spath, const char *dpath,
		     const struct fs_stat *st)
{
	char tmp[CP_PATH_MAX];
	int rc = try_link(c, dpath, st);

	if (rc != 0)
		return rc < 0 ? rc : 0;
	rc = create_tmp(c, st->mode & 07777, tmp);
	if (rc < 0)
		return rc;
	if (c->both_ntfs)  /* NTFS: attributes etc. before the data */
		rc = copy_meta(c, spath, tmp, st);
	if (rc == 0 && st->size)
		rc = copy_data(c, spath, tmp, NULL, st->size);
	if (rc == 0 && c->both_ntfs)
		rc = copy_streams(c, spath, tmp);
	if (rc == 0 && !c->both_ntfs)
		rc = copy_meta(c, spath, tmp, st);
	if (rc == 0)
		rc = place_tmp(c, tmp, dpath);
	if (rc < 0) {  /* no partial file is left, under any name */
		fs_unlink(c->dst, tmp);
		return rc;
	}
	/* after the rename, which would carry an 8.3 name along at a cost;
	 * times last, as the short name and the rename change them */
	rc = copy_shortname(c, spath, dpath);
	if (rc == 0)
		rc = copy_times(c, dpath, st);
	if (rc == 0) {
		c->st->files++;
		if (st->nlink > 1 && !(c->dcaps & FS_CAP_HARDLINK))
			rc = cp_drop(c, DROP_LINK, spath, "hard link");
		else if (st->nlink > 1)
			rc = link_add(c, st->ino, st->nlink - 1, dpath);
	}
	return rc;
}

static int copy_symlink(struct cp *c, const char *spath, const char *dpath,
			const struct fs_stat *st)
{
	char target[4096];
	ssize_t n = fs_readlink(c->src, spath, target, sizeof(target));
	int rc;

	if (n < 0)
		return cp_err(c, c->src, (int)n);
	if ((size_t)n >= sizeof(target))
		return cp_err(c, c->src, -ENAMETOOLONG);
	target[n] = 0;
	rc = cp_err(c, c->dst, fs_symlink(c->dst, dpath, target));
	if (rc == 0)
		rc = copy_meta(c, spath, dpath, st);
	if (rc == 0)
		rc = copy_times(c, dpath, st);
	c->st->symlinks += rc == 0;
	return rc;
}

static int copy_special(struct cp *c, const char *spath, const char *dpath,
			const struct fs_stat *st)
{
	char why[200];
	int rc = try_link(c, dpath, st);

	if (rc != 0)
		return rc < 0 ? rc : 0;
	if (!(c->dcaps & FS_CAP_DEVICES)) {
		c->st->skipped++;
		snprintf(why, sizeof(why), "skipped: %s volumes cannot hold a %s",
			 fs_kind_name(fs_kind(c->dst)), S_ISFIFO(st->mode) ? "fifo" :
			 S_ISSOCK(st->mode) ? "socket" : "device node");
		return cp_report(c, spath, 0, why);
	}
	rc = cp_err(c, c->dst, fs_mknod(c->dst, dpath, st->mode & (S_IFMT | 07777),
					st->rdev_major, st->rdev_minor));
	if (rc == 0)
		rc = copy_meta(c, spath, dpath, st);
	if (rc == 0)
		rc = copy_times(c, dpath, st);
	if (rc == 0) {
		c->st->specials++;
		if (st->nlink > 1 && (c->dcaps & FS_CAP_HARDLINK))
			rc = link_add(c, st->ino, st->nlink - 1, dpath);
	}
	return rc;
}

/* ---- directories ------------------------------------------------------------------ */

static int push_dir(struct cp *c, const char *spath, const char *dpath,
		    const struct fs_stat *st)
{
	struct cp_dir *d;

	if (buf_grow((void **)&c->dirs, &c->capdirs, c->ndirs + 1, sizeof(*c->dirs)))
		return -ENOMEM;
	d = &c->dirs[c->ndirs];
	d->spath = strdup(spath);
	d->dpath = strdup(dpath);
	if (!d->spath || !d->dpath) {
		free(d->spath);
		free(d->dpath);
		return -ENOMEM;
	}
	d->slen = strlen(spath);
	d->st = *st;
	c->ndirs++;
	return 0;
}

/* Leave the innermost directory: its metadata, times last. */
static int pop_dir(struct cp *c)
{
	struct cp_dir *d = &c->dirs[--c->ndirs];
	int rc;

	c->msg[0] = 0;
	rc = copy_meta(c, d->spath, d->dpath, &d->st);
	if (rc == 0 && c->both_ntfs)
		rc = copy_streams(c, d->spath, d->dpath);
	if (rc == 0)
		rc = copy_times(c, d->dpath, &d->st);
	if (rc < 0)
		rc = cp_fail(c, d->spath, false, rc);
	free(d->spath);
	free(d->dpath);
	return rc;
}

static int copy_dir(struct cp *c, const char *spath, const char *dpath,
		    const struct fs_stat *st)
{
	/* the real mode is set on the way out: 0700 lets us fill it */
	int rc = fs_mkdir(c->dst, dpath, 0700);

	if (rc == -EEXIST && fs_kind(c->dst) == FS_KIND_EXT && c->droot_len == 0 &&
	    !strcmp(dpath, "/lost+found")) {
		c->st->dirs--;  /* mke2fs made it; fill it */
		rc = 0;
	}
	rc = cp_err(c, c->dst, rc);
	if (rc == 0)
		rc = copy_shortname(c, spath, dpath);
	if (rc == 0)
		rc = push_dir(c, spath, dpath, st);
	c->st->dirs += rc == 0;
	return rc;
}

/* A name from a damaged or hostile source is one component: spath must be
 * a child of the directory the walk is in, and neither "." nor "..".  (A
 * name holding '/' shows up as a path two levels below that directory.) */
static bool plain_child(const struct cp *c, const char *spath)
{
	const struct cp_dir *top = &c->dirs[c->ndirs - 1];
	const char *leaf = strrchr(spath, '/');
	size_t plen = leaf ? (size_t)(leaf - spath) : 0;
	bool root = top->slen == 1 && top->spath[0] == '/';

	if (!leaf || !leaf[1] || !strcmp(leaf + 1, ".") || !strcmp(leaf + 1, ".."))
		return false;
	return root ? plen == 0 : plen == top->slen && !strncmp(spath, top->spath, plen);
}

/* ---- the walk ---------------------------------------------------------------------- */

static int copy_one(void *arg, const char *spath, const struct fs_stat *st)
{
	struct cp *c = arg;
	char dpath[CP_PATH_MAX];
	const char *rel;
	int rc = 0;

	if (c->ndirs == 0) {  /* the source root: its metadata when we leave it */
		c->sroot_len = strcmp(spath, "/") ? strlen(spath) : 0;
		return push_dir(c, spath, c->droot_len ? c->droot : "/", st);
	}
	if (stop_requested()) {  /* between two objects: a consistent point */
		c->stopped = true;
		c->next = strdup(spath);
		return -EINTR;
	}
	while (rc == 0 && c->ndirs > 1 && !under(spath, c->dirs[c->ndirs - 1].spath,
						  c->dirs[c->ndirs - 1].slen))
		rc = pop_dir(c);
	if (rc)
		return rc;
	if (c->failed) {
		if (under(spath, c->failed, c->failed_len)) {
			c->st->failed++;
			return 0;
		}
		free(c->failed);
		c->failed = NULL;
	}
	if (!plain_child(c, spath)) {
		const struct cp_dir *top = &c->dirs[c->ndirs - 1];
		size_t skip = top->slen == 1 ? 1 : top->slen + 1;

		err_set(&c->dst->err, -EINVAL, "refusing the name '%s' in '%s' read from"
			" %s: not a valid file name", strlen(spath) > skip ? spath + skip
			: spath, top->spath, fs_name(c->src));
		return cp_fail(c, spath, false, cp_err(c, c->dst, -EINVAL));
	}
	rel = spath + c->sroot_len;
	if (c->droot_len + strlen(rel) >= sizeof(dpath))
		return cp_fail(c, spath, S_ISDIR(st->mode), -ENAMETOOLONG);
	memcpy(dpath, c->droot, c->droot_len);
	strcpy(dpath + c->droot_len, rel);
	c->msg[0] = 0;
	if (S_ISDIR(st->mode))
		rc = copy_dir(c, spath, dpath, st);
	else if (S_ISREG(st->mode))
		rc = copy_file(c, spath, dpath, st);
	else if (S_ISLNK(st->mode))
		rc = copy_symlink(c, spath, dpath, st);
	else
		rc = copy_special(c, spath, dpath, st);
	if (rc < 0 && !c->canceled)
		rc = cp_fail(c, spath, S_ISDIR(st->mode), rc);
	if (rc == 0 && c->o && c->o->progress)
		progress_add(c->o->progress, 0, 1);
	return rc;
}

static int cp_setup(struct cp *c, const char *dst_path)
{
	struct fs_stat st;
	size_t n = strlen(dst_path);
	int rc = fs_lookup(c->dst, dst_path, &st);

	if (rc < 0)
		return rc;
	if (!S_ISDIR(st.mode))
		return err_set(&c->dst->err, -ENOTDIR, "cannot copy into '%s' on %s: not a"
			       " directory", dst_path, fs_name(c->dst));
	while (n > 0 && dst_path[n - 1] == '/')
		n--;  /* "/" becomes "": dst paths are then droot + "/name" */
	if (n >= sizeof(c->droot) - 1)
		return err_set(&c->dst->err, -ENAMETOOLONG, "path '%s' is too long", dst_path);
	memcpy(c->droot, dst_path, n);
	c->droot[n] = 0;
	c->droot_len = n;
	c->buf = malloc(CP_BUF);
	c->xcap = CP_XATTR_MAX;
	c->xbuf = malloc(c->xcap);
	if (!c->buf || !c->xbuf)
		return err_set(&c->dst->err, -ENOMEM, "out of memory");
	return 0;
}

static void cp_free(struct cp *c)
{
	while (c->ndirs) {
		c->ndirs--;
		free(c->dirs[c->ndirs].spath);
		free(c->dirs[c->ndirs].dpath);
	}
	free(c->dirs);
	free(c->failed);
	free(c->next);
	link_free(c);
	free(c->buf);
	free(c->xbuf);
}

/* Where a SIGINT/SIGTERM stopped the copy: everything before `next` is
 * complete (no temporary name is left), nothing from it on was copied. */
static int stopped(struct cp *c)
{
	const struct fs_copy_stats *s = c->st;
	uint64_t n = s->files + s->dirs + s->symlinks + s->specials + s->links;

	return err_setc(&c->dst->err, ERR_FATAL, ERR_SYSTEM, -EINTR, "interrupted by %s"
			" after %" PRIu64 " objects (%" PRIu64 " bytes), before '%s':"
			" what was copied is complete, the rest was not copied",
			stop_signame(), n, s->bytes, c->next ? c->next : "?");
}

int fs_copy_tree(struct fs *src, const char *src_path, struct fs *dst,
		 const char *dst_path, const struct fs_copy_opts *o,
		 struct fs_copy_stats *stats)
{
	struct cp c = { .src = src, .dst = dst, .o = o, .st = stats,
			.scaps = fs_caps(src), .dcaps = fs_caps(dst) };
	struct fs_stat st;
	int rc;

	memset(stats, 0, sizeof(*stats));
	c.both_ntfs = (c.scaps & c.dcaps & FS_CAP_NTFS) != 0;
	rc = fs_lookup(src, src_path, &st);
	if (rc == 0 && !S_ISDIR(st.mode))
		rc = err_set(&src->err, -ENOTDIR, "cannot copy '%s' from %s: not a directory",
			     src_path, fs_name(src));
	if (rc < 0) {
		err_copy(&dst->err, fs_error(src));
		return rc;
	}
	rc = cp_setup(&c, dst_path);
	if (rc == 0)
		rc = fs_walk(src, src_path, copy_one, &c);
	if (c.stopped)  /* the directories still open get their metadata */
		rc = 0;
	if (rc > 0 || c.canceled)
		rc = -ECANCELED;
	else if (rc < 0 && !*fs_errmsg(dst))   /* src's readdir failed */
		err_copy(&dst->err, fs_error(src));
	/* leave what is still open, innermost first: times after children */
	drop_tmpdir(&c);  /* before the times of dst_path are set */
	while (rc == 0 && c.ndirs)
		rc = pop_dir(&c);
	drop_tmpdir(&c);  /* when a failure stopped the walk */
	if (c.stopped && rc == 0)
		rc = stopped(&c);
	cp_free(&c);
	return rc;
}

int fs_copy_file(struct fs *src, const char *src_path, struct fs *dst,
		 const char *dst_path, const struct fs_copy_opts *o,
		 struct fs_copy_stats *stats)
{
	struct cp c = { .src = src, .dst = dst, .o = o, .st = stats,
			.scaps = fs_caps(src), .dcaps = fs_caps(dst) };
	char dir[CP_PATH_MAX];
	const char *slash = strrchr(dst_path, '/');
	struct fs_stat st, dst_st;
	int rc;

	memset(stats, 0, sizeof(*stats));
	c.both_ntfs = (c.scaps & c.dcaps & FS_CAP_NTFS) != 0;
	rc = fs_lookup(src, src_path, &st);
	if (rc == 0 && !S_ISREG(st.mode))
		rc = err_set(&src->err, -EINVAL, "cannot copy '%s' from %s: not a "
			     "regular file", src_path, fs_name(src));
	if (rc < 0) {
		err_copy(&dst->err, fs_error(src));
		return rc;
	}
	if (!slash || (size_t)(slash - dst_path) >= sizeof(dir))
		return err_set(&dst->err, -EINVAL, "cannot copy to '%s' on %s: not an "
			       "absolute path", dst_path, fs_name(dst));
	snprintf(dir, sizeof(dir), "%.*s", slash == dst_path ? 1 : (int)(slash - dst_path),
		 dst_path);
	/* volume paths never go through a symlink (as O_NOFOLLOW on each part) */
	if (fs_lookup(dst, dir, &dst_st) == 0 && S_ISLNK(dst_st.mode))
		return err_set(&dst->err, -ELOOP, "cannot create '%s' on %s: %s", dst_path,
			       fs_name(dst), strerror(ELOOP));
	rc = cp_setup(&c, dir);
	if (rc == 0 && (rc = copy_file(&c, src_path, dst_path, &st)) < 0)
		rc = cp_fail(&c, src_path, false, rc);
	drop_tmpdir(&c);
	cp_free(&c);
	return rc;
}
