/* cmd_srdelayed.c - `sysrecover srdelayed add|list|apply` (also the binary
 * run under the name `srdelayed`): queue delayed file operations, show a
 * queue, apply the queues of unmounted volumes.  The work is srdelayed/'s
 * (srd.h); this file parses the command line and prints. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "srd.h"
#include "stop.h"
#include "text.h"

#define NOTES \
	"QUEUE is a queue file of the running system (default " SRD_NATIVE_QUEUE_PATH "),\n" \
	"VOL an unmounted volume (its queue is " SRD_NATIVE_QUEUE_PATH " there).\n" \
	"Native paths: /path (the queue's volume), UUID=...:/path, LABEL=...:/path,\n" \
	"PARTUUID=...:/path.  --windows: an srdelayed input file (UTF-16LE), paths \\??\\C:\\...\n" \
	"apply with no VOL: every unmounted volume on the --disk images (every attached\n" \
	"one without --disk) that holds a queue, a journal or Windows.  A progress line\n" \
	"is shown on stderr when it is a terminal (not with --json).  --replay-journal:\n" \
	"an ext journal that needs recovery is replayed first (by e2fsck, as a mount\n" \
	"would), not refused.\n"

#define ADD_ARGS "[-q QUEUE | -V VOL] [--windows] move SRC DST | delete PATH | shortname PATH NAME"
#define LIST_ARGS "[--json] [-q QUEUE | [--disk IMG]... [-V VOL] [VOL...]]"  /* --disk
	alone: what apply --disk would do */
#define APPLY_ARGS "[--dry-run] [--json] [--replay-journal] [--disk IMG]... [-V VOL] [VOL...]"

struct srd_cli {
	const char *queue, *volume;
	bool windows, json, dry_run, replay;
	const char **disks;       /* --disk, in order */
	size_t ndisks;
	const char **vols;        /* VOL operands (and -V for list/apply) */
	size_t nvols;
};

static const char *prefix(void)
{
	return strcmp(err_progname, "srdelayed") ? "sysrecover srdelayed " : "srdelayed ";
}

static void sub_usage(FILE *f, const char *name, const char *args)
{
	fprintf(f, "usage: %s%s %s\n%s", prefix(), name, args, NOTES);
}

/* The options of every subcommand (as before, each accepts them all and
 * refuses what it cannot use).  1 when --help was answered. */
static int parse(struct cli_ctx *c, int argc, char **argv, const char *args,
		 struct srd_cli *o)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "replay-journal", no_argument, NULL, 'r' },
		{ "windows", no_argument, NULL, 'w' },
		{ "queue", required_argument, NULL, 'q' },
		{ "volume", required_argument, NULL, 'V' },
		{ "disk", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->disks = calloc((size_t)argc + 1, sizeof(*o->disks));
	o->vols = calloc((size_t)argc + 2, sizeof(*o->vols));
	if (!o->disks || !o->vols)
		return err_set(&c->err, -ENOMEM, "out of memory");
	optind = 0;
	while ((ch = getopt_long(argc, argv, "njwq:V:h", lo, NULL)) != -1) {
		switch (ch) {
		case 'j': o->json = true; break;
		case 'n': o->dry_run = true; break;
		case 'r': o->replay = true; break;
		case 'w': o->windows = true; break;
		case 'q': o->queue = optarg; break;
		case 'V': o->volume = optarg; break;
		case 'd': o->disks[o->ndisks++] = optarg; break;
		case 'h': sub_usage(stdout, argv[0], args); return 1;
		default:
			sub_usage(stderr, argv[0], args);
			return cli_usage_err(c, "%s: unknown option or missing "
					     "argument", argv[0]);
		}
	}
	if (o->queue && o->volume)
		return cli_usage_err(c, "%s: -q and -V exclude each other", argv[0]);
	for (int i = optind; i < argc; i++)
		o->vols[o->nvols++] = argv[i];
	return 0;
}

static void opts_free(struct srd_cli *o)
{
	free(o->disks);
	free(o->vols);
}

/* ---- add ------------------------------------------------------------------- */

/* "move SRC DST", "delete PATH", "shortname PATH NAME". */
static int add_req(struct cli_ctx *c, const struct srd_cli *o,
		   struct srd_add_req *req)
{
	static const struct { const char *verb; enum srd_op op; size_t n; } v[] = {
		{ "move", SRD_OP_MOVE, 2 }, { "delete", SRD_OP_DELETE, 1 },
		{ "shortname", SRD_OP_SHORTNAME, 2 },
	};
	const char *const *a = o->vols;

