/* cmd_hive.c - `sysrecover hive SUBCMD ...`: the table of the hive group,
 * and info, pending and set-restore-id; merge, mounted and
 * files-not-to-backup are in cmd_hive_rules.c.  Each subcommand parses its
 * options, calls one function of recovery/hive and prints. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "hive.h"
#include "text.h"

/* Options of info, pending, set-restore-id and restore. */
struct hive_opts {
	struct hive_target t;
	bool json, clear;
	const char *source;        /* restore: SOURCE (then t.path is DEST) */
};

enum { OPT_JSON = 'j', OPT_CLEAR = 'c', OPT_BACKUP = 'b', OPT_VOLUME = 'V' };

/* The usage text on stderr, and the usage error (exit 64). */
static int usage_err(struct cli_ctx *c, const char *cmd, const char *usage)
{
	fputs(usage, stderr);
	return cli_usage_err(c, "hive %s: bad command line", cmd);
}

/* Parse the options in `allowed` (OPT_* letters) and the one HIVE
 * argument (restore: SOURCE DEST): 1 = --help (printed), 0 = go on, < 0 =
 * a usage error.  -V VOL is --volume VOL. */
static int parse_opts(struct cli_ctx *c, int argc, char **argv,
		      const char *allowed, const char *usage, struct hive_opts *o)
{
	int nargs = strcmp(argv[0], "restore") ? 1 : 2;
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "clear", no_argument, NULL, OPT_CLEAR },
		{ "backup", no_argument, NULL, OPT_BACKUP },
		{ "volume", required_argument, NULL, OPT_VOLUME },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	optind = 0;
	while ((ch = getopt_long(argc, argv, "hV:", opts, NULL)) != -1) {
		if (ch == 'h') {
			fputs(usage, stdout);
			return 1;
		}
		if (ch == '?' || !strchr(allowed, ch))
			return usage_err(c, argv[0], usage);
		if (ch == OPT_JSON)
			o->json = true;
		else if (ch == OPT_CLEAR)
			o->clear = true;
		else if (ch == OPT_BACKUP)
			o->t.backup = true;
		else
			o->t.volume = optarg;
	}
	if (optind != argc - nargs)
		return usage_err(c, argv[0], usage);
	if (nargs == 2)
		o->source = argv[optind++];
	o->t.path = argv[optind];
	return 0;
}

/* ---- hive info ---------------------------------------------------------- */

static const char info_usage[] =
	"usage: sysrecover hive info [--json] [-V VOL] HIVE\n"
	"Which hive it is (SYSTEM, SOFTWARE, SAM, ..., from its root keys),\n"
	"sequence numbers, dirty or clean, logs (replayed or not), the control\n"
	"sets Select names and the number of root keys of HIVE (a file, or with\n"
	"-V/--volume a path inside the unmounted volume VOL).\n";

static void print_summary(const struct hive_summary *s)
{
	const struct hive_info *in = &s->info;

	printf("hive:         ");
	text_name(stdout, s->name);
	printf("\nkind:         %s", hive_kind_name(s->kind));
	if (*s->hint) {
		printf(" (header names it '");
		text_name(stdout, s->hint);
		printf("')");
	}
	printf("\nsequence:     %u / %u\n", in->seq1, in->seq2);
	printf("state:        %s\n", in->dirty ? "dirty" : "clean");
	printf("logs:         %s", in->logs_present ? "present" : "none");
	if (in->replayed)
		printf(", replayed (%u entries)", in->log_entries);
	else if (in->dirty && in->logs_present)
		printf(", NOT replayed");
	printf("\n");
	if (s->kind != HIVE_KIND_SYSTEM && s->kind != HIVE_KIND_UNKNOWN)
		printf("control sets: none (not a SYSTEM hive)\n");
	else if (s->ccs_ok)
		printf("control sets: Current %u, Default %u\n", s->current, s->def);
	else
		printf("control sets: unreadable (%s)\n", s->ccs_err.msg);
	printf("root keys:    %u\n", s->root_keys);
}

static void print_summary_json(const struct hive_summary *s)
{
	const struct hive_info *in = &s->info;

	printf("{\"hive\": ");
	text_json_str(stdout, s->name);
	printf(", \"kind\": \"%s\", \"header_name\": ", hive_kind_name(s->kind));
	text_json_str(stdout, s->hint);
	printf(", \"seq1\": %u, \"seq2\": %u, \"dirty\": %s, \"logs\": %s, "
	       "\"replayed\": %s, \"log_entries\": %u", in->seq1, in->seq2,
	       in->dirty ? "true" : "false", in->logs_present ? "true" : "false",
	       in->replayed ? "true" : "false", in->log_entries);
	if (s->ccs_ok && (s->kind == HIVE_KIND_SYSTEM || s->kind == HIVE_KIND_UNKNOWN))
		printf(", \"current\": %u, \"default\": %u", s->current, s->def);
	else
		printf(", \"current\": null, \"default\": null");
	printf(", \"root_keys\": %u, \"warning\": ", s->root_keys);
	if (s->warn.level != ERR_OK)
		text_json_str(stdout, s->warn.msg);
	else
		printf("null");
	printf("}\n");
}

