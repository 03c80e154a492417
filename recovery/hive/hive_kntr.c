/* hive_kntr.c - KeysNotToRestore: parse the rules of both SYSTEM hives and carry what they name from current into restored.
 *
 * The rules (Microsoft's "Registry keys and values for backup and restore",
 * see HACKING.md) come in three forms: "key\" keeps the current subtree,
 * "key\*" merges current into the backup's, "key\value" keeps one value;
 * a leading CurrentControlSet means the control set Select\Current names.
 *
 * The output hive is edited by key *path*, never by a handle kept across an
 * edit: deleting a subtree invalidates hivex handles below it.  The current
 * hive is only read, so its handles stay valid.  Names read from either hive
 * are untrusted: a key name holding '\' cannot be addressed by path and is
 * refused rather than silently written somewhere else.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "buf.h"
#include "hive_impl.h"
#include "le.h"
#include "text.h"

#define KNTR_KEY_PATH "Control\\BackupRestore\\KeysNotToRestore"
#define KNTR_MAX_DEPTH 512        /* the registry's own nesting limit */
#define KNTR_MAX_ENTRY 32767      /* longest registry path Windows allows */

/* ---- case-insensitive names ------------------------------------------------ */

uint32_t hive_name_next(const char **s)
{
	const unsigned char *p = (const unsigned char *)*s;
	size_t n = text_utf8_len(p);
	uint32_t cp = 0x110000u + p[0];

	if (n)
		text_utf8_seq(p, n, &cp);
	*s += n ? n : 1;
	return hive_name_fold(cp);
}

/* Upper case for the scripts Windows names are usually in. */
uint32_t hive_name_fold(uint32_t c)
{
	if (c >= 'a' && c <= 'z')
		return c - 0x20;
	if (c >= 0xe0 && c <= 0xfe && c != 0xf7)
		return c - 0x20;
	if (c == 0xff)
		return 0x178;
	if (c >= 0x3b1 && c <= 0x3c9 && c != 0x3c2)
		return c - 0x20;
	if (c >= 0x430 && c <= 0x44f)
		return c - 0x20;
	if (c >= 0x450 && c <= 0x45f)
		return c - 0x50;
	return c;
}

int hive_name_casecmp(const char *a, const char *b)
{
	while (*a && *b) {
		uint32_t x = hive_name_next(&a);
		uint32_t y = hive_name_next(&b);

		if (x != y)
			return x < y ? -1 : 1;
	}
	return (*a != 0) - (*b != 0);
}

/* ---- parsing ---------------------------------------------------------------- */

const char *hive_kntr_form_name(enum hive_kntr_form f)
{
	switch (f) {
	case HIVE_KNTR_KEY: return "key";
	case HIVE_KNTR_MERGE: return "merge";
	case HIVE_KNTR_VALUE: return "value";
	case HIVE_KNTR_INVALID: return "invalid";
	}
	return "?";
}

const char *hive_kntr_outcome_name(enum hive_kntr_outcome o)
{
	switch (o) {
	case HIVE_KNTR_KEPT: return "kept";
	case HIVE_KNTR_MERGED: return "merged";
	case HIVE_KNTR_LEFT_ALONE: return "left alone";
	case HIVE_KNTR_MISSING: return "missing";
	case HIVE_KNTR_IGNORED: return "ignored";
	case HIVE_KNTR_FAILED: return "failed";
	}
	return "?";
}

/* Length of an ASCII prefix matched case-insensitively, 0 when absent. */
static size_t prefix_len(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncasecmp(s, prefix, n) == 0 ? n : 0;
}

/* Drop an absolute prefix naming HKLM\SYSTEM (the VSS documentation's form). */
static const char *strip_absolute(const char *s, bool *was_root)
{
	static const char *const pre[] = {
		"HKEY_LOCAL_MACHINE\\SYSTEM", "HKLM\\SYSTEM",
		"\\REGISTRY\\MACHINE\\SYSTEM", "REGISTRY\\MACHINE\\SYSTEM",
	};

	*was_root = false;
	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		size_t n = prefix_len(s, pre[i]);

		if (n && (s[n] == '\\' || s[n] == '\0')) {
			*was_root = true;
			return s + n;
		}
	}
	return s;
}

