/* cmd_hive_rules.c - `sysrecover hive merge | mounted | files-not-to-backup`:
 * options and printing for the backup/restore rules of SYSTEM hives; the
 * work is hive_merge_files, hive_md_report and hive_fntb_load_files. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "fs.h"
#include "hive.h"
#include "text.h"

/* The rows of the hive table (cmd_hive.c) that live here. */

static int usage_err(struct cli_ctx *c, const char *cmd, const char *usage)
{
	fputs(usage, stderr);
	return cli_usage_err(c, "hive %s: bad command line", cmd);
}

/* A JSON string, or null. */
static void jstr_or_null(const char *s)
{
	if (s)
		text_json_str(stdout, s);
	else
		printf("null");
}

/* ---- merge -------------------------------------------------------------- */

static const char merge_usage[] =
	"usage: sysrecover hive merge --current CUR --restored REST -o OUT\n"
	"                             [--dry-run] [--json] [--kntr-merge=2003|vss]\n"
	"Apply KeysNotToRestore (the rules of both hives) to the restored SYSTEM\n"
	"hive REST, taking the kept keys and values from the current hive CUR, and\n"
	"write the result to OUT (which must not exist).  CUR and REST are not\n"
	"changed.  key\\* rules: 2003 (default) keeps current and adds what only\n"
	"the backup has; vss keeps the backup's subkeys and the lower Start.\n";

static const char *from_name(unsigned from)
{
	return from == 3 ? "both" : from == 1 ? "current" : "restored";
}

static void merge_json_rule(const struct hive_kntr_result *r)
{
	const struct hive_kntr_rule *ru = r->rule;

	printf("{\"component\": ");
	text_json_str(stdout, ru->component);
	printf(", \"entry\": ");
	text_json_str(stdout, ru->entry);
	printf(", \"form\": \"%s\", \"from\": \"%s\", \"current_key\": ",
	       hive_kntr_form_name(ru->form), from_name(ru->from));
	text_json_str(stdout, r->cur_path ? r->cur_path : "");
	printf(", \"output_key\": ");
	text_json_str(stdout, r->out_path ? r->out_path : "");
	printf(", \"value\": ");
	jstr_or_null(ru->value);
	printf(", \"outcome\": \"%s\", \"removed\": %s, \"keys\": %u, "
	       "\"values\": %u, \"backup_keys\": %u, \"backup_values\": %u, "
	       "\"start_kept\": %u, \"message\": ",
	       hive_kntr_outcome_name(r->outcome), r->removed ? "true" : "false",
	       r->keys, r->values, r->backup_keys, r->backup_values, r->start_kept);
	text_json_str(stdout, r->err.msg);
	printf("}");
}

static void merge_json(const struct hive_merge_result *m, const char *out)
{
	printf("{\"output\": ");
	text_json_str(stdout, out ? out : "");
	printf(", \"dry_run\": %s, \"rules\": [", out ? "false" : "true");
	for (size_t i = 0; i < m->n; i++) {
		printf("%s\n  ", i ? "," : "");
		merge_json_rule(&m->res[i]);
	}
	printf("\n], \"counts\": {");
	for (int o = 0; o <= HIVE_KNTR_FAILED; o++)
		printf("%s\"%s\": %u", o ? ", " : "", hive_kntr_outcome_name(o),
		       m->counts[o]);
	printf("}}\n");
}

static void merge_text_rule(const struct hive_kntr_result *r)
{
	const struct hive_kntr_rule *ru = r->rule;

	printf("%-10s %-6s ", hive_kntr_outcome_name(r->outcome),
	       hive_kntr_form_name(ru->form));
	text_name(stdout, ru->entry);
	printf("  [");
	text_name(stdout, ru->component);
	printf("]\n");
	if (r->out_path) {
		printf("           ");
		text_name(stdout, r->out_path);
		if (ru->value) {
			printf("\\");
			text_name(stdout, ru->value);
		}
	}
	if (r->outcome == HIVE_KNTR_KEPT || r->outcome == HIVE_KNTR_MERGED)
		printf(": %u keys, %u values from current", r->keys, r->values);
	if (r->outcome == HIVE_KNTR_MERGED)
		printf("; %u keys, %u values only in the backup kept",
		       r->backup_keys, r->backup_values);
	if (r->start_kept)
		printf("; %u Start values from current", r->start_kept);
	if (r->removed)
		printf(": the backup's copy removed");
	if (r->err.msg[0])
		printf("%s%s", r->out_path ? ": " : "           ", r->err.msg);
	if (r->out_path || r->err.msg[0])
		putchar('\n');
}

