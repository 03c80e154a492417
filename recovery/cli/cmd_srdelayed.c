/* cmd_srdelayed.c - `sysrecover srdelayed add|list|apply` (also the binary
 * run under the name `srdelayed`): queue delayed file operations, show a
 * queue, apply the queues of unmounted volumes (srdelayed/srd.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "text.h"
#include "fs.h"
#include "srd.h"

#define USAGE \
	"usage: sysrecover srdelayed add [-q QUEUE | -V VOL] [--windows] move SRC DST\n" \
	"       sysrecover srdelayed add [-q QUEUE | -V VOL] [--windows] delete PATH\n" \
	"       sysrecover srdelayed add [-q QUEUE | -V VOL] [--windows] shortname PATH NAME\n" \
	"       sysrecover srdelayed list [--json] [-q QUEUE | VOL...]\n" \
	"       sysrecover srdelayed apply [--dry-run] [--json] [--disk IMG]... [VOL...]\n" \
	"QUEUE is a queue file of the running system (default " SRD_NATIVE_QUEUE_PATH "),\n" \
	"VOL an unmounted volume (its queue is " SRD_NATIVE_QUEUE_PATH " there).\n" \
	"Native paths: /path (the queue's volume), UUID=...:/path, LABEL=...:/path,\n" \
	"PARTUUID=...:/path.  --windows: an srdelayed input file (UTF-16LE), paths \\??\\C:\\...\n" \
	"apply with no VOL: every attached, unmounted volume holding a queue or Windows.\n"

struct srd_opts {
	const char *queue, *volume;
	bool windows, json, dry_run;
	const char **args;      /* what is left, in order */
	int nargs;
	const char **disks;
	size_t ndisks;
};

static int usage(int rc)
{
	fputs(USAGE, rc ? stderr : stdout);
	return rc;
}

static int parse_opts(int argc, char **argv, struct srd_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->args = calloc((size_t)argc + 1, sizeof(*o->args));
	o->disks = calloc((size_t)argc + 1, sizeof(*o->disks));
	if (!o->args || !o->disks)
		return -1;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--json"))
			o->json = true;
		else if (!strcmp(a, "--dry-run") || !strcmp(a, "-n"))
			o->dry_run = true;
		else if (!strcmp(a, "--windows"))
			o->windows = true;
		else if ((!strcmp(a, "-q") || !strcmp(a, "--queue")) && i + 1 < argc)
			o->queue = argv[++i];
		else if ((!strcmp(a, "-V") || !strcmp(a, "--volume")) && i + 1 < argc)
			o->volume = argv[++i];
		else if (!strcmp(a, "--disk") && i + 1 < argc)
			o->disks[o->ndisks++] = argv[++i];
		else if (!strcmp(a, "--"))
			while (++i < argc)
				o->args[o->nargs++] = argv[i];
		else if (a[0] == '-' && a[1])
			return -1;
		else
			o->args[o->nargs++] = a;
	}
	return o->queue && o->volume ? -1 : 0;
}

/* ---- add ------------------------------------------------------------------- */

static int make_record(const struct srd_opts *o, enum srd_form form,
		       struct srd_record *r)
{
	static const struct { const char *verb; enum srd_op op; int n; } v[] = {
		{ "move", SRD_OP_MOVE, 2 }, { "delete", SRD_OP_DELETE, 1 },
		{ "shortname", SRD_OP_SHORTNAME, 2 },
	};
	char why[200];
	int rc = -1;

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *a, *b;

