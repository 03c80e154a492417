/* rs_sys.c - `restore --system-state`: a Windows volume from a set, with
 * the registry merged by KeysNotToRestore, FilesNotToBackup honoured, a
 * new LastRestoreId, and no hibernation image of the old system left.
 *
 * The steps, in order:
 *   A. The set's hives (Windows/System32/config: SYSTEM, SOFTWARE, SAM,
 *      SECURITY, DEFAULT and any other, with their .LOG1/.LOG2) are read
 *      from the tape into a private directory of the host.  The set's
 *      FilesNotToBackup rules come from its SYSTEM, expanded from its
 *      SOFTWARE.  Every hive must open: a damaged one refuses the restore
 *      here.  A dirty one whose logs are missing or do not replay is
 *      installed as backed up, made clean, with a warning.
 *   B. The target is opened (a hibernated one refused unless the hibernation
 *      image is to be discarded).  Its current SYSTEM hive is read; the
 *      final hives are made on the host: SYSTEM merged with the current one
 *      by KeysNotToRestore (hive_merge_files: the union of both hives'
 *      rules) or, on an empty target, the set's made clean; the others made
 *      clean (hive_restore); LastRestoreId written into SYSTEM.  Nothing on
 *      the target has changed yet, so any refusal up to here leaves it as
 *      it was.  Then the marker directory /.sysrecover-sysstate is written:
 *      a copy of the current SYSTEM (and its logs) and, last, the file "id"
 *      with the LastRestoreId chosen.
 *   C. The set is restored as a plain restore does it (each file under a
 *      temporary name, renamed over what is there), without the members
 *      FilesNotToBackup names.
 *   D. Each final hive replaces the one C wrote (written beside it, renamed
 *      over it, its ACL and attributes kept), and that hive's logs go.
 *   E. Files on the target that the rules name are deleted (never inside
 *      \SIS Common Store), and /hiberfil.sys.
 *   F. "done" is written into the marker: the set's UUID and the SHA-256
 *      of the SYSTEM hive installed.  The marker stays, as the record of
 *      the last system-state restore (with the SYSTEM the machine had
 *      before it); the next system-state restore replaces it.
 *
 * Crash safety.  A run cut off anywhere and run again ends as one that was
 * not cut off: B changes the target only by writing the marker, whose "id"
 * goes last, so a marker without "id" is an unfinished B and is simply
 * made again (the current SYSTEM has not been touched).  With "id", the run
 * resumes: the current SYSTEM is the copy in the marker, never the half-
 * restored one on the volume, and the LastRestoreId is the one in "id", so
 * B makes the same hives again.  C is idempotent (temporary names, renamed
 * over; partial temporaries are dropped), D writes each hive beside its
 * name and renames it, E deletes what is still there, and F is one write.
 * A rerun after F (a run killed after its last write) is told apart from a
 * new restore by "done": the same set, and a SYSTEM that is still the one
 * F recorded (Windows writes SYSTEM at every boot), is the same restore
 * repeated, from the marker's current SYSTEM and with its id, so it ends
 * the same; "done" is removed before its first change.  Anything else is
 * a new restore with a new id.  The marker also makes an interrupted
 * restore visible on the volume instead of silent.  A run killed while the
 * volume was open leaves NTFS's dirty flag: the rerun is refused until
 * chkdsk (or ntfsfix -d) has checked it, like any interrupted restore.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "hash.h"
#include "hive.h"
#include "rs_impl.h"

#define RS_SYS_MARK "/.sysrecover-sysstate"
#define RS_SYS_CONFIG "/Windows/System32/config"
#define RS_SYS_MAXHIVES 64
#define RS_SYS_HIVE_MAX (1ull << 31)   /* bytes; a hive file is at most 2 GiB */

struct sys_hive {
	char name[64];            /* as in the set: "SYSTEM" */
	bool present;             /* the hive itself is in the set */
	bool log[3];              /* NAME.LOG, NAME.LOG1, NAME.LOG2 in the set */
	bool unreplayed;          /* dirty, and no logs in the set replay it */
	char host[RS_PATH_MAX];   /* the final, clean file on the host */
};

struct sys {
	struct rs *r;
	const struct rs_set *s;
	const struct rs_restore_opts *o;
	const struct rs_sys_opts *so;
	struct rs_sys_result *sr;
	uint32_t vol;             /* the Windows volume */
	bool found;
	char config[64];          /* its config directory, as the set spells it */
	struct sys_hive hives[RS_SYS_MAXHIVES];
	size_t nhives;
	int sysidx;               /* SYSTEM in hives[] */
	char tmp[256];            /* the host directory */
	const char *target;
	struct hive_fntb *fntb;
	char drive;               /* the volume's drive letter (from SystemRoot) */
	char names[RS_SYS_MAXHIVES * 4][RS_PATH_MAX + 8]; /* phase A patterns */
	size_t nnames;
	char first_fail[512];
	bool repeat;              /* the marker says done, and nothing changed since */
};

