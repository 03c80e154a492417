/* hive_pending.c - next-boot operations of a SYSTEM hive (PendingFileRenameOperations, SetupExecute), LastRestoreId, RestoreStatus. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "buf.h"
#include "hive_impl.h"
#include "text.h"

static const char *const pfro_names[2] = {
	"PendingFileRenameOperations", "PendingFileRenameOperations2",
};

/* Next-boot values live in the Default control set: Windows boots
 * Select\Default unless the user picks Last Known Good. */
static int session_manager(struct hive *h, bool create, unsigned cs,
			   hive_key *k)
{
	char path[64];

	snprintf(path, sizeof(path), "ControlSet%03u\\Control\\Session Manager",
		 cs);
	return create ? hive_create(h, path, k) : hive_lookup(h, path, k);
}

static int next_boot_cs(struct hive *h, unsigned *cs)
{
	unsigned cur;

	return hive_ccs(h, &cur, cs);
}

/* Every NUL-terminated string of a REG_MULTI_SZ, empty ones kept: in these
 * values an empty string is a delete's target, not the end. */
static char **split_all(const uint8_t *d, size_t len, size_t *n)
{
	size_t units = len / 2, start = 0;
	char **v = calloc(units + 2, sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i <= units; i++) {
		if (i < units && (d[2 * i] || d[2 * i + 1]))
			continue;
		if (i == units && start == units)
			break;  /* terminated: nothing left over */
		if (text_utf16le_to_utf8(d + 2 * start, 2 * (i - start),
					 TEXT_STOP_AT_NUL, &v[(*n)++], NULL) < 0) {
			hive_strv_free(v);
			return NULL;
		}
		start = i + 1;
	}
	return v;
}

/* Split "PREFIX\??\path": the prefix (e.g. "*1", '!' removed and reported)
 * and the rest.  A string without "\??\" keeps a leading '!' rule only. */
static int split_prefix(const char *s, bool is_dst, char **prefix, char **path,
			bool *bang)
{
	const char *nt = strstr(s, "\\??\\");
	size_t plen = nt ? (size_t)(nt - s) : 0, o = 0;

	*bang = false;
	if (!nt && is_dst && s[0] == '!')
		plen = 1;
	*prefix = malloc(plen + 1);
	*path = strdup(s + plen);
	if (!*prefix || !*path)
		return -ENOMEM;
	for (size_t i = 0; i < plen; i++) {
		if (is_dst && s[i] == '!')
			*bang = true;
		else
			(*prefix)[o++] = s[i];
	}
	(*prefix)[o] = '\0';
	return 0;
}

static int add_op(struct hive_pending_list *l, const char *src,
		  const char *dst, unsigned flags)
{
	struct hive_pending *nv = realloc(l->ops, (l->n + 1) * sizeof(*nv)), *p;
	bool bang, unused;

	if (!nv)
		return -ENOMEM;
	l->ops = nv;
	p = &l->ops[l->n++];
	memset(p, 0, sizeof(*p));
	p->flags = flags;
	if (!(p->raw_src = strdup(src)) || !(p->raw_dst = strdup(dst)) ||
	    split_prefix(src, false, &p->src_prefix, &p->src, &unused) < 0 ||
	    split_prefix(dst, true, &p->dst_prefix, &p->dst, &bang) < 0)
		return -ENOMEM;
	p->op = !*dst ? HIVE_PEND_DELETE : bang ? HIVE_PEND_REPLACE
		: HIVE_PEND_MOVE;
	return 0;
}

static int read_value(struct hive *h, hive_key sm, int which,
		      struct hive_pending_list *l)
{
	uint32_t type;
	void *d;
	size_t len, n = 0, i = 0;
	char **s;
	int rc = hive_get(h, sm, pfro_names[which], &type, &d, &len);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	s = split_all(d, len, &n);
	free(d);
	if (!s)
		return -ENOMEM;
	/* Pairs until an empty source (the list terminator). */
	for (; rc == 0 && i < n && *s[i]; i += 2) {
		if (i + 1 >= n) {
			l->malformed = true;  /* a source without a target */
			break;
		}
		rc = add_op(l, s[i], s[i + 1], which ? HIVE_PEND_F_VALUE2 : 0);
	}
	hive_strv_free(s);
	return rc;
}

