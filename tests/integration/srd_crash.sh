#!/bin/sh
# srd_crash.sh - a native queue of 25 mixed operations (moves onto new and
# existing names, chains of moves, a swap, deletes of files and of the
# directories they emptied, big and small files, short names valid and not,
# and a failing delete that stops the queue) applied to ext4 and NTFS, and
# the same mix as pending renames plus an srdelayed file on a Windows disk
# (so hive commits are cut off too), each killed after every single write N (SIGKILL, through the test-only injection point),
# then applied again (a kill leaves the volume marked not cleanly closed;
# the rerun finishes from its journal, and after the very last write, when
# no journal is left, it is refused until the advised check has run).
# Each end state must equal the one run that was never
# interrupted: the tree, every file's SHA-256, the short names, the queue's
# statuses; e2fsck -fn (ext4) and ntfsfix -n (NTFS) clean.  The state is read
# through the kernel's ext4 and through ntfs-3g, not through our code.
# Needs no test data: the hives start empty (tests/lib/mkhive.py).
#   srd_crash.sh SYSRECOVER [SYSRECOVER_ASAN]
set -u
S=$1   # the plain build: hundreds of runs; the ASan one runs the reference
A=${2:-$1}
[ -x "$A" ] || A=$S
L=$(cd "$(dirname "$0")/../lib" && pwd)
. "$L/check.sh"
need python3 hivexregedit mkntfs ntfs-3g ntfsfix sfdisk mke2fs e2fsck
workdir crash

# The tree the queue works on.
mktree() {
	d=$1
	mkdir -p "$d/stage/sub" "$d/live" "$d/archive" "$d/tmp/d" "$d/sw" \
		"$d/var/lib/sysrecover"
	for f in stage/f1 stage/f2 stage/f3 stage/f4 stage/sub/deep live/f2 \
		 live/old1 tmp/d/x1 tmp/d/x2 a sw/A sw/B; do
		echo "content of $f" >"$d/$f"
	done
	head -c 1048576 /dev/urandom >"$d/big"
	T=$(printf '\t')
	cat >"$d/var/lib/sysrecover/srdelayed.queue" <<EOF
# crash test queue
MoveFile${T}/stage/f1${T}/live/f1${T}NotExecuted
MoveFile${T}/stage/f2${T}/live/f2${T}NotExecuted
MoveFile${T}/live/f2${T}/live/f2b${T}NotExecuted
MoveFile${T}/live/f2b${T}/archive/f2${T}NotExecuted
DeleteFile${T}Unused${T}/live/old1${T}NotExecuted
MoveFile${T}/stage/f3${T}/live/old1${T}NotExecuted
DeleteFile${T}Unused${T}/tmp/d/x1${T}NotExecuted
DeleteFile${T}Unused${T}/tmp/d/x2${T}NotExecuted
DeleteFile${T}Unused${T}/tmp/d${T}NotExecuted
SetFileShortName${T}LIVEF1~1.TXT${T}/live/f1${T}NotExecuted
MoveFile${T}/a${T}/b${T}NotExecuted
MoveFile${T}/b${T}/a2${T}NotExecuted
DeleteFile${T}Unused${T}/big${T}NotExecuted
MoveFile${T}/stage/sub/deep${T}/live/deep${T}NotExecuted
SetFileShortName${T}DEEP~1${T}/live/deep${T}NotExecuted
MoveFile${T}/sw/A${T}/sw/T${T}NotExecuted
MoveFile${T}/sw/B${T}/sw/A${T}NotExecuted
MoveFile${T}/sw/T${T}/sw/B${T}NotExecuted
DeleteFile${T}Unused${T}/stage/sub${T}NotExecuted
SetFileShortName${T}BAD NAME.TXT${T}/live/old1${T}NotExecuted
MoveFile${T}/stage/f4${T}/live/f4${T}NotExecuted
SetFileShortName${T}F4~1${T}/live/f4${T}NotExecuted
DeleteFile${T}Unused${T}/tmp${T}NotExecuted
DeleteFile${T}Unused${T}/nonexistent${T}NotExecuted
DeleteFile${T}Unused${T}/live/f4${T}NotExecuted
EOF
}

