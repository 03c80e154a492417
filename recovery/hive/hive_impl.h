/* hive_impl.h - private to recovery/hive: the handle behind struct hive and the helpers its files share. */
#ifndef SYSRECOVER_HIVE_IMPL_H
#define SYSRECOVER_HIVE_IMPL_H

#include <hivex.h>
#include <stdarg.h>

#include "hive.h"

/* A commit moves PATH.LOGn to PATH.LOGn HIVE_LOG_ASIDE before the new hive
 * takes PATH's place, and deletes it after.  Cut off between the two, the
 * old (dirty) hive is still in place and its logs only under that name:
 * they are read from there when PATH.LOGn is absent, and removed by the
 * next commit (hive_commit.c). */
#define HIVE_LOG_ASIDE ".sysrecover-old"

#define HIVE_BASE_SIZE 4096u
#define HIVE_BIN_ALIGN 4096u

/* Fields of a regf base block (primary file or log) that we use. */
struct hive_base {
	uint32_t seq1, seq2;
	uint32_t major, minor;
	uint32_t type;          /* 0 primary, 1/2 old log, 6 new (HvLE) log */
	uint32_t format;
	uint32_t root;
	uint32_t data_size;     /* hive bins data size */
	uint32_t clustering;
	uint32_t checksum;      /* stored */
	bool checksum_ok;
};

struct hive {
	hive_h *hx;
	char *path;             /* as given: host path or path in fs */
	char *name;             /* for messages: path, or "VOLUME:path" */
	struct fs *fs;          /* non-NULL: the hive lives in this volume */
	char *work;             /* private copy hivex opened (NULL: path itself) */
	char *orig;             /* fs: pristine copy of the volume's hive */
	unsigned flags;
	struct hive_info info;
	hive_key *touched;      /* keys changed since open: verified at commit */
	size_t ntouched, captouched;
	struct err err;         /* the last call's failure (hive_error) */
	struct err warn;        /* ERR_WARNING: why it opened degraded */
};

/* Checksum of a base block: XOR of the first 127 dwords, with 0 and ~0
 * mapped as Windows does. */
uint32_t hive_base_checksum(const uint8_t *b);
/* Parse a 4096-byte base block; -EINVAL unless it starts with "regf". */
int hive_base_parse(const uint8_t *b, size_t len, struct hive_base *out);
/* Recompute and store the checksum of a base block. */
void hive_base_fix_checksum(uint8_t *b);

/* A handle with no hive open yet: path, name and flags set (hive.c); free
 * with hive_close().  NULL on ENOMEM. */
struct hive *hive_new(const char *path, struct fs *fs, unsigned flags);
/* A file of a volume into a new private temp file *tmp (hive.c). */
int hive_copy_from_volume(struct fs *fs, const char *path, char **tmp,
			  struct err *e);
/* Put the local file newf in h->path's place as a commit does
 * (hive_commit.c): h->path.bak first with HIVE_O_BACKUP (for a hive in a
 * volume, from h->orig, which must then be set), the logs moved aside, the
 * rename, the aside logs dropped.  A local newf must be beside h->path
 * (it is renamed); one for a volume is copied in and read back.  Errors in
 * h->err. */
int hive_install(struct hive *h, const char *newf);

/* Remember that a key changed, for the verification after commit. */
void hive_touch(struct hive *h, hive_key k);

/* The folded code point at *s (hive_name_fold), advancing *s; a byte that
 * starts no valid UTF-8 sequence (text_utf8_seq) is 0x110000 + the byte, so
 * that it only equals itself. */
uint32_t hive_name_next(const char **s);

/* File helpers: whole-file copy (0600, fsync'd), existence, the first
 * HIVE_BASE_SIZE bytes of a file (*got: how many there were). */
int hive_copy_file(const char *src, const char *dst);
bool hive_file_exists(const char *path);
int hive_read_base(const char *path, uint8_t *b, size_t *got);
/* A new empty private temp file in $TMPDIR (malloc'd name). */
int hive_mktemp(char **name, const char *what);

/* ---- hive_log.c --------------------------------------------------------- */
/* `work` is a private copy of a dirty primary; log1/log2 its logs (NULL when
 * absent).  Apply what is valid and fix the base block.  On failure the copy
 * may be half-written (the caller discards it) and err says why. */
int hive_log_replay(const char *work, const char *log1, const char *log2,
		    unsigned *applied, struct err *err);

/* hive_kind.c: the kind a hive file's name says (SYSTEM, NTUSER.DAT, ...,
 * case-insensitive); HIVE_KIND_UNKNOWN for any other name. */
enum hive_kind hive_kind_by_name(const char *name);

#endif