static void note(struct sys *y, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(struct sys *y, const char *fmt, ...)
{
	char line[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (y->so->note)
		y->so->note(y->so->arg, line);
}

static void example(char ex[][256], uint64_t n, const char *path)
{
	if (n < RS_SYS_EXAMPLES)
		snprintf(ex[n], 256, "%s", path);
}

/* ---- A: the set's hives ------------------------------------------------------ */

static const char *leaf(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* A member directly in a config directory: "/Windows/System32/config/X"
 * (any case) or beside a member the backup marked as a hive. */
static bool in_config(const char *path, char *dir, size_t cap)
{
	size_t n = strlen(RS_SYS_CONFIG);

	if (strncasecmp(path, RS_SYS_CONFIG "/", n + 1) || strchr(path + n + 1, '/'))
		return false;
	snprintf(dir, cap, "%.*s", (int)n, path);
	return true;
}

static int log_no(const char *name, size_t *base)
{
	static const char *const ext[] = { ".LOG", ".LOG1", ".LOG2" };
	size_t n = strlen(name);

	for (int k = 2; k >= 0; k--) {
		size_t e = strlen(ext[k]);

		if (n > e && !strcasecmp(name + n - e, ext[k])) {
			*base = n - e;
			return k;
		}
	}
	return -1;
}

static struct sys_hive *hive_named(struct sys *y, const char *name, size_t len)
{
	for (size_t k = 0; k < y->nhives; k++)
		if (strlen(y->hives[k].name) == len && !strncasecmp(y->hives[k].name, name, len))
			return &y->hives[k];
	if (y->nhives == RS_SYS_MAXHIVES || len >= sizeof(y->hives[0].name))
		return NULL;
	memset(&y->hives[y->nhives], 0, sizeof(y->hives[0]));
	memcpy(y->hives[y->nhives].name, name, len);
	return &y->hives[y->nhives++];
}

/* First catalog pass: which volume holds Windows, and its hives.  A hive
 * is a file of the config directory with no dot in its name (SYSTEM,
 * BCD-Template) or one the backup marked ARC_M_HIVE; NAME.LOG1 etc. go
 * with NAME. */
static int find_hive(void *arg, const struct arc_entry *e)
{
	struct sys *y = arg;
	char dir[64];
	const char *name = leaf(e->path);
	struct sys_hive *h;
	size_t base;
	int k;

	if (e->type != ARC_T_FILE || (e->flags & ARC_M_LOST) || !in_config(e->path, dir, sizeof(dir)))
		return 0;
	if (y->found && (e->vol != y->vol || strcmp(dir, y->config)))
		return 0;   /* one Windows volume: the first */
	if ((k = log_no(name, &base)) >= 0) {
		if ((h = hive_named(y, name, base)))
			h->log[k] = true;
	} else if (!strchr(name, '.') || (e->flags & ARC_M_HIVE)) {
		if ((h = hive_named(y, name, strlen(name))))
			h->present = true;
	} else
		return 0;
	if (!y->found) {
		y->found = true;
		y->vol = e->vol;
		memcpy(y->config, dir, sizeof(dir));
	}
	return 0;
}

/* Logs without their hive are plain files; SYSTEM must be there. */
static int plan_hives(struct sys *y, size_t i)
{
	size_t k = 0;
	int rc = rs_catalog(y->r, i, find_hive, y);

	if (rc < 0)
		return rc;
	y->sysidx = -1;
	for (size_t j = 0; j < y->nhives; j++)
		if (y->hives[j].present) {
			if (!strcasecmp(y->hives[j].name, "SYSTEM"))
				y->sysidx = (int)k;
			y->hives[k++] = y->hives[j];
		}
	y->nhives = k;
	if (y->sysidx < 0)
		return err_setc(&y->r->err, ERR_FATAL, ERR_USAGE, -ENOENT, "set %zu holds no "
				"SYSTEM hive (%s/SYSTEM on any volume): it is not a Windows "
				"system volume; restore it without --system-state", i + 1,
				RS_SYS_CONFIG + 1);
	return 0;
}

/* fnmatch(3) pattern for a literal name. */
static void escape(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (; *in && o + 2 < cap; in++) {
		if (strchr("*?[]\\", *in))
			out[o++] = '\\';
		out[o++] = *in;
	}
	out[o] = 0;
}

static void collect(void *arg, const char *name, const char *why)
{
	struct sys *y = arg;

	(void)name;
	if (!y->first_fail[0] && !strstr(why, "not kept"))
		snprintf(y->first_fail, sizeof(y->first_fail), "%s", why);
}

static int add_name(struct sys *y, const char *hive, const char *suffix)
{
	char lit[RS_PATH_MAX + 8];

	snprintf(lit, sizeof(lit), "%s%s/%s%s", y->s->label.vol[y->vol].id, y->config, hive, suffix);
	escape(lit, y->names[y->nnames++], sizeof(y->names[0]));
	return 0;
}

/* The hives and their logs from the tape into y->tmp/set. */
static int read_hives(struct sys *y, size_t i)
{
	static const char *const ext[] = { ".LOG", ".LOG1", ".LOG2" };
	char *pats[RS_SYS_MAXHIVES * 4], dest[RS_PATH_MAX];
	struct rs_map map;
	struct rs_restore_opts o = { .maps = &map, .nmaps = 1, .foreign_file = -1,
				     .report = collect, .arg = y };
	struct rs_restore_result res;
	int rc;

	for (size_t k = 0; k < y->nhives; k++) {
		add_name(y, y->hives[k].name, "");
		for (int l = 0; l < 3; l++)
			if (y->hives[k].log[l])
				add_name(y, y->hives[k].name, ext[l]);
	}
	for (size_t k = 0; k < y->nnames; k++)
		pats[k] = y->names[k];
	snprintf(dest, sizeof(dest), "%s/set", y->tmp);
	if (mkdir(dest, 0700) < 0)
		return err_set(&y->r->err, -errno, "cannot make %s: %s", dest, strerror(errno));
	map = (struct rs_map){ .src = y->s->label.vol[y->vol].id, .target = dest };
	o.patterns = pats;
	o.npat = y->nnames;
	rc = rs_restore(y->r, i, &o, &res);
	if (rc == 0 && res.failed + res.refused + res.lost)
		rc = err_setc(&y->r->err, ERR_FATAL, ERR_CORRUPT, -EIO, "cannot read the "
			      "hives of set %zu: %s; nothing was written", i + 1,
			      y->first_fail[0] ? y->first_fail : "a member failed");
	return rc < 0 ? err_context(&y->r->err, "reading the hives of the set") : 0;
}

static void set_path(const struct sys *y, const struct sys_hive *h, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/set%s/%s", y->tmp, y->config, h->name);
}

/* Every hive of the set opens, and a dirty one replays: else refused. */
static int check_hives(struct sys *y)
{
	for (size_t k = 0; k < y->nhives; k++) {
		char p[RS_PATH_MAX * 2];
		struct hive *h = NULL;
		struct err e = { 0 };
		int rc;

		set_path(y, &y->hives[k], p, sizeof(p));
		if ((rc = hive_open(p, 0, &h, &e)) < 0)
			return err_setc(&y->r->err, ERR_FATAL, ERR_CORRUPT, rc, "the set's hive "
					"%s/%s cannot be used: %s; nothing was written",
					y->config + 1, y->hives[k].name, e.msg);
		/* The hive layer's rule for a hive that is to be written: logs
		 * that do not replay refuse it (their changes would be dropped
		 * without a word); a dirty hive without logs is used as it is,
		 * with a warning: what the backup holds is all there is, and
		 * Windows itself would load it the same way. */
		if (hive_info(h)->dirty && hive_info(h)->logs_present && !hive_info(h)->replayed) {
			rc = err_setc(&y->r->err, ERR_FATAL, ERR_REFUSED, -EBUSY, "the set's "
				      "hive %s/%s is dirty (sequence %u/%u) and its logs in the "
				      "set do not replay: KeysNotToRestore cannot be applied to "
				      "it without losing what they hold; nothing was written.  A "
				      "restore without --system-state puts the hives back "
				      "exactly as backed up, logs and all, for Windows to "
				      "load at boot.  (The hive layer: %s.)", y->config + 1,
				      y->hives[k].name, hive_info(h)->seq1, hive_info(h)->seq2,
				      hive_warning(h) ? hive_warning(h) : "the logs do not replay");
			hive_close(h);
			return rc;
		}
		if (hive_info(h)->dirty && !hive_info(h)->replayed) {
			y->hives[k].unreplayed = true;
			note(y, "warning: the set's hive %s/%s is dirty and its logs are not in "
			     "the set: it is installed as it was backed up, made clean; the "
			     "changes Windows had not yet written into it are not in the set",
			     y->config + 1, y->hives[k].name);
		}
		if ((int)k == y->sysidx && hive_kind(h, NULL, 0) != HIVE_KIND_SYSTEM) {
			hive_close(h);
			return err_setc(&y->r->err, ERR_FATAL, ERR_CORRUPT, -EINVAL, "the set's "
					"%s/SYSTEM is not a SYSTEM hive; nothing was written",
					y->config + 1);
		}
		hive_close(h);
	}
	return 0;
}

/* The set's SOFTWARE, opened for the variables of the rules, if it is one:
 * else NULL, said, and the rules are expanded without it (its defaults),
 * as the backup did, rather than refusing the whole restore. */
static struct hive *open_software(struct sys *y)
{
	char path[RS_PATH_MAX * 2];
	struct hive *h = NULL;
	struct err e = { 0 };
	enum hive_kind k = HIVE_KIND_UNKNOWN;
	size_t i;

	for (i = 0; i < y->nhives && strcasecmp(y->hives[i].name, "SOFTWARE"); i++)
		;
	if (i == y->nhives)
		return NULL;
	set_path(y, &y->hives[i], path, sizeof(path));
	if (hive_open(path, 0, &h, &e) == 0)
		k = hive_kind(h, NULL, 0);
	if (k == HIVE_KIND_SOFTWARE)
		return h;
	if (h)
		hive_close(h);
	note(y, "warning: the set's %s/SOFTWARE is not a SOFTWARE hive (%s): the "
	     "FilesNotToBackup variables are expanded without it", y->config + 1,
	     k == HIVE_KIND_UNKNOWN ? "its kind is unknown" : hive_kind_name(k));
	return NULL;
}

/* The rules, from the set's SYSTEM (check_hives made sure it opens and is
 * one) with hive_fntb_load, as the backup reads them from the volume. */
static int load_fntb(struct sys *y)
{
	char sys[RS_PATH_MAX * 2];
	struct hive *h = NULL, *sw = NULL;
	struct err e = { 0 };
	int rc;

	set_path(y, &y->hives[y->sysidx], sys, sizeof(sys));
	rc = hive_open(sys, 0, &h, &e);
	if (rc == 0) {
		sw = open_software(y);
		rc = hive_fntb_load(h, sw, &y->fntb, &e);
	}
	if (sw)
		hive_close(sw);
	if (h)
		hive_close(h);
	if (rc < 0)
		return err_setc(&y->r->err, ERR_FATAL, ERR_CORRUPT, rc, "cannot read "
				"FilesNotToBackup from the set's SYSTEM: %s", e.msg);
	if (y->fntb->systemroot && y->fntb->systemroot[0] && y->fntb->systemroot[1] == ':')
		y->drive = (char)(y->fntb->systemroot[0] & ~0x20);
	for (size_t k = 0; k < y->fntb->nskipped; k++)
		note(y, "FilesNotToBackup %s (%s): not applied: %s", y->fntb->skipped[k].entry,
		     y->fntb->skipped[k].component, y->fntb->skipped[k].why);
	return 0;
}

/* "/a/b" -> "\a\b" */
static void win_path(const char *p, char *out, size_t cap)
{
	snprintf(out, cap, "%s", p);
	for (char *c = out; *c; c++)
		if (*c == '/')
			*c = '\\';
}

static const struct hive_fntb_rule *fntb_rule(const struct sys *y, const char *path)
{
	char wp[RS_PATH_MAX];

	win_path(path, wp, sizeof(wp));
	return hive_fntb_match(y->fntb, y->drive, wp);
}

/* rs_restore_opts.skip: FilesNotToBackup on the Windows volume. */
static bool skip_member(void *arg, const char *name)
{
	struct sys *y = arg;
	uint32_t v;
	const char *why, *path = rs_member_path(y->s, name, &v, &why);

	return path && v == y->vol && fntb_rule(y, path);
}

static int count_skipped(void *arg, const struct arc_entry *e)
{
	struct sys *y = arg;

	if (e->vol == y->vol && e->type != ARC_T_DIR && fntb_rule(y, e->path)) {
		example(y->sr->skipped_ex, y->sr->fntb_skipped, e->path);
		y->sr->fntb_skipped++;
	}
	return 0;
}

/* ---- host files --------------------------------------------------------------- */

static int write_host(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc = 0;

	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len && rc == 0;) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n <= 0)
			rc = n < 0 ? -errno : -EIO;
		else
			off += (size_t)n;
	}
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

static int read_host(const char *path, uint8_t **buf, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	size_t off = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !(*buf = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return -ENOMEM;
	}
	while (off < (size_t)st.st_size && rc == 0) {
		ssize_t n = read(fd, *buf + off, (size_t)st.st_size - off);

		if (n <= 0)
			rc = n < 0 ? -errno : -EIO;
		else
			off += (size_t)n;
	}
	close(fd);
	*len = off;
	if (rc < 0)
		free(*buf);
	return rc;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)f;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void rm_tmp(struct sys *y)
{
	if (y->tmp[0])
		nftw(y->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the target ------------------------------------------------------------------- */


static int fs_fail(struct sys *y, struct fs *fs, int rc)
{
	const struct err *e = fs_error(fs);

	return err_set(&y->r->err, rc, "%s", e->msg[0] ? e->msg : strerror(-rc));
}

/* A whole buffer as a new file `tmp` on the volume, then renamed to path. */
static int put_target(struct fs *fs, const char *path, const uint8_t *buf, size_t len)
{
	char tmp[RS_PATH_MAX + 32];
	struct fs_file *f = NULL;
	int rc;

	snprintf(tmp, sizeof(tmp), "%s.sysrecover-new", path);
	fs_unlink(fs, tmp);   /* left by a run that was cut off */
	rc = fs_create(fs, tmp, 0644);
	if (rc == 0)
		rc = fs_file_open(fs, tmp, NULL, FS_F_WRITE, &f);
	for (size_t off = 0; rc == 0 && off < len;) {
		size_t n = len - off < RS_BUF ? len - off : RS_BUF;
		ssize_t w = fs_file_pwrite(f, buf + off, n, off);

		if (w != (ssize_t)n)
			rc = w < 0 ? (int)w : -ENOSPC;
		off += n;
	}
	if (f) {
		int crc = fs_file_close(f);

		rc = rc ? rc : crc;
	}
	if (rc == 0)
		rc = fs_rename(fs, tmp, path, 0);
	if (rc < 0)
		fs_unlink(fs, tmp);
	return rc;
}

/* A name in dir equal to want but for case: into out. */
struct ci {
	const char *want;
	char out[256];
};

static int ci_cb(void *arg, const char *name, const struct fs_stat *st)
{
	struct ci *c = arg;

	(void)st;
	if (strcasecmp(name, c->want))
		return 0;
	snprintf(c->out, sizeof(c->out), "%s", name);
	return 1;
}

static bool find_ci(struct fs *fs, const char *dir, const char *want, char *path, size_t cap)
{
	struct ci c = { .want = want };

	if (fs_readdir(fs, dir, ci_cb, &c) != 1)
		return false;
	snprintf(path, cap, "%s/%s", strcmp(dir, "/") ? dir : "", c.out);
	return true;
}

/* Target file -> host file (absent: -ENOENT). */
static int fetch(struct sys *y, struct fs *fs, const char *from, const char *to)
{
	uint8_t *buf = NULL;
	size_t len;
	int rc = fs_read_file(fs, from, RS_SYS_HIVE_MAX, &buf, &len);

	if (rc == -ENOENT)
		return rc;
	if (rc < 0)
		return fs_fail(y, fs, rc);
	rc = write_host(to, buf, len);
	free(buf);
	if (rc < 0)
		return err_set(&y->r->err, rc, "cannot write %s: %s", to, strerror(-rc));
	return 0;
}

/* Host file -> target file, through a temporary name. */
static int install(struct sys *y, struct fs *fs, const char *from, const char *to)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = read_host(from, &buf, &len);

	if (rc < 0)
		return err_set(&y->r->err, rc, "cannot read %s: %s", from, strerror(-rc));
	rc = put_target(fs, to, buf, len);
	free(buf);
	return rc < 0 ? fs_fail(y, fs, rc) : 0;
}

/* ---- B: the marker, the current SYSTEM, the final hives -------------------------- */

static void mark_path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, RS_SYS_MARK "/%s", name);
}

