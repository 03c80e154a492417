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
 * Mounted.  By identity (fs_target_mounted, below): a volume is mounted
 * when any mount or active swap area uses any of its bytes, whatever path,
 * link, loop device or FUSE driver it goes through.
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
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <blkid.h>
#include <linux/loop.h>

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

/* ---- mounted? ------------------------------------------------------------
 *
 * By identity, never by name: what a mount (or an active swap area) uses
 * and what a volume is are both reduced to "bytes [start, end) of one
 * regular file (st_dev, st_ino)" or "of one whole block device that is not
 * a loop device", and a volume is mounted when the two overlap.  So a hard
 * link, a bind-mounted directory, a renamed image, a loop device (its
 * backing file's device and inode, as `losetup -a` shows, plus its offset
 * and size limit), a partition of a loop device (losetup -P), a loop device
 * on a loop device, and a FUSE mount of an image file (ntfs-3g, fuse2fs:
 * their source is the image path) are all seen. */

struct extent {
	enum { EXT_NONE, EXT_FILE, EXT_BLK } kind;
	dev_t dev;          /* st_dev of a file, the devno of a whole disk */
	ino_t ino;
	uint64_t start, end; /* bytes; end UINT64_MAX = to the end */
};

/* Keep [off, off + len) of e (len 0 = all of the rest). */
static void narrow(struct extent *e, uint64_t off, uint64_t len)
{
	uint64_t s = e->start + off;

	if (s < e->start || s > e->end)
		s = e->end;
	e->start = s;
	if (len && s + len > s && s + len < e->end)
		e->end = s + len;
}

static bool sys_u64(dev_t d, const char *leaf, uint64_t *v)
{
	char p[128];

	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/%s", major(d), minor(d), leaf);
	return read_u64(p, v);
}

/* A loop device's backing store, from the driver (LOOP_GET_STATUS64). */
static bool loop_status(dev_t d, struct loop_info64 *li)
{
	char *node = blkid_devno_to_devname(d);
	int fd = node ? open(node, O_RDONLY | O_CLOEXEC | O_NONBLOCK) : -1;
	bool ok = fd >= 0 && ioctl(fd, LOOP_GET_STATUS64, li) == 0;

	if (fd >= 0)
		close(fd);
	free(node);
	return ok;
}

/* The bytes block device d stands for. */
static void blk_extent(dev_t d, struct extent *e, int depth)
{
	char p[128];
	uint64_t x, start = 0, size = 0;
	struct loop_info64 li;
	dev_t whole;

	*e = (struct extent){ EXT_BLK, d, 0, 0, UINT64_MAX };
	if (depth > 8)
		return;
	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/../dev", major(d), minor(d));
	if (sys_u64(d, "partition", &x) && read_devno(p, &whole)) {
		sys_u64(d, "start", &start);
		sys_u64(d, "size", &size);
		blk_extent(whole, e, depth + 1);
		narrow(e, start * 512, size * 512);
		return;
	}
	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/loop", major(d), minor(d));
	if (access(p, F_OK) != 0 || !loop_status(d, &li))
		return;
	if (li.lo_rdevice)
		blk_extent((dev_t)li.lo_rdevice, e, depth + 1);
	else
		*e = (struct extent){ EXT_FILE, (dev_t)li.lo_device,
				      (ino_t)li.lo_inode, 0, UINT64_MAX };
	narrow(e, li.lo_offset, li.lo_sizelimit);
}

/* The bytes a path stands for: a regular file, or a block device. */
static bool path_extent(const char *path, struct extent *e)
{
	struct stat sb;

	if (stat(path, &sb) < 0)
		return false;
	if (S_ISREG(sb.st_mode))
		*e = (struct extent){ EXT_FILE, sb.st_dev, sb.st_ino, 0, UINT64_MAX };
	else if (S_ISBLK(sb.st_mode))
		blk_extent(sb.st_rdev, e, 0);
	else
		return false;
	return true;
}

