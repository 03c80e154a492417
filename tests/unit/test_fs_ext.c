/* test_fs_ext.c - the ext2/3/4 backend through fs.h, checked with tools we
 * did not write: mke2fs makes the images, e2fsck -fn must stay clean,
 * debugfs shows the inodes, and a read-only loop mount with the kernel's ext4
 * driver shows the tree (stat, sha256sum, getfattr, getfacl, readlink).
 *
 *   test_fs_ext            the functional suite (needs root for the mounts)
 *   test_fs_ext scale      100,000 files in one directory, 10,000 nested
 *                          directories; prints time and peak RSS
 */
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
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "fs.h"
#include "harness.h"

/* A command's output, trailing newline cut (th_sh_out runs it). */
static char *out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *out(const char *fmt, ...)
{
	static char buf[65536];
	char *cmd = NULL;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	assert_true(vasprintf(&cmd, fmt, ap) >= 0);
	va_end(ap);
	th_sh_out(buf, sizeof(buf), "%s", cmd);
	free(cmd);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		n--;
	buf[n] = 0;
	return buf;
}

static void mkimg(const char *img, const char *type, const char *size,
		  const char *opts)
{
	assert_int_equal(th_sh("rm -f %s && mke2fs -q -F -t %s %s %s %s", img, type,
			    opts, img, size), 0);
}

static void fsck_clean(const char *img)
{
	assert_int_equal(th_sh("e2fsck -fn %s >%s/fsck.out 2>&1 || { cat %s/fsck.out >&2;"
			    " exit 1; }", img, th_tmpdir(), th_tmpdir()), 0);
}

/* Unmount whatever an earlier, failed check left mounted there. */
static void unmount_all(const char *mnt)
{
	th_sh("while mountpoint -q %s; do umount %s || exit 1; done", mnt, mnt);
}

static void mount_ro(const char *img, const char *mnt)
{
	unmount_all(mnt);
	assert_int_equal(th_sh("mkdir -p %s && mount -o ro,loop -t ext4 %s %s", mnt,
			    img, mnt), 0);
}

static void umount_(const char *mnt)
{
	assert_int_equal(th_sh("umount %s", mnt), 0);
}

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

#define OK(fs, call) do { int rc_ = (call); \
	if (rc_ < 0) fprintf(stderr, "# %s: %s\n", #call, fs_errmsg(fs)); \
	assert_true(rc_ >= 0); } while (0)

static void put(struct fs *fs, const char *path, const void *buf, size_t len,
		uint64_t off)
{
	struct fs_file *f;

	OK(fs, fs_file_open(fs, path, NULL, FS_F_WRITE, &f));
	assert_int_equal(fs_file_pwrite(f, buf, len, off), (ssize_t)len);
	OK(fs, fs_file_close(f));
}

/* ---- every operation, checked by the kernel, debugfs and e2fsck ------------- */

/* A POSIX ACL in the Linux VFS xattr format: version 2, then (tag, perm, id). */
static size_t acl_vfs(unsigned char *b, uint32_t uid)
{
	static const uint16_t tag[] = { 1, 2, 4, 0x10, 0x20 };
	static const uint16_t perm[] = { 7, 5, 4, 5, 0 };
	size_t n = 4;

	memset(b, 0, 4 + 5 * 8);
	b[0] = 2;
	for (int i = 0; i < 5; i++, n += 8) {
		uint32_t id = tag[i] == 2 ? uid : 0xffffffffu;

		b[n] = (unsigned char)tag[i];
		b[n + 1] = (unsigned char)(tag[i] >> 8);
		b[n + 2] = (unsigned char)perm[i];
		memcpy(b + n + 4, &id, 4);
	}
	return n;
}

static void populate(struct fs *fs, char *content, size_t clen)
{
	struct fs_times t = { FS_T_ATIME | FS_T_MTIME | FS_T_CTIME | FS_T_BTIME,
			      { 1500000000, 123456789 }, { 1600000000, 987654321 },
			      { 1650000000, 5 }, { 1400000000, 999999999 } };
	char longt[200];
	unsigned char acl[64];
	size_t al = acl_vfs(acl, 1234);

	OK(fs, fs_mkdir(fs, "/d", 0750));
	OK(fs, fs_mkdir(fs, "/d/sub", 0700));
	OK(fs, fs_create(fs, "/d/f", 0640));
	put(fs, "/d/f", content, clen, 0);
	OK(fs, fs_create(fs, "/sparse", 0600));
	put(fs, "/sparse", content, 4096, 0);
	put(fs, "/sparse", content, 5000, 3u << 20);      /* hole of ~3 MB */
	OK(fs, fs_symlink(fs, "/d/short", "f"));
	memset(longt, 'x', sizeof(longt) - 1);
	longt[sizeof(longt) - 1] = 0;
	OK(fs, fs_symlink(fs, "/d/long", longt));
	OK(fs, fs_link(fs, "/d/f", "/hard"));
	OK(fs, fs_mknod(fs, "/null", S_IFCHR | 0666, 1, 3));
	OK(fs, fs_mknod(fs, "/bigdev", S_IFBLK | 0660, 259, 70000));
	OK(fs, fs_mknod(fs, "/fifo", S_IFIFO | 0644, 0, 0));
	OK(fs, fs_mknod(fs, "/sock", S_IFSOCK | 0755, 0, 0));
	OK(fs, fs_set_owner(fs, "/d/f", 100000, 200001));
	OK(fs, fs_set_mode(fs, "/d/f", 04755));
	OK(fs, fs_set_times(fs, "/d/f", &t));
	OK(fs, fs_xattr_set(fs, "/d/f", "user.color", "blue", 4));
	OK(fs, fs_xattr_set(fs, "/d/f", "trusted.t", "T", 1));
	OK(fs, fs_xattr_set(fs, "/d/f", "security.s", "sec", 3));
	OK(fs, fs_xattr_set(fs, "/d/f", "user.gone", "x", 1));
	OK(fs, fs_xattr_remove(fs, "/d/f", "user.gone"));
	OK(fs, fs_xattr_set(fs, "/d/f", "system.posix_acl_access", acl, al));
	OK(fs, fs_xattr_set(fs, "/d", "system.posix_acl_default", acl, al));
	/* renames: in a dir, across dirs, a dir across dirs, replacing */
	OK(fs, fs_create(fs, "/r1", 0644));
	OK(fs, fs_rename(fs, "/r1", "/r2", 0));
	OK(fs, fs_rename(fs, "/r2", "/d/sub/r3", 0));
	OK(fs, fs_mkdir(fs, "/mv", 0755));
	OK(fs, fs_create(fs, "/mv/inner", 0644));
	OK(fs, fs_rename(fs, "/mv", "/d/sub/mv", 0));
	OK(fs, fs_create(fs, "/victim", 0644));
	put(fs, "/victim", "old", 3, 0);
	OK(fs, fs_create(fs, "/winner", 0644));
	put(fs, "/winner", "new", 3, 0);
	OK(fs, fs_rename(fs, "/winner", "/victim", 0));
	/* removal */
	OK(fs, fs_create(fs, "/tmpf", 0644));
	put(fs, "/tmpf", content, clen, 0);
	OK(fs, fs_unlink(fs, "/tmpf"));
	OK(fs, fs_mkdir(fs, "/tmpd", 0755));
	OK(fs, fs_rmdir(fs, "/tmpd"));
}

