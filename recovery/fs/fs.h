/* fs.h - one interface over ext2/3/4 (libext2fs), NTFS (libntfs-3g) and a plain
 * directory tree, for reading and writing volumes that are NOT mounted.
 *
 * Nothing above recovery/fs includes a filesystem library header: restore,
 * backup and srdelayed see only this.  Paths are UTF-8, '/'-separated and
 * absolute from the volume root ("/Windows/System32/x.dll"); fs.c rejects
 * "..", "." and empty components before a backend sees them, so no path can
 * leave the volume.  Nothing follows symlinks: a symlink is an object.
 *
 * Every call returns 0 (or a count) on success and a negative errno on
 * failure; fs_error() (fs_errmsg() for its text) then holds one sentence in
 * the project's style, and calls without a handle fill the caller's
 * struct err the same way:
 *   cannot create '/Windows/x' on disk.img@2: No space left on device
 * Library codes (com_err for libext2fs, errno for libntfs-3g) are translated
 * at the backend boundary.
 *
 * NTFS metadata travels as ntfs-3g's system extended attributes, so that the
 * same bytes mean the same thing here, on an ntfs-3g mount and in a backup:
 *   system.ntfs_acl          self-relative SECURITY_DESCRIPTOR
 *   system.ntfs_attrib       le32 FILE_ATTRIBUTE_* flags
 *   system.ntfs_dos_name     the 8.3 short name
 *   system.ntfs_reparse_data REPARSE_DATA_BUFFER, tag included
 *   system.ntfs_object_id    16 or 64 bytes
 *   system.ntfs_times        le64 creation, last write, last access[, change]
 *   system.ntfs_ea           EA list
 *   user.ntfs.efsinfo        the $EFS stream of an encrypted file
 * POSIX ACLs on ext are system.posix_acl_access / system.posix_acl_default in
 * the Linux VFS (xattr) format.
 */
#ifndef SYSRECOVER_FS_H
#define SYSRECOVER_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include <sys/types.h>
#include <time.h>

struct fs;
struct fs_file;

enum fs_kind {
	FS_KIND_EXT,   /* ext2, ext3, ext4 through libext2fs */
	FS_KIND_NTFS,  /* NTFS through libntfs-3g */
	FS_KIND_DIR,   /* a directory of the running system, through POSIX calls */
};

/* What a volume can hold (fs_caps). */
enum {
	FS_CAP_SYMLINK = 1u << 0,
	FS_CAP_HARDLINK = 1u << 1,
	FS_CAP_DEVICES = 1u << 2,    /* device nodes, fifos, sockets */
	FS_CAP_OWNER = 1u << 3,      /* POSIX uid/gid/mode */
	FS_CAP_XATTR = 1u << 4,      /* user.*, trusted.*, security.* */
	FS_CAP_POSIX_ACL = 1u << 5,
	FS_CAP_BTIME = 1u << 6,      /* creation time */
	FS_CAP_NTFS = 1u << 7,       /* security descriptors, attributes, ADS,
				      * reparse points, object ids, short names */
	FS_CAP_EFS_RAW = 1u << 8,    /* raw encrypted-file I/O (open with FS_O_EFS_RAW) */
};

/* The state of a volume as found on disk (fs_state). */
enum fs_state {
	FS_STATE_CLEAN,
	FS_STATE_NEEDS_RECOVERY,  /* ext: the journal must be replayed first */
	FS_STATE_ERRORS,          /* ext: the kernel recorded errors; fsck it */
	FS_STATE_DIRTY,           /* NTFS: not cleanly unmounted ($LogFile) */
	FS_STATE_HIBERNATED,      /* NTFS: hibernated or Windows Fast Startup */
	FS_STATE_UNCLEAN,         /* "not cleanly closed": a read-write session
				   * (ours, or a kernel without a journal) was
				   * cut off: ext without EXT2_VALID_FS, NTFS with
				   * the dirty flag; check it before writing */
};

