/* rs_ahead.c - reading the tape ahead of a restore: a thread of its own
 * reads the data file's records into a small ring while the restore writes
 * the members already read, so that a drive keeps streaming while the
 * volume is written (two cores: one reads the tape, one writes the disk).
 *
 * Results come back strictly in tape order, records, the closing filemark
 * or an error alike (with the tape's message as it was then), so the
 * callback behaves exactly as the synchronous one; the thread stops at the
 * first thing that is not a record.  Nobody else touches the tape until
 * rs_ahead_stop has joined the thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>

#include "rs_impl.h"

#define AHEAD_SLOTS 8

struct ahead_slot {
	unsigned char *buf;
	ssize_t n;
	enum tape_rd what;
	char msg[256];
};

struct rs_ahead {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct tape *t;
	size_t size;                 /* of each slot: the set's record size */
	struct ahead_slot slot[AHEAD_SLOTS];
	size_t head, count;          /* filled slots, from head */
	bool held;                   /* head is the caller's until the next call */
	bool ended, stop;
};

static void *ahead_main(void *arg)
{
	struct rs_ahead *ra = arg;
	bool last = false;

	pthread_mutex_lock(&ra->mu);
	while (!last) {
		struct ahead_slot *s;

		while (!ra->stop && ra->count == AHEAD_SLOTS)
			pthread_cond_wait(&ra->cv, &ra->mu);
		if (ra->stop)
			break;
		s = &ra->slot[(ra->head + ra->count) % AHEAD_SLOTS];
		pthread_mutex_unlock(&ra->mu);
		s->n = tape_read(ra->t, s->buf, ra->size, &s->what);
		snprintf(s->msg, sizeof(s->msg), "%s", s->n < 0 ? tape_errmsg(ra->t) : "");
		last = s->n < 0 || s->what != TAPE_RD_DATA;
		pthread_mutex_lock(&ra->mu);
		ra->count++;
		pthread_cond_broadcast(&ra->cv);
	}
	ra->ended = true;
	pthread_cond_broadcast(&ra->cv);
	pthread_mutex_unlock(&ra->mu);
	return NULL;
}

static void ahead_free(struct rs_ahead *ra)
{
	for (size_t i = 0; i < AHEAD_SLOTS; i++)
		free(ra->slot[i].buf);
	free(ra);
}

int rs_ahead_start(struct rs_reader *rd, size_t record_size)
{
	struct rs_ahead *ra = calloc(1, sizeof(*ra));

	if (!ra)
		return -ENOMEM;
	ra->t = rd->r->t;
	ra->size = record_size;
	for (size_t i = 0; i < AHEAD_SLOTS; i++)
		if (!(ra->slot[i].buf = malloc(record_size))) {
			ahead_free(ra);
			return -ENOMEM;
		}
	pthread_mutex_init(&ra->mu, NULL);
	pthread_cond_init(&ra->cv, NULL);
	if (pthread_create(&ra->th, NULL, ahead_main, ra)) {
		pthread_mutex_destroy(&ra->mu);
		pthread_cond_destroy(&ra->cv);
		ahead_free(ra);
		return -EAGAIN;
	}
	rd->ra = ra;
	return 0;
}

void rs_ahead_stop(struct rs_reader *rd)
{
	struct rs_ahead *ra = rd->ra;

	if (!ra)
		return;
	pthread_mutex_lock(&ra->mu);
	ra->stop = true;
	pthread_cond_broadcast(&ra->cv);
	pthread_mutex_unlock(&ra->mu);
	pthread_join(ra->th, NULL);
	pthread_mutex_destroy(&ra->mu);
	pthread_cond_destroy(&ra->cv);
	ahead_free(ra);
	rd->ra = NULL;
}

/* The next result in tape order: as tape_read would have returned it. */
ssize_t rs_ahead_read(struct rs_reader *rd, const unsigned char **buf, enum tape_rd *what,
		      const char **msg)
{
	struct rs_ahead *ra = rd->ra;
	struct ahead_slot *s;

	pthread_mutex_lock(&ra->mu);
	if (ra->held) {   /* the record handed out last time is done with */
		ra->head = (ra->head + 1) % AHEAD_SLOTS;
		ra->count--;
		ra->held = false;
		pthread_cond_broadcast(&ra->cv);
	}
	while (!ra->count && !ra->ended)
		pthread_cond_wait(&ra->cv, &ra->mu);
	if (!ra->count) {   /* after the end: nothing more, as at a filemark */
		pthread_mutex_unlock(&ra->mu);
		*what = TAPE_RD_FILEMARK;
		*msg = "";
		return 0;
	}
	s = &ra->slot[ra->head];
	ra->held = true;
	pthread_mutex_unlock(&ra->mu);
	*buf = s->buf;
	*what = s->what;
	*msg = s->msg;
	return s->n;
}
