/* rs_sis.c - SIS links and the common store on restore and verify.
 *
 * The facts (and what is not known) are in recovery/backup/bk_sis.c: the
 * reparse data of a link is opaque and travels byte for byte as the xattr
 * system.ntfs_reparse_data, the link as a sparse member with its holes;
 * the catalog names a link's common-store file as its target when the
 * backup found it.  Here:
 *
 * - A store file ("vN/SIS Common Store/NAME") is restored once, and not at
 *   all when the target already has a file of that name with the content
 *   the catalog gives (SHA-256): store names are globally unique and their
 *   content never changes, so that file is the one the links want.
 * - A selective restore of a link also restores the store file the catalog
 *   names for it (skipped as above when the target has it).
 * - ext (any target without NTFS reparse points) cannot hold a SIS link.
 *   Its content is that of its store file, but which store file a link
 *   names, and how much of the link's own sparse data overrides it, come
 *   only from the unpublished reparse layout: the link is reported as not
 *   restorable (not_kept) with the store file the backup found for it,
 *   and nothing is written in its place.  The store files themselves are
 *   restored like any file.
 * - verify: a link whose store file is not a member of the set fails.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <archive_entry.h>

#include "fs.h"
#include "hash.h"
#include "le.h"
#include "rs_impl.h"

#define SIS_TAG 0x80000007u
#define SIS_STORE "/SIS Common Store/"

struct rs_sis_store {
	char *name;               /* vN/SIS Common Store/NAME */
	uint32_t vol;
	bool has_hash, wanted, pulled;
	uint8_t sha[HASH_SHA256_LEN];
	uint64_t size;
	struct arc_pos pos;
};

struct rs_sis_link {
	char *name, *target;      /* vN/path of the link and of its store file */
};

struct rs_sis {
	struct rs_sis_store *st;
	size_t n, cap;
	struct rs_sis_link *need; /* wanted links that name their store file */
	size_t nneed, capneed;
	bool sorted;
	struct rs_sis_store dir;  /* the store directory's member (name NULL: none) */
};

static bool in_store(const char *path)
{
	return !strncasecmp(path, SIS_STORE, strlen(SIS_STORE)) &&
	       !strchr(path + strlen(SIS_STORE), '/');
}

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	void *np;
	size_t nc;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 16;
	if (!(np = realloc(*p, nc * size)))
		return -ENOMEM;
	*p = np;
	*cap = nc;
	return 0;
}

static int need_add(struct rs_sis *s, const char *name, const char *target)
{
	struct rs_sis_link *l;

	if (grow((void **)&s->need, &s->capneed, s->nneed, sizeof(*s->need)) < 0)
		return -ENOMEM;
	l = &s->need[s->nneed];
	l->name = strdup(name);
	l->target = strdup(target);
	s->nneed++;   /* freed by rs_sis_free either way */
	return l->name && l->target ? 0 : -ENOMEM;
}

static int link_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rs_sis_link *)a)->name,
		      ((const struct rs_sis_link *)b)->name);
}

/* The store file the catalog names for a wanted link, or NULL. */
static const char *link_target(const struct rs_sis *s, const char *name)
{
	struct rs_sis_link key = { .name = (char *)name }, *l;

	if (!s || !s->sorted || !s->nneed)
		return NULL;
	l = bsearch(&key, s->need, s->nneed, sizeof(key), link_cmp);
	return l ? l->target : NULL;
}

int rs_sis_note(struct rs_sis **sp, const char *name, const struct arc_entry *e, bool wanted)
{
	struct rs_sis *s = *sp;
	struct rs_sis_store *t;

	if (e->type == ARC_T_DIR && !strcasecmp(e->path, "/SIS Common Store") &&
	    !(e->flags & ARC_M_LOST)) {
		if (!s && !(s = *sp = calloc(1, sizeof(*s))))
			return -ENOMEM;
		free(s->dir.name);
		s->dir = (struct rs_sis_store){ .vol = e->vol, .wanted = wanted, .pos = e->pos };
		return (s->dir.name = strdup(name)) ? 0 : -ENOMEM;
	}
	if (!((e->type == ARC_T_FILE && !(e->flags & ARC_M_LOST) && in_store(e->path)) ||
	      (wanted && (e->flags & ARC_M_SIS) && e->target)))
		return 0;
	if (!s && !(s = *sp = calloc(1, sizeof(*s))))
		return -ENOMEM;
	if (e->flags & ARC_M_SIS)
		return need_add(s, name, e->target);
	if (grow((void **)&s->st, &s->cap, s->n, sizeof(*s->st)) < 0)
		return -ENOMEM;
	t = &s->st[s->n];
	*t = (struct rs_sis_store){ .vol = e->vol, .has_hash = e->has_hash, .wanted = wanted,
				    .size = e->size, .pos = e->pos };
	memcpy(t->sha, e->sha256, sizeof(t->sha));
	if (!(t->name = strdup(name)))
		return -ENOMEM;
	s->n++;
	return 0;
}

static int store_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rs_sis_store *)a)->name,
		      ((const struct rs_sis_store *)b)->name);
}

static struct rs_sis_store *store_find(const struct rs_sis *s, const char *name)
{
	struct rs_sis_store key = { .name = (char *)name };

	if (!s || !s->n || !name)
		return NULL;
	return bsearch(&key, s->st, s->n, sizeof(key), store_cmp);
}

