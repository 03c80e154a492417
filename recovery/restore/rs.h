/* rs.h - read backup sets from tape: find them, list their catalogs,
 * verify their data (and, later, restore it).
 *
 *   struct rs *r;
 *   rs_open("/dev/nst0", &r, &err);      the tape, read-only, sets found
 *   for (i = 0; i < rs_count(r); i++) rs_set(r, i)->label ...
 *   rs_catalog(r, i, cb, arg);            one set's members, streamed
 *   rs_verify(r, i, &vo, &res);           read the data back, check hashes
 *   rs_close(r);
 *
 * Sets are found by reading the first record of every tape file from the
 * beginning: a valid label starts a set, anything else (a GNU tar file, an
 * empty file) is counted as foreign and skipped.  Positioning is rewind
 * and space-filemarks, which every drive can do.
 */
#ifndef SYSRECOVER_RS_H
#define SYSRECOVER_RS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arc.h"
#include "err.h"

struct progress;
struct rs;

struct rs_set {
	struct arc_label label;
	unsigned number;        /* 1-based, in tape order */
	bool complete;          /* data and catalog files are both there */
};

/* Open the tape read-only and find its sets.  A damaged label is an error
 * (ERR_CORRUPT) that names the tape file; rs_open does not guess past it. */
int rs_open(const char *tape, struct rs **out, struct err *err);
/* The same with a read error injected at logical object N of a virtual
 * tape (tests only: media errors). */
int rs_open_faulty(const char *tape, long read_error_at, struct rs **out,
		   struct err *err);
void rs_close(struct rs *r);
size_t rs_count(const struct rs *r);
const struct rs_set *rs_set(const struct rs *r, size_t i);
/* Tape files that are not ours (another tool's archive: GNU tar, bsdtar,
 * star): how many, and the tape file number of the kth. */
size_t rs_foreign(const struct rs *r);
uint32_t rs_foreign_file(const struct rs *r, size_t k);

/* Stream the catalog of set i to cb (arc.h); the trailer is checked. */
int rs_catalog(struct rs *r, size_t i, arc_entry_fn cb, void *arg);

/* The members of a data file read from the tape itself, for a set cut
 * off before its catalog (set i, foreign false) or another tool's tar file
 * (tape file i, foreign true: member names as that tool wrote them).  cb
 * gets index, type, size, path, target and the position; no hashes.
 * 1 when the data ends early (cut off; rs_error says after what). */
int rs_scan(struct rs *r, size_t i, bool foreign, arc_entry_fn cb, void *arg);

/* A member whose data does not match, or that is missing. */
typedef void (*rs_report_fn)(void *arg, const char *name, const char *why);

struct rs_verify_opts {
	rs_report_fn report;
	void *arg;
	struct progress *progress;
};

struct rs_verify_result {
	uint64_t members;       /* in the catalog */
	uint64_t checked;       /* files and streams whose hash was compared */
	uint64_t bad;           /* mismatches, members missing or unexpected */
	uint64_t lost;          /* left out at backup (the catalog says so) */
	uint64_t bytes;
	uint64_t sis_missing;   /* SIS links whose common-store file is not
				   in the set (each reported) */
	uint64_t sis, efs_raw, hives;  /* members with those catalog flags */
};

/* Read the data of set i back, recompute every SHA-256 and compare it
 * with the catalog; headers must come in catalog order with the same
 * names.  0 when all agree; 1 when some did not (each reported). */
int rs_verify(struct rs *r, size_t i, const struct rs_verify_opts *o,
	      struct rs_verify_result *res);

/* Where a volume of the set goes: src is its id (v0), the source it was
 * backed up from, or its UUID; target anything fs_open takes (an unmounted
 * volume or a directory). */
struct rs_map {
	const char *src;
	const char *target;
};

