/* srd.h - the srdelayed module: parse and write the Windows input file
 * (UTF-16LE) and the native UTF-8 queue, normalise their paths, and apply
 * queues to unmounted volumes.
 *
 * The parser and writer (srd_parse.c, srd_write.c) are pure code, with no
 * file or volume I/O, so they are unit-tested and fuzzed on their own
 * (tests/unit/test_srd_parse.c, tests/fuzz/fuzz_srd_parse.c).  The apply
 * engine (srd_plan.c, srd_apply.c, srd_journal.c; last section below) reads
 * the files through fs.h, calls srd_parse(), resolves every path before
 * changing anything, and writes statuses back with srd_write().
 *
 * ---- The Windows input file (HACKING.md, "Where the Windows formats are
 * specified") --------------------------------------------------------------
 * UTF-16LE, no BOM (one FF FE at the start is accepted, flagged and kept).
 * Records of exactly four NUL-terminated fields, then one extra NUL:
 *     MoveFile         \0 \??\src      \0 \??\dst  \0 NotExecuted \0
 *     DeleteFile       \0 Unused       \0 \??\path \0 NotExecuted \0
 *     SetFileShortName \0 SHORTN~1.DLL \0 \??\path \0 NotExecuted \0
 *     \0
 * Field 1 is compared case-sensitively.  Field 2 of DeleteFile is not
 * checked (the doc says "Unused"; we keep whatever is there).  Field 2 of
 * SetFileShortName is kept as written, even when it is not a valid 8.3 name
 * or empty: a bad short name is a per-record failure at apply time (it must
 * not stop the queue), not a malformed file.  Field 4 is "NotExecuted" or
 * "SC=" and 1 to 8 hex digits (the doc shows 7 x's; we write 8, which makes
 * "SC=%08X" exactly as long as "NotExecuted", 11 units); anything else is
 * an error.
 *
 * ---- The native queue (Linux volumes) ----------------------------------
 * Found on the volume at SRD_NATIVE_QUEUE_PATH.  UTF-8, one record per line,
 * the same four fields separated by one TAB each, each line ending in LF (a
 * CR before the LF is accepted and kept).  Empty lines and lines starting
 * with '#' are comments, kept by the writer.  Bytes below 0x20 other than
 * TAB are refused in a record line (a path writes them %XX).  The last
 * line must end in LF: like the final NUL of the Windows file, it tells a
 * complete queue from one cut short by a crash.  Paths:
 *     UUID=xxxx:/path   LABEL=name:/path   PARTUUID=xxxx:/path
 *     /path             (the volume holding the queue)
 * The volume spec ends at the first ':' (a label containing ':' must be
 * named by UUID= instead).  Path fields decode %XX like the Windows form, so
 * a name holding a TAB, LF or '%' is written %09, %0A, %25.
 *
 * ---- Paths (struct srd_path) -------------------------------------------
 * Both forms and PendingFileRenameOperations strings resolve through the
 * same normaliser, which gives the volume designator and the path inside
 * the volume in fs.h form: '/'-separated, absolute from the volume root,
 * decoded, no "." / ".." / empty components.  Rules (documented decisions):
 *  - NT paths must start "\??\" (exactly); then "X:" (drive letter, stored
 *    uppercase) or "Volume{8-4-4-4-12 hex}" (stored "{...}" lowercase, as
 *    MountedDevices names it; "Volume" and hex matched case-insensitively).
 *    "\\?\", "\DosDevices\", "\??\UNC\", "\??\GLOBALROOT\" and anything
 *    else are refused with a reason.
 *  - A missing '\' after the drive ("\??\C:Program%20Files\a.dll", the
 *    doc's own example) is read as the root ("C:\Program Files\a.dll"):
 *    at boot there is no current directory on C: to be relative to.
 *    Flagged SRD_PATH_NO_ROOT_SEP.
 *  - A trailing separator ("...\b.dll\", the doc's volume-GUID examples) is
 *    dropped (SRD_PATH_TRAILING_SEP), as are empty components ("a\\b")
 *    and "." (SRD_PATH_DOTS).  ".." removes the previous component; one
 *    that would climb above the volume root is an error.  A path that names
 *    the volume root itself is an error (no operation applies to a root).
 *  - %XX (two hex digits) is decoded in srdelayed and native fields, per
 *    component, after splitting, so "%5C" cannot make a separator: a decoded
 *    NUL, '/' or '\' is an error, and so is a decoded byte >= 0x80 in a
 *    Windows path (it would not be UTF-8).  A '%' not followed by two hex
 *    digits is literal.  PendingFileRenameOperations strings are NOT
 *    %-decoded (Session Manager takes them literally).  "%2E%2E" decodes to
 *    ".." and is treated as "..".
 *  - '/' inside an NT path component is an error: it is not a separator
 *    there and NTFS names cannot contain it.
 *  - With SRD_NT_PENDING, characters before "\??\" (Windows 11's "*1",
 *    "*2", and '!' = replace existing) are accepted: at most SRD_MAX_PREFIX
 *    of them from "!*0123456789"; '!' sets SRD_PATH_REPLACE, the others are
 *    kept in .prefix.  Without it, any prefix is an error.
 *
 * ---- Caps (everything in a queue file is untrusted) --------------------
 * SRD_MAX_BYTES per file, SRD_MAX_RECORDS records, SRD_MAX_FIELD UTF-16
 * units (Windows; the NT UNICODE_STRING limit) or bytes (native) per field.
 *
 * ---- Errors --------------------------------------------------------------
 * Every function reports through a struct err (err.h).  srd_parse()
 * returns 0, -EINVAL (malformed: ERR_CORRUPT, err->msg says where and why,
 * struct srd_pos the same position as numbers, and the queue is left
 * empty) or -ENOMEM.  Record and line numbers count
 * from 1; byte offsets from 0, into the file as given (BOM included):
 *   record 3 at byte 212: unknown operation 'movefile' (operations are
 *   case-sensitive: MoveFile, DeleteFile, SetFileShortName)
 *   line 4 at byte 97: 3 fields, a record needs 4 (operation, two
 *   arguments, status)
 */
