/* bk.c - the backup engine: sources through fs.h, a pax stream through
 * libarchive onto the tape, the catalog after it.
 *
 * Order on tape: the label record, a filemark, the data file (libarchive
 * writes records of exactly the set's size, the last one zero-padded), a
 * filemark, the catalog file, a filemark.  The catalog is spooled to an
 * unlinked temporary file while the data streams: it goes after the data,
 * and holding it in memory would not scale to millions of members.
 *
 * Each member's position is the stream offset before its header
 * (archive_filter_bytes after archive_write_finish_entry, which writes the
 * previous member's padding): record = offset / record size, and the
 * offset within that record.
 */
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <pthread.h>

#include "arc.h"
#include "bk.h"
#include "bk_hash.h"
#include "bk_efs.h"
#include "bk_si.h"
#include "bk_sis.h"
#include "bk_sys.h"
#include "fs.h"
#include "hash.h"
#include "progress.h"
#include "stop.h"
#include "tape.h"

#define BK_BUF (1u << 20)
_Static_assert(BK_BUF >= BK_HASH_BUF, "put_data reads pieces of BK_HASH_BUF into b->buf");
/* The creation time, "SECONDS.NANOSECONDS", where libarchive would drop it:
 * it writes one only before mtime, and a copied file often has it after.
 * trusted.*: a stock tar run as root that restores it stores a hidden,
 * harmless attribute; GNU tar leaves it out unless asked. */
#define BK_BTIME_XATTR "trusted.sysrecover.btime"
#define BK_XATTR_MAX 65536

/* Single instance: a file whose content an earlier member of the set
 * already holds is written as a hard-link member naming that member, with
 * this xattr (its value: the content's SHA-256 in hex), in no namespace so
 * that no tar applies it; the catalog says "copy".  Below BK_SI_MIN bytes
 * a copy member (its headers take 1.5 to 3 KiB) saves nothing.  The table
 * of contents seen is bounded by BK_SI_BUDGET. */
#define BK_COPY_XATTR "sysrecover.copy"
#define BK_SI_MIN 4096
#define BK_SI_BUDGET (32u << 20)

/* A source inode with more names still to come: its first member name. */
struct bk_link {
	struct bk_link *next;
	uint32_t vol;
	uint64_t ino;
	char name[];
};

#define BK_SLOTS 8   /* records queued for the tape writer thread */

/* A catalog line whose file is still being hashed (bk_hash.h): lines are
 * added in member order, so the ones behind it wait too.  Fewer than
 * BK_HASH_KEEP, so that no digest is overwritten before it is fetched, and
 * more than the hashing thread lets queue up before it is woken. */
#define BK_PEND 128

struct bk_pend {
	struct arc_entry ce;        /* path and target point into this */
	uint64_t ticket;            /* 0: ce is complete */
	bool si;                    /* to the single-instance table once hashed */
	char path[PATH_MAX];
	char target[PATH_MAX + 32];
	char name[PATH_MAX + 32];   /* vN/path */
};

struct bk_pipe {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool inited, started, done;
	unsigned char *slot[BK_SLOTS];   /* each a full record: bk_write_cb blocks */
	size_t head, tail, count;   /* ring: fill at head, write at tail */
	size_t fill;                /* bytes in the slot at head, not queued yet */
	int err;                    /* the tape's first failure, sticky */
	char msg[256];
};

struct bk {
	const struct bk_opts *o;
	struct bk_result *r;
	struct err *err;
	struct tape *t;
	struct archive *a;
	struct arc_label label;
	struct fs *src[ARC_VOL_MAX];
	uint32_t vol;             /* the source being walked */
	uint32_t data_file;
	uint64_t lblock0;         /* logical block of the data's first record */
	bool lblock_ok;
	struct arc_catw *cat;
	FILE *spool;              /* catalog records, until the data is done */
	int werr;                 /* the tape's failure inside the callback */
	struct bk_pipe pipe;
	char *buf;
	unsigned char *xbuf;
	struct bk_link **links;   /* hash buckets */
	size_t nbuckets;
	char *skip;               /* an excluded or failed directory */
	size_t skip_len;
	struct bk_si *si;         /* contents already in the set */
	struct bk_sis *sis;       /* the volume's SIS common store (bk_sis.h) */
	struct bk_hash *hash;     /* NULL in a dry run */
	struct bk_pend *pend;     /* ring of BK_PEND */
	struct bk_sys *sys;       /* system state: its rules and hives (bk_sys.h) */
	size_t phead, npend;
	struct err item;          /* why the member at hand is lost, when the
				   * source's last error does not say */
};

/* ---- tape ------------------------------------------------------------------ */

static int tape_fail(struct bk *b, int rc, const char *what)
{
	return err_set(b->err, rc, "cannot %s %s: %s", what, b->o->tape,
		       *tape_errmsg(b->t) ? tape_errmsg(b->t) : strerror(-rc));
}

/* After the last set: at end of data, behind a filemark.  A tape file left
 * open by a set that was cut off gets its closing filemark first. */
static int space_eod(struct bk *b, struct tape_status *st)
{
	int rc = tape_space(b->t, TAPE_SP_EOD, 0);

	if (rc == 0)
		rc = tape_status(b->t, st);
	return rc;
}

static int find_end(struct bk *b)
{
	struct tape_status st;
	int rc = space_eod(b, &st);

	/* A freshly loaded st drive does not know where it is (file number
	 * -1) until it has been rewound: rewinding loses nothing here, and
	 * spacing from the beginning counts the files. */
	if (rc == 0 && st.file < 0 && (rc = tape_rewind(b->t)) == 0)
		rc = space_eod(b, &st);
	if (rc < 0)
		return tape_fail(b, rc, "find the end of data on");
	if (st.file < 0)
		return err_set(b->err, -EIO, "cannot append to %s: the drive does not "
			       "know its file number at end of data", b->o->tape);
	if (st.block > 0) {
		if ((rc = tape_write_marks(b->t, TAPE_MK_FILEMARK, 1)) < 0)
			return tape_fail(b, rc, "write a filemark on");
		st.file++;
	}
	b->label.tape_file = (uint32_t)st.file;
	return 0;
}

