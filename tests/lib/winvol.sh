# winvol.sh - a test Windows volume, built with tools we did not write
# (mkntfs, an ntfs-3g mount, cp, setfattr of system.ntfs_*, hivexregedit);
# sourced, never run:
#   . "$(dirname "$0")/../lib/winvol.sh"
#   winvol_make IMG SIZE_MB; rc=$?     0 built, 77 no test data (skip), 1 failed
#
# IMG becomes an unmounted NTFS file system (label WINVOL) holding:
#   Windows/System32/config/SYSTEM   the real SYSTEM_WIN_10_1709 (dirty, no
#                                    logs: its Select\Current is 1)
#   Windows/System32/config/SOFTWARE made here (testdata has no SOFTWARE):
#       mkhive.py + hivexregedit --merge of Microsoft\Windows NT\
#       CurrentVersion (ProductName, CurrentBuild, CurrentBuildNumber, UBR,
#       SystemRoot) and ProfileList\ProgramData; the values are in
#       WINVOL_PRODUCT, WINVOL_BUILD, WINVOL_UBR below
#   Windows/System32/config/SAM, SECURITY   the real ones
#   Windows/System32/config/DEFAULT  made here (mkhive.py + merge: a user hive)
#   Users/Default/NTUSER.DAT         the real NTUSER.DAT
#   Windows.old/Windows/System32/config/SYSTEM, .LOG1, .LOG2
#       the real SYSTEM_B with its real transaction logs.  The issue wants
#       both SYSTEM hives on the volume; a volume has one Windows, so the
#       second one is where Windows itself keeps the hives of the previous
#       installation after an upgrade (Windows.old).  It is an ordinary part
#       of the volume for a backup (its hives go on tape as found, logs and
#       all); the rules of the running Windows come from Windows/.  With
#       WINVOL_MAIN=b the two swap (SYSTEM_B and its logs in Windows/).
#   pagefile.sys (1 MiB of random bytes), hiberfil.sys (64 KiB, the first
#       4 KiB zero: the header Windows zeroes after a resume)
#   files the real FilesNotToBackup rules of SYSTEM_WIN_10_1709 name:
#       Windows/MEMORY.DMP, Windows/Minidump/*.dmp, Windows/Temp/**,
#       Windows/SoftwareDistribution/**, Windows/netlogon.chg,
#       Windows/System32/LogFiles/WMI/RtBackup/*.etl,
#       ProgramData/Microsoft/Windows/WER/**,
#       System Volume Information/{3808876B-...}  (see WINVOL_FNTB)
#   Windows/CSC/v2.0.6/namespace/srv/share/*  offline-files cache (SYSTEM_B
#       and the Windows 7 SYSTEM name it, SYSTEM_WIN_10_1709 does not)
#   Users/Public/Documents/report.txt  hidden+archive (system.ntfs_attrib),
#       an ACL (system.ntfs_acl: Administrators own, Everyone full), a
#       Zone.Identifier stream; Users/Public/Documents/notes.txt plain
#   hooks, when the helpers exist:
#       tests/lib/sis.py make MOUNT          (SIS Common Store + links); its
#                                            output goes to IMG.sis
#       tests/lib/efs.py make MOUNT/Users/Public/Encrypted on an efs_raw
#                                            mount; its output to IMG.efs
# The function runs in a subshell: its mount is unmounted and its scratch
# removed at exit, whatever fails; the caller's traps are untouched.

# What SOFTWARE says (the test compares the label with hivexget of it).
WINVOL_PRODUCT='Windows 10 Pro'
WINVOL_BUILD=16299
WINVOL_UBR=15
# "component|file": files put on the volume because the FilesNotToBackup
# value `component` of SYSTEM_WIN_10_1709 names them.  Tests check each
# component's rule with hivexregedit before they expect the file excluded.
WINVOL_FNTB='Memory Page File|pagefile.sys
Power Management|hiberfil.sys
Kernel Dumps|Windows/MEMORY.DMP
Kernel Dumps|Windows/Minidump/112726-01.dmp
Temporary Files|Windows/Temp/setup.tmp
Temporary Files|Windows/Temp/sub/deep.tmp
WUA|Windows/SoftwareDistribution/Download/kb123.cab
Netlogon|Windows/netlogon.chg
ETW|Windows/System32/LogFiles/WMI/RtBackup/EtwRTEventLog.etl
WER|ProgramData/Microsoft/Windows/WER/ReportQueue/r1.wer
VSS Default Provider|System Volume Information/{3808876B-C176-4e48-B7AE-04046E6CC752}'
# Files no rule of SYSTEM_WIN_10_1709 names (kept by a backup).
WINVOL_KEEP='Windows/CSC/v2.0.6/namespace/srv/share/doc.txt
Windows/System32/drivers/etc/hosts
Windows/TempNot/kept.txt
Users/Public/Documents/report.txt
Users/Public/Documents/notes.txt
ProgramData/Microsoft/Windows/WERx/kept.txt'
# Hives (paths in the volume), with the logs that travel with them.
WINVOL_HIVES='Windows/System32/config/SYSTEM
Windows/System32/config/SOFTWARE
Windows/System32/config/SAM
Windows/System32/config/SECURITY
Windows/System32/config/DEFAULT
Users/Default/NTUSER.DAT
Windows.old/Windows/System32/config/SYSTEM'
WINVOL_LOGS='Windows.old/Windows/System32/config/SYSTEM.LOG1
Windows.old/Windows/System32/config/SYSTEM.LOG2'

