#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Unpack a Debian guest kernel into the cache and print its directory, which
# holds vmlinux (uncompressed, so QEMU boots it through PVH without paying
# for the XZ decompressor under TCG) and lib/modules/<release>/ with the
# modules decompressed (busybox insmod does not read .ko.xz).  bzImage is
# the compressed kernel as Debian ships it, for guests that must wake from
# S3: SeaBIOS jumps to the wakeup vector of a PVH-booted kernel and the
# guest resets (seen with QEMU 10.0 under TCG), a bzImage-booted one wakes.
#
# usage: kimage.sh 6.12|6.1|DIR
#   DIR  a kernel directory laid out the same way (scripts/kdebug.sh's), in
#        place of a series everywhere a series is taken: printed as it is
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ -d "${1:-}" ]; then
	[ -e "$1/vmlinux" ] || die "no vmlinux in $1"
	cd "$1" && pwd
	exit 0
fi
case "${1:-6.12}" in
6.12) kv=$(kver_612) ;;
6.1) kv=$(kver_61) ;;
*) die "unknown kernel series '$1' (want 6.12 or 6.1)" ;;
esac

out="$FPB_CACHE/kimage/$kv"
if [ ! -e "$out/.done" ]; then
	src=$("$(dirname "$0")/linux-src.sh")
	progress "unpacking linux-image-$kv-amd64"
	rm -rf "$out"
	mkdir -p "$out"
	dpkg -x "$(fetch_deb "linux-image-$kv-amd64" 2>/dev/null)" "$out/deb"
	"$src/scripts/extract-vmlinux" "$out"/deb/boot/vmlinuz-* >"$out/vmlinux" ||
		die "extract-vmlinux failed for $kv"
	mv "$out/deb/lib" "$out/lib"
	rm -rf "$out/deb"
	find "$out/lib/modules" -name '*.ko.xz' -exec xz -d {} +
	touch "$out/.done"
fi
if [ ! -e "$out/bzImage" ]; then
	tmp=$(mktemp -d "$out/.bzimage.XXXXXX")
	dpkg-deb --fsys-tarfile "$(fetch_deb "linux-image-$kv-amd64" 2>/dev/null)" |
		tar -x -C "$tmp" --wildcards './boot/vmlinuz-*'
	mv "$tmp"/boot/vmlinuz-* "$out/bzImage"
	rm -rf "$tmp"
fi
echo "$out"