static void merge_text(const struct hive_merge_result *m, bool dry)
{
	const unsigned *k = m->counts;

	for (size_t i = 0; i < m->n; i++)
		merge_text_rule(&m->res[i]);
	printf("%zu rules: %u kept, %u merged, %u left alone, %u missing, "
	       "%u ignored, %u failed%s\n", m->n, k[HIVE_KNTR_KEPT],
	       k[HIVE_KNTR_MERGED], k[HIVE_KNTR_LEFT_ALONE], k[HIVE_KNTR_MISSING],
	       k[HIVE_KNTR_IGNORED], k[HIVE_KNTR_FAILED],
	       dry ? " (dry run: nothing written)" : "");
}

/* 1 = --help printed, 0 = go on, < 0 = usage error. */
static int merge_opts(struct cli_ctx *c, int argc, char **argv,
		      struct hive_merge_req *q, bool *json)
{
	static const struct option opts[] = {
		{ "current", required_argument, NULL, 'c' },
		{ "restored", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "kntr-merge", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:r:o:njh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': q->current = optarg; break;
		case 'r': q->restored = optarg; break;
		case 'o': q->output = optarg; break;
		case 'n': q->dry_run = true; break;
		case 'j': *json = true; break;
		case 'm':
			if (strcmp(optarg, "2003") && strcmp(optarg, "vss"))
				return usage_err(c, argv[0], merge_usage);
			q->policy = strcmp(optarg, "vss") ? HIVE_KNTR_2003 : HIVE_KNTR_VSS;
			break;
		case 'h': fputs(merge_usage, stdout); return 1;
		default: return usage_err(c, argv[0], merge_usage);
		}
	}
	if (!q->current || !q->restored || (!q->output && !q->dry_run) ||
	    optind != argc)
		return usage_err(c, argv[0], merge_usage);
	return 0;
}

int cli_hive_merge_run(struct cli_ctx *c, int argc, char **argv)
{
	struct hive_merge_req q = { .policy = HIVE_KNTR_2003 };
	struct hive_merge_result m;
	bool json = false;
	int rc = merge_opts(c, argc, argv, &q, &json);

	if (rc)
		return rc < 0 ? rc : 0;
	rc = hive_merge_files(&q, &m, &c->err);
	if (rc == -EEXIST && c->err.code == ERR_REFUSED)
		c->err.code = ERR_USAGE;  /* OUT exists: exit 64, as always */
	for (size_t i = 0; i < m.nwarn; i++)
		err_print(&m.warn[i]);
	if (m.res && json)
		merge_json(&m, q.dry_run ? NULL : q.output);
	else if (m.res)
		merge_text(&m, q.dry_run);
	if (rc == 0 && m.counts[HIVE_KNTR_IGNORED])
		c->worst = err_worse(c->worst, ERR_ITEM);
	hive_merge_result_free(&m);
	return rc;
}

/* ---- mounted ------------------------------------------------------------ */

static const char mounted_usage[] =
	"usage: sysrecover hive mounted [--json] [-V VOL] [--resolve NAME]... HIVE [DISK...]\n"
	"List SYSTEM\\MountedDevices of the SYSTEM hive HIVE (with -V, a path in\n"
	"the unmounted volume VOL).  --resolve C: or Volume{GUID} finds\n"
	"the volume it names among DISK... (images or devices; every block device\n"
	"when none is given).\n";