static int run_info(struct cli_ctx *c, int argc, char **argv)
{
	struct hive_opts o;
	struct hive_summary s;
	int rc = parse_opts(c, argc, argv, "jV", info_usage, &o);

	if (rc)
		return rc < 0 ? rc : 0;
	if ((rc = hive_summarize(&o.t, &s, &c->err)) < 0)
		return rc;
	err_print(&s.warn);
	if (o.json)
		print_summary_json(&s);
	else
		print_summary(&s);
	hive_summary_free(&s);
	return 0;
}

/* ---- hive pending ------------------------------------------------------- */

static const char pending_usage[] =
	"usage: sysrecover hive pending [--json] [--clear [--backup]] [-V VOL] HIVE\n"
	"PendingFileRenameOperations(2) and SetupExecute of the control set the\n"
	"next boot uses.  --clear deletes both values and commits the hive\n"
	"(--backup keeps the old one as HIVE.bak).  Exit 1 when a value is\n"
	"malformed.  HIVE must be a SYSTEM hive.\n";

static const char *op_name(enum hive_pending_op op)
{
	return op == HIVE_PEND_DELETE ? "delete" : op == HIVE_PEND_REPLACE
	       ? "replace" : "move";
}

static void print_pending_op(const struct hive_pending *p)
{
	printf("%-7s ", op_name(p->op));
	text_name(stdout, p->src);
	if (p->op != HIVE_PEND_DELETE) {
		printf(" -> ");
		text_name(stdout, p->dst);
	}
	if (*p->src_prefix || *p->dst_prefix) {
		printf("  [prefix ");
		text_name(stdout, p->src_prefix);
		printf("%s", *p->dst_prefix ? " / " : "");
		text_name(stdout, p->dst_prefix);
		printf("]");
	}
	if (p->flags & HIVE_PEND_F_VALUE2)
		printf("  [PendingFileRenameOperations2]");
	printf("\n");
}

static void print_pending_text(const struct hive_pending_list *l, char **se)
{
	printf("# control set %u: %zu pending operation(s)%s\n", l->control_set,
	       l->n, l->malformed ? " (value malformed: a source without a "
	       "target ends it)" : "");
	for (size_t i = 0; i < l->n; i++)
		print_pending_op(&l->ops[i]);
	for (size_t i = 0; se && se[i]; i++) {
		printf("setup-execute ");
		text_name(stdout, se[i]);
		printf("\n");
	}
}

static void print_pending_json(const struct hive_pending_list *l, char **se)
{
	printf("{\"control_set\": %u, \"malformed\": %s, \"operations\": [",
	       l->control_set, l->malformed ? "true" : "false");
	for (size_t i = 0; i < l->n; i++) {
		const struct hive_pending *p = &l->ops[i];
		printf("%s\n  {\"op\": \"%s\", \"value\": \"%s\", \"src\": ",
		       i ? "," : "", op_name(p->op), p->flags & HIVE_PEND_F_VALUE2
		       ? "PendingFileRenameOperations2"
		       : "PendingFileRenameOperations");
		text_json_str(stdout, p->src);
		printf(", \"dst\": ");
		text_json_str(stdout, p->dst);
		printf(", \"raw_src\": ");
		text_json_str(stdout, p->raw_src);
		printf(", \"raw_dst\": ");
		text_json_str(stdout, p->raw_dst);
		printf("}");
	}
	printf("],\n \"setup_execute\": [");
	for (size_t i = 0; se && se[i]; i++) {
		printf("%s", i ? ", " : "");
		text_json_str(stdout, se[i]);
	}
	printf("]}\n");
}

static int run_pending(struct cli_ctx *c, int argc, char **argv)
{
	struct hive_opts o;
	struct hive_pending_report r;
	int rc = parse_opts(c, argc, argv, "jcbV", pending_usage, &o);

	if (rc)
		return rc < 0 ? rc : 0;
	rc = hive_pending_report(&o.t, o.clear, &r, &c->err);
	err_print(&r.warn);
	if (r.read && o.json)
		print_pending_json(&r.list, r.setup_execute);
	else if (r.read)
		print_pending_text(&r.list, r.setup_execute);
	if (r.read && r.list.malformed)
		c->worst = err_worse(c->worst, ERR_ITEM);
	hive_pending_report_free(&r);
	return rc;
}

/* ---- hive set-restore-id ------------------------------------------------ */

static const char restore_id_usage[] =
	"usage: sysrecover hive set-restore-id [--json] [--backup] [-V VOL] HIVE\n"
	"Write a new random LastRestoreId into the SYSTEM hive HIVE (after a\n"
	"system-state restore) and commit it; --backup keeps HIVE.bak.\n";

