/* cmd_fs.c - `sysrecover fs VOL VERB ...`: a small debugfs for a rescue shell.
 *
 * The same verbs work on ext and NTFS volumes (not mounted) and on plain
 * directories.  The volume is opened read-write only when a verb needs it
 * (the table's flags say which), and every verb is checked first (run with
 * no volume in ctx->obj), so a script (-f) is parsed whole before anything
 * runs.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "err.h"
#include "progress.h"
#include "stop.h"
#include "text.h"
#include "fs.h"

#define FS_PREFIX "sysrecover fs VOL "
#define MAX_WORDS 8   /* words on a script line */
#define COPY_BUF (1u << 20)

static const struct cli_cmd *fs_verb(const char *name);

/* A verb with no options of its own: 0 (its arguments at argv + optind),
 * CLI_DONE for --help, or a usage error. */
static int verb_args(struct cli_ctx *c, int argc, char **argv)
{
	return cli_args(c, FS_PREFIX, fs_verb(argv[0]), argc, argv);
}

/* A failed fs call: fs says why after every failure. */
static int fs_fail(struct cli_ctx *c, struct fs *fs, int rc)
{
	return rc < 0 ? err_set(&c->err, rc, "%s", fs_errmsg(fs)) : 0;
}

static char type_char(uint32_t mode)
{
	return S_ISDIR(mode) ? 'd' : S_ISLNK(mode) ? 'l' : S_ISCHR(mode) ? 'c' :
	       S_ISBLK(mode) ? 'b' : S_ISFIFO(mode) ? 'p' : S_ISSOCK(mode) ? 's' : '-';
}

static void fmt_time(const struct timespec *ts, char *buf, size_t n)
{
	struct tm tm;
	time_t s = ts->tv_sec;

	if (!gmtime_r(&s, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, n, "%lld", (long long)ts->tv_sec);
	else
		snprintf(buf + strlen(buf), n - strlen(buf), ".%09ld", ts->tv_nsec);
}

/* A name as debugfs's ls prints it: bytes below 0x20, DEL, bytes from 0x80
 * (UTF-8 too) and the backslash become \xNN, so that every name is one
 * printable word-safe line and can be decoded back to its exact bytes. */
static void ls_name(FILE *f, const char *name)
{
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p >= 0x7f || *p == '\\')
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
}

static void json_time(const char *key, const struct timespec *ts)
{
	printf(", \"%s\": %lld.%09ld", key, (long long)ts->tv_sec, ts->tv_nsec);
}

/* One object as a JSON object's members (after "{"), times as seconds. */
static void json_stat(const struct fs_stat *st, bool ntfs)
{
	char t[2] = { type_char(st->mode), 0 };

	printf("\"type\": ");
	text_json_str(stdout, t);
	printf(", \"inode\": %" PRIu64 ", \"mode\": %u, \"links\": %u, \"uid\": %u,"
	       " \"gid\": %u, \"size\": %" PRIu64 ", \"allocated\": %" PRIu64,
	       st->ino, st->mode & 07777, st->nlink, st->uid, st->gid, st->size,
	       st->alloc);
	json_time("atime", &st->atime);
	json_time("mtime", &st->mtime);
	json_time("ctime", &st->ctime);
	if (st->btime.tv_sec || st->btime.tv_nsec)
		json_time("btime", &st->btime);
	if (S_ISCHR(st->mode) || S_ISBLK(st->mode))
		printf(", \"major\": %u, \"minor\": %u", st->rdev_major, st->rdev_minor);
	if (ntfs)
		printf(", \"attributes\": %u", st->attrib);
}

struct ls_out {
	bool json, ntfs;
	size_t n;
};

static int ls_one(void *arg, const char *name, const struct fs_stat *st)
{
	struct ls_out *o = arg;
	char t[64];

	if (o->json) {
		printf("%s\n  {\"name\": ", o->n++ ? "," : "");
		text_json_str(stdout, name);
		printf(", ");
		json_stat(st, o->ntfs);
		putchar('}');
		return 0;
	}
	fmt_time(&st->mtime, t, sizeof(t));
	printf("%c%04o %3u %5u %5u %12" PRIu64 " %s ", type_char(st->mode),
	       st->mode & 07777, st->nlink, st->uid, st->gid, st->size, t);
	ls_name(stdout, name);
	putchar('\n');
	return 0;
}

/* --json, the one option of ls and stat (into *json): 0, CLI_DONE for
 * --help, or a usage error. */
static int json_args(struct cli_ctx *c, int argc, char **argv, bool *json)
{
	const struct cli_flag f = { .name = "json", .set = json };

	return cli_args_flag(c, FS_PREFIX, fs_verb(argv[0]), argc, argv, &f);
}

static int v_ls(struct cli_ctx *c, int argc, char **argv)
{
	struct fs *fs = c->obj;
	struct ls_out o = { 0 };
	int rc = json_args(c, argc, argv, &o.json);

	if (rc || !fs)
		return rc;
	o.ntfs = fs_kind(fs) == FS_KIND_NTFS;
	if (o.json)
		putchar('[');
	rc = fs_readdir(fs, optind < argc ? argv[optind] : "/", ls_one, &o);
	if (o.json)
		printf("%s]\n", o.n ? "\n" : "");
	return fs_fail(c, fs, rc);
}

