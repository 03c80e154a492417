#!/bin/bash
# fetch-kernel.sh — fetch and cache a Linux kernel (>= 6.16) with the SCSI tape
# test modules for the QEMU VM tests (tests/vm/README.md).
#
# Usage: tests/vm/fetch-kernel.sh [--flavour cloud|generic] [--tree] [EXTRA_MODULE...]
#
#   --flavour  cloud (default: the VM tests' kernel) or generic, Debian's kernel for real
#            machines (the SAS/RAID HBAs and usb-storage the cloud flavour lacks), cached
#            apart in .../sysrecover/vm-generic/ (for the recovery image's size on it).
#   --tree   also keep the package's whole modules tree (as shipped: .ko.xz, modules.order,
#            modules.builtin*) in kernel-<abi>/tree/lib/modules/<kver>/, for
#            initramfs/build.sh --modules-dir (the recovery image's storage and tape drivers).
#
# Takes the newest linux-binary-<abi>-cloud-amd64 / linux-modules-<abi>-cloud-amd64
# (generic: linux-binary-<abi>-amd64 / linux-modules-<abi>-amd64)
# pair from Debian's trixie-backports suite, using a private, temporary apt
# configuration (own sources list, state and cache dirs; the machine's apt setup
# is neither read for packages nor modified).  The mirror URI is taken at run time
# from the machine's apt sources; no host name is written anywhere.
#
# Cache: ${SYSRECOVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sysrecover}/vm/kernel-<abi>/
#          vmlinuz, modules/<name>.ko (decompressed), modules/load-order, VERSION,
#          and with --tree: tree/lib/modules/<kver>/ (the package's modules tree)
# Prints the path of that directory as the last line on stdout; everything else
# goes to stderr.  Exits non-zero with a clear message when it cannot produce a kernel.
#
# Environment:
#   SYSRECOVER_VM_KERNEL=<abi>     pin an ABI (e.g. 7.3.4+deb13) instead of the newest
#   SYSRECOVER_VM_OFFLINE=1        do not contact the mirror; use the newest cached kernel
#   SYSRECOVER_DEBIAN_MIRROR=URI   override the mirror URI read from the apt sources
#   SYSRECOVER_VM_APT_TRUSTED=1    LAST RESORT ONLY: mark the private source [trusted=yes]
#                                  when the local debian-archive-keyring cannot verify
#                                  trixie (the bookworm keyring 2023.3+deb12u2 can).
set -euo pipefail

SUITE=trixie-backports
FLAVOUR=cloud-amd64
MIN_VERSION=6.16
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
BASE_MODULES="scsi_common scsi_mod scsi_debug st"

die() { echo "fetch-kernel: ERROR: $*" >&2; exit 2; }
note() { echo "fetch-kernel: $*" >&2; }

CACHE_ROOT=${SYSRECOVER_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/sysrecover}
CACHE=$CACHE_ROOT/vm

WANT_TREE=0
while :; do
    case "${1:-}" in
        --tree) WANT_TREE=1; shift ;;
        --flavour)
            case "${2:-}" in
                cloud) ;;
                # its own cache directory: the cloud kernel's offline and clean-up
                # logic never sees it
                generic) FLAVOUR=amd64; CACHE=$CACHE_ROOT/vm-generic ;;
                *) die "--flavour: cloud or generic" ;;
            esac
            shift 2 ;;
        *) break ;;
    esac
done
mkdir -p "$CACHE" || die "cannot create cache directory $CACHE"
WANT_MODULES="$BASE_MODULES $*"

# Serialise concurrent runs (parallel make).
exec 9>"$CACHE/.lock"
flock 9 || die "cannot lock $CACHE/.lock"

# ---------------------------------------------------------------- helpers

# Read the Debian mirror URI from the machine's apt sources (deb822 first, then
# one-line format). Security mirrors are skipped.
mirror_uri() {
    if [ -n "${SYSRECOVER_DEBIAN_MIRROR:-}" ]; then
        echo "$SYSRECOVER_DEBIAN_MIRROR"; return 0
    fi
    local f u
    for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        u=$(awk 'tolower($1)=="uris:" { for (i = 2; i <= NF; i++) print $i }' "$f" |
            grep -v -i security | head -n1 || true)
        [ -n "$u" ] && { echo "${u%/}"; return 0; }
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        u=$(sed -e 's/\[[^]]*\]//' "$f" |
            awk '$1=="deb" && $2 ~ /^(https?|ftp|file):/ && $2 !~ /security/ { print $2; exit }')
        [ -n "$u" ] && { echo "${u%/}"; return 0; }
    done
    return 1
}

# module "depends=" field, from the .modinfo strings of an uncompressed .ko
ko_depends() {
    tr '\0' '\n' < "$1" | grep -a -m1 '^depends=' | sed 's/^depends=//' | tr ',' ' '
}

