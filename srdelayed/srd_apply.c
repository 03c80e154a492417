/* srd_apply.c - run a plan (srd_plan.c) under the journal (srd_journal.c),
 * then finish: statuses into the queue files, RestoreStatus into SOFTWARE,
 * pending renames and our SetupExecute entries out of SYSTEM (srd.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "hive.h"
#include "progress.h"
#include "stop.h"
#include "srd_impl.h"

#define RES(run, i) (&(run)->rep->r[(run)->rbase + (i)])

/* Finishing steps, in order; each is idempotent (a rerun may redo it). */
#define SRD_COMMIT_OPS 256u

enum { STEP_STATUS = 1, STEP_SOFTWARE = 2, STEP_SYSTEM = 3, STEP_CLEANUP = 4 };

uint32_t srd_win32_from_errno(int e)
{
	switch (-e) {
	case 0: return SRD_OK;
	case ENOENT: return SRD_E_FILE_NOT_FOUND;
	case ENOTDIR: return SRD_E_PATH_NOT_FOUND;
	case EACCES: case EPERM: case EISDIR: case EBUSY:
		return SRD_E_ACCESS_DENIED;
	case EXDEV: return SRD_E_NOT_SAME_DEVICE;
	case EROFS: return SRD_E_WRITE_PROTECT;
	case EOPNOTSUPP: return SRD_E_NOT_SUPPORTED;
	case EINVAL: return SRD_E_INVALID_PARAMETER;
	case ENOSPC: case EDQUOT: return SRD_E_DISK_FULL;
	case ENOTEMPTY: return SRD_E_DIR_NOT_EMPTY;
	case EEXIST: return SRD_E_ALREADY_EXISTS;
	case ENAMETOOLONG: return SRD_E_FILENAME_EXCED_RANGE;
	case EIO: return SRD_E_IO_DEVICE;
	default: return SRD_E_GEN_FAILURE;
	}
}

const char *srd_win32_text(uint32_t c)
{
	switch (c) {
	case SRD_OK: return "success";
	case SRD_E_FILE_NOT_FOUND: return "file not found";
	case SRD_E_PATH_NOT_FOUND: return "path not found";
	case SRD_E_ACCESS_DENIED: return "access denied";
	case SRD_E_NOT_SAME_DEVICE: return "not the same volume";
	case SRD_E_WRITE_PROTECT: return "write protected";
	case SRD_E_NOT_SUPPORTED: return "not supported on this volume";
	case SRD_E_INVALID_PARAMETER: return "invalid parameter";
	case SRD_E_DISK_FULL: return "disk full";
	case SRD_E_DIR_NOT_EMPTY: return "directory not empty";
	case SRD_E_ALREADY_EXISTS: return "already exists";
	case SRD_E_FILENAME_EXCED_RANGE: return "name too long";
	case SRD_E_IO_DEVICE: return "I/O error";
	default: return "failed";
	}
}

/* ---- one operation ---------------------------------------------------------- */

struct op_ctx {
	struct fs *fs;
	char *path, *dst;   /* as found on the volume */
	struct err *err;    /* why it failed: an item, the run goes on */
};

