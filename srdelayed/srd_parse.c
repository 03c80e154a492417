/* srd_parse.c - parse srdelayed queues (Windows UTF-16LE and native UTF-8)
 * and normalise their paths; no I/O, every byte untrusted (see srd.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "err.h"
#include "le.h"
#include "srd.h"
#include "srd_impl.h"
#include "text.h"

static const struct {
	const char *name;
	enum srd_op op;
} srd_ops[] = {
	{ "MoveFile", SRD_OP_MOVE },
	{ "DeleteFile", SRD_OP_DELETE },
	{ "SetFileShortName", SRD_OP_SHORTNAME },
};

#define SRD_OPS_HINT "operations are case-sensitive: MoveFile, DeleteFile, SetFileShortName"
#define SRD_NEED4 "a record needs 4 (operation, two arguments, status)"

const char *srd_op_name(enum srd_op op)
{
	for (size_t i = 0; i < sizeof(srd_ops) / sizeof(srd_ops[0]); i++)
		if (srd_ops[i].op == op)
			return srd_ops[i].name;
	return "?";
}

void srd_status_text(enum srd_status st, uint32_t sc, char buf[12])
{
	if (st == SRD_ST_NOT_EXECUTED)
		memcpy(buf, "NotExecuted", 12);
	else
		snprintf(buf, 12, "SC=%08X", (unsigned)sc);
}

__attribute__((format(printf, 3, 4)))
static int srd_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A field quoted in a message: at most 60 bytes, control bytes as '?', so
 * a hostile queue cannot drive the terminal. */
static const char *srd_quote(const char *s, char buf[64])
{
	size_t i;

	for (i = 0; i < 60 && s[i]; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	if (s[i] && i >= 3)
		memcpy(buf + i - 3, "...", 3);
	buf[i] = '\0';
	return buf;
}

static int srd_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void srd_path_free(struct srd_path *p)
{
	free(p->volume);
	free(p->path);
	memset(p, 0, sizeof(*p));
}

/* Decode one component [s, s+n) to out (never longer than the input).
 * Decoding per component, after the split, is what keeps "%5C" from
 * becoming a separator. */
static int srd_decode(const char *s, size_t n, bool esc, bool windows,
		      char *out, size_t *outn, unsigned *flags,
		      char *why, size_t whylen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int hi, lo, c = (unsigned char)s[i];

		if (windows && c == '/')
			return srd_why(why, whylen, "'/' in a name (not a separator in \\??\\ paths, and not allowed in NTFS names)");
		if (esc && c == '%' && i + 2 < n && (hi = srd_hex(s[i + 1])) >= 0 &&
		    (lo = srd_hex(s[i + 2])) >= 0) {
			c = hi << 4 | lo;
			if (c == 0 || c == '/' || c == '\\' || (windows && c >= 0x80))
				return srd_why(why, whylen, "'%%%c%c' decodes to a byte not allowed in a name",
					       s[i + 1], s[i + 2]);
			*flags |= SRD_PATH_ESCAPES;
			i += 2;
		}
		out[o++] = (char)c;
	}
	*outn = o;
	return 0;
}

/* Split rest on sep into p->path in fs.h form ("/a/b"), dropping empty and
 * "." components and applying ".." lexically (refused above the root). */
static int srd_norm(const char *rest, char sep, bool esc, bool windows,
		    struct srd_path *p, char *why, size_t whylen)
{
	size_t len = strlen(rest), o = 0, n = 0;
	char *out = malloc(len + 2);
	const char *c = rest, *end = rest + len;
	int rc = -ENOMEM;

