/* cmd_hive.c - `sysrecover hive SUBCMD ...`: offline registry hives (info,
 * pending operations, LastRestoreId); the rule subcommands live in
 * cmd_hive_rules.c and are rows of the same table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "text.h"
#include "fs.h"
#include "hive.h"

/* Options shared by the subcommands of this file. */
struct hive_opts {
	const char *hive;    /* the hive: a file, or a path in --volume */
	const char *volume;  /* image or device holding the hive */
	bool json, clear, backup;
};

struct hive_ctx {
	struct fs *fs;
	struct hive *h;
};

static int parse_opts(int argc, char **argv, struct hive_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			o->json = true;
		else if (!strcmp(argv[i], "--clear"))
			o->clear = true;
		else if (!strcmp(argv[i], "--backup"))
			o->backup = true;
		else if (!strcmp(argv[i], "--volume") && i + 1 < argc)
			o->volume = argv[++i];
		else if (argv[i][0] == '-' || o->hive)
			return -1;
		else
			o->hive = argv[i];
	}
	return o->hive ? 0 : -1;
}

static int ctx_open(const struct hive_opts *o, bool write, struct hive_ctx *c)
{
	struct err err = { 0 };
	struct err ferr = { 0 };
	unsigned fl = (write ? HIVE_O_WRITE : 0) | (o->backup ? HIVE_O_BACKUP : 0);
	int rc;

	memset(c, 0, sizeof(*c));
	if (o->volume) {
		rc = fs_open(o->volume, write ? FS_O_RDWR : 0, &c->fs, &ferr);
		if (rc < 0) {
			err_say("%s", ferr.msg);
			return rc;
		}
		rc = hive_open_fs(c->fs, o->hive, fl, &c->h, &err);
	} else {
		rc = hive_open(o->hive, fl, &c->h, &err);
	}
	if (rc < 0) {
		err_say("%s", err.msg);
		if (c->fs)
			fs_close(c->fs);
		c->fs = NULL;
		return rc;
	}
	if (*hive_warning(c->h))
		err_warn("%s: %s", hive_name(c->h), hive_warning(c->h));
	return 0;
}

static int ctx_close(struct hive_ctx *c)
{
	int rc = 0;

	hive_close(c->h);
	if (c->fs && fs_close(c->fs) < 0) {
		err_say("cannot close volume: %s", strerror(EIO));
		rc = -EIO;
	}
	return rc;
}

/* Commit, or say why not. */
static int ctx_commit(struct hive_ctx *c)
{
	struct err err = { 0 };
	int rc = hive_commit(c->h, &err);

	if (rc < 0)
		err_say("%s", err.msg);
	return rc;
}

/* ---- hive info ---------------------------------------------------------- */

static int count_cb(void *arg, const char *name, hive_key k)
{
	(void)name, (void)k;
	(*(unsigned *)arg)++;
	return 0;
}

static int cmd_info(int argc, char **argv)
{
	struct hive_opts o;
	struct hive_ctx c;
	const struct hive_info *in;
	unsigned cur = 0, def = 0, nroot = 0;
	hive_key root;

	if (parse_opts(argc, argv, &o) < 0) {
		fprintf(stderr, "usage: sysrecover hive info [--volume VOL] HIVE\n");
		return ERR_EXIT_USAGE;
	}
	if (ctx_open(&o, false, &c) < 0)
		return ERR_EXIT_FAILED;
	in = hive_info(c.h);
	if (hive_root(c.h, &root) == 0)
		hive_children(c.h, root, count_cb, &nroot);
	printf("hive:         %s\n", hive_name(c.h));
	printf("sequence:     %u / %u\n", in->seq1, in->seq2);
	printf("state:        %s\n", in->dirty ? "dirty" : "clean");
	printf("logs:         %s", in->logs_present ? "present" : "none");
	if (in->replayed)
		printf(", replayed (%u entries)", in->log_entries);
	else if (in->dirty && in->logs_present)
		printf(", NOT replayed");
	printf("\n");
	if (hive_ccs(c.h, &cur, &def) == 0)
		printf("control sets: Current %u, Default %u\n", cur, def);
	else
		printf("control sets: unreadable (%s)\n", hive_errmsg(c.h));
	printf("root keys:    %u\n", nroot);
	ctx_close(&c);
	return ERR_EXIT_OK;
}

/* ---- hive pending ------------------------------------------------------- */

static const char *op_name(enum hive_pending_op op)
{
	return op == HIVE_PEND_DELETE ? "delete" : op == HIVE_PEND_REPLACE
	       ? "replace" : "move";
}

