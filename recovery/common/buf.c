/* buf.c - growing arrays and byte buffers (buf.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

int buf_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	if (elem && n > SIZE_MAX / elem)
		return -ENOMEM;
	q = realloc(*p, n * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

void buf_add(struct buf *b, const void *p, size_t n)
{
	void *d = b->d;

	if (b->rc || !n)
		return;
	if (b->n + n < b->n) {
		b->rc = -ENOMEM;
		return;
	}
	b->rc = buf_grow(&d, &b->cap, b->n + n, 1);
	if (b->rc)
		return;
	b->d = d;
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

void buf_free(struct buf *b)
{
	free(b->d);
	memset(b, 0, sizeof(*b));
}
