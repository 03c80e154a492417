/* test_fs_copy.c - fs_copy_tree between volumes: ext -> ext and NTFS -> NTFS
 * keep everything both can hold (compared object by object through a second
 * open of each image, and e2fsck -fn / ntfsfix -n on the results), errors
 * stop or are reported per item (keep_going), and a report callback can
 * cancel.  Images are made by mke2fs -d and mkntfs; needs no mounts.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fs.h"
#include "harness.h"
#include "stop.h"

static struct fs *open_vol(const char *path, unsigned flags)
{
	struct err err = { 0 };
	struct fs *fs = NULL;

	if (fs_open(path, flags, &fs, &err) < 0)
		fail_msg("open %s: %s", path, err.msg);
	return fs;
}

/* ---- comparing two volumes through the API ----------------------------------- */

struct cmp {
	struct fs *a, *b;
	bool ntfs;
	int objects;
};

static void same_data(struct fs *a, struct fs *b, const char *path,
		      const char *stream, uint64_t size)
{
	static char x[65536], y[65536];
	struct fs_file *fa, *fb;

	assert_int_equal(fs_file_open(a, path, stream, 0, &fa), 0);
	assert_int_equal(fs_file_open(b, path, stream, 0, &fb), 0);
	for (uint64_t off = 0; off < size; off += sizeof(x)) {
		ssize_t n = fs_file_pread(fa, x, sizeof(x), off);

		assert_true(n > 0);
		assert_int_equal(fs_file_pread(fb, y, sizeof(y), off), n);
		if (memcmp(x, y, (size_t)n))
			fail_msg("%s%s%s: data differs at %llu", path, stream ? ":" : "",
				 stream ? stream : "", (unsigned long long)off);
	}
	fs_file_close(fa);
	fs_file_close(fb);
}

struct xl {
	struct cmp *c;
	const char *path;
};

static int same_xattr(void *arg, const char *name)
{
	struct xl *x = arg;
	static unsigned char va[65536], vb[65536];
	ssize_t na = fs_xattr_get(x->c->a, x->path, name, va, sizeof(va));
	ssize_t nb = fs_xattr_get(x->c->b, x->path, name, vb, sizeof(vb));

	if (!strcmp(name, "system.data"))
		return 0;
	if (na != nb || na < 0 || memcmp(va, vb, (size_t)na))
		fail_msg("%s: xattr %s differs (%zd / %zd)", x->path, name, na, nb);
	return 0;
}

static int same_stream(void *arg, const char *name, uint64_t size)
{
	struct xl *x = arg;

	same_data(x->c->a, x->c->b, x->path, name, size);
	return 0;
}

static int same_obj(void *arg, const char *path, const struct fs_stat *sa)
{
	struct cmp *c = arg;
	struct xl x = { c, path };
	struct fs_stat sb;

	if (!strcmp(path, "/lost+found"))
		return 0;
	c->objects++;
	if (fs_lookup(c->b, path, &sb) < 0)
		fail_msg("%s missing: %s", path, fs_errmsg(c->b));
	assert_int_equal(sa->mode, sb.mode);
	assert_int_equal(sa->uid, sb.uid);
	assert_int_equal(sa->gid, sb.gid);
	assert_int_equal(sa->nlink, sb.nlink);
	if (!S_ISDIR(sa->mode))
		assert_int_equal(sa->size, sb.size);
	if (S_ISREG(sa->mode))
		assert_int_equal(sa->alloc, sb.alloc);   /* holes kept */
	assert_int_equal(sa->mtime.tv_sec, sb.mtime.tv_sec);
	assert_int_equal(sa->mtime.tv_nsec, sb.mtime.tv_nsec);
	if (strcmp(path, "/")) {   /* the root's btime is mkfs's */
		assert_int_equal(sa->btime.tv_sec, sb.btime.tv_sec);
		assert_int_equal(sa->btime.tv_nsec, sb.btime.tv_nsec);
	}
	assert_int_equal(sa->rdev_major, sb.rdev_major);
	assert_int_equal(sa->rdev_minor, sb.rdev_minor);
	assert_int_equal(sa->attrib, sb.attrib);
	if (S_ISREG(sa->mode))
		same_data(c->a, c->b, path, NULL, sa->size);
	if (S_ISLNK(sa->mode)) {
		char ta[4096], tb[4096];
		ssize_t na = fs_readlink(c->a, path, ta, sizeof(ta));

		assert_int_equal(fs_readlink(c->b, path, tb, sizeof(tb)), na);
		assert_memory_equal(ta, tb, (size_t)na);
	}
	assert_int_equal(fs_xattr_list(c->a, path, same_xattr, &x), 0);
	if (c->ntfs) {
		char sa_[64], sb_[64];
		ssize_t na = fs_shortname_get(c->a, path, sa_, sizeof(sa_));

		assert_int_equal(fs_shortname_get(c->b, path, sb_, sizeof(sb_)), na);
		assert_memory_equal(sa_, sb_, (size_t)na);
		assert_int_equal(fs_stream_list(c->a, path, same_stream, &x), 0);
	}
	return 0;
}

