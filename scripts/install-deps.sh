#!/bin/sh
# Installs the Debian 12 packages hyvm needs to build and test.
#   scripts/install-deps.sh          build dependencies
#   scripts/install-deps.sh --test   and the test oracles (qemu-img, QEMU)
# Runs apt-get as root, or through sudo when not root.  Does nothing when
# every package is already installed.
set -eu

PACKAGES="gcc libc6-dev make meson ninja-build pkg-config python3 \
libslirp-dev \
libglib2.0-dev libjson-glib-dev libcapstone-dev binutils gcc-multilib socat \
zlib1g-dev libzstd-dev libaio-dev"
# The image tests check hyvm-img against qemu-img and hold images with
# qemu-system-x86_64 (test oracles only; hyvm never runs them).  xorriso,
# mtools, syslinux and isolinux build the IDE tests' ISO 9660 images and
# bootable disk and CD images.
if [ "${1:-}" = "--test" ]; then
    PACKAGES="$PACKAGES qemu-utils qemu-system-x86 iproute2 tcpdump xorriso mtools syslinux \
syslinux-common isolinux"
fi

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing:$missing"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