static void check_api_errors(struct fs *fs)
{
	char b[8];

	assert_int_equal(fs_create(fs, "/d/f", 0644), -EEXIST);
	assert_int_equal(fs_mkdir(fs, "/d", 0755), -EEXIST);
	assert_int_equal(fs_unlink(fs, "/d"), -EISDIR);
	assert_int_equal(fs_rmdir(fs, "/d"), -ENOTEMPTY);
	assert_int_equal(fs_rmdir(fs, "/hard"), -ENOTDIR);
	assert_int_equal(fs_create(fs, "/nope/x", 0644), -ENOENT);
	assert_int_equal(fs_create(fs, "/hard/x", 0644), -ENOTDIR);
	/* no path goes through a symlink, even one to a directory */
	OK(fs, fs_symlink(fs, "/dl", "d"));
	assert_int_equal(fs_create(fs, "/dl/x", 0644), -ENOTDIR);
	OK(fs, fs_unlink(fs, "/dl"));
	assert_int_equal(fs_rename(fs, "/d", "/hard", 0), -ENOTDIR);
	assert_int_equal(fs_rename(fs, "/hard", "/d", 0), -EISDIR);
	assert_int_equal(fs_rename(fs, "/hard", "/victim", FS_RENAME_NOREPLACE), -EEXIST);
	assert_int_equal(fs_xattr_get(fs, "/d/f", "user.none", b, sizeof(b)), -ENODATA);
	assert_int_equal(fs_xattr_remove(fs, "/d/f", "user.none"), -ENODATA);
	assert_int_equal(fs_link(fs, "/d", "/dlink"), -EPERM);
	assert_true(strstr(fs_errmsg(fs), "cannot link") != NULL);
}

/* The sparse file, seen through the API: data at [0, 4096) and around
 * 3 MB, a hole between, nothing after. */
static void check_next_data(struct fs *fs)
{
	struct fs_file *f;
	uint64_t off, len;

	OK(fs, fs_file_open(fs, "/sparse", NULL, 0, &f));
	OK(fs, fs_file_next_data(f, 0, &off, &len));
	assert_int_equal(off, 0);
	assert_int_equal(len, 4096);
	OK(fs, fs_file_next_data(f, 4096, &off, &len));
	assert_true(off > 4096 && off <= (3u << 20));
	assert_int_equal(off + len, (3u << 20) + 5000);
	assert_int_equal(fs_file_next_data(f, (3u << 20) + 5000, &off, &len), -ENXIO);
	OK(fs, fs_file_close(f));
}

static void check_debugfs(const char *img)
{
	char *s = out("debugfs -R 'stat /d/f' %s 2>/dev/null", img);

	assert_non_null(strstr(s, "Mode:  04755"));
	assert_non_null(strstr(s, "User: 100000"));
	assert_non_null(strstr(s, "Group: 200001"));
	assert_non_null(strstr(s, "Links: 2"));
	if (strstr(s, "Size of extra inode fields: 32")) {
		/* debugfs prints seconds:nanoseconds in hex */
		assert_non_null(strstr(s, "crtime: 0x53724e00:ee6b27fc"));
		assert_non_null(strstr(s, "atime: 0x59682f00:1d6f3454"));
		assert_non_null(strstr(s, "mtime: 0x5f5e1000:eb79a2c4"));
	}
	s = out("debugfs -R 'ls -l /' %s 2>/dev/null", img);
	assert_null(strstr(s, "tmpf"));
	assert_null(strstr(s, "tmpd"));
}

