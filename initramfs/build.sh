#!/bin/bash
# build.sh - build the sysrecover recovery image (a compressed newc cpio initramfs).
#
# Usage: initramfs/build.sh -o OUTPUT [options]
#   -o, --output FILE        the image to write (replaced only when complete)
#   --sysrecover BIN         the sysrecover binary (default: build/sysrecover beside this script)
#   --kernel-version KVER    take modules from /lib/modules/KVER (or /usr/lib/modules/KVER)
#   --modules-dir DIR        take modules from DIR, a lib/modules/KVER tree (.ko, .ko.xz,
#                            .ko.zst or .ko.gz; modules.dep when present, else each module's
#                            depends= field); tests/vm/fetch-kernel.sh --tree keeps one
#   --flat-modules DIR       take a tests/vm/fetch-kernel.sh directory (DIR/modules/*.ko and
#                            DIR/modules/load-order) as it is, in that load order
#   --no-modules             no kernel modules (everything the machine needs is built in)
#   --module NAME            one more module to load at boot (repeatable)
#   --add SRC=DEST           also put file SRC at DEST in the image (an executable gets its
#                            shared libraries too); repeatable
#   --compress zstd|xz|gzip  default zstd (-19); every one is deterministic
#   --budget MIB             fail when the compressed image is larger (default 16)
#
# Contents: busybox (static) with its applet links, sysrecover (also as srdelayed) with
# its ldd closure and the glibc gconv modules libhivex's iconv needs (ldd does not list
# them), e2fsck with its closure (journal replay), mt-st as /bin/mt-st and /bin/mt, the
# tape and storage modules with their dependencies, decompressed, in /lib/modules/ with
# /lib/modules/load-order, and /init (initramfs/init).  A module the kernel does not
# have as a module (built in, or not in that flavour) is reported, not fatal.
#
# Reproducible: every mtime is SOURCE_DATE_EPOCH (default: the last commit's time, else
# 0), the cpio is sorted, owned by 0:0 and written with --reproducible, the compressors
# get no name or time.  The same inputs give the same bytes.
# Prints "initramfs: SIZE bytes compressed (COMP), UNC bytes uncompressed" at the end.
set -euo pipefail
umask 022

die() { echo "initramfs: ERROR: $*" >&2; exit 2; }
note() { echo "initramfs: $*" >&2; }

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")

TAPE_MODULES="st sg"
# usb-storage and uas need the USB host controller: xhci_pci and ehci_pci are modules in
# Debian's generic kernel (the cloud flavour has no USB at all)
STORAGE_MODULES="sd_mod sr_mod ahci nvme virtio_blk virtio_scsi xhci_pci ehci_pci usb-storage uas mpt3sas megaraid_sas hpsa smartpqi"

OUT= SR=$TOP/build/sysrecover KVER= MODDIR= FLAT= NOMOD=0 COMPRESS=zstd BUDGET_MIB=16
EXTRA_MODULES= ADDS=()
while [ $# -gt 0 ]; do
    case "$1" in
        -o|--output) OUT=${2:?}; shift 2 ;;
        --sysrecover) SR=${2:?}; shift 2 ;;
        --kernel-version) KVER=${2:?}; shift 2 ;;
        --modules-dir) MODDIR=${2:?}; shift 2 ;;
        --flat-modules) FLAT=${2:?}; shift 2 ;;
        --no-modules) NOMOD=1; shift ;;
        --module) EXTRA_MODULES="$EXTRA_MODULES ${2:?}"; shift 2 ;;
        --add) [[ "${2:-}" == *=* ]] || die "--add needs SRC=DEST"; ADDS+=("$2"); shift 2 ;;
        --compress) COMPRESS=${2:?}; shift 2 ;;
        --budget) BUDGET_MIB=${2:?}; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done
[ -n "$OUT" ] || die "usage: $0 -o OUTPUT [options] (see --help)"
[ -x "$SR" ] && [ -f "$SR" ] || die "sysrecover binary $SR not found or not executable"
case "$COMPRESS" in zstd|xz|gzip) ;; *) die "--compress: zstd, xz or gzip" ;; esac
[[ "$BUDGET_MIB" =~ ^[0-9]+$ ]] || die "--budget: a whole number of MiB"
n=0
for x in "$KVER$MODDIR" "$FLAT" ; do [ -n "$x" ] && n=$((n + 1)); done
[ "$NOMOD" = 1 ] && n=$((n + 1))
[ $n -eq 1 ] || die "give one of --kernel-version/--modules-dir, --flat-modules or --no-modules"
if [ -n "$KVER" ] && [ -z "$MODDIR" ]; then
    for d in /lib/modules/$KVER /usr/lib/modules/$KVER; do [ -d "$d" ] && { MODDIR=$d; break; }; done
    [ -n "$MODDIR" ] || die "no /lib/modules/$KVER or /usr/lib/modules/$KVER"
