/* volume.c - find, identify and name volumes with libblkid: whole disks,
 * partitions, image files and the partitions inside them.
 *
 * Naming.  A block device partition is named by its device node (/dev/sda2).
 * A partition inside an image file is "IMAGE@N" (N is the 1-based number the
 * partition table gives it, as in /dev/sdaN), and so is a partition of a
 * block device whose node the kernel has not made (a loop device without
 * partscan): "/dev/loop0@1".  Everything else is named by its own path.
 *
 * Probing reads only: every device and image is opened O_RDONLY, and nothing
 * read from it is trusted (a partition that claims to lie beyond the end of
 * its disk is listed, but probed only where it has bytes).
 *
 * Mounted.  A device or whole image: fs_is_mounted().  A partition inside an
 * image can only be mounted through a loop device, so it is "mounted" when a
 * mounted loop device has the image as backing file and either starts at the
 * partition's offset (mount -o loop,offset=) or starts at 0 and has a kernel
 * partition at that offset (losetup -P).  A swap partition in use counts too.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <blkid.h>

#include "buf.h"
#include "fs_impl.h"

struct vol_list {
	struct fs_volume *v;
	size_t n, cap;
	bool table;  /* a partition table was found (for one-path lookups) */
};

static struct fs_volume *vl_add(struct vol_list *l)
{
	if (buf_grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)))
		return NULL;
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	return &l->v[l->n++];
}

/* Copy a string that may be NULL; truncation is harmless for display. */
static void scopy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

static void lookup(blkid_probe pr, const char *tag, char *dst, size_t cap)
{
	const char *val = NULL;

	if (blkid_probe_lookup_value(pr, tag, &val, NULL) == 0)
		scopy(dst, cap, val);
}

/* ---- sysfs -------------------------------------------------------------- */

static int read_sysfs(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "re");
	int rc = -1;

	if (!f)
		return -1;
	if (fgets(buf, (int)cap, f)) {
		buf[strcspn(buf, "\n")] = 0;
		rc = 0;
	}
	fclose(f);
	return rc;
}

static bool read_u64(const char *path, uint64_t *out)
{
	char buf[64], *end;

	if (read_sysfs(path, buf, sizeof(buf)) < 0)
		return false;
	errno = 0;
	*out = strtoull(buf, &end, 10);
	return !errno && end != buf;
}

static bool read_devno(const char *path, dev_t *out)
{
	char buf[64];
	unsigned ma, mi;

	if (read_sysfs(path, buf, sizeof(buf)) < 0 ||
	    sscanf(buf, "%u:%u", &ma, &mi) != 2)
		return false;
	*out = makedev(ma, mi);
	return true;
}

static bool is_partition_devno(dev_t dev)
{
	char p[96];

	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/partition", major(dev),
		 minor(dev));
	return access(p, F_OK) == 0;
}

/* The device node of partition `partno` of the whole disk `disk`, if the
 * kernel made one: look through the disk's sysfs children. */
static bool part_node(dev_t disk, int partno, char *out, size_t cap)
{
	char dir[96], p[512];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "/sys/dev/block/%u:%u", major(disk), minor(disk));
	d = opendir(dir);
	while (d && !found && (de = readdir(d))) {
		uint64_t no;
		dev_t dev;
		char *name;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s/partition", dir, de->d_name);
		if (!read_u64(p, &no) || no != (uint64_t)partno)
			continue;
		snprintf(p, sizeof(p), "%s/%s/dev", dir, de->d_name);
		if (!read_devno(p, &dev) || !(name = blkid_devno_to_devname(dev)))
			continue;
		scopy(out, cap, name);
		free(name);
		found = true;
	}
	if (d)
		closedir(d);
	return found;
}

/* ---- mounted? ----------------------------------------------------------- */

