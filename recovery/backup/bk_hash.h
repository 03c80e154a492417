/* bk_hash.h - SHA-256 of file data on a thread of its own (private to
 * recovery/backup).
 *
 * Why: hashing is most of what the reading side of a backup does (nettle's
 * SHA-NI code takes 0.65 s for the 700 MB bench tree, the rest of the
 * reading side about half that), and the machine it runs on has at least
 * two cores.  The reader fills buffers that this module owns; a thread
 * hashes them in order while the reader hands the same bytes to libarchive
 * and goes on to the next file.  A file's digest is ready later, under a
 * ticket; the catalog line that needs it waits for it (bk.c).
 *
 *   unsigned char *p = bk_hash_buf(h, want);  room for want bytes
 *   n = pread(..., p, want, off);
 *   bk_hash_feed(h, n);                        p stays valid until the next
 *   archive_write_data(a, p, n);               bk_hash_buf
 *   ...
 *   t = bk_hash_end(h);                        the digest of all fed since
 *   bk_hash_result(h, t, sha, true);           the last end (or bk_hash_drop)
 *
 * Tickets count from 1.  A digest is kept until BK_HASH_KEEP more files
 * have ended: the caller fetches it before that.
 */
#ifndef SYSRECOVER_BK_HASH_H
#define SYSRECOVER_BK_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BK_HASH_BUF (1u << 20)   /* bytes per buffer */
#define BK_HASH_KEEP 256u        /* digests kept, by ticket */

struct bk_hash;

/* 0, or -ENOMEM / -errno of pthread_create. */
int bk_hash_new(struct bk_hash **out);
/* Stops and joins the thread (what is queued is hashed first). */
void bk_hash_free(struct bk_hash *h);

/* Room for want (<= BK_HASH_BUF) bytes: in the buffer being filled, or
 * the next one once the thread is done with it. */
unsigned char *bk_hash_buf(struct bk_hash *h, size_t want);
/* The first n (<= want) bytes of what bk_hash_buf returned last are the
 * next bytes of the current file. */
void bk_hash_feed(struct bk_hash *h, size_t n);
/* The current file is complete: its ticket. */
uint64_t bk_hash_end(struct bk_hash *h);
/* The current file is abandoned (a read failed): what was fed is dropped. */
void bk_hash_drop(struct bk_hash *h);
/* Copies the digest of ticket t into sha: true, or false when it is not
 * ready and wait is false.  t must be one of the last BK_HASH_KEEP. */
bool bk_hash_result(struct bk_hash *h, uint64_t t, uint8_t sha[32], bool wait);

#endif
