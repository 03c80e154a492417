/* tape_test.c - drive self-test in the spirit of Bacula's `btape test`.
 *
 * Every block carries a 32-bit big-endian sequence tag in its first 4 bytes,
 * because scsi_debug's tape emulation keeps only those 4 bytes of each block;
 * on drives that keep all bytes (virtual ones) the whole payload is checked.
 * Checks run in an order where each leaves the tape in a known state for the
 * next; the destructive ones (partitioning, filling to early warning) come last.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tape.h"

#define FILE_BLOCKS 20
#define EW_MAX_BLOCKS 20000  /* a larger tape is not filled by a self-test */

struct tt {
	struct tape *t;
	FILE *out;
	struct tape_test_result *res;
	struct tape_params p;
	size_t rs;        /* record size written */
	size_t cap;       /* read buffer size */
	uint8_t *wbuf, *rbuf;
	bool exact;
	char why[256];    /* detail of the last failed step */
};

__attribute__((format(printf, 4, 0)))
static void report(struct tt *c, const char *verdict, const char *name,
		   const char *fmt, va_list ap)
{
	fprintf(c->out, "%s %s: ", verdict, name);
	vfprintf(c->out, fmt, ap);
	fputc('\n', c->out);
	fflush(c->out);
}

/* Record one check; returns ok so callers can stop a dependent sequence. */
__attribute__((format(printf, 4, 5)))
static bool check(struct tt *c, bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (ok)
		report(c, "PASS", name, fmt, ap);
	else
		fprintf(c->out, "FAIL %s: %s\n", name,
			c->why[0] ? c->why : "the check did not hold");
	va_end(ap);
	fflush(c->out);
	c->why[0] = 0;
	if (ok)
		c->res->passed++;
	else
		c->res->failed++;
	return ok;
}

__attribute__((format(printf, 3, 4)))
static void skip(struct tt *c, const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(c, "SKIP", name, fmt, ap);
	va_end(ap);
	c->res->skipped++;
}

/* Note why a step failed, for the FAIL line; always returns false. */
__attribute__((format(printf, 2, 3)))
static bool why(struct tt *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return false;
}

static bool op_ok(struct tt *c, int rc, const char *what)
{
	if (rc < 0)
		return why(c, "%s: %s", what, *tape_errmsg(c->t) ?
			   tape_errmsg(c->t) : strerror(-rc));
	return true;
}

static void fill(uint8_t *b, size_t n, uint32_t tag)
{
	b[0] = (uint8_t)(tag >> 24);
	b[1] = (uint8_t)(tag >> 16);
	b[2] = (uint8_t)(tag >> 8);
	b[3] = (uint8_t)tag;
	for (size_t i = 4; i < n; i++)
		b[i] = (uint8_t)(tag * 31u + i * 7u);
}