static int put_mark(struct bk *b)
{
	int rc = tape_write_marks(b->t, TAPE_MK_FILEMARK, 1);

	return rc < 0 ? tape_fail(b, rc, "write a filemark on") : 0;
}

static int put_record(struct bk *b, const void *rec, size_t len)
{
	ssize_t n = tape_write(b->t, rec, len);

	if (n == (ssize_t)len)
		return 0;
	return tape_fail(b, n < 0 ? (int)n : -EIO, "write to");
}

/* ---- the label --------------------------------------------------------------- */

static void new_uuid(char *out)
{
	unsigned char u[16];
	FILE *f = fopen("/proc/sys/kernel/random/uuid", "r");

	if (f && fgets(out, 37, f) && strlen(out) == 36) {
		fclose(f);
		return;
	}
	if (f)
		fclose(f);
	for (size_t i = 0; i < sizeof(u); i++)   /* no /proc: time and pid */
		u[i] = (unsigned char)((time(NULL) >> (i % 8)) ^ getpid() ^ (int)(i * 77));
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-4%01x%02x-a%01x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6] & 15, u[7], u[8] & 15, u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* fstype, UUID, label and size of a source, as volumes shows them. */
static void describe(struct bk *b, size_t i, const char *name)
{
	struct arc_volume *v = &b->label.vol[i];
	struct fs_volume fv;
	struct err e = { 0 };

	snprintf(v->id, sizeof(v->id), "v%u", (unsigned)i % 1000);  /* i < ARC_VOL_MAX */
	snprintf(v->source, sizeof(v->source), "%s", name);
	snprintf(v->fstype, sizeof(v->fstype), "%s", fs_kind_name(fs_kind(b->src[i])));
	if (fs_kind(b->src[i]) == FS_KIND_DIR ||
	    fs_volume_resolve(name, NULL, 0, &fv, &e) < 0)
		return;
	snprintf(v->fstype, sizeof(v->fstype), "%.15s", fv.fstype);
	snprintf(v->uuid, sizeof(v->uuid), "%s", fv.uuid);
	snprintf(v->label, sizeof(v->label), "%.127s", fv.label);
	v->size = fv.size;
}

static int write_label(struct bk *b)
{
	char *text = malloc(ARC_LABEL_MAX);
	size_t len = 0;
	int rc = text ? 0 : err_set(b->err, -ENOMEM, "out of memory");

	if (rc == 0)
		rc = arc_label_format(&b->label, text, ARC_LABEL_MAX, &len, b->err);
	if (rc == 0)
		rc = put_record(b, text, len);
	if (rc == 0)
		rc = put_mark(b);
	free(text);
	return rc;
}

/* ---- libarchive --------------------------------------------------------------- */

/* ---- the tape writer thread -------------------------------------------------------
 *
 * libarchive hands over full records; a thread of its own writes them to
 * the tape, so that reading and hashing the next files overlaps the
 * tape's write (a streaming drive must not wait for the disk).  The main
 * thread touches the tape again only after bk_pipe_end has joined it.
 */
static void *pipe_main(void *arg)
{
	struct bk *b = arg;
	struct bk_pipe *p = &b->pipe;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		size_t i, n;
		ssize_t w;

		while (p->count == 0 && !p->done)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->count == 0)
			break;
		i = p->tail, n = b->label.record_size;
		pthread_mutex_unlock(&p->mu);
		w = tape_write(b->t, p->slot[i], n);
		pthread_mutex_lock(&p->mu);
		if (w != (ssize_t)n) {
			p->err = w < 0 ? (int)w : -EIO;
			snprintf(p->msg, sizeof(p->msg), "%s", tape_errmsg(b->t));
			pthread_cond_broadcast(&p->cv);
			break;
		}
		p->tail = (p->tail + 1) % BK_SLOTS;
		p->count--;
		b->r->data_records++;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static int pipe_start(struct bk *b)
{
	struct bk_pipe *p = &b->pipe;
	int rc;

	for (size_t i = 0; i < BK_SLOTS; i++)
		if (!(p->slot[i] = malloc(b->label.record_size)))
			return err_set(b->err, -ENOMEM, "out of memory");
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->inited = true;
	rc = pthread_create(&p->th, NULL, pipe_main, b);
	if (rc)
		return err_set(b->err, -rc, "cannot start the tape writer: %s", strerror(rc));
	p->started = true;
	return 0;
}

/* Everything queued written (or the first failure); the thread joined. */
static int pipe_end(struct bk *b)
{
	struct bk_pipe *p = &b->pipe;

	if (p->started) {
		pthread_mutex_lock(&p->mu);
		p->done = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->th, NULL);
		p->started = false;
	}
	return p->err;
}

static void pipe_free(struct bk *b)
{
	struct bk_pipe *p = &b->pipe;

	pipe_end(b);
	for (size_t i = 0; i < BK_SLOTS; i++)
		free(p->slot[i]);
	if (p->inited) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
	}
}

/* The slot at head, once the writer has left it (count < BK_SLOTS): 0, or
 * the tape's failure.  Called with the lock held. */
static int slot_free(struct bk_pipe *p)
{
	while (p->count == BK_SLOTS && !p->err)
		pthread_cond_wait(&p->cv, &p->mu);
	return p->err;
}

