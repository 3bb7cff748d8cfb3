#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the hostile test guest module against Debian's headers (like
# scripts/build-guest.sh builds the real one) and print the path of
# fpb_hostile.ko.  It goes into build/hostile/<release>/, never into the
# guest module or an install.
#
# usage: build.sh [-k 6.12|6.1] [-- MAKE-ARGS...]
set -euo pipefail
. "$(dirname "$0")/../../../scripts/lib.sh"

series=6.12
while getopts "k:" opt; do
	case $opt in
	k) series=$OPTARG ;;
	*) die "bad option" ;;
	esac
done
shift $((OPTIND - 1))
kdir=$("$FPB_TOP/scripts/kheaders.sh" "$series")
out="$FPB_TOP/build/hostile/$(basename "$kdir")"
mkdir -p "$out/include/uapi/linux"
# Copy only what changed, so kbuild's own dependency tracking still works.
cp -u "$FPB_TOP/tools/testing/hostile/Kbuild" \
	"$FPB_TOP/tools/testing/hostile/fpb_hostile.c" "$out/"
cp -u "$FPB_TOP/include/uapi/linux/kvm_fpb.h" "$out/include/uapi/linux/"
make -s -C "$kdir" M="$out" "$@" modules >&2
echo "$out/fpb_hostile.ko"
