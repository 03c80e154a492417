#!/bin/bash
# build-initramfs.sh — build the initramfs for the QEMU VM tests.
#
# Usage: tests/vm/build-initramfs.sh OUTPUT.cpio.gz KERNEL_DIR SYSRECOVER_BINARY [--add SRC=DEST]...
#
#   KERNEL_DIR   a directory made by fetch-kernel.sh (modules/*.ko, modules/load-order)
#   --add S=D    also put file S at path D inside the initramfs (executables get their
#                shared libraries too); used for one-off probes.
#
# Contents: busybox (static, with applet links), sysrecover and its shared libraries,
# mt-st's mt as /bin/mt and /bin/mt-st (replacing busybox's mt applet), the kernel
# modules in /lib/modules/, /init (init.sh) and /tape-suite.sh.
set -euo pipefail

die() { echo "build-initramfs: ERROR: $*" >&2; exit 2; }

[ $# -ge 3 ] || die "usage: $0 OUTPUT.cpio.gz KERNEL_DIR SYSRECOVER_BINARY [--add SRC=DEST]..."
OUT=$1 KDIR=$2 SR=$3
shift 3
HERE=$(cd "$(dirname "$0")" && pwd)

[ -s "$KDIR/modules/load-order" ] || die "$KDIR is not a fetch-kernel.sh kernel directory"
[ -x "$SR" ] || die "sysrecover binary $SR not found or not executable"

BUSYBOX=${BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (apt-get install busybox-static)"
if ldd "$BUSYBOX" >/dev/null 2>&1 && ! ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic'; then
    die "$BUSYBOX is dynamically linked; install busybox-static"
fi
MT=$(readlink -f "$(command -v mt-st || command -v mt || true)" 2>/dev/null || true)
[ -n "$MT" ] && [ -x "$MT" ] && "$MT" --version 2>&1 | grep -q mt-st ||
    die "mt from mt-st not found (apt-get install mt-st)"

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/sysrecover-initramfs.XXXXXX")
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,lib/modules,proc,sys,dev,tmp,run,etc,root}

# busybox and its applets
cp "$BUSYBOX" "$ROOT/bin/busybox"
"$BUSYBOX" --list-full | while read -r applet; do
    [ -e "$ROOT/$applet" ] || ln -s /bin/busybox "$ROOT/$applet"
done

# copy an executable plus the shared libraries and dynamic loader ldd reports
add_exec() { # SRC DEST
    local src=$1 dest=$2 lib
    mkdir -p "$ROOT/$(dirname "$dest")"
    rm -f "$ROOT/$dest"
    cp -L "$src" "$ROOT/$dest"
    chmod 755 "$ROOT/$dest"
    { ldd "$src" 2>/dev/null || true; } | awk '
        $2 == "=>" && $3 ~ /^\// { print $3; next }
        $1 ~ /^\// { print $1 }' | while read -r lib; do
        [ -e "$ROOT/$lib" ] && continue
        mkdir -p "$ROOT/$(dirname "$lib")"
        cp -L "$lib" "$ROOT/$lib"
    done
    if { ldd "$src" 2>&1 || true; } | grep -q 'not found'; then
        ldd "$src" >&2
        die "$src: unresolved shared libraries"
    fi
}

add_exec "$SR" /bin/sysrecover
add_exec "$MT" /bin/mt-st
ln -sf mt-st "$ROOT/bin/mt"

# modules
cp "$KDIR"/modules/*.ko "$KDIR/modules/load-order" "$ROOT/lib/modules/"
[ -s "$KDIR/VERSION" ] && cp "$KDIR/VERSION" "$ROOT/lib/modules/VERSION"

# scripts
install -m 755 "$HERE/init.sh" "$ROOT/init"
install -m 755 "$HERE/tape-suite.sh" "$ROOT/tape-suite.sh"
install -m 755 "$HERE/srd-suite.sh" "$ROOT/srd-suite.sh"

# extra files
while [ $# -gt 0 ]; do
    case "$1" in
        --add)
            [ $# -ge 2 ] || die "--add needs SRC=DEST"
            src=${2%%=*} dest=${2#*=}
            [ -e "$src" ] || die "--add: $src not found"
            if [ -x "$src" ] && [ -f "$src" ]; then add_exec "$src" "$dest"
            else mkdir -p "$ROOT/$(dirname "$dest")"; cp -L "$src" "$ROOT/$dest"; fi
            shift 2 ;;
        *) die "unknown argument $1" ;;
    esac
done

echo 'root:x:0:0:root:/root:/bin/sh' > "$ROOT/etc/passwd"
echo 'root:x:0:' > "$ROOT/etc/group"

mkdir -p "$(dirname "$OUT")"
(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort |
    cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -1 > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
