/* rs_impl.h - what rs.c (finding sets, catalogs, verify) and rs_restore.c
 * share; private to recovery/restore. */
#ifndef SYSRECOVER_RS_IMPL_H
#define SYSRECOVER_RS_IMPL_H

#include <archive.h>

#include "rs.h"
#include "tape.h"

#define RS_RECORD_MAX TAPE_SIMH_MAX_RECORD
#define RS_PATH_MAX 4096
#define RS_BUF (1u << 20)

struct rs {
	char *name;
	struct tape *t;
	struct err err;
	struct rs_set *sets;
	size_t nsets, cap;
	size_t foreign;
	uint32_t *foreign_files;  /* their tape file numbers */
	unsigned char *rec;       /* one tape record, of any size */
	size_t rdcap;             /* bytes asked for per read: RS_RECORD_MAX, or
				   * less where the drive's largest block is
				   * (st refuses a longer read with EINVAL) */
};

/* "cannot WHAT TAPE: why" into r->err; returns rc. */
int rs_tape_fail(struct rs *r, int rc, const char *what);
/* At the start of tape file f: rewind, then space f filemarks. */
int rs_goto_file(struct rs *r, uint32_t f);

/* libarchive's read callback over the data file (rs_read_cb). */
struct rs_reader {
	struct rs *r;
	size_t skip;              /* bytes of the first record to pass over */
	uint64_t records;
	int err;
	struct rs_ahead *ra;      /* NULL: read in the callback */
};
la_ssize_t rs_read_cb(struct archive *a, void *ctx, const void **buf);

/* rs_ahead.c: a thread reads the records ahead, in records of at most
 * record_size bytes (the set's), until the first filemark or error; the
 * callback then takes them in order.  Stop it (joined) before the tape is
 * used for anything else.  0, or -ENOMEM/-EAGAIN (then read in the
 * callback). */
int rs_ahead_start(struct rs_reader *rd, size_t record_size);
void rs_ahead_stop(struct rs_reader *rd);
ssize_t rs_ahead_read(struct rs_reader *rd, const unsigned char **buf, enum tape_rd *what,
		      const char **msg);

/* A member name without the trailing '/' of a directory ("v0/" stays);
 * in itself when it does not fit buf. */
const char *rs_norm_name(const char *in, char *buf, size_t cap);

/* The PATH of a member named vN/PATH (after rs_norm_name), checked: N a
 * volume of the set, PATH "/" or plain components (no empty, "." or "..")
 * shorter than RS_PATH_MAX, not inside the restore's temporary directory.
 * The volume in *vol; NULL with *why (a phrase) when the name is refused. */
const char *rs_member_path(const struct rs_set *s, const char *name, uint32_t *vol,
			   const char **why);

/* A foreign member's name as a set's: "v0/" + the name without leading
 * "./" (a name tar made absolute or with ".." stays refusable: "v0//x"). */
const char *rs_foreign_name(const char *in, char *buf, size_t cap);

/* Is this member a copy (bk.c's single instance: a hard-link member with
 * the xattr sysrecover.copy, its content's SHA-256 in hex)?  The hash into
 * sha when it is. */
bool rs_copy_mark(struct archive_entry *ae, uint8_t sha[32]);

/* archive_read_next_header, with ARCHIVE_WARN taken as ARCHIVE_OK: the
 * entry is whole, and the warning is one of libarchive's name conversions
 * (a name that cannot be shown in the current locale is kept as its bytes,
 * which is what a volume wants). */
int rs_next_header(struct archive *a, struct archive_entry **ae);

/* Where volume v of the set goes: the --to map that names it (its id, the
 * source it was backed up from, or its UUID), else "UUID=..." in buf;
 * NULL when neither (rs_restore.c, for the plain and system-state restores). */
const char *rs_target_of(const struct rs_set *s, uint32_t v, const struct rs_restore_opts *o,
			 char *buf, size_t cap);

/* "vN/path" of a catalog entry. */
void rs_member_name(const struct rs_set *s, const struct arc_entry *e, char *buf,
		    size_t cap);

/* rs_sis.c: SIS links and the common store (the facts are there).
 * rs_sis_note: every catalog entry of a restore's plan, with name its
 * vN/path (*s made on first need).  rs_sis_plan: after the catalog, each
 * store file that a wanted link names and no pattern wants goes to pull.
 * rs_sis_pulled: is name such a store file?  rs_sis_apply: before a
 * regular file is written: 1 when it is handled (a store file the target
 * already has, identical: res->sis_kept; a SIS link on a volume that
 * cannot hold one: reported, res->not_kept), 0 to write it. */
struct rs_sis;
struct fs;
typedef void (*rs_sis_pull_fn)(void *arg, uint32_t vol, uint64_t size,
			       const struct arc_pos *pos);
int rs_sis_note(struct rs_sis **s, const char *name, const struct arc_entry *e, bool wanted);
void rs_sis_plan(struct rs_sis *s, rs_sis_pull_fn pull, void *arg);
bool rs_sis_pulled(const struct rs_sis *s, const char *name);
int rs_sis_apply(struct rs_sis *s, struct fs *fs, const char *name, const char *path,
		 struct archive_entry *ae, struct rs_restore_result *res,
		 rs_report_fn report, void *arg);
void rs_sis_free(struct rs_sis *s);
/* verify: each SIS link's store file must be a member of the set. */
int rs_sis_verify_note(struct rs_sis **s, const struct rs_set *set, const struct arc_entry *e);
/* cb for each link whose store file is missing; the number of them */
uint64_t rs_sis_verify_end(struct rs_sis *s, void (*cb)(void *arg, const char *link,
							 const char *why), void *arg);

/* rs_efs.c: raw encrypted (EFS) files.  A regular file member with the pax
 * xattr user.ntfs.efsinfo is one (rs_efs_is).  rs_efs_check, before any
 * of it is written: 0 not one, 1 sound, < 0 damaged ($EFS stream, raw
 * size; "NAME: damaged encrypted file: ..." in err).  rs_efs_finish, once
 * its raw data is in tmp: checks again with the trailer, then sets the
 * $EFS stream on tmp (NTFS: it becomes encrypted); 0 not one, 1 done,
 * < 0 with err (tmp is then the caller's to remove). */
bool rs_efs_is(struct archive_entry *ae);
int rs_efs_check(struct archive_entry *ae, const char *name, struct err *err);
struct fs;
int rs_efs_finish(struct fs *fs, const char *tmp, const char *name, struct archive_entry *ae,
		  struct err *err);
/* For verify: a member the catalog flags efs-raw has a sound $EFS stream
 * and raw size.  0, or -1 with why (no name in it). */
int rs_efs_verify(struct archive_entry *ae, const char *name, char *why, size_t cap);

#endif