# tests/lib: WINVOL_LIB, else beside the sourcing test (tests/X/Y.sh; sh has
# no BASH_SOURCE).
_winvol_lib=${WINVOL_LIB:-$(cd "$(dirname "$0")/../lib" 2>/dev/null && pwd)}

# (.reg text goes through printf '%s': dash's echo would eat its backslashes.)
# The registry file for one UTF-16LE REG_EXPAND_SZ: hex(2):..,00,00
_winvol_hex2() {
	python3 -c 'import sys; print(",".join("%02x" % c for c in (sys.argv[1] + "\0").encode("utf-16-le")))' "$1"
}

# A file of N bytes of random data.
_winvol_rand() { head -c "$2" /dev/urandom >"$1"; }

_winvol_software() { # OUT SCRATCH
	python3 "$_winvol_lib/mkhive.py" "$1" ROOT || return 1
	{
		printf '%s\n' 'Windows Registry Editor Version 5.00'
		echo
		printf '%s\n' '[\Microsoft]'
		echo
		printf '%s\n' '[\Microsoft\Windows NT]'
		echo
		printf '%s\n' '[\Microsoft\Windows NT\CurrentVersion]'
		echo "\"ProductName\"=\"$WINVOL_PRODUCT\""
		echo "\"CurrentBuild\"=\"$WINVOL_BUILD\""
		echo "\"CurrentBuildNumber\"=\"$WINVOL_BUILD\""
		echo "\"UBR\"=dword:$(printf %08x "$WINVOL_UBR")"
		printf '%s\n' '"SystemRoot"="C:\\Windows"'
		printf '%s\n' '"EditionID"="Professional"'
		echo
		printf '%s\n' '[\Microsoft\Windows NT\CurrentVersion\ProfileList]'
		echo "\"ProgramData\"=hex(2):$(_winvol_hex2 '%SystemDrive%\ProgramData')"
		echo
		printf '%s\n' '[\Microsoft\Windows]'
		echo
		printf '%s\n' '[\Microsoft\Windows\CurrentVersion]'
		printf '%s\n' '"ProgramFilesDir"="C:\\Program Files"'
	} >"$2/software.reg"
	hivexregedit --merge "$1" "$2/software.reg"
}

_winvol_default() { # OUT SCRATCH
	python3 "$_winvol_lib/mkhive.py" "$1" ROOT || return 1
	{
		printf '%s\n' 'Windows Registry Editor Version 5.00'
		echo
		printf '%s\n' '[\Control Panel]'
		echo
		printf '%s\n' '[\Control Panel\Desktop]'
		printf '%s\n' '"Wallpaper"=""'
		echo
		printf '%s\n' '[\Environment]'
		echo "\"TEMP\"=hex(2):$(_winvol_hex2 '%USERPROFILE%\AppData\Local\Temp')"
	} >"$2/default.reg"
	hivexregedit --merge "$1" "$2/default.reg"
}

# Hidden + archive, an ACL (owner and group Administrators, DACL: Everyone
# full control, inherited by files and directories), a named stream.
_winvol_meta() { # FILE
	setfattr -n system.ntfs_attrib_be -v 0x00000022 "$1" &&
	setfattr -n system.ntfs_acl -v 0x0100048014000000240000000000000034000000010200000000000520000000200200000102000000000005200000002002000002001c000100000000031400ff011f00010100000000000100000000 "$1" &&
	setfattr -n user.Zone.Identifier -v '[ZoneTransfer]
ZoneId=3' "$1"
}

