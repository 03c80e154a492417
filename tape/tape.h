/* tape.h - one handle type over tape drives: Linux st, SIMH .tap images, memory.
 *
 * The operations mirror the Win32 Tape Backup API (parameters, position, marks,
 * erase, prepare, partitions, status) with the semantics of the Linux st driver,
 * so that code written against this header behaves the same on a real drive and
 * on the virtual ones used by tests.  Every call returns 0 (or a byte count) on
 * success and a negative errno on failure; tape_errmsg() then says more, for
 * example the byte offset of a corrupt record in an image.  Nothing here knows
 * about sysrecover's archive format.
 *
 * Error conventions (as st(4)):
 *   -ENOSPC   write refused at early warning (see tape_write) or at end of medium
 *   -ENOMEM   variable-mode read buffer smaller than the block (block is consumed)
 *   -EINVAL   fixed-mode transfer not a multiple of the block size, bad argument
 *   -EIO      medium error, or spacing ran into BOT, EOD or a mark first
 *   -EACCES   write to a write-protected medium
 *   -ENOMEDIUM  no medium loaded (after unload)
 *   -EOPNOTSUPP the drive cannot do this (e.g. setmarks on a virtual drive)
 */
#ifndef SYSRECOVER_TAPE_H
#define SYSRECOVER_TAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct tape;

/* The largest record a SIMH image can hold: the length word's low 24 bits
 * (SIMH's extended format keeps a class in the top byte; bit 31 flags a
 * record captured with a read error).  Virtual drives refuse larger blocks. */
#define TAPE_SIMH_MAX_RECORD 0x00FFFFFFu

/* What a read found.  st reports a filemark as a 0-byte read; we say so. */
enum tape_rd {
	TAPE_RD_DATA,
	TAPE_RD_FILEMARK,
	TAPE_RD_SETMARK,
	TAPE_RD_EOD,
};

/* What to space over (SetTapePosition's TAPE_SPACE_* methods). */
enum tape_space {
	TAPE_SP_RECORDS,
	TAPE_SP_FILEMARKS,
	TAPE_SP_SETMARKS,
	TAPE_SP_EOD,
};

enum tape_mark {
	TAPE_MK_FILEMARK,
	TAPE_MK_SETMARK,
};

/* PrepareTape operations. */
enum tape_prep {
	TAPE_PREP_LOAD,
	TAPE_PREP_UNLOAD,
	TAPE_PREP_LOCK,
	TAPE_PREP_UNLOCK,
	TAPE_PREP_TENSION,
};

/* Feature bits a backend reports in tape_params.features. */
enum {
	TAPE_FEAT_SETMARKS = 1u << 0,     /* can write and space setmarks */
	TAPE_FEAT_PARTITIONS = 1u << 1,   /* can create and select partitions */
	TAPE_FEAT_COMPRESSION = 1u << 2,  /* compression can be switched */
	TAPE_FEAT_FIXED_BLOCK = 1u << 3,  /* fixed-block mode */
	TAPE_FEAT_LOCATE = 1u << 4,       /* logical locate / tell */
	TAPE_FEAT_EARLY_WARNING = 1u << 5,/* reports early warning before EOM */
	TAPE_FEAT_BYTE_EXACT = 1u << 6,   /* keeps all data bytes (scsi_debug keeps 4) */
};

/* Drive and medium parameters (GetTapeParameters, both kinds). */
struct tape_params {
	uint32_t block_size;     /* 0 = variable-block mode */
	uint32_t min_block;      /* block limits of the drive */
	uint32_t max_block;
	uint32_t granularity;    /* block sizes must be a multiple of 2^granularity */
	uint32_t density;        /* density code, 0 = default */
	bool compression;
	unsigned max_partitions;
	unsigned partitions;     /* on the loaded medium */
	uint64_t capacity;       /* bytes of the current partition, 0 = unknown */
	uint64_t remaining;      /* bytes left after EOD, 0 = unknown */
	uint64_t ew_zone;        /* bytes between early warning and end, 0 = unknown */
	unsigned features;       /* TAPE_FEAT_* */
};

/* Where the tape is, and what the drive says about it (GetTapeStatus). */
struct tape_status {
	long file;               /* file number in the partition, -1 = unknown */
	long block;              /* block number in the file, -1 = unknown */
	unsigned partition;      /* 0-based, as st */
	uint64_t logical;        /* logical object number (tell), marks included */
	bool logical_valid;
	uint32_t block_size;
	uint32_t density;
	bool bot, eof, eod, eot, sm, wr_prot, online, no_medium, locked;
};

