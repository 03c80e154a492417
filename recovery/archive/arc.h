/* arc.h - the backup set on tape: its label and its catalog.
 *
 * A set is three tape files, appended at end of data:
 *
 *     [label]  FM  [data: a POSIX pax archive]  FM  [catalog]  FM
 *
 * The label is one record of plain UTF-8 text, so that a person with only
 * `mt` and `tar` can read it (`mt fsf N; dd bs=256k count=1`) and follow the
 * recovery commands it prints for its own set.  The catalog is a stream of
 * text lines, one per member, cut into records of the set's size; it is
 * written and read one line at a time, so ten million members list in
 * bounded memory.  Both end in a SHA-256 over what came before, and a reader
 * refuses (ERR_CORRUPT) anything that does not check out, naming what and
 * where.  The formats are documented in README.md, "Backup and restore".
 *
 * The data file is libarchive's business (the backup and restore engines);
 * this module knows only where each member's first header is (struct
 * arc_pos), which the engines record and use.
 */
#ifndef SYSRECOVER_ARC_H
#define SYSRECOVER_ARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define ARC_FORMAT_VERSION 1
#define ARC_LABEL_MAX (64u * 1024)   /* a label record is never larger */
#define ARC_VOL_MAX 64               /* volumes in one set */
#define ARC_RECORD_DEFAULT (256u * 1024)
/* Added with the implementation: the largest record size a label accepts
 * (a multiple of 512 from 512 to this), and the longest catalog line, LF
 * included: arc_catw_add refuses a member whose escaped path and target
 * make a longer one (-ENAMETOOLONG, ERR_ITEM), the reader refuses it as
 * ERR_CORRUPT, so the reader never holds more than this. */
#define ARC_RECORD_MAX (16u * 1024 * 1024)
#define ARC_CAT_LINE_MAX (64u * 1024)

/* Set flags (the label's "flags:" line, by name). */
enum {
	ARC_SET_SYSTEM_STATE = 1u << 0,  /* a Windows system-state set */
	ARC_SET_PARTIAL = 1u << 1,       /* a source failed part-way: see catalog */
};

/* One volume (or directory) in the set.  Members name it by id. */
struct arc_volume {
	char id[16];          /* "v0", "v1", ...: the first part of member names */
	char fstype[16];      /* "ext4", "ntfs", "dir" ... */
	char uuid[64];        /* "" when none (a directory) */
	char label[128];      /* "" when none */
	char source[512];     /* what the admin named: /dev/sda2, img@2, /srv */
	uint64_t size;        /* bytes of the volume; 0 for a directory */
	uint64_t used;        /* bytes in use when backed up */
};

/* A system-state set (ARC_SET_SYSTEM_STATE) also names the Windows it holds
 * and where its hives are, in lines after the volume lines and their empty
 * line, which a parser of the first release did not read (it stops at that
 * empty line): those labels stay readable by it, and a label without the
 * lines is read with these fields "" and nhive 0. */
#define ARC_HIVE_MAX 16

struct arc_label {
	unsigned version;     /* ARC_FORMAT_VERSION */
	char uuid[37];        /* the set's UUID, text */
	int64_t created;      /* seconds since the epoch, UTC */
	char host[256];
	char tool[64];        /* "sysrecover 0.3.0 (git ...)" */
	uint32_t record_size; /* bytes per data and catalog record */
	uint32_t tape_file;   /* tape file number of this label (0 = first) */
	uint32_t tape_no;     /* this tape's number within the set, from 1 */
	uint32_t flags;       /* ARC_SET_* */
	size_t nvol;
	struct arc_volume vol[ARC_VOL_MAX];
	/* system state ("" when unknown or not a system-state set) */
	char windows[128];    /* SOFTWARE ProductName: "Windows 10 Pro" */
	char win_build[40];   /* CurrentBuild(Number)[.UBR]: "16299.15" */
	char win_root[300];   /* volume id and SystemRoot: "v0 C:\Windows" */
	size_t nhive;
	char hive[ARC_HIVE_MAX][512];  /* member names: v0/Windows/System32/config/SYSTEM */
};

/* The label as text (with the recovery commands and the checksum line)
 * into buf; *len its length.  -ENOSPC when it does not fit in cap. */
int arc_label_format(const struct arc_label *l, char *buf, size_t cap, size_t *len,
		     struct err *err);
/* Parse and check one record.  1: a valid label; 0: not a label at all (no
 * magic: another tool's tape file); < 0 with ERR_CORRUPT: a damaged label.
 * (Added: a label of a newer format is -ENOTSUP with ERR_REFUSED, and NULs
 * after the text, a fixed-block drive's padding, are accepted.  The
 * formatter refuses, -EINVAL with ERR_INTERNAL, a label the parser would
 * not take back: a bad uuid, a record size that is not a multiple of 512,
 * volume ids that are not short plain words or are not unique...) */
