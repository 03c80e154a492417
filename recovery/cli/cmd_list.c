/* cmd_list.c - `sysrecover list` and `sysrecover verify`: parse, call the
 * restore module's readers, print. */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "err.h"
#include "progress.h"
#include "rs.h"
#include "text.h"

struct list_cli {
	const char *tape;
	long set;                 /* 1-based; 0 = list the sets */
	long file;                /* --file: another tool's tape file, or -1 */
	bool json, scan;
};

static const struct cli_cmd list_self = {
	"list", NULL, 0, 0, -1, NULL, NULL,
	"-t DEV [--set N | --file F] [--scan] [--json] [PATTERN...]",
	"the sets on a tape (from their labels), or the members of one (its catalog)",
};

static const struct cli_cmd verify_self = {
	"verify", NULL, 0, 0, 0, NULL, NULL, "-t DEV [--set N] [--json]",
	"read a set's data back and check every SHA-256 against its catalog",
};

static void list_help(const struct cli_cmd *self)
{
	cli_help(stdout, "sysrecover ", self);
	puts("\noptions:\n"
	     "  -t, --tape DEV   the tape: /dev/nstN or a SIMH image (default $TAPE)\n"
	     "  --set N          the Nth set on the tape (1 = first; default: the last\n"
	     "                   for verify; for list, without --set the sets are listed)\n"
	     "  --json           machine-readable output");
	if (self == &list_self)
		puts("  --scan           read the members from the data itself, not the catalog\n"
		     "                   (a set cut off before its catalog)\n"
		     "  --file F         tape file F, written by another tool (GNU tar, bsdtar,\n"
		     "                   star; list shows their numbers): its members");
	if (self == &list_self)
		puts("\nPATTERN: fnmatch(3) patterns on member names (vN/PATH) or paths;\n"
		     "members matching any are listed.");
}