	if (!out)
		goto out;
	while (c <= end) {
		const char *e = memchr(c, sep, (size_t)(end - c));

		if (!e)
			e = end;
		if (e == c) {
			p->flags |= (e == end && c != rest) ? SRD_PATH_TRAILING_SEP : SRD_PATH_DOTS;
		} else {
			rc = srd_decode(c, (size_t)(e - c), esc, windows, out + o + 1, &n,
					&p->flags, why, whylen);
			if (rc < 0)
				goto out;
			if ((n == 1 || n == 2) && !memcmp(out + o + 1, "..", n)) {
				p->flags |= SRD_PATH_DOTS;
				if (n == 2 && o == 0) {
					rc = srd_why(why, whylen, "'..' climbs above the root of the volume");
					goto out;
				}
				while (n == 2 && o > 0 && out[--o] != '/')
					;
			} else {
				out[o] = '/';
				o += 1 + n;
			}
		}
		c = e + 1;
	}
	if (o == 0) {
		rc = srd_why(why, whylen, "the path names the root of the volume, not a file");
		goto out;
	}
	out[o] = '\0';
	p->path = out;
	out = NULL;
	rc = 0;
out:
	free(out);
	return rc;
}

/* Characters before "\??\" in a pending-rename string. */
static int srd_nt_prefix(const char *s, size_t n, unsigned opts,
			 struct srd_path *p, char *why, size_t whylen)
{
	size_t o = 0;

	if (n == 0)
		return 0;
	if (!(opts & SRD_NT_PENDING) || n > SRD_MAX_PREFIX)
		return srd_why(why, whylen, "bad path prefix: an NT path starts with \\??\\ (as in \\??\\C:\\dir\\file)");
	for (size_t i = 0; i < n; i++) {
		if (!strchr("!*0123456789", s[i]))
			return srd_why(why, whylen, "bad path prefix: '%c' before \\??\\", s[i]);
		if (s[i] == '!')
			p->flags |= SRD_PATH_REPLACE;
		else
			p->prefix[o++] = s[i];
	}
	p->prefix[o] = '\0';
	return 0;
}

/* "Volume{8-4-4-4-12}" at s (case-insensitive); the GUID in braces is kept
 * lowercase, as MountedDevices names it. */
static bool srd_guid(const char *s, struct srd_path *p)
{
	char g[39];

	if (strncasecmp(s, "Volume{", 7))
		return false;
	for (int i = 0; i < 36; i++) {
		char c = s[7 + i];
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? c != '-' : srd_hex(c) < 0)
			return false;
		g[1 + i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
	}
	if (s[43] != '}')
		return false;
	g[0] = '{', g[37] = '}', g[38] = '\0';
	p->volume = strdup(g);
	return true;
}

