/* test_tape.c - cmocka tests of every tape operation on the mem and simh drives.
 *
 * Each behavioural test runs twice, once per backend, through the same public
 * API.  Expected values come from st(4)/st.rst and the SIMH format, not from
 * what our code happens to produce.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "tape.h"

#define BIG (1u << 20)

struct fx {
	const char *kind;        /* "mem" or "simh" */
	char dir[4096];
	char path[4200];
	struct tape *t;
	struct tape_vopts vo;
	uint8_t *buf;
};

static struct fx fx_mem = { .kind = "mem" };
static struct fx fx_simh = { .kind = "simh" };

static int open_fx(struct fx *f)
{
	if (!strcmp(f->kind, "mem"))
		return tape_open_mem(&f->vo, &f->t);
	return tape_open_simh(f->path, &f->vo, &f->t);
}

/* Close and open again, to show what the medium kept; a memory tape keeps
 * nothing past close, so for it this checks the live handle only. */
static void reopen(struct fx *f)
{
	if (!strcmp(f->kind, "mem"))
		return;
	assert_int_equal(tape_close(f->t), 0);
	f->t = NULL;
	assert_int_equal(open_fx(f), 0);
}

static int setup(void **state)
{
	struct fx *f = *state;

	/* one directory per backend in the binary's scratch directory */
	snprintf(f->dir, sizeof(f->dir), "%s", th_path(f->kind));
	if (mkdir(f->dir, 0700) != 0)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/t.tap", f->dir);
	tape_vopts_init(&f->vo);
	f->buf = malloc(BIG);
	f->t = NULL;
	return f->buf && open_fx(f) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	tape_close(f->t);
	f->t = NULL;
	free(f->buf);
	return th_sh("rm -rf '%s'", f->dir) == 0 ? 0 : -1;
}

/* A new empty medium with the options in f->vo. */
static void fresh(struct fx *f)
{
	char side[4300];

	tape_close(f->t);
	f->t = NULL;
	unlink(f->path);
	snprintf(side, sizeof(side), "%s.state", f->path);
	unlink(side);
	snprintf(side, sizeof(side), "%s.p1", f->path);
	unlink(side);
	assert_int_equal(open_fx(f), 0);
}

static void with_opts(struct fx *f, uint64_t cap, uint64_t ew)
{
	f->vo.capacity = cap;
	f->vo.ew_zone = ew;
	fresh(f);
}

static void put(struct fx *f, uint32_t tag, size_t len)
{
	memset(f->buf, (int)(tag & 0xff), len);
	memcpy(f->buf, &tag, len < 4 ? len : 4);
	assert_int_equal(tape_write(f->t, f->buf, len), (ssize_t)len);
}

static void expect_block(struct fx *f, uint32_t tag, size_t len)
{
	enum tape_rd what;
	uint32_t got = 0;

	assert_int_equal(tape_read(f->t, f->buf, BIG, &what), (ssize_t)len);
	assert_int_equal(what, TAPE_RD_DATA);
	memcpy(&got, f->buf, len < 4 ? len : 4);
	assert_int_equal(got, tag);
	for (size_t i = 4; i < len; i++)
		assert_int_equal(f->buf[i], tag & 0xff);
}

static void expect_kind(struct fx *f, enum tape_rd want)
{
	enum tape_rd what;

	assert_int_equal(tape_read(f->t, f->buf, BIG, &what), 0);
	assert_int_equal(what, want);
}

static void weof(struct fx *f, unsigned n)
{
	assert_int_equal(tape_write_marks(f->t, TAPE_MK_FILEMARK, n), 0);
}

/* 3 blocks, FM, 2 blocks, FM: objects 0-2, 3 FM, 4-5, 6 FM, EOD at 7. */
static void two_files(struct fx *f)
{
	put(f, 1, 100);
	put(f, 2, 101);
	put(f, 3, 102);
	weof(f, 1);
	put(f, 4, 103);
	put(f, 5, 104);
	weof(f, 1);
	assert_int_equal(tape_rewind(f->t), 0);
}

static void status(struct fx *f, struct tape_status *s)
{
	assert_int_equal(tape_status(f->t, s), 0);
}

