/* cmd_tape.c - `sysrecover tape DEV VERB [ARG]...`: mt's verbs, plus a self-test.
 *
 * Verbs run in order on one open handle and stop at the first failure, so a
 * sequence such as `rewind fsf 1 status` needs no persistent device state;
 * virtual drives keep their position between runs anyway, as /dev/nstN does.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "text.h"
#include "tape.h"

enum verb_arg { ARG_NONE, ARG_OPT_NUM, ARG_NUM, ARG_OPT_WORD, ARG_WORD };

struct tape_cli {
	struct tape *t;
	bool force;
	int64_t record_size;
	int exit_code;
};

struct tape_verb {
	const char *name;
	const char *alias;
	enum verb_arg arg;
	int (*run)(struct tape_cli *c, const char *arg, int64_t n);
	const char *help;
};

static int v_status(struct tape_cli *c, const char *arg, int64_t n)
{
	struct tape_status s;
	static const struct { const char *name; size_t off; } flags[] = {
		{ "BOT", offsetof(struct tape_status, bot) },
		{ "EOF", offsetof(struct tape_status, eof) },
		{ "SM", offsetof(struct tape_status, sm) },
		{ "EOT", offsetof(struct tape_status, eot) },
		{ "EOD", offsetof(struct tape_status, eod) },
		{ "WR_PROT", offsetof(struct tape_status, wr_prot) },
		{ "ONLINE", offsetof(struct tape_status, online) },
		{ "DR_OPEN", offsetof(struct tape_status, no_medium) },
		{ "LOCKED", offsetof(struct tape_status, locked) },
	};
	int rc = tape_status(c->t, &s);

	(void)arg, (void)n;
	if (rc < 0)
		return rc;
	printf("%s tape drive %s:\n", tape_kind(c->t), tape_name(c->t));
	printf("File number=%ld, block number=%ld, partition=%u.\n", s.file,
	       s.block, s.partition);
	printf("Tape block size %" PRIu32 " bytes. Density code 0x%" PRIx32
	       " (%s).\n", s.block_size, s.density, s.density ? "set" : "default");
	if (s.logical_valid)
		printf("Logical block %" PRIu64 ".\n", s.logical);
	printf("General status bits on:\n");
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (*(const bool *)((const char *)&s + flags[i].off))
			printf(" %s", flags[i].name);
	printf("\n");
	return 0;
}

static int v_params(struct tape_cli *c, const char *arg, int64_t n)
{
	struct tape_params p;
	int rc = tape_get_params(c->t, &p);

	(void)arg, (void)n;
	if (rc < 0)
		return rc;
	printf("Block size %" PRIu32 " bytes (%s).\n", p.block_size,
	       p.block_size ? "fixed" : "variable");
	printf("Block limits %" PRIu32 " - %" PRIu32 " bytes.\n", p.min_block,
	       p.max_block);
	printf("Compression %s.\n", p.compression ? "on" : "off");
	printf("Partitions %u of at most %u.\n", p.partitions, p.max_partitions);
	if (p.capacity)
		printf("Capacity %" PRIu64 " bytes, %" PRIu64 " remaining, early"
		       " warning %" PRIu64 " bytes before the end.\n",
		       p.capacity, p.remaining, p.ew_zone);
	printf("Features:%s%s%s%s%s%s\n",
	       p.features & TAPE_FEAT_FIXED_BLOCK ? " fixed-block" : "",
	       p.features & TAPE_FEAT_LOCATE ? " locate" : "",
	       p.features & TAPE_FEAT_PARTITIONS ? " partitions" : "",
	       p.features & TAPE_FEAT_SETMARKS ? " setmarks" : "",
	       p.features & TAPE_FEAT_EARLY_WARNING ? " early-warning" : "",
	       p.features & TAPE_FEAT_COMPRESSION ? " compression" : "");
	return 0;
}

static int v_rewind(struct tape_cli *c, const char *arg, int64_t n)
{
	(void)arg, (void)n;
	return tape_rewind(c->t);
}

static int v_eod(struct tape_cli *c, const char *arg, int64_t n)
{
	(void)arg, (void)n;
	return tape_space(c->t, TAPE_SP_EOD, 0);
}

static int v_fsf(struct tape_cli *c, const char *a, int64_t n)
{
	(void)a;
	return tape_space(c->t, TAPE_SP_FILEMARKS, (long)n);
}

static int v_bsf(struct tape_cli *c, const char *a, int64_t n)
{
	(void)a;
	return tape_space(c->t, TAPE_SP_FILEMARKS, -(long)n);
}

static int v_fsr(struct tape_cli *c, const char *a, int64_t n)
{
	(void)a;
	return tape_space(c->t, TAPE_SP_RECORDS, (long)n);
}

static int v_bsr(struct tape_cli *c, const char *a, int64_t n)
{
	(void)a;
	return tape_space(c->t, TAPE_SP_RECORDS, -(long)n);
}

static int v_fss(struct tape_cli *c, const char *a, int64_t n)
{
	(void)a;
	return tape_space(c->t, TAPE_SP_SETMARKS, (long)n);
}

static int v_bss(struct tape_cli *c, const char *a, int64_t n)
{
	(void)a;
	return tape_space(c->t, TAPE_SP_SETMARKS, -(long)n);
}

static int v_weof(struct tape_cli *c, const char *a, int64_t n)
{
	(void)a;
	return tape_write_marks(c->t, TAPE_MK_FILEMARK, (unsigned)n);
}

static int v_wset(struct tape_cli *c, const char *a, int64_t n)
{
	(void)a;
	return tape_write_marks(c->t, TAPE_MK_SETMARK, (unsigned)n);
}

static int v_erase(struct tape_cli *c, const char *a, int64_t n)
{
	(void)n;
	if (a && strcmp(a, "short") && strcmp(a, "long")) {
		err_say("erase takes 'short' or 'long', not '%s'", a);
		return -EINVAL;
	}
	return tape_erase(c->t, !a || !strcmp(a, "long"));
}

#define PREP_VERB(fn, op)                                              \
	static int fn(struct tape_cli *c, const char *a, int64_t n)   \
	{                                                              \
		(void)a, (void)n;                                      \
		return tape_prepare(c->t, op);                         \
	}
PREP_VERB(v_load, TAPE_PREP_LOAD)
PREP_VERB(v_unload, TAPE_PREP_UNLOAD)
PREP_VERB(v_lock, TAPE_PREP_LOCK)
PREP_VERB(v_unlock, TAPE_PREP_UNLOCK)
PREP_VERB(v_tension, TAPE_PREP_TENSION)

static int v_setblk(struct tape_cli *c, const char *a, int64_t n)
{
	(void)a;
	if (n > UINT32_MAX)
		return -EINVAL;
	return tape_set_blksize(c->t, (uint32_t)n);
}

static int v_compression(struct tape_cli *c, const char *a, int64_t n)
{
	bool on = true;

	(void)n;
	if (a && (!strcmp(a, "off") || !strcmp(a, "0")))
		on = false;
	else if (a && strcmp(a, "on") && strcmp(a, "1")) {
		err_say("compression takes on/off or 1/0, not '%s'", a);
		return -EINVAL;
	}
	return tape_set_compression(c->t, on);
}

static int v_tell(struct tape_cli *c, const char *a, int64_t n)
{
	unsigned part;
	uint64_t blk;
	int rc = tape_tell(c->t, &part, &blk);

	(void)a, (void)n;
	if (rc == 0)
		printf("At block %" PRIu64 ".\n", blk);
	return rc;
}

static int v_seek(struct tape_cli *c, const char *a, int64_t n)
{
	unsigned part;
	uint64_t blk;
	int rc = tape_tell(c->t, &part, &blk);

	(void)a;
	return rc < 0 ? rc : tape_locate(c->t, part, (uint64_t)n);
}

static int v_partition(struct tape_cli *c, const char *a, int64_t n)
{
	struct tape_params p;
	struct tape_status s;
	int rc;

	if (a)
		return tape_setpart(c->t, (unsigned)n);
	rc = tape_status(c->t, &s);
	if (rc == 0)
		rc = tape_get_params(c->t, &p);
	if (rc == 0)
		printf("Partition %u of %u.\n", s.partition, p.partitions);
	return rc;
}

static int v_mkpart(struct tape_cli *c, const char *a, int64_t n)
{
	(void)a;
	return tape_mkpart(c->t, (long)n);
}

static int v_partseek(struct tape_cli *c, const char *a, int64_t n);

/* Record size for `write`: the fixed block size, else --record-size. */
static size_t record_size(struct tape_cli *c, uint32_t *fixed)
{
	struct tape_params p;

	*fixed = tape_get_params(c->t, &p) == 0 ? p.block_size : 0;
	return *fixed ? *fixed : (size_t)c->record_size;
}