static void check_kernel(const char *img, const char *content_file, bool large,
			 bool extents)
{
	char mnt[300];

	snprintf(mnt, sizeof(mnt), "%s/mnt", th_tmpdir());
	mount_ro(img, mnt);
	assert_string_equal(out("cd %s && stat -c '%%n %%A %%u %%g %%h %%s' d/f hard"
				" d/sub/r3 d/sub/mv/inner victim", mnt),
			    "d/f -rwsr-xr-x 100000 200001 2 70000\n"
			    "hard -rwsr-xr-x 100000 200001 2 70000\n"
			    "d/sub/r3 -rw-r--r-- 0 0 1 0\n"
			    "d/sub/mv/inner -rw-r--r-- 0 0 1 0\n"
			    "victim -rw-r--r-- 0 0 1 3");
	assert_string_equal(out("cd %s && cat victim && stat -c '%%h' d d/sub d/sub/mv .", mnt),
			    "new3\n3\n2\n4");
	assert_string_equal(out("cd %s && sha256sum < d/f", mnt),
			    out("sha256sum < %s", content_file));
	assert_string_equal(out("cd %s && readlink d/short && readlink d/long | wc -c", mnt),
			    "f\n200");
	assert_string_equal(out("cd %s && stat -c '%%n %%F %%t:%%T %%a' null bigdev fifo sock", mnt),
			    "null character special file 1:3 666\n"
			    "bigdev block special file 103:11170 660\n"
			    "fifo fifo 0:0 644\nsock socket 0:0 755");
	/* sparse: 3 MB + 5000 bytes long, 3 blocks of data of 4 KB; a block map
	 * needs one indirect block more */
	assert_string_equal(out("cd %s && stat -c '%%s' sparse && du -k sparse | cut -f1", mnt),
			    extents ? "3150728\n12" : "3150728\n16");
	assert_string_equal(out("cd %s && getfattr --absolute-names -d -m - d/f | grep -v"
				" '^#' | grep -v posix_acl | grep . | sort", mnt),
			    "security.s=\"sec\"\ntrusted.t=\"T\"\nuser.color=\"blue\"");
	assert_string_equal(out("cd %s && getfacl -cn d/f | grep -v '^#' | grep . | tr '\\n' ' '", mnt),
			    "user::rwx user:1234:r-x group::r-- mask::r-x other::--- ");
	assert_string_equal(out("cd %s && getfacl -cnd d | grep . | tr '\\n' ' '", mnt),
			    "user::rwx user:1234:r-x group::r-- mask::r-x other::--- ");
	if (large)
		assert_string_equal(out("cd %s && stat -c '%%x|%%y|%%W' d/f", mnt),
				    out("TZ=UTC0 date -d @1500000000 '+%%Y-%%m-%%d %%H:%%M:%%S.123456789 %%z' | tr -d '\\n';"
					"echo -n '|'; TZ=UTC0 date -d @1600000000 '+%%Y-%%m-%%d %%H:%%M:%%S.987654321 %%z' | tr -d '\\n';"
					"echo '|1400000000'"));
	umount_(mnt);
}

static void run_ops(const char *type, const char *opts, bool large)
{
	char img[300], cf[300], *content = malloc(70000);
	struct fs_stat st;
	struct fs *fs;
	FILE *f;

	assert_non_null(content);
	for (size_t i = 0; i < 70000; i++)
		content[i] = (char)(i * 7 + i / 251);
	snprintf(cf, sizeof(cf), "%s/content", th_tmpdir());
	f = fopen(cf, "w");
	assert_non_null(f);
	fwrite(content, 1, 70000, f);
	fclose(f);
	snprintf(img, sizeof(img), "%s/%s.img", th_tmpdir(), type);
	mkimg(img, type, "16M", opts);
	fs = open_rw(img);
	populate(fs, content, 70000);
	check_api_errors(fs);
	check_next_data(fs);
	OK(fs, fs_lookup(fs, "/d/f", &st));
	assert_int_equal(st.size, 70000);
	assert_int_equal(st.nlink, 2);
	assert_int_equal(st.uid, 100000);
	assert_int_equal(st.mtime.tv_nsec, large ? 987654321 : 0);
	OK(fs, fs_lookup(fs, "/bigdev", &st));
	assert_int_equal(st.rdev_major, 259);
	assert_int_equal(st.rdev_minor, 70000);
	OK(fs, fs_close(fs));
	fsck_clean(img);
	check_debugfs(img);
	if (geteuid() == 0)
		check_kernel(img, cf, large, strcmp(type, "ext4") == 0);
	free(content);
}

static void test_ops_ext4(void **s) { (void)s; run_ops("ext4", "-b 4096", true); }
static void test_ops_ext4_csum_inline(void **s)
{
	(void)s;
	run_ops("ext4", "-b 4096 -O metadata_csum,inline_data,^resize_inode", true);
}
static void test_ops_ext3(void **s) { (void)s; run_ops("ext3", "-b 4096", true); }
static void test_ops_ext2_small_inodes(void **s)
{
	(void)s;
	run_ops("ext2", "-b 4096 -I 128", false);
}

/* ---- round trip: a tree made by mke2fs -d, copied through the API ------------- */

struct copy {
	struct fs *src, *dst;
	uint64_t inos[64];   /* hard links: source inode -> first path */
	char paths[64][256];
	size_t n;
	bool times;          /* second pass: times only */
};