/* The record filled at head goes to the writer. */
static void slot_queue(struct bk *b)
{
	struct bk_pipe *p = &b->pipe;

	pthread_mutex_lock(&p->mu);
	p->head = (p->head + 1) % BK_SLOTS;
	p->count++;
	p->fill = 0;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* libarchive's write callback.  libarchive does no blocking of its own
 * (bytes per block 0): what it writes is copied once, straight into the
 * records queued for the writer thread, instead of into libarchive's
 * block and then again into a record.
 *
 * Once the tape has failed, everything is taken and dropped, and the
 * failure (b->werr) stops the walk: a callback that fails makes the archive
 * fatal, and libarchive 3.6.2 then never frees its output state. */
static la_ssize_t bk_write_cb(struct archive *a, void *ctx, const void *buf, size_t n)
{
	struct bk *b = ctx;
	struct bk_pipe *p = &b->pipe;
	const unsigned char *from = buf;
	size_t left = n, rs = b->label.record_size;

	(void)a;
	while (left && !b->werr) {
		size_t k;

		if (p->fill == 0) {
			pthread_mutex_lock(&p->mu);
			b->werr = slot_free(p);
			pthread_mutex_unlock(&p->mu);
			if (b->werr)
				break;
		}
		k = left < rs - p->fill ? left : rs - p->fill;
		memcpy(p->slot[p->head] + p->fill, from, k);
		p->fill += k;
		from += k;
		left -= k;
		if (p->fill == rs)
			slot_queue(b);
	}
	return (la_ssize_t)n;
}

/* After libarchive's close: the last record, padded with zeros to the
 * set's record size, as libarchive would pad its last block. */
static void slot_last(struct bk *b)
{
	struct bk_pipe *p = &b->pipe;

	if (p->fill == 0)
		return;
	memset(p->slot[p->head] + p->fill, 0, b->label.record_size - p->fill);
	slot_queue(b);
}

static int la_fail(struct bk *b, const char *what)
{
	if (b->werr)
		return err_set(b->err, b->werr, "cannot write to %s: %s", b->o->tape,
			       b->pipe.msg[0] ? b->pipe.msg : strerror(-b->werr));
	return err_set(b->err, -EIO, "cannot %s: %s", what,
		       archive_error_string(b->a) ? archive_error_string(b->a) : "libarchive failed");
}

static int open_data(struct bk *b)
{
	struct tape_status st;
	int rc;

	b->data_file = b->label.tape_file + 1;
	b->lblock_ok = tape_status(b->t, &st) == 0 && st.logical_valid;
	b->lblock0 = st.logical;
	b->a = archive_write_new();
	if (!b->a)
		return err_set(b->err, -ENOMEM, "out of memory");
	rc = archive_write_set_format_pax(b->a);
	/* SCHILY.xattr only: libarchive 3.6.2 would also write LIBARCHIVE.xattr
	 * and then read every xattr twice */
	if (rc == ARCHIVE_OK)
		rc = archive_write_set_format_option(b->a, "pax", "xattrheader", "SCHILY");
	if (rc == ARCHIVE_OK)
		rc = archive_write_set_bytes_per_block(b->a, 0);   /* bk_write_cb blocks */
	if (rc != ARCHIVE_OK)
		return la_fail(b, "start the data of the set");
	if ((rc = pipe_start(b)) < 0)
		return rc;
	rc = archive_write_open2(b->a, b, NULL, bk_write_cb, NULL, NULL);
	return rc == ARCHIVE_OK ? 0 : la_fail(b, "start the data of the set");
}

/* ---- one member --------------------------------------------------------------- */

struct bk_member {
	const char *path;          /* in the volume */
	const struct fs_stat *st;
	char name[PATH_MAX + 32];  /* vN/path in the archive */
	char target[PATH_MAX];     /* a symlink's; a SIS link's store member */
	struct arc_entry ce;
	struct archive_entry *e;
	uint64_t ticket;           /* its digest is on the way (bk_hash.h) */
	bool si;                   /* then to the single-instance table */
};

static size_t link_hash(const struct bk *b, uint32_t vol, uint64_t ino)
{
	return (size_t)(((ino ^ ((uint64_t)vol << 56)) * 0x9E3779B97F4A7C15ull) >> 20) &
	       (b->nbuckets - 1);
}

/* The first name of a hard-linked inode, or NULL (then it is remembered). */
static const char *link_seen(struct bk *b, const struct bk_member *m)
{
	struct bk_link *l;
	size_t h;

	if (!b->links) {
		b->nbuckets = 1u << 16;
		b->links = calloc(b->nbuckets, sizeof(*b->links));
		if (!b->links)
			return NULL;
	}
	h = link_hash(b, b->vol, m->st->ino);
	for (l = b->links[h]; l; l = l->next)
		if (l->vol == b->vol && l->ino == m->st->ino)
			return l->name;
	l = malloc(sizeof(*l) + strlen(m->name) + 1);
	if (l) {
		l->vol = b->vol;
		l->ino = m->st->ino;
		strcpy(l->name, m->name);
		l->next = b->links[h];
		b->links[h] = l;
	}
	return NULL;
}

static enum arc_type member_type(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return ARC_T_DIR;
	case S_IFLNK: return ARC_T_SYMLINK;
	case S_IFCHR: return ARC_T_CHR;
	case S_IFBLK: return ARC_T_BLK;
	case S_IFIFO: return ARC_T_FIFO;
	case S_IFSOCK: return ARC_T_SOCK;
	default: return ARC_T_FILE;
	}
}

static void set_stat(struct archive_entry *e, const struct fs_stat *st)
{
	archive_entry_set_mode(e, st->mode);
	archive_entry_set_uid(e, st->uid);
	archive_entry_set_gid(e, st->gid);
	archive_entry_set_nlink(e, st->nlink);
	archive_entry_set_atime(e, st->atime.tv_sec, st->atime.tv_nsec);
	archive_entry_set_mtime(e, st->mtime.tv_sec, st->mtime.tv_nsec);
	archive_entry_set_ctime(e, st->ctime.tv_sec, st->ctime.tv_nsec);
	if (st->btime.tv_sec || st->btime.tv_nsec)
		archive_entry_set_birthtime(e, st->btime.tv_sec, st->btime.tv_nsec);
	if (S_ISCHR(st->mode) || S_ISBLK(st->mode))
		archive_entry_set_rdev(e, makedev(st->rdev_major, st->rdev_minor));
}

/* A SIS link (bk_sis.h): flagged, and its store file's member named as
 * its target when the reparse data names one the volume has.  Its data
 * is sparse (sparse_map), and it is never a single-instance copy. */
static void sis_link(struct bk *b, struct bk_member *m, size_t n)
{
	bool link;
	const char *cs = bk_sis_store_of(b->sis, b->xbuf, n, &link);

	if (!link || !S_ISREG(m->st->mode))
		return;
	m->ce.flags |= ARC_M_SIS;
	if (cs && m->st->nlink <= 1) {
		snprintf(m->target, sizeof(m->target), "%s%s/%s", b->label.vol[b->vol].id,
			 BK_SIS_STORE, cs);
		m->ce.target = m->target;
	}
}

