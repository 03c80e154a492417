/* cmd_hive_rules.c - `sysrecover hive merge | mounted | files-not-to-backup`:
 * the backup/restore rules of offline SYSTEM hives.
 *
 * merge never touches CUR or REST: the restored hive (with its logs, so the
 * core can replay them) is copied beside OUT, edited and committed there,
 * then renamed to OUT, so OUT is either absent or complete.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "text.h"
#include "fs.h"
#include "hive.h"

/* A JSON string: escapes, control bytes as \u00XX. */
static void jstr(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

/* ---- merge ------------------------------------------------------------------ */

static int copy_file(const char *src, const char *dst)
{
	char buf[1 << 16];
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
	ssize_t n;

	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = -errno;
		goto out;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		for (ssize_t o = 0; o < n;) {
			ssize_t w = write(out, buf + o, (size_t)(n - o));

			if (w < 0) {
				rc = -errno;
				goto out;
			}
			o += w;
		}
	}
	if (n < 0 || fsync(out) < 0)
		rc = -errno;
out:
	if (out >= 0 && close(out) < 0 && !rc)
		rc = -errno;
	close(in);
	return rc;
}

/* Copy REST and its logs to TMP, TMP.LOG1, TMP.LOG2. */
static int stage(const char *rest, const char *tmp)
{
	char a[4200], b[4200];
	int rc = copy_file(rest, tmp);

	for (int i = 1; rc == 0 && i <= 2; i++) {
		snprintf(a, sizeof(a), "%s.LOG%d", rest, i);
		snprintf(b, sizeof(b), "%s.LOG%d", tmp, i);
		if (access(a, F_OK) == 0)
			rc = copy_file(a, b);
	}
	return rc;
}

static void unstage(const char *tmp)
{
	char b[4200];

	unlink(tmp);
	for (int i = 1; i <= 2; i++) {
		snprintf(b, sizeof(b), "%s.LOG%d", tmp, i);
		unlink(b);
	}
}

static void print_results(const struct hive_kntr_result *r, size_t n, bool json,
			  bool dry, const char *out)
{
	unsigned cnt[HIVE_KNTR_FAILED + 1] = { 0 };

	for (size_t i = 0; i < n; i++)
		cnt[r[i].outcome]++;
	if (json) {
		printf("{\"output\": ");
		jstr(dry ? NULL : out);
		printf(", \"dry_run\": %s, \"rules\": [", dry ? "true" : "false");
		for (size_t i = 0; i < n; i++) {
			const struct hive_kntr_rule *ru = r[i].rule;

			printf("%s\n  {\"component\": ", i ? "," : "");
			jstr(ru->component);
			printf(", \"entry\": ");
			jstr(ru->entry);
			printf(", \"form\": \"%s\", \"from\": \"%s\", \"current_key\": ",
			       hive_kntr_form_name(ru->form),
			       ru->from == 3 ? "both" : ru->from == 1 ? "current" : "restored");
			jstr(r[i].cur_path);
			printf(", \"output_key\": ");
			jstr(r[i].out_path);
			printf(", \"value\": ");
			if (ru->value)
				jstr(ru->value);
			else
				printf("null");
			printf(", \"outcome\": \"%s\", \"removed\": %s, \"keys\": %u, "
			       "\"values\": %u, \"backup_keys\": %u, \"backup_values\": %u, "
			       "\"start_kept\": %u, \"message\": ",
			       hive_kntr_outcome_name(r[i].outcome),
			       r[i].removed ? "true" : "false", r[i].keys, r[i].values,
			       r[i].backup_keys, r[i].backup_values, r[i].start_kept);
			jstr(r[i].msg);
			printf("}");
		}
		printf("\n], \"counts\": {");
		for (int o = 0; o <= HIVE_KNTR_FAILED; o++)
			printf("%s\"%s\": %u", o ? ", " : "", hive_kntr_outcome_name(o), cnt[o]);
		printf("}}\n");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct hive_kntr_rule *ru = &r[i].rule[0];

		printf("%-10s %-6s %s  [%s]\n", hive_kntr_outcome_name(r[i].outcome),
		       hive_kntr_form_name(ru->form), ru->entry, ru->component);
		if (r[i].out_path)
			printf("           %s%s%s", r[i].out_path, ru->value ? "\\" : "",
			       ru->value ? ru->value : "");
		if (r[i].outcome == HIVE_KNTR_KEPT || r[i].outcome == HIVE_KNTR_MERGED)
			printf(": %u keys, %u values from current", r[i].keys, r[i].values);
		if (r[i].outcome == HIVE_KNTR_MERGED)
			printf("; %u keys, %u values only in the backup kept", r[i].backup_keys,
			       r[i].backup_values);
		if (r[i].start_kept)
			printf("; %u Start values from current", r[i].start_kept);
		if (r[i].removed)
			printf(": the backup's copy removed");
		if (r[i].msg[0])
			printf("%s%s", r[i].out_path ? ": " : "           ", r[i].msg);
		if (r[i].out_path || r[i].msg[0])
			putchar('\n');
	}
	printf("%zu rules: %u kept, %u merged, %u left alone, %u missing, %u ignored, "
	       "%u failed%s\n", n, cnt[HIVE_KNTR_KEPT], cnt[HIVE_KNTR_MERGED],
	       cnt[HIVE_KNTR_LEFT_ALONE], cnt[HIVE_KNTR_MISSING], cnt[HIVE_KNTR_IGNORED],
	       cnt[HIVE_KNTR_FAILED], dry ? " (dry run: nothing written)" : "");
}