ko_decompress() { # SRC DST
    case "$1" in
        *.ko.xz)  xz -dc "$1" > "$2" ;;
        *.ko.zst) zstd -q -dc "$1" > "$2" ;;
        *.ko.gz)  gzip -dc "$1" > "$2" ;;
        *.ko)     cp "$1" "$2" ;;
        *) return 1 ;;
    esac
}

kernel_complete() { # DIR -> 0 if it holds vmlinuz and every wanted module
    local d=$1 m
    [ -s "$d/vmlinuz" ] && [ -s "$d/modules/load-order" ] || return 1
    for m in $WANT_MODULES; do
        [ -s "$d/modules/${m//-/_}.ko" ] || return 1
    done
    [ "$WANT_TREE" = 0 ] || [ -d "$(tree_dir "$d")/kernel" ]
}

tree_dir() { # DIR -> its tree/lib/modules/<kver> (empty when there is none)
    local t
    for t in "$1"/tree/lib/modules/*; do [ -d "$t" ] && { echo "$t"; return 0; }; done
    echo ""
}

newest_cached() {
    local d best=
    for d in "$CACHE"/kernel-*; do
        [ -d "$d" ] && kernel_complete "$d" || continue
        best="$best${d##*/kernel-}"$'\n'
    done
    [ -n "$best" ] && printf '%s' "$best" | sort -V | tail -n1
}

version_ok() { # ABI -> upstream version >= MIN_VERSION
    local v=${1%%+*}
    [ "$(printf '%s\n%s\n' "$MIN_VERSION" "$v" | sort -V | head -n1)" = "$MIN_VERSION" ]
}

# ---------------------------------------------------------------- offline / pinned shortcut

if [ "${SYSRECOVER_VM_OFFLINE:-0}" = 1 ]; then
    abi=${SYSRECOVER_VM_KERNEL:-$(newest_cached || true)}
    [ -n "$abi" ] && kernel_complete "$CACHE/kernel-$abi" ||
        die "SYSRECOVER_VM_OFFLINE=1 but no complete cached kernel${SYSRECOVER_VM_KERNEL:+ $SYSRECOVER_VM_KERNEL} in $CACHE"
    note "offline: using cached kernel $abi"
    echo "$CACHE/kernel-$abi"; exit 0
fi
if [ -n "${SYSRECOVER_VM_KERNEL:-}" ] && kernel_complete "$CACHE/kernel-$SYSRECOVER_VM_KERNEL"; then
    echo "$CACHE/kernel-$SYSRECOVER_VM_KERNEL"; exit 0
fi

# ---------------------------------------------------------------- private apt configuration

MIRROR=$(mirror_uri) || die "no Debian mirror URI found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list (set SYSRECOVER_DEBIAN_MIRROR)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sysrecover-apt.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/log" "$TMP/etc/apt.conf.d" "$TMP/etc/sources.list.d" "$TMP/etc/preferences.d" \
         "$TMP/state/lists/partial" "$TMP/cache/archives/partial" "$TMP/dl"
: > "$TMP/state/status"

if [ "${SYSRECOVER_VM_APT_TRUSTED:-0}" = 1 ]; then
    note "WARNING: SYSRECOVER_VM_APT_TRUSTED=1: the $SUITE index is NOT signature-checked"
    signed="Trusted: yes"
else
    [ -r "$KEYRING" ] || die "$KEYRING missing: install debian-archive-keyring (or, as a last resort, SYSRECOVER_VM_APT_TRUSTED=1)"
    signed="Signed-By: $KEYRING"
fi
cat > "$TMP/etc/sources.list.d/sysrecover-vm.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE
Components: main
$signed
EOF

cat > "$TMP/apt.conf" <<EOF
Dir::Etc::main "/dev/null";
Dir::Etc::Parts "$TMP/etc/apt.conf.d";
Dir::Etc::SourceList "/dev/null";
Dir::Etc::SourceParts "$TMP/etc/sources.list.d";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "$TMP/etc/preferences.d";
Dir::State "$TMP/state";
Dir::State::status "$TMP/state/status";
Dir::Cache "$TMP/cache";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Dir::Log "$TMP/log";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
Acquire::Languages "none";
Acquire::Retries "2";
EOF
# root: keep downloads as root (apt's _apt sandbox user cannot write into our 0700 temp dir)
[ "$(id -u)" = 0 ] && echo 'APT::Sandbox::User "root";' >> "$TMP/apt.conf"
export APT_CONFIG="$TMP/apt.conf"

fallback_or_die() {
    local abi
    abi=$(newest_cached || true)
    if [ -n "$abi" ]; then
        note "WARNING: $1; using cached kernel $abi"
        echo "$CACHE/kernel-$abi"; exit 0
    fi
    die "$1 (and no cached kernel in $CACHE)"
}

note "reading $SUITE index from $MIRROR"
if ! apt-get -q update > "$TMP/update.log" 2>&1 || grep -qE '^(W|E):' "$TMP/update.log"; then
    cat "$TMP/update.log" >&2
    fallback_or_die "apt-get update of $SUITE from $MIRROR failed"