/* Remove a marker directory and what is in it (files only). */
struct names {
	char n[16][64];
	size_t k;
};

static int name_cb(void *arg, const char *name, const struct fs_stat *st)
{
	struct names *n = arg;

	(void)st;
	if (n->k < 16 && strlen(name) < sizeof(n->n[0]))
		snprintf(n->n[n->k++], sizeof(n->n[0]), "%s", name);
	return 0;
}

static int drop_dir(struct fs *fs, const char *dir)
{
	struct names n = { .k = 0 };
	struct fs_stat st;
	char p[RS_PATH_MAX];

	if (fs_lookup(fs, dir, &st) < 0)
		return 0;
	fs_readdir(fs, dir, name_cb, &n);
	for (size_t k = 0; k < n.k; k++) {
		snprintf(p, sizeof(p), "%s/%s", dir, n.n[k]);
		fs_unlink(fs, p);
	}
	return fs_rmdir(fs, dir);
}

static const char *const log_ext[] = { ".LOG1", ".LOG2" };

/* The marker's "done": the set, and the SHA-256 of the SYSTEM hive the
 * restore installed. */
static void done_text(const struct sys *y, const uint8_t *sys, size_t len, char *out,
		      size_t cap)
{
	uint8_t d[HASH_SHA256_LEN];
	struct hash_sha256 h;
	int o = snprintf(out, cap, "set %s\nsystem ", y->s->label.uuid);

	hash_sha256_init(&h);
	hash_sha256_update(&h, sys, len);
	hash_sha256_final(&h, d);
	for (size_t k = 0; k < sizeof(d) && o > 0 && (size_t)o + 3 < cap; k++)
		o += snprintf(out + o, cap - (size_t)o, "%02x", d[k]);
	snprintf(out + o, cap - (size_t)o, "\n");
}

