/* test_fs_ntfs.c - the NTFS backend through fs.h, on images made by mkntfs.
 *
 * Without arguments: cmocka tests.  With arguments it is the helper that
 * tests/integration/fs_ntfs.sh drives (results are then checked there with
 * ntfs-3g's mount, ntfsls, ntfscat, ntfsinfo and getfattr):
 *   test_fs_ntfs run IMG < VERBS      apply verbs, one per line (see run_verb)
 *   test_fs_ntfs copy SRC DST         NTFS -> NTFS copy of everything
 *   test_fs_ntfs scale IMG NFILES NDIRS
 *   test_fs_ntfs dirty IMG            set VOLUME_IS_DIRTY with libntfs-3g
 *   test_fs_ntfs open-rw IMG          try a read-write open, print the error
 *   test_fs_ntfs state IMG            print fs_state
 */
#define HAVE_STDINT_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_ENDIAN_H 1
#define HAVE_BYTESWAP_H 1
#define HAVE_SETXATTR 1
#define HAVE_CLOCK_GETTIME 1
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <ntfs-3g/types.h>
#include <ntfs-3g/layout.h>
#include <ntfs-3g/volume.h>

#include "fs.h"
#include "fs_impl.h"
#include "harness.h"

/* A fresh NTFS image of `mb` MiB in the temp dir. */
static const char *mkimg(const char *name, int mb)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", th_tmpdir(), name);
	th_must("rm -f '%s' && truncate -s %dM '%s' && mkntfs -q -F -Q '%s' >/dev/null 2>&1",
	   path, mb, path, path);
	return path;
}

static struct fs *open_rw(const char *img)
{
	struct err err = { 0 };
	struct fs *fs = NULL;
	int rc = fs_open(img, FS_O_RDWR, &fs, &err);

	if (rc < 0)
		fail_msg("fs_open %s: %s", img, err.msg);
	return fs;
}

static void put(struct fs *fs, const char *path, const void *buf, size_t len,
		uint64_t off)
{
	struct fs_file *f;

	assert_int_equal(fs_file_open(fs, path, NULL, FS_F_WRITE, &f), 0);
	assert_int_equal(fs_file_pwrite(f, buf, len, off), (ssize_t)len);
	assert_int_equal(fs_file_close(f), 0);
}

