#!/bin/bash
# rescue-iso.sh - the sysrecover rescue ISO: a hybrid ISO 9660 / USB-stick image that
# boots a kernel with the recovery image (initramfs/build.sh) under BIOS and UEFI.
#
# Usage: initramfs/rescue-iso.sh -o OUTPUT --kernel VMLINUZ --initrd IMAGE [options]
#   -o, --output FILE   the image to write (replaced only when complete)
#   --kernel FILE       the kernel (e.g. /boot/vmlinuz-`uname -r`)
#   --initrd FILE       the recovery image built by initramfs/build.sh for that kernel
#   --append WORDS      more kernel command-line words for every menu entry
#   --volid LABEL       the ISO volume label (default SYSRECOVER)
#   --signed-efi DIR    UEFI boots Debian's signed shim and GRUB instead (Secure Boot):
#                       DIR holds shimx64.efi.signed (package shim-signed) and
#                       gcdx64.efi.signed (grub-efi-amd64-signed), and mmx64.efi.signed
#                       (shim-helpers-amd64-signed) if present; the kernel must be signed
#
# Made by grub-mkrescue (GRUB 2 with xorriso and mtools): BIOS boots the i386-pc El
# Torito image (grub-pc-bin), UEFI the x86_64-efi one (grub-efi-amd64-bin) from the
# EFI system partition image, on a CD/DVD and as a disk (dd to a USB stick: the image
# carries an MBR and a GPT).  The menu (initramfs/rescue-iso.cfg) is on the screen and
# on ttyS0: a shell on the screen (default), a shell on ttyS0, apply, and a restore
# template.  The UEFI GRUB is unsigned unless --signed-efi: with Secure Boot on, the
# firmware refuses it (README: Rescue ISO).
#
# Reproducible only in part: the files we put in (kernel, image, grub.cfg) are dated
# SOURCE_DATE_EPOCH (default: the last commit's time), but grub-mkrescue 2.06 takes the
# current time for the volume dates and the volume UUID (its core images find their
# medium by that UUID, so it cannot be replaced afterwards) and for the files it makes
# (GRUB's modules, the EFI system partition image).  Two builds differ in those bytes
# only; the same size, the same menu, kernel and image.
# Prints "rescue-iso: SIZE bytes: OUTPUT" at the end.
set -euo pipefail
umask 022

die() { echo "rescue-iso: ERROR: $*" >&2; exit 2; }
note() { echo "rescue-iso: $*" >&2; }

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")

OUT= KERNEL= INITRD= APPEND= VOLID=SYSRECOVER SIGNED=
while [ $# -gt 0 ]; do
    case "$1" in
        -o|--output) OUT=${2:?}; shift 2 ;;
        --kernel) KERNEL=${2:?}; shift 2 ;;
        --initrd) INITRD=${2:?}; shift 2 ;;
        --append) APPEND=${2?}; shift 2 ;;
        --volid) VOLID=${2:?}; shift 2 ;;
        --signed-efi) SIGNED=${2:?}; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done
[ -n "$OUT" ] && [ -n "$KERNEL" ] && [ -n "$INITRD" ] ||
    die "usage: $0 -o OUTPUT --kernel VMLINUZ --initrd IMAGE (see --help)"