		if (o->nargs < 1 || strcmp(o->args[0], v[i].verb))
			continue;
		if (o->nargs != 1 + v[i].n)
			return usage(ERR_EXIT_USAGE), -1;
		r->op = v[i].op;
		a = o->args[1], b = o->nargs > 2 ? o->args[2] : NULL;
		rc = form == SRD_FORM_WINDOWS ? srd_path_nt(a, SRD_NT_ESCAPES, &r->path, why, sizeof(why))
					      : srd_path_native(a, &r->path, why, sizeof(why));
		if (rc == 0 && r->op == SRD_OP_MOVE)
			rc = form == SRD_FORM_WINDOWS ? srd_path_nt(b, SRD_NT_ESCAPES, &r->dst, why, sizeof(why))
						      : srd_path_native(b, &r->dst, why, sizeof(why));
		if (rc < 0) {
			err_say("bad path: %s", why);
			return -1;
		}
		r->arg = strdup(r->op == SRD_OP_SHORTNAME ? b : "Unused");
		return r->arg ? 0 : -1;
	}
	err_say("add: give move, delete or shortname");
	return -1;
}

/* The queue with the record appended; *old NULL when there was no queue. */
static int queue_append(const uint8_t *old, size_t len, const struct srd_opts *o,
			uint8_t **out, size_t *outlen)
{
	enum srd_form form = o->windows ? SRD_FORM_WINDOWS : SRD_FORM_NATIVE;
	struct srd_queue q = { 0 };
	struct srd_record r;
	struct srd_err err = { 0 };
	int rc;

	if (old && memchr(old, 0, len))
		form = SRD_FORM_WINDOWS;  /* UTF-16: the native form has no NUL */
	rc = old ? srd_parse(old, len, form, &q, &err) : srd_queue_init(&q, form);
	if (rc < 0) {
		err_say("the queue is damaged, not adding to it: %s", err.msg);
		return rc;
	}
	if ((rc = make_record(o, form, &r)) == 0 &&
	    (rc = srd_write(&q, &r, 1, out, outlen, &err)) < 0)
		err_say("cannot add: %s", err.msg);
	srd_path_free(&r.path);
	srd_path_free(&r.dst);
	free(r.arg);
	srd_queue_free(&q);
	return rc;
}

static uint8_t *slurp(const char *path, size_t *len, int *rc)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	struct stat st;

	*rc = 0;
	if (!f) {
		*rc = errno == ENOENT ? 0 : -errno;
		return NULL;
	}
	if (fstat(fileno(f), &st) < 0 || st.st_size > (off_t)SRD_MAX_BYTES)
		*rc = -EFBIG;
	else if (!(buf = malloc((size_t)st.st_size + 1)))
		*rc = -ENOMEM;
	else if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		*rc = -EIO;
	*len = (size_t)st.st_size;
	fclose(f);
	if (*rc < 0) {
		free(buf);
		buf = NULL;
	}
	return buf;
}

/* Replace the file atomically: beside it, synced, renamed over it.  Callers
 * hold the directory lock so two `add`s cannot lose one another's record. */
static int put_local(const char *path, const uint8_t *d, size_t len)
{
	char *tmp = NULL;
	int fd = -1, rc = 0;

	if (asprintf(&tmp, "%s.new", path) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, d, len) != (ssize_t)len || fsync(fd) < 0 ||
	    rename(tmp, path) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

static int add_local(const struct srd_opts *o)
{
	const char *path = o->queue ? o->queue : SRD_NATIVE_QUEUE_PATH;
	char *dir = strdup(path);
	uint8_t *old = NULL, *out = NULL;
	size_t len = 0, outlen = 0;
	int dfd = -1, rc;

	if (!dir)
		return -ENOMEM;
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || flock(dfd, LOCK_EX) < 0) {
		rc = -errno;
		err_say("cannot lock the directory of %s: %s", path, strerror(errno));
		goto out;
	}
	old = slurp(path, &len, &rc);
	if (rc < 0) {
		err_say("cannot read %s: %s", path, strerror(-rc));
		goto out;
	}
	if ((rc = queue_append(old, len, o, &out, &outlen)) < 0)
		goto out;
	if ((rc = put_local(path, out, outlen)) < 0)
		err_say("cannot write %s: %s", path, strerror(-rc));
out:
	if (dfd >= 0)
		close(dfd);
	free(dir);
	free(old);
	free(out);
	return rc;
}

