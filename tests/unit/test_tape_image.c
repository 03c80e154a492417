/* test_tape_image.c - what a SIMH image must be before the drive trusts it:
 * a missing image, a file that is not SIMH, an empty file, a kept index
 * that no longer describes the image, and a fault injection that must not
 * forge a filemark.  Expected bytes come from the SIMH format (32-bit
 * little-endian length, data padded to even, length again; 0 is a
 * filemark), written and read here independently of the drive.
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
#include "tape.h"

static uint8_t rbuf[1 << 16];
static char img[512];

static void put_file(const char *p, const void *b, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

static size_t get_file(const char *p, void *b, size_t cap)
{
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, b, cap);
	close(fd);
	assert_true(n >= 0);
	return (size_t)n;
}

/* Does IMAGE followed by suffix ("", ".idx", ...) exist? */
static bool exists(const char *p, const char *suffix)
{
	char q[600];

	snprintf(q, sizeof(q), "%s%s", p, suffix);
	return access(q, F_OK) == 0;
}

/* SIMH bytes of one record of len bytes, every byte `fill`, at b. */
static size_t simh_rec(uint8_t *b, uint32_t len, uint8_t fill)
{
	uint8_t w[4] = { (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
			 (uint8_t)(len >> 24) };
	size_t pad = len & 1u;

	memcpy(b, w, 4);
	memset(b + 4, fill, len);
	if (pad)
		b[4 + len] = 0;
	memcpy(b + 4 + len + pad, w, 4);
	return 8 + len + pad;
}

static int setup(void **state)
{
	static int n;
	(void)state;
	snprintf(img, sizeof(img), "%s/t%d.tap", th_tmpdir(), n++);
	return 0;
}

static struct tape *open_img(bool ro)
{
	struct tape_vopts vo;
	struct tape *t = NULL;

	tape_vopts_init(&vo);
	vo.read_only = ro;
	assert_int_equal(tape_open_simh(img, &vo, &t), 0);
	return t;
}

/* A missing image with must_exist: -ENOENT, a message, and no file. */
static void t_missing_must_exist(void **state)
{
	struct tape_vopts vo;
	struct tape *t = NULL;
	char why[600], want[600];

	(void)state;
	tape_vopts_init(&vo);
	vo.must_exist = true;
	assert_int_equal(tape_open_why(img, &vo, &t, why, sizeof(why)), -ENOENT);
	snprintf(want, sizeof(want), "cannot open '%s': No such file or directory",
		 img);
	assert_string_equal(why, want);
	assert_false(exists(img, ""));
	assert_false(exists(img, ".state"));
	/* without it, a blank tape is made (what writing verbs want) */
	vo.must_exist = false;
	assert_int_equal(tape_open_why(img, &vo, &t, why, sizeof(why)), 0);
	assert_int_equal(tape_close(t), 0);
	assert_true(exists(img, ""));
}

/* An existing empty file is a blank tape. */
static void t_empty_is_blank(void **state)
{
	enum tape_rd what;
	struct tape *t;

	(void)state;
	put_file(img, "", 0);
	t = open_img(true);
	assert_int_equal(tape_read(t, rbuf, sizeof(rbuf), &what), 0);
	assert_int_equal(what, TAPE_RD_EOD);
	assert_int_equal(tape_close(t), 0);
}

/* A file that is not SIMH: refused with a reason, left exactly as it was,
 * nothing created beside it, even when opened for writing. */
static void not_simh(const void *bytes, size_t n, const char *reason)
{
	struct tape *t = NULL;
	char why[600], want[600];
	static uint8_t back[8192];

	put_file(img, bytes, n);
	assert_int_equal(tape_open_simh(img, NULL, &t), -EMEDIUMTYPE);
	assert_null(t);
	assert_int_equal(tape_open_why(img, NULL, &t, why, sizeof(why)), -EMEDIUMTYPE);
	snprintf(want, sizeof(want), "'%s' is not a SIMH tape image: ", img);
	if (strncmp(why, want, strlen(want)) || !strstr(why, reason))
		fail_msg("message '%s' is not '%s...%s'", why, want, reason);
	assert_int_equal(get_file(img, back, sizeof(back)), n);
	assert_memory_equal(back, bytes, n);
	assert_false(exists(img, ".idx"));
	assert_false(exists(img, ".state"));
	assert_false(exists(img, ".p1"));
}

static void t_text_file(void **state)
{
	static const char text[] = "hello, this is a text file\n";

	(void)state;
	/* "hell" as a length word is 0x6c6c6568: more than 24 bits */
	not_simh(text, sizeof(text) - 1, "record length 0x6c6c6568 at byte offset 0");
}

static void t_short_file(void **state)
{
	(void)state;
	not_simh("ab", 2, "truncated length word at byte offset 0");
}

/* A filesystem image: its zeroed boot block reads as filemarks, then the
 * superblock is no record.  Marks alone do not make a tape. */
static void t_fs_image(void **state)
{
	static uint8_t b[4096];

	(void)state;
	memset(b, 0, sizeof(b));
	b[1024] = 0x00, b[1025] = 0x20;  /* s_inodes_count 8192 */
	b[1028] = 0x00, b[1029] = 0x80;  /* s_blocks_count 32768 */
	b[1024 + 56] = 0x53, b[1024 + 57] = 0xef;  /* the ext magic */
	not_simh(b, sizeof(b), "at byte offset 1024");
}

/* Damage after a data record is a damaged tape, which still opens. */
static void t_damaged_tape_opens(void **state)
{
	uint8_t b[64];
	size_t n = simh_rec(b, 5, 'a');
	struct tape *t;

	(void)state;
	memcpy(b + n, "\x40\x00\x00\x00xyz", 7);  /* a record cut short */
	put_file(img, b, n + 7);
	t = open_img(true);
	assert_int_equal(tape_read(t, rbuf, sizeof(rbuf), NULL), 5);
	assert_int_equal(tape_read(t, rbuf, sizeof(rbuf), NULL), -EIO);
	assert_non_null(strstr(tape_errmsg(t), "truncated record at byte offset 14"));
	assert_int_equal(tape_close(t), 0);
}

/* The kept index (IMAGE.idx) is stamped with size and mtime, which another
 * program can match by rewriting the image within the mtime granularity (or
 * by restoring the mtime).  The records read must be the image's. */
static void t_stale_index(void **state)
{
	struct timespec ts[2];
	struct stat sb;
	uint8_t b[512];
	size_t n;
	struct tape *t = open_img(false);

	(void)state;
	memset(rbuf, 'o', 100);
	assert_int_equal(tape_write(t, rbuf, 100), 100);
	assert_int_equal(tape_write(t, rbuf, 100), 100);
	assert_int_equal(tape_write_marks(t, TAPE_MK_FILEMARK, 1), 0);
	assert_int_equal(tape_rewind(t), 0);
	assert_int_equal(tape_close(t), 0);
	assert_true(exists(img, ".idx"));
	assert_int_equal(stat(img, &sb), 0);
	assert_int_equal(sb.st_size, 2 * 108 + 4);
	/* The same 220 bytes as one record of 208 and a filemark. */
	n = simh_rec(b, 208, 'n');
	memset(b + n, 0, 4);
	put_file(img, b, n + 4);
	ts[0] = sb.st_atim;
	ts[1] = sb.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, img, ts, 0), 0);
	t = open_img(true);
	assert_int_equal(tape_rewind(t), 0);
	assert_int_equal(tape_read(t, rbuf, sizeof(rbuf), NULL), 208);
	for (int i = 0; i < 208; i++)
		assert_int_equal(rbuf[i], 'n');
	assert_int_equal(tape_read(t, rbuf, sizeof(rbuf), NULL), 0);
	assert_int_equal(tape_read(t, rbuf, sizeof(rbuf), NULL), 0);
	assert_int_equal(tape_close(t), 0);
}