/* fs_open flags. */
enum {
	FS_O_RDWR = 1u << 0,
	FS_O_REPLAY_JOURNAL = 1u << 1,  /* ext: run `e2fsck -E journal_only` first */
	FS_O_EFS_RAW = 1u << 2,         /* NTFS: encrypted files read/written raw */
	/* Resume after an interruption: accept a volume whose only problem is
	 * the not-cleanly-closed mark a read-write open of ours leaves (ext: no
	 * EXT2_VALID_FS and our s_last_mounted mark, no errors, no journal to
	 * replay; NTFS: the dirty flag with a clean $LogFile and no
	 * hibernation, which we cannot tell from a chkdsk Windows scheduled).
	 * The mark stays after the close: the volume was not closed cleanly
	 * before, so it still needs the check.  For a caller that can finish
	 * the interrupted work by itself (srdelayed apply with its journal). */
	FS_O_ACCEPT_UNCLEAN = 1u << 3,
	/* NTFS, read-write: a volume refused only for its hibernation image
	 * (a hiberfil.sys with a "hibr"/"wake" header) is opened, and that
	 * image is discarded the way ntfs-3g's remove_hiberfile mount option
	 * does it: /hiberfil.sys is deleted before anything else is written.
	 * Whatever Windows had in memory is lost.  A Fast Startup $LogFile
	 * or an unclean one is still refused.  Elsewhere: no effect. */
	FS_O_REMOVE_HIBERFILE = 1u << 4,
};

struct fs_stat {
	uint64_t ino;
	uint32_t mode;           /* S_IF* type and permission bits */
	uint32_t uid, gid;
	uint32_t nlink;
	uint64_t size;           /* bytes of the unnamed data */
	uint64_t alloc;          /* bytes allocated on disk (holes are not) */
	struct timespec atime, mtime, ctime, btime;  /* btime 0 when unknown */
	uint32_t rdev_major, rdev_minor;
	uint32_t attrib;         /* NTFS FILE_ATTRIBUTE_* flags; 0 elsewhere */
};

/* Timestamps to set: a field is applied when its bit is in mask.  ctime is
 * honoured where the filesystem lets us write it (ext, NTFS), not on dir. */
enum { FS_T_ATIME = 1, FS_T_MTIME = 2, FS_T_CTIME = 4, FS_T_BTIME = 8 };
struct fs_times {
	unsigned mask;
	struct timespec atime, mtime, ctime, btime;
};

/* ---- volumes (volume.c, libblkid) ------------------------------------------ */

/* A volume found by libblkid: a whole device, a partition, an image file or
 * a partition inside one.  Strings are "" when unknown. */
struct fs_volume {
	char path[4096];      /* device or image file holding the volume */
	char name[4200];      /* how to name it: /dev/sda2, disk.img@2, disk.img */
	int partno;           /* 1-based partition number, 0 = not a partition */
	uint64_t offset;      /* byte offset of the volume in `path` */
	uint64_t part_start;  /* byte offset of the partition in its whole disk
				 (what an MBR MountedDevices value names), 0 for
				 no partition; differs from offset for /dev/sda2 */
	uint64_t size;        /* bytes */
	char fstype[32];      /* blkid TYPE: ext4, ntfs, BitLocker, swap, ... */
	char uuid[64], partuuid[64], label[256];
	char pttype[16];      /* of the disk the partition is in: dos, gpt */
	char ptuuid[64];      /* MBR disk signature or GPT disk GUID */
	bool mounted;
	char mountpoint[4096]; /* where, when mounted ("[SWAP]" for swap) */
	bool state_known;     /* state is only probed for ext and NTFS */
	enum fs_state state;
};

/* List volumes in `paths` (devices, image files; an image with a partition
 * table yields one entry per partition), or every block device when n == 0.
 * *out is malloc'd. */
int fs_volume_list(const char *const *paths, size_t n, struct fs_volume **out,
		   size_t *count, struct err *err);
/* Resolve UUID=, LABEL=, PARTUUID=, a device path, IMAGE or IMAGE@N, looking
 * in `paths` (plus every block device when n == 0).  A partitioned IMAGE (or
 * disk) named without @N is the one partition holding an ext or NTFS
 * filesystem; with none or several, the error lists the choices. */
int fs_volume_resolve(const char *spec, const char *const *paths, size_t n,
		      struct fs_volume *out, struct err *err);
const char *fs_state_name(enum fs_state state);

/* ---- opening ------------------------------------------------------------ */

/* Which backend serves `path` (a device, an image file, or a directory):
 * 1 = found, *kind set; 0 = no filesystem we handle; < 0 = I/O error. */
int fs_probe(const char *path, enum fs_kind *kind);

/* The on-disk state, read without changing anything. */
int fs_state(const char *path, enum fs_state *state, struct err *err);