static int merge_usage(FILE *f, int rc)
{
	fprintf(f,
		"usage: sysrecover hive merge --current CUR --restored REST -o OUT\n"
		"                             [--dry-run] [--json] [--kntr-merge=2003|vss]\n"
		"Apply KeysNotToRestore (the rules of both hives) to the restored SYSTEM\n"
		"hive REST, taking the kept keys and values from the current hive CUR, and\n"
		"write the result to OUT (which must not exist).  CUR and REST are not\n"
		"changed.  key\\* rules: 2003 (default) keeps current and adds what only\n"
		"the backup has; vss keeps the backup's subkeys and the lower Start.\n");
	return rc;
}

static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

int cli_hive_merge(int argc, char **argv)
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
	const char *cur = NULL, *rest = NULL, *out = NULL;
	enum hive_kntr_policy pol = HIVE_KNTR_2003;
	struct hive_kntr_rule *rules = NULL;
	struct hive_kntr_result *res = NULL;
	struct hive *hc = NULL, *hr = NULL;
	struct err err = { 0 };
	bool dry = false, json = false, staged = false;
	char *tmp = NULL;
	size_t n = 0;
	int c, rc, ret = ERR_EXIT_FAILED;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:r:o:njh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cur = optarg; break;
		case 'r': rest = optarg; break;
		case 'o': out = optarg; break;
		case 'n': dry = true; break;
		case 'j': json = true; break;
		case 'm':
			if (!strcmp(optarg, "2003"))
				pol = HIVE_KNTR_2003;
			else if (!strcmp(optarg, "vss"))
				pol = HIVE_KNTR_VSS;
			else
				return merge_usage(stderr, ERR_EXIT_USAGE);
			break;
		case 'h': return merge_usage(stdout, ERR_EXIT_OK);
		default: return merge_usage(stderr, ERR_EXIT_USAGE);
		}
	}
	if (!cur || !rest || (!out && !dry) || optind != argc)
		return merge_usage(stderr, ERR_EXIT_USAGE);
	if (out && !dry && access(out, F_OK) == 0) {
		err_say("'%s' exists: merge writes a new file", out);
		return ERR_EXIT_USAGE;
	}
	if (same_file(cur, rest))
		err_warn("current and restored are the same file: nothing can change");
	if ((rc = hive_open(cur, 0, &hc, &err)) < 0) {
		err_say("%s", err.msg);
		goto out;
	}
	if (hive_warning(hc)[0])
		err_warn("%s: %s", cur, hive_warning(hc));
	if (!dry) {
		if (asprintf(&tmp, "%s.sysrecover-merge", out) < 0)
			goto out;
		unstage(tmp);
		if ((rc = stage(rest, tmp)) < 0) {
			err_say("cannot copy '%s' to '%s': %s", rest, tmp, strerror(-rc));
			unstage(tmp);
			goto out;
		}
		staged = true;
	}
	if ((rc = hive_open(dry ? rest : tmp, HIVE_O_WRITE, &hr, &err)) < 0) {
		err_say("%s", err.msg);
		goto out;
	}
	if (hive_warning(hr)[0])
		err_warn("%s: %s", rest, hive_warning(hr));
	if ((rc = hive_kntr_read(hc, HIVE_KNTR_FROM_CURRENT, &rules, &n, &err)) < 0 ||
	    (rc = hive_kntr_read(hr, HIVE_KNTR_FROM_RESTORED, &rules, &n, &err)) < 0) {
		err_say("%s", err.msg);
		goto out;
	}
	if (!n)
		err_warn("neither hive lists KeysNotToRestore: the output equals the backup");
	rc = hive_kntr_apply(hc, hr, rules, n, pol, &res);
	print_results(res, n, json, dry, out);
	if (rc < 0) {
		err_say("a rule failed: nothing written");
		goto out;
	}
	if (!dry) {
		if ((rc = hive_commit(hr, &err)) < 0) {
			err_say("%s", err.msg);
			goto out;
		}
		if (rename(tmp, out) < 0) {
			err_say("cannot rename '%s' to '%s': %s", tmp, out, strerror(errno));
			goto out;
		}
		staged = false;
	}
	ret = ERR_EXIT_OK;
	for (size_t i = 0; i < n; i++)
		if (res[i].outcome == HIVE_KNTR_IGNORED)
			ret = ERR_EXIT_PARTIAL;
