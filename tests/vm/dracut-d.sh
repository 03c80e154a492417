# dracut-d.sh - VM test D, sourced by run.sh (which gives QEMU, KDIR, MODTREE, SR, OUT,
# TIMEOUT, HERE and tests/lib/check.sh): Debian's own dracut (dracut-core) builds an
# initramfs for the test kernel with our module initramfs/dracut/90sysrecover, without
# changing the host: inside `unshare -m --propagation private` a read-only overlay adds
# the module to /usr/lib/dracut/modules.d, a tmpfs over /usr/local holds sysrecover where
# `make install` puts it, and an overlay over /etc adds /etc/sysrecover/boot-volumes.
# Two images: the default systemd initrd, and one with --omit "systemd systemd-initrd
# dracut-systemd" (dracut's own /init and its pre-mount hook).  Each boots twice:
#  1. vda: the root, ext4 (label srdD) with a native queue: a move, a delete and a short
#     name (not supported on ext: status 50, and the queue goes on); /sbin/proof-init,
#     a busybox script that prints the root's state, saves dmesg to /proof-dmesg.txt,
#     remounts / read-only and powers off.  vdb: ext4 (srdDv), named in boot-volumes,
#     with a queued delete.
#  2. the same, but the root's queue has a record that climbs above the volume: sysrecover
#     refuses it and changes nothing; the boot must go on into the root, and both queues
#     must be left as they were.
# vdc is a swap disk without a hibernation image, and resume=/dev/vdc is on the command
# line.  The host checks with debugfs and e2fsck -fn.  It reads the order of events from
# the kernel's own log (dmesg, saved by proof-init): the kernel's "PM: Image not found"
# (the resume attempt) comes before our first line; our result line comes before the fsck
# of the root (systemd's "systemd-fsck-root.service" start, or dracut's "Checking ext4")
# and before the kernel's first "EXT4-fs (vda): mounted filesystem".

D_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sr-vm-d.XXXXXX")
d_cleanup() { rm -rf "${D_TMP:?}"; }
trap d_cleanup EXIT
D_KVER=$(basename "$MODTREE")
D_TAB=$(printf '\t')

# The image builder's inputs: the module, boot-volumes, and a copy of the modules tree
# with depmod's indexes (fetch-kernel.sh keeps the package's .ko files only).
d_prepare() {
    mkdir -p "$D_TMP/modules.d" "$D_TMP/etc/sysrecover" "$D_TMP/lib/modules" || return 1
    cp -a "$HERE/../../initramfs/dracut/90sysrecover" "$D_TMP/modules.d/" || return 1
    printf '# other volumes to apply besides root\n\n  LABEL=srdDv  # the data disk\n' \
        >"$D_TMP/etc/sysrecover/boot-volumes"
    cp -a "$MODTREE" "$D_TMP/lib/modules/$D_KVER" || return 1
    # (its warnings about the absent modules.order and modules.builtin are expected)
    depmod -b "$D_TMP" "$D_KVER" 2>"$D_TMP/depmod.err" || { cat "$D_TMP/depmod.err" >&2; return 1; }
}

# d_build OUTPUT [dracut options]: dracut in a private mount namespace (see above).
d_build() {
    local out=$1
    shift
    unshare -m --propagation private bash -c '
        set -u
        t=$1 sr=$2 kver=$3 out=$4
        shift 4
        mount -t overlay overlay -o "lowerdir=$t/modules.d:/usr/lib/dracut/modules.d" \
            /usr/lib/dracut/modules.d || exit 3
        mount -t overlay overlay -o "lowerdir=$t/etc:/etc" /etc || exit 3
        mount -t tmpfs tmpfs /usr/local || exit 3
        install -D -m 0755 "$sr" /usr/local/bin/sysrecover || exit 3
        exec dracut --quiet --force --kver "$kver" --kmoddir "$t/lib/modules/$kver" \
            --no-hostonly --tmpdir "$t" --add sysrecover "$@" "$out"
    ' - "$D_TMP" "$SR" "$D_KVER" "$out" "$@"
}

