/* fuzz_fs_efs.c - libFuzzer target for the raw encrypted-file (EFS)
 * structure checks (recovery/fs/fs_efs.c), which run on $EFS streams and
 * raw data read from a tape before anything is written.  The first byte
 * picks what the rest is: even = a $EFS stream (user.ntfs.efsinfo), odd = a
 * raw data stream (its size and its last two bytes).  Properties checked:
 *   - a refusal always comes with "damaged encrypted file" in the message
 *     and -EBADMSG, an acceptance with no message;
 *   - an accepted $EFS stream has its own size in its first le32, a
 *     version of 1 to 4 and a DDF array offset inside it;
 *   - an accepted raw stream is 0 bytes or 512*k + 2, and its real size
 *     (fs_efs_real_size) rounds up to 512 exactly at size - 2.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fs.h"
#include "le.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

static void verdict(int rc, const struct err *e)
{
	if (rc < 0) {
		CHECK(rc == -EBADMSG);
		CHECK(strstr(e->msg, "damaged encrypted file") != NULL);
		CHECK(e->code == ERR_CORRUPT);
	} else {
		CHECK(rc == 0);
	}
}

static void info(const uint8_t *p, size_t n)
{
	struct err e = { 0 };
	uint8_t *copy = malloc(n ? n : 1);   /* exactly n bytes: ASan sees overreads */
	int rc;

	if (!copy)
		return;
	memcpy(copy, p, n);
	rc = fs_efs_check_info("/f", copy, n, &e);
	verdict(rc, &e);
	if (rc == 0) {
		CHECK(n >= 0x55 && le_get32(copy) == n);
		CHECK(le_get32(copy + 8) >= 1 && le_get32(copy + 8) <= 4);
		CHECK(le_get32(copy + 64) >= 76 && (uint64_t)le_get32(copy + 64) + 4 <= n);
	}
	free(copy);
}

static void raw(const uint8_t *p, size_t n)
{
	struct err e = { 0 };
	uint8_t tail[2] = { 0, 0 };
	int rc;

	if (n >= 2)
		memcpy(tail, p + n - 2, 2);
	rc = fs_efs_check_trailer("/f", n, tail, &e);
	verdict(rc, &e);
	if (rc == 0 && n) {
		uint64_t real = fs_efs_real_size(n, tail);

		CHECK(n % 512 == 2);
		CHECK(real <= n - 2 && ((real + 511) & ~511ull) == n - 2);
	} else if (rc == 0) {
		CHECK(fs_efs_real_size(0, tail) == 0);
	}
	verdict(fs_efs_check_size("/f", n, &e), &e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		raw(data + 1, size - 1);
	else
		info(data + 1, size - 1);
	return 0;
}
