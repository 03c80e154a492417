/* cmd_fs.c - `sysrecover fs VOL VERB ...`: a small debugfs for a rescue shell.
 *
 * The same verbs work on ext and NTFS volumes (not mounted) and on plain
 * directories.  The volume is opened read-write only when a verb needs it,
 * and a script (-f) is parsed whole before anything runs.
 */
#include <ctype.h>
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

#include "cli.h"
#include "err.h"
#include "text.h"
#include "fs.h"

#define MAX_ARGS 8
#define COPY_BUF (1u << 20)

struct fs_cmd {
	int argc;
	char *argv[MAX_ARGS];
};

struct fs_verb {
	const char *name;
	int min, max;     /* arguments after the verb */
	bool writes;
	int (*run)(struct fs *fs, int argc, char **argv);
	const char *help;
};

static int fail(struct fs *fs, int rc)
{
	err_say("%s", *fs_errmsg(fs) ? fs_errmsg(fs) : strerror(-rc));
	return rc;
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

static int ls_one(void *arg, const char *name, const struct fs_stat *st)
{
	char t[64];

	(void)arg;
	fmt_time(&st->mtime, t, sizeof(t));
	printf("%c%04o %3u %5u %5u %12" PRIu64 " %s %s\n", type_char(st->mode),
	       st->mode & 07777, st->nlink, st->uid, st->gid, st->size, t, name);
	return 0;
}

static int v_ls(struct fs *fs, int argc, char **argv)
{
	int rc = fs_readdir(fs, argc ? argv[0] : "/", ls_one, NULL);

	return rc < 0 ? fail(fs, rc) : 0;
}

static int v_stat(struct fs *fs, int argc, char **argv)
{
	struct fs_stat st;
	char a[64], m[64], c[64], b[64];
	int rc = fs_lookup(fs, argv[0], &st);

	(void)argc;
	if (rc < 0)
		return fail(fs, rc);
	fmt_time(&st.atime, a, sizeof(a));
	fmt_time(&st.mtime, m, sizeof(m));
	fmt_time(&st.ctime, c, sizeof(c));
	fmt_time(&st.btime, b, sizeof(b));
	printf("path: %s\ninode: %" PRIu64 "\ntype: %c\nmode: %04o\nlinks: %u\n"
	       "uid: %u\ngid: %u\nsize: %" PRIu64 "\nallocated: %" PRIu64 "\n"
	       "atime: %s\nmtime: %s\nctime: %s\nbtime: %s\n", argv[0], st.ino,
	       type_char(st.mode), st.mode & 07777, st.nlink, st.uid, st.gid,
	       st.size, st.alloc, a, m, c, st.btime.tv_sec ? b : "-");
	if (S_ISCHR(st.mode) || S_ISBLK(st.mode))
		printf("device: %u,%u\n", st.rdev_major, st.rdev_minor);
	if (fs_kind(fs) == FS_KIND_NTFS)
		printf("attributes: 0x%08x\n", st.attrib);
	return 0;
}

/* Copy a file's data out of the volume to fd, holes kept as holes. */
static int copy_out(struct fs *fs, struct fs_file *f, uint64_t size, int fd)
{
	char *buf = malloc(COPY_BUF);
	uint64_t off = 0, doff, dlen;
	int rc = buf ? 0 : -ENOMEM;

	while (rc == 0 && off < size) {
		rc = fs_file_next_data(f, off, &doff, &dlen);
		if (rc == -ENXIO || rc == -EOPNOTSUPP) {
			if (rc == -EOPNOTSUPP)  /* no sparse map: read it all */
				doff = off, dlen = size - off, rc = 0;
			else
				break;
		}
		for (uint64_t end = doff + dlen; rc == 0 && doff < end && doff < size;) {
			size_t want = end - doff < COPY_BUF ? (size_t)(end - doff) : COPY_BUF;
			ssize_t n = fs_file_pread(f, buf, want, doff);

			if (n <= 0) {
				rc = n < 0 ? (int)n : -EIO;
				break;
			}
			if (pwrite(fd, buf, (size_t)n, (off_t)doff) != n)
				rc = -errno;
			doff += (uint64_t)n;
		}
		off = doff;
	}
	if (rc == -ENXIO)
		rc = 0;
	if (rc == 0 && ftruncate(fd, (off_t)size) < 0 && errno != EINVAL)
		rc = -errno;  /* EINVAL: a pipe or terminal has no size */
	free(buf);
	(void)fs;
	return rc;
}

static int get_to_fd(struct fs *fs, const char *path, const char *stream, int fd)
{
	struct fs_file *f = NULL;
	struct fs_stat st;
	int rc = fs_lookup(fs, path, &st);

	if (rc == 0 && stream) {
		uint64_t off = 0;
		char *buf = malloc(COPY_BUF);
		ssize_t n = 0;

		rc = fs_file_open(fs, path, stream, 0, &f);
		while (rc == 0 && buf && (n = fs_file_pread(f, buf, COPY_BUF, off)) > 0) {
			if (write(fd, buf, (size_t)n) != n)
				rc = -errno;
			off += (uint64_t)n;
		}
		if (rc == 0 && n < 0)
			rc = (int)n;
		free(buf);
	} else if (rc == 0) {
		rc = fs_file_open(fs, path, NULL, 0, &f);
		if (rc == 0)
			rc = copy_out(fs, f, st.size, fd);
	}
	fs_file_close(f);
	return rc < 0 ? fail(fs, rc) : 0;
}

static int v_cat(struct fs *fs, int argc, char **argv)
{
	return get_to_fd(fs, argv[0], argc > 1 ? argv[1] : NULL, STDOUT_FILENO);
}

static int v_get(struct fs *fs, int argc, char **argv)
{
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), rc;

	(void)argc;
	if (fd < 0) {
		err_say("cannot create '%s': %s", argv[1], strerror(errno));
		return -errno;
	}
	rc = get_to_fd(fs, argv[0], NULL, fd);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* Copy fd into an open volume file, skipping the source's holes. */
static int copy_in(struct fs_file *f, int fd, uint64_t size)
{
	char *buf = malloc(COPY_BUF);
	off_t off = 0;
	int rc = buf ? 0 : -ENOMEM;

	while (rc == 0 && (uint64_t)off < size) {
		off_t d = lseek(fd, off, SEEK_DATA), h;

		if (d < 0)
			break;  /* ENXIO: only a hole is left */
		h = lseek(fd, d, SEEK_HOLE);
		for (off = d; rc == 0 && off < h;) {
			ssize_t n = pread(fd, buf, (size_t)(h - off) < COPY_BUF ?
					  (size_t)(h - off) : COPY_BUF, off);

			if (n <= 0) {
				rc = n < 0 ? -errno : -EIO;
				break;
			}
			if (fs_file_pwrite(f, buf, (size_t)n, (uint64_t)off) != n)
				rc = -EIO;
			off += n;
		}
	}
	if (rc == 0)
		rc = fs_file_truncate(f, size);
	free(buf);
	return rc;
}

static void put_meta(struct fs *fs, const char *path, const struct stat *sb)
{
	struct fs_times t = { .mask = FS_T_ATIME | FS_T_MTIME, .atime = sb->st_atim,
			      .mtime = sb->st_mtim };

	if (fs_caps(fs) & FS_CAP_OWNER) {
		fs_set_owner(fs, path, sb->st_uid, sb->st_gid);
		fs_set_mode(fs, path, sb->st_mode & 07777);
	}
	fs_set_times(fs, path, &t);
}

static int v_put(struct fs *fs, int argc, char **argv)
{
	struct fs_file *f = NULL;
	struct stat sb;
	int fd = open(argv[0], O_RDONLY | O_CLOEXEC), rc;

	(void)argc;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		err_say("cannot read '%s': %s", argv[0], strerror(errno));
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	rc = fs_create(fs, argv[1], sb.st_mode & 07777);
	if (rc == 0)
		rc = fs_file_open(fs, argv[1], NULL, FS_F_WRITE, &f);
	if (rc == 0)
		rc = copy_in(f, fd, (uint64_t)sb.st_size);
	if (f) {
		int crc = fs_file_close(f);

		rc = rc ? rc : crc;
	}
	close(fd);
	if (rc == 0)
		put_meta(fs, argv[1], &sb);
	return rc < 0 ? fail(fs, rc) : 0;
}

static int v_mkdir(struct fs *fs, int argc, char **argv)
{
	unsigned long mode = argc > 1 ? strtoul(argv[1], NULL, 8) : 0755;
	int rc = fs_mkdir(fs, argv[0], (uint32_t)mode);

	return rc < 0 ? fail(fs, rc) : 0;
}

static int v_rm(struct fs *fs, int argc, char **argv)
{
	struct fs_stat st;
	int rc = fs_lookup(fs, argv[0], &st);

	(void)argc;
	if (rc == 0)
		rc = S_ISDIR(st.mode) ? fs_rmdir(fs, argv[0]) : fs_unlink(fs, argv[0]);
	return rc < 0 ? fail(fs, rc) : 0;
}

static int v_mv(struct fs *fs, int argc, char **argv)
{
	int rc = fs_rename(fs, argv[0], argv[1], 0);

	(void)argc;
	return rc < 0 ? fail(fs, rc) : 0;
}

/* ln EXISTING NEW, or ln -s TARGET NEW */
static int v_ln(struct fs *fs, int argc, char **argv)
{
	int rc;

	if (argc == 3 && !strcmp(argv[0], "-s"))
		rc = fs_symlink(fs, argv[2], argv[1]);
	else if (argc == 2)
		rc = fs_link(fs, argv[0], argv[1]);
	else {
		err_say("usage: ln EXISTING NEW | ln -s TARGET NEW");
		return -EINVAL;
	}
	return rc < 0 ? fail(fs, rc) : 0;
}

static int v_mknod(struct fs *fs, int argc, char **argv)
{
	uint32_t type = !strcmp(argv[1], "c") ? S_IFCHR : !strcmp(argv[1], "b") ?
			S_IFBLK : !strcmp(argv[1], "p") ? S_IFIFO : 0;
	unsigned long ma = argc > 3 ? strtoul(argv[2], NULL, 0) : 0;
	unsigned long mi = argc > 3 ? strtoul(argv[3], NULL, 0) : 0;
	int rc;

	if (!type || (type != S_IFIFO && argc < 4)) {
		err_say("usage: mknod PATH c|b MAJOR MINOR | mknod PATH p");
		return -EINVAL;
	}
	rc = fs_mknod(fs, argv[0], type | 0644, (uint32_t)ma, (uint32_t)mi);
	return rc < 0 ? fail(fs, rc) : 0;
}

static int v_shortname(struct fs *fs, int argc, char **argv)
{
	char buf[64];
	ssize_t n;
	int rc;

	if (argc == 1) {
		n = fs_shortname_get(fs, argv[0], buf, sizeof(buf));
		if (n < 0)
			return fail(fs, (int)n);
		printf("%s\n", n ? buf : "(none)");
		return 0;
	}
	rc = !strcmp(argv[1], "-") ? fs_shortname_remove(fs, argv[0])
				   : fs_shortname_set(fs, argv[0], argv[1]);
	return rc < 0 ? fail(fs, rc) : 0;
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
	printf("%s\n", name);
	return 0;
}

/* Decode "0x..." hex or take the text as it is. */
static unsigned char *parse_value(const char *s, size_t *len)
{
	size_t n = strlen(s);
	unsigned char *v;

	if (n >= 2 && s[0] == '0' && s[1] == 'x' && n % 2 == 0) {
		v = malloc(n / 2);
		for (size_t i = 2; v && i < n; i += 2) {
			unsigned x;

			if (sscanf(s + i, "%2x", &x) != 1) {
				free(v);
				return NULL;
			}
			v[i / 2 - 1] = (unsigned char)x;
		}
		*len = n / 2 - 1;
		return v;
	}
	*len = n;
	return (unsigned char *)strdup(s);
}

static int show_xattr(struct fs *fs, const char *path, const char *name)
{
	ssize_t n = fs_xattr_get(fs, path, name, NULL, 0);
	unsigned char *buf;

	if (n < 0)
		return fail(fs, (int)n);
	buf = malloc((size_t)n + 1);
	if (!buf)
		return -ENOMEM;
	n = fs_xattr_get(fs, path, name, buf, (size_t)n);
	if (n >= 0)
		print_value(buf, (size_t)n);
	free(buf);
	return n < 0 ? fail(fs, (int)n) : 0;
}

/* xattr PATH | xattr PATH NAME | xattr PATH NAME VALUE | xattr PATH NAME - */
static int v_xattr(struct fs *fs, int argc, char **argv)
{
	unsigned char *v;
	size_t len;
	int rc;

	if (argc == 1)
		rc = fs_xattr_list(fs, argv[0], xattr_name, NULL);
	else if (argc == 2)
		return show_xattr(fs, argv[0], argv[1]);
	else if (!strcmp(argv[2], "-"))
		rc = fs_xattr_remove(fs, argv[0], argv[1]);
	else {
		v = parse_value(argv[2], &len);
		if (!v) {
			err_say("bad value '%s'", argv[2]);
			return -EINVAL;
		}
		rc = fs_xattr_set(fs, argv[0], argv[1], v, len);
		free(v);
	}
	return rc < 0 ? fail(fs, rc) : 0;
}

/* The security descriptor, as hex (system.ntfs_acl). */
static int v_sd(struct fs *fs, int argc, char **argv)
{
	char *a[3] = { argv[0], "system.ntfs_acl", argc > 1 ? argv[1] : NULL };

	return v_xattr(fs, argc + 1, a);
}

static int stream_one(void *arg, const char *name, uint64_t size)
{
	(void)arg;
	printf("%12" PRIu64 " %s\n", size, name);
	return 0;
}

static int v_streams(struct fs *fs, int argc, char **argv)
{
	int rc = fs_stream_list(fs, argv[0], stream_one, NULL);

	(void)argc;
	return rc < 0 ? fail(fs, rc) : 0;
}

/* copy-in LOCALDIR PATH: a whole local tree onto the volume (fs_copy_tree). */
static int copy_in_report(void *arg, const char *path, int err, const char *why)
{
	(void)arg;
	if (err < 0)
		err_say("%s", why);
	else
		err_warn("%s: %s", path, why);
	return 0;
}

static int v_copy_in(struct fs *fs, int argc, char **argv)
{
	struct fs_copy_opts o = { .keep_going = true, .report = copy_in_report };
	struct fs_copy_stats s;
	struct err err = { 0 };
	struct fs *src = NULL;
	int rc;

	(void)argc;
	if (fs_probe(argv[0], &(enum fs_kind){ 0 }) != 1 ||
	    fs_open(argv[0], 0, &src, &err) < 0 || fs_kind(src) != FS_KIND_DIR) {
		err_say("cannot copy in '%s': %s", argv[0], err.msg[0] ? err.msg :
		       "not a directory");
		fs_close(src);
		return -ENOTDIR;
	}
	rc = fs_copy_tree(src, "/", fs, argv[1], &o, &s);
	fs_close(src);
	fprintf(stderr, "copy-in: %" PRIu64 " files, %" PRIu64 " dirs, %" PRIu64
		" symlinks, %" PRIu64 " special, %" PRIu64 " hard links, %" PRIu64
		" bytes; skipped %" PRIu64 ", owner not kept %" PRIu64 ", metadata not"
		" kept %" PRIu64 ", failed %" PRIu64 "\n", s.files, s.dirs, s.symlinks,
		s.specials, s.links, s.bytes, s.skipped, s.no_owner, s.no_meta, s.failed);
	if (rc < 0)
		return fail(fs, rc);
	return s.failed ? -EIO : 0;
}

static const struct fs_verb fs_verbs[] = {
	{ "ls", 0, 1, false, v_ls, "[PATH]            list a directory" },
	{ "stat", 1, 1, false, v_stat, "PATH            all metadata of one object" },
	{ "cat", 1, 2, false, v_cat, "PATH [STREAM]    file (or named stream) to stdout" },
	{ "get", 2, 2, false, v_get, "PATH LOCAL       copy out, holes kept" },
	{ "put", 2, 2, true, v_put, "LOCAL PATH       copy in with mode, owner, times" },
	{ "mkdir", 1, 2, true, v_mkdir, "PATH [MODE]    make a directory" },
	{ "rm", 1, 1, true, v_rm, "PATH              remove a file or empty directory" },
	{ "mv", 2, 2, true, v_mv, "FROM TO           rename (replaces a file TO)" },
	{ "ln", 2, 3, true, v_ln, "EXISTING NEW | ln -s TARGET NEW" },
	{ "mknod", 2, 4, true, v_mknod, "PATH c|b MAJ MIN | PATH p" },
	{ "shortname", 1, 2, false, v_shortname, "PATH [NAME|-]  show, set or remove the 8.3 name" },
	{ "xattr", 1, 3, false, v_xattr, "PATH [NAME [VALUE|0xHEX|-]]" },
	{ "sd", 1, 2, false, v_sd, "PATH [0xHEX]      NTFS security descriptor" },
	{ "streams", 1, 1, false, v_streams, "PATH       NTFS named data streams" },
	{ "copy-in", 2, 2, true, v_copy_in, "LOCALDIR PATH  copy a local tree in, all metadata" },
};

#define NFSVERBS (sizeof(fs_verbs) / sizeof(fs_verbs[0]))

static const struct fs_verb *find_fs_verb(const char *name)
{
	for (size_t i = 0; i < NFSVERBS; i++)
		if (!strcmp(name, fs_verbs[i].name))
			return &fs_verbs[i];
	return NULL;
}

/* Does this command change the volume? (xattr/shortname/sd with a value) */
static bool cmd_writes(const struct fs_verb *v, const struct fs_cmd *c)
{
	if (v->writes)
		return true;
	if (v->run == v_xattr)
		return c->argc == 4;
	if (v->run == v_shortname || v->run == v_sd)
		return c->argc == 3;
	return false;
}

static int check_cmd(const struct fs_cmd *c, const char *where)
{
	const struct fs_verb *v = find_fs_verb(c->argv[0]);

	if (!v) {
		err_say("%sunknown verb '%s' (see --help)", where, c->argv[0]);
		return -EINVAL;
	}
	if (c->argc - 1 < v->min || c->argc - 1 > v->max) {
		err_say("%s%s: wrong number of arguments (usage: %s %s)", where,
		       v->name, v->name, v->help);
		return -EINVAL;
	}
	return 0;
}

/* Split a script line into words; "double quotes" group, '#' starts a
 * comment.  Returns the word count, or -1 for too many / unterminated. */
static int split_line(char *line, struct fs_cmd *c)
{
	char *p = line;

	c->argc = 0;
	for (;;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '#')
			return c->argc;
		if (c->argc == MAX_ARGS)
			return -1;
		if (*p == '"') {
			c->argv[c->argc++] = ++p;
			p = strchr(p, '"');
			if (!p)
				return -1;
		} else {
			c->argv[c->argc++] = p;
			while (*p && !isspace((unsigned char)*p))
				p++;
			if (!*p)
				return c->argc;
		}
		*p++ = 0;
	}
}