static void copy_data(struct copy *c, const char *path, uint64_t size)
{
	struct fs_file *in, *o;
	uint64_t off = 0, doff, dlen;
	static char buf[65536];

	OK(c->src, fs_file_open(c->src, path, NULL, 0, &in));
	OK(c->dst, fs_file_open(c->dst, path, NULL, FS_F_WRITE, &o));
	while (fs_file_next_data(in, off, &doff, &dlen) == 0) {
		for (uint64_t p = doff; p < doff + dlen;) {
			size_t n = doff + dlen - p < sizeof(buf) ? doff + dlen - p : sizeof(buf);

			assert_int_equal(fs_file_pread(in, buf, n, p), (ssize_t)n);
			assert_int_equal(fs_file_pwrite(o, buf, n, p), (ssize_t)n);
			p += n;
		}
		off = doff + dlen;
	}
	OK(c->dst, fs_file_truncate(o, size));
	OK(c->dst, fs_file_close(o));
	OK(c->src, fs_file_close(in));
}

static const char *copy_cur;   /* the path copy_xattr works on */

static int copy_xattr(void *arg, const char *name)
{
	struct copy *c = arg;
	static char val[65536];
	ssize_t n = fs_xattr_get(c->src, copy_cur, name, val, sizeof(val));

	assert_true(n >= 0);
	OK(c->dst, fs_xattr_set(c->dst, copy_cur, name, val, (size_t)n));
	return 0;
}

static bool copy_hardlink(struct copy *c, const char *path, const struct fs_stat *st)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->inos[i] == st->ino) {
			OK(c->dst, fs_link(c->dst, c->paths[i], path));
			return true;
		}
	assert_true(c->n < 64);
	c->inos[c->n] = st->ino;
	snprintf(c->paths[c->n++], sizeof(c->paths[0]), "%s", path);
	return false;
}

static void copy_object(struct copy *c, const char *path, const struct fs_stat *st)
{
	char target[4096];
	ssize_t n;

	if (S_ISDIR(st->mode)) {
		OK(c->dst, fs_mkdir(c->dst, path, st->mode & 07777));
	} else if (S_ISLNK(st->mode)) {
		n = fs_readlink(c->src, path, target, sizeof(target));
		assert_true(n > 0 && (size_t)n < sizeof(target));
		OK(c->dst, fs_symlink(c->dst, path, target));
	} else if (S_ISREG(st->mode)) {
		OK(c->dst, fs_create(c->dst, path, st->mode & 07777));
		copy_data(c, path, st->size);
	} else {
		OK(c->dst, fs_mknod(c->dst, path, st->mode, st->rdev_major,
				    st->rdev_minor));
	}
}

static int copy_cb(void *arg, const char *path, const struct fs_stat *st)
{
	struct copy *c = arg;
	struct fs_times t = { FS_T_ATIME | FS_T_MTIME | FS_T_CTIME | FS_T_BTIME,
			      st->atime, st->mtime, st->ctime, st->btime };

	if (c->times) {
		OK(c->dst, fs_set_times(c->dst, path, &t));
		return 0;
	}
	if (!strcmp(path, "/") || !strcmp(path, "/lost+found"))
		return 0;
	if (!S_ISDIR(st->mode) && st->nlink > 1 && copy_hardlink(c, path, st))
		return 0;
	copy_object(c, path, st);
	OK(c->dst, fs_set_owner(c->dst, path, st->uid, st->gid));
	if (!S_ISLNK(st->mode))
		OK(c->dst, fs_set_mode(c->dst, path, st->mode & 07777));
	copy_cur = path;
	OK(c->src, fs_xattr_list(c->src, path, copy_xattr, c));
	return 0;
}

/* Everything the kernel shows about a tree, one line per object, in an
 * order that does not depend on directory layout. */
static char *tree_dump(const char *img, const char *mnt)
{
	static char a[65536];

	mount_ro(img, mnt);
	snprintf(a, sizeof(a), "%s", out(
		"cd %s && find . -path ./lost+found -prune -o -printf '%%p %%M %%U %%G %%s"
		" %%n %%b %%T@ %%A@ %%C@ %%l\\n' | sort && stat -c '%%n %%W %%t:%%T' $(find . | sort)"
		" && find . -type f | sort | xargs sha256sum && find . | sort |"
		" xargs getfattr -h -d -m - 2>/dev/null && find . -type d | sort |"
		" xargs getfacl -cnd", mnt));
	umount_(mnt);
	return a;
}

static void make_source_tree(const char *src)
{
	assert_int_equal(th_sh(
		"set -e; mkdir -p %s/dir/deeper; cd %s;"
		"head -c 100000 /dev/urandom > dir/file; echo small > small;"
		"truncate -s 10M sparse; printf data | dd of=sparse bs=1 seek=5000000 conv=notrunc 2>/dev/null;"
		"printf tail | dd of=sparse bs=1 seek=10485000 conv=notrunc 2>/dev/null;"
		"ln -s dir/file rel-link; ln -s /absolute/$(printf %%0100d 0) long-link;"
		"ln dir/file dir/deeper/hardlink; mkfifo fifo; mknod tty c 4 1; mknod disk b 8 300;"
		"setfattr -n user.note -v hello dir/file; setfattr -n trusted.x -v 0xdeadbeef small;"
		"setfacl -m u:1000:rwx,g:100:r small; setfacl -d -m u:2000:rx dir;"
		"chown 123456:654321 small; chown -h 7:8 rel-link; chmod 2750 dir; chmod 1777 dir/deeper;"
		"touch -h -d '2001-02-03 04:05:06.123456789' rel-link small dir/file dir/deeper dir",
		src, src), 0);
}

