/* test_volume.c - fs_volume_list and fs_volume_resolve on image files built
 * byte by byte here: an MBR (the layout of the IBM PC boot sector: four
 * 16-byte entries at 446, disk signature at 440, 55 AA at 510) holding Linux
 * swap areas (util-linux's swapheader.h: version 1 and last_page at 1024,
 * UUID at 1036, label at 1052, "SWAPSPACE2" at the end of the first page),
 * so that no tool of ours or anyone's writes the fixtures.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fs.h"
#include "harness.h"

#define SECTOR 512
#define DISK_SIG 0x1a2b3c4dU

static const uint8_t uuid_a[16] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
				    0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01 };
static const uint8_t uuid_b[16] = { 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03,
				    0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b };
#define UUID_A "11223344-5566-7788-99aa-bbccddeeff01"
#define UUID_B "deadbeef-0001-0203-0405-060708090a0b"

static char dir[64], img[128], dup_img[128], whole[128], far[128];

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	assert_int_equal(pwrite(fd, buf, len, off), (ssize_t)len);
}

/* A 4 KiB-page swap area of `bytes` at `off`. */
static void swap_at(int fd, off_t off, uint64_t bytes, const uint8_t *uuid,
		    const char *label)
{
	uint8_t page[4096] = { 0 };

	put32(page + 1024, 1);                             /* version */
	put32(page + 1028, (uint32_t)(bytes / 4096 - 1));  /* last_page */
	memcpy(page + 1036, uuid, 16);
	strncpy((char *)page + 1052, label, 16);
	memcpy(page + 4096 - 10, "SWAPSPACE2", 10);
	pwrite_all(fd, page, sizeof(page), off);
}

static void mbr_entry(uint8_t *mbr, int i, uint8_t type, uint32_t start,
		      uint32_t sectors)
{
	uint8_t *e = mbr + 446 + 16 * i;

	e[4] = type;
	put32(e + 8, start);
	put32(e + 12, sectors);
}

/* 8 MiB: partition 1 swap "swapA" UUID_A, partition 2 swap "da@ta" UUID_B. */
static void make_mbr_image(const char *path, bool beyond_end)
{
	uint8_t mbr[SECTOR] = { 0 };
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 8 << 20), 0);
	put32(mbr + 440, DISK_SIG);
	mbr_entry(mbr, 0, 0x82, 2048, 4096);
	mbr_entry(mbr, 1, 0x82, 6144, 4096);
	if (beyond_end)  /* claims 1 GiB at 4 GiB of an 8 MiB file */
		mbr_entry(mbr, 2, 0x83, 8u << 20, 2u << 20);
	mbr[510] = 0x55;
	mbr[511] = 0xaa;
	pwrite_all(fd, mbr, sizeof(mbr), 0);
	swap_at(fd, 2048 * SECTOR, 4096 * SECTOR, uuid_a, "swapA");
	swap_at(fd, 6144 * SECTOR, 4096 * SECTOR, uuid_b, "da@ta");
	close(fd);
}