/* Is the block device `dev` mounted, or an active swap area? */
static bool devno_in_use(dev_t dev)
{
	char line[8192];
	bool hit = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	while (f && !hit && fgets(line, sizeof(line), f)) {
		unsigned ma, mi;

		if (sscanf(line, "%*d %*d %u:%u", &ma, &mi) == 2)
			hit = makedev(ma, mi) == dev;
	}
	if (f)
		fclose(f);
	f = hit ? NULL : fopen("/proc/swaps", "re");
	while (f && !hit && fgets(line, sizeof(line), f)) {
		struct stat sb;

		line[strcspn(line, " \t\n")] = 0;
		hit = line[0] == '/' && stat(line, &sb) == 0 &&
		      S_ISBLK(sb.st_mode) && sb.st_rdev == dev;
	}
	if (f)
		fclose(f);
	return hit;
}

/* A block device node: mounted (fs_is_mounted) or an active swap area. */
static bool blk_in_use(const char *node)
{
	struct stat sb;

	return fs_is_mounted(node) ||
	       (stat(node, &sb) == 0 && S_ISBLK(sb.st_mode) && devno_in_use(sb.st_rdev));
}

/* Loop device `loop` (sysfs name) starts at 0: is one of its kernel
 * partitions at byte `offset` and in use? */
static bool loop_part_in_use(const char *loop, uint64_t offset)
{
	char dir[300], p[600];
	struct dirent *de;
	bool hit = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "/sys/block/%s", loop);
	d = opendir(dir);
	while (d && !hit && (de = readdir(d))) {
		uint64_t start;
		dev_t dev;

		if (strncmp(de->d_name, loop, strlen(loop)))
			continue;
		snprintf(p, sizeof(p), "%s/%s/start", dir, de->d_name);
		if (!read_u64(p, &start) || start * 512 != offset)
			continue;
		snprintf(p, sizeof(p), "%s/%s/dev", dir, de->d_name);
		hit = read_devno(p, &dev) && devno_in_use(dev);
	}
	if (d)
		closedir(d);
	return hit;
}

/* Is the partition at `offset` of image file `image` mounted through a loop
 * device?  (See the comment at the top of the file.) */
static bool image_part_mounted(const char *image, uint64_t offset)
{
	char *real = realpath(image, NULL), p[300], back[4096];
	struct dirent *de;
	bool hit = false;
	DIR *d;

	if (!real)
		return false;
	d = opendir("/sys/block");
	while (d && !hit && (de = readdir(d))) {
		uint64_t loff;
		dev_t dev;

		if (strncmp(de->d_name, "loop", 4))
			continue;
		snprintf(p, sizeof(p), "/sys/block/%s/loop/backing_file", de->d_name);
		if (read_sysfs(p, back, sizeof(back)) < 0 || strcmp(back, real))
			continue;
		snprintf(p, sizeof(p), "/sys/block/%s/loop/offset", de->d_name);
		if (!read_u64(p, &loff))
			continue;
		snprintf(p, sizeof(p), "/sys/block/%s/dev", de->d_name);
		if (loff == offset)
			hit = read_devno(p, &dev) && devno_in_use(dev);
		else if (loff == 0)
			hit = loop_part_in_use(de->d_name, offset);
	}
	if (d)
		closedir(d);
	free(real);
	return hit;
}

/* ---- probing ------------------------------------------------------------ */

static void fill_fs(blkid_probe pr, struct fs_volume *v)
{
	lookup(pr, "TYPE", v->fstype, sizeof(v->fstype));
	lookup(pr, "UUID", v->uuid, sizeof(v->uuid));
	lookup(pr, "LABEL", v->label, sizeof(v->label));
}

static void enable_superblocks(blkid_probe pr)
{
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID |
					  BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE);
}

/* The filesystem in bytes [off, off + size) of fd, clamped to what exists. */
static void probe_range(int fd, uint64_t disk_size, struct fs_volume *v,
			uint64_t off)
{
	uint64_t size = v->size;
	blkid_probe pr;

	if (off >= disk_size || size == 0)
		return;
	if (size > disk_size - off)
		size = disk_size - off;
	pr = blkid_new_probe();
	if (!pr)
		return;
	enable_superblocks(pr);
	if (blkid_probe_set_device(pr, fd, (blkid_loff_t)off, (blkid_loff_t)size) == 0 &&
	    blkid_do_safeprobe(pr) == 0)
		fill_fs(pr, v);
	blkid_free_probe(pr);
}

