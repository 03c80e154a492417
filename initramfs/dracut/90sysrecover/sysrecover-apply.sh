#!/bin/sh
# sysrecover-apply.sh - dracut module "sysrecover": apply the queued srdelayed
# operations (sysrecover srdelayed apply --replay-journal) to the root volume and to the
# volumes named in /etc/sysrecover/boot-volumes, before the root is checked and mounted.
#
# Two ways in:
#   - without systemd: a pre-mount hook, SOURCED by dracut's /init (dracut-lib.sh loaded,
#     $root set).  A sourced hook must not exit or set -e: everything is in a function.
#   - with systemd: run by sysrecover-apply.service (SYSRECOVER_DRACUT_UNIT=1); the root
#     comes from root= on the command line; the exit status is sysrecover's.
# rd.sysrecover=0 on the kernel command line skips it.  Messages go to /dev/kmsg (the
# console, also under systemd, where stdout goes to the journal); sysrecover's own output
# is kept in /run/initramfs/sysrecover-apply.log, which the booted system still has.
# A failure is logged and the queue stays (sysrecover changes nothing when it refuses);
# the boot goes on.

sysrecover_dracut_log() { # LEVEL TEXT: LEVEL 3 = error, 5 = notice
    if ! echo "<$((24 + $1))>sysrecover-dracut: $2" >/dev/kmsg 2>/dev/null; then
        echo "sysrecover-dracut: $2" >&2
    fi
}

sysrecover_dracut_apply() {
    local dev type vol line log rc
    if [ -n "${SYSRECOVER_DRACUT_UNIT:-}" ]; then
        . /lib/dracut-lib.sh
        root=$(getarg root=)
    fi
    if ! getargbool 1 rd.sysrecover; then
        sysrecover_dracut_log 5 "rd.sysrecover=0: queued operations not applied"
        return 0
    fi

    set --
    # the root: block:/dev/disk/by-label/X (dracut's hook), or root= (LABEL=, UUID=, /dev/..)
    dev=
    case "${root:-}" in
        block:* | LABEL=* | UUID=* | PARTUUID=* | PARTLABEL=* | /dev/*) dev=$(label_uuid_to_dev "$root") ;;
        *) sysrecover_dracut_log 5 "root '${root:-}' is not a block device: only the boot volumes" ;;
    esac
    if [ -n "$dev" ]; then
        type=$(blkid -o value -s TYPE "$dev" 2>/dev/null)
        case "$type" in
            ext2 | ext3 | ext4 | ntfs | ntfs3) set -- "$dev" ;;
            *) sysrecover_dracut_log 5 "root $dev is ${type:-of unknown type}, not ext2/3/4 or NTFS: not applied" ;;
        esac
    fi
    if [ -r /etc/sysrecover/boot-volumes ]; then
        while IFS= read -r line || [ -n "$line" ]; do
            vol=${line%%#*}
            vol=${vol#"${vol%%[![:space:]]*}"}
            vol=${vol%"${vol##*[![:space:]]}"}
            [ -n "$vol" ] && set -- "$@" "$vol"
        done </etc/sysrecover/boot-volumes
    fi
    [ $# -gt 0 ] || return 0

    sysrecover_dracut_log 5 "applying queued operations on $*"
    mkdir -p /run/initramfs
    log=/run/initramfs/sysrecover-apply.log
    /usr/sbin/sysrecover srdelayed apply --replay-journal "$@" >"$log" 2>&1
    rc=$?
    while IFS= read -r line || [ -n "$line" ]; do
        sysrecover_dracut_log $([ $rc -eq 0 ] && echo 5 || echo 3) "$line"
    done <"$log"
    # sysrecover's exit codes: 0 done; 1 run, but some records failed (their statuses
    # are in srdelayed.queue.applied); 2 and up: refused or stopped, what was not done
    # is still queued
    case $rc in
        0) sysrecover_dracut_log 5 "applied (status 0)" ;;
        1) sysrecover_dracut_log 3 "applied, some records failed (status 1): see the statuses in /var/lib/sysrecover/srdelayed.queue.applied; log in $log" ;;
        *) sysrecover_dracut_log 3 "not applied (status $rc): what was not done stays queued, the boot goes on; log in $log" ;;
    esac
    return $rc
}

sysrecover_dracut_apply
