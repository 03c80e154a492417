/* srd_write.c - write srdelayed queues: statuses into field 4 with every
 * other byte kept, and new records for `srdelayed add` (see srd.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "le.h"
#include "srd.h"
#include "srd_impl.h"
#include "text.h"

/* Text as the form stores it: UTF-16LE for Windows, as-is for native. */
static int srd_put_text(struct buf *b, enum srd_form form, const char *s)
{
	uint8_t *w = NULL;
	size_t n = strlen(s), wn = 0;
	int rc;

	if (form == SRD_FORM_NATIVE) {
		buf_add(b, s, n);
		return 0;
	}
	if ((rc = text_utf8_to_utf16le(s, n, false, &w, &wn)) < 0)
		return rc;
	buf_add(b, w, wn);
	free(w);
	return 0;
}

size_t srd_status_bytes(enum srd_form form, enum srd_status st, uint32_t sc,
			uint8_t buf[24])
{
	char t[12];
	size_t n, i;

	srd_status_text(st, sc, t);
	n = strlen(t);
	if (form == SRD_FORM_NATIVE) {
		memcpy(buf, t, n);
		return n;
	}
	for (i = 0; i < n; i++)  /* ASCII: one UTF-16 unit each */
		le_put16(buf + 2 * i, (uint8_t)t[i]);
	return 2 * n;
}

/* Which bytes a path field escapes: Windows only ' ' (the doc's %20) and
 * '%' (so a literal "%41" survives); native also what would break a line
 * (TAB, CR, LF, other controls) and bytes that are not UTF-8. */
static bool srd_escape(enum srd_form form, const uint8_t *s, size_t n, size_t *l)
{
	uint32_t c;

	*l = 1;
	if (s[0] == '%')
		return true;
	if (form == SRD_FORM_WINDOWS)
		return s[0] == ' ';
	if (s[0] < 0x20 || s[0] == 0x7f)
		return true;
	*l = text_utf8_seq(s, n, &c);
	if (*l)
		return false;
	*l = 1;
	return true;
}

char *srd_path_field(const struct srd_path *p, enum srd_form form)
{
	struct buf b = { 0 };
	const uint8_t *s = (const uint8_t *)(p->path ? p->path : "");
	size_t n = strlen((const char *)s), i, l;
	bool win = form == SRD_FORM_WINDOWS;
	char pre[64] = "";

	/* Only a normalised, representable path: a '\' inside a name has no
	 * Windows spelling (the parser refuses %5C), and a root is no file. */
	if (s[0] != '/' || n < 2 || (win && strchr((const char *)s, '\\')) ||
	    (win != (p->vol == SRD_VOL_DRIVE || p->vol == SRD_VOL_GUID)) ||
	    ((p->vol == SRD_VOL_GUID || p->vol == SRD_VOL_SPEC) && !p->volume)) {
		errno = EINVAL;
		return NULL;
	}
	if (p->vol == SRD_VOL_DRIVE)
		snprintf(pre, sizeof(pre), "\\??\\%c:", p->drive);
	else if (p->vol == SRD_VOL_GUID)
		snprintf(pre, sizeof(pre), "\\??\\Volume%.40s", p->volume);
	buf_add(&b, pre, strlen(pre));
	if (p->vol == SRD_VOL_SPEC) {
		buf_add(&b, p->volume, strlen(p->volume));
		buf_add(&b, ":", 1);
	}
	for (i = 0; i < n; i += l) {
		char esc[4];

		if (srd_escape(form, s + i, n - i, &l)) {
			snprintf(esc, sizeof(esc), "%%%02X", s[i]);
			buf_add(&b, esc, 3);
		} else if (win && s[i] == '/') {
			buf_add(&b, "\\", 1);
		} else {
			buf_add(&b, s + i, l);
		}
	}
	buf_add(&b, "", 1);
	if (b.rc < 0) {
		free(b.d);
		errno = ENOMEM;
		return NULL;
	}
	return (char *)b.d;
}