#ifndef SYSRECOVER_SRD_H
#define SYSRECOVER_SRD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Where the native queue lives on a Linux volume (from its root). */
#define SRD_NATIVE_QUEUE_PATH "/var/lib/sysrecover/srdelayed.queue"
/* Where an applied native queue is moved, with its statuses (srd_apply). */
#define SRD_NATIVE_DONE_PATH SRD_NATIVE_QUEUE_PATH ".applied"

#define SRD_MAX_BYTES   (16u << 20)  /* a queue file */
#define SRD_MAX_RECORDS 1000000u
#define SRD_MAX_FIELD   32767u       /* UTF-16 units or native bytes */
#define SRD_MAX_PREFIX  8u           /* "*1", "!" before "\??\" */

enum srd_form {
	SRD_FORM_WINDOWS,  /* UTF-16LE, NUL-separated (Srdelayed.exe input) */
	SRD_FORM_NATIVE,   /* UTF-8, TAB-separated lines */
};

enum srd_op {
	SRD_OP_MOVE,       /* MoveFile */
	SRD_OP_DELETE,     /* DeleteFile */
	SRD_OP_SHORTNAME,  /* SetFileShortName */
};

enum srd_status {
	SRD_ST_NOT_EXECUTED,  /* "NotExecuted" */
	SRD_ST_DONE,          /* "SC=xxxxxxxx": .sc holds the code, 0 = success */
};

enum srd_vol {
	SRD_VOL_DRIVE,  /* \??\C:  -> .drive */
	SRD_VOL_GUID,   /* \??\Volume{...}  -> .volume "{...}" lowercase */
	SRD_VOL_SPEC,   /* native UUID=/LABEL=/PARTUUID= -> .volume, as written;
			 * hand it to fs_volume_resolve() */
	SRD_VOL_SELF,   /* native "/path": the volume holding the queue */
};

enum {  /* srd_path.flags: what the normaliser had to repair or saw */
	SRD_PATH_TRAILING_SEP = 1u << 0,  /* trailing '\' or '/' dropped */
	SRD_PATH_NO_ROOT_SEP  = 1u << 1,  /* "C:dir" read as "C:\dir" */
	SRD_PATH_DOTS         = 1u << 2,  /* ".", "..", empty components removed */
	SRD_PATH_ESCAPES      = 1u << 3,  /* %XX decoded */
	SRD_PATH_REPLACE      = 1u << 4,  /* '!' prefix (pending renames) */
};