/* Options for opening a virtual (simh or mem) drive.  Zero means "none". */
struct tape_vopts {
	uint64_t capacity;        /* bytes of the medium (mkpart splits it), 0 = unlimited */
	uint64_t ew_zone;         /* early-warning zone before capacity */
	bool read_only;           /* open the image write-protected */
	bool must_exist;          /* a missing image is -ENOENT, not a new
				   * blank tape */
	/* Test-only fault injection, by logical object number in partition 0.
	 * -1 disables.  A read error leaves the tape past the bad record. */
	long fault_read_error;    /* reading object N fails with -EIO */
	long fault_short_write;   /* writing object N stores only half the bytes
				   * (a 1-byte record fails with -EIO instead:
				   * 0 bytes would be a filemark) */
	long fault_enospc;        /* writing object N hits end of medium */
};

void tape_vopts_init(struct tape_vopts *o);

/* Open by name: "/dev/...st..." uses the st driver, "*.tap" or "simh:PATH" a
 * SIMH image, "mem:" an empty tape in memory.  vo may be NULL (defaults); it
 * applies to virtual drives only.
 *
 * A SIMH image that does not exist is created (an empty file: a blank tape)
 * unless vo->must_exist or vo->read_only, which make it -ENOENT.  An existing
 * empty file is a blank tape.  A non-empty file that is not a SIMH image is
 * -EMEDIUMTYPE and is left as it was (nothing is written to it or beside it):
 * that is a file in which scanning meets damage before any data record
 * (a text file, a filesystem image).  An image with data records before its
 * damage opens, and the damage is reported when the tape gets there. */
int tape_open(const char *name, const struct tape_vopts *vo, struct tape **out);
/* tape_open, and on failure a sentence for a human in why (cap bytes, may be
 * NULL): "cannot open 'x.tap': No such file or directory", "'x.tap' is not
 * a SIMH tape image: ...".  why is "" when there is nothing more to say than
 * the errno (an unknown kind of name: -ENODEV). */
int tape_open_why(const char *name, const struct tape_vopts *vo,
		  struct tape **out, char *why, size_t cap);
int tape_open_st(const char *dev, bool read_only, struct tape **out);
int tape_open_simh(const char *path, const struct tape_vopts *vo, struct tape **out);
int tape_open_simh_why(const char *path, const struct tape_vopts *vo,
		       struct tape **out, char *why, size_t cap);
int tape_open_mem(const struct tape_vopts *vo, struct tape **out);
/* Close; returns the first error of flushing state (0 otherwise). */
int tape_close(struct tape *t);

const char *tape_name(const struct tape *t);
const char *tape_kind(const struct tape *t);
/* Explanation of the last error on this handle ("" if none). */
const char *tape_errmsg(const struct tape *t);

/* Data.  tape_read reads one record (variable mode) or len/block_size records
 * (fixed mode) into buf; *what says whether it met data, a mark or EOD.  A mark
 * or EOD returns 0 bytes and (for marks) moves past it, as st does. */
ssize_t tape_read(struct tape *t, void *buf, size_t len, enum tape_rd *what);
/* Write one record (variable mode) or len/block_size records (fixed mode).
 * Returns bytes written, which can be short.  After the early-warning point the
 * write that crosses it succeeds, the next returns -ENOSPC, the one after that
 * succeeds (for a trailer), and so on alternately until the end of medium. */
ssize_t tape_write(struct tape *t, const void *buf, size_t len);
int tape_write_marks(struct tape *t, enum tape_mark kind, unsigned count);

/* Position.  count > 0 spaces towards EOT and ends after the last item;
 * count < 0 towards BOT and ends before it (on its BOT side). */
int tape_rewind(struct tape *t);
int tape_space(struct tape *t, enum tape_space what, long count);
/* Locate to logical object `block` of partition `part` (changes partition). */
int tape_locate(struct tape *t, unsigned part, uint64_t block);
int tape_tell(struct tape *t, unsigned *part, uint64_t *block);

int tape_erase(struct tape *t, bool long_erase);
int tape_prepare(struct tape *t, enum tape_prep op);

/* Partitions, st style: size_mb 0 = one partition; > 0 = two partitions with
 * partition 1 of size_mb MB; < 0 = two with partition 0 of -size_mb MB.
 * Destroys all data.  Afterwards the tape is at BOT of partition 0. */
int tape_mkpart(struct tape *t, long size_mb);
int tape_setpart(struct tape *t, unsigned part);

int tape_get_params(struct tape *t, struct tape_params *p);
int tape_set_blksize(struct tape *t, uint32_t block_size);
int tape_set_compression(struct tape *t, bool on);
int tape_status(struct tape *t, struct tape_status *s);

/* Drive self-test (btape-like).  Writes to the tape: refuses a tape that holds
 * data unless force.  Prints one PASS/FAIL/SKIP line per check to out; returns
 * the number of failed checks, or a negative errno if it could not start. */
struct tape_test_result {
	unsigned passed, failed, skipped;
};
int tape_selftest(struct tape *t, bool force, FILE *out,
		  struct tape_test_result *res);

#endif
