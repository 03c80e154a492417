#!/bin/sh
# /init of the VM test initramfs (built by build-initramfs.sh).
# Loads the SCSI tape stack (st on scsi_debug ptype=1), runs the test script named by
# vmtest.run= on the kernel command line (default /tape-suite.sh), prints its output on
# the serial console, then powers off.  Lines the host parses start with "VMTEST ".
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
# keep kernel messages off the console so they do not split our lines
echo 1 > /proc/sys/kernel/printk

run=/tape-suite.sh
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        vmtest.run=*) run=${arg#vmtest.run=} ;;
    esac
done

echo "VMTEST INFO kernel $(uname -r)"

# Load the modules: dependencies first, st before scsi_debug so st attaches as soon
# as the emulated tape appears.
load_failed=
for m in $(cat /lib/modules/load-order); do
    [ "$m" = scsi_debug ] && continue
    insmod /lib/modules/$m.ko || load_failed="$load_failed $m"
done
insmod /lib/modules/scsi_debug.ko ptype=1 delay=0 || load_failed="$load_failed scsi_debug"
if [ -n "$load_failed" ]; then
    echo "VMTEST FAIL boot/insmod could not load:$load_failed"
fi

i=0
while [ ! -c /dev/nst0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ -c /dev/nst0 ]; then
    echo "VMTEST INFO /dev/nst0 after $((i * 100)) ms"
    if [ -x "$run" ]; then
        "$run"
    else
        echo "VMTEST FAIL boot/run $run not found"
    fi
    # delayed operations on the virtio disk, when run.sh attached one
    [ -x /srd-suite.sh ] && [ -e /sys/block/vda ] && /srd-suite.sh
else
    echo "VMTEST FAIL boot/nst0 /dev/nst0 did not appear"
    dmesg | tail -n 30 | sed 's/^/VMLOG /'
fi

# kernel log after the run, for the log file (the host does not parse it)
dmesg | sed 's/^/dmesg: /'
sync
poweroff -f