struct srd_path {
	enum srd_vol vol;
	char drive;            /* 'A'..'Z' for SRD_VOL_DRIVE, else 0 */
	char *volume;          /* GUID or spec; NULL for DRIVE and SELF */
	char *path;            /* "/Windows/x.dll" (fs.h form) */
	char prefix[SRD_MAX_PREFIX + 1];  /* e.g. "*1"; '!' excluded */
	unsigned flags;        /* SRD_PATH_* */
};

enum {  /* srd_path_nt() options */
	SRD_NT_ESCAPES = 1u << 0,  /* decode %XX (srdelayed fields) */
	SRD_NT_PENDING = 1u << 1,  /* allow "*1"/"!" prefixes (pending renames) */
};

/* Normalise an NT path ("\??\C:\x", UTF-8) or a native queue path.  0, or
 * -EINVAL with one reason in why (no location; callers add it), or -ENOMEM.
 * On failure *p is empty (free is still safe).  Free with srd_path_free(). */
int srd_path_nt(const char *s, unsigned opts, struct srd_path *p,
		char *why, size_t whylen);
int srd_path_native(const char *s, struct srd_path *p, char *why, size_t whylen);
void srd_path_free(struct srd_path *p);

/* One record.  For MoveFile .path is the source and .dst the destination;
 * for DeleteFile and SetFileShortName .path is field 3 and .dst is unused.
 * .arg is field 2 when it is not a path ("Unused", the short name). */
struct srd_record {
	enum srd_op op;
	char *arg;
	struct srd_path path, dst;
	enum srd_status status;
	uint32_t sc;
	char *field[4];        /* the fields as written, UTF-8, for listing */
	size_t index;          /* record number, from 1 */
	size_t line;           /* native: line number, from 1; Windows: 0 */
	size_t offset;         /* byte offset of the record in the file */
	size_t f4_offset, f4_len;  /* byte span of field 4 (no terminator) */
	/* as parsed, so srd_write() rewrites only what changed */
	enum srd_status parsed_status;
	uint32_t parsed_sc;
};

struct srd_queue {
	enum srd_form form;
	struct srd_record *rec;
	size_t n;
	bool bom;              /* Windows: the file started with FF FE */
	uint8_t *bytes;        /* a copy of the file as parsed, for srd_write() */
	size_t len;
	size_t cap;            /* room in rec (buf_grow) */
};

/* Where srd_parse() found a queue malformed (the same as err->msg says). */
struct srd_pos {
	size_t record;         /* from 1; 0 when not about one record */
	size_t line;           /* native only */
	size_t offset;         /* byte offset in the file */
};

/* Parse a whole queue file.  All or nothing: on error q is empty, err says
 * why ("record 3 at byte 212: ...", ERR_CORRUPT) and pos (may be NULL)
 * where. */
int srd_parse(const uint8_t *data, size_t len, enum srd_form form,
	      struct srd_queue *q, struct srd_pos *pos, struct err *err);
/* An empty queue of a form (what `srdelayed add` starts a new file from):
 * Windows "\0\0" (the final NUL alone), native "". */
int srd_queue_init(struct srd_queue *q, enum srd_form form);
void srd_queue_free(struct srd_queue *q);

const char *srd_op_name(enum srd_op op);  /* "MoveFile", ... */
/* Field 4 text for a status: "NotExecuted" or "SC=%08X" (buf >= 12). */
void srd_status_text(enum srd_status st, uint32_t sc, char buf[12]);
/* A path as a queue field of the form: "\??\C:\Program%20Files\a.dll",
 * "\??\Volume{...}\x", "UUID=..:/a%09b", "/x".  NULL on ENOMEM or when the
 * path cannot be written in that form (SELF/SPEC in Windows, DRIVE/GUID in
 * native). malloc'd. */
char *srd_path_field(const struct srd_path *p, enum srd_form form);

/* The file with every record's field 4 rewritten where .status/.sc differ
 * from what was parsed, then the records `add` (n of them, may be 0)
 * appended.  Every other byte is kept, in order: for Windows the bytes
 * before a rewritten field 4 and after its NUL are copied unchanged, so when
 * the new text is longer or shorter ("SC=1" -> "SC=00000001") everything
 * after it shifts by the difference and nothing else changes.  Added records
 * go just before the final NUL (Windows) or at the end (native).  The
 * apply engine may instead patch in place when f4_len equals the new text's
 * encoded length (always so for NotExecuted -> SC=%08X).  0, -EINVAL (an
 * added record cannot be written; err->msg says which) or -ENOMEM.  *out is
 * malloc'd. */