[ -s "$KERNEL" ] && [ -r "$KERNEL" ] || die "kernel $KERNEL not found or not readable"
[ -s "$INITRD" ] && [ -r "$INITRD" ] || die "recovery image $INITRD not found (make initramfs builds one)"
[[ "$VOLID" =~ ^[A-Z0-9_]{1,32}$ ]] || die "--volid: 1 to 32 of A-Z 0-9 _"
# The words go into grub.cfg as they are: keep out what would end or break the line.
case "$APPEND" in *[\"\'\;\&\|\<\>\$\`\\{}]*|*$'\n'*) die "--append: plain words only" ;; esac

if [ -n "$SIGNED" ]; then
    for f in shimx64.efi.signed gcdx64.efi.signed; do
        [ -s "$SIGNED/$f" ] || die "--signed-efi: no $f in $SIGNED"
    done
fi

for tool in grub-mkrescue:grub-common xorriso:xorriso mformat:mtools; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || die "${tool%%:*} not found: apt-get install ${tool#*:}"
done
for plat in i386-pc x86_64-efi; do
    [ -d "/usr/lib/grub/$plat" ] ||
        die "/usr/lib/grub/$plat missing: apt-get install grub-pc-bin grub-efi-amd64-bin"
done

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git -C "$TOP" log -1 --format=%ct 2>/dev/null || echo 0)
fi
[[ "$SOURCE_DATE_EPOCH" =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH must be a number of seconds"
export SOURCE_DATE_EPOCH

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sysrecover-iso.XXXXXX")
trap 'rm -rf "${WORK:?}"' EXIT

# The tree on the ISO: /boot/vmlinuz, /boot/initrd.img, /boot/grub/grub.cfg, and
# /.disk/info, the file Debian's signed CD GRUB finds its medium by.
stage() {
    mkdir -p "$WORK/tree/boot/grub" "$WORK/tree/.disk"
    echo "sysrecover rescue" > "$WORK/tree/.disk/info"
    cp "$KERNEL" "$WORK/tree/boot/vmlinuz"
    cp "$INITRD" "$WORK/tree/boot/initrd.img"
    sed "s|@APPEND@|$APPEND|; s| *\$||" "$HERE/rescue-iso.cfg" > "$WORK/tree/boot/grub/grub.cfg"
    find "$WORK/tree" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

# grub-mkrescue copies every GRUB module, font, locale and theme unless told: the
# menu needs only these (both platforms; a name one platform lacks is skipped).
GRUB_MODULES="normal linux echo test serial terminal terminfo iso9660 part_msdos part_gpt
fat search search_fs_uuid search_label gzio all_video"

# GRUB's locales, fonts and themes are left out: the menu is plain text.  The modules
# are xz-compressed on the medium.
# --signed-efi: an EFI system partition image with shim as the fallback loader
# EFI/BOOT/BOOTX64.EFI and the signed GRUB beside it as grubx64.efi (the name shim
# starts).  grub-mkrescue cannot take one, so a wrapper around xorriso puts it in place
# of the unsigned efi.img grub-mkrescue made, just before the ISO is written: the BIOS
# side stays grub-mkrescue's.
make_esp() {
    local kib
    kib=$(( ($(cat "$SIGNED"/*.efi.signed | wc -c) / 1024) + 512 ))
    dd if=/dev/zero of="$WORK/esp.img" bs=1024 count="$kib" status=none &&
        mformat -i "$WORK/esp.img" -N 0 :: &&
        mmd -i "$WORK/esp.img" ::/EFI ::/EFI/BOOT &&
        mcopy -i "$WORK/esp.img" "$SIGNED/shimx64.efi.signed" ::/EFI/BOOT/BOOTX64.EFI &&
        mcopy -i "$WORK/esp.img" "$SIGNED/gcdx64.efi.signed" ::/EFI/BOOT/grubx64.efi ||
        die "cannot make the EFI system partition image"
    if [ -s "$SIGNED/mmx64.efi.signed" ]; then
        mcopy -i "$WORK/esp.img" "$SIGNED/mmx64.efi.signed" ::/EFI/BOOT/mmx64.efi ||
            die "cannot copy mmx64.efi"
    fi
    printf '%s\n' '#!/bin/sh' \
        '# every argument that is a directory holding efi.img gets the signed one' \
        'for a in "$@"; do [ -f "$a/efi.img" ] && cp "$ESP_IMG" "$a/efi.img"; done' \
        'exec xorriso "$@"' > "$WORK/xorriso"
    chmod +x "$WORK/xorriso"
}

make_iso() {
    local x=()
    [ -z "$SIGNED" ] || x=(--xorriso="$WORK/xorriso")
    ESP_IMG=$WORK/esp.img grub-mkrescue "${x[@]}" -o "$WORK/out.iso" --install-modules="$(echo $GRUB_MODULES)" \
        --locales= --fonts= --themes= --compress=xz \
        "$WORK/tree" -- -volid "$VOLID" > "$WORK/mkrescue.log" 2>&1 || {
        cat "$WORK/mkrescue.log" >&2
        die "grub-mkrescue failed"
    }
}

stage
[ -z "$SIGNED" ] || make_esp
make_iso
mv "$WORK/out.iso" "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "rescue-iso: $(stat -c %s "$OUT") bytes: $OUT"