static int run_set_restore_id(struct cli_ctx *c, int argc, char **argv)
{
	struct hive_opts o;
	struct err warn = { 0 };
	char guid[39];
	int rc = parse_opts(c, argc, argv, "jbV", restore_id_usage, &o);

	if (rc)
		return rc < 0 ? rc : 0;
	rc = hive_new_restore_id(&o.t, guid, &warn, &c->err);
	err_print(&warn);
	if (rc < 0)
		return rc;
	if (o.json)
		printf("{\"last_restore_id\": \"%s\"}\n", guid);
	else
		printf("LastRestoreId %s\n", guid);
	return 0;
}

/* ---- hive restore ------------------------------------------------------- */

static const char restore_usage[] =
	"usage: sysrecover hive restore [--json] [--backup] [-V VOL] SOURCE DEST\n"
	"Install the hive file SOURCE (e.g. a RegBack copy) as DEST (with -V, a\n"
	"path inside the unmounted volume VOL, e.g. /Windows/System32/config/SYSTEM),\n"
	"as a commit does: written beside DEST and read back, DEST's logs moved\n"
	"aside, renamed over DEST, the old logs dropped.  SOURCE must read whole\n"
	"and be clean, or dirty with its .LOG1/.LOG2 beside it (they are replayed\n"
	"into what is installed; SOURCE is not changed).  When DEST is named like\n"
	"a hive (SYSTEM, SOFTWARE, SAM, ...) SOURCE must be that kind.  --backup\n"
	"keeps the old DEST as DEST.bak (its logs as DEST.bak.LOGn).\n";

static int run_restore(struct cli_ctx *c, int argc, char **argv)
{
	struct hive_opts o;
	struct hive_restore_result r;
	int rc = parse_opts(c, argc, argv, "jbV", restore_usage, &o);

	if (rc)
		return rc < 0 ? rc : 0;
	if ((rc = hive_restore(o.source, &o.t, &r, &c->err)) < 0)
		return rc;
	if (o.json) {
		printf("{\"source\": ");
		text_json_str(stdout, o.source);
		printf(", \"dest\": ");
		text_json_str(stdout, o.t.path);
		printf(", \"volume\": ");
		if (o.t.volume)
			text_json_str(stdout, o.t.volume);
		else
			printf("null");
		printf(", \"kind\": \"%s\", \"replayed\": %s, \"log_entries\": %u, "
		       "\"keys\": %u, \"values\": %u, \"replaced\": %s, "
		       "\"backup\": %s}\n", hive_kind_name(r.kind),
		       r.info.replayed ? "true" : "false", r.info.log_entries,
		       r.keys, r.values, r.replaced ? "true" : "false",
		       o.t.backup && r.replaced ? "true" : "false");
		return 0;
	}
	printf("restored %s hive (%u keys, %u values%s) to ",
	       hive_kind_name(r.kind), r.keys, r.values, r.info.replayed ?
	       ", its logs replayed" : "");
	if (o.t.volume)
		printf("%s:", o.t.volume);
	text_name(stdout, o.t.path);
	printf("%s\n", o.t.backup && r.replaced ? " (old one kept as .bak)" : "");
	return 0;
}

/* ---- the table ---------------------------------------------------------- */

static const struct cli_cmd hive_cmds[] = {
	{ .name = "info", .run = run_info, .args = "[--json] [-V VOL] HIVE",
	  .summary = "kind, sequence numbers, dirty/clean, logs, control sets" },
	{ .name = "pending", .run = run_pending,
	  .args = "[--json] [--clear [--backup]] [-V VOL] HIVE",
	  .summary = "PendingFileRenameOperations(2) and SetupExecute" },
	{ .name = "set-restore-id", .run = run_set_restore_id,
	  .args = "[--json] [--backup] [-V VOL] HIVE",
	  .summary = "new LastRestoreId (after a system-state restore)" },
	{ .name = "restore", .run = run_restore,
	  .args = "[--json] [--backup] [-V VOL] SOURCE DEST",
	  .summary = "install a hive file in a hive's place, its logs moved aside" },
	{ .name = "merge", .run = cli_hive_merge_run,
	  .args = "--current CUR --restored REST -o OUT [--dry-run] [--json] [--kntr-merge=2003|vss]",
	  .summary = "apply KeysNotToRestore to a restored SYSTEM hive" },
	{ .name = "mounted", .run = cli_hive_mounted_run,
	  .args = "[--json] [-V VOL] [--resolve NAME]... HIVE [DISK...]",
	  .summary = "MountedDevices, and the volume a drive letter names" },
	{ .name = "files-not-to-backup", .run = cli_hive_fntb_run,
	  .args = "[--json] [-V VOL] [--software SOFTWARE] HIVE",
	  .summary = "the normalised FilesNotToBackup rules" },
	{ 0 },
};

static int run_hive(struct cli_ctx *c, int argc, char **argv)
{
	return cli_dispatch(c, "sysrecover hive ", hive_cmds, argc, argv);
}

const struct cli_cmd cli_hive_cmd = {
	.name = "hive", .run = run_hive, .max_args = -1, .sub = hive_cmds,
	.args = "SUBCMD ...",
	.summary = "offline registry hives: info, pending, restore, merge, mounted, files-not-to-backup",
};
