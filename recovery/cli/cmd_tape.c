/* cmd_tape.c - `sysrecover tape DEV VERB [ARG]...`: mt's verbs, plus a self-test.
 *
 * Verbs run in order on one open handle and stop at the first failure, so a
 * sequence such as `rewind fsf 1 status` needs no persistent device state;
 * virtual drives keep their position between runs anyway, as /dev/nstN does.
 * Every verb is checked (run with no drive in ctx->obj) before the drive is
 * opened, so a typo in the last verb changes nothing on the tape.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "progress.h"
#include "text.h"
#include "tape.h"

#define TAPE_PREFIX "sysrecover tape DEV "

/* The group's options (ctx->opts). */
struct tape_opts {
	struct tape_vopts vo;
	int64_t record_size;      /* for `write` in variable mode */
	bool force;               /* `test` may overwrite data */
	bool create;              /* a missing image may be created */
	const char *dev;          /* -f DEV, --file DEV */
};

/* One verb's arguments, once cli_args has checked them. */
struct verb {
	struct tape *t;           /* NULL while the verbs are only checked */
	const struct tape_opts *o;
	const char *name;         /* the table's name, not mt's alias */
	char **args;
	int nargs;
	const char *word;         /* the argument of a verb taking a word */
	int64_t n[2];             /* number arguments, 1 when absent */
};

static const struct cli_cmd *tape_verb(const char *name);

/* The options of a verb that has --json besides --help (cli_args for it). */
static int json_args(struct cli_ctx *c, const struct cli_cmd *cmd, int argc,
		     char **argv, bool *json)
{
	const struct cli_flag f = { .name = "json", .set = json,
		.help = "  --json  print the result as one JSON object" };

	return cli_args_flag(c, TAPE_PREFIX, cmd, argc, argv, &f);
}

/* A verb's arguments into v; json non-NULL: the verb takes --json. */
static int verb_begin_json(struct cli_ctx *c, int argc, char **argv,
			   struct verb *v, bool *json)
{
	const struct cli_cmd *cmd = tape_verb(argv[0]);
	int rc;

	if (!cmd)
		return cli_usage_err(c, "unknown tape verb '%s' (see --help)", argv[0]);
	rc = json ? json_args(c, cmd, argc, argv, json)
		  : cli_args(c, TAPE_PREFIX, cmd, argc, argv);
	if (rc)
		return rc;
	*v = (struct verb){ .t = c->obj, .o = c->opts, .name = cmd->name,
			    .args = argv + optind, .nargs = argc - optind,
			    .n = { 1, 1 } };
	for (int i = 0; i < v->nargs && i < 2; i++) {
		if (!(cmd->flags & CLI_ARG_NUM))
			v->word = v->args[i];
		else if (!text_parse_size(v->args[i], cmd->flags & CLI_ARG_NEG,
					  &v->n[i]))
			return cli_usage_err(c, "'%s': '%s' is not a number",
					     cmd->name, v->args[i]);
	}
	return 0;
}

static int verb_begin(struct cli_ctx *c, int argc, char **argv, struct verb *v)
{
	return verb_begin_json(c, argc, argv, v, NULL);
}

/* A tape failure into c->err: "fsf 1 on t.tap: <what the tape said>". */
static int verb_end(struct cli_ctx *c, const struct verb *v, int rc)
{
	char args[128] = "";
	size_t n = 0;
	const char *m;

	if (rc >= 0)
		return 0;
	for (int i = 0; i < v->nargs && n < sizeof(args); i++)
		n += (size_t)snprintf(args + n, sizeof(args) - n, " %s", v->args[i]);
	m = tape_errmsg(v->t);
	return err_set(&c->err, rc, "%s%s on %s: %s", v->name, args,
		       tape_name(v->t), *m ? m : strerror(-rc));
}

/* A verb that is one tape call. */
#define TAPE_VERB(fn, call)                                          \
	static int fn(struct cli_ctx *c, int argc, char **argv)      \
	{                                                            \
		struct verb v;                                       \
		int rc = verb_begin(c, argc, argv, &v);              \
									     \
		if (rc || !v.t)                                      \
			return rc;                                   \
		return verb_end(c, &v, (call));                      \
	}