/* ---- data, marks, EOD -------------------------------------------------- */

static void t_read_across_filemark(void **state)
{
	struct fx *f = *state;
	struct tape_status s;

	two_files(f);
	expect_block(f, 1, 100);
	expect_block(f, 2, 101);
	expect_block(f, 3, 102);
	expect_kind(f, TAPE_RD_FILEMARK);
	status(f, &s);
	assert_int_equal(s.file, 1);
	assert_int_equal(s.block, 0);
	assert_true(s.eof);
	expect_block(f, 4, 103);
	expect_block(f, 5, 104);
	expect_kind(f, TAPE_RD_FILEMARK);
	expect_kind(f, TAPE_RD_EOD);
	expect_kind(f, TAPE_RD_EOD);  /* stays at EOD; never invents data */
	status(f, &s);
	assert_true(s.eod);
	assert_false(s.bot);
}

static void t_read_blank(void **state)
{
	struct fx *f = *state;
	struct tape_status s;

	expect_kind(f, TAPE_RD_EOD);
	status(f, &s);
	assert_true(s.bot && s.eod && s.online);
	assert_int_equal(s.file, 0);
}

static void t_odd_lengths_and_max(void **state)
{
	struct fx *f = *state;

	put(f, 7, 1);
	put(f, 8, 3);
	put(f, 9, 65537);
	assert_int_equal(tape_write(f->t, f->buf, 0), 0);  /* nothing written */
	assert_int_equal(tape_write(f->t, f->buf, 0x1000000), -EINVAL);
	assert_int_equal(tape_rewind(f->t), 0);
	expect_block(f, 7, 1);
	expect_block(f, 8, 3);
	expect_block(f, 9, 65537);
	expect_kind(f, TAPE_RD_EOD);
}

static void t_short_buffer(void **state)
{
	struct fx *f = *state;

	two_files(f);
	assert_int_equal(tape_read(f->t, f->buf, 50, NULL), -ENOMEM);
	assert_non_null(strstr(tape_errmsg(f->t), "100 bytes"));
	expect_block(f, 2, 101);  /* as st: the too-large block is consumed */
}

static void t_write_in_middle_truncates(void **state)
{
	struct fx *f = *state;

	two_files(f);
	assert_int_equal(tape_space(f->t, TAPE_SP_RECORDS, 2), 0);
	put(f, 42, 10);
	expect_kind(f, TAPE_RD_EOD);
	reopen(f);  /* and the image itself lost the rest, not just the index */
	assert_int_equal(tape_rewind(f->t), 0);
	expect_block(f, 1, 100);
	expect_block(f, 2, 101);
	expect_block(f, 42, 10);
	expect_kind(f, TAPE_RD_EOD);
}

static void t_weof_in_middle_truncates(void **state)
{
	struct fx *f = *state;

	two_files(f);
	assert_int_equal(tape_space(f->t, TAPE_SP_RECORDS, 1), 0);
	weof(f, 2);
	assert_int_equal(tape_rewind(f->t), 0);
	expect_block(f, 1, 100);
	expect_kind(f, TAPE_RD_FILEMARK);
	expect_kind(f, TAPE_RD_FILEMARK);
	expect_kind(f, TAPE_RD_EOD);
}

/* ---- positioning -------------------------------------------------------- */

static void t_space_records(void **state)
{
	struct fx *f = *state;
	struct tape_status s;

	two_files(f);
	assert_int_equal(tape_space(f->t, TAPE_SP_RECORDS, 2), 0);
	expect_block(f, 3, 102);
	assert_int_equal(tape_space(f->t, TAPE_SP_RECORDS, -2), 0);
	expect_block(f, 2, 101);
	/* forward over the mark: stops after it with an error */
	assert_int_equal(tape_space(f->t, TAPE_SP_RECORDS, 5), -EIO);
	assert_non_null(strstr(tape_errmsg(f->t), "filemark"));
	status(f, &s);
	assert_int_equal(s.file, 1);
	assert_int_equal(s.block, 0);
	/* backward over the mark: stops on its BOT side */
	assert_int_equal(tape_space(f->t, TAPE_SP_RECORDS, -1), -EIO);
	expect_kind(f, TAPE_RD_FILEMARK);
	/* forward into EOD */
	assert_int_equal(tape_space(f->t, TAPE_SP_RECORDS, 2), 0);
	assert_int_equal(tape_space(f->t, TAPE_SP_RECORDS, 1), -EIO);
	expect_kind(f, TAPE_RD_EOD);
}

