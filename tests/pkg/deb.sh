#!/bin/bash
# deb.sh - the Debian package test (make deb-check): builds the .deb from an export of
# this tree with dpkg-buildpackage, reads it with dpkg-deb, runs lintian, then installs
# it into a CLEAN Debian 12 chroot with initramfs-tools and a kernel, where the
# package's update-initramfs trigger must put our hook's files into the kernel's
# initramfs (read with that chroot's lsinitramfs), and where `dpkg -r` then `dpkg -P`
# must leave the file tree as it was before the install.
#
# The chroot: `debootstrap --variant=minbase --include=initramfs-tools,linux-image-amd64
# bookworm` from the mirror in the machine's apt sources (never written here), made once
# and cached as ${SYSRECOVER_CACHE:-~/.cache/sysrecover}/chroot-bookworm/base.tar; each run
# unpacks a fresh copy under mktemp -d.  The kernel package is the honest minimum for
# update-initramfs, which needs /lib/modules/KVER and /boot/config-KVER of a real kernel.
# Everything inside the chroot runs in a private mount namespace (its /proc goes with it).
# Our sysrecover's shared-library dependencies come from the mirror (apt resolves the
# .deb's Depends), so a wrong Depends fails here.
#
# Not part of `make check`: it takes several minutes (a package build with the unit
# tests, lintian, two initramfs builds for Debian's generic kernel), and needs the network
# the first time.  Prints tests/lib/check.sh lines behind "pkg: " and a lintian report.
# Writes build/pkg/{build.log,lintian.txt,chroot.log} and the .deb to build/pkg/.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
# shellcheck source=../lib/check.sh
. "$TOP/tests/lib/check.sh"
CHECK_PREFIX="pkg: "
OUTD=$TOP/build/pkg
CACHE=${SYSRECOVER_CACHE:-$HOME/.cache/sysrecover}/chroot-bookworm
W=$(mktemp -d "${TMPDIR:-/tmp}/sr-pkg.XXXXXX")
cleanup() { rm -rf "${W:?}"; }
trap cleanup EXIT

fatal() { bad pkg/setup "$*"; echo "pkg: $(counts)"; exit 1; }

# The first non-security deb URI of the machine's apt sources.
mirror_uri() {
    local f u
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        u=$(awk 'tolower($1)=="uris:" { for (i = 2; i <= NF; i++) print $i }' "$f" | grep -v -i security | head -n1)
        [ -n "$u" ] && { echo "${u%/}"; return 0; }
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        u=$(sed -e 's/\[[^]]*\]//' "$f" | awk '$1=="deb" && $2 ~ /^(https?|ftp|file):/ && $2 !~ /security/ { print $2; exit }')
        [ -n "$u" ] && { echo "${u%/}"; return 0; }
    done
    return 1
}

# ------------------------------------------------------------------ the package
build_deb() {
    local src=$W/src/sysrecover t0
    t0=$(date +%s)
    mkdir -p "$src" "$OUTD"
    # the tree as it is (tracked and new files, not ignored ones such as build/)
    (cd "$TOP" && git ls-files -z -c -o --exclude-standard | cpio -0 -pdm --quiet "$src") ||
        fatal "cannot export the tree"
    if (cd "$src" && dpkg-buildpackage -us -uc -b) >"$OUTD/build.log" 2>&1; then
        ok pkg/dpkg-buildpackage
    else
        bad pkg/dpkg-buildpackage "see $OUTD/build.log: $(tail -n 3 "$OUTD/build.log" | tr '\n' ' ')"
        return 1
    fi
    DEB=$(ls "$W"/src/sysrecover_*.deb 2>/dev/null | head -n1)
    [ -n "$DEB" ] || { bad pkg/deb-made "no sysrecover_*.deb"; return 1; }
    cp "$DEB" "$OUTD/"
    echo "pkg: INFO $(basename "$DEB"): $(stat -c %s "$DEB") bytes, built in $(($(date +%s) - t0)) s"
}