/* Does mount m use bytes of volume v?  A filesystem starts where its
 * device starts, so a mount whose device has no end (a loop device made with
 * `mount -o loop,offset=` and no sizelimit, a whole file) uses the volume
 * its start lies in, not every partition after it; a bounded one (a
 * partition node, a loop with a size limit) uses whatever it overlaps. */
static bool overlap(const struct extent *v, const struct extent *m)
{
	if (v->kind == EXT_NONE || v->kind != m->kind || v->dev != m->dev ||
	    (v->kind == EXT_FILE && v->ino != m->ino))
		return false;
	if (m->start >= v->start && m->start < v->end)
		return true;
	return m->end != UINT64_MAX && v->start < m->end && m->start < v->end;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
}

/* Does the mount of block device d (or its source) touch want?  via: the
 * device node it goes through, when that is not the volume's own. */
static bool mount_hits(const struct extent *want, dev_t d, const char *source,
		       const char *fstype, struct fs_mount *m)
{
	struct extent e;
	char p[64];
	char *node;

	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u", major(d), minor(d));
	if (major(d) && access(p, F_OK) == 0) {
		blk_extent(d, &e, 0);
		if (overlap(want, &e)) {
			node = blkid_devno_to_devname(d);
			scopy(m->via, sizeof(m->via), node ? node : "");
			free(node);
			return true;
		}
	}
	if (source[0] == '/' && path_extent(source, &e) && overlap(want, &e)) {
		snprintf(m->via, sizeof(m->via), "%s", fstype);
		return true;
	}
	return false;
}

/* One line of mountinfo: "id parent major:minor root mountpoint options
 * [tags] - fstype source superoptions".  Fields are cut in place. */
static bool parse_mountinfo(char *line, dev_t *d, char **point, char **fstype,
			    char **source)
{
	char *fld[5], *sep = strstr(line, " - "), *save = NULL;
	unsigned ma, mi;
	int n = 0;

	if (!sep)
		return false;
	*sep = 0;
	for (char *t = strtok_r(line, " ", &save); t && n < 5;
	     t = strtok_r(NULL, " ", &save))
		fld[n++] = t;
	if (n < 5 || sscanf(fld[2], "%u:%u", &ma, &mi) != 2)
		return false;
	save = NULL;
	*fstype = strtok_r(sep + 3, " \n", &save);
	*source = *fstype ? strtok_r(NULL, " \n", &save) : NULL;
	if (!*source)
		return false;
	*d = makedev(ma, mi);
	*point = fld[4];
	unescape(*point);
	unescape(*source);
	return true;
}

static bool mountinfo_hits(const struct extent *want, struct fs_mount *m)
{
	char line[16384];
	bool hit = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	while (f && !hit && fgets(line, sizeof(line), f)) {
		char *point, *fstype, *source;
		dev_t d;

		if (!parse_mountinfo(line, &d, &point, &fstype, &source))
			continue;
		if ((hit = mount_hits(want, d, source, fstype, m)))
			scopy(m->point, sizeof(m->point), point);
	}
	if (f)
		fclose(f);
	return hit;
}

/* Active swap areas (files or devices) are in use as much as mounts. */
static bool swaps_hit(const struct extent *want, struct fs_mount *m)
{
	char line[4096];
	bool hit = false;
	FILE *f = fopen("/proc/swaps", "re");

	while (f && !hit && fgets(line, sizeof(line), f)) {
		struct extent e;

		line[strcspn(line, " \t\n")] = 0;
		unescape(line);
		hit = line[0] == '/' && path_extent(line, &e) && overlap(want, &e);
	}
	if (f)
		fclose(f);
	if (hit) {
		scopy(m->point, sizeof(m->point), "[SWAP]");
		m->via[0] = 0;
	}
	return hit;
}