out:
	hive_close(hr);
	hive_close(hc);
	if (staged)
		unstage(tmp);
	free(tmp);
	hive_kntr_results_free(res, n);
	hive_kntr_rules_free(rules, n);
	return ret;
}

/* ---- mounted -------------------------------------------------------------- */

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
	jstr(e->name);
	printf(", \"kind\": \"%s\"", md_kind_name(e->v.kind));
	if (e->v.kind == HIVE_MD_MBR)
		printf(", \"signature\": \"%08" PRIx32 "\", \"offset\": %" PRIu64,
		       e->v.signature, e->v.offset);
	if (e->v.kind == HIVE_MD_GPT)
		printf(", \"guid\": \"%s\"", e->v.guid);
	if (e->v.kind == HIVE_MD_DEVICE) {
		printf(", \"device\": ");
		jstr(e->v.device);
	}
	printf(", \"length\": %zu, \"data\": \"", e->len);
	for (size_t i = 0; i < e->len; i++)
		printf("%02x", e->data[i]);
	printf("\"");
	if (vol) {
		printf(", \"volume\": ");
		jstr(vol->name);
	}
	printf("}");
}

static int mounted_usage(FILE *f, int rc)
{
	fprintf(f,
		"usage: sysrecover hive mounted HIVE [--json] [--resolve NAME]... [DISK...]\n"
		"List SYSTEM\\MountedDevices of HIVE.  --resolve C: or Volume{GUID} finds\n"
		"the volume it names among DISK... (images or devices; every block device\n"
		"when none is given).\n");
	return rc;
}

int cli_hive_mounted(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "resolve", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *resolve[64];
	struct hive_md_entry *e = NULL;
	struct err err = { 0 };
	struct hive *h = NULL;
	size_t n = 0, nres = 0;
	bool json = false;
	int c, ret = ERR_EXIT_FAILED;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'R' && nres < 64)
			resolve[nres++] = optarg;
		else if (c == 'h')
			return mounted_usage(stdout, ERR_EXIT_OK);
		else
			return mounted_usage(stderr, ERR_EXIT_USAGE);
	}
	if (optind >= argc)
		return mounted_usage(stderr, ERR_EXIT_USAGE);
	if (hive_open(argv[optind], 0, &h, &err) < 0) {
		err_say("%s", err.msg);
		return ERR_EXIT_FAILED;
	}
	if (hive_warning(h)[0])
		err_warn("%s: %s", argv[optind], hive_warning(h));
	if (hive_md_read(h, &e, &n, &err) < 0) {
		err_say("%s", err.msg);
		goto out;
	}
	ret = ERR_EXIT_OK;
	if (nres) {
		const char *const *disks = (const char *const *)argv + optind + 1;
		size_t ndisks = (size_t)(argc - optind - 1);

		if (json)
			printf("[");
		for (size_t i = 0; i < nres; i++) {
			const struct hive_md_entry *m = hive_md_find(e, n, resolve[i]);
			struct fs_volume vol;
			struct err rerr = { 0 };

			if (!m) {
				err_say("%s: no such value in MountedDevices", resolve[i]);
				ret = ERR_EXIT_FAILED;
				continue;
			}
			if (hive_md_resolve(&m->v, disks, ndisks, &vol, &rerr) < 0) {
				err_say("%s: %s", resolve[i], rerr.msg);
				ret = ERR_EXIT_FAILED;
				continue;
			}
			if (json) {
				printf("%s", i ? ",\n " : "");
				md_json(m, &vol);
			} else {
				printf("%s\t%s\t%s\n", resolve[i], vol.name, m->v.text);
			}
		}
		if (json)
			printf("]\n");
		goto out;
	}
	if (json)
		printf("[");
	for (size_t i = 0; i < n; i++) {
		if (json) {
			printf("%s", i ? ",\n " : "");
			md_json(&e[i], NULL);
		} else {
			printf("%s\t%s\n", e[i].name, e[i].v.text);
		}
	}
	if (json)
		printf("]\n");
