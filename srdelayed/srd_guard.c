/* srd_guard.c - the last check of a plan before anything changes: no
 * operation may move, delete or replace a file the run itself depends on to
 * be crash-safe (srd.h, "Crash safety"):
 *   - a queue being run (the native queue, an srdelayed input file named by
 *     SetupExecute, on whichever volume it is),
 *   - the journal SRD_JOURNAL_PATH,
 *   - the applied queue SRD_NATIVE_DONE_PATH (where a run moves its queue),
 * and the native queue and journal of every other volume of the plan, nor a
 * directory that holds one of them.  Such a plan is refused (ERR_REFUSED)
 * with the record named; nothing has been changed.
 *
 * Paths are compared as the volume resolves them: already normalised (no
 * ".", "..", empty components), component by component, ignoring case on
 * NTFS and for Windows paths (looked up case-insensitively); on NTFS a name
 * that could be another spelling of a protected one (the same name in
 * another case, or an 8.3 short name: it holds '~') is also looked up and
 * compared by inode.  ext paths name exactly one object each (nothing
 * follows symlinks, fs.h), so the string is the identity there. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hive.h"
#include "srd_impl.h"

#define RES(run, i) (&(run)->rep->r[(run)->rbase + (i)])

struct guarded {
	int vol;
	char *path;            /* as it is on the volume (srd_ci_path) */
	const char *what;      /* "the queue being run", ... */
	uint64_t ino[8];       /* the file and its directories, when they exist */
	size_t nino;
	bool file_ino;         /* ino[0] is the file's own */
};

struct guard {
	struct srd_run *run;
	struct guarded *g;
	size_t n, cap;
};

static int guard_add(struct guard *gd, int vol, const char *path,
		     const char *what)
{
	struct fs *fs = gd->run->vols[vol].fs;
	struct guarded *g;
	void *ng;
	char *p;

	for (size_t i = 0; i < gd->n; i++)
		if (gd->g[i].vol == vol && !strcmp(gd->g[i].path, path))
			return 0;
	ng = gd->g;
	if (buf_grow(&ng, &gd->cap, gd->n + 1, sizeof(*gd->g)) < 0)
		return -ENOMEM;
	gd->g = ng;
	g = &gd->g[gd->n];
	memset(g, 0, sizeof(*g));
	g->vol = vol;
	g->what = what;
	if (!(g->path = srd_ci_path(fs, path)))
		return -ENOMEM;
	gd->n++;
	if (fs_kind(fs) != FS_KIND_NTFS)
		return 0;
	/* Inodes of the file and each directory above it (not the root). */
	if (!(p = strdup(g->path)))
		return -ENOMEM;
	for (char *sl; *p && g->nino < 8; ) {
		struct fs_stat st;

		if (fs_lookup(fs, p, &st) == 0) {
			g->file_ino |= !strcmp(p, g->path);
			g->ino[g->nino++] = st.ino;
		}
		if (!(sl = strrchr(p, '/')) || sl == p)
			break;
		*sl = '\0';
	}
	free(p);
	return 0;
}

/* One component of a, n bytes, against one of b, m bytes. */
static bool comp_eq(const char *a, size_t n, const char *b, size_t m, bool ci)
{
	char x[256], y[256];

	if (!ci)
		return n == m && !memcmp(a, b, n);
	if (n >= sizeof(x) || m >= sizeof(y))
		return false;
	memcpy(x, a, n), x[n] = '\0';
	memcpy(y, b, m), y[m] = '\0';
	return hive_name_casecmp(x, y) == 0;
}

/* x is p, or a directory above it. */
static bool within(const char *x, const char *p, bool ci)
{
	if (!ci) {
		size_t n = strlen(x);

		return !strncmp(x, p, n) && (p[n] == '\0' || p[n] == '/');
	}
	while (*x == '/' && *p == '/') {
		size_t n = strcspn(x + 1, "/"), m = strcspn(p + 1, "/");

		if (!comp_eq(x + 1, n, p + 1, m, true))
			return false;
		x += n + 1, p += m + 1;
	}
	return *x == '\0';
}