# Everything a user could see: type, SHA-256, short name (NTFS), per path.
dump() { # kind image
	hives=
	if [ "$1" = win ]; then  # partition 1 of a disk; hives by content
		dd if="$2" of="$w/dump.part" bs=1M skip=1 count=40 status=none
		set -- ntfs "$w/dump.part"
		hives=1
	fi
	if [ "$1" = ext4 ]; then
		mount -o ro,loop,noload "$2" "$mnt" || { echo "cannot mount"; return; }
	else
		ntfs-3g -o ro "$2" "$mnt" || { echo "cannot mount"; return; }
	fi
	python3 - "$mnt" "$1" "$hives" <<'EOF'
import hashlib, os, subprocess, sys
root, kind, hives = sys.argv[1], sys.argv[2], sys.argv[3]
for d, dirs, files in os.walk(root):
    dirs.sort()
    for n in sorted(dirs + files):
        p = os.path.join(d, n)
        rel = os.path.relpath(p, root)
        if rel in ("lost+found", "System Volume Information") or rel.startswith("$"):
            continue
        if os.path.isdir(p):
            line = "dir"
        elif hives and rel.startswith("Windows/System32/config/") and "." not in n:
            # a hive, by what hivexregedit reads: its sequence numbers
            # change with each commit, and a resumed run may commit again
            out = subprocess.run(["hivexregedit", "--export", p, "\\"],
                                 capture_output=True).stdout
            line = "hive " + hashlib.sha256(out).hexdigest()
        else:
            line = hashlib.sha256(open(p, "rb").read()).hexdigest()
        if kind == "ntfs":
            try:
                line += " short=" + os.getxattr(p, "system.ntfs_dos_name").decode()
            except OSError:
                line += " short="
        print(rel, line)
EOF
	umount "$mnt"
}

# The check the refusal advises, for a volume left not cleanly closed.
checkfix() { # kind image
	case $1 in
	ext4) e2fsck -fy "$2" >/dev/null 2>&1; [ $? -le 1 ] ;;
	ntfs) ntfsfix -d "$2" >/dev/null 2>&1 ;;
	win)
		dd if="$2" of="$w/fix.part" bs=1M skip=1 count=40 status=none &&
		ntfsfix -d "$w/fix.part" >/dev/null 2>&1 &&
		dd if="$w/fix.part" of="$2" bs=1M seek=1 conv=notrunc status=none
		;;
	esac
}

fsck_ok() { # kind image
	if [ "$1" = win ]; then
		dd if="$2" of="$w/fsck.part" bs=1M skip=1 count=40 status=none
		ntfsfix -n "$w/fsck.part" >/dev/null 2>&1
	elif [ "$1" = ext4 ]; then
		e2fsck -fn "$2" >/dev/null 2>&1
	else
		ntfsfix -n "$2" >/dev/null 2>&1
	fi
}