/* The same, where every entry's leading word still matches and only a
 * trailing one does not (the image was damaged in place): the second record
 * is damage to report, not 100 good bytes. */
static void t_stale_index_trailing(void **state)
{
	struct timespec ts[2];
	struct stat sb;
	uint8_t b[512];
	size_t n;
	struct tape *t = open_img(false);

	(void)state;
	memset(rbuf, 'o', 100);
	assert_int_equal(tape_write(t, rbuf, 100), 100);
	assert_int_equal(tape_write(t, rbuf, 100), 100);
	assert_int_equal(tape_rewind(t), 0);
	assert_int_equal(tape_close(t), 0);
	assert_int_equal(stat(img, &sb), 0);
	n = simh_rec(b, 100, 'n');
	n += simh_rec(b + n, 100, 'm');
	assert_int_equal((off_t)n, sb.st_size);
	b[n - 4] = 99;  /* the second record's trailing length word */
	put_file(img, b, n);
	ts[0] = sb.st_atim;
	ts[1] = sb.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, img, ts, 0), 0);
	t = open_img(true);
	assert_int_equal(tape_rewind(t), 0);
	assert_int_equal(tape_read(t, rbuf, sizeof(rbuf), NULL), 100);
	assert_int_equal(rbuf[0], 'n');
	assert_int_equal(tape_read(t, rbuf, sizeof(rbuf), NULL), -EIO);
	assert_non_null(strstr(tape_errmsg(t), "length words disagree for the"
			       " record at byte offset 108"));
	assert_int_equal(tape_close(t), 0);
}