/* One entry per partition of the table libblkid found on `path`. */
static int add_partitions(const char *path, int fd, const struct stat *sb,
			  blkid_probe pr, blkid_partlist ls, struct vol_list *l)
{
	blkid_parttable tab = blkid_partlist_get_table(ls);
	uint64_t disk_size = (uint64_t)blkid_probe_get_size(pr);
	int nparts = blkid_partlist_numof_partitions(ls);

	l->table = true;
	for (int i = 0; i < nparts; i++) {
		blkid_partition par = blkid_partlist_get_partition(ls, i);
		struct fs_volume *v;
		uint64_t start;

		/* An extended partition is a container for logical ones. */
		if (!par || blkid_partition_is_extended(par))
			continue;
		if (!(v = vl_add(l)))
			return -ENOMEM;
		v->partno = blkid_partition_get_partno(par);
		start = (uint64_t)blkid_partition_get_start(par) * 512;
		v->size = (uint64_t)blkid_partition_get_size(par) * 512;
		scopy(v->partuuid, sizeof(v->partuuid), blkid_partition_get_uuid(par));
		scopy(v->pttype, sizeof(v->pttype), blkid_parttable_get_type(tab));
		scopy(v->ptuuid, sizeof(v->ptuuid), blkid_parttable_get_id(tab));
		probe_range(fd, disk_size, v, start);
		if (S_ISBLK(sb->st_mode) &&
		    part_node(sb->st_rdev, v->partno, v->path, sizeof(v->path))) {
			scopy(v->name, sizeof(v->name), v->path);
			v->mounted = blk_in_use(v->path);
			continue;
		}
		scopy(v->path, sizeof(v->path), path);
		snprintf(v->name, sizeof(v->name), "%s@%d", path, v->partno);
		v->offset = start;
		v->mounted = S_ISREG(sb->st_mode) && image_part_mounted(path, start);
	}
	return 0;
}

/* The partition table of the whole disk holding partition device `dev`. */
static void whole_disk_ptuuid(dev_t dev, struct fs_volume *v)
{
	blkid_probe pr = NULL;
	dev_t disk;
	char *name = NULL;
	const char *id = NULL;

	if (blkid_devno_to_wholedisk(dev, NULL, 0, &disk) < 0 ||
	    !(name = blkid_devno_to_devname(disk)) ||
	    !(pr = blkid_new_probe_from_filename(name)))
		goto out;
	blkid_probe_enable_superblocks(pr, 0);
	blkid_probe_enable_partitions(pr, 1);
	if (blkid_do_safeprobe(pr) == 0 &&
	    blkid_probe_lookup_value(pr, "PTUUID", &id, NULL) == 0)
		scopy(v->ptuuid, sizeof(v->ptuuid), id);
out:
	blkid_free_probe(pr);
	free(name);
}

/* A partition device given by its node (/dev/sda2): one entry, with the
 * partition-table details libblkid reads from the whole disk. */
static int add_partition_dev(const char *path, const struct stat *sb,
			     blkid_probe pr, struct vol_list *l)
{
	struct fs_volume *v = vl_add(l);
	char no[16] = "";

	if (!v)
		return -ENOMEM;
	scopy(v->path, sizeof(v->path), path);
	scopy(v->name, sizeof(v->name), path);
	v->size = (uint64_t)blkid_probe_get_size(pr);
	fill_fs(pr, v);
	lookup(pr, "PART_ENTRY_UUID", v->partuuid, sizeof(v->partuuid));
	lookup(pr, "PART_ENTRY_SCHEME", v->pttype, sizeof(v->pttype));
	lookup(pr, "PART_ENTRY_NUMBER", no, sizeof(no));
	v->partno = atoi(no);
	whole_disk_ptuuid(sb->st_rdev, v);
	v->mounted = blk_in_use(path);
	return 0;
}

