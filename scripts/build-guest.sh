#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the guest module out of tree and print the path of fpb.ko.
# Kbuild writes objects next to the sources, so each kernel gets its own
# copy of the tree under build/guest/<release>/.
#
# usage: build-guest.sh [-k 6.12|6.1|DIR | -d KDIR] [-- MAKE-ARGS...]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kdir=
series=6.12
while getopts "k:d:" opt; do
	case $opt in
	k) series=$OPTARG ;;
	d) kdir=$OPTARG ;;
	*) die "bad option" ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$kdir" ] || kdir=$("$(dirname "$0")/kheaders.sh" "$series")
[ -e "$kdir/Makefile" ] || die "no kernel build tree at $kdir"

rel=$(basename "$kdir")
out="$FPB_TOP/build/guest/$rel"
mkdir -p "$out"
# Copy only what changed, so kbuild's own dependency tracking still works.
cp -ru "$FPB_TOP/Kbuild" "$FPB_TOP/guest" "$FPB_TOP/include" "$out/"
make -s -C "$kdir" M="$out" "$@" modules >&2
echo "$out/guest/fpb.ko"
