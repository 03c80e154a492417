/* tape_impl.h - what tape backends share with tape.c; private to tape/. */
#ifndef SYSRECOVER_TAPE_IMPL_H
#define SYSRECOVER_TAPE_IMPL_H

#include <sys/uio.h>

#include "tape.h"

/* One backend.  Every member is required; tape.c checks arguments and the
 * loaded state is the backend's business. */
struct tape_ops {
	ssize_t (*read)(struct tape *t, void *buf, size_t len, enum tape_rd *what);
	ssize_t (*write)(struct tape *t, const void *buf, size_t len);
	int (*write_marks)(struct tape *t, enum tape_mark kind, unsigned count);
	int (*rewind)(struct tape *t);
	int (*space)(struct tape *t, enum tape_space what, long count);
	int (*locate)(struct tape *t, unsigned part, uint64_t block);
	int (*tell)(struct tape *t, unsigned *part, uint64_t *block);
	int (*erase)(struct tape *t, bool long_erase);
	int (*prepare)(struct tape *t, enum tape_prep op);
	int (*mkpart)(struct tape *t, long size_mb);
	int (*setpart)(struct tape *t, unsigned part);
	int (*get_params)(struct tape *t, struct tape_params *p);
	int (*set_blksize)(struct tape *t, uint32_t block_size);
	int (*set_compression)(struct tape *t, bool on);
	int (*status)(struct tape *t, struct tape_status *s);
	int (*close)(struct tape *t);  /* frees priv, not t */
};

struct tape {
	const struct tape_ops *ops;
	void *priv;
	const char *kind;  /* "st", "simh", "mem" */
	char *name;
	char err[512];
};

/* Allocate a handle for a backend (priv is set by the caller). */
struct tape *tape_alloc(const struct tape_ops *ops, const char *kind,
			const char *name);
/* Record why `err` (a negative errno) happened and return it. */
int tape_fail(struct tape *t, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Drive state that a virtual drive may keep across opens (simh sidecar). */
struct tape_vstate {
	uint64_t capacity;   /* of the medium, 0 = unlimited */
	uint64_t ew_zone;
	long split_mb;       /* last mkpart argument: 0 = one partition */
	unsigned part;
	uint64_t pos;
	uint32_t block_size;
	bool compression, locked, loaded;
};

/* The virtual drive (tape_virt.c) keeps SIMH-encoded records in byte stores,
 * one per partition; simh and mem differ only in where the bytes live. */
struct tape_vstore_ops {
	/* Read up to n bytes at off; returns bytes read (short at the end). */
	ssize_t (*pread)(void *s, unsigned part, void *buf, size_t n, uint64_t off);
	/* Write all of iov at off, or fail with -errno. */
	int (*pwritev)(void *s, unsigned part, const struct iovec *iov, int cnt,
		       uint64_t off);
	int (*truncate)(void *s, unsigned part, uint64_t size);
	int (*size)(void *s, unsigned part, uint64_t *size);
	/* Make exactly n empty partition stores (mkpart). */
	int (*set_parts)(void *s, unsigned n);
	/* How many partition stores exist now. */
	unsigned (*parts)(void *s);
	int (*sync)(void *s);
	/* Optional: keep the index of a partition beside it, so the next open
	 * need not scan the image.  load fails unless the store is, by its
	 * stamp, the one the blob was saved for (the blob is malloc'd), and
	 * sets *exact only when the store vouches that its bytes have not
	 * changed since `exact` (below) confirmed the blob against them; else
	 * the caller checks the blob against the bytes itself.  save calls
	 * exact(arg, part) only once a change made after that call is sure to
	 * change the stamp, and keeps whether it returned true. */
	int (*index_load)(void *s, unsigned part, uint8_t **blob, size_t *len,
			  bool *exact);
	int (*index_save)(void *s, unsigned part, const uint8_t *blob, size_t len,
			  bool (*exact)(void *arg, unsigned part), void *arg);
	/* Optional: the name of a partition's store, for messages. */
	const char *(*part_name)(void *s, unsigned part);
	/* Persist what it wants of the final drive state, then free. */
	int (*close)(void *s, const struct tape_vstate *st);
};

#define TAPE_V_MAX_PARTS 2

/* Scan the stores and make a drive.  st may be NULL (fresh drive at BOT);
 * on failure the store is closed, and why (may be NULL) says why in a
 * sentence: a store whose scan meets damage before any data record is not
 * a SIMH image (-EMEDIUMTYPE). */
int tape_virt_open(const char *kind, const char *name, const struct tape_vstore_ops *sops,
	    void *store, const struct tape_vopts *vo, const struct tape_vstate *st,
	    struct tape **out, char *why, size_t cap);

#endif
