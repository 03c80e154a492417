/* tape_simh.c - a virtual tape kept in SIMH .tap image files.
 *
 * Partition 0 is the image itself, a plain SIMH file that other tools read.
 * A second partition, when made, lives beside it in IMAGE.p1.  Because a real
 * no-rewind drive keeps its position and settings between programs, so does
 * this one: IMAGE.state records them at close (it is safe to delete; the drive
 * then starts at BOT with default settings).  The state only stands if the
 * images are exactly as it last saw them, so an image changed by another tool
 * is never addressed through a stale position.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tape_impl.h"

#define STATE_MAGIC "sysrecover-vtape 1"

struct simh_store {
	char *path[TAPE_V_MAX_PARTS];
	char *state_path;
	int fd[TAPE_V_MAX_PARTS];
	uint64_t kicked[TAPE_V_MAX_PARTS];  /* writeback started below this */
	unsigned n;
	bool read_only;
};

/* Writeback of what a stream of records leaves behind is started every
 * SIMH_KICK bytes (sync_file_range, which does not wait for it), as a
 * drive writes while it is fed: otherwise the page cache holds a whole
 * backup set and the final fdatasync writes it all at once, the writer
 * idle until then. */
#define SIMH_KICK (8u << 20)

static ssize_t simh_pread(void *s, unsigned part, void *buf, size_t n,
			  uint64_t off)
{
	struct simh_store *h = s;
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(h->fd[part], (char *)buf + got, n - got,
				  (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int simh_pwritev(void *s, unsigned part, const struct iovec *iov,
			int cnt, uint64_t off)
{
	struct simh_store *h = s;
	struct iovec v[4];
	int i = 0;

	if (cnt > 4)
		return -EINVAL;
	memcpy(v, iov, (size_t)cnt * sizeof(*v));
	while (i < cnt) {
		ssize_t w = pwritev(h->fd[part], v + i, cnt - i, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		off += (uint64_t)w;
		while (i < cnt && (size_t)w >= v[i].iov_len)
			w -= (ssize_t)v[i++].iov_len;
		if (i < cnt) {
			v[i].iov_base = (char *)v[i].iov_base + w;
			v[i].iov_len -= (size_t)w;
		}
	}
	if (off < h->kicked[part])
		h->kicked[part] = off;   /* rewritten lower down (after a rewind) */
	if (off - h->kicked[part] >= SIMH_KICK) {
		/* advice only: a failure shows at the fdatasync that follows */
		(void)sync_file_range(h->fd[part], (off_t)h->kicked[part],
				      (off_t)(off - h->kicked[part]), SYNC_FILE_RANGE_WRITE);
		h->kicked[part] = off;
	}
	return 0;
}

static int simh_truncate(void *s, unsigned part, uint64_t size)
{
	struct simh_store *h = s;

	return ftruncate(h->fd[part], (off_t)size) < 0 ? -errno : 0;
}

static int simh_size(void *s, unsigned part, uint64_t *size)
{
	struct simh_store *h = s;
	struct stat sb;

	if (fstat(h->fd[part], &sb) < 0)
		return -errno;
	*size = (uint64_t)sb.st_size;
	return 0;
}

static int simh_read_all(int fd, uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t r = read(fd, buf, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EIO;
		buf += r;
		len -= (size_t)r;
	}
	return 0;
}

static int open_part(struct simh_store *h, unsigned i, bool create)
{
	int fl = h->read_only ? O_RDONLY : O_RDWR | (create ? O_CREAT : 0);

	h->fd[i] = open(h->path[i], fl | O_CLOEXEC, 0644);
	return h->fd[i] < 0 ? -errno : 0;
}

static int simh_set_parts(void *s, unsigned n)
{
	struct simh_store *h = s;
	int rc;

	if (ftruncate(h->fd[0], 0) < 0)
		return -errno;
	if (n == 2) {
		if (h->fd[1] < 0) {
			rc = open_part(h, 1, true);
			if (rc < 0)
				return rc;
		}
		if (ftruncate(h->fd[1], 0) < 0)
			return -errno;
	} else if (h->fd[1] >= 0) {
		close(h->fd[1]);
		h->fd[1] = -1;
		if (unlink(h->path[1]) < 0 && errno != ENOENT)
			return -errno;
	}
	h->n = n;
	return 0;
}

static unsigned simh_parts(void *s)
{
	return ((struct simh_store *)s)->n;
}

static int simh_sync(void *s)
{
	struct simh_store *h = s;

	for (unsigned i = 0; i < h->n; i++)
		if (fdatasync(h->fd[i]) < 0)
			return -errno;
	return 0;
}

/* The stamp ties saved state to the exact bytes it described. */
static void stamp(struct simh_store *h, unsigned i, uint64_t *size,
		  uint64_t *mtime)
{
	struct stat sb;

	*size = *mtime = UINT64_MAX;
	if (h->fd[i] >= 0 && fstat(h->fd[i], &sb) == 0) {
		*size = (uint64_t)sb.st_size;
		*mtime = (uint64_t)sb.st_mtim.tv_sec * 1000000000u +
			 (uint64_t)sb.st_mtim.tv_nsec;
	}
}

static int save_state(struct simh_store *h, const struct tape_vstate *st)
{
	char *tmp = NULL;
	FILE *f = NULL;
	int rc = -ENOMEM;
	uint64_t sz, mt;

	if (asprintf(&tmp, "%s.tmp", h->state_path) < 0) {
		tmp = NULL;
		goto out;
	}
	f = fopen(tmp, "we");
	rc = -errno;
	if (!f)
		goto out;
	fprintf(f, "%s\ncapacity %" PRIu64 "\new_zone %" PRIu64
		"\nsplit_mb %ld\npartition %u\nposition %" PRIu64
		"\nblock_size %" PRIu32 "\ncompression %d\nlocked %d\nloaded %d\n",
		STATE_MAGIC, st->capacity, st->ew_zone, st->split_mb, st->part,
		st->pos, st->block_size, st->compression, st->locked, st->loaded);
	for (unsigned i = 0; i < h->n; i++) {
		stamp(h, i, &sz, &mt);
		fprintf(f, "stamp%u %" PRIu64 " %" PRIu64 "\n", i, sz, mt);
	}
	rc = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	f = NULL;
	if (rc == 0 && rename(tmp, h->state_path) < 0)
		rc = -errno;
out:
	if (f)
		fclose(f);
	if (rc < 0 && tmp)
		unlink(tmp);
	free(tmp);
	return rc;
}

static int simh_close(void *s, const struct tape_vstate *st)
{
	struct simh_store *h = s;
	int rc = 0;

	if (st && !h->read_only) {
		rc = simh_sync(h);
		if (rc == 0)
			rc = save_state(h, st);
	}
	for (unsigned i = 0; i < TAPE_V_MAX_PARTS; i++) {
		if (h->fd[i] >= 0)
			close(h->fd[i]);
		free(h->path[i]);
	}
	free(h->state_path);
	free(h);
	return rc;
}

/* IMAGE.idx (IMAGE.p1.idx): the stamp of the image it describes, then the
 * index blob.  Written through a temporary file and rename.
 *
 * The stamp is what the kernel keeps of the image: device, inode, size,
 * mtime and ctime, in nanoseconds.  Any program can put an mtime back
 * (touch -d, utimensat), but none can choose the ctime: every change of the
 * bytes (write, truncate, a file renamed over it) sets it to the clock, and
 * so does putting an mtime back.  Only a change within the same tick of the
 * timestamp clock as the stamped ctime would keep it; so the index is only
 * marked exact when the clock has moved past the image's ctime (a timestamp
 * the filesystem gives our temporary file) before the index is checked
 * against the image's bytes: whatever changes the image after that check
 * began gets a later ctime.  Otherwise the index is kept unmarked, and the
 * next open checks it against the image (tape_virt.c).
 *
 * A mark by someone else is not believed: an exact index must be a regular
 * file owned by us or by root that no one else may write, on the image's
 * filesystem.  Whoever can still forge one could equally rewrite the image.
 *   u64 magic "SRVSTMP1", size, mtime ns, ctime ns, dev, ino, flags
 *   (bit 0: exact), then the blob                      (native byte order)
 */
#define IDX_STAMP_MAGIC 0x31504d5453565253ull  /* "SRVSTMP1" */
#define IDX_STAMP_WORDS 7
#define IDX_EXACT 1u
#define SETTLE_TRIES 40  /* of 1 ms: a jiffy is 10 ms at HZ=100 */

static int idx_path(struct simh_store *h, unsigned part, char **out)
{
	return asprintf(out, "%s.idx", h->path[part]) < 0 ? -ENOMEM : 0;
}

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

static void stamp_words(const struct stat *sb, uint64_t w[IDX_STAMP_WORDS])
{
	w[0] = IDX_STAMP_MAGIC;
	w[1] = (uint64_t)sb->st_size;
	w[2] = ts_ns(&sb->st_mtim);
	w[3] = ts_ns(&sb->st_ctim);
	w[4] = (uint64_t)sb->st_dev;
	w[5] = (uint64_t)sb->st_ino;
	w[6] = 0;
}

/* Wait (briefly) until the filesystem's clock, read as the mtime it gives
 * `fd` (the new index, beside the image), has moved past the image's ctime,
 * and return the image's stat in *img.  False if it does not within
 * SETTLE_TRIES ms (a filesystem with a coarse clock), or if the two files
 * are not on one filesystem. */
static bool settled(struct simh_store *h, unsigned part, int fd, struct stat *img)
{
	const struct timespec ms = { 0, 1000000 };
	struct stat ib;

	for (int i = 0; i < SETTLE_TRIES; i++) {
		if (i)
			nanosleep(&ms, NULL);
		if (futimens(fd, NULL) < 0 || fstat(fd, &ib) < 0 ||
		    fstat(h->fd[part], img) < 0 || ib.st_dev != img->st_dev)
			return false;
		if (ts_ns(&img->st_ctim) < ts_ns(&ib.st_mtim))
			return true;
	}
	return false;
}

static int write_all(int fd, const void *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		buf = (const char *)buf + w;
		len -= (size_t)w;
	}
	return 0;
}

static int simh_index_save(void *s, unsigned part, const uint8_t *blob,
			   size_t len, bool (*exact)(void *arg, unsigned part),
			   void *arg)
{
	struct simh_store *h = s;
	char *path = NULL, *tmp = NULL;
	uint64_t st[IDX_STAMP_WORDS];
	struct stat img;
	bool sure = false;
	int fd = -1, rc = idx_path(h, part, &path);

	if (rc == 0 && asprintf(&tmp, "%s.tmp", path) < 0)
		tmp = NULL, rc = -ENOMEM;
	if (rc < 0)
		goto out;
	/* The bytes reach the disk before an index that vouches for them. */
	if (fdatasync(h->fd[part]) < 0)
		goto fail;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || fchmod(fd, 0644) < 0)
		goto fail;
	if (settled(h, part, fd, &img))
		sure = exact && exact(arg, part);
	else if (fstat(h->fd[part], &img) < 0)
		goto fail;
	stamp_words(&img, st);
	st[6] = sure ? IDX_EXACT : 0;
	rc = write_all(fd, st, sizeof(st));
	if (rc == 0)
		rc = write_all(fd, blob, len);
	if (rc == 0 && sure && fdatasync(fd) < 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	goto out;
fail:
	rc = -errno;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && tmp)
		unlink(tmp);
	free(tmp);
	free(path);
	return rc;
}

/* May an index file vouch for the image?  See above. */
static bool idx_believed(const struct stat *ib, const struct stat *img)
{
	return S_ISREG(ib->st_mode) && !(ib->st_mode & (S_IWGRP | S_IWOTH)) &&
	       (ib->st_uid == geteuid() || ib->st_uid == 0) &&
	       ib->st_dev == img->st_dev;
}

static int simh_index_load(void *s, unsigned part, uint8_t **blob, size_t *len,
			   bool *exact)
{
	struct simh_store *h = s;
	uint64_t want[IDX_STAMP_WORDS], have[IDX_STAMP_WORDS];
	char *path = NULL;
	struct stat sb, img;
	int fd = -1, rc = idx_path(h, part, &path);

	*blob = NULL;
	*exact = false;
	if (rc < 0)
		goto out;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	rc = -ESTALE;
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size < (off_t)sizeof(have) || sb.st_size > (off_t)1 << 30 ||
	    simh_read_all(fd, (uint8_t *)have, sizeof(have)) < 0 ||
	    fstat(h->fd[part], &img) < 0)
		goto out;
	stamp_words(&img, want);
	if (memcmp(have, want, sizeof(want) - sizeof(want[6])) ||
	    (have[6] & ~(uint64_t)IDX_EXACT))
		goto out;  /* the image changed since: scan it */
	*exact = (have[6] & IDX_EXACT) && idx_believed(&sb, &img);
	*len = (size_t)sb.st_size - sizeof(have);
	*blob = malloc(*len ? *len : 1);
	if (*blob && simh_read_all(fd, *blob, *len) == 0)
		rc = 0;
out:
	if (rc < 0) {
		free(*blob);
		*blob = NULL;
		*exact = false;
	}
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

static const char *simh_part_name(void *s, unsigned part);

static const struct tape_vstore_ops simh_ops = {
	.pread = simh_pread,
	.pwritev = simh_pwritev,
	.truncate = simh_truncate,
	.size = simh_size,
	.set_parts = simh_set_parts,
	.parts = simh_parts,
	.sync = simh_sync,
	.index_load = simh_index_load,
	.index_save = simh_index_save,
	.part_name = simh_part_name,
	.close = simh_close,
};

/* One "key value" line of the state file into st; false if unknown. */
static bool state_line(const char *line, struct tape_vstate *st, uint64_t sz[2],
		       uint64_t mt[2])
{
	char key[32];
	unsigned long long a, b;
	int n = sscanf(line, "%31s %llu %llu", key, &a, &b);
	long l;

	if (n < 2)
		return false;
	if (sscanf(line, "split_mb %ld", &l) == 1)
		st->split_mb = l;
	else if (strcmp(key, "capacity") == 0)
		st->capacity = a;
	else if (strcmp(key, "ew_zone") == 0)
		st->ew_zone = a;
	else if (strcmp(key, "partition") == 0)
		st->part = (unsigned)a;
	else if (strcmp(key, "position") == 0)
		st->pos = a;
	else if (strcmp(key, "block_size") == 0 && a <= UINT32_MAX)
		st->block_size = (uint32_t)a;
	else if (strcmp(key, "compression") == 0)
		st->compression = a != 0;
	else if (strcmp(key, "locked") == 0)
		st->locked = a != 0;
	else if (strcmp(key, "loaded") == 0)
		st->loaded = a != 0;
	else if (n == 3 && (strcmp(key, "stamp0") == 0 || strcmp(key, "stamp1") == 0)) {
		sz[key[5] - '0'] = a;
		mt[key[5] - '0'] = b;
	} else
		return false;
	return true;
}

/* Read the saved state.  A missing or unreadable one means a fresh drive;
 * it is only our own bookkeeping, never a reason to refuse the tape. */
static bool load_state(struct simh_store *h, struct tape_vstate *st)
{
	uint64_t sz[2] = { UINT64_MAX, UINT64_MAX }, mt[2] = { UINT64_MAX, UINT64_MAX };
	uint64_t csz, cmt;
	char line[128];
	bool ok = false;
	FILE *f = fopen(h->state_path, "re");

	memset(st, 0, sizeof(*st));
	st->loaded = true;
	if (!f)
		return false;
	if (!fgets(line, sizeof(line), f) || strncmp(line, STATE_MAGIC, strlen(STATE_MAGIC)))
		goto out;
	while (fgets(line, sizeof(line), f))
		if (!state_line(line, st, sz, mt))
			goto out;
	ok = true;
	for (unsigned i = 0; i < h->n; i++) {
		stamp(h, i, &csz, &cmt);
		if (csz != sz[i] || cmt != mt[i]) {
			st->part = 0;  /* changed behind our back: start at BOT */
			st->pos = 0;
		}
	}
out:
	fclose(f);
	if (!ok) {
		memset(st, 0, sizeof(*st));
		st->loaded = true;
	}
	return ok;
}

static int simh_new(const char *path, bool read_only, struct simh_store **out)
{
	struct simh_store *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->fd[0] = h->fd[1] = -1;
	h->read_only = read_only;
	h->path[0] = strdup(path);
	if (!h->path[0] || asprintf(&h->path[1], "%s.p1", path) < 0 ||
	    asprintf(&h->state_path, "%s.state", path) < 0) {
		h->path[1] = h->state_path = NULL;
		simh_close(h, NULL);
		return -ENOMEM;
	}
	*out = h;
	return 0;
}

static const char *simh_part_name(void *s, unsigned part)
{
	return ((struct simh_store *)s)->path[part];
}

int tape_open_simh_why(const char *path, const struct tape_vopts *vo,
		       struct tape **out, char *why, size_t cap)
{
	bool ro = vo && vo->read_only;
	struct simh_store *h;
	struct tape_vstate st;
	bool have_state;
	int rc;

	if (why && cap)
		why[0] = 0;
	rc = simh_new(path, ro, &h);
	if (rc < 0)
		return rc;
	rc = open_part(h, 0, !(vo && vo->must_exist));
	if (rc < 0)
		goto fail;
	/* A virtual drive, like a real one, has one user at a time. */
	if (flock(h->fd[0], (ro ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto fail;
	}
	h->n = 1;
	if (open_part(h, 1, false) == 0)
		h->n = 2;
	have_state = load_state(h, &st);
	return tape_virt_open("simh", path, &simh_ops, h, vo, have_state ? &st : NULL,
			      out, why, cap);
fail:
	if (why && cap)
		snprintf(why, cap, "cannot open '%s': %s%s", path, strerror(-rc),
			 rc == -EBUSY ? " (another program has the tape open)" : "");
	simh_close(h, NULL);
	return rc;
}

int tape_open_simh(const char *path, const struct tape_vopts *vo,
		   struct tape **out)
{
	return tape_open_simh_why(path, vo, out, NULL, 0);
}