struct bk_xa {
	struct bk *b;
	struct bk_member *m;
	int rc;
};

static int add_xattr(void *arg, const char *name)
{
	struct bk_xa *x = arg;
	ssize_t n = fs_xattr_get(x->b->src[x->b->vol], x->m->path, name, x->b->xbuf,
				 BK_XATTR_MAX);

	if (n < 0) {
		x->rc = (int)n;
		return 1;
	}
	archive_entry_xattr_add_entry(x->m->e, name, x->b->xbuf, (size_t)n);
	if (!strcmp(name, "system.ntfs_reparse_data"))
		sis_link(x->b, x->m, (size_t)n);
	return 0;
}

static void add_btime(struct bk *b, struct bk_member *m)
{
	const struct fs_stat *st = m->st;
	char v[48];
	int n;

	if ((!st->btime.tv_sec && !st->btime.tv_nsec) ||
	    fs_caps(b->src[b->vol]) & FS_CAP_NTFS)   /* system.ntfs_times has it */
		return;
	/* libarchive (3.6.2) writes it itself only when its second is before
	 * mtime's: a file created and written within one second is not */
	if (st->btime.tv_sec < st->mtime.tv_sec)
		return;
	n = snprintf(v, sizeof(v), "%lld.%09ld", (long long)st->btime.tv_sec,
		     st->btime.tv_nsec);
	archive_entry_xattr_add_entry(m->e, BK_BTIME_XATTR, v, (size_t)n);
}

static int add_xattrs(struct bk *b, struct bk_member *m)
{
	struct bk_xa x = { b, m, 0 };
	int rc = fs_xattr_list(b->src[b->vol], m->path, add_xattr, &x);

	if (rc == -EOPNOTSUPP || rc == -ENOTSUP)
		return 0;
	return x.rc ? x.rc : rc < 0 ? rc : 0;
}

/* The data extents of a file, for the pax sparse map; a file without
 * holes gets none (libarchive then writes it plainly). */
static int sparse_map(struct fs_file *f, struct bk_member *m)
{
	uint64_t off = 0, d, l, total = 0;
	int rc = 0;

	if (m->st->alloc >= m->st->size || (m->ce.flags & ARC_M_EFS_RAW))
		return 0;   /* raw EFS: the padding and trailer are past the extents */
	while (off < m->st->size && (rc = fs_file_next_data(f, off, &d, &l)) == 0) {
		if (d >= m->st->size)
			break;
		if (d + l > m->st->size)
			l = m->st->size - d;
		archive_entry_sparse_add_entry(m->e, (la_int64_t)d, (la_int64_t)l);
		total += l;
		off = d + l;
	}
	if (rc == -EOPNOTSUPP)
		return 0;
	/* nothing allocated (a SIS link): one empty extent at the end, as
	 * GNU tar writes it, or libarchive would store the zeros */
	if (total == 0 && m->st->size)
		archive_entry_sparse_add_entry(m->e, (la_int64_t)m->st->size, 0);
	if (total < m->st->size)
		m->ce.flags |= ARC_M_SPARSE;
	return rc == -ENXIO || rc == 0 ? 0 : rc;
}

/* The whole logical file (holes as zeros: libarchive skips them itself);
 * the SHA-256 is of the logical content, as sha256sum sees it.  It is
 * made on the hashing thread from the very buffers written (m->ticket),
 * unless single instance made it already. */
static int put_data(struct bk *b, struct fs_file *f, struct bk_member *m)
{
	bool known = m->ce.has_hash;
	uint64_t off = 0;
	int rc = 0;

	while (rc == 0 && !b->werr && off < m->st->size) {
		size_t want = m->st->size - off < BK_HASH_BUF ? (size_t)(m->st->size - off)
							      : BK_HASH_BUF;
		unsigned char *p = known ? (unsigned char *)b->buf : bk_hash_buf(b->hash, want);
		ssize_t n = fs_file_pread(f, p, want, off);

		if (n <= 0) {
			rc = n < 0 ? (int)n : -EIO;  /* shrank while read */
			break;
		}
		if (!known)
			bk_hash_feed(b->hash, (size_t)n);
		if (archive_write_data(b->a, p, (size_t)n) != n || b->werr)
			rc = -EPIPE;
		off += (uint64_t)n;
		b->r->bytes += (uint64_t)n;
		if (b->o->progress)
			progress_add(b->o->progress, (uint64_t)n, 0);
	}
	if (!known && rc < 0)
		bk_hash_drop(b->hash);
	else if (!known)
		m->ticket = bk_hash_end(b->hash);
	return rc;
}

static void position(struct bk *b, struct arc_pos *p)
{
	uint64_t off;

	archive_write_finish_entry(b->a);  /* the previous member's padding */
	off = (uint64_t)archive_filter_bytes(b->a, 0);
	p->partition = 0;
	p->file = b->data_file;
	p->block = off / b->label.record_size;
	p->offset = (uint32_t)(off % b->label.record_size);
	p->lblock = b->lblock_ok ? b->lblock0 + p->block : UINT64_MAX;
}

static int write_file(struct bk *b, struct bk_member *m, const char *stream)
{
	struct fs_file *f = NULL;
	int rc = fs_file_open(b->src[b->vol], m->path, stream, 0, &f);

	if (rc < 0)
		return rc;
	archive_entry_set_size(m->e, (la_int64_t)m->st->size);
	rc = sparse_map(f, m);
	if (rc == 0)
		position(b, &m->ce.pos);
	if (rc == 0 && archive_write_header(b->a, m->e) < ARCHIVE_WARN)
		rc = -EPIPE;
	if (rc == 0)
		rc = put_data(b, f, m);
	fs_file_close(f);
	return rc;
}

/* ---- catalog lines that wait for a digest ------------------------------------ */

/* The oldest waiting line, completed and added: 1; 0 when its digest is
 * not ready and wait is false. */
static int pend_pop(struct bk *b, bool wait)
{
	struct bk_pend *p = &b->pend[b->phead];
	int rc;

	if (p->ticket) {
		if (!bk_hash_result(b->hash, p->ticket, p->ce.sha256, wait))
			return 0;
		p->ce.has_hash = true;
		if (p->si)
			bk_si_add(b->si, p->ce.size, p->ce.sha256, p->name);
	}
	rc = arc_catw_add(b->cat, &p->ce);
	b->phead = (b->phead + 1) % BK_PEND;
	b->npend--;
	return rc < 0 ? rc : 1;
}

