/* progress.c - the progress line (progress.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

/* Redraw at most this often: faster only costs CPU and flicker. */
#define PROGRESS_INTERVAL_NS 250000000ull

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void progress_bytes(uint64_t n, char *buf, size_t cap)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)n;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0]))
		v /= 1024, u++;
	if (u == 0)
		snprintf(buf, cap, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, cap, "%.1f %s", v, unit[u]);
}

void progress_start(struct progress *p, const char *what, uint64_t total_bytes,
		    uint64_t total_objects, unsigned flags)
{
	const char *env = getenv("SYSRECOVER_PROGRESS");

	memset(p, 0, sizeof(*p));
	p->what = what;
	p->total_bytes = total_bytes;
	p->total_objects = total_objects;
	p->out = stderr;
	p->clock = mono_ns;
	p->on = (flags & PROGRESS_FORCE) || (env && !strcmp(env, "1")) ||
		isatty(STDERR_FILENO);
	if (flags & PROGRESS_QUIET)
		p->on = false;
	p->t0 = p->last = p->clock();
}

static void eta(struct progress *p, double secs, char *buf, size_t cap)
{
	double done = 0;
	unsigned long left;

	if (p->total_bytes)
		done = (double)p->bytes / (double)p->total_bytes;
	else if (p->total_objects)
		done = (double)p->objects / (double)p->total_objects;
	if (done <= 0 || done > 1 || secs < 1) {
		buf[0] = '\0';
		return;
	}
	left = (unsigned long)(secs / done - secs);
	snprintf(buf, cap, "  %3.0f%%  ETA %lu:%02lu:%02lu", done * 100,
		 left / 3600, left / 60 % 60, left % 60);
}

void progress_draw(struct progress *p)
{
	uint64_t now = p->clock();
	double secs = (double)(now - p->t0) / 1e9;
	char b[32], t[32], r[32], e[48];

	if (!p->on)
		return;
	p->last = now;
	progress_bytes(p->bytes, b, sizeof(b));
	t[0] = '\0';
	if (p->total_bytes) {
		strcpy(t, " / ");
		progress_bytes(p->total_bytes, t + 3, sizeof(t) - 3);
	}
	progress_bytes(secs > 0 ? (uint64_t)((double)p->bytes / secs) : 0, r, sizeof(r));
	eta(p, secs, e, sizeof(e));
	/* \r and erase-to-end-of-line: the line is redrawn in place. */
	fprintf(p->out, "\r%s: %s%s  %llu objects  %s/s%s\033[K", p->what, b, t,
		(unsigned long long)p->objects, r, e);
	fflush(p->out);
	p->drawn = true;
}

void progress_add(struct progress *p, uint64_t bytes, uint64_t objects)
{
	p->bytes += bytes;
	p->objects += objects;
	if (p->on && p->clock() - p->last >= PROGRESS_INTERVAL_NS)
		progress_draw(p);
}

void progress_clear(struct progress *p)
{
	if (!p->on || !p->drawn)
		return;
	fputs("\r\033[K", p->out);
	fflush(p->out);
	p->drawn = false;
}

void progress_end(struct progress *p)
{
	if (!p->on)
		return;
	progress_draw(p);
	fputc('\n', p->out);
	fflush(p->out);
	p->drawn = false;
}