static void test_round_trip(void **s)
{
	char src[300], a[300], b[300], mnt[300], *da;
	struct copy c = { 0 };
	struct err err;

	(void)s;
	if (geteuid() != 0)
		skip();
	snprintf(src, sizeof(src), "%s/src", th_tmpdir());
	snprintf(a, sizeof(a), "%s/a.img", th_tmpdir());
	snprintf(b, sizeof(b), "%s/b.img", th_tmpdir());
	snprintf(mnt, sizeof(mnt), "%s/mnt", th_tmpdir());
	make_source_tree(src);
	assert_int_equal(th_sh("mke2fs -q -F -t ext4 -d %s %s 32M", src, a), 0);
	mkimg(b, "ext4", "32M", "");
	assert_int_equal(fs_open(a, 0, &c.src, &err), 0);
	c.dst = open_rw(b);
	OK(c.src, fs_walk(c.src, "/", copy_cb, &c));
	c.times = true;
	OK(c.src, fs_walk(c.src, "/", copy_cb, &c));
	OK(c.dst, fs_close(c.dst));
	OK(c.src, fs_close(c.src));
	fsck_clean(b);
	da = strdup(tree_dump(a, mnt));
	assert_non_null(strstr(da, "user.note=\"hello\""));   /* the dump sees them */
	assert_non_null(strstr(da, "user:2000:r-x"));
	assert_string_equal(tree_dump(b, mnt), da);
	free(da);
}

/* ---- refusals, made for real; the image must not change --------------------- */

/* Opening `vol` read-write must fail with `want` and a message holding
 * `words`; `img` (the file holding it) must not change. */
static void refused2(const char *vol, const char *img, unsigned flags, int want,
		     const char *words)
{
	struct err err = { 0 };
	struct fs *fs = NULL;

	assert_int_equal(th_sh("cp %s %s.before", img, img), 0);
	assert_int_equal(fs_open(vol, FS_O_RDWR | flags, &fs, &err), want);
	fprintf(stderr, "# refused: %s\n", err.msg);
	assert_non_null(strstr(err.msg, words));
	assert_int_equal(err.code, ERR_REFUSED);
	assert_int_equal(err.level, ERR_FATAL);
	assert_null(fs);
	assert_int_equal(th_sh("cmp %s %s.before", img, img), 0);
}

static void refused(const char *img, unsigned flags, int want, const char *words)
{
	refused2(img, img, flags, want, words);
}

static void test_refuse_mounted(void **s)
{
	char img[300], mnt[300];
	struct err err;
	struct fs *fs;

	(void)s;
	if (geteuid() != 0)
		skip();
	snprintf(img, sizeof(img), "%s/m.img", th_tmpdir());
	snprintf(mnt, sizeof(mnt), "%s/mnt", th_tmpdir());
	mkimg(img, "ext4", "16M", "");
	assert_int_equal(th_sh("mkdir -p %s && mount -o loop %s %s", mnt, img, mnt), 0);
	assert_int_equal(fs_open(img, FS_O_RDWR, &fs, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "is mounted on "));
	assert_non_null(strstr(err.msg, mnt));
	assert_non_null(strstr(err.msg, "(through /dev/loop"));
	assert_non_null(strstr(err.msg, "unmount it first"));
	umount_(mnt);
	mount_ro(img, mnt);   /* read-only: the image cannot change under cmp */
	refused(img, 0, -EBUSY, "is mounted");
	umount_(mnt);
}

static void test_refuse_needs_recovery(void **s)
{
	char img[300];
	enum fs_state st;
	struct err err;
	struct fs *fs;

	(void)s;
	snprintf(img, sizeof(img), "%s/j.img", th_tmpdir());
	mkimg(img, "ext4", "16M", "");
	assert_int_equal(th_sh("debugfs -w -R 'feature needs_recovery' %s >/dev/null 2>&1", img), 0);
	assert_int_equal(th_sh("dumpe2fs -h %s 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery'", img), 0);
	assert_int_equal(fs_state(img, &st, &err), 0);
	assert_int_equal(st, FS_STATE_NEEDS_RECOVERY);
	refused(img, 0, -EBUSY, "journal needs recovery");
	assert_int_equal(fs_open(img, FS_O_RDWR | FS_O_REPLAY_JOURNAL, &fs, &err), 0);
	OK(fs, fs_create(fs, "/after-replay", 0644));
	OK(fs, fs_close(fs));
	assert_int_equal(th_sh("dumpe2fs -h %s 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery'", img), 1);
	fsck_clean(img);
}

static void test_refuse_errors(void **s)
{
	char img[300];
	enum fs_state st;
	struct err err;

	(void)s;
	snprintf(img, sizeof(img), "%s/e.img", th_tmpdir());
	mkimg(img, "ext4", "16M", "");
	/* EXT2_VALID_FS | EXT2_ERROR_FS, as the kernel leaves it after an error */
	assert_int_equal(th_sh("debugfs -w -R 'ssv state 3' %s >/dev/null 2>&1", img), 0);
	assert_int_equal(th_sh("dumpe2fs -h %s 2>/dev/null | grep -q '^Filesystem state:.*with errors'", img), 0);
	assert_int_equal(fs_state(img, &st, &err), 0);
	assert_int_equal(st, FS_STATE_ERRORS);
	refused(img, 0, -EUCLEAN, "e2fsck -f");
	refused(img, FS_O_REPLAY_JOURNAL, -EUCLEAN, "e2fsck -f");
}

/* A read-write open marks the volume not cleanly closed on disk and a clean
 * close takes the mark away again, exactly: the superblock is as before. */