/* Open a volume.  Read-write refuses, with a message that says why and what
 * to do: a mounted volume first (by identity: fs_volume.mounted; and O_EXCL
 * on block devices), then ext needing journal recovery (unless
 * FS_O_REPLAY_JOURNAL), ext with errors, a volume not cleanly closed (unless
 * FS_O_ACCEPT_UNCLEAN), NTFS hibernated or Fast Startup, NTFS unclean.
 * A read-write open holds an exclusive lock until fs_close: O_EXCL on a
 * block device, an OFD write lock on the volume's byte range of an image
 * file, which any other name or hard link of the file meets too.  Before
 * its first change it marks the volume not cleanly closed on disk (ext:
 * EXT2_VALID_FS cleared, as the kernel does; NTFS: the dirty flag), and
 * fs_close clears the mark, so that an interrupted session shows as
 * FS_STATE_UNCLEAN, is refused for writing, and is checked by e2fsck or
 * chkdsk at the next boot.  A session that changes nothing writes nothing.  `path` may be "image@N"
 * for partition N (1-based) of a partitioned image. */
int fs_open(const char *path, unsigned flags, struct fs **out, struct err *err);
/* Give every directory of a closed volume the hashed index the kernel would
 * (ext: e2fsck -fpD, run on the file, or on FILE?offset=N for a partition
 * inside an image, as the journal replay does); 0 with nothing to do on other
 * kinds.  A restore that wrote big directories calls it: libext2fs links
 * names into linear directories, which stay linear.  Refuses a mounted
 * volume. */
int fs_index_dirs(const char *path, struct err *err);

/* Flush everything and close; the first error wins.  Always frees. */
int fs_close(struct fs *fs);
int fs_sync(struct fs *fs);
/* Bytes free for new data (what an unprivileged writer may not use counts as
 * free: we write as root), the volume's size, and how many more objects it
 * can hold (free inodes; UINT64_MAX where that is not fixed, as on NTFS). */
int fs_space(struct fs *fs, uint64_t *free_bytes, uint64_t *size, uint64_t *free_files);

enum fs_kind fs_kind(const struct fs *fs);
const char *fs_kind_name(enum fs_kind kind);
unsigned fs_caps(const struct fs *fs);
const char *fs_name(const struct fs *fs);   /* as given to fs_open */
/* The last call's failure: level, code (ERR_REFUSED for a safety refusal,
 * ERR_CORRUPT for a damaged volume, ERR_SYSTEM otherwise), errno and the
 * sentence.  ERR_OK with "" when the last call succeeded. */
const struct err *fs_error(const struct fs *fs);
const char *fs_errmsg(const struct fs *fs); /* fs_error(fs)->msg */

/* ---- names -------------------------------------------------------------- */

/* lstat: symlinks are not followed. */
int fs_lookup(struct fs *fs, const char *path, struct fs_stat *st);

/* Entries of a directory, without "." and ".." (and, on NTFS, without the
 * DOS aliases and the $-metafiles of the root).  The callback returns 0 to go
 * on, anything else to stop (which fs_readdir then returns). */
typedef int (*fs_dir_cb)(void *arg, const char *name, const struct fs_stat *st);
int fs_readdir(struct fs *fs, const char *path, fs_dir_cb cb, void *arg);

/* Depth-first, parents before children, sorted by name for stable output. */
typedef int (*fs_walk_cb)(void *arg, const char *path, const struct fs_stat *st);
int fs_walk(struct fs *fs, const char *path, fs_walk_cb cb, void *arg);

int fs_create(struct fs *fs, const char *path, uint32_t mode);  /* EEXIST */
int fs_mkdir(struct fs *fs, const char *path, uint32_t mode);
int fs_symlink(struct fs *fs, const char *path, const char *target);
ssize_t fs_readlink(struct fs *fs, const char *path, char *buf, size_t cap);
int fs_link(struct fs *fs, const char *existing, const char *newpath);
/* Device nodes, fifos and sockets: mode carries the S_IF* type. */
int fs_mknod(struct fs *fs, const char *path, uint32_t mode, uint32_t major,
	     uint32_t minor);
int fs_unlink(struct fs *fs, const char *path);   /* not directories */
int fs_rmdir(struct fs *fs, const char *path);    /* empty directories */
/* Rename a file or directory.  An existing target file is replaced unless
 * FS_RENAME_NOREPLACE (then -EEXIST).  A short name is kept (NTFS). */
