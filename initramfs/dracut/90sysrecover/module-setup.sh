#!/bin/bash
# module-setup.sh - dracut module "sysrecover": apply the queued srdelayed operations
# (sysrecover srdelayed apply) to the root volume, and to the volumes named in
# /etc/sysrecover/boot-volumes, after hibernation resume and before the root is
# checked (fsck) and mounted.
#
# Installed as /usr/lib/dracut/modules.d/90sysrecover/ (make install).  Two ways in,
# one script (sysrecover-apply.sh):
#   - initrd without systemd: a pre-mount hook, sourced by dracut's /init after the
#     initqueue (root device found, resume done) and before the mount hook (fsck, mount);
#   - systemd initrd: sysrecover-apply.service, ordered after local-fs-pre.target
#     (hibernation resume) and the root device, before systemd-fsck-root.service and
#     sysroot.mount.  dracut-pre-mount.service is not used: it is not ordered after resume.
# A failure is logged to the console and the queue stays; the boot goes on.

# The sysrecover binary: dracut resets PATH to /sbin /bin /usr/sbin /usr/bin, and
# `make install` puts it in /usr/local/bin by default, so look there too.
sysrecover_binary() {
    local d
    for d in /usr/sbin /usr/bin /sbin /bin /usr/local/sbin /usr/local/bin; do
        if [[ -x $dracutsysrootdir$d/sysrecover ]]; then
            echo "$d/sysrecover"
            return 0
        fi
    done
    return 1
}

# called by dracut: include by default whenever sysrecover is installed.  A queue is
# written by an installer at run time, long after the initramfs was built, so it must
# be applied on every boot; an empty queue costs one volume probe.
check() {
    sysrecover_binary >/dev/null || return 1
    require_binaries e2fsck blkid || return 1
    return 0
}

# called by dracut
depends() {
    echo rootfs-block
    return 0
}

# Volume names from /etc/sysrecover/boot-volumes: one a line, # comments, blanks ignored.
boot_volumes() {
    local line
    [[ -r $dracutsysrootdir/etc/sysrecover/boot-volumes ]] || return 0
    while IFS= read -r line || [[ -n $line ]]; do
        line=${line%%#*}
        line=${line#"${line%%[![:space:]]*}"}
        line=${line%"${line##*[![:space:]]}"}
        [[ -n $line ]] && printf '%s\n' "$line"
    done <"$dracutsysrootdir/etc/sysrecover/boot-volumes"
}

# called by dracut.  sysrecover reads volumes from user space (libext2fs, libntfs-3g):
# it needs no filesystem driver.  The root's storage drivers come with the other
# modules; a host-only image also gets the drivers of the boot-volumes' devices.
installkernel() {
    local vol dev mods
    [[ $hostonly ]] || return 0
    while IFS= read -r vol; do
        case "$vol" in
            LABEL=* | UUID=* | PARTUUID=* | PARTLABEL=*) dev=$(blkid -l -o device -t "$vol" 2>/dev/null) ;;
            *) dev=$vol ;;
        esac
        [[ -b $dev ]] || continue
        mods=$(get_dev_module "$dev")
        # shellcheck disable=SC2086 # one module name a word
        [[ $mods ]] && hostonly='' instmods $mods
    done < <(boot_volumes)
    return 0
}

# called by dracut
install() {
    local bin gconv d f
    bin=$(sysrecover_binary) || return 1
    inst_binary "$bin" /usr/sbin/sysrecover
    ln_r /usr/sbin/sysrecover /usr/sbin/srdelayed
    # e2fsck replays a dirty ext journal (--replay-journal); blkid tells the root's type
    inst_multiple e2fsck blkid

    # libhivex's iconv (UTF-16LE, LATIN1) loads these at run time: ldd does not list them
    for d in /usr/lib/x86_64-linux-gnu/gconv /usr/lib64/gconv /usr/lib/gconv /usr/lib/*/gconv; do
        [[ -e $dracutsysrootdir$d/UTF-16.so ]] && { gconv=$d; break; }
    done
    if [[ $gconv ]]; then
        for f in "$dracutsysrootdir$gconv"/gconv-modules "$dracutsysrootdir$gconv"/gconv-modules.cache \
                 "$dracutsysrootdir$gconv"/gconv-modules.d/* "$dracutsysrootdir$gconv"/UTF-16.so \
                 "$dracutsysrootdir$gconv"/ISO8859-1.so; do
            [[ -e $f ]] && inst_simple "${f#"$dracutsysrootdir"}"
        done
    else
        dwarning "sysrecover: glibc gconv modules (UTF-16.so) not found: Windows registry hives will not be read"
    fi

    [[ -r $dracutsysrootdir/etc/sysrecover/boot-volumes ]] && inst_simple /etc/sysrecover/boot-volumes

    inst_script "$moddir/sysrecover-apply.sh" /lib/dracut/sysrecover-apply.sh
    if dracut_module_included "systemd"; then
        inst_simple "$moddir/sysrecover-apply.service" "$systemdsystemunitdir/sysrecover-apply.service"
        mkdir -p "$initdir$systemdsystemunitdir/initrd.target.wants"
        ln_r "$systemdsystemunitdir/sysrecover-apply.service" \
            "$systemdsystemunitdir/initrd.target.wants/sysrecover-apply.service"
    else
        # after the initqueue (the root device, resume: an initqueue/finished job),
        # before the mount hook (fsck, then mount)
        inst_hook pre-mount 50 "$moddir/sysrecover-apply.sh"
    fi
}
