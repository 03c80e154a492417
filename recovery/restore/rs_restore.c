/* rs_restore.c - a set's data, through libarchive, onto unmounted volumes
 * or directories through fs.h.
 *
 * Everything is checked before the first write: the catalog is read to the
 * end (its trailer proves it whole), it says which volumes are needed and
 * where the first wanted member starts, and every target is opened
 * read-write, which refuses a mounted, dirty or hibernated volume.  Then
 * the data is read from that member on: a selective restore spaces over the
 * records before it instead of reading them.
 *
 * Names are checked before they are used: a member must be vN/PATH with a
 * known N, PATH made of plain components (no "..", ".", empty or over-long
 * ones), and a hard link must point into the same volume.  fs.h never
 * follows a symlink inside a path, so a symlink restored earlier cannot
 * lead a later member outside the target.
 *
 * Each file goes to a temporary name in a directory of its own at the
 * target's root and is renamed over the real name when its data and
 * metadata are complete; directories get their times when the walk leaves
 * them (their children would change them), from a stack as deep as the
 * tree.
 *
 * A copy (single instance: a hard-link member marked sysrecover.copy) gets
 * its content from the member that holds it, as this run restored it,
 * checked against the copy's SHA-256 while it is copied.  When a selective
 * restore does not want that member, the plan adds it as a "stash": its
 * data goes to a temporary file that the copies are made from and that is
 * removed at the end.  The data is still read once, in order.  A hard
 * link whose first name is not wanted is planned the same way: that
 * member's data and metadata go to the temporary file, the wanted names
 * are linked to it, and removing the temporary name leaves them the inode.
 */
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <archive.h>
#include <archive_entry.h>

#include "fs.h"
#include "hash.h"
#include "progress.h"
#include "rs_impl.h"
#include "stop.h"


#define RS_TMP "/.sysrecover-tmp"
#define RS_AHEAD_MAX (4u << 20)   /* records read ahead: 8 of at most this */
#define RS_DROPS_MAX 32

/* A directory the data is inside of: its metadata waits for its end. */
struct rs_dir {
	char *path;
	uint32_t vol;
	uint64_t ents;            /* bytes its entries take, about */
	struct fs_times t;
	unsigned char ntimes[32];  /* system.ntfs_times, set last */
	size_t nlen;
};

/* A member whose content copies or hard links need but that is not wanted
 * itself: its data goes to a temporary file on the volume of the first of
 * them (with its metadata too when links share its inode). */
struct rs_stash {
	char *name;               /* "vN/path" */
	uint32_t vol;             /* where its temporary file goes */
	bool link;                /* hard links are made to it */
	char tmp[128];            /* "" until written */
};

struct target {
	struct fs *fs;
	char *name;               /* what it was opened as (index_dirs, closed) */
	char tmpdir[64];          /* "" until made */
	unsigned tmpseq;
};

struct restore {
	struct rs *r;
	const struct rs_set *s;
	const struct rs_restore_opts *o;
	struct rs_restore_result *res;
	struct target tg[ARC_VOL_MAX];
	bool want[ARC_VOL_MAX];   /* volumes with wanted members */
	uint64_t need[ARC_VOL_MAX]; /* bytes of data each volume will get */
	uint64_t objs[ARC_VOL_MAX]; /* new inodes it may take */
	bool index[ARC_VOL_MAX];  /* a directory past one block was written */
	uint64_t credit[ARC_VOL_MAX]; /* bytes of files the restore replaces */
	bool any;
	struct arc_pos first;     /* of the first wanted member */
	uint64_t wanted, total_bytes;
	struct archive *a;
	struct rs_dir *dirs;
	size_t ndirs, capdirs;
	uint32_t cur_vol;         /* of the member being applied */
	uint64_t left;            /* wanted members not yet met */
	struct arc_pos seg;       /* where the current reader started */
	uint64_t done;            /* stream offset of the last member completed */
	bool any_done;
	char parent[RS_PATH_MAX]; /* the last parent directory known to exist */
	uint32_t parent_vol;
	uint32_t data_file;       /* tape file of the data */
	bool foreign;             /* another tool's tar: names made v0/... */
	struct rs_set fset;       /* the one-volume "set" of a foreign file */
	char drops[RS_DROPS_MAX][300];  /* kinds of metadata dropped, reported */
	size_t ndrops;
	struct rs_stash *stash;   /* members wanted only for copies' content */
	size_t nstash, capstash;
	uint64_t stashed;         /* of them, met in the data */
	unsigned char *cbuf;      /* for copies, RS_BUF bytes */
	struct rs_sis *sis;       /* SIS links and store files (rs_sis.c) */
	bool efs;                 /* raw encrypted files may come (rs_efs.c) */
	const char *cur_name;     /* "vN/path" of the member being applied */
	struct err item;          /* why it failed, when the target does not say */
};

/* ---- reports ---------------------------------------------------------------- */

static void report(struct restore *x, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct restore *x, const char *name, const char *fmt, ...)
{
	char why[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (x->o->report)
		x->o->report(x->o->arg, name, why);
}

/* ---- which members ------------------------------------------------------------ */

static bool wanted(const struct restore *x, const char *name, const char *path)
{
	if (x->o->skip && name && x->o->skip(x->o->skip_arg, name))
		return false;
	for (size_t i = 0; i < x->o->npat; i++)
		if (!fnmatch(x->o->patterns[i], name, 0) ||
		    !fnmatch(x->o->patterns[i], path, 0))
			return true;
	return x->o->npat == 0 || rs_sis_pulled(x->sis, name);
}

static int stash_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rs_stash *)a)->name, ((const struct rs_stash *)b)->name);
}

static struct rs_stash *stash_find(const struct restore *x, const char *name)
{
	struct rs_stash key = { .name = (char *)name };

	if (!x->nstash || !name)
		return NULL;
	return bsearch(&key, x->stash, x->nstash, sizeof(key), stash_cmp);
}

/* A wanted copy or hard link whose holder (the first name of the link
 * group) is not wanted: the holder goes on the stash list (sorted and made
 * unique when the catalog has been read). */
static int plan_holder(struct restore *x, const struct arc_entry *e)
{
	uint32_t hv;
	const char *why, *hp = rs_member_path(x->s, e->target, &hv, &why);

	if (!hp || wanted(x, e->target, hp))
		return 0;   /* restored anyway, or refused (the copy then fails) */
	if (x->nstash == x->capstash) {
		size_t nc = x->capstash ? x->capstash * 2 : 16;
		struct rs_stash *ns = realloc(x->stash, nc * sizeof(*ns));

		if (!ns)
			return err_set(&x->r->err, -ENOMEM, "out of memory");
		x->stash = ns;
		x->capstash = nc;
	}
	x->stash[x->nstash] = (struct rs_stash){ .name = strdup(e->target), .vol = e->vol,
						 .link = e->type == ARC_T_HARDLINK };
	if (!x->stash[x->nstash].name)
		return err_set(&x->r->err, -ENOMEM, "out of memory");
	x->nstash++;
	return 0;
}