/* Every waiting line whose digest is ready (wait: every one) added. */
static int pend_pump(struct bk *b, bool wait)
{
	int rc = 0;

	while (b->npend && (rc = pend_pop(b, wait)) > 0)
		;
	return rc < 0 ? rc : 0;
}

/* Before the single-instance table is asked about a size: a waiting file
 * of that size goes into it first, or a copy of it would be missed. */
static int pend_settle(struct bk *b, uint64_t size)
{
	size_t last = 0;
	int rc = 0;

	for (size_t i = 0; i < b->npend; i++) {
		const struct bk_pend *p = &b->pend[(b->phead + i) % BK_PEND];

		if (p->si && p->ce.size == size)
			last = i + 1;
	}
	while (rc >= 0 && last--)
		rc = pend_pop(b, true);
	return rc < 0 ? rc : 0;
}

static void pend_copy(char *dst, size_t cap, const char **s)
{
	if (*s) {
		snprintf(dst, cap, "%s", *s);
		*s = dst;
	}
}

/* A member's catalog line: now, or behind the lines still waiting. */
static int cat_add(struct bk *b, const struct bk_member *m)
{
	struct bk_pend *p;
	int rc;

	if (!m->ticket && !b->npend)
		return arc_catw_add(b->cat, &m->ce);
	if (b->npend == BK_PEND && (rc = pend_pop(b, true)) < 0)
		return rc;
	p = &b->pend[(b->phead + b->npend) % BK_PEND];
	p->ce = m->ce;
	p->ticket = m->ticket;
	p->si = m->si;
	pend_copy(p->path, sizeof(p->path), &p->ce.path);
	pend_copy(p->target, sizeof(p->target), &p->ce.target);
	if (m->si)
		snprintf(p->name, sizeof(p->name), "%s", m->name);
	b->npend++;
	return pend_pump(b, false);
}

/* ---- single instance ----------------------------------------------------------- */

static bool si_eligible(const struct bk *b, const struct bk_member *m)
{
	/* a sparse (or compressed) file is stored as it is: a copy made on
	 * restore would not keep its holes */
	return b->si && m->st->size >= BK_SI_MIN && m->st->alloc >= m->st->size &&
	       !(m->ce.flags & ARC_M_SIS) && !(b->sis && bk_sis_in_store(m->path)) &&
	       !(m->ce.flags & ARC_M_EFS_RAW);   /* see bk_efs.h */
}

/* The content's SHA-256 before it is written: read once more, but only
 * when some content already in the set has the same size. */
static int hash_file(struct bk *b, struct bk_member *m, uint8_t sha[HASH_SHA256_LEN])
{
	struct fs_file *f = NULL;
	struct hash_sha256 h;
	uint64_t off = 0;
	int rc = fs_file_open(b->src[b->vol], m->path, NULL, 0, &f);

	hash_sha256_init(&h);
	while (rc == 0 && off < m->st->size) {
		size_t want = m->st->size - off < BK_BUF ? (size_t)(m->st->size - off) : BK_BUF;
		ssize_t n = fs_file_pread(f, b->buf, want, off);

		if (n <= 0)
			rc = n < 0 ? (int)n : -EIO;   /* shrank while read */
		else
			hash_sha256_update(&h, b->buf, (size_t)n);
		off += n > 0 ? (uint64_t)n : 0;
	}
	if (f)
		fs_file_close(f);
	if (rc == 0)
		hash_sha256_final(&h, sha);
	return rc;
}

/* A hard-link member naming the member that holds the content, marked as
 * a copy: tar makes it a hard link (the right content), a restore of ours
 * a file of its own with its own metadata. */
static int write_copy(struct bk *b, struct bk_member *m, const char *held,
		      const uint8_t sha[HASH_SHA256_LEN])
{
	char hex[HASH_SHA256_HEX + 1];

	hash_hex(sha, HASH_SHA256_LEN, hex);
	archive_entry_copy_hardlink(m->e, held);
	archive_entry_set_size(m->e, 0);
	archive_entry_xattr_add_entry(m->e, BK_COPY_XATTR, hex, HASH_SHA256_HEX);
	m->ce.flags |= ARC_M_COPY;
	m->ce.target = held;
	memcpy(m->ce.sha256, sha, HASH_SHA256_LEN);
	m->ce.has_hash = true;
	b->r->copies++;
	b->r->copy_bytes += m->st->size;
	position(b, &m->ce.pos);
	return archive_write_header(b->a, m->e) < ARCHIVE_WARN ? -EPIPE : 0;
}

/* A regular file's content: once per set. */
static int write_content(struct bk *b, struct bk_member *m)
{
	uint8_t sha[HASH_SHA256_LEN];
	const char *held;
	int rc;

	if (!si_eligible(b, m))
		return write_file(b, m, NULL);
	if ((rc = pend_settle(b, m->st->size)) < 0)
		return rc;
	if (bk_si_size_known(b->si, m->st->size)) {
		if ((rc = hash_file(b, m, sha)) < 0)
			return rc;
		if ((held = bk_si_find(b->si, m->st->size, sha)))
			return write_copy(b, m, held, sha);
		memcpy(m->ce.sha256, sha, sizeof(sha));   /* not hashed again */
		m->ce.has_hash = true;
	}
	rc = write_file(b, m, NULL);
	/* out of memory here costs only later copies of this content */
	if (rc == 0 && m->ticket)
		m->si = true;   /* once it is hashed (pend_pop) */
	else if (rc == 0 && m->ce.has_hash)
		bk_si_add(b->si, m->st->size, m->ce.sha256, m->name);
	return rc;
}

/* ---- one member, continued ------------------------------------------------------- */

