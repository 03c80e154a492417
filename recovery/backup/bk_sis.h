/* bk_sis.h - single-instance-store (SIS) links and the common store on a
 * backup (private to recovery/backup; bk_sis.c says what is known).
 *
 *   struct bk_sis *s;
 *   bk_sis_scan(fs, &s);                      the store's file names, once per volume
 *   if (bk_sis_in_store(path)) ...            never excluded, never a copy
 *   name = bk_sis_store_of(s, rp, len, &is)   is: a SIS link; name: its store
 *                                             file ("NAME.sis") or NULL
 */
#ifndef SYSRECOVER_BK_SIS_H
#define SYSRECOVER_BK_SIS_H

#include <stdbool.h>
#include <stddef.h>

struct fs;
struct bk_sis;

#define BK_SIS_STORE "/SIS Common Store"

/* The common store's files of an NTFS volume (none elsewhere): 0 or
 * -ENOMEM; *out NULL when the volume has no store. */
int bk_sis_scan(struct fs *fs, struct bk_sis **out);
void bk_sis_free(struct bk_sis *s);
/* The store directory itself, or anything in it. */
bool bk_sis_in_store(const char *path);
/* rp: a system.ntfs_reparse_data value.  *link: its tag is
 * IO_REPARSE_TAG_SIS.  Returns the name of the one store file whose GUID
 * the reparse data holds, or NULL (none, or more than one). */
const char *bk_sis_store_of(const struct bk_sis *s, const void *rp, size_t len, bool *link);

#endif
