/* cmd_backup.c - `sysrecover backup -t DEV [options] SOURCE...`: parse, call
 * bk_run, print. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bk.h"
#include "cli.h"
#include "err.h"
#include "progress.h"
#include "stop.h"
#include "text.h"

#define BACKUP_MAX_EXCLUDES 256

struct backup_cli {
	const char *tape;
	const char *excludes[BACKUP_MAX_EXCLUDES];
	size_t nexcl;
	int64_t record_size;
	bool dry_run, json, system_state;
};

static const struct cli_cmd backup_self = {
	"backup", NULL, 0, 1, -1, NULL, NULL,
	"-t DEV [--system-state] [--exclude PATTERN]... [--record-size SIZE] [--dry-run] "
	"[--json] SOURCE...",
	"write a backup set (label, pax data, catalog) at the end of the tape",
};

static void backup_help(void)
{
	cli_help(stdout, "sysrecover ", &backup_self);
	puts("\nSOURCE: an unmounted volume (/dev/sda2, IMAGE@N, UUID=..., LABEL=...),\n"
	     "opened read-only, or a directory of the running system.  Each source\n"
	     "is volume vN of the set; its members are named vN/PATH in the pax data,\n"
	     "which GNU tar and bsdtar extract without sysrecover (see the label).\n\n"
	     "options:\n"
	     "  -t, --tape DEV        the tape: /dev/nstN or a SIMH image (default $TAPE)\n"
	     "  --system-state        SOURCE is the unmounted Windows volume: leave out\n"
	     "                        what its FilesNotToBackup rules name (never the SIS\n"
	     "                        Common Store), mark the hives, and record the\n"
	     "                        Windows version and hive paths in the label\n"
	     "  --exclude PATTERN     leave out paths matching the fnmatch(3) pattern\n"
	     "                        (a directory takes its subtree with it)\n"
	     "  --record-size SIZE    bytes per tape record (256k; k/M suffixes)\n"
	     "  --dry-run             walk the sources and print what would be written\n"
	     "  --json                the summary as JSON\n\n"
	     "Exit: 0 done, 1 some members could not be read (they are named and\n"
	     "left out; the set is usable), 2 no set was written.");
}

static void report(void *arg, const char *vol, const char *path,
		   const struct err *why)
{
	progress_clear(arg);
	(void)vol, (void)path;
	err_say("%s", why->msg);
}

static int parse(struct cli_ctx *c, int argc, char **argv, struct backup_cli *o)
{
	static const struct option opts[] = {
		{ "tape", required_argument, NULL, 't' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "record-size", required_argument, NULL, 'r' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "system-state", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	o->tape = getenv("TAPE");
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+t:h", opts, NULL)) != -1) {
		switch (ch) {
		case 't': o->tape = optarg; break;
		case 'n': o->dry_run = true; break;
		case 'j': o->json = true; break;
		case 'S': o->system_state = true; break;
		case 'h': backup_help(); return CLI_DONE;
		case 'x':
			if (o->nexcl == BACKUP_MAX_EXCLUDES)
				return cli_usage_err(c, "at most %d --exclude patterns",
						     BACKUP_MAX_EXCLUDES);
			o->excludes[o->nexcl++] = optarg;
			break;
		case 'r':
			if (!text_parse_size(optarg, false, &o->record_size) ||
			    o->record_size < 512 || o->record_size % 512 ||
			    o->record_size > 16u * 1024 * 1024)
				return cli_usage_err(c, "--record-size: '%s' is not a multiple "
						     "of 512 from 512 to 16M", optarg);
			break;
		default:
			return cli_bad_option(c, argc, argv);
		}
	}
	if (!o->tape && !o->dry_run)
		return cli_usage_err(c, "which tape? (-t DEV, or $TAPE)");
	return cli_check_count(c, "sysrecover", &backup_self, argc - optind);
}

/* What each FilesNotToBackup rule did: its count and first member, or why
 * it was skipped (a warning: a file it names may be in the set). */
static void print_rules_text(const struct bk_sys_result *s)
{
	size_t idle = 0, skipped = 0;

	printf("system state: %s%s%s%s, SystemRoot %s (from %s), %" PRIu64 " hives\n",
	       s->windows[0] ? s->windows : "Windows (SOFTWARE does not say which)",
	       s->build[0] ? " (build " : "", s->build, s->build[0] ? ")" : "",
	       s->systemroot, s->systemroot_src, s->hives);
	if (s->warning[0])
		err_warn("%s: %s", s->system, s->warning);
	printf("FilesNotToBackup left out %" PRIu64 " members (a directory with what is "
	       "in it counts once):\n", s->excluded);
	for (size_t i = 0; i < s->nrules; i++) {
		const struct bk_rule *r = &s->rules[i];

		if (r->skipped) {
			err_warn("FilesNotToBackup rule '%s' = '%s' skipped: %s", r->component,
				 r->entry, r->skipped);
			skipped++;
			continue;
		}
		if (!r->members) {
			idle++;
			continue;
		}
		printf("  %-6" PRIu64 " %s: %s", r->members, r->component, r->expanded);
		if (r->first) {
			fputs("  (first: ", stdout);
			text_name(stdout, r->first);
			putchar(')');
		}
		putchar('\n');
	}
	printf("  (%zu more rules matched nothing; %zu skipped)\n", idle, skipped);
}