crash() { # kind
	k=$1
	rm -rf "$w/tree"
	mkdir -p "$w/tree"
	at=  # the volume: the image, or partition 1 of it
	if [ "$k" = win ]; then
		mkwin || return
		at=@1
	elif [ "$k" = ext4 ]; then
		mktree "$w/tree"
		mke2fs -q -t ext4 -d "$w/tree" "$w/pristine" 64M || { bad "$k-mkfs" mke2fs; return; }
	else
		truncate -s 64M "$w/pristine"
		mkntfs -F -Q -q "$w/pristine" >/dev/null 2>&1 || { bad "$k-mkfs" mkntfs; return; }
		ntfs-3g "$w/pristine" "$mnt" && mktree "$mnt" && umount "$mnt" ||
			{ bad "$k-mkfs" "ntfs-3g fill"; return; }
	fi
	# The reference: one run, never interrupted, counting its writes.
	cp --sparse=always "$w/pristine" "$w/ref"
	SYSRECOVER_TEST_KILL_AFTER_WRITE=0 "$A" srdelayed apply "$w/ref$at" \
		>"$w/ref.out" 2>"$w/ref.err"
	ref_rc=$?
	total=$(sed -n 's/.*fault injection: \([0-9]*\) writes.*/\1/p' "$w/ref.err")
	is "$k-reference-run-exit (1: the failing delete stops the queue)" "$ref_rc" 1
	# (Windows: the pending pair on /nonexistent fails too; names are
	# printed with text_name, a '\' as "\\")
	nf=1; [ "$k" = win ] && nf=2
	is "$k-reference-failed-delete" "$(grep -c '^failed .*nonexistent' "$w/ref.out")" "$nf"
	is "$k-reference-stops-after-it" "$(grep -c '^not-reached .*live[\\/]*f4' "$w/ref.out")" 1
	dump "$k" "$w/ref" >"$w/ref.dump"
	check "$k-reference-fsck" fsck_ok "$k" "$w/ref"
	[ "${total:-0}" -ge 25 ] || { bad "$k-write-count" "only '${total:-}' writes"; return; }
	covered=0 badn=""
	n=1
	while [ "$n" -le "$total" ]; do
		cp --sparse=always "$w/pristine" "$w/img"
		SYSRECOVER_TEST_KILL_AFTER_WRITE=$n "$S" srdelayed apply "$w/img$at" \
			>/dev/null 2>"$w/kill.err"
		krc=$?
		"$S" srdelayed apply "$w/img$at" >"$w/again.out" 2>&1
		arc=$?
		# Killed after the last write (the journal's removal), the run was
		# complete, but the volume still carries the not-cleanly-closed
		# mark and no journal to finish from: it is refused until checked.
		# Do what the message advises, then the run has nothing left to do.
		if [ "$n" -eq "$total" ] && [ "$arc" -eq 2 ] &&
		   grep -q 'not cleanly closed' "$w/again.out" &&
		   checkfix "$k" "$w/img"; then
			"$S" srdelayed apply "$w/img$at" >"$w/again.out" 2>&1
			arc=$?
		fi
		if [ "$krc" -ne 137 ]; then
			badn="$badn $n(not killed: $krc)"
		elif [ "$arc" -ne "$ref_rc" ] && ! { [ "$n" -eq "$total" ] && [ "$arc" -eq 0 ]; }; then
			# (killed after the very last write, the journal's removal,
			# the run was complete: the next one has nothing to do)
			badn="$badn $n(rerun exit $arc: $(tail -1 "$w/again.out"))"
		elif [ "$(dump "$k" "$w/img")" != "$(cat "$w/ref.dump")" ]; then
			badn="$badn $n(state differs)"
			dump "$k" "$w/img" | diff "$w/ref.dump" - | head -4
		elif ! fsck_ok "$k" "$w/img"; then
			badn="$badn $n(fsck)"
		else
			covered=$((covered + 1))
		fi
		n=$((n + 1))
	done
	echo "# $k: $covered of $total kill points end in the uninterrupted state"
	if [ -z "$badn" ]; then
		ok "$k-every-kill-point ($covered kill points)"
	else
		bad "$k-every-kill-point" "kill points:$badn"
	fi
	# the queue ran once: a run after it changes nothing
	cp "$w/ref" "$w/ref2"
	"$S" srdelayed apply "$w/ref2$at" >/dev/null 2>&1
	check "$k-rerun-after-done-changes-nothing" cmp "$w/ref" "$w/ref2"
}

# Windows: pending renames and an srdelayed file (tests/lib/crash_win.py) on an
# MBR disk that the SYSTEM hive's MountedDevices names, so that the kills
# also land in the statuses and in the SOFTWARE and SYSTEM hive commits.
mkwin() {
	python3 "$L/crash_win.py" "$w/sys.reg" "$w/ops" &&
		python3 "$L/mkhive.py" "$w/SYSTEM" && python3 "$L/mkhive.py" "$w/SOFTWARE" &&
		hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SYSTEM' "$w/SYSTEM" "$w/sys.reg" ||
		{ bad win-hive "mkhive.py or hivexregedit"; return 1; }
	truncate -s 40M "$w/part"
	mkntfs -F -Q -q "$w/part" >/dev/null 2>&1 && ntfs-3g "$w/part" "$mnt" ||
		{ bad win-mkfs "mkntfs"; return 1; }
	mktree "$mnt"
	rm -rf "${mnt:?}/var"  # the Windows queues only
	mkdir -p "$mnt/Windows/System32/config"
	cp "$w/SYSTEM" "$mnt/Windows/System32/config/SYSTEM"
	cp "$w/SOFTWARE" "$mnt/Windows/System32/config/SOFTWARE"
	cp "$w/ops" "$mnt/ops"
	umount "$mnt"
	rm -f "$w/pristine"
	truncate -s 48M "$w/pristine"
	printf 'label: dos\nlabel-id: 0x5a5a0001\nstart=2048, size=81920, type=7\n' |
		sfdisk -q "$w/pristine" >/dev/null
	dd if="$w/part" of="$w/pristine" bs=1M seek=1 conv=notrunc status=none
}

for k in ${SRD_CRASH_CASES:-ext4 ntfs win}; do  # (one case: SRD_CRASH_CASES=win)
	crash "$k"
done
finish
