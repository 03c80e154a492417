/* srd_plan.c - everything srd_apply does before its first change: read the
 * queues of a volume (pending renames, SetupExecute's srdelayed files, the
 * native queue), normalise every path and find and open every volume they
 * name.  Any failure here leaves every volume as it was (srd.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "buf.h"
#include "err.h"
#include "hive.h"
#include "srd_impl.h"

#define SYSTEM_HIVE "/Windows/System32/config/SYSTEM"
#define SOFTWARE_HIVE "/Windows/System32/config/SOFTWARE"

/* ---- small shared helpers ------------------------------------------------- */

int srd_note(struct srd_report *rep, const char *fmt, ...)
{
	void *n = rep->notes;
	va_list ap;
	int rc;

	if (buf_grow(&n, &rep->cap_notes, rep->nnotes + 1, sizeof(*rep->notes)) < 0)
		return -ENOMEM;
	rep->notes = n;
	va_start(ap, fmt);
	rc = vasprintf(&rep->notes[rep->nnotes], fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -ENOMEM;
	rep->nnotes++;
	return 0;
}

int srd_report_add(struct srd_report *rep, struct srd_result *r)
{
	void *a = rep->r;

	if (buf_grow(&a, &rep->cap_r, rep->n + 1, sizeof(*rep->r)) < 0)
		return -ENOMEM;
	rep->r = a;
	rep->r[rep->n++] = *r;
	return 0;
}

struct ci_find {
	const char *want;
	char *found;
};

static int ci_cb(void *arg, const char *name, const struct fs_stat *st)
{
	struct ci_find *c = arg;

	(void)st;
	if (hive_name_casecmp(name, c->want) != 0)
		return 0;
	c->found = strdup(name);
	return 1;
}

char *srd_ci_path(struct fs *fs, const char *path)
{
	struct fs_stat st;
	size_t cap = strlen(path) * 4 + 2, n = 0;
	char *out = malloc(cap), *comp = NULL;
	const char *p = path;
	bool exact = false;

	if (!out)
		return NULL;
	out[0] = '\0';
	if (fs_lookup(fs, path, &st) == 0)
		exact = true;
	while (!exact && *p) {
		const char *e;
		struct ci_find c = { 0 };

		while (*p == '/')
			p++;
		e = strchrnul(p, '/');
		if (e == p)
			break;
		free(comp);
		comp = strndup(p, (size_t)(e - p));
		if (!comp)
			break;
		c.want = comp;
		snprintf(out + n, cap - n, "/%s", comp);
		if (fs_lookup(fs, out, &st) != 0) {
			out[n] = '\0';
			fs_readdir(fs, n ? out : "/", ci_cb, &c);
			if (!c.found) {  /* missing from here on: keep as given */
				snprintf(out + n, cap - n, "%s", p - 1);
				break;
			}
			snprintf(out + n, cap - n, "/%s", c.found);
			free(c.found);
		}
		n = strlen(out);
		p = e;
	}
	free(comp);
	if (exact)
		snprintf(out, cap, "%s", path);
	return out;
}

/* ---- volumes ------------------------------------------------------------- */

/* A volume refused for read-write only because an earlier run of ours was
 * cut off (fs marks a volume not cleanly closed while it writes), and that
 * carries our journal: the journal knows how far that run got, so this run
 * may finish it.  Any other reason for the refusal (mounted, errors, a
 * journal to replay, hibernated) still stops the run. */
static bool vol_resumable(const char *name)
{
	enum fs_state st;
	struct fs_stat sst;
	struct fs *fs;
	bool found;

	if (fs_state(name, &st, NULL) < 0 || st != FS_STATE_UNCLEAN)
		return false;
	if (fs_open(name, 0, &fs, NULL) < 0)
		return false;
	found = fs_lookup(fs, SRD_JOURNAL_PATH, &sst) == 0;
	fs_close(fs);
	return found;
}

static int vol_add(struct srd_run *run, const struct fs_volume *v)
{
	void *nv;
	struct err fe = { 0 };
	unsigned fl = run->o->dry_run ? 0 : FS_O_RDWR;
	int rc;

	if (fl && run->o->replay_journal)
		fl |= FS_O_REPLAY_JOURNAL;

	for (size_t i = 0; i < run->nvols; i++)
		if (!strcmp(run->vols[i].v.path, v->path) &&
		    run->vols[i].v.offset == v->offset)
			return (int)i;
	nv = run->vols;
	if (buf_grow(&nv, &run->cap_vols, run->nvols + 1, sizeof(*run->vols)) < 0)
		return -ENOMEM;
	run->vols = nv;
	run->vols[run->nvols].v = *v;
	rc = fs_open(v->name, fl, &run->vols[run->nvols].fs, &fe);
	if (rc < 0 && fl && vol_resumable(v->name)) {
		rc = fs_open(v->name, fl | FS_O_ACCEPT_UNCLEAN,
			     &run->vols[run->nvols].fs, &fe);
		if (rc == 0)
			srd_note(run->rep, "%s: an interrupted run is finished from its "
				 "journal; the volume stays marked not cleanly closed "
				 "until it is checked (e2fsck -f, or chkdsk on Windows)",
				 v->name);
	}
	if (rc < 0) {
		err_copy(run->err, &fe);  /* ERR_REFUSED: mounted, hibernated */
		return rc;
	}
	return (int)run->nvols++;
}

static int vol_spec(struct srd_run *run, const char *spec)
{
	struct fs_volume v;
	struct err fe = { 0 };

	if (fs_volume_resolve(spec, run->disks, run->ndisks, &v, &fe) < 0)
		return err_set(run->err, -ENODEV, "volume %s is not attached: %s",
			       spec, fe.msg);
	return vol_add(run, &v);
}

/* "C:" or "Volume{...}" through MountedDevices, then libblkid. */
static int vol_mounted(struct srd_run *run, const char *name)
{
	const struct hive_md_entry *e;
	struct fs_volume v;
	struct err he = { 0 };

	if (!run->system)
		return err_set(run->err, -EINVAL, "%s names a Windows volume, but"
			       " there is no SYSTEM hive to find it with", name);
	e = hive_md_find(run->md, run->nmd, name);
	if (!e)
		return err_set(run->err, -ENODEV, "%s is not in MountedDevices "
			       "of %s: the volume is not known to that Windows",
			       name, run->system_path);
	if (e->v.kind != HIVE_MD_MBR && e->v.kind != HIVE_MD_GPT)
		return err_set(run->err, -ENODEV, "%s is not a disk partition "
			       "(MountedDevices: %s)", name, e->v.text);
	if (hive_md_resolve(&e->v, run->disks, run->ndisks, &v, &he) < 0)
		return err_set(run->err, -ENODEV, "volume %s (%s) is not "
			       "attached: %s", name, e->v.text, he.msg);
	return vol_add(run, &v);
}

/* The volume a normalised path lives on, resolved once per designator. */
static int vol_of(struct srd_run *run, const struct srd_path *p, int self)
{
	char key[64];
	int v;

	switch (p->vol) {
	case SRD_VOL_SELF:
		return self;
	case SRD_VOL_DRIVE:
		snprintf(key, sizeof(key), "%c:", p->drive);
		break;
	case SRD_VOL_GUID:
		snprintf(key, sizeof(key), "Volume%s", p->volume);
		break;
	default:
		snprintf(key, sizeof(key), "%s", p->volume);
		break;
	}
	for (size_t i = 0; i < run->nrcache; i++)
		if (!strcmp(run->rcache[i].key, key))
			return run->rcache[i].vol;
	v = p->vol == SRD_VOL_SPEC ? vol_spec(run, p->volume)
				   : vol_mounted(run, key);
	if (v >= 0) {
		void *c = run->rcache;

		if (buf_grow(&c, &run->cap_rcache, run->nrcache + 1,
			     sizeof(*run->rcache)) < 0)
			return -ENOMEM;
		run->rcache = c;
		snprintf(run->rcache[run->nrcache].key, sizeof(key), "%s", key);
		run->rcache[run->nrcache++].vol = v;
	}
	return v;
}

/* ---- building the plan --------------------------------------------------- */

static int src_add(struct srd_run *run, enum srd_src_kind kind,
		   const char *label)
{
	void *v = run->src;
	struct srd_src *s;

	if (buf_grow(&v, &run->cap_src, run->nsrc + 1, sizeof(*run->src)) < 0)
		return -ENOMEM;
	run->src = v;
	s = run->src + run->nsrc;
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->vol = -1;
	s->stops = kind != SRD_SRC_PFRO;
	if (!(s->label = strdup(label)))
		return -ENOMEM;
	return (int)run->nsrc++;
}

/* One operation and its line in the report. */
static int op_add(struct srd_run *run, const struct srd_plan_op *op,
		  const char *opname, const char *path, const char *target,
		  const char *arg)
{
	void *o = run->ops;
	struct srd_result r = { 0 };
	const struct srd_volref *v = &run->vols[op->vol];

	if (buf_grow(&o, &run->cap_ops, run->nops + 1, sizeof(*run->ops)) < 0)
		return -ENOMEM;
	run->ops = o;
	run->ops[run->nops++] = *op;
	r.source = strdup(run->src[op->src].label);
	r.index = op->rec + 1;
	r.op = opname;
	r.path = strdup(path);
	r.target = target ? strdup(target) : NULL;
	r.arg = arg ? strdup(arg) : NULL;
	r.outcome = op->skip ? SRD_SKIPPED : SRD_PLANNED;
	if (asprintf(&r.where, "%s:%s", v->v.name, op->path) < 0)
		r.where = NULL;
	if (!r.source || !r.path || !r.where)
		return -ENOMEM;
	return srd_report_add(run->rep, &r);
}

static int pfro_path(struct srd_run *run, const char *label, size_t pair,
		     const char *s, struct srd_path *p, int *vol)
{
	char why[200];
	int rc = srd_path_nt(s, 0, p, why, sizeof(why));

	if (rc < 0)
		return rc == -ENOMEM ? rc : err_setc(run->err, ERR_FATAL,
			ERR_CORRUPT, rc, "%s pair %zu: '%s': %s", label, pair, s, why);
	*vol = vol_of(run, p, run->home);
	if (*vol < 0)
		err_context(run->err, "in %s pair %zu", label, pair);
	return *vol < 0 ? *vol : 0;
}

static int plan_pfro(struct srd_run *run)
{
	struct hive_pending_list l = { 0 };
	int rc = hive_pending_read(run->system, &l), s[2] = { -1, -1 };

	if (rc < 0)
		return err_set(run->err, rc, "cannot read pending renames in %s: "
			       "%s", run->system_path, hive_errmsg(run->system));
	if (l.malformed) {
		rc = err_setc(run->err, ERR_FATAL, ERR_CORRUPT, -EINVAL, "%s: "
			      "PendingFileRenameOperations ends with a source "
			      "that has no target: the value is damaged; nothing "
			      "was applied", run->system_path);
		goto out;
	}
	run->pfro = l.n > 0;
	for (size_t i = 0, pair[2] = { 0, 0 }; i < l.n && rc >= 0; i++) {
		const struct hive_pending *h = &l.ops[i];
		int w = (h->flags & HIVE_PEND_F_VALUE2) ? 1 : 0;
		struct srd_plan_op op = { 0 };
		struct srd_path sp = { 0 }, dp = { 0 };
		static const char *const name[2] = {
			"PendingFileRenameOperations", "PendingFileRenameOperations2" };

		if (s[w] < 0 && (rc = s[w] = src_add(run, SRD_SRC_PFRO, name[w])) < 0)
			break;
		op.src = (size_t)s[w], op.rec = pair[w]++, op.ci = true;
		op.kind = h->op == HIVE_PEND_DELETE ? SRD_K_DELETE : SRD_K_MOVE;
		op.replace = h->op == HIVE_PEND_REPLACE;
		rc = pfro_path(run, name[w], op.rec + 1, h->src, &sp, &op.vol);
		if (rc == 0 && op.kind == SRD_K_MOVE)
			rc = pfro_path(run, name[w], op.rec + 1, h->dst, &dp, &op.dvol);
		if (rc == 0 && (!(op.path = strdup(sp.path)) ||
				(dp.path && !(op.dst = strdup(dp.path)))))
			rc = -ENOMEM;
		if (rc == 0)
			rc = op_add(run, &op, h->op == HIVE_PEND_DELETE ? "delete" :
				    op.replace ? "replace" : "rename", h->raw_src,
				    op.kind == SRD_K_MOVE ? h->raw_dst : NULL, NULL);
		srd_path_free(&sp);
		srd_path_free(&dp);
	}
out:
	hive_pending_free(&l);
	return rc < 0 ? rc : 0;
}

/* Records of a parsed queue into operations. */
static int plan_queue(struct srd_run *run, int si, bool ci)
{
	struct srd_src *s = &run->src[si];

	for (size_t i = 0; i < s->q.n; i++) {
		const struct srd_record *r = &s->q.rec[i];
		struct srd_plan_op op = { .src = (size_t)si, .rec = i, .ci = ci };
		int rc;

		op.kind = r->op == SRD_OP_MOVE ? SRD_K_MOVE : r->op == SRD_OP_DELETE
			  ? SRD_K_DELETE : SRD_K_SHORTNAME;
		op.replace = op.files_only = op.kind == SRD_K_MOVE;
		op.skip = r->status != SRD_ST_NOT_EXECUTED;
		op.vol = vol_of(run, &r->path, run->src[si].vol);
		if (op.kind == SRD_K_MOVE && op.vol >= 0)
			op.dvol = vol_of(run, &r->dst, run->src[si].vol);
		if (op.vol < 0 || (op.kind == SRD_K_MOVE && op.dvol < 0)) {
			err_context(run->err, "in %s record %zu",
				    run->src[si].label, i + 1);
			return op.vol < 0 ? op.vol : op.dvol;
		}
		s = &run->src[si];  /* vol_of may not move it, but be plain */
		if (!(op.path = strdup(r->path.path)) ||
		    (op.kind == SRD_K_MOVE && !(op.dst = strdup(r->dst.path))) ||
		    (op.kind == SRD_K_SHORTNAME && !(op.name = strdup(r->arg))))
			return -ENOMEM;
		rc = op_add(run, &op, srd_op_name(r->op), r->field[op.kind ==
			    SRD_K_MOVE ? 1 : 2], op.kind == SRD_K_MOVE ?
			    r->field[2] : NULL, op.kind == SRD_K_SHORTNAME ?
			    r->arg : NULL);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int read_queue(struct srd_run *run, int si, enum srd_form form)
{
	struct srd_src *s = &run->src[si];
	struct fs *fs = run->vols[s->vol].fs;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = fs_read_file(fs, s->path, SRD_MAX_BYTES, &buf, &len);

	if (rc < 0)
		return err_set(run->err, rc, "cannot read %s (%s:%s): %s", s->label,
			       fs_name(fs), s->path, fs_errmsg(fs));
	rc = srd_parse(buf, len, form, &s->q, NULL, run->err);
	free(buf);
	if (rc < 0)
		err_context(run->err, "in %s; nothing was applied", s->label);
	return rc;
}

/* "C:\Windows\System32\srdelayed.exe \??\C:\temp\Ops": the input file when
 * the program is srdelayed, NULL (and 0) otherwise. */
static int setup_arg(const char *cmd, const char **arg)
{
	const char *p = cmd, *prog, *end, *base;
	bool quoted = *p == '"';

	*arg = NULL;
	prog = quoted ? p + 1 : p;
	end = quoted ? strchr(prog, '"') : prog + strcspn(prog, " \t");
	if (!end)
		return 0;
	base = end;
	while (base > prog && base[-1] != '\\' && base[-1] != '/')
		base--;
	if (!((end - base == 13 && !strncasecmp(base, "srdelayed.exe", 13)) ||
	      (end - base == 9 && !strncasecmp(base, "srdelayed", 9))))
		return 0;
	p = end + quoted;
	p += strspn(p, " \t");
	*arg = p;
	return 1;
}

static int plan_setup(struct srd_run *run)
{
	char **cmds = NULL;
	int rc = hive_setup_execute_get(run->system, &cmds);

	if (rc < 0)
		return err_set(run->err, rc, "cannot read SetupExecute in %s: %s",
			       run->system_path, hive_errmsg(run->system));
	for (size_t i = 0; cmds[i] && rc >= 0; i++) {
		const char *arg;
		struct srd_path p = { 0 };
		char why[200];
		int si;

		if (!setup_arg(cmds[i], &arg)) {
			rc = srd_note(run->rep, "SetupExecute entry '%s' is not "
				      "srdelayed: left for Windows to run", cmds[i]);
			continue;
		}
		if ((rc = si = src_add(run, SRD_SRC_SRD, arg)) < 0)
			break;
		if (!(run->src[si].setup_cmd = strdup(cmds[i]))) {
			rc = -ENOMEM;
			break;
		}
		rc = srd_path_nt(arg, SRD_NT_ESCAPES, &p, why, sizeof(why));
		if (rc < 0) {
			rc = err_setc(run->err, ERR_FATAL, ERR_CORRUPT, rc,
				      "SetupExecute entry '%s': input file "
				      "'%s': %s", cmds[i], arg, why);
			break;
		}
		if ((run->src[si].vol = vol_of(run, &p, run->home)) < 0) {
			rc = run->src[si].vol;
			err_context(run->err, "in SetupExecute entry '%s'", cmds[i]);
		} else if (!(run->src[si].path = srd_ci_path(
				     run->vols[run->src[si].vol].fs, p.path))) {
			rc = -ENOMEM;
		}
		srd_path_free(&p);
		if (rc >= 0 && (rc = read_queue(run, si, SRD_FORM_WINDOWS)) == 0)
			rc = plan_queue(run, si, true);
	}
	hive_strv_free(cmds);
	return rc < 0 ? rc : 0;
}

static int plan_windows(struct srd_run *run)
{
	struct fs *fs = run->vols[run->home].fs;
	struct err he = { 0 };
	struct fs_stat st;
	int rc;

	run->system_path = srd_ci_path(fs, SYSTEM_HIVE);
	run->software_path = srd_ci_path(fs, SOFTWARE_HIVE);
	if (!run->system_path || !run->software_path)
		return -ENOMEM;
	if (fs_lookup(fs, run->system_path, &st) < 0)
		return 0;  /* no Windows here */
	rc = hive_open_fs(fs, run->system_path, run->o->dry_run ? 0 : HIVE_O_WRITE,
			  &run->system, &he);
	if (rc < 0) {
		err_copy(run->err, &he);
		return rc;
	}
	if (*hive_warning(run->system) &&
	    (rc = srd_note(run->rep, "%s:%s: %s", fs_name(fs), run->system_path,
			   hive_warning(run->system))) < 0)
		return rc;
	if ((rc = hive_md_read(run->system, &run->md, &run->nmd, &he)) < 0) {
		err_copy(run->err, &he);
		return rc;
	}
	rc = plan_pfro(run);
	return rc < 0 ? rc : plan_setup(run);
}

static int plan_native(struct srd_run *run)
{
	struct fs *fs = run->vols[run->home].fs;
	struct fs_stat st;
	char *label;
	int si, rc;

	if (fs_lookup(fs, SRD_NATIVE_QUEUE_PATH, &st) < 0)
		return 0;
	if (asprintf(&label, "%s:%s", fs_name(fs), SRD_NATIVE_QUEUE_PATH) < 0)
		return -ENOMEM;
	si = src_add(run, SRD_SRC_NATIVE, label);
	free(label);
	if (si < 0)
		return si;
	run->src[si].vol = run->home;
	if (!(run->src[si].path = strdup(SRD_NATIVE_QUEUE_PATH)))
		return -ENOMEM;
	rc = read_queue(run, si, SRD_FORM_NATIVE);
	return rc < 0 ? rc : plan_queue(run, si, false);
}

int srd_plan(struct srd_run *run, const char *home)
{
	struct fs_volume v;
	struct err fe = { 0 };
	int rc;

	run->rbase = run->rep->n;
	if (fs_volume_resolve(home, run->disks, run->ndisks, &v, &fe) < 0) {
		err_copy(run->err, &fe);
		return fe.errnum ? -fe.errnum : -ENODEV;
	}
	if ((rc = run->home = vol_add(run, &v)) < 0)
		return rc;
	rc = plan_windows(run);
	if (rc == 0)
		rc = plan_native(run);
	return rc < 0 ? rc : srd_plan_guard(run);
}

/* FNV-1a over every operation as planned (statuses left out: they change
 * when the run finishes, the plan does not). */
static uint64_t fnv(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return (h ^ 0xff) * 0x100000001b3ull;  /* field separator */
}

static const char *vol_id(const struct srd_run *run, int v)
{
	return *run->vols[v].v.uuid ? run->vols[v].v.uuid : run->vols[v].v.name;
}

uint64_t srd_plan_hash(const struct srd_run *run)
{
	uint64_t h = 0xcbf29ce484222325ull;
	char num[64];

	for (size_t i = 0; i < run->nops; i++) {
		const struct srd_plan_op *o = &run->ops[i];

		snprintf(num, sizeof(num), "%d %d %d %zu %zu", (int)o->kind,
			 o->replace, o->files_only, o->src, o->rec);
		h = fnv(h, num);
		h = fnv(h, run->src[o->src].label);
		h = fnv(h, vol_id(run, o->vol));
		h = fnv(h, o->path);
		h = fnv(h, o->kind == SRD_K_MOVE ? vol_id(run, o->dvol) : "");
		h = fnv(h, o->dst);
		h = fnv(h, o->name);
	}
	return h;
}

void srd_plan_free(struct srd_run *run)
{
	for (size_t i = 0; i < run->nops; i++) {
		free(run->ops[i].path);
		free(run->ops[i].dst);
		free(run->ops[i].name);
	}
	for (size_t i = 0; i < run->nsrc; i++) {
		free(run->src[i].label);
		free(run->src[i].path);
		free(run->src[i].setup_cmd);
		srd_queue_free(&run->src[i].q);
	}
	if (run->system)
		hive_close(run->system);
	hive_md_free(run->md, run->nmd);
	for (size_t i = 0; i < run->nvols; i++)
		fs_close(run->vols[i].fs);
	free(run->ops);
	free(run->src);
	free(run->vols);
	free(run->rcache);
	free(run->system_path);
	free(run->software_path);
	*run = (struct srd_run){ .o = run->o, .rep = run->rep, .err = run->err,
				 .disks = run->disks, .ndisks = run->ndisks };
}
