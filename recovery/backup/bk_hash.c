/* bk_hash.c - SHA-256 of file data on a thread of its own (bk_hash.h).
 *
 * One queue of jobs, in the order the reader made them: data (a buffer
 * and a length), end of file, drop.  Files are hashed one after another,
 * so the thread needs one context.  A buffer is handed out again only
 * when the thread has hashed it; that, and a full queue, are the only
 * places the reader waits.  Memory: BK_HASH_NBUF buffers, touched only as
 * far as they are filled.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bk_hash.h"
#include "hash.h"

#define BK_HASH_NBUF 8u     /* the reader may run this many buffers ahead */
/* The thread, once idle, is woken only when this much work is queued (or
 * the reader has to wait): waking it for every small file cost the reader
 * a system call and a context switch per file, more than the hashing. */
#define BK_HASH_WAKE_JOBS 64u
#define BK_HASH_WAKE_BYTES (2u << 20)
#define BK_HASH_NJOB 256u   /* empty files: ends without data */

enum bk_hash_kind { BK_HASH_DATA, BK_HASH_END, BK_HASH_DROP };

struct bk_hash_job {
	enum bk_hash_kind kind;
	unsigned buf;
	const unsigned char *p;
	size_t n;
	uint64_t ticket;
};

struct bk_hash {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	/* who sleeps on cv: a wakeup is a system call and a context switch,
	 * made only for a sleeper (small files make a job every few KiB) */
	bool idle, waiting;
	unsigned char *buf[BK_HASH_NBUF];
	unsigned busy[BK_HASH_NBUF];      /* data jobs in it not hashed yet */
	unsigned cur;                     /* the buffer the reader fills */
	size_t used;                      /* of it: small files share one */
	size_t qbytes;                    /* queued, not hashed yet */
	struct bk_hash_job job[BK_HASH_NJOB];
	size_t head, tail, count;         /* ring: queue at head, hash at tail */
	uint64_t issued, done;            /* tickets */
	uint8_t sha[BK_HASH_KEEP][HASH_SHA256_LEN];
	struct hash_sha256 ctx;           /* the thread's alone */
};

static void run_job(struct bk_hash *h, const struct bk_hash_job *j)
{
	uint8_t sha[HASH_SHA256_LEN];

	switch (j->kind) {
	case BK_HASH_DATA:
		hash_sha256_update(&h->ctx, j->p, j->n);
		pthread_mutex_lock(&h->mu);
		h->busy[j->buf]--;
		h->qbytes -= j->n;
		break;
	case BK_HASH_END:
		hash_sha256_final(&h->ctx, sha);
		hash_sha256_init(&h->ctx);
		pthread_mutex_lock(&h->mu);
		memcpy(h->sha[j->ticket % BK_HASH_KEEP], sha, sizeof(sha));
		h->done = j->ticket;
		break;
	default:
		hash_sha256_init(&h->ctx);
		pthread_mutex_lock(&h->mu);
		break;
	}
	h->tail = (h->tail + 1) % BK_HASH_NJOB;
	h->count--;
	if (h->waiting)
		pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

static void *hash_main(void *arg)
{
	struct bk_hash *h = arg;

	hash_sha256_init(&h->ctx);
	for (;;) {
		struct bk_hash_job j;

		pthread_mutex_lock(&h->mu);
		while (h->count == 0 && !h->stop) {
			h->idle = true;
			pthread_cond_wait(&h->cv, &h->mu);
			h->idle = false;
		}
		if (h->count == 0) {
			pthread_mutex_unlock(&h->mu);
			return NULL;
		}
		j = h->job[h->tail];
		pthread_mutex_unlock(&h->mu);
		run_job(h, &j);
	}
}

int bk_hash_new(struct bk_hash **out)
{
	struct bk_hash *h = calloc(1, sizeof(*h));
	int rc = h ? 0 : -ENOMEM;

	for (unsigned i = 0; rc == 0 && i < BK_HASH_NBUF; i++)
		if (!(h->buf[i] = malloc(BK_HASH_BUF)))
			rc = -ENOMEM;
	if (rc == 0) {
		pthread_mutex_init(&h->mu, NULL);
		pthread_cond_init(&h->cv, NULL);
		rc = -pthread_create(&h->th, NULL, hash_main, h);
		if (rc) {
			pthread_mutex_destroy(&h->mu);
			pthread_cond_destroy(&h->cv);
		}
	}
	if (rc && h) {
		for (unsigned i = 0; i < BK_HASH_NBUF; i++)
			free(h->buf[i]);
		free(h);
		h = NULL;
	}
	*out = h;
	return rc;
}

void bk_hash_free(struct bk_hash *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->th, NULL);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	for (unsigned i = 0; i < BK_HASH_NBUF; i++)
		free(h->buf[i]);
	free(h);
}

