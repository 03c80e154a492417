/* bk_sys.c - system state: the Windows a volume holds, the FilesNotToBackup
 * rules that leave members out, the hives (bk_sys.h, bk.h).
 *
 * Everything comes from the volume itself, read offline: the SYSTEM hive of
 * Windows\System32\config (its logs replayed in memory when it is dirty; a
 * dirty hive without logs is read as it is, with a warning, which is the
 * hive module's rule), the rules in its current control set, and the
 * variables they use from SOFTWARE and SYSTEM (hive_fntb_load).  Names on
 * NTFS are case-insensitive, so the path to the hives is found entry by
 * entry with the registry's own folding.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "bk_sys.h"
#include "fs.h"
#include "hive.h"

/* The hives Windows keeps in System32\config, by file name. */
static const char *const sys_hive_names[] = {
	"SYSTEM", "SOFTWARE", "SAM", "SECURITY", "DEFAULT", "COMPONENTS",
	"DRIVERS", "BBI", "ELAM", NULL,
};

struct bk_sys {
	char root[PATH_MAX];         /* "/Windows", as spelled on the volume */
	char config[PATH_MAX];       /* root + "/System32/config" */
	char hive[ARC_HIVE_MAX][256];/* hive files in config, as spelled */
	size_t nhive;
	char drive;                  /* SystemRoot's drive letter */
	struct hive_fntb *fntb;
	struct bk_sys_result *res;   /* rules[i] for fntb->rules[i], then skipped */
};

/* ---- finding things on a case-insensitive volume ------------------------- */

struct sys_find {
	const char *want;
	bool dir;
	char found[256];
};

static int find_cb(void *arg, const char *name, const struct fs_stat *st)
{
	struct sys_find *f = arg;

	if (S_ISDIR(st->mode) != f->dir || hive_name_casecmp(name, f->want) ||
	    strlen(name) >= sizeof(f->found))
		return 0;
	strcpy(f->found, name);
	return 1;
}

/* dir + "/" + the entry named `name` in any case, into out; -ENOENT. */
static int find_child(struct fs *fs, const char *dir, const char *name, bool isdir,
		      char *out, size_t cap)
{
	struct sys_find f = { .want = name, .dir = isdir };
	int rc = fs_readdir(fs, dir, find_cb, &f);

	if (rc < 0)
		return rc;
	if (rc == 0)
		return -ENOENT;
	if ((size_t)snprintf(out, cap, "%s/%s", strcmp(dir, "/") ? dir : "", f.found) >= cap)
		return -ENAMETOOLONG;
	return 0;
}

static int find_windows(struct bk_sys *s, struct fs *fs)
{
	static const char *const roots[] = { "Windows", "WINNT", NULL };
	char sys32[PATH_MAX], system[PATH_MAX];

	for (size_t i = 0; roots[i]; i++)
		if (find_child(fs, "/", roots[i], true, s->root, sizeof(s->root)) == 0 &&
		    find_child(fs, s->root, "System32", true, sys32, sizeof(sys32)) == 0 &&
		    find_child(fs, sys32, "config", true, s->config, sizeof(s->config)) == 0 &&
		    find_child(fs, s->config, "SYSTEM", false, system, sizeof(system)) == 0)
			return 0;
	return -ENOENT;
}

static bool is_hive_name(const char *name)
{
	for (size_t i = 0; sys_hive_names[i]; i++)
		if (!hive_name_casecmp(name, sys_hive_names[i]))
			return true;
	return false;
}

static int hives_cb(void *arg, const char *name, const struct fs_stat *st)
{
	struct bk_sys *s = arg;

	if (S_ISREG(st->mode) && is_hive_name(name) && s->nhive < ARC_HIVE_MAX &&
	    strlen(name) < sizeof(s->hive[0]))
		strcpy(s->hive[s->nhive++], name);
	return 0;
}

/* ---- what the hives say -------------------------------------------------- */