static int srd_nt_volume(const char *v, struct srd_path *p, const char **rest,
			 char *why, size_t whylen)
{
	char c = v[0];

	if (((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) && v[1] == ':') {
		p->vol = SRD_VOL_DRIVE;
		p->drive = (char)(c & ~0x20);
		*rest = v + 2;
		if (**rest && **rest != '\\')
			p->flags |= SRD_PATH_NO_ROOT_SEP;
		return 0;
	}
	if (srd_guid(v, p)) {
		if (!p->volume)
			return -ENOMEM;
		p->vol = SRD_VOL_GUID;
		*rest = v + 44;
		if (**rest && **rest != '\\')
			return srd_why(why, whylen, "no '\\' after \\??\\Volume{...}");
		return 0;
	}
	if (!strncasecmp(v, "UNC\\", 4))
		return srd_why(why, whylen, "\\??\\UNC\\ names a network share: only local volumes can be changed");
	if (!strncasecmp(v, "Volume{", 7))
		return srd_why(why, whylen, "bad volume GUID (expected \\??\\Volume{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx})");
	return srd_why(why, whylen, "bad path prefix: after \\??\\ comes a drive (C:) or Volume{GUID}");
}

int srd_path_nt(const char *s, unsigned opts, struct srd_path *p,
		char *why, size_t whylen)
{
	const char *nt, *rest = NULL;
	int rc;

	memset(p, 0, sizeof(*p));
	nt = strstr(s, "\\??\\");
	if (!nt) {
		if (!strncmp(s, "\\\\?\\", 4))
			return srd_why(why, whylen, "bad path prefix '\\\\?\\': write it as \\??\\");
		return srd_why(why, whylen, "bad path prefix: an NT path starts with \\??\\ (as in \\??\\C:\\dir\\file)");
	}
	rc = srd_nt_prefix(s, (size_t)(nt - s), opts, p, why, whylen);
	if (rc == 0)
		rc = srd_nt_volume(nt + 4, p, &rest, why, whylen);
	if (rc == 0) {
		if (*rest == '\\')
			rest++;
		rc = srd_norm(rest, '\\', opts & SRD_NT_ESCAPES, true, p, why, whylen);
	}
	if (rc < 0)
		srd_path_free(p);
	return rc;
}

int srd_path_native(const char *s, struct srd_path *p, char *why, size_t whylen)
{
	static const char *const tags[] = { "UUID=", "LABEL=", "PARTUUID=" };
	const char *colon;
	int rc = -EINVAL;

	memset(p, 0, sizeof(*p));
	if (s[0] == '/') {
		p->vol = SRD_VOL_SELF;
		rc = srd_norm(s + 1, '/', true, false, p, why, whylen);
		goto out;
	}
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		size_t tl = strlen(tags[i]);

		if (strncmp(s, tags[i], tl))
			continue;
		colon = strchr(s + tl, ':');
		if (!colon || colon == s + tl || colon[1] != '/') {
			rc = srd_why(why, whylen, "expected %s<value>:/path", tags[i]);
			goto out;
		}
		p->vol = SRD_VOL_SPEC;
		p->volume = strndup(s, (size_t)(colon - s));
		rc = p->volume ? srd_norm(colon + 2, '/', true, false, p, why, whylen) : -ENOMEM;
		goto out;
	}
	rc = srd_why(why, whylen, "a native path is /path, UUID=...:/path, LABEL=...:/path or PARTUUID=...:/path");
out:
	if (rc < 0)
		srd_path_free(p);
	return rc;
}

/* ---- records ----------------------------------------------------------- */

static void srd_record_free(struct srd_record *r)
{
	free(r->arg);
	srd_path_free(&r->path);
	srd_path_free(&r->dst);
	for (int i = 0; i < 4; i++)
		free(r->field[i]);
	memset(r, 0, sizeof(*r));
}

void srd_queue_free(struct srd_queue *q)
{
	for (size_t i = 0; i < q->n; i++)
		srd_record_free(&q->rec[i]);
	free(q->rec);
	free(q->bytes);
	memset(q, 0, sizeof(*q));
}

int srd_queue_init(struct srd_queue *q, enum srd_form form)
{
	memset(q, 0, sizeof(*q));
	q->form = form;
	if (form == SRD_FORM_WINDOWS) {
		q->bytes = calloc(1, 2);
		if (!q->bytes)
			return -ENOMEM;
		q->len = 2;
	}
	return 0;
}

static int srd_status(const char *s, struct srd_record *r, char *why, size_t whylen)
{
	char qb[64];
	size_t n = strlen(s);
	uint32_t v = 0;

	if (!strcmp(s, "NotExecuted")) {
		r->status = SRD_ST_NOT_EXECUTED;
		goto out;
	}
	if (n < 4 || n > 11 || strncmp(s, "SC=", 3))
		return srd_why(why, whylen, "unknown status '%s' in field 4 (expected NotExecuted or SC=xxxxxxxx)",
			       srd_quote(s, qb));
	for (size_t i = 3; i < n; i++) {
		if (srd_hex(s[i]) < 0)
			return srd_why(why, whylen, "bad status '%s' in field 4 (SC= takes hex digits)",
				       srd_quote(s, qb));
		v = v << 4 | (uint32_t)srd_hex(s[i]);
	}
	r->status = SRD_ST_DONE;
	r->sc = v;
out:
	r->parsed_status = r->status;
	r->parsed_sc = r->sc;
	return 0;
}

