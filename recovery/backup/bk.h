/* bk.h - write a backup set: label, pax data, catalog (see arc.h).
 *
 *   struct bk_opts o = { .tape = "/dev/nst0", .sources = srcs, .nsrc = 2 };
 *   struct bk_result r;
 *   rc = bk_run(&o, &r, &err);
 *
 * Sources are volumes (anything fs_open takes: /dev/sda2, disk.img@2,
 * UUID=...) opened read-only, or directories of the running system.  The set
 * is appended after the last set on the tape.  Each source becomes volume vN
 * of the set and its members are named vN/<path> in the pax data, so that
 * GNU tar or bsdtar extract the data file with nothing else.  A member that
 * cannot be read is reported, counted as failed and left out (its catalog
 * line says "lost"); the set is still complete and usable.
 *
 * Single instance: a file whose content (SHA-256) an earlier member of the
 * set holds is written as a hard-link member naming that member and marked
 * as a copy (the xattr sysrecover.copy; "copy" in the catalog), so its
 * bytes go on tape once; tar extracts it as a hard link to that member.
 *
 * System state (bk_opts.system_state; bk_sys.c): the one source must be an
 * unmounted NTFS volume holding Windows (Windows\System32\config\SYSTEM,
 * any case); anything else is refused before the tape is opened.  The
 * FilesNotToBackup rules of that SYSTEM hive (read offline, a dirty hive
 * replayed in memory from its logs), with %SystemRoot% and the other
 * variables expanded from the volume's own hives, leave out every member
 * they match, as --exclude does; an entry that cannot be expanded is
 * skipped and reported.  "\SIS Common Store" is never left out, neither
 * by a rule nor by --exclude.  Hives and their logs go on tape as found;
 * the hive files (not the logs) are marked "hive" in the catalog.  The
 * label says system-state, the Windows version and the hive paths.
 */
#ifndef SYSRECOVER_BK_H
#define SYSRECOVER_BK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct progress;

/* Told about every member that failed (err < 0) or lost metadata (err 0). */
typedef void (*bk_report_fn)(void *arg, const char *vol, const char *path,
			     const struct err *why);

struct bk_opts {
	const char *tape;                  /* device or SIMH image */
	const char *tool;                  /* "sysrecover 0.3.0 (git ...)", for the label */
	const char *const *sources;
	size_t nsrc;
	const char *const *excludes;       /* fnmatch(3) patterns on volume paths */
	size_t nexcl;
	uint32_t record_size;              /* 0: ARC_RECORD_DEFAULT */
	bool dry_run;                      /* walk and count; touch no tape */
	bool system_state;                 /* sources[0] is a Windows volume */
	struct progress *progress;         /* NULL: none */
	bk_report_fn report;
	void *arg;
};

struct bk_result {
	char uuid[37];
	uint32_t label_file;               /* tape file of the set's label */
	uint64_t members;                  /* in the catalog */
	uint64_t files, dirs, symlinks, links, specials;
	uint64_t streams;                  /* NTFS named data streams */
	uint64_t bytes;                    /* file data, apparent size */
	uint64_t copies;                   /* files whose content an earlier member
					      holds: stored once (counted in files) */
	uint64_t copy_bytes;               /* their bytes, not written again */
	bool si_full;                      /* the single-instance table filled:
					      later copies were stored again */
	uint64_t failed;                   /* members left out */
	uint64_t data_records;             /* records of the data file */
	uint64_t catalog_records;
	struct bk_sys_result *sys;         /* system state only; bk_result_free */
};

/* One FilesNotToBackup entry of a system-state backup. */
struct bk_rule {
	char *component, *entry;   /* value name and string, as in the hive */
	char *expanded;            /* after expansion; NULL when skipped */
	char *skipped;             /* why it was skipped, else NULL */
	uint64_t members;          /* members it left out (a directory counts
				    * once: its subtree goes with it) */
	char *first;               /* the first of them ("vN/path"), or NULL */
};

struct bk_sys_result {
	char windows[128], build[40];  /* "" when SOFTWARE does not say */
	char systemroot[260];          /* and where it came from: */
	const char *systemroot_src;    /* "SOFTWARE" or "default" */
	char system[512];              /* the SYSTEM hive read, in the volume */
	char warning[512];             /* why it opened degraded, "" if not */
	struct bk_rule *rules;         /* the usable rules, then the skipped */
	size_t nrules;
	uint64_t excluded;             /* members left out by the rules */
	uint64_t hives;                /* members marked hive */
};

int bk_run(const struct bk_opts *o, struct bk_result *r, struct err *err);
/* What bk_run allocated in r (r->sys); r stays valid otherwise. */
void bk_result_free(struct bk_result *r);

#endif