static void t_space_filemarks(void **state)
{
	struct fx *f = *state;
	struct tape_status s;

	two_files(f);
	assert_int_equal(tape_space(f->t, TAPE_SP_FILEMARKS, 1), 0);
	expect_block(f, 4, 103);
	assert_int_equal(tape_space(f->t, TAPE_SP_FILEMARKS, -1), 0);
	expect_kind(f, TAPE_RD_FILEMARK);  /* BOT side of the mark */
	assert_int_equal(tape_rewind(f->t), 0);
	assert_int_equal(tape_space(f->t, TAPE_SP_FILEMARKS, 2), 0);
	expect_kind(f, TAPE_RD_EOD);
	assert_int_equal(tape_rewind(f->t), 0);
	assert_int_equal(tape_space(f->t, TAPE_SP_FILEMARKS, 3), -EIO);
	status(f, &s);
	assert_true(s.eod);
	assert_int_equal(tape_space(f->t, TAPE_SP_FILEMARKS, 0), 0);
}

static void t_bot_edges(void **state)
{
	struct fx *f = *state;
	struct tape_status s;

	two_files(f);
	assert_int_equal(tape_space(f->t, TAPE_SP_RECORDS, -1), -EIO);
	assert_non_null(strstr(tape_errmsg(f->t), "beginning"));
	status(f, &s);
	assert_true(s.bot);
	assert_int_equal(tape_space(f->t, TAPE_SP_FILEMARKS, -1), -EIO);
	status(f, &s);
	assert_true(s.bot);
	/* bsf 2 from inside file 1 meets the only earlier mark, then BOT */
	assert_int_equal(tape_space(f->t, TAPE_SP_FILEMARKS, 1), 0);
	assert_int_equal(tape_space(f->t, TAPE_SP_FILEMARKS, -2), -EIO);
	status(f, &s);
	assert_true(s.bot);
	expect_block(f, 1, 100);
}

static void t_eod_append(void **state)
{
	struct fx *f = *state;
	struct tape_status s;

	two_files(f);
	assert_int_equal(tape_space(f->t, TAPE_SP_EOD, 0), 0);
	status(f, &s);
	assert_true(s.eod);
	assert_int_equal(s.file, 2);
	put(f, 6, 20);
	weof(f, 1);
	assert_int_equal(tape_rewind(f->t), 0);
	assert_int_equal(tape_space(f->t, TAPE_SP_FILEMARKS, 2), 0);
	expect_block(f, 6, 20);
}

static void t_locate_tell(void **state)
{
	struct fx *f = *state;
	unsigned part = 9;
	uint64_t blk = 99;

	two_files(f);
	assert_int_equal(tape_tell(f->t, &part, &blk), 0);
	assert_int_equal(part, 0);
	assert_int_equal(blk, 0);
	assert_int_equal(tape_locate(f->t, 0, 4), 0);  /* marks are objects */
	expect_block(f, 4, 103);
	assert_int_equal(tape_tell(f->t, &part, &blk), 0);
	assert_int_equal(blk, 5);
	assert_int_equal(tape_locate(f->t, 0, 3), 0);
	expect_kind(f, TAPE_RD_FILEMARK);
	assert_int_equal(tape_locate(f->t, 0, 7), 0);  /* EOD is addressable */
	expect_kind(f, TAPE_RD_EOD);
	assert_int_equal(tape_locate(f->t, 0, 8), -EIO);
	assert_non_null(strstr(tape_errmsg(f->t), "past end of data"));
	assert_int_equal(tape_locate(f->t, 1, 0), -EINVAL);
}