/* Join the non-empty '\'-separated components of s[0..len) into a new
 * string: "a\\\\b\\" -> "a\\b". */
static char *normalise_path(const char *s, size_t len)
{
	char *o = malloc(len + 1);
	size_t j = 0;

	if (!o)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && (j == 0 || o[j - 1] == '\\'))
			continue;
		o[j++] = s[i];
	}
	if (j && o[j - 1] == '\\')
		j--;
	o[j] = '\0';
	return o;
}

static int set_invalid(struct hive_kntr_rule *out, const char *why)
{
	out->form = HIVE_KNTR_INVALID;
	out->why = why;
	return -EINVAL;
}

/* Split a normalised path into CurrentControlSet + rest. */
static int split_ccs(struct hive_kntr_rule *out, char *path)
{
	size_t n = prefix_len(path, "CurrentControlSet");

	if (n && (path[n] == '\\' || path[n] == '\0')) {
		out->ccs = true;
		out->key = strdup(path + n + (path[n] == '\\'));
		free(path);
	} else {
		out->key = path;
	}
	return out->key ? 0 : -ENOMEM;
}

int hive_kntr_parse(const char *component, const char *entry,
		    struct hive_kntr_rule *out)
{
	const char *s, *e;
	bool absolute;
	size_t len;
	char *path;

	memset(out, 0, sizeof(*out));
	out->component = strdup(component ? component : "");
	out->entry = strdup(entry ? entry : "");
	if (!out->component || !out->entry)
		return -ENOMEM;
	s = out->entry;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	if (e == s)
		return set_invalid(out, "empty entry");
	if ((size_t)(e - s) > KNTR_MAX_ENTRY)
		return set_invalid(out, "longer than any registry path");
	for (const char *p = s; p < e; p++)
		if ((unsigned char)*p < 0x20)
			return set_invalid(out, "control character in the path");
	s = strip_absolute(s, &absolute);
	len = (size_t)(e - s);
	if (len >= 2 && s[len - 2] == '\\' && s[len - 1] == '*') {
		out->form = HIVE_KNTR_MERGE;
		len -= 2;
	} else if (len == 1 && s[0] == '*') {
		out->form = HIVE_KNTR_MERGE;
		len = 0;
	} else if (len >= 1 && s[len - 1] == '\\') {
		out->form = HIVE_KNTR_KEY;
	} else {
		out->form = HIVE_KNTR_VALUE;
	}
	path = normalise_path(s, len);
	if (!path)
		return -ENOMEM;
	if (out->form == HIVE_KNTR_VALUE) {
		char *bs = strrchr(path, '\\');

		out->value = strdup(bs ? bs + 1 : path);
		if (bs)
			*bs = '\0';
		else
			path[0] = '\0';
		if (!out->value) {
			free(path);
			return -ENOMEM;
		}
		if (!out->value[0]) {
			free(path);
			return set_invalid(out, "no key or value name");
		}
	}
	if (split_ccs(out, path) < 0)
		return -ENOMEM;
	if (!out->key[0] && !out->ccs && out->form != HIVE_KNTR_VALUE)
		return set_invalid(out, "names the whole SYSTEM hive");
	(void)absolute;
	return 0;
}

void hive_kntr_rule_free(struct hive_kntr_rule *r)
{
	if (!r)
		return;
	free(r->component);
	free(r->entry);
	free(r->key);
	free(r->value);
	memset(r, 0, sizeof(*r));
}

void hive_kntr_rules_free(struct hive_kntr_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++)
		hive_kntr_rule_free(&rules[i]);
	free(rules);
}

static bool str_eq_ci(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return hive_name_casecmp(a, b) == 0;
}

static bool same_rule(const struct hive_kntr_rule *a, const struct hive_kntr_rule *b)
{
	if (a->form == HIVE_KNTR_INVALID || b->form == HIVE_KNTR_INVALID)
		return a->form == b->form && str_eq_ci(a->entry, b->entry);
	return a->form == b->form && a->ccs == b->ccs && str_eq_ci(a->key, b->key) &&
	       str_eq_ci(a->value, b->value);
}