static int same_tree(const char *a, const char *b, bool ntfs)
{
	struct cmp c = { open_vol(a, 0), open_vol(b, 0), ntfs, 0 };

	assert_int_equal(fs_walk(c.a, "/", same_obj, &c), 0);
	fs_close(c.a);
	fs_close(c.b);
	return c.objects;
}

static int copy(const char *a, const char *b, const struct fs_copy_opts *o,
		struct fs_copy_stats *st, const char *dst_path, char *msg)
{
	struct fs *src = open_vol(a, 0), *dst = open_vol(b, FS_O_RDWR);
	int rc = fs_copy_tree(src, "/", dst, dst_path, o, st);

	if (msg)
		snprintf(msg, 512, "%s", fs_errmsg(dst));
	fs_close(src);
	assert_int_equal(fs_close(dst), 0);
	return rc;
}

/* ---- ext -> ext ------------------------------------------------------------------ */

static void make_src_tree(const char *d)
{
	assert_int_equal(th_sh("set -e; mkdir -p %s/a/b/c %s/e; cd %s; echo hi > f;"
			    " truncate -s 5M sp; dd if=/dev/urandom of=sp bs=4k count=2 seek=300"
			    " conv=notrunc status=none; ln f a/b/h; ln -s ../f a/l; mkfifo p;"
			    " mknod c c 4 5; setfattr -n user.k -v v f; setfacl -m u:7:r f;"
			    " setfacl -d -m u:8:rx a; chown 3:4 f; chmod 4711 a/b;"
			    " find . -depth -exec touch -h -d '2003-04-05 06:07:08.987654321' {} +",
			    d, d, d), 0);
}

static void test_ext_to_ext(void **state)
{
	char src[300], dst[300], msg[512];
	struct fs_copy_stats st;

	(void)state;
	snprintf(src, sizeof(src), "%s/src.img", th_tmpdir());
	snprintf(dst, sizeof(dst), "%s/dst.img", th_tmpdir());
	make_src_tree(th_tmpdir());
	assert_int_equal(th_sh("mkdir -p %s/t && mv %s/a %s/e %s/f %s/sp %s/p %s/c %s/t/ &&"
			    " mke2fs -q -F -t ext4 -I 256 -d %s/t %s 64M && mke2fs -q -F -t ext4"
			    " -I 256 %s 64M", th_tmpdir(), th_tmpdir(), th_tmpdir(), th_tmpdir(), th_tmpdir(), th_tmpdir(), th_tmpdir(), th_tmpdir(), th_tmpdir(), src,
			    dst), 0);
	assert_int_equal(copy(src, dst, NULL, &st, "/", msg), 0);
	assert_int_equal(st.files, 2);    /* f (2 names), sp */
	assert_int_equal(st.links, 1);
	assert_int_equal(st.specials, 2);
	assert_int_equal(st.symlinks, 1);
	assert_int_equal(st.dirs, 4);     /* a a/b a/b/c e (lost+found reused) */
	assert_int_equal(st.failed + st.skipped + st.no_meta + st.no_owner, 0);
	assert_int_equal(same_tree(src, dst, false), 11);
	assert_int_equal(th_sh("e2fsck -fn %s >/dev/null 2>&1", dst), 0);

	/* again: every name exists -> the first stops the copy, with a message */
	assert_int_equal(copy(src, dst, NULL, &st, "/", msg), -EEXIST);
	assert_non_null(strstr(msg, "exists"));
	assert_int_equal(st.failed, 1);
	assert_int_equal(th_sh("e2fsck -fn %s >/dev/null 2>&1", dst), 0);
}

static int count_reports(void *arg, const char *path, int err, const char *why)
{
	int *n = arg;

	(void)path, (void)why;
	if (err < 0)
		n[0]++;
	else
		n[1]++;
	return n[2] && n[0] >= n[2];
}

