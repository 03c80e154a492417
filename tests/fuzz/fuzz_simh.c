/* fuzz_simh.c - libFuzzer target for the SIMH .tap image backend.
 *
 * Build and run:  make fuzz && make fuzz-run FUZZ_SECONDS=600
 *                 (or: sh tests/fuzz/run.sh build/fuzz/fuzz_simh 600)
 *
 * Input layout (every section after the first is optional, in this order):
 *
 *   IMAGE ["--p1--" P1] ["--state--" STATE] ["--ops--" OPS]
 *
 * IMAGE is written to a .tap file in a private temporary directory, P1 beside
 * it as IMAGE.p1 (a second partition), STATE as IMAGE.state (the drive's
 * sidecar).  OPS is a small program of tape operations; without it a default
 * program runs.  Each input is driven twice:
 *
 *   1. read-only open: read every record to EOD with a 16 MiB buffer, run OPS,
 *      read everything again, close (nothing is written to disk);
 *   2. read-write open of the same files: run OPS (which may write, mark,
 *      erase, mkpart...), always write a record in the middle and erase after
 *      it, close (writes IMAGE.state), reopen to check the saved state and the
 *      new image index, read all, close.
 *
 * All files are removed after every input, and the number of open file
 * descriptors must be the same before and after (checked; ASan checks memory
 * leaks at exit).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tape.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RECORD (16u << 20)   /* SIMH records are at most 0xFFFFFF bytes */
#define MAX_OPS 48
#define MAX_READS 40000          /* > objects an image of max_len can hold */

static char *g_buf;              /* 16 MiB read/write buffer, allocated once */
static char g_dir[PATH_MAX];
static char g_img[PATH_MAX], g_p1[PATH_MAX], g_state[PATH_MAX];
static char g_tmp[PATH_MAX];
static FILE *g_null;             /* self-test report sink */

static void cleanup_files(void)
{
	unlink(g_img);
	unlink(g_p1);
	unlink(g_state);
	unlink(g_tmp);
}

static void cleanup_dir(void)
{
	if (g_dir[0]) {
		cleanup_files();
		rmdir(g_dir);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = getenv("TMPDIR");
	struct stat sb;

	(void)argc, (void)argv;
	if (!base || !*base)
		base = stat("/dev/shm", &sb) == 0 && access("/dev/shm", W_OK) == 0 ?
		       "/dev/shm" : "/tmp";
	snprintf(g_dir, sizeof(g_dir), "%s/fuzz_simh.XXXXXX", base);
	if (!mkdtemp(g_dir)) {
		perror("fuzz_simh: mkdtemp");
		abort();
	}
	snprintf(g_img, sizeof(g_img), "%s/img.tap", g_dir);
	snprintf(g_p1, sizeof(g_p1), "%s.p1", g_img);
	snprintf(g_state, sizeof(g_state), "%s.state", g_img);
	snprintf(g_tmp, sizeof(g_tmp), "%s.state.tmp", g_img);
	atexit(cleanup_dir);
	g_null = fopen("/dev/null", "we");
	if (!g_null)
		abort();
	g_buf = malloc(MAX_RECORD);
	if (!g_buf)
		abort();
	memset(g_buf, 0xA5, MAX_RECORD);
	return 0;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void put_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0) {
		perror("fuzz_simh: create");
		abort();
	}
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0) {
			perror("fuzz_simh: write");
			abort();
		}
		p += w;
		n -= (size_t)w;
	}
	close(fd);
}

/* ---- op program ---------------------------------------------------------- */

struct prog {
	const uint8_t *p;
	size_t n, i;
};

static uint8_t next8(struct prog *g)
{
	return g->i < g->n ? g->p[g->i++] : 0;
}

/* A count for spacing: small values mostly, the extremes sometimes. */
static long next_count(struct prog *g)
{
	uint8_t b = next8(g);

	switch (b) {
	case 0xF0: return LONG_MAX;
	case 0xF1: return LONG_MIN;
	case 0xF2: return LONG_MIN + 1;
	case 0xF3: return INT_MAX;
	case 0xF4: return -100000;
	case 0xF5: return 100000;
	default: return (long)(int8_t)b;
	}
}

