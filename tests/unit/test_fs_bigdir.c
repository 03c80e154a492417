/* test_fs_bigdir.c - the ext backend's big-directory code (fs_ext_dir.c:
 * the name cache with each name's block and each block's free room for
 * linear directories, leaves found through the index for htree ones), driven
 * through fs.h in one open session so that the cache lives across the
 * operations, then checked with tools we did not write: e2fsck -fn clean and
 * the live names of each directory (debugfs ls -p) equal to a model kept
 * here.  Every case runs on a linear directory (as libext2fs makes them), an
 * indexed one (e2fsck -fyD, as the kernel makes them) and on a volume
 * without dir_index.  No timing is checked here: tests/bench/ does that.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fs.h"
#include "harness.h"

#define NFILES 3000      /* about 20 blocks of names: several htree leaves */
#define MAXN (NFILES * 3)

/* The model: one directory's live names, and the inode each one must have
 * (0 = any: made in this session). */
struct model {
	char *name[MAXN];
	uint64_t ino[MAXN];
	size_t n;
};

static struct model md1, md2;

static long find(const struct model *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->name[i], name))
			return (long)i;
	return -1;
}

static void m_add(struct model *m, const char *name, uint64_t ino)
{
	assert_true(find(m, name) < 0);
	assert_true(m->n < MAXN);
	m->name[m->n] = strdup(name);
	m->ino[m->n++] = ino;
}

static void m_del(struct model *m, const char *name)
{
	long i = find(m, name);

	assert_true(i >= 0);
	free(m->name[i]);
	m->name[i] = m->name[--m->n];
	m->ino[i] = m->ino[m->n];
}

static void m_free(struct model *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->name[i]);
	m->n = 0;
}

#define OK(fs, call) do { int rc_ = (call); \
	if (rc_ < 0) fprintf(stderr, "# %s: %s\n", #call, fs_errmsg(fs)); \
	assert_true(rc_ >= 0); } while (0)

static struct fs *open_rw(const char *img)
{
	struct err err = { 0 };
	struct fs *fs = NULL;
	int rc = fs_open(img, FS_O_RDWR, &fs, &err);

	if (rc)
		fprintf(stderr, "# fs_open: %s\n", err.msg);
	assert_int_equal(rc, 0);
	return fs;
}

static uint64_t ino_of(struct fs *fs, const char *path)
{
	struct fs_stat st;

	OK(fs, fs_lookup(fs, path, &st));
	return st.ino;
}

static void absent(struct fs *fs, const char *path)
{
	struct fs_stat st;

	assert_int_equal(fs_lookup(fs, path, &st), -ENOENT);
}

static uint64_t dir_size(struct fs *fs, const char *path)
{
	struct fs_stat st;

	OK(fs, fs_lookup(fs, path, &st));
	return st.size;
}

/* Every model name must be found with its inode (through the cache). */
static void lookups(struct fs *fs, const char *dir, const struct model *m)
{
	char p[300];

	for (size_t i = 0; i < m->n; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, m->name[i]);
		if (m->ino[i])
			assert_int_equal(ino_of(fs, p), m->ino[i]);
		else
			(void)ino_of(fs, p);
	}
}

static void create(struct fs *fs, const char *dir, struct model *m,
		   const char *name)
{
	char p[300];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	OK(fs, fs_create(fs, p, 0100644));
	m_add(m, name, ino_of(fs, p));
}

/* An image with /d1 holding NFILES files and an empty /d2, made through fs.h
 * (the directory grows block by block); kind: "linear", "htree" (e2fsck
 * -fyD indexes it) or "nodx" (mke2fs -O ^dir_index). */
static const char *mkimg(const char *kind)
{
	static char img[4096];
	char name[32];
	struct fs *fs;

	snprintf(img, sizeof(img), "%s", th_path(kind));
	th_must("rm -f %s && mke2fs -q -F -t ext4 -N 20000 %s %s 64M >/dev/null", img,
		!strcmp(kind, "nodx") ? "-O ^dir_index" : "", img);
	fs = open_rw(img);
	OK(fs, fs_mkdir(fs, "/d1", 0755));
	OK(fs, fs_mkdir(fs, "/d2", 0755));
	m_free(&md1);
	m_free(&md2);
	for (int i = 0; i < NFILES; i++) {
		snprintf(name, sizeof(name), "file-%d", i);
		create(fs, "/d1", &md1, name);
	}
	OK(fs, fs_close(fs));
	th_must("e2fsck -fn %s >/dev/null 2>&1", img);
	if (!strcmp(kind, "htree")) {
		th_must("e2fsck -fyD %s >/dev/null 2>&1; [ $? -le 1 ]", img);
		th_must("debugfs -R 'htree /d1' %s 2>/dev/null | grep -q 'Indirect levels'",
			img);
		/* e2fsck -D may have packed the names anew, never renumbered */
	} else {
		th_must("! debugfs -R 'htree /d1' %s 2>/dev/null | grep -q 'Indirect levels'",
			img);
	}
	return img;
}