fi

# ---------------------------------------------------------------- choose the kernel

if [ -n "${SYSRECOVER_VM_KERNEL:-}" ]; then
    abi=$SYSRECOVER_VM_KERNEL
else
    names=$(apt-cache pkgnames linux- 2>/dev/null | sort -u)
    abi=$(printf '%s\n' "$names" |
          sed -n "s/^linux-binary-\([0-9][0-9a-z.+~-]*\)-$FLAVOUR\$/\1/p" |
          grep -v '^unsigned' | grep -v -e '-cloud$' -e '-rt$' | while read -r a; do
              grep -qx "linux-modules-$a-$FLAVOUR" <<< "$names" && echo "$a"
          done | sort -V | tail -n1 || true)
    [ -n "$abi" ] || fallback_or_die "no linux-binary-*-$FLAVOUR / linux-modules-*-$FLAVOUR pair found in $SUITE"
fi
version_ok "$abi" || die "kernel $abi is older than $MIN_VERSION (scsi_debug tape emulation needs >= $MIN_VERSION)"

DEST=$CACHE/kernel-$abi
if kernel_complete "$DEST"; then
    note "kernel $abi already cached"
    echo "$DEST"; exit 0
fi

# ---------------------------------------------------------------- download and unpack

# Re-fetching to add modules: keep the ones an earlier run cached too.
if [ -s "$DEST/modules/load-order" ]; then
    WANT_MODULES="$WANT_MODULES $(cat "$DEST/modules/load-order")"
fi
[ -d "$DEST" ] && [ -n "$(tree_dir "$DEST")" ] && WANT_TREE=1

note "downloading linux-binary-$abi-$FLAVOUR and linux-modules-$abi-$FLAVOUR"
(cd "$TMP/dl" && apt-get -q download "linux-binary-$abi-$FLAVOUR" "linux-modules-$abi-$FLAVOUR") \
    > "$TMP/download.log" 2>&1 || {
    cat "$TMP/download.log" >&2
    die "apt-get download of the $abi kernel packages from $MIRROR ($SUITE) failed"
}
mkdir -p "$TMP/root"
for deb in "$TMP"/dl/*.deb; do
    dpkg-deb -x "$deb" "$TMP/root" || die "dpkg-deb -x $deb failed"
done

rm -rf "$DEST.new"
mkdir -p "$DEST.new/modules"
vmlinuz=
for c in "$TMP"/root/usr/lib/modules/*/vmlinuz "$TMP"/root/boot/vmlinuz-*; do
    [ -s "$c" ] && { vmlinuz=$c; break; }
done
[ -n "$vmlinuz" ] || die "no vmlinuz in linux-binary-$abi-$FLAVOUR"
cp "$vmlinuz" "$DEST.new/vmlinuz"
moddir=$(ls -d "$TMP"/root/usr/lib/modules/*/kernel 2>/dev/null | head -n1)
[ -n "$moddir" ] || die "no usr/lib/modules/*/kernel in linux-modules-$abi-$FLAVOUR"

# Copy each wanted module and, recursively, its depends=, then record a load order
# (dependencies first).
declare -A seen=()
order=()
add_module() {
    local name=${1//-/_} f d
    [ -n "${seen[$name]:-}" ] && return 0
    seen[$name]=1
    f=$(find "$moddir" \( -name "$name.ko*" -o -name "${name//_/-}.ko*" \) -print -quit)
    [ -n "$f" ] || die "module $name not found in linux-modules-$abi-$FLAVOUR"
    ko_decompress "$f" "$DEST.new/modules/$name.ko" || die "cannot decompress $f"
    for d in $(ko_depends "$DEST.new/modules/$name.ko"); do add_module "$d"; done
    order+=("$name")
}
for m in $WANT_MODULES; do add_module "$m"; done
printf '%s\n' "${order[@]}" > "$DEST.new/modules/load-order"
echo "$abi" > "$DEST.new/VERSION"
if [ "$WANT_TREE" = 1 ]; then
    kver=$(basename "$(dirname "$moddir")")
    mkdir -p "$DEST.new/tree/lib/modules"
    cp -a "$(dirname "$moddir")" "$DEST.new/tree/lib/modules/$kver" ||
        die "cannot copy the modules tree of $kver"
    rm -f "$DEST.new/tree/lib/modules/$kver/vmlinuz"
fi

rm -rf "$DEST"
mv "$DEST.new" "$DEST"
note "cached kernel $abi in $DEST ($(du -sh "$DEST" | cut -f1))"

# Keep the two newest kernels only.
for d in "$CACHE"/kernel-*; do
    case "$d" in *.new) ;; *) [ -d "$d" ] && echo "$d" ;; esac
done | sort -V | head -n -2 | while read -r old; do
    note "removing old cached kernel $old"; rm -rf "$old"
done

echo "$DEST"