/* A finished restore is repeated as it was (same current SYSTEM, same id)
 * only when it is this set and the volume's SYSTEM is still the one it
 * installed: Windows has not run since (it writes SYSTEM at every boot),
 * so this is a rerun of a restore cut off at its very end.  Anything else
 * is a new restore. */
static bool still_ours(struct sys *y, struct fs *fs, const uint8_t *done, size_t dlen)
{
	char p[RS_PATH_MAX], want[256];
	uint8_t *buf = NULL;
	size_t len;
	bool same = false;

	if (find_ci(fs, y->config, "SYSTEM", p, sizeof(p)) &&
	    fs_read_file(fs, p, RS_SYS_HIVE_MAX, &buf, &len) == 0) {
		done_text(y, buf, len, want, sizeof(want));
		same = dlen == strlen(want) && !memcmp(done, want, dlen);
	}
	free(buf);
	return same;
}

/* The saved state of an interrupted run: 1 with the id (and the current
 * SYSTEM copied to the host when the marker has one), 0 when there is none. */
static int resume_state(struct sys *y, struct fs *fs, const char *cur)
{
	uint8_t *buf = NULL;
	size_t len;
	char p[RS_PATH_MAX], h[RS_PATH_MAX + 16];
	int rc;

	mark_path(p, sizeof(p), "id");
	rc = fs_read_file(fs, p, 64, &buf, &len);
	if (rc < 0)
		return 0;
	buf[len] = 0;
	if (len < 38 || buf[0] != '{' || buf[37] != '}') {
		free(buf);
		return err_setc(&y->r->err, ERR_FATAL, ERR_CORRUPT, -EINVAL, "%s on %s is "
				"not one of ours: remove it, or check the volume", p, y->target);
	}
	memcpy(y->sr->id, buf, 38);
	y->sr->id[38] = 0;
	free(buf);
	mark_path(p, sizeof(p), "done");
	if (fs_read_file(fs, p, 256, &buf, &len) == 0) {
		y->repeat = still_ours(y, fs, buf, len);
		free(buf);
		if (!y->repeat) {   /* an earlier restore, finished: a new one */
			y->sr->id[0] = 0;
			return 0;
		}
	}
	y->sr->resumed = true;
	mark_path(p, sizeof(p), "SYSTEM");
	rc = fetch(y, fs, p, cur);
	if (rc == -ENOENT) {
		y->sr->no_current = true;
		return 1;
	}
	for (int k = 0; rc == 0 && k < 2; k++) {
		char lp[RS_PATH_MAX];

		snprintf(lp, sizeof(lp), "%s%s", p, log_ext[k]);
		snprintf(h, sizeof(h), "%s%s", cur, log_ext[k]);
		if ((rc = fetch(y, fs, lp, h)) == -ENOENT)
			rc = 0;
	}
	return rc < 0 ? rc : 1;
}