TAPE_VERB(v_rewind, tape_rewind(v.t))
TAPE_VERB(v_eod, tape_space(v.t, TAPE_SP_EOD, 0))
TAPE_VERB(v_fsf, tape_space(v.t, TAPE_SP_FILEMARKS, (long)v.n[0]))
TAPE_VERB(v_bsf, tape_space(v.t, TAPE_SP_FILEMARKS, -(long)v.n[0]))
TAPE_VERB(v_fsr, tape_space(v.t, TAPE_SP_RECORDS, (long)v.n[0]))
TAPE_VERB(v_bsr, tape_space(v.t, TAPE_SP_RECORDS, -(long)v.n[0]))
TAPE_VERB(v_fss, tape_space(v.t, TAPE_SP_SETMARKS, (long)v.n[0]))
TAPE_VERB(v_bss, tape_space(v.t, TAPE_SP_SETMARKS, -(long)v.n[0]))
TAPE_VERB(v_weof, tape_write_marks(v.t, TAPE_MK_FILEMARK, (unsigned)v.n[0]))
TAPE_VERB(v_wset, tape_write_marks(v.t, TAPE_MK_SETMARK, (unsigned)v.n[0]))
TAPE_VERB(v_load, tape_prepare(v.t, TAPE_PREP_LOAD))
TAPE_VERB(v_unload, tape_prepare(v.t, TAPE_PREP_UNLOAD))
TAPE_VERB(v_lock, tape_prepare(v.t, TAPE_PREP_LOCK))
TAPE_VERB(v_unlock, tape_prepare(v.t, TAPE_PREP_UNLOCK))
TAPE_VERB(v_tension, tape_prepare(v.t, TAPE_PREP_TENSION))
TAPE_VERB(v_mkpart, tape_mkpart(v.t, (long)v.n[0]))
TAPE_VERB(v_partseek, tape_locate(v.t, (unsigned)v.n[0], (uint64_t)v.n[1]))
/* mt-st's compound verbs, as st does them: two movements each. */
TAPE_VERB(v_fsfm, (rc = tape_space(v.t, TAPE_SP_FILEMARKS, (long)v.n[0])) < 0 ?
	  rc : tape_space(v.t, TAPE_SP_FILEMARKS, -1))
TAPE_VERB(v_bsfm, (rc = tape_space(v.t, TAPE_SP_FILEMARKS, -(long)v.n[0])) < 0 ?
	  rc : tape_space(v.t, TAPE_SP_FILEMARKS, 1))
TAPE_VERB(v_asf, (rc = tape_rewind(v.t)) < 0 ?
	  rc : tape_space(v.t, TAPE_SP_FILEMARKS, (long)v.n[0]))
TAPE_VERB(v_rewoffl, (rc = tape_rewind(v.t)) < 0 ?
	  rc : tape_prepare(v.t, TAPE_PREP_UNLOAD))