fi
[ -z "$MODDIR" ] || [ -d "$MODDIR" ] || die "--modules-dir $MODDIR is not a directory"
[ -z "$MODDIR" ] || KVER=${KVER:-$(basename "$MODDIR")}
[ -z "$FLAT" ] || [ -s "$FLAT/modules/load-order" ] || die "$FLAT is not a fetch-kernel.sh directory"

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git -C "$TOP" log -1 --format=%ct 2>/dev/null || echo 0)
fi
[[ "$SOURCE_DATE_EPOCH" =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH must be a number of seconds"

BUSYBOX=${BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (apt-get install busybox-static)"
if ldd "$BUSYBOX" 2>&1 | grep -q '=>'; then
    die "$BUSYBOX is dynamically linked; install busybox-static"
fi
MT=$(readlink -f "$(command -v mt-st || command -v mt || true)" 2>/dev/null || true)
[ -n "$MT" ] && [ -x "$MT" ] && "$MT" --version 2>&1 | grep -q mt-st ||
    die "mt from mt-st not found (apt-get install mt-st)"
E2FSCK=$(command -v e2fsck || echo /sbin/e2fsck)
[ -x "$E2FSCK" ] || die "e2fsck not found (apt-get install e2fsprogs)"
GCONV=
for d in /usr/lib/x86_64-linux-gnu/gconv /usr/lib64/gconv /usr/lib/gconv; do
    [ -s "$d/UTF-16.so" ] && { GCONV=$d; break; }
done
[ -n "$GCONV" ] || die "glibc gconv modules (UTF-16.so) not found"

t0=$(date +%s.%N)
ROOT=$(mktemp -d "${TMPDIR:-/tmp}/sysrecover-initramfs.XXXXXX")
trap 'rm -rf "${ROOT:?}"' EXIT
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,lib/modules,proc,sys,dev,tmp,run,etc,root,mnt}

# busybox and its applets
cp "$BUSYBOX" "$ROOT/bin/busybox"
"$BUSYBOX" --list-full | while read -r applet; do
    [ -e "$ROOT/$applet" ] || [ -L "$ROOT/$applet" ] || ln -s /bin/busybox "$ROOT/$applet"
done

# copy a file, or an executable plus the shared libraries and loader ldd reports
add_file() { # SRC DEST
    mkdir -p "$ROOT/$(dirname "$2")"
    rm -f "$ROOT/$2"
    cp -L "$1" "$ROOT/$2"
}
add_exec() { # SRC DEST
    local src=$1 dest=$2 lib
    add_file "$src" "$dest"
    chmod 755 "$ROOT/$dest"
    if { ldd "$src" 2>&1 || true; } | grep -q 'not found'; then
        ldd "$src" >&2
        die "$src: unresolved shared libraries"
    fi
    { ldd "$src" 2>/dev/null || true; } | awk '
        $2 == "=>" && $3 ~ /^\// { print $3; next }
        $1 ~ /^\// { print $1 }' | while read -r lib; do
        [ -e "$ROOT/$lib" ] || add_file "$lib" "$lib"
    done
}

add_exec "$SR" /bin/sysrecover
# its debug information is no use on a rescue medium (strip is deterministic)
if command -v strip > /dev/null; then strip --strip-unneeded "$ROOT/bin/sysrecover"; fi
ln -s sysrecover "$ROOT/bin/srdelayed"
add_exec "$MT" /bin/mt-st
rm -f "$ROOT/bin/mt"; ln -s mt-st "$ROOT/bin/mt"
add_exec "$E2FSCK" /sbin/e2fsck
# iconv (libhivex: UTF-16LE and LATIN1) loads these at run time
for f in gconv-modules gconv-modules.cache UTF-16.so ISO8859-1.so; do
    [ -e "$GCONV/$f" ] && add_file "$GCONV/$f" "$GCONV/$f"
done
for f in "$GCONV"/gconv-modules.d/*; do [ -e "$f" ] && add_file "$f" "$f"; done

# ------------------------------------------------------------------ kernel modules
declare -A KO=() DEP=() SEEN=()
ORDER=() MISSING=()
ko_plain() { # SRC DST: decompress
    case "$1" in
        *.ko.xz)  xz -dc "$1" > "$2" ;;
        *.ko.zst) zstd -q -dc "$1" > "$2" ;;
        *.ko.gz)  gzip -dc "$1" > "$2" ;;
        *.ko)     cp "$1" "$2" ;;
        *) return 1 ;;
    esac
}
index_tree() {
    local f b
    while IFS= read -r f; do
        b=${f##*/}; b=${b%%.ko*}; b=${b//-/_}
        [ -n "${KO[$b]:-}" ] || KO[$b]=$f
    done < <(find "$MODDIR" -name '*.ko*' | LC_ALL=C sort)
    if [ -s "$MODDIR/modules.dep" ]; then
        local line m deps d
        while IFS= read -r line; do
            m=${line%%:*}; m=${m##*/}; m=${m%%.ko*}; m=${m//-/_}
            deps=
            for d in ${line#*:}; do d=${d##*/}; d=${d%%.ko*}; deps="$deps ${d//-/_}"; done
            DEP[$m]=$deps
        done < "$MODDIR/modules.dep"
    fi
}
add_module() { # NAME
    local name=${1//-/_} d
    [ -n "${SEEN[$name]:-}" ] && return 0
    SEEN[$name]=1
    if [ -z "${KO[$name]:-}" ]; then MISSING+=("$name"); return 0; fi
    ko_plain "${KO[$name]}" "$ROOT/lib/modules/$name.ko" || die "cannot decompress ${KO[$name]}"
    if [ -n "${DEP[$name]+x}" ]; then
        for d in ${DEP[$name]}; do add_module "$d"; done
    else
        for d in $(tr '\0' '\n' < "$ROOT/lib/modules/$name.ko" | grep -a -m1 '^depends=' |
                   sed 's/^depends=//' | tr ',' ' '); do add_module "$d"; done
    fi
    ORDER+=("$name")
}
if [ -n "$MODDIR" ]; then
    index_tree
    [ ${#KO[@]} -gt 0 ] || die "no modules under $MODDIR"
    for m in $TAPE_MODULES $STORAGE_MODULES $EXTRA_MODULES; do add_module "$m"; done
    echo "$KVER" > "$ROOT/lib/modules/VERSION"
elif [ -n "$FLAT" ]; then
    cp "$FLAT"/modules/*.ko "$ROOT/lib/modules/"
    mapfile -t ORDER < "$FLAT/modules/load-order"
    for m in $TAPE_MODULES $STORAGE_MODULES $EXTRA_MODULES; do
        [ -s "$ROOT/lib/modules/${m//-/_}.ko" ] || MISSING+=("${m//-/_}")
    done
    [ -s "$FLAT/VERSION" ] && cp "$FLAT/VERSION" "$ROOT/lib/modules/VERSION"
fi
printf '%s\n' "${ORDER[@]}" | sed '/^$/d' > "$ROOT/lib/modules/load-order"
if [ ${#MISSING[@]} -gt 0 ]; then
    note "not modules of ${KVER:-this kernel} (built in, or not in this flavour): ${MISSING[*]}"
    printf '%s\n' "${MISSING[@]}" > "$ROOT/lib/modules/not-found"
fi

# ------------------------------------------------------------------ /init and extras
install -m 755 "$HERE/init" "$ROOT/init"
for a in "${ADDS[@]}"; do
    src=${a%%=*} dest=${a#*=}
    [ -e "$src" ] || die "--add: $src not found"
    if [ -f "$src" ] && [ -x "$src" ]; then add_exec "$src" "$dest"; else add_file "$src" "$dest"; fi
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$ROOT/etc/passwd"
echo 'root:x:0:' > "$ROOT/etc/group"

# ------------------------------------------------------------------ pack
find "$ROOT" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
case "$COMPRESS" in
    zstd) comp() { zstd -q -19 -T1 -c; } ;;
    xz)   comp() { xz -9 --check=crc32 -T1 -c; } ;;
    gzip) comp() { gzip -n -9 -c; } ;;
esac
mkdir -p "$(dirname "$OUT")"
(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort |
    cpio --quiet -o -H newc -R 0:0 --reproducible) > "$OUT.cpio.tmp"
comp < "$OUT.cpio.tmp" > "$OUT.tmp"
unc=$(stat -c %s "$OUT.cpio.tmp")
rm -f "$OUT.cpio.tmp"
size=$(stat -c %s "$OUT.tmp")
t1=$(date +%s.%N)
budget=$((BUDGET_MIB * 1024 * 1024))
note "${#ORDER[@]} modules; busybox, sysrecover, e2fsck, mt-st and their libraries; built in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
if [ "$size" -gt "$budget" ]; then
    rm -f "$OUT.tmp"
    die "$size bytes compressed ($COMPRESS) is over the budget of $BUDGET_MIB MiB ($budget bytes)"
fi
mv "$OUT.tmp" "$OUT"
echo "initramfs: $size bytes compressed ($COMPRESS), $unc bytes uncompressed, budget $budget bytes: $OUT"
