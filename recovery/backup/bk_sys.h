/* bk_sys.h - the system-state part of a backup (private to
 * recovery/backup): which Windows the volume holds, its FilesNotToBackup
 * rules, which members are hives.
 *
 *   struct bk_sys *s;
 *   bk_sys_open(fs, "/dev/sda2", &s, &err);   refuses a volume without Windows
 *   bk_sys_label(s, &label, "v0");            before the label is written
 *   bk_sys_leave_out(s, "v0", "/pagefile.sys")    1: a rule names it
 *   bk_sys_is_hive(s, fs, "/Windows/System32/config/SAM")
 *   bk_sys_take(s, &result->sys);             the counts, for the summary
 *   bk_sys_free(s);
 */
#ifndef SYSRECOVER_BK_SYS_H
#define SYSRECOVER_BK_SYS_H

#include <stdbool.h>

#include "arc.h"
#include "bk.h"
#include "err.h"

struct fs;
struct bk_sys;

/* fs is the source, opened read-only; source is its name as given (the
 * mount check looks it up).  Refusals (ERR_REFUSED): a directory, another
 * file system than NTFS, a mounted volume, no Windows\System32\config\
 * SYSTEM, a SYSTEM hive that cannot be read. */
int bk_sys_open(struct fs *fs, const char *source, struct bk_sys **out,
		struct err *err);
/* Flag the set as system state and fill the label's Windows lines; vol is
 * the volume id of the source ("v0"). */
void bk_sys_label(const struct bk_sys *s, struct arc_label *l, const char *vol);
/* 1 when a FilesNotToBackup rule names path ('/'-separated, from the
 * volume root): counted against that rule, with vol/path as its first
 * example when it is the rule's first. */
int bk_sys_leave_out(struct bk_sys *s, const char *vol, const char *path);
/* True when path is a registry hive (not a log): a hive's file name in a
 * System32\config directory, or NTUSER.DAT / UsrClass.dat, starting with
 * "regf".  Counted. */
bool bk_sys_is_hive(struct bk_sys *s, struct fs *fs, const char *path);
/* Hand the report over (*out malloc'd; s keeps nothing of it). */
int bk_sys_take(struct bk_sys *s, struct bk_sys_result **out);
void bk_sys_free(struct bk_sys *s);
void bk_sys_result_free(struct bk_sys_result *r);

#endif