/* A fresh run: the target's SYSTEM (and logs) to the host; 0, or
 * no_current when it has none. */
static int read_current(struct sys *y, struct fs *fs, const char *cur)
{
	char p[RS_PATH_MAX], lp[RS_PATH_MAX], h[RS_PATH_MAX + 16];
	int rc;

	if (!find_ci(fs, y->config, "SYSTEM", p, sizeof(p))) {
		y->sr->no_current = true;
		return 0;
	}
	if ((rc = fetch(y, fs, p, cur)) < 0)
		return rc == -ENOENT ? fs_fail(y, fs, rc) : rc;
	for (int k = 0; k < 2; k++) {
		char nm[32];

		snprintf(nm, sizeof(nm), "SYSTEM%s", log_ext[k]);
		snprintf(h, sizeof(h), "%s%s", cur, log_ext[k]);
		if (find_ci(fs, y->config, nm, lp, sizeof(lp)) && (rc = fetch(y, fs, lp, h)) < 0)
			return rc;
	}
	return 0;
}

static int write_marker(struct sys *y, struct fs *fs, const char *cur)
{
	char p[RS_PATH_MAX], h[RS_PATH_MAX + 16];
	int rc;

	drop_dir(fs, RS_SYS_MARK);   /* an unfinished B, or an earlier restore's */
	if ((rc = fs_mkdir(fs, RS_SYS_MARK, 0700)) < 0)
		return fs_fail(y, fs, rc);
	for (int k = -1; !y->sr->no_current && k < 2; k++) {
		snprintf(h, sizeof(h), "%s%s", cur, k < 0 ? "" : log_ext[k]);
		snprintf(p, sizeof(p), RS_SYS_MARK "/SYSTEM%s", k < 0 ? "" : log_ext[k]);
		if (access(h, F_OK) == 0 && (rc = install(y, fs, h, p)) < 0)
			return rc;
	}
	mark_path(p, sizeof(p), "id");
	rc = put_target(fs, p, (const uint8_t *)y->sr->id, strlen(y->sr->id));
	return rc < 0 ? fs_fail(y, fs, rc) : 0;
}

static void kntr_notes(struct sys *y, const struct hive_merge_result *m)
{
	for (size_t k = 0; k < m->n; k++) {
		const struct hive_kntr_rule *ru = &m->rules[k];
		const struct hive_kntr_result *re = m->res ? &m->res[k] : NULL;

		note(y, "KeysNotToRestore %s (%s, %s): %s%s%s", ru->entry, ru->component,
		     hive_kntr_form_name(ru->form), re ? hive_kntr_outcome_name(re->outcome) :
		     "not applied", re && re->err.msg[0] ? ": " : "",
		     re && re->err.msg[0] ? re->err.msg : "");
	}
	for (size_t k = 0; k < m->nwarn; k++)
		note(y, "KeysNotToRestore: %s", m->warn[k].msg);
}

