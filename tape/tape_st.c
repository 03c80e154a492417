/* tape_st.c - a real tape drive through the Linux st driver (/dev/nstN).
 *
 * Positioning goes through MTIOCTOP, status through MTIOCGET and MTIOCPOS
 * (linux/mtio.h, never glibc's older sys/mtio.h).  What mtio cannot tell (block
 * limits, compression state, partition count) is asked of the drive with SCSI
 * commands over SG_IO, which st passes through; a drive that will not answer
 * simply leaves those fields unknown.
 *
 * Two things st leaves ambiguous are settled here, as observed on st with
 * scsi_debug (tests/vm/README.md):
 *  - a read at end of data that does not follow a filemark fails with EIO,
 *    like a media error; we look whether the tape is at EOD to tell them apart;
 *  - the write that meets early warning fails with ENOSPC although its block
 *    IS on the tape.  We compare positions, so that what tape_write returns is
 *    always what reached the tape: that write succeeds, and the refusals that
 *    follow are the st.rst cadence the virtual drives also follow.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/mtio.h>
#include <scsi/sg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tape_impl.h"

struct st_drive {
	int fd;
	bool read_only;
	bool pos_known;   /* pos is the drive's logical position */
	long pos;
	bool in_ew;       /* a write met early warning since the last motion */
};

static struct st_drive *D(struct tape *t)
{
	return t->priv;
}

static int FD(struct tape *t)
{
	return ((struct st_drive *)t->priv)->fd;
}

static const char *const op_names[] = {
	[MTRESET] = "MTRESET", [MTFSF] = "MTFSF", [MTBSF] = "MTBSF",
	[MTFSR] = "MTFSR", [MTBSR] = "MTBSR", [MTWEOF] = "MTWEOF",
	[MTREW] = "MTREW", [MTOFFL] = "MTOFFL", [MTNOP] = "MTNOP",
	[MTRETEN] = "MTRETEN", [MTEOM] = "MTEOM", [MTERASE] = "MTERASE",
	[MTSETBLK] = "MTSETBLK", [MTSEEK] = "MTSEEK", [MTFSS] = "MTFSS",
	[MTBSS] = "MTBSS", [MTWSM] = "MTWSM", [MTLOCK] = "MTLOCK",
	[MTUNLOCK] = "MTUNLOCK", [MTLOAD] = "MTLOAD", [MTUNLOAD] = "MTUNLOAD",
	[MTCOMPRESSION] = "MTCOMPRESSION", [MTSETPART] = "MTSETPART",
	[MTMKPART] = "MTMKPART", [MTSETDRVBUFFER] = "MTSETDRVBUFFER",
};

static int mtop(struct tape *t, short op, int count)
{
	struct mtop m = { .mt_op = op, .mt_count = count };

	const char *name = (size_t)op < sizeof(op_names) / sizeof(*op_names) &&
			   op_names[op] ? op_names[op] : "MTIOCTOP";

	D(t)->pos_known = false;  /* every operation may move the tape */
	if (op != MTWEOF && op != MTNOP)
		D(t)->in_ew = false;
	if (ioctl(FD(t), MTIOCTOP, &m) < 0) {
		int e = errno;

		return tape_fail(t, -e, "%s %d on %s: %s", name, count, t->name,
				 strerror(e));
	}
	return 0;
}

static int mtget(struct tape *t, struct mtget *g)
{
	memset(g, 0, sizeof(*g));
	if (ioctl(FD(t), MTIOCGET, g) < 0) {
		int e = errno;

		return tape_fail(t, -e, "MTIOCGET on %s: %s", t->name, strerror(e));
	}
	return 0;
}

/* Send a 6-byte CDB that reads `len` bytes; 0 on success. */
static int sg_in(struct tape *t, const uint8_t cdb[6], uint8_t *buf, unsigned len)
{
	uint8_t sense[32];
	struct sg_io_hdr io = {
		.interface_id = 'S',
		.dxfer_direction = SG_DXFER_FROM_DEV,
		.cmd_len = 6,
		.mx_sb_len = sizeof(sense),
		.dxfer_len = len,
		.dxferp = buf,
		.cmdp = (unsigned char *)cdb,
		.sbp = sense,
		.timeout = 10000,
	};

	if (ioctl(FD(t), SG_IO, &io) < 0)
		return -errno;
	if ((io.info & SG_INFO_OK_MASK) != SG_INFO_OK)
		return -EIO;
	return 0;
}

