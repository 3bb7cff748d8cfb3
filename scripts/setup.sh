#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything FPB needs from Debian on a fresh bookworm machine.
# Idempotent: a stamp keyed by this file's hash skips the work next time.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

mkdir -p "$FPB_CACHE"
stamp="$FPB_CACHE/setup.$(sha256sum "$0" | cut -c1-16).done"
[ -e "$stamp" ] && exit 0

say() { echo "setup: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
	echo "setup: must run as root to install Debian packages" >&2
	exit 1
fi

# bookworm-backports: linux 6.12 headers and source, meson >= 1.5.
# trixie (sources only): QEMU 10.0.  Binary packages never come from
# trixie, so the host system stays bookworm.
src=/etc/apt/sources.list.d/fpb.sources
if [ ! -e "$src" ]; then
	say "adding bookworm-backports and trixie deb-src entries"
	cat >"$src" <<'SRC'
Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

export DEBIAN_FRONTEND=noninteractive
say "apt-get update"
apt-get update -qq

# debhelper, dh-dkms and lintian build and check the package (make deb);
# debootstrap and qemu-utils (qemu-img) make the Debian guest image and its
# per-boot overlays.
pkgs=(
	build-essential bc bison flex libelf-dev libssl-dev cpio kmod
	sparse clang lld llvm libclang-rt-14-dev dpkg-dev xz-utils zstd
	python3 python3-venv busybox-static
	ninja-build pkg-config libglib2.0-dev libpixman-1-dev
	libslirp-dev zlib1g-dev ccache
	seabios qemu-system-data ipxe-qemu qemu-system-x86
	gnuplot-nox jq socat perl dwarves shellcheck
	bpftool libbpf-dev
	libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
	debhelper dh-dkms lintian debootstrap qemu-utils
)
say "installing ${#pkgs[@]} packages"
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
apt-get install -y -qq --no-install-recommends -t bookworm-backports meson >/dev/null

touch "$stamp"
say "done"
