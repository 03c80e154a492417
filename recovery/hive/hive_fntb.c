/* hive_fntb.c - FilesNotToBackup: turn the `[Drive][Path]\FileName [/s]` entries of a SYSTEM hive into rules and match files.
 *
 * The entries live in CurrentControlSet\Control\BackupRestore\
 * FilesNotToBackup, one REG_MULTI_SZ per component (Microsoft's "Registry
 * keys and values for backup and restore", see HACKING.md).
 *
 * Environment variables are expanded from the offline hives where they can
 * be; a variable we cannot know (%UserProfile% is per user) makes the entry
 * skipped with a reason, never guessed.  Files in the SIS Common Store are
 * never matched: deleting them would break every SIS link on the volume.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "hive_impl.h"

#define FNTB_KEY "Control\\BackupRestore\\FilesNotToBackup"
#define FNTB_ENV_KEY "Control\\Session Manager\\Environment"
#define FNTB_SW_CV "Microsoft\\Windows NT\\CurrentVersion"
#define FNTB_SW_PL FNTB_SW_CV "\\ProfileList"
#define FNTB_SW_WCV "Microsoft\\Windows\\CurrentVersion"
#define FNTB_SIS "\\SIS Common Store"
#define FNTB_MAX_EXPAND 8      /* nested %VAR% levels */
#define FNTB_MAX_LEN 32767

/* ---- environment ------------------------------------------------------------ */

/* Append n bytes of p to b, keeping it NUL-terminated (b->d is a string
 * once anything was added) and shorter than any Windows path. */
static int sb_add(struct buf *b, const char *p, size_t n)
{
	static const char nul;

	if (b->n + n + 1 > FNTB_MAX_LEN)
		return -E2BIG;
	buf_add(b, p, n);
	buf_add(b, &nul, 1);
	if (b->rc)
		return b->rc;
	b->n--;  /* the NUL is not part of the text */
	return 0;
}

/* The value of one variable, or NULL when we cannot know it. */
static const char *env_get(const struct hive_fntb_env *env, const char *name,
			   size_t len, char drive[3])
{
#define IS(lit) (len == sizeof(lit) - 1 && !strncasecmp(name, lit, len))
	if (IS("SystemRoot") || IS("windir"))
		return env->systemroot;
	if (IS("SystemDrive")) {
		const char *r = env->systemroot;

		if (!r || !r[0] || r[1] != ':')
			return NULL;
		drive[0] = r[0];
		drive[1] = ':';
		drive[2] = '\0';
		return drive;
	}
	if (IS("TEMP"))
		return env->temp;
	if (IS("TMP"))
		return env->tmp;
	if (IS("ProgramData") || IS("ALLUSERSPROFILE"))
		return env->programdata;
	if (IS("ProgramFiles") || IS("ProgramW6432"))
		return env->programfiles;
	if (IS("ProgramFiles(x86)"))
		return env->programfiles_x86;
	if (IS("CommonProgramFiles"))
		return env->commonfiles;
	return NULL;  /* %UserProfile% and anything else: unresolved */
#undef IS
}

static int expand(const char *s, const struct hive_fntb_env *env, int depth,
		  struct buf *b, char *why, size_t whylen)
{
	int rc = 0;

	if (depth > FNTB_MAX_EXPAND) {
		snprintf(why, whylen, "variables nested too deeply");
		return -ELOOP;
	}
	while (*s && rc == 0) {
		const char *pct = strchr(s, '%'), *end;
		const char *val;
		char drive[3];

		if (!pct)
			return sb_add(b, s, strlen(s));
		if ((rc = sb_add(b, s, (size_t)(pct - s))) < 0)
			return rc;
		end = strchr(pct + 1, '%');
		if (!end || end == pct + 1) {  /* a lone '%' or "%%" is literal */
			rc = sb_add(b, pct, end ? 2 : 1);
			s = end ? end + 1 : pct + 1;
			continue;
		}
		val = env_get(env, pct + 1, (size_t)(end - pct - 1), drive);
		if (!val) {
			snprintf(why, whylen, "%%%.*s%% is unresolved offline",
				 (int)(end - pct - 1 > 64 ? 64 : end - pct - 1), pct + 1);
			return -ENOENT;
		}
		rc = expand(val, env, depth + 1, b, why, whylen);
		s = end + 1;
	}
	return rc;
}

/* ---- parsing ------------------------------------------------------------------ */

static bool has_wild(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '*' || s[i] == '?')
			return true;
	return false;
}

