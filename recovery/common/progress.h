/* progress.h - one progress line for every long operation (copy-in, tape
 * read and write, srdelayed apply, later backup and restore): bytes,
 * objects, rate and ETA, redrawn in place at most a few times a second on a
 * terminal, and nothing at all when the output is not a terminal, so that
 * logs and pipes stay clean.
 *
 *   struct progress p;
 *   progress_start(&p, "copy-in", total_bytes, total_objects, 0);
 *   ... progress_add(&p, n_bytes, n_objects); ...
 *   progress_end(&p);
 *
 * A total of 0 means unknown: then there is no percentage and no ETA.
 */
#ifndef SYSRECOVER_PROGRESS_H
#define SYSRECOVER_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum {
	PROGRESS_FORCE = 1u << 0,   /* draw even when not on a terminal
				     * (SYSRECOVER_PROGRESS=1 does the same) */
	PROGRESS_QUIET = 1u << 1,   /* never draw (--quiet, --json) */
};

struct progress {
	const char *what;
	uint64_t total_bytes, total_objects;
	uint64_t bytes, objects;
	FILE *out;                  /* stderr unless set before the first add */
	bool on;                    /* drawing at all */
	bool drawn;                 /* a line is on the screen */
	uint64_t t0, last;          /* ns: start, last redraw */
	uint64_t (*clock)(void);    /* ns; monotonic unless a test sets it */
};

void progress_start(struct progress *p, const char *what, uint64_t total_bytes,
		    uint64_t total_objects, unsigned flags);
void progress_add(struct progress *p, uint64_t bytes, uint64_t objects);
/* Draw now, whatever the time since the last line (before a message that
 * must not be mixed into the line, call progress_clear instead). */
void progress_draw(struct progress *p);
/* Remove the line so that other output can follow; the next add redraws. */
void progress_clear(struct progress *p);
/* The last line, kept on the screen, then a newline. */
void progress_end(struct progress *p);
/* "1.5 GiB", "812 KiB", "17 B" into buf. */
void progress_bytes(uint64_t n, char *buf, size_t cap);

#endif
