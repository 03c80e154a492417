/* cm.h - what every part of sysrecover shares: exit codes, messages, numbers. */
#ifndef SYSRECOVER_CM_H
#define SYSRECOVER_CM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes, documented in README.md.  mt(1) uses 1 and 2 the same way. */
enum cm_exit {
	CM_EXIT_OK = 0,
	CM_EXIT_PARTIAL = 1,   /* finished, but some items or checks failed */
	CM_EXIT_FAILED = 2,    /* the operation failed or was aborted */
	CM_EXIT_USAGE = 64,    /* bad command line */
	CM_EXIT_INTERNAL = 70, /* a bug: please report */
};

/* The name we were invoked by, for messages ("sysrecover", "srdelayed"). */
extern const char *cm_progname;

/* "sysrecover: <message>" on stderr. */
void cm_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cm_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parse a count or size: decimal digits with an optional k, M, G or T suffix
 * (binary multiples, as mt and dd take them).  Signed when allow_neg. */
bool cm_parse_size(const char *s, bool allow_neg, int64_t *out);

/* Length of the valid UTF-8 sequence at s (1 for ASCII), 0 when s starts
 * no valid sequence (overlong, surrogate, beyond U+10FFFF, truncated). */
size_t cm_utf8_len(const unsigned char *s);

/* s as a JSON string on stdout, quotes included: '"', '\\' and control
 * bytes escaped, bytes that are not UTF-8 replaced by \ufffd (JSON text
 * must be Unicode; names from a hostile volume need not be). */
void cm_json_str(const char *s);

#endif
