/* hive.h - offline Windows registry hives: open, edit safely, and the
 * backup/restore rules (KeysNotToRestore, FilesNotToBackup, LastRestoreId,
 * MountedDevices, PendingFileRenameOperations, SetupExecute).
 *
 * Parsing and writing of the regf format is libhivex's; what hivex lacks is
 * ours: transaction-log replay for dirty hives, atomic replacement, and the
 * rules.  Callers never see a hivex type.  Where the formats and the rules
 * are specified: HACKING.md.
 *
 * Errors: every function returns 0 (or a count) or a negative errno.  The
 * ones that take a struct err fill it; the ones on a handle fill the
 * handle's (hive_error()).  Corrupt hive data and unusable logs are
 * ERR_CORRUPT, a refusal to write a hive we cannot make safe is
 * ERR_REFUSED.
 *
 * Key paths are '\\'-separated, case-insensitive, relative to the hive root
 * ("ControlSet001\\Control"); a leading "CurrentControlSet" component is
 * resolved through Select\\Current (reads) — see hive_ccs().  Strings are
 * UTF-8 at this interface; the hive holds UTF-16LE.
 */
#ifndef SYSRECOVER_HIVE_H
#define SYSRECOVER_HIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct fs;
struct hive;


/* Registry value types (winnt.h). */
enum {
	HIVE_REG_NONE = 0, HIVE_REG_SZ = 1, HIVE_REG_EXPAND_SZ = 2,
	HIVE_REG_BINARY = 3, HIVE_REG_DWORD = 4, HIVE_REG_MULTI_SZ = 7,
	HIVE_REG_QWORD = 11,
};

/* hive_open flags. */
enum {
	HIVE_O_WRITE = 1u << 0,   /* edits go to a private copy until commit */
	HIVE_O_BACKUP = 1u << 1,  /* commit keeps the old file as PATH.bak */
};

/* What was found when the hive was opened. */
struct hive_info {
	uint32_t seq1, seq2;       /* base block sequence numbers */
	bool dirty;                /* seq1 != seq2: newer changes live in logs */
	bool logs_present;         /* PATH.LOG1 / PATH.LOG2 beside it */
	bool replayed;             /* the logs were applied to our copy */
	unsigned log_entries;      /* log entries (or dirty pages) applied */
};

/* ---- the hive itself (hive.c, hive_log.c, hive_commit.c) ----------------- */

/* Open a hive file.  A dirty hive with logs beside it is replayed into our
 * copy (read or write); without logs it opens with a warning in info. */
int hive_open(const char *path, unsigned flags, struct hive **out,
	      struct err *err);
/* The same for a hive inside an unmounted volume, through fs.h. */
int hive_open_fs(struct fs *fs, const char *path, unsigned flags,
		 struct hive **out, struct err *err);
/* Write the edits: commit to a new file, re-open and verify it, then
 * replace the original atomically (beside it, then rename), with its logs
 * removed in the same step; the result is clean (equal sequence numbers,
 * valid checksum). */
int hive_commit(struct hive *h, struct err *err);
/* Discard uncommitted edits and free. */
void hive_close(struct hive *h);
const struct hive_info *hive_info(const struct hive *h);
const char *hive_name(const struct hive *h);

/* A key handle; 0 is "none". */
typedef size_t hive_key;

int hive_root(struct hive *h, hive_key *out);
/* -ENOENT when a component is missing. */
int hive_lookup(struct hive *h, const char *path, hive_key *out);
/* Make every missing component (writable hives only). */
int hive_create(struct hive *h, const char *path, hive_key *out);
int hive_delete_key(struct hive *h, hive_key k);  /* with its subtree */
/* Children and values, by UTF-8 name; the callbacks return 0 to go on. */
typedef int (*hive_child_cb)(void *arg, const char *name, hive_key child);
int hive_children(struct hive *h, hive_key k, hive_child_cb cb, void *arg);
typedef int (*hive_value_cb)(void *arg, const char *name, uint32_t type,
			     const void *data, size_t len);
int hive_values(struct hive *h, hive_key k, hive_value_cb cb, void *arg);

/* Raw value bytes (malloc'd into *data).  -ENOENT when absent.  The name
 * "" is the default value. */
int hive_get(struct hive *h, hive_key k, const char *name, uint32_t *type,
	     void **data, size_t *len);
int hive_set(struct hive *h, hive_key k, const char *name, uint32_t type,
	     const void *data, size_t len);
