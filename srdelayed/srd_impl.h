/* srd_impl.h - what the files of srdelayed/ share; private to srdelayed/. */
#ifndef SYSRECOVER_SRD_IMPL_H
#define SYSRECOVER_SRD_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "fs.h"
#include "srd.h"

/* ---- the apply journal (srd_journal.c; format in srd_journal.c) ---- */
struct fs;
struct fs_file;

enum { SRD_J_RUNNING = 1, SRD_J_FINISHING = 2 };
enum { SRD_JS_PENDING = 0, SRD_JS_INTENT = 1, SRD_JS_DONE = 2, SRD_JS_SKIP = 3 };

struct srd_journal {
	struct fs *fs;
	struct fs_file *f;
	uint32_t state, step, nops;
	uint64_t hash;
	uint8_t *slots;        /* nops * SRD_J_SLOT bytes, as on disk */
};

/* 1 = a complete journal was read, 0 = none (or one cut off while being
 * created: no operation ran under it), < 0 = I/O error. */
int srd_journal_load(struct fs *fs, struct srd_journal *j);
/* A new journal; slot i starts as states[i]. */
int srd_journal_create(struct fs *fs, uint64_t hash, uint32_t nops,
		       const uint8_t *states, struct srd_journal *j);
int srd_journal_slot(struct srd_journal *j, uint32_t i, uint32_t state,
		     uint32_t code, uint64_t ino);
void srd_journal_get(const struct srd_journal *j, uint32_t i, uint32_t *state,
		     uint32_t *code, uint64_t *ino);
int srd_journal_step(struct srd_journal *j, uint32_t state, uint32_t step);
int srd_journal_remove(struct srd_journal *j);
void srd_journal_close(struct srd_journal *j);

/* ---- the apply engine's state (srd_plan.c builds it, srd_apply.c runs it) */
struct hive;
struct hive_md_entry;

struct srd_volref {
	struct fs_volume v;
	struct fs *fs;
};

enum srd_src_kind { SRD_SRC_PFRO, SRD_SRC_SRD, SRD_SRC_NATIVE };

struct srd_src {
	enum srd_src_kind kind;
	char *label;           /* for reports */
	int vol;               /* SRD/NATIVE: the volume holding the file */
	char *path;            /* ... and its path there */
	char *setup_cmd;       /* SRD: the SetupExecute string that named it */
	struct srd_queue q;    /* SRD/NATIVE */
	bool stops;            /* a move/delete failure stops this source */
	bool stopped;
};

enum srd_kind { SRD_K_MOVE, SRD_K_DELETE, SRD_K_SHORTNAME };

struct srd_plan_op {
	enum srd_kind kind;
	bool replace;          /* the target may exist */
	bool files_only;       /* srdelayed MoveFile */
	bool skip;             /* the record says SC=...: ran before */
	bool ci;               /* Windows path: look up case-insensitively */
	size_t src, rec;       /* source, and record (or pair) index from 0 */
	int vol, dvol;
	char *path, *dst, *name;
};

struct srd_run {
	const struct srd_apply_opts *o;
	struct srd_report *rep;
	struct err *err;
	const char *const *disks;  /* where volumes are looked for */
	size_t ndisks;
	struct srd_volref *vols;
	size_t nvols, cap_vols;
	int home;
	struct hive *system;       /* the home volume's SYSTEM, when Windows */
	char *system_path, *software_path;
	struct hive_md_entry *md;
	size_t nmd;
	struct { char key[64]; int vol; } *rcache;  /* resolved designators */
	size_t nrcache, cap_rcache;
	struct srd_src *src;
	size_t nsrc, cap_src;
	struct srd_plan_op *ops;
	size_t nops, cap_ops;
	bool pfro;                 /* pending renames were read */
	size_t rbase;              /* report line of ops[0] */
};

/* srd_plan.c: read every queue on the home volume and resolve every path.
 * 0, or < 0 with run->err set (nothing has been changed). */
int srd_plan(struct srd_run *run, const char *home);
void srd_plan_free(struct srd_run *run);
/* srd_guard.c: refuse (ERR_REFUSED) a plan with an operation that moves,
 * deletes or replaces a queue being run, a journal or an applied queue
 * (or a directory holding one).  0, or < 0 with run->err set. */
int srd_plan_guard(struct srd_run *run);
uint64_t srd_plan_hash(const struct srd_run *run);
int srd_report_add(struct srd_report *rep, struct srd_result *r);
int srd_note(struct srd_report *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* path on fs with each component matched case-insensitively where the
 * exact name is absent; the rest kept as given once one is missing. */
char *srd_ci_path(struct fs *fs, const char *path);

#endif
