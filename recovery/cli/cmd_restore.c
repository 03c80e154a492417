/* cmd_restore.c - `sysrecover restore -t DEV [--set N] [--to SRC=TARGET]...
 * [--dry-run] [--json] [PATTERN...]`: parse, call rs_restore, print. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "progress.h"
#include "rs.h"
#include "stop.h"

#define RESTORE_MAX_MAPS 64

struct restore_cli {
	const char *tape;
	long set;
	struct rs_map maps[RESTORE_MAX_MAPS];
	size_t nmaps;
	long file;
	long inject;              /* test only: read error at logical object N */
	bool dry_run, json, scan;
	bool system_state, remove_hiberfile;
	const char *kntr_merge;   /* NULL: not given */
};

static const struct cli_cmd restore_self = {
	"restore", NULL, 0, 0, -1, NULL, NULL,
	"-t DEV [--set N [--scan] | --file F] [--to SRC=TARGET]... [--dry-run] [--json] [PATTERN...]\n"
	"       -t DEV --system-state [--set N] [--to SRC=TARGET]... [--kntr-merge 2003|vss]\n"
	"       [--remove-hiberfile] [--dry-run] [--json]",
	"restore a set, or the members matching PATTERN, onto unmounted volumes",
};

static void restore_help(void)
{
	cli_help(stdout, "sysrecover ", &restore_self);
	puts("\nEach volume of the set goes to the attached volume with its UUID, unless\n"
	     "--to says otherwise.  Before anything is written the catalog is read and\n"
	     "checked and every target is opened read-write (a mounted, dirty or\n"
	     "hibernated one is refused).  A file in the set replaces the one on the\n"
	     "target (written under a temporary name, then renamed); files that are\n"
	     "not in the set stay.  Hostile member names are refused and reported.\n\n"
	     "options:\n"
	     "  -t, --tape DEV      the tape: /dev/nstN or a SIMH image (default $TAPE)\n"
	     "  --set N             the Nth set on the tape (default: the last)\n"
	     "  --to SRC=TARGET     where volume SRC goes: SRC is its id (v0), its source\n"
	     "                      as listed, or its UUID; TARGET an unmounted volume\n"
	     "                      (/dev/sdb1, IMAGE@N, UUID=...) or a directory\n"
	     "  --scan              no catalog: read the set's data from its start (a set\n"
	     "                      cut off before its catalog; nothing is checked first)\n"
	     "  --file F            tape file F, another tool's tar (GNU tar, bsdtar,\n"
	     "                      star): its members go to --to v0=TARGET\n"
	     "  --dry-run           check the set and the targets, write nothing\n"
	     "  --json              the summary as JSON\n"
	     "  --system-state      a Windows system state onto the NTFS volume of the\n"
	     "                      set's Windows (an installed Windows or an empty\n"
	     "                      volume): SYSTEM merged with the target's by\n"
	     "                      KeysNotToRestore, the other hives replaced, a new\n"
	     "                      LastRestoreId, FilesNotToBackup files neither\n"
	     "                      restored nor left behind, no hiberfil.sys left;\n"
	     "                      an interrupted run resumes when run again\n"
	     "  --kntr-merge P      how KeysNotToRestore's KEY\\* entries merge: vss (the\n"
	     "                      default: both, the backup's subkeys win, the lower\n"
	     "                      Start kept) or 2003 (the current system's, plus what\n"
	     "                      only the backup has)\n"
	     "  --remove-hiberfile  a hibernated target: discard its hibernation image\n"
	     "                      (what Windows had in memory is lost) and go on\n\n"
	     "PATTERN: fnmatch(3) on member names (v0/etc/passwd) or paths (/etc/*);\n"
	     "a selective restore spaces straight to the first member it needs.\n\n"
	     "Exit: 0 done, 1 some members failed, were refused or were lost at backup\n"
	     "(each named), 2 nothing was restored.");
}

static int add_map(struct cli_ctx *c, struct restore_cli *o, char *arg)
{
	char *eq = strchr(arg, '=');

	/* UUID=...=TARGET: the source part may itself hold '=' */
	if (eq && !strncmp(arg, "UUID=", 5))
		eq = strchr(arg + 5, '=');
	if (!eq || eq == arg || !eq[1])
		return cli_usage_err(c, "--to: '%s' is not SRC=TARGET", arg);
	if (o->nmaps == RESTORE_MAX_MAPS)
		return cli_usage_err(c, "at most %d --to maps", RESTORE_MAX_MAPS);
	*eq = 0;
	o->maps[o->nmaps].src = !strncmp(arg, "UUID=", 5) ? arg + 5 : arg;
	o->maps[o->nmaps++].target = eq + 1;
	return 0;
}

