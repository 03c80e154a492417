/* buf.h - growing arrays and byte buffers by doubling, overflow-checked. */
#ifndef SYSRECOVER_BUF_H
#define SYSRECOVER_BUF_H

#include <stddef.h>

/* Make *p (an array of *cap elements of elem bytes, or NULL) hold at least
 * need elements, doubling from 16.  0, or -ENOMEM with *p and *cap as they
 * were (the caller still owns and frees *p). */
int buf_grow(void **p, size_t *cap, size_t need, size_t elem);

/* A byte buffer that appends; rc keeps the first failure so that a
 * sequence of appends is checked once at the end. */
struct buf {
	unsigned char *d;
	size_t n, cap;
	int rc;
};
void buf_add(struct buf *b, const void *p, size_t n);
void buf_free(struct buf *b);

#endif