void rs_sis_plan(struct rs_sis *s, rs_sis_pull_fn pull, void *arg)
{
	if (!s)
		return;
	if (s->n)   /* qsort's base must not be NULL, even for no elements */
		qsort(s->st, s->n, sizeof(*s->st), store_cmp);
	if (s->nneed)
		qsort(s->need, s->nneed, sizeof(*s->need), link_cmp);
	s->sorted = true;
	for (size_t i = 0; i < s->nneed; i++) {
		struct rs_sis_store *t = store_find(s, s->need[i].target);

		if (t && !t->wanted && !t->pulled) {
			/* the directory first, for its ACL, when it is not there */
			if (s->dir.name && !s->dir.wanted && !s->dir.pulled &&
			    s->dir.vol == t->vol) {
				s->dir.pulled = true;
				pull(arg, s->dir.vol, 0, &s->dir.pos);
			}
			t->pulled = true;
			pull(arg, t->vol, t->size, &t->pos);
		}
	}
}

bool rs_sis_pulled(const struct rs_sis *s, const char *name)
{
	const struct rs_sis_store *t = s && s->sorted ? store_find(s, name) : NULL;

	if (s && s->dir.pulled && !strcmp(name, s->dir.name))
		return true;
	return t && t->pulled;
}

/* The reparse tag the member carries, 0 for none. */
static uint32_t reparse_tag(struct archive_entry *ae)
{
	const char *xn;
	const void *xv;
	size_t xl;

	archive_entry_xattr_reset(ae);
	while (archive_entry_xattr_next(ae, &xn, &xv, &xl) == ARCHIVE_OK)
		if (!strcmp(xn, "system.ntfs_reparse_data") && xl >= 4)
			return le_get32(xv);
	return 0;
}

/* Is the target's file at path the store file t (size and SHA-256)? */
static bool same_file(struct fs *fs, const char *path, const struct rs_sis_store *t)
{
	struct fs_stat st;
	struct fs_file *f = NULL;
	struct hash_sha256 h;
	uint8_t sha[HASH_SHA256_LEN];
	unsigned char *buf = NULL;
	uint64_t off = 0;
	int rc;

	if (!t->has_hash || fs_lookup(fs, path, &st) < 0 || !S_ISREG(st.mode) ||
	    st.size != t->size)
		return false;
	rc = (buf = malloc(RS_BUF)) ? fs_file_open(fs, path, NULL, 0, &f) : -ENOMEM;
	hash_sha256_init(&h);
	while (rc == 0 && off < st.size) {
		size_t want = st.size - off < RS_BUF ? (size_t)(st.size - off) : RS_BUF;
		ssize_t n = fs_file_pread(f, buf, want, off);

		if (n <= 0)
			rc = -EIO;
		else
			hash_sha256_update(&h, buf, (size_t)n);
		off += n > 0 ? (uint64_t)n : 0;
	}
	if (f)
		fs_file_close(f);
	free(buf);
	if (rc < 0)
		return false;
	hash_sha256_final(&h, sha);
	return !memcmp(sha, t->sha, sizeof(sha));
}

int rs_sis_apply(struct rs_sis *s, struct fs *fs, const char *name, const char *path,
		 struct archive_entry *ae, struct rs_restore_result *res,
		 rs_report_fn report, void *arg)
{
	const struct rs_sis_store *t;
	char why[1024];
	const char *cs = link_target(s, name);

	if (!(fs_caps(fs) & FS_CAP_NTFS) && reparse_tag(ae) == SIS_TAG) {
		res->not_kept++;
		snprintf(why, sizeof(why), "%s: not restored: a single-instance-store link, "
			 "which this volume cannot hold, and its content cannot be made from "
			 "its common-store file (%s) because how a link maps onto it is not "
			 "published", name, cs ? cs : "not found at backup");
		if (report)
			report(arg, name, why);
		return 1;
	}
	if (!(t = s && s->sorted ? store_find(s, name) : NULL) || !same_file(fs, path, t))
		return 0;
	res->sis_kept++;
	return 1;
}

void rs_sis_free(struct rs_sis *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->st[i].name);
	for (size_t i = 0; i < s->nneed; i++) {
		free(s->need[i].name);
		free(s->need[i].target);
	}
	free(s->st);
	free(s->need);
	free(s->dir.name);
	free(s);
}

/* ---- verify ----------------------------------------------------------------- */

int rs_sis_verify_note(struct rs_sis **sp, const struct rs_set *set, const struct arc_entry *e)
{
	char name[RS_PATH_MAX + 32];

	if (e->flags & ARC_M_LOST || !((e->flags & ARC_M_SIS) || in_store(e->path)))
		return 0;
	rs_member_name(set, e, name, sizeof(name));
	if (!(e->flags & ARC_M_SIS) || e->type != ARC_T_FILE)
		return rs_sis_note(sp, name, e, true);
	if (!*sp && !(*sp = calloc(1, sizeof(**sp))))
		return -ENOMEM;
	return need_add(*sp, name, e->target ? e->target : "");
}

uint64_t rs_sis_verify_end(struct rs_sis *s, void (*cb)(void *arg, const char *link,
							 const char *why), void *arg)
{
	char why[1024];
	uint64_t bad = 0;

	if (!s)
		return 0;
	if (s->n)
		qsort(s->st, s->n, sizeof(*s->st), store_cmp);
	s->sorted = true;
	for (size_t i = 0; i < s->nneed; i++) {
		const struct rs_sis_link *l = &s->need[i];

		if (l->target[0] && store_find(s, l->target))
			continue;
		if (l->target[0])
			snprintf(why, sizeof(why), "a single-instance-store link whose "
				 "common-store file %s is not in the set", l->target);
		else
			snprintf(why, sizeof(why), "a single-instance-store link whose "
				 "common-store file was not found at backup: it is not in the set");
		cb(arg, l->name, why);
		bad++;
	}
	return bad;
}
