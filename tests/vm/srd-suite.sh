#!/bin/sh
# srd-suite.sh - inside the VM, after the tape suite: apply the delayed
# operations queued on the virtio disk (/dev/vda, an ext4 volume that run.sh
# made with a native queue), naming no volume, as a boot hook would.  run.sh
# checks the disk afterwards from the host with debugfs and e2fsck.
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -b /dev/vda ]; then
    echo "VMTEST FAIL srd/disk /dev/vda did not appear"
    exit 0
fi
out=$(sysrecover srdelayed apply 2>&1)
rc=$?
echo "$out" | sed 's/^/VMTEST INFO srd: /'
if [ $rc -eq 0 ]; then
    echo "VMTEST PASS srd/apply-found-the-queue-by-itself"
else
    echo "VMTEST FAIL srd/apply exit $rc"
fi
case "$out" in
    *"/dev/vda:/var/lib/sysrecover/srdelayed.queue#3"*) echo "VMTEST PASS srd/named-by-device" ;;
    *) echo "VMTEST FAIL srd/named-by-device the report does not name /dev/vda" ;;
esac
sync
