/* hive_restore.c - `hive restore`: put a hive file (a RegBack copy, a
 * backup) in the place of a hive, as a commit replaces one (hive.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fs.h"
#include "hive_impl.h"

/* Every key and value of the source must read: hivex_visit stops at the
 * first cell it cannot follow. */
static int count_node(hive_h *h, void *opaque, hive_node_h node, const char *name)
{
	(void)h, (void)node, (void)name;
	((struct hive_restore_result *)opaque)->keys++;
	return 0;
}

static int count_value(hive_h *h, void *opaque, hive_node_h node,
		       hive_value_h value, hive_type t, size_t len,
		       const char *key, const char *str)
{
	(void)h, (void)node, (void)value, (void)t, (void)len, (void)key, (void)str;
	((struct hive_restore_result *)opaque)->values++;
	return 0;
}

static int walk(struct hive *src, struct hive_restore_result *r, struct err *err)
{
	struct hivex_visitor v = {
		.node_start = count_node,
		.value_any = count_value,  /* every value's bytes are read */
	};

	errno = 0;
	if (hivex_visit(src->hx, &v, sizeof(v), r, 0) < 0)
		return err_setc(err, ERR_FATAL, ERR_CORRUPT, -(errno ? errno : EINVAL),
				"'%s' is damaged: libhivex cannot read every key "
				"and value in it (%s); nothing was changed",
				src->name, strerror(errno ? errno : EINVAL));
	return 0;
}

/* The source: a valid hive, clean or made clean by its own logs. */
static int open_source(const char *source, struct hive **out,
		       struct hive_restore_result *r, struct err *err)
{
	int rc = hive_open(source, 0, out, err);

	if (rc < 0) {
		err_context(err, "nothing was changed");
		return rc;
	}
	r->info = (*out)->info;
	r->kind = hive_kind(*out, NULL, 0);
	if (r->info.dirty && !r->info.replayed)
		return err_setc(err, ERR_FATAL, ERR_REFUSED, -EINVAL,
				"'%s' is dirty (sequence %u/%u) and %s: its newest "
				"changes would be lost.  Give the hive with its "
				"logs (.LOG1, .LOG2) beside it; nothing was changed",
				source, r->info.seq1, r->info.seq2,
				r->info.logs_present ? "its logs cannot be replayed"
						     : "has no logs beside it");
	return walk(*out, r, err);
}

/* A destination named like a hive must receive that kind of hive. */
static int check_kind(const char *source, const char *dest, enum hive_kind k,
		      struct err *err)
{
	const char *base = strrchr(dest, '/') ? strrchr(dest, '/') + 1 : dest;
	enum hive_kind want = hive_kind_by_name(base);

	if (want == HIVE_KIND_UNKNOWN || want == k)
		return 0;
	return err_setc(err, ERR_FATAL, ERR_REFUSED, -EINVAL, "'%s' is %s "
			"hive, and '%s' is where %s %s hive lives: refused, "
			"nothing was changed", source, k == HIVE_KIND_UNKNOWN ?
			"not a known kind of" : k == HIVE_KIND_NTUSER ?
			"an NTUSER.DAT" : hive_kind_name(k), dest,
			want == HIVE_KIND_NTUSER ? "an" : "a", hive_kind_name(want));
}

/* The destination handle: nothing opened, only where it goes; the old
 * file kept aside for --backup when there is one. */
static int dest_handle(const struct hive_target *t, struct fs *fs,
		       struct hive **out, bool *existed, struct err *err)
{
	struct fs_stat st;
	unsigned fl = HIVE_O_WRITE | (t->backup ? HIVE_O_BACKUP : 0);
	struct hive *h;
	int rc;

	*existed = fs ? fs_lookup(fs, t->path, &st) == 0 : hive_file_exists(t->path);
	if (!*existed)
		fl &= ~HIVE_O_BACKUP;  /* nothing to keep */
	if (!(h = hive_new(t->path, fs, fl)))
		return err_set(err, -ENOMEM, "%s", strerror(ENOMEM));
	*out = h;
	if (fs && (fl & HIVE_O_BACKUP) &&
	    (rc = hive_copy_from_volume(fs, t->path, &h->orig, err)) < 0) {
		err_context(err, "while keeping '%s' as .bak", h->name);
		return rc;
	}
	return 0;
}

/* Local destination: the new file must be beside it to be renamed. */
static int stage_local(const char *from, const char *dest, char **newf,
		       struct err *err)
{
	int rc;

	if (asprintf(newf, "%s.sysrecover-new", dest) < 0) {
		*newf = NULL;
		return err_set(err, -ENOMEM, "%s", strerror(ENOMEM));
	}
	if ((rc = hive_copy_file(from, *newf)) < 0)
		return err_set(err, rc, "cannot write '%s': %s", *newf,
			       strerror(-rc));
	return 0;
}

/* Open what was written, as any later reader would. */
static int verify(struct fs *fs, const char *path, struct err *err)
{
	struct hive *h = NULL;
	int rc = fs ? hive_open_fs(fs, path, 0, &h, err) : hive_open(path, 0, &h, err);

	if (rc == 0 && h->info.dirty)
		rc = err_set(err, -EIO, "'%s' reads back dirty", h->name);
	hive_close(h);
	if (rc < 0)
		err_context(err, "after it was restored");
	return rc;
}

static int install(struct hive *src, const struct hive_target *t,
		   struct fs *fs, struct hive_restore_result *r, struct err *err)
{
	const char *clean = src->work ? src->work : src->path;
	struct hive *d = NULL;
	char *newf = NULL;
	int rc = dest_handle(t, fs, &d, &r->replaced, err);

	if (rc == 0 && !fs)
		rc = stage_local(clean, t->path, &newf, err);
	if (rc == 0 && (rc = hive_install(d, fs ? clean : newf)) < 0)
		err_copy(err, &d->err);
	if (rc < 0 && newf)
		unlink(newf);
	free(newf);
	hive_close(d);
	return rc < 0 ? rc : verify(fs, t->path, err);
}

int hive_restore(const char *source, const struct hive_target *dest,
		 struct hive_restore_result *r, struct err *err)
{
	struct hive *src = NULL;
	struct fs *fs = NULL;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = open_source(source, &src, r, err)) == 0)
		rc = check_kind(source, dest->path, r->kind, err);
	if (rc == 0 && dest->volume)
		rc = fs_open(dest->volume, FS_O_RDWR, &fs, err);
	if (rc == 0)
		rc = install(src, dest, fs, r, err);
	hive_close(src);
	if (fs && fs_close(fs) < 0 && rc == 0)
		rc = err_set(err, -EIO, "cannot close volume %s: %s",
			     dest->volume, strerror(EIO));
	return rc;
}
