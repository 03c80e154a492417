/* hive_ops.c - whole operations on hive files (info, pending, LastRestoreId, MountedDevices, FilesNotToBackup) for the CLI and restores. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "hive.h"

/* An open hive and the volume it lives in (NULL for a host file). */
struct target {
	struct fs *fs;
	struct hive *h;
};

static void open_warning(struct hive *h, const char *name, struct err *warn)
{
	err_clear(warn);
	if (*hive_warning(h))
		err_setc(warn, ERR_WARNING, ERR_CORRUPT, 0, "%s: %s", name,
			 hive_warning(h));
}

static int target_open(const struct hive_target *t, bool write,
		       struct target *o, struct err *warn, struct err *err)
{
	unsigned fl = (write ? HIVE_O_WRITE : 0) | (t->backup ? HIVE_O_BACKUP : 0);
	int rc;

	memset(o, 0, sizeof(*o));
	if (t->volume) {
		rc = fs_open(t->volume, write ? FS_O_RDWR : 0, &o->fs, err);
		if (rc < 0)
			return rc;
		rc = hive_open_fs(o->fs, t->path, fl, &o->h, err);
	} else {
		rc = hive_open(t->path, fl, &o->h, err);
	}
	if (rc < 0) {
		if (o->fs)
			fs_close(o->fs);
		o->fs = NULL;
		return rc;
	}
	open_warning(o->h, hive_name(o->h), warn);
	return 0;
}

/* Close both; a volume that does not flush is the call's failure. */
static int target_close(struct target *o, int rc, struct err *err)
{
	hive_close(o->h);
	/* fs_close frees the handle, and its message with it. */
	if (o->fs && fs_close(o->fs) < 0 && rc == 0)
		rc = err_set(err, -EIO, "cannot close volume: %s", strerror(EIO));
	memset(o, 0, sizeof(*o));
	return rc;
}

/* ---- info ------------------------------------------------------------- */

static int count_cb(void *arg, const char *name, hive_key k)
{
	(void)name, (void)k;
	(*(unsigned *)arg)++;
	return 0;
}

int hive_summarize(const struct hive_target *t, struct hive_summary *s,
		   struct err *err)
{
	struct target o;
	hive_key root;
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = target_open(t, false, &o, &s->warn, err)) < 0)
		return rc;
	s->info = *hive_info(o.h);
	s->kind = hive_kind(o.h, s->hint, sizeof(s->hint));
	if (!(s->name = strdup(hive_name(o.h))))
		rc = err_set(err, -ENOMEM, "%s", strerror(ENOMEM));
	if (rc == 0 && hive_root(o.h, &root) == 0)
		hive_children(o.h, root, count_cb, &s->root_keys);
	s->ccs_ok = hive_ccs(o.h, &s->current, &s->def) == 0;
	if (!s->ccs_ok)
		err_copy(&s->ccs_err, hive_error(o.h));
	return target_close(&o, rc, err);
}

void hive_summary_free(struct hive_summary *s)
{
	free(s->name);
	s->name = NULL;
}

/* ---- pending ---------------------------------------------------------- */

static int from_handle(struct hive *h, int rc, struct err *err)
{
	if (err_failed(hive_error(h)))
		err_copy(err, hive_error(h));
	else
		err_set(err, rc, "%s: %s", hive_name(h), strerror(-rc));
	return rc;
}

int hive_pending_report(const struct hive_target *t, bool clear,
			struct hive_pending_report *r, struct err *err)
{
	struct target o;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = target_open(t, clear, &o, &r->warn, err)) < 0)
		return rc;
	if ((rc = hive_require_kind(o.h, HIVE_KIND_SYSTEM, "pending renames "
				    "and SetupExecute live in SYSTEM", err)) < 0)
		return target_close(&o, rc, err);
	if (!(r->name = strdup(hive_name(o.h))))
		rc = err_set(err, -ENOMEM, "%s", strerror(ENOMEM));
	if (rc == 0 && (rc = hive_pending_read(o.h, &r->list)) == 0 &&
	    (rc = hive_setup_execute_get(o.h, &r->setup_execute)) < 0)
		hive_pending_free(&r->list);
	if (rc < 0 && !err_failed(err)) {
		from_handle(o.h, rc, err);
		return target_close(&o, rc, err);
	}
	r->read = rc == 0;
	if (rc == 0 && clear) {
		if ((rc = hive_pending_clear(o.h)) < 0)
			from_handle(o.h, rc, err);
		else
			rc = hive_commit(o.h, err);
	}
	return target_close(&o, rc, err);
}