int srd_write(const struct srd_queue *q, const struct srd_record *add, size_t n,
	      uint8_t **out, size_t *len, struct err *err);

/* The encoded bytes of field 4 alone (UTF-16LE or UTF-8, no terminator), for
 * an in-place patch at f4_offset.  Returns the length (22 or 11 for
 * SC=%08X); buf must hold 24 bytes. */
size_t srd_status_bytes(enum srd_form form, enum srd_status st, uint32_t sc,
			uint8_t buf[24]);

/* ======================================================================
 * Adding to a queue (srd_queue.c): what `srdelayed add` does, for the
 * command line and for the backup/restore engine.  These do I/O: a queue
 * file of the running system with the C library, the native queue of an
 * unmounted volume through fs.h.
 */

/* One record to add.  Paths are in the form of the queue they go into:
 * native ("/etc/a", "UUID=...:/a", "LABEL=...:/a") or Windows ("\??\C:\a",
 * %XX escapes decoded). */
struct srd_add_req {
	enum srd_op op;
	const char *path;     /* MoveFile source; DeleteFile and
			       * SetFileShortName: the file */
	const char *target;   /* MoveFile destination; else NULL */
	const char *name;     /* SetFileShortName: the short name; else NULL */
	bool windows;         /* a queue created new is an srdelayed input
			       * file (UTF-16LE); an existing one keeps its
			       * form */
};

/* The record req describes, its paths normalised for form (field 4
 * NotExecuted).  A path that does not normalise is ERR_USAGE (it is the
 * caller's argument): "bad path: ...".  Free with srd_record_clear(). */
int srd_record_make(const struct srd_add_req *req, enum srd_form form,
		    struct srd_record *r, struct err *err);
void srd_record_clear(struct srd_record *r);

/* The form of queue bytes d (len bytes): Windows when they hold a NUL
 * (UTF-16), else native; with d NULL (no queue yet), as windows says. */
enum srd_form srd_form_of(const uint8_t *d, size_t len, bool windows);

/* The queue old (len bytes, NULL when there is none yet: a new one is
 * started in req->windows's form) with req's record appended, into *out
 * (malloc'd).  A damaged old queue is refused (ERR_CORRUPT), unchanged. */
int srd_queue_append(const uint8_t *old, size_t len,
		     const struct srd_add_req *req, uint8_t **out,
		     size_t *outlen, struct err *err);

/* Replace the file at path with d atomically: written to "PATH.new"
 * beside it, fsync'ed, renamed over it.  The caller holds whatever lock
 * keeps two writers apart (srd_queue_add_file() locks the directory). */
int srd_file_replace(const char *path, const uint8_t *d, size_t len,
		     struct err *err);

/* Add req's record to the queue file at path on the running system
 * (created when absent): the directory is locked with flock(LOCK_EX) for
 * the whole read-append-replace, so two concurrent adds cannot lose one
 * another's record, and the file is replaced with srd_file_replace(). */
int srd_queue_add_file(const char *path, const struct srd_add_req *req,
		       struct err *err);

/* Add req's record to the native queue (SRD_NATIVE_QUEUE_PATH) of the
 * unmounted volume vol (an fs.h name: image, device, UUID=...), creating
 * it and /var/lib/sysrecover as needed.  The volume is opened read-write,
 * which refuses mounted, hibernated and unclean volumes (ERR_REFUSED). */
int srd_queue_add_volume(const char *vol, const struct srd_add_req *req,
			 struct err *err);

/* Read and parse the queue file at path on the running system, its form
 * found by srd_form_of().  A missing file is -ENOENT. */
int srd_queue_read_file(const char *path, struct srd_queue *q,
			struct err *err);

