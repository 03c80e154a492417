#!/usr/bin/env python3
"""mkset.py OUT.tap LABEL.bin DATA.tar [--plain]

Write a SIMH tape image holding one backup set whose data file is DATA.tar
(any tar, e.g. one made with python's tarfile to hold hostile members):

    [LABEL.bin] FM [DATA.tar in records of the label's record size] FM
    [a catalog: one plain line per member of DATA.tar] FM

LABEL.bin is a real label record (read off a tape sysrecover wrote: its
tape-file must be 0).  The catalog lists every member of DATA.tar, in order,
as a file "/mN" of volume 0 at the member's own position (tarfile's offset
of its first header), so that a restore plans to read them all; its END
line carries the count and the SHA-256 the format asks for.  This is what
an attacker who controls the tape can write; the restore must defend
itself on the data alone.

--plain: no label and no catalog, the tar alone as tape file 0 (a tape
written by GNU tar, as `tar -b 512 -cf /dev/nst0` would).
"""
import hashlib
import struct
import sys
import tarfile


def record(f, data):
    n = len(data)
    f.write(struct.pack("<I", n))
    f.write(data)
    if n % 2:
        f.write(b"\0")
    f.write(struct.pack("<I", n))


def mark(f):
    f.write(struct.pack("<I", 0))


def records(f, data, size):
    for i in range(0, len(data), size):
        chunk = data[i:i + size]
        if len(chunk) < size:
            chunk += b"\0" * (size - len(chunk))
        record(f, chunk)


def catalog(data_path, size):
    lines = [b"SYSRECOVER CATALOG 1\n"]
    n = 0
    with tarfile.open(data_path, "r:") as t:
        for m in t:
            lines.append(("%d\t0\tf\t-\t0\t-\t0\t1\t%d\t-\t%d\t/m%d\n"
                          % (n, m.offset // size, m.offset % size, n)).encode())
            n += 1
    body = b"".join(lines)
    return body + ("END %d %s\n" % (n, hashlib.sha256(body).hexdigest())).encode()


def main():
    out, label, data = sys.argv[1:4]
    plain = "--plain" in sys.argv
    with open(data, "rb") as f:
        tar = f.read()
    size = 10240
    lab = b""
    if not plain:
        with open(label, "rb") as f:
            lab = f.read()
        for line in lab.split(b"\n"):
            if line.startswith(b"record-size: "):
                size = int(line.split(b": ")[1])
    with open(out, "wb") as f:
        if not plain:
            record(f, lab)
            mark(f)
        records(f, tar, size)
        mark(f)
        if not plain:
            records(f, catalog(data, size), size)
            mark(f)


main()