struct rs_restore_opts {
	const struct rs_map *maps;
	size_t nmaps;
	char *const *patterns;  /* fnmatch(3) on vN/PATH or PATH; none: all */
	size_t npat;
	bool dry_run;           /* check everything, write nothing */
	bool scan;              /* no catalog: read the data from its start
				 * (a set cut off before its catalog) */
	long foreign_file;      /* >= 0: restore this tape file, another tool's
				 * tar, as volume v0 (its names, made
				 * relative); the set index is then unused */
	/* A member skip(skip_arg, "vN/PATH") says true for is not restored
	 * (a system-state restore: FilesNotToBackup).  NULL: none. */
	bool (*skip)(void *arg, const char *name);
	void *skip_arg;
	rs_report_fn report;    /* every member refused, failed or lost */
	void *arg;
	struct progress *progress;
};

struct rs_restore_result {
	uint64_t members;       /* restored */
	uint64_t files, dirs, symlinks, links, specials, bytes;
	uint64_t streams;       /* NTFS named data streams */
	uint64_t copies;        /* files whose content came from another member
				   (single instance; counted in files too) */
	uint64_t failed;        /* could not be written: reported */
	uint64_t refused;       /* hostile names: reported, never written */
	uint64_t lost;          /* lost at backup (the catalog says so) */
	uint64_t not_kept;      /* members with metadata the target cannot hold */
	uint64_t efs_raw;       /* encrypted files written raw (on NTFS: encrypted
				   again; elsewhere: raw data + $EFS xattr) */
	uint64_t records;       /* tape records read */
	uint64_t skipped_records; /* records spaced over to reach the first member */
	uint64_t indexed;       /* ext volumes whose directories were indexed */
	uint64_t sis_kept;      /* SIS common-store files the target already
				   had, identical (same SHA-256): left as they are */
};

/* Restore set i (or the members matching o->patterns) onto the volumes
 * the set's volumes map to.  Before anything is written: the catalog is
 * read and checked, every target resolved and opened read-write (which
 * refuses a mounted, dirty or hibernated one).  A selective restore
 * spaces straight to the record of the first member it needs.  Each file
 * is written under a temporary name and renamed over what is there;
 * files that are not in the set stay.  0, or 1 when members failed, were
 * refused or were lost (each reported). */
int rs_restore(struct rs *r, size_t i, const struct rs_restore_opts *o,
	       struct rs_restore_result *res);

/* ---- restore --system-state (rs_sys.c) ------------------------------------ */

/* A line for the user about the registry and file rules. */
typedef void (*rs_note_fn)(void *arg, const char *line);

struct rs_sys_opts {
	bool kntr_2003;         /* KeysNotToRestore "\\*" by the Server 2003
				 * reference (default: the VSS algorithm) */
	bool remove_hiberfile;  /* discard a hibernation image (FS_O_REMOVE_HIBERFILE) */
	rs_note_fn note;        /* what each rule did */
	void *arg;
};

#define RS_SYS_EXAMPLES 3

struct rs_sys_result {
	char id[40];            /* the LastRestoreId written */
	bool resumed;           /* finished an interrupted system-state restore */
	bool no_current;        /* the target held no SYSTEM hive: nothing kept */
	bool hiberfile_removed;
	unsigned hives;         /* hive files installed (made clean) */
	uint64_t fntb_skipped;  /* members FilesNotToBackup kept off the target */
	uint64_t fntb_deleted;  /* stale files deleted from the target */
	char skipped_ex[RS_SYS_EXAMPLES][256], deleted_ex[RS_SYS_EXAMPLES][256];
};

/* Restore set i as a Windows system state onto the target of its Windows
 * volume (the one holding Windows/System32/config/SYSTEM): every member
 * except what the set's FilesNotToBackup names, then the hives (SYSTEM
 * merged with the target's by KeysNotToRestore, the others replaced, all
 * made clean), a new LastRestoreId, stale FilesNotToBackup files and
 * hiberfil.sys deleted.  A run cut off at any point and run again ends as
 * one uninterrupted run (see rs_sys.c).  Returns like rs_restore. */
int rs_restore_system(struct rs *r, size_t i, const struct rs_restore_opts *o,
		      const struct rs_sys_opts *so, struct rs_restore_result *res,
		      struct rs_sys_result *sr);

/* The error of the last call. */
const struct err *rs_error(const struct rs *r);

#endif
