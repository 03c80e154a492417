/* err.c - the error context (err.h): filling it, widening it, printing it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

const char *err_progname = "sysrecover";

__attribute__((format(printf, 5, 0)))
static int vset(struct err *e, enum err_level level, enum err_code code,
		int neg_errno, const char *fmt, va_list ap)
{
	if (!e)
		return neg_errno;
	e->level = level;
	e->code = code;
	e->errnum = neg_errno < 0 ? -neg_errno : 0;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	return neg_errno;
}

int err_set(struct err *e, int neg_errno, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(e, ERR_FATAL, ERR_SYSTEM, neg_errno, fmt, ap);
	va_end(ap);
	return neg_errno;
}

int err_setc(struct err *e, enum err_level level, enum err_code code,
	     int neg_errno, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(e, level, code, neg_errno, fmt, ap);
	va_end(ap);
	return neg_errno;
}

int err_context(struct err *e, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	size_t n;

	if (!e)
		return -EIO;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!e->msg[0] && e->errnum)
		snprintf(e->msg, sizeof(e->msg), "%s", strerror(e->errnum));
	n = strlen(e->msg);
	/* A message cut short by the buffer keeps its start, which says the
	 * most; the context then goes where it fits. */
	snprintf(e->msg + n, sizeof(e->msg) - n, " (%s)", what);
	return e->errnum ? -e->errnum : -EIO;
}

void err_relevel(struct err *e, enum err_level level)
{
	if (e)
		e->level = level;
}

void err_clear(struct err *e)
{
	if (e)
		memset(e, 0, sizeof(*e));
}

void err_copy(struct err *dst, const struct err *src)
{
	if (dst && src && dst != src)
		memcpy(dst, src, sizeof(*dst));
}

bool err_failed(const struct err *e)
{
	return e && e->level >= ERR_ITEM;
}

int err_exit_level(enum err_level worst)
{
	switch (worst) {
	case ERR_OK:
	case ERR_WARNING:
		return ERR_EXIT_OK;
	case ERR_ITEM:
		return ERR_EXIT_PARTIAL;
	case ERR_FATAL:
		break;
	}
	return ERR_EXIT_FAILED;
}

int err_exit_code(const struct err *e)
{
	if (!e)
		return ERR_EXIT_OK;
	if (e->code == ERR_USAGE)
		return ERR_EXIT_USAGE;
	if (e->code == ERR_INTERNAL)
		return ERR_EXIT_INTERNAL;
	return err_exit_level(e->level);
}

enum err_level err_worse(enum err_level a, enum err_level b)
{
	return a > b ? a : b;
}

__attribute__((format(printf, 2, 0)))
static void say(const char *what, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", err_progname, what);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void err_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("", fmt, ap);
	va_end(ap);
}

void err_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("warning: ", fmt, ap);
	va_end(ap);
}

void err_print(const struct err *e)
{
	const char *m;

	if (!e || e->level == ERR_OK)
		return;
	m = e->msg[0] ? e->msg : strerror(e->errnum ? e->errnum : EIO);
	if (e->level == ERR_WARNING)
		err_warn("%s", m);
	else
		err_say("%s", m);
}
