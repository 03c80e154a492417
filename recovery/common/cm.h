/* cm.h - what every part of sysrecover shares: exit codes, messages, numbers. */
#ifndef SYSRECOVER_CM_H
#define SYSRECOVER_CM_H

#include <stdbool.h>
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

#endif
