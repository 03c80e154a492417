#!/usr/bin/env python3
"""manifest.py ROOT [--no-owner] [--no-times] [--holes] [--all-times] [--skip NAME]...

One line per object under ROOT (sorted, ROOT itself as "."), for comparing a
tree before a backup with the tree after its restore, read through the
kernel (a loop mount, an ntfs-3g mount or a plain directory):

  path  type  mode  uid:gid  size  mtime_ns  rdev  link-group  sha256  xattrs  target

- link-group: the first path (in sorted order) of the inode, for files with
  more than one name, else "-": hard links must stay hard links;
- xattrs: every name and the sha256 of its value, sorted (ACLs included, as
  system.posix_acl_*);
- sha256 of file data; symlink targets as they are.
Allocated blocks are printed on a second field list only with --holes,
as "holes" when the file takes fewer 512-byte blocks than its size needs.
--all-times adds atime and the creation time (statx), in nanoseconds; read
a tree mounted read-only, or reading it changes the atimes.
"""
import ctypes
import hashlib
import os
import stat
import sys


def xattrs(p):
    try:
        names = sorted(os.listxattr(p, follow_symlinks=False))
    except OSError:
        return "-"
    out = []
    for n in names:
        try:
            v = os.getxattr(p, n, follow_symlinks=False)
        except OSError as e:
            v = ("ERR%d" % e.errno).encode()
        out.append("%s=%s" % (n, hashlib.sha256(v).hexdigest()[:16]))
    return ",".join(out) or "-"


_libc = ctypes.CDLL(None, use_errno=True)


def atime_btime(p):
    """(atime_ns, btime_ns or "-") through statx(2), which os.stat lacks."""
    buf = ctypes.create_string_buffer(256)
    # AT_FDCWD, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME
    if _libc.statx(-100, p.encode(), 0x100, 0x7ff | 0x800, buf) != 0:
        return "-", "-"
    raw = buf.raw
    mask = int.from_bytes(raw[0:4], "little")
    def ts(off):
        return int.from_bytes(raw[off:off + 8], "little", signed=True) * 10 ** 9 + \
            int.from_bytes(raw[off + 8:off + 12], "little")
    return str(ts(64)), str(ts(80)) if mask & 0x800 else "-"


def main():
    args = sys.argv[1:]
    root = args.pop(0)
    owner = "--no-owner" not in args
    times = "--no-times" not in args
    holes = "--holes" in args
    alltimes = "--all-times" in args
    skip = set()
    while "--skip" in args:
        i = args.index("--skip")
        skip.add(args[i + 1])
        del args[i:i + 2]
    paths = []
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if os.path.relpath(os.path.join(d, x), root) not in skip]
        for n in dirs + files:
            rel = os.path.relpath(os.path.join(d, n), root)
            if rel not in skip:
                paths.append(rel)
    paths.sort()
    first = {}
    for rel in ["."] + paths:
        p = os.path.join(root, rel)
        st = os.lstat(p)
        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
            first.setdefault((st.st_dev, st.st_ino), rel)
    for rel in ["."] + paths:
        p = os.path.join(root, rel)
        st = os.lstat(p)
        t = stat.S_IFMT(st.st_mode)
        kind = {stat.S_IFREG: "f", stat.S_IFDIR: "d", stat.S_IFLNK: "l",
                stat.S_IFCHR: "c", stat.S_IFBLK: "b", stat.S_IFIFO: "p",
                stat.S_IFSOCK: "s"}.get(t, "?")
        sha = "-"
        if kind == "f":
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            sha = h.hexdigest()
        target = os.readlink(p) if kind == "l" else "-"
        group = first.get((st.st_dev, st.st_ino), "-") if kind == "f" and st.st_nlink > 1 else "-"
        mode = "%o" % stat.S_IMODE(st.st_mode) if kind != "l" else "-"
        fields = [rel, kind, mode,
                  "%d:%d" % (st.st_uid, st.st_gid) if owner else "-",
                  str(st.st_size) if kind in "fl" else "-",
                  str(st.st_mtime_ns) if times and kind != "l" and rel != "." else "-",
                  "%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev)) if kind in "cb" else "-",
                  group, sha, xattrs(p), target]
        if holes and kind == "f":
            fields.append("holes" if st.st_blocks * 512 < st.st_size else "full")
        if alltimes and rel != "." and kind != "l":
            fields.extend(atime_btime(p))
        print("\t".join(fields))


main()
