/* test_simh.c - the SIMH image format, damage reports and kept drive state.
 *
 * Images here are built byte by byte from the SIMH format description
 * (sim_tape.h: 32-bit LE length, data padded to even, length again), not by
 * our writer, and our writer's output is compared against the same bytes.
 */
#include <errno.h>
#include <fcntl.h>
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
#include "le.h"
#include "tape.h"

struct img {
	uint8_t b[4096];
	size_t n;
};

static char dir[4096], path[4200];
static uint8_t rbuf[1 << 16];

static void le32(struct img *m, uint32_t v)
{
	le_put32(m->b + m->n, v);
	m->n += 4;
}

/* One SIMH record: length, data (byte i = seed + i), pad to even, length. */
static void rec(struct img *m, uint32_t len, uint8_t seed)
{
	le32(m, len);
	for (uint32_t i = 0; i < len; i++)
		m->b[m->n++] = (uint8_t)(seed + i);
	if (len & 1)
		m->b[m->n++] = 0;
	le32(m, len);
}

static void save(const struct img *m)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, m->b, m->n), (ssize_t)m->n);
	close(fd);
}

static size_t load(uint8_t *out, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, out, cap);
	close(fd);
	assert_true(n >= 0);
	return (size_t)n;
}

static struct tape *open_img(bool ro)
{
	struct tape_vopts vo;
	struct tape *t = NULL;

	tape_vopts_init(&vo);
	vo.read_only = ro;
	assert_int_equal(tape_open_simh(path, &vo, &t), 0);
	return t;
}

static void expect_rec(struct tape *t, uint32_t len, uint8_t seed)
{
	enum tape_rd what;

	assert_int_equal(tape_read(t, rbuf, sizeof(rbuf), &what), (ssize_t)len);
	for (uint32_t i = 0; i < len; i++)
		assert_int_equal(rbuf[i], (uint8_t)(seed + i));
}

static void expect_mark(struct tape *t, enum tape_rd want)
{
	enum tape_rd what;

	assert_int_equal(tape_read(t, rbuf, sizeof(rbuf), &what), 0);
	assert_int_equal(what, want);
}

