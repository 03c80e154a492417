#!/usr/bin/env python3
"""efs.py - raw encrypted (EFS) files for the tests, made through ntfs-3g.

  efs.py make DIR       DIR is inside an ntfs-3g mount with -o efs_raw: make
                        the encrypted files below (and print "NAME SIZE" for
                        each: its raw size as efs_raw reads it)
  efs.py make-damaged DIR
                        one encrypted file, damaged.bin, whose $EFS stream has
                        the right length (so ntfs-3g takes it) but a DDF array
                        offset past its end (what our structure check refuses)
  efs.py blob SEED      print a $EFS stream (hex) as make writes it
  efs.py raw NAME       write to stdout the raw stream make writes for NAME
                        (one of the files below, or Zone for the stream)
  efs.py damage TAPE HEX [FIELD]
                        in the file TAPE, find the bytes HEX (a $EFS stream as
                        getfattr -e hex shows it, "0x" allowed) and break them
                        in place, same length (FIELD: ddf, the default: the DDF
                        array offset points past the end; length: the header
                        length is one less; fek: a key field's FEK runs past
                        the field; version: 0; count: the DDF array says 1000
                        fields; cred: the first credential is longer than
                        its field; sid: the first SID has revision 2;
                        overlap: the DRF array starts inside the DDF array);
                        exit 1 when HEX is not found exactly once

Nothing here encrypts anything: there is no key.  The "encrypted" data is
random bytes, written the way a backup program restores a raw encrypted
file on an ntfs-3g efs_raw mount (ntfs-3g's README and sources): create the
file, write the raw stream (the clusters, padded to 512 bytes, then a le16
trailer: how many padding bytes there are), then set user.ntfs.efsinfo,
the $EFS stream, which makes the file encrypted.  The $EFS stream follows
the layout in libntfs-3g's layout.h (EFS_ATTR_HEADER, the DDF and DRF
arrays of key fields with a certificate-thumbprint credential, a SID, the
names and an encrypted FEK), with made-up values.  Read raw files back
through a mount with -o efs_raw,direct_io, in pieces of an odd size (dd
bs=999): ntfs-3g fails (EIO) a read that starts at the 2-byte trailer of a
stream that ends on a cluster boundary (secret-4k.bin, secret-1m.bin), and
without direct_io the kernel reads whole pages, with it pieces of up to
128 KiB from where the reader's read starts.

Files made (under DIR):
  secret-empty.txt   0 bytes of data (raw: 0 bytes)
  secret-small.txt   300 bytes (raw 514: padding 212)
  secret-block.bin   512 bytes (raw 514: padding 0)
  secret-4k.bin      4096 bytes: one cluster, raw 4098 (more than it allocates)
  secret-4000.bin    4000 bytes: raw 4098 too, padding 96
  secret-multi.bin   70000 bytes, several 4K clusters (raw 70146)
  secret-1m.bin      1 MiB (raw 1048578: a reader in 1 MiB pieces reads the
                     trailer alone)
  EncDir/            an encrypted directory (its $EFS only)
  EncDir/inner.doc   5000 bytes
and secret-small.txt has a named stream "Zone" of 600 bytes (raw 1026),
set as the xattr user.Zone (ntfs-3g's streams_interface=xattr), which is
encrypted too: written raw after $EFS, fixed up by ntfs-3g at once.
"""
import os
import random
import struct
import sys

FILES = [("secret-empty.txt", 0), ("secret-small.txt", 300), ("secret-block.bin", 512),
         ("secret-4k.bin", 4096), ("secret-4000.bin", 4000), ("secret-multi.bin", 70000), ("secret-1m.bin", 1 << 20), ("EncDir/inner.doc", 5000)]


def utf16z(s):
    return (s + "\0").encode("utf-16-le")


def sid(rnd):
    subs = [21, rnd.getrandbits(32), rnd.getrandbits(32), rnd.getrandbits(32), 1001]
    return struct.pack("<BB6s", 1, len(subs), (5).to_bytes(6, "big")) + \
        b"".join(struct.pack("<I", s) for s in subs)


def key_field(rnd, user):
    """EFS_DF_HEADER, credential (type 3: certificate thumbprint), FEK."""
    s = sid(rnd)
    names = [utf16z("{%08X-EFS}" % rnd.getrandbits(32)),
             utf16z("Microsoft Enhanced Cryptographic Provider v1.0"), utf16z(user)]
    th_hdr_len = 20
    thumb = bytes(rnd.getrandbits(8) for _ in range(20))
    off = th_hdr_len + len(thumb)
    offs = []
    for n in names:
        offs.append(off)
        off += len(n)
    th = struct.pack("<5I", th_hdr_len, len(thumb), *offs) + thumb + b"".join(names)
    cred_hdr = 28
    cred_len = cred_hdr + len(s) + len(th)
    cred = struct.pack("<7I", cred_len, cred_hdr, 3, len(th), cred_hdr + len(s), 0, 0) + s + th
    fek = bytes(rnd.getrandbits(8) for _ in range(256))
    df_len = 20 + len(cred) + len(fek)
    return struct.pack("<5I", df_len, 20, len(fek), 20 + len(cred), 0) + cred + fek


