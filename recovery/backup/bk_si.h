/* bk_si.h - the single-instance table of a backup (private to
 * recovery/backup): which contents the set already holds, by size and
 * SHA-256, and the member that holds each.
 *
 *   struct bk_si *si;
 *   bk_si_new(&si, 16 << 20);
 *   if (bk_si_size_known(si, size)) {           hash the file first, then
 *       const char *first = bk_si_find(si, size, sha);    NULL: new content
 *   }
 *   bk_si_add(si, size, sha, "v0/etc/a");        after its data is written
 *
 * Memory is bounded: past the budget nothing more is added (bk_si_full
 * says so), and a later copy of content not yet in the table is stored
 * again, as if it were new.  A set stays correct either way.
 */
#ifndef SYSRECOVER_BK_SI_H
#define SYSRECOVER_BK_SI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bk_si;

/* 0, or -ENOMEM. */
int bk_si_new(struct bk_si **out, size_t budget);
void bk_si_free(struct bk_si *si);

/* Does some content in the table have this size?  (Only then is a file
 * worth hashing before it is written.) */
bool bk_si_size_known(const struct bk_si *si, uint64_t size);
/* The member name that holds this content, or NULL. */
const char *bk_si_find(const struct bk_si *si, uint64_t size, const uint8_t sha[32]);
/* Remember name as the holder of this content: 0, or 1 when the budget is
 * spent and it was not added, or -ENOMEM. */
int bk_si_add(struct bk_si *si, uint64_t size, const uint8_t sha[32], const char *name);
bool bk_si_full(const struct bk_si *si);

#endif
