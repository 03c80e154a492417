#!/usr/bin/env python3
"""sis.py - single-instance-store (SIS) links and a common store for the tests,
made through an ntfs-3g mount with tools we did not write (setfattr):

    sis.py make DIR [--missing]   DIR: the root of an ntfs-3g mount
    sis.py orphan DIR             only the link whose store file is missing
    sis.py guid FILE              the GUID a link's reparse data carries

What Windows documents (Backup/sis-*.md): a SIS link is a sparse file,
usually with nothing allocated, with an IO_REPARSE_TAG_SIS (0x80000007)
reparse point whose data names one common-store file; the store is the
directory "SIS Common Store" in the volume root, its files are named by a
globally unique GUID with the suffix ".sis", and their content never
changes.  The reparse data itself is opaque to backup programs: its layout
(SI_REPARSE_BUFFER) and its checksums are not published.  The buffer made
here is therefore ours, not Windows': 64 bytes holding a format version, a
reserved word, the store file's GUID (CSid, in the binary GUID layout of
MS-DTYP 2.3.4.1), a link index, the link's and the store file's file ids and
two checksums, which we fill with the first 8 bytes of a SHA-256 of the
store file's content and of the buffer before them (the real algorithm is
not public).  sysrecover treats these bytes as opaque: it restores them
byte for byte and only looks for a store file's GUID in them.

make writes, under DIR:
  SIS Common Store/                  with an ACL of its own (SYSTEM only)
  SIS Common Store/<GUID>.sis        three store files, with content
  sis/link-N                         links: sparse, nothing allocated, the
                                     store file's size, the reparse xattr
  sis/orphan (with --missing)        a link whose store file is not there
and prints one line per link: PATH<TAB>GUID<TAB>SIZE.
"""
import hashlib
import os
import struct
import subprocess
import sys
import uuid

TAG_SIS = 0x80000007
STORE = "SIS Common Store"
# (GUID, content, links to it): fixed, so that the tests can name them
STORES = [
    ("4b0c4c00-fea2-11d3-8d9c-00c04f4700a8", b"common store file one\n" * 3000, 3),
    ("48dea770-1cda-11db-8780-000a5e029b89", bytes(range(256)) * 700, 2),
    ("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", b"small store file\n" * 500, 1),
]
ORPHAN = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
# A DACL granting SYSTEM full control only, as a self-relative security
# descriptor (MS-DTYP 2.4.6): revision 1, control SE_SELF_RELATIVE |
# SE_DACL_PRESENT | SE_DACL_PROTECTED, owner and group S-1-5-18 (SYSTEM).
SID_SYSTEM = bytes([1, 1, 0, 0, 0, 0, 0, 5]) + struct.pack("<I", 18)


def store_acl():
    ace = struct.pack("<BBHI", 0, 3, 8 + len(SID_SYSTEM), 0x1F01FF) + SID_SYSTEM
    acl = struct.pack("<BBHHH", 2, 0, 8 + len(ace), 1, 0) + ace
    hdr_len = 20
    owner = hdr_len
    group = owner + len(SID_SYSTEM)
    dacl = group + len(SID_SYSTEM)
    hdr = struct.pack("<BBHIIII", 1, 0, 0x8000 | 0x1000 | 0x0004, owner, group, 0, dacl)
    return hdr + SID_SYSTEM + SID_SYSTEM + acl


def reparse(guid, index, content):
    """The whole REPARSE_DATA_BUFFER: tag, data length, reserved, data."""
    g = uuid.UUID(guid).bytes_le        # MS-DTYP GUID layout
    body = struct.pack("<II", 5, 0) + g + struct.pack("<QQQ", index, 0x10000 + index, 0x2000)
    body += hashlib.sha256(content).digest()[:8]
    body += hashlib.sha256(body).digest()[:8]
    return struct.pack("<IHH", TAG_SIS, len(body), 0) + body


def setx(path, name, value):
    subprocess.run(["setfattr", "-n", name, "-v", "0x" + value.hex(), path], check=True)


def link(path, guid, index, size, content):
    with open(path, "wb") as f:
        f.truncate(size)          # sparse: nothing allocated
    setx(path, "system.ntfs_reparse_data", reparse(guid, index, content))


def make(root, missing):
    store = os.path.join(root, STORE)
    os.makedirs(store, exist_ok=True)
    os.makedirs(os.path.join(root, "sis"), exist_ok=True)
    n = 0
    lines = []
    for guid, content, nlinks in STORES:
        with open(os.path.join(store, guid + ".sis"), "wb") as f:
            f.write(content)
        for _ in range(nlinks):
            n += 1
            p = os.path.join(root, "sis", "link-%d" % n)
            link(p, guid, n, len(content), content)
            lines.append("/sis/link-%d\t%s\t%d" % (n, guid, len(content)))
    if missing:
        lines.append(orphan(root))
    # the ACL last: with it, only SYSTEM may enter (root still can, through ntfs-3g)
    setx(store, "system.ntfs_acl", store_acl())
    for name in sorted(os.listdir(store)):
        setx(os.path.join(store, name), "system.ntfs_acl", store_acl())
    print("\n".join(lines))


def orphan(root):
    os.makedirs(os.path.join(root, "sis"), exist_ok=True)
    content = b"the store file of this link is not on the volume\n" * 200
    link(os.path.join(root, "sis", "orphan"), ORPHAN, 99, len(content), content)
    return "/sis/orphan\t%s\t%d" % (ORPHAN, len(content))


def guid_of(path):
    out = subprocess.run(["getfattr", "--only-values", "-e", "hex", "-n",
                          "system.ntfs_reparse_data", path],
                         check=True, capture_output=True, text=True).stdout.strip()
    raw = bytes.fromhex(out[2:] if out.startswith("0x") else out)
    return str(uuid.UUID(bytes_le=raw[16:32]))


def main(argv):
    if len(argv) >= 3 and argv[1] == "make":
        make(argv[2], "--missing" in argv[3:])
    elif len(argv) == 3 and argv[1] == "orphan":
        print(orphan(argv[2]))
    elif len(argv) == 3 and argv[1] == "guid":
        print(guid_of(argv[2]))
    else:
        sys.stderr.write("usage: sis.py make DIR [--missing] | orphan DIR | guid FILE\n")
        return 64
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