static bool pos_before(const struct arc_pos *a, const struct arc_pos *b)
{
	return a->block < b->block || (a->block == b->block && a->offset < b->offset);
}

/* Second catalog pass, only when copies need stashed holders: where each
 * one is, so that the data is read from the first of them on. */
static int plan_stash_entry(void *arg, const struct arc_entry *e)
{
	struct restore *x = arg;
	char name[RS_PATH_MAX + 32];
	struct rs_stash *st;

	if (e->type != ARC_T_FILE || (e->flags & (ARC_M_LOST | ARC_M_COPY)))
		return 0;
	rs_member_name(x->s, e, name, sizeof(name));
	if (!(st = stash_find(x, name)))
		return 0;
	if (pos_before(&e->pos, &x->first))
		x->first = e->pos;
	x->wanted++;
	x->total_bytes += e->size;
	x->need[st->vol] += (e->size + 4095) / 4096 * 4096;
	return 0;
}

static int plan_stash(struct restore *x, size_t i)
{
	size_t k = 0;

	if (!x->nstash)
		return 0;
	qsort(x->stash, x->nstash, sizeof(*x->stash), stash_cmp);
	for (size_t j = 0; j < x->nstash; j++) {
		if (k && !strcmp(x->stash[k - 1].name, x->stash[j].name)) {
			x->stash[k - 1].link |= x->stash[j].link;
			free(x->stash[j].name);
		} else
			x->stash[k++] = x->stash[j];
	}
	x->nstash = k;
	return rs_catalog(x->r, i, plan_stash_entry, x);
}

static int plan_entry(void *arg, const struct arc_entry *e)
{
	struct restore *x = arg;
	char name[RS_PATH_MAX + 32];
	bool w;

	if (e->vol >= x->s->label.nvol)
		return err_setc(&x->r->err, ERR_FATAL, ERR_CORRUPT, -EINVAL, "the catalog "
				"names volume %" PRIu32 ", the label has %zu", e->vol,
				x->s->label.nvol);
	rs_member_name(x->s, e, name, sizeof(name));
	w = wanted(x, name, e->path);
	if (rs_sis_note(&x->sis, name, e, w) < 0)
		return err_set(&x->r->err, -ENOMEM, "out of memory");
	if (!w)
		return 0;
	if (e->flags & ARC_M_LOST) {
		x->res->lost++;
		report(x, name, "%s was lost at backup: it is not restored", name);
		return 0;
	}
	if (!x->any) {
		x->first = e->pos;
		x->any = true;
	}
	x->want[e->vol] = true;
	x->wanted++;
	x->efs |= (e->flags & ARC_M_EFS_RAW) != 0;
	if (e->type != ARC_T_HARDLINK && e->type != ARC_T_STREAM)
		x->objs[e->vol]++;
	if (e->type == ARC_T_FILE || e->type == ARC_T_STREAM) {
		x->total_bytes += e->size;
		/* whole blocks; a sparse file's holes take none, and the catalog
		 * does not say how much of it is data: counted as none, so that
		 * the check never refuses what fits (ENOSPC still stops it) */
		if (!(e->flags & ARC_M_SPARSE))
			x->need[e->vol] += (e->size + 4095) / 4096 * 4096;
	}
	return (e->flags & ARC_M_COPY) || e->type == ARC_T_HARDLINK ? plan_holder(x, e) : 0;
}

/* ---- targets -------------------------------------------------------------------- */

const char *rs_target_of(const struct rs_set *s, uint32_t v, const struct rs_restore_opts *o,
			 char *buf, size_t cap)
{
	const struct arc_volume *av = &s->label.vol[v];

	for (size_t i = 0; i < o->nmaps; i++) {
		const char *src = o->maps[i].src;

		if (!strcmp(src, av->id) || !strcmp(src, av->source) ||
		    (av->uuid[0] && !strcasecmp(src, av->uuid)))
			return o->maps[i].target;
	}
	if (!av->uuid[0])
		return NULL;
	snprintf(buf, cap, "UUID=%s", av->uuid);
	return buf;
}

/* Temporary files a killed restore left: its own directories, holding
 * only its numbered partial files (one per run: it writes one file at a
 * time).  Removed before this run writes; a directory holding anything
 * else is left alone.  Names are gathered first: no removal while the
 * directory is being read. */
#define RS_STALE_MAX 16

struct stale {
	char names[RS_STALE_MAX][24];
	size_t n;
	bool foreign;
};

static int note_stale(void *arg, const char *name, const struct fs_stat *st)
{
	struct stale *s = arg;
	size_t len = strlen(name);

	if (!S_ISREG(st->mode) || len >= sizeof(s->names[0]) || s->n == RS_STALE_MAX ||
	    strspn(name, "0123456789") != len) {
		s->foreign = true;
		return 1;
	}
	memcpy(s->names[s->n++], name, len + 1);
	return 0;
}

static void drop_stale(struct fs *fs)
{
	for (int i = 0; i < 100; i++) {
		struct stale s = { .n = 0 };
		struct fs_stat st;
		char dir[64], p[96];
		bool ok = true;

		snprintf(dir, sizeof(dir), RS_TMP "%.0d", i);
		if (fs_lookup(fs, dir, &st) < 0 || !S_ISDIR(st.mode) ||
		    fs_readdir(fs, dir, note_stale, &s) != 0 || s.foreign)
			continue;
		for (size_t k = 0; k < s.n; k++) {
			snprintf(p, sizeof(p), "%s/%s", dir, s.names[k]);
			ok = fs_unlink(fs, p) == 0 && ok;
		}
		if (ok)
			fs_rmdir(fs, dir);
	}
}

static int open_targets(struct restore *x)
{
	for (uint32_t v = 0; v < x->s->label.nvol; v++) {
		char def[128];
		const char *t;
		int rc;

		if (!x->want[v])
			continue;
		t = rs_target_of(x->s, v, x->o, def, sizeof(def));
		if (!t)
			return err_setc(&x->r->err, ERR_FATAL, ERR_USAGE, -EINVAL, "where "
					"should %s (%s) go? It has no UUID: say --to %s=TARGET",
					x->s->label.vol[v].id, x->s->label.vol[v].source,
					x->s->label.vol[v].id);
		if (!(x->tg[v].name = strdup(t)))
			return err_set(&x->r->err, -ENOMEM, "out of memory");
		rc = fs_open(t, (x->o->dry_run ? 0 : FS_O_RDWR) | (x->efs ? FS_O_EFS_RAW : 0),
			     &x->tg[v].fs, &x->r->err);
		if (rc < 0)
			return err_context(&x->r->err, "the target of %s", x->s->label.vol[v].id);
		if (!x->o->dry_run)
			drop_stale(x->tg[v].fs);
	}
	return 0;
}