static int open_data(const char *path, bool out)
{
	if (!strcmp(path, "-"))
		return out ? STDOUT_FILENO : STDIN_FILENO;
	return out ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
		   : open(path, O_RDONLY | O_CLOEXEC);
}

/* Fill buf from fd as far as it goes; returns bytes read or -errno. */
static ssize_t read_full(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, buf + got, len - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int v_write(struct tape_cli *c, const char *path, int64_t n)
{
	uint32_t fixed;
	size_t rs = record_size(c, &fixed);
	char *buf = malloc(rs);
	int fd = open_data(path, false), rc = 0;
	uint64_t recs = 0, bytes = 0;
	ssize_t got, w;

	(void)n;
	if (!buf || fd < 0) {
		rc = !buf ? -ENOMEM : -errno;
		err_say("cannot read '%s': %s", path, strerror(-rc));
		goto out;
	}
	while ((got = read_full(fd, buf, rs)) > 0) {
		if (fixed && (size_t)got < rs)  /* pad the last block, as tar does */
			memset(buf + got, 0, rs - (size_t)got), got = (ssize_t)rs;
		w = tape_write(c->t, buf, (size_t)got);
		if (w != got) {
			rc = w < 0 ? (int)w : -EIO;
			goto out;
		}
		recs++;
		bytes += (uint64_t)got;
	}
	if (got < 0)
		rc = (int)got, err_say("cannot read '%s': %s", path, strerror(-rc));
	fprintf(stderr, "%" PRIu64 " records, %" PRIu64 " bytes written\n", recs,
		bytes);
out:
	if (fd > STDERR_FILENO)
		close(fd);
	free(buf);
	return rc;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Copy records to a file until a filemark (consumed) or end of data. */
static int v_read(struct tape_cli *c, const char *path, int64_t n)
{
	struct tape_params p;
	size_t cap = tape_get_params(c->t, &p) == 0 && p.max_block ?
		     p.max_block : (size_t)16 << 20;
	char *buf = malloc(cap);
	int fd = open_data(path, true), rc = 0;
	enum tape_rd what = TAPE_RD_DATA;
	uint64_t recs = 0, bytes = 0;
	ssize_t r;

	(void)n;
	if (!buf || fd < 0) {
		rc = !buf ? -ENOMEM : -errno;
		err_say("cannot write '%s': %s", path, strerror(-rc));
		goto out;
	}
	if (p.block_size)
		cap -= cap % p.block_size;
	while ((r = tape_read(c->t, buf, cap, &what)) > 0) {
		rc = write_all(fd, buf, (size_t)r);
		if (rc < 0) {
			err_say("cannot write '%s': %s", path, strerror(-rc));
			goto out;
		}
		recs++;
		bytes += (uint64_t)r;
	}
	rc = r < 0 ? (int)r : 0;
	fprintf(stderr, "%" PRIu64 " records, %" PRIu64 " bytes read, stopped at %s\n",
		recs, bytes, r < 0 ? "an error" : what == TAPE_RD_EOD ? "end of data"
		: what == TAPE_RD_SETMARK ? "a setmark" : "a filemark");
out:
	if (fd > STDERR_FILENO)
		close(fd);
	free(buf);
	return rc;
}

static int v_test(struct tape_cli *c, const char *a, int64_t n)
{
	struct tape_test_result res;
	int rc;

	(void)a, (void)n;
	rc = tape_selftest(c->t, c->force, stdout, &res);
	if (rc < 0)
		return rc;
	printf("tape test: %u checks passed, %u failed, %u skipped\n",
	       res.passed, res.failed, res.skipped);
	if (res.failed)
		c->exit_code = ERR_EXIT_PARTIAL;
	return 0;
}

static const struct tape_verb tape_verbs[] = {
	{ "status", NULL, ARG_NONE, v_status, "where the tape is and what the drive says" },
	{ "params", NULL, ARG_NONE, v_params, "block limits, partitions, capacity, features" },
	{ "rewind", NULL, ARG_NONE, v_rewind, "to the beginning of the partition" },
	{ "eod", "seod", ARG_NONE, v_eod, "to end of data (to append)" },
	{ "fsf", NULL, ARG_OPT_NUM, v_fsf, "forward N filemarks, to the start of the next file" },
	{ "bsf", NULL, ARG_OPT_NUM, v_bsf, "back N filemarks, to the BOT side of the mark" },
	{ "fsr", NULL, ARG_OPT_NUM, v_fsr, "forward N records" },
	{ "bsr", NULL, ARG_OPT_NUM, v_bsr, "back N records" },
	{ "fss", NULL, ARG_OPT_NUM, v_fss, "forward N setmarks" },
	{ "bss", NULL, ARG_OPT_NUM, v_bss, "back N setmarks" },
	{ "weof", "eof", ARG_OPT_NUM, v_weof, "write N filemarks" },
	{ "wset", NULL, ARG_OPT_NUM, v_wset, "write N setmarks" },
	{ "erase", NULL, ARG_OPT_WORD, v_erase, "[short|long] end the data here (default long)" },
	{ "load", NULL, ARG_NONE, v_load, "load the medium" },
	{ "unload", "offline", ARG_NONE, v_unload, "rewind and unload" },
	{ "lock", NULL, ARG_NONE, v_lock, "prevent medium removal" },
	{ "unlock", NULL, ARG_NONE, v_unlock, "allow medium removal" },
	{ "tension", "retension", ARG_NONE, v_tension, "wind to the end and back" },
	{ "setblk", NULL, ARG_NUM, v_setblk, "N: fixed block size N, 0 = variable" },
	{ "compression", NULL, ARG_OPT_WORD, v_compression, "[on|off] drive compression" },
	{ "tell", NULL, ARG_NONE, v_tell, "print the logical block number" },
	{ "seek", NULL, ARG_NUM, v_seek, "N: locate to logical block N" },
	{ "partition", NULL, ARG_OPT_NUM, v_partition, "[N]: show, or switch to partition N" },
	{ "setpartition", NULL, ARG_NUM, v_partition, "N: switch to partition N" },
	{ "mkpartition", NULL, ARG_NUM, v_mkpart, "SIZE_MB: two partitions (0 = one); destroys data" },
	{ "partseek", NULL, ARG_NUM, v_partseek, "P N: locate to block N of partition P" },
	{ "write", NULL, ARG_WORD, v_write, "FILE|-: copy a file onto the tape as records" },
	{ "read", NULL, ARG_WORD, v_read, "FILE|-: copy records to a file, up to the next mark" },
	{ "test", NULL, ARG_NONE, v_test, "drive self-test (writes to the tape)" },
};

#define NVERBS (sizeof(tape_verbs) / sizeof(tape_verbs[0]))

/* partseek takes two numbers: the second is the next word. */
static const char *partseek_block;

static int v_partseek(struct tape_cli *c, const char *a, int64_t n)
{
	int64_t blk;

	(void)a;
	if (!text_parse_size(partseek_block, false, &blk)) {
		err_say("partseek needs a partition and a block number");
		return -EINVAL;
	}
	return tape_locate(c->t, (unsigned)n, (uint64_t)blk);
}

static const struct tape_verb *find_verb(const char *w)
{
	for (size_t i = 0; i < NVERBS; i++)
		if (!strcmp(w, tape_verbs[i].name) ||
		    (tape_verbs[i].alias && !strcmp(w, tape_verbs[i].alias)))
			return &tape_verbs[i];
	return NULL;
}

static void tape_usage(FILE *f)
{
	fprintf(f,
		"usage: sysrecover tape [OPTIONS] DEV VERB [ARG] [VERB [ARG]]...\n\n"
		"DEV: /dev/nstN (Linux st), IMAGE.tap or simh:PATH (SIMH image,\n"
		"     created when missing), mem: (in memory, gone at exit)\n\n"
		"options:\n"
		"  --capacity SIZE       virtual tape capacity (k/M/G suffixes)\n"
		"  --early-warning SIZE  early-warning zone before the end\n"
		"  --read-only           open write-protected\n"
		"  --record-size SIZE    record size for 'write' in variable mode (64k)\n"
		"  --force               let 'test' overwrite a tape that holds data\n"
		"  --inject KIND@N       test only: read-error, short-write or enospc\n"
		"                        at logical block N of partition 0\n\n"
		"verbs (as mt's):\n");
	for (size_t i = 0; i < NVERBS; i++)
		fprintf(f, "  %-13s %s\n", tape_verbs[i].name, tape_verbs[i].help);
}

static bool parse_inject(const char *s, struct tape_vopts *vo)
{
	const char *at = strchr(s, '@');
	int64_t n;
	long *slot;

	if (!at || !text_parse_size(at + 1, false, &n))
		return false;
	if (!strncmp(s, "read-error@", 11))
		slot = &vo->fault_read_error;
	else if (!strncmp(s, "short-write@", 12))
		slot = &vo->fault_short_write;
	else if (!strncmp(s, "enospc@", 7))
		slot = &vo->fault_enospc;
	else
		return false;
	*slot = (long)n;
	return true;
}

static int parse_opts(int argc, char **argv, struct tape_cli *c,
		      struct tape_vopts *vo)
{
	static const struct option opts[] = {
		{ "capacity", required_argument, NULL, 'c' },
		{ "early-warning", required_argument, NULL, 'w' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "record-size", required_argument, NULL, 's' },
		{ "force", no_argument, NULL, 'f' },
		{ "inject", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int64_t v;
	int o;

	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': case 'w': case 's':
			if (!text_parse_size(optarg, false, &v) || (o == 's' && !v)) {
				err_say("bad size '%s'", optarg);
				return ERR_EXIT_USAGE;
			}
			if (o == 'c')
				vo->capacity = (uint64_t)v;
			else if (o == 'w')
				vo->ew_zone = (uint64_t)v;
			else
				c->record_size = v;
			break;
		case 'r': vo->read_only = true; break;
		case 'f': c->force = true; break;
		case 'i':
			if (!parse_inject(optarg, vo)) {
				err_say("bad --inject '%s'", optarg);
				return ERR_EXIT_USAGE;
			}
			break;
		case 'h': tape_usage(stdout); return ERR_EXIT_OK;
		default: tape_usage(stderr); return ERR_EXIT_USAGE;
		}
	}
	return -1;
}

/* Check the whole verb list before touching the drive. */
static int check_verbs(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const struct tape_verb *v = find_verb(argv[i]);
		int64_t n;

		if (!v) {
			err_say("unknown tape verb '%s' (see --help)", argv[i]);
			return ERR_EXIT_USAGE;
		}
		if (v->arg == ARG_NONE)
			continue;
		if (i + 1 < argc && (v->arg == ARG_WORD || v->arg == ARG_OPT_WORD ?
				     !find_verb(argv[i + 1]) :
				     text_parse_size(argv[i + 1], v->run == v_mkpart, &n)))
			i += 1 + (v->run == v_partseek);
		else if (v->arg == ARG_NUM || v->arg == ARG_WORD) {
			err_say("'%s' needs an argument", argv[i]);
			return ERR_EXIT_USAGE;
		}
	}
	return -1;
}

static int run_verbs(struct tape_cli *c, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const struct tape_verb *v = find_verb(argv[i]);
		const char *arg = NULL;
		int64_t n = 1;
		int rc;

		if (v->arg != ARG_NONE && i + 1 < argc &&
		    (v->arg == ARG_WORD || v->arg == ARG_OPT_WORD ?
		     !find_verb(argv[i + 1]) :
		     text_parse_size(argv[i + 1], v->run == v_mkpart, &n)))
			arg = argv[++i];
		if (v->run == v_partseek)
			partseek_block = i + 1 < argc ? argv[++i] : NULL;
		rc = v->run(c, arg, n);
		if (rc < 0) {
			const char *m = tape_errmsg(c->t);

			err_say("%s%s%s on %s: %s", v->name, arg ? " " : "",
			       arg ? arg : "", tape_name(c->t), *m ? m : strerror(-rc));
			return ERR_EXIT_FAILED;
		}
	}
	return c->exit_code;
}