/* The native queue of an unmounted volume, through fs.h. */
static int add_volume(const struct srd_opts *o)
{
	struct fs *fs = NULL;
	struct err fe = { 0 };
	struct fs_file *f = NULL;
	uint8_t *old = NULL, *out = NULL;
	size_t len = 0, outlen = 0;
	struct fs_stat st;
	const char *q = SRD_NATIVE_QUEUE_PATH;
	int rc = fs_open(o->volume, FS_O_RDWR, &fs, &fe);

	if (rc < 0) {
		err_say("%s", fe.msg);
		return rc;
	}
	if (fs_lookup(fs, q, &st) == 0) {
		rc = fs_read_file(fs, q, SRD_MAX_BYTES, &old, &len);
	} else {  /* make /var/lib/sysrecover, each level as needed */
		const char *dirs[] = { "/var", "/var/lib", "/var/lib/sysrecover" };

		for (size_t i = 0; i < 3 && rc == 0; i++)
			if ((rc = fs_mkdir(fs, dirs[i], 0755)) == -EEXIST)
				rc = 0;
		if (rc == 0)
			rc = fs_create(fs, q, 0644);
	}
	if (rc == 0 && (rc = queue_append(old, len, o, &out, &outlen)) < 0)
		goto out;
	if (rc == 0)
		rc = fs_file_open(fs, q, NULL, FS_F_WRITE, &f);
	if (rc == 0 && fs_file_pwrite(f, out, outlen, 0) != (ssize_t)outlen)
		rc = -EIO;
	if (rc == 0)
		rc = fs_file_truncate(f, outlen);
	if (rc < 0)
		err_say("cannot update %s on %s: %s", q, o->volume, *fs_errmsg(fs) ?
		       fs_errmsg(fs) : strerror(-rc));
out:
	fs_file_close(f);
	if (fs_close(fs) < 0 && rc == 0)
		rc = -EIO;
	free(old);
	free(out);
	return rc;
}

static int cmd_add(const struct srd_opts *o)
{
	int rc = o->volume ? add_volume(o) : add_local(o);

	return rc < 0 ? (rc == -1 ? ERR_EXIT_USAGE : ERR_EXIT_FAILED) : ERR_EXIT_OK;
}

/* ---- list and apply --------------------------------------------------------- */

static const char *outcome_name(enum srd_outcome oc)
{
	static const char *const n[] = {
		[SRD_DONE] = "done", [SRD_FAILED] = "failed",
		[SRD_NOT_REACHED] = "not-reached", [SRD_SKIPPED] = "skipped",
		[SRD_PLANNED] = "planned",
	};
	return n[oc];
}

static void print_text(const struct srd_report *rep)
{
	for (size_t i = 0; i < rep->n; i++) {
		const struct srd_result *r = &rep->r[i];

		printf("%-11s %s#%zu %s %s%s%s%s%s", outcome_name(r->outcome),
		       r->source, r->index, r->op, r->arg ? r->arg : "",
		       r->arg ? " " : "", r->path, r->target ? " -> " : "",
		       r->target ? r->target : "");
		if (r->outcome == SRD_FAILED)
			printf("  SC=%08X %s", r->code, r->msg);
		putchar('\n');
	}
	for (size_t i = 0; i < rep->nnotes; i++)
		printf("note: %s\n", rep->notes[i]);
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

static void print_json(const struct srd_report *rep, int rc, const char *err)
{
	printf("{\"resumed\": %s, \"done\": %zu, \"failed\": %zu, "
	       "\"not_reached\": %zu, \"skipped\": %zu", rep->resumed ? "true" :
	       "false", rep->done, rep->failed, rep->not_reached, rep->skipped);
	json_field("error", rc < 0 ? err : NULL);
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
		json_field("message", r->outcome == SRD_FAILED ? r->msg : NULL);
		putchar('}');
	}
	fputs("],\n \"notes\": [", stdout);
	for (size_t i = 0; i < rep->nnotes; i++) {
		fputs(i ? ", " : "", stdout);
		text_json_str(stdout, rep->notes[i]);
	}
	puts("]}");
}