static int read_pos(struct tape *t, long *pos)
{
	struct mtpos p;

	if (ioctl(FD(t), MTIOCPOS, &p) < 0)
		return -errno;
	*pos = p.mt_blkno;
	return 0;
}

/* After a read failed with EIO: is the tape simply at end of data?  Space to
 * EOD and see whether that moved; if it did, go back and report the error. */
static bool at_eod(struct tape *t)
{
	long before = 0, after = -1;

	if (read_pos(t, &before) < 0 || mtop(t, MTEOM, 1) < 0 ||
	    read_pos(t, &after) < 0)
		return false;
	if (before == after)
		return true;
	mtop(t, MTSEEK, (int)before);
	return false;
}

static ssize_t st_read(struct tape *t, void *buf, size_t len, enum tape_rd *what)
{
	struct mtget g;
	ssize_t n;
	int rc;

	*what = TAPE_RD_DATA;
	D(t)->pos_known = false;
	n = read(FD(t), buf, len);
	if (n < 0) {
		int e = errno;

		if (e == EIO && at_eod(t)) {
			t->err[0] = 0;
			*what = TAPE_RD_EOD;
			return 0;
		}
		return tape_fail(t, -e, "read of %zu bytes from %s: %s%s", len,
				 t->name, strerror(e), e == ENOMEM ?
				 " (block larger than the buffer)" : "");
	}
	if (n > 0)
		return n;
	/* st says "mark" and "end of data" both with a 0-byte read. */
	rc = mtget(t, &g);
	if (rc < 0)
		return rc;
	if (GMT_EOD(g.mt_gstat))
		*what = TAPE_RD_EOD;
	else if (GMT_SM(g.mt_gstat))
		*what = TAPE_RD_SETMARK;
	else
		*what = TAPE_RD_FILEMARK;
	return 0;
}

/* Blocks a write of len bytes makes: one in variable mode. */
static long blocks_of(struct tape *t, size_t len)
{
	struct mtget g;
	uint32_t bs;

	if (mtget(t, &g) < 0)
		return 1;
	bs = (uint32_t)((g.mt_dsreg & MT_ST_BLKSIZE_MASK) >> MT_ST_BLKSIZE_SHIFT);
	return bs ? (long)(len / bs) : 1;
}

static ssize_t st_write(struct tape *t, const void *buf, size_t len)
{
	struct st_drive *d = D(t);
	ssize_t n;
	long now = -1;
	int e;

	if (!d->pos_known)
		d->pos_known = read_pos(t, &d->pos) == 0;
	n = write(FD(t), buf, len);
	if (n >= 0) {
		if (d->pos_known)
			d->pos += n ? blocks_of(t, (size_t)n) : 0;
		return n;
	}
	e = errno;
	if (e == ENOSPC)
		d->in_ew = true;  /* st forgets GMT_EOT after a refused write */
	/* ENOSPC at early warning may still have put the block on tape. */
	if (e == ENOSPC && d->pos_known && read_pos(t, &now) == 0 &&
	    now == d->pos + blocks_of(t, len)) {
		d->pos = now;
		return (ssize_t)len;
	}
	d->pos_known = false;
	return tape_fail(t, -e, "write of %zu bytes to %s: %s%s", len, t->name,
			 strerror(e), e == ENOSPC ?
			 " (early warning or end of medium)" : "");
}

static int st_write_marks(struct tape *t, enum tape_mark kind, unsigned count)
{
	return mtop(t, kind == TAPE_MK_SETMARK ? MTWSM : MTWEOF, (int)count);
}

static int st_rewind(struct tape *t)
{
	return mtop(t, MTREW, 1);
}

static int st_space(struct tape *t, enum tape_space what, long count)
{
	static const short fwd[] = { MTFSR, MTFSF, MTFSS, MTEOM };
	static const short back[] = { MTBSR, MTBSF, MTBSS, MTEOM };

	if (what == TAPE_SP_EOD)
		return mtop(t, MTEOM, 1);
	if (count > INT32_MAX || count < -INT32_MAX)
		return tape_fail(t, -EINVAL, "space count %ld too large", count);
	if (count > 0)
		return mtop(t, fwd[what], (int)count);
	return mtop(t, back[what], (int)-count);
}

/* st keeps partitioning switched off until asked; a program that wants
 * partitions has to say so (mt's "stsetoptions can-partitions"). */
static int enable_partitions(struct tape *t)
{
	return mtop(t, MTSETDRVBUFFER, MT_ST_SETBOOLEANS | MT_ST_CAN_PARTITIONS);
}