static void t_setmarks_unsupported(void **state)
{
	struct fx *f = *state;
	struct tape_params p;

	assert_int_equal(tape_get_params(f->t, &p), 0);
	assert_false(p.features & TAPE_FEAT_SETMARKS);
	assert_int_equal(tape_write_marks(f->t, TAPE_MK_SETMARK, 1), -EOPNOTSUPP);
	assert_int_equal(tape_space(f->t, TAPE_SP_SETMARKS, 1), -EOPNOTSUPP);
	assert_int_equal(tape_space(f->t, TAPE_SP_SETMARKS, -1), -EOPNOTSUPP);
}

/* ---- erase, prepare ------------------------------------------------------ */

static void t_erase(void **state)
{
	struct fx *f = *state;

	two_files(f);
	assert_int_equal(tape_locate(f->t, 0, 4), 0);
	assert_int_equal(tape_erase(f->t, false), 0);
	expect_kind(f, TAPE_RD_EOD);
	assert_int_equal(tape_locate(f->t, 0, 1), 0);
	assert_int_equal(tape_erase(f->t, true), 0);
	assert_int_equal(tape_rewind(f->t), 0);
	expect_block(f, 1, 100);
	expect_kind(f, TAPE_RD_EOD);
}

static void t_prepare(void **state)
{
	struct fx *f = *state;
	struct tape_status s;

	two_files(f);
	assert_int_equal(tape_space(f->t, TAPE_SP_RECORDS, 2), 0);
	assert_int_equal(tape_prepare(f->t, TAPE_PREP_TENSION), 0);
	status(f, &s);
	assert_true(s.bot);
	assert_int_equal(tape_prepare(f->t, TAPE_PREP_LOCK), 0);
	status(f, &s);
	assert_true(s.locked);
	assert_int_equal(tape_prepare(f->t, TAPE_PREP_UNLOAD), -EBUSY);
	assert_int_equal(tape_prepare(f->t, TAPE_PREP_UNLOCK), 0);
	assert_int_equal(tape_prepare(f->t, TAPE_PREP_UNLOAD), 0);
	status(f, &s);
	assert_false(s.online);
	assert_true(s.no_medium);
	assert_int_equal(tape_read(f->t, f->buf, BIG, NULL), -ENOMEDIUM);
	assert_int_equal(tape_write(f->t, f->buf, 10), -ENOMEDIUM);
	assert_int_equal(tape_rewind(f->t), -ENOMEDIUM);
	assert_int_equal(tape_space(f->t, TAPE_SP_EOD, 0), -ENOMEDIUM);
	assert_int_equal(tape_prepare(f->t, TAPE_PREP_LOAD), 0);
	status(f, &s);
	assert_true(s.online && s.bot);
	expect_block(f, 1, 100);
}

/* ---- parameters ----------------------------------------------------------- */

static void t_params(void **state)
{
	struct fx *f = *state;
	struct tape_params p;

	assert_int_equal(tape_get_params(f->t, &p), 0);
	assert_int_equal(p.block_size, 0);
	assert_int_equal(p.partitions, 1);
	assert_int_equal(p.max_partitions, 2);
	assert_true(p.features & TAPE_FEAT_BYTE_EXACT);
	assert_int_equal(tape_set_compression(f->t, true), 0);
	assert_int_equal(tape_set_blksize(f->t, 4096), 0);
	assert_int_equal(tape_get_params(f->t, &p), 0);
	assert_true(p.compression);
	assert_int_equal(p.block_size, 4096);
	assert_int_equal(tape_set_blksize(f->t, 0x1000000), -EINVAL);
}

