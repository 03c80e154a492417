/* arc_text.h - private to recovery/archive: the %XX escape that the label
 * and the catalog share, a bounded output buffer, and strict numbers. */
#ifndef SYSRECOVER_ARC_TEXT_H
#define SYSRECOVER_ARC_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Text built into a caller's fixed buffer; full is sticky, so a run of
 * appends is checked once.  b stays NUL-terminated while not full. */
struct arc_out {
	char *b;
	size_t cap, n;
	bool full;
};

void arc_out_init(struct arc_out *o, char *b, size_t cap);
void arc_out_add(struct arc_out *o, const void *p, size_t n);
void arc_out_fmt(struct arc_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The escape: bytes < 0x21, 0x7f, '%' and every byte that does not start
 * or continue a valid UTF-8 sequence (text_utf8_seq) become %XX, uppercase
 * hex.  With ARC_ESC_KEEP_SPACE a space stays itself: a value that runs to
 * the end of its line (the label's host and tool) stays readable. */
enum { ARC_ESC_KEEP_SPACE = 1u << 0 };
void arc_out_esc(struct arc_out *o, const char *s, unsigned flags);
/* The inverse, strict: anything but the escape's own output (a raw byte it
 * would have escaped, an invalid UTF-8 sequence, a %XX it would not have
 * written, a lowercase or short %XX, %00) is -EINVAL; a result of
 * cap bytes or more (its NUL included) is -ENAMETOOLONG.  out may be s (the
 * result is never longer); returns the length, out NUL-terminated. */
long arc_unesc(const char *s, size_t n, char *out, size_t cap, unsigned flags);

/* A flag word as the names of its bits, in bit order, joined by commas;
 * none (the label's "none", the catalog's "-") when it is 0. */
void arc_out_flags(struct arc_out *o, uint32_t flags, const char *const *names,
		   size_t nnames, const char *none);
/* The inverse, strict: names known, in bit order, each once. 0 or -EINVAL. */
int arc_parse_flags(const char *s, size_t n, const char *const *names, size_t nnames,
		    const char *none, uint32_t *out);

/* Decimal, no sign, no leading zero, no overflow, <= max: 0 or -EINVAL. */
int arc_parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out);

#endif
