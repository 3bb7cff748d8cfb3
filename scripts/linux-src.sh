#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Unpack Debian's linux-source-6.12 into the cache and print the tree's path.
# It serves checkpatch.pl, scripts/extract-vmlinux, kunit.py (UML) and the
# KVM build.  Read-only once unpacked: builds use O= directories.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

deb=$(fetch_deb linux-source-6.12 2>/dev/null)
ver=$(dpkg-deb -f "$deb" Version)
out="$FPB_CACHE/linux-src/$ver"
if [ ! -e "$out/.done" ]; then
	progress "unpacking linux-source-6.12 $ver (a minute)"
	rm -rf "$out"
	mkdir -p "$out"
	dpkg -x "$deb" "$out/deb"
	tar -C "$out" -xaf "$out"/deb/usr/src/linux-source-6.12.tar.*
	rm -rf "$out/deb"
	touch "$out/.done"
fi
echo "$out/linux-source-6.12"