/* No current SYSTEM: what KeysNotToRestore would have kept, and cannot. */
static void no_current_notes(struct sys *y, const char *restored)
{
	struct hive_kntr_rule *rules = NULL;
	struct hive *h = NULL;
	struct err e = { 0 };
	size_t n = 0;

	note(y, "the target holds no Windows (no %s/SYSTEM): there is no current "
	     "system whose registry KeysNotToRestore could keep.  Its drive letters "
	     "(SYSTEM\\MountedDevices) and its hardware keys (the services, drivers "
	     "and Plug and Play keys of this machine's devices) come from the backup: "
	     "if the disks or the hardware differ, fix the drive letters ('sysrecover "
	     "hive mounted') before booting", y->config + 1);
	if (hive_open(restored, 0, &h, &e) == 0 &&
	    hive_kntr_read(h, HIVE_KNTR_FROM_RESTORED, &rules, &n, &e) == 0)
		for (size_t k = 0; k < n; k++)
			note(y, "KeysNotToRestore %s (%s, %s): not kept: no current system; "
			     "the backup's copy is restored", rules[k].entry,
			     rules[k].component, hive_kntr_form_name(rules[k].form));
	hive_kntr_rules_free(rules, n);
	hive_close(h);
}

static int set_id(struct sys *y, const char *path)
{
	struct hive *h = NULL;
	struct err e = { 0 };
	char g[39];
	int rc = hive_open(path, HIVE_O_WRITE, &h, &e);

	if (rc == 0)
		rc = y->sr->id[0] ? hive_set_last_restore_id_to(h, y->sr->id)
				  : hive_set_last_restore_id(h, g);
	if (rc < 0 && h)
		err_copy(&e, hive_error(h));
	if (rc == 0 && !y->sr->id[0])
		snprintf(y->sr->id, sizeof(y->sr->id), "%s", g);
	if (rc == 0)
		rc = hive_commit(h, &e);
	hive_close(h);
	return rc < 0 ? err_set(&y->r->err, rc, "cannot write LastRestoreId: %s", e.msg) : 0;
}

/* A hive that cannot be replayed, as it is, made clean: copied, opened
 * for writing (degraded, with the warning check_hives gave) and committed. */
static int commit_copy(const char *src, const char *dst, struct err *e)
{
	struct hive *h = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = read_host(src, &buf, &len);

	if (rc == 0)
		rc = write_host(dst, buf, len);
	free(buf);
	if (rc < 0)
		return err_set(e, rc, "cannot copy %s to %s: %s", src, dst, strerror(-rc));
	if ((rc = hive_open(dst, HIVE_O_WRITE, &h, e)) == 0)
		rc = hive_commit(h, e);
	hive_close(h);
	return rc;
}

/* The final hives on the host (y->tmp/out): SYSTEM merged (or made clean
 * on an empty target) with the LastRestoreId, the others made clean. */
static int make_hives(struct sys *y, const char *cur)
{
	char out[512];
	int rc;

	snprintf(out, sizeof(out), "%s/out", y->tmp);
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return err_set(&y->r->err, -errno, "cannot make %s: %s", out, strerror(errno));
	for (size_t k = 0; k < y->nhives; k++) {
		struct sys_hive *h = &y->hives[k];
		char src[RS_PATH_MAX * 2];
		struct err e = { 0 };

		set_path(y, h, src, sizeof(src));
		/* numbered, not named: the set's DEFAULT goes where the set had it,
		 * whatever kind of hive a file of that name usually is */
		snprintf(h->host, sizeof(h->host), "%s/%zu", out, k);
		unlink(h->host);
		if ((int)k == y->sysidx && !y->sr->no_current) {
			char clean[RS_PATH_MAX + 16];
			struct hive_merge_req mq = { .current = cur, .restored = src,
						     .output = h->host,
						     .policy = y->so->kntr_2003 ?
						     HIVE_KNTR_2003 : HIVE_KNTR_VSS };
			struct hive_merge_result mr = { 0 };

			/* logs that do not replay are left behind: the hive layer
			 * will not write a hive with such logs beside it */
			snprintf(clean, sizeof(clean), "%s.clean", h->host);
			unlink(clean);
			rc = h->unreplayed ? commit_copy(src, clean, &e) : 0;
			if (h->unreplayed)
				mq.restored = clean;
			if (rc == 0)
				rc = hive_merge_files(&mq, &mr, &e);
			kntr_notes(y, &mr);
			hive_merge_result_free(&mr);
		} else {
			struct hive_target t = { .path = h->host };
			struct hive_restore_result hr;

			if ((int)k == y->sysidx)
				no_current_notes(y, src);
			rc = h->unreplayed ? commit_copy(src, h->host, &e) : hive_restore(src, &t, &hr, &e);
		}
		if (rc < 0)
			return err_setc(&y->r->err, ERR_FATAL, e.code ? e.code : ERR_CORRUPT,
					rc, "%s/%s: %s; nothing was written", y->config + 1,
					h->name, e.msg);
	}
	return set_id(y, y->hives[y->sysidx].host);
}