static void test_keep_going_and_cancel(void **state)
{
	char src[300], dst[300], msg[512];
	struct fs_copy_stats st;
	int n[3] = { 0 };
	struct fs_copy_opts o = { .keep_going = true, .report = count_reports, .arg = n };

	(void)state;
	snprintf(src, sizeof(src), "%s/src.img", th_tmpdir());
	snprintf(dst, sizeof(dst), "%s/dst.img", th_tmpdir());
	/* dst already holds everything: each top-level item fails, subtrees too */
	assert_int_equal(copy(src, dst, &o, &st, "/", msg), 0);
	assert_int_equal(n[0], 6);        /* a c e f p sp */
	assert_int_equal(st.failed, 10);  /* and a/b a/b/c a/b/h a/l */
	/* the callback stops it at the second failure */
	n[0] = n[1] = 0;
	n[2] = 2;
	assert_int_equal(copy(src, dst, &o, &st, "/", msg), -ECANCELED);
	assert_int_equal(n[0], 2);
	/* into a file: refused */
	assert_int_equal(copy(src, dst, NULL, &st, "/f", msg), -ENOTDIR);
	assert_non_null(strstr(msg, "not a directory"));
	/* into a subdirectory: fine */
	assert_int_equal(copy(src, dst, NULL, &st, "/e", msg), 0);
	assert_int_equal(st.files, 2);
	assert_int_equal(th_sh("e2fsck -fn %s >/dev/null 2>&1", dst), 0);
}

/* A SIGINT stops the copy at the next object: -EINTR, a message that says
 * where, no temporary name, e2fsck clean after the close; a second signal
 * would have the default action (SA_RESETHAND). */
static int count_objects(void *arg, const char *path, const struct fs_stat *st)
{
	(void)path, (void)st;
	++*(int *)arg;
	return 0;
}

static void test_stop(void **state)
{
	char src[300], dst[300], msg[512];
	struct fs_copy_stats st;
	struct sigaction sa;
	struct fs *v;
	int n = 0;

	(void)state;
	snprintf(src, sizeof(src), "%s/src.img", th_tmpdir());
	snprintf(dst, sizeof(dst), "%s/stop.img", th_tmpdir());
	assert_int_equal(th_sh("mke2fs -q -F -t ext4 %s 8M", dst), 0);
	/* started as a background job of a non-interactive shell, this test
	 * inherits SIGINT ignored, and stop_install keeps it so (as it must
	 * for the tool): catch it here */
	assert_true(signal(SIGINT, SIG_DFL) != SIG_ERR);
	assert_int_equal(stop_install(), 0);
	assert_int_equal(raise(SIGINT), 0);
	assert_true(stop_requested());
	assert_int_equal(stop_signal(), SIGINT);
	assert_int_equal(sigaction(SIGINT, NULL, &sa), 0);
	assert_true(sa.sa_handler == SIG_DFL);  /* the next one kills */
	assert_int_equal(copy(src, dst, NULL, &st, "/", msg), -EINTR);
	assert_non_null(strstr(msg, "interrupted by SIGINT after 0 objects"));
	assert_non_null(strstr(msg, "before '/"));
	stop_reset();
	stop_uninstall();
	assert_false(stop_requested());
	assert_int_equal(th_sh("e2fsck -fn %s >/dev/null 2>&1", dst), 0);
	v = open_vol(dst, 0);
	assert_int_equal(fs_walk(v, "/", count_objects, &n), 0);
	fs_close(v);
	assert_int_equal(n, 2);  /* / and lost+found: nothing was copied */
	/* and with no signal the same copy leaves no temporary name */
	assert_int_equal(copy(src, dst, NULL, &st, "/", msg), 0);
	{
		static char out[16384];

		assert_int_equal(th_sh_out(out, sizeof(out), "for d in / /a /a/b /e; do"
					   " debugfs -R \"ls -p $d\" %s; done 2>/dev/null",
					   dst), 0);
		assert_non_null(strstr(out, "/f/"));
		assert_null(strstr(out, "sysrecover-tmp"));
	}
}

/* ---- NTFS -> NTFS ---------------------------------------------------------------- */