static void test_unclean_mark(void **s)
{
	char img[300];
	enum fs_state st;
	struct err err = { 0 };
	struct fs *fs, *fs2;

	(void)s;
	snprintf(img, sizeof(img), "%s/u.img", th_tmpdir());
	mkimg(img, "ext4", "16M", "");
	assert_int_equal(th_sh("dumpe2fs -h %s 2>/dev/null | grep -v -e '^Last write time' "
			    "-e '^Lifetime writes' -e '^Checksum:' >%s.sb0", img, img), 0);
	assert_int_equal(th_sh("cp %s %s.bytes", img, img), 0);
	assert_int_equal(fs_open(img, FS_O_RDWR, &fs, &err), 0);
	/* nothing changed yet: nothing written (a refused plan must leave the
	 * volume byte for byte as it was) */
	assert_int_equal(th_sh("cmp -s %s %s.bytes", img, img), 0);
	OK(fs, fs_mkdir(fs, "/d", 0755));
	OK(fs, fs_rmdir(fs, "/d"));
	assert_int_equal(th_sh("dumpe2fs -h %s 2>/dev/null | grep -q '^Filesystem state: *not clean$'", img), 0);
	assert_int_equal(fs_state(img, &st, &err), 0);
	assert_int_equal(st, FS_STATE_UNCLEAN);
	assert_string_equal(fs_state_name(st), "not cleanly closed");
	/* a second read-write open, even in this process: the lock refuses */
	assert_int_equal(fs_open(img, FS_O_RDWR, &fs2, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "open read-write in another program"));
	OK(fs, fs_close(fs));
	assert_int_equal(fs_state(img, &st, &err), 0);
	assert_int_equal(st, FS_STATE_CLEAN);
	assert_int_equal(th_sh("dumpe2fs -h %s 2>/dev/null | grep -v -e '^Last write time' "
			    "-e '^Lifetime writes' -e '^Checksum:' | cmp -s - %s.sb0", img, img), 0);
	fsck_clean(img);
	/* the mark left as a crash leaves it: refused, with the advice;
	 * FS_O_ACCEPT_UNCLEAN takes it and keeps it */
	assert_int_equal(th_sh("debugfs -w -R 'ssv state 0' %s >/dev/null 2>&1 && debugfs -w"
			    " -R 'ssv last_mounted \"[sysrecover: open read-write]\"' %s"
			    " >/dev/null 2>&1", img, img), 0);
	assert_int_equal(th_sh("dumpe2fs -h %s 2>/dev/null | grep -q '^Last mounted on: *.sysrecover: open read-write.$'", img), 0);
	refused(img, 0, -EUCLEAN, "was not cleanly closed (a sysrecover session");
	refused(img, 0, -EUCLEAN, "e2fsck -f");
	assert_int_equal(fs_open(img, FS_O_RDWR | FS_O_ACCEPT_UNCLEAN, &fs, &err), 0);
	OK(fs, fs_mkdir(fs, "/resumed", 0755));
	OK(fs, fs_close(fs));
	assert_int_equal(fs_state(img, &st, &err), 0);
	assert_int_equal(st, FS_STATE_UNCLEAN);
	/* not cleanly closed by someone else (no mark): the flag does not help */
	assert_int_equal(th_sh("debugfs -w -R 'ssv last_mounted /mnt' %s >/dev/null 2>&1", img), 0);
	refused(img, FS_O_ACCEPT_UNCLEAN, -EUCLEAN, "not cleanly unmounted");
	/* errors recorded by the kernel: never accepted */
	assert_int_equal(th_sh("debugfs -w -R 'ssv state 2' %s >/dev/null 2>&1", img), 0);
	refused(img, FS_O_ACCEPT_UNCLEAN, -EUCLEAN, "errors recorded by the kernel");
	assert_int_equal(th_sh("e2fsck -fy %s >/dev/null 2>&1; [ $? -le 1 ]", img), 0);
	assert_int_equal(fs_open(img, FS_O_RDWR, &fs, &err), 0);
	OK(fs, fs_close(fs));
}

/* ---- bad input -------------------------------------------------------------- */

static void test_bad_images(void **s)
{
	char img[300], cut[300];
	struct err err = { 0 };
	struct fs *fs = NULL;

	(void)s;
	snprintf(img, sizeof(img), "%s/g.img", th_tmpdir());
	snprintf(cut, sizeof(cut), "%s/cut.img", th_tmpdir());
	mkimg(img, "ext4", "16M", "");
	assert_int_equal(th_sh("head -c 300000 %s > %s", img, cut), 0);
	/* read-only may salvage what is there; writing is refused */
	refused(cut, 0, -EIO, "truncated");
	/* s_log_block_size (superblock byte 24) = 0x7f: a nonsense block size */
	assert_int_equal(th_sh("printf '\\177' | dd of=%s bs=1 seek=1048 conv=notrunc 2>/dev/null", img), 0);
	assert_true(fs_open(img, 0, &fs, &err) < 0);
	fprintf(stderr, "# corrupt: %s\n", err.msg);
	assert_non_null(strstr(err.msg, "superblock"));
	assert_int_equal(err.code, ERR_CORRUPT);
	assert_null(fs);
}

/* Every call in fs.h leaves a message after a failure, also where the
 * backend only returned an errno: it names the path and the volume. */
static void says(struct fs *fs, long rc, const char *verb, const char *path)
{
	const struct err *e = fs_error(fs);

	assert_true(rc < 0);
	assert_non_null(strstr(fs_errmsg(fs), verb));
	assert_non_null(strstr(fs_errmsg(fs), path));
	assert_non_null(strstr(fs_errmsg(fs), fs_name(fs)));
	assert_int_equal(e->errnum, (int)-rc);
	assert_int_equal(e->level, ERR_FATAL);
}