int hive_unset(struct hive *h, hive_key k, const char *name);

/* Typed helpers (UTF-8 <-> UTF-16LE).  *strs is a malloc'd NULL-terminated
 * array of malloc'd strings; free with hive_strv_free. */
int hive_get_sz(struct hive *h, hive_key k, const char *name, char **out);
int hive_set_sz(struct hive *h, hive_key k, const char *name, const char *s);
int hive_get_multi_sz(struct hive *h, hive_key k, const char *name, char ***strs);
int hive_set_multi_sz(struct hive *h, hive_key k, const char *name,
		      char *const *strs);
int hive_get_dword(struct hive *h, hive_key k, const char *name, uint32_t *v);
int hive_set_dword(struct hive *h, hive_key k, const char *name, uint32_t v);
void hive_strv_free(char **strs);

/* Select\Current and Select\Default (1..999); ControlSet001 when Select is
 * missing.  Writes meant for the next boot go to Default. */
int hive_ccs(struct hive *h, unsigned *current, unsigned *def);



/* ---- which hive a file is (hive_kind.c) ---------------------------------- */

enum hive_kind {
	HIVE_KIND_UNKNOWN, HIVE_KIND_SYSTEM, HIVE_KIND_SOFTWARE, HIVE_KIND_SAM,
	HIVE_KIND_SECURITY, HIVE_KIND_NTUSER, HIVE_KIND_USRCLASS,
	HIVE_KIND_COMPONENTS, HIVE_KIND_DRIVERS, HIVE_KIND_BCD,
};

/* The kind of hive h is, from the keys at its root: SYSTEM has Select or
 * ControlSet00N (or, stripped of them, MountedDevices); SECURITY Policy
 * with RXACT or SAM; SAM SAM\Domains; SOFTWARE Microsoft\Windows NT\
 * CurrentVersion (or Microsoft and Classes); NTUSER.DAT (and DEFAULT)
 * Software with Environment or Control Panel; UsrClass.dat Local
 * Settings; COMPONENTS DerivedData or CanonicalData; DRIVERS
 * DriverDatabase; BCD Objects and Description.  When the root says
 * nothing, the file name Windows wrote into the base block decides (it is
 * copied to hint, "" when there is none; hint may be NULL). */
enum hive_kind hive_kind(struct hive *h, char *hint, size_t hintcap);
const char *hive_kind_name(enum hive_kind k);   /* "SYSTEM", "NTUSER.DAT" */
/* 0 when h is a `want` hive; else ERR_REFUSED (-EINVAL) saying which hive
 * it is and why (the caller's words) the command needs the other:
 *   'x/SAM' is a SAM hive, not a SYSTEM hive: pending renames live in SYSTEM */
int hive_require_kind(struct hive *h, enum hive_kind want, const char *why,
		      struct err *err);

/* ---- pending operations, SetupExecute, RestoreStatus, LastRestoreId
 * (hive_pending.c) ------------------------------------------------------- */

/* The last failure on a handle (level ERR_OK when the last call worked),
 * and hive_errmsg(h) = hive_error(h)->msg, the sentence alone.
 * hive_warning(): why the hive opened degraded (dirty without logs, logs
 * that could not be replayed), "" when it did not.  It is a property of
 * the open handle, not of the last call, so it is kept apart from
 * hive_error() and does not change until close; the operations below
 * hand it back as an ERR_WARNING struct err. */
const struct err *hive_error(const struct hive *h);
const char *hive_errmsg(const struct hive *h);
const char *hive_warning(const struct hive *h);

/* One PendingFileRenameOperations pair, in boot order: the value is a
 * REG_MULTI_SZ of (source, target) pairs that smss.exe carries out before
 * any other program runs. */
enum hive_pending_op {
	HIVE_PEND_DELETE,   /* empty target */
	HIVE_PEND_MOVE,     /* rename; fails at boot if the target exists */
	HIVE_PEND_REPLACE,  /* '!' before the target: replace an existing one */
};
enum {
	HIVE_PEND_F_VALUE2 = 1u << 0,  /* from PendingFileRenameOperations2 */
};
struct hive_pending {
	enum hive_pending_op op;
	char *src, *dst;          /* NT paths ("\??\C:\x"), prefixes removed;
				   * dst "" for a delete */
	char *src_prefix;         /* e.g. "*1" before "\??\"; "" when none */
	char *dst_prefix;         /* the same for dst, '!' excluded */
	unsigned flags;           /* HIVE_PEND_F_* */
	char *raw_src, *raw_dst;  /* the strings as stored */
};
struct hive_pending_list {
	struct hive_pending *ops;
	size_t n;
	bool malformed;           /* a source without a target ended a value:
				   * the pairs before it are listed */
	unsigned control_set;     /* ControlSet00N read (Select\Default) */
};