/* B.  The target opened read-write (read-only for a dry run). */
static int prepare(struct sys *y)
{
	char cur[RS_PATH_MAX], def[128];
	unsigned flags = y->o->dry_run ? 0 : FS_O_RDWR;
	enum fs_state st = FS_STATE_CLEAN;
	struct fs *fs = NULL;
	struct err e = { 0 };
	enum fs_kind kind;
	int rc;

	if (!(y->target = rs_target_of(y->s, y->vol, y->o, def, sizeof(def))))
		return err_setc(&y->r->err, ERR_FATAL, ERR_USAGE, -EINVAL, "where should %s "
				"(%s) go? It has no UUID: say --to %s=TARGET",
				y->s->label.vol[y->vol].id, y->s->label.vol[y->vol].source,
				y->s->label.vol[y->vol].id);
	if (fs_probe(y->target, &kind) < 0 || kind != FS_KIND_NTFS)
		return err_setc(&y->r->err, ERR_FATAL, ERR_USAGE, -EINVAL, "%s is not an NTFS "
				"volume: a Windows system state goes onto NTFS; nothing was "
				"written", y->target);
	if (y->so->remove_hiberfile) {
		flags |= FS_O_REMOVE_HIBERFILE;
		fs_state(y->target, &st, &e);
	}
	if ((rc = fs_open(y->target, flags, &fs, &y->r->err)) < 0) {
		if (rc == -EPERM && !y->so->remove_hiberfile)   /* hibernated */
			err_context(&y->r->err, "--remove-hiberfile discards the hibernation "
				    "image (what Windows had in memory is lost)");
		return err_context(&y->r->err, "the target of %s", y->s->label.vol[y->vol].id);
	}
	if (st == FS_STATE_HIBERNATED && !y->o->dry_run) {
		y->sr->hiberfile_removed = true;
		note(y, "hibernation: the hibernation image of %s was discarded "
		     "(/hiberfil.sys removed, as ntfs-3g's remove_hiberfile does)", y->target);
	}
	snprintf(cur, sizeof(cur), "%s/current", y->tmp);
	if (mkdir(cur, 0700) < 0) {
		rc = err_set(&y->r->err, -errno, "cannot make %s: %s", cur, strerror(errno));
		goto out;
	}
	strcat(cur, "/SYSTEM");
	rc = resume_state(y, fs, cur);
	if (rc == 0)
		rc = read_current(y, fs, cur);
	if (rc > 0)
		note(y, "resuming the %s system-state restore that %s records "
		     "(LastRestoreId %s)", y->repeat ? "finished (Windows has not run since)" :
		     "interrupted", RS_SYS_MARK, y->sr->id);
	if (rc >= 0)
		rc = make_hives(y, cur);
	if (rc == 0 && !y->sr->resumed && !y->o->dry_run)
		rc = write_marker(y, fs, cur);
	if (rc == 0 && y->repeat && !y->o->dry_run) {
		char p[RS_PATH_MAX];

		mark_path(p, sizeof(p), "done");   /* before any other change */
		if ((rc = fs_unlink(fs, p)) < 0)
			rc = fs_fail(y, fs, rc);
	}
out:
	if (fs_close(fs) < 0 && rc == 0)
		rc = fs_fail(y, fs, -EIO);
	return rc;
}

/* ---- D, E, F: on the target after the data ------------------------------------------ */

/* The final hive over the one the data restore wrote, keeping that one's
 * ACL and attributes; then its logs go. */
static int put_hive(struct sys *y, struct fs *fs, const struct sys_hive *h)
{
	static const char *const xn[] = { "system.ntfs_acl", "system.ntfs_attrib" };
	char path[RS_PATH_MAX], lp[RS_PATH_MAX], nm[96];
	uint8_t xv[2][65536];
	ssize_t xl[2];
	int rc;

	snprintf(path, sizeof(path), "%s/%s", y->config, h->name);
	for (int k = 0; k < 2; k++)
		xl[k] = fs_xattr_get(fs, path, xn[k], xv[k], sizeof(xv[k]));
	if ((rc = install(y, fs, h->host, path)) < 0)
		return rc;
	for (int k = 0; k < 2; k++)
		if (xl[k] > 0)
			fs_xattr_set(fs, path, xn[k], xv[k], (size_t)xl[k]);
	for (int k = 0; k < 3; k++) {
		snprintf(nm, sizeof(nm), "%s%s", h->name, k ? log_ext[k - 1] : ".LOG");
		while (find_ci(fs, y->config, nm, lp, sizeof(lp)))
			if ((rc = fs_unlink(fs, lp)) < 0)
				return fs_fail(y, fs, rc);
	}
	y->sr->hives++;
	return 0;
}

/* E: stale files the rules name.  Gathered first, removed after the walk. */
struct stale {
	struct sys *y;
	char **paths;
	size_t n, cap;
};

static int add_stale(struct stale *s, const char *path)
{
	for (size_t k = 0; k < s->n; k++)
		if (!strcmp(s->paths[k], path))
			return 0;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 32;
		char **np = realloc(s->paths, nc * sizeof(*np));

		if (!np)
			return -ENOMEM;
		s->paths = np;
		s->cap = nc;
	}
	if (!(s->paths[s->n] = strdup(path)))
		return -ENOMEM;
	s->n++;
	return 0;
}

static int stale_cb(void *arg, const char *path, const struct fs_stat *st)
{
	struct stale *s = arg;

	if (S_ISDIR(st->mode) || !fntb_rule(s->y, path) ||
	    !strncmp(path, RS_SYS_MARK, strlen(RS_SYS_MARK)) ||
	    !strncmp(path, "/.sysrecover-tmp", 16))
		return 0;
	return add_stale(s, path);
}

/* A rule's directory as it is spelt on the volume: Windows matches names
 * without regard to case ("%SystemRoot%\TEMP" is /Windows/Temp), and names
 * ntfs-3g made are case-sensitive to a plain lookup.  -ENOENT when a
 * component is missing. */