def blob(seed):
    rnd = random.Random("efs-%s" % seed)
    ddf = struct.pack("<I", 1) + key_field(rnd, "WIN10\\alice")
    drf = struct.pack("<I", 1) + key_field(rnd, "Administrator")
    hdr_len = 76
    total = hdr_len + len(ddf) + len(drf)
    hdr = struct.pack("<4I", total, 0, 2, 0) + bytes(rnd.getrandbits(8) for _ in range(48)) + \
        struct.pack("<3I", hdr_len, hdr_len + len(ddf), 0)
    return hdr + ddf + drf


def raw(seed, size):
    """The raw stream of a file of `size` bytes: padded clusters + trailer."""
    if size == 0:
        return b""
    rnd = random.Random("raw-%s" % seed)
    padded = (size + 511) & ~511
    return rnd.randbytes(padded) + struct.pack("<H", padded - size)


def make(top):
    os.makedirs(os.path.join(top, "EncDir"), exist_ok=True)
    os.setxattr(os.path.join(top, "EncDir"), "user.ntfs.efsinfo", blob("EncDir"))
    for name, size in FILES:
        path = os.path.join(top, name)
        data = raw(name, size)
        with open(path, "wb") as f:
            f.write(data)
        # setting $EFS turns the raw bytes (trailer included) into the stream
        os.setxattr(path, "user.ntfs.efsinfo", blob(name))
        print("%s %d" % (name, len(data)))
    os.setxattr(os.path.join(top, "secret-small.txt"), "user.Zone", raw("Zone", 600))
    check_encrypted(top, [n for n, _ in FILES] + ["EncDir"])


def check_encrypted(top, names):
    """Without -o efs_raw, ntfs-3g would have taken user.ntfs.efsinfo for a
    named stream: make sure each file is encrypted (FILE_ATTRIBUTE_ENCRYPTED
    in system.ntfs_attrib)."""
    for name in names:
        attrib = struct.unpack("<I", os.getxattr(os.path.join(top, name),
                                                 "system.ntfs_attrib"))[0]
        if not attrib & 0x4000:
            sys.exit("efs.py: %s is not encrypted: is %s an ntfs-3g mount with "
                     "-o efs_raw?" % (name, top))


def make_damaged(top):
    path = os.path.join(top, "damaged.bin")
    b = bytearray(blob("damaged"))
    struct.pack_into("<I", b, 64, len(b) + 100)
    with open(path, "wb") as f:
        f.write(raw("damaged", 1000))
    os.setxattr(path, "user.ntfs.efsinfo", bytes(b))
    check_encrypted(top, ["damaged.bin"])


def damage(tape, hexblob, field):
    h = hexblob[2:] if hexblob.startswith("0x") else hexblob
    b = bytearray(bytes.fromhex(h))
    with open(tape, "rb") as f:
        img = f.read()
    if img.count(bytes(b)) != 1:
        print("efs.py: the $EFS stream is in %s %d times" % (tape, img.count(bytes(b))),
              file=sys.stderr)
        return 1
    at = img.index(bytes(b))
    if field == "ddf":
        struct.pack_into("<I", b, 64, len(b) + 100)
    elif field == "length":
        struct.pack_into("<I", b, 0, len(b) - 1)
    elif field in ("fek", "cred", "sid"):
        df = struct.unpack_from("<I", b, 64)[0] + 4          # the first key field
        df_len, cred = struct.unpack_from("<II", b, df)
        if field == "fek":
            struct.pack_into("<I", b, df + 8, df_len)      # fek_size: the whole field
        elif field == "cred":
            struct.pack_into("<I", b, df + cred, df_len)   # cred_length: ditto
        else:
            sid = struct.unpack_from("<I", b, df + cred + 4)[0]
            b[df + cred + sid] = 2                         # SID revision 2
    elif field == "version":
        struct.pack_into("<I", b, 8, 0)
    elif field == "count":
        struct.pack_into("<I", b, struct.unpack_from("<I", b, 64)[0], 1000)
    elif field == "overlap":
        struct.pack_into("<I", b, 68, struct.unpack_from("<I", b, 64)[0])
    else:
        print("efs.py: no field %s" % field, file=sys.stderr)
        return 2
    with open(tape, "r+b") as f:
        f.seek(at)
        f.write(bytes(b))
    return 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        make(sys.argv[2])
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "make-damaged":
        make_damaged(sys.argv[2])
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "raw":
        sizes = dict(FILES + [("Zone", 600)])
        sys.stdout.buffer.write(raw(sys.argv[2], sizes[sys.argv[2]]))
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "blob":
        print(blob(sys.argv[2]).hex())
        return 0
    if len(sys.argv) in (4, 5) and sys.argv[1] == "damage":
        return damage(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) == 5 else "ddf")
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