/* Everything on one device or image file. */
static int scan_path(const char *path, struct vol_list *l, struct err *err)
{
	blkid_partlist ls = NULL;
	blkid_probe pr = NULL;
	struct fs_volume *v;
	struct stat sb;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		rc = -errno;
		err_set(err, rc, "cannot open '%s': %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode) && !S_ISBLK(sb.st_mode)) {
		rc = err_set(err, -EINVAL, "'%s' is not a block device or an"
				" image file", path);
		goto out;
	}
	pr = blkid_new_probe();
	if (!pr || blkid_probe_set_device(pr, fd, 0, 0) < 0) {
		rc = err_set(err, -EIO, "cannot probe '%s'", path);
		goto out;
	}
	enable_superblocks(pr);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
	rc = blkid_do_safeprobe(pr);
	if (rc == -1) {
		rc = err_set(err, -EIO, "cannot probe '%s': %s", path,
				errno ? strerror(errno) : "I/O error");
		goto out;
	}
	rc = 0;
	if (S_ISBLK(sb.st_mode) && is_partition_devno(sb.st_rdev)) {
		rc = add_partition_dev(path, &sb, pr, l);
		goto out;
	}
	ls = blkid_probe_get_partitions(pr);
	if (ls && blkid_partlist_numof_partitions(ls) > 0) {
		rc = add_partitions(path, fd, &sb, pr, ls, l);
		goto out;
	}
	if (!(v = vl_add(l))) {
		rc = -ENOMEM;
		goto out;
	}
	scopy(v->path, sizeof(v->path), path);
	scopy(v->name, sizeof(v->name), path);
	v->size = (uint64_t)blkid_probe_get_size(pr);
	fill_fs(pr, v);  /* nothing when safeprobe found none (1) or two (-2) */
	v->mounted = S_ISBLK(sb.st_mode) ? blk_in_use(path) : fs_is_mounted(path);
out:
	if (rc == -ENOMEM)
		err_set(err, rc, "out of memory");
	blkid_free_probe(pr);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- all block devices -------------------------------------------------- */

static int by_version(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

/* The whole disks the kernel knows (partitions are listed through their
 * disk), by node name.  Empty devices (no medium, unbound loop) are left out. */
static int block_disks(char ***out, size_t *count)
{
	char p[600], **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = opendir("/sys/class/block");

	while (d && (de = readdir(d))) {
		uint64_t size;
		dev_t dev;
		char *name;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/sys/class/block/%s/partition", de->d_name);
		if (access(p, F_OK) == 0)
			continue;
		snprintf(p, sizeof(p), "/sys/class/block/%s/size", de->d_name);
		if (!read_u64(p, &size) || size == 0)
			continue;
		snprintf(p, sizeof(p), "/sys/class/block/%s/dev", de->d_name);
		if (!read_devno(p, &dev) || !(name = blkid_devno_to_devname(dev)))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(*nn));

			if (!nn) {
				free(name);
				break;
			}
			names = nn;
		}
		names[n++] = name;
	}
	if (d)
		closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_version);
	*out = names;
	*count = n;
	return 0;
}

/* A disk we cannot read (no permission, I/O error): still list it, with
 * its size from sysfs and no type, so that it does not silently vanish. */
static int add_unreadable(const char *node, struct vol_list *l)
{
	struct fs_volume *v;
	struct stat sb;
	char p[96];
	uint64_t sectors = 0;

	if (stat(node, &sb) < 0 || !S_ISBLK(sb.st_mode))
		return 0;
	if (!(v = vl_add(l)))
		return -ENOMEM;
	scopy(v->path, sizeof(v->path), node);
	scopy(v->name, sizeof(v->name), node);
	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/size", major(sb.st_rdev),
		 minor(sb.st_rdev));
	if (read_u64(p, &sectors))
		v->size = sectors * 512;  /* sysfs counts 512-byte sectors */
	v->mounted = blk_in_use(node);
	return 0;
}

/* Volumes on `paths`, or on every block device when n == 0 (then a device
 * we cannot read, such as an empty CD drive, is skipped, not an error). */
static int collect(const char *const *paths, size_t n, struct vol_list *l,
		   struct err *err)
{
	char **disks = NULL;
	size_t nd = 0;
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++)
		rc = scan_path(paths[i], l, err);
	if (n == 0) {
		block_disks(&disks, &nd);
		for (size_t i = 0; i < nd && rc != -ENOMEM; i++)
			if ((rc = scan_path(disks[i], l, NULL)) < 0 && rc != -ENOMEM)
				rc = add_unreadable(disks[i], l);
		if (rc != -ENOMEM)
			rc = 0;
		else
			err_set(err, rc, "out of memory");
	}
	for (size_t i = 0; i < nd; i++)
		free(disks[i]);
	free(disks);
	return rc;
}