/* /dev/stN rewinds when closed: whatever the verbs positioned is lost. */
static void warn_rewinding(const char *dev, struct tape *t)
{
	const char *base = strrchr(dev, '/');

	base = base ? base + 1 : dev;
	if (!strcmp(tape_kind(t), "st") && !strncmp(base, "st", 2))
		err_warn("%s rewinds when closed, so positioning does not last past"
			" this command; use the no-rewind node /dev/n%s", dev, base);
}

int cli_tape(int argc, char **argv)
{
	struct tape_cli c = { .record_size = 65536 };
	struct tape_vopts vo;
	const char *dev;
	int rc, crc;

	tape_vopts_init(&vo);
	rc = parse_opts(argc, argv, &c, &vo);
	if (rc >= 0)
		return rc;
	if (argc - optind < 2) {
		tape_usage(stderr);
		return ERR_EXIT_USAGE;
	}
	dev = argv[optind];
	rc = check_verbs(argc - optind - 1, argv + optind + 1);
	if (rc >= 0)
		return rc;
	rc = tape_open(dev, &vo, &c.t);
	if (rc < 0) {
		err_say("cannot open tape '%s': %s%s", dev, strerror(-rc), rc == -ENODEV ?
		       " (want /dev/nstN, IMAGE.tap, simh:PATH or mem:)" : "");
		return ERR_EXIT_FAILED;
	}
	warn_rewinding(dev, c.t);
	rc = run_verbs(&c, argc - optind - 1, argv + optind + 1);
	crc = tape_close(c.t);
	if (crc < 0) {
		err_say("closing %s: %s", dev, strerror(-crc));
		if (rc == ERR_EXIT_OK)
			rc = ERR_EXIT_FAILED;
	}
	return rc;
}

/* TRANSITIONAL: the group as a struct cli_cmd, around its old entry point. */
static int tape_legacy(struct cli_ctx *c, int argc, char **argv)
{
	c->legacy_exit = cli_tape(argc, argv);
	return 0;
}

const struct cli_cmd cli_tape_cmd = {
	.name = "tape", .run = tape_legacy, .max_args = -1,
	.args = "DEV VERB [ARG]...",
	.summary = "mt-style drive control and self-test",
};