/* ---- free space ------------------------------------------------------------------ */

/* Files the restore will replace free their blocks: counted only when the
 * plain comparison fails (one lookup per member). */
static int credit_entry(void *arg, const struct arc_entry *e)
{
	struct restore *x = arg;
	char name[RS_PATH_MAX + 32];
	struct fs_stat st;

	if (e->type != ARC_T_FILE || (e->flags & ARC_M_LOST) || !x->tg[e->vol].fs)
		return 0;
	rs_member_name(x->s, e, name, sizeof(name));
	if (wanted(x, name, e->path) && fs_lookup(x->tg[e->vol].fs, e->path, &st) == 0 &&
	    S_ISREG(st.mode))
		x->credit[e->vol] += st.alloc;
	return 0;
}

/* Every target has room for what it will get, before anything is written. */
static int check_space(struct restore *x, size_t i)
{
	uint64_t fr[ARC_VOL_MAX], size, files;
	bool short_any = false;
	int rc;

	for (uint32_t v = 0; v < x->s->label.nvol; v++) {
		fr[v] = UINT64_MAX;
		if (!x->tg[v].fs || fs_space(x->tg[v].fs, &fr[v], &size, &files) < 0) {
			fr[v] = UINT64_MAX;
			continue;
		}
		/* an existing file keeps its inode: only a clearly short target */
		if (x->objs[v] > files && x->objs[v] - files > x->objs[v] / 2)
			return err_setc(&x->r->err, ERR_FATAL, ERR_REFUSED, -ENOSPC, "%s (%s) "
					"has %" PRIu64 " objects and its target %s room for %"
					PRIu64 " more: nothing was written", x->s->label.vol[v].id,
					x->s->label.vol[v].source, x->objs[v],
					fs_name(x->tg[v].fs), files);
		short_any |= x->need[v] > fr[v];
	}
	if (!short_any)
		return 0;
	if ((rc = rs_catalog(x->r, i, credit_entry, x)) < 0)
		return rc;
	for (uint32_t v = 0; v < x->s->label.nvol; v++)
		if (fr[v] != UINT64_MAX && x->need[v] > fr[v] + x->credit[v])
			return err_setc(&x->r->err, ERR_FATAL, ERR_REFUSED, -ENOSPC, "%s (%s) "
					"needs %" PRIu64 " bytes and its target %s has %" PRIu64
					" free (%" PRIu64 " more in files it replaces): nothing was "
					"written", x->s->label.vol[v].id, x->s->label.vol[v].source,
					x->need[v], fs_name(x->tg[v].fs), fr[v], x->credit[v]);
	return 0;
}

/* ---- names ---------------------------------------------------------------------- */

/* ---- directories' metadata at their end -------------------------------------------- */

/* The creation time our backup keeps in the xattr trusted.sysrecover.btime
 * ("SECONDS.NANOSECONDS"): libarchive has it only when it is before mtime. */
static void btime_xattr(struct archive_entry *ae, struct timespec *bt)
{
	const char *xn;
	const void *xv;
	size_t xl;

	archive_entry_xattr_reset(ae);
	while (archive_entry_xattr_next(ae, &xn, &xv, &xl) == ARCHIVE_OK) {
		char v[48], *end;
		long long sec;
		long ns;

		if (strcmp(xn, "trusted.sysrecover.btime") || xl >= sizeof(v))
			continue;
		memcpy(v, xv, xl);
		v[xl] = 0;
		sec = strtoll(v, &end, 10);
		if (*end != '.' || strlen(end + 1) != 9)
			continue;
		ns = strtol(end + 1, &end, 10);
		if (!*end && ns >= 0 && ns < 1000000000) {
			bt->tv_sec = (time_t)sec;
			bt->tv_nsec = ns;
		}
	}
}

static void times_of(struct archive_entry *ae, struct fs_times *t)
{
	t->mask = FS_T_ATIME | FS_T_MTIME;
	if (archive_entry_ctime_is_set(ae)) {
		t->mask |= FS_T_CTIME;
		t->ctime.tv_sec = archive_entry_ctime(ae);
		t->ctime.tv_nsec = archive_entry_ctime_nsec(ae);
	}
	t->atime.tv_sec = archive_entry_atime(ae);
	t->atime.tv_nsec = archive_entry_atime_nsec(ae);
	t->mtime.tv_sec = archive_entry_mtime(ae);
	t->mtime.tv_nsec = archive_entry_mtime_nsec(ae);
	/* libarchive writes a creation time only when it is before mtime; when
	 * there is none it was not before: the same as mtime is the closest */
	t->mask |= FS_T_BTIME;
	t->btime = t->mtime;
	if (archive_entry_birthtime_is_set(ae)) {
		t->btime.tv_sec = archive_entry_birthtime(ae);
		t->btime.tv_nsec = archive_entry_birthtime_nsec(ae);
	}
	btime_xattr(ae, &t->btime);
}

static bool inside(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return true;
	return !strncmp(path, dir, n) && path[n] == '/';
}

static void pop_dir(struct restore *x)
{
	struct rs_dir *d = &x->dirs[--x->ndirs];

	if (!x->o->dry_run) {
		fs_set_times(x->tg[d->vol].fs, d->path, &d->t);
		if (d->nlen)
			fs_xattr_set(x->tg[d->vol].fs, d->path, "system.ntfs_times", d->ntimes,
				     d->nlen);
	}
	free(d->path);
}

/* A name going into the directory on top of the stack (its parent: the
 * data has parents before children): past one 4 KiB block of entries, the
 * volume's directories get indexed at the end (fs_index_dirs). */
static void note_entry(struct restore *x, uint32_t vol, const char *path)
{
	struct rs_dir *d = x->ndirs ? &x->dirs[x->ndirs - 1] : NULL;
	const char *leaf = strrchr(path, '/');

	if (!d || d->vol != vol || !leaf)
		return;
	d->ents += (8 + strlen(leaf + 1) + 3) & ~3u;   /* an ext directory entry */
	if (d->ents > 4096)
		x->index[vol] = true;
}

/* Leave every directory that path is not inside of. */
static void leave_dirs(struct restore *x, uint32_t vol, const char *path)
{
	while (x->ndirs && (x->dirs[x->ndirs - 1].vol != vol ||
			    !inside(path, x->dirs[x->ndirs - 1].path)))
		pop_dir(x);
}

static int push_dir(struct restore *x, uint32_t vol, const char *path,
		    struct archive_entry *ae)
{
	struct rs_dir *d;
	const char *xn;
	const void *xv;
	size_t xl;

