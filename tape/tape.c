/* tape.c - the generic tape handle: argument checks, error text, dispatch. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tape_impl.h"

void tape_vopts_init(struct tape_vopts *o)
{
	memset(o, 0, sizeof(*o));
	o->fault_read_error = -1;
	o->fault_short_write = -1;
	o->fault_enospc = -1;
}

struct tape *tape_alloc(const struct tape_ops *ops, const char *kind,
			const char *name)
{
	struct tape *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->name = strdup(name);
	if (!t->name) {
		free(t);
		return NULL;
	}
	t->ops = ops;
	t->kind = kind;
	return t;
}

int tape_fail(struct tape *t, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	return err;
}

/* A backend that failed without saying why still gets a message. */
static long tape_done(struct tape *t, long rc)
{
	if (rc < 0 && !t->err[0])
		snprintf(t->err, sizeof(t->err), "%s", strerror((int)-rc));
	return rc;
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && strcmp(s + n - m, suf) == 0;
}

int tape_open_why(const char *name, const struct tape_vopts *vo,
		  struct tape **out, char *why, size_t cap)
{
	const char *base = strrchr(name, '/');
	int rc;

	if (why && cap)
		why[0] = 0;
	base = base ? base + 1 : name;
	if (has_prefix(name, "simh:"))
		return tape_open_simh_why(name + 5, vo, out, why, cap);
	if (strcmp(name, "mem:") == 0)
		return tape_open_mem(vo, out);
	if (has_suffix(name, ".tap"))
		return tape_open_simh_why(name, vo, out, why, cap);
	if (has_prefix(name, "/dev/") && strstr(base, "st")) {
		rc = tape_open_st(name, vo && vo->read_only, out);
		if (rc < 0 && why && cap)
			snprintf(why, cap, "cannot open '%s': %s", name,
				 strerror(-rc));
		return rc;
	}
	return -ENODEV;
}

int tape_open(const char *name, const struct tape_vopts *vo, struct tape **out)
{
	return tape_open_why(name, vo, out, NULL, 0);
}

int tape_close(struct tape *t)
{
	int rc;

	if (!t)
		return 0;
	rc = t->ops->close(t);
	free(t->name);
	free(t);
	return rc;
}

const char *tape_name(const struct tape *t)
{
	return t->name;
}

const char *tape_kind(const struct tape *t)
{
	return t->kind;
}

const char *tape_errmsg(const struct tape *t)
{
	return t->err;
}

ssize_t tape_read(struct tape *t, void *buf, size_t len, enum tape_rd *what)
{
	enum tape_rd dummy;

	t->err[0] = 0;
	return tape_done(t, t->ops->read(t, buf, len, what ? what : &dummy));
}

ssize_t tape_write(struct tape *t, const void *buf, size_t len)
{
	t->err[0] = 0;
	return tape_done(t, t->ops->write(t, buf, len));
}

int tape_write_marks(struct tape *t, enum tape_mark kind, unsigned count)
{
	t->err[0] = 0;
	return (int)tape_done(t, t->ops->write_marks(t, kind, count));
}

int tape_rewind(struct tape *t)
{
	t->err[0] = 0;
	return (int)tape_done(t, t->ops->rewind(t));
}

int tape_space(struct tape *t, enum tape_space what, long count)
{
	t->err[0] = 0;
	if (what != TAPE_SP_EOD && count == 0)
		return 0;
	if (count == LONG_MIN)  /* cannot be negated; no tape is that long */
		return tape_fail(t, -EINVAL, "space count %ld out of range", count);
	return (int)tape_done(t, t->ops->space(t, what, count));
}

int tape_locate(struct tape *t, unsigned part, uint64_t block)
{
	t->err[0] = 0;
	return (int)tape_done(t, t->ops->locate(t, part, block));
}

int tape_tell(struct tape *t, unsigned *part, uint64_t *block)
{
	unsigned p;
	uint64_t b;

	t->err[0] = 0;
	return (int)tape_done(t, t->ops->tell(t, part ? part : &p,
					      block ? block : &b));
}

int tape_erase(struct tape *t, bool long_erase)
{
	t->err[0] = 0;
	return (int)tape_done(t, t->ops->erase(t, long_erase));
}

int tape_prepare(struct tape *t, enum tape_prep op)
{
	t->err[0] = 0;
	return (int)tape_done(t, t->ops->prepare(t, op));
}

int tape_mkpart(struct tape *t, long size_mb)
{
	t->err[0] = 0;
	return (int)tape_done(t, t->ops->mkpart(t, size_mb));
}

int tape_setpart(struct tape *t, unsigned part)
{
	t->err[0] = 0;
	return (int)tape_done(t, t->ops->setpart(t, part));
}

int tape_get_params(struct tape *t, struct tape_params *p)
{
	t->err[0] = 0;
	memset(p, 0, sizeof(*p));
	return (int)tape_done(t, t->ops->get_params(t, p));
}

int tape_set_blksize(struct tape *t, uint32_t block_size)
{
	t->err[0] = 0;
	return (int)tape_done(t, t->ops->set_blksize(t, block_size));
}

int tape_set_compression(struct tape *t, bool on)
{
	t->err[0] = 0;
	return (int)tape_done(t, t->ops->set_compression(t, on));
}

int tape_status(struct tape *t, struct tape_status *s)
{
	t->err[0] = 0;
	memset(s, 0, sizeof(*s));
	return (int)tape_done(t, t->ops->status(t, s));
}