static int srd_field_path(enum srd_form form, const char *s, int fno,
			  struct srd_path *p, char *why, size_t whylen)
{
	char sub[200], qb[64];
	int rc;

	if (!*s)
		return srd_why(why, whylen, "field %d is empty: a path is needed", fno);
	rc = form == SRD_FORM_WINDOWS ? srd_path_nt(s, SRD_NT_ESCAPES, p, sub, sizeof(sub))
				      : srd_path_native(s, p, sub, sizeof(sub));
	if (rc == -EINVAL)
		srd_why(why, whylen, "field %d '%s': %s", fno, srd_quote(s, qb), sub);
	return rc;
}

/* Give r the four fields f (taken over) and check them as a record. */
static int srd_record(enum srd_form form, char *f[4], struct srd_record *r,
		      char *why, size_t whylen)
{
	char qb[64];
	size_t i;
	int rc;

	memcpy(r->field, f, sizeof(r->field));
	for (i = 0; i < sizeof(srd_ops) / sizeof(srd_ops[0]); i++)
		if (!strcmp(f[0], srd_ops[i].name))
			break;
	if (i == sizeof(srd_ops) / sizeof(srd_ops[0]))
		return srd_why(why, whylen, "unknown operation '%s' (" SRD_OPS_HINT ")",
			       srd_quote(f[0], qb));
	r->op = srd_ops[i].op;
	if (r->op == SRD_OP_MOVE) {
		rc = srd_field_path(form, f[1], 2, &r->path, why, whylen);
		if (rc == 0)
			rc = srd_field_path(form, f[2], 3, &r->dst, why, whylen);
	} else {
		r->arg = strdup(f[1]);
		rc = r->arg ? srd_field_path(form, f[2], 3, &r->path, why, whylen) : -ENOMEM;
	}
	if (rc == 0)
		rc = srd_status(f[3], r, why, whylen);
	return rc;
}

/* ---- the two file forms ------------------------------------------------ */

struct srd_ctx {
	const uint8_t *d;
	size_t len;
	struct srd_queue *q;
	struct srd_pos *pos;
	struct err *err;
};

/* A malformed queue: "record 3 at byte 212: why", the position apart. */
__attribute__((format(printf, 5, 6)))
static int srd_fail(struct srd_ctx *c, size_t rec, size_t line, size_t off,
		    const char *fmt, ...)
{
	char why[400];
	va_list ap;

	c->pos->record = rec, c->pos->line = line, c->pos->offset = off;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (line)
		return err_setc(c->err, ERR_FATAL, ERR_CORRUPT, -EINVAL,
				"line %zu at byte %zu: %s", line, off, why);
	return err_setc(c->err, ERR_FATAL, ERR_CORRUPT, -EINVAL,
			"record %zu at byte %zu: %s", rec, off, why);
}

/* Room for one more record. */
static struct srd_record *srd_push(struct srd_queue *q)
{
	void *v = q->rec;

	if (buf_grow(&v, &q->cap, q->n + 1, sizeof(*q->rec)) < 0)
		return NULL;
	q->rec = v;
	memset(&q->rec[q->n], 0, sizeof(q->rec[0]));
	return &q->rec[q->n++];
}

/* Find the NUL ending the field at *off; explain a file that ends first. */
static int srd_win_field(struct srd_ctx *c, size_t rec, int k, size_t *off,
			 size_t *units)
{
	size_t fs = *off, o = fs;

	while (o + 1 < c->len && le_get16(c->d + o))
		o += 2;
	if (o + 1 < c->len) {
		*units = (o - fs) / 2;
		*off = o + 2;
		return 0;
	}
	if (o < c->len)
		return srd_fail(c, rec, 0, o, "odd file length (%zu bytes): UTF-16LE is whole 2-byte units",
				c->len);
	if (k == 0 && o == fs)
		return srd_fail(c, rec, 0, o, "the file ends without the final NUL after the last record (cut short?)");
	if (o == fs)
		return srd_fail(c, rec, 0, fs, "%d fields, " SRD_NEED4 ", and the file ends without the final NUL", k);
	return srd_fail(c, rec, 0, fs, "field %d is not NUL-terminated: the file ends inside it", k + 1);
}