check_contents() {
    local list f trig
    out list dpkg-deb -c "$DEB" || return
    list=$(printf '%s\n' "$list" | awk '{ print $6 }')
    for f in ./usr/bin/sysrecover ./usr/bin/srdelayed ./usr/share/man/man8/sysrecover.8.gz \
             ./usr/share/man/man8/srdelayed.8.gz ./usr/share/bash-completion/completions/sysrecover \
             ./usr/share/initramfs-tools/hooks/sysrecover \
             ./usr/share/initramfs-tools/scripts/local-premount/sysrecover; do
        if printf '%s\n' "$list" | grep -q -x -F "$f"; then ok "pkg/has-$f"; else bad "pkg/has-$f" "dpkg-deb -c does not list it"; fi
    done
    # the dracut module: every file the tree has there
    for f in "$TOP"/initramfs/dracut/90sysrecover/*; do
        [ -e "$f" ] || continue
        f=./usr/lib/dracut/modules.d/90sysrecover/$(basename "$f")
        if printf '%s\n' "$list" | grep -q -x -F "$f"; then ok "pkg/has-$f"; else bad "pkg/has-$f" "dpkg-deb -c does not list it"; fi
    done
    if out trig dpkg-deb -I "$DEB" triggers; then
        is pkg/trigger "$(printf '%s\n' "$trig" | grep -v '^#' | grep .)" "activate-noawait update-initramfs"
    fi
}

run_lintian() {
    lintian --info --display-level '>=pedantic' "$DEB" >"$OUTD/lintian.txt" 2>&1
    echo "pkg: INFO lintian $(basename "$DEB") (build/pkg/lintian.txt):"
    sed 's/^/pkg:   | /' "$OUTD/lintian.txt" | grep -v '^pkg:   | N: ' | head -n 40
    # errors fail; each warning must be explained in tests/pkg/lintian-expected
    is pkg/lintian-no-errors "$(grep -c '^E: ' "$OUTD/lintian.txt")" 0
    is pkg/lintian-warnings-explained \
        "$(grep '^W: ' "$OUTD/lintian.txt" | awk '{ print $3 }' | sort -u | tr '\n' ' ')" \
        "$(grep -v -e '^#' -e '^$' "$HERE/lintian-expected" | awk '$1 == "W" { print $2 }' | sort -u | tr '\n' ' ')"
}

# ------------------------------------------------------------------ the chroot
make_base() {
    local mirror r=$W/base
    [ -s "$CACHE/base.tar" ] && return 0
    mirror=$(mirror_uri) || fatal "no Debian mirror in the machine's apt sources"
    echo "pkg: INFO making the clean bookworm chroot (once) from $mirror"
    mkdir -p "$CACHE" "$r"
    debootstrap --variant=minbase --include=initramfs-tools,linux-image-amd64 bookworm "$r" "$mirror" \
        >"$W/debootstrap.log" 2>&1 || { tail -n 20 "$W/debootstrap.log"; fatal "debootstrap failed"; }
    rm -rf "${r:?}"/var/cache/apt/archives/*.deb
    tar -C "$r" -cf "$CACHE/base.tar.new" . && mv "$CACHE/base.tar.new" "$CACHE/base.tar" ||
        fatal "cannot write $CACHE/base.tar"
    rm -rf "${r:?}"
}

# in_chroot CMD...: a command in the chroot, with /proc, in a private mount namespace
in_chroot() {
    unshare -m --propagation private sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$R" "$@"
}

# the chroot's file tree, without what varies by itself (logs, caches, dpkg's state, /boot)
tree_list() {
    (cd "$R" && find . -xdev \( -path ./proc -o -path ./var -o -path ./boot -o -path ./tmp \
        -o -path ./run -o -path ./etc/ld.so.cache \) -prune -o -print) | sort
}

chroot_test() {
    local kver inst img ls f before after rm
    R=$W/root
    mkdir -p "$R"
    tar -C "$R" -xf "$CACHE/base.tar" || { bad pkg/chroot "cannot unpack $CACHE/base.tar"; return 1; }
    cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null
    kver=$(ls "$R/lib/modules" | head -n1)
    img=/boot/initrd.img-$kver
    echo "pkg: INFO chroot kernel $kver"
    # clean: no sysrecover before we install it
    if in_chroot dpkg-query -W sysrecover >/dev/null 2>&1; then bad pkg/chroot-clean "sysrecover is already installed"
    else ok pkg/chroot-clean; fi
    before=$(tree_list)
    cp "$DEB" "$R/tmp/sysrecover.deb"
    if out inst in_chroot env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /tmp/sysrecover.deb; then
        ok pkg/install
    else
        bad pkg/install "apt-get install failed"; return 1
    fi
    printf '%s\n' "$inst" >"$OUTD/chroot.log"
    # the trigger ran update-initramfs -u (initramfs-tools' own trigger action)
    has pkg/trigger-ran "$inst" "update-initramfs: Generating $img"
    check pkg/runs in_chroot sysrecover --version
    if out ls in_chroot lsinitramfs "$img"; then
        for f in usr/bin/sysrecover usr/bin/srdelayed usr/sbin/e2fsck scripts/local-premount/sysrecover; do
            if printf '%s\n' "$ls" | grep -q -x -F "$f"; then ok "pkg/initramfs-has-$f"; else bad "pkg/initramfs-has-$f" "lsinitramfs does not list it"; fi
        done
        is pkg/initramfs-has-gconv "$(printf '%s\n' "$ls" | grep -c -e '/gconv/UTF-16.so$' -e '/gconv/ISO8859-1.so$' -e '/gconv/gconv-modules$')" 3
        # the ORDER file runs our script after resume; by name alone it would be too, so
        # the script in the image must also declare it (initramfs-tools' prereqs call)
        if out f in_chroot sh -c "unmkinitramfs '$img' /tmp/unpacked && cd /tmp/unpacked && { [ -d main ] && cd main; :; } &&
                cat scripts/local-premount/ORDER && echo PREREQ=\$(sh scripts/local-premount/sysrecover prereqs)"; then
            is pkg/premount-after-resume "$(printf '%s\n' "$f" | grep -o 'local-premount/[a-z_]*' | tr '\n' ' ')" \
                "local-premount/resume local-premount/sysrecover "
            is pkg/premount-prereq-resume "$(printf '%s\n' "$f" | grep '^PREREQ=')" "PREREQ=resume"
        fi
    fi
    if out rm in_chroot dpkg -r sysrecover; then ok pkg/remove; else bad pkg/remove "dpkg -r failed"; return 1; fi
    printf '%s\n' "$rm" >>"$OUTD/chroot.log"
    if out ls in_chroot lsinitramfs "$img"; then
        is pkg/initramfs-after-remove "$(printf '%s\n' "$ls" | grep -c -e sysrecover -e srdelayed)" 0
    fi
    check pkg/purge in_chroot dpkg -P sysrecover
    in_chroot rm -rf /tmp/unpacked /tmp/sysrecover.deb
    after=$(tree_list)
    # nothing of the tree before went away; whatever is new belongs to another package
    # (the libraries apt pulled in for our Depends stay installed, as apt leaves them;
    # a bookworm package may own a file by its /lib name, found here under /usr/lib)
    is pkg/removed-nothing-else "$(diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | grep '^<' | head -n 10 | tr '\n' ' ')" ""
    diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | sed -n 's/^> \.//p' >"$R/tmp/new-paths"
    if [ -s "$R/tmp/new-paths" ]; then
        if out f in_chroot sh -c 'while read -r p; do dpkg -S "$p" >/dev/null 2>&1 || dpkg -S "${p#/usr}" >/dev/null 2>&1 || echo "$p"; done </tmp/new-paths'; then
            is pkg/removed-cleanly "$(printf '%s' "$f" | head -n 10 | tr '\n' ' ')" ""
        fi
    else
        ok pkg/removed-cleanly
    fi
}

for t in dpkg-buildpackage:dpkg-dev dh:debhelper lintian:lintian debootstrap:debootstrap cpio:cpio git:git; do
    command -v "${t%%:*}" >/dev/null 2>&1 || fatal "${t%%:*} missing: apt-get install ${t#*:}"
done
[ "$(id -u)" = 0 ] || fatal "needs root (debootstrap, chroot)"

if build_deb; then
    check_contents
    run_lintian
    make_base
    chroot_test
fi
echo "pkg: $(counts)"
finish