/* Read PendingFileRenameOperations then ...2 from the next-boot control set
 * (Select\Default).  Absent values give n == 0. */
int hive_pending_read(struct hive *h, struct hive_pending_list *out);
void hive_pending_free(struct hive_pending_list *l);
/* Delete both values (writable hive; commit to keep).  Absent is fine. */
int hive_pending_clear(struct hive *h);

/* Session Manager\SetupExecute of the next-boot control set: *cmds is a
 * NULL-terminated list (empty when absent); write replaces it.  Free with
 * hive_strv_free. */
int hive_setup_execute_get(struct hive *h, char ***cmds);
int hive_setup_execute_set(struct hive *h, char *const *cmds);

/* SOFTWARE hive: Microsoft\Windows NT\CurrentVersion\SystemRestore,
 * RestoreStatusResult (REG_DWORD; 0 = every operation worked) and, only on
 * failure, RestoreStatusDetails (REG_DWORD, nonzero; Microsoft does not
 * document its type, srdelayed writes DWORDs).  Keys are created when absent. */
int hive_restore_status_set(struct hive *h, uint32_t result, uint32_t details);

/* SYSTEM hive: a fresh "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" (random,
 * version 4) as REG_SZ LastRestoreId under ControlSet00N\Control\
 * BackupRestore\SystemStateRestore, N = Select\Default, keys created when
 * absent.  The GUID is copied to guid (39 bytes) when non-NULL. */
int hive_set_last_restore_id(struct hive *h, char guid[39]);
/* The same with a given id (a system-state restore that resumes after an
 * interruption writes the id it chose the first time). */
int hive_set_last_restore_id_to(struct hive *h, const char *guid);

/* ---- KeysNotToRestore, MountedDevices, FilesNotToBackup (hive_kntr.c,
 * hive_mounted.c, hive_fntb.c) ------------------------------------------- */

struct fs_volume;

/* Case-insensitive comparison of UTF-8 names as the registry and NTFS do it
 * for the characters we fold (ASCII, Latin-1, Greek, Cyrillic); bytes that
 * are not UTF-8 compare as themselves.  Returns <0, 0, >0 like strcmp. */
int hive_name_casecmp(const char *a, const char *b);
/* The same folding, one code point: the upper-case form of c. */
uint32_t hive_name_fold(uint32_t c);
/* -- KeysNotToRestore -- */

enum hive_kntr_form {
	HIVE_KNTR_KEY,      /* "key\"  : keep the current subtree */
	HIVE_KNTR_MERGE,    /* "key\*" : keep current, merge new from backup */
	HIVE_KNTR_VALUE,    /* "key\value": keep the current value */
	HIVE_KNTR_INVALID,  /* not a usable path; `why` says why */
};

/* The \* policy: Server 2003 reference (base = current, add what only the
 * backup has) or the VSS algorithm (union; both -> restored, then Start). */
enum hive_kntr_policy { HIVE_KNTR_2003, HIVE_KNTR_VSS };

/* Where a rule came from (bits). */
enum { HIVE_KNTR_FROM_CURRENT = 1u, HIVE_KNTR_FROM_RESTORED = 2u };

struct hive_kntr_rule {
	char *component;    /* the value name it was listed under */
	char *entry;        /* the string as written */
	enum hive_kntr_form form;
	bool ccs;           /* began with CurrentControlSet */
	char *key;          /* relative to HKLM\SYSTEM (after CurrentControlSet
			     * when ccs); "" = the control set itself */
	char *value;        /* HIVE_KNTR_VALUE only */
	const char *why;    /* HIVE_KNTR_INVALID only (static text) */
	unsigned from;      /* HIVE_KNTR_FROM_* */
};

/* Parse one entry (pure).  Returns 0, or -EINVAL with form INVALID and
 * out->why set (out is still filled and must be freed). */
int hive_kntr_parse(const char *component, const char *entry,
		    struct hive_kntr_rule *out);
void hive_kntr_rule_free(struct hive_kntr_rule *r);