struct fs_script {
	struct fs_cmd *cmd;
	char **lines;
	size_t n;
};

static void free_script(struct fs_script *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->lines[i]);
	free(s->lines);
	free(s->cmd);
}

/* Read and check a whole script before anything runs. */
static int load_script(const char *path, struct fs_script *s)
{
	FILE *f = !strcmp(path, "-") ? stdin : fopen(path, "re");
	char *line = NULL, where[64];
	size_t cap = 0, lineno = 0;
	int rc = 0;

	if (!f) {
		err_say("cannot read script '%s': %s", path, strerror(errno));
		return -errno;
	}
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		struct fs_cmd c;
		int w;

		lineno++;
		line[strcspn(line, "\n")] = 0;
		s->lines = realloc(s->lines, (s->n + 1) * sizeof(*s->lines));
		s->cmd = realloc(s->cmd, (s->n + 1) * sizeof(*s->cmd));
		if (!s->lines || !s->cmd || !(s->lines[s->n] = strdup(line)))
			return -ENOMEM;
		w = split_line(s->lines[s->n], &c);
		snprintf(where, sizeof(where), "%s:%zu: ", path, lineno);
		if (w < 0) {
			err_say("%sunterminated quote or too many words", where);
			rc = -EINVAL;
		} else if (w > 0 && (rc = check_cmd(&c, where)) == 0) {
			s->cmd[s->n] = c;
		}
		s->n += w > 0 || rc;
		if (w == 0)
			free(s->lines[s->n]);
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

static void fs_usage(FILE *out)
{
	fprintf(out, "usage: sysrecover fs [--replay-journal] VOL VERB [ARGS]\n"
		"       sysrecover fs [--replay-journal] VOL -f SCRIPT|-\n\n"
		"VOL: an ext2/3/4 or NTFS device or image (IMAGE@N for a partition,\n"
		"     UUID=, LABEL=, PARTUUID=), or a directory.  The volume must not\n"
		"     be mounted; it is opened read-write only when a verb writes.\n\n"
		"verbs:\n");
	for (size_t i = 0; i < NFSVERBS; i++)
		fprintf(out, "  %-10s %s\n", fs_verbs[i].name, fs_verbs[i].help);
}

static int run_cmds(const char *vol, unsigned flags, struct fs_cmd *cmds,
		    size_t n)
{
	struct err err = { 0 };
	struct fs *fs = NULL;
	int rc = 0, crc;

	for (size_t i = 0; i < n; i++)
		if (cmd_writes(find_fs_verb(cmds[i].argv[0]), &cmds[i]))
			flags |= FS_O_RDWR;
	rc = fs_open(vol, flags, &fs, &err);
	if (rc < 0) {
		err_say("%s", err.msg);
		return ERR_EXIT_FAILED;
	}
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = find_fs_verb(cmds[i].argv[0])->run(fs, cmds[i].argc - 1,
							cmds[i].argv + 1);
	crc = fs_close(fs);
	if (crc < 0 && rc == 0) {
		err_say("closing %s: %s", vol, strerror(-crc));
		rc = crc;
	}
	return rc < 0 ? ERR_EXIT_FAILED : ERR_EXIT_OK;
}

int cli_fs(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "replay-journal", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct fs_script s = { 0 };
	struct fs_cmd one = { 0 };
	unsigned flags = 0;
	int o, rc;

	optind = 1;
	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (o == 'j')
			flags |= FS_O_REPLAY_JOURNAL;
		else {
			fs_usage(o == 'h' ? stdout : stderr);
			return o == 'h' ? ERR_EXIT_OK : ERR_EXIT_USAGE;
		}
	}
	if (argc - optind < 2) {
		fs_usage(stderr);
		return ERR_EXIT_USAGE;
	}
	if (!strcmp(argv[optind + 1], "-f")) {
		if (argc - optind != 3 || load_script(argv[optind + 2], &s) < 0) {
			free_script(&s);
			return ERR_EXIT_USAGE;
		}
		rc = run_cmds(argv[optind], flags, s.cmd, s.n);
		free_script(&s);
		return rc;
	}
	one.argc = argc - optind - 1;
	if (one.argc > MAX_ARGS) {
		err_say("too many arguments");
		return ERR_EXIT_USAGE;
	}
	memcpy(one.argv, argv + optind + 1, (size_t)one.argc * sizeof(char *));
	if (check_cmd(&one, "") < 0)
		return ERR_EXIT_USAGE;
	return run_cmds(argv[optind], flags, &one, 1);
}

/* TRANSITIONAL: the group as a struct cli_cmd, around its old entry point. */
static int fs_legacy(struct cli_ctx *c, int argc, char **argv)
{
	c->legacy_exit = cli_fs(argc, argv);
	return 0;
}

const struct cli_cmd cli_fs_cmd = {
	.name = "fs", .run = fs_legacy, .max_args = -1,
	.args = "VOL VERB [ARG]...",
	.summary = "debugfs-like access to unmounted ext/NTFS volumes and directories",
};