	memset(req, 0, sizeof(*req));
	for (size_t i = 0; o->nvols && i < sizeof(v) / sizeof(v[0]); i++) {
		if (strcmp(a[0], v[i].verb))
			continue;
		if (o->nvols != 1 + v[i].n)
			return cli_usage_err(c, "usage: %sadd " ADD_ARGS, prefix());
		req->op = v[i].op;
		req->path = a[1];
		req->target = v[i].op == SRD_OP_MOVE ? a[2] : NULL;
		req->name = v[i].op == SRD_OP_SHORTNAME ? a[2] : NULL;
		req->windows = o->windows;
		return 0;
	}
	return cli_usage_err(c, "add: give move, delete or shortname");
}

static int cmd_add(struct cli_ctx *c, int argc, char **argv)
{
	struct srd_add_req req;
	struct srd_cli o;
	int rc = parse(c, argc, argv, ADD_ARGS, &o);

	if (rc == 0 && o.replay)
		rc = cli_usage_err(c, "add: --replay-journal is for apply");
	if (rc == 0 && (rc = add_req(c, &o, &req)) == 0)
		rc = o.volume ? srd_queue_add_volume(o.volume, &req, &c->err)
			      : srd_queue_add_file(o.queue ? o.queue :
						   SRD_NATIVE_QUEUE_PATH, &req, &c->err);
	opts_free(&o);
	return rc < 0 ? rc : 0;
}

/* ---- printing a report -------------------------------------------------------- */

static const char *outcome_name(enum srd_outcome oc)
{
	static const char *const n[] = {
		[SRD_DONE] = "done", [SRD_FAILED] = "failed",
		[SRD_NOT_REACHED] = "not-reached", [SRD_SKIPPED] = "skipped",
		[SRD_PLANNED] = "planned",
	};
	return n[oc];
}

static void print_result(const struct srd_result *r)
{
	printf("%-11s ", outcome_name(r->outcome));
	text_name(stdout, r->source);
	printf("#%zu %s ", r->index, r->op);
	if (r->arg) {
		text_name(stdout, r->arg);
		putchar(' ');
	}
	text_name(stdout, r->path);
	if (r->target) {
		fputs(" -> ", stdout);
		text_name(stdout, r->target);
	}
	if (r->outcome == SRD_FAILED) {
		printf("  SC=%08X ", r->code);
		text_name(stdout, r->err.msg);
	}
	putchar('\n');
}

static void print_text(const struct srd_report *rep)
{
	for (size_t i = 0; i < rep->n; i++)
		print_result(&rep->r[i]);
	for (size_t i = 0; i < rep->nnotes; i++) {
		fputs("note: ", stdout);
		text_name(stdout, rep->notes[i]);
		putchar('\n');
	}
	printf("%zu done, %zu failed, %zu not reached, %zu skipped%s\n", rep->done,
	       rep->failed, rep->not_reached, rep->skipped,
	       rep->resumed ? " (resumed a run that was cut off)" : "");
}

static void json_field(const char *key, const char *val)
{
	printf(", \"%s\": ", key);
	if (val)
		text_json_str(stdout, val);
	else
		fputs("null", stdout);
}

static void print_json(const struct srd_report *rep, const char *err)
{
	printf("{\"resumed\": %s, \"done\": %zu, \"failed\": %zu, "
	       "\"not_reached\": %zu, \"skipped\": %zu", rep->resumed ? "true" :
	       "false", rep->done, rep->failed, rep->not_reached, rep->skipped);
	json_field("error", err);
	fputs(", \"operations\": [", stdout);
	for (size_t i = 0; i < rep->n; i++) {
		const struct srd_result *r = &rep->r[i];

		printf("%s\n  {\"outcome\": \"%s\", \"code\": %u, \"index\": %zu",
		       i ? "," : "", outcome_name(r->outcome), r->code, r->index);
		json_field("source", r->source);
		json_field("op", r->op);
		json_field("path", r->path);
		json_field("target", r->target);
		json_field("arg", r->arg);
		json_field("where", r->where);
		json_field("message", r->outcome == SRD_FAILED ? r->err.msg : NULL);
		putchar('}');
	}
	fputs("],\n \"notes\": [", stdout);
	for (size_t i = 0; i < rep->nnotes; i++) {
		fputs(i ? ", " : "", stdout);
		text_json_str(stdout, rep->notes[i]);
	}
	puts("]}");
}

/* ---- list and apply --------------------------------------------------------- */