/* One record starting at *off, or the end marker (*done). */
static int srd_win_record(struct srd_ctx *c, size_t *off, bool *done)
{
	size_t rec = c->q->n + 1, start = *off, fstart[4], units[4];
	char *f[4] = { NULL, NULL, NULL, NULL }, why[300];
	struct srd_record *r;
	int rc = 0, k;

	for (k = 0; k < 4; k++) {
		fstart[k] = *off;
		if ((rc = srd_win_field(c, rec, k, off, &units[k])) < 0)
			goto out;
		if (k == 0 && units[0] == 0) {
			*done = true;
			if (*off == c->len)
				goto out;
			if ((c->len - *off) % 2)
				rc = srd_fail(c, rec, 0, c->len - 1, "odd file length (%zu bytes): UTF-16LE is whole 2-byte units", c->len);
			else
				rc = srd_fail(c, rec, 0, *off, "%zu bytes after the final NUL (an empty operation field ends the queue)", c->len - *off);
			goto out;
		}
		if (k == 3 && units[3] == 0) {
			rc = srd_fail(c, rec, 0, start, "3 fields, " SRD_NEED4);
			goto out;
		}
		if (units[k] > SRD_MAX_FIELD) {
			rc = srd_fail(c, rec, 0, fstart[k], "field %d is longer than %u UTF-16 units", k + 1, SRD_MAX_FIELD);
			goto out;
		}
		rc = text_utf16le_to_utf8(c->d + fstart[k], units[k] * 2,
					  TEXT_STRICT, &f[k], NULL);
		if (rc == -EILSEQ)
			rc = srd_fail(c, rec, 0, fstart[k], "field %d holds an unpaired UTF-16 surrogate", k + 1);
		if (rc < 0)
			goto out;
	}
	if (c->q->n >= SRD_MAX_RECORDS) {
		rc = srd_fail(c, rec, 0, start, "more than %u records", SRD_MAX_RECORDS);
		goto out;
	}
	if (!(r = srd_push(c->q))) {
		rc = -ENOMEM;
		goto out;
	}
	r->index = rec, r->offset = start;
	r->f4_offset = fstart[3], r->f4_len = units[3] * 2;
	rc = srd_record(SRD_FORM_WINDOWS, f, r, why, sizeof(why));
	memset(f, 0, sizeof(f));  /* the record owns them now */
	if (rc == -EINVAL)
		rc = srd_fail(c, rec, 0, start, "%s", why);
out:
	for (k = 0; k < 4; k++)
		free(f[k]);
	return rc;
}

static int srd_parse_windows(struct srd_ctx *c)
{
	size_t off = 0;
	bool done = false;
	int rc = 0;

	if (c->len >= 2 && c->d[0] == 0xff && c->d[1] == 0xfe) {
		c->q->bom = true;
		off = 2;
	}
	while (!done && rc == 0)
		rc = srd_win_record(c, &off, &done);
	return rc;
}


/* Split one native line [off, eol) into four TAB-separated fields. */
static int srd_nat_split(struct srd_ctx *c, size_t line, size_t off, size_t eol,
			 size_t fstart[4], size_t flen[4])
{
	size_t k = 0, i, n;

	fstart[0] = off;
	for (i = off; i < eol; i += n) {
		n = text_utf8_seq(c->d + i, eol - i, NULL);
		if (!n)
			return srd_fail(c, c->q->n + 1, line, i, "not UTF-8 text (byte 0x%02x)", c->d[i]);
		/* Control bytes other than TAB have no place in a text line (a
		 * name that holds one writes it %XX); the writer relies on it. */
		if (c->d[i] < 0x20 && c->d[i] != '\t')
			return srd_fail(c, c->q->n + 1, line, i, "control byte 0x%02x in a line", c->d[i]);
		if (c->d[i] != '\t')
			continue;
		if (++k < 4) {
			flen[k - 1] = i - fstart[k - 1];
			fstart[k] = i + 1;
		}
	}
	if (k != 3)
		return srd_fail(c, c->q->n + 1, line, off, "%zu fields, " SRD_NEED4 "%s", k + 1,
				k > 3 ? " (write a TAB inside a name as %09)" : "");
	flen[3] = eol - fstart[3];
	for (k = 0; k < 4; k++)
		if (flen[k] > SRD_MAX_FIELD)
			return srd_fail(c, c->q->n + 1, line, fstart[k], "field %zu is longer than %u bytes",
					k + 1, SRD_MAX_FIELD);
	return 0;
}

