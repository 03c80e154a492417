/* test_fs_ntfs_cache.c - the block cache under libntfs-3g (fs_ntfs_cache.c)
 * against a model: a plain buffer that every write also goes to.  Random
 * reads and writes, small (through the pages) and large (straight to the
 * file), in a byte range that starts 1 MiB into the file and ends in a short
 * page, over more pages than the cache holds so that it writes back and
 * starts again many times; a quarter of the requests are whole pages, which
 * it writes without reading them first.  Every read must equal the model; after the last
 * flush the file itself, read with pread(2), must equal it, and the bytes
 * outside the range must be untouched. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fs_ntfs_io.h"
#include "harness.h"

#define PREFIX (1u << 20)
#define SIZE (40u * 1024 * 1024 + 1234)  /* > the cache's 32 MiB, short last page */
#define TAIL 4096u

static void fill(unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)th_rand();
}

/* A request as the device layer makes it: clamped to the range. */
static void pick(uint64_t *off, size_t *len)
{
	unsigned kind = (unsigned)(th_rand() % 8);

	*len = kind == 0 ? 65 * 1024 + th_rand() % (300 * 1024) : 1 + th_rand() % 9000;
	/* MFT records and index blocks are aligned: so are most requests */
	*off = th_rand() % SIZE;
	if (th_rand() % 2)
		*off &= ~(uint64_t)1023;
	/* whole pages (new data, new index blocks): written without being
	 * read first, and written back in runs */
	if (kind == 1 || kind == 2) {
		*off &= ~(uint64_t)4095;
		*len = 4096 * (1 + th_rand() % 16);
	}
	if (*off + *len > SIZE)
		*len = SIZE - *off;
}

static void t_cache_matches_model(void **state)
{
	const char *path = th_path("vol.img");
	unsigned char *model = malloc(SIZE), *buf = malloc(400 * 1024);
	unsigned char *disk = malloc(PREFIX + SIZE + TAIL);
	struct ntfs_range r = { .off = PREFIX, .size = SIZE };
	int fd;

	(void)state;
	assert_non_null(model);
	assert_non_null(buf);
	assert_non_null(disk);
	fill(disk, PREFIX + SIZE + TAIL);
	memcpy(model, disk + PREFIX, SIZE);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, disk, PREFIX + SIZE + TAIL, 0), PREFIX + SIZE + TAIL);
	r.fd = fd;
	assert_int_equal(ntfs_cache_init(&r), 0);
	for (int i = 0; i < 60000; i++) {
		uint64_t off;
		size_t len;

		pick(&off, &len);
		if (th_rand() % 2) {
			fill(buf, len);
			assert_int_equal(ntfs_cache_pwrite(&r, buf, (s64)len, off), (s64)len);
			memcpy(model + off, buf, len);
		} else {
			assert_int_equal(ntfs_cache_pread(&r, buf, (s64)len, off), (s64)len);
			assert_memory_equal(buf, model + off, len);
		}
		if (th_rand() % 5000 == 0)
			assert_int_equal(ntfs_cache_flush(&r), 0);
	}
	assert_int_equal(ntfs_cache_bypass(&r), 0);
	assert_null(r.cache);
	assert_int_equal(pread(fd, disk + PREFIX, SIZE, PREFIX), SIZE);
	assert_memory_equal(disk + PREFIX, model, SIZE);
	assert_int_equal(close(fd), 0);
	free(model);
	free(buf);
	free(disk);
}

/* Outside the range: the prefix and the tail keep what they had. */
static void t_cache_stays_inside(void **state)
{
	const char *path = th_path("edge.img");
	unsigned char pre[512], post[512], page[4096], back[512];
	struct ntfs_range r = { .off = 512, .size = 8192 + 100 };
	int fd;

	(void)state;
	memset(pre, 0xaa, sizeof(pre));
	memset(post, 0xbb, sizeof(post));
	memset(page, 0x11, sizeof(page));
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, pre, 512, 0), 512);
	assert_int_equal(ftruncate(fd, 512 + 8192 + 100), 0);
	assert_int_equal(pwrite(fd, post, 512, 512 + 8192 + 100), 512);
	r.fd = fd;
	assert_int_equal(ntfs_cache_init(&r), 0);
	/* the short last page: 100 bytes, written whole */
	assert_int_equal(ntfs_cache_pwrite(&r, page, 100, 8192), 100);
	assert_int_equal(ntfs_cache_pwrite(&r, page, 4096, 0), 4096);
	assert_int_equal(ntfs_cache_flush(&r), 0);
	ntfs_cache_free(&r);
	assert_int_equal(pread(fd, back, 512, 0), 512);
	assert_memory_equal(back, pre, 512);
	assert_int_equal(pread(fd, back, 512, 512 + 8192 + 100), 512);
	assert_memory_equal(back, post, 512);
	assert_int_equal(pread(fd, back, 100, 512 + 8192), 100);
	assert_memory_equal(back, page, 100);
	assert_int_equal(close(fd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_cache_matches_model),
		cmocka_unit_test(t_cache_stays_inside),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