/* "\\a\\\\b\\c" -> dir "\\a\\b", name "c"; components "." and ".." refused. */
static int split_path(const char *p, char **dir, char **name, char *why,
		      size_t whylen)
{
	size_t n = strlen(p), j = 0, last = 0;
	char *d = malloc(n + 2);

	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\' && j && d[j - 1] == '\\')
			continue;
		d[j++] = p[i];
	}
	d[j] = '\0';
	for (char *c = d; *c;) {
		char *e = strchr(c + 1, '\\');
		size_t cl = e ? (size_t)(e - c - 1) : strlen(c + 1);

		if ((cl == 1 && c[1] == '.') || (cl == 2 && c[1] == '.' && c[2] == '.')) {
			free(d);
			snprintf(why, whylen, "'.' or '..' in the path");
			return -EINVAL;
		}
		if (!e)
			break;
		c = e;
	}
	last = (size_t)(strrchr(d, '\\') - d);
	if (!d[last + 1]) {
		free(d);
		snprintf(why, whylen, "no file name");
		return -EINVAL;
	}
	if (has_wild(d, last)) {
		free(d);
		snprintf(why, whylen, "wildcard in the directory part");
		return -EINVAL;
	}
	*name = strdup(d + last + 1);
	d[last ? last : 1] = '\0';
	*dir = d;
	return *name ? 0 : -ENOMEM;
}

static bool under_dir(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strncasecmp(path, dir, n))
		return false;
	return path[n] == '\0' || path[n] == '\\';
}

static int parse_expanded(struct hive_fntb_rule *out, char *s, char *why,
			  size_t whylen)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	if (n >= 3 && s[n - 2] == '/' && (s[n - 1] == 's' || s[n - 1] == 'S') &&
	    (s[n - 3] == ' ' || s[n - 3] == '\t')) {
		out->recursive = true;
		n -= 3;
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		s[n] = '\0';
	}
	while (*s == ' ' || *s == '\t')
		s++;
	if (((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')) && s[1] == ':') {
		out->drive = (char)(s[0] & ~0x20);
		s += 2;
	}
	if (s[0] != '\\') {
		snprintf(why, whylen, "not a path (no '\\' after the drive)");
		return -EINVAL;
	}
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == '/' || *p == ':' || *p == '"' ||
		    *p == '<' || *p == '>' || *p == '|') {
			snprintf(why, whylen, "character '%c' is not valid in a path",
				 (unsigned char)*p < 0x20 ? '?' : *p);
			return -EINVAL;
		}
	if (split_path(s, &out->dir, &out->pattern, why, whylen) < 0)
		return -EINVAL;
	out->sis = under_dir(out->dir, FNTB_SIS);
	return 0;
}