/* Called with the lock held: the reader sleeps until the thread moves
 * (woken first if it sleeps itself). */
static void wait_thread(struct bk_hash *h)
{
	if (h->idle)
		pthread_cond_broadcast(&h->cv);
	h->waiting = true;
	pthread_cond_wait(&h->cv, &h->mu);
	h->waiting = false;
}

/* Called with the lock held: queue j once there is room. */
static void push(struct bk_hash *h, const struct bk_hash_job *j)
{
	while (h->count == BK_HASH_NJOB)
		wait_thread(h);
	h->job[h->head] = *j;
	h->head = (h->head + 1) % BK_HASH_NJOB;
	h->count++;
	h->qbytes += j->n;
	if (h->idle && (h->count >= BK_HASH_WAKE_JOBS || h->qbytes >= BK_HASH_WAKE_BYTES))
		pthread_cond_broadcast(&h->cv);
}

unsigned char *bk_hash_buf(struct bk_hash *h, size_t want)
{
	unsigned next = (h->cur + 1) % BK_HASH_NBUF;

	/* the thread reads only the parts of this buffer queued before:
	 * the rest is free to fill */
	if (h->used + want <= BK_HASH_BUF)
		return h->buf[h->cur] + h->used;
	pthread_mutex_lock(&h->mu);
	while (h->busy[next])
		wait_thread(h);
	h->cur = next;
	h->used = 0;
	pthread_mutex_unlock(&h->mu);
	return h->buf[next];
}

void bk_hash_feed(struct bk_hash *h, size_t n)
{
	struct bk_hash_job j = { .kind = BK_HASH_DATA, .buf = h->cur,
				 .p = h->buf[h->cur] + h->used, .n = n };

	if (n == 0)
		return;
	h->used += n;
	pthread_mutex_lock(&h->mu);
	h->busy[h->cur]++;
	push(h, &j);
	pthread_mutex_unlock(&h->mu);
}

uint64_t bk_hash_end(struct bk_hash *h)
{
	struct bk_hash_job j = { .kind = BK_HASH_END };

	pthread_mutex_lock(&h->mu);
	j.ticket = ++h->issued;
	push(h, &j);
	pthread_mutex_unlock(&h->mu);
	return j.ticket;
}

void bk_hash_drop(struct bk_hash *h)
{
	struct bk_hash_job j = { .kind = BK_HASH_DROP };

	pthread_mutex_lock(&h->mu);
	push(h, &j);
	pthread_mutex_unlock(&h->mu);
}

bool bk_hash_result(struct bk_hash *h, uint64_t t, uint8_t sha[32], bool wait)
{
	bool ready;

	pthread_mutex_lock(&h->mu);
	while (h->done < t && wait)
		wait_thread(h);
	ready = h->done >= t;
	if (ready)
		memcpy(sha, h->sha[t % BK_HASH_KEEP], HASH_SHA256_LEN);
	pthread_mutex_unlock(&h->mu);
	return ready;
}