/* IMAGE.idx starts with 7 native u64: magic, the image's size, mtime ns,
 * ctime ns, device, inode, then flags (bit 0: the index was checked against
 * the image after the clock had passed its ctime, so it is used unread). */
enum { IX_MAGIC, IX_SIZE, IX_MTIME, IX_CTIME, IX_DEV, IX_INO, IX_FLAGS, IX_N };

static void idx_head(uint64_t h[IX_N])
{
	char ip[600];

	snprintf(ip, sizeof(ip), "%s.idx", img);
	assert_int_equal(get_file(ip, h, IX_N * sizeof(h[0])), IX_N * sizeof(h[0]));
}

static uint64_t ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

/* Two records of 100 'o' and a filemark, closed: the index is kept,
 * marked exact.  *sb is the image's stat then. */
static void two_records(struct stat *sb)
{
	uint64_t h[IX_N];
	struct tape *t = open_img(false);

	memset(rbuf, 'o', 100);
	assert_int_equal(tape_write(t, rbuf, 100), 100);
	assert_int_equal(tape_write(t, rbuf, 100), 100);
	assert_int_equal(tape_write_marks(t, TAPE_MK_FILEMARK, 1), 0);
	assert_int_equal(tape_close(t), 0);
	assert_int_equal(stat(img, sb), 0);
	idx_head(h);
	assert_int_equal(h[IX_FLAGS], 1);
	assert_int_equal(h[IX_CTIME], ns(&sb->st_ctim));
	assert_int_equal(h[IX_INO], sb->st_ino);
}

/* Another program writes the same 220 bytes as one record of 208 and a
 * filemark, in place, and puts the mtime back: size and mtime are those
 * the index was stamped with. */
static void rewrite_in_place(const struct stat *old)
{
	struct timespec ts[2] = { old->st_atim, old->st_mtim };
	uint8_t b[512];
	struct stat sb;
	size_t n = simh_rec(b, 208, 'n');
	int fd = open(img, O_WRONLY | O_CLOEXEC);

	memset(b + n, 0, 4);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, b, n + 4, 0), (ssize_t)(n + 4));
	assert_int_equal(close(fd), 0);
	assert_int_equal(utimensat(AT_FDCWD, img, ts, 0), 0);
	assert_int_equal(stat(img, &sb), 0);
	assert_int_equal(sb.st_size, old->st_size);
	assert_int_equal(ns(&sb.st_mtim), ns(&old->st_mtim));
	assert_int_equal(sb.st_ino, old->st_ino);
}

/* The tape reads the rewritten records: 208 'n', a mark, the end. */
static void expect_rewritten(void)
{
	struct tape *t = open_img(true);

	assert_int_equal(tape_rewind(t), 0);
	assert_int_equal(tape_read(t, rbuf, sizeof(rbuf), NULL), 208);
	for (int i = 0; i < 208; i++)
		assert_int_equal(rbuf[i], 'n');
	assert_int_equal(tape_read(t, rbuf, sizeof(rbuf), NULL), 0);
	assert_int_equal(tape_read(t, rbuf, sizeof(rbuf), NULL), 0);
	assert_int_equal(tape_close(t), 0);
}

/* An index marked exact, whose image was rewritten in place with records
 * of other lengths and its mtime put back (same size, mtime, inode): the
 * ctime moved, so the mark no longer stands and the new records are read.
 * A stamp of size and mtime alone would fail here. */
static void t_exact_index_stale(void **state)
{
	struct stat sb;

	(void)state;
	two_records(&sb);
	rewrite_in_place(&sb);
	expect_rewritten();
}

/* An index whose stamp was forged to match the rewritten image (what a
 * rewrite within one tick of the clock would leave, or a hostile index) is
 * not believed unless it is ours and no one else can write it: the one
 * that is group-writable, or owned by another user, is checked against
 * the image, which the new records fail. */
static void t_forged_index(void **state)
{
	char ip[600];
	uint64_t h[IX_N];
	struct stat sb;
	FILE *f;

	(void)state;
	snprintf(ip, sizeof(ip), "%s.idx", img);
	two_records(&sb);
	rewrite_in_place(&sb);
	assert_int_equal(stat(img, &sb), 0);
	idx_head(h);
	h[IX_CTIME] = ns(&sb.st_ctim);  /* everything else already matches */
	f = fopen(ip, "r+");
	assert_non_null(f);
	assert_int_equal(fwrite(h, sizeof(h[0]), IX_N, f), IX_N);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(ip, 0664), 0);
	expect_rewritten();
	if (geteuid() == 0) {
		assert_int_equal(chmod(ip, 0644), 0);
		assert_int_equal(chown(ip, 65534, 65534), 0);
		expect_rewritten();
	}
}