/* ======================================================================
 * Applying (srd_apply.c, srd_journal.c): the one part of srdelayed/ that
 * does I/O, through fs.h and hive.h only.
 *
 * ---- What is applied, in this order ------------------------------------
 * On a volume holding Windows (\Windows\System32\config\SYSTEM, found
 * case-insensitively), from the next-boot control set of that hive:
 *  1. PendingFileRenameOperations, then PendingFileRenameOperations2, pair
 *     by pair, as Session Manager does: an empty target deletes; a target
 *     with '!' replaces an existing file; without it an existing target
 *     fails the pair.  A failed pair is reported and the next pair runs.
 *     Both values are deleted afterwards, failed pairs included (a stale
 *     pair left behind would move healthy files aside at a later boot).
 *  2. Every SetupExecute entry whose program is srdelayed.exe, in order:
 *     its input file, record by record.  Records whose field 4 is already
 *     "SC=..." ran before and are skipped.  A MoveFile or DeleteFile
 *     failure stops that file (the records after it stay NotExecuted); a
 *     SetFileShortName failure is recorded and the next record runs.  Each
 *     record that ran gets SC=%08X in field 4; SOFTWARE gets
 *     RestoreStatusResult (0, or the first failing record's code) and, on
 *     failure, RestoreStatusDetails (how many records failed).  The
 *     SetupExecute entries we ran are REMOVED: the work is done, and an
 *     entry left behind would make Windows start srdelayed.exe again at
 *     boot on a file it has nothing left to do in (or fail to find the
 *     program).  Entries for other programs are kept and reported.
 * On any volume, the native queue at SRD_NATIVE_QUEUE_PATH, with the
 * srdelayed rules of step 2.  Statuses are written into it and it is then
 * renamed to SRD_NATIVE_DONE_PATH (replacing an older one): like the
 * SetupExecute entry, a queue runs once, so records a failure left
 * NotExecuted do not start by themselves at the next boot; re-queue them.
 *
 * ---- Operations ----------------------------------------------------------
 *  MoveFile    files only, same volume (ERROR_NOT_SAME_DEVICE otherwise).
 *              An existing target FILE is replaced: srdelayed exists to put
 *              a staged file over one that was in use (the doc leaves this
 *              open; MoveFileEx's restriction is what '!' lifts for pending
 *              renames, and srdelayed records have no such flag).  An
 *              existing target directory fails (ERROR_ACCESS_DENIED).
 *  pending     a rename may move a directory (Session Manager can); a
 *              delete removes a file or an empty directory.
 *  DeleteFile  a file or an empty directory (ERROR_DIR_NOT_EMPTY).
 *  SetFileShortName  NTFS only: 8.3 validity and uniqueness in the
 *              directory (fs_shortname_set); "" removes it; the name it
 *              already has succeeds.  Elsewhere: ERROR_NOT_SUPPORTED.
 * A moved file keeps its short name (fs_rename).  Windows paths are looked
 * up case-insensitively, component by component, as Windows would.
 * Status codes are Win32 error codes (MS-ERREF; see HACKING.md): 2 file not found,
 * 3 path not found, 5 access denied, 17 not same device, 19 write
 * protected, 50 not supported, 87 invalid parameter, 112 disk full,
 * 145 directory not empty, 183 already exists, 206 name too long,
 * 1117 I/O error, 31 anything else.
 *
 * ---- Before anything changes ---------------------------------------------
 * Every queue is read and parsed, every path normalised and its volume
 * resolved (Windows: MountedDevices of that SYSTEM hive, then libblkid
 * among the attached disks; native: UUID=/LABEL=/PARTUUID= or the queue's
 * own volume), and every volume involved opened read-write (which refuses
 * mounted, hibernated and unclean volumes).  Any failure here changes
 * nothing.  A dirty SYSTEM hive follows hive_open's rule: logs beside it are
 * replayed into our copy; without usable logs it is used with a warning.
 *
 * ---- Crash safety ---------------------------------------------------------
 * A journal at SRD_JOURNAL_PATH on the volume holding the queues records,
 * before each operation, that it is about to run (with the inode of its
 * source), and after it, its result; then which finishing step (statuses,
 * SOFTWARE, SYSTEM) is under way.  A run cut off at any point and started
 * again with the same queues resumes: done operations are not redone, the
 * one that was under way is recognised by its inode (already moved or
 * deleted = done), finishing steps are idempotent.  The journal names the
 * plan by a hash of every operation, so a queue changed in between is
 * refused, not half-resumed.
 * Every volume is flushed (and fsync'ed) at commit points: every 256
 * operations, after the last one and after each finishing step.  Between
 * them nothing of libext2fs's reaches the disk (its write-back cache holds
 * it) and libntfs-3g's writes are in call order, so a process that dies
 * leaves every volume as it was after some whole fs.h call, with the
 * journal saying how far it got.  The crash test checks exactly that, after
 * each single call.  What is not covered: a power cut or kill DURING a
 * flush can tear the metadata written in that flush (libext2fs and
 * libntfs-3g write in place, without a journal of their own), which is
 * e2fsck's or chkdsk's to repair, as after any offline tool.
 */
