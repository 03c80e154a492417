/* text.c - UTF-8 and UTF-16LE, JSON strings, terminal-safe names, sizes. */
#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "le.h"
#include "text.h"

size_t text_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c;

	if (!n)
		return 0;
	c = s[0];
	if (c < 0x80) {
		if (cp)
			*cp = c;
		return 1;
	}
	/* 0xc0 and 0xc1 can only start overlong forms; 0xf5.. lie above
	 * U+10FFFF. */
	len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
	if (!len || c > 0xf4 || len > n)
		return 0;
	c &= 0x3fu >> (len - 1);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c < 0xe000))
		return 0;
	if (cp)
		*cp = c;
	return len;
}

size_t text_utf8_len(const unsigned char *s)
{
	size_t n = 0;

	/* Only look as far as the NUL: the sequence check stops there. */
	while (n < 4 && s[n])
		n++;
	return text_utf8_seq(s, n ? n : 1, NULL);
}

bool text_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0, l; i < n; i += l)
		if (!(l = text_utf8_seq(p + i, n - i, NULL)))
			return false;
	return true;
}

size_t text_utf8_put(char *o, uint32_t c)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xc0 | c >> 6);
		o[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xe0 | c >> 12);
		o[1] = (char)(0x80 | (c >> 6 & 0x3f));
		o[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | c >> 18);
	o[1] = (char)(0x80 | (c >> 12 & 0x3f));
	o[2] = (char)(0x80 | (c >> 6 & 0x3f));
	o[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* The code point of the unit(s) at unit i of n; *used gets 1 or 2.  An
 * unpaired surrogate comes back as itself for the caller to judge. */
static uint32_t utf16_next(const uint8_t *p, size_t i, size_t n, size_t *used)
{
	uint32_t c = le_get16(p + 2 * i), d;

	*used = 1;
	if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
		d = le_get16(p + 2 * i + 2);
		if (d >= 0xdc00 && d < 0xe000) {
			*used = 2;
			return 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
		}
	}
	return c;
}

int text_utf16le_to_utf8(const uint8_t *p, size_t len, unsigned flags,
			 char **out, size_t *outlen)
{
	size_t n = len / 2, o = 0, used;
	char *s;

	if ((flags & TEXT_STRICT) && (len & 1))
		return -EILSEQ;
	/* One unit makes at most 3 bytes, a pair (2 units) 4. */
	s = malloc(n * 3 + 1);
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < n; i += used) {
		uint32_t c = utf16_next(p, i, n, &used);

		if (c == 0 && (flags & TEXT_STOP_AT_NUL))
			break;
		if (c >= 0xd800 && c < 0xe000) {
			if (flags & TEXT_STRICT) {
				free(s);
				return -EILSEQ;
			}
			c = 0xfffd;
		}
		o += text_utf8_put(s + o, c);
	}
	s[o] = '\0';
	*out = s;
	if (outlen)
		*outlen = o;
	return 0;
}

int text_utf8_to_utf16le(const char *s, size_t n, bool add_nul, uint8_t **out,
			 size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)s;
	/* 1 byte -> 1 unit at most; 4 bytes -> 2 units. */
	uint8_t *b = malloc(n * 2 + 2);
	size_t o = 0, l;
	uint32_t c;

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < n; i += l) {
		if (!(l = text_utf8_seq(p + i, n - i, &c))) {
			free(b);
			return -EILSEQ;
		}
		if (c >= 0x10000) {
			c -= 0x10000;
			le_put16(b + o, (uint16_t)(0xd800 + (c >> 10)));
			o += 2;
			c = 0xdc00 + (c & 0x3ff);
		}
		le_put16(b + o, (uint16_t)c);
		o += 2;
	}
	if (add_nul) {
		le_put16(b + o, 0);
		o += 2;
	}
	*out = b;
	*outlen = o;
	return 0;
}

void text_json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (*p) {
		size_t n = text_utf8_len(p);

		if (n == 0) {
			fputs("\\ufffd", f);
			p++;
		} else if (*p == '"' || *p == '\\') {
			fprintf(f, "\\%c", *p++);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\u%04x", *p++);
		} else {
			fwrite(p, 1, n, f);
			p += n;
		}
	}
	fputc('"', f);
}

void text_name(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = text_utf8_len(p);

		if (n == 0 || *p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\x%02x", *p++);
		} else if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0) {
			/* C1 controls (U+0080..U+009F) drive terminals too. */
			fprintf(f, "\\x%02x\\x%02x", p[0], p[1]);
			p += 2;
		} else {
			fwrite(p, 1, n, f);
			p += n;
		}
	}
}

bool text_parse_size(const char *s, bool allow_neg, int64_t *out)
{
	char *end;
	long long v;
	int shift = 0;

	if (!s || !*s || (!allow_neg && *s == '-'))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s)
		return false;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: break;
	}
	if (*end)
		return false;
	if (v > (INT64_MAX >> shift) || v < (INT64_MIN >> shift))
		return false;
	*out = (int64_t)v * ((int64_t)1 << shift);
	return true;
}

void text_locale_init(void)
{
	setlocale(LC_ALL, "C");
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		setlocale(LC_CTYPE, "C");
}