static void print_pending_text(const struct hive_pending_list *l, char **se)
{
	printf("# control set %u: %zu pending operation(s)%s\n", l->control_set,
	       l->n, l->malformed ? " (value malformed: a source without a "
	       "target ends it)" : "");
	for (size_t i = 0; i < l->n; i++) {
		const struct hive_pending *p = &l->ops[i];
		printf("%-7s %s", op_name(p->op), p->src);
		if (p->op != HIVE_PEND_DELETE)
			printf(" -> %s", p->dst);
		if (*p->src_prefix || *p->dst_prefix)
			printf("  [prefix %s%s%s]", p->src_prefix,
			       *p->dst_prefix ? " / " : "", p->dst_prefix);
		if (p->flags & HIVE_PEND_F_VALUE2)
			printf("  [PendingFileRenameOperations2]");
		printf("\n");
	}
	for (size_t i = 0; se && se[i]; i++)
		printf("setup-execute %s\n", se[i]);
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

static int cmd_pending(int argc, char **argv)
{
	struct hive_opts o;
	struct hive_ctx c;
	struct hive_pending_list l;
	char **se = NULL;
	int rc, ex = ERR_EXIT_OK;

	if (parse_opts(argc, argv, &o) < 0) {
		fprintf(stderr, "usage: sysrecover hive pending [--json] [--clear "
			"[--backup]] [--volume VOL] HIVE\n");
		return ERR_EXIT_USAGE;
	}
	if (ctx_open(&o, o.clear, &c) < 0)
		return ERR_EXIT_FAILED;
	rc = hive_pending_read(c.h, &l);
	if (rc == 0 && (rc = hive_setup_execute_get(c.h, &se)) < 0)
		hive_pending_free(&l);
	if (rc < 0) {
		err_say("%s: %s", hive_name(c.h), *hive_errmsg(c.h) ?
		       hive_errmsg(c.h) : strerror(-rc));
		ctx_close(&c);
		return ERR_EXIT_FAILED;
	}
	if (o.json)
		print_pending_json(&l, se);
	else
		print_pending_text(&l, se);
	if (l.malformed)
		ex = ERR_EXIT_PARTIAL;
	if (o.clear && (hive_pending_clear(c.h) < 0 || ctx_commit(&c) < 0)) {
		if (*hive_errmsg(c.h))
			err_say("%s", hive_errmsg(c.h));
		ex = ERR_EXIT_FAILED;
	}
	hive_pending_free(&l);
	hive_strv_free(se);
	if (ctx_close(&c) < 0)
		ex = ERR_EXIT_FAILED;
	return ex;
}

/* ---- hive set-restore-id ------------------------------------------------ */

static int cmd_set_restore_id(int argc, char **argv)
{
	struct hive_opts o;
	struct hive_ctx c;
	char guid[39];
	int ex = ERR_EXIT_OK;

	if (parse_opts(argc, argv, &o) < 0) {
		fprintf(stderr, "usage: sysrecover hive set-restore-id [--backup] "
			"[--volume VOL] HIVE\n");
		return ERR_EXIT_USAGE;
	}
	if (ctx_open(&o, true, &c) < 0)
		return ERR_EXIT_FAILED;
	if (hive_set_last_restore_id(c.h, guid) < 0) {
		err_say("%s", hive_errmsg(c.h));
		ex = ERR_EXIT_FAILED;
	} else if (ctx_commit(&c) < 0) {
		ex = ERR_EXIT_FAILED;
	} else {
		printf("LastRestoreId %s\n", guid);
	}
	if (ctx_close(&c) < 0)
		ex = ERR_EXIT_FAILED;
	return ex;
}

/* ---- the table ---------------------------------------------------------- */

struct hive_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
};

static const struct hive_cmd hive_cmds[] = {
	{ "info", cmd_info, "info [--volume VOL] HIVE       sequence numbers, dirty/clean, logs, control sets" },
	{ "pending", cmd_pending, "pending [--json] [--clear] HIVE  PendingFileRenameOperations(2) and SetupExecute" },
	{ "set-restore-id", cmd_set_restore_id, "set-restore-id [--backup] HIVE  new LastRestoreId (after a system-state restore)" },
	/* rule subcommands (cmd_hive_rules.c) */
	{ "merge", cli_hive_merge, "merge --current CUR --restored REST -o OUT  apply KeysNotToRestore" },
	{ "mounted", cli_hive_mounted, "mounted [--json] HIVE          MountedDevices" },
	{ "files-not-to-backup", cli_hive_fntb, "files-not-to-backup HIVE     the normalised FilesNotToBackup rules" },
};

#define NHIVE_CMDS (sizeof(hive_cmds) / sizeof(hive_cmds[0]))

static void hive_usage(FILE *f)
{
	fprintf(f, "usage: sysrecover hive SUBCMD [ARG]...\n"
		"  HIVE is a hive file, or with --volume VOL a path in an "
		"unmounted volume\n");
	for (size_t i = 0; i < NHIVE_CMDS; i++)
		fprintf(f, "  %s\n", hive_cmds[i].usage);
}

int cli_hive(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		hive_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? ERR_EXIT_USAGE : ERR_EXIT_OK;
	}
	for (size_t i = 0; i < NHIVE_CMDS; i++)
		if (!strcmp(argv[1], hive_cmds[i].name))
			return hive_cmds[i].run(argc - 1, argv + 1);
	err_say("hive: unknown subcommand '%s'", argv[1]);
	hive_usage(stderr);
	return ERR_EXIT_USAGE;
}

/* TRANSITIONAL: the group as a struct cli_cmd, around its old entry point. */
static int hive_legacy(struct cli_ctx *c, int argc, char **argv)
{
	c->legacy_exit = cli_hive(argc, argv);
	return 0;
}

const struct cli_cmd cli_hive_cmd = {
	.name = "hive", .run = hive_legacy, .max_args = -1,
	.args = "SUBCMD ...",
	.summary = "offline registry hives: info, pending, merge, mounted, files-not-to-backup",
};