static bool state_probed(const char *fstype)
{
	return !strcmp(fstype, "ext2") || !strcmp(fstype, "ext3") ||
	       !strcmp(fstype, "ext4") || !strcmp(fstype, "ntfs");
}

int fs_volume_list(const char *const *paths, size_t n, struct fs_volume **out,
		   size_t *count, struct err *err)
{
	struct vol_list l = { 0 };
	int rc = collect(paths, n, &l, err);

	if (rc < 0) {
		free(l.v);
		return rc;
	}
	/* fs_state resolves the name again (IMAGE@N through this file); a
	 * backend that cannot tell yet (-ENOSYS, -EOPNOTSUPP) leaves it unknown. */
	for (size_t i = 0; i < l.n; i++) {
		struct fs_volume *v = &l.v[i];
		struct err e;

		if (state_probed(v->fstype))
			v->state_known = fs_state(v->name, &v->state, &e) == 0;
	}
	*out = l.v;
	*count = l.n;
	return 0;
}

/* ---- resolve ------------------------------------------------------------ */

enum match_key { KEY_UUID, KEY_LABEL, KEY_PARTUUID };

static bool matches(const struct fs_volume *v, enum match_key key, const char *val)
{
	switch (key) {
	case KEY_UUID: return v->uuid[0] && !strcasecmp(v->uuid, val);
	case KEY_PARTUUID: return v->partuuid[0] && !strcasecmp(v->partuuid, val);
	case KEY_LABEL: return v->label[0] && !strcmp(v->label, val);
	}
	return false;
}

/* "a, b and 2 more": names of the volumes, for an error message. */
static void name_list(const struct fs_volume *const *v, size_t n, char *buf,
		      size_t cap)
{
	size_t len = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n && len < cap; i++) {
		int w = snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", v[i]->name);

		if (w < 0 || (size_t)w >= cap - len) {
			snprintf(buf + len, cap - len, "%s...", i ? ", " : "");
			break;
		}
		len += (size_t)w;
	}
}

static int resolve_tag(const char *spec, enum match_key key, const char *val,
		       const char *const *paths, size_t n, struct fs_volume *out,
		       struct err *err)
{
	const struct fs_volume **hit = NULL;
	struct vol_list l = { 0 };
	size_t nhit = 0;
	char names[400];
	int rc = collect(paths, n, &l, err);

	if (rc < 0)
		goto out;
	hit = calloc(l.n + 1, sizeof(*hit));
	if (!hit) {
		rc = err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < l.n; i++)
		if (matches(&l.v[i], key, val))
			hit[nhit++] = &l.v[i];
	if (nhit == 0) {
		rc = err_set(err, -ENOENT, "no volume with %s (looked in %s)", spec,
				n ? "the images and devices given" :
				"every block device");
	} else if (nhit > 1) {
		name_list(hit, nhit, names, sizeof(names));
		rc = err_set(err, -ENOTUNIQ, "%s is ambiguous: %zu volumes have it"
				" (%s); name one by its device or IMAGE@N", spec,
				nhit, names);
	} else {
		*out = *hit[0];
	}
out:
	free(hit);
	free(l.v);
	return rc;
}

/* "IMAGE@SUFFIX": the first '@' whose left side is an existing image file
 * or device (so a '@' in a directory name or in a label does no harm). */
static bool split_image(const char *spec, char *image, size_t cap,
			const char **suffix)
{
	for (const char *at = strchr(spec, '@'); at; at = strchr(at + 1, '@')) {
		struct stat sb;
		size_t len = (size_t)(at - spec);

		if (len == 0 || len >= cap)
			continue;
		memcpy(image, spec, len);
		image[len] = 0;
		if (stat(image, &sb) == 0 && (S_ISREG(sb.st_mode) || S_ISBLK(sb.st_mode))) {
			*suffix = at + 1;
			return true;
		}
	}
	return false;
}

static bool parse_partno(const char *s, long *out)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*out = strtol(s, &end, 10);
	return !*end && !errno;
}

/* A path names itself; a partitioned one must be given a partition number
 * (want 0 = the whole path). */