/* A failed operation: ERR_ITEM (the run goes on), its Win32 code returned. */
__attribute__((format(printf, 4, 5)))
static uint32_t op_fail(struct op_ctx *c, uint32_t code, int neg_errno,
			const char *fmt, ...)
{
	char m[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	err_setc(c->err, ERR_ITEM, ERR_SYSTEM, neg_errno, "%s", m);
	return code;
}

/* The code for a failed lookup of path: 3 when its directory is missing. */
static uint32_t missing(struct op_ctx *c, const char *path, int rc)
{
	char *dir = strdup(path), *sl = dir ? strrchr(dir, '/') : NULL;
	struct fs_stat st;
	uint32_t code = srd_win32_from_errno(rc);

	if (rc == -ENOENT && sl && sl != dir) {
		*sl = '\0';
		if (fs_lookup(c->fs, dir, &st) < 0 || !S_ISDIR(st.mode))
			code = SRD_E_PATH_NOT_FOUND;
	}
	free(dir);
	return op_fail(c, code, rc, "'%s': %s", path, srd_win32_text(code));
}

static uint32_t said(struct op_ctx *c, int rc)
{
	return op_fail(c, srd_win32_from_errno(rc), rc, "%s", fs_errmsg(c->fs));
}

/* The source was looked up by the caller (*s, or the error in src_rc).
 * The target is left to fs_rename: one lookup less per move matters at
 * 10,000 operations (tests/bench). */
static uint32_t do_move(struct op_ctx *c, const struct srd_plan_op *op,
			const struct fs_stat *s, int src_rc)
{
	int rc;

	if (op->vol != op->dvol) {
		return op_fail(c, SRD_E_NOT_SAME_DEVICE, -EXDEV, "source and "
			       "target are on different volumes");
	}
	if (src_rc < 0)
		return missing(c, c->path, src_rc);
	if (op->files_only && S_ISDIR(s->mode)) {
		return op_fail(c, SRD_E_ACCESS_DENIED, -EISDIR, "'%s' is a "
			       "directory: MoveFile moves files only", c->path);
	}
	rc = fs_rename(c->fs, c->path, c->dst, op->replace ? 0 : FS_RENAME_NOREPLACE);
	if (rc == -EEXIST && !op->replace) {
		return op_fail(c, SRD_E_ALREADY_EXISTS, rc, "'%s' exists (no "
			       "'!': not replaced)", c->dst);
	}
	if (rc == -ENOENT || rc == -ENOTDIR)  /* the source is there: */
		return op_fail(c, SRD_E_PATH_NOT_FOUND, rc, "the directory of "
			       "'%s' does not exist", c->dst);  /* the target's is not */
	return rc < 0 ? said(c, rc) : SRD_OK;
}

static uint32_t do_delete(struct op_ctx *c, const struct fs_stat *s, int src_rc)
{
	int rc;

	if (src_rc < 0)
		return missing(c, c->path, src_rc);
	rc = S_ISDIR(s->mode) ? fs_rmdir(c->fs, c->path) : fs_unlink(c->fs, c->path);
	return rc < 0 ? said(c, rc) : SRD_OK;
}

static uint32_t do_shortname(struct op_ctx *c, const char *name, int src_rc)
{
	char cur[32];
	ssize_t n;
	int rc;

	if (fs_kind(c->fs) != FS_KIND_NTFS) {
		return op_fail(c, SRD_E_NOT_SUPPORTED, -EOPNOTSUPP, "%s volumes "
			       "have no short names", fs_kind_name(fs_kind(c->fs)));
	}
	if (src_rc < 0)
		return missing(c, c->path, src_rc);
	n = fs_shortname_get(c->fs, c->path, cur, sizeof(cur));
	if (n >= 0 && (size_t)n < sizeof(cur)) {
		cur[n] = '\0';
		if (!strcasecmp(cur, name))
			return SRD_OK;  /* it already has it (a rerun) */
	}
	rc = *name ? fs_shortname_set(c->fs, c->path, name)
		   : fs_shortname_remove(c->fs, c->path);
	return rc < 0 ? said(c, rc) : SRD_OK;
}

/* Under way when the last run stopped: did it happen?  The source inode was
 * recorded before it started. */
static bool happened(struct op_ctx *c, const struct srd_plan_op *op,
		     uint64_t ino)
{
	struct fs_stat s, d;

	if (!ino || op->kind == SRD_K_SHORTNAME)
		return false;  /* redoing it is harmless */
	if (fs_lookup(c->fs, c->path, &s) == 0)
		return false;
	return op->kind == SRD_K_DELETE ||
	       (fs_lookup(c->fs, c->dst, &d) == 0 && d.ino == ino);
}

/* ---- the run -------------------------------------------------------------- */

struct apply {
	struct srd_run *run;
	struct srd_journal j;
	bool journal;
	bool same_plan;      /* the journal's slots are this plan's operations */
};

static int jfail(struct apply *a, int rc, const char *what)
{
	struct fs *fs = a->run->vols[a->run->home].fs;

	return err_set(a->run->err, rc, "cannot %s the journal %s on %s: %s",
		       what, SRD_JOURNAL_PATH, fs_name(fs), fs_errmsg(fs));
}

static void set_result(struct srd_run *run, size_t i, uint32_t code,
		       const struct err *why)
{
	struct srd_result *r = RES(run, i);

	r->code = code;
	r->outcome = code ? SRD_FAILED : SRD_DONE;
	if (!code)
		err_clear(&r->err);
	else if (why && err_failed(why))
		err_copy(&r->err, why);
	else  /* from the journal: only the code is left */
		err_setc(&r->err, ERR_ITEM, ERR_SYSTEM, 0, "%s",
			 srd_win32_text(code));
	if (code && run->src[run->ops[i].src].stops &&
	    run->ops[i].kind != SRD_K_SHORTNAME)
		run->src[run->ops[i].src].stopped = true;
}

static int run_op(struct apply *a, size_t i, bool resume)
{
	struct srd_run *run = a->run;
	struct srd_plan_op *op = &run->ops[i];
	struct err why = { 0 };
	struct op_ctx c = { .fs = run->vols[op->vol].fs, .err = &why };
	uint32_t st = SRD_JS_PENDING, code = 0;
	uint64_t ino = 0;
	struct fs_stat s;
	int rc = 0;

	if (a->journal)
		srd_journal_get(&a->j, (uint32_t)i, &st, &code, &ino);
	if (st == SRD_JS_DONE) {
		set_result(run, i, code, NULL);
		return 0;
	}
	c.path = op->ci ? srd_ci_path(c.fs, op->path) : strdup(op->path);
	c.dst = !op->dst ? NULL : op->ci ? srd_ci_path(run->vols[op->dvol].fs,
						       op->dst) : strdup(op->dst);
	if (!c.path || (op->dst && !c.dst)) {
		rc = -ENOMEM;
		goto out;
	}
	if (resume && st == SRD_JS_INTENT && happened(&c, op, ino)) {
		code = SRD_OK;
	} else {
		int src_rc = fs_lookup(c.fs, c.path, &s);

		ino = src_rc == 0 ? s.ino : 0;
		if ((rc = srd_journal_slot(&a->j, (uint32_t)i, SRD_JS_INTENT, 0,
					   ino)) < 0) {
			rc = jfail(a, rc, "write");
			goto out;
		}
		code = op->kind == SRD_K_MOVE ? do_move(&c, op, &s, src_rc) :
		       op->kind == SRD_K_DELETE ? do_delete(&c, &s, src_rc) :
		       do_shortname(&c, op->name, src_rc);
	}
	if ((rc = srd_journal_slot(&a->j, (uint32_t)i, SRD_JS_DONE, code, ino)) < 0)
		rc = jfail(a, rc, "write");
	else
		set_result(run, i, code, &why);
out:
	free(c.path);
	free(c.dst);
	return rc;
}

/* Flush every volume: a commit point.  On process death the disks hold
 * everything up to the last one, journal included, and the next run
 * resumes from there. */
static int commit(struct srd_run *run)
{
	for (size_t v = 0; v < run->nvols; v++) {
		int rc = fs_sync(run->vols[v].fs);

		if (rc < 0)
			return err_set(run->err, rc, "%s", fs_errmsg(run->vols[v].fs));
	}
	return 0;
}

/* SIGINT/SIGTERM before operation i: what was done is committed and
 * journalled, the rest is not reached; the finishing steps (statuses,
 * SYSTEM, removing the journal) are not run, so the next run resumes. */
static int stopped(struct apply *a, size_t i)
{
	struct srd_run *run = a->run;
	size_t done = 0, left = 0;

	for (size_t k = 0; k < run->nops; k++) {
		if (run->ops[k].skip)
			continue;
		if (k < i) {
			done++;
		} else {
			left++;
			RES(run, k)->outcome = SRD_NOT_REACHED;
		}
	}
	return err_setc(run->err, ERR_FATAL, ERR_SYSTEM, -EINTR, "interrupted by %s "
			"after %zu of %zu operations: those are done and in the "
			"journal %s on %s; run apply again to do the other %zu",
			stop_signame(), done, done + left, SRD_JOURNAL_PATH,
			fs_name(run->vols[run->home].fs), left);
}

static int run_ops(struct apply *a, bool resume)
{
	struct srd_run *run = a->run;
	struct progress p;
	uint64_t total = 0;
	unsigned since = 0;
	int rc = 0;

	for (size_t i = 0; i < run->nops; i++)
		total += !run->ops[i].skip;
	progress_start(&p, "srdelayed apply", 0, total,
		       run->o->quiet ? PROGRESS_QUIET : 0);
	for (size_t i = 0; i < run->nops && rc == 0; i++) {
		if (run->ops[i].skip)
			continue;
		if (stop_requested()) {  /* between two operations */
			rc = stopped(a, i);
			break;
		}
		progress_add(&p, 0, 1);
		if (run->src[run->ops[i].src].stopped) {
			RES(run, i)->outcome = SRD_NOT_REACHED;
			continue;
		}
		rc = run_op(a, i, resume);
		/* Often enough that libext2fs's write-back cache never fills
		 * up (and so never writes out half an operation) between two
		 * commit points. */
		if (rc == 0 && ++since == SRD_COMMIT_OPS) {
			rc = commit(run);
			since = 0;
		}
	}
	progress_end(&p);
	if (rc == -EINTR && stop_requested() && commit(run) < 0)
		return err_setc(run->err, ERR_FATAL, ERR_SYSTEM, -EIO, "interrupted "
				"by %s, and the volumes could not be flushed: %s",
				stop_signame(), run->err->msg);
	return rc ? rc : commit(run);
}

/* ---- finishing ------------------------------------------------------------- */

/* Replace a file's bytes: in place when the length is unchanged (the
 * status rewrite always is), else beside it and renamed over. */
static int put_file(struct fs *fs, const char *path, const uint8_t *d,
		    size_t len)
{
	struct fs_stat st;
	struct fs_file *f = NULL;
	char *side = NULL;
	const char *to = path;
	ssize_t n;
	int rc = fs_lookup(fs, path, &st);

	if (rc == 0 && st.size != len) {
		if (asprintf(&side, "%s.sysrecover-new", path) < 0)
			return -ENOMEM;
		to = side;
		rc = fs_unlink(fs, side);
		rc = (rc == 0 || rc == -ENOENT) ? fs_create(fs, side, 0644) : rc;
	}
	if (rc == 0)
		rc = fs_file_open(fs, to, NULL, FS_F_WRITE, &f);
	if (rc == 0 && (n = fs_file_pwrite(f, d, len, 0)) != (ssize_t)len)
		rc = n < 0 ? (int)n : -EIO;
	if (f && fs_file_close(f) < 0 && rc == 0)
		rc = -EIO;
	if (rc == 0 && side)
		rc = fs_rename(fs, side, path, 0);
	if (rc == 0)
		rc = fs_sync(fs);
	free(side);
	return rc;
}

static int finish_statuses(struct srd_run *run)
{
	for (size_t s = 0; s < run->nsrc; s++) {
		struct srd_src *src = &run->src[s];
		struct err we = { 0 };
		uint8_t *out = NULL;
		size_t len = 0;
		bool any = false;
		int rc;

		if (src->kind == SRD_SRC_PFRO)
			continue;
		for (size_t i = 0; i < run->nops; i++) {
			const struct srd_result *r = RES(run, i);

			if (run->ops[i].src != s || (r->outcome != SRD_DONE &&
						     r->outcome != SRD_FAILED))
				continue;
			src->q.rec[run->ops[i].rec].status = SRD_ST_DONE;
			src->q.rec[run->ops[i].rec].sc = r->code;
			any = true;
		}
		if (!any)
			continue;
		rc = srd_write(&src->q, NULL, 0, &out, &len, &we);
		if (rc == 0)
			rc = put_file(run->vols[src->vol].fs, src->path, out, len);
		free(out);
		if (rc < 0)
			return err_set(run->err, rc, "cannot write the statuses "
				       "into %s: %s", src->label, err_failed(&we) ?
				       we.msg : fs_errmsg(run->vols[src->vol].fs));
	}
	return 0;
}

static int finish_software(struct srd_run *run)
{
	struct fs *fs = run->vols[run->home].fs;
	struct hive *h = NULL;
	struct err he = { 0 };
	uint32_t result = 0, failed = 0;
	bool ran = false;
	struct fs_stat st;
	int rc;

	for (size_t i = 0; i < run->nops; i++) {
		const struct srd_result *r = RES(run, i);

		if (run->src[run->ops[i].src].kind != SRD_SRC_SRD)
			continue;
		ran |= r->outcome == SRD_DONE || r->outcome == SRD_FAILED;
		if (r->outcome == SRD_FAILED && !failed++)
			result = r->code;
	}
	if (!ran)
		return 0;
	if (fs_lookup(fs, run->software_path, &st) < 0)
		return srd_note(run->rep, "no SOFTWARE hive at %s: "
				"RestoreStatusResult not written", run->software_path);
	rc = hive_open_fs(fs, run->software_path, HIVE_O_WRITE, &h, &he);
	if (rc == 0 && (rc = hive_restore_status_set(h, result, failed)) < 0)
		err_set(&he, rc, "%s", hive_errmsg(h));
	if (rc == 0)
		rc = hive_commit(h, &he);
	if (h)
		hive_close(h);
	if (rc < 0) {
		err_copy(run->err, &he);
		err_context(run->err, "while writing RestoreStatus");
	}
	return rc < 0 ? rc : 0;
}

/* A native queue that has run is moved aside, statuses and all, as Windows
 * forgets its SetupExecute entry: the next boot must not start again on
 * the records a failure left NotExecuted.  Re-queue them to retry. */
static int retire_native(struct srd_run *run)
{
	for (size_t s = 0; s < run->nsrc; s++) {
		const struct srd_src *src = &run->src[s];
		struct fs *fs;
		int rc;

		if (src->kind != SRD_SRC_NATIVE)
			continue;  /* (pending renames have no volume: vol is -1) */
		fs = run->vols[src->vol].fs;
		rc = fs_rename(fs, src->path, SRD_NATIVE_DONE_PATH, 0);
		if (rc < 0 && rc != -ENOENT)
			return err_set(run->err, rc, "cannot move %s aside: %s",
				       src->label, fs_errmsg(fs));
	}
	return 0;
}

static int finish_system(struct srd_run *run)
{
	struct err he = { 0 };
	char **cmds = NULL, **keep = NULL;
	size_t n = 0, k = 0;
	bool srd = false;
	int rc = 0;

	if ((rc = retire_native(run)) < 0)
		return rc;
	for (size_t s = 0; s < run->nsrc; s++)
		srd |= run->src[s].kind == SRD_SRC_SRD;
	if (!run->system || (!run->pfro && !srd))
		return 0;
	if (run->pfro)
		rc = hive_pending_clear(run->system);
	if (rc == 0 && srd && (rc = hive_setup_execute_get(run->system, &cmds)) == 0) {
		while (cmds[n])
			n++;
		if (!(keep = calloc(n + 1, sizeof(*keep))))
			rc = -ENOMEM;
		for (size_t i = 0; rc == 0 && i < n; i++) {
			bool ours = false;

			for (size_t s = 0; s < run->nsrc; s++)
				ours |= run->src[s].setup_cmd &&
					!strcmp(run->src[s].setup_cmd, cmds[i]);
			if (!ours)
				keep[k++] = cmds[i];
		}
		if (rc == 0)
			rc = hive_setup_execute_set(run->system, keep);
	}
	if (rc < 0)
		err_set(&he, rc, "%s", hive_errmsg(run->system));
	else
		rc = hive_commit(run->system, &he);
	free(keep);
	hive_strv_free(cmds);
	if (rc < 0) {
		err_copy(run->err, &he);
		err_context(run->err, "while updating %s", run->system_path);
	}
	return rc < 0 ? rc : 0;
}

static int finish(struct apply *a, uint32_t from)
{
	static int (*const step[])(struct srd_run *) = {
		[STEP_STATUS] = finish_statuses,
		[STEP_SOFTWARE] = finish_software,
		[STEP_SYSTEM] = finish_system,
	};
	int rc = 0;

	for (uint32_t s = from; s < STEP_CLEANUP && rc == 0; s++) {
		if ((rc = srd_journal_step(&a->j, SRD_J_FINISHING, s)) < 0)
			return jfail(a, rc, "write");
		if ((rc = step[s](a->run)) == 0)
			rc = commit(a->run);
	}
	if (rc == 0 && (rc = srd_journal_remove(&a->j)) < 0)
		rc = jfail(a, rc, "remove");
	return rc ? rc : commit(a->run);
}

/* ---- journal: start or resume ------------------------------------------------ */

static int journal_start(struct apply *a, uint32_t *from)
{
	struct srd_run *run = a->run;
	struct fs *home = run->vols[run->home].fs;
	uint64_t hash = srd_plan_hash(run);
	uint8_t *st;
	int rc = srd_journal_load(home, &a->j);

	*from = 0;
	if (rc < 0)
		return jfail(a, rc, "read");
	if (rc == 0 && run->nsrc == 0)
		return 0;  /* nothing queued, nothing cut off */
	if (rc == 1) {
		bool same = a->j.hash == hash && a->j.nops == run->nops;

		a->journal = true;
		a->same_plan = same;
		run->rep->resumed = true;
		/* Once SYSTEM is being rewritten the queues it named may be
		 * gone: only that step and the cleanup are left to redo. */
		if (a->j.state == SRD_J_FINISHING && a->j.step >= STEP_SYSTEM) {
			*from = a->j.step;
			return 1;
		}
		if (!same)
			return err_setc(run->err, ERR_FATAL, ERR_REFUSED, -ESTALE,
					"%s on %s is from a run that was cut off, "
					"and the queues have changed since: not "
					"resuming.  Check the volume, then remove "
					"the journal to start afresh",
					SRD_JOURNAL_PATH, fs_name(home));
		*from = a->j.state == SRD_J_FINISHING ? a->j.step : 0;
		return 1;
	}
	if (!(st = calloc(run->nops + 1, 1)))
		return -ENOMEM;
	for (size_t i = 0; i < run->nops; i++)
		st[i] = run->ops[i].skip ? SRD_JS_SKIP : SRD_JS_PENDING;
	rc = srd_journal_create(home, hash, (uint32_t)run->nops, st, &a->j);
	free(st);
	if (rc < 0)
		return jfail(a, rc, "create");
	a->journal = a->same_plan = true;
	return 1;
}

/* Outcomes of a plan that is already past its operations.  When the queues
 * it ran are gone (cut off while SYSTEM was rewritten), only the counts
 * are left: the statuses are in the queue files. */
static void results_from_journal(struct apply *a)
{
	struct srd_run *run = a->run;

	for (uint32_t i = 0; !a->same_plan && i < a->j.nops; i++) {
		uint32_t st, code;
		uint64_t ino;

		srd_journal_get(&a->j, i, &st, &code, &ino);
		if (st == SRD_JS_DONE)
			*(code ? &run->rep->prior_failed : &run->rep->prior_done) += 1;
	}
	for (size_t i = 0; a->same_plan && i < run->nops && i < a->j.nops; i++) {
		uint32_t st, code;
		uint64_t ino;

		srd_journal_get(&a->j, (uint32_t)i, &st, &code, &ino);
		if (st == SRD_JS_DONE)
			set_result(run, i, code, NULL);
		else if (st == SRD_JS_PENDING && !run->ops[i].skip)
			RES(run, i)->outcome = SRD_NOT_REACHED;
	}
}

static int apply_plan(struct srd_run *run)
{
	struct apply a = { .run = run };
	uint32_t from = 0;
	int rc;

	if ((rc = journal_start(&a, &from)) <= 0)
		goto out;
	rc = 0;
	if (from == 0) {
		rc = run_ops(&a, run->rep->resumed);
		from = STEP_STATUS;
	} else {
		results_from_journal(&a);
	}
	if (rc == 0)
		rc = finish(&a, from);
out:
	srd_journal_close(&a.j);
	return rc;
}

/* ---- entry ------------------------------------------------------------------ */

static void tally(struct srd_report *rep)
{
	rep->done = rep->prior_done;
	rep->failed = rep->prior_failed;
	rep->not_reached = rep->skipped = 0;
	for (size_t i = 0; i < rep->n; i++) {
		switch (rep->r[i].outcome) {
		case SRD_DONE: rep->done++; break;
		case SRD_FAILED: rep->failed++; break;
		case SRD_NOT_REACHED: rep->not_reached++; break;
		case SRD_SKIPPED: rep->skipped++; break;
		case SRD_PLANNED: break;
		}
	}
}

/* The disks other volumes are looked for on: as given, else the images
 * behind the volumes named (NULL: every block device). */
static char **default_disks(const struct srd_apply_opts *o, size_t *n)
{
	char **d = calloc(o->nvols + 1, sizeof(*d));

	*n = 0;
	for (size_t i = 0; d && i < o->nvols; i++) {
		struct fs_volume v;
		struct err fe;
		struct stat st;

		if (fs_volume_resolve(o->vols[i], NULL, 0, &v, &fe) == 0 &&
		    stat(v.path, &st) == 0 && S_ISREG(st.st_mode))
			d[(*n)++] = strdup(v.path);
	}
	return d;
}

/* Open a candidate volume to look for a queue.  One whose ext journal needs
 * recovery may hold its queue, or a newer one, only in that journal: with
 * --replay-journal the journal is replayed first (as a mount would).  Without,
 * the stale view is looked at (a queue there is refused later, with the
 * advice), and *stale says so, for the report.  < 0: not a candidate. */
static int home_open(const struct srd_apply_opts *o, const struct fs_volume *v,
		     struct fs **fs, bool *stale)
{
	/* fs_volume_list probed the state already */
	*stale = v->state_known && v->state == FS_STATE_NEEDS_RECOVERY;
	if (*stale && o->replay_journal && !o->dry_run) {
		*stale = false;
		return fs_open(v->name, FS_O_REPLAY_JOURNAL, fs, NULL);
	}
	return fs_open(v->name, 0, fs, NULL);
}

/* With no volume named: every ext or NTFS volume on the disks given (every
 * attached block device when none is) that is not mounted and holds a
 * queue, a journal or Windows. */
static int find_homes(const struct srd_apply_opts *o, struct srd_report *rep,
		      char ***homes, size_t *n, struct err *err)
{
	struct fs_volume *v = NULL;
	struct err fe = { 0 };
	size_t nv = 0;

	*n = 0;
	if (fs_volume_list(o->disks, o->ndisks, &v, &nv, &fe) < 0) {
		err_copy(err, &fe);
		return fe.errnum ? -fe.errnum : -EIO;
	}
	*homes = calloc(nv + 1, sizeof(**homes));
	for (size_t i = 0; *homes && i < nv; i++) {
		struct fs *fs = NULL;
		struct fs_stat st;
		bool q, stale;

		if (v[i].mounted || home_open(o, &v[i], &fs, &stale) < 0)
			continue;
		q = fs_lookup(fs, SRD_NATIVE_QUEUE_PATH, &st) == 0 ||
		    fs_lookup(fs, SRD_JOURNAL_PATH, &st) == 0;
		if (!q && fs_kind(fs) == FS_KIND_NTFS) {
			char *p = srd_ci_path(fs, "/Windows/System32/config/SYSTEM");

			q = p && fs_lookup(fs, p, &st) == 0;
			free(p);
		}
		fs_close(fs);
		if (q)
			(*homes)[(*n)++] = strdup(v[i].name);
		else if (stale)
			srd_note(rep, "%s: its journal needs recovery: not looked at%s",
				 v[i].name, o->dry_run ? "" : " (--replay-journal replays it)");
	}
	for (size_t i = 0; *homes && o->ndisks && i < nv; i++)
		if (v[i].mounted)  /* on a disk that was named: say so */
			srd_note(rep, "%s is mounted: not looked at", v[i].name);
	if (*homes && o->ndisks && *n == 0)
		srd_note(rep, "no unmounted volume on the disks given holds a "
			 "queue, a journal or Windows");
	free(v);
	return *homes ? 0 : -ENOMEM;
}

int srd_apply(const struct srd_apply_opts *o, struct srd_report *rep,
	      struct err *err)
{
	struct srd_run run = { .o = o, .rep = rep, .err = err };
	char **disks = NULL, **homes = NULL;
	size_t nd = 0, nh = 0;
	int rc = 0, worst = 0;

	memset(rep, 0, sizeof(*rep));
	err_clear(err);
	if (o->nvols == 0 && (rc = find_homes(o, rep, &homes, &nh, err)) < 0)
		return rc;
	if (o->ndisks) {
		run.disks = o->disks, run.ndisks = o->ndisks;
	} else if ((disks = default_disks(o, &nd)) != NULL) {
		run.disks = (const char *const *)disks, run.ndisks = nd;
	}
	for (size_t i = 0; i < (o->nvols ? o->nvols : nh) && rc >= 0; i++) {
		const char *home = o->nvols ? o->vols[i] : homes[i];

		rc = srd_plan(&run, home);
		if (rc == 0 && !o->dry_run)
			rc = apply_plan(&run);
		if (rc == 0 && run.nsrc == 0 && !rep->resumed)
			rc = srd_note(rep, "%s: nothing queued", home);
		srd_plan_free(&run);
	}
	tally(rep);
	worst = rc < 0 ? rc : rep->failed ? 1 : 0;
	if (rc < 0 && !err_failed(err))
		err_set(err, rc, "%s", strerror(-rc));
	else if (worst == 1)
		err_setc(err, ERR_ITEM, ERR_SYSTEM, 0, "%zu operation%s failed",
			 rep->failed, rep->failed == 1 ? "" : "s");
	for (size_t i = 0; disks && disks[i]; i++)
		free(disks[i]);
	for (size_t i = 0; homes && homes[i]; i++)
		free(homes[i]);
	free(disks);
	free(homes);
	return worst;
}

void srd_report_free(struct srd_report *rep)
{
	for (size_t i = 0; i < rep->n; i++) {
		free(rep->r[i].source);
		free(rep->r[i].path);
		free(rep->r[i].target);
		free(rep->r[i].arg);
		free(rep->r[i].where);
	}
	for (size_t i = 0; i < rep->nnotes; i++)
		free(rep->notes[i]);
	free(rep->r);
	free(rep->notes);
	memset(rep, 0, sizeof(*rep));
}