static uint32_t next_blksize(struct prog *g)
{
	static const uint32_t sizes[] = { 0, 1, 2, 3, 512, 1024, 4096, 10240,
		65536, 0x00FFFFFFu, 0x01000000u, 0xFFFFFFFFu, 7, 8, 0, 0 };

	return sizes[next8(g) & 15];
}

static void touch_msg(struct tape *t)
{
	/* The message must be a valid string whatever happened. */
	volatile size_t n = strlen(tape_errmsg(t));

	(void)n;
}

/* Read records until EOD, a stuck error, or a bound. */
static void read_all(struct tape *t, size_t len)
{
	enum tape_rd what;
	unsigned part, part2;
	uint64_t before, after;

	for (int i = 0; i < MAX_READS; i++) {
		if (tape_tell(t, &part, &before) < 0)
			before = UINT64_MAX;
		ssize_t n = tape_read(t, g_buf, len, &what);

		if (n > 0 && (size_t)n > len)
			abort();  /* more than the buffer: impossible */
		if (n == 0 && what == TAPE_RD_EOD)
			return;
		if (n < 0) {
			touch_msg(t);
			if (n == -ENOMEDIUM)
				return;
			if (tape_tell(t, &part2, &after) < 0 || after == before)
				return;  /* damage: reading does not get past it */
		}
	}
}

static size_t read_len(struct tape *t, uint8_t sel)
{
	struct tape_params p;
	size_t len;

	switch (sel & 3) {
	case 0: len = MAX_RECORD; break;
	case 1: len = 1u + sel; break;         /* small: -ENOMEM on big records */
	case 2: len = 65536; break;
	default: len = 0; break;
	}
	if (tape_get_params(t, &p) == 0 && p.block_size && len) {
		if (p.block_size > MAX_RECORD)
			return len;  /* cannot hold one block: -EINVAL path */
		if ((sel & 3) != 1)
			len -= len % p.block_size;
		else
			len = p.block_size * (size_t)(1 + (sel >> 5));
		if (len > MAX_RECORD)
			len = p.block_size;
	}
	return len;
}

static size_t write_len(struct tape *t, struct prog *g)
{
	struct tape_params p;
	uint8_t a = next8(g), b = next8(g);
	size_t len = (size_t)a << 8 | b;   /* 0..65535 */

	if (tape_get_params(t, &p) == 0 && p.block_size) {
		if (p.block_size > MAX_RECORD)
			return p.block_size & 0xFFFF;
		if (a & 0x80)
			return len;  /* likely not a multiple: -EINVAL */
		size_t n = 1 + (b & 15);

		if (p.block_size * n > 1u << 20)
			n = 1;
		return p.block_size * n;
	}
	if (a == 0xFF && b == 0xFF)
		return MAX_RECORD;  /* one past the maximum: refused */
	return len;
}

static void run_op(struct tape *t, struct prog *g)
{
	uint8_t op = next8(g);
	enum tape_rd what;
	struct tape_status s;
	struct tape_params pa;
	unsigned part;
	uint64_t blk;
	size_t len;
	int rc = 0;

	switch (op % 24) {
	case 0:
	case 1:
		len = read_len(t, next8(g));
		rc = (int)tape_read(t, g_buf, len, &what);
		break;
	case 2:
		rc = tape_rewind(t);
		break;
	case 3:
		rc = tape_space(t, TAPE_SP_RECORDS, next_count(g));
		break;
	case 4:
		rc = tape_space(t, TAPE_SP_FILEMARKS, next_count(g));
		break;
	case 5:
		rc = tape_space(t, TAPE_SP_EOD, 0);
		break;
	case 6:
		rc = tape_space(t, TAPE_SP_SETMARKS, next_count(g));
		break;
	case 7: {
		uint8_t a = next8(g);

		blk = a == 0xFF ? UINT64_MAX : a == 0xFE ? (uint64_t)1 << 40 : a;
		rc = tape_locate(t, next8(g) & 3, blk);
		break;
	}
	case 8:
		rc = tape_tell(t, &part, &blk);
		break;
	case 9:
		rc = tape_status(t, &s);
		break;
	case 10:
		rc = tape_get_params(t, &pa);
		break;
	case 11:
		rc = tape_set_blksize(t, next_blksize(g));
		break;
	case 12:
	case 13:
		len = write_len(t, g);
		memset(g_buf, op, len < 4096 ? len : 4096);
		rc = (int)tape_write(t, g_buf, len);
		break;
	case 14:
		rc = tape_write_marks(t, next8(g) & 1 ? TAPE_MK_SETMARK :
				      TAPE_MK_FILEMARK, next8(g) & 7);
		break;
	case 15:
		rc = tape_erase(t, next8(g) & 1);
		break;
	case 16:
		rc = tape_prepare(t, (enum tape_prep)(next8(g) % 6));
		break;
	case 17: {
		static const long sz[] = { 0, 1, -1, 2, -2, 1000, LONG_MAX,
			LONG_MIN };

		rc = tape_mkpart(t, sz[next8(g) & 7]);
		break;
	}
	case 18:
		rc = tape_setpart(t, next8(g) & 3);
		break;
	case 19:
		rc = tape_set_compression(t, next8(g) & 1);
		break;
	case 20:
		read_all(t, read_len(t, next8(g)));
		break;
	case 21:
		rc = tape_tell(t, NULL, NULL);
		break;
	case 22: {
		struct tape_test_result res;

		/* Writes to the tape (refused on a read-only one). */
		rc = tape_selftest(t, next8(g) & 1, g_null, &res);
		break;
	}
	default:
		rc = tape_space(t, TAPE_SP_RECORDS, -1);
		break;
	}
	if (rc < 0)
		touch_msg(t);
}