/* After fs_close: e2fsck -fn clean, and the live names of dir exactly the
 * model's (debugfs ls -p lists "/ino/mode/uid/gid/name/size/"). */
static void verify(const char *img, const char *dir, const struct model *m)
{
	const char *want = th_path("want");
	FILE *f = fopen(want, "w");

	assert_non_null(f);
	for (size_t i = 0; i < m->n; i++)
		fprintf(f, "%s\n", m->name[i]);
	assert_int_equal(fclose(f), 0);
	th_must("e2fsck -fn %s >/dev/null 2>&1 || { e2fsck -fn %s 2>&1 | head -20 >&2;"
		" exit 1; }", img, img);
	th_must("sort -o %s/want %s/want && debugfs -R 'ls -p %s' %s 2>/dev/null |"
		" awk -F/ 'NF >= 7 && $2 != 0 && $6 != \".\" && $6 != \"..\" { print $6 }' |"
		" sort >%s/got && cmp %s/want %s/got", th_tmpdir(), th_tmpdir(), dir, img,
		th_tmpdir(), th_tmpdir(), th_tmpdir());
}

static void mv(struct fs *fs, struct model *fm, const char *fdir, const char *from,
	       struct model *tm, const char *tdir, const char *to)
{
	char a[300], b[300];
	long i = find(fm, from);
	uint64_t ino;

	assert_true(i >= 0);
	ino = fm->ino[i];
	snprintf(a, sizeof(a), "%s/%s", fdir, from);
	snprintf(b, sizeof(b), "%s/%s", tdir, to);
	OK(fs, fs_rename(fs, a, b, 0));
	m_del(fm, from);
	if (find(tm, to) >= 0)
		m_del(tm, to);   /* replaced */
	m_add(tm, to, ino);
	absent(fs, a);
	if (ino)
		assert_int_equal(ino_of(fs, b), ino);
}

static void rm(struct fs *fs, struct model *m, const char *dir, const char *name)
{
	char p[300];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	OK(fs, fs_unlink(fs, p));
	m_del(m, name);
	absent(fs, p);
}

/* Renames within a directory (to new names, over existing ones, and a swap
 * through a third name), then lookups of old and new names. */
static void renames_within(const char *kind)
{
	const char *img = mkimg(kind);
	struct fs *fs = open_rw(img);
	char a[32], b[32];

	lookups(fs, "/d1", &md1);
	for (int i = 0; i < NFILES; i += 3) {      /* to a new name */
		snprintf(a, sizeof(a), "file-%d", i);
		snprintf(b, sizeof(b), "renamed-%d", i);
		mv(fs, &md1, "/d1", a, &md1, "/d1", b);
	}
	for (int i = 1; i < NFILES; i += 30) {     /* over an existing name */
		snprintf(a, sizeof(a), "file-%d", i);
		snprintf(b, sizeof(b), "file-%d", i + 1);
		mv(fs, &md1, "/d1", a, &md1, "/d1", b);
	}
	for (int i = 4; i + 1 < NFILES; i += 30) { /* swap two names */
		snprintf(a, sizeof(a), "file-%d", i);
		snprintf(b, sizeof(b), "file-%d", i + 1);
		mv(fs, &md1, "/d1", a, &md1, "/d1", "swap.tmp");
		mv(fs, &md1, "/d1", b, &md1, "/d1", a);
		mv(fs, &md1, "/d1", "swap.tmp", &md1, "/d1", b);
	}
	lookups(fs, "/d1", &md1);
	absent(fs, "/d1/file-0");
	absent(fs, "/d1/swap.tmp");
	OK(fs, fs_close(fs));
	verify(img, "/d1", &md1);
}

/* Renames between two big directories, both ways. */
static void renames_across(const char *kind)
{
	const char *img = mkimg(kind);
	struct fs *fs = open_rw(img);
	char a[32];

	for (int i = 0; i < NFILES; i += 2) {
		snprintf(a, sizeof(a), "file-%d", i);
		mv(fs, &md1, "/d1", a, &md2, "/d2", a);
	}
	for (int i = 0; i < NFILES; i += 8) {      /* some back, under new names */
		snprintf(a, sizeof(a), "file-%d", i);
		char b[32];

		snprintf(b, sizeof(b), "back-%d", i);
		mv(fs, &md2, "/d2", a, &md1, "/d1", b);
	}
	lookups(fs, "/d1", &md1);
	lookups(fs, "/d2", &md2);
	absent(fs, "/d1/file-0");
	absent(fs, "/d2/file-0");
	OK(fs, fs_close(fs));
	verify(img, "/d1", &md1);
	verify(img, "/d2", &md2);
}