enum { FS_RENAME_NOREPLACE = 1 };
int fs_rename(struct fs *fs, const char *from, const char *to, unsigned flags);

/* ---- metadata ------------------------------------------------------------- */

int fs_set_owner(struct fs *fs, const char *path, uint32_t uid, uint32_t gid);
int fs_set_mode(struct fs *fs, const char *path, uint32_t mode);  /* bits 07777 */
int fs_set_times(struct fs *fs, const char *path, const struct fs_times *t);

/* Extended attributes, including the NTFS and ACL names in the header comment.
 * fs_xattr_get with cap 0 returns the size.  -ENODATA when absent. */
typedef int (*fs_xattr_cb)(void *arg, const char *name);
int fs_xattr_list(struct fs *fs, const char *path, fs_xattr_cb cb, void *arg);
ssize_t fs_xattr_get(struct fs *fs, const char *path, const char *name,
		     void *buf, size_t cap);
int fs_xattr_set(struct fs *fs, const char *path, const char *name,
		 const void *val, size_t len);
int fs_xattr_remove(struct fs *fs, const char *path, const char *name);

/* NTFS named data streams (alternate data streams). */
typedef int (*fs_stream_cb)(void *arg, const char *name, uint64_t size);
int fs_stream_list(struct fs *fs, const char *path, fs_stream_cb cb, void *arg);
int fs_stream_remove(struct fs *fs, const char *path, const char *stream);

/* 8.3 short names (NTFS): get ("" when none), set, remove.  -EOPNOTSUPP
 * elsewhere.  Set refuses invalid or duplicate names (-EINVAL, -EEXIST). */
ssize_t fs_shortname_get(struct fs *fs, const char *path, char *buf, size_t cap);
int fs_shortname_set(struct fs *fs, const char *path, const char *name);
int fs_shortname_remove(struct fs *fs, const char *path);

/* ---- data ----------------------------------------------------------------- */

/* Open the data of a file: the unnamed stream, or the named NTFS stream
 * `stream` (NULL = unnamed).  FS_F_WRITE to write; FS_F_CREATE makes a
 * named stream that does not exist yet. */
enum { FS_F_WRITE = 1, FS_F_CREATE = 2 };
int fs_file_open(struct fs *fs, const char *path, const char *stream,
		 unsigned flags, struct fs_file **out);
ssize_t fs_file_pread(struct fs_file *f, void *buf, size_t len, uint64_t off);
/* Writes allocate only what they touch: skipping a range leaves a hole. */
ssize_t fs_file_pwrite(struct fs_file *f, const void *buf, size_t len,
		       uint64_t off);
/* Set the size; growing adds a hole. */
int fs_file_truncate(struct fs_file *f, uint64_t size);
/* The first data extent at or after off: -ENXIO when only a hole is left
 * (as SEEK_DATA).  Lets backup copy sparse files without reading holes. */
int fs_file_next_data(struct fs_file *f, uint64_t off, uint64_t *data_off,
		      uint64_t *data_len);
int fs_file_close(struct fs_file *f);
/* A whole regular file into memory (*buf malloc'd, one spare byte): -EFBIG
 * beyond max bytes (files on a volume are untrusted), -EINVAL when not a
 * regular file. */
int fs_read_file(struct fs *fs, const char *path, size_t max, uint8_t **buf,
		 size_t *len);
/* The error text for a file handle's volume. */
struct fs *fs_file_fs(struct fs_file *f);

/* ---- copying a tree (fs_copy.c) ------------------------------------------- */

/* Called for an object that could not be copied (err < 0: it failed; the
 * message says why) and for what dst cannot hold (err == 0: skipped, `why`
 * names it).  Metadata that dst cannot hold is reported once per kind, not
 * once per object; the counts are in fs_copy_stats.  Return nonzero to stop
 * the copy (fs_copy_tree then returns -ECANCELED). */
typedef int (*fs_copy_report_cb)(void *arg, const char *path, int err,
				 const char *why);

struct progress;

struct fs_copy_opts {
	bool keep_going;          /* an item that fails is reported and skipped
				   * (with its subtree); otherwise the copy stops */
	fs_copy_report_cb report; /* NULL: nothing reported */
	void *arg;
	struct progress *progress; /* NULL, or started by the caller: gets the
				    * data bytes and one object per object */
};