static int switch_part(struct tape *t, unsigned part)
{
	int rc = mtop(t, MTSETPART, (int)part);

	if (rc == -EINVAL && enable_partitions(t) == 0)
		rc = mtop(t, MTSETPART, (int)part);
	return rc;
}

/* st returns to where it last was in that partition; we promise its start. */
static int st_setpart(struct tape *t, unsigned part)
{
	int rc = switch_part(t, part);

	return rc < 0 ? rc : mtop(t, MTSEEK, 0);
}

static int st_tell(struct tape *t, unsigned *part, uint64_t *block)
{
	struct mtpos p;
	struct mtget g;
	int rc;

	if (ioctl(FD(t), MTIOCPOS, &p) < 0) {
		int e = errno;

		return tape_fail(t, -e, "MTIOCPOS on %s: %s", t->name, strerror(e));
	}
	rc = mtget(t, &g);
	if (rc < 0)
		return rc;
	*block = (uint64_t)p.mt_blkno;
	*part = g.mt_resid >= 0 ? (unsigned)g.mt_resid : 0;
	return 0;
}

static int st_locate(struct tape *t, unsigned part, uint64_t block)
{
	unsigned cur;
	uint64_t b;
	int rc = st_tell(t, &cur, &b);

	if (block > INT32_MAX)
		return tape_fail(t, -EINVAL, "block %" PRIu64 " is beyond what"
				 " MTSEEK can address", block);
	if (rc == 0 && cur != part)
		rc = switch_part(t, part);
	if (rc == 0)
		rc = mtop(t, MTSEEK, (int)block);
	return rc;
}

static int st_erase(struct tape *t, bool long_erase)
{
	return mtop(t, MTERASE, long_erase ? 1 : 0);
}

static int st_prepare(struct tape *t, enum tape_prep op)
{
	static const short ops[] = {
		[TAPE_PREP_LOAD] = MTLOAD, [TAPE_PREP_UNLOAD] = MTUNLOAD,
		[TAPE_PREP_LOCK] = MTLOCK, [TAPE_PREP_UNLOCK] = MTUNLOCK,
		[TAPE_PREP_TENSION] = MTRETEN,
	};

	return mtop(t, ops[op], 1);
}

static int st_mkpart(struct tape *t, long size_mb)
{
	int rc;

	if (size_mb > INT32_MAX || size_mb < -INT32_MAX)
		return tape_fail(t, -EINVAL, "partition size %ld too large", size_mb);
	rc = mtop(t, MTMKPART, (int)size_mb);
	if (rc == -EINVAL && enable_partitions(t) == 0)
		rc = mtop(t, MTMKPART, (int)size_mb);
	return rc;
}

