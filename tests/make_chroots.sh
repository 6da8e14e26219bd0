#!/usr/bin/env bash
# Build (or reuse) Debian chroots with a real Blender for tests/blender_binaries.py.
#
#   sudo tests/make_chroots.sh [SUITE...]     # default: trixie sid
#
# Each chroot lives in .cache/chroots/<suite>/ (git-ignored): debootstrap --variant=minbase, then
# `apt-get install --no-install-recommends` of Debian's blender and what the tests need, and an
# unprivileged user `tester` (uid 1000) to run Blender as.
#   trixie: blender 4.3 on Python 3.13      sid: blender 5.x on Python 3.14
# Debian's blender depends on no Python module: numpy (which the extension takes from Blender)
# is python3-numpy, and on sid Blender 5's extension system (bl_pkg) imports cattr and requests.
# MediaPipe's C library (mediapipe >= 1.x) loads libEGL.so.1, which a desktop has and minbase not.
# A finished chroot has .cache/chroots/<suite>.stamp naming its packages; a second run reuses it,
# and a changed package list is installed into the existing chroot. rm -rf the folder and the
# stamp to start over. Needs root, debootstrap and a reachable Debian mirror (DEBIAN_MIRROR).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${CHROOT_CACHE:-$ROOT/.cache/chroots}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
COMMON="blender python3-numpy libegl1 libgles2 xvfb xauth ffmpeg"
SUITES=("$@")
[ ${#SUITES[@]} -gt 0 ] || SUITES=(trixie sid)

packages() {
    case $1 in
        trixie) echo "$COMMON" ;;
        *) echo "$COMMON python3-cattr python3-requests" ;;
    esac
}

if [ "$(id -u)" != 0 ]; then
    echo "make_chroots.sh: needs root (debootstrap, chroot, mount)" >&2
    exit 1
fi
command -v debootstrap >/dev/null || { echo "make_chroots.sh: apt-get install debootstrap" >&2; exit 1; }

MOUNTED=()
umount_all() {
    local i
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTED[i]}" 2>/dev/null || umount -l "${MOUNTED[i]}" 2>/dev/null || true
    done
    MOUNTED=()
}
trap umount_all EXIT
trap 'exit 130' INT TERM

mount_chroot() {  # /proc, /dev and /dev/shm for apt's maintainer scripts
    local dir=$1
    mount -t proc proc "$dir/proc"; MOUNTED+=("$dir/proc")
    mount --bind /dev "$dir/dev"; MOUNTED+=("$dir/dev")
    mount --bind /dev/shm "$dir/dev/shm"; MOUNTED+=("$dir/dev/shm")
}

in_chroot() {
    chroot "$dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive "$@"
}

build() {
    local suite=$1 dir="$CACHE/$1" stamp="$CACHE/$1.stamp" t0=$SECONDS pkgs
    pkgs="$(packages "$suite")"
    if [ -f "$stamp" ] && [ "$(head -n 1 "$stamp")" = "packages: $pkgs" ]; then
        echo "== $suite: reusing $dir ($(tail -n 1 "$stamp"))"
        return
    fi
    if grep -q " $dir/" /proc/mounts; then  # never rm -rf through a bind mount of /dev
        echo "make_chroots.sh: $dir still has mounts (a test killed hard?); umount them" >&2
        exit 1
    fi
    rm -f "$stamp"
    if [ ! -f "$dir/.debootstrap-done" ]; then
        echo "== $suite: debootstrap into $dir"
        rm -rf --one-file-system "$dir"
        mkdir -p "$dir"
        debootstrap --variant=minbase "$suite" "$dir" "$MIRROR"
        touch "$dir/.debootstrap-done"
    else
        echo "== $suite: updating $dir"
    fi
    cp /etc/resolv.conf "$dir/etc/resolv.conf"
    ln -sfn ../proc/self/mounts "$dir/etc/mtab"  # Blender lists mounted file systems
    # Mirrors behind a frozen snapshot serve sid's InRelease past its Valid-Until (one week).
    echo 'Acquire::Check-Valid-Until "false";' > "$dir/etc/apt/apt.conf.d/99no-valid-until"
    printf '#!/bin/sh\nexit 101\n' > "$dir/usr/sbin/policy-rc.d"   # no daemons in the chroot
    chmod +x "$dir/usr/sbin/policy-rc.d"
    mount_chroot "$dir"
    in_chroot apt-get update -q
    # shellcheck disable=SC2086
    in_chroot apt-get install -y -q --no-install-recommends $pkgs
    in_chroot apt-get clean
    in_chroot sh -c 'id tester >/dev/null 2>&1 || useradd -m -u 1000 -U -s /bin/sh tester'
    local version
    version="$(in_chroot dpkg-query -W -f '${Version}' blender)"
    umount_all
    printf 'packages: %s\nblender %s, built in %s s on %s\n' "$pkgs" "$version" \
        "$((SECONDS - t0))" "$(date -u +%FT%TZ)" > "$stamp"
    echo "== $suite: done in $((SECONDS - t0)) s (blender $version)"
}

mkdir -p "$CACHE"
for suite in "${SUITES[@]}"; do
    build "$suite"
done