# d_disks QUEUE_LINE...: vda (root, label srdD) with that queue, vdb (srdDv)
d_disks() {
    local r=$D_TMP/root v=$D_TMP/vol
    rm -rf "${r:?}" "${v:?}" "${D_TMP:?}/root.img" "${D_TMP:?}/vol.img"
    mkdir -p "$r/var/lib/sysrecover" "$r/bin" "$r/sbin" "$r/dev" "$r/proc" "$r/sys" "$r/run" \
        "$r/tmp" "$r/etc" "$v/var/lib/sysrecover" || return 1
    cp /bin/busybox "$r/bin/busybox" || return 1
    cp "$HERE/dracut-d-proof-init" "$r/sbin/proof-init" && chmod 755 "$r/sbin/proof-init" || return 1
    echo "moved at boot" >"$r/a.txt"
    echo "deleted at boot" >"$r/gone.txt"
    echo "kept" >"$r/keep.txt"
    printf '%s\n' "$@" >"$r/var/lib/sysrecover/srdelayed.queue"
    echo "deleted at boot" >"$v/x"
    printf '%s\n' "DeleteFile${D_TAB}Unused${D_TAB}/x${D_TAB}NotExecuted" >"$v/var/lib/sysrecover/srdelayed.queue"
    mke2fs -q -t ext4 -L srdD -d "$r" "$D_TMP/root.img" 32M >/dev/null || return 1
    mke2fs -q -t ext4 -L srdDv -d "$v" "$D_TMP/vol.img" 8M >/dev/null || return 1
    # vdc: swap holding no hibernation image, for resume= (the resume step runs, finds
    # nothing, and the apply must come after it)
    rm -f "${D_TMP:?}/swap.img"
    # (mkswap's warnings about a sparse, world-readable swap file do not apply to a VM disk)
    truncate -s 8M "$D_TMP/swap.img" && mkswap "$D_TMP/swap.img" >/dev/null 2>&1 || return 1
}

# d_boot IMAGE NAME: boots; the console log is $OUT/dracut-d-NAME.log
d_boot() {
    local img=$1 name=$2 log=$OUT/dracut-d-$2.log
    vm_boot "dracut-d/$name" "$log" 768 "$img" \
        "root=LABEL=srdD rw resume=/dev/vdc init=/sbin/proof-init console=ttyS0 panic=-1 rd.shell=0 rd.emergency=poweroff systemd.log_target=kmsg systemd.log_level=info" \
        -drive file="$D_TMP/root.img",format=raw,if=virtio \
        -drive file="$D_TMP/vol.img",format=raw,if=virtio \
        -drive file="$D_TMP/swap.img",format=raw,if=virtio
    # proof-init's lines: the boot went on into the root
    D_PROOF=$(tr -d '\r' <"$log" | sed -n 's/^.*PROOF //p')
    has "dracut-d/$name/booted-into-root" "$D_PROOF" "done"
    is "dracut-d/$name/no-ordering-cycle" "$(tr -d '\r' <"$log" | grep -c 'ordering cycle')" 0
}

# the line number of the first line of FILE matching the extended regex, or 0
d_line() { grep -n -m 1 -E -- "$2" "$1" | cut -d: -f1 | grep . || echo 0; }