static const char *md_kind_name(enum hive_md_kind k)
{
	switch (k) {
	case HIVE_MD_MBR: return "mbr";
	case HIVE_MD_GPT: return "gpt";
	case HIVE_MD_DEVICE: return "device";
	case HIVE_MD_UNKNOWN: return "unknown";
	}
	return "?";
}

static void md_json(const struct hive_md_entry *e, const struct fs_volume *vol)
{
	printf("{\"name\": ");
	text_json_str(stdout, e->name);
	printf(", \"kind\": \"%s\"", md_kind_name(e->v.kind));
	if (e->v.kind == HIVE_MD_MBR)
		printf(", \"signature\": \"%08" PRIx32 "\", \"offset\": %" PRIu64,
		       e->v.signature, e->v.offset);
	if (e->v.kind == HIVE_MD_GPT)
		printf(", \"guid\": \"%s\"", e->v.guid);
	if (e->v.kind == HIVE_MD_DEVICE) {
		printf(", \"device\": ");
		text_json_str(stdout, e->v.device);
	}
	printf(", \"length\": %zu, \"data\": \"", e->len);
	for (size_t i = 0; i < e->len; i++)
		printf("%02x", e->data[i]);
	printf("\"");
	if (vol) {
		printf(", \"volume\": ");
		text_json_str(stdout, vol->name);
	}
	printf("}");
}

/* The resolved names; each one that failed is an error of its own. */
static void md_print_queries(struct cli_ctx *c, const struct hive_md_report *r,
			     bool json)
{
	bool first = true;

	if (json)
		printf("[");
	for (size_t i = 0; i < r->nq; i++) {
		const struct hive_md_query *q = &r->q[i];

		if (err_failed(&q->err)) {
			err_print(&q->err);
			c->worst = err_worse(c->worst, ERR_FATAL);
		} else if (json) {
			printf("%s", first ? "" : ",\n ");
			md_json(q->entry, q->vol);
			first = false;
		} else {
			text_name(stdout, q->name);
			printf("\t%s\t", q->vol->name);
			text_name(stdout, q->entry->v.text);
			printf("\n");
		}
	}
	if (json)
		printf("]\n");
}

static void md_print_all(const struct hive_md_report *r, bool json)
{
	if (json)
		printf("[");
	for (size_t i = 0; i < r->n; i++) {
		if (json) {
			printf("%s", i ? ",\n " : "");
			md_json(&r->e[i], NULL);
		} else {
			text_name(stdout, r->e[i].name);
			printf("\t");
			text_name(stdout, r->e[i].v.text);
			printf("\n");
		}
	}
	if (json)
		printf("]\n");
}

int cli_hive_mounted_run(struct cli_ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "resolve", required_argument, NULL, 'R' },
		{ "volume", required_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *names[64];
	struct hive_md_report r;
	struct hive_target t = { 0 };
	size_t nnames = 0;
	bool json = false;
	int ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "jV:h", opts, NULL)) != -1) {
		if (ch == 'j')
			json = true;
		else if (ch == 'V')
			t.volume = optarg;
		else if (ch == 'R' && nnames < 64)
			names[nnames++] = optarg;
		else if (ch == 'h')
			return fputs(mounted_usage, stdout) < 0 ? -EIO : 0;
		else
			return usage_err(c, argv[0], mounted_usage);
	}
	if (optind >= argc)
		return usage_err(c, argv[0], mounted_usage);
	t.path = argv[optind];
	rc = hive_md_report(&t, names, nnames,
			    (const char *const *)argv + optind + 1,
			    (size_t)(argc - optind - 1), &r, &c->err);
	err_print(&r.warn);
	if (rc == 0 && nnames)
		md_print_queries(c, &r, json);
	else if (rc == 0)
		md_print_all(&r, json);
	hive_md_report_free(&r);
	return rc;
}

/* ---- files-not-to-backup ------------------------------------------------ */