/* Without an OPS section: the positioning tour the brief asks for. */
static const uint8_t default_ops[] = {
	2,                /* rewind */
	4, 1,             /* fsf 1 */
	9,                /* status */
	3, 2,             /* fsr 2 */
	3, 0xFE,          /* bsr 2 */
	4, 0xFF,          /* bsf 1 */
	7, 3, 0,          /* locate part 0 block 3 */
	8, 10, 9,         /* tell, params, status */
	5, 9,             /* eod, status */
	3, 0xFF,          /* bsr 1 */
	0, 0,             /* read (16 MiB) */
	7, 0, 1,          /* locate part 1 block 0 */
	2, 11, 4,         /* rewind, setblk 512 */
	0, 0,             /* read fixed */
	11, 0,            /* setblk 0 */
};

struct sections {
	const uint8_t *img, *p1, *state, *ops;
	size_t nimg, np1, nstate, nops;
	bool has_p1, has_state, has_ops;
};

/* Split off the part after the first `mark` in [*p, *p + *n). */
static bool cut(const uint8_t **p, size_t *n, const char *mark,
		const uint8_t **tail, size_t *ntail)
{
	size_t m = strlen(mark);
	const uint8_t *at = memmem(*p, *n, mark, m);

	if (!at)
		return false;
	*tail = at + m;
	*ntail = *n - (size_t)(at - *p) - m;
	*n = (size_t)(at - *p);
	return true;
}

static void split_input(const uint8_t *data, size_t size, struct sections *s)
{
	const uint8_t *p = data;
	size_t n = size;

	memset(s, 0, sizeof(*s));
	s->has_ops = cut(&p, &n, "--ops--", &s->ops, &s->nops);
	s->has_state = cut(&p, &n, "--state--", &s->state, &s->nstate);
	s->has_p1 = cut(&p, &n, "--p1--", &s->p1, &s->np1);
	s->img = p;
	s->nimg = n;
	if (!s->has_ops) {
		s->ops = default_ops;
		s->nops = sizeof(default_ops);
	}
}

/* The first OPS byte picks the drive options of this run. */
static void set_vopts(struct tape_vopts *vo, uint8_t cfg, bool read_only)
{
	static const uint64_t caps[] = { 0, 0, 0, 0, 100, 4096, 70000, 1000000 };

	tape_vopts_init(vo);
	vo->read_only = read_only;
	vo->capacity = caps[cfg & 7];
	vo->ew_zone = (cfg & 8) ? 2048 : 0;
	if (cfg & 0x10)
		vo->fault_read_error = (cfg >> 5) & 3;
	if (cfg & 0x80)
		vo->fault_short_write = 1 + ((cfg >> 5) & 3);
	if ((cfg & 0xE0) == 0xE0)
		vo->fault_enospc = 2;
}