/* A read-write session that changed nothing leaves an exact index as it
 * is (no check, no rewrite); one that writes saves it again, exact. */
static void t_exact_index_kept(void **state)
{
	char ip[600];
	uint64_t h[IX_N];
	struct stat sb, a, b;
	struct tape *t;

	(void)state;
	snprintf(ip, sizeof(ip), "%s.idx", img);
	two_records(&sb);
	assert_int_equal(stat(ip, &a), 0);
	t = open_img(false);
	assert_int_equal(tape_rewind(t), 0);  /* the position was kept: at EOD */
	assert_int_equal(tape_read(t, rbuf, sizeof(rbuf), NULL), 100);
	assert_int_equal(tape_space(t, TAPE_SP_EOD, 0), 0);
	assert_int_equal(tape_close(t), 0);
	assert_int_equal(stat(ip, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(ns(&a.st_mtim), ns(&b.st_mtim));
	t = open_img(false);
	assert_int_equal(tape_space(t, TAPE_SP_EOD, 0), 0);
	assert_int_equal(tape_write(t, rbuf, 7), 7);
	assert_int_equal(tape_close(t), 0);
	assert_int_equal(stat(ip, &b), 0);
	assert_int_not_equal(a.st_ino, b.st_ino);  /* a new file, renamed in */
	assert_int_equal(stat(img, &sb), 0);
	idx_head(h);
	assert_int_equal(h[IX_FLAGS], 1);
	assert_int_equal(h[IX_SIZE], (uint64_t)sb.st_size);
	t = open_img(true);
	assert_int_equal(tape_rewind(t), 0);
	assert_int_equal(tape_space(t, TAPE_SP_FILEMARKS, 1), 0);
	assert_int_equal(tape_read(t, rbuf, sizeof(rbuf), NULL), 7);
	assert_int_equal(tape_close(t), 0);
}

/* Short-write injection halves a record; a 1-byte record cannot be halved
 * into a 0-byte one, which SIMH reads as a filemark: it fails instead. */
static void short_write(bool mem)
{
	struct tape_vopts vo;
	enum tape_rd what;
	struct tape *t = NULL;
	uint8_t b[64];

	tape_vopts_init(&vo);
	vo.fault_short_write = 0;
	assert_int_equal(mem ? tape_open_mem(&vo, &t) : tape_open_simh(img, &vo, &t), 0);
	rbuf[0] = 'x';
	assert_int_equal(tape_write(t, rbuf, 1), -EIO);
	assert_non_null(strstr(tape_errmsg(t), "injected short write"));
	assert_int_equal(tape_rewind(t), 0);
	assert_int_equal(tape_read(t, rbuf, sizeof(rbuf), &what), 0);
	assert_int_equal(what, TAPE_RD_EOD);
	/* fixed mode, 1-byte blocks: the same */
	assert_int_equal(tape_set_blksize(t, 1), 0);
	assert_int_equal(tape_write(t, rbuf, 1), -EIO);
	assert_int_equal(tape_set_blksize(t, 0), 0);
	assert_int_equal(tape_close(t), 0);
	if (mem)
		return;
	assert_int_equal(get_file(img, b, sizeof(b)), 0);  /* no mark stored */
	/* a 4-byte record at object 0 is cut to 2 bytes, not to a mark */
	assert_int_equal(unlink(img), 0);
	assert_int_equal(tape_open_simh(img, &vo, &t), 0);
	memcpy(rbuf, "abcd", 4);
	assert_int_equal(tape_write(t, rbuf, 4), 2);
	assert_int_equal(tape_close(t), 0);
	assert_int_equal(get_file(img, b, sizeof(b)), 10);
	assert_memory_equal(b, "\x02\x00\x00\x00" "ab" "\x02\x00\x00\x00", 10);
}

static void t_short_write_mem(void **state)
{
	(void)state;
	short_write(true);
}

static void t_short_write_simh(void **state)
{
	(void)state;
	short_write(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(t_missing_must_exist, setup),
		cmocka_unit_test_setup(t_empty_is_blank, setup),
		cmocka_unit_test_setup(t_text_file, setup),
		cmocka_unit_test_setup(t_short_file, setup),
		cmocka_unit_test_setup(t_fs_image, setup),
		cmocka_unit_test_setup(t_damaged_tape_opens, setup),
		cmocka_unit_test_setup(t_stale_index, setup),
		cmocka_unit_test_setup(t_stale_index_trailing, setup),
		cmocka_unit_test_setup(t_exact_index_stale, setup),
		cmocka_unit_test_setup(t_forged_index, setup),
		cmocka_unit_test_setup(t_exact_index_kept, setup),
		cmocka_unit_test_setup(t_short_write_mem, setup),
		cmocka_unit_test_setup(t_short_write_simh, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