static void test_file_errors(void **s)
{
	const char *dir = th_path("fe.dir");
	char img[300], buf[16];
	struct fs_file *f;
	struct fs *fs;
	uint64_t a, b;

	(void)s;
	/* the dir backend returns bare errnos: fs.c writes the sentence */
	th_must("rm -rf '%s' && mkdir '%s' && echo data > '%s/f'", dir, dir, dir);
	fs = open_rw(dir);
	assert_int_equal(fs_file_open(fs, "/f", NULL, 0, &f), 0);  /* O_RDONLY */
	says(fs, fs_file_pread(f, buf, sizeof(buf), 1ull << 63), "read", "'/f'");
	says(fs, fs_file_pwrite(f, "x", 1, 0), "write", "'/f'");
	says(fs, fs_file_truncate(f, 0), "truncate", "'/f'");
	says(fs, fs_file_next_data(f, 4096, &a, &b), "find the data of", "'/f'");
	assert_int_equal(fs_file_close(f), 0);
	/* a close that succeeds keeps the message of the failure before it */
	assert_non_null(strstr(fs_errmsg(fs), "find the data of"));
	says(fs, fs_file_open(fs, "/nope", NULL, 0, &f), "open", "'/nope'");
	assert_int_equal(fs_close(fs), 0);

	snprintf(img, sizeof(img), "%s/fe.img", th_tmpdir());
	mkimg(img, "ext4", "8M", "");
	fs = open_rw(img);
	assert_int_equal(fs_create(fs, "/g", 0644), 0);
	assert_int_equal(fs_file_open(fs, "/g", NULL, FS_F_WRITE, &f), 0);
	says(fs, fs_file_pwrite(f, "x", 1, 1ull << 62), "write", "'/g'");
	says(fs, fs_file_truncate(f, 1ull << 62), "truncate", "'/g'");
	says(fs, fs_file_next_data(f, 0, &a, &b), "find", "'/g'");
	assert_int_equal(fs_file_close(f), 0);
	assert_int_equal(fs_close(fs), 0);
}

static void test_enospc(void **s)
{
	char img[300], buf[65536];
	struct fs_file *f;
	struct fs *fs;
	ssize_t n = 0;
	uint64_t off = 0;

	(void)s;
	snprintf(img, sizeof(img), "%s/full.img", th_tmpdir());
	mkimg(img, "ext4", "2M", "-O ^has_journal");
	memset(buf, 'z', sizeof(buf));
	fs = open_rw(img);
	OK(fs, fs_create(fs, "/big", 0644));
	OK(fs, fs_file_open(fs, "/big", NULL, FS_F_WRITE, &f));
	while (off < (8u << 20) && (n = fs_file_pwrite(f, buf, sizeof(buf), off)) > 0)
		off += (uint64_t)n;
	assert_int_equal(n, -ENOSPC);
	fprintf(stderr, "# full: %s\n", fs_errmsg(fs));
	assert_non_null(strstr(fs_errmsg(fs), "No space left on device"));
	fs_file_close(f);
	/* and inodes run out too */
	for (int i = 0; i < 100000; i++) {
		char p[32];

		snprintf(p, sizeof(p), "/f%d", i);
		if ((n = fs_create(fs, p, 0644)) < 0)
			break;
	}
	assert_int_equal(n, -ENOSPC);
	OK(fs, fs_close(fs));
	fsck_clean(img);
}

/* ---- big writes: the direct whole-block path ------------------------------ */

/* The same writes through the API and through pwrite(2) on a local file;
 * the kernel must see identical bytes and the same holes. */
static void big_writes(const char *type, const char *opts)
{
	static const struct { uint64_t off; size_t len; char fill; } w[] = {
		{ 1000, (3u << 20) + 123, 'a' },        /* unaligned head and tail */
		{ 40960, 1u << 20, 'b' },               /* overwrite mapped blocks */
		{ 10u << 20, 2u << 20, 'c' },           /* after a hole */
		{ (10u << 20) + 4096 * 3, 4096 * 5, 'd' }, /* aligned overwrite */
	};
	char img[300], local[300], mnt[300];
	static char buf[3u << 20 | 4096];
	struct fs_file *f;
	struct fs *fs;
	int fd;

	snprintf(img, sizeof(img), "%s/big.img", th_tmpdir());
	snprintf(local, sizeof(local), "%s/big.local", th_tmpdir());
	snprintf(mnt, sizeof(mnt), "%s/bigmnt", th_tmpdir());
	mkimg(img, type, "64M", opts);
	fs = open_rw(img);
	OK(fs, fs_create(fs, "/w", 0644));
	OK(fs, fs_file_open(fs, "/w", NULL, FS_F_WRITE, &f));
	fd = open(local, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		for (size_t j = 0; j < w[i].len; j++)
			buf[j] = (char)(w[i].fill + (j % 7));
		assert_int_equal(fs_file_pwrite(f, buf, w[i].len, w[i].off),
				 (ssize_t)w[i].len);
		assert_int_equal(pwrite(fd, buf, w[i].len, (off_t)w[i].off),
				 (ssize_t)w[i].len);
	}
	close(fd);
	OK(fs, fs_file_close(f));
	OK(fs, fs_close(fs));
	fsck_clean(img);
	mount_ro(img, mnt);
	assert_int_equal(th_sh("cmp %s %s/w", local, mnt), 0);
	/* the hole between 4 MiB and 10 MiB stays a hole */
	assert_int_equal(th_sh("[ $(stat -c %%b %s/w) -lt 14000 ]", mnt), 0);
	umount_(mnt);
}

static void test_big_writes(void **s)
{
	(void)s;
	big_writes("ext4", "-b 4096");
	big_writes("ext2", "-b 1024");
}

/* ---- a partition inside an image (ext2fs_open2 "offset=") ----------------- */

