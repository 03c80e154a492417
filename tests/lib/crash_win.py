#!/usr/bin/env python3
"""crash_win.py REG OPS - the Windows queues of srd_crash.sh, written without
our code: a .reg file for hivexregedit (Select, MountedDevices with C: =
MBR signature 0x5a5a0001 at 1 MiB, pending renames, SetupExecute) and the
srdelayed input file (UTF-16LE, four NUL-terminated fields per record, one
extra NUL at the end, the format srd.h describes).
The .reg lists every parent key before its children, as hivexregedit
--merge into an empty hive (tests/lib/mkhive.py) needs."""
import sys

reg, ops_path = sys.argv[1], sys.argv[2]
C = "\\??\\C:\\"


def hx(b):
    return ",".join("%02x" % x for x in b)


def multi_sz(*strings):
    return hx(("".join(s + "\0" for s in strings) + "\0").encode("utf-16-le"))


pending = [
    C + "stage\\f1", C + "live\\f1",          # move
    C + "stage\\f2", "!" + C + "live\\f2",    # replace
    C + "live\\old1", "",                     # delete
    C + "nonexistent", C + "x",               # fails, the next pairs run
    C + "tmp\\d\\x1", "",
    C + "tmp\\d\\x2", "",
    C + "tmp\\d", "",                         # now empty
]
sm = "HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\Session Manager"
lines = [
    "Windows Registry Editor Version 5.00", "",
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]",
    '"Current"=dword:00000001', '"Default"=dword:00000001', "",
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\MountedDevices]",
    '"\\\\DosDevices\\\\C:"=hex:01,00,5a,5a,00,00,10,00,00,00,00,00', "",
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001]", "",
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control]", "",
    "[" + sm + "]",
    '"PendingFileRenameOperations"=hex(7):' + multi_sz(*pending),
    '"SetupExecute"=hex(7):' + multi_sz(
        "C:\\Windows\\System32\\srdelayed.exe " + C + "ops"),
    "", "",
]
with open(reg, "w") as f:
    f.write("\n".join(lines))

records = [
    ("MoveFile", C + "stage\\f3", C + "live\\old1"),
    ("SetFileShortName", "LIVEF1~1.TXT", C + "live\\f1"),
    ("MoveFile", C + "a", C + "b"),
    ("MoveFile", C + "b", C + "a2"),
    ("SetFileShortName", "BAD NAME", C + "a2"),      # invalid 8.3: goes on
    ("DeleteFile", "Unused", C + "big"),
    ("MoveFile", C + "sw\\A", C + "sw\\T"),
    ("MoveFile", C + "sw\\B", C + "sw\\A"),
    ("MoveFile", C + "sw\\T", C + "sw\\B"),
    ("MoveFile", C + "stage\\f4", C + "live\\f4"),
    ("DeleteFile", "Unused", C + "nonexistent"),     # stops the file
    ("DeleteFile", "Unused", C + "live\\f4"),        # not reached
]
data = "".join("\0".join(r + ("NotExecuted",)) + "\0" for r in records) + "\0"
with open(ops_path, "wb") as f:
    f.write(data.encode("utf-16-le"))