	if (x->ndirs == x->capdirs) {
		size_t nc = x->capdirs ? x->capdirs * 2 : 64;
		struct rs_dir *nd = realloc(x->dirs, nc * sizeof(*nd));

		if (!nd)
			return -ENOMEM;
		x->dirs = nd;
		x->capdirs = nc;
	}
	d = &x->dirs[x->ndirs];
	d->path = strdup(path);
	if (!d->path)
		return -ENOMEM;
	d->vol = vol;
	d->ents = 0;
	times_of(ae, &d->t);
	d->nlen = 0;
	archive_entry_xattr_reset(ae);
	while (archive_entry_xattr_next(ae, &xn, &xv, &xl) == ARCHIVE_OK)
		if (!strcmp(xn, "system.ntfs_times") && xl <= sizeof(d->ntimes)) {
			memcpy(d->ntimes, xv, xl);
			d->nlen = xl;
		}
	x->ndirs++;
	return 0;
}

/* ---- metadata ------------------------------------------------------------------------ */

/* Something the target cannot hold: counted per member, and the first
 * member of each kind is named (an owner, an xattr name), so that a cross
 * restore says what it dropped instead of dropping it silently. */
static void dropped(struct restore *x, const char *path, const char *what, int err)
{
	for (size_t i = 0; i < x->ndrops; i++)
		if (!strcmp(x->drops[i], what))
			return;
	if (x->ndrops < RS_DROPS_MAX)
		snprintf(x->drops[x->ndrops++], sizeof(x->drops[0]), "%s", what);
	report(x, path, "%s: %s not kept: %s (reported once; see the count)", path, what,
	       strerror(-err));
}

/* Owner, mode and xattrs.  On a volume without POSIX owners (NTFS) an
 * NTFS security descriptor (system.ntfs_acl) carries the owner; without
 * one, owner and mode are what is dropped. */
static void set_meta(struct restore *x, struct fs *fs, const char *path,
		     struct archive_entry *ae, bool link)
{
	const char *xn;
	const void *xv;
	size_t xl;
	bool lost = false, has_acl = false;
	int rc;

	archive_entry_xattr_reset(ae);
	while (archive_entry_xattr_next(ae, &xn, &xv, &xl) == ARCHIVE_OK) {
		if (!strncmp(xn, "sysrecover.", 11) || !strncmp(xn, "trusted.sysrecover.", 19))
			continue;   /* ours: stream marker, creation time */
		if (!strcmp(xn, FS_EFS_XATTR) && rs_efs_is(ae))
			continue;   /* set with the data (rs_efs_finish) */
		has_acl |= !strcmp(xn, "system.ntfs_acl");
		if ((rc = fs_xattr_set(fs, path, xn, xv, xl)) < 0) {
			char what[300];

			snprintf(what, sizeof(what), "xattr %s", xn);
			dropped(x, path, what, rc);
			lost = true;
		}
	}
	if (fs_caps(fs) & FS_CAP_OWNER) {
		rc = fs_set_owner(fs, path, (uint32_t)archive_entry_uid(ae),
				  (uint32_t)archive_entry_gid(ae));
		if (rc == 0 && !link)
			rc = fs_set_mode(fs, path, archive_entry_mode(ae) & 07777);
	} else {
		/* dropped only when there was a POSIX owner to drop */
		const char *kind = x->s->label.vol[x->cur_vol].fstype;

		rc = has_acl || !strcmp(kind, "ntfs") ? 0 : -EOPNOTSUPP;
	}
	if (rc < 0) {
		dropped(x, path, "owner and mode", rc);
		lost = true;
	}
	if (lost)
		x->res->not_kept++;
}

/* NTFS's four times (creation, write, access, MFT change) go last: setting
 * anything else changes the MFT change time. */
static void set_ntfs_times(struct fs *fs, const char *path, struct archive_entry *ae)
{
	const char *xn;
	const void *xv;
	size_t xl;

	archive_entry_xattr_reset(ae);
	while (archive_entry_xattr_next(ae, &xn, &xv, &xl) == ARCHIVE_OK)
		if (!strcmp(xn, "system.ntfs_times"))
			fs_xattr_set(fs, path, xn, xv, xl);
}

/* The member's times, set last (anything else set afterwards would move them). */
static void set_times(struct fs *fs, const char *path, struct archive_entry *ae)
{
	struct fs_times t;

	times_of(ae, &t);
	fs_set_times(fs, path, &t);
	set_ntfs_times(fs, path, ae);
}

/* ---- objects -------------------------------------------------------------------------- */

static int tmp_name(struct restore *x, uint32_t vol, char *buf, size_t cap)
{
	struct target *t = &x->tg[vol];
	int rc = -EEXIST;

	for (int i = 0; !t->tmpdir[0] && rc == -EEXIST && i < 100; i++) {
		snprintf(t->tmpdir, sizeof(t->tmpdir), RS_TMP "%.0d", i);
		rc = fs_mkdir(t->fs, t->tmpdir, 0700);
		if (rc < 0)
			t->tmpdir[0] = 0;
	}
	if (!t->tmpdir[0])
		return rc;
	snprintf(buf, cap, "%s/%u", t->tmpdir, t->tmpseq++);
	return 0;
}

/* The data, sparse as it came (a block libarchive skips stays a hole). */
static int write_data(struct restore *x, struct fs *fs, const char *tmp,
		      const char *stream, struct archive_entry *ae)
{
	struct fs_file *f = NULL;
	const void *blk;
	size_t len;
	la_int64_t off;
	int rc = fs_file_open(fs, tmp, stream, FS_F_WRITE | (stream ? FS_F_CREATE : 0), &f), ar;

	while (rc == 0 && (ar = archive_read_data_block(x->a, &blk, &len, &off)) == ARCHIVE_OK) {
		ssize_t w = len ? fs_file_pwrite(f, blk, len, (uint64_t)off) : 0;

		if (w != (ssize_t)len)
			rc = w < 0 ? (int)w : -ENOSPC;
		x->res->bytes += len;
		if (x->o->progress)
			progress_add(x->o->progress, len, 0);
	}
	if (rc == 0 && ar != ARCHIVE_EOF)
		rc = -EPIPE;
	if (rc == 0)
		rc = fs_file_truncate(f, (uint64_t)archive_entry_size(ae));
	if (f) {
		int crc = fs_file_close(f);

		rc = rc ? rc : crc;
	}
	if (rc == 0 && !stream && (rc = rs_efs_finish(fs, tmp, x->cur_name, ae, &x->item)) > 0)
		rc = 0;   /* a raw encrypted file: now with its $EFS stream */
	return rc;
}

/* A file written under tmp (rc: how that went) gets its metadata and
 * replaces what is at path; a failure leaves nothing behind. */