static int parse(struct cli_ctx *c, const struct cli_cmd *self, int argc, char **argv,
		 struct list_cli *o)
{
	static const struct option opts[] = {
		{ "tape", required_argument, NULL, 't' },
		{ "set", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "scan", no_argument, NULL, 'S' },
		{ "file", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, rc;

	o->tape = getenv("TAPE");
	o->file = -1;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+t:h", opts, NULL)) != -1) {
		switch (ch) {
		case 't': o->tape = optarg; break;
		case 'j': o->json = true; break;
		case 'h': list_help(self); return CLI_DONE;
		case 'S':
		case 'f':
			if (self != &list_self)
				return cli_bad_option(c, argc, argv);
			if (ch == 'S') {
				o->scan = true;
				break;
			}
			if ((rc = cli_number(c, "--file", optarg, 0, "a tape file number",
					     &o->file)) < 0)
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
	return cli_check_count(c, "sysrecover", self, argc - optind);
}

/* ---- sets ------------------------------------------------------------------ */

static void when(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, cap, "%" PRId64, t);
}

/* "system_state": null, or what the label says of the Windows. */
static void print_sysstate_json(const struct arc_label *l)
{
	if (!(l->flags & ARC_SET_SYSTEM_STATE)) {
		fputs(" \"system_state\": null,", stdout);
		return;
	}
	fputs(" \"system_state\": {\"windows\": ", stdout);
	text_json_str(stdout, l->windows);
	fputs(", \"build\": ", stdout);
	text_json_str(stdout, l->win_build);
	fputs(", \"root\": ", stdout);
	text_json_str(stdout, l->win_root);
	fputs(", \"hives\": [", stdout);
	for (size_t i = 0; i < l->nhive; i++) {
		fputs(i ? ", " : "", stdout);
		text_json_str(stdout, l->hive[i]);
	}
	fputs("]},", stdout);
}

/* The member flags worth naming (lost and copy have their own words). */
static const struct { uint32_t bit; const char *name; } list_flags[] = {
	{ ARC_M_HIVE, "hive" }, { ARC_M_SIS, "sis" }, { ARC_M_EFS_RAW, "efs-raw" },
	{ ARC_M_SPARSE, "sparse" },
};

static void print_flags_json(uint32_t flags)
{
	bool first = true;

	fputs("\"flags\": [", stdout);
	for (size_t i = 0; i < sizeof(list_flags) / sizeof(list_flags[0]); i++)
		if (flags & list_flags[i].bit) {
			printf("%s\"%s\"", first ? "" : ", ", list_flags[i].name);
			first = false;
		}
	fputs("], ", stdout);
}

static void print_flags_text(uint32_t flags)
{
	bool first = true;

	for (size_t i = 0; i < sizeof(list_flags) / sizeof(list_flags[0]); i++)
		if (flags & list_flags[i].bit) {
			printf("%s%s", first ? "  [" : ",", list_flags[i].name);
			first = false;
		}
	if (!first)
		putchar(']');
}

static void print_set_json(const struct rs_set *s, bool first)
{
	char t[64];

	when(s->label.created, t, sizeof(t));
	printf("%s\n  {\"set\": %u, \"uuid\": \"%s\", \"created\": \"%s\", \"host\": ",
	       first ? "" : ",", s->number, s->label.uuid, t);
	text_json_str(stdout, s->label.host);
	printf(", \"tape_file\": %" PRIu32 ", \"record_size\": %" PRIu32 ", \"complete\": %s,",
	       s->label.tape_file, s->label.record_size, s->complete ? "true" : "false");
	print_sysstate_json(&s->label);
	fputs(" \"volumes\": [", stdout);
	for (size_t v = 0; v < s->label.nvol; v++) {
		const struct arc_volume *av = &s->label.vol[v];

		printf("%s{\"id\": \"%s\", \"fstype\": ", v ? ", " : "", av->id);
		text_json_str(stdout, av->fstype);
		fputs(", \"uuid\": ", stdout);
		text_json_str(stdout, av->uuid);
		fputs(", \"label\": ", stdout);
		text_json_str(stdout, av->label);
		fputs(", \"source\": ", stdout);
		text_json_str(stdout, av->source);
		printf(", \"size\": %" PRIu64 "}", av->size);
	}
	fputs("]}", stdout);
}

static void print_set(const struct rs_set *s)
{
	char t[64];

	when(s->label.created, t, sizeof(t));
	printf("set %u  %s  %s  host ", s->number, s->label.uuid, t);
	text_name(stdout, s->label.host);
	printf("  tape file %" PRIu32 "%s\n", s->label.tape_file,
	       s->complete ? "" : "  (cut off: no catalog)");
	if (s->label.flags & ARC_SET_SYSTEM_STATE) {
		fputs("    system state: ", stdout);
		text_name(stdout, s->label.windows[0] ? s->label.windows : "Windows");
		if (s->label.win_build[0]) {
			fputs(" build ", stdout);
			text_name(stdout, s->label.win_build);
		}
		if (s->label.win_root[0]) {
			fputs(", root ", stdout);
			text_name(stdout, s->label.win_root);
		}
		printf(", %zu hives\n", s->label.nhive);
	}
	for (size_t v = 0; v < s->label.nvol; v++) {
		const struct arc_volume *av = &s->label.vol[v];

		printf("    %s  %s  ", av->id, av->fstype);
		text_name(stdout, av->source);
		if (av->uuid[0])
			printf("  UUID=%s", av->uuid);
		putchar('\n');
	}
}

static int list_sets(struct rs *r, bool json)
{
	if (json)
		fputs("{\"sets\": [", stdout);
	for (size_t i = 0; i < rs_count(r); i++) {
		if (json)
			print_set_json(rs_set(r, i), i == 0);
		else
			print_set(rs_set(r, i));
	}
	if (json) {
		fputs("\n], \"foreign_files\": [", stdout);
		for (size_t k = 0; k < rs_foreign(r); k++)
			printf("%s%" PRIu32, k ? ", " : "", rs_foreign_file(r, k));
		puts("]}");
	} else if (rs_foreign(r)) {
		fputs("tape files of other tools (list --file F):", stdout);
		for (size_t k = 0; k < rs_foreign(r); k++)
			printf(" %" PRIu32, rs_foreign_file(r, k));
		putchar('\n');
	} else if (!rs_count(r)) {
		puts("no sets on this tape");
	}
	return 0;
}

/* ---- members ---------------------------------------------------------------- */

struct members {
	const struct rs_set *s;
	char *const *pat;
	int npat;
	bool json;
	uint64_t shown;
};

static bool wanted(const struct members *m, const char *name, const char *path)
{
	for (int i = 0; i < m->npat; i++)
		if (!fnmatch(m->pat[i], name, 0) || !fnmatch(m->pat[i], path, 0))
			return true;
	return m->npat == 0;
}

static int print_member(void *arg, const struct arc_entry *e)
{
	struct members *m = arg;
	char name[8192];

	snprintf(name, sizeof(name), "%s%s", e->vol < m->s->label.nvol ?
		 m->s->label.vol[e->vol].id : "v?", e->path);
	if (!wanted(m, name, e->path))
		return 0;
	if (m->json) {
		printf("%s\n  {\"index\": %" PRIu64 ", \"name\": ", m->shown ? "," : "",
		       e->index);
		text_json_str(stdout, name);
		printf(", \"type\": \"%c\", \"size\": %" PRIu64 ", \"lost\": %s, ",
		       (char)e->type, e->size, e->flags & ARC_M_LOST ? "true" : "false");
		print_flags_json(e->flags);
		if (e->flags & ARC_M_COPY) {
			fputs("\"copy_of\": ", stdout);
			text_json_str(stdout, e->target);
			fputs(", ", stdout);
		}
		if (e->flags & ARC_M_SIS) {   /* the store file is null when not found */
			fputs("\"sis\": true, \"sis_store\": ", stdout);
			if (e->target)
				text_json_str(stdout, e->target);
			fputs(e->target ? ", " : "null, ", stdout);
		}
		printf("\"tape_file\": %" PRIu32 ", \"record\": %" PRIu64 ", \"offset\": %"
		       PRIu32 "}", e->pos.file, e->pos.block, e->pos.offset);
	} else {
		printf("%c %12" PRIu64 "  ", (char)e->type, e->size);
		text_name(stdout, name);
		if (e->flags & ARC_M_SIS)
			fputs(e->target ? "  sis link, store " : "  sis link, store not found", stdout);
		if (e->target) {
			fputs(e->flags & ARC_M_SIS ? "" : e->flags & ARC_M_COPY ? " copy of " :
			      e->type == ARC_T_HARDLINK ? " link to " : " -> ", stdout);
			text_name(stdout, e->target);
		}
		print_flags_text(e->flags);
		puts(e->flags & ARC_M_LOST ? "  (lost at backup)" : "");
	}
	m->shown++;
	return 0;
}

/* Another tool's tar file: its members by the names it gave them. */
static int list_foreign(struct cli_ctx *c, struct rs *r, long file, struct members *m)
{
	for (size_t k = 0; k < rs_foreign(r); k++)
		if (rs_foreign_file(r, k) == (uint32_t)file)
			return rs_scan(r, k, true, print_member, m);
	return err_set(&c->err, -ENOENT, "tape file %ld is not another tool's archive "
		       "(list shows them)", file);
}

static int list_run(struct cli_ctx *c, int argc, char **argv)
{
	static const struct rs_set foreign = { .label = { .nvol = 1, .vol = { { .id = "" } } } };
	struct list_cli o = { 0 };
	struct members m = { 0 };
	struct rs *r = NULL;
	int rc = parse(c, &list_self, argc, argv, &o);

	if (rc)
		return rc;
	if ((rc = rs_open(o.tape, &r, &c->err)) < 0)
		return rc;
	if (!o.set && o.file < 0) {
		rc = list_sets(r, o.json);
		goto out;
	}
	m.s = o.file >= 0 ? &foreign : rs_set(r, (size_t)o.set - 1);
	m.pat = argv + optind, m.npat = argc - optind, m.json = o.json;
	if (o.json)
		printf("{\"%s\": %ld, \"members\": [", o.file >= 0 ? "file" : "set",
		       o.file >= 0 ? o.file : o.set);
	rc = o.file >= 0 ? list_foreign(c, r, o.file, &m) :
	     o.scan ? rs_scan(r, (size_t)o.set - 1, false, print_member, &m) :
	     rs_catalog(r, (size_t)o.set - 1, print_member, &m);
	if (o.json)
		puts("\n]}");
	if (rc > 0) {   /* listed what there was; the rest is missing */
		err_say("%s", rs_error(r)->msg);
		c->worst = err_worse(c->worst, ERR_ITEM);
		rc = 0;
	}
	if (rc < 0 && !err_failed(&c->err))
		err_copy(&c->err, rs_error(r));
out:
	rs_close(r);
	return rc;
}

/* ---- verify -------------------------------------------------------------------- */

static void verify_report(void *arg, const char *name, const char *why)
{
	progress_clear(arg);
	(void)name;
	err_say("%s", why);
}

static void print_verify(size_t i, bool sysstate, const struct rs_verify_result *res)
{
	printf("set %zu%s: %" PRIu64 " members, %" PRIu64 " hashes checked, %" PRIu64
	       " bad, %" PRIu64 " lost at backup\n", i + 1, sysstate ? " (system state)" : "",
	       res->members, res->checked, res->bad, res->lost);
	if (res->hives || res->sis || res->efs_raw)
		printf("set %zu: %" PRIu64 " hives, %" PRIu64 " SIS links (%" PRIu64 " without "
		       "their common-store file), %" PRIu64 " encrypted members raw\n", i + 1,
		       res->hives, res->sis, res->sis_missing, res->efs_raw);
}

static int verify_run(struct cli_ctx *c, int argc, char **argv)
{
	struct list_cli o = { 0 };
	struct rs_verify_result res;
	struct progress p;
	struct rs_verify_opts vo = { .report = verify_report, .arg = &p, .progress = &p };
	struct rs *r = NULL;
	bool sysstate;
	size_t i;
	int rc = parse(c, &verify_self, argc, argv, &o);

	if (rc)
		return rc;
	if ((rc = rs_open(o.tape, &r, &c->err)) < 0)
		return rc;
	if (!rs_count(r)) {
		rc = err_set(&c->err, -ENOENT, "no sets on %s", o.tape);
		goto out;
	}
	i = o.set ? (size_t)o.set - 1 : rs_count(r) - 1;
	progress_start(&p, "verify", 0, 0, o.json ? PROGRESS_QUIET : 0);
	rc = rs_verify(r, i, &vo, &res);
	progress_end(&p);
	if (rc < 0) {
		err_copy(&c->err, rs_error(r));
		goto out;
	}
	sysstate = (rs_set(r, i)->label.flags & ARC_SET_SYSTEM_STATE) != 0;
	if (o.json)
		printf("{\"set\": %zu, \"system_state\": %s, \"members\": %" PRIu64
		       ", \"checked\": %" PRIu64 ", \"bad\": %" PRIu64 ", \"lost\": %" PRIu64
		       ", \"bytes\": %" PRIu64 ", \"hives\": %" PRIu64 ", \"sis\": %" PRIu64
		       ", \"sis_missing\": %" PRIu64 ", \"efs_raw\": %" PRIu64 "}\n", i + 1,
		       sysstate ? "true" : "false", res.members, res.checked, res.bad, res.lost,
		       res.bytes, res.hives, res.sis, res.sis_missing, res.efs_raw);
	else
		print_verify(i, sysstate, &res);
	if (res.bad)
		rc = err_setc(&c->err, ERR_FATAL, ERR_CORRUPT, -EIO, "set %zu on %s does not "
			      "match its catalog: %" PRIu64 " bad members", i + 1, o.tape,
			      res.bad);
	else if (res.sis_missing)
		rc = err_setc(&c->err, ERR_ITEM, ERR_CORRUPT, -ENOENT, "set %zu on %s: %"
			      PRIu64 " single-instance-store links without their "
			      "common-store file", i + 1, o.tape, res.sis_missing);
	else if (res.lost)
		c->worst = err_worse(c->worst, ERR_ITEM);
out:
	rs_close(r);
	return rc;
}

const struct cli_cmd cli_list_cmd = {
	"list", NULL, 0, 0, -1, list_run, NULL, list_self.args, list_self.summary,
};

const struct cli_cmd cli_verify_cmd = {
	"verify", NULL, 0, 0, 0, verify_run, NULL, verify_self.args, verify_self.summary,
};