static int cmd_apply(const struct srd_opts *o, bool dry_run)
{
	struct srd_apply_opts ao = {
		.vols = o->args, .nvols = (size_t)o->nargs,
		.disks = o->disks, .ndisks = o->ndisks, .dry_run = dry_run,
	};
	struct srd_report rep;
	struct srd_err err;
	int rc = srd_apply(&ao, &rep, &err);

	if (o->json)
		print_json(&rep, rc, err.msg);
	else
		print_text(&rep);
	if (rc < 0)
		err_say("%s", err.msg);
	srd_report_free(&rep);
	return rc < 0 ? ERR_EXIT_FAILED : rc ? ERR_EXIT_PARTIAL : ERR_EXIT_OK;
}

/* A queue file of the running system, as written. */
static int list_file(const struct srd_opts *o)
{
	struct srd_queue q = { 0 };
	struct srd_err err = { 0 };
	size_t len = 0;
	int rc;
	uint8_t *buf = slurp(o->queue, &len, &rc);

	if (!buf) {
		err_say("cannot read %s: %s", o->queue, rc ? strerror(-rc) :
		       "no such file");
		return ERR_EXIT_FAILED;
	}
	rc = srd_parse(buf, len, memchr(buf, 0, len) ? SRD_FORM_WINDOWS :
		       SRD_FORM_NATIVE, &q, &err);
	free(buf);
	if (rc < 0) {
		err_say("%s: %s", o->queue, err.msg);
		return ERR_EXIT_FAILED;
	}
	for (size_t i = 0; i < q.n; i++) {
		const struct srd_record *r = &q.rec[i];

		if (o->json)
			printf("%s", i ? ",\n " : "[");
		if (o->json) {
			printf("{\"index\": %zu, \"fields\": [", r->index);
			for (int k = 0; k < 4; k++) {
				fputs(k ? ", " : "", stdout);
				text_json_str(stdout, r->field[k]);
			}
			fputs("]}", stdout);
		} else {
			printf("%zu\t%s\t%s\t%s\t%s\n", r->index, r->field[0],
			       r->field[1], r->field[2], r->field[3]);
		}
	}
	if (o->json)
		puts(q.n ? "]" : "[]");
	srd_queue_free(&q);
	return ERR_EXIT_OK;
}

int cli_srdelayed(int argc, char **argv)
{
	struct srd_opts o;
	const char *verb = argc > 1 ? argv[1] : NULL;
	int rc;

	if (verb && (!strcmp(verb, "--help") || !strcmp(verb, "-h")))
		return usage(ERR_EXIT_OK);
	if (!verb || parse_opts(argc, argv, &o) < 0) {
		if (verb)
			free(o.args), free(o.disks);
		return usage(ERR_EXIT_USAGE);
	}
	if (o.volume && strcmp(verb, "add"))
		o.args[o.nargs++] = o.volume;  /* list/apply -V VOL: as VOL */
	if (!strcmp(verb, "add"))
		rc = cmd_add(&o);
	else if (!strcmp(verb, "list") && !o.queue && !o.nargs && !o.volume)
		rc = (o.queue = SRD_NATIVE_QUEUE_PATH, list_file(&o));
	else if (!strcmp(verb, "list"))
		rc = o.queue ? list_file(&o) : cmd_apply(&o, true);
	else if (!strcmp(verb, "apply"))
		rc = o.queue ? usage(ERR_EXIT_USAGE) : cmd_apply(&o, o.dry_run);
	else
		rc = usage(ERR_EXIT_USAGE);
	free(o.args);
	free(o.disks);
	return rc;
}

/* TRANSITIONAL: the group as a struct cli_cmd, around its old entry point. */
static int srdelayed_legacy(struct cli_ctx *c, int argc, char **argv)
{
	c->legacy_exit = cli_srdelayed(argc, argv);
	return 0;
}

const struct cli_cmd cli_srdelayed_cmd = {
	.name = "srdelayed", .run = srdelayed_legacy, .max_args = -1,
	.args = "add|list|apply ...",
	.summary = "queue and apply delayed move/delete/short-name operations",
};