static int write_member(struct bk *b, struct bk_member *m)
{
	const char *first = NULL;
	int rc = 0;

	set_stat(m->e, m->st);
	archive_entry_copy_pathname(m->e, m->name);
	m->ce.type = member_type(m->st->mode);
	m->ce.size = S_ISREG(m->st->mode) ? m->st->size : 0;
	if (S_ISLNK(m->st->mode)) {
		ssize_t n = fs_readlink(b->src[b->vol], m->path, m->target, sizeof(m->target));

		if (n < 0 || (size_t)n >= sizeof(m->target))
			return n < 0 ? (int)n : -ENAMETOOLONG;
		m->target[n] = 0;
		archive_entry_copy_symlink(m->e, m->target);
		m->ce.target = m->target;
	}
	if (S_ISREG(m->st->mode) && m->st->nlink > 1 && (first = link_seen(b, m))) {
		archive_entry_copy_hardlink(m->e, first);
		archive_entry_set_size(m->e, 0);
		m->ce.type = ARC_T_HARDLINK;
		m->ce.size = 0;
		m->ce.target = first;
	}
	if (S_ISREG(m->st->mode) && !first && bk_efs_member(b->src[b->vol], m->st)) {
		rc = bk_efs_check(b->src[b->vol], m->path, NULL, m->st->size, b->xbuf,
				  BK_XATTR_MAX, &b->item);
		if (rc < 0)
			return rc;
		m->ce.flags |= ARC_M_EFS_RAW;
	}
	rc = add_xattrs(b, m);
	if (rc < 0)
		return rc;
	add_btime(b, m);
	if (S_ISREG(m->st->mode) && !first)
		return write_content(b, m);
	position(b, &m->ce.pos);
	return archive_write_header(b->a, m->e) < ARCHIVE_WARN ? -EPIPE : 0;
}

static int lost(struct bk *b, struct bk_member *m, int rc);

/* ---- NTFS alternate data streams ------------------------------------------------------
 *
 * Each named stream is a member of its own, "vN/PATH:NAME", right after
 * its file, marked by the xattr BK_ADS_XATTR (its value: the stream's
 * name), a name in no namespace, so that GNU tar --xattrs cannot apply it
 * to anything; the catalog calls it type 'a'.  GNU tar alone extracts it
 * as a file named "PATH:NAME".
 */
#define BK_ADS_XATTR "sysrecover.ads"

struct bk_streams {
	char **name;
	uint64_t *size;
	size_t n;
	int rc;
};

static int note_stream(void *arg, const char *name, uint64_t size)
{
	struct bk_streams *ss = arg;
	char **nn = realloc(ss->name, (ss->n + 1) * sizeof(*nn));
	uint64_t *ns = nn ? realloc(ss->size, (ss->n + 1) * sizeof(*ns)) : NULL;

	if (nn)
		ss->name = nn;
	if (!nn || !ns || !(ss->name[ss->n] = strdup(name))) {
		ss->rc = -ENOMEM;
		return 1;
	}
	ss->size = ns;
	ss->size[ss->n++] = size;
	return 0;
}

static int write_stream(struct bk *b, const struct bk_member *file, const char *name,
			uint64_t size)
{
	struct fs_stat st = *file->st;
	struct bk_member m = { .path = file->path, .st = &st };
	int rc;

	st.mode = S_IFREG | 0644;
	st.nlink = 1;
	st.size = st.alloc = size;
	if ((size_t)snprintf(m.name, sizeof(m.name), "%s:%s", file->name, name) >= sizeof(m.name) ||
	    (size_t)snprintf(m.target, sizeof(m.target), "%s:%s", file->path, name) >=
	    sizeof(m.target))
		return err_set(b->err, -ENAMETOOLONG, "cannot back up stream '%s' of '%s': the "
			       "name is too long", name, file->path);
	m.ce = (struct arc_entry){ .index = b->r->members, .vol = b->vol,
				   .type = ARC_T_STREAM, .size = size, .path = m.target };
	if (!(m.e = archive_entry_new()))
		return -ENOMEM;
	set_stat(m.e, &st);
	archive_entry_copy_pathname(m.e, m.name);
	archive_entry_xattr_add_entry(m.e, BK_ADS_XATTR, name, strlen(name));
	rc = 0;
	if (file->ce.flags & ARC_M_EFS_RAW) {   /* its streams are raw too */
		m.ce.flags |= ARC_M_EFS_RAW;
		rc = bk_efs_check(b->src[b->vol], file->path, name, size, b->xbuf,
				  BK_XATTR_MAX, &b->item);
	}
	if (rc == 0)
		rc = write_file(b, &m, name);
	archive_entry_free(m.e);
	if (rc == -EPIPE || b->werr)
		return -EPIPE;
	if (rc < 0)
		lost(b, &m, rc);
	else
		b->r->streams++;
	b->r->members++;
	return cat_add(b, &m);
}

/* The named streams of a file or directory on NTFS, after it. */
static int write_streams(struct bk *b, const struct bk_member *m)
{
	struct bk_streams ss = { 0 };
	int rc = 0;

	if (!(fs_caps(b->src[b->vol]) & FS_CAP_NTFS) ||
	    !(S_ISREG(m->st->mode) || S_ISDIR(m->st->mode)))
		return 0;
	if (fs_stream_list(b->src[b->vol], m->path, note_stream, &ss) < 0 || ss.rc < 0)
		rc = ss.rc ? ss.rc : 0;   /* a file without streams (or we cannot tell) */
	for (size_t i = 0; rc == 0 && i < ss.n; i++)
		rc = write_stream(b, m, ss.name[i], ss.size[i]);
	for (size_t i = 0; i < ss.n; i++)
		free(ss.name[i]);
	free(ss.name);
	free(ss.size);
	return rc;
}

static bool excluded(const struct bk *b, const char *path)
{
	/* SIS links need their common store: no rule or pattern drops it
	 * (b->sis is there for every NTFS source, system state included) */
	if (b->sis && bk_sis_in_store(path))
		return false;
	if (b->sys && b->vol == 0 && bk_sys_leave_out(b->sys, b->label.vol[0].id, path))
		return true;
	for (size_t i = 0; i < b->o->nexcl; i++)
		if (fnmatch(b->o->excludes[i], path, 0) == 0)
			return true;
	return false;
}

static bool under(const char *path, const char *dir, size_t len)
{
	return !strncmp(path, dir, len) && path[len] == '/';
}