static int srd_nat_record(struct srd_ctx *c, size_t line, size_t off, size_t eol)
{
	size_t fstart[4], flen[4];
	char *f[4] = { NULL, NULL, NULL, NULL }, why[300];
	struct srd_record *r;
	int rc, k;

	if ((rc = srd_nat_split(c, line, off, eol, fstart, flen)) < 0)
		return rc;
	if (c->q->n >= SRD_MAX_RECORDS)
		return srd_fail(c, c->q->n + 1, line, off, "more than %u records", SRD_MAX_RECORDS);
	for (k = 0; k < 4; k++)
		if (!(f[k] = strndup((const char *)c->d + fstart[k], flen[k])))
			goto nomem;
	if (!(r = srd_push(c->q)))
		goto nomem;
	r->index = c->q->n, r->line = line, r->offset = off;
	r->f4_offset = fstart[3], r->f4_len = flen[3];
	rc = srd_record(SRD_FORM_NATIVE, f, r, why, sizeof(why));
	if (rc == -EINVAL)
		rc = srd_fail(c, r->index, line, off, "%s", why);
	return rc;
nomem:
	for (k = 0; k < 4; k++)
		free(f[k]);
	return -ENOMEM;
}

static int srd_parse_native(struct srd_ctx *c)
{
	size_t off = 0, line = 1;
	int rc = 0;

	while (off < c->len && rc == 0) {
		const uint8_t *nl = memchr(c->d + off, '\n', c->len - off);
		size_t end, eol;

		if (!nl)
			return srd_fail(c, c->q->n + 1, line, c->len,
					"the last line does not end in a newline (cut short?)");
		end = eol = (size_t)(nl - c->d);
		if (eol > off && c->d[eol - 1] == '\r')
			eol--;
		if (eol > off && c->d[off] != '#')
			rc = srd_nat_record(c, line, off, eol);
		off = end + 1;
		line++;
	}
	return rc;
}

int srd_parse(const uint8_t *data, size_t len, enum srd_form form,
	      struct srd_queue *q, struct srd_pos *pos, struct err *err)
{
	struct srd_pos dummy;
	struct srd_ctx c = { .d = data, .len = len, .q = q,
			     .pos = pos ? pos : &dummy, .err = err };
	int rc;

	memset(q, 0, sizeof(*q));
	memset(c.pos, 0, sizeof(*c.pos));
	q->form = form;
	if (len > SRD_MAX_BYTES) {
		rc = srd_fail(&c, 1, form == SRD_FORM_NATIVE, SRD_MAX_BYTES,
			      "the queue is larger than %u bytes", SRD_MAX_BYTES);
		goto out;
	}
	rc = form == SRD_FORM_WINDOWS ? srd_parse_windows(&c) : srd_parse_native(&c);
	if (rc == 0 && !(q->bytes = malloc(len ? len : 1)))
		rc = -ENOMEM;
	if (rc == 0) {
		if (len)
			memcpy(q->bytes, data, len);
		q->len = len;
	}
out:
	if (rc == -ENOMEM)
		err_set(err, rc, "out of memory");
	if (rc < 0)
		srd_queue_free(q);
	return rc;
}