void hive_pending_report_free(struct hive_pending_report *r)
{
	if (r->read)
		hive_pending_free(&r->list);
	hive_strv_free(r->setup_execute);
	free(r->name);
	memset(r, 0, sizeof(*r));
}

/* ---- LastRestoreId ---------------------------------------------------- */

int hive_new_restore_id(const struct hive_target *t, char guid[39],
			struct err *warn, struct err *err)
{
	struct err w = { 0 };
	struct target o;
	int rc = target_open(t, true, &o, warn ? warn : &w, err);

	if (rc < 0)
		return rc;
	if ((rc = hive_require_kind(o.h, HIVE_KIND_SYSTEM, "LastRestoreId "
				    "lives in SYSTEM", err)) < 0)
		return target_close(&o, rc, err);
	if ((rc = hive_set_last_restore_id(o.h, guid)) < 0)
		from_handle(o.h, rc, err);
	else
		rc = hive_commit(o.h, err);
	return target_close(&o, rc, err);
}

/* ---- MountedDevices --------------------------------------------------- */

static void md_query(struct hive_md_report *r, struct hive_md_query *q,
		     const char *const *disks, size_t ndisks)
{
	struct err rerr = { 0 };

	q->entry = hive_md_find(r->e, r->n, q->name);
	if (!q->entry) {
		err_set(&q->err, -ENOENT, "%s: no such value in MountedDevices",
			q->name);
		return;
	}
	q->vol = calloc(1, sizeof(*q->vol));
	if (!q->vol) {
		err_set(&q->err, -ENOMEM, "%s: %s", q->name, strerror(ENOMEM));
		return;
	}
	if (hive_md_resolve(&q->entry->v, disks, ndisks, q->vol, &rerr) < 0) {
		err_setc(&q->err, rerr.level, rerr.code, -rerr.errnum, "%s: %s",
			 q->name, rerr.msg);
		free(q->vol);
		q->vol = NULL;
	}
}

int hive_md_report(const struct hive_target *t, const char *const *names,
		   size_t nnames, const char *const *disks, size_t ndisks,
		   struct hive_md_report *r, struct err *err)
{
	struct target o;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = target_open(t, false, &o, &r->warn, err)) < 0)
		return rc;
	rc = hive_require_kind(o.h, HIVE_KIND_SYSTEM, "MountedDevices lives in "
			       "SYSTEM", err);
	if (rc == 0)
		rc = hive_md_read(o.h, &r->e, &r->n, err);
	if ((rc = target_close(&o, rc, err)) < 0)
		return rc;
	if (nnames && !(r->q = calloc(nnames, sizeof(*r->q))))
		return err_set(err, -ENOMEM, "%s", strerror(ENOMEM));
	for (r->nq = 0; r->nq < nnames; r->nq++) {
		r->q[r->nq].name = names[r->nq];
		md_query(r, &r->q[r->nq], disks, ndisks);
	}
	return 0;
}

void hive_md_report_free(struct hive_md_report *r)
{
	for (size_t i = 0; i < r->nq; i++)
		free(r->q[i].vol);
	free(r->q);
	hive_md_free(r->e, r->n);
	memset(r, 0, sizeof(*r));
}

/* ---- FilesNotToBackup ------------------------------------------------- */

int hive_fntb_load_files(const struct hive_target *system, const char *software,
			 struct hive_fntb **out, struct err *err)
{
	struct target o;
	struct hive *sw = NULL;
	struct err warn = { 0 };
	int rc;

	*out = NULL;
	if ((rc = target_open(system, false, &o, &warn, err)) < 0)
		return rc;  /* (a degraded open is not reported here, as before) */
	rc = hive_require_kind(o.h, HIVE_KIND_SYSTEM, "FilesNotToBackup lives "
			       "in SYSTEM", err);
	if (rc == 0 && software)
		rc = o.fs ? hive_open_fs(o.fs, software, 0, &sw, err)
			  : hive_open(software, 0, &sw, err);
	if (rc == 0 && sw)
		rc = hive_require_kind(sw, HIVE_KIND_SOFTWARE, "--software "
				       "takes the SOFTWARE hive (for "
				       "%SystemRoot%)", err);
	if (rc == 0)
		rc = hive_fntb_load(o.h, sw, out, err);
	hive_close(sw);
	return target_close(&o, rc, err);
}