static int commit_file(struct restore *x, struct fs *fs, const char *tmp, const char *path,
		       struct archive_entry *ae, int rc)
{
	if (rc == 0) {
		set_meta(x, fs, tmp, ae, false);
		rc = fs_rename(fs, tmp, path, 0);   /* over what is there */
	}
	if (rc < 0) {
		fs_unlink(fs, tmp);
		return rc;
	}
	set_times(fs, path, ae);
	x->res->files++;
	return 0;
}

static int put_file(struct restore *x, uint32_t vol, const char *path,
		    struct archive_entry *ae)
{
	struct fs *fs = x->tg[vol].fs;
	char tmp[128];
	int rc = tmp_name(x, vol, tmp, sizeof(tmp));

	if (rc == 0)
		rc = fs_create(fs, tmp, archive_entry_mode(ae) & 07777);
	if (rc < 0)
		return rc;
	rc = write_data(x, fs, tmp, NULL, ae);
	return commit_file(x, fs, tmp, path, ae, rc);
}

/* ---- single instance ------------------------------------------------------------------ */

/* A holder's data into a temporary file, for the copies and links after
 * it; with its metadata when links will share the inode. */
static int put_stash(struct restore *x, struct rs_stash *st, struct archive_entry *ae)
{
	struct fs *fs = x->tg[st->vol].fs;
	int rc;

	x->stashed++;
	if (x->o->dry_run || st->tmp[0] || archive_entry_filetype(ae) != AE_IFREG ||
	    archive_entry_hardlink(ae))
		return 0;
	rc = tmp_name(x, st->vol, st->tmp, sizeof(st->tmp));
	if (rc == 0)
		rc = fs_create(fs, st->tmp, st->link ? archive_entry_mode(ae) & 07777 : 0600);
	if (rc == 0)
		rc = write_data(x, fs, st->tmp, NULL, ae);
	if (rc == 0 && st->link) {
		set_meta(x, fs, st->tmp, ae, false);
		set_times(fs, st->tmp, ae);
	}
	if (rc < 0 && st->tmp[0])
		fs_unlink(fs, st->tmp);
	if (rc < 0)
		st->tmp[0] = 0;   /* its copies fail, each named */
	return rc == -EPIPE ? rc : 0;
}

/* src:from into a new temporary file for path, checked against the
 * copy's SHA-256 as it goes: -ESTALE when the source is missing or not
 * that content (nothing is left behind), else as a write fails. */
static int copy_in(struct restore *x, uint32_t vol, const char *path,
		   struct archive_entry *ae, struct fs *src, const char *from,
		   const uint8_t sha[HASH_SHA256_LEN])
{
	struct fs *fs = x->tg[vol].fs;
	struct fs_file *in = NULL, *out = NULL;
	struct hash_sha256 h;
	uint8_t got[HASH_SHA256_LEN];
	struct fs_stat st;
	uint64_t off = 0;
	char tmp[128];
	int rc;

	if (!x->cbuf && !(x->cbuf = malloc(RS_BUF)))
		return -ENOMEM;
	if (fs_lookup(src, from, &st) < 0 || !S_ISREG(st.mode) ||
	    fs_file_open(src, from, NULL, 0, &in) < 0)
		return -ESTALE;
	rc = tmp_name(x, vol, tmp, sizeof(tmp));
	if (rc == 0)
		rc = fs_create(fs, tmp, archive_entry_mode(ae) & 07777);
	if (rc < 0) {
		fs_file_close(in);
		return rc;
	}
	rc = fs_file_open(fs, tmp, NULL, FS_F_WRITE, &out);
	hash_sha256_init(&h);
	while (rc == 0 && off < st.size) {
		size_t want = st.size - off < RS_BUF ? (size_t)(st.size - off) : RS_BUF;
		ssize_t n = fs_file_pread(in, x->cbuf, want, off), w;

		if (n <= 0) {
			rc = -ESTALE;
			break;
		}
		hash_sha256_update(&h, x->cbuf, (size_t)n);
		w = fs_file_pwrite(out, x->cbuf, (size_t)n, off);
		if (w != n)
			rc = w < 0 ? (int)w : -ENOSPC;
		off += (uint64_t)n;
		x->res->bytes += (uint64_t)n;
		if (x->o->progress)
			progress_add(x->o->progress, (uint64_t)n, 0);
	}
	hash_sha256_final(&h, got);
	if (rc == 0 && memcmp(got, sha, sizeof(got)))
		rc = -ESTALE;
	if (out) {
		int crc = fs_file_close(out);

		rc = rc ? rc : crc;
	}
	fs_file_close(in);
	return commit_file(x, fs, tmp, path, ae, rc);
}

/* A copy: from the stashed holder, or from the holder as this run
 * restored it on its own target. */
static int put_copy(struct restore *x, uint32_t vol, const char *path,
		    struct archive_entry *ae, const char *held, uint32_t hvol,
		    const char *hpath, const uint8_t sha[HASH_SHA256_LEN])
{
	struct rs_stash *st = stash_find(x, held);
	struct fs *src = st ? (st->tmp[0] ? x->tg[st->vol].fs : NULL) : x->tg[hvol].fs;
	int rc = src ? copy_in(x, vol, path, ae, src, st ? st->tmp : hpath, sha) : -ESTALE;

	x->res->copies += rc == 0;
	return rc;
}

/* The stream name of an alternate-data-stream member (bk.c marks them),
 * or NULL. */
static const char *ads_name(struct archive_entry *ae, char *buf, size_t cap)
{
	const char *xn;
	const void *xv;
	size_t xl;

	archive_entry_xattr_reset(ae);
	while (archive_entry_xattr_next(ae, &xn, &xv, &xl) == ARCHIVE_OK)
		if (!strcmp(xn, "sysrecover.ads") && xl && xl < cap && !memchr(xv, 0, xl)) {
			memcpy(buf, xv, xl);
			buf[xl] = 0;
			return buf;
		}
	return NULL;
}

/* "PATH:NAME" into the named stream NAME of PATH, restored just before it
 * (written in place: the file itself went through a temporary name). */
static int put_stream(struct restore *x, uint32_t vol, const char *path,
		      const char *stream, struct archive_entry *ae)
{
	struct fs *fs = x->tg[vol].fs;
	size_t pl = strlen(path), sl = strlen(stream);
	char base[RS_PATH_MAX];

	if (pl <= sl + 1 || path[pl - sl - 1] != ':' || strcmp(path + pl - sl, stream) ||
	    pl - sl - 1 >= sizeof(base))
		return -EINVAL;
	memcpy(base, path, pl - sl - 1);
	base[pl - sl - 1] = 0;
	if (!(fs_caps(fs) & FS_CAP_NTFS)) {
		dropped(x, path, "alternate data stream", -EOPNOTSUPP);
		x->res->not_kept++;
		return 0;
	}
	fs_stream_remove(fs, base, stream);   /* replaced, not merged */
	x->res->streams++;
	return write_data(x, fs, base, stream, ae);
}

