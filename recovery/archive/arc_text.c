/* arc_text.c - the escape, the bounded output buffer and the strict
 * numbers that the label and the catalog share (arc_text.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arc_text.h"
#include "text.h"

void arc_out_init(struct arc_out *o, char *b, size_t cap)
{
	*o = (struct arc_out){ .b = b, .cap = cap };
	if (cap)
		b[0] = '\0';
	else
		o->full = true;
}

void arc_out_add(struct arc_out *o, const void *p, size_t n)
{
	if (o->full || n >= o->cap - o->n) {
		o->full = true;
		return;
	}
	memcpy(o->b + o->n, p, n);
	o->n += n;
	o->b[o->n] = '\0';
}

void arc_out_fmt(struct arc_out *o, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (o->full)
		return;
	va_start(ap, fmt);
	k = vsnprintf(o->b + o->n, o->cap - o->n, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= o->cap - o->n) {
		o->full = true;
		return;
	}
	o->n += (size_t)k;
}

static bool must_escape(unsigned char c, unsigned flags)
{
	if (c == ' ')
		return !(flags & ARC_ESC_KEEP_SPACE);
	return c < 0x21 || c == 0x7f || c == '%';
}

/* The escape's step at p (n bytes left): how many bytes it takes, and
 * whether it writes the one byte as %XX. */
static size_t esc_step(const unsigned char *p, size_t n, unsigned flags, bool *esc)
{
	size_t k = p[0] < 0x80 ? 1 : text_utf8_seq(p, n, NULL);

	*esc = k == 0 || (k == 1 && must_escape(p[0], flags));
	return *esc ? 1 : k;
}

void arc_out_esc(struct arc_out *o, const char *s, unsigned flags)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;

	while (i < n) {
		bool esc;
		size_t k = esc_step(p + i, n - i, flags, &esc);

		if (esc)
			arc_out_fmt(o, "%%%02X", p[i]);
		else
			arc_out_add(o, p + i, k);
		i += k;
	}
}

/* Length of s (n bytes) once escaped. */
static size_t esc_len(const unsigned char *p, size_t n, unsigned flags)
{
	size_t i = 0, len = 0;

	while (i < n) {
		bool esc;
		size_t k = esc_step(p + i, n - i, flags, &esc);

		len += esc ? 3 : k;
		i += k;
	}
	return len;
}

static int upper_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One unit of escaped text at p (n bytes left): its decoded bytes into
 * *c (a %XX or an ASCII byte) or the length of a raw UTF-8 sequence; the
 * number of input bytes it takes, or 0 when it is not allowed. */
static size_t unesc_one(const unsigned char *p, size_t n, unsigned flags,
			unsigned char *c)
{
	int hi, lo;

	if (p[0] >= 0x80)
		return text_utf8_seq(p, n, NULL);
	if (p[0] != '%') {
		*c = p[0];
		return must_escape(p[0], flags) ? 0 : 1;
	}
	if (n < 3 || (hi = upper_hex(p[1])) < 0 || (lo = upper_hex(p[2])) < 0)
		return 0;
	*c = (unsigned char)(hi << 4 | lo);
	return *c ? 3 : 0;  /* %00 would cut the string short */
}

long arc_unesc(const char *s, size_t n, char *out, size_t cap, unsigned flags)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0;

	while (i < n) {
		unsigned char c = 0;
		size_t k = unesc_one(p + i, n - i, flags, &c);
		size_t w = p[i] >= 0x80 ? k : 1;

		if (k == 0)
			return -EINVAL;
		if (w >= cap - o)
			return -ENAMETOOLONG;
		if (p[i] >= 0x80)
			memmove(out + o, p + i, k);
		else
			out[o] = (char)c;
		o += w;
		i += k;
	}
	if (cap == 0)
		return -ENAMETOOLONG;
	out[o] = '\0';
	/* One spelling: a raw byte is never one the escape writes as %XX (it
	 * was refused above), so the input is the escape's own output exactly
	 * when it is as long; a needless %XX makes it longer. */
	if (esc_len((const unsigned char *)out, o, flags) != n)
		return -EINVAL;
	return (long)o;
}

int arc_parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20 || (s[0] == '0' && n > 1))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

void arc_out_flags(struct arc_out *o, uint32_t flags, const char *const *names,
		   size_t nnames, const char *none)
{
	const char *sep = "";

	if (!flags)
		arc_out_fmt(o, "%s", none);
	for (size_t i = 0; i < nnames; i++) {
		if (flags & (1u << i)) {
			arc_out_fmt(o, "%s%s", sep, names[i]);
			sep = ",";
		}
	}
}

int arc_parse_flags(const char *s, size_t n, const char *const *names, size_t nnames,
		    const char *none, uint32_t *out)
{
	size_t next = 0;
	uint32_t v = 0;

	if (n == strlen(none) && !memcmp(s, none, n)) {
		*out = 0;
		return 0;
	}
	while (n) {
		const char *comma = memchr(s, ',', n);
		size_t k = comma ? (size_t)(comma - s) : n, i;

		for (i = next; i < nnames; i++)
			if (strlen(names[i]) == k && !memcmp(s, names[i], k))
				break;
		if (i == nnames || (comma && k + 1 == n))
			return -EINVAL;  /* unknown, out of order, twice, or a trailing comma */
		v |= 1u << i;
		next = i + 1;
		s += comma ? k + 1 : k;
		n -= comma ? k + 1 : k;
	}
	if (!v)
		return -EINVAL;
	*out = v;
	return 0;
}