/* Rules of one hive, appended to *rules (de-duplicated case-insensitively on
 * the normalised form; `from` bits or'ed in).  A hive without the key adds
 * nothing. */
int hive_kntr_read(struct hive *h, unsigned from, struct hive_kntr_rule **rules,
		   size_t *n, struct err *err);
void hive_kntr_rules_free(struct hive_kntr_rule *rules, size_t n);

/* "ControlSet00N\rest" for a rule in hive h (malloc'd), value excluded. */
char *hive_kntr_key_path(struct hive *h, const struct hive_kntr_rule *r);

enum hive_kntr_outcome {
	HIVE_KNTR_KEPT,        /* current copy written over the restored one */
	HIVE_KNTR_MERGED,      /* \*: current and backup combined */
	HIVE_KNTR_LEFT_ALONE,  /* the output already equals what the rule wants */
	HIVE_KNTR_MISSING,     /* missing in current: missing in the output */
	HIVE_KNTR_IGNORED,     /* invalid rule */
	HIVE_KNTR_FAILED,      /* an edit failed (see err) */
};

struct hive_kntr_result {
	const struct hive_kntr_rule *rule;
	enum hive_kntr_outcome outcome;
	char *cur_path, *out_path;  /* the key, resolved in each hive */
	bool removed;               /* MISSING: the restored copy was deleted */
	unsigned keys, values;      /* copied from current */
	unsigned backup_keys, backup_values;  /* kept from the backup (merge) */
	unsigned start_kept;        /* VSS: Start values taken from current */
	struct err err;             /* IGNORED: why (ERR_CORRUPT); FAILED: the
				     * edit that failed; ERR_OK otherwise */
};

/* Apply the rules: cur is read, out (the restored hive, writable) edited.
 * One result per rule, in order (*res malloc'd).  Returns 0, or the first
 * failure (< 0) after trying every rule. */
int hive_kntr_apply(struct hive *cur, struct hive *out,
		    const struct hive_kntr_rule *rules, size_t n,
		    enum hive_kntr_policy policy, struct hive_kntr_result **res);
void hive_kntr_results_free(struct hive_kntr_result *res, size_t n);
const char *hive_kntr_form_name(enum hive_kntr_form f);
const char *hive_kntr_outcome_name(enum hive_kntr_outcome o);

/* -- MountedDevices -- */

enum hive_md_kind { HIVE_MD_MBR, HIVE_MD_GPT, HIVE_MD_DEVICE, HIVE_MD_UNKNOWN };

struct hive_md_value {
	enum hive_md_kind kind;
	uint32_t signature;   /* MBR disk signature */
	uint64_t offset;      /* MBR partition start, bytes */
	char guid[37];        /* GPT unique partition GUID, lower case */
	char *device;         /* DEVICE: the string, UTF-8 (malloc'd) */
	char text[128];       /* one-line description, hex for UNKNOWN */
};

struct hive_md_entry {
	char *name;           /* "\DosDevices\C:", "\??\Volume{...}", ... */
	uint8_t *data;        /* raw bytes */
	size_t len;
	struct hive_md_value v;
};

/* Decode one value's data (pure).  Always fills out; -ENOMEM only. */
int hive_md_decode(const void *data, size_t len, struct hive_md_value *out);
void hive_md_value_free(struct hive_md_value *v);
/* All values of SYSTEM\MountedDevices, in hive order. */
int hive_md_read(struct hive *h, struct hive_md_entry **out, size_t *n,
		 struct err *err);
void hive_md_free(struct hive_md_entry *e, size_t n);
/* The entry for "C:", "\DosDevices\C:", "\??\Volume{G}", "Volume{G}" or
 * "\\?\Volume{G}\"; NULL when absent. */
const struct hive_md_entry *hive_md_find(const struct hive_md_entry *e,
					 size_t n, const char *name);
/* Find the volume an MBR or GPT entry names among the volumes in `paths`
 * (every block device when npaths == 0).  -ENOENT none, -EEXIST more than
 * one, -EINVAL a form that names no partition; err says which. */
int hive_md_resolve(const struct hive_md_value *v, const char *const *paths,
		    size_t npaths, struct fs_volume *out, struct err *err);

/* -- FilesNotToBackup -- */

struct hive_fntb_rule {
	char *component;      /* value name */
	char *entry;          /* the string as written */
	char *expanded;       /* after environment expansion */
	char drive;           /* 'C'..., 0 = every drive */
	char *dir;            /* "\\Windows\\CSC"; "\\" = the root */
	char *pattern;        /* file name with * and ? */
	bool recursive;       /* " /s" */
	bool sis;             /* under \SIS Common Store: never matched */
};