static const struct { const char *name; size_t off; } status_flags[] = {
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
#define NFLAGS (sizeof(status_flags) / sizeof(status_flags[0]))

static bool status_flag(const struct tape_status *s, size_t i)
{
	return *(const bool *)((const char *)s + status_flags[i].off);
}

static void print_status(struct tape *t, const struct tape_status *s)
{
	printf("%s tape drive ", tape_kind(t));
	text_name(stdout, tape_name(t));
	printf(":\n");
	printf("File number=%ld, block number=%ld, partition=%u.\n", s->file,
	       s->block, s->partition);
	printf("Tape block size %" PRIu32 " bytes. Density code 0x%" PRIx32
	       " (%s).\n", s->block_size, s->density, s->density ? "set" : "default");
	if (s->logical_valid)
		printf("Logical block %" PRIu64 ".\n", s->logical);
	printf("General status bits on:\n");
	for (size_t i = 0; i < NFLAGS; i++)
		if (status_flag(s, i))
			printf(" %s", status_flags[i].name);
	printf("\n");
}

/* The device, as the first members of a JSON object. */
static void json_device(struct tape *t)
{
	printf("{\"device\": ");
	text_json_str(stdout, tape_name(t));
	printf(", \"kind\": ");
	text_json_str(stdout, tape_kind(t));
}

static void print_status_json(struct tape *t, const struct tape_status *s)
{
	const char *sep = "";

	json_device(t);
	printf(", \"file\": %ld, \"block\": %ld, \"partition\": %u, "
	       "\"logical_block\": ", s->file, s->block, s->partition);
	if (s->logical_valid)
		printf("%" PRIu64, s->logical);
	else
		printf("null");
	printf(", \"block_size\": %" PRIu32 ", \"density\": %" PRIu32
	       ", \"flags\": [", s->block_size, s->density);
	for (size_t i = 0; i < NFLAGS; i++)
		if (status_flag(s, i)) {
			printf("%s\"%s\"", sep, status_flags[i].name);
			sep = ", ";
		}
	printf("]}\n");
}

static int v_status(struct cli_ctx *c, int argc, char **argv)
{
	struct tape_status s;
	struct verb v;
	bool json = false;
	int rc = verb_begin_json(c, argc, argv, &v, &json);

	if (rc || !v.t)
		return rc;
	rc = tape_status(v.t, &s);
	if (rc == 0 && json)
		print_status_json(v.t, &s);
	else if (rc == 0)
		print_status(v.t, &s);
	return verb_end(c, &v, rc);
}

static const struct { unsigned bit; const char *name; } features[] = {
	{ TAPE_FEAT_FIXED_BLOCK, "fixed-block" },
	{ TAPE_FEAT_LOCATE, "locate" },
	{ TAPE_FEAT_PARTITIONS, "partitions" },
	{ TAPE_FEAT_SETMARKS, "setmarks" },
	{ TAPE_FEAT_EARLY_WARNING, "early-warning" },
	{ TAPE_FEAT_COMPRESSION, "compression" },
	{ TAPE_FEAT_BYTE_EXACT, "byte-exact" },
};

static void print_params_json(struct tape *t, const struct tape_params *p)
{
	const char *sep = "";

	json_device(t);
	printf(", \"block_size\": %" PRIu32 ", \"min_block\": %" PRIu32
	       ", \"max_block\": %" PRIu32 ", \"granularity\": %" PRIu32
	       ", \"density\": %" PRIu32 ", \"compression\": %s"
	       ", \"partitions\": %u, \"max_partitions\": %u"
	       ", \"capacity\": %" PRIu64 ", \"remaining\": %" PRIu64
	       ", \"early_warning\": %" PRIu64 ", \"features\": [",
	       p->block_size, p->min_block, p->max_block, p->granularity,
	       p->density, p->compression ? "true" : "false", p->partitions,
	       p->max_partitions, p->capacity, p->remaining, p->ew_zone);
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
		if (p->features & features[i].bit) {
			printf("%s\"%s\"", sep, features[i].name);
			sep = ", ";
		}
	printf("]}\n");
}

static void print_params(const struct tape_params *p)
{
	printf("Block size %" PRIu32 " bytes (%s).\n", p->block_size,
	       p->block_size ? "fixed" : "variable");
	printf("Block limits %" PRIu32 " - %" PRIu32 " bytes.\n", p->min_block,
	       p->max_block);
	printf("Compression %s.\n", p->compression ? "on" : "off");
	printf("Partitions %u of at most %u.\n", p->partitions, p->max_partitions);
	if (p->capacity)
		printf("Capacity %" PRIu64 " bytes, %" PRIu64 " remaining, early"
		       " warning %" PRIu64 " bytes before the end.\n",
		       p->capacity, p->remaining, p->ew_zone);
	printf("Features:");
	/* byte-exact is for scripts (--json): the text shows the drive's. */
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
		if ((p->features & features[i].bit) &&
		    features[i].bit != TAPE_FEAT_BYTE_EXACT)
			printf(" %s", features[i].name);
	printf("\n");
}

static int v_params(struct cli_ctx *c, int argc, char **argv)
{
	struct tape_params p;
	struct verb v;
	bool json = false;
	int rc = verb_begin_json(c, argc, argv, &v, &json);

	if (rc || !v.t)
		return rc;
	rc = tape_get_params(v.t, &p);
	if (rc == 0 && json)
		print_params_json(v.t, &p);
	else if (rc == 0)
		print_params(&p);
	return verb_end(c, &v, rc);
}

static int v_erase(struct cli_ctx *c, int argc, char **argv)
{
	struct verb v;
	int rc = verb_begin(c, argc, argv, &v);

	if (rc)
		return rc;
	if (v.word && strcmp(v.word, "short") && strcmp(v.word, "long"))
		return cli_usage_err(c, "erase takes 'short' or 'long', not '%s'",
				     v.word);
	if (!v.t)
		return 0;
	return verb_end(c, &v, tape_erase(v.t, !v.word || !strcmp(v.word, "long")));
}

static int v_compression(struct cli_ctx *c, int argc, char **argv)
{
	struct verb v;
	bool on = true;
	int rc = verb_begin(c, argc, argv, &v);

	if (rc)
		return rc;
	if (v.word && (!strcmp(v.word, "off") || !strcmp(v.word, "0")))
		on = false;
	else if (v.word && strcmp(v.word, "on") && strcmp(v.word, "1"))
		return cli_usage_err(c, "compression takes on/off or 1/0, not '%s'",
				     v.word);
	if (!v.t)
		return 0;
	return verb_end(c, &v, tape_set_compression(v.t, on));
}

static int v_setblk(struct cli_ctx *c, int argc, char **argv)
{
	struct verb v;
	int rc = verb_begin(c, argc, argv, &v);

	if (rc)
		return rc;
	if (v.n[0] > UINT32_MAX)
		return cli_usage_err(c, "setblk: block size %s is too large",
				     v.args[0]);
	if (!v.t)
		return 0;
	return verb_end(c, &v, tape_set_blksize(v.t, (uint32_t)v.n[0]));
}

static int v_tell(struct cli_ctx *c, int argc, char **argv)
{
	unsigned part;
	uint64_t blk;
	struct verb v;
	int rc = verb_begin(c, argc, argv, &v);

	if (rc || !v.t)
		return rc;
	rc = tape_tell(v.t, &part, &blk);
	if (rc == 0)
		printf("At block %" PRIu64 ".\n", blk);
	return verb_end(c, &v, rc);
}

/* seek N: block N of the partition the tape is in. */
static int v_seek(struct cli_ctx *c, int argc, char **argv)
{
	unsigned part;
	uint64_t blk;
	struct verb v;
	int rc = verb_begin(c, argc, argv, &v);

	if (rc || !v.t)
		return rc;
	rc = tape_tell(v.t, &part, &blk);
	if (rc == 0)
		rc = tape_locate(v.t, part, (uint64_t)v.n[0]);
	return verb_end(c, &v, rc);
}

/* partition [N] and setpartition N: switch, or show where the tape is. */
static int v_partition(struct cli_ctx *c, int argc, char **argv)
{
	struct tape_params p;
	struct tape_status s;
	struct verb v;
	int rc = verb_begin(c, argc, argv, &v);

	if (rc || !v.t)
		return rc;
	if (v.nargs)
		return verb_end(c, &v, tape_setpart(v.t, (unsigned)v.n[0]));
	rc = tape_status(v.t, &s);
	if (rc == 0)
		rc = tape_get_params(v.t, &p);
	if (rc == 0)
		printf("Partition %u of %u.\n", s.partition, p.partitions);
	return verb_end(c, &v, rc);
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

/* Records of the fixed block size (the last one padded, as tar does), else
 * of --record-size, from fd onto the tape. */
static int write_records(struct cli_ctx *c, const struct verb *v, int fd,
			 struct progress *pg)
{
	struct tape_params p;
	uint32_t fixed = tape_get_params(v->t, &p) == 0 ? p.block_size : 0;
	size_t rs = fixed ? fixed : (size_t)v->o->record_size;
	char *buf = malloc(rs);
	int rc = buf ? 0 : err_set(&c->err, -ENOMEM, "out of memory");
	ssize_t got = 0, w;

	while (rc == 0 && (got = read_full(fd, buf, rs)) > 0) {
		if (fixed && (size_t)got < rs)
			memset(buf + got, 0, rs - (size_t)got), got = (ssize_t)rs;
		w = tape_write(v->t, buf, (size_t)got);
		if (w != got) {
			rc = verb_end(c, v, w < 0 ? (int)w : -EIO);
		} else {
			progress_add(pg, (uint64_t)got, 1);
		}
	}
	if (rc == 0 && got < 0)
		rc = err_set(&c->err, (int)got, "cannot read '%s': %s", v->word,
			     strerror((int)-got));
	free(buf);
	return rc;
}

static int v_write(struct cli_ctx *c, int argc, char **argv)
{
	struct progress pg;
	struct stat sb;
	struct verb v;
	int fd, rc = verb_begin(c, argc, argv, &v);

	if (rc || !v.t)
		return rc;
	fd = open_data(v.word, false);
	if (fd < 0)
		return err_set(&c->err, -errno, "cannot read '%s': %s", v.word,
			       strerror(errno));
	progress_start(&pg, "tape write", fstat(fd, &sb) == 0 &&
		       S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0, 0, 0);
	rc = write_records(c, &v, fd, &pg);
	progress_end(&pg);
	fprintf(stderr, "%" PRIu64 " records, %" PRIu64 " bytes written\n",
		pg.objects, pg.bytes);
	if (fd > STDERR_FILENO)
		close(fd);
	return rc;
}

/* Records from the tape into fd until a mark (consumed) or end of data. */
static int read_records(struct cli_ctx *c, const struct verb *v, int fd,
			enum tape_rd *what, struct progress *pg)
{
	struct tape_params p = { 0 };
	size_t cap = tape_get_params(v->t, &p) == 0 && p.max_block ?
		     p.max_block : (size_t)16 << 20;
	char *buf;
	ssize_t r = 0;
	int rc = 0;

	if (p.block_size)
		cap -= cap % p.block_size;
	buf = malloc(cap);
	if (!buf)
		return err_set(&c->err, -ENOMEM, "out of memory");
	while (rc == 0 && (r = tape_read(v->t, buf, cap, what)) > 0) {
		rc = write_all(fd, buf, (size_t)r);
		if (rc < 0)
			err_set(&c->err, rc, "cannot write '%s': %s", v->word,
				strerror(-rc));
		progress_add(pg, (uint64_t)r, 1);
	}
	if (rc == 0 && r < 0)
		rc = verb_end(c, v, (int)r);
	free(buf);
	return rc;
}

static int v_read(struct cli_ctx *c, int argc, char **argv)
{
	enum tape_rd what = TAPE_RD_DATA;
	struct progress pg;
	struct verb v;
	int fd, rc = verb_begin(c, argc, argv, &v);

	if (rc || !v.t)
		return rc;
	fd = open_data(v.word, true);
	if (fd < 0)
		return err_set(&c->err, -errno, "cannot write '%s': %s", v.word,
			       strerror(errno));
	progress_start(&pg, "tape read", 0, 0, 0);
	rc = read_records(c, &v, fd, &what, &pg);
	progress_end(&pg);
	fprintf(stderr, "%" PRIu64 " records, %" PRIu64 " bytes read, stopped at %s\n",
		pg.objects, pg.bytes, rc < 0 ? "an error" : what == TAPE_RD_EOD ? "end of data"
		: what == TAPE_RD_SETMARK ? "a setmark" : "a filemark");
	if (fd > STDERR_FILENO)
		close(fd);
	return rc;
}

/* One "PASS name: detail" line of the self-test as a JSON object. */
static void test_check_json(char *line, const char **sep)
{
	char *colon = strstr(line, ": ");

	if (strlen(line) < 6 || (strncmp(line, "PASS ", 5) && strncmp(line, "FAIL ", 5) &&
				 strncmp(line, "SKIP ", 5)))
		return;
	line[4] = 0;
	if (colon)
		*colon = 0;
	printf("%s{\"check\": ", *sep);
	text_json_str(stdout, line + 5);
	printf(", \"result\": \"%s\", \"detail\": ", line);
	text_json_str(stdout, colon ? colon + 2 : "");
	printf("}");
	*sep = ", ";
}

/* The self-test's report (its text in `text`) as one JSON object. */
static void print_test_json(struct tape *t, char *text,
			    const struct tape_test_result *r)
{
	const char *sep = "";
	char *save = NULL;

	json_device(t);
	printf(", \"passed\": %u, \"failed\": %u, \"skipped\": %u, \"checks\": [",
	       r->passed, r->failed, r->skipped);
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		test_check_json(l, &sep);
	printf("]}\n");
}

/* A self-test that could not start: what it said, as the error. */
static int test_refused(struct cli_ctx *c, const struct verb *v, char *text, int rc)
{
	if (!text || !*text)
		return verb_end(c, v, rc);
	text[strcspn(text, "\n")] = 0;
	return err_set(&c->err, rc, "test on %s: %s", tape_name(v->t), text);
}

/* The self-test: failed checks make the run a partial success (exit 1). */
static int v_test(struct cli_ctx *c, int argc, char **argv)
{
	struct tape_test_result res;
	struct verb v;
	bool json = false;
	char *text = NULL;
	size_t len = 0;
	FILE *out;
	int rc = verb_begin_json(c, argc, argv, &v, &json);

	if (rc || !v.t)
		return rc;
	out = json ? open_memstream(&text, &len) : stdout;
	if (!out)
		return err_set(&c->err, -errno, "cannot run the test: %s",
			       strerror(errno));
	rc = tape_selftest(v.t, v.o->force, out, &res);
	if (json)
		fclose(out);
	if (rc < 0)
		rc = json ? test_refused(c, &v, text, rc) : verb_end(c, &v, rc);
	else if (json)
		print_test_json(v.t, text, &res);
	else
		printf("tape test: %u checks passed, %u failed, %u skipped\n",
		       res.passed, res.failed, res.skipped);
	free(text);
	if (rc >= 0 && res.failed)
		c->worst = err_worse(c->worst, ERR_ITEM);
	return rc < 0 ? rc : 0;
}

/* CLI_VOL_RW marks the verbs that write to the tape: a missing image is
 * created for them (a blank tape), and for no other verb unless --create. */
#define NUM CLI_ARG_NUM
#define RW CLI_VOL_RW
static const struct cli_cmd tape_verbs[] = {
	{ "status", NULL, 0, 0, 0, v_status, NULL, "", "where the tape is and what the drive says" },
	{ "params", NULL, 0, 0, 0, v_params, NULL, "", "block limits, partitions, capacity, features" },
	{ "rewind", NULL, 0, 0, 0, v_rewind, NULL, "", "to the beginning of the partition" },
	{ "eod", "seod", 0, 0, 0, v_eod, NULL, "", "to end of data (to append)" },
	{ "fsf", NULL, NUM, 0, 1, v_fsf, NULL, "[N]", "forward N filemarks, to the start of the next file" },
	{ "bsf", NULL, NUM, 0, 1, v_bsf, NULL, "[N]", "back N filemarks, to the BOT side of the mark" },
	{ "fsfm", NULL, NUM, 0, 1, v_fsfm, NULL, "[N]", "forward N filemarks, then back over the last (its BOT side)" },
	{ "bsfm", NULL, NUM, 0, 1, v_bsfm, NULL, "[N]", "back N filemarks, then forward over the last (its EOT side)" },
	{ "asf", NULL, NUM, 0, 1, v_asf, NULL, "[N]", "rewind, then forward N filemarks: to the start of file N" },
	{ "fsr", NULL, NUM, 0, 1, v_fsr, NULL, "[N]", "forward N records" },
	{ "bsr", NULL, NUM, 0, 1, v_bsr, NULL, "[N]", "back N records" },
	{ "fss", NULL, NUM, 0, 1, v_fss, NULL, "[N]", "forward N setmarks" },
	{ "bss", NULL, NUM, 0, 1, v_bss, NULL, "[N]", "back N setmarks" },
	{ "weof", "eof", NUM | RW, 0, 1, v_weof, NULL, "[N]", "write N filemarks" },
	{ "wset", NULL, NUM | RW, 0, 1, v_wset, NULL, "[N]", "write N setmarks" },
	{ "erase", NULL, RW, 0, 1, v_erase, NULL, "[short|long]", "end the data here (default long)" },
	{ "load", NULL, 0, 0, 0, v_load, NULL, "", "load the medium" },
	{ "unload", "offline", 0, 0, 0, v_unload, NULL, "", "rewind and unload" },
	{ "rewoffl", NULL, 0, 0, 0, v_rewoffl, NULL, "", "rewind, then unload" },
	{ "lock", NULL, 0, 0, 0, v_lock, NULL, "", "prevent medium removal" },
	{ "unlock", NULL, 0, 0, 0, v_unlock, NULL, "", "allow medium removal" },
	{ "tension", "retension", 0, 0, 0, v_tension, NULL, "", "wind to the end and back" },
	{ "setblk", NULL, NUM, 1, 1, v_setblk, NULL, "N", "fixed block size N, 0 = variable" },
	{ "compression", NULL, 0, 0, 1, v_compression, NULL, "[on|off]", "drive compression (1/0 too)" },
	{ "tell", NULL, 0, 0, 0, v_tell, NULL, "", "print the logical block number" },
	{ "seek", NULL, NUM, 1, 1, v_seek, NULL, "N", "locate to logical block N" },
	{ "partition", NULL, NUM, 0, 1, v_partition, NULL, "[N]", "show, or switch to partition N" },
	{ "setpartition", NULL, NUM, 1, 1, v_partition, NULL, "N", "switch to partition N" },
	{ "mkpartition", NULL, NUM | CLI_ARG_NEG | RW, 1, 1, v_mkpart, NULL, "SIZE_MB",
	  "two partitions, partition 1 of SIZE_MB (negative: partition 0 of"
	  " -SIZE_MB; 0 = one partition); destroys data" },
	{ "partseek", NULL, NUM, 2, 2, v_partseek, NULL, "P N", "locate to block N of partition P" },
	{ "write", NULL, RW, 1, 1, v_write, NULL, "FILE|-", "copy a file onto the tape as records" },
	{ "read", NULL, 0, 1, 1, v_read, NULL, "FILE|-", "copy records to a file, up to the next mark" },
	{ "test", NULL, RW, 0, 0, v_test, NULL, "", "drive self-test (writes to the tape)" },
	{ NULL },
};
#undef NUM
#undef RW

static const struct cli_cmd *tape_verb(const char *name)
{
	return cli_find(tape_verbs, name);
}

static void tape_usage(FILE *f)
{
	fprintf(f,
		"usage: sysrecover tape [OPTIONS] DEV VERB [ARG] [VERB [ARG]]...\n"
		"       sysrecover tape [OPTIONS] -f DEV VERB [ARG]...\n"
		"       TAPE=DEV sysrecover tape [OPTIONS] VERB [ARG]...\n\n"
		"DEV: /dev/nstN (Linux st), IMAGE.tap or simh:PATH (SIMH image),\n"
		"     mem: (in memory, gone at exit).  With no DEV, $TAPE (as mt).\n"
		"     A missing image is an error, unless a verb writes (weof,\n"
		"     wset, write, erase, mkpartition, test) or --create is given:\n"
		"     then it is created as a blank tape.  An empty file is a blank\n"
		"     tape; a file that is not a SIMH image is refused, untouched.\n\n"
		"options:\n"
		"  -f, --file DEV        the device (as mt's -f)\n"
		"  --create              create a missing image even for verbs that\n"
		"                        only read or position\n"
		"  --capacity SIZE       virtual tape capacity (k/M/G suffixes)\n"
		"  --early-warning SIZE  early-warning zone before the end\n"
		"  --read-only           open write-protected\n"
		"  --record-size SIZE    record size for 'write' in variable mode\n"
		"                        (64k; at most 16777215, SIMH's maximum)\n"
		"  --force               let 'test' overwrite a tape that holds data\n"
		"  --inject KIND@N       test only: read-error, short-write or enospc\n"
		"                        at logical block N of partition 0\n\n"
		"Every verb is checked before the drive is touched; they run in\n"
		"order and stop at the first failure.  'VERB --help' describes one;\n"
		"status, params and test take --json.  write and read draw a\n"
		"progress line on a terminal (SYSRECOVER_PROGRESS=1 forces it).\n\n"
		"verbs (as mt's):\n");
	for (const struct cli_cmd *v = tape_verbs; v->name; v++)
		fprintf(f, "  %-13s %-13s %s%s%s%s\n", v->name, v->args, v->summary,
			v->alias ? " (also '" : "", v->alias ? v->alias : "",
			v->alias ? "')" : "");
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

static int parse_size_opt(struct cli_ctx *c, int o, struct tape_opts *to)
{
	int64_t v;

	if (!text_parse_size(optarg, false, &v) || (o == 's' && !v))
		return cli_usage_err(c, "bad size '%s'", optarg);
	if (o == 's' && v > (int64_t)TAPE_SIMH_MAX_RECORD)
		return cli_usage_err(c, "--record-size %s is larger than a tape"
				     " record can be (at most %u bytes, the SIMH"
				     " format's limit)", optarg,
				     TAPE_SIMH_MAX_RECORD);
	if (o == 'c')
		to->vo.capacity = (uint64_t)v;
	else if (o == 'w')
		to->vo.ew_zone = (uint64_t)v;
	else
		to->record_size = v;
	return 0;
}

/* The group's options, up to DEV: 0, CLI_DONE (--help) or a usage error. */
static int parse_opts(struct cli_ctx *c, int argc, char **argv,
		      struct tape_opts *to)
{
	static const struct option opts[] = {
		{ "capacity", required_argument, NULL, 'c' },
		{ "early-warning", required_argument, NULL, 'w' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "record-size", required_argument, NULL, 's' },
		{ "force", no_argument, NULL, 'F' },
		{ "inject", required_argument, NULL, 'i' },
		{ "file", required_argument, NULL, 'f' },
		{ "create", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int o, rc = 0;

	optind = 0;
	opterr = 0;
	while (rc == 0 && (o = getopt_long(argc, argv, "+hf:", opts, NULL)) != -1) {
		switch (o) {
		case 'c': case 'w': case 's': rc = parse_size_opt(c, o, to); break;
		case 'r': to->vo.read_only = true; break;
		case 'F': to->force = true; break;
		case 'f': to->dev = optarg; break;
		case 'C': to->create = true; break;
		case 'i':
			if (!parse_inject(optarg, &to->vo))
				rc = cli_usage_err(c, "bad --inject '%s'", optarg);
			break;
		case 'h': tape_usage(stdout); return CLI_DONE;
		default: return cli_bad_option(c, argc, argv);
		}
	}
	return rc;
}

/* One verb of the command line as its own argv: NAME [OPTIONS] -- [ARGS]. */
struct verb_argv {
	int argc;
	char **argv;
};

/* An option of the verb (--help): a dash word that is not a number. */
static bool is_option(const struct cli_cmd *cmd, const char *w)
{
	int64_t n;

	return w[0] == '-' && w[1] &&
	       !((cmd->flags & CLI_ARG_NUM) && text_parse_size(w, true, &n));
}

/* An argument of the verb: a number, or a word that is not a verb. */
static bool is_arg(const struct cli_cmd *cmd, const char *w)
{
	int64_t n;

	if (cmd->flags & CLI_ARG_NUM)
		return text_parse_size(w, cmd->flags & CLI_ARG_NEG, &n);
	return !tape_verb(w);
}

/* Cut the words after DEV into one argv per verb, by the table: the
 * options right behind the verb, then up to max_args words that fit.  The
 * "--" between keeps a negative number from being read as an option.
 * pool holds 3 * argc + 1 pointers, out argc entries. */
static int split_verbs(struct cli_ctx *c, int argc, char **argv, char **pool,
		       struct verb_argv *out, int *nout)
{
	static char dashes[] = "--";
	int n = 0, k = 0;

	for (int i = 0; i < argc; n++) {
		const struct cli_cmd *cmd = tape_verb(argv[i]);
		int nargs = 0;

		if (!cmd)
			return cli_usage_err(c, "unknown tape verb '%s' (see --help)",
					     argv[i]);
		out[n].argv = pool + k;
		pool[k++] = argv[i++];
		while (i < argc && is_option(cmd, argv[i]))
			pool[k++] = argv[i++];
		pool[k++] = dashes;
		while (i < argc && nargs < cmd->max_args && is_arg(cmd, argv[i]))
			pool[k++] = argv[i++], nargs++;
		out[n].argc = (int)(pool + k - out[n].argv);
		pool[k++] = NULL;
	}
	*nout = n;
	return 0;
}

/* Run (or, with no drive in c->obj, check) every verb, up to a failure. */
static int run_verbs(struct cli_ctx *c, const struct verb_argv *v, int n)
{
	for (int i = 0; i < n; i++) {
		int rc = tape_verb(v[i].argv[0])->run(c, v[i].argc, v[i].argv);

		if (rc)
			return rc;
	}
	return 0;
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

/* Does any verb write to the tape (may a missing image be created)? */
static bool verbs_write(const struct verb_argv *v, int n)
{
	for (int i = 0; i < n; i++)
		if (tape_verb(v[i].argv[0])->flags & CLI_VOL_RW)
			return true;
	return false;
}

static int run_on_tape(struct cli_ctx *c, const char *dev,
		       const struct tape_opts *to, const struct verb_argv *v, int n)
{
	struct tape_vopts vo = to->vo;
	char why[512];
	struct tape *t;
	int rc, crc;

	vo.must_exist = !to->create && !verbs_write(v, n);
	rc = tape_open_why(dev, &vo, &t, why, sizeof(why));
	if (rc < 0 && why[0])
		return err_setc(&c->err, ERR_FATAL, rc == -EMEDIUMTYPE ?
				ERR_CORRUPT : ERR_SYSTEM, rc, "%s", why);
	if (rc < 0)
		return err_set(&c->err, rc, "cannot open tape '%s': %s%s", dev,
			       strerror(-rc), rc == -ENODEV ? " (want /dev/nstN,"
			       " IMAGE.tap, simh:PATH or mem:)" : "");
	warn_rewinding(dev, t);
	c->obj = t;
	rc = run_verbs(c, v, n);
	c->obj = NULL;
	crc = tape_close(t);
	if (crc < 0 && rc == 0)
		rc = err_set(&c->err, crc, "closing %s: %s", dev, strerror(-crc));
	return rc;
}

/* The device, as mt finds it: -f DEV, else the first word unless it is a
 * verb and $TAPE names one.  Returns the number of words it took (0, 1),
 * or a usage error. */
static int pick_dev(struct cli_ctx *c, const struct tape_opts *to, int nw,
		    char **w, const char **dev)
{
	const char *env = getenv("TAPE");
	int took = 0;

	*dev = to->dev;
	if (!*dev && nw >= 1 && tape_verb(w[0]) && env && *env)
		*dev = env;
	if (!*dev && nw >= 1) {
		*dev = w[0];
		took = 1;
	}
	if (!*dev || nw - took < 1) {
		tape_usage(stderr);
		return cli_usage_err(c, "tape: which device, and which verbs?"
				     " (DEV, -f DEV or $TAPE, then verbs)");
	}
	return took;
}

static int tape_group(struct cli_ctx *c, int argc, char **argv)
{
	struct tape_opts to = { .record_size = 65536 };
	struct verb_argv *verbs = NULL;
	char **pool = NULL, **w;
	const char *dev;
	int rc, n = 0, nw;

	tape_vopts_init(&to.vo);
	rc = parse_opts(c, argc, argv, &to);
	if (rc)
		return rc == CLI_DONE ? 0 : rc;
	w = argv + optind;
	nw = argc - optind;
	rc = pick_dev(c, &to, nw, w, &dev);
	if (rc < 0)
		return rc;
	w += rc;
	nw -= rc;
	pool = calloc(3 * (size_t)argc + 1, sizeof(*pool));
	verbs = calloc((size_t)argc, sizeof(*verbs));
	rc = pool && verbs ? split_verbs(c, nw, w, pool, verbs, &n)
			   : err_set(&c->err, -ENOMEM, "out of memory");
	c->opts = &to;
	if (rc == 0)
		rc = run_verbs(c, verbs, n);  /* no drive yet: checks only */
	if (rc == 0)
		rc = run_on_tape(c, dev, &to, verbs, n);
	c->opts = NULL;
	free(pool);
	free(verbs);
	return rc == CLI_DONE ? 0 : rc;
}

const struct cli_cmd cli_tape_cmd = {
	.name = "tape", .run = tape_group, .max_args = -1,
	.args = "DEV VERB [ARG]...",
	.summary = "mt-style drive control and self-test",
};