static void t_fixed_block(void **state)
{
	struct fx *f = *state;
	uint32_t tag;

	put(f, 77, 1000);  /* a variable block first */
	assert_int_equal(tape_set_blksize(f->t, 512), 0);
	memset(f->buf, 0xab, 1536);
	for (uint32_t i = 0; i < 3; i++) {
		tag = 500 + i;
		memcpy(f->buf + 512 * i, &tag, 4);
	}
	assert_int_equal(tape_write(f->t, f->buf, 1536), 1536);
	assert_int_equal(tape_write(f->t, f->buf, 700), -EINVAL);
	assert_int_equal(tape_rewind(f->t), 0);
	/* a 1000-byte record does not read as a 512-byte block */
	assert_int_equal(tape_read(f->t, f->buf, 512, NULL), -EIO);
	assert_non_null(strstr(tape_errmsg(f->t), "1000 bytes"));
	assert_int_equal(tape_read(f->t, f->buf, 700, NULL), -EINVAL);
	/* as st, the mismatch does not move the tape: read it in variable mode */
	assert_int_equal(tape_set_blksize(f->t, 0), 0);
	expect_block(f, 77, 1000);
	assert_int_equal(tape_set_blksize(f->t, 512), 0);
	memset(f->buf, 0, 1536);
	assert_int_equal(tape_read(f->t, f->buf, 1536, NULL), 1536);
	for (uint32_t i = 0; i < 3; i++) {
		memcpy(&tag, f->buf + 512 * i, 4);
		assert_int_equal(tag, 500 + i);
	}
	expect_kind(f, TAPE_RD_EOD);
	/* a fixed read stops at a mark, delivering the blocks before it */
	assert_int_equal(tape_locate(f->t, 0, 2), 0);
	assert_int_equal(tape_write(f->t, f->buf, 512), 512);
	weof(f, 1);
	assert_int_equal(tape_locate(f->t, 0, 1), 0);
	assert_int_equal(tape_read(f->t, f->buf, 1536, NULL), 1024);
	expect_kind(f, TAPE_RD_FILEMARK);
}

/* ---- early warning and end of medium ------------------------------------ */

static void t_early_warning(void **state)
{
	struct fx *f = *state;
	struct tape_status s;
	int ok = 0, first = -1;
	ssize_t r[40];

	/* 1000-byte records take 1008 bytes; EW at 10000-3000 = 7000. */
	with_opts(f, 10000, 3000);
	for (int i = 0; i < 40; i++) {
		memset(f->buf, i, 1000);
		r[i] = tape_write(f->t, f->buf, 1000);
		if (r[i] < 0 && first < 0)
			first = i;
		ok += r[i] == 1000;
	}
	/* 6 writes reach 6048; the 7th crosses EW at 7056 and succeeds. */
	assert_int_equal(first, 7);
	status(f, &s);
	assert_true(s.eot);
	assert_int_equal(r[7], -ENOSPC);
	assert_int_equal(r[8], 1000);  /* the trailer write is allowed */
	assert_int_equal(r[9], -ENOSPC);
	assert_int_equal(r[10], 1000);
	/* 9 records fit in 10000 bytes (9072); then every write fails */
	assert_int_equal(ok, 9);
	for (int i = 11; i < 40; i++)
		assert_true(r[i] < 0);
	/* a 4-byte mark still fits in the (10000 - 9072) bytes left: 232 do */
	for (int i = 0; i < 232; i++)
		assert_int_equal(tape_write_marks(f->t, TAPE_MK_FILEMARK, 1), 0);
	assert_int_equal(tape_write_marks(f->t, TAPE_MK_FILEMARK, 1), -ENOSPC);
	assert_int_equal(tape_rewind(f->t), 0);
	for (int i = 0; i < 9; i++)
		assert_int_equal(tape_read(f->t, f->buf, BIG, NULL), 1000);
	expect_kind(f, TAPE_RD_FILEMARK);
}

/* ---- partitions ----------------------------------------------------------- */

