# rescue-iso.sh - the rescue ISO test, sourced by run.sh (which gives QEMU, KDIR, MODTREE,
# BUILDER, SR, OUT, TIMEOUT and tests/lib/check.sh): initramfs/rescue-iso.sh makes the ISO
# from the test kernel and a product recovery image (build.sh defaults: zstd, the 16 MiB
# budget), then QEMU boots it four times: SeaBIOS (QEMU's default firmware) and OVMF
# (UEFI, a copy of OVMF_VARS in pflash), each from a CD-ROM and from a virtio disk (the
# hybrid image as a USB stick would hold it).  Every boot is driven over the serial port
# (QEMU's pipe chardev): when GRUB's menu shows on ttyS0 we press its hotkey "s" (the
# shell on ttyS0), wait for the busybox prompt, type a command line and read its real
# output: the guest's `sysrecover --version` must be the host binary's, $((6*7)) must come
# back as 42 (the typed line itself shows only the expression), and /sys/firmware/efi
# must exist under OVMF only.  Then `poweroff -f`, and QEMU must exit 0.
# With Secure Boot enforced (OVMF with Microsoft's keys), the ISO built with --signed-efi
# (Debian's signed shim and GRUB, fetched once into the cache) boots, the kernel reports
# Secure Boot and lockdown and loads the image's modules; the plain ISO is refused.
# With Debian's generic kernel cached (fetch-kernel.sh --flavour generic --tree), its image
# must hold the USB and SAS/RAID modules (read back with cpio) and its ISO boot under OVMF.
# On the host: xorriso reports a BIOS and a UEFI El Torito boot image, and the ISO's
# /boot/initrd.img (extracted by xorriso) is the image we gave it, byte for byte.

I_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sr-vm-iso.XXXXXX")
I_ISO=$OUT/rescue.iso
I_IMG=$OUT/rescue-initrd.img
I_QPID=
I_CPID=
i_cleanup() {
    [ -z "$I_QPID" ] || kill "$I_QPID" 2>/dev/null
    [ -z "$I_CPID" ] || kill "$I_CPID" 2>/dev/null
    I_QPID= I_CPID=
    rm -rf "${I_DIR:?}"
}
trap i_cleanup EXIT
I_OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
I_OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
# Secure Boot: the SMM build of OVMF and variables with Microsoft's keys enrolled
I_OVMF_SB_CODE=/usr/share/OVMF/OVMF_CODE_4M.ms.fd
I_OVMF_SB_VARS=/usr/share/OVMF/OVMF_VARS_4M.ms.fd
I_MODS=
# each boot takes about 15 s on an idle machine; generous for a loaded one
I_WAIT=${SYSRECOVER_VM_ISO_WAIT:-120}

i_setup() {
    local t0 o
    for t in grub-mkrescue xorriso mformat; do
        command -v "$t" >/dev/null 2>&1 || { bad iso/tools "$t missing (sh .ci/deps.sh)"; return 1; }
    done
    [ -r "$I_OVMF_CODE" ] && [ -r "$I_OVMF_VARS" ] || { bad iso/ovmf "$I_OVMF_CODE missing (apt-get install ovmf)"; return 1; }
    t0=$(date +%s)
    out o bash "$BUILDER" -o "$I_IMG" --sysrecover "$SR" --modules-dir "$MODTREE" || return 1
    out o bash "$HERE/../../initramfs/rescue-iso.sh" -o "$I_ISO" --kernel "$KDIR/vmlinuz" --initrd "$I_IMG" || return 1
    echo "vm: INFO rescue ISO: $(printf '%s\n' "$o" | tail -n 1) (image and ISO built in $(($(date +%s) - t0)) s)"
    # how many modules the image loads at boot, read back with cpio
    out o sh -c 'zstd -dc "$1" | cpio -i --quiet --to-stdout lib/modules/load-order' - "$I_IMG" &&
        I_MODS=$(printf '%s\n' "$o" | grep -c .)
}