_winvol_fill() { # MOUNT HIVES SCRATCH
	m=$1 hv=$2 s=$3
	cfg=$m/Windows/System32/config
	old=$m/Windows.old/Windows/System32/config
	mkdir -p "$cfg" "$old" "$m/Users/Default" "$m/Users/Public/Documents" \
		"$m/Windows/Minidump" "$m/Windows/Temp/sub" \
		"$m/Windows/SoftwareDistribution/Download" \
		"$m/Windows/System32/LogFiles/WMI/RtBackup" \
		"$m/Windows/System32/drivers/etc" "$m/Windows/TempNot" \
		"$m/ProgramData/Microsoft/Windows/WER/ReportQueue" \
		"$m/ProgramData/Microsoft/Windows/WERx" \
		"$m/System Volume Information" \
		"$m/Windows/CSC/v2.0.6/namespace/srv/share" || return 1
	if [ "${WINVOL_MAIN:-1709}" = b ]; then
		a=$cfg b=$old
	else
		a=$old b=$cfg
	fi
	cp "$hv/SYSTEM_B" "$a/SYSTEM" && cp "$hv/SYSTEM_B.LOG1" "$a/SYSTEM.LOG1" &&
	cp "$hv/SYSTEM_B.LOG2" "$a/SYSTEM.LOG2" &&
	cp "$hv/SYSTEM_WIN_10_1709" "$b/SYSTEM" &&
	cp "$hv/SAM" "$cfg/SAM" && cp "$hv/SECURITY" "$cfg/SECURITY" &&
	cp "$hv/NTUSER.DAT" "$m/Users/Default/NTUSER.DAT" &&
	cp "$s/SOFTWARE" "$cfg/SOFTWARE" && cp "$s/DEFAULT" "$cfg/DEFAULT" || return 1
	_winvol_rand "$m/pagefile.sys" 1048576 &&
	head -c 4096 /dev/zero >"$m/hiberfil.sys" &&
	head -c 61440 /dev/urandom >>"$m/hiberfil.sys" || return 1
	printf '%s\n' "$WINVOL_FNTB" | while IFS='|' read -r _c f; do
		[ -e "$m/$f" ] || _winvol_rand "$m/$f" 3000 || exit 1
	done || return 1
	printf '%s\n' "$WINVOL_KEEP" | while read -r f; do
		printf 'kept: %s\n' "$f" >"$m/$f" || exit 1
	done || return 1
	printf '127.0.0.1 localhost\r\n' >"$m/Windows/System32/drivers/etc/hosts" &&
	_winvol_meta "$m/Users/Public/Documents/report.txt"
}

_winvol_hooks() { # IMG MOUNT
	if [ -f "$_winvol_lib/sis.py" ]; then
		ntfs-3g "$1" "$2" &&
		python3 "$_winvol_lib/sis.py" make "$2" >"$1.sis" || return 1
		umount "$2" || return 1
	fi
	if [ -f "$_winvol_lib/efs.py" ]; then
		ntfs-3g -o efs_raw "$1" "$2" && mkdir -p "$2/Users/Public/Encrypted" &&
		python3 "$_winvol_lib/efs.py" make "$2/Users/Public/Encrypted" >"$1.efs" ||
			return 1
		umount "$2" || return 1
	fi
	return 0
}

winvol_make() ( # IMG SIZE_MB
	set -u
	img=$1 size=$2
	hv=${SYSRECOVER_TESTDATA:-$(cd "$_winvol_lib/../../.." && pwd)/shared/testdata}/hives
	for f in SYSTEM_WIN_10_1709 SYSTEM_B SYSTEM_B.LOG1 SYSTEM_B.LOG2 SAM SECURITY NTUSER.DAT; do
		[ -f "$hv/$f.xz" ] || { echo "winvol: $hv/$f.xz missing" >&2; exit 77; }
	done
	s=$(mktemp -d "${TMPDIR:-/tmp}/winvol.XXXXXX") || exit 1
	mkdir "$s/mnt" "$s/hives" || exit 1
	trap 'mountpoint -q "$s/mnt" && umount "$s/mnt"; rm -rf "${s:?}"' EXIT
	for f in SYSTEM_WIN_10_1709 SYSTEM_B SYSTEM_B.LOG1 SYSTEM_B.LOG2 SAM SECURITY NTUSER.DAT; do
		xz -dc "$hv/$f.xz" >"$s/hives/$f" || exit 1
	done
	_winvol_software "$s/SOFTWARE" "$s" >/dev/null && _winvol_default "$s/DEFAULT" "$s" >/dev/null ||
		{ echo "winvol: cannot make SOFTWARE/DEFAULT" >&2; exit 1; }
	rm -f "${img:?}"
	truncate -s "${size}M" "$img" && mkntfs -q -F -f -L WINVOL "$img" >"$s/mkntfs.out" 2>&1 ||
		{ cat "$s/mkntfs.out" >&2; echo "winvol: mkntfs failed" >&2; exit 1; }
	ntfs-3g "$img" "$s/mnt" || exit 1
	_winvol_fill "$s/mnt" "$s/hives" "$s" || { echo "winvol: cannot fill the volume" >&2; exit 1; }
	umount "$s/mnt" || exit 1
	_winvol_hooks "$img" "$s/mnt" || { echo "winvol: a sis/efs hook failed" >&2; exit 1; }
	exit 0
)