/* A record that cannot be written: "new record 2: field 3 ...". */
__attribute__((format(printf, 3, 4)))
static int srd_wfail(struct err *err, size_t i, const char *fmt, ...)
{
	char m[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	return err_setc(err, ERR_FATAL, ERR_CORRUPT, -EINVAL, "new record %zu: %s",
			i + 1, m);
}

/* The four fields of a record to add, as UTF-8 text of the form. */
static int srd_fields(const struct srd_record *r, enum srd_form form, char *f[4],
		      size_t i, struct err *err)
{
	const char *arg = r->arg ? r->arg : r->op == SRD_OP_DELETE ? "Unused" : NULL;

	if (!arg && r->op != SRD_OP_MOVE)
		return srd_wfail(err, i, "%s needs field 2", srd_op_name(r->op));
	if (arg && form == SRD_FORM_NATIVE && strpbrk(arg, "\t\r\n"))
		return srd_wfail(err, i, "field 2 holds a TAB or line break");
	if (arg && strlen(arg) > SRD_MAX_FIELD)
		return srd_wfail(err, i, "field 2 is too long");
	f[0] = strdup(srd_op_name(r->op));
	f[1] = r->op == SRD_OP_MOVE ? srd_path_field(&r->path, form) : strdup(arg);
	f[2] = srd_path_field(r->op == SRD_OP_MOVE ? &r->dst : &r->path, form);
	f[3] = malloc(12);
	if (f[3])
		srd_status_text(r->status, r->sc, f[3]);
	for (int k = 0; k < 4; k++) {
		if (!f[k])
			return errno == EINVAL ? srd_wfail(err, i, "field %d: the path cannot be written in the %s form",
							   k + 1, form == SRD_FORM_WINDOWS ? "Windows" : "native")
					       : -ENOMEM;
		if (strlen(f[k]) > SRD_MAX_FIELD)
			return srd_wfail(err, i, "field %d is too long", k + 1);
	}
	return 0;
}

static int srd_add(struct buf *b, enum srd_form form, const struct srd_record *r,
		   size_t i, struct err *err)
{
	static const uint8_t nul[2] = { 0, 0 };
	char *f[4] = { NULL, NULL, NULL, NULL };
	int rc = srd_fields(r, form, f, i, err);

	for (int k = 0; rc == 0 && k < 4; k++) {
		rc = srd_put_text(b, form, f[k]);
		if (rc == -EILSEQ)
			rc = srd_wfail(err, i, "field %d is not UTF-8", k + 1);
		if (form == SRD_FORM_WINDOWS)
			buf_add(b, nul, 2);
		else
			buf_add(b, k < 3 ? "\t" : "\n", 1);
	}
	for (int k = 0; k < 4; k++)
		free(f[k]);
	return rc;
}

int srd_write(const struct srd_queue *q, const struct srd_record *add, size_t n,
	      uint8_t **out, size_t *len, struct err *err)
{
	struct buf b = { 0 };
	size_t copy = 0, tail = q->len;
	int rc = 0;

	/* A Windows queue ends in its final NUL: new records go before it. */
	if (q->form == SRD_FORM_WINDOWS && n && q->len >= 2)
		tail = q->len - 2;
	for (size_t i = 0; i < q->n; i++) {
		const struct srd_record *r = &q->rec[i];
		uint8_t st[24];

		if (r->status == r->parsed_status &&
		    (r->status == SRD_ST_NOT_EXECUTED || r->sc == r->parsed_sc))
			continue;
		if (r->f4_offset < copy || r->f4_offset + r->f4_len > tail) {
			/* records reordered, or not parsed from these bytes */
			rc = srd_wfail(err, i, "field 4 at byte %zu is not where the queue had it",
				       r->f4_offset);
			goto out;
		}
		buf_add(&b, q->bytes + copy, r->f4_offset - copy);
		buf_add(&b, st, srd_status_bytes(q->form, r->status, r->sc, st));
		copy = r->f4_offset + r->f4_len;
	}
	buf_add(&b, q->bytes + copy, tail - copy);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = srd_add(&b, q->form, &add[i], i, err);
	if (rc == 0)
		buf_add(&b, q->bytes + tail, q->len - tail);
	if (rc == 0)
		rc = b.rc;
out:
	if (rc < 0) {
		free(b.d);
		return rc;
	}
	*out = b.d ? b.d : calloc(1, 1);
	*len = b.n;
	return *out ? 0 : -ENOMEM;
}