static void print_stat(const char *path, const struct fs_stat *st, bool ntfs)
{
	char a[64], m[64], c[64], b[64];

	fmt_time(&st->atime, a, sizeof(a));
	fmt_time(&st->mtime, m, sizeof(m));
	fmt_time(&st->ctime, c, sizeof(c));
	fmt_time(&st->btime, b, sizeof(b));
	printf("path: ");
	text_name(stdout, path);
	printf("\ninode: %" PRIu64 "\ntype: %c\nmode: %04o\nlinks: %u\n"
	       "uid: %u\ngid: %u\nsize: %" PRIu64 "\nallocated: %" PRIu64 "\n"
	       "atime: %s\nmtime: %s\nctime: %s\nbtime: %s\n", st->ino,
	       type_char(st->mode), st->mode & 07777, st->nlink, st->uid, st->gid,
	       st->size, st->alloc, a, m, c, st->btime.tv_sec ? b : "-");
	if (S_ISCHR(st->mode) || S_ISBLK(st->mode))
		printf("device: %u,%u\n", st->rdev_major, st->rdev_minor);
	if (ntfs)
		printf("attributes: 0x%08x\n", st->attrib);
}

static int v_stat(struct cli_ctx *c, int argc, char **argv)
{
	struct fs *fs = c->obj;
	struct fs_stat st;
	bool json;
	int rc = json_args(c, argc, argv, &json);

	if (rc || !fs)
		return rc;
	rc = fs_lookup(fs, argv[optind], &st);
	if (rc < 0)
		return fs_fail(c, fs, rc);
	if (!json) {
		print_stat(argv[optind], &st, fs_kind(fs) == FS_KIND_NTFS);
		return 0;
	}
	printf("{\"path\": ");
	text_json_str(stdout, argv[optind]);
	printf(", ");
	json_stat(&st, fs_kind(fs) == FS_KIND_NTFS);
	printf("}\n");
	return 0;
}