int hive_fntb_parse(const char *component, const char *entry,
		    const struct hive_fntb_env *env, struct hive_fntb_rule *out,
		    char *why, size_t whylen)
{
	struct buf b = { 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	if (whylen)
		why[0] = '\0';
	out->component = strdup(component ? component : "");
	out->entry = strdup(entry ? entry : "");
	if (!out->component || !out->entry)
		return -ENOMEM;
	rc = expand(out->entry, env, 0, &b, why, whylen);
	if (rc == 0 && !b.d)
		rc = sb_add(&b, "", 0);
	if (rc == -E2BIG)
		snprintf(why, whylen, "too long");
	if (rc < 0) {
		buf_free(&b);
		return rc == -ENOMEM ? rc : rc == -ENOENT ? -ENOENT : -EINVAL;
	}
	out->expanded = strdup((char *)b.d);
	if (!out->expanded) {
		buf_free(&b);
		return -ENOMEM;
	}
	rc = parse_expanded(out, (char *)b.d, why, whylen);
	buf_free(&b);
	return rc;
}

void hive_fntb_rule_free(struct hive_fntb_rule *r)
{
	if (!r)
		return;
	free(r->component);
	free(r->entry);
	free(r->expanded);
	free(r->dir);
	free(r->pattern);
	memset(r, 0, sizeof(*r));
}

void hive_fntb_free(struct hive_fntb *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		hive_fntb_rule_free(&f->rules[i]);
	for (size_t i = 0; i < f->nskipped; i++) {
		free(f->skipped[i].component);
		free(f->skipped[i].entry);
	}
	free(f->rules);
	free(f->skipped);
	free(f->systemroot);
	free(f);
}

int hive_fntb_add(struct hive_fntb *f, const char *component, const char *entry,
		  const struct hive_fntb_env *env)
{
	struct hive_fntb_rule r;
	char why[160];
	int rc = hive_fntb_parse(component, entry, env, &r, why, sizeof(why));

	if (rc == -ENOMEM) {
		hive_fntb_rule_free(&r);
		return rc;
	}
	if (rc == 0) {
		struct hive_fntb_rule *nr = realloc(f->rules, (f->n + 1) * sizeof(*nr));

		if (!nr) {
			hive_fntb_rule_free(&r);
			return -ENOMEM;
		}
		f->rules = nr;
		nr[f->n++] = r;
		return 0;
	} else {
		struct hive_fntb_skip *ns = realloc(f->skipped, (f->nskipped + 1) * sizeof(*ns));

		hive_fntb_rule_free(&r);
		if (!ns)
			return -ENOMEM;
		f->skipped = ns;
		ns = &ns[f->nskipped];
		ns->component = strdup(component ? component : "");
		ns->entry = strdup(entry ? entry : "");
		snprintf(ns->why, sizeof(ns->why), "%s", why[0] ? why : "not a path");
		f->nskipped++;
		return ns->component && ns->entry ? 0 : -ENOMEM;
	}
}

/* ---- matching ------------------------------------------------------------------ */

/* Match folded code points; '*' any run, '?' one character. */
static bool wild_cp(const uint32_t *p, size_t np, const uint32_t *s, size_t ns)
{
	size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;

	while (si < ns) {
		if (pi < np && (p[pi] == '?' || p[pi] == s[si])) {
			pi++, si++;
		} else if (pi < np && p[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			si = ++mark;
		} else {
			return false;
		}
	}
	while (pi < np && p[pi] == '*')
		pi++;
	return pi == np;
}

static uint32_t *decode(const char *s, size_t *n)
{
	uint32_t *v = malloc((strlen(s) + 1) * sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	while (*s)
		v[(*n)++] = hive_name_next(&s);
	return v;
}

bool hive_fntb_wildcard(const char *pattern, const char *name)
{
	size_t np, ns;
	uint32_t *p, *s;
	bool ok = false;

	if (!strcmp(pattern, "*.*"))
		pattern = "*";  /* DOS: every name, with or without a dot */
	p = decode(pattern, &np);
	s = decode(name, &ns);
	if (p && s) {
		ok = wild_cp(p, np, s, ns);
		/* DOS: "name.*" also matches plain "name". */
		if (!ok && np >= 2 && p[np - 2] == '.' && p[np - 1] == '*')
			ok = wild_cp(p, np - 2, s, ns);
	}
	free(p);
	free(s);
	return ok;
}

static bool dir_matches(const struct hive_fntb_rule *r, const char *dir)
{
	if (!hive_name_casecmp(r->dir, dir))
		return true;
	if (!r->recursive)
		return false;
	if (!strcmp(r->dir, "\\"))
		return true;
	{
		size_t n = strlen(r->dir);
		char *pre = strndup(dir, n);
		bool ok = pre && strlen(pre) == n && dir[n] == '\\' &&
			  !hive_name_casecmp(pre, r->dir);

		free(pre);
		return ok;
	}
}

const struct hive_fntb_rule *hive_fntb_match(const struct hive_fntb *f,
					     char drive, const char *path)
{
	const struct hive_fntb_rule *hit = NULL;
	char *dir = NULL, *name = NULL, *p = NULL, why[64];

	if (!f || !path || asprintf(&p, "%s%s", path[0] == '\\' ? "" : "\\", path) < 0)
		return NULL;
	if (split_path(p, &dir, &name, why, sizeof(why)) < 0)
		goto out;
	{
		/* The SIS Common Store is the store of every SIS link: never. */
		char *first = strndup(p, strcspn(p + 1, "\\") + 1);
		bool sis = first && !hive_name_casecmp(first, FNTB_SIS);

		free(first);
		if (sis)
			goto out;
	}
	if (drive >= 'a' && drive <= 'z')
		drive = (char)(drive - 0x20);
	for (size_t i = 0; i < f->n && !hit; i++) {
		const struct hive_fntb_rule *r = &f->rules[i];

		if (r->sis || (r->drive && r->drive != drive))
			continue;
		if (dir_matches(r, dir) && hive_fntb_wildcard(r->pattern, name))
			hit = r;
	}
out:
	free(p);
	free(dir);
	free(name);
	return hit;
}

/* ---- loading from the hives ------------------------------------------------------ */

static char *get_sz(struct hive *h, const char *path, const char *name)
{
	char *s = NULL;
	hive_key k;

	if (!h || hive_lookup(h, path, &k) < 0 || hive_get_sz(h, k, name, &s) < 0)
		return NULL;
	return s;
}

struct names {
	char **v;
	size_t n;
};

static int name_cb(void *arg, const char *name, uint32_t type, const void *data,
		   size_t len)
{
	struct names *l = arg;
	char **nv = realloc(l->v, (l->n + 1) * sizeof(*nv));

	(void)type, (void)data, (void)len;
	if (!nv)
		return -ENOMEM;
	l->v = nv;
	if (!(nv[l->n] = strdup(name)))
		return -ENOMEM;
	l->n++;
	return 0;
}

static int load_value(struct hive_fntb *f, struct hive *h, hive_key k,
		      const char *name, const struct hive_fntb_env *env)
{
	char **strs = NULL, *one = NULL;
	uint32_t type = 0;
	void *data = NULL;
	size_t len = 0;
	int rc = hive_get(h, k, name, &type, &data, &len);

	free(data);
	if (rc < 0)
		return rc;
	if (type == HIVE_REG_MULTI_SZ)
		rc = hive_get_multi_sz(h, k, name, &strs);
	else if (type == HIVE_REG_SZ || type == HIVE_REG_EXPAND_SZ)
		rc = hive_get_sz(h, k, name, &one);
	else
		return hive_fntb_add(f, name, "(not a string value)", env);
	if (rc < 0)
		return rc;
	if (one)
		rc = hive_fntb_add(f, name, one, env);
	for (size_t i = 0; strs && strs[i] && rc >= 0; i++)
		if (strs[i][0])
			rc = hive_fntb_add(f, name, strs[i], env);
	free(one);
	hive_strv_free(strs);
	return rc;
}

int hive_fntb_load(struct hive *system, struct hive *software,
		   struct hive_fntb **out, struct err *err)
{
	struct hive_fntb *f = calloc(1, sizeof(*f));
	struct hive_fntb_env env = { 0 };
	char *temp = NULL, *tmp = NULL, *pd = NULL, *pf = NULL, *pf86 = NULL, *cf = NULL;
	char path[128];
	struct names names = { 0 };
	unsigned cur = 1, def = 1;
	hive_key k;
	int rc = -ENOMEM;

	if (!f)
		goto out;
	f->systemroot = get_sz(software, FNTB_SW_CV, "SystemRoot");
	f->systemroot_src = f->systemroot ? "SOFTWARE" : "default";
	if (!f->systemroot && !(f->systemroot = strdup("C:\\Windows")))
		goto out;
	env.systemroot = f->systemroot;
	env.systemroot_src = f->systemroot_src;
	pd = get_sz(software, FNTB_SW_PL, "ProgramData");
	env.programdata = pd ? pd : "%SystemDrive%\\ProgramData";
	env.programdata_src = pd ? "SOFTWARE" : "default";
	/* no default: Program Files moved is common, and a guess would
	 * leave out the wrong files */
	env.programfiles = pf = get_sz(software, FNTB_SW_WCV, "ProgramFilesDir");
	env.programfiles_x86 = pf86 = get_sz(software, FNTB_SW_WCV, "ProgramFilesDir (x86)");
	env.commonfiles = cf = get_sz(software, FNTB_SW_WCV, "CommonFilesDir");
	if ((rc = hive_ccs(system, &cur, &def)) < 0)
		goto out;
	snprintf(path, sizeof(path), "ControlSet%03u\\" FNTB_ENV_KEY, cur);
	env.temp = temp = get_sz(system, path, "TEMP");
	env.tmp = tmp = get_sz(system, path, "TMP");
	snprintf(path, sizeof(path), "ControlSet%03u\\" FNTB_KEY, cur);
	rc = hive_lookup(system, path, &k);
	if (rc == -ENOENT) {
		rc = 0;
		goto out;
	}
	if (rc == 0)
		rc = hive_values(system, k, name_cb, &names);
	for (size_t i = 0; rc >= 0 && i < names.n; i++)
		rc = load_value(f, system, k, names.v[i], &env);
out:
	if (rc < 0) {
		err_set(err, rc, "cannot read FilesNotToBackup in %s: %s",
			hive_name(system), strerror(-rc));
		hive_fntb_free(f);
		f = NULL;
	}
	for (size_t i = 0; i < names.n; i++)
		free(names.v[i]);
	free(names.v);
	free(temp);
	free(tmp);
	free(pd);
	free(pf);
	free(pf86);
	free(cf);
	*out = f;
	return rc < 0 ? rc : 0;
}