static int rule_dir(struct fs *fs, const struct hive_fntb_rule *ru, char *out, size_t cap)
{
	char in[RS_PATH_MAX], *save = NULL;
	size_t len = 0;

	snprintf(in, sizeof(in), "%s", ru->dir);
	if (in[0] != '\\')
		return -EINVAL;
	snprintf(out, cap, "/");
	for (char *c = strtok_r(in, "\\", &save); c; c = strtok_r(NULL, "\\", &save)) {
		char dir[RS_PATH_MAX];

		snprintf(dir, sizeof(dir), "%s", len ? out : "/");
		if (!find_ci(fs, dir, c, out, cap))
			return -ENOENT;
		len = strlen(out);
	}
	return 0;
}

struct level {
	struct stale *s;
	const char *dir;
};

static int one_level(void *arg, const char *name, const struct fs_stat *st)
{
	struct level *l = arg;
	char p[RS_PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", strcmp(l->dir, "/") ? l->dir : "", name);
	return stale_cb(l->s, p, st);
}

static int delete_stale(struct sys *y, struct fs *fs)
{
	struct stale s = { .y = y };
	char dir[RS_PATH_MAX], hib[RS_PATH_MAX];
	int rc = 0;

	for (size_t k = 0; rc == 0 && k < y->fntb->n; k++) {
		const struct hive_fntb_rule *ru = &y->fntb->rules[k];
		struct level l = { .s = &s, .dir = dir };
		struct fs_stat st;

		if (ru->sis || (ru->drive && y->drive && ru->drive != y->drive) ||
		    rule_dir(fs, ru, dir, sizeof(dir)) < 0 || fs_lookup(fs, dir, &st) < 0 ||
		    !S_ISDIR(st.mode))
			continue;
		rc = ru->recursive ? fs_walk(fs, dir, stale_cb, &s)
				   : fs_readdir(fs, dir, one_level, &l);
	}
	/* no hibernation image of the old system is left, whatever the rules */
	if (rc == 0 && find_ci(fs, "/", "hiberfil.sys", hib, sizeof(hib)))
		rc = add_stale(&s, hib);
	for (size_t k = 0; k < s.n; k++) {
		int u = rc == 0 ? fs_unlink(fs, s.paths[k]) : 0;

		if (u < 0 && u != -ENOENT && rc == 0)
			rc = fs_fail(y, fs, u);
		else if (u == 0 && rc == 0) {
			example(y->sr->deleted_ex, y->sr->fntb_deleted, s.paths[k]);
			y->sr->fntb_deleted++;
		}
		free(s.paths[k]);
	}
	free(s.paths);
	return rc < 0 && !y->r->err.msg[0] ? err_set(&y->r->err, rc, "%s", strerror(-rc)) : rc;
}

/* F: "done" in the marker, the one write that ends the restore. */
static int write_done(struct sys *y, struct fs *fs)
{
	char p[RS_PATH_MAX], text[256];
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = read_host(y->hives[y->sysidx].host, &buf, &len);

	if (rc < 0)
		return err_set(&y->r->err, rc, "cannot read %s: %s", y->hives[y->sysidx].host,
			       strerror(-rc));
	done_text(y, buf, len, text, sizeof(text));
	free(buf);
	mark_path(p, sizeof(p), "done");
	rc = put_target(fs, p, (const uint8_t *)text, strlen(text));
	return rc < 0 ? fs_fail(y, fs, rc) : 0;
}

static int finish_target(struct sys *y)
{
	struct fs *fs = NULL;
	int rc = fs_open(y->target, FS_O_RDWR, &fs, &y->r->err);

	if (rc < 0)
		return err_context(&y->r->err, "the target of %s", y->s->label.vol[y->vol].id);
	for (size_t k = 0; rc == 0 && k < y->nhives; k++)
		rc = put_hive(y, fs, &y->hives[k]);
	if (rc == 0)
		rc = delete_stale(y, fs);
	if (rc == 0)
		rc = write_done(y, fs);
	if (fs_close(fs) < 0 && rc == 0)
		rc = fs_fail(y, fs, -EIO);
	return rc;
}

/* ---- the whole ------------------------------------------------------------------- */

static int make_tmp(struct sys *y)
{
	const char *t = getenv("TMPDIR");

	snprintf(y->tmp, sizeof(y->tmp), "%s/sysrecover-sys.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(y->tmp)) {
		int e = errno;

		y->tmp[0] = 0;
		return err_set(&y->r->err, -e, "cannot make a temporary directory: %s", strerror(e));
	}
	return 0;
}

int rs_restore_system(struct rs *r, size_t i, const struct rs_restore_opts *o,
		      const struct rs_sys_opts *so, struct rs_restore_result *res,
		      struct rs_sys_result *sr)
{
	struct sys *y = calloc(1, sizeof(*y));
	struct rs_restore_opts ro;
	int rc, drc = 0;

	memset(res, 0, sizeof(*res));
	memset(sr, 0, sizeof(*sr));
	if (!y)
		return err_set(&r->err, -ENOMEM, "out of memory");
	*y = (struct sys){ .r = r, .o = o, .so = so, .sr = sr };
	err_clear(&r->err);
	if (i >= r->nsets) {
		rc = err_set(&r->err, -ENOENT, "%s holds %zu sets: there is no set %zu",
			     r->name, r->nsets, i + 1);
		goto out;
	}
	y->s = &r->sets[i];
	if ((rc = plan_hives(y, i)) < 0 || (rc = make_tmp(y)) < 0 ||
	    (rc = read_hives(y, i)) < 0 || (rc = check_hives(y)) < 0 ||
	    (rc = load_fntb(y)) < 0 || (rc = rs_catalog(r, i, count_skipped, y)) < 0 ||
	    (rc = prepare(y)) < 0)
		goto out;
	ro = *o;
	ro.skip = skip_member;
	ro.skip_arg = y;
	drc = rs_restore(r, i, &ro, res);
	if (drc < 0) {
		rc = drc;
		goto out;
	}
	if (!o->dry_run)
		rc = finish_target(y);
out:
	rm_tmp(y);
	hive_fntb_free(y->fntb);
	free(y);
	return rc < 0 ? rc : drc;
}