/* What is at path, when it is not a directory, goes (a symlink, a fifo: they
 * are replaced, not written through). */
static int clear_for(struct fs *fs, const char *path)
{
	struct fs_stat st;

	if (fs_lookup(fs, path, &st) < 0 || S_ISDIR(st.mode))
		return 0;
	return fs_unlink(fs, path);
}

static int put_dir(struct restore *x, uint32_t vol, const char *path,
		   struct archive_entry *ae)
{
	struct fs *fs = x->tg[vol].fs;
	struct fs_stat st;
	int rc = strcmp(path, "/") ? fs_mkdir(fs, path, archive_entry_mode(ae) & 07777) : 0;

	if (rc == -EEXIST && (fs_lookup(fs, path, &st) < 0 || !S_ISDIR(st.mode)))
		return -ENOTDIR;   /* a file is in the way: not removed */
	if (rc < 0 && rc != -EEXIST)
		return rc;
	set_meta(x, fs, path, ae, false);
	x->res->dirs++;
	return push_dir(x, vol, path, ae);
}

static int put_other(struct restore *x, uint32_t vol, const char *path,
		     struct archive_entry *ae, const char *link_path)
{
	struct fs *fs = x->tg[vol].fs;
	mode_t type = archive_entry_filetype(ae);
	int rc = clear_for(fs, path);

	if (rc < 0)
		return rc;
	if (link_path) {
		rc = fs_link(fs, link_path, path);
		x->res->links += rc == 0;
		return rc;
	}
	if (type == AE_IFLNK)
		rc = fs_symlink(fs, path, archive_entry_symlink(ae));
	else
		rc = fs_mknod(fs, path, archive_entry_mode(ae),
			      (uint32_t)archive_entry_rdevmajor(ae),
			      (uint32_t)archive_entry_rdevminor(ae));
	if (rc < 0)
		return rc;
	set_meta(x, fs, path, ae, type == AE_IFLNK);
	set_times(fs, path, ae);
	*(type == AE_IFLNK ? &x->res->symlinks : &x->res->specials) += 1;
	return 0;
}

/* A hard link's target: the same volume, a checked path. */
static const char *link_target(struct restore *x, uint32_t vol, const char *name,
			       const char **why)
{
	uint32_t lv;
	const char *p = rs_member_path(x->s, name, &lv, why);

	if (p && lv != vol) {
		*why = "it is a hard link to another volume";
		return NULL;
	}
	return p;
}

/* The directory a member goes into exists: a directory member lost to a
 * read error (or left out of a selective restore) is made with mode 0755,
 * as tar makes missing parents.  The last parent seen is remembered, so
 * this is one lookup per directory, not per member. */
static int ensure_parent(struct restore *x, uint32_t vol, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	struct fs *fs = x->tg[vol].fs;
	char dir[RS_PATH_MAX];
	struct fs_stat st;
	int rc = 0;

	if (n == 0 || n >= sizeof(dir))
		return 0;   /* in the root, or the root itself */
	memcpy(dir, path, n);
	dir[n] = 0;
	if (x->parent_vol == vol && !strcmp(x->parent, dir))
		return 0;
	for (char *p = dir + 1; rc == 0; p++) {
		char c = *p;

		if (c != '/' && c != 0)
			continue;
		*p = 0;
		if (fs_lookup(fs, dir, &st) < 0)
			rc = fs_mkdir(fs, dir, 0755);
		else if (!S_ISDIR(st.mode))
			rc = -ENOTDIR;
		*p = c;
		if (!c)
			break;
	}
	if (rc == 0) {
		memcpy(x->parent, dir, n + 1);
		x->parent_vol = vol;
	}
	return rc;
}

static int apply(struct restore *x, struct archive_entry *ae)
{
	char nbuf[RS_PATH_MAX + 32], fbuf[RS_PATH_MAX + 40], hbuf[RS_PATH_MAX + 40];
	char sbuf[512];
	const char *name = rs_norm_name(archive_entry_pathname(ae), nbuf, sizeof(nbuf));
	const char *hl = archive_entry_hardlink(ae), *why, *path, *lp = NULL;
	uint8_t csum[HASH_SHA256_LEN];
	bool copy = hl && !x->foreign && rs_copy_mark(ae, csum);
	struct rs_stash *st;
	uint32_t vol, hvol = 0;
	int rc, efs;

	if (x->foreign) {   /* etc/passwd, ./etc/passwd: v0/etc/passwd */
		name = rs_foreign_name(name, fbuf, sizeof(fbuf));
		hl = hl ? rs_foreign_name(hl, hbuf, sizeof(hbuf)) : NULL;
	}

	path = rs_member_path(x->s, name, &vol, &why);
	if (path && copy)   /* a copy's holder may be on another volume */
		lp = rs_member_path(x->s, hl, &hvol, &why);
	else if (path && hl) {
		lp = link_target(x, vol, hl, &why);
		if (lp && (st = stash_find(x, hl)))   /* its first name is not wanted */
			lp = st->tmp[0] ? st->tmp : "";
	}
	if (!path || (hl && !lp)) {
		x->res->refused++;
		report(x, name ? name : "?", "%s: refused: %s", name ? name : "?", why);
		return 0;
	}
	x->cur_name = name;
	err_clear(&x->item);
	if (!wanted(x, name, path) && (st = stash_find(x, name)))
		return put_stash(x, st, ae);
	if (!wanted(x, name, path) || !x->tg[vol].fs)
		return 0;
	leave_dirs(x, vol, path);
	note_entry(x, vol, path);
	x->cur_vol = vol;
	efs = rs_efs_check(ae, name, &x->item);   /* before anything is written */
	if (efs < 0) {
		x->res->failed++;
		report(x, name, "%s", x->item.msg);
		return 0;
	}
	if (x->o->dry_run) {
		x->res->members++;
		return 0;
	}
	rc = ensure_parent(x, vol, path);
	if (rc < 0)
		;
	else if (ads_name(ae, sbuf, sizeof(sbuf)))
		rc = put_stream(x, vol, path, sbuf, ae);
	else if (archive_entry_filetype(ae) == AE_IFDIR)
		rc = put_dir(x, vol, path, ae);
	else if (archive_entry_filetype(ae) == AE_IFREG && !hl &&
		 rs_sis_apply(x->sis, x->tg[vol].fs, name, path, ae, x->res, x->o->report,
			      x->o->arg))
		return 0;   /* a store file already there, or a link ext cannot hold */
	else if (archive_entry_filetype(ae) == AE_IFREG && !hl)
		rc = put_file(x, vol, path, ae);
	else if (copy)
		rc = put_copy(x, vol, path, ae, hl, hvol, lp, csum);
	else if (lp && !*lp)
		rc = -ENOLINK;  /* the stash of its first name was not written */
	else
		rc = put_other(x, vol, path, ae, lp);
	if (rc == -EPIPE)
		return rc;     /* the data stream itself failed */
	if (rc == -ESTALE || rc == -ENOLINK) {
		x->res->failed++;
		report(x, name, "%s: not restored: it is a %s of %s, which this restore "
		       "did not write%s", name, rc == -ESTALE ? "copy" : "hard link", hl,
		       rc == -ESTALE ? " (or not with this content)" : "");
		return 0;
	}
	if (rc < 0 && x->item.msg[0]) {
		x->res->failed++;
		report(x, name, "%s", x->item.msg);
		return 0;
	}
	if (rc < 0) {
		const struct err *fe = fs_error(x->tg[vol].fs);

		x->res->failed++;
		report(x, name, "%s: %s", name, fe->msg[0] ? fe->msg : strerror(-rc));
		return 0;
	}
	if (efs > 0) {
		x->res->efs_raw++;
		if (!(fs_caps(x->tg[vol].fs) & FS_CAP_NTFS))
			report(x, name, "%s: kept raw: still encrypted, needs the key on Windows "
			       "(its $EFS stream is the xattr %s)", name, FS_EFS_XATTR);
	}
	x->res->members++;
	if (x->o->progress)
		progress_add(x->o->progress, 0, 1);
	return 0;
}