#define SRD_JOURNAL_PATH "/.sysrecover-srdelayed.journal"

/* Win32 codes used as statuses. */
enum {
	SRD_OK = 0, SRD_E_FILE_NOT_FOUND = 2, SRD_E_PATH_NOT_FOUND = 3,
	SRD_E_ACCESS_DENIED = 5, SRD_E_NOT_SAME_DEVICE = 17,
	SRD_E_WRITE_PROTECT = 19, SRD_E_GEN_FAILURE = 31,
	SRD_E_NOT_SUPPORTED = 50, SRD_E_INVALID_PARAMETER = 87,
	SRD_E_DISK_FULL = 112, SRD_E_DIR_NOT_EMPTY = 145,
	SRD_E_ALREADY_EXISTS = 183, SRD_E_FILENAME_EXCED_RANGE = 206,
	SRD_E_IO_DEVICE = 1117,
};
uint32_t srd_win32_from_errno(int neg_errno);
const char *srd_win32_text(uint32_t code);   /* "file not found", ... */

struct srd_apply_opts {
	const char *const *vols;   /* volumes holding queues (fs.h names,
				    * UUID=...); none = every volume on the
				    * disks that holds a queue, a journal or
				    * Windows (every attached one when no
				    * disk is given either) */
	size_t nvols;
	const char *const *disks;  /* where other volumes are looked for
				    * (images, devices); none = the images
				    * behind vols, else every block device */
	size_t ndisks;
	bool dry_run;              /* read-only: plan and show, change nothing */
	bool replay_journal;       /* ext: a journal that needs recovery is
				    * replayed first (e2fsck -E journal_only,
				    * what a mount would do), not refused: the
				    * boot hooks run before anything mounts */
	bool quiet;                /* no progress line (--json); otherwise one
				    * on stderr when it is a terminal
				    * (progress.h) */
};

enum srd_outcome {
	SRD_DONE,         /* ran, code 0 */
	SRD_FAILED,       /* ran, code != 0 */
	SRD_NOT_REACHED,  /* an earlier move/delete failure stopped its queue */
	SRD_SKIPPED,      /* field 4 already said SC=...: ran before */
	SRD_PLANNED,      /* dry run */
};

struct srd_result {
	char *source;     /* "PendingFileRenameOperations", "\??\C:\x\Ops",
			   * "UUID=...:/var/lib/sysrecover/srdelayed.queue" */
	size_t index;     /* record or pair number in the source, from 1 */
	const char *op;   /* "MoveFile", "DeleteFile", "SetFileShortName",
			   * "rename", "replace", "delete" */
	char *path, *target, *arg;  /* as written in the queue */
	char *where;      /* resolved: "disk.img@1:/Windows/x.dll" */
	enum srd_outcome outcome;
	uint32_t code;
	struct err err;   /* why, on failure: ERR_ITEM (the run went on) */
};

struct srd_report {
	struct srd_result *r;
	size_t n;
	size_t done, failed, not_reached, skipped;
	bool resumed;              /* a journal from a cut-off run was found */
	size_t prior_done, prior_failed;  /* resumed past the point where the
				    * queues still exist: counts from the
				    * journal, included in done/failed */
	char **notes;              /* warnings and what was left alone */
	size_t nnotes;
	size_t cap_r, cap_notes;   /* room in r and notes (buf_grow) */
};

/* Apply (or with dry_run, plan) the queues on the given volumes.  0 when
 * every operation that ran succeeded (err ERR_OK); 1 when some failed (err
 * ERR_ITEM, saying how many; each failure is in the report); < 0 when
 * nothing could be applied or a volume write failed (err ERR_FATAL says
 * why: ERR_REFUSED for a volume refused for safety, ERR_CORRUPT for a
 * malformed queue or pending-rename value; before the first change,
 * nothing was changed). */
int srd_apply(const struct srd_apply_opts *o, struct srd_report *rep,
	      struct err *err);
void srd_report_free(struct srd_report *rep);

#endif