/* Add a parsed rule unless an equal one is there (then merge `from`). */
static int add_rule(struct hive_kntr_rule **rules, size_t *n,
		    struct hive_kntr_rule *r)
{
	struct hive_kntr_rule *nr;

	for (size_t i = 0; i < *n; i++) {
		if (same_rule(&(*rules)[i], r)) {
			(*rules)[i].from |= r->from;
			hive_kntr_rule_free(r);
			return 0;
		}
	}
	nr = realloc(*rules, (*n + 1) * sizeof(**rules));
	if (!nr) {
		hive_kntr_rule_free(r);
		return -ENOMEM;
	}
	*rules = nr;
	nr[(*n)++] = *r;
	return 0;
}

/* ---- reading the rules from a hive ----------------------------------------- */

struct namelist {
	char **v;
	hive_key *k;
	size_t n, cap;
};

static int namelist_add(struct namelist *l, const char *name, hive_key k)
{
	void *pv = l->v, *pk = l->k;
	size_t kcap = l->cap;

	if (buf_grow(&pv, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
		return -ENOMEM;
	l->v = pv;
	if (buf_grow(&pk, &kcap, l->n + 1, sizeof(*l->k)) < 0)
		return -ENOMEM;
	l->k = pk;
	l->v[l->n] = strdup(name);
	if (!l->v[l->n])
		return -ENOMEM;
	l->k[l->n++] = k;
	return 0;
}

static void namelist_free(struct namelist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->k);
	memset(l, 0, sizeof(*l));
}

static int child_cb(void *arg, const char *name, hive_key child)
{
	return namelist_add(arg, name, child);
}

static int value_name_cb(void *arg, const char *name, uint32_t type,
			 const void *data, size_t len)
{
	(void)type, (void)data, (void)len;
	return namelist_add(arg, name, 0);
}

/* The strings of one KeysNotToRestore value, as rules. */
static int read_component(struct hive *h, hive_key k, const char *name,
			  unsigned from, struct hive_kntr_rule **rules, size_t *n)
{
	struct hive_kntr_rule r;
	char **strs = NULL, *one = NULL;
	uint32_t type = 0;
	void *data = NULL;
	size_t len = 0;
	int rc;

	rc = hive_get(h, k, name, &type, &data, &len);
	free(data);
	if (rc < 0)
		return rc;
	if (type == HIVE_REG_MULTI_SZ) {
		rc = hive_get_multi_sz(h, k, name, &strs);
	} else if (type == HIVE_REG_SZ || type == HIVE_REG_EXPAND_SZ) {
		rc = hive_get_sz(h, k, name, &one);
	} else {
		hive_kntr_parse(name, "", &r);
		r.form = HIVE_KNTR_INVALID;
		r.why = "value is not REG_MULTI_SZ";
		r.from = from;
		return add_rule(rules, n, &r);
	}
	if (rc < 0)
		return rc;
	if (one) {
		rc = hive_kntr_parse(name, one, &r);
		free(one);
		r.from = from;
		return rc == -ENOMEM ? rc : add_rule(rules, n, &r);
	}
	for (size_t i = 0; strs && strs[i]; i++) {
		if (!strs[i][0])
			continue;  /* the list's own terminator in odd data */
		rc = hive_kntr_parse(name, strs[i], &r);
		r.from = from;
		if (rc == -ENOMEM || (rc = add_rule(rules, n, &r)) < 0)
			break;
		rc = 0;
	}
	hive_strv_free(strs);
	return rc;
}

int hive_kntr_read(struct hive *h, unsigned from, struct hive_kntr_rule **rules,
		   size_t *n, struct err *err)
{
	struct namelist names = { 0 };
	unsigned cur = 1, def = 1;
	char path[64];
	hive_key k;
	int rc;

	rc = hive_ccs(h, &cur, &def);
	if (rc < 0) {
		err_copy(err, hive_error(h));
		return err_context(err, "while reading KeysNotToRestore");
	}
	snprintf(path, sizeof(path), "ControlSet%03u\\" KNTR_KEY_PATH, cur);
	rc = hive_lookup(h, path, &k);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return err_set(err, rc, "cannot read KeysNotToRestore in %s: %s",
			       hive_name(h), strerror(-rc));
	rc = hive_values(h, k, value_name_cb, &names);
	for (size_t i = 0; rc >= 0 && i < names.n; i++)
		rc = read_component(h, k, names.v[i], from, rules, n);
	if (rc < 0)
		err_set(err, rc, "cannot read KeysNotToRestore in %s: %s",
			hive_name(h), strerror(-rc));
	namelist_free(&names);
	return rc < 0 ? rc : 0;
}

char *hive_kntr_key_path(struct hive *h, const struct hive_kntr_rule *r)
{
	unsigned cur = 1, def = 1;
	char *p = NULL;

	if (!r->key)
		return NULL;
	if (!r->ccs)
		return strdup(r->key);
	if (hive_ccs(h, &cur, &def) < 0)
		cur = 1;
	if (asprintf(&p, "ControlSet%03u%s%s", cur, r->key[0] ? "\\" : "", r->key) < 0)
		return NULL;
	return p;
}

/* ---- values and subtrees ---------------------------------------------------- */

struct val {
	char *name;
	uint32_t type;
	uint8_t *data;
	size_t len;
};

struct vallist {
	struct val *v;
	size_t n, cap;
};

static int val_cb(void *arg, const char *name, uint32_t type, const void *data,
		  size_t len)
{
	struct vallist *l = arg;
	struct val *v;

	void *p = l->v;

	if (buf_grow(&p, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
		return -ENOMEM;
	l->v = p;
	v = &l->v[l->n];
	v->name = strdup(name);
	v->data = malloc(len ? len : 1);
	if (!v->name || !v->data) {
		free(v->name);
		free(v->data);
		return -ENOMEM;
	}
	if (len)
		memcpy(v->data, data, len);
	v->type = type;
	v->len = len;
	l->n++;
	return 0;
}

static void vallist_free(struct vallist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].data);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static const struct val *val_find(const struct vallist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (hive_name_casecmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

static bool val_same(const struct val *a, const struct val *b)
{
	return a->type == b->type && a->len == b->len &&
	       (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static ssize_t name_find(const struct namelist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (hive_name_casecmp(l->v[i], name) == 0)
			return (ssize_t)i;
	return -1;
}

struct apply {
	struct hive *cur, *out;
	struct hive_kntr_result *r;
	enum hive_kntr_policy policy;
};

/* The first failure of a rule is the one its result keeps. */
static int fail(struct apply *a, int rc, const char *what, const char *path)
{
	if (!err_failed(&a->r->err))
		err_setc(&a->r->err, ERR_ITEM, ERR_SYSTEM, rc, "%s '%s': %s",
			 what, path, strerror(-rc));
	return rc;
}

static char *child_path(const char *parent, const char *name)
{
	char *p = NULL;

	if (strchr(name, '\\'))
		return NULL;
	if (asprintf(&p, "%s%s%s", parent, parent[0] ? "\\" : "", name) < 0)
		return NULL;
	return p;
}

/* Do two subtrees hold the same names, types and bytes? */
static int tree_equal(struct hive *h1, hive_key k1, struct hive *h2, hive_key k2,
		      int depth)
{
	struct vallist v1 = { 0 }, v2 = { 0 };
	struct namelist c1 = { 0 }, c2 = { 0 };
	int rc;

	if (depth > KNTR_MAX_DEPTH)
		return -ELOOP;
	if ((rc = hive_values(h1, k1, val_cb, &v1)) < 0 ||
	    (rc = hive_values(h2, k2, val_cb, &v2)) < 0 ||
	    (rc = hive_children(h1, k1, child_cb, &c1)) < 0 ||
	    (rc = hive_children(h2, k2, child_cb, &c2)) < 0)
		goto out;
	rc = v1.n == v2.n && c1.n == c2.n;
	for (size_t i = 0; rc == 1 && i < v1.n; i++) {
		const struct val *o = val_find(&v2, v1.v[i].name);

		rc = o && val_same(&v1.v[i], o);
	}
	for (size_t i = 0; rc == 1 && i < c1.n; i++) {
		ssize_t j = name_find(&c2, c1.v[i]);

		rc = j < 0 ? 0 : tree_equal(h1, c1.k[i], h2, c2.k[j], depth + 1);
	}
out:
	vallist_free(&v1);
	vallist_free(&v2);
	namelist_free(&c1);
	namelist_free(&c2);
	return rc;
}

/* Copy the values and subkeys of kc (current) into out_path (created). */
static int copy_tree(struct apply *a, hive_key kc, const char *out_path, int depth)
{
	struct vallist vals = { 0 };
	struct namelist kids = { 0 };
	hive_key ko;
	int rc;

	if (depth > KNTR_MAX_DEPTH)
		return fail(a, -ELOOP, "too deep", out_path);
	rc = hive_create(a->out, out_path, &ko);
	if (rc < 0)
		return fail(a, rc, "cannot create", out_path);
	a->r->keys++;
	if ((rc = hive_values(a->cur, kc, val_cb, &vals)) < 0 ||
	    (rc = hive_children(a->cur, kc, child_cb, &kids)) < 0) {
		rc = fail(a, rc, "cannot read", out_path);
		goto out;
	}
	for (size_t i = 0; i < vals.n; i++) {
		const struct val *v = &vals.v[i];

		rc = hive_set(a->out, ko, v->name, v->type, v->data, v->len);
		if (rc < 0) {
			rc = fail(a, rc, "cannot set a value in", out_path);
			goto out;
		}
		a->r->values++;
	}
	for (size_t i = 0; i < kids.n; i++) {
		char *p = child_path(out_path, kids.v[i]);

		if (!p) {
			rc = fail(a, -EINVAL, "a key name holds '\\' under", out_path);
			goto out;
		}
		rc = copy_tree(a, kids.k[i], p, depth + 1);
		free(p);
		if (rc < 0)
			goto out;
	}
out:
	vallist_free(&vals);
	namelist_free(&kids);
	return rc;
}

/* ---- the three forms --------------------------------------------------------- */

static int delete_out(struct apply *a, const char *path)
{
	hive_key ko;
	int rc = hive_lookup(a->out, path, &ko);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return fail(a, rc, "cannot look up", path);
	rc = hive_delete_key(a->out, ko);
	if (rc < 0)
		return fail(a, rc, "cannot delete", path);
	a->r->removed = true;
	return 0;
}

static int apply_key(struct apply *a, const char *cp, const char *op)
{
	hive_key kc, ko;
	int rc = hive_lookup(a->cur, cp, &kc);

	if (rc == -ENOENT) {
		a->r->outcome = HIVE_KNTR_MISSING;
		return delete_out(a, op);
	}
	if (rc < 0)
		return fail(a, rc, "cannot look up", cp);
	rc = hive_lookup(a->out, op, &ko);
	if (rc == 0) {
		rc = tree_equal(a->cur, kc, a->out, ko, 0);
		if (rc < 0)
			return fail(a, rc, "cannot compare", op);
		if (rc == 1) {
			a->r->outcome = HIVE_KNTR_LEFT_ALONE;
			return 0;
		}
		if ((rc = hive_delete_key(a->out, ko)) < 0)
			return fail(a, rc, "cannot delete", op);
	} else if (rc != -ENOENT) {
		return fail(a, rc, "cannot look up", op);
	}
	a->r->outcome = HIVE_KNTR_KEPT;
	return copy_tree(a, kc, op, 0);
}

static int apply_value(struct apply *a, const char *cp, const char *op,
		       const char *name)
{
	struct val vc = { 0 }, vo = { 0 };
	void *dc = NULL, *dout = NULL;
	hive_key kc, ko;
	int rc = hive_lookup(a->cur, cp, &kc);

	if (rc == 0)
		rc = hive_get(a->cur, kc, name, &vc.type, &dc, &vc.len);
	if (rc == -ENOENT) {
		a->r->outcome = HIVE_KNTR_MISSING;
		if (hive_lookup(a->out, op, &ko) == 0 &&
		    hive_get(a->out, ko, name, &vo.type, &dout, &vo.len) == 0) {
			rc = hive_unset(a->out, ko, name);
			if (rc < 0)
				rc = fail(a, rc, "cannot delete a value of", op);
			else
				a->r->removed = true;
		} else {
			rc = 0;
		}
		goto out;
	}
	if (rc < 0) {
		rc = fail(a, rc, "cannot read", cp);
		goto out;
	}
	vc.data = dc;
	if (hive_lookup(a->out, op, &ko) == 0 &&
	    hive_get(a->out, ko, name, &vo.type, &dout, &vo.len) == 0) {
		vo.data = dout;
		if (val_same(&vc, &vo)) {
			a->r->outcome = HIVE_KNTR_LEFT_ALONE;
			goto out;
		}
	}
	if ((rc = hive_create(a->out, op, &ko)) < 0) {
		rc = fail(a, rc, "cannot create", op);
		goto out;
	}
	rc = hive_set(a->out, ko, name, vc.type, vc.data, vc.len);
	if (rc < 0) {
		rc = fail(a, rc, "cannot set a value in", op);
		goto out;
	}
	a->r->outcome = HIVE_KNTR_KEPT;
	a->r->values = 1;
out:
	free(dc);
	free(dout);
	return rc;
}

/* A REG_DWORD Start value, or -1 when absent or malformed. */
static int64_t start_of(const struct vallist *l)
{
	const struct val *v = val_find(l, "Start");

	if (!v || v->type != HIVE_REG_DWORD || v->len != 4)
		return -1;
	return (int64_t)le_get32(v->data);
}

/* VSS: the existing subkey and the restored one both exist; the restored one
 * stays, but an earlier (lower) Start of the existing one wins. */
static int vss_start(struct apply *a, hive_key kc, const char *op)
{
	struct vallist vc = { 0 }, vo = { 0 };
	int64_t sc, so;
	hive_key ko;
	int rc;

	if ((rc = hive_lookup(a->out, op, &ko)) < 0 ||
	    (rc = hive_values(a->cur, kc, val_cb, &vc)) < 0 ||
	    (rc = hive_values(a->out, ko, val_cb, &vo)) < 0) {
		rc = fail(a, rc, "cannot read", op);
		goto out;
	}
	sc = start_of(&vc);
	so = start_of(&vo);
	if (sc >= 0 && (so < 0 || sc < so)) {
		const struct val *v = val_find(&vc, "Start");

		rc = hive_set(a->out, ko, "Start", v->type, v->data, v->len);
		if (rc < 0) {
			rc = fail(a, rc, "cannot set Start in", op);
			goto out;
		}
		a->r->start_kept++;
	}
out:
	vallist_free(&vc);
	vallist_free(&vo);
	return rc;
}

/* Values: current's are set where the output lacks them (VSS) or differs
 * (2003); the output's own are counted as kept from the backup. */
static int merge_values(struct apply *a, hive_key kc, hive_key ko, const char *op)
{
	struct vallist vc = { 0 }, vo = { 0 };
	int rc;

	if ((rc = hive_values(a->cur, kc, val_cb, &vc)) < 0 ||
	    (rc = hive_values(a->out, ko, val_cb, &vo)) < 0) {
		rc = fail(a, rc, "cannot read", op);
		goto out;
	}
	for (size_t i = 0; i < vc.n; i++) {
		const struct val *o = val_find(&vo, vc.v[i].name);

		if (o && (a->policy == HIVE_KNTR_VSS || val_same(o, &vc.v[i])))
			continue;
		rc = hive_set(a->out, ko, vc.v[i].name, vc.v[i].type, vc.v[i].data,
			      vc.v[i].len);
		if (rc < 0) {
			rc = fail(a, rc, "cannot set a value in", op);
			goto out;
		}
		a->r->values++;
	}
	for (size_t i = 0; i < vo.n; i++)
		if (!val_find(&vc, vo.v[i].name))
			a->r->backup_values++;
out:
	vallist_free(&vc);
	vallist_free(&vo);
	return rc;
}

/* Merge current key kc into op of the output (which exists). */
static int merge_tree(struct apply *a, hive_key kc, const char *op, int depth)
{
	struct namelist cc = { 0 }, co = { 0 };
	hive_key ko;
	int rc;

	if (depth > KNTR_MAX_DEPTH)
		return fail(a, -ELOOP, "too deep", op);
	if ((rc = hive_lookup(a->out, op, &ko)) < 0)
		return fail(a, rc, "cannot look up", op);
	if ((rc = merge_values(a, kc, ko, op)) < 0)
		return rc;
	if ((rc = hive_children(a->cur, kc, child_cb, &cc)) < 0 ||
	    (rc = hive_children(a->out, ko, child_cb, &co)) < 0) {
		rc = fail(a, rc, "cannot read", op);
		goto out;
	}
	for (size_t i = 0; rc >= 0 && i < cc.n; i++) {
		char *p = child_path(op, cc.v[i]);

		if (!p) {
			rc = fail(a, -EINVAL, "a key name holds '\\' under", op);
			break;
		}
		if (name_find(&co, cc.v[i]) < 0)
			rc = copy_tree(a, cc.k[i], p, depth + 1);
		else if (a->policy == HIVE_KNTR_VSS)
			rc = vss_start(a, cc.k[i], p);
		else
			rc = merge_tree(a, cc.k[i], p, depth + 1);
		free(p);
	}
	for (size_t i = 0; rc >= 0 && i < co.n; i++)
		if (name_find(&cc, co.v[i]) < 0)
			a->r->backup_keys++;
out:
	namelist_free(&cc);
	namelist_free(&co);
	return rc;
}

static int apply_merge(struct apply *a, const char *cp, const char *op)
{
	hive_key kc, ko;
	int rc = hive_lookup(a->cur, cp, &kc);

	if (rc == -ENOENT) {
		a->r->outcome = HIVE_KNTR_MISSING;
		return delete_out(a, op);
	}
	if (rc < 0)
		return fail(a, rc, "cannot look up", cp);
	rc = hive_lookup(a->out, op, &ko);
	if (rc == -ENOENT) {
		a->r->outcome = HIVE_KNTR_KEPT;
		return copy_tree(a, kc, op, 0);
	}
	if (rc < 0)
		return fail(a, rc, "cannot look up", op);
	rc = merge_tree(a, kc, op, 0);
	if (rc >= 0)
		a->r->outcome = a->r->keys || a->r->values || a->r->start_kept ||
				a->r->backup_keys || a->r->backup_values ?
				HIVE_KNTR_MERGED : HIVE_KNTR_LEFT_ALONE;
	return rc;
}

int hive_kntr_apply(struct hive *cur, struct hive *out,
		    const struct hive_kntr_rule *rules, size_t n,
		    enum hive_kntr_policy policy, struct hive_kntr_result **res)
{
	struct hive_kntr_result *r = calloc(n ? n : 1, sizeof(*r));
	struct apply a = { .cur = cur, .out = out, .policy = policy };
	int first = 0;

	if (!r)
		return -ENOMEM;
	*res = r;
	for (size_t i = 0; i < n; i++) {
		const struct hive_kntr_rule *ru = &rules[i];
		int rc = 0;

		r[i].rule = ru;
		a.r = &r[i];
		if (ru->form == HIVE_KNTR_INVALID) {
			r[i].outcome = HIVE_KNTR_IGNORED;
			err_setc(&r[i].err, ERR_ITEM, ERR_CORRUPT, -EINVAL, "%s",
				 ru->why ? ru->why : "invalid");
			continue;
		}
		r[i].cur_path = hive_kntr_key_path(cur, ru);
		r[i].out_path = hive_kntr_key_path(out, ru);
		if (!r[i].cur_path || !r[i].out_path)
			rc = -ENOMEM;
		else if (ru->form == HIVE_KNTR_KEY)
			rc = apply_key(&a, r[i].cur_path, r[i].out_path);
		else if (ru->form == HIVE_KNTR_VALUE)
			rc = apply_value(&a, r[i].cur_path, r[i].out_path, ru->value);
		else
			rc = apply_merge(&a, r[i].cur_path, r[i].out_path);
		if (rc < 0) {
			r[i].outcome = HIVE_KNTR_FAILED;
			if (!err_failed(&r[i].err))
				err_setc(&r[i].err, ERR_ITEM, ERR_SYSTEM, rc, "%s",
					 strerror(-rc));
			if (!first)
				first = rc;
		}
	}
	return first;
}

void hive_kntr_results_free(struct hive_kntr_result *res, size_t n)
{
	if (!res)
		return;
	for (size_t i = 0; i < n; i++) {
		free(res[i].cur_path);
		free(res[i].out_path);
	}
	free(res);
}