static void test_ntfs_to_ntfs(void **state)
{
	char src[300], dst[300], msg[512];
	struct fs_copy_stats st;
	struct fs_file *f;
	struct fs *fs;
	static const uint8_t oid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	uint32_t attr = 0x21;   /* READONLY | ARCHIVE */
	struct fs_times t = { .mask = FS_T_MTIME | FS_T_BTIME | FS_T_ATIME,
			      .mtime = { 1000000000, 1234500 }, .btime = { 900000000, 0 },
			      .atime = { 1100000000, 0 } };

	(void)state;
	snprintf(src, sizeof(src), "%s/src.ntfs", th_tmpdir());
	snprintf(dst, sizeof(dst), "%s/dst.ntfs", th_tmpdir());
	assert_int_equal(th_sh("truncate -s 32M %s %s && mkntfs -Q -F -q %s >/dev/null &&"
			    " mkntfs -Q -F -q %s >/dev/null", src, dst, src, dst), 0);
	fs = open_vol(src, FS_O_RDWR);
	assert_int_equal(fs_mkdir(fs, "/Program Files", 0755), 0);
	assert_int_equal(fs_shortname_set(fs, "/Program Files", "PROGRA~1"), 0);
	assert_int_equal(fs_create(fs, "/Program Files/long file name.txt", 0644), 0);
	assert_int_equal(fs_shortname_set(fs, "/Program Files/long file name.txt", "LONGFI~1.TXT"), 0);
	assert_int_equal(fs_file_open(fs, "/Program Files/long file name.txt", NULL, FS_F_WRITE, &f), 0);
	assert_int_equal(fs_file_pwrite(f, "data", 4, 0), 4);
	assert_int_equal(fs_file_pwrite(f, "tail", 4, 3 << 20), 4);   /* a hole */
	fs_file_close(f);
	assert_int_equal(fs_file_open(fs, "/Program Files/long file name.txt", "Zone.Identifier",
				      FS_F_WRITE | FS_F_CREATE, &f), 0);
	assert_int_equal(fs_file_pwrite(f, "[ZoneTransfer]", 14, 0), 14);
	fs_file_close(f);
	assert_int_equal(fs_file_open(fs, "/Program Files", "dirstream", FS_F_WRITE | FS_F_CREATE, &f), 0);
	fs_file_close(f);
	assert_int_equal(fs_xattr_set(fs, "/Program Files/long file name.txt",
				      "system.ntfs_object_id", oid, sizeof(oid)), 0);
	assert_int_equal(fs_xattr_set(fs, "/Program Files/long file name.txt",
				      "system.ntfs_attrib", &attr, 4), 0);
	/* a file with a DOS name cannot have a second link (NTFS): another one */
	assert_int_equal(fs_create(fs, "/first", 0644), 0);
	assert_int_equal(fs_file_open(fs, "/first", "Zone.Identifier", FS_F_WRITE | FS_F_CREATE, &f), 0);
	assert_int_equal(fs_file_pwrite(f, "[ZoneTransfer]", 14, 0), 14);
	fs_file_close(f);
	assert_int_equal(fs_link(fs, "/first", "/second"), 0);
	assert_int_equal(fs_set_times(fs, "/Program Files/long file name.txt", &t), 0);
	assert_int_equal(fs_set_times(fs, "/Program Files", &t), 0);
	assert_int_equal(fs_close(fs), 0);

	assert_int_equal(copy(src, dst, NULL, &st, "/", msg), 0);
	assert_int_equal(st.files, 2);
	assert_int_equal(st.links, 1);
	assert_int_equal(st.streams, 3);
	assert_int_equal(st.failed + st.skipped + st.no_meta + st.no_owner, 0);
	assert_int_equal(same_tree(src, dst, true), 5);
	assert_int_equal(th_sh("ntfsfix -n %s >/dev/null 2>&1", dst), 0);
}

/* NTFS -> ext: streams become user.* xattrs, NTFS metadata is counted. */
static void test_ntfs_to_ext(void **state)
{
	char src[300], dst[300], msg[512];
	struct fs_copy_stats st;
	struct fs *fs;
	char v[64];

	(void)state;
	snprintf(src, sizeof(src), "%s/src.ntfs", th_tmpdir());
	snprintf(dst, sizeof(dst), "%s/x.img", th_tmpdir());
	assert_int_equal(th_sh("mke2fs -q -F -t ext4 %s 64M", dst), 0);
	assert_int_equal(copy(src, dst, NULL, &st, "/", msg), 0);
	assert_int_equal(st.files, 2);
	assert_int_equal(st.links, 1);
	assert_true(st.no_meta > 0);   /* acl, attrib, object id, short names */
	fs = open_vol(dst, 0);
	assert_int_equal(fs_xattr_get(fs, "/second", "user.Zone.Identifier", v, sizeof(v)), 14);
	assert_memory_equal(v, "[ZoneTransfer]", 14);
	fs_close(fs);
	assert_int_equal(th_sh("e2fsck -fn %s >/dev/null 2>&1", dst), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ext_to_ext),
		cmocka_unit_test(test_keep_going_and_cancel),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_ntfs_to_ntfs),
		cmocka_unit_test(test_ntfs_to_ext),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