/* Apply (or plan) and print; a failed record is an item (exit 1), a run
 * that applied nothing is fatal (exit 2), as err.h's ladder says. */
static int run_apply(struct cli_ctx *c, const struct srd_cli *o, bool dry_run)
{
	struct srd_apply_opts ao = {
		.vols = o->vols, .nvols = o->nvols,
		.disks = o->disks, .ndisks = o->ndisks, .dry_run = dry_run,
		.quiet = o->json, .replay_journal = o->replay,
	};
	struct srd_report rep;
	int rc = dry_run ? 0 : stop_install();  /* stop between operations */

	if (rc < 0)
		return err_set(&c->err, rc, "cannot catch SIGINT: %s", strerror(-rc));
	rc = srd_apply(&ao, &rep, &c->err);

	if (o->json)
		print_json(&rep, rc < 0 ? c->err.msg : NULL);
	else
		print_text(&rep);
	srd_report_free(&rep);
	if (rc > 0) {  /* the report says which: no message of its own */
		c->worst = err_worse(c->worst, c->err.level);
		err_clear(&c->err);
	}
	return rc < 0 ? rc : 0;
}

/* A queue file of the running system, as written. */
static int list_file(struct cli_ctx *c, const char *path, bool json)
{
	struct srd_queue q;
	int rc = srd_queue_read_file(path, &q, &c->err);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < q.n; i++) {
		const struct srd_record *r = &q.rec[i];

		if (json) {
			printf("%s{\"index\": %zu, \"fields\": [", i ? ",\n " : "[",
			       r->index);
			for (int k = 0; k < 4; k++) {
				fputs(k ? ", " : "", stdout);
				text_json_str(stdout, r->field[k]);
			}
			fputs("]}", stdout);
			continue;
		}
		printf("%zu", r->index);
		for (int k = 0; k < 4; k++) {
			putchar('\t');
			text_name(stdout, r->field[k]);
		}
		putchar('\n');
	}
	if (json)
		puts(q.n ? "]" : "[]");
	srd_queue_free(&q);
	return 0;
}

static int cmd_list(struct cli_ctx *c, int argc, char **argv)
{
	struct srd_cli o;
	int rc = parse(c, argc, argv, LIST_ARGS, &o);

	if (rc == 0 && o.replay)
		rc = cli_usage_err(c, "list: --replay-journal is for apply");
	if (rc == 0 && o.volume)
		o.vols[o.nvols++] = o.volume;  /* -V VOL: as VOL */
	if (rc == 0 && (o.queue || (!o.nvols && !o.ndisks)))
		rc = list_file(c, o.queue ? o.queue : SRD_NATIVE_QUEUE_PATH, o.json);
	else if (rc == 0)
		rc = run_apply(c, &o, true);
	opts_free(&o);
	return rc < 0 ? rc : 0;
}

static int cmd_apply(struct cli_ctx *c, int argc, char **argv)
{
	struct srd_cli o;
	int rc = parse(c, argc, argv, APPLY_ARGS, &o);

	if (rc == 0 && o.queue)
		rc = cli_usage_err(c, "apply: -q names a queue of the running "
				   "system; apply takes volumes (VOL or -V VOL)");
	if (rc == 0 && o.volume)
		o.vols[o.nvols++] = o.volume;
	if (rc == 0)
		rc = run_apply(c, &o, o.dry_run);
	opts_free(&o);
	return rc < 0 ? rc : 0;
}

static const struct cli_cmd srdelayed_table[] = {
	{ .name = "add", .run = cmd_add, .max_args = -1, .args = ADD_ARGS,
	  .summary = "queue a move, delete or short-name change" },
	{ .name = "list", .run = cmd_list, .max_args = -1, .args = LIST_ARGS,
	  .summary = "show a queue file, or what applying the volumes would do" },
	{ .name = "apply", .run = cmd_apply, .max_args = -1, .args = APPLY_ARGS,
	  .summary = "apply the queues of unmounted volumes" },
	{ .name = NULL },
};

/* argv[0] is "srdelayed" (the group's name, or the binary's). */
static int srdelayed_run(struct cli_ctx *c, int argc, char **argv)
{
	int rc = cli_dispatch(c, prefix(), srdelayed_table, argc, argv);

	if (rc == 0 && argc >= 2 &&
	    (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		fputs(NOTES, stdout);
	return rc;
}

const struct cli_cmd cli_srdelayed_cmd = {
	.name = "srdelayed", .run = srdelayed_run, .max_args = -1,
	.args = "add|list|apply ...",
	.summary = "queue and apply delayed move/delete/short-name operations",
};