static void count(struct bk *b, const struct arc_entry *ce)
{
	switch (ce->type) {
	case ARC_T_FILE:
		b->r->files++;
		b->r->efs_raw += (ce->flags & ARC_M_EFS_RAW) != 0;
		break;
	case ARC_T_DIR: b->r->dirs++; break;
	case ARC_T_SYMLINK: b->r->symlinks++; break;
	case ARC_T_HARDLINK: b->r->links++; break;
	default: b->r->specials++; break;
	}
}

/* A member that could not be read: reported, left out of the data, kept in
 * the catalog as lost so that a restore can say what is missing. */
static int lost(struct bk *b, struct bk_member *m, int rc)
{
	struct err why = { 0 };
	const struct err *fe = fs_error(b->src[b->vol]);

	if (b->item.msg[0])
		err_copy(&why, &b->item);
	else if (fe->msg[0])
		err_copy(&why, fe);
	else
		err_set(&why, rc, "cannot read '%s' of %s: %s", m->path,
			b->label.vol[b->vol].source, strerror(-rc));
	err_relevel(&why, ERR_ITEM);
	err_clear(&b->item);
	b->r->failed++;
	if (b->o->report)
		b->o->report(b->o->arg, b->label.vol[b->vol].id, m->path, &why);
	if (S_ISDIR(m->st->mode)) {
		free(b->skip);
		b->skip = strdup(m->path);
		b->skip_len = b->skip ? strlen(b->skip) : 0;
	}
	m->ce.flags |= ARC_M_LOST;
	m->ce.has_hash = false;
	m->ticket = 0;
	m->si = false;
	m->ce.pos = (struct arc_pos){ .lblock = UINT64_MAX };
	return 0;
}

static int walk_one(void *arg, const char *path, const struct fs_stat *st)
{
	struct bk *b = arg;
	struct bk_member m = { .path = path, .st = st };
	int rc;

	if (stop_requested())
		return -EINTR;
	if (b->skip && under(path, b->skip, b->skip_len))
		return 0;
	if (strcmp(path, "/") && excluded(b, path)) {
		if (S_ISDIR(st->mode)) {
			free(b->skip);
			b->skip = strdup(path);
			b->skip_len = b->skip ? strlen(b->skip) : 0;
		}
		return 0;
	}
	snprintf(m.name, sizeof(m.name), "%s%s", b->label.vol[b->vol].id, path);
	m.ce.index = b->r->members;
	m.ce.vol = b->vol;
	m.ce.path = path;
	if (b->sys && b->vol == 0 && S_ISREG(st->mode) && bk_sys_is_hive(b->sys, b->src[0], path))
		m.ce.flags |= ARC_M_HIVE;
	if (!b->o->dry_run) {
		m.e = archive_entry_new();
		if (!m.e)
			return err_set(b->err, -ENOMEM, "out of memory");
		rc = write_member(b, &m);
		archive_entry_free(m.e);
		if (rc == -EPIPE || b->werr)   /* the archive (the tape) failed: fatal */
			return la_fail(b, "write the data of the set");
		if (rc < 0)
			lost(b, &m, rc);
		else
			count(b, &m.ce);
		if ((rc = cat_add(b, &m)) < 0)
			return rc;
		b->r->members++;
		if (!(m.ce.flags & ARC_M_LOST) && (rc = write_streams(b, &m)) < 0)
			return rc == -EPIPE ? la_fail(b, "write the data of the set") : rc;
		if (b->o->progress)
			progress_add(b->o->progress, 0, 1);
		return 0;
	} else {
		m.ce.type = member_type(st->mode);
		count(b, &m.ce);
		if (S_ISREG(st->mode))
			b->r->bytes += st->size;
	}
	b->r->members++;
	if (b->o->progress)
		progress_add(b->o->progress, 0, 1);
	return 0;
}

/* ---- catalog ---------------------------------------------------------------------- */

static int spool_put(void *arg, const void *rec, size_t len)
{
	struct bk *b = arg;

	if (fwrite(rec, 1, len, b->spool) != len)
		return err_set(b->err, -errno ? -errno : -EIO, "cannot spool the catalog: %s",
			       strerror(errno ? errno : EIO));
	return 0;
}

static int open_catalog(struct bk *b)
{
	b->spool = tmpfile();
	if (!b->spool)
		return err_set(b->err, -errno, "cannot make a temporary file for the "
			       "catalog: %s", strerror(errno));
	return arc_catw_open(&b->cat, b->label.record_size, spool_put, b, b->err);
}

/* The spooled records onto the tape, each as it was cut. */
static int write_catalog(struct bk *b)
{
	uint64_t n = 0;
	size_t len;
	int rc = arc_catw_close(b->cat, &n);

	b->cat = NULL;
	if (rc == 0 && (fflush(b->spool) != 0 || fseek(b->spool, 0, SEEK_SET) != 0))
		rc = err_set(b->err, -EIO, "cannot read the spooled catalog back");
	while (rc == 0 && (len = fread(b->buf, 1, b->label.record_size, b->spool)) > 0) {
		rc = put_record(b, b->buf, len);
		b->r->catalog_records++;
	}
	if (rc == 0 && ferror(b->spool))
		rc = err_set(b->err, -EIO, "cannot read the spooled catalog back");
	if (rc == 0)
		rc = put_mark(b);
	return rc;
}

/* ---- the run ------------------------------------------------------------------------ */

static int open_sources(struct bk *b)
{
	if (b->o->nsrc == 0 || b->o->nsrc > ARC_VOL_MAX)
		return err_setc(b->err, ERR_FATAL, ERR_USAGE, -EINVAL, "a set holds 1 to %d "
				"sources", ARC_VOL_MAX);
	for (size_t i = 0; i < b->o->nsrc; i++) {
		/* encrypted files read raw, never decrypted (bk_efs.h) */
		int rc = fs_open(b->o->sources[i], FS_O_EFS_RAW, &b->src[i], b->err);

		if (rc < 0)
			return rc;
		describe(b, i, b->o->sources[i]);
	}
	b->label.nvol = b->o->nsrc;
	return 0;
}