struct hive_fntb_skip {
	char *component, *entry;
	char why[160];
};

/* Where the variables come from.  NULL = unresolved (rules using it are
 * skipped with a warning). */
struct hive_fntb_env {
	const char *systemroot, *systemroot_src;  /* src: "SOFTWARE", "default" */
	const char *temp, *tmp;                   /* Session Manager\Environment */
	const char *programdata, *programdata_src;
	/* SOFTWARE Microsoft\Windows\CurrentVersion ProgramFilesDir,
	 * ProgramFilesDir (x86), CommonFilesDir (%ProgramFiles%,
	 * %ProgramFiles(x86)% and %ProgramW6432%, %CommonProgramFiles%) */
	const char *programfiles, *programfiles_x86, *commonfiles;
};

struct hive_fntb {
	struct hive_fntb_rule *rules;
	size_t n;
	struct hive_fntb_skip *skipped;  /* unresolved or not paths */
	size_t nskipped;
	char *systemroot;
	const char *systemroot_src;
};

/* Parse one entry (pure).  0 = a rule; -ENOENT = a variable is unresolved,
 * -EINVAL = not a path (why says which). */
int hive_fntb_parse(const char *component, const char *entry,
		    const struct hive_fntb_env *env, struct hive_fntb_rule *out,
		    char *why, size_t whylen);
void hive_fntb_rule_free(struct hive_fntb_rule *r);
/* Read the rules of SYSTEM (current control set), with %SystemRoot% and
 * %ProgramData% from `software` when given. */
int hive_fntb_load(struct hive *system, struct hive *software,
		   struct hive_fntb **out, struct err *err);
/* Add one entry to a rule set (used by load and by tests). */
int hive_fntb_add(struct hive_fntb *f, const char *component,
		  const char *entry, const struct hive_fntb_env *env);
void hive_fntb_free(struct hive_fntb *f);
/* The first rule matching `path` ('\\'-separated from the volume root) on
 * `drive` (a letter; 0 = unknown: only rules for every drive apply), or
 * NULL.  Case-insensitive; never matches inside \SIS Common Store. */
const struct hive_fntb_rule *hive_fntb_match(const struct hive_fntb *f,
					     char drive, const char *path);
/* Windows-style wildcard match of one name (pure, case-insensitive). */
bool hive_fntb_wildcard(const char *pattern, const char *name);

/* ---- whole operations on hive files (hive_ops.c, hive_merge.c) -----------
 * Each opens what it needs, does one job, commits when it writes and
 * closes: what `sysrecover hive ...` runs, and what a system-state restore
 * calls.  A hive that opened degraded is reported in `warn` (ERR_WARNING,
 * message "NAME: why"), level ERR_OK when it did not. */

/* Where a hive is: a host file, or a path inside an unmounted volume. */
struct hive_target {
	const char *path;
	const char *volume;   /* image or device holding it; NULL: path is a file */
	bool backup;          /* a commit keeps PATH.bak (HIVE_O_BACKUP) */
};

struct hive_summary {
	char *name;                /* hive_name() */
	enum hive_kind kind;       /* hive_kind() */
	char hint[80];             /* the name in its base block, or "" */
	struct hive_info info;
	unsigned root_keys;        /* subkeys of the root */
	bool ccs_ok;               /* current/def are valid, else ccs_err */
	unsigned current, def;
	struct err ccs_err;
	struct err warn;
};
/* Open read-only and describe (`hive info`). */
int hive_summarize(const struct hive_target *t, struct hive_summary *s,
		   struct err *err);
void hive_summary_free(struct hive_summary *s);

struct hive_pending_report {
	char *name;                /* hive_name() */
	bool read;                 /* list and setup_execute are valid */
	struct hive_pending_list list;
	char **setup_execute;      /* NULL-terminated */
	struct err warn;
};
/* Read the next-boot operations (`hive pending`); with clear, delete them
 * and commit.  The report is what was there before the clear, and stays
 * valid (r->read) when only the clear or the commit failed. */
int hive_pending_report(const struct hive_target *t, bool clear,
			struct hive_pending_report *r, struct err *err);
void hive_pending_report_free(struct hive_pending_report *r);

/* Write a new LastRestoreId (hive_set_last_restore_id) and commit; the
 * GUID into guid. */
