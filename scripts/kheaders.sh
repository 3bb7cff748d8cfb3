#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Unpack Debian's kernel headers for a guest kernel into the cache and print
# the KDIR to build against.  apt-get download + dpkg -x, because installing
# linux-headers-* would pull a kernel image, systemd and udev onto the host.
#
# usage: kheaders.sh 6.12|6.1|DIR
#   DIR  a kernel directory from scripts/kdebug.sh: its build tree, which
#        lib/modules/<release>/build names
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ -d "${1:-}" ]; then
	kdir=$(readlink -f "$1"/lib/modules/*/build)
	[ -e "$kdir/Makefile" ] || die "no kernel build tree under $1/lib/modules"
	echo "$kdir"
	exit 0
fi
case "${1:-6.12}" in
6.12) kv=$(kver_612) ;;
6.1) kv=$(kver_61) ;;
*) die "unknown kernel series '$1' (want 6.12 or 6.1)" ;;
esac

out="$FPB_CACHE/kheaders/$kv"
kdir="$out/usr/src/linux-headers-$kv-amd64"
if [ ! -e "$out/.done" ]; then
	progress "unpacking linux-headers-$kv"
	rm -rf "$out"
	mkdir -p "$out"
	# 6.1 names its kbuild package after the series, 6.12 after the ABI.
	kbuild=linux-kbuild-$kv
	apt-cache show "$kbuild" >/dev/null 2>&1 || kbuild=linux-kbuild-${kv%.*-*}
	for p in "linux-headers-$kv-amd64" "linux-headers-$kv-common" "$kbuild"; do
		dpkg -x "$(fetch_deb "$p" 2>/dev/null)" "$out"
	done
	# The arch tree includes the common one by absolute path.
	sed -i "s|^include /usr/src/|include $out/usr/src/|" "$kdir/Makefile"
	[ -e "$kdir/Makefile" ] || die "headers for $kv did not unpack into $kdir"
	touch "$out/.done"
fi
echo "$kdir"