static void test_names(void **state)
{
	const char *img = mkimg("names.img", 32);
	struct fs *fs = open_rw(img);
	struct fs_stat st;
	char buf[64];
	struct fs_file *f;

	(void)state;
	assert_int_equal(fs_kind(fs), FS_KIND_NTFS);
	assert_int_equal(fs_mkdir(fs, "/Dir", 0755), 0);
	assert_int_equal(fs_create(fs, "/Dir/a file.txt", 0644), 0);
	assert_int_equal(fs_create(fs, "/Dir/a file.txt", 0644), -EEXIST);
	put(fs, "/Dir/a file.txt", "hello", 5, 0);
	assert_int_equal(fs_lookup(fs, "/Dir/a file.txt", &st), 0);
	assert_true(S_ISREG(st.mode));
	assert_int_equal(st.size, 5);
	assert_int_equal(st.nlink, 1);
	assert_int_equal(fs_link(fs, "/Dir/a file.txt", "/hard"), 0);
	assert_int_equal(fs_lookup(fs, "/hard", &st), 0);
	assert_int_equal(st.nlink, 2);
	assert_int_equal(fs_file_open(fs, "/hard", NULL, 0, &f), 0);
	assert_int_equal(fs_file_pread(f, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(fs_file_close(f), 0);
	assert_int_equal(fs_rmdir(fs, "/Dir"), -ENOTEMPTY);
	assert_int_equal(fs_unlink(fs, "/Dir"), -EISDIR);
	assert_int_equal(fs_unlink(fs, "/$MFT"), -EPERM);
	assert_non_null(strstr(fs_errmsg(fs), "system file"));
	assert_int_equal(fs_symlink(fs, "/lnk", "Dir/a file.txt"), 0);
	assert_int_equal(fs_lookup(fs, "/lnk", &st), 0);
	assert_true(S_ISLNK(st.mode));
	assert_int_equal(fs_readlink(fs, "/lnk", buf, sizeof(buf)), 14);
	assert_string_equal(buf, "Dir/a file.txt");
	assert_int_equal(fs_mknod(fs, "/fifo", S_IFIFO | 0644, 0, 0), 0);
	assert_int_equal(fs_mknod(fs, "/null", S_IFCHR | 0644, 1, 3), 0);
	assert_int_equal(fs_lookup(fs, "/fifo", &st), 0);
	assert_true(S_ISFIFO(st.mode));
	assert_int_equal(fs_lookup(fs, "/null", &st), 0);
	assert_true(S_ISCHR(st.mode));
	assert_int_equal(st.rdev_major, 1);
	assert_int_equal(st.rdev_minor, 3);
	assert_int_equal(fs_set_mode(fs, "/hard", 0600), -EOPNOTSUPP);
	assert_int_equal(fs_close(fs), 0);
}

static void test_rename(void **state)
{
	const char *img = mkimg("rename.img", 32);
	struct fs *fs = open_rw(img);
	struct fs_stat st;
	char buf[64];

	(void)state;
	assert_int_equal(fs_mkdir(fs, "/d1", 0755), 0);
	assert_int_equal(fs_mkdir(fs, "/d2", 0755), 0);
	assert_int_equal(fs_create(fs, "/d1/Long file name.txt", 0644), 0);
	put(fs, "/d1/Long file name.txt", "one", 3, 0);
	assert_int_equal(fs_shortname_set(fs, "/d1/Long file name.txt", "longfi~1.txt"), 0);
	assert_int_equal(fs_shortname_get(fs, "/d1/Long file name.txt", buf, sizeof(buf)), 12);
	assert_string_equal(buf, "LONGFI~1.TXT");
	assert_int_equal(fs_create(fs, "/d2/target", 0644), 0);
	put(fs, "/d2/target", "two", 3, 0);
	assert_int_equal(fs_rename(fs, "/d1/Long file name.txt", "/d2/target",
				   FS_RENAME_NOREPLACE), -EEXIST);
	assert_int_equal(fs_rename(fs, "/d1/Long file name.txt", "/d2/target", 0), 0);
	assert_int_equal(fs_lookup(fs, "/d1/Long file name.txt", &st), -ENOENT);
	assert_int_equal(fs_lookup(fs, "/d2/target", &st), 0);
	assert_int_equal(st.size, 3);
	assert_int_equal(st.nlink, 1);
	assert_int_equal(fs_shortname_get(fs, "/d2/target", buf, sizeof(buf)), 12);
	assert_string_equal(buf, "LONGFI~1.TXT");
	/* a whole directory moves */
	assert_int_equal(fs_rename(fs, "/d2", "/d1/moved", 0), 0);
	assert_int_equal(fs_lookup(fs, "/d1/moved/target", &st), 0);
	assert_int_equal(fs_rename(fs, "/d1", "/d1/moved/x", 0), -EINVAL);
	assert_int_equal(fs_close(fs), 0);
}

static void test_shortname_rules(void **state)
{
	const char *img = mkimg("short.img", 32);
	struct fs *fs = open_rw(img);
	char buf[64];

	(void)state;
	assert_int_equal(fs_create(fs, "/first long name", 0644), 0);
	assert_int_equal(fs_create(fs, "/second long name", 0644), 0);
	assert_int_equal(fs_create(fs, "/taken.txt", 0644), 0);
	assert_int_equal(fs_shortname_set(fs, "/first long name", "bad name"), -EINVAL);
	assert_non_null(strstr(fs_errmsg(fs), "not allowed"));
	assert_int_equal(fs_shortname_set(fs, "/first long name", "TOOLONGNAME"), -EINVAL);
	assert_int_equal(fs_shortname_set(fs, "/first long name", "A.B.C"), -EINVAL);
	assert_int_equal(fs_shortname_set(fs, "/first long name", "X+Y"), -EINVAL);
	assert_int_equal(fs_shortname_set(fs, "/first long name", "FIRST~1"), 0);
	assert_int_equal(fs_shortname_set(fs, "/second long name", "first~1"), -EEXIST);
	assert_int_equal(fs_shortname_set(fs, "/second long name", "TAKEN.TXT"), -EEXIST);
	assert_int_equal(fs_shortname_get(fs, "/second long name", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(fs_shortname_remove(fs, "/first long name"), 0);
	assert_int_equal(fs_shortname_get(fs, "/first long name", buf, sizeof(buf)), 0);
	assert_int_equal(fs_shortname_set(fs, "/second long name", "FIRST~1"), 0);
	assert_int_equal(fs_close(fs), 0);
}

static int count_ent(void *arg, const char *name, const struct fs_stat *st)
{
	(void)st;
	if (name[0] == '$' || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EBADMSG;  /* metafiles, dots and DOS aliases are hidden */
	++*(int *)arg;
	return 0;
}

static void test_readdir(void **state)
{
	const char *img = mkimg("readdir.img", 32);
	struct fs *fs = open_rw(img);
	int n = 0;

	(void)state;
	assert_int_equal(fs_create(fs, "/Long name one.txt", 0644), 0);
	assert_int_equal(fs_shortname_set(fs, "/Long name one.txt", "LONGNA~1.TXT"), 0);
	assert_int_equal(fs_mkdir(fs, "/sub", 0755), 0);
	assert_int_equal(fs_readdir(fs, "/", count_ent, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(fs_readdir(fs, "/Long name one.txt", count_ent, &n), -ENOTDIR);
	assert_int_equal(fs_close(fs), 0);
}

struct ext { uint64_t off, len; };

static void test_sparse(void **state)
{
	const char *img = mkimg("sparse.img", 64);
	struct fs *fs = open_rw(img);
	static char block[65536];
	struct fs_file *f;
	struct fs_stat st;
	uint64_t o, l;

	(void)state;
	memset(block, 'x', sizeof(block));
	assert_int_equal(fs_create(fs, "/sparse", 0644), 0);
	assert_int_equal(fs_file_open(fs, "/sparse", NULL, FS_F_WRITE, &f), 0);
	assert_int_equal(fs_file_pwrite(f, block, sizeof(block), 0), (ssize_t)sizeof(block));
	assert_int_equal(fs_file_pwrite(f, block, sizeof(block), 16 << 20),
			 (ssize_t)sizeof(block));
	assert_int_equal(fs_file_truncate(f, 24 << 20), 0);
	assert_int_equal(fs_file_next_data(f, 0, &o, &l), 0);
	assert_int_equal(o, 0);
	assert_int_equal(l, sizeof(block));
	assert_int_equal(fs_file_next_data(f, l, &o, &l), 0);
	assert_int_equal(o, 16 << 20);
	assert_int_equal(l, sizeof(block));
	assert_int_equal(fs_file_next_data(f, o + l, &o, &l), -ENXIO);
	assert_int_equal(fs_file_pread(f, block, 10, 1 << 20), 10);
	assert_memory_equal(block, "\0\0\0\0\0\0\0\0\0\0", 10);
	assert_int_equal(fs_file_close(f), 0);
	assert_int_equal(fs_lookup(fs, "/sparse", &st), 0);
	assert_int_equal(st.size, 24 << 20);
	assert_true(st.alloc < (1 << 20));
	assert_true(st.alloc >= 2 * sizeof(block));
	assert_int_equal(fs_close(fs), 0);
}

static int list_stream(void *arg, const char *name, uint64_t size)
{
	char *out = arg;

	sprintf(out + strlen(out), "%s=%llu;", name, (unsigned long long)size);
	return 0;
}

static int list_x(void *arg, const char *name)
{
	strcat(arg, name);
	strcat(arg, ";");
	return 0;
}

static void test_xattrs_streams(void **state)
{
	const char *img = mkimg("xattr.img", 32);
	struct fs *fs = open_rw(img);
	unsigned char acl[512], acl2[512], attr[4] = { 0x23, 0, 0, 0 };
	unsigned char oid[16] = "0123456789abcdef", got[64];
	char list[512] = "";
	struct fs_file *f;
	ssize_t n;
	struct fs_times t = { .mask = FS_T_BTIME | FS_T_MTIME | FS_T_ATIME | FS_T_CTIME,
			      .btime = { 1000000000, 123456700 },
			      .mtime = { -86400 * 400, 100 },  /* before 1970 */
			      .atime = { 1700000000, 0 },
			      .ctime = { 1600000000, 500 } };
	struct fs_stat st;

	(void)state;
	assert_int_equal(fs_create(fs, "/f", 0644), 0);
	assert_int_equal(fs_mkdir(fs, "/d", 0755), 0);
	n = fs_xattr_get(fs, "/d", "system.ntfs_acl", acl, sizeof(acl));
	assert_true(n > 20);
	assert_int_equal(fs_xattr_set(fs, "/f", "system.ntfs_acl", acl, (size_t)n), 0);
	assert_int_equal(fs_xattr_get(fs, "/f", "system.ntfs_acl", acl2, sizeof(acl2)), n);
	assert_memory_equal(acl, acl2, (size_t)n);
	assert_int_equal(fs_xattr_set(fs, "/f", "system.ntfs_attrib", attr, 4), 0);
	assert_int_equal(fs_xattr_set(fs, "/f", "system.ntfs_object_id", oid, 16), 0);
	/* ntfs-3g answers with the 64-byte form (birth ids zero) */
	assert_true(fs_xattr_get(fs, "/f", "system.ntfs_object_id", got, sizeof(got)) >= 16);
	assert_memory_equal(got, oid, 16);
	assert_int_equal(fs_xattr_get(fs, "/f", "system.ntfs_reparse_data", got,
				      sizeof(got)), -ENODATA);
	assert_int_equal(fs_xattr_set(fs, "/f", "user.color", "blue", 4), 0);
	assert_int_equal(fs_file_open(fs, "/f", "big", FS_F_WRITE | FS_F_CREATE, &f), 0);
	assert_int_equal(fs_file_pwrite(f, "stream!", 7, 100000), 7);
	assert_int_equal(fs_file_close(f), 0);
	assert_int_equal(fs_stream_list(fs, "/f", list_stream, list), 0);
	assert_string_equal(list, "big=100007;color=4;");  /* name order */
	assert_int_equal(fs_xattr_get(fs, "/f", "user.big", NULL, 0), 100007);
	assert_int_equal(fs_stream_remove(fs, "/f", "big"), 0);
	assert_int_equal(fs_file_open(fs, "/f", "big", 0, &f), -ENOENT);
	assert_int_equal(fs_xattr_remove(fs, "/f", "user.color"), 0);
	assert_int_equal(fs_xattr_remove(fs, "/f", "user.color"), -ENODATA);
	assert_int_equal(fs_set_times(fs, "/f", &t), 0);
	assert_int_equal(fs_lookup(fs, "/f", &st), 0);
	assert_int_equal(st.btime.tv_sec, t.btime.tv_sec);
	assert_int_equal(st.btime.tv_nsec, t.btime.tv_nsec);
	assert_int_equal(st.mtime.tv_sec, t.mtime.tv_sec);
	assert_int_equal(st.mtime.tv_nsec, t.mtime.tv_nsec);
	assert_int_equal(st.atime.tv_sec, t.atime.tv_sec);
	assert_int_equal(st.ctime.tv_sec, t.ctime.tv_sec);
	assert_int_equal(st.attrib & 0x23, 0x23);
	list[0] = 0;
	assert_int_equal(fs_xattr_list(fs, "/f", list_x, list), 0);
	assert_string_equal(list, "system.ntfs_acl;system.ntfs_attrib;system.ntfs_times;"
			    "system.ntfs_object_id;");
	assert_int_equal(fs_close(fs), 0);
	/* the ctime we set survived close (it is written at inode sync) */
	fs = NULL;
	{
		struct err err;

		assert_int_equal(fs_open(img, 0, &fs, &err), 0);
		assert_int_equal(fs_lookup(fs, "/f", &st), 0);
		assert_int_equal(st.ctime.tv_sec, t.ctime.tv_sec);
		assert_int_equal(fs_create(fs, "/ro", 0644), -EROFS);
		assert_int_equal(fs_close(fs), 0);
	}
}

/* A partition 1 MiB into a bigger image, reached through tg->offset. */
static void test_offset(void **state)
{
	const char *part = mkimg("part.img", 16);
	char disk[512];
	struct fs *fs = calloc(1, sizeof(*fs));
	struct fs_target tg = { .offset = 1 << 20, .size = 16 << 20 };
	struct fs_stat st;

	(void)state;
	snprintf(disk, sizeof(disk), "%s/disk.img", th_tmpdir());
	th_must("rm -f '%s' && truncate -s 20M '%s' && dd if='%s' of='%s' bs=1M seek=1 "
	   "conv=notrunc status=none", disk, disk, part, disk);
	tg.file = disk;
	assert_int_equal(fs_ntfs_ops.probe(&tg), 1);
	tg.offset = 0;
	assert_int_equal(fs_ntfs_ops.probe(&tg), 0);
	tg.offset = 1 << 20;
	fs->name = strdup("disk.img@1");
	fs->ops = &fs_ntfs_ops;
	fs->flags = FS_O_RDWR;
	assert_int_equal(fs_ntfs_ops.open(fs, &tg, FS_O_RDWR), 0);
	assert_int_equal(fs_create(fs, "/in-partition", 0644), 0);
	put(fs, "/in-partition", "offset works", 12, 0);
	assert_int_equal(fs_close(fs), 0);
	/* the same bytes are now at the start of the partition image */
	th_must("dd if='%s' of='%s' bs=1M skip=1 count=16 status=none", disk, part);
	fs = open_rw(part);
	assert_int_equal(fs_lookup(fs, "/in-partition", &st), 0);
	assert_int_equal(st.size, 12);
	assert_int_equal(fs_close(fs), 0);
	/* nothing was written outside the partition */
	th_must("cmp -n 1048576 /dev/zero '%s' && test \"$(tail -c 3145728 '%s' | tr -d '\\0' | wc -c)\" = 0",
	   disk, disk);
}

static void expect_open_error(const char *img, unsigned flags, const char *text)
{
	struct err err = { 0 };
	struct fs *fs = NULL;
	int rc = fs_open(img, flags, &fs, &err);

	if (rc == 0)
		fs_close(fs);
	assert_true(rc < 0);
	if (!strstr(err.msg, text))
		fail_msg("message '%s' lacks '%s'", err.msg, text);
}

static void test_bad_input(void **state)
{
	const char *img = mkimg("bad.img", 32);
	char t[600];

	(void)state;
	snprintf(t, sizeof(t), "%s/trunc.img", th_tmpdir());
	th_must("head -c 4M '%s' > '%s'", img, t);
	expect_open_error(t, 0, "truncated");
	th_must("printf 'XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX' | dd of='%s' bs=1 seek=11 "
	   "conv=notrunc status=none", img);
	expect_open_error(img, 0, "corrupt boot sector");
}

static void test_enospc(void **state)
{
	const char *img = mkimg("full.img", 8);
	struct fs *fs = open_rw(img);
	static char block[1 << 20];
	struct fs_file *f;
	ssize_t n = 0;
	uint64_t off = 0;

	(void)state;
	memset(block, 0x5a, sizeof(block));
	assert_int_equal(fs_create(fs, "/big", 0644), 0);
	assert_int_equal(fs_file_open(fs, "/big", NULL, FS_F_WRITE, &f), 0);
	while (off < (64u << 20) && (n = fs_file_pwrite(f, block, sizeof(block), off)) > 0)
		off += (uint64_t)n;
	assert_int_equal(n, -ENOSPC);
	assert_non_null(strstr(fs_errmsg(fs), "No space left on device"));
	assert_non_null(strstr(fs_errmsg(fs), "'/big'"));
	assert_non_null(strstr(fs_errmsg(fs), img));
	fs_file_close(f);
	assert_int_equal(fs_close(fs), 0);
	th_must("ntfsfix -n '%s' >/dev/null 2>&1", img);
}

/* A failing file call leaves a message naming the path and the volume. */
static void says(struct fs *fs, long rc, const char *path)
{
	assert_true(rc < 0);
	assert_int_equal(fs_error(fs)->errnum, (int)-rc);
	assert_non_null(strstr(fs_errmsg(fs), path));
	assert_non_null(strstr(fs_errmsg(fs), fs_name(fs)));
}

static void test_file_errors(void **state)
{
	const char *img = mkimg("ferr.img", 16);
	struct fs *fs = open_rw(img);
	struct fs_file *f = NULL;
	uint64_t a, b;
	char buf[8];

	(void)state;
	assert_int_equal(fs_create(fs, "/e", 0644), 0);
	assert_int_equal(fs_file_open(fs, "/e", NULL, FS_F_WRITE, &f), 0);
	/* ENOSPC for pwrite is in test_enospc; beyond the signed 64-bit size */
	says(fs, fs_file_truncate(f, 1ull << 63), "'/e'");
	says(fs, fs_file_pwrite(f, "x", 1, 1ull << 63), "'/e'");
	says(fs, fs_file_next_data(f, 0, &a, &b), "'/e'");
	assert_int_equal(fs_file_pread(f, buf, sizeof(buf), 0), 0);
	assert_int_equal(fs_file_close(f), 0);
	says(fs, fs_file_open(fs, "/e", "nostream", 0, &f), "'/e'");
	assert_int_equal(fs_close(fs), 0);
}

/* ---- helper mode for the integration script ---------------------------- */

static int die(struct fs *fs, const char *what, int rc)
{
	fprintf(stderr, "%s: %s\n", what, fs ? fs_errmsg(fs) : strerror(-rc));
	exit(1);
}

static size_t unhex(const char *h, unsigned char *out, size_t cap)
{
	size_t n = 0;

	if (!strncmp(h, "0x", 2))
		h += 2;
	while (h[0] && h[1] && n < cap) {
		unsigned v;

		sscanf(h, "%2x", &v);
		out[n++] = (unsigned char)v;
		h += 2;
	}
	return n;
}

/* Copy a host file in, leaving holes where the host file has them. */
static int put_host(struct fs *fs, const char *host, const char *path,
		    const char *stream)
{
	static char buf[1 << 16];
	struct fs_file *f;
	FILE *in = fopen(host, "rb");
	uint64_t off = 0;
	size_t n;
	int rc;

	if (!in)
		return -errno;
	rc = fs_file_open(fs, path, stream, FS_F_WRITE | FS_F_CREATE, &f);
	while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0) {
		size_t z = 0;

		while (z < n && !buf[z])
			z++;
		if (z < n || off + n == 0)
			rc = fs_file_pwrite(f, buf, n, off) < 0 ? -EIO : 0;
		off += n;
	}
	if (rc == 0)
		rc = fs_file_truncate(f, off);
	fclose(in);
	if (f)
		fs_file_close(f);
	return rc;
}

static int run_verb(struct fs *fs, char *line)
{
	static unsigned char val[1 << 16];
	char *v[6] = { 0 };
	int n = 0;

	for (char *s = strtok(line, "\t\n"); s && n < 6; s = strtok(NULL, "\t\n"))
		v[n++] = s;
	if (n == 0 || v[0][0] == '#')
		return 0;
	if (!strcmp(v[0], "mkdir") && n == 2)
		return fs_mkdir(fs, v[1], 0755);
	if (!strcmp(v[0], "put") && n >= 3)
		return fs_create(fs, v[2], 0644) < 0 && n == 3 ? -EEXIST :
		       put_host(fs, v[1], v[2], n > 3 ? v[3] : NULL);
	if (!strcmp(v[0], "xset") && n == 4)
		return fs_xattr_set(fs, v[1], v[2], val, unhex(v[3], val, sizeof(val)));
	if (!strcmp(v[0], "short") && n == 3)
		return fs_shortname_set(fs, v[1], v[2]);
	if (!strcmp(v[0], "link") && n == 3)
		return fs_link(fs, v[1], v[2]);
	if (!strcmp(v[0], "rename") && n == 3)
		return fs_rename(fs, v[1], v[2], 0);
	if (!strcmp(v[0], "symlink") && n == 3)
		return fs_symlink(fs, v[1], v[2]);
	if (!strcmp(v[0], "rm") && n == 2)
		return fs_unlink(fs, v[1]);
	if (!strcmp(v[0], "rmdir") && n == 2)
		return fs_rmdir(fs, v[1]);
	if (!strcmp(v[0], "btime") && n == 3) {
		struct fs_times t = { .mask = FS_T_BTIME | FS_T_MTIME,
				      .btime = { atoll(v[2]), 0 }, .mtime = { atoll(v[2]), 0 } };
		return fs_set_times(fs, v[1], &t);
	}
	fprintf(stderr, "bad verb: %s\n", v[0]);
	return -EINVAL;
}

static int tool_run(const char *img)
{
	struct fs *fs = open_rw(img);
	char line[8192];
	int rc;

	while (fgets(line, sizeof(line), stdin)) {
		char copy[8192];

		strcpy(copy, line);
		rc = run_verb(fs, line);
		if (rc < 0)
			die(fs, copy, rc);
	}
	rc = fs_close(fs);
	return rc < 0 ? die(NULL, "close", rc) : 0;
}

/* ---- NTFS -> NTFS copy ------------------------------------------------ */

struct cp {
	struct fs *src, *dst;
	struct { uint64_t ino; char *path; } *seen;
	size_t nseen;
	int pass;
};

static int copy_data(struct cp *c, const char *path, const char *stream)
{
	static char buf[1 << 16];
	struct fs_file *in, *out = NULL;
	uint64_t o = 0, l, size = 0;
	int rc = fs_file_open(c->src, path, stream, 0, &in);

	if (rc < 0)
		return rc;
	rc = fs_file_open(c->dst, path, stream, FS_F_WRITE | FS_F_CREATE, &out);
	while (rc == 0 && fs_file_next_data(in, o, &o, &l) == 0) {
		for (uint64_t e = o + l; rc == 0 && o < e;) {
			size_t n = e - o < sizeof(buf) ? (size_t)(e - o) : sizeof(buf);
			ssize_t r = fs_file_pread(in, buf, n, o);

			rc = r <= 0 ? -EIO : fs_file_pwrite(out, buf, (size_t)r, o) < 0;
			o += r > 0 ? (uint64_t)r : 0;
		}
	}
	{
		struct fs_stat st;
		/* the size: unnamed from stat, streams from their list */
		if (!stream && fs_lookup(c->src, path, &st) == 0)
			size = st.size;
		else
			size = o;
	}
	if (rc == 0)
		rc = fs_file_truncate(out, size);
	fs_file_close(in);
	if (out && fs_file_close(out) < 0 && rc == 0)
		rc = -EIO;
	return rc;
}

struct sl { struct cp *c; const char *path; int rc; };

static int copy_stream(void *arg, const char *name, uint64_t size)
{
	struct sl *s = arg;
	char x[300];
	struct fs_file *out;

	snprintf(x, sizeof(x), "%s", name);
	s->rc = copy_data(s->c, s->path, x);
	if (s->rc == 0 && size == 0) {  /* an empty stream still exists */
		s->rc = fs_file_open(s->c->dst, s->path, x, FS_F_WRITE | FS_F_CREATE, &out);
		if (s->rc == 0)
			fs_file_close(out);
	}
	return s->rc;
}

static int copy_x(void *arg, const char *name)
{
	struct sl *s = arg;
	static unsigned char buf[1 << 16];
	ssize_t n;

	if (!strcmp(name, "system.ntfs_times") || !strcmp(name, "system.ntfs_dos_name"))
		return 0;  /* times last; short names right after create */
	n = fs_xattr_get(s->c->src, s->path, name, buf, sizeof(buf));
	s->rc = n < 0 ? (int)n : fs_xattr_set(s->c->dst, s->path, name, buf, (size_t)n);
	if (s->rc < 0)
		fprintf(stderr, "%s %s: %s\n", s->path, name, fs_errmsg(s->c->dst));
	return s->rc;
}

static int copy_one(void *arg, const char *path, const struct fs_stat *st)
{
	struct cp *c = arg;
	struct sl s = { c, path, 0 };
	char sn[32];
	int rc = 0;

	if (!strcmp(path, "/"))
		return 0;
	if (c->pass == 1) {
		struct fs_times t = { .mask = FS_T_ATIME | FS_T_MTIME | FS_T_BTIME | FS_T_CTIME,
				      .atime = st->atime, .mtime = st->mtime,
				      .btime = st->btime, .ctime = st->ctime };
		return fs_set_times(c->dst, path, &t);
	}
	for (size_t i = 0; !S_ISDIR(st->mode) && i < c->nseen; i++)
		if (c->seen[i].ino == st->ino)
			return fs_link(c->dst, c->seen[i].path, path);
	c->seen = realloc(c->seen, (c->nseen + 1) * sizeof(*c->seen));
	c->seen[c->nseen].ino = st->ino;
	c->seen[c->nseen++].path = strdup(path);
	if (S_ISDIR(st->mode))
		rc = fs_mkdir(c->dst, path, 0755);
	else if (S_ISLNK(st->mode)) {
		char t[4096];

		rc = fs_readlink(c->src, path, t, sizeof(t)) < 0 ? -EIO : fs_symlink(c->dst, path, t);
		return rc;
	} else
		rc = fs_create(c->dst, path, 0644);
	if (rc == 0 && fs_shortname_get(c->src, path, sn, sizeof(sn)) > 0)
		rc = fs_shortname_set(c->dst, path, sn);
	if (rc == 0)
		rc = fs_xattr_list(c->src, path, copy_x, &s);
	if (rc == 0 && S_ISREG(st->mode))
		rc = copy_data(c, path, NULL);
	if (rc == 0)
		rc = fs_stream_list(c->src, path, copy_stream, &s);
	return rc;
}

static int tool_copy(const char *src, const char *dst)
{
	struct cp c = { 0 };
	struct err err;
	int rc;

	if (fs_open(src, 0, &c.src, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	c.dst = open_rw(dst);
	rc = fs_walk(c.src, "/", copy_one, &c);
	if (rc < 0)
		die(c.dst, "copy", rc);
	c.pass = 1;  /* times last, once nothing else will touch them */
	rc = fs_walk(c.src, "/", copy_one, &c);
	if (rc < 0)
		die(c.dst, "times", rc);
	for (size_t i = 0; i < c.nseen; i++)
		free(c.seen[i].path);
	free(c.seen);
	fs_close(c.src);
	return fs_close(c.dst) < 0;
}

static int tool_scale(const char *img, long nfiles, long ndirs)
{
	struct fs *fs = open_rw(img);
	char p[64], *deep = malloc((size_t)ndirs * 8 + 16);
	struct rusage ru;
	struct timespec t0, t1;
	size_t len = 0;
	int rc = fs_mkdir(fs, "/flat", 0755);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; rc == 0 && i < nfiles; i++) {
		snprintf(p, sizeof(p), "/flat/file%06ld", i);
		rc = fs_create(fs, p, 0644);
	}
	/* paths stop at 4096 bytes (fs.c, like PATH_MAX): chains of 1,000
	 * levels, as many as it takes */
	for (long i = 0; rc == 0 && i < ndirs; i++) {
		if (i % 1000 == 0)
			len = (size_t)sprintf(deep, "/n%ld", i / 1000);
		else
			len += (size_t)sprintf(deep + len, "/%ld", i % 10);
		rc = fs_mkdir(fs, deep, 0755);
	}
	if (rc < 0)
		die(fs, "scale", rc);
	rc = fs_close(fs);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru);
	printf("seconds %.1f maxrss_kb %ld\n", (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, ru.ru_maxrss);
	free(deep);
	return rc < 0;
}

static int tool_dirty(const char *img)
{
	ntfs_volume *vol = ntfs_mount(img, NTFS_MNT_RDONLY * 0);
	int rc;

	if (!vol)
		return 1;
	rc = ntfs_volume_write_flags(vol, vol->flags | VOLUME_IS_DIRTY);
	return (ntfs_umount(vol, FALSE) < 0 || rc < 0);
}

/* The dirty flag is set before the first change and cleared at a clean
 * close; a session that changes nothing writes nothing; a volume left
 * dirty is refused, and FS_O_ACCEPT_UNCLEAN takes it and keeps the flag. */
static void test_unclean_mark(void **state)
{
	const char *img = mkimg("mark.img", 32);
	struct err err = { 0 };
	enum fs_state st;
	struct fs *fs, *fs2;

	(void)state;
	th_must("cp '%s' '%s.bytes'", img, img);
	fs = open_rw(img);
	assert_int_equal(th_sh("cmp -s '%s' '%s.bytes'", img, img), 0);
	assert_int_equal(fs_mkdir(fs, "/d", 0755), 0);
	assert_int_equal(fs_state(img, &st, &err), 0);
	assert_int_equal(st, FS_STATE_UNCLEAN);
	assert_int_equal(fs_open(img, FS_O_RDWR, &fs2, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "open read-write in another program"));
	assert_int_equal(fs_close(fs), 0);
	assert_int_equal(th_sh("ntfsinfo -m '%s' 2>&1 | grep -q 'Volume Flags: 0x0000'", img), 0);
	assert_int_equal(th_sh("ntfsfix -n '%s' >/dev/null 2>&1", img), 0);
	assert_int_equal(fs_state(img, &st, &err), 0);
	assert_int_equal(st, FS_STATE_CLEAN);

	assert_int_equal(tool_dirty(img), 0);
	assert_int_equal(fs_open(img, FS_O_RDWR, &fs, &err), -EUCLEAN);
	assert_non_null(strstr(err.msg, "not cleanly closed"));
	assert_non_null(strstr(err.msg, "ntfsfix -d"));
	assert_int_equal(fs_open(img, FS_O_RDWR | FS_O_ACCEPT_UNCLEAN, &fs, &err), 0);
	assert_int_equal(fs_mkdir(fs, "/resumed", 0755), 0);
	assert_int_equal(fs_close(fs), 0);
	assert_int_equal(fs_state(img, &st, &err), 0);
	assert_int_equal(st, FS_STATE_UNCLEAN);
	assert_int_equal(th_sh("ntfsls -f '%s' | grep -qx resumed", img), 0);
}

static int tool(int argc, char **argv)
{
	struct err err = { 0 };
	struct fs *fs;
	enum fs_state st;

	if (!strcmp(argv[1], "run") && argc == 3)
		return tool_run(argv[2]);
	if (!strcmp(argv[1], "copy") && argc == 4)
		return tool_copy(argv[2], argv[3]);
	if (!strcmp(argv[1], "scale") && argc == 5)
		return tool_scale(argv[2], atol(argv[3]), atol(argv[4]));
	if (!strcmp(argv[1], "dirty") && argc == 3)
		return tool_dirty(argv[2]);
	if (!strcmp(argv[1], "state") && argc == 3) {
		if (fs_state(argv[2], &st, &err) < 0)
			return printf("error: %s\n", err.msg), 1;
		return printf("%s\n", fs_state_name(st)), 0;
	}
	if (!strcmp(argv[1], "open-rw") && argc == 3) {
		if (fs_open(argv[2], FS_O_RDWR, &fs, &err) < 0)
			return printf("refused: %s\n", err.msg), 1;
		return printf("opened\n"), fs_close(fs) < 0;
	}
	fprintf(stderr, "usage: see the header of tests/unit/test_fs_ntfs.c\n");
	return 64;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_rename),
		cmocka_unit_test(test_shortname_rules),
		cmocka_unit_test(test_readdir),
		cmocka_unit_test(test_sparse),
		cmocka_unit_test(test_xattrs_streams),
		cmocka_unit_test(test_offset),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_unclean_mark),
	};

	if (argc > 1)
		return tool(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