static void version(struct bk_sys_result *r, struct hive *sw)
{
	char *product = NULL, *build = NULL;
	uint32_t ubr;
	hive_key k;

	if (!sw || hive_lookup(sw, "Microsoft\\Windows NT\\CurrentVersion", &k) < 0)
		return;
	if (hive_get_sz(sw, k, "ProductName", &product) == 0)
		snprintf(r->windows, sizeof(r->windows), "%s", product);
	if (hive_get_sz(sw, k, "CurrentBuild", &build) < 0)
		hive_get_sz(sw, k, "CurrentBuildNumber", &build);
	if (build && hive_get_dword(sw, k, "UBR", &ubr) == 0)
		snprintf(r->build, sizeof(r->build), "%.20s.%u", build, ubr);
	else if (build)
		snprintf(r->build, sizeof(r->build), "%s", build);
	free(product);
	free(build);
}

static int rule_copy(struct bk_rule *d, const char *component, const char *entry,
		     const char *expanded, const char *why)
{
	d->component = strdup(component);
	d->entry = strdup(entry);
	d->expanded = expanded ? strdup(expanded) : NULL;
	d->skipped = why ? strdup(why) : NULL;
	if (!d->component || !d->entry || (expanded && !d->expanded) || (why && !d->skipped))
		return -ENOMEM;
	return 0;
}

static int rules(struct bk_sys *s)
{
	const struct hive_fntb *f = s->fntb;
	struct bk_sys_result *r = s->res;
	int rc = 0;

	r->rules = calloc(f->n + f->nskipped + 1, sizeof(*r->rules));
	if (!r->rules)
		return -ENOMEM;
	for (size_t i = 0; rc == 0 && i < f->n; i++, r->nrules++)
		rc = rule_copy(&r->rules[i], f->rules[i].component, f->rules[i].entry,
			       f->rules[i].expanded, NULL);
	for (size_t i = 0; rc == 0 && i < f->nskipped; i++, r->nrules++)
		rc = rule_copy(&r->rules[r->nrules], f->skipped[i].component,
			       f->skipped[i].entry, NULL, f->skipped[i].why);
	snprintf(r->systemroot, sizeof(r->systemroot), "%s", f->systemroot);
	r->systemroot_src = f->systemroot_src;
	s->drive = f->systemroot[0] && f->systemroot[1] == ':' ?
		   (char)(f->systemroot[0] & ~0x20) : 'C';
	return rc;
}

/* SYSTEM (must open) and SOFTWARE (may be absent or unreadable: the
 * defaults of hive_fntb_load then, and no version). */
static int read_hives(struct bk_sys *s, struct fs *fs, const char *source,
		      struct err *err)
{
	struct hive *sys = NULL, *sw = NULL;
	char path[PATH_MAX];
	struct err e = { 0 };
	int rc;

	find_child(fs, s->config, "SYSTEM", false, path, sizeof(path));
	snprintf(s->res->system, sizeof(s->res->system), "%.500s", path);
	rc = hive_open_fs(fs, path, 0, &sys, &e);
	if (rc < 0) {
		err_setc(err, ERR_FATAL, ERR_REFUSED, rc, "cannot read the SYSTEM hive '%s' of "
			 "%s, whose FilesNotToBackup a system-state backup needs: %s", path,
			 source, e.msg);
		goto out;
	}
	snprintf(s->res->warning, sizeof(s->res->warning), "%s", hive_warning(sys));
	if (find_child(fs, s->config, "SOFTWARE", false, path, sizeof(path)) == 0 &&
	    hive_open_fs(fs, path, 0, &sw, &e) < 0)
		sw = NULL;
	rc = hive_fntb_load(sys, sw, &s->fntb, err);
	if (rc == 0)
		rc = rules(s);
	if (rc == -ENOMEM)
		err_set(err, rc, "out of memory");
	if (rc == 0)
		version(s->res, sw);
out:
	if (sw)
		hive_close(sw);
	if (sys)
		hive_close(sys);
	return rc;
}

/* ---- the interface ------------------------------------------------------- */