static void fill_label(struct bk *b)
{
	struct arc_label *l = &b->label;

	l->version = ARC_FORMAT_VERSION;
	new_uuid(l->uuid);
	l->created = (int64_t)time(NULL);
	if (gethostname(l->host, sizeof(l->host)) < 0)
		snprintf(l->host, sizeof(l->host), "unknown");
	l->host[sizeof(l->host) - 1] = 0;
	snprintf(l->tool, sizeof(l->tool), "%s", b->o->tool ? b->o->tool : "sysrecover");
	l->record_size = b->o->record_size ? b->o->record_size : ARC_RECORD_DEFAULT;
	l->tape_no = 1;
}

static int run_walks(struct bk *b)
{
	int rc = 0;

	for (b->vol = 0; rc == 0 && b->vol < b->label.nvol; b->vol++) {
		free(b->skip);
		b->skip = NULL;
		bk_sis_free(b->sis);
		if (bk_sis_scan(b->src[b->vol], &b->sis) < 0)
			return err_set(b->err, -ENOMEM, "out of memory");
		rc = fs_walk(b->src[b->vol], "/", walk_one, b);
		if (rc > 0 || (rc < 0 && !err_failed(b->err)))
			rc = err_set(b->err, rc > 0 ? -EIO : rc, "cannot walk %s: %s",
				     b->label.vol[b->vol].source,
				     fs_errmsg(b->src[b->vol]));
	}
	return rc;
}

static int write_set(struct bk *b)
{
	int rc = tape_open(b->o->tape, NULL, &b->t);
	bool stopped;

	if (rc < 0)
		return err_set(b->err, rc, "cannot open %s: %s", b->o->tape, strerror(-rc));
	rc = find_end(b);
	if (rc == 0)
		rc = write_label(b);
	if (rc == 0)
		rc = open_catalog(b);
	if (rc == 0)
		rc = open_data(b);
	if (rc == 0 && ((rc = bk_hash_new(&b->hash)) < 0 ||
			!(b->pend = malloc(BK_PEND * sizeof(*b->pend)))))
		rc = err_set(b->err, rc < 0 ? rc : -ENOMEM, "cannot start the hashing thread: %s",
			     strerror(rc < 0 ? -rc : ENOMEM));
	if (rc == 0)
		rc = run_walks(b);
	/* SIGINT/SIGTERM between two members: the set is finished with what
	 * was written (data, catalog), a consistent, smaller set */
	if ((stopped = rc == -EINTR && stop_requested()))
		rc = 0;
	if (rc == 0)   /* the lines still waiting for their digests */
		rc = pend_pump(b, true);
	if (rc == 0) {
		archive_write_finish_entry(b->a);
		if (archive_write_close(b->a) != ARCHIVE_OK)
			rc = la_fail(b, "finish the data of the set");
		else
			slot_last(b);
	}
	if (rc == 0 && pipe_end(b) < 0) {   /* the tape is ours again from here */
		b->werr = b->pipe.err;
		rc = la_fail(b, "finish the data of the set");
	}
	if (rc == 0)
		rc = put_mark(b);
	if (rc == 0)
		rc = write_catalog(b);
	if (rc == 0 && stopped)
		rc = err_setc(b->err, ERR_FATAL, ERR_SYSTEM, -EINTR, "interrupted by %s after "
			      "%" PRIu64 " members: the set on %s holds those, with its catalog; "
			      "the rest was not backed up", stop_signame(), b->r->members,
			      b->o->tape);
	return rc;
}

/* Before the tape is touched: a volume that is not Windows is refused. */
static int open_system_state(struct bk *b)
{
	int rc;

	if (b->o->nsrc != 1)
		return err_setc(b->err, ERR_FATAL, ERR_USAGE, -EINVAL, "--system-state "
				"backs up one volume, the one Windows boots from");
	rc = bk_sys_open(b->src[0], b->o->sources[0], &b->sys, b->err);
	if (rc == 0)
		bk_sys_label(b->sys, &b->label, b->label.vol[0].id);
	return rc;
}

void bk_result_free(struct bk_result *r)
{
	bk_sys_result_free(r->sys);
	r->sys = NULL;
}

int bk_run(const struct bk_opts *o, struct bk_result *r, struct err *err)
{
	struct bk b = { .o = o, .r = r, .err = err };
	int rc;

	memset(r, 0, sizeof(*r));
	err_clear(err);
	fill_label(&b);
	b.buf = malloc(BK_BUF > b.label.record_size ? BK_BUF : b.label.record_size);
	b.xbuf = malloc(BK_XATTR_MAX);
	rc = b.buf && b.xbuf && bk_si_new(&b.si, BK_SI_BUDGET) == 0 ? open_sources(&b) :
	     err_set(err, -ENOMEM, "out of memory");
	if (rc == 0 && o->system_state)
		rc = open_system_state(&b);
	if (rc == 0 && o->dry_run)
		rc = run_walks(&b);
	else if (rc == 0)
		rc = write_set(&b);
	snprintf(r->uuid, sizeof(r->uuid), "%s", b.label.uuid);
	r->label_file = b.label.tape_file;
	if (b.a)   /* (may flush a last record through the writer thread) */
		archive_write_free(b.a);
	pipe_free(&b);   /* joined before the tape is closed */
	bk_hash_free(b.hash);
	free(b.pend);
	if (b.cat)
		arc_catw_abort(b.cat);
	if (b.spool)
		fclose(b.spool);
	if (b.t) {
		int crc = tape_close(b.t);

		if (crc < 0 && rc == 0)
			rc = err_set(err, crc, "cannot close %s: %s", o->tape, strerror(-crc));
	}
	for (size_t i = 0; i < ARC_VOL_MAX; i++)
		if (b.src[i])
			fs_close(b.src[i]);
	for (size_t i = 0; b.links && i < b.nbuckets; i++)
		for (struct bk_link *l = b.links[i], *n; l; l = n) {
			n = l->next;
			free(l);
		}
	free(b.links);
	r->si_full = b.si && bk_si_full(b.si);
	if (b.sys)
		bk_sys_take(b.sys, &r->sys);
	bk_sys_free(b.sys);
	bk_si_free(b.si);
	bk_sis_free(b.sis);
	free(b.skip);
	free(b.buf);
	free(b.xbuf);
	return rc;
}