static void print_rules_json(const struct bk_sys_result *s)
{
	fputs(", \"system_state\": {\"windows\": ", stdout);
	text_json_str(stdout, s->windows);
	fputs(", \"build\": ", stdout);
	text_json_str(stdout, s->build);
	fputs(", \"systemroot\": ", stdout);
	text_json_str(stdout, s->systemroot);
	fputs(", \"hive_warning\": ", stdout);
	text_json_str(stdout, s->warning);
	printf(", \"hives\": %" PRIu64 ", \"excluded\": %" PRIu64 ", \"rules\": [",
	       s->hives, s->excluded);
	for (size_t i = 0; i < s->nrules; i++) {
		const struct bk_rule *r = &s->rules[i];

		printf("%s{\"component\": ", i ? ", " : "");
		text_json_str(stdout, r->component);
		fputs(", \"entry\": ", stdout);
		text_json_str(stdout, r->entry);
		fputs(r->skipped ? ", \"skipped\": " : ", \"expanded\": ", stdout);
		text_json_str(stdout, r->skipped ? r->skipped : r->expanded);
		printf(", \"members\": %" PRIu64 ", \"first\": ", r->members);
		text_json_str(stdout, r->first ? r->first : "");
		putchar('}');
	}
	fputs("]}", stdout);
}

static void print_result(const struct backup_cli *o, const struct bk_result *r)
{
	char b[32];

	progress_bytes(r->bytes, b, sizeof(b));
	if (o->json) {
		printf("{\"set\": \"%s\", \"label_file\": %" PRIu32 ", \"dry_run\": %s, "
		       "\"members\": %" PRIu64 ", \"files\": %" PRIu64 ", \"dirs\": %" PRIu64
		       ", \"symlinks\": %" PRIu64 ", \"hard_links\": %" PRIu64 ", \"special\": %"
		       PRIu64 ", \"streams\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"copies\": %"
		       PRIu64 ", \"copy_bytes\": %" PRIu64 ", \"failed\": %" PRIu64 ", "
		       "\"data_records\": %" PRIu64 ", \"catalog_records\": %" PRIu64,
		       o->dry_run ? "" : r->uuid, r->label_file, o->dry_run ? "true" : "false",
		       r->members, r->files, r->dirs, r->symlinks, r->links, r->specials,
		       r->streams, r->bytes, r->copies, r->copy_bytes, r->failed,
		       r->data_records, r->catalog_records);
		if (r->sys)
			print_rules_json(r->sys);
		puts("}");
		return;
	}
	if (r->sys)
		print_rules_text(r->sys);
	if (o->dry_run) {
		printf("would write %" PRIu64 " members (%" PRIu64 " files, %s of data, less "
		       "what single instance finds while writing)\n", r->members, r->files, b);
		return;
	}
	printf("set %s at tape file %" PRIu32 ": %" PRIu64 " members (%" PRIu64
	       " files, %" PRIu64 " dirs, %" PRIu64 " symlinks, %" PRIu64
	       " hard links, %" PRIu64 " special, %" PRIu64 " streams), %s of data, %"
	       PRIu64 " failed\n", r->uuid, r->label_file, r->members, r->files, r->dirs,
	       r->symlinks, r->links, r->specials, r->streams, b, r->failed);
	if (r->copies) {
		progress_bytes(r->copy_bytes, b, sizeof(b));
		printf("single instance: %" PRIu64 " files are copies of content already in "
		       "the set (%s not written again)\n", r->copies, b);
	}
	if (r->si_full)
		fprintf(stderr, "sysrecover: backup: the single-instance table reached its "
			"memory limit: later copies of content not yet seen were stored in full\n");
}

static int backup_run(struct cli_ctx *c, int argc, char **argv)
{
	struct backup_cli o = { 0 };
	struct progress p;
	struct bk_opts bo = { .report = report, .arg = &p };
	struct bk_result r;
	int rc = parse(c, argc, argv, &o);

	if (rc)
		return rc;
	if ((rc = stop_install()) < 0)
		return err_set(&c->err, rc, "cannot catch SIGINT: %s", strerror(-rc));
	bo.tape = o.tape, bo.tool = cli_version();
	bo.sources = (const char *const *)argv + optind, bo.nsrc = (size_t)(argc - optind);
	bo.excludes = o.excludes, bo.nexcl = o.nexcl;
	bo.record_size = (uint32_t)o.record_size, bo.dry_run = o.dry_run;
	bo.system_state = o.system_state;
	progress_start(&p, "backup", 0, 0, o.json ? PROGRESS_QUIET : 0);
	bo.progress = &p;
	rc = bk_run(&bo, &r, &c->err);
	progress_end(&p);
	if (rc < 0) {
		bk_result_free(&r);
		return rc;
	}
	print_result(&o, &r);
	bk_result_free(&r);
	if (r.failed)
		c->worst = err_worse(c->worst, ERR_ITEM);
	return 0;
}

const struct cli_cmd cli_backup_cmd = {
	"backup", NULL, 0, 1, -1, backup_run, NULL, backup_self.args, backup_self.summary,
};