static void t_partitions(void **state)
{
	struct fx *f = *state;
	struct tape_params p;
	struct tape_status s;

	with_opts(f, 5000000, 0);
	two_files(f);
	assert_int_equal(tape_mkpart(f->t, 5), -EINVAL);  /* too large */
	assert_int_equal(tape_mkpart(f->t, LONG_MIN), -EINVAL);
	assert_int_equal(tape_mkpart(f->t, LONG_MAX), -EINVAL);
	assert_int_equal(tape_space(f->t, TAPE_SP_RECORDS, LONG_MIN), -EINVAL);
	assert_int_equal(tape_mkpart(f->t, 1), 0);
	assert_int_equal(tape_get_params(f->t, &p), 0);
	assert_int_equal(p.partitions, 2);
	assert_int_equal(p.capacity, 4000000);
	expect_kind(f, TAPE_RD_EOD);  /* partitioning destroyed the data */
	assert_int_equal(tape_setpart(f->t, 1), 0);
	assert_int_equal(tape_get_params(f->t, &p), 0);
	assert_int_equal(p.capacity, 1000000);
	put(f, 11, 10);
	put(f, 12, 10);
	assert_int_equal(tape_setpart(f->t, 0), 0);
	put(f, 21, 30);
	assert_int_equal(tape_locate(f->t, 1, 1), 0);
	status(f, &s);
	assert_int_equal(s.partition, 1);
	expect_block(f, 12, 10);
	assert_int_equal(tape_setpart(f->t, 2), -EINVAL);
	reopen(f);  /* partitions and their data survive */
	assert_int_equal(tape_get_params(f->t, &p), 0);
	assert_int_equal(p.partitions, 2);
	assert_int_equal(tape_locate(f->t, 0, 0), 0);
	expect_block(f, 21, 30);
	assert_int_equal(tape_locate(f->t, 1, 0), 0);
	expect_block(f, 11, 10);
	assert_int_equal(tape_mkpart(f->t, -2), 0);  /* partition 0 of 2 MB */
	assert_int_equal(tape_get_params(f->t, &p), 0);
	assert_int_equal(p.capacity, 2000000);
	assert_int_equal(tape_mkpart(f->t, 0), 0);
	assert_int_equal(tape_get_params(f->t, &p), 0);
	assert_int_equal(p.partitions, 1);
	assert_int_equal(p.capacity, 5000000);
}

/* ---- injected faults ------------------------------------------------------ */

static void t_fault_read_error(void **state)
{
	struct fx *f = *state;

	f->vo.fault_read_error = 1;
	fresh(f);
	two_files(f);
	expect_block(f, 1, 100);
	assert_int_equal(tape_read(f->t, f->buf, BIG, NULL), -EIO);
	assert_non_null(strstr(tape_errmsg(f->t), "record 1"));
	expect_block(f, 3, 102);  /* the error cost one record, no more */
}

static void t_fault_short_write(void **state)
{
	struct fx *f = *state;

	f->vo.fault_short_write = 1;
	fresh(f);
	put(f, 1, 100);
	memset(f->buf, 2, 100);
	assert_int_equal(tape_write(f->t, f->buf, 100), 50);
	put(f, 3, 100);
	assert_int_equal(tape_rewind(f->t), 0);
	expect_block(f, 1, 100);
	assert_int_equal(tape_read(f->t, f->buf, BIG, NULL), 50);
	expect_block(f, 3, 100);
}

static void t_fault_enospc(void **state)
{
	struct fx *f = *state;

	f->vo.fault_enospc = 2;
	fresh(f);
	put(f, 1, 100);
	put(f, 2, 100);
	assert_int_equal(tape_write(f->t, f->buf, 100), -ENOSPC);
	assert_non_null(strstr(tape_errmsg(f->t), "end of medium"));
	assert_int_equal(tape_rewind(f->t), 0);
	expect_block(f, 1, 100);
	expect_block(f, 2, 100);
	expect_kind(f, TAPE_RD_EOD);
}

/* ---- main --------------------------------------------------------------- */

#define BOTH(fn)                                                              \
	cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, &fx_mem), \
	cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, &fx_simh)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(t_read_across_filemark),
		BOTH(t_read_blank),
		BOTH(t_odd_lengths_and_max),
		BOTH(t_short_buffer),
		BOTH(t_write_in_middle_truncates),
		BOTH(t_weof_in_middle_truncates),
		BOTH(t_space_records),
		BOTH(t_space_filemarks),
		BOTH(t_bot_edges),
		BOTH(t_eod_append),
		BOTH(t_locate_tell),
		BOTH(t_setmarks_unsupported),
		BOTH(t_erase),
		BOTH(t_prepare),
		BOTH(t_params),
		BOTH(t_fixed_block),
		BOTH(t_early_warning),
		BOTH(t_partitions),
		BOTH(t_fault_read_error),
		BOTH(t_fault_short_write),
		BOTH(t_fault_enospc),
	};

	return cmocka_run_group_tests_name("tape", tests, NULL, NULL);
}