/* READ BLOCK LIMITS (SSC): granularity, maximum and minimum block size. */
static void block_limits(struct tape *t, struct tape_params *p)
{
	const uint8_t cdb[6] = { 0x05 };
	uint8_t r[6] = { 0 };

	if (sg_in(t, cdb, r, sizeof(r)) < 0)
		return;
	p->granularity = r[0] & 0x1f;
	p->max_block = (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 | r[3];
	p->min_block = (uint32_t)r[4] << 8 | r[5];
}

/* MODE SENSE(6) pages 0x0F (data compression) and 0x11 (partitions). */
static void mode_pages(struct tape *t, struct tape_params *p)
{
	uint8_t cdb[6] = { 0x1a, 0x08, 0x0f, 0, 255, 0 }, r[255] = { 0 };
	unsigned bd;

	if (sg_in(t, cdb, r, sizeof(r)) == 0) {
		bd = r[3];  /* block descriptor length, normally 0 with DBD */
		if (4u + bd + 2 < sizeof(r) && (r[4 + bd] & 0x3f) == 0x0f) {
			p->compression = (r[4 + bd + 2] & 0x80) != 0;
			p->features |= TAPE_FEAT_COMPRESSION;
		}
	}
	cdb[2] = 0x11;
	memset(r, 0, sizeof(r));
	if (sg_in(t, cdb, r, sizeof(r)) == 0) {
		bd = r[3];
		if (4u + bd + 3 < sizeof(r) && (r[4 + bd] & 0x3f) == 0x11) {
			p->max_partitions = r[4 + bd + 2] + 1u;
			p->partitions = r[4 + bd + 3] + 1u;
		}
	}
}

static int st_get_params(struct tape *t, struct tape_params *p)
{
	struct mtget g;
	int rc = mtget(t, &g);

	if (rc < 0)
		return rc;
	p->block_size = (uint32_t)((g.mt_dsreg & MT_ST_BLKSIZE_MASK) >>
				   MT_ST_BLKSIZE_SHIFT);
	p->density = (uint32_t)((g.mt_dsreg & MT_ST_DENSITY_MASK) >>
				MT_ST_DENSITY_SHIFT);
	/* Setmarks are a DDS feature that LTO and scsi_debug lack; there is
	 * no way to ask, so they are not promised. */
	p->features = TAPE_FEAT_FIXED_BLOCK | TAPE_FEAT_LOCATE |
		      TAPE_FEAT_EARLY_WARNING;
	p->max_partitions = 1;
	p->partitions = 1;
	block_limits(t, p);
	mode_pages(t, p);
	if (p->max_partitions > 1)
		p->features |= TAPE_FEAT_PARTITIONS;
	return 0;
}

static int st_set_blksize(struct tape *t, uint32_t bs)
{
	if (bs > INT32_MAX)
		return tape_fail(t, -EINVAL, "block size %" PRIu32 " too large", bs);
	return mtop(t, MTSETBLK, (int)bs);
}

static int st_set_compression(struct tape *t, bool on)
{
	return mtop(t, MTCOMPRESSION, on ? 1 : 0);
}

static int st_status(struct tape *t, struct tape_status *s)
{
	struct mtget g;
	struct mtpos p;
	int rc = mtget(t, &g);

	if (rc < 0)
		return rc;
	s->file = g.mt_fileno;
	s->block = g.mt_blkno;
	s->partition = g.mt_resid >= 0 ? (unsigned)g.mt_resid : 0;
	s->block_size = (uint32_t)((g.mt_dsreg & MT_ST_BLKSIZE_MASK) >>
				   MT_ST_BLKSIZE_SHIFT);
	s->density = (uint32_t)((g.mt_dsreg & MT_ST_DENSITY_MASK) >>
				MT_ST_DENSITY_SHIFT);
	s->bot = GMT_BOT(g.mt_gstat);
	s->eof = GMT_EOF(g.mt_gstat);
	s->eot = GMT_EOT(g.mt_gstat) || D(t)->in_ew;
	s->sm = GMT_SM(g.mt_gstat);
	s->eod = GMT_EOD(g.mt_gstat);
	s->wr_prot = GMT_WR_PROT(g.mt_gstat) ||
		     ((struct st_drive *)t->priv)->read_only;
	s->online = GMT_ONLINE(g.mt_gstat);
	s->no_medium = GMT_DR_OPEN(g.mt_gstat);
	if (s->online && ioctl(FD(t), MTIOCPOS, &p) == 0) {
		s->logical = (uint64_t)p.mt_blkno;
		s->logical_valid = true;
	}
	return 0;
}

static int st_close(struct tape *t)
{
	struct st_drive *d = t->priv;
	int rc = close(d->fd) < 0 ? -errno : 0;

	free(d);
	return rc;
}

static const struct tape_ops st_ops = {
	.read = st_read,
	.write = st_write,
	.write_marks = st_write_marks,
	.rewind = st_rewind,
	.space = st_space,
	.locate = st_locate,
	.tell = st_tell,
	.erase = st_erase,
	.prepare = st_prepare,
	.mkpart = st_mkpart,
	.setpart = st_setpart,
	.get_params = st_get_params,
	.set_blksize = st_set_blksize,
	.set_compression = st_set_compression,
	.status = st_status,
	.close = st_close,
};

int tape_open_st(const char *dev, bool read_only, struct tape **out)
{
	struct st_drive *d = calloc(1, sizeof(*d));
	struct tape *t;
	int rc = -ENOMEM;

	if (!d)
		goto out;
	d->read_only = read_only;
	/* O_NONBLOCK: without a tape, st would wait minutes before failing; we
	 * want `status` and `load` to work then.  It only matters for open. */
	d->fd = open(dev, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK);
	/* A write-protected cartridge refuses O_RDWR; it can still be read. */
	if (d->fd < 0 && !read_only && (errno == EROFS || errno == EACCES)) {
		d->read_only = true;
		d->fd = open(dev, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	}
	rc = -errno;
	if (d->fd < 0)
		goto out;
	rc = fcntl(d->fd, F_SETFL, fcntl(d->fd, F_GETFL) & ~O_NONBLOCK) < 0 ? -errno : 0;
	if (rc < 0)
		goto out;
	rc = -ENOMEM;
	t = tape_alloc(&st_ops, "st", dev);
	if (!t)
		goto out;
	t->priv = d;
	*out = t;
	return 0;
out:
	if (d && d->fd >= 0)
		close(d->fd);
	free(d);
	return rc;
}