int hive_pending_read(struct hive *h, struct hive_pending_list *out)
{
	hive_key sm;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = next_boot_cs(h, &out->control_set)) < 0)
		return rc;
	rc = session_manager(h, false, out->control_set, &sm);
	if (rc == -ENOENT) {
		err_clear(&h->err);
		return 0;
	}
	for (int w = 0; w < 2 && rc == 0; w++)
		rc = read_value(h, sm, w, out);
	if (rc < 0)
		hive_pending_free(out);
	return rc;
}

void hive_pending_free(struct hive_pending_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct hive_pending *p = &l->ops[i];
		free(p->src), free(p->dst), free(p->src_prefix);
		free(p->dst_prefix), free(p->raw_src), free(p->raw_dst);
	}
	free(l->ops);
	memset(l, 0, sizeof(*l));
}

/* Both control sets when Current != Default: either may boot next. */
int hive_pending_clear(struct hive *h)
{
	unsigned cs[2];
	int rc = hive_ccs(h, &cs[0], &cs[1]);

	for (int i = 0; i < 2 && rc == 0; i++) {
		hive_key sm;
		if (i == 1 && cs[1] == cs[0])
			break;
		rc = session_manager(h, false, cs[i], &sm);
		if (rc == -ENOENT) {
			rc = 0;
			continue;
		}
		for (int w = 0; w < 2 && rc == 0; w++) {
			rc = hive_unset(h, sm, pfro_names[w]);
			if (rc == -ENOENT)
				rc = 0;
		}
	}
	if (rc == 0)
		err_clear(&h->err);
	return rc;
}

int hive_setup_execute_get(struct hive *h, char ***cmds)
{
	unsigned cs;
	hive_key sm;
	int rc = next_boot_cs(h, &cs);

	if (rc == 0)
		rc = session_manager(h, false, cs, &sm);
	if (rc == 0)
		rc = hive_get_multi_sz(h, sm, "SetupExecute", cmds);
	if (rc == -ENOENT) {
		err_clear(&h->err);
		*cmds = calloc(1, sizeof(char *));
		rc = *cmds ? 0 : -ENOMEM;
	}
	return rc;
}

int hive_setup_execute_set(struct hive *h, char *const *cmds)
{
	unsigned cs;
	hive_key sm;
	int rc = next_boot_cs(h, &cs);

	if (rc == 0)
		rc = session_manager(h, true, cs, &sm);
	if (rc == 0)
		rc = hive_set_multi_sz(h, sm, "SetupExecute", cmds);
	return rc;
}

int hive_restore_status_set(struct hive *h, uint32_t result, uint32_t details)
{
	hive_key k;
	int rc = hive_create(h, "Microsoft\\Windows NT\\CurrentVersion\\"
			     "SystemRestore", &k);

	if (rc == 0)
		rc = hive_set_dword(h, k, "RestoreStatusResult", result);
	if (rc == 0 && result != 0)
		rc = hive_set_dword(h, k, "RestoreStatusDetails",
				    details ? details : result);
	else if (rc == 0) {
		/* Details are written on failure only: a stale one would lie. */
		rc = hive_unset(h, k, "RestoreStatusDetails");
		if (rc == -ENOENT) {
			err_clear(&h->err);
			rc = 0;
		}
	}
	return rc;
}

int hive_set_last_restore_id_to(struct hive *h, const char *guid)
{
	char path[96];
	unsigned cs;
	hive_key k;
	int rc;

	if ((rc = next_boot_cs(h, &cs)) < 0)
		return rc;
	snprintf(path, sizeof(path), "ControlSet%03u\\Control\\BackupRestore\\"
		 "SystemStateRestore", cs);
	if ((rc = hive_create(h, path, &k)) == 0)
		rc = hive_set_sz(h, k, "LastRestoreId", guid);
	return rc;
}

int hive_set_last_restore_id(struct hive *h, char guid[39])
{
	uint8_t r[16];
	char g[39];
	int rc;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return err_set(&h->err, -(errno ? errno : EIO), "no random bytes "
			       "for a GUID: %s", strerror(errno ? errno : EIO));
	r[6] = (r[6] & 0x0f) | 0x40;  /* version 4 */
	r[8] = (r[8] & 0x3f) | 0x80;  /* RFC 4122 variant */
	snprintf(g, sizeof(g), "{%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-"
		 "%02X%02X%02X%02X%02X%02X}", r[0], r[1], r[2], r[3], r[4],
		 r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
		 r[14], r[15]);
	if ((rc = hive_set_last_restore_id_to(h, g)) == 0 && guid)
		memcpy(guid, g, sizeof(g));
	return rc;
}