static void write_files(const struct sections *s)
{
	cleanup_files();
	put_file(g_img, s->img, s->nimg);
	if (s->has_p1)
		put_file(g_p1, s->p1, s->np1);
	if (s->has_state) {
		char stamps[128];
		struct stat sb;
		int fd, k = 0;

		put_file(g_state, s->state, s->nstate);
		/* A state file names the exact image it belongs to; append the
		 * right stamp (later lines win) unless the state ends in '!'. */
		if (!s->nstate || s->state[s->nstate - 1] == '!')
			return;
		if (s->state[s->nstate - 1] != '\n')
			stamps[k++] = '\n';  /* finish the last line */
		if (stat(g_img, &sb) == 0)
			k += snprintf(stamps + k, sizeof(stamps) - (size_t)k,
				      "stamp0 %llu %llu\n",
				      (unsigned long long)sb.st_size,
				      (unsigned long long)sb.st_mtim.tv_sec *
				      1000000000ull + (unsigned long long)
				      sb.st_mtim.tv_nsec);
		if (s->has_p1 && stat(g_p1, &sb) == 0)
			k += snprintf(stamps + k, sizeof(stamps) - (size_t)k,
				      "stamp1 %llu %llu\n",
				      (unsigned long long)sb.st_size,
				      (unsigned long long)sb.st_mtim.tv_sec *
				      1000000000ull + (unsigned long long)
				      sb.st_mtim.tv_nsec);
		fd = open(g_state, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, stamps, (size_t)k) < 0)
				abort();
			close(fd);
		}
	}
}

static void run_prog(struct tape *t, const struct sections *s)
{
	struct prog g = { .p = s->ops, .n = s->nops, .i = s->has_ops ? 1 : 0 };

	for (int i = 0; i < MAX_OPS && g.i < g.n; i++)
		run_op(t, &g);
}

static void pass_read_only(const struct sections *s, uint8_t cfg)
{
	struct tape_vopts vo;
	struct tape *t = NULL;

	set_vopts(&vo, cfg, true);
	if (tape_open_simh(g_img, &vo, &t) < 0)
		return;
	read_all(t, MAX_RECORD);
	run_prog(t, s);
	tape_rewind(t);
	read_all(t, MAX_RECORD);
	ssize_t w = tape_write(t, "x", 1);

	if (w != -EACCES && w != -ENOMEDIUM)   /* write-protected */
		abort();
	tape_close(t);
	if (access(g_state, F_OK) == 0 && !s->has_state)
		abort();  /* a read-only drive must not write its state */
}

static void pass_read_write(const struct sections *s, uint8_t cfg)
{
	struct tape_vopts vo;
	struct tape *t = NULL;
	struct tape_status st;
	uint64_t n = 0;
	unsigned part;

	set_vopts(&vo, cfg, false);
	if (tape_open_simh(g_img, &vo, &t) < 0)
		return;
	run_prog(t, s);
	/* Write a record in the middle: everything after it goes. */
	tape_rewind(t);
	read_all(t, MAX_RECORD);
	if (tape_tell(t, &part, &n) == 0 && n > 1)
		tape_locate(t, part, n / 2);
	memset(g_buf, 'w', 333);
	tape_set_blksize(t, 0);
	tape_write(t, g_buf, 333);
	tape_write_marks(t, TAPE_MK_FILEMARK, 1);
	tape_space(t, TAPE_SP_RECORDS, -1);
	tape_erase(t, cfg & 1);
	tape_status(t, &st);
	tape_close(t);

	/* Reopen: the saved state must stand and the index be consistent. */
	t = NULL;
	if (tape_open_simh(g_img, &vo, &t) < 0)
		return;
	tape_status(t, &st);
	read_all(t, MAX_RECORD);
	tape_rewind(t);
	read_all(t, MAX_RECORD);
	tape_close(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sections s;
	uint8_t cfg;
	int fds = count_fds();

	split_input(data, size, &s);
	cfg = s.has_ops && s.nops ? s.ops[0] : 0;
	write_files(&s);
	pass_read_only(&s, cfg);
	write_files(&s);   /* a fresh copy for the read-write pass */
	pass_read_write(&s, cfg);
	cleanup_files();
	if (count_fds() != fds) {
		fprintf(stderr, "fuzz_simh: file descriptor leak (%d open before,"
			" %d after)\n", fds, count_fds());
		abort();
	}
	return 0;
}