out:
	hive_md_free(e, n);
	hive_close(h);
	return ret;
}

/* ---- files-not-to-backup -------------------------------------------------- */

static int fntb_usage(FILE *f, int rc)
{
	fprintf(f,
		"usage: sysrecover hive files-not-to-backup HIVE [--software SOFTWARE] [--json]\n"
		"The FilesNotToBackup rules of SYSTEM hive HIVE, normalised: drive (* = every\n"
		"drive), directory, file pattern, /s.  %%SystemRoot%% comes from SOFTWARE when\n"
		"given, else C:\\Windows; entries with unresolved variables are skipped.\n");
	return rc;
}

static void fntb_print(const struct hive_fntb *f, bool json)
{
	if (json) {
		printf("{\"systemroot\": ");
		jstr(f->systemroot);
		printf(", \"systemroot_source\": \"%s\", \"rules\": [", f->systemroot_src);
		for (size_t i = 0; i < f->n; i++) {
			const struct hive_fntb_rule *r = &f->rules[i];
			char d[2] = { r->drive, 0 };

			printf("%s\n  {\"component\": ", i ? "," : "");
			jstr(r->component);
			printf(", \"entry\": ");
			jstr(r->entry);
			printf(", \"drive\": ");
			if (r->drive)
				jstr(d);
			else
				printf("null");
			printf(", \"dir\": ");
			jstr(r->dir);
			printf(", \"pattern\": ");
			jstr(r->pattern);
			printf(", \"recursive\": %s, \"sis\": %s}", r->recursive ? "true" : "false",
			       r->sis ? "true" : "false");
		}
		printf("\n], \"skipped\": [");
		for (size_t i = 0; i < f->nskipped; i++) {
			printf("%s\n  {\"component\": ", i ? "," : "");
			jstr(f->skipped[i].component);
			printf(", \"entry\": ");
			jstr(f->skipped[i].entry);
			printf(", \"why\": ");
			jstr(f->skipped[i].why);
			printf("}");
		}
		printf("\n]}\n");
		return;
	}
	printf("# %%SystemRoot%% = %s (%s)\n", f->systemroot,
	       !strcmp(f->systemroot_src, "SOFTWARE") ? "from SOFTWARE" :
	       "default: no SOFTWARE hive given");
	for (size_t i = 0; i < f->n; i++) {
		const struct hive_fntb_rule *r = &f->rules[i];
		const char *sep = strcmp(r->dir, "\\") ? "\\" : "";

		printf("%c:%s%s%s%s\t[%s]%s\n", r->drive ? r->drive : '*', r->dir, sep,
		       r->pattern, r->recursive ? " /s" : "", r->component,
		       r->sis ? " (SIS Common Store: never matched)" : "");
	}
	for (size_t i = 0; i < f->nskipped; i++)
		err_warn("FilesNotToBackup [%s] '%s' skipped: %s", f->skipped[i].component,
			f->skipped[i].entry, f->skipped[i].why);
}

int cli_hive_fntb(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "software", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct hive *h = NULL, *sw = NULL;
	struct err err = { 0 };
	struct hive_fntb *f = NULL;
	const char *swpath = NULL;
	bool json = false;
	int c, ret = ERR_EXIT_FAILED;

	optind = 1;
	while ((c = getopt_long(argc, argv, "js:h", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 's')
			swpath = optarg;
		else if (c == 'h')
			return fntb_usage(stdout, ERR_EXIT_OK);
		else
			return fntb_usage(stderr, ERR_EXIT_USAGE);
	}
	if (optind + 1 != argc)
		return fntb_usage(stderr, ERR_EXIT_USAGE);
	if (hive_open(argv[optind], 0, &h, &err) < 0 ||
	    (swpath && hive_open(swpath, 0, &sw, &err) < 0)) {
		err_say("%s", err.msg);
		goto out;
	}
	if (hive_fntb_load(h, sw, &f, &err) < 0) {
		err_say("%s", err.msg);
		goto out;
	}
	fntb_print(f, json);
	ret = ERR_EXIT_OK;  /* skipped entries are warnings */
out:
	hive_fntb_free(f);
	hive_close(sw);
	hive_close(h);
	return ret;
}
