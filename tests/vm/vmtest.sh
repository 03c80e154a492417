#!/bin/sh
# vmtest.sh - the tape and srdelayed suites inside the product recovery image: run.sh adds
# this script, tape-suite.sh, srd-suite.sh and scsi_debug.ko to the image (initramfs/build.sh
# --add) and boots it with "sysrecover=run sysrecover.run=/vmtest.sh".  The image's /init has
# mounted the kernel file systems and loaded its modules (st, sg, sd_mod, virtio_blk, ...);
# this loads scsi_debug as a tape (ptype=1), runs the suites, dumps the kernel log, and
# exits 0 so that /init powers off.  Lines the host parses start with "VMTEST ".
echo "VMTEST INFO kernel $(uname -r)"

insmod /lib/modules/scsi_debug.ko ptype=1 delay=0 || echo "VMTEST FAIL boot/insmod could not load scsi_debug"

i=0
while [ ! -c /dev/nst0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ -c /dev/nst0 ]; then
    echo "VMTEST INFO /dev/nst0 after $((i * 100)) ms"
    /tape-suite.sh
    # delayed operations on the virtio disk, when run.sh attached one
    [ -e /sys/block/vda ] && /srd-suite.sh
else
    echo "VMTEST FAIL boot/nst0 /dev/nst0 did not appear"
    dmesg | tail -n 30 | sed 's/^/VMLOG /'
fi

# kernel log after the run, for the log file (the host does not parse it)
dmesg | sed 's/^/dmesg: /'
sync
exit 0