static void test_partition_offset(void **s)
{
	char disk[300], vol[320], part[300];
	struct fs *fs;
	struct err err;

	(void)s;
	snprintf(disk, sizeof(disk), "%s/disk.img", th_tmpdir());
	snprintf(vol, sizeof(vol), "%s@1", disk);
	snprintf(part, sizeof(part), "%s/part.img", th_tmpdir());
	assert_int_equal(th_sh("rm -f %s && truncate -s 20M %s && echo 'start=2048, type=83' |"
			    " sfdisk -q %s >/dev/null", disk, disk, disk), 0);
	mkimg(part, "ext4", "16M", "");
	assert_int_equal(th_sh("dd if=%s of=%s bs=512 seek=2048 conv=notrunc 2>/dev/null", part, disk), 0);
	fs = open_rw(vol);
	OK(fs, fs_mkdir(fs, "/inpart", 0755));
	OK(fs, fs_create(fs, "/inpart/f", 0644));
	put(fs, "/inpart/f", "partition data", 14, 0);
	OK(fs, fs_close(fs));
	assert_int_equal(th_sh("dd if=%s of=%s bs=512 skip=2048 count=32768 2>/dev/null", disk, part), 0);
	fsck_clean(part);
	assert_string_equal(out("debugfs -R 'cat /inpart/f' %s 2>/dev/null", part),
			    "partition data");
	/* the MBR before the partition is untouched */
	assert_int_equal(th_sh("sfdisk -d %s | grep -q 'start= *2048'", disk), 0);
	/* no journal replay inside an image: a clear refusal instead */
	assert_int_equal(th_sh("debugfs -w -R 'feature needs_recovery' %s >/dev/null 2>&1 &&"
			    " dd if=%s of=%s bs=512 seek=2048 conv=notrunc 2>/dev/null",
			    part, part, disk), 0);
	refused2(vol, disk, FS_O_REPLAY_JOURNAL, -EBUSY, "losetup -o 1048576");
	(void)err;
}

/* ---- scale ------------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_scale(void **s)
{
	char img[300], mnt[300], path[4200];
	struct rusage ru;
	struct fs *fs;
	double t0 = now_s(), t1, t2;

	(void)s;
	snprintf(img, sizeof(img), "%s/scale.img", th_tmpdir());
	snprintf(mnt, sizeof(mnt), "%s/mnt", th_tmpdir());
	mkimg(img, "ext4", "1G", "-N 150000");
	fs = open_rw(img);
	OK(fs, fs_mkdir(fs, "/big", 0755));
	for (int i = 0; i < 100000; i++) {
		char p[64], data[32];
		int n = snprintf(data, sizeof(data), "file %d\n", i);

		snprintf(p, sizeof(p), "/big/file-%06d", i);
		OK(fs, fs_create(fs, p, 0644));
		put(fs, p, data, (size_t)n, 0);
	}
	t1 = now_s();
	/* 10,000 nested directories: 5 chains of 2,000 (a path is < 4096 bytes) */
	for (int c = 0; c < 5; c++) {
		size_t len = (size_t)snprintf(path, sizeof(path), "/chain%d", c);

		OK(fs, fs_mkdir(fs, path, 0755));
		for (int d = 1; d < 2000; d++) {
			memcpy(path + len, "/n", 3);
			len += 2;
			OK(fs, fs_mkdir(fs, path, 0755));
		}
	}
	OK(fs, fs_close(fs));
	t2 = now_s();
	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr, "# scale: 100000 files %.1f s, 10000 nested dirs %.1f s,"
		" peak RSS %ld MB\n", t1 - t0, t2 - t1, ru.ru_maxrss / 1024);
	printf("# scale: 100000 files %.1f s, 10000 nested dirs %.1f s, peak RSS %ld MB\n",
	       t1 - t0, t2 - t1, ru.ru_maxrss / 1024);
#ifndef __SANITIZE_ADDRESS__   /* ASan's shadow and quarantine are not ours */
	assert_true(ru.ru_maxrss < 256 * 1024);
#endif
	fsck_clean(img);
	if (geteuid() != 0)
		return;
	mount_ro(img, mnt);
	assert_string_equal(out("ls -f %s/big | grep -c file-", mnt), "100000");
	assert_string_equal(out("cat %s/big/file-099999", mnt), "file 99999");
	assert_string_equal(out("cd %s && find chain* -type d | wc -l", mnt), "10000");
	umount_(mnt);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest functional[] = {
		cmocka_unit_test(test_ops_ext4),
		cmocka_unit_test(test_ops_ext4_csum_inline),
		cmocka_unit_test(test_ops_ext3),
		cmocka_unit_test(test_ops_ext2_small_inodes),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refuse_mounted),
		cmocka_unit_test(test_unclean_mark),
		cmocka_unit_test(test_refuse_needs_recovery),
		cmocka_unit_test(test_refuse_errors),
		cmocka_unit_test(test_bad_images),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_big_writes),
		cmocka_unit_test(test_partition_offset),
	};
	const struct CMUnitTest scale[] = {
		cmocka_unit_test(test_scale),
	};
	int rc;

	setenv("TZ", "UTC0", 1);
	if (argc > 1 && !strcmp(argv[1], "scale"))
		rc = cmocka_run_group_tests_name("fs_ext scale", scale, NULL, NULL);
	else
		rc = cmocka_run_group_tests_name("fs_ext", functional, NULL, NULL);
	/* the harness removes the scratch directory at exit: never into a mount */
	unmount_all(th_path("mnt"));
	unmount_all(th_path("bigmnt"));
	return rc;
}