static int parse(struct cli_ctx *c, int argc, char **argv, struct restore_cli *o)
{
	static const struct option opts[] = {
		{ "tape", required_argument, NULL, 't' },
		{ "set", required_argument, NULL, 's' },
		{ "to", required_argument, NULL, 'o' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "scan", no_argument, NULL, 'S' },
		{ "file", required_argument, NULL, 'f' },
		{ "inject", required_argument, NULL, 'I' },
		{ "system-state", no_argument, NULL, 'Y' },
		{ "kntr-merge", required_argument, NULL, 'K' },
		{ "remove-hiberfile", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int ch, rc;

	o->tape = getenv("TAPE");
	o->file = -1;
	o->inject = -1;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+t:h", opts, NULL)) != -1) {
		switch (ch) {
		case 't': o->tape = optarg; break;
		case 'n': o->dry_run = true; break;
		case 'j': o->json = true; break;
		case 'h': restore_help(); return CLI_DONE;
		case 'S': o->scan = true; break;
		case 'Y': o->system_state = true; break;
		case 'H': o->remove_hiberfile = true; break;
		case 'K':
			if (strcmp(optarg, "2003") && strcmp(optarg, "vss"))
				return cli_usage_err(c, "--kntr-merge: '%s' is not 2003 or vss",
						     optarg);
			o->kntr_merge = optarg;
			break;
		case 'I':   /* like tape's --inject; read errors only, undocumented */
			if (strncmp(optarg, "read-error@", 11) ||
			    (o->inject = strtol(optarg + 11, &end, 10)) < 0 || *end)
				return cli_usage_err(c, "--inject: '%s' is not read-error@N", optarg);
			break;
		case 'f':
			if ((rc = cli_number(c, "--file", optarg, 0, "a tape file number",
					     &o->file)) < 0)
				return rc;
			break;
		case 'o':
			if ((rc = add_map(c, o, optarg)) < 0)
				return rc;
			break;
		case 's':
			if ((rc = cli_number(c, "--set", optarg, 1, "a set number (1 = the "
					     "first set)", &o->set)) < 0)
				return rc;
			break;
		default:
			return cli_bad_option(c, argc, argv);
		}
	}
	if (!o->tape)
		return cli_usage_err(c, "which tape? (-t DEV, or $TAPE)");
	if (!o->system_state && (o->kntr_merge || o->remove_hiberfile))
		return cli_usage_err(c, "--%s goes with --system-state", o->kntr_merge ?
				     "kntr-merge" : "remove-hiberfile");
	if (o->system_state && (o->scan || o->file >= 0 || optind < argc))
		return cli_usage_err(c, "--system-state restores a whole set: no --scan, "
				     "--file or PATTERN");
	return 0;
}

static void report(void *arg, const char *name, const char *why)
{
	progress_clear(arg);
	(void)name;
	err_say("%s", why);
}

static void print_result(const struct restore_cli *o, size_t set,
			 const struct rs_restore_result *r)
{
	if (o->json) {
		printf("{\"set\": %zu, \"dry_run\": %s, \"members\": %" PRIu64 ", \"files\": %"
		       PRIu64 ", \"dirs\": %" PRIu64 ", \"symlinks\": %" PRIu64 ", \"hard_links\": %"
		       PRIu64 ", \"special\": %" PRIu64 ", \"streams\": %" PRIu64 ", \"copies\": %"
		       PRIu64 ", \"bytes\": %" PRIu64 ", \"failed\": %"
		       PRIu64 ", \"refused\": %" PRIu64 ", \"lost\": %" PRIu64 ", \"not_kept\": %"
		       PRIu64 ", \"records_read\": %" PRIu64 ", \"records_skipped\": %" PRIu64
		       ", \"sis_kept\": %" PRIu64 ", \"efs_raw\": %" PRIu64
		       "%s", set + 1, o->dry_run ? "true" : "false", r->members, r->files,
		       r->dirs, r->symlinks, r->links, r->specials, r->streams, r->copies,
		       r->bytes, r->failed, r->refused, r->lost, r->not_kept, r->records,
		       r->skipped_records, r->sis_kept, r->efs_raw, o->system_state ? "" : "}\n");
		return;   /* a system-state restore's object follows (print_sys) */
	}
	printf("set %zu: %s%" PRIu64 " members (%" PRIu64 " files of which %" PRIu64
	       " copies, %" PRIu64 " dirs, %" PRIu64
	       " symlinks, %" PRIu64 " hard links, %" PRIu64 " special, %" PRIu64 " streams, %"
	       PRIu64 " bytes); "
	       "%" PRIu64 " failed, %" PRIu64 " refused, %" PRIu64 " lost at backup, %" PRIu64
	       " with metadata the target cannot hold; %" PRIu64 " records read, %" PRIu64
	       " spaced over\n", set + 1, o->dry_run ? "would restore " : "", r->members,
	       r->files, r->copies, r->dirs, r->symlinks, r->links, r->specials, r->streams, r->bytes,
	       r->failed, r->refused, r->lost, r->not_kept, r->records, r->skipped_records);
	if (r->sis_kept)
		printf("%" PRIu64 " SIS common-store files were on the target already, "
		       "identical: left as they are\n", r->sis_kept);
	if (r->efs_raw)
		printf("set %zu: %" PRIu64 " encrypted files restored raw (never decrypted)\n",
		       set + 1, r->efs_raw);
}

struct note_to {
	struct progress *p;
	bool json;    /* stdout is the JSON object: notes go to stderr */
};

static void note(void *arg, const char *line)
{
	struct note_to *n = arg;

	progress_clear(n->p);
	fprintf(n->json ? stderr : stdout, "%s\n", line);
}

static void print_examples(const char *what, uint64_t n, const char ex[][256])
{
	printf("%s: %" PRIu64, what, n);
	for (uint64_t k = 0; k < n && k < RS_SYS_EXAMPLES; k++)
		printf("%s%s", k ? ", " : " (", ex[k]);
	printf("%s\n", n > RS_SYS_EXAMPLES ? ", ...)" : n ? ")" : "");
}

static void print_sys(const struct restore_cli *o, const struct rs_sys_result *s)
{
	if (o->json) {
		printf(", \"system_state\": {\"last_restore_id\": \"%s\", \"resumed\": %s, "
		       "\"no_current_system\": %s, \"hiberfile_removed\": %s, \"hives\": %u, "
		       "\"fntb_not_restored\": %" PRIu64 ", \"fntb_deleted\": %" PRIu64 "}}\n",
		       s->id, s->resumed ? "true" : "false", s->no_current ? "true" : "false",
		       s->hiberfile_removed ? "true" : "false", s->hives, s->fntb_skipped,
		       s->fntb_deleted);
		return;
	}
	print_examples("FilesNotToBackup: not restored", s->fntb_skipped, s->skipped_ex);
	print_examples(o->dry_run ? "FilesNotToBackup: stale files (not looked for in a dry run)"
		       : "FilesNotToBackup: stale files deleted from the target",
		       s->fntb_deleted, s->deleted_ex);
	printf("hives: %u installed%s\n", s->hives, s->no_current ?
	       " (no current system: nothing of the target's registry was kept)" : "");
	printf("LastRestoreId: %s%s\n", s->id, o->dry_run ? " (would be written)" : "");
}

static int restore_run(struct cli_ctx *c, int argc, char **argv)
{
	struct restore_cli o = { 0 };
	struct rs_restore_result res;
	struct progress p;
	struct rs_restore_opts ro = { .report = report, .arg = &p };
	struct note_to nt = { .p = &p };
	struct rs_sys_opts so = { .note = note, .arg = &nt };
	struct rs_sys_result sr;
	struct rs *r = NULL;
	size_t i;
	int rc = parse(c, argc, argv, &o);

	if (rc)
		return rc;
	if ((rc = stop_install()) < 0)
		return err_set(&c->err, rc, "cannot catch SIGINT: %s", strerror(-rc));
	if ((rc = rs_open_faulty(o.tape, o.inject, &r, &c->err)) < 0)
		return rc;
	if (!rs_count(r) && o.file < 0) {
		rc = err_set(&c->err, -ENOENT, "no sets on %s", o.tape);
		goto out;
	}
	i = o.set ? (size_t)o.set - 1 : rs_count(r) ? rs_count(r) - 1 : 0;
	ro.maps = o.maps, ro.nmaps = o.nmaps, ro.dry_run = o.dry_run;
	ro.scan = o.scan, ro.foreign_file = o.file;
	ro.patterns = argv + optind, ro.npat = (size_t)(argc - optind);
	progress_start(&p, "restore", 0, 0, o.json ? PROGRESS_QUIET : 0);
	ro.progress = &p;
	nt.json = o.json;
	so.kntr_2003 = o.kntr_merge && !strcmp(o.kntr_merge, "2003");
	so.remove_hiberfile = o.remove_hiberfile;
	rc = o.system_state ? rs_restore_system(r, i, &ro, &so, &res, &sr)
			    : rs_restore(r, i, &ro, &res);
	progress_end(&p);
	if (rc < 0) {
		err_copy(&c->err, rs_error(r));
		goto out;
	}
	print_result(&o, i, &res);
	if (o.system_state)
		print_sys(&o, &sr);
	if (rc > 0)
		c->worst = err_worse(c->worst, ERR_ITEM);
	rc = 0;
out:
	rs_close(r);
	return rc;
}

const struct cli_cmd cli_restore_cmd = {
	"restore", NULL, 0, 0, -1, restore_run, NULL, restore_self.args,
	restore_self.summary,
};