# d_order NAME APPLIED_RE FSCK_RE: from the root's /proof-dmesg.txt (the kernel's log,
# saved after the switch to the root; kept as $OUT/dracut-d-NAME.dmesg): APPLIED before
# FSCK and before the root's first mount (dracut without systemd mounts it read-only
# once to read its fstab, before fsck)
d_order() {
    local name=$1 dm=$OUT/dracut-d-$1.dmesg a f m r s
    rm -f "$dm"
    if ! debugfs -R "dump /proof-dmesg.txt $dm" "$D_TMP/root.img" >/dev/null 2>&1 || [ ! -s "$dm" ]; then
        bad "dracut-d/$name/order" "debugfs found no /proof-dmesg.txt on the root"
        return
    fi
    a=$(d_line "$dm" "$2")
    f=$(d_line "$dm" "$3")
    m=$(d_line "$dm" 'EXT4-fs \(vda\): mounted filesystem')
    if [ "$a" -gt 0 ] && [ "$f" -gt "$a" ] && [ "$m" -gt "$a" ]; then
        ok "dracut-d/$name/apply-before-fsck-and-mount"
    else
        bad "dracut-d/$name/apply-before-fsck-and-mount" "dmesg lines: apply $a, fsck $f, mount $m (0 = absent)"
    fi
    # the kernel's answer to the resume attempt (resume=/dev/vdc, a swap without an
    # image) comes before our first line
    r=$(d_line "$dm" 'PM: Image not found')
    s=$(d_line "$dm" 'sysrecover-dracut: applying')
    if [ "$r" -gt 0 ] && [ "$s" -gt "$r" ]; then
        ok "dracut-d/$name/resume-before-apply"
    else
        bad "dracut-d/$name/resume-before-apply" "dmesg lines: resume $r, apply $s (0 = absent)"
    fi
}

# the root's names (debugfs ls -p lines are /inode/mode/uid/gid/name/size/)
d_names() { printf '%s\n' "$1" | awk -F/ 'NF > 6 { print $6 }' | tr '\n' ' '; }

d_check_applied() { # NAME
    local n=$1 b root applied v
    is "dracut-d/$n/proof-moved" "$(printf '%s\n' "$D_PROOF" | grep '^b.txt=')" "b.txt=moved at boot"
    if out b debugfs -R 'cat /b.txt' "$D_TMP/root.img"; then is "dracut-d/$n/moved" "$b" "moved at boot"; fi
    if out root debugfs -R 'ls -p /' "$D_TMP/root.img"; then
        case " $(d_names "$root")" in
            *" var "*) is "dracut-d/$n/source-and-deleted-gone" \
                "$(d_names "$root" | tr ' ' '\n' | grep -c -x -e a.txt -e gone.txt)" 0 ;;
            *) bad "dracut-d/$n/source-and-deleted-gone" "debugfs did not list /: $(d_names "$root")" ;;
        esac
    fi
    if out applied debugfs -R 'cat /var/lib/sysrecover/srdelayed.queue.applied' "$D_TMP/root.img"; then
        is "dracut-d/$n/statuses" "$(printf '%s\n' "$applied" | awk -F"$D_TAB" '{ print $1 "=" $4 }' | tr '\n' ' ')" \
            "MoveFile=SC=00000000 DeleteFile=SC=00000000 SetFileShortName=SC=00000032 "
    fi
    if out v debugfs -R 'ls -p /' "$D_TMP/vol.img"; then
        case " $(d_names "$v")" in
            *" var "*) is "dracut-d/$n/boot-volume-deleted" "$(d_names "$v" | tr ' ' '\n' | grep -c -x x)" 0 ;;
            *) bad "dracut-d/$n/boot-volume-deleted" "debugfs did not list /: $(d_names "$v")" ;;
        esac
    fi
    check "dracut-d/$n/e2fsck-root" e2fsck -fn "$D_TMP/root.img"
    check "dracut-d/$n/e2fsck-volume" e2fsck -fn "$D_TMP/vol.img"
}

d_check_kept() { # NAME QUEUE_TEXT
    local n=$1 q vq
    has "dracut-d/$n/proof-not-moved" "$D_PROOF" "present /a.txt"
    if out q debugfs -R 'cat /var/lib/sysrecover/srdelayed.queue' "$D_TMP/root.img"; then
        is "dracut-d/$n/queue-kept" "$q" "$2"
    fi
    if out vq debugfs -R 'cat /var/lib/sysrecover/srdelayed.queue' "$D_TMP/vol.img"; then
        is "dracut-d/$n/boot-volume-queue-kept" "$vq" "DeleteFile${D_TAB}Unused${D_TAB}/x${D_TAB}NotExecuted"
    fi
    check "dracut-d/$n/e2fsck-root" e2fsck -fn "$D_TMP/root.img"
}

