/* hive_merge.c - `hive merge`: stage a restored SYSTEM hive beside the output, apply KeysNotToRestore from both hives, commit, rename. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hive_impl.h"

/* The next warning slot (the last one again when they are all used). */
static struct err *warn_slot(struct hive_merge_result *res)
{
	size_t max = sizeof(res->warn) / sizeof(res->warn[0]);

	if (res->nwarn < max)
		res->nwarn++;
	return &res->warn[res->nwarn - 1];
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* TMP, TMP.LOG1, TMP.LOG2 removed (absent is fine). */
static void unstage(const char *tmp)
{
	char *p = NULL;

	unlink(tmp);
	for (int i = 1; i <= 2; i++) {
		if (asprintf(&p, "%s.LOG%d", tmp, i) >= 0)
			unlink(p);
		free(p);
		p = NULL;
	}
}

/* Copy REST and its logs to TMP, TMP.LOG1, TMP.LOG2, so that the copy is
 * replayed the way REST would be. */
static int stage(const char *rest, const char *tmp, struct err *err)
{
	char *a = NULL, *b = NULL;
	int rc = hive_copy_file(rest, tmp);

	for (int i = 1; rc == 0 && i <= 2; i++) {
		if (asprintf(&a, "%s.LOG%d", rest, i) < 0 ||
		    asprintf(&b, "%s.LOG%d", tmp, i) < 0)
			rc = -ENOMEM;
		else if (access(a, F_OK) == 0)
			rc = hive_copy_file(a, b);
		free(a);
		free(b);
		a = b = NULL;
	}
	if (rc < 0)
		err_set(err, rc, "cannot copy '%s' to '%s': %s", rest, tmp,
			strerror(-rc));
	return rc;
}

/* Open both hives (the restored one from its staged copy) and read the
 * rules of both. */
static int open_and_read(const struct hive_merge_req *req, const char *tmp,
			 struct hive **hc, struct hive **hr,
			 struct hive_merge_result *res, struct err *err)
{
	int rc;

	if ((rc = hive_open(req->current, 0, hc, err)) < 0 ||
	    (rc = hive_require_kind(*hc, HIVE_KIND_SYSTEM, "KeysNotToRestore "
				    "applies to SYSTEM hives", err)) < 0)
		return rc;
	if (hive_warning(*hc)[0])
		err_setc(warn_slot(res), ERR_WARNING, ERR_NONE, 0, "%s: %s", req->current, hive_warning(*hc));
	if ((rc = hive_open(tmp, HIVE_O_WRITE, hr, err)) < 0)
		return rc;
	{  /* named as the user gave it, not as the staged copy */
		char *staged = (*hr)->name;

		(*hr)->name = (char *)req->restored;
		rc = hive_require_kind(*hr, HIVE_KIND_SYSTEM, "KeysNotToRestore "
				       "applies to SYSTEM hives", err);
		(*hr)->name = staged;
		if (rc < 0)
			return rc;
	}
	if (hive_warning(*hr)[0])
		err_setc(warn_slot(res), ERR_WARNING, ERR_NONE, 0, "%s: %s", req->restored, hive_warning(*hr));
	if ((rc = hive_kntr_read(*hc, HIVE_KNTR_FROM_CURRENT, &res->rules,
				 &res->n, err)) < 0 ||
	    (rc = hive_kntr_read(*hr, HIVE_KNTR_FROM_RESTORED, &res->rules,
				 &res->n, err)) < 0)
		return rc;
	if (!res->n)
		err_setc(warn_slot(res), ERR_WARNING, ERR_NONE, 0, "neither hive lists KeysNotToRestore: the output "
		     "equals the backup");
	return 0;
}

static int apply(struct hive *hc, struct hive *hr, const struct hive_merge_req *req,
		 struct hive_merge_result *res, struct err *err)
{
	int rc = hive_kntr_apply(hc, hr, res->rules, res->n, req->policy,
				 &res->res);

	if (!res->res)
		return err_set(err, rc, "%s", strerror(-rc));
	for (size_t i = 0; i < res->n; i++)
		res->counts[res->res[i].outcome]++;
	if (rc < 0)
		return err_set(err, rc, "a rule failed: nothing written");
	return 0;
}

int hive_merge_files(const struct hive_merge_req *req,
		     struct hive_merge_result *res, struct err *err)
{
	struct hive *hc = NULL, *hr = NULL;
	bool staged = false;
	char *tmp = NULL;
	int rc;

	memset(res, 0, sizeof(*res));
	if (!req->dry_run && (!req->output || access(req->output, F_OK) == 0))
		return err_setc(err, ERR_FATAL, ERR_REFUSED, -EEXIST,
				"'%s' exists: merge writes a new file",
				req->output ? req->output : "");
	if (same_file(req->current, req->restored))
		err_setc(warn_slot(res), ERR_WARNING, ERR_NONE, 0, "current and restored are the same file: nothing can change");
	if (!req->dry_run) {
		if (asprintf(&tmp, "%s.sysrecover-merge", req->output) < 0)
			return err_set(err, -ENOMEM, "%s", strerror(ENOMEM));
		unstage(tmp);
		staged = true;
		if ((rc = stage(req->restored, tmp, err)) < 0)
			goto out;
	}
	/* A dry run edits the private copy hive_open makes, never the file. */
	rc = open_and_read(req, tmp ? tmp : req->restored, &hc, &hr, res, err);
	if (rc == 0)
		rc = apply(hc, hr, req, res, err);
	if (rc == 0 && !req->dry_run && (rc = hive_commit(hr, err)) == 0) {
		if (rename(tmp, req->output) < 0)
			rc = err_set(err, -errno, "cannot rename '%s' to '%s': %s",
				     tmp, req->output, strerror(errno));
		else
			staged = false;
	}
out:
	hive_close(hr);
	hive_close(hc);
	if (staged)
		unstage(tmp);
	free(tmp);
	return rc;
}

void hive_merge_result_free(struct hive_merge_result *res)
{
	hive_kntr_results_free(res->res, res->n);
	hive_kntr_rules_free(res->rules, res->n);
	memset(res, 0, sizeof(*res));
}