/* ---- the data ----------------------------------------------------------------------- */

/* ---- media errors ------------------------------------------------------------------
 *
 * A record that cannot be read costs only the members it touched: the
 * catalog is read again to find the first member whose header starts after
 * the bad record, the tape is positioned there, and reading goes on.
 * Every wanted member in between (the one cut, and any whose header sat in
 * the bad record) is named and counted as failed.
 */
struct resync {
	struct restore *x;
	uint64_t done;            /* stream offset of the last member completed */
	bool any_done;
	char parent[RS_PATH_MAX]; /* the last parent directory known to exist */
	uint32_t parent_vol;
	uint64_t bad;             /* the record that failed */
	bool found;
	struct arc_pos next;
};

static int resync_entry(void *arg, const struct arc_entry *e)
{
	struct resync *y = arg;
	struct restore *x = y->x;
	uint64_t off = e->pos.block * x->s->label.record_size + e->pos.offset;
	char name[RS_PATH_MAX + 32];

	if ((e->flags & ARC_M_LOST) && !e->pos.file)
		return 0;   /* never in the data */
	if (y->any_done && off <= y->done)
		return 0;
	if (e->pos.block > y->bad) {
		y->next = e->pos;
		y->found = true;
		return 1;   /* stop reading the catalog */
	}
	rs_member_name(x->s, e, name, sizeof(name));
	if (wanted(x, name, e->path) && !(e->flags & ARC_M_LOST)) {
		x->res->failed++;
		x->left -= x->left ? 1 : 0;
		report(x, name, "%s: lost to a read error in tape record %" PRIu64 " of the data",
		       name, y->bad);
	}
	return 0;
}

/* After a read error at record bad: where to go on, or false at the end. */
static int resync(struct restore *x, size_t i, uint64_t bad, struct arc_pos *next)
{
	struct resync y = { .x = x, .done = x->done, .any_done = x->any_done, .bad = bad };
	int rc = rs_catalog(x->r, i, resync_entry, &y);

	if (rc < 0)
		return rc;
	*next = y.next;
	return y.found;
}

/* At the record of member position p of the data file: go there. */
static int position(struct restore *x, const struct arc_pos *p, struct rs_reader *rd)
{
	int rc = rs_goto_file(x->r, x->data_file);

	*rd = (struct rs_reader){ .r = x->r, .skip = p->offset };
	if (rc == 0 && p->block) {
		rc = tape_space(x->r->t, TAPE_SP_RECORDS, (long)p->block);
		if (rc < 0)
			return rs_tape_fail(x->r, rc, "space to a member on");
		x->res->skipped_records += p->block;
	}
	x->seg = *p;
	return rc;
}

static int open_reader(struct restore *x, const struct arc_pos *p, struct rs_reader *rd)
{
	int rc = position(x, p, rd);

	if (x->a)
		archive_read_free(x->a);
	x->a = rc == 0 ? archive_read_new() : NULL;
	if (rc == 0 && !x->a)
		return err_set(&x->r->err, -ENOMEM, "out of memory");
	/* our own set: records of a known size, read ahead on a thread of
	 * their own (another tool's tape: read as libarchive asks) */
	if (rc == 0 && !x->foreign && x->s->label.record_size &&
	    x->s->label.record_size <= RS_AHEAD_MAX)
		rs_ahead_start(rd, x->s->label.record_size);   /* else: synchronous */
	if (rc == 0) {
		archive_read_support_format_tar(x->a);
		if (archive_read_open(x->a, rd, NULL, rs_read_cb, NULL) != ARCHIVE_OK)
			rc = -EPIPE;
	}
	return rc;
}

/* Members until the data (or, selective, the wanted ones) end: 0, or
 * -EPIPE when the stream broke (rd->err: the tape's error). */
static int read_members(struct restore *x, struct rs_reader *rd, int *ar)
{
	struct archive_entry *ae;
	int rc = 0;

	while (x->left && (*ar = rs_next_header(x->a, &ae)) == ARCHIVE_OK) {
		uint64_t before = x->res->members + x->res->failed + x->stashed +
				  x->res->sis_kept + x->res->not_kept;
		uint64_t hpos = x->seg.block * x->s->label.record_size + x->seg.offset +
				(uint64_t)archive_read_header_position(x->a);

		if (stop_requested())
			return -EINTR;
		if ((rc = apply(x, ae)) < 0)
			return rc;
		x->done = hpos, x->any_done = true;
		if (x->res->members + x->res->failed + x->stashed + x->res->sis_kept +
		    x->res->not_kept > before)
			x->left--;
	}
	(void)rd;
	return 0;
}