int arc_label_parse(const void *rec, size_t len, struct arc_label *l, struct err *err);

/* Where a member's first header ('x' header included) starts on tape: as
 * tape file and block within it (for drives that can only space), as the
 * logical block (for drives that can locate), and the byte offset in that
 * block (a record holds many headers). */
struct arc_pos {
	uint32_t partition;
	uint32_t file;        /* tape file number of the set's data file */
	uint64_t block;       /* record number within that tape file, from 0 */
	uint64_t lblock;      /* logical block (tape_tell), UINT64_MAX if unknown */
	uint32_t offset;      /* byte offset of the header in that record */
};

enum arc_type {
	ARC_T_FILE = 'f',
	ARC_T_DIR = 'd',
	ARC_T_SYMLINK = 'l',
	ARC_T_HARDLINK = 'h', /* a link member: target is the first name */
	ARC_T_CHR = 'c',
	ARC_T_BLK = 'b',
	ARC_T_FIFO = 'p',
	ARC_T_SOCK = 's',
	ARC_T_STREAM = 'a',   /* an NTFS alternate data stream: "path:name" */
};

/* Member flags (by name in the catalog line). */
enum {
	ARC_M_SPARSE = 1u << 0,
	ARC_M_COPY = 1u << 1,       /* content stored once, in the member named
				       by target (a file: type 'f') */
	ARC_M_EFS_RAW = 1u << 2,    /* NTFS encrypted file: raw (still encrypted)
				       data, its $EFS stream as user.ntfs.efsinfo */
	ARC_M_LOST = 1u << 3,       /* could not be read at backup: not in data */
	ARC_M_SIS = 1u << 4,        /* NTFS single-instance-store link
				       (reparse tag IO_REPARSE_TAG_SIS) */
	ARC_M_HIVE = 1u << 5,       /* a registry hive of a system-state set */
};

/* One member.  path and target point into the reader's buffer and are
 * valid only during the callback; the writer copies what it needs. */
struct arc_entry {
	uint64_t index;       /* from 0, in data order */
	uint32_t vol;         /* index into arc_label.vol */
	enum arc_type type;
	uint32_t flags;       /* ARC_M_* */
	uint64_t size;        /* data bytes (apparent size) */
	bool has_hash;
	uint8_t sha256[32];   /* of the data, for files and streams */
	struct arc_pos pos;
	const char *path;     /* in the volume: "/etc/passwd", never empty */
	const char *target;   /* link target (hard or symbolic), or the member
				 ("vN/path") holding a copy's content, else NULL */
};

/* ---- catalog writer -------------------------------------------------------- */
/* The struct err given to an _open is the one every later call on that
 * writer or reader fills. */

/* Called with each full record, and the last, shorter one, at close.
 * (Added: the writer's struct err is cleared before each call, so put may
 * fill it with its own message, to which the record number is added; a
 * failure < 0 sticks: every later call returns it.) */
typedef int (*arc_put_fn)(void *arg, const void *rec, size_t len);

struct arc_catw;

int arc_catw_open(struct arc_catw **out, uint32_t record_size, arc_put_fn put,
		  void *arg, struct err *err);
/* (Added: e must be the next index, a known type and flags, a path from
 * '/', a target exactly for links, else -EINVAL, ERR_INTERNAL; a line
 * longer than ARC_CAT_LINE_MAX is -ENAMETOOLONG, ERR_ITEM.  Neither writes
 * anything, and the writer goes on.) */
int arc_catw_add(struct arc_catw *w, const struct arc_entry *e);
/* The trailer (count and checksum), then the last record; frees w. */
int arc_catw_close(struct arc_catw *w, uint64_t *count);
void arc_catw_abort(struct arc_catw *w);  /* frees w, writes nothing more */

/* ---- catalog reader -------------------------------------------------------- */

/* Return non-zero to stop (arc_catr_feed then returns that value, and so
 * does every later feed and the close). */
typedef int (*arc_entry_fn)(void *arg, const struct arc_entry *e);

struct arc_catr;

int arc_catr_open(struct arc_catr **out, arc_entry_fn cb, void *arg, struct err *err);
/* Feed the catalog's records in order; entries go to cb as their lines
 * complete.  < 0 (ERR_CORRUPT) on a malformed line, with its number. */
int arc_catr_feed(struct arc_catr *r, const void *rec, size_t len);
/* (Added: after the END line only NULs, a fixed-block drive's padding, may
 * follow; a newer catalog format is -ENOTSUP with ERR_REFUSED.) */
/* The end of the catalog file: checks the trailer (count and checksum).
 * *count: members seen.  Frees r. */
int arc_catr_close(struct arc_catr *r, uint64_t *count);
void arc_catr_abort(struct arc_catr *r);

#endif