static int setup(void **state)
{
	(void)state;
	/* a fresh directory per test in the binary's scratch directory */
	snprintf(dir, sizeof(dir), "%s", th_path("simh"));
	if (mkdir(dir, 0700) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/t.tap", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return th_sh("rm -rf '%s'", dir) == 0 ? 0 : -1;
}

/* Our writer produces exactly the standard SIMH bytes. */
static void t_writer_bytes(void **state)
{
	struct img want = { .n = 0 };
	uint8_t got[4096];
	struct tape *t = open_img(false);

	(void)state;
	for (uint32_t i = 0; i < 3; i++)
		rbuf[i] = (uint8_t)(10 + i);
	assert_int_equal(tape_write(t, rbuf, 3), 3);
	for (uint32_t i = 0; i < 4; i++)
		rbuf[i] = (uint8_t)(20 + i);
	assert_int_equal(tape_write(t, rbuf, 4), 4);
	assert_int_equal(tape_write_marks(t, TAPE_MK_FILEMARK, 2), 0);
	assert_int_equal(tape_close(t), 0);
	rec(&want, 3, 10);
	rec(&want, 4, 20);
	le32(&want, 0);
	le32(&want, 0);
	assert_int_equal(load(got, sizeof(got)), want.n);
	assert_memory_equal(got, want.b, want.n);
}

/* Gaps are skipped, a flagged record reads as a media error, nothing after
 * the end-of-medium marker counts. */
static void t_reader_markers(void **state)
{
	struct img m = { .n = 0 };
	struct tape *t;

	(void)state;
	rec(&m, 5, 1);
	le32(&m, 0xFFFFFFFEu);              /* erase gap */
	/* a forward half gap (word 0xFFFEFFFF, 2 bytes long) then a gap */
	memcpy(m.b + m.n, "\xff\xff\xfe\xff\xff\xff", 6);
	m.n += 6;
	rec(&m, 6, 2);
	le32(&m, 0x80000004u);              /* record with the error flag */
	le32(&m, 0x01020304u);
	le32(&m, 0x80000004u);
	le32(&m, 0);
	rec(&m, 2, 3);
	le32(&m, 0xFFFFFFFFu);              /* end of medium */
	rec(&m, 9, 4);                      /* junk after it */
	save(&m);
	t = open_img(true);
	expect_rec(t, 5, 1);
	expect_rec(t, 6, 2);
	assert_int_equal(tape_read(t, rbuf, sizeof(rbuf), NULL), -EIO);
	assert_non_null(strstr(tape_errmsg(t), "marked bad"));
	expect_mark(t, TAPE_RD_FILEMARK);
	expect_rec(t, 2, 3);
	expect_mark(t, TAPE_RD_EOD);
	assert_int_equal(tape_close(t), 0);
}

/* Damage: the records before it read, then a clear error naming the offset. */
static void damaged(struct img *m, const char *needle)
{
	struct tape *t;

	save(m);
	t = open_img(true);
	expect_rec(t, 5, 1);
	expect_mark(t, TAPE_RD_FILEMARK);
	assert_int_equal(tape_read(t, rbuf, sizeof(rbuf), NULL), -EIO);
	if (!strstr(tape_errmsg(t), needle))
		fail_msg("message '%s' lacks '%s'", tape_errmsg(t), needle);
	assert_int_equal(tape_space(t, TAPE_SP_RECORDS, 1), -EIO);
	assert_non_null(strstr(tape_errmsg(t), needle));
	assert_int_equal(tape_close(t), 0);
}

static void good_prefix(struct img *m)
{
	m->n = 0;
	rec(m, 5, 1);   /* bytes 0-13: 4 + 5 + 1 pad + 4 */
	le32(m, 0);     /* bytes 14-17 */
}

static void t_corrupt_truncated_record(void **state)
{
	struct img m;

	(void)state;
	good_prefix(&m);
	rec(&m, 100, 7);
	m.n -= 10;
	damaged(&m, "truncated record at byte offset 18");
}

static void t_corrupt_lengths_disagree(void **state)
{
	struct img m;

	(void)state;
	good_prefix(&m);
	rec(&m, 8, 7);
	m.b[m.n - 4] = 9;  /* trailing length says 9 */
	damaged(&m, "length words disagree for the record at byte offset 18:"
		    " leading 8, trailing 9 (at byte offset 30)");
}

static void t_corrupt_oversized(void **state)
{
	struct img m;

	(void)state;
	good_prefix(&m);
	le32(&m, 0x12345678u);
	le32(&m, 0);
	damaged(&m, "record length 0x12345678 at byte offset 18 exceeds");
}

static void t_corrupt_truncated_word(void **state)
{
	struct img m;

	(void)state;
	good_prefix(&m);
	m.b[m.n++] = 7;
	m.b[m.n++] = 0;
	damaged(&m, "truncated length word at byte offset 18");
}

/* Writing at the damage replaces it; the image is whole again. */
static void t_write_over_damage(void **state)
{
	struct img m;
	struct tape *t;

	(void)state;
	good_prefix(&m);
	rec(&m, 100, 7);
	m.n -= 10;
	save(&m);
	t = open_img(false);
	assert_int_equal(tape_space(t, TAPE_SP_EOD, 0), 0);
	for (int i = 0; i < 3; i++)
		rbuf[i] = (uint8_t)(9 + i);
	assert_int_equal(tape_write(t, rbuf, 3), 3);
	assert_int_equal(tape_close(t), 0);
	t = open_img(true);
	assert_int_equal(tape_rewind(t), 0);
	expect_rec(t, 5, 1);
	expect_mark(t, TAPE_RD_FILEMARK);
	expect_rec(t, 3, 9);
	expect_mark(t, TAPE_RD_EOD);
	assert_int_equal(tape_close(t), 0);
}

/* Gaps that end the image are replaced whole by the next write (a half gap
 * cut in two would turn into a bogus length word). */
static void t_write_after_trailing_gap(void **state)
{
	struct img m;
	struct tape *t;

	(void)state;
	good_prefix(&m);
	memcpy(m.b + m.n, "\xff\xff\xfe\xff", 4);  /* a lone half gap */
	m.n += 4;
	save(&m);
	t = open_img(false);
	assert_int_equal(tape_space(t, TAPE_SP_EOD, 0), 0);
	for (int i = 0; i < 3; i++)
		rbuf[i] = (uint8_t)(40 + i);
	assert_int_equal(tape_write(t, rbuf, 3), 3);
	assert_int_equal(tape_close(t), 0);
	t = open_img(true);
	assert_int_equal(tape_rewind(t), 0);
	expect_rec(t, 5, 1);
	expect_mark(t, TAPE_RD_FILEMARK);
	expect_rec(t, 3, 40);
	expect_mark(t, TAPE_RD_EOD);
	assert_int_equal(tape_close(t), 0);
}

/* The index kept beside an image is used only while it describes the image
 * exactly; a changed image or a damaged index means a scan, never a wrong
 * answer. */
static void t_kept_index(void **state)
{
	char ip[4300];
	struct stat sb;
	struct img m;
	struct tape *t = open_img(false);
	FILE *f;

	(void)state;
	snprintf(ip, sizeof(ip), "%s.idx", path);
	for (int i = 0; i < 3; i++)
		rbuf[i] = (uint8_t)(70 + i);
	assert_int_equal(tape_write(t, rbuf, 3), 3);
	assert_int_equal(tape_write_marks(t, TAPE_MK_FILEMARK, 1), 0);
	assert_int_equal(tape_close(t), 0);
	assert_int_equal(stat(ip, &sb), 0);
	t = open_img(true);
	assert_int_equal(tape_rewind(t), 0);
	expect_rec(t, 3, 70);
	expect_mark(t, TAPE_RD_FILEMARK);
	expect_mark(t, TAPE_RD_EOD);
	assert_int_equal(tape_close(t), 0);
	/* another tool rewrites the image: the index is stale */
	good_prefix(&m);
	rec(&m, 4, 9);
	save(&m);
	t = open_img(true);
	assert_int_equal(tape_rewind(t), 0);
	expect_rec(t, 5, 1);
	expect_mark(t, TAPE_RD_FILEMARK);
	expect_rec(t, 4, 9);
	assert_int_equal(tape_close(t), 0);
	/* a hostile index with a matching stamp: garbage after the stamp */
	t = open_img(false);
	assert_int_equal(tape_close(t), 0);  /* saves a fresh index */
	f = fopen(ip, "r+");
	assert_non_null(f);
	fseek(f, 16 + 8, SEEK_SET);
	fputs("\xff\xff\xff\xff\xff\xff\xff\x7f", f);  /* end far past the image */
	fclose(f);
	t = open_img(true);
	assert_int_equal(tape_rewind(t), 0);
	expect_rec(t, 5, 1);
	expect_mark(t, TAPE_RD_FILEMARK);
	expect_rec(t, 4, 9);
	expect_mark(t, TAPE_RD_EOD);
	assert_int_equal(tape_close(t), 0);
}

/* Like /dev/nst0, the drive keeps position and settings between opens. */
static void t_state_kept(void **state)
{
	struct tape_params p;
	struct tape_status s;
	struct img m;
	struct tape *t;

	(void)state;
	good_prefix(&m);
	rec(&m, 4, 3);
	save(&m);
	t = open_img(false);
	assert_int_equal(tape_space(t, TAPE_SP_FILEMARKS, 1), 0);
	assert_int_equal(tape_set_compression(t, true), 0);
	assert_int_equal(tape_close(t), 0);
	t = open_img(false);
	assert_int_equal(tape_status(t, &s), 0);
	assert_int_equal(s.file, 1);
	assert_int_equal(s.block, 0);
	assert_int_equal(tape_get_params(t, &p), 0);
	assert_true(p.compression);
	expect_rec(t, 4, 3);
	assert_int_equal(tape_close(t), 0);
	/* another tool changes the image: the kept position no longer stands */
	good_prefix(&m);
	rec(&m, 6, 5);
	rec(&m, 6, 6);
	save(&m);
	t = open_img(false);
	assert_int_equal(tape_status(t, &s), 0);
	assert_true(s.bot);
	assert_int_equal(tape_close(t), 0);
}

static void t_read_only_and_busy(void **state)
{
	struct tape *t, *t2 = NULL;
	struct stat sb;
	char sp[4300];

	struct tape_vopts vo;

	(void)state;
	tape_vopts_init(&vo);
	vo.read_only = true;
	assert_int_equal(tape_open_simh(path, &vo, &t2), -ENOENT);
	t = open_img(false);
	assert_int_equal(tape_open_simh(path, NULL, &t2), -EBUSY);
	assert_int_equal(tape_close(t), 0);
	snprintf(sp, sizeof(sp), "%s.state", path);
	unlink(sp);
	t = open_img(true);
	assert_int_equal(tape_write(t, rbuf, 10), -EACCES);
	assert_int_equal(tape_write_marks(t, TAPE_MK_FILEMARK, 1), -EACCES);
	assert_int_equal(tape_erase(t, true), -EACCES);
	assert_int_equal(tape_close(t), 0);
	assert_int_equal(stat(sp, &sb), -1);  /* read-only leaves no state */
}

static void t_partition_file(void **state)
{
	struct tape *t = open_img(false);
	struct stat sb;
	char p1[4300];

	(void)state;
	snprintf(p1, sizeof(p1), "%s.p1", path);
	assert_int_equal(tape_mkpart(t, 1), 0);
	assert_int_equal(tape_setpart(t, 1), 0);
	assert_int_equal(tape_write(t, rbuf, 6), 6);
	assert_int_equal(tape_close(t), 0);
	assert_int_equal(stat(p1, &sb), 0);
	assert_int_equal(sb.st_size, 14);  /* 4 + 6 + 4: a plain SIMH image */
	t = open_img(false);
	assert_int_equal(tape_mkpart(t, 0), 0);
	assert_int_equal(tape_close(t), 0);
	assert_int_equal(stat(p1, &sb), -1);
}

static void t_open_names(void **state)
{
	struct tape *t = NULL;
	char name[4300];

	(void)state;
	assert_int_equal(tape_open("mem:", NULL, &t), 0);
	assert_string_equal(tape_kind(t), "mem");
	tape_close(t);
	snprintf(name, sizeof(name), "simh:%s", path);
	assert_int_equal(tape_open(name, NULL, &t), 0);
	assert_string_equal(tape_kind(t), "simh");
	assert_string_equal(tape_name(t), path);
	tape_close(t);
	assert_int_equal(tape_open(path, NULL, &t), 0);
	assert_string_equal(tape_kind(t), "simh");
	tape_close(t);
	assert_int_equal(tape_open("/dev/nonexistent-nst9", NULL, &t), -ENOENT);
	assert_int_equal(tape_open("/etc/passwd", NULL, &t), -ENODEV);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(t_writer_bytes),
		T(t_reader_markers),
		T(t_corrupt_truncated_record),
		T(t_corrupt_lengths_disagree),
		T(t_corrupt_oversized),
		T(t_corrupt_truncated_word),
		T(t_write_over_damage),
		T(t_write_after_trailing_gap),
		T(t_kept_index),
		T(t_state_kept),
		T(t_read_only_and_busy),
		T(t_partition_file),
		T(t_open_names),
	};

	return cmocka_run_group_tests_name("simh", tests, NULL, NULL);
}