int fs_target_mounted(const struct fs_target *tg, struct fs_mount *m)
{
	struct extent want;

	memset(m, 0, sizeof(*m));
	if (!path_extent(tg->file, &want))
		return 0;
	narrow(&want, tg->offset, tg->size);
	return mountinfo_hits(&want, m) || swaps_hit(&want, m);
}

/* v->mounted and v->mountpoint, for the bytes v is. */
static void vol_mounted(struct fs_volume *v)
{
	struct fs_target tg = { .file = v->path, .offset = v->offset,
				.size = v->size };
	struct fs_mount m;

	v->mounted = fs_target_mounted(&tg, &m) > 0;
	scopy(v->mountpoint, sizeof(v->mountpoint), v->mounted ? m.point : "");
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
		v->part_start = start;
		v->size = (uint64_t)blkid_partition_get_size(par) * 512;
		scopy(v->partuuid, sizeof(v->partuuid), blkid_partition_get_uuid(par));
		scopy(v->pttype, sizeof(v->pttype), blkid_parttable_get_type(tab));
		scopy(v->ptuuid, sizeof(v->ptuuid), blkid_parttable_get_id(tab));
		probe_range(fd, disk_size, v, start);
		if (S_ISBLK(sb->st_mode) &&
		    part_node(sb->st_rdev, v->partno, v->path, sizeof(v->path))) {
			scopy(v->name, sizeof(v->name), v->path);
			vol_mounted(v);
			continue;
		}
		scopy(v->path, sizeof(v->path), path);
		snprintf(v->name, sizeof(v->name), "%s@%d", path, v->partno);
		v->offset = start;
		vol_mounted(v);
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
	char no[16] = "", start[32] = "";

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
	/* in 512-byte sectors, whatever the disk's sector size */
	lookup(pr, "PART_ENTRY_OFFSET", start, sizeof(start));
	v->part_start = strtoull(start, NULL, 10) * 512;
	whole_disk_ptuuid(sb->st_rdev, v);
	vol_mounted(v);
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
	vol_mounted(v);
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
	vol_mounted(v);
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

/* "disk.img@1 (ext4, LABEL=x), disk.img@2 (ntfs)": the choices, for an
 * error message. */
static void choice_list(const struct vol_list *l, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = 0;
	for (size_t i = 0; i < l->n && len < cap; i++) {
		const struct fs_volume *v = &l->v[i];
		int w = snprintf(buf + len, cap - len, "%s%s (%s%s%s)", i ? ", " : "",
				 v->name, v->fstype[0] ? v->fstype : "no filesystem",
				 v->label[0] ? ", LABEL=" : "", v->label);

		if (w < 0 || (size_t)w >= cap - len) {
			snprintf(buf + len, cap - len, "%s...", i ? ", " : "");
			break;
		}
		len += (size_t)w;
	}
}

/* A partitioned image or disk named as a whole: the one partition that
 * holds a filesystem we can open (ext, NTFS), else the choices. */
static int pick_one(const char *path, const struct vol_list *l,
		    struct fs_volume *out, struct err *err)
{
	char names[1200];
	size_t hits = 0, at = 0;

	for (size_t i = 0; i < l->n; i++)
		if (state_probed(l->v[i].fstype)) {
			hits++;
			at = i;
		}
	if (hits == 1) {
		*out = l->v[at];
		return 0;
	}
	choice_list(l, names, sizeof(names));
	if (hits == 0)
		return err_set(err, -EINVAL, "'%s' holds a partition table and no ext"
			       " or NTFS filesystem: name one of its partitions: %s",
			       path, names);
	return err_set(err, -EINVAL, "'%s' holds a partition table with %zu"
		       " filesystems: name one of them: %s", path, hits, names);
}

/* A path names itself; a partitioned one is the one filesystem it holds,
 * or must be given a partition number (want 0 = the whole path). */
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
		rc = pick_one(path, &l, out, err);
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