# d_mode NAME FSCK_RE [dracut options]: build, boot with a good queue, then a bad one
d_mode() {
    local name=$1 fsck_re=$2 img=$OUT/dracut-d-$1.img t0 good bad_q
    shift 2
    t0=$(date +%s)
    if ! d_build "$img" "$@" >"$OUT/dracut-d-$name.build.log" 2>&1; then
        bad "dracut-d/$name/build" "dracut failed: $(tail -n 3 "$OUT/dracut-d-$name.build.log" | tr '\n' ' ')"
        return
    fi
    echo "vm: INFO dracut-d $name image $(stat -c %s "$img") bytes, built in $(($(date +%s) - t0)) s"
    d_check_image "$name" "$img"

    good="MoveFile${D_TAB}/a.txt${D_TAB}/b.txt${D_TAB}NotExecuted
DeleteFile${D_TAB}Unused${D_TAB}/gone.txt${D_TAB}NotExecuted
SetFileShortName${D_TAB}B~1.TXT${D_TAB}/b.txt${D_TAB}NotExecuted"
    if d_disks "$good"; then
        d_boot "$img" "$name"
        d_check_applied "$name"
        d_order "$name" 'sysrecover-dracut: applied, some records failed \(status 1\)' "$fsck_re"
    else
        bad "dracut-d/$name/disks" "could not make the disks"
    fi

    bad_q="MoveFile${D_TAB}/../a.txt${D_TAB}/b.txt${D_TAB}NotExecuted"
    if d_disks "$bad_q"; then
        d_boot "$img" "$name-failing"
        d_check_kept "$name-failing" "$bad_q"
        d_order "$name-failing" 'sysrecover-dracut: not applied \(status 2\)' "$fsck_re"
    else
        bad "dracut-d/$name-failing/disks" "could not make the disks"
    fi
}

# What dracut put in the image, read by lsinitrd
d_in_image() { # NAME LISTING PATH_END
    if printf '%s\n' "$2" | grep -q -E -- " [^ ]*$3( -> .*)?\$"; then ok "$1"; else bad "$1" "no $3 in lsinitrd's listing"; fi
}
d_check_image() { # NAME IMAGE
    local list f
    out list lsinitrd "$2" || return
    for f in /sbin/sysrecover /sbin/srdelayed /sbin/e2fsck etc/sysrecover/boot-volumes \
             /dracut/sysrecover-apply.sh /gconv/UTF-16.so /gconv/ISO8859-1.so; do
        d_in_image "dracut-d/$1/image-has-$(basename "$f")" "$list" "$f"
    done
    case "$1" in
        systemd)
            d_in_image "dracut-d/$1/image-has-unit" "$list" "initrd.target.wants/sysrecover-apply.service"
            # dracut-pre-mount.service would run a pre-mount hook too, unordered with resume
            is "dracut-d/$1/image-no-pre-mount-hook" \
                "$(printf '%s\n' "$list" | grep -c 'hooks/pre-mount/.*sysrecover')" 0 ;;
        *) d_in_image "dracut-d/$1/image-has-hook" "$list" "hooks/pre-mount/50-sysrecover-apply.sh" ;;
    esac
}

if ! command -v dracut >/dev/null || ! command -v lsinitrd >/dev/null; then
    bad dracut-d/setup "dracut not installed (apt-get install --no-install-recommends dracut-core)"
elif d_prepare; then
    d_mode systemd 'Start.*systemd-fsck-root\.service|Start.*File System Check'
    d_mode nosystemd 'dracut: Checking ext4' --omit "systemd systemd-initrd dracut-systemd"
else
    bad dracut-d/setup "could not prepare the module and the modules tree in $D_TMP"
fi
d_cleanup
trap - EXIT