static int read_data(struct restore *x, size_t i)
{
	struct rs_reader rd = { .r = x->r };
	struct arc_pos at = x->first;
	int rc, ar = ARCHIVE_OK, more;

	x->left = x->wanted;
	for (;;) {
		rc = open_reader(x, &at, &rd);
		if (rc == 0)
			rc = read_members(x, &rd, &ar);
		rs_ahead_stop(&rd);   /* the tape is free again (resync reads it) */
		x->res->records += rd.records;
		if (rc == 0 && x->left && ar != ARCHIVE_EOF && !rd.err)
			rc = -EPIPE;
		if (!(rc == -EPIPE && rd.err == -EIO && x->wanted != UINT64_MAX))
			break;
		/* a media error: on from the next member the catalog places after it */
		more = resync(x, i, at.block + rd.records, &at);
		if (more < 0)
			return more;
		rc = 0;
		if (!more)
			break;
	}
	if (rc == -EPIPE && x->wanted == UINT64_MAX && !rd.err) {
		rc = 0;   /* no catalog: data cut off is what this mode is for */
		x->res->failed++;
		report(x, "(data)", "the data ends early, after %" PRIu64 " members: %s",
		       x->res->members, archive_error_string(x->a) ?
		       archive_error_string(x->a) : "cut off");
	}
	if (rc == -EPIPE)
		err_set(&x->r->err, rd.err ? rd.err : -EIO, "cannot read the data of set %zu "
			"on %s: %s", i + 1, x->r->name, archive_error_string(x->a) ?
			archive_error_string(x->a) : "damaged");
	if (rc == -EINTR)
		err_setc(&x->r->err, ERR_FATAL, ERR_SYSTEM, -EINTR, "interrupted by %s after "
			 "%" PRIu64 " members: each one restored is complete; run the restore "
			 "again to finish", stop_signame(), x->res->members);
	return rc;
}

static void finish(struct restore *x)
{
	while (x->ndirs)
		pop_dir(x);
	for (size_t k = 0; k < x->nstash; k++)
		if (x->stash[k].tmp[0])
			fs_unlink(x->tg[x->stash[k].vol].fs, x->stash[k].tmp);
	for (size_t v = 0; v < ARC_VOL_MAX; v++) {
		if (x->tg[v].fs && x->tg[v].tmpdir[0])
			fs_rmdir(x->tg[v].fs, x->tg[v].tmpdir);
	}
}

/* Big directories as the kernel leaves them (hashed), on each closed ext
 * target that got one; a failure leaves the volume usable and is said. */
static void index_dirs(struct restore *x)
{
	for (uint32_t v = 0; v < ARC_VOL_MAX; v++) {
		struct err e = { 0 };

		if (!x->index[v])   /* set only for a volume that was open */
			continue;
		if (fs_index_dirs(x->tg[v].name, &e) < 0)
			report(x, x->tg[v].name, "%s", e.msg);
		else
			x->res->indexed++;
	}
}

/* Every volume, every member, from the start of the data: no catalog to
 * plan with (cut off), so nothing is skipped and nothing is counted. */
static void plan_all(struct restore *x)
{
	for (size_t v = 0; v < x->s->label.nvol; v++)
		x->want[v] = true;
	x->any = true;
	x->efs = true;   /* no catalog to say */
	x->wanted = UINT64_MAX;
	x->first = (struct arc_pos){ .file = x->data_file };
}

/* A store file that a wanted SIS link needs and no pattern wants: read
 * too (rs_sis.c; it is skipped if the target has it already). */
static void sis_pull(void *arg, uint32_t vol, uint64_t size, const struct arc_pos *pos)
{
	struct restore *x = arg;

	if (!x->any || pos_before(pos, &x->first))
		x->first = *pos;
	x->any = x->want[vol] = true;
	x->wanted++;
	x->objs[vol]++;
	x->total_bytes += size;
	x->need[vol] += (size + 4095) / 4096 * 4096;
}

static int plan_set(struct restore *x, size_t i)
{
	struct rs *r = x->r;
	int rc;

	if (i >= r->nsets)
		return err_set(&r->err, -ENOENT, "%s holds %zu sets: there is no set %zu",
			       r->name, r->nsets, i + 1);
	x->s = &r->sets[i];
	x->data_file = x->s->label.tape_file + 1;
	if (x->o->scan) {
		plan_all(x);
		return 0;
	}
	if (!x->s->complete)
		return err_setc(&r->err, ERR_FATAL, ERR_CORRUPT, -ENODATA, "set %zu on %s "
				"was cut off before its catalog: restore --scan reads its data "
				"without one", i + 1, r->name);
	rc = rs_catalog(r, i, plan_entry, x);
	if (rc == 0)
		rs_sis_plan(x->sis, sis_pull, x);
	if (rc == 0 && !x->any)
		rc = err_set(&r->err, -ENOENT, "nothing in set %zu matches", i + 1);
	return rc == 0 ? plan_stash(x, i) : rc;
}

/* Another tool's tar file: one volume, v0, whose target --to must name. */
static int plan_foreign(struct restore *x)
{
	struct rs *r = x->r;
	long f = x->o->foreign_file;
	size_t k;

	for (k = 0; k < rs_foreign(r) && rs_foreign_file(r, k) != (uint32_t)f; k++)
		;
	if (k == rs_foreign(r))
		return err_set(&r->err, -ENOENT, "tape file %ld of %s is not another tool's "
			       "archive (list shows them)", f, r->name);
	x->foreign = true;
	x->fset.label.nvol = 1;
	snprintf(x->fset.label.vol[0].id, sizeof(x->fset.label.vol[0].id), "v0");
	snprintf(x->fset.label.vol[0].fstype, sizeof(x->fset.label.vol[0].fstype), "tar");
	snprintf(x->fset.label.vol[0].source, sizeof(x->fset.label.vol[0].source),
		 "tape file %ld", f);
	x->s = &x->fset;
	x->data_file = (uint32_t)f;
	plan_all(x);
	return 0;
}

int rs_restore(struct rs *r, size_t i, const struct rs_restore_opts *o,
	       struct rs_restore_result *res)
{
	struct restore x = { .r = r, .o = o, .res = res };
	int rc;

	memset(res, 0, sizeof(*res));
	err_clear(&r->err);
	rc = o->foreign_file >= 0 ? plan_foreign(&x) : plan_set(&x, i);
	if (rc == 0)
		rc = open_targets(&x);
	if (rc == 0 && !x.foreign && x.wanted != UINT64_MAX)
		rc = check_space(&x, i);
	if (rc == 0 && o->progress && x.wanted != UINT64_MAX) {
		o->progress->total_bytes = x.total_bytes;
		o->progress->total_objects = x.wanted;
	}
	if (rc == 0)
		rc = read_data(&x, i);
	finish(&x);
	for (size_t v = 0; v < ARC_VOL_MAX; v++) {
		if (x.tg[v].fs && fs_close(x.tg[v].fs) < 0 && rc == 0)
			rc = err_set(&r->err, -EIO, "cannot close the target of v%zu", v);
		x.index[v] = x.index[v] && x.tg[v].fs;
		x.tg[v].fs = NULL;
	}
	if (rc == 0 && !o->dry_run)
		index_dirs(&x);
	for (size_t v = 0; v < ARC_VOL_MAX; v++)
		free(x.tg[v].name);
	if (x.a)
		archive_read_free(x.a);
	for (size_t k = 0; k < x.nstash; k++)
		free(x.stash[k].name);
	free(x.stash);
	rs_sis_free(x.sis);
	free(x.cbuf);
	free(x.dirs);
	if (rc < 0)
		return rc;
	return res->failed || res->refused || res->lost ? 1 : 0;
}