static int setup(void **state)
{
	int fd;

	(void)state;
	snprintf(dir, sizeof(dir), "%s", th_tmpdir());
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	snprintf(dup_img, sizeof(dup_img), "%s/copy.img", dir);
	snprintf(whole, sizeof(whole), "%s/swap.img", dir);
	snprintf(far, sizeof(far), "%s/far.img", dir);
	make_mbr_image(img, false);
	make_mbr_image(dup_img, false);
	make_mbr_image(far, true);
	fd = open(whole, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
		return -1;
	swap_at(fd, 0, 1 << 20, uuid_b, "whole");
	close(fd);
	return 0;
}

static void test_list_mbr(void **state)
{
	const char *paths[] = { img };
	struct fs_volume *v = NULL;
	struct err err = { 0 };
	char name[200];
	size_t n = 0;

	(void)state;
	assert_int_equal(fs_volume_list(paths, 1, &v, &n, &err), 0);
	assert_int_equal(n, 2);
	snprintf(name, sizeof(name), "%s@1", img);
	assert_string_equal(v[0].name, name);
	assert_string_equal(v[0].path, img);
	assert_int_equal(v[0].partno, 1);
	assert_int_equal(v[0].offset, 2048 * SECTOR);
	assert_int_equal(v[0].size, 4096 * SECTOR);
	assert_string_equal(v[0].fstype, "swap");
	assert_string_equal(v[0].uuid, UUID_A);
	assert_string_equal(v[0].label, "swapA");
	assert_string_equal(v[0].partuuid, "1a2b3c4d-01");
	assert_string_equal(v[0].pttype, "dos");
	assert_string_equal(v[0].ptuuid, "1a2b3c4d");
	assert_false(v[0].mounted);
	assert_false(v[0].state_known);  /* only ext and NTFS have a state */
	assert_int_equal(v[1].partno, 2);
	assert_int_equal(v[1].offset, 6144 * SECTOR);
	assert_string_equal(v[1].uuid, UUID_B);
	assert_string_equal(v[1].label, "da@ta");
	assert_string_equal(v[1].partuuid, "1a2b3c4d-02");
	free(v);
}

static void test_list_whole(void **state)
{
	const char *paths[] = { whole, img };
	struct fs_volume *v = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(fs_volume_list(paths, 2, &v, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].name, whole);
	assert_int_equal(v[0].partno, 0);
	assert_int_equal(v[0].offset, 0);
	assert_int_equal(v[0].size, 1 << 20);
	assert_string_equal(v[0].fstype, "swap");
	assert_string_equal(v[0].label, "whole");
	assert_string_equal(v[0].pttype, "");
	assert_string_equal(v[0].partuuid, "");
	free(v);
}

/* A table entry far beyond the end of the file is listed, not probed. */
static void test_list_beyond_end(void **state)
{
	const char *paths[] = { far };
	struct fs_volume *v = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(fs_volume_list(paths, 1, &v, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[2].partno, 3);
	assert_string_equal(v[2].fstype, "");
	assert_int_equal(v[2].offset, (uint64_t)(8u << 20) * SECTOR);
	free(v);
}

static void test_list_missing(void **state)
{
	/* in our scratch directory: a shared /nonexistent may exist */
	char missing[300];
	const char *paths[] = { missing };
	struct fs_volume *v = NULL;
	struct err err = { 0 };
	char want[400];
	size_t n = 0;

	(void)state;
	snprintf(missing, sizeof(missing), "%s/nothere/disk.img", dir);
	snprintf(want, sizeof(want), "cannot open '%s'", missing);
	assert_int_equal(fs_volume_list(paths, 1, &v, &n, &err), -ENOENT);
	assert_non_null(strstr(err.msg, want));
	paths[0] = dir;
	assert_int_equal(fs_volume_list(paths, 1, &v, &n, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a block device or an image file"));
}

static void test_resolve_tags(void **state)
{
	const char *paths[] = { whole, img };
	struct fs_volume v;
	struct err err = { 0 };
	char name[200];

	(void)state;
	snprintf(name, sizeof(name), "%s@1", img);
	/* UUIDs compare without regard to case */
	assert_int_equal(fs_volume_resolve("UUID=11223344-5566-7788-99AA-BBCCDDEEFF01",
					   paths, 2, &v, &err), 0);
	assert_string_equal(v.name, name);
	assert_int_equal(v.offset, 2048 * SECTOR);
	assert_int_equal(fs_volume_resolve("LABEL=\"swapA\"", paths, 2, &v, &err), 0);
	assert_string_equal(v.name, name);
	assert_int_equal(fs_volume_resolve("PARTUUID=1A2B3C4D-02", paths, 2, &v, &err), 0);
	assert_int_equal(v.partno, 2);
	assert_int_equal(fs_volume_resolve("LABEL=whole", paths, 2, &v, &err), 0);
	assert_string_equal(v.name, whole);
	/* labels are case-sensitive */
	assert_int_equal(fs_volume_resolve("LABEL=SWAPA", paths, 2, &v, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no volume with LABEL=SWAPA"));
	assert_int_equal(fs_volume_resolve("UUID=", paths, 2, &v, &err), -EINVAL);
}

static void test_resolve_ambiguous(void **state)
{
	const char *paths[] = { img, dup_img, whole };
	struct fs_volume v;
	struct err err = { 0 };
	char a[200], b[200];

	(void)state;
	snprintf(a, sizeof(a), "%s@2", img);
	snprintf(b, sizeof(b), "%s@2", dup_img);
	/* UUID_B is on both images' partition 2 and on the whole swap file */
	assert_int_equal(fs_volume_resolve("UUID=" UUID_B, paths, 3, &v, &err),
			 -ENOTUNIQ);
	assert_non_null(strstr(err.msg, "ambiguous"));
	assert_non_null(strstr(err.msg, a));
	assert_non_null(strstr(err.msg, b));
	assert_non_null(strstr(err.msg, whole));
	assert_int_equal(fs_volume_resolve("LABEL=swapA", paths, 2, &v, &err),
			 -ENOTUNIQ);
}

static void test_resolve_paths(void **state)
{
	struct fs_volume v;
	struct err err = { 0 };
	char spec[300];

	(void)state;
	snprintf(spec, sizeof(spec), "%s@2", img);
	assert_int_equal(fs_volume_resolve(spec, NULL, 0, &v, &err), 0);
	assert_string_equal(v.name, spec);
	assert_string_equal(v.label, "da@ta");
	snprintf(spec, sizeof(spec), "%s@LABEL=da@ta", img);
	assert_int_equal(fs_volume_resolve(spec, NULL, 0, &v, &err), 0);
	assert_int_equal(v.partno, 2);
	snprintf(spec, sizeof(spec), "%s@partuuid=1a2b3c4d-01", img);
	assert_int_equal(fs_volume_resolve(spec, NULL, 0, &v, &err), 0);
	assert_int_equal(v.partno, 1);
	assert_int_equal(fs_volume_resolve(whole, NULL, 0, &v, &err), 0);
	assert_string_equal(v.name, whole);
	assert_int_equal(v.partno, 0);

	snprintf(spec, sizeof(spec), "%s@3", img);
	assert_int_equal(fs_volume_resolve(spec, NULL, 0, &v, &err), -ENXIO);
	assert_non_null(strstr(err.msg, "partition 3 out of range"));
	assert_non_null(strstr(err.msg, "has 2 partitions"));
	snprintf(spec, sizeof(spec), "%s@0", img);
	assert_int_equal(fs_volume_resolve(spec, NULL, 0, &v, &err), -ENXIO);
	assert_int_equal(fs_volume_resolve(img, NULL, 0, &v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "holds a partition table and no ext or NTFS"));
	assert_non_null(strstr(err.msg, "disk.img@1 (swap, LABEL=swapA), "));
	assert_non_null(strstr(err.msg, "disk.img@2 (swap, LABEL=da@ta)"));
	snprintf(spec, sizeof(spec), "%s@1", whole);
	assert_int_equal(fs_volume_resolve(spec, NULL, 0, &v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a partitioned image"));
	snprintf(spec, sizeof(spec), "%s/nothere.img@1", dir);
	assert_int_equal(fs_volume_resolve(spec, NULL, 0, &v, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no such volume"));
	snprintf(spec, sizeof(spec), "%s@junk", img);
	assert_int_equal(fs_volume_resolve(spec, NULL, 0, &v, &err), -EINVAL);
	assert_int_equal(fs_volume_resolve("", NULL, 0, &v, &err), -EINVAL);
}

/* A partitioned image with one filesystem may be named without @N (mke2fs
 * writes the ext4 into partition 1 of the swap disk); with two, the error
 * lists them. */
static void test_resolve_one_fs(void **state)
{
	char one[300], two[300], spec[320];
	struct fs_volume v;
	struct err err = { 0 };
	struct fs *fs;

	(void)state;
	snprintf(one, sizeof(one), "%s/one.img", dir);
	snprintf(two, sizeof(two), "%s/two.img", dir);
	make_mbr_image(one, false);
	assert_int_equal(th_sh("mke2fs -F -q -t ext4 -L e1 -E offset=%d %s 2M",
			       2048 * SECTOR, one), 0);
	assert_int_equal(fs_volume_resolve(one, NULL, 0, &v, &err), 0);
	snprintf(spec, sizeof(spec), "%s@1", one);
	assert_string_equal(v.name, spec);
	assert_string_equal(v.fstype, "ext4");
	assert_int_equal(fs_open(one, 0, &fs, &err), 0);
	assert_int_equal(fs_kind(fs), FS_KIND_EXT);
	fs_close(fs);
	assert_int_equal(th_sh("cp %s %s && mke2fs -F -q -t ext4 -L e2 -E offset=%d %s 2M",
			       one, two, 6144 * SECTOR, two), 0);
	assert_int_equal(fs_volume_resolve(two, NULL, 0, &v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "with 2 filesystems"));
	assert_non_null(strstr(err.msg, "two.img@1 (ext4, LABEL=e1), "));
	assert_non_null(strstr(err.msg, "two.img@2 (ext4, LABEL=e2)"));
	assert_int_equal(fs_open(two, 0, &fs, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "two.img@2 (ext4, LABEL=e2)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_mbr),
		cmocka_unit_test(test_list_whole),
		cmocka_unit_test(test_list_beyond_end),
		cmocka_unit_test(test_list_missing),
		cmocka_unit_test(test_resolve_tags),
		cmocka_unit_test(test_resolve_ambiguous),
		cmocka_unit_test(test_resolve_paths),
		cmocka_unit_test(test_resolve_one_fs),
	};

	return cmocka_run_group_tests_name("volume", tests, setup, NULL);
}