static int resolve_path(const char *path, long want, struct fs_volume *out,
			struct err *err)
{
	const char *const paths[1] = { path };
	const struct fs_volume **all = NULL;
	struct vol_list l = { 0 };
	char names[400];
	int rc = collect(paths, 1, &l, err);

	if (rc < 0)
		goto out;
	if (l.table && l.n == 0) {
		rc = err_set(err, -ENXIO, "'%s' holds a partition table with no"
				" partitions", path);
	} else if (want == 0 && l.table) {
		rc = err_set(err, -EINVAL, "'%s' holds a partition table: name one of"
				" its partitions, %s@1 to %s@%d", path, path, path,
				l.v[l.n - 1].partno);
	} else if (want == 0) {
		*out = l.v[0];
	} else if (!l.table) {
		rc = err_set(err, -EINVAL, "'%s' is not a partitioned image or disk:"
				" name it without '@%ld'", path, want);
	} else {
		for (size_t i = 0; i < l.n; i++)
			if (l.v[i].partno == want) {
				*out = l.v[i];
				goto out;
			}
		all = calloc(l.n, sizeof(*all));
		for (size_t i = 0; all && i < l.n; i++)
			all[i] = &l.v[i];
		if (all)
			name_list(all, l.n, names, sizeof(names));
		rc = err_set(err, -ENXIO, "partition %ld out of range: '%s' has %zu"
				" partition%s (%s)", want, path, l.n,
				l.n == 1 ? "" : "s", all ? names : "");
	}
out:
	free(all);
	free(l.v);
	return rc;
}

/* Strip one pair of double quotes, as in blkid's UUID="...". */
static void unquote(const char *in, char *out, size_t cap)
{
	size_t len = strlen(in);

	if (len >= 2 && in[0] == '"' && in[len - 1] == '"')
		snprintf(out, cap, "%.*s", (int)(len - 2), in + 1);
	else
		snprintf(out, cap, "%s", in);
}

/* A tag (UUID=, LABEL=, PARTUUID=): 1 and *key, *val set, or 0. */
static int parse_tag(const char *spec, enum match_key *key, char *val, size_t cap)
{
	static const struct { const char *prefix; enum match_key key; } tags[] = {
		{ "UUID=", KEY_UUID },
		{ "LABEL=", KEY_LABEL },
		{ "PARTUUID=", KEY_PARTUUID },
	};

	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		size_t len = strlen(tags[i].prefix);

		if (strncasecmp(spec, tags[i].prefix, len))
			continue;
		unquote(spec + len, val, cap);
		*key = tags[i].key;
		return 1;
	}
	return 0;
}

int fs_volume_resolve(const char *spec, const char *const *paths, size_t n,
		      struct fs_volume *out, struct err *err)
{
	char image[4096], val[300];
	const char *suffix;
	enum match_key key;
	struct stat sb;
	long partno;

	if (!spec || !*spec)
		return err_set(err, -EINVAL, "empty volume name");
	if (parse_tag(spec, &key, val, sizeof(val))) {
		if (!val[0])
			return err_set(err, -EINVAL, "%s: empty value", spec);
		return resolve_tag(spec, key, val, paths, n, out, err);
	}
	if (stat(spec, &sb) == 0)
		return resolve_path(spec, 0, out, err);
	if (!split_image(spec, image, sizeof(image), &suffix))
		return err_set(err, -ENOENT, "%s: no such volume, device or image"
				  " file (use UUID=, LABEL=, PARTUUID=, a device,"
				  " IMAGE, IMAGE@N or IMAGE@UUID=...)", spec);
	if (parse_partno(suffix, &partno)) {
		if (partno < 1)
			return err_set(err, -ENXIO, "%s: partitions are numbered"
					  " from 1", spec);
		return resolve_path(image, partno, out, err);
	}
	if (parse_tag(suffix, &key, val, sizeof(val)) && val[0]) {
		const char *const one[1] = { image };

		return resolve_tag(spec, key, val, one, 1, out, err);
	}
	return err_set(err, -EINVAL, "%s: after '%s@' give a partition number,"
			  " UUID=, LABEL= or PARTUUID=", spec, image);
}