/* n bytes to fd, at off (or where fd is, off < 0); 0 or -errno. */
static int put_bytes(int fd, const char *buf, size_t n, off_t off)
{
	while (n) {
		ssize_t w = off < 0 ? write(fd, buf, n) : pwrite(fd, buf, n, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		buf += w;
		n -= (size_t)w;
		off += off < 0 ? 0 : w;
	}
	return 0;
}

/* One data extent [doff, end) of f to the same offsets of fd. */
static int copy_extent(struct cli_ctx *c, struct fs_file *f, char *buf,
		       uint64_t doff, uint64_t end, int fd, const char *dst)
{
	while (doff < end) {
		size_t want = end - doff < COPY_BUF ? (size_t)(end - doff) : COPY_BUF;
		ssize_t n = fs_file_pread(f, buf, want, doff);
		int rc;

		if (n <= 0)
			return fs_fail(c, fs_file_fs(f), n < 0 ? (int)n : -EIO);
		rc = put_bytes(fd, buf, (size_t)n, (off_t)doff);
		if (rc < 0)
			return err_set(&c->err, rc, "cannot write '%s': %s", dst,
				       strerror(-rc));
		doff += (uint64_t)n;
	}
	return 0;
}

/* A file's data out of the volume to fd, holes kept as holes. */
static int copy_out(struct cli_ctx *c, struct fs_file *f, uint64_t size, int fd,
		    const char *dst)
{
	char *buf = malloc(COPY_BUF);
	uint64_t off = 0, doff, dlen;
	int rc = buf ? 0 : err_set(&c->err, -ENOMEM, "out of memory");

	while (rc == 0 && off < size) {
		rc = fs_file_next_data(f, off, &doff, &dlen);
		if (rc == -ENXIO)  /* only a hole is left */
			break;
		if (rc == -EOPNOTSUPP)  /* no sparse map: read it all */
			doff = off, dlen = size - off, rc = 0;
		if (rc < 0)
			rc = fs_fail(c, fs_file_fs(f), rc);
		else
			rc = copy_extent(c, f, buf, doff,
					 doff + dlen < size ? doff + dlen : size,
					 fd, dst);
		off = doff + dlen;
	}
	if (rc == -ENXIO)
		rc = 0;
	free(buf);
	/* EINVAL: a pipe or a terminal has no size. */
	if (rc == 0 && ftruncate(fd, (off_t)size) < 0 && errno != EINVAL)
		rc = err_set(&c->err, -errno, "cannot write '%s': %s", dst,
			     strerror(errno));
	return rc;
}

/* A named stream, in order, to fd. */
static int copy_stream(struct cli_ctx *c, struct fs_file *f, int fd,
		       const char *dst)
{
	char *buf = malloc(COPY_BUF);
	uint64_t off = 0;
	ssize_t n = 0;
	int rc = buf ? 0 : err_set(&c->err, -ENOMEM, "out of memory");

	while (rc == 0 && (n = fs_file_pread(f, buf, COPY_BUF, off)) > 0) {
		rc = put_bytes(fd, buf, (size_t)n, -1);
		if (rc < 0)
			err_set(&c->err, rc, "cannot write '%s': %s", dst,
				strerror(-rc));
		off += (uint64_t)n;
	}
	if (rc == 0 && n < 0)
		rc = fs_fail(c, fs_file_fs(f), (int)n);
	free(buf);
	return rc;
}

static int get_to_fd(struct cli_ctx *c, struct fs *fs, const char *path,
		     const char *stream, int fd, const char *dst)
{
	struct fs_file *f = NULL;
	struct fs_stat st;
	int rc = fs_lookup(fs, path, &st);

	if (rc == 0)
		rc = fs_file_open(fs, path, stream, 0, &f);
	if (rc < 0)
		return fs_fail(c, fs, rc);
	rc = stream ? copy_stream(c, f, fd, dst) : copy_out(c, f, st.size, fd, dst);
	fs_file_close(f);
	return rc;
}

/* cat writes in order with write(): stdout may be a pipe, a terminal, or a
 * file opened for appending, where positioned writes fail or overwrite;
 * holes come out as zeros, as from cat(1). */
static int v_cat(struct cli_ctx *c, int argc, char **argv)
{
	struct fs *fs = c->obj;
	struct fs_file *f = NULL;
	int rc = verb_args(c, argc, argv);
	const char *path, *stream;

	if (rc || !fs)
		return rc;
	path = argv[optind];
	stream = argc - optind > 1 ? argv[optind + 1] : NULL;
	rc = fs_lookup(fs, path, &(struct fs_stat){ 0 });
	if (rc == 0)
		rc = fs_file_open(fs, path, stream, 0, &f);
	if (rc < 0)
		return fs_fail(c, fs, rc);
	rc = copy_stream(c, f, STDOUT_FILENO, "stdout");
	fs_file_close(f);
	return rc;
}

struct get_opts {
	bool keep;         /* -p: mode, times, and the owner when root */
};

/* Where `get` writes: a new file beside dst, renamed over it when complete. */
static int get_tmp(struct cli_ctx *c, const char *dst, char *tmp, size_t cap)
{
	const char *slash = strrchr(dst, '/');
	int dlen = slash ? (int)(slash - dst) + 1 : 0;
	int fd;

	if ((size_t)snprintf(tmp, cap, "%.*s.sysrecover-tmp.XXXXXX", dlen, dst) >= cap)
		return err_set(&c->err, -ENAMETOOLONG, "cannot create '%s': %s", dst,
			       strerror(ENAMETOOLONG));
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return err_set(&c->err, -errno, "cannot create a file beside '%s': %s",
			       dst, strerror(errno));
	return fd;
}

/* The metadata of the new file: -p takes the volume's (owner only as root,
 * as cp -p); otherwise an existing regular dst keeps its mode and a new
 * file gets 0644 less the umask, as before. */
static int get_meta(struct cli_ctx *c, int fd, const struct fs_stat *st,
		    const struct get_opts *o, const char *dst)
{
	struct stat old;
	mode_t um = umask(0);

	umask(um);
	if (o->keep) {
		struct timespec t[2] = { st->atime, st->mtime };

		if (geteuid() == 0 && fchown(fd, st->uid, st->gid) < 0)
			return err_set(&c->err, -errno, "cannot set the owner of '%s': %s",
				       dst, strerror(errno));
		if (fchmod(fd, st->mode & 07777) < 0 || futimens(fd, t) < 0)
			return err_set(&c->err, -errno, "cannot set the mode or times of"
				       " '%s': %s", dst, strerror(errno));
		return 0;
	}
	if (lstat(dst, &old) == 0 && S_ISREG(old.st_mode))
		return fchmod(fd, old.st_mode & 07777) < 0 ? -errno : 0;
	return fchmod(fd, 0644 & ~um) < 0 ? -errno : 0;
}

static int parse_get(struct cli_ctx *c, int argc, char **argv, struct get_opts *g)
{
	const struct cli_flag f = { .name = "preserve", .shortopt = 'p', .set = &g->keep };

	return cli_args_flag(c, FS_PREFIX, fs_verb(argv[0]), argc, argv, &f);
}

/* get [-p] PATH LOCAL: PATH is looked up first (nothing happens to LOCAL
 * when it is missing or not a regular file), the data goes to a new file
 * beside LOCAL, and that file is renamed over LOCAL only when complete.  A
 * symlink at LOCAL is replaced, never written through (as cp
 * --remove-destination); a directory at LOCAL is refused. */
static int v_get(struct cli_ctx *c, int argc, char **argv)
{
	struct fs *fs = c->obj;
	struct get_opts g = { 0 };
	struct fs_stat st;
	struct stat ls;
	char tmp[4200];
	const char *src, *dst;
	int fd, rc = parse_get(c, argc, argv, &g);

	if (rc || !fs)
		return rc;
	src = argv[optind], dst = argv[optind + 1];
	rc = fs_lookup(fs, src, &st);
	if (rc < 0)
		return fs_fail(c, fs, rc);
	if (!S_ISREG(st.mode))
		return err_set(&c->err, -EINVAL, "cannot get '%s': not a regular file"
			       " (copy-out copies a directory)", src);
	if (lstat(dst, &ls) == 0 && S_ISDIR(ls.st_mode))
		return err_set(&c->err, -EISDIR, "cannot write '%s': %s", dst,
			       strerror(EISDIR));
	fd = get_tmp(c, dst, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	rc = get_to_fd(c, fs, src, NULL, fd, dst);
	if (rc == 0 && (rc = get_meta(c, fd, &st, &g, dst)) < 0 && !err_failed(&c->err))
		err_set(&c->err, rc, "cannot set the mode of '%s': %s", dst, strerror(-rc));
	if (rc == 0 && (fsync(fd) < 0 || rename(tmp, dst) < 0))
		rc = err_set(&c->err, -errno, "cannot write '%s': %s", dst, strerror(errno));
	close(fd);
	if (rc < 0)
		unlink(tmp);
	return rc;
}

static int copy_in_report(void *arg, const char *path, int err, const char *why);

/* put LOCAL PATH: one file, the way copy-in copies each (fs_copy_file:
 * a temporary name, its metadata, renamed into place when complete), so a
 * full volume leaves no half file.  LOCAL may be a symlink: it is followed,
 * as cp and debugfs's write do. */
static int v_put(struct cli_ctx *c, int argc, char **argv)
{
	struct fs *fs = c->obj, *src = NULL;
	struct fs_copy_opts o = { .report = copy_in_report };
	struct fs_copy_stats s;
	struct progress p;
	struct err err = { 0 };
	char *real, *slash;
	int rc = verb_args(c, argc, argv);

	if (rc || !fs)
		return rc;
	real = realpath(argv[optind], NULL);
	if (!real)
		return err_set(&c->err, -errno, "cannot read '%s': %s", argv[optind],
			       strerror(errno));
	slash = strrchr(real, '/');
	*slash = 0;  /* real: the directory, slash + 1: the name */
	if (fs_open(real[0] ? real : "/", 0, &src, &err) < 0 ||
	    fs_kind(src) != FS_KIND_DIR) {
		rc = err_set(&c->err, -EIO, "cannot read '%s': %s", argv[optind],
			     err.msg[0] ? err.msg : "its directory is not readable");
		goto out;
	}
	*slash = '/';
	progress_start(&p, "put", 0, 1, 0);
	o.arg = o.progress = &p;
	rc = fs_copy_file(src, slash, fs, argv[optind + 1], &o, &s);
	progress_end(&p);
	if (rc < 0)
		rc = fs_fail(c, fs, rc);
out:
	fs_close(src);
	free(real);
	return rc;
}

static int v_mkdir(struct cli_ctx *c, int argc, char **argv)
{
	struct fs *fs = c->obj;
	unsigned long mode = 0755;
	char *end;
	int rc = verb_args(c, argc, argv);

	if (rc)
		return rc;
	if (argc - optind > 1) {
		mode = strtoul(argv[optind + 1], &end, 8);
		if (*end || end == argv[optind + 1] || mode > 07777)
			return cli_usage_err(c, "mkdir: bad mode '%s' (octal, as 0755)",
					     argv[optind + 1]);
	}
	if (!fs)
		return 0;
	return fs_fail(c, fs, fs_mkdir(fs, argv[optind], (uint32_t)mode));
}

static int v_rm(struct cli_ctx *c, int argc, char **argv)
{
	struct fs *fs = c->obj;
	struct fs_stat st;
	const char *path;
	int rc = verb_args(c, argc, argv);

	if (rc || !fs)
		return rc;
	path = argv[optind];
	rc = fs_lookup(fs, path, &st);
	if (rc == 0)
		rc = S_ISDIR(st.mode) ? fs_rmdir(fs, path) : fs_unlink(fs, path);
	return fs_fail(c, fs, rc);
}

static int v_mv(struct cli_ctx *c, int argc, char **argv)
{
	struct fs *fs = c->obj;
	int rc = verb_args(c, argc, argv);

	if (rc || !fs)
		return rc;
	return fs_fail(c, fs, fs_rename(fs, argv[optind], argv[optind + 1], 0));
}

/* ln EXISTING NEW, or ln -s TARGET NEW */
static int v_ln(struct cli_ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "symbolic", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct fs *fs = c->obj;
	bool sym = false;
	int o, rc;

	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+hs", opts, NULL)) != -1) {
		if (o == 's') {
			sym = true;
		} else if (o == 'h') {
			cli_help(stdout, FS_PREFIX, fs_verb(argv[0]));
			return CLI_DONE;
		} else {
			return cli_bad_option(c, argc, argv);
		}
	}
	rc = cli_check_count(c, FS_PREFIX, fs_verb(argv[0]), argc - optind);
	if (rc || !fs)
		return rc;
	argv += optind;
	return fs_fail(c, fs, sym ? fs_symlink(fs, argv[1], argv[0])
				  : fs_link(fs, argv[0], argv[1]));
}

/* mknod PATH c|b MAJOR MINOR, or mknod PATH p */
static int v_mknod(struct cli_ctx *c, int argc, char **argv)
{
	struct fs *fs = c->obj;
	int rc = verb_args(c, argc, argv), n = argc - optind;
	char **a = argv + optind, *e1 = NULL, *e2 = NULL;
	uint32_t type;
	unsigned long ma = 0, mi = 0;

	if (rc)
		return rc;
	type = !strcmp(a[1], "c") ? S_IFCHR : !strcmp(a[1], "b") ? S_IFBLK :
	       !strcmp(a[1], "p") ? S_IFIFO : 0;
	if (n == 4) {
		ma = strtoul(a[2], &e1, 0);
		mi = strtoul(a[3], &e2, 0);
	}
	if (!type || (type == S_IFIFO) != (n == 2) || (n == 4 && (*e1 || *e2)) ||
	    n == 3)
		return cli_usage_err(c, "usage: mknod PATH c|b MAJOR MINOR | mknod"
				     " PATH p");
	if (!fs)
		return 0;
	return fs_fail(c, fs, fs_mknod(fs, a[0], type | 0644, (uint32_t)ma,
				       (uint32_t)mi));
}

static int v_shortname(struct cli_ctx *c, int argc, char **argv)
{
	struct fs *fs = c->obj;
	char buf[64];
	ssize_t n;
	int rc = verb_args(c, argc, argv);
	char **a = argv + optind;

	if (rc || !fs)
		return rc;
	if (argc - optind == 2)
		return fs_fail(c, fs, !strcmp(a[1], "-") ?
			       fs_shortname_remove(fs, a[0]) :
			       fs_shortname_set(fs, a[0], a[1]));
	n = fs_shortname_get(fs, a[0], buf, sizeof(buf));
	if (n < 0)
		return fs_fail(c, fs, (int)n);
	if (n)
		text_name(stdout, buf);
	else
		fputs("(none)", stdout);
	putchar('\n');
	return 0;
}

static void print_value(const unsigned char *v, size_t n)
{
	bool text = n > 0;

	for (size_t i = 0; i < n; i++)
		if (!isprint(v[i]) && !(i == n - 1 && v[i] == 0))
			text = false;
	if (text) {
		printf("\"%.*s\"\n", (int)n, (const char *)v);
		return;
	}
	printf("0x");
	for (size_t i = 0; i < n; i++)
		printf("%02x", v[i]);
	printf("\n");
}

static int xattr_name(void *arg, const char *name)
{
	(void)arg;
	text_name(stdout, name);
	putchar('\n');
	return 0;
}

/* Decode "0x..." hex or take the text as it is; NULL when the hex is bad. */
static unsigned char *parse_value(const char *s, size_t *len)
{
	size_t n = strlen(s);
	unsigned char *v;

	if (n >= 2 && s[0] == '0' && s[1] == 'x' && n % 2 == 0) {
		v = malloc(n / 2);
		for (size_t i = 2; v && i < n; i += 2) {
			if (!isxdigit((unsigned char)s[i]) ||
			    !isxdigit((unsigned char)s[i + 1])) {
				free(v);
				return NULL;
			}
			v[i / 2 - 1] = (unsigned char)strtoul((char[3]){ s[i], s[i + 1], 0 },
							      NULL, 16);
		}
		*len = n / 2 - 1;
		return v;
	}
	*len = n;
	return (unsigned char *)strdup(s);
}

static int show_xattr(struct cli_ctx *c, struct fs *fs, const char *path,
		      const char *name)
{
	ssize_t n = fs_xattr_get(fs, path, name, NULL, 0);
	unsigned char *buf;

	if (n < 0)
		return fs_fail(c, fs, (int)n);
	buf = malloc((size_t)n + 1);
	if (!buf)
		return err_set(&c->err, -ENOMEM, "out of memory");
	n = fs_xattr_get(fs, path, name, buf, (size_t)n);
	if (n >= 0)
		print_value(buf, (size_t)n);
	free(buf);
	return fs_fail(c, fs, n < 0 ? (int)n : 0);
}

/* List (no name), show (no value), remove (value "-") or set; with no
 * volume only the value is checked. */
static int xattr_do(struct cli_ctx *c, struct fs *fs, const char *path,
		    const char *name, const char *value)
{
	unsigned char *v = NULL;
	size_t len = 0;
	int rc;

	if (value && strcmp(value, "-") && !(v = parse_value(value, &len)))
		return cli_usage_err(c, "bad value '%s' (text, or 0x and pairs of"
				     " hex digits)", value);
	if (!fs)
		rc = 0;
	else if (!name)
		rc = fs_fail(c, fs, fs_xattr_list(fs, path, xattr_name, NULL));
	else if (!value)
		rc = show_xattr(c, fs, path, name);
	else if (!v)
		rc = fs_fail(c, fs, fs_xattr_remove(fs, path, name));
	else
		rc = fs_fail(c, fs, fs_xattr_set(fs, path, name, v, len));
	free(v);
	return rc;
}

/* xattr PATH | xattr PATH NAME | xattr PATH NAME VALUE | xattr PATH NAME - */
static int v_xattr(struct cli_ctx *c, int argc, char **argv)
{
	int rc = verb_args(c, argc, argv), n = argc - optind;
	char **a = argv + optind;

	if (rc)
		return rc;
	return xattr_do(c, c->obj, a[0], n > 1 ? a[1] : NULL, n > 2 ? a[2] : NULL);
}

/* The security descriptor, as hex (system.ntfs_acl). */
static int v_sd(struct cli_ctx *c, int argc, char **argv)
{
	int rc = verb_args(c, argc, argv), n = argc - optind;
	char **a = argv + optind;

	if (rc)
		return rc;
	return xattr_do(c, c->obj, a[0], "system.ntfs_acl", n > 1 ? a[1] : NULL);
}

static int stream_one(void *arg, const char *name, uint64_t size)
{
	(void)arg;
	printf("%12" PRIu64 " ", size);
	text_name(stdout, name);
	putchar('\n');
	return 0;
}

static int v_streams(struct cli_ctx *c, int argc, char **argv)
{
	struct fs *fs = c->obj;
	int rc = verb_args(c, argc, argv);

	if (rc || !fs)
		return rc;
	return fs_fail(c, fs, fs_stream_list(fs, argv[optind], stream_one, NULL));
}

/* copy-in LOCALDIR PATH: a whole local tree onto the volume (fs_copy_tree). */
static int copy_in_report(void *arg, const char *path, int err, const char *why)
{
	progress_clear(arg);
	if (err < 0)
		err_say("%s", why);
	else
		err_warn("%s: %s", path, why);
	return 0;
}

static void print_copy_stats(const char *verb, const struct fs_copy_stats *s)
{
	fprintf(stderr, "%s: %" PRIu64 " files, %" PRIu64 " dirs, %" PRIu64
		" symlinks, %" PRIu64 " special, %" PRIu64 " hard links, %" PRIu64
		" bytes; skipped %" PRIu64 ", owner not kept %" PRIu64 ", metadata not"
		" kept %" PRIu64 ", failed %" PRIu64 "\n", verb, s->files, s->dirs,
		s->symlinks, s->specials, s->links, s->bytes, s->skipped, s->no_owner,
		s->no_meta, s->failed);
}

/* The progress line's totals: a walk of the source (names and sizes only,
 * from the page cache on a second look). */
struct tree_size {
	uint64_t objects, bytes;
};

static int count_one(void *arg, const char *path, const struct fs_stat *st)
{
	struct tree_size *t = arg;

	(void)path;
	t->objects++;
	if (S_ISREG(st->mode))
		t->bytes += st->size;
	return 0;
}

/* Copy src_path of src into dst_path of fs, with the progress line (totals
 * from a first walk when the line is shown at all), the summary, and the
 * items that failed making the run a partial success (exit 1): each was
 * reported as it failed. */
static int copy_tree(struct cli_ctx *c, const char *verb, struct fs *src,
		     const char *src_path, struct fs *fs, const char *dst_path)
{
	struct progress p;
	struct fs_copy_opts o = { .keep_going = true, .report = copy_in_report,
				  .arg = &p, .progress = &p };
	struct fs_copy_stats s = { 0 };
	struct tree_size t = { 0 };
	int rc;

	progress_start(&p, verb, 0, 0, 0);
	if (p.on && fs_walk(src, src_path, count_one, &t) == 0) {
		p.total_bytes = t.bytes;
		p.total_objects = t.objects ? t.objects - 1 : 0;  /* not the root */
	}
	rc = fs_copy_tree(src, src_path, fs, dst_path, &o, &s);
	progress_end(&p);
	print_copy_stats(verb, &s);
	if (rc < 0)
		return fs_fail(c, fs, rc);
	if (s.failed)
		c->worst = err_worse(c->worst, ERR_ITEM);
	return 0;
}

static int v_copy_in(struct cli_ctx *c, int argc, char **argv)
{
	struct err err = { 0 };
	struct fs *fs = c->obj, *src = NULL;
	const char *dir, *dst;
	int rc = verb_args(c, argc, argv);

	if (rc || !fs)
		return rc;
	dir = argv[optind], dst = argv[optind + 1];
	if (fs_probe(dir, &(enum fs_kind){ 0 }) != 1 ||
	    fs_open(dir, 0, &src, &err) < 0 || fs_kind(src) != FS_KIND_DIR) {
		fs_close(src);
		return err_set(&c->err, -ENOTDIR, "cannot copy in '%s': %s", dir,
			       err.msg[0] ? err.msg : "not a directory");
	}
	rc = copy_tree(c, "copy-in", src, "/", fs, dst);
	fs_close(src);
	return rc;
}

/* copy-out PATH DIR: the mirror of copy-in.  DIR is made when missing and
 * must be empty otherwise (so that its own metadata, taken from PATH, can
 * never be a /tmp or a home directory's); the copy goes through a directory
 * volume, which keeps every write beneath DIR (openat2 RESOLVE_BENEATH), and
 * fs_copy_tree refuses names that are not one plain component. */
static int open_out_dir(struct cli_ctx *c, const char *dir, struct fs **out)
{
	DIR *d;
	struct dirent *e;
	bool empty = true;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_set(&c->err, -errno, "cannot make directory '%s': %s", dir,
			       strerror(errno));
	d = opendir(dir);
	if (!d)
		return err_set(&c->err, -errno, "cannot open directory '%s': %s", dir,
			       strerror(errno));
	while (empty && (e = readdir(d)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	if (!empty)
		return err_setc(&c->err, ERR_FATAL, ERR_REFUSED, -ENOTEMPTY, "copy-out"
				" fills a new or empty directory; '%s' is not empty", dir);
	return fs_open(dir, FS_O_RDWR, out, &c->err);
}

static int v_copy_out(struct cli_ctx *c, int argc, char **argv)
{
	struct fs *fs = c->obj, *dst = NULL;
	int rc = verb_args(c, argc, argv);

	if (rc || !fs)
		return rc;
	rc = stop_install();
	if (rc == 0)
		rc = open_out_dir(c, argv[optind + 1], &dst);
	else
		err_set(&c->err, rc, "cannot catch SIGINT: %s", strerror(-rc));
	if (rc < 0)
		return rc;
	rc = copy_tree(c, "copy-out", fs, argv[optind], dst, "/");
	fs_close(dst);
	return rc;
}

#define RO CLI_VOL_RO
#define RW CLI_VOL_RW
#define RW_MAX (CLI_VOL_RO | CLI_RW_AT_MAX)
static const struct cli_cmd fs_verbs[] = {
	{ "ls", NULL, RO, 0, 1, v_ls, NULL, "[--json] [PATH]", "list a directory (names escaped as debugfs does)" },
	{ "stat", NULL, RO, 1, 1, v_stat, NULL, "[--json] PATH", "all metadata of one object" },
	{ "cat", NULL, RO, 1, 2, v_cat, NULL, "PATH [STREAM]", "a file (or a named stream) to stdout" },
	{ "get", NULL, RO, 2, 2, v_get, NULL, "[-p] PATH LOCAL", "copy a file out (holes kept; LOCAL replaced only when complete; -p: mode, times, owner)" },
	{ "put", NULL, RW, 2, 2, v_put, NULL, "LOCAL PATH", "copy in with mode, owner, times" },
	{ "mkdir", NULL, RW, 1, 2, v_mkdir, NULL, "PATH [MODE]", "make a directory (mode in octal)" },
	{ "rm", NULL, RW, 1, 1, v_rm, NULL, "PATH", "remove a file or an empty directory" },
	{ "mv", NULL, RW, 2, 2, v_mv, NULL, "FROM TO", "rename (replaces a file TO)" },
	{ "ln", NULL, RW, 2, 2, v_ln, NULL, "[-s] EXISTING|TARGET NEW", "a hard link, or with -s a symlink NEW -> TARGET" },
	{ "mknod", NULL, RW, 2, 4, v_mknod, NULL, "PATH c|b MAJOR MINOR | PATH p", "a device node or a fifo" },
	{ "shortname", NULL, RW_MAX, 1, 2, v_shortname, NULL, "PATH [NAME|-]", "show, set or remove the 8.3 name" },
	{ "xattr", NULL, RW_MAX, 1, 3, v_xattr, NULL, "PATH [NAME [VALUE|0xHEX|-]]", "list, show, set or remove extended attributes" },
	{ "sd", NULL, RW_MAX, 1, 2, v_sd, NULL, "PATH [0xHEX]", "show or set the NTFS security descriptor" },
	{ "streams", NULL, RO, 1, 1, v_streams, NULL, "PATH", "NTFS named data streams" },
	{ "copy-in", NULL, RW, 2, 2, v_copy_in, NULL, "LOCALDIR PATH", "copy a local tree in, all metadata" },
	{ "copy-out", NULL, RO, 2, 2, v_copy_out, NULL, "PATH LOCALDIR", "copy a tree out, all metadata (LOCALDIR new or empty)" },
	{ NULL },
};
#undef RO
#undef RW
#undef RW_MAX

static const struct cli_cmd *fs_verb(const char *name)
{
	return cli_find(fs_verbs, name);
}

/* Does this command change the volume?  (CLI_RW_AT_MAX verbs take no
 * options, so their words are their arguments.) */
static bool cmd_writes(const struct cli_cmd *v, int argc)
{
	return (v->flags & CLI_VOL_RW) ||
	       ((v->flags & CLI_RW_AT_MAX) && argc - 1 == v->max_args);
}

/* One command: words from the command line, or from line `lineno` of a
 * script (which then owns text and argv). */
struct fs_line {
	int argc;
	char **argv;
	char *text;
	size_t lineno;
};

struct fs_script {
	const char *path;
	struct fs_line *l;
	size_t n, cap;
};

static void free_script(struct fs_script *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->l[i].text) {
			free(s->l[i].text);
			free(s->l[i].argv);
		}
	free(s->l);
}

/* Split a script line into words; "double quotes" group, '#' starts a
 * comment.  Returns the word count, or -1 for too many / unterminated. */
static int split_line(char *p, char **words)
{
	int n = 0;

	for (;;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '#')
			return n;
		if (n == MAX_WORDS)
			return -1;
		if (*p == '"') {
			words[n++] = ++p;
			p = strchr(p, '"');
			if (!p)
				return -1;
		} else {
			words[n++] = p;
			while (*p && !isspace((unsigned char)*p))
				p++;
			if (!*p)
				return n;
		}
		*p++ = 0;
	}
}

static int add_line(struct cli_ctx *c, struct fs_script *s, const char *line,
		    size_t lineno)
{
	struct fs_line l = { .lineno = lineno };

	if (buf_grow((void **)&s->l, &s->cap, s->n + 1, sizeof(*s->l)) < 0 ||
	    !(l.text = strdup(line)) ||
	    !(l.argv = calloc(MAX_WORDS + 1, sizeof(*l.argv)))) {
		free(l.text);
		return err_set(&c->err, -ENOMEM, "out of memory");
	}
	l.argc = split_line(l.text, l.argv);
	if (l.argc <= 0) {
		free(l.text);
		free(l.argv);
		return l.argc ? cli_usage_err(c, "%s:%zu: unterminated quote or too"
					      " many words", s->path, lineno) : 0;
	}
	s->l[s->n++] = l;
	return 0;
}

/* Read a whole script (checked by the caller before anything runs). */
static int load_script(struct cli_ctx *c, const char *path, struct fs_script *s)
{
	FILE *f = !strcmp(path, "-") ? stdin : fopen(path, "re");
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	int rc = 0;

	s->path = path;
	if (!f)
		return err_set(&c->err, -errno, "cannot read script '%s': %s", path,
			       strerror(errno));
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = 0;
		rc = add_line(c, s, line, ++lineno);
	}
	if (rc == 0 && ferror(f))
		rc = err_set(&c->err, -EIO, "cannot read script '%s': %s", path,
			     strerror(EIO));
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

/* Run line i (or check it, with no volume in c->obj); a failure says
 * which script line it was. */
static int run_line(struct cli_ctx *c, const struct fs_script *s, size_t i)
{
	const struct fs_line *l = &s->l[i];
	const struct cli_cmd *v = fs_verb(l->argv[0]);
	int rc = v ? v->run(c, l->argc, l->argv)
		   : cli_usage_err(c, "unknown verb '%s' (see --help)", l->argv[0]);

	if (rc < 0 && l->lineno)
		err_context(&c->err, "%s line %zu", s->path, l->lineno);
	return rc;
}

/* Check every command, open the volume as they need it, run them.  While
 * the volume is open read-write, SIGINT and SIGTERM only ask for a stop
 * (stop.h): the command running finishes its current object (copy-in: the
 * current file), no further line runs, and the volume is closed cleanly. */
static int run_script(struct cli_ctx *c, const char *vol, unsigned flags,
		      const struct fs_script *s)
{
	struct fs *fs;
	int rc = 0, crc;

	for (size_t i = 0; rc == 0 && i < s->n; i++) {
		rc = run_line(c, s, i);
		if (rc == 0 && cmd_writes(fs_verb(s->l[i].argv[0]), s->l[i].argc))
			flags |= FS_O_RDWR;
	}
	if (rc)
		return rc;
	if ((flags & FS_O_RDWR) && (rc = stop_install()) < 0)
		return err_set(&c->err, rc, "cannot catch SIGINT: %s", strerror(-rc));
	rc = fs_open(vol, flags, &fs, &c->err);
	if (rc < 0)
		return rc;
	c->obj = fs;
	for (size_t i = 0; rc == 0 && i < s->n; i++) {
		if (stop_requested())
			rc = err_setc(&c->err, ERR_FATAL, ERR_SYSTEM, -EINTR, "interrupted"
				      " by %s before script line %zu", stop_signame(),
				      s->l[i].lineno);
		else
			rc = run_line(c, s, i);
	}
	c->obj = NULL;
	crc = fs_close(fs);
	if (crc < 0 && rc == 0)
		rc = err_set(&c->err, crc, "closing %s: %s", vol, strerror(-crc));
	else if (crc < 0)
		err_context(&c->err, "and closing %s failed: %s", vol, strerror(-crc));
	else if (rc == -EINTR && stop_requested())
		err_context(&c->err, "%s was closed cleanly", vol);
	return rc;
}

static void fs_usage(FILE *out)
{
	fprintf(out, "usage: sysrecover fs [--replay-journal] VOL VERB [ARGS]\n"
		"       sysrecover fs [--replay-journal] VOL -f SCRIPT|-\n\n"
		"VOL: an ext2/3/4 or NTFS device or image (IMAGE@N for a partition,\n"
		"     UUID=, LABEL=, PARTUUID=), or a directory.  The volume must not\n"
		"     be mounted; it is opened read-write only when a verb writes.\n"
		"-f SCRIPT: one verb per line (\"double quotes\" group words, # starts\n"
		"     a comment), all checked before the first one runs.\n"
		"'sysrecover fs VOL VERB --help' describes one verb.\n\n"
		"verbs:\n");
	cli_usage(out, "", fs_verbs);
}

struct fs_opts {
	unsigned flags;
	const char *script;
};

/* The group's options, before or after VOL (argv[0] is what precedes
 * them): 0, CLI_DONE for --help, or a usage error. */
static int parse_opts(struct cli_ctx *c, int argc, char **argv,
		      struct fs_opts *o)
{
	static const struct option opts[] = {
		{ "replay-journal", no_argument, NULL, 'j' },
		{ "file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+hf:", opts, NULL)) != -1) {
		if (opt == 'j') {
			o->flags |= FS_O_REPLAY_JOURNAL;
		} else if (opt == 'f') {
			o->script = optarg;
		} else if (opt == 'h') {
			fs_usage(stdout);
			return CLI_DONE;
		} else {
			return cli_bad_option(c, argc, argv);
		}
	}
	return 0;
}