/* Could the last name of x be another spelling of a name in g's path? */
static bool may_alias(const char *x, const struct guarded *g)
{
	const char *base = strrchr(x, '/') ? strrchr(x, '/') + 1 : x;
	const char *p = g->path;

	if (strchr(base, '~'))
		return true;
	while (*p == '/') {
		size_t m = strcspn(p + 1, "/");

		if (comp_eq(base, strlen(base), p + 1, m, true))
			return true;
		p += m + 1;
	}
	return false;
}

/* The guarded entry path x on vol hits, or NULL; *self: x is that file,
 * not a directory above it. */
static const struct guarded *hit(struct guard *gd, int vol, const char *x,
				 bool ci, bool *self)
{
	struct fs *fs = gd->run->vols[vol].fs;
	bool ntfs = fs_kind(fs) == FS_KIND_NTFS;

	for (size_t i = 0; i < gd->n; i++) {
		const struct guarded *g = &gd->g[i];
		struct fs_stat st;

		if (g->vol != vol)
			continue;
		if (within(x, g->path, ci || ntfs)) {
			*self = within(g->path, x, ci || ntfs);
			return g;
		}
		if (!ntfs || !g->nino || !may_alias(x, g) ||
		    fs_lookup(fs, x, &st) < 0)
			continue;
		for (size_t k = 0; k < g->nino; k++) {
			if (st.ino == g->ino[k]) {
				*self = k == 0 && g->file_ino;
				return g;
			}
		}
	}
	return NULL;
}

static int refuse(struct srd_run *run, size_t i, const char *how,
		  bool self, const struct guarded *g)
{
	const struct srd_result *r = RES(run, i);
	const char *name = fs_name(run->vols[g->vol].fs);

	return err_setc(run->err, ERR_FATAL, ERR_REFUSED, -EPERM,
			"%s %s %zu (%s %s): %s %s%s, %s:%s: a run cannot "
			"be made crash-safe when it changes its own queue or "
			"journal; refused, nothing was applied", r->source,
			run->src[run->ops[i].src].kind == SRD_SRC_PFRO ? "pair" :
			"record", r->index, r->op, r->path, how, self ? "" :
			"a directory holding ", g->what, name, g->path);
}

static int check_ops(struct guard *gd)
{
	struct srd_run *run = gd->run;

	for (size_t i = 0; i < run->nops; i++) {
		const struct srd_plan_op *op = &run->ops[i];
		const struct guarded *g;
		bool self = false;

		if (op->skip || op->kind == SRD_K_SHORTNAME)
			continue;  /* ran before / changes no name */
		if ((g = hit(gd, op->vol, op->path, op->ci, &self)) != NULL)
			return refuse(run, i, op->kind == SRD_K_DELETE ?
				      "it deletes" : "it moves", self, g);
		if (op->kind == SRD_K_MOVE &&
		    (g = hit(gd, op->dvol, op->dst, op->ci, &self)) != NULL)
			return refuse(run, i, "its target replaces", self, g);
	}
	return 0;
}

int srd_plan_guard(struct srd_run *run)
{
	struct guard gd = { .run = run };
	int rc = 0;

	if (run->nops == 0)
		return 0;
	for (size_t s = 0; s < run->nsrc && rc == 0; s++)
		if (run->src[s].vol >= 0 && run->src[s].path)
			rc = guard_add(&gd, run->src[s].vol, run->src[s].path,
				       "the queue being run");
	for (size_t v = 0; v < run->nvols && rc == 0; v++) {
		rc = guard_add(&gd, (int)v, SRD_JOURNAL_PATH, "the apply journal");
		if (rc == 0)
			rc = guard_add(&gd, (int)v, SRD_NATIVE_QUEUE_PATH,
				       "the native queue");
		if (rc == 0)
			rc = guard_add(&gd, (int)v, SRD_NATIVE_DONE_PATH,
				       "the applied queue");
	}
	if (rc == 0)
		rc = check_ops(&gd);
	else
		err_set(run->err, rc, "%s", strerror(-rc));
	for (size_t i = 0; i < gd.n; i++)
		free(gd.g[i].path);
	free(gd.g);
	return rc;
}
