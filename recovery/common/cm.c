/* cm.c - messages and number parsing shared by every command. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cm.h"

const char *cm_progname = "sysrecover";

__attribute__((format(printf, 2, 0)))
static void say(const char *what, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", cm_progname, what);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cm_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("", fmt, ap);
	va_end(ap);
}

void cm_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("warning: ", fmt, ap);
	va_end(ap);
}

bool cm_parse_size(const char *s, bool allow_neg, int64_t *out)
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