/* Unlinks, then the same names made again (new inodes), then lookups. */
static void unlink_recreate(const char *kind)
{
	const char *img = mkimg(kind);
	struct fs *fs = open_rw(img);
	char a[32];

	for (int i = 0; i < NFILES; i += 2) {
		snprintf(a, sizeof(a), "file-%d", i);
		rm(fs, &md1, "/d1", a);
	}
	for (int i = 0; i < NFILES; i += 4) {
		snprintf(a, sizeof(a), "file-%d", i);
		create(fs, "/d1", &md1, a);
	}
	lookups(fs, "/d1", &md1);
	absent(fs, "/d1/file-2");
	OK(fs, fs_close(fs));
	verify(img, "/d1", &md1);
}

/* A directory that grows by new blocks while cached, then removals whose
 * room is taken again by shorter new names: the directory does not grow
 * for them (linear: the cache's free room; htree: the leaves). */
static void grow_and_reuse(const char *kind)
{
	const char *img = mkimg(kind);
	struct fs *fs = open_rw(img);
	uint64_t size0 = dir_size(fs, "/d1"), size1;
	char a[32];

	for (int i = 0; i < NFILES; i++) {
		snprintf(a, sizeof(a), "more-%d", i);
		create(fs, "/d1", &md1, a);
	}
	size1 = dir_size(fs, "/d1");
	assert_true(size1 > size0);
	lookups(fs, "/d1", &md1);
	for (int i = 0; i < NFILES; i += 2) {
		snprintf(a, sizeof(a), "more-%d", i);
		rm(fs, &md1, "/d1", a);
	}
	for (int i = 0; i < NFILES; i += 2) {
		snprintf(a, sizeof(a), "m-%d", i);   /* shorter: fits any hole */
		create(fs, "/d1", &md1, a);
	}
	if (strcmp(kind, "htree"))   /* htree: a leaf may split instead */
		assert_int_equal(dir_size(fs, "/d1"), size1);
	lookups(fs, "/d1", &md1);
	OK(fs, fs_close(fs));
	verify(img, "/d1", &md1);
}

/* Moves whose target name hashes into another htree leaf than the source,
 * and enough new names to split leaves: names the cache read before a split
 * now live in another block, and must still be found, renamed and removed
 * (e2fsck checks that every name sits in the leaf its hash says). */
static void other_leaf(const char *kind)
{
	const char *img = mkimg(kind);
	struct fs *fs = open_rw(img);
	char a[32], b[32];

	for (int i = 0; i < NFILES; i++) {        /* splits */
		snprintf(a, sizeof(a), "split-%d", i);
		create(fs, "/d1", &md1, a);
	}
	for (int i = 0; i < NFILES; i += 3) {     /* names read before the splits */
		snprintf(a, sizeof(a), "file-%d", i);
		snprintf(b, sizeof(b), "z%d-elsewhere", i * 7919 % NFILES);
		mv(fs, &md1, "/d1", a, &md1, "/d1", b);
	}
	for (int i = 1; i < NFILES; i += 3) {
		snprintf(a, sizeof(a), "file-%d", i);
		rm(fs, &md1, "/d1", a);
	}
	lookups(fs, "/d1", &md1);
	OK(fs, fs_close(fs));
	verify(img, "/d1", &md1);
	if (!strcmp(kind, "htree"))
		th_must("debugfs -R 'htree /d1' %s 2>/dev/null | grep -q 'Indirect levels'",
			img);
}

#define KINDS(fn) \
	static void fn##_linear(void **s) { (void)s; fn("linear"); } \
	static void fn##_htree(void **s) { (void)s; fn("htree"); } \
	static void fn##_nodx(void **s) { (void)s; fn("nodx"); }
KINDS(renames_within)
KINDS(renames_across)
KINDS(unlink_recreate)
KINDS(grow_and_reuse)
KINDS(other_leaf)
#define T3(fn) cmocka_unit_test(fn##_linear), cmocka_unit_test(fn##_htree), \
	cmocka_unit_test(fn##_nodx)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T3(renames_within),
		T3(renames_across),
		T3(unlink_recreate),
		T3(grow_and_reuse),
		T3(other_leaf),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	m_free(&md1);
	m_free(&md2);
	return rc;
}
