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
 *   1. read-only open: read every record to EOD with a 16 MiB buffer and
 *      check each against an independent reading of the image (same lengths,
 *      bytes, marks; -EIO naming the byte offset at damage), run OPS, read
 *      everything again, close (the drive must not write its state);
 *   2. read-write open of the same files: run OPS (which may write, mark,
 *      erase, mkpart...), always write a record in the middle and erase after
 *      it, close (writes IMAGE.state), reopen: the position must be the one
 *      it had at close, and the image as now on disk must read back as the
 *      reference reading says.
 *
 * All files are removed after every input, and the number of open file
 * descriptors must be the same before and after (checked; ASan checks memory
 * leaks at exit).  FUZZ_SIMH_KNOWN_BUGS relaxes checks for reported bugs (see
 * known_bug()); run.sh's FUZZ_UBSAN_SUPP does the same for UBSan reports.
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
static char g_idx[2][PATH_MAX];  /* the kept indexes, IMAGE.idx, IMAGE.p1.idx */

static void cleanup_files(void)
{
	unlink(g_img);
	unlink(g_p1);
	unlink(g_state);
	unlink(g_tmp);
	for (int i = 0; i < 2; i++) {
		char t[PATH_MAX + 8];

		unlink(g_idx[i]);
		snprintf(t, sizeof(t), "%s.tmp", g_idx[i]);
		unlink(t);
	}
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
	snprintf(g_idx[0], sizeof(g_idx[0]), "%s.idx", g_img);
	snprintf(g_idx[1], sizeof(g_idx[1]), "%s.idx", g_p1);
	atexit(cleanup_dir);
	g_buf = malloc(MAX_RECORD);
	if (!g_buf)
		abort();
	memset(g_buf, 0xA5, MAX_RECORD);
	return 0;
}

/* Open descriptors other than pipes (the sanitizers' symbolizer keeps a pair
 * of pipes once it has started, which may happen during an input). */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char p[64], target[64];
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		ssize_t k;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/self/fd/%s", e->d_name);
		k = readlink(p, target, sizeof(target) - 1);
		if (k >= 0 && (target[k] = 0, !strncmp(target, "pipe:", 5)))
			continue;
		n++;
	}
	closedir(d);
	return n;
}

