#!/usr/bin/env python3
"""mkhive.py - write an empty registry hive: the one thing no Debian tool
does (hivex and hivexregedit edit hives but cannot start one; libregf only
reads).  Tests then fill it with hivexregedit --merge, so every key and
value in it is written by a tool we did not write.

    mkhive.py OUT [ROOTNAME]

The file is a regf base block (version 1.3, clean: both sequence numbers
equal, checksum set) and one 4 KiB hive bin holding the root key (nk, flags
HIVE_ENTRY|NO_DELETE|COMP_NAME) and the security cell (sk) it points to,
which hivex needs because new keys inherit their parent's sk.  The layout
follows the regf format as libregf documents it; tests check the result
with hivexget and regfinfo (libregf) before they rely on it.
"""
import struct
import sys

def cell(body):
    size = (4 + len(body) + 7) & ~7          # cells are 8-byte aligned
    return struct.pack('<i', -size) + body + b'\0' * (size - 4 - len(body))

def main():
    out = sys.argv[1]
    name = (sys.argv[2] if len(sys.argv) > 2 else 'ROOT').encode('ascii')
    ts = 0x01d00000_00000000                 # a fixed FILETIME: reproducible
    # Minimal self-relative security descriptor: revision 1, control
    # SE_SELF_RELATIVE, no owner, group, SACL or DACL.
    sd = struct.pack('<BBHIIII', 1, 0, 0x8000, 0, 0, 0, 0)
    nk_off = 0x20                            # first cell after the bin header
    nk_len = 4 + 0x4c + len(name)
    sk_off = nk_off + ((nk_len + 7) & ~7)
    nk = struct.pack('<2sHQIIIIIIIIIIIIIIIHH', b'nk', 0x2c, ts, 0,
                     0xffffffff,              # parent (none: the root)
                     0, 0, 0xffffffff, 0xffffffff,  # subkeys: none
                     0, 0xffffffff,           # values: none
                     sk_off, 0xffffffff,      # security, class name
                     0, 0, 0, 0, 0,           # max lengths, work var
                     len(name), 0) + name
    sk = struct.pack('<2sHIIII', b'sk', 0, sk_off, sk_off, 1, len(sd)) + sd
    cells = cell(nk) + cell(sk)
    free = 4096 - 32 - len(cells)
    hbin = struct.pack('<4sIIQQI', b'hbin', 0, 4096, 0, ts, 0) + cells + \
        struct.pack('<i', free) + b'\0' * (free - 4)
    base = bytearray(4096)
    struct.pack_into('<4sIIQIIIIII', base, 0, b'regf', 1, 1, ts, 1, 3, 0, 1,
                     nk_off, len(hbin))
    struct.pack_into('<I', base, 0x2c, 1)    # clustering factor
    fname = 'empty'.encode('utf-16-le')
    base[0x30:0x30 + len(fname)] = fname
    x = 0
    for i in range(0, 508, 4):
        x ^= struct.unpack_from('<I', base, i)[0]
    x = {0: 1, 0xffffffff: 0xfffffffe}.get(x, x)
    struct.pack_into('<I', base, 508, x)
    with open(out, 'wb') as f:
        f.write(bytes(base) + hbin)

main()