# What xorriso reads from the ISO, not what our script says it wrote.
i_check_iso() {
    local rep
    if out rep xorriso -indev "$I_ISO" -report_el_torito plain; then
        has iso/el-torito-bios "$rep" "El Torito boot img :   1  BIOS"
        has iso/el-torito-uefi "$rep" "El Torito boot img :   2  UEFI"
    fi
    if out rep xorriso -osirrox on -indev "$I_ISO" -extract /boot/initrd.img "$I_DIR/initrd.img"; then
        check iso/initrd-is-the-image cmp "$I_IMG" "$I_DIR/initrd.img"
    fi
    refuses iso/refuses-missing-kernel 'kernel .* not found' \
        bash "$HERE/../../initramfs/rescue-iso.sh" -o "$I_DIR/x.iso" --kernel "$I_DIR/none" --initrd "$I_IMG"
}

# i_wait_for LOG TEXT SECONDS: until the console shows TEXT (0), QEMU is gone or time is up (1).
i_wait_for() {
    local i=0
    while [ $i -lt $(($3 * 2)) ]; do
        tr -d '\r' <"$1" | grep -aqF -- "$2" && return 0
        kill -0 "$I_QPID" 2>/dev/null || return 1
        sleep 0.5
        i=$((i + 1))
    done
    return 1
}

# i_line KEY TEXT: the first line of TEXT that starts with KEY=, without it (the typed
# command line starts with the prompt, so only the guest's output can match).
i_line() {
    printf '%s\n' "$2" | sed -n "s/^$1=//p" | head -n 1
}

i_boot() { # NAME bios|efi|efi-sb cd|disk [ISO [MODULES]]
    local iso=${4:-$I_ISO} name=iso/$1 log=$OUT/rescue-iso-$1.log fw=() media=() t0 fd qrc want cons killed=0
    case "$2" in
        efi)
            cp "$I_OVMF_VARS" "$I_DIR/vars.fd"
            fw=(-drive if=pflash,format=raw,readonly=on,file="$I_OVMF_CODE" -drive if=pflash,format=raw,file="$I_DIR/vars.fd") ;;
        efi-sb)
            cp "$I_OVMF_SB_VARS" "$I_DIR/vars.fd"
            fw=(-machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on
                -drive if=pflash,format=raw,unit=0,readonly=on,file="$I_OVMF_SB_CODE"
                -drive if=pflash,format=raw,unit=1,file="$I_DIR/vars.fd") ;;
    esac
    if [ "$3" = cd ]; then media=(-cdrom "$iso")
    else media=(-drive file="$iso",format=raw,if=virtio,readonly=on); fi
    rm -f "$I_DIR/ser.in" "$I_DIR/ser.out"
    mkfifo "$I_DIR/ser.in" "$I_DIR/ser.out" || { bad "$name/fifo" "mkfifo in $I_DIR"; return; }
    : >"$log"
    t0=$(date +%s)
    # -display none: no window; the serial port is the only console the test reads.
    timeout --kill-after=10 "$TIMEOUT" "$QEMU" -accel tcg -cpu max -m 512 -smp 1 \
        -display none -monitor none -no-reboot -nic none -serial pipe:"$I_DIR/ser" \
        "${fw[@]}" "${media[@]}" </dev/null >"$I_DIR/qemu.err" 2>&1 &
    I_QPID=$!
    cat "$I_DIR/ser.out" >>"$log" &
    I_CPID=$!
    exec {fd}<>"$I_DIR/ser.in"   # read-write: never blocks, whatever QEMU does
    if i_wait_for "$log" "shell on the serial console ttyS0" "$I_WAIT"; then
        ok "$name/grub-menu"
        printf 's' >&"$fd"
        if i_wait_for "$log" "sysrecover-init: shell" "$I_WAIT"; then
            ok "$name/init-shell"
            sleep 1
            # shellcheck disable=SC2016 # the guest's shell expands it
            printf '%s\n' 'echo "VER=$(sysrecover --version)"; echo "SUM=$((6*7))"; echo "MODS=$(grep -c . /proc/modules)"' \
                'echo "SBK=$(dmesg | grep -c "secureboot: Secure boot enabled")"; mount -t securityfs none /sys/kernel/security' \
                'echo "LD=$(cat /sys/kernel/security/lockdown)"; [ -d /sys/firmware/efi ] && echo FW=uefi || echo FW=bios; echo "END=$((40+2))"' >&"$fd"
            # the typed line shows "END=$((40+2))": only the guest's answer is END=42
            if i_wait_for "$log" "END=42" 30; then
                cons=$(tr -d '\r' <"$log")
                is "$name/sysrecover-runs" "$(i_line VER "$cons")" "$("$SR" --version)"
                is "$name/shell-evaluates" "$(i_line SUM "$cons")" 42
                want=bios; [ "$2" = bios ] || want=uefi
                is "$name/firmware" "$(i_line FW "$cons")" "$want"
                is "$name/modules-loaded" "$(i_line MODS "$cons")" "${5:-$I_MODS}"
                # the kernel's own account of Secure Boot and of its lockdown mode
                want=0; [ "$2" = efi-sb ] && want=1
                is "$name/secure-boot" "$(i_line SBK "$cons")" "$want"
                want="[none] integrity confidentiality"
                [ "$2" = efi-sb ] && want="none [integrity] confidentiality"
                is "$name/lockdown" "$(i_line LD "$cons")" "$want"
            else
                bad "$name/command" "no answer to the typed command line"
            fi
            printf 'poweroff -f\n' >&"$fd"
        else
            bad "$name/init-shell" "no 'sysrecover-init: shell' on ttyS0 after GRUB"
            kill "$I_QPID" 2>/dev/null; killed=1
        fi
    else
        bad "$name/grub-menu" "no GRUB menu on ttyS0 within ${I_WAIT}s"
        kill "$I_QPID" 2>/dev/null; killed=1
    fi
    wait "$I_QPID"
    qrc=$?
    I_QPID=
    exec {fd}>&-
    kill "$I_CPID" 2>/dev/null
    wait "$I_CPID" 2>/dev/null
    I_CPID=
    # stopped by us after a failure above: its exit status says nothing more
    [ $killed = 1 ] || is "$name/qemu-exit" "$qrc" 0
    [ "$qrc" = 0 ] || sed 's/^/vm:   | /' "$I_DIR/qemu.err" | tail -n 5
    echo "vm: INFO $name: $(($(date +%s) - t0)) s, console log $log"
}

