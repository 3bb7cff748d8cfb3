#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Unpack a Debian guest kernel into the cache and print its directory, which
# holds vmlinux (uncompressed, so QEMU boots it through PVH without paying
# for the XZ decompressor under TCG) and lib/modules/<release>/ with the
# modules decompressed (busybox insmod does not read .ko.xz).
#
# usage: kimage.sh 6.12|6.1
set -euo pipefail
. "$(dirname "$0")/lib.sh"

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
echo "$out"
