#!/bin/sh
# deps.sh - install every Debian package sysrecover needs to build, test and demo.
#
# The only place packages are named: the README commands, `make` and .ci/run all
# come through here, so a package missing from this list breaks our own run first.
# Run as root (or through sudo). Installs only what is missing; a no-op otherwise.
# `deps.sh --list` prints the list, `deps.sh --check` exits 1 if anything is missing.
set -eu

# Why each one is here:
#   build-essential pkg-config   compiler, make, and library discovery
#   libblkid-dev                 volume discovery (util-linux's probe library)
#   libext2fs-dev                ext2/3/4 read/write without mounting (e2fsprogs)
#   ntfs-3g-dev                  NTFS read/write without mounting (libntfs-3g)
#   libhivex-dev                 offline Windows registry hives
#   libarchive-dev               pax stream on tape (readable by stock tar)
#   nettle-dev                   SHA-256 of the set label, catalog and data: libarchive
#                                already links nettle, ~300 KB against libcrypto's 4.5 MB
#                                in a rescue initramfs with a 16 MiB budget
#   libcmocka-dev                unit tests
#   clang libclang-rt-14-dev     libFuzzer + ASan/UBSan for tests/fuzz
#   qemu-system-x86 busybox-static cpio
#                                tests/vm: boot a real kernel with the st driver
#   mt-st                        independent check of the st driver's view in the VM
#   e2fsprogs ntfs-3g libhivex-bin attr acl
#                                independent checkers (e2fsck, ntfsls, hivexget, getfattr)
#   xz-utils gzip zstd tar       test data, kernel modules, tape-image inspection
#   python3                      tests/fuzz builds its hand-made corrupt seeds with it
#   ca-certificates              apt download of the test kernel over https mirrors
#   debian-archive-keyring       tests/vm/fetch-kernel.sh checks the signature of the
#                                trixie-backports index with it (run.sh refuses without it)
#   forensics-samples-ntfs forensics-samples-ext4
#                                real MBR disk images (partition at sector 2048) that
#                                tests/integration/volumes.sh reads from /usr/share/forensics-samples
#   fdisk dosfstools             volumes.sh: sfdisk builds GPT/MBR images, mkfs.vfat a FAT partition
#   wimtools                     tests/bench/populate.sh: wimlib-imagex apply to an unmounted NTFS
#                                image, the tool a Windows admin would use instead of ours
#   libregf-utils                regfinfo/regfexport: a second, independent regf reader
#                                (libyal) that the hive tests check our written hives with
#   libwin-hivex-perl            hivexregedit: tests build "current" hives with an
#                                editor that is not ours
#   man-db groff-base bash       tests/integration/cli_docs.sh: man shows the installed
#                                pages, groff -ww checks them, bash runs the completion
#   strace                       tests/integration/bigdir_io.sh counts the image reads of
#                                an apply (an untimed proof that big directories are linear)
#   libarchive-tools             bsdtar: the second stock tar that must extract a set's data
#                                alone (tests/integration/backup_restore.sh)
#   time                         /usr/bin/time -v: peak memory of the engine at scale
#                                (tests/bench/scale.sh)
#   grub-pc-bin grub-efi-amd64-bin xorriso mtools
#                                make rescue-iso: grub-mkrescue's BIOS and UEFI GRUB, the ISO
#                                writer, the FAT image of the EFI system partition
#   ovmf                         tests/vm/rescue-iso.sh boots the ISO under UEFI firmware
#   initramfs-tools-core         VM test C builds Debian's own initramfs with mkinitramfs and
#                                reads it with lsinitramfs (never the initramfs-tools
#                                metapackage: it holds the kernel hooks and conflicts with dracut)
#   debhelper lintian debootstrap
#                                tests/pkg/deb.sh (make deb-check): dpkg-buildpackage, lintian,
#                                a clean Debian 12 chroot to install the .deb into
#   tgt open-iscsi               tests/vm/restore-b-tgt.sh: tgt's tape emulation over the
#                                guest's loopback keeps every byte behind the real st driver
#   dracut-core                  tests/vm/dracut-d.sh (VM test D) builds dracut initrds with
#                                our module; not the `dracut` metapackage, which replaces
#                                initramfs-tools as the system's generator
#   systemd                      dracut builds its systemd initrd from the host's systemd
#                                (VM test D): a machine or chroot without it gets none
PKGS="libwin-hivex-perl build-essential pkg-config libblkid-dev libext2fs-dev ntfs-3g-dev libhivex-dev
libarchive-dev nettle-dev libcmocka-dev clang libclang-rt-14-dev qemu-system-x86 busybox-static cpio
mt-st e2fsprogs ntfs-3g libhivex-bin attr acl xz-utils gzip zstd tar python3
ca-certificates debian-archive-keyring forensics-samples-ntfs forensics-samples-ext4 fdisk dosfstools
wimtools libregf-utils man-db groff-base bash strace libarchive-tools time tgt open-iscsi
grub-pc-bin grub-efi-amd64-bin xorriso mtools ovmf
initramfs-tools-core debhelper lintian debootstrap dracut-core systemd"

missing() {
	for p in $PKGS; do
		s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
		[ "$s" = installed ] || printf '%s\n' "$p"
	done
}

case "${1:-}" in
--list) printf '%s\n' $PKGS; exit 0 ;;
--check)
	m=$(missing)
	[ -z "$m" ] && exit 0
	echo "deps.sh: missing packages:" $m >&2
	echo "deps.sh: run 'sudo sh .ci/deps.sh' to install them" >&2
	exit 1 ;;
"") ;;
*) echo "usage: deps.sh [--list|--check]" >&2; exit 2 ;;
esac

m=$(missing)
[ -z "$m" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:" $m >&2
	echo "deps.sh: must run as root to install them: sudo sh .ci/deps.sh" >&2
	exit 1
fi
echo "deps.sh: installing:" $m
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet; update once, then install.
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $m