int hive_new_restore_id(const struct hive_target *t, char guid[39],
			struct err *warn, struct err *err);

/* `hive restore`: install a hive file (a RegBack copy, a backup) at
 * dest->path (in the unmounted volume dest->volume, or a host file), as a
 * commit replaces a hive.  The source must be a hive libhivex reads whole
 * (every key and value), clean, or dirty with logs beside it that replay
 * (the replayed, clean result is installed; the source is not changed); a
 * dirty source without usable logs is refused (ERR_REFUSED), a damaged one
 * is ERR_CORRUPT.  When dest's file name is a hive's (SYSTEM, SAM, ...,
 * any case) the source must be that kind of hive.  The new file is written
 * beside dest, read back, then dest's logs are moved aside, it is renamed
 * over dest and the aside logs are dropped (with dest->backup: dest is
 * kept as DEST.bak and its logs as DEST.bak.LOGn).  Every refusal comes
 * before the volume is opened for writing: nothing changed then. */
struct hive_restore_result {
	enum hive_kind kind;       /* of the source */
	struct hive_info info;     /* of the source, as opened */
	unsigned keys, values;     /* in it */
	bool replaced;             /* dest existed */
};
int hive_restore(const char *source, const struct hive_target *dest,
		 struct hive_restore_result *r, struct err *err);

/* One name asked of MountedDevices. */
struct hive_md_query {
	const char *name;                   /* as asked: "C:", "Volume{G}" */
	const struct hive_md_entry *entry;  /* NULL: no such value */
	struct fs_volume *vol;              /* the volume, when err is ERR_OK */
	struct err err;                     /* why it did not resolve */
};
struct hive_md_report {
	struct hive_md_entry *e;            /* every value, in hive order */
	size_t n;
	struct hive_md_query *q;            /* one per name asked */
	size_t nq;
	struct err warn;
};
/* Read SYSTEM\MountedDevices of the SYSTEM hive t (a file, or a path in
 * the volume t->volume) and resolve each of names[] to a volume among
 * disks[] (every block device when ndisks is 0).  A hive of another kind
 * is refused (hive_require_kind).  A name that does not resolve is not a
 * failure of the call: see q[i].err. */
int hive_md_report(const struct hive_target *t, const char *const *names,
		   size_t nnames, const char *const *disks, size_t ndisks,
		   struct hive_md_report *r, struct err *err);
void hive_md_report_free(struct hive_md_report *r);

/* hive_fntb_load on hive files: the SYSTEM hive system (a file, or a path
 * in the volume system->volume), and SOFTWARE when not NULL (in the same
 * volume when there is one).  Other kinds of hive are refused. */
int hive_fntb_load_files(const struct hive_target *system, const char *software,
			 struct hive_fntb **out, struct err *err);

/* `hive merge`: KeysNotToRestore applied to a restored SYSTEM hive. */
struct hive_merge_req {
	const char *current;       /* the SYSTEM hive in use now: only read */
	const char *restored;      /* the one from the backup: only read */
	const char *output;        /* must not exist; ignored by a dry run */
	enum hive_kntr_policy policy;
	bool dry_run;              /* apply to a private copy, write nothing */
};
struct hive_merge_result {
	struct hive_kntr_rule *rules;   /* of both hives, de-duplicated */
	struct hive_kntr_result *res;   /* one per rule; NULL when the merge
					 * stopped before applying them */
	size_t n;
	unsigned counts[HIVE_KNTR_FAILED + 1];  /* results per outcome */
	struct err warn[4];             /* ERR_WARNING, in order */
	size_t nwarn;
};
/* Apply the rules of both hives (each rule: current's copy wins, see
 * enum hive_kntr_form) to a copy of `restored`, taken with its logs so a
 * dirty backup is replayed, beside `output`; commit it there and rename it
 * to `output`, so that `output` is either absent or complete and neither
 * input changes.  Returns 0 when every rule was applied or ignored (see
 * counts[HIVE_KNTR_IGNORED]); -EEXIST (ERR_REFUSED) when output exists;
 * another negative errno with err filled when a hive cannot be read, a
 * rule failed (nothing is written then) or the output cannot be written.
 * res is filled as far as the merge got, also on failure. */
int hive_merge_files(const struct hive_merge_req *req,
		     struct hive_merge_result *res, struct err *err);
void hive_merge_result_free(struct hive_merge_result *res);

#endif