static uint32_t tag_of(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static bool put(struct tt *c, uint32_t tag)
{
	ssize_t n;

	fill(c->wbuf, c->rs, tag);
	n = tape_write(c->t, c->wbuf, c->rs);
	if (n < 0)
		return op_ok(c, (int)n, "write");
	if ((size_t)n != c->rs)
		return why(c, "short write: %zd of %zu bytes", n, c->rs);
	return true;
}

static bool put_range(struct tt *c, uint32_t from, uint32_t to)
{
	for (uint32_t tag = from; tag < to; tag++)
		if (!put(c, tag))
			return false;
	return true;
}

/* Read one record and check it is the data block `tag`. */
static bool get(struct tt *c, uint32_t tag)
{
	enum tape_rd what;
	ssize_t n = tape_read(c->t, c->rbuf, c->cap, &what);

	if (n < 0)
		return op_ok(c, (int)n, "read");
	if (n == 0)
		return why(c, "expected block %" PRIu32 ", found %s", tag,
			   what == TAPE_RD_EOD ? "end of data" : "a mark");
	if ((size_t)n != c->rs || tag_of(c->rbuf) != tag)
		return why(c, "expected block %" PRIu32 " of %zu bytes, found block"
			   " %" PRIu32 " of %zd bytes", tag, c->rs, tag_of(c->rbuf), n);
	fill(c->wbuf, c->rs, tag);
	if (c->exact && memcmp(c->wbuf, c->rbuf, c->rs))
		return why(c, "block %" PRIu32 " payload differs", tag);
	return true;
}

static bool get_range(struct tt *c, uint32_t from, uint32_t to)
{
	for (uint32_t tag = from; tag < to; tag++)
		if (!get(c, tag))
			return false;
	return true;
}

/* Read one record and check it is a mark or the end of data. */
static bool get_kind(struct tt *c, enum tape_rd want)
{
	static const char *const names[] = { "data", "a filemark", "a setmark",
					     "end of data" };
	enum tape_rd what;
	ssize_t n = tape_read(c->t, c->rbuf, c->cap, &what);

	if (n < 0)
		return op_ok(c, (int)n, "read");
	if (n > 0)
		what = TAPE_RD_DATA;
	if (what != want)
		return why(c, "expected %s, found %s", names[want], names[what]);
	return true;
}

static bool status_is(struct tt *c, long file, long block, bool bot)
{
	struct tape_status s;

	if (!op_ok(c, tape_status(c->t, &s), "status"))
		return false;
	if (s.file != file || s.block != block || s.bot != bot)
		return why(c, "status says file %ld block %ld%s, expected file %ld"
			   " block %ld%s", s.file, s.block, s.bot ? " BOT" : "",
			   file, block, bot ? " BOT" : "");
	return true;
}

/* Does the space operation fail, as it must when it meets BOT/EOD/a mark? */
static bool space_fails(struct tt *c, enum tape_space what, long n)
{
	int rc = tape_space(c->t, what, n);

	if (rc == 0)
		return why(c, "spacing %ld did not report the boundary", n);
	return true;
}

static unsigned cur_part(struct tt *c)
{
	unsigned part = 0;
	uint64_t blk;

	tape_tell(c->t, &part, &blk);
	return part;
}

static bool tell_is(struct tt *c, uint64_t want)
{
	unsigned part;
	uint64_t blk;

	if (!op_ok(c, tape_tell(c->t, &part, &blk), "tell"))
		return false;
	if (blk != want)
		return why(c, "tell says block %" PRIu64 ", expected %" PRIu64,
			   blk, want);
	return true;
}


/* ---- the checks --------------------------------------------------------- */

/* Tape layout after t_write: blocks 0-19, filemark, blocks 20-39, filemark.
 * Logical objects: 0-19 data, 20 mark, 21-40 data, 41 mark, EOD at 42. */
static void t_write(struct tt *c)
{
	check(c, op_ok(c, tape_rewind(c->t), "rewind") &&
		 put_range(c, 0, FILE_BLOCKS) &&
		 op_ok(c, tape_write_marks(c->t, TAPE_MK_FILEMARK, 1), "weof") &&
		 put_range(c, FILE_BLOCKS, 2 * FILE_BLOCKS) &&
		 op_ok(c, tape_write_marks(c->t, TAPE_MK_FILEMARK, 1), "weof"),
	      "write-two-files", "%d blocks of %zu bytes in two files, variable mode",
	      2 * FILE_BLOCKS, c->rs);
}

static void t_read(struct tt *c)
{
	check(c, op_ok(c, tape_rewind(c->t), "rewind") &&
		 get_range(c, 0, FILE_BLOCKS) && get_kind(c, TAPE_RD_FILEMARK) &&
		 get_range(c, FILE_BLOCKS, 2 * FILE_BLOCKS) &&
		 get_kind(c, TAPE_RD_FILEMARK) && get_kind(c, TAPE_RD_EOD),
	      "read-back", "every tag re-read in order, one filemark between the"
	      " files, then end of data%s", c->exact ? ", payloads byte-exact" : "");
}

/* At end of data st returns 0 twice and then fails; never data. */
static void t_read_eod(struct tt *c)
{
	enum tape_rd what = TAPE_RD_DATA;
	ssize_t n = tape_read(c->t, c->rbuf, c->cap, &what);

	check(c, n < 0 || (n == 0 && what == TAPE_RD_EOD) ||
		 why(c, "read at end of data returned %zd bytes", n),
	      "read-at-eod", "%s", n < 0 ? "read past end of data fails" :
	      "read past end of data reports end of data again");
}

static void t_space_records(struct tt *c)
{
	check(c, op_ok(c, tape_rewind(c->t), "rewind") &&
		 status_is(c, 0, 0, true) &&
		 op_ok(c, tape_space(c->t, TAPE_SP_RECORDS, 5), "fsr 5") &&
		 get(c, 5) &&
		 op_ok(c, tape_space(c->t, TAPE_SP_RECORDS, -2), "bsr 2") &&
		 get(c, 4),
	      "space-records", "fsr 5 then bsr 2 land on blocks 5 and 4");
	check(c, op_ok(c, tape_rewind(c->t), "rewind") &&
		 space_fails(c, TAPE_SP_RECORDS, FILE_BLOCKS + 5) &&
		 get(c, FILE_BLOCKS) && status_is(c, 1, 1, false),
	      "fsr-stops-at-filemark", "fsr %d stops after the filemark with an"
	      " error; next block read is %d", FILE_BLOCKS + 5, FILE_BLOCKS);
	check(c, space_fails(c, TAPE_SP_RECORDS, -3) &&
		 get_kind(c, TAPE_RD_FILEMARK) && get(c, FILE_BLOCKS),
	      "bsr-stops-at-filemark", "bsr 3 stops on the BOT side of the"
	      " filemark with an error");
}

static void t_space_files(struct tt *c)
{
	check(c, op_ok(c, tape_rewind(c->t), "rewind") &&
		 op_ok(c, tape_space(c->t, TAPE_SP_FILEMARKS, 1), "fsf 1") &&
		 status_is(c, 1, 0, false) && get(c, FILE_BLOCKS),
	      "fsf", "fsf 1 reaches file 1 block 0");
	check(c, op_ok(c, tape_space(c->t, TAPE_SP_FILEMARKS, -1), "bsf 1") &&
		 get_kind(c, TAPE_RD_FILEMARK) && get(c, FILE_BLOCKS),
	      "bsf", "bsf 1 ends on the BOT side of the filemark");
	check(c, op_ok(c, tape_rewind(c->t), "rewind") &&
		 space_fails(c, TAPE_SP_FILEMARKS, 5),
	      "fsf-past-eod", "fsf 5 on a two-file tape fails at end of data");
	check(c, op_ok(c, tape_rewind(c->t), "rewind") &&
		 space_fails(c, TAPE_SP_RECORDS, -1) &&
		 op_ok(c, tape_rewind(c->t), "rewind") && get(c, 0),
	      "bsr-at-bot", "bsr 1 at BOT fails and the tape stays at block 0");
	check(c, op_ok(c, tape_rewind(c->t), "rewind") &&
		 space_fails(c, TAPE_SP_FILEMARKS, -1) &&
		 op_ok(c, tape_rewind(c->t), "rewind") && get(c, 0),
	      "bsf-at-bot", "bsf 1 at BOT fails and the tape stays at block 0");
}

static void t_locate(struct tt *c)
{
	unsigned part = cur_part(c);

	check(c, op_ok(c, tape_rewind(c->t), "rewind") &&
		 op_ok(c, tape_space(c->t, TAPE_SP_RECORDS, 7), "fsr 7") &&
		 tell_is(c, 7) &&
		 op_ok(c, tape_locate(c->t, part, FILE_BLOCKS + 3), "seek") &&
		 get(c, FILE_BLOCKS + 2) && tell_is(c, FILE_BLOCKS + 4),
	      "tell-locate", "tell agrees with spacing; seek %d reads block %d"
	      " (filemarks count as logical blocks)", FILE_BLOCKS + 3,
	      FILE_BLOCKS + 2);
}

static void t_append(struct tt *c)
{
	check(c, op_ok(c, tape_space(c->t, TAPE_SP_EOD, 0), "eod") &&
		 put_range(c, 40, 43) &&
		 op_ok(c, tape_write_marks(c->t, TAPE_MK_FILEMARK, 1), "weof") &&
		 op_ok(c, tape_rewind(c->t), "rewind") &&
		 op_ok(c, tape_space(c->t, TAPE_SP_FILEMARKS, 2), "fsf 2") &&
		 get_range(c, 40, 43) && get_kind(c, TAPE_RD_FILEMARK) &&
		 get_kind(c, TAPE_RD_EOD),
	      "append-at-eod", "eod, 3 blocks and a filemark appended as file 2");
}

static void t_truncate(struct tt *c)
{
	unsigned part = cur_part(c);

	check(c, op_ok(c, tape_locate(c->t, part, 5), "seek 5") && put(c, 100) &&
		 get_kind(c, TAPE_RD_EOD) &&
		 op_ok(c, tape_rewind(c->t), "rewind") && get_range(c, 0, 5) &&
		 get(c, 100) && get_kind(c, TAPE_RD_EOD),
	      "write-truncates", "a write at block 5 drops everything after it");
}

static void t_short_buffer(struct tt *c)
{
	enum tape_rd what;
	ssize_t n;

	if (!op_ok(c, tape_rewind(c->t), "rewind")) {
		check(c, false, "short-buffer", "rewind failed");
		return;
	}
	n = tape_read(c->t, c->rbuf, c->rs / 2, &what);
	check(c, n == -ENOMEM || why(c, "read into a half-size buffer returned"
				     " %zd, expected ENOMEM", n),
	      "short-buffer", "variable-mode read into a buffer smaller than"
	      " the block fails with ENOMEM");
}

/* Fixed-block mode: one write of 3 blocks makes 3 records; a transfer that is
 * not a multiple of the block size is refused; a record of another size does
 * not read as a fixed block. */
static void t_fixed(struct tt *c)
{
	unsigned part = cur_part(c);
	uint64_t at = 0;
	ssize_t n = 0;
	bool ok;

	ok = op_ok(c, tape_space(c->t, TAPE_SP_EOD, 0), "eod") &&
	     op_ok(c, tape_tell(c->t, &part, &at), "tell");
	fill(c->wbuf, 2 * c->rs, 200);
	ok = ok && (n = tape_write(c->t, c->wbuf, 2 * c->rs)) == (ssize_t)(2 * c->rs);
	if (!ok && n < 0)
		op_ok(c, (int)n, "write");
	ok = ok && op_ok(c, tape_set_blksize(c->t, (uint32_t)c->rs), "setblk");
	for (int i = 0; i < 3; i++)
		fill(c->wbuf + (size_t)i * c->rs, c->rs, 201u + (uint32_t)i);
	ok = ok && ((n = tape_write(c->t, c->wbuf, 3 * c->rs)) ==
		    (ssize_t)(3 * c->rs) || why(c, "fixed write returned %zd", n));
	check(c, ok && (n = tape_write(c->t, c->wbuf, c->rs / 2)) == -EINVAL,
	      "fixed-write-size", "a %zu-byte write in %zu-byte fixed mode is"
	      " refused with EINVAL", c->rs / 2, c->rs);
	ok = ok && op_ok(c, tape_write_marks(c->t, TAPE_MK_FILEMARK, 1), "weof") &&
	     op_ok(c, tape_locate(c->t, part, at + 1), "seek");
	ok = ok && ((n = tape_read(c->t, c->rbuf, 3 * c->rs, NULL)) ==
		    (ssize_t)(3 * c->rs) || why(c, "fixed read returned %zd", n));
	for (int i = 0; ok && i < 3; i++)
		ok = tag_of(c->rbuf + (size_t)i * c->rs) == 201u + (uint32_t)i ||
		     why(c, "fixed block %d has the wrong tag", i);
	check(c, ok, "fixed-block", "3 blocks written and read back in one"
	      " transfer each");
	ok = op_ok(c, tape_locate(c->t, part, at), "seek") &&
	     ((n = tape_read(c->t, c->rbuf, c->rs, NULL)) < 0 ||
	      why(c, "a %zu-byte record read as a %zu-byte fixed block (%zd)",
		  2 * c->rs, c->rs, n));
	check(c, ok, "fixed-read-wrong-size", "a %zu-byte record does not read as"
	      " a %zu-byte fixed block: %s", 2 * c->rs, c->rs, tape_errmsg(c->t));
	tape_set_blksize(c->t, 0);
}

static void t_erase(struct tt *c)
{
	unsigned part = cur_part(c);

	check(c, op_ok(c, tape_locate(c->t, part, 2), "seek 2") &&
		 op_ok(c, tape_erase(c->t, false), "erase") &&
		 get_kind(c, TAPE_RD_EOD) && op_ok(c, tape_rewind(c->t), "rewind") &&
		 get_range(c, 0, 2) && get_kind(c, TAPE_RD_EOD),
	      "erase", "an erase at block 2 ends the data there");
}

static bool compression_is(struct tt *c, bool on)
{
	struct tape_params p;

	if (!op_ok(c, tape_get_params(c->t, &p), "params"))
		return false;
	return p.compression == on || why(c, "compression reads back %s",
					  p.compression ? "on" : "off");
}

static void t_compression(struct tt *c)
{
	if (!(c->p.features & TAPE_FEAT_COMPRESSION)) {
		skip(c, "compression", "the drive does not report compression");
		return;
	}
	check(c, op_ok(c, tape_set_compression(c->t, true), "compression on") &&
		 compression_is(c, true) &&
		 op_ok(c, tape_set_compression(c->t, false), "compression off") &&
		 compression_is(c, false),
	      "compression", "switched on and off, and read back each time");
}

static void t_prepare(struct tt *c)
{
	struct tape_status s;

	check(c, op_ok(c, tape_prepare(c->t, TAPE_PREP_LOCK), "lock") &&
		 op_ok(c, tape_prepare(c->t, TAPE_PREP_UNLOCK), "unlock"),
	      "lock-unlock", "medium removal prevented and allowed again");
	check(c, op_ok(c, tape_prepare(c->t, TAPE_PREP_UNLOAD), "unload") &&
		 (tape_read(c->t, c->rbuf, c->cap, NULL) < 0 ||
		  why(c, "read after unload succeeded")) &&
		 op_ok(c, tape_prepare(c->t, TAPE_PREP_LOAD), "load") &&
		 op_ok(c, tape_status(c->t, &s), "status") &&
		 ((s.online && s.bot) || why(c, "after load: %s%s",
					     s.online ? "online" : "offline",
					     s.bot ? " BOT" : " not at BOT")) &&
		 get(c, 0),
	      "unload-load", "no reads while unloaded; load returns to BOT with"
	      " the data intact");
	check(c, op_ok(c, tape_space(c->t, TAPE_SP_RECORDS, 1), "fsr") &&
		 op_ok(c, tape_prepare(c->t, TAPE_PREP_TENSION), "tension") &&
		 status_is(c, 0, 0, true),
	      "tension", "retension ends at BOT");
}

static bool partitions_are(struct tt *c, unsigned want)
{
	struct tape_params p;

	if (!op_ok(c, tape_get_params(c->t, &p), "params"))
		return false;
	return p.partitions == want || why(c, "%u partitions reported, expected %u",
					   p.partitions, want);
}

static bool in_partition(struct tt *c, unsigned want)
{
	struct tape_status s;

	if (!op_ok(c, tape_status(c->t, &s), "status"))
		return false;
	return s.partition == want || why(c, "status says partition %u, expected %u",
					  s.partition, want);
}

static void t_partitions(struct tt *c)
{
	if (c->p.max_partitions < 2 && strcmp(tape_kind(c->t), "st")) {
		skip(c, "partitions", "the drive has one partition");
		return;
	}
	check(c, op_ok(c, tape_mkpart(c->t, 1), "mkpartition 1") &&
		 partitions_are(c, 2),
	      "partition-create", "two partitions made, partition 1 of 1 MB");
	check(c, op_ok(c, tape_setpart(c->t, 1), "setpartition 1") &&
		 in_partition(c, 1) && put_range(c, 300, 303) &&
		 op_ok(c, tape_write_marks(c->t, TAPE_MK_FILEMARK, 1), "weof") &&
		 op_ok(c, tape_locate(c->t, 0, 0), "partseek 0 0") &&
		 in_partition(c, 0) && put_range(c, 310, 312) &&
		 op_ok(c, tape_write_marks(c->t, TAPE_MK_FILEMARK, 1), "weof") &&
		 op_ok(c, tape_locate(c->t, 1, 1), "partseek 1 1") &&
		 in_partition(c, 1) && get(c, 301) && tell_is(c, 2) &&
		 op_ok(c, tape_locate(c->t, 0, 0), "partseek 0 0") && get(c, 310),
	      "partition-data", "blocks written in each partition are found"
	      " again by partition and block");
	check(c, op_ok(c, tape_mkpart(c->t, 0), "mkpartition 0") &&
		 partitions_are(c, 1) && in_partition(c, 0),
	      "partition-remove", "back to one partition");
}

/* Write until the drive refuses; returns blocks written, or -1 on failure. */
static long fill_until_enospc(struct tt *c, uint32_t first, long limit)
{
	for (long i = 0; i < limit; i++) {
		ssize_t n;

		fill(c->wbuf, c->rs, first + (uint32_t)i);
		n = tape_write(c->t, c->wbuf, c->rs);
		if (n == -ENOSPC)
			return i;
		if (n != (ssize_t)c->rs) {
			why(c, "write %ld failed before early warning: %s", i,
			    n < 0 ? tape_errmsg(c->t) : "short write");
			return -1;
		}
	}
	return limit;
}

/* After early warning st alternates: one write allowed, one refused, until
 * the physical end refuses every write.  Returns the blocks that made it. */
static long write_to_end(struct tt *c, uint32_t first, long limit)
{
	long done = 0;
	int refused = 0;

	for (long i = 0; i < limit && refused < 2; i++) {
		fill(c->wbuf, c->rs, first + (uint32_t)done);
		if (tape_write(c->t, c->wbuf, c->rs) == (ssize_t)c->rs) {
			done++;
			refused = 0;
		} else {
			refused++;
		}
	}
	return done;
}

static long read_tags_to_end(struct tt *c, uint32_t first)
{
	long n = 0;

	while (get(c, first + (uint32_t)n))
		n++;
	return n;
}

/* Every block a write acknowledged is on the tape, in order, then a mark. */
static void readback(struct tt *c, const char *name, long want)
{
	long back = op_ok(c, tape_rewind(c->t), "rewind") ?
		    read_tags_to_end(c, 1000) : -1;

	check(c, (back == want || why(c, "%ld blocks read back, %ld were"
				      " acknowledged", back, want)) &&
		 (get_kind(c, TAPE_RD_FILEMARK) || true),
	      name, "all %ld acknowledged blocks read back in order", want);
}

/* Past the physical end st cannot even rewind until the device is closed
 * (its automatic filemark fails), so only virtual drives go that far. */
static void t_end_of_medium(struct tt *c, long w, long limit)
{
	long more;

	if (!strcmp(tape_kind(c->t), "st")) {
		skip(c, "end-of-medium", "not on a real drive: st refuses to"
		     " rewind after the physical end until the device is closed");
		return;
	}
	more = op_ok(c, tape_locate(c->t, 0, (uint64_t)w), "seek") ?
	       write_to_end(c, 1000u + (uint32_t)w, limit) : -1;
	check(c, more > 0 || why(c, "no write was allowed after early warning"),
	      "end-of-medium", "%ld more blocks written, alternately refused,"
	      " until the end refused every write", more);
	if (more > 0)
		readback(c, "end-of-medium-readback", w + more);
}

static void t_early_warning(struct tt *c)
{
	long limit = c->p.capacity ? (long)(c->p.capacity / c->rs) + 100
				   : EW_MAX_BLOCKS;
	struct tape_status s;
	long w;

	if (!(c->p.features & TAPE_FEAT_EARLY_WARNING)) {
		skip(c, "early-warning", "no capacity set for this drive"
		     " (--capacity)");
		return;
	}
	if (!op_ok(c, tape_rewind(c->t), "rewind") ||
	    (w = fill_until_enospc(c, 1000, limit)) < 0) {
		check(c, false, "early-warning", "could not fill the tape");
		return;
	}
	if (w == limit) {
		skip(c, "early-warning", "no early warning within %ld blocks", limit);
		return;
	}
	check(c, op_ok(c, tape_status(c->t, &s), "status") &&
		 (s.eot || why(c, "status does not report EOT after ENOSPC")),
	      "early-warning", "first write refused with ENOSPC after %ld blocks;"
	      " status reports EOT", w);
	check(c, put(c, 1000u + (uint32_t)w) &&
		 op_ok(c, tape_write_marks(c->t, TAPE_MK_FILEMARK, 1), "weof"),
	      "early-warning-trailer", "the write after the refusal is allowed, and"
	      " a filemark after it");
	readback(c, "early-warning-readback", w + 1);
	t_end_of_medium(c, w, limit);
}

/* The test writes: refuse a tape that holds data unless forced.  A tape is
 * blank when end of data is at block 0 (reading a blank st tape fails with
 * EIO, which says nothing). */
static int blank_or_forced(struct tt *c, bool force)
{
	unsigned part;
	uint64_t blk = 1;
	int rc = tape_rewind(c->t);

	if (rc == 0)
		rc = tape_space(c->t, TAPE_SP_EOD, 0);
	if (rc == 0)
		rc = tape_tell(c->t, &part, &blk);
	if (rc < 0)
		return rc;
	if (blk != 0 && !force) {
		fprintf(c->out, "the tape in %s holds data (end of data at block"
			" %" PRIu64 "); the self-test would overwrite it (use"
			" --force to allow that)\n", tape_name(c->t), blk);
		return -ENOTEMPTY;
	}
	return tape_rewind(c->t);
}

static size_t record_size(const struct tape_params *p)
{
	size_t rs = 1024, g = (size_t)1 << (p->granularity < 16 ? p->granularity : 0);

	if (p->min_block > rs)
		rs = p->min_block;
	if (p->max_block && p->max_block < rs)
		rs = p->max_block;
	rs -= rs % g;
	return rs < 8 ? 8 : rs;
}

static void run_checks(struct tt *c)
{
	t_write(c);
	t_read(c);
	t_read_eod(c);
	t_space_records(c);
	t_space_files(c);
	t_locate(c);
	t_append(c);
	t_truncate(c);
	t_short_buffer(c);
	t_fixed(c);
	t_erase(c);
	t_compression(c);
	t_prepare(c);
	t_partitions(c);
	t_early_warning(c);
}

int tape_selftest(struct tape *t, bool force, FILE *out,
		  struct tape_test_result *res)
{
	struct tt c = { .t = t, .out = out, .res = res };
	int rc;

	memset(res, 0, sizeof(*res));
	rc = tape_get_params(t, &c.p);
	if (rc < 0)
		goto out;
	c.rs = record_size(&c.p);
	c.cap = 4 * c.rs;
	c.exact = c.p.features & TAPE_FEAT_BYTE_EXACT;
	rc = -ENOMEM;
	c.wbuf = malloc(c.cap);
	c.rbuf = malloc(c.cap);
	if (!c.wbuf || !c.rbuf)
		goto out;
	rc = blank_or_forced(&c, force);
	if (rc < 0)
		goto out;
	fprintf(out, "tape test on %s (%s drive), %zu-byte blocks, %s payload"
		" checks\n", tape_name(t), tape_kind(t), c.rs,
		c.exact ? "full" : "4-byte tag");
	rc = tape_set_blksize(t, 0);
	check(&c, op_ok(&c, rc, "setblk 0"), "variable-mode", "block size 0");
	run_checks(&c);
	tape_set_blksize(t, c.p.block_size);
	tape_rewind(t);
	rc = (int)res->failed;
out:
	free(c.wbuf);
	free(c.rbuf);
	return rc;
}