/* sysrecover fs [OPTIONS] VOL [OPTIONS] (VERB [ARGS] | -f SCRIPT) */
static int fs_group(struct cli_ctx *c, int argc, char **argv)
{
	struct fs_opts o = { 0 };
	struct fs_script s = { 0 };
	struct fs_line one = { 0 };
	int rc = parse_opts(c, argc, argv, &o);

	if (rc == 0 && optind == argc) {
		fs_usage(stderr);
		rc = cli_usage_err(c, "fs: which volume?");
	}
	if (rc == 0) {
		argc -= optind, argv += optind;  /* argv[0] is VOL */
		rc = parse_opts(c, argc, argv, &o);
	}
	if (rc == 0 && !o.script == (optind == argc))
		rc = cli_usage_err(c, "fs: %s (see --help)", o.script ?
				   "-f SCRIPT, or a verb, not both" : "which verb?");
	if (rc == 0 && o.script)
		rc = load_script(c, o.script, &s);
	else if (rc == 0)
		one = (struct fs_line){ .argc = argc - optind, .argv = argv + optind },
		s = (struct fs_script){ .n = 1, .l = &one };
	if (rc == 0)
		rc = run_script(c, argv[0], o.flags, &s);
	if (o.script)
		free_script(&s);
	return rc == CLI_DONE ? 0 : rc;
}

const struct cli_cmd cli_fs_cmd = {
	.name = "fs", .run = fs_group, .max_args = -1,
	.args = "VOL VERB [ARG]...",
	.summary = "debugfs-like access to unmounted ext/NTFS volumes and directories",
};