# Debian's generic kernel, only when fetch-kernel.sh --flavour generic --tree has cached
# it (a 128 MB download the suite does not make): its image holds the USB and SAS/RAID
# drivers the cloud flavour lacks, stays in the budget, and its ISO boots under OVMF.
i_generic() {
    local g gtree o order m
    g=$(SYSRECOVER_VM_OFFLINE=1 SYSRECOVER_VM_KERNEL='' "$HERE/fetch-kernel.sh" --flavour generic --tree 2>/dev/null | tail -n 1)
    gtree=$(ls -d "$g"/tree/lib/modules/* 2>/dev/null | head -n 1)
    if [ -z "$g" ] || [ -z "$gtree" ]; then
        skip iso/generic "no cached generic kernel (tests/vm/fetch-kernel.sh --flavour generic --tree)"
        return 0
    fi
    out o bash "$BUILDER" -o "$OUT/rescue-initrd-generic.img" --sysrecover "$SR" --modules-dir "$gtree" || return 0
    echo "vm: INFO generic $(basename "$gtree"): $(printf '%s\n' "$o" | tail -n 1)"
    if out order sh -c 'zstd -dc "$1" | cpio -i --quiet --to-stdout lib/modules/load-order' - "$OUT/rescue-initrd-generic.img"; then
        for m in st xhci_pci usb_storage uas mpt3sas megaraid_sas hpsa smartpqi nvme; do
            has "iso/generic-has-$m" " $(echo $order) " " $m "
        done
    fi
    out o bash "$HERE/../../initramfs/rescue-iso.sh" -o "$OUT/rescue-generic.iso" --kernel "$g/vmlinuz" \
        --initrd "$OUT/rescue-initrd-generic.img" || return 0
    echo "vm: INFO generic $(printf '%s\n' "$o" | tail -n 1)"
    i_boot generic-ovmf-cd efi cd "$OUT/rescue-generic.iso" "$(printf '%s\n' $order | grep -c .)"
}

# Debian's signed shim and CD GRUB (shim-signed, grub-efi-amd64-signed), fetched once with
# the machine's apt (signed index) and unpacked into the cache, never installed.
i_signed_efi() {
    local c=${SYSRECOVER_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/sysrecover}/signed-efi t
    if [ ! -s "$c/shimx64.efi.signed" ] || [ ! -s "$c/gcdx64.efi.signed" ]; then
        [ "${SYSRECOVER_VM_OFFLINE:-0}" = 1 ] && return 1
        t=$(mktemp -d "${TMPDIR:-/tmp}/sr-sb.XXXXXX")
        (cd "$t" && apt-get -q download shim-signed grub-efi-amd64-signed >/dev/null 2>&1 &&
            for d in ./*.deb; do dpkg-deb -x "$d" x || exit 1; done) &&
            mkdir -p "$c" &&
            cp "$t"/x/usr/lib/shim/shimx64.efi.signed "$t"/x/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed "$c/"
        rm -rf "${t:?}"
    fi
    [ -s "$c/shimx64.efi.signed" ] && [ -s "$c/gcdx64.efi.signed" ] && echo "$c"
}

# Secure Boot enforced by OVMF (Microsoft's keys): the ISO with Debian's signed shim and
# GRUB boots the Debian-signed test kernel with our unsigned image, the kernel says Secure
# Boot is on and locks down ("integrity"), and still loads every module of the image
# (Debian-signed); the plain ISO's unsigned GRUB is refused by the firmware.
i_secure_boot() {
    local sb o t0 log=$OUT/rescue-iso-sb-refused.log
    [ -r "$I_OVMF_SB_CODE" ] && [ -r "$I_OVMF_SB_VARS" ] || { skip iso/secure-boot "no $I_OVMF_SB_CODE"; return 0; }
    sb=$(i_signed_efi) || { skip iso/secure-boot "shim-signed/grub-efi-amd64-signed not cached and not downloadable"; return 0; }
    out o bash "$HERE/../../initramfs/rescue-iso.sh" -o "$OUT/rescue-sb.iso" --kernel "$KDIR/vmlinuz" \
        --initrd "$I_IMG" --signed-efi "$sb" || return 0
    i_boot ovmf-secure-boot-cd efi-sb cd "$OUT/rescue-sb.iso"
    t0=$(date +%s)
    cp "$I_OVMF_SB_VARS" "$I_DIR/vars.fd"
    : >"$log"   # an earlier run's "Access Denied" must not count
    timeout --kill-after=10 "$I_WAIT" "$QEMU" -accel tcg -cpu max -m 512 -smp 1 -display none -monitor none \
        -no-reboot -nic none -serial file:"$log" -machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on \
        -drive if=pflash,format=raw,unit=0,readonly=on,file="$I_OVMF_SB_CODE" \
        -drive if=pflash,format=raw,unit=1,file="$I_DIR/vars.fd" -cdrom "$I_ISO" </dev/null >/dev/null 2>&1 &
    I_QPID=$!
    if i_wait_for "$log" "Access Denied" "$I_WAIT"; then ok iso/secure-boot-refuses-unsigned-grub
    else bad iso/secure-boot-refuses-unsigned-grub "OVMF did not say 'Access Denied' for the unsigned ISO"; fi
    kill "$I_QPID" 2>/dev/null; wait "$I_QPID" 2>/dev/null; I_QPID=
    echo "vm: INFO iso/secure-boot-refuses-unsigned-grub: $(($(date +%s) - t0)) s, console log $log"
}

if i_setup; then
    i_check_iso
    i_boot seabios-cd bios cd
    i_boot ovmf-cd efi cd
    i_boot seabios-disk bios disk
    i_boot ovmf-disk efi disk
    i_secure_boot
    i_generic
else
    bad iso/setup "the recovery image or the ISO could not be made"
fi
i_cleanup
trap - EXIT