int bk_sys_open(struct fs *fs, const char *source, struct bk_sys **out, struct err *err)
{
	struct bk_sys *s = calloc(1, sizeof(*s));
	struct fs_volume fv;
	struct err e = { 0 };
	int rc;

	*out = NULL;
	if (!s || !(s->res = calloc(1, sizeof(*s->res)))) {
		free(s);
		return err_set(err, -ENOMEM, "out of memory");
	}
	if (fs_kind(fs) != FS_KIND_NTFS)
		rc = err_setc(err, ERR_FATAL, ERR_REFUSED, -EINVAL, "'%s' is %s, not an NTFS "
			      "volume: --system-state backs up the unmounted volume Windows "
			      "boots from", source, fs_kind(fs) == FS_KIND_DIR ? "a directory" :
			      fs_kind_name(fs_kind(fs)));
	else if (fs_volume_resolve(source, NULL, 0, &fv, &e) == 0 && fv.mounted)
		rc = err_setc(err, ERR_FATAL, ERR_REFUSED, -EBUSY, "'%s' is mounted at %s: a "
			      "system-state backup reads Windows offline (umount it first)",
			      source, fv.mountpoint);
	else if (find_windows(s, fs) < 0)
		rc = err_setc(err, ERR_FATAL, ERR_REFUSED, -ENOENT, "no Windows on '%s': "
			      "Windows\\System32\\config\\SYSTEM is not there, so there is no "
			      "system state to back up", source);
	else
		rc = read_hives(s, fs, source, err);
	if (rc == 0)
		fs_readdir(fs, s->config, hives_cb, s);
	if (rc < 0) {
		bk_sys_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void bk_sys_label(const struct bk_sys *s, struct arc_label *l, const char *vol)
{
	l->flags |= ARC_SET_SYSTEM_STATE;
	snprintf(l->windows, sizeof(l->windows), "%s", s->res->windows);
	snprintf(l->win_build, sizeof(l->win_build), "%s", s->res->build);
	snprintf(l->win_root, sizeof(l->win_root), "%s %s", vol, s->res->systemroot);
	l->nhive = 0;
	for (size_t i = 0; i < s->nhive; i++)
		if ((size_t)snprintf(l->hive[l->nhive], sizeof(l->hive[0]), "%s%s/%s", vol,
				     s->config, s->hive[i]) < sizeof(l->hive[0]))
			l->nhive++;
}

int bk_sys_leave_out(struct bk_sys *s, const char *vol, const char *path)
{
	const struct hive_fntb_rule *hit;
	struct bk_rule *r;
	char *p = strdup(path);

	if (!p)
		return 0;   /* kept: never lose a file to an allocation */
	for (char *c = p; *c; c++)
		if (*c == '/')
			*c = '\\';
	hit = hive_fntb_match(s->fntb, s->drive, p);
	free(p);
	if (!hit)
		return 0;
	r = &s->res->rules[hit - s->fntb->rules];
	r->members++;
	s->res->excluded++;
	if (!r->first && asprintf(&r->first, "%s%s", vol, path) < 0)
		r->first = NULL;
	return 1;
}

bool bk_sys_is_hive(struct bk_sys *s, struct fs *fs, const char *path)
{
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct fs_file *f = NULL;
	char magic[4], parent[PATH_MAX];
	bool is = false;
	size_t n = (size_t)(name - path);

	if (n < 2 || n >= sizeof(parent))
		return false;
	memcpy(parent, path, n - 1);
	parent[n - 1] = '\0';
	{
		const char *dir = strrchr(parent, '/') ? strrchr(parent, '/') + 1 : parent;

		if (!(is_hive_name(name) && !hive_name_casecmp(dir, "config") &&
		      dir - parent >= 9 && !strncasecmp(dir - 9, "System32/", 9)) &&
		    hive_name_casecmp(name, "NTUSER.DAT") && hive_name_casecmp(name, "UsrClass.dat"))
			return false;
	}
	if (fs_file_open(fs, path, NULL, 0, &f) == 0) {
		is = fs_file_pread(f, magic, 4, 0) == 4 && !memcmp(magic, "regf", 4);
		fs_file_close(f);
	}
	if (is)
		s->res->hives++;
	return is;
}

int bk_sys_take(struct bk_sys *s, struct bk_sys_result **out)
{
	*out = s->res;
	s->res = NULL;
	return 0;
}

void bk_sys_result_free(struct bk_sys_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nrules; i++) {
		free(r->rules[i].component);
		free(r->rules[i].entry);
		free(r->rules[i].expanded);
		free(r->rules[i].skipped);
		free(r->rules[i].first);
	}
	free(r->rules);
	free(r);
}

void bk_sys_free(struct bk_sys *s)
{
	if (!s)
		return;
	hive_fntb_free(s->fntb);
	bk_sys_result_free(s->res);
	free(s);
}
