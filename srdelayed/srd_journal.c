/* srd_journal.c - the progress journal of srd_apply (see srd.h, "Crash
 * safety").  A small file on the volume holding the queues:
 *
 *   0   "SRDJRNL1"     magic and version
 *   8   le32 state     1 running operations, 2 finishing
 *   12  le32 step      finishing step under way
 *   16  le32 nops      operations in the plan
 *   20  le32 0
 *   24  le64 hash      of the plan (srd_apply.c), so a changed queue is seen
 *   32  ... 0 up to 64
 *   64  nops slots of 16 bytes: le32 state, le32 code, le64 inode
 *
 * Every update is one write of the bytes that changed (a header field or
 * one slot), so each is all-or-nothing at the level of one fs.h call. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "le.h"
#include "srd.h"
#include "srd_impl.h"

#define J_MAGIC "SRDJRNL1"
#define J_HDR 64u
#define J_SLOT 16u

static void header(const struct srd_journal *j, uint8_t h[J_HDR])
{
	memset(h, 0, J_HDR);
	memcpy(h, J_MAGIC, 8);
	le_put32(h + 8, j->state);
	le_put32(h + 12, j->step);
	le_put32(h + 16, j->nops);
	le_put64(h + 24, j->hash);
}

/* Not flushed here: srd_apply flushes every volume at its commit points,
 * so what reaches the disk is always every change up to one of them, the
 * journal's included (see srd.h, "Crash safety"). */
static int write_at(struct srd_journal *j, const void *buf, size_t len,
		    uint64_t off)
{
	ssize_t n = fs_file_pwrite(j->f, buf, len, off);

	if (n >= 0 && (size_t)n != len)
		n = -EIO;
	return n < 0 ? (int)n : 0;
}

static int read_all(struct fs *fs, struct fs_file *f, uint64_t size,
		    struct srd_journal *j)
{
	uint8_t h[J_HDR];
	ssize_t n = fs_file_pread(f, h, J_HDR, 0);

	if (n < 0)
		return (int)n;
	if ((size_t)n < J_HDR || memcmp(h, J_MAGIC, 8))
		return 0;
	j->state = le_get32(h + 8);
	j->step = le_get32(h + 12);
	j->nops = le_get32(h + 16);
	j->hash = le_get64(h + 24);
	if ((j->state != SRD_J_RUNNING && j->state != SRD_J_FINISHING) ||
	    size < J_HDR + (uint64_t)j->nops * J_SLOT)
		return 0;  /* cut off while being created */
	if (!(j->slots = calloc(j->nops + 1u, J_SLOT)))
		return -ENOMEM;
	n = fs_file_pread(f, j->slots, (size_t)j->nops * J_SLOT, J_HDR);
	if (n < 0)
		return (int)n;
	if ((size_t)n != (size_t)j->nops * J_SLOT)
		return 0;
	j->fs = fs;
	return 1;
}

int srd_journal_load(struct fs *fs, struct srd_journal *j)
{
	struct fs_stat st;
	struct fs_file *f = NULL;
	int rc;

	memset(j, 0, sizeof(*j));
	rc = fs_lookup(fs, SRD_JOURNAL_PATH, &st);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	rc = fs_file_open(fs, SRD_JOURNAL_PATH, NULL, 0, &f);
	if (rc < 0)
		return rc;
	rc = read_all(fs, f, st.size, j);
	fs_file_close(f);
	if (rc <= 0) {
		free(j->slots);
		memset(j, 0, sizeof(*j));
	}
	return rc;
}

int srd_journal_create(struct fs *fs, uint64_t hash, uint32_t nops,
		       const uint8_t *states, struct srd_journal *j)
{
	size_t len = J_HDR + (size_t)nops * J_SLOT;
	uint8_t *buf = calloc(1, len);
	int rc;

	memset(j, 0, sizeof(*j));
	if (!buf || !(j->slots = calloc(nops + 1u, J_SLOT))) {
		free(buf);
		return -ENOMEM;
	}
	j->fs = fs, j->hash = hash, j->nops = nops, j->state = SRD_J_RUNNING;
	for (uint32_t i = 0; i < nops; i++)
		le_put32(j->slots + (size_t)i * J_SLOT, states[i]);
	header(j, buf);
	memcpy(buf + J_HDR, j->slots, (size_t)nops * J_SLOT);
	rc = fs_unlink(fs, SRD_JOURNAL_PATH);  /* a torn one from a cut-off start */
	if (rc == 0 || rc == -ENOENT)
		rc = fs_create(fs, SRD_JOURNAL_PATH, 0600);
	if (rc == 0)
		rc = fs_file_open(fs, SRD_JOURNAL_PATH, NULL, FS_F_WRITE, &j->f);
	if (rc == 0)
		rc = write_at(j, buf, len, 0);
	free(buf);
	if (rc < 0)
		srd_journal_close(j);
	return rc;
}

/* Open the loaded journal for writing (on first update). */
static int writable(struct srd_journal *j)
{
	return j->f ? 0 : fs_file_open(j->fs, SRD_JOURNAL_PATH, NULL, FS_F_WRITE,
				       &j->f);
}

int srd_journal_slot(struct srd_journal *j, uint32_t i, uint32_t state,
		     uint32_t code, uint64_t ino)
{
	uint8_t *s = j->slots + (size_t)i * J_SLOT;
	int rc = writable(j);

	if (rc < 0)
		return rc;
	le_put32(s, state);
	le_put32(s + 4, code);
	le_put64(s + 8, ino);
	return write_at(j, s, J_SLOT, J_HDR + (uint64_t)i * J_SLOT);
}

void srd_journal_get(const struct srd_journal *j, uint32_t i, uint32_t *state,
		     uint32_t *code, uint64_t *ino)
{
	const uint8_t *s = j->slots + (size_t)i * J_SLOT;

	*state = le_get32(s);
	*code = le_get32(s + 4);
	*ino = le_get64(s + 8);
}

int srd_journal_step(struct srd_journal *j, uint32_t state, uint32_t step)
{
	uint8_t h[J_HDR];
	int rc = writable(j);

	if (rc < 0)
		return rc;
	j->state = state, j->step = step;
	header(j, h);
	return write_at(j, h + 8, 8, 8);
}

int srd_journal_remove(struct srd_journal *j)
{
	struct fs *fs = j->fs;

	srd_journal_close(j);
	return fs_unlink(fs, SRD_JOURNAL_PATH);
}

void srd_journal_close(struct srd_journal *j)
{
	if (j->f)
		fs_file_close(j->f);
	free(j->slots);
	memset(j, 0, sizeof(*j));
}