static const char fntb_usage[] =
	"usage: sysrecover hive files-not-to-backup [--json] [-V VOL] [--software SOFTWARE] HIVE\n"
	"The FilesNotToBackup rules of SYSTEM hive HIVE (with -V, HIVE and SOFTWARE\n"
	"are paths in the unmounted volume VOL), normalised: drive (* = every\n"
	"drive), directory, file pattern, /s.  %SystemRoot% comes from SOFTWARE when\n"
	"given, else C:\\Windows; entries with unresolved variables are skipped.\n";

static void fntb_json_rule(const struct hive_fntb_rule *r)
{
	char d[2] = { r->drive, 0 };

	printf("{\"component\": ");
	text_json_str(stdout, r->component);
	printf(", \"entry\": ");
	text_json_str(stdout, r->entry);
	printf(", \"drive\": ");
	jstr_or_null(r->drive ? d : NULL);
	printf(", \"dir\": ");
	text_json_str(stdout, r->dir);
	printf(", \"pattern\": ");
	text_json_str(stdout, r->pattern);
	printf(", \"recursive\": %s, \"sis\": %s}", r->recursive ? "true" : "false",
	       r->sis ? "true" : "false");
}

static void fntb_json(const struct hive_fntb *f)
{
	printf("{\"systemroot\": ");
	text_json_str(stdout, f->systemroot);
	printf(", \"systemroot_source\": \"%s\", \"rules\": [", f->systemroot_src);
	for (size_t i = 0; i < f->n; i++) {
		printf("%s\n  ", i ? "," : "");
		fntb_json_rule(&f->rules[i]);
	}
	printf("\n], \"skipped\": [");
	for (size_t i = 0; i < f->nskipped; i++) {
		printf("%s\n  {\"component\": ", i ? "," : "");
		text_json_str(stdout, f->skipped[i].component);
		printf(", \"entry\": ");
		text_json_str(stdout, f->skipped[i].entry);
		printf(", \"why\": ");
		text_json_str(stdout, f->skipped[i].why);
		printf("}");
	}
	printf("\n]}\n");
}

static void fntb_text(const struct hive_fntb *f)
{
	printf("# %%SystemRoot%% = ");
	text_name(stdout, f->systemroot);
	printf(" (%s)\n", !strcmp(f->systemroot_src, "SOFTWARE") ?
	       "from SOFTWARE" : "default: no SOFTWARE hive given");
	for (size_t i = 0; i < f->n; i++) {
		const struct hive_fntb_rule *r = &f->rules[i];

		printf("%c:", r->drive ? r->drive : '*');
		text_name(stdout, r->dir);
		printf("%s", strcmp(r->dir, "\\") ? "\\" : "");
		text_name(stdout, r->pattern);
		printf("%s\t[", r->recursive ? " /s" : "");
		text_name(stdout, r->component);
		printf("]%s\n", r->sis ? " (SIS Common Store: never matched)" : "");
	}
	for (size_t i = 0; i < f->nskipped; i++)
		err_warn("FilesNotToBackup [%s] '%s' skipped: %s",
			 f->skipped[i].component, f->skipped[i].entry,
			 f->skipped[i].why);
}

int cli_hive_fntb_run(struct cli_ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "software", required_argument, NULL, 's' },
		{ "volume", required_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *software = NULL;
	struct hive_fntb *f = NULL;
	struct hive_target t = { 0 };
	bool json = false;
	int ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "js:V:h", opts, NULL)) != -1) {
		if (ch == 'j')
			json = true;
		else if (ch == 'V')
			t.volume = optarg;
		else if (ch == 's')
			software = optarg;
		else if (ch == 'h')
			return fputs(fntb_usage, stdout) < 0 ? -EIO : 0;
		else
			return usage_err(c, argv[0], fntb_usage);
	}
	if (optind + 1 != argc)
		return usage_err(c, argv[0], fntb_usage);
	t.path = argv[optind];
	if ((rc = hive_fntb_load_files(&t, software, &f, &c->err)) < 0)
		return rc;
	if (json)
		fntb_json(f);
	else
		fntb_text(f);
	hive_fntb_free(f);
	return 0;  /* skipped entries are warnings */
}