static void list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char p[64], target[PATH_MAX];

	while (d && (e = readdir(d))) {
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/self/fd/%s", e->d_name);
		n = readlink(p, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = 0;
		fprintf(stderr, "  fd %s -> %s\n", e->d_name, target);
	}
	if (d)
		closedir(d);
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
		if (n < 0)
			touch_msg(t);
		/* Damage, or a 0-byte fixed-mode read: no progress. */
		if (tape_tell(t, &part2, &after) < 0 || after == before)
			return;
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
	/* Mostly short records (cheap); up to 64 KiB when a's top bit is set. */
	size_t len = a & 0x80 ? (size_t)(a & 0x7F) << 9 | b : (size_t)(a & 3) << 8 | b;

	if (tape_get_params(t, &p) == 0 && p.block_size) {
		if (p.block_size > MAX_RECORD)
			return p.block_size & 0xFFFF;
		if (p.block_size > 65536 && b != 0xFF)
			return len | 1;  /* huge blocks are slow: mostly -EINVAL */
		if (a & 0x40)   /* at most 4 blocks, often not a multiple */
			return 1 + len % (4 * (size_t)p.block_size);
		size_t n = 1 + (b & 3);

		if (p.block_size * n > 256u << 10)
			n = 1;
		return p.block_size * n;
	}
	if (a == 0x7F && b == 0xFF)
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

	switch (op % 23) {
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

/* ---- reference reader ------------------------------------------------------
 * An independent walk over the image, as the SIMH format defines it, that the
 * drive's reads must agree with: same records, same bytes, same marks, and at
 * damage an -EIO that names the byte offset of the damaged record. */

static uint32_t le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static void mismatch(struct tape *t, uint64_t obj, uint64_t off, const char *what,
		     long long got)
{
	fprintf(stderr, "fuzz_simh: reference mismatch at object %llu (byte offset"
		" %llu): %s (got %lld, \"%s\")\n", (unsigned long long)obj,
		(unsigned long long)off, what, got, tape_errmsg(t));
	abort();
}

static void check_reference(struct tape *t, const uint8_t *img, size_t n)
{
	uint64_t off = 0, obj = 0, pos;
	enum tape_rd what;
	unsigned part;
	char want[64];
	ssize_t r;

	if (tape_prepare(t, TAPE_PREP_LOAD) < 0 || tape_set_blksize(t, 0) < 0)
		mismatch(t, 0, 0, "cannot load and set variable mode", -1);
	for (;;) {
		uint32_t w, len, pad;
		int bad = 0;

		if (off + 4 > n) {
			if (off < n)
				bad = 1;  /* truncated length word */
		} else {
			w = le32(img + off);
			if (w == 0xFFFFFFFEu) {
				off += 4;
				continue;
			}
			if (w == 0xFFFEFFFFu) {
				off += 2;
				continue;
			}
			if (w == 0xFFFFFFFFu) {
				n = off;  /* EOM: nothing after it counts */
				continue;
			}
			r = tape_read(t, g_buf, MAX_RECORD, &what);
			if (w == 0) {
				if (r != 0 || what != TAPE_RD_FILEMARK)
					mismatch(t, obj, off, "filemark expected", r);
				off += 4, obj++;
				continue;
			}
			len = w & 0x7FFFFFFFu;
			pad = len & 1u;
			if (len > 0xFFFFFFu || off + 8 + len + pad > n ||
			    le32(img + off + 4 + len + pad) != w) {
				bad = 1;
			} else if (w & 0x80000000u) {
				if (r != -EIO)
					mismatch(t, obj, off, "-EIO for a bad record", r);
				off += 8 + len + pad, obj++;
				continue;
			} else {
				if (r != (ssize_t)len || what != TAPE_RD_DATA)
					mismatch(t, obj, off, "wrong record length", r);
				if (memcmp(g_buf, img + off + 4, len))
					mismatch(t, obj, off, "wrong record data", r);
				off += 8 + len + pad, obj++;
				continue;
			}
			/* damage: checked below with this read's result */
			goto damaged;
		}
		r = tape_read(t, g_buf, MAX_RECORD, &what);
		if (!bad) {
			if (r != 0 || what != TAPE_RD_EOD)
				mismatch(t, obj, off, "end of data expected", r);
			break;
		}
damaged:
		snprintf(want, sizeof(want), "byte offset %llu",
			 (unsigned long long)off);
		if (r != -EIO || !strstr(tape_errmsg(t), want))
			mismatch(t, obj, off, "-EIO naming the damaged offset", r);
		/* Damage stops the tape: it stays there. */
		r = tape_read(t, g_buf, MAX_RECORD, &what);
		if (r != -EIO)
			mismatch(t, obj, off, "-EIO again at the damage", r);
		break;
	}
	if (tape_tell(t, &part, &pos) < 0 || part != 0 || pos != obj)
		mismatch(t, obj, off, "tell after reading all", (long long)pos);
}

/* Is this a SIMH image at all, by tape.h's rule: scanning it does not meet
 * damage before the first data record (good or flagged bad).  Marks and
 * gaps alone followed by damage are not a tape; an empty file is. */
static bool looks_simh(const uint8_t *b, size_t n)
{
	size_t off = 0;

	while (off < n) {
		uint32_t w, len, pad;

		if (off + 4 > n)
			return false;  /* truncated length word */
		w = le32(b + off);
		if (w == 0xFFFFFFFEu || w == 0) {
			off += 4;
		} else if (w == 0xFFFEFFFFu) {
			off += 2;
		} else if (w == 0xFFFFFFFFu) {
			return true;   /* EOM: nothing after it counts */
		} else {
			len = w & 0x7FFFFFFFu;
			pad = len & 1u;
			return len <= 0xFFFFFFu && off + 8 + len + pad <= n &&
			       le32(b + off + 4 + len + pad) == w;
		}
	}
	return true;
}

/* Open the image as the input's files stand: a file that is not SIMH must
 * be refused with -EMEDIUMTYPE and left alone (no index, no state written
 * beside it), and nothing else may be refused so. */
static int open_checked(const struct sections *s, const struct tape_vopts *vo,
			struct tape **t)
{
	bool simh = looks_simh(s->img, s->nimg) &&
		    (!s->has_p1 || looks_simh(s->p1, s->np1));
	char why[PATH_MAX + 256];
	int rc = tape_open_simh_why(g_img, vo, t, why, sizeof(why));

	if (simh && rc == -EMEDIUMTYPE) {
		fprintf(stderr, "fuzz_simh: a SIMH image refused: %s\n", why);
		abort();
	}
	if (!simh && rc != -EMEDIUMTYPE) {
		fprintf(stderr, "fuzz_simh: not a SIMH image, but open gave %d\n", rc);
		abort();
	}
	if (rc == -EMEDIUMTYPE &&
	    (!strstr(why, "is not a SIMH tape image: ") ||
	     access(g_idx[0], F_OK) == 0 || access(g_idx[1], F_OK) == 0 ||
	     (access(g_state, F_OK) == 0 && !s->has_state))) {
		fprintf(stderr, "fuzz_simh: a refused image got sidecars or no"
			" reason (\"%s\")\n", why);
		abort();
	}
	return rc;
}

/* Check the drive against the image file as it is now on disk. */
static void check_image(struct tape *t)
{
	int fd = open(g_img, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	uint8_t *img;

	if (fd < 0)
		return;
	if (fstat(fd, &sb) < 0 || sb.st_size > 64 << 20 ||
	    !(img = malloc((size_t)sb.st_size + 1))) {
		close(fd);
		return;
	}
	if (pread(fd, img, (size_t)sb.st_size, 0) == sb.st_size)
		check_reference(t, img, (size_t)sb.st_size);
	free(img);
	close(fd);
}

static void pass_read_only(const struct sections *s, uint8_t cfg)
{
	struct tape_vopts vo;
	struct tape *t = NULL;

	set_vopts(&vo, cfg, true);
	if (open_checked(s, &vo, &t) < 0)
		return;
	if (vo.fault_read_error < 0)
		check_reference(t, s->img, s->nimg);
	else
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

/* FUZZ_SIMH_KNOWN_BUGS="halfgap ..." relaxes the checks that a known,
 * reported bug trips, so that a long run can look for other things:
 *   halfgap  a write at the end of data that follows a half-gap marker
 *            (0xFFFEFFFF) cuts the marker in two and the record is lost on
 *            reopen; positions are then not checked for images with one. */
static bool known_bug(const struct sections *s, const char *name)
{
	const char *k = getenv("FUZZ_SIMH_KNOWN_BUGS");

	if (!k || !strstr(k, name))
		return false;
	if (!strcmp(name, "halfgap"))
		return memmem(s->img, s->nimg, "\xff\xff\xfe\xff", 4) ||
		       (s->has_p1 && memmem(s->p1, s->np1, "\xff\xff\xfe\xff", 4));
	return false;
}

static void pass_read_write(const struct sections *s, uint8_t cfg)
{
	struct tape_vopts vo;
	struct tape *t = NULL;
	struct tape_status st;
	uint64_t n = 0, n2 = 0;
	unsigned part = 0, part2 = 0;
	bool have_pos;

	set_vopts(&vo, cfg, false);
	if (open_checked(s, &vo, &t) < 0)
		return;
	run_prog(t, s);
	/* Write a record in the middle: everything after it goes. */
	tape_space(t, TAPE_SP_EOD, 0);
	if (tape_tell(t, &part, &n) == 0 && n > 1)
		tape_locate(t, part, n / 2);
	memset(g_buf, 'w', 333);
	tape_set_blksize(t, 0);
	tape_write(t, g_buf, 333);
	tape_write_marks(t, TAPE_MK_FILEMARK, 1);
	tape_space(t, TAPE_SP_RECORDS, -1);
	tape_erase(t, cfg & 1);
	tape_status(t, &st);
	have_pos = tape_tell(t, &part, &n) == 0;
	if (tape_close(t) < 0)
		have_pos = false;

	/* Reopen: the saved state must stand and the index be consistent. */
	t = NULL;
	if (tape_open_simh(g_img, &vo, &t) < 0)
		return;
	if (known_bug(s, "halfgap"))
		have_pos = false;
	if (have_pos && (tape_tell(t, &part2, &n2) < 0 || part2 != part || n2 != n)) {
		fprintf(stderr, "fuzz_simh: position not kept across close/open:"
			" %u/%llu before, %u/%llu after (%s)\n", part,
			(unsigned long long)n, part2, (unsigned long long)n2,
			tape_errmsg(t));
		abort();
	}
	tape_status(t, &st);
	read_all(t, MAX_RECORD);
	if (vo.fault_read_error < 0)
		check_image(t);  /* what was written reads back as written */
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
		list_fds();
		abort();
	}
	return 0;
}