struct fs_copy_stats {
	uint64_t files, dirs, symlinks, specials;  /* objects created */
	uint64_t links;        /* extra names of hard-linked files */
	uint64_t streams;      /* named data streams copied (NTFS) */
	uint64_t bytes;        /* data bytes copied (holes not counted) */
	uint64_t skipped;      /* objects dst cannot hold (not created) */
	uint64_t failed;       /* objects that failed, subtrees included */
	uint64_t no_owner;     /* objects whose uid/gid/mode dst cannot hold */
	uint64_t no_meta;      /* xattrs, ACLs, NTFS metadata, streams dst
				* cannot hold (one per dropped item) */
};

/* Copy the contents of directory src_path on src into the existing directory
 * dst_path on dst (as `cp -a SRC/. DST/`), with everything both volumes can
 * hold: data (holes kept), symlinks, device nodes and fifos, hard links,
 * owner and mode, xattrs and POSIX ACLs, NTFS security descriptors,
 * attributes, reparse points, object ids, short names and named streams, and
 * times (set last; a directory's after its children).  dst_path's own
 * metadata is set from src_path.  A name that already exists in dst is an
 * error for that item.  Memory: one directory per level (fs_walk) plus the
 * files with more than one link whose other names are still to come.
 * A regular file is written under a temporary name (dst_path/.sysrecover-tmp/N,
 * a directory made for the copy and removed at its end) and renamed to its
 * real name once its data, owner, mode, xattrs and NTFS metadata are in
 * place (its short name and times follow): a file under its real name is
 * always complete, and a failed file (a full volume) leaves no name at all.
 * Only a kill -9 or a power cut can leave a ".sysrecover-tmp" behind; a
 * later copy never reuses it (it takes .sysrecover-tmp1, ...).
 * Between two objects it polls stop_requested() (stop.h): after SIGINT or
 * SIGTERM it sets the metadata of the directories it is in and returns
 * -EINTR with "interrupted by SIGINT after N objects (B bytes), before
 * 'PATH'", so that the caller can close the volume cleanly.
 * Every failure message names the source object ("(copying '/src/f')").
 * Returns 0 (check stats->failed with keep_going) or a negative errno; the
 * message (of a read error on src too) is in fs_errmsg(dst). */
int fs_copy_tree(struct fs *src, const char *src_path, struct fs *dst,
		 const char *dst_path, const struct fs_copy_opts *o,
		 struct fs_copy_stats *stats);
/* One regular file src_path of src to the new name dst_path of dst, the
 * way fs_copy_tree copies each file: under a temporary name beside it
 * (in dst_path's directory), with its metadata, renamed into place only
 * when complete; an existing dst_path is kept (EEXIST).  A failure names
 * the source and leaves no partial file, under any name. */
int fs_copy_file(struct fs *src, const char *src_path, struct fs *dst,
		 const char *dst_path, const struct fs_copy_opts *o,
		 struct fs_copy_stats *stats);


/* ---- raw encrypted files (fs_efs.c) --------------------------------------- */

/* An NTFS file with FILE_ATTRIBUTE_ENCRYPTED, on a volume opened with
 * FS_O_EFS_RAW, reads as its still-encrypted data padded to 512 bytes plus
 * a le16 trailer (the padding's length): 0 or 512*k + 2 bytes; its $EFS
 * stream is the xattr FS_EFS_XATTR.  Writing it back: create, write the
 * raw bytes, then set FS_EFS_XATTR (that makes it encrypted).  These
 * checks run before anything is written; a failure is ERR_ITEM/ERR_CORRUPT,
 * -EBADMSG, "NAME: damaged encrypted file: ..." in err. */
#define FS_FILE_ATTRIBUTE_ENCRYPTED 0x4000u
#define FS_EFS_XATTR "user.ntfs.efsinfo"
/* The $EFS stream: its length field, version, the DDF (required) and DRF
 * arrays and every key field, credential and SID inside them. */
int fs_efs_check_info(const char *name, const void *blob, size_t len, struct err *err);
/* A raw size: 0 or 512*k + 2. */
int fs_efs_check_size(const char *name, uint64_t size, struct err *err);
/* The size and the last two bytes (the padding length: at most 511 and
 * the size before it). */
int fs_efs_check_trailer(const char *name, uint64_t size, const uint8_t tail[2],
			 struct err *err);
/* The decrypted file's size, from a checked raw size and trailer. */
uint64_t fs_efs_real_size(uint64_t size, const uint8_t tail[2]);

#endif
