#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the migration guest's initramfs (Debian 6.12 by default): the FPB
# module, the virtio modules virtio-balloon needs, the static workloads
# (tools/testing/workloads), cpuid-probe, and the command loop.  Prints its path.
#
# usage: image.sh [-v VARIANT -f SRC:DST... -m MOD...] [6.12|6.1|DIR]
#   DIR         a kernel directory from scripts/kdebug.sh instead of a
#               Debian series (the image is named after its basename; the
#               virtio modules are built into that kernel)
#   -v VARIANT  a variant of the image, migrate-SERIES-VARIANT.cpio, with
#               the -f files and -m modules added (e.g. bpf-tool's, with
#               fpbtop; guest-lifecycle's, with virtio_blk)
#   -f S:D      copy file S to D inside the image
#   -m MOD      also load this module of the Debian kernel at boot
set -euo pipefail
. "$(dirname "$0")/../guest/guest-lib.sh"

variant='' extra=() extra_mods=()
while getopts "v:f:m:" opt; do
	case $opt in
	v) variant=-$OPTARG ;;
	f) extra+=(-f "$OPTARG") ;;
	m) extra_mods+=(-m "$OPTARG") ;;
	*) die "bad option" ;;
	esac
done
shift $((OPTIND - 1))
[[ -n $variant || ${#extra[@]}${#extra_mods[@]} == 00 ]] ||
	die "-f and -m need -v VARIANT"
series=${1:-6.12}
ko=$("$FPB_TOP/scripts/build-guest.sh" -k "$series")
wl=$FPB_TOP/build/workloads
mkdir -p "$wl"
for w in job churn hold frag alloclat canary; do
	gcc -static -O2 -Wall -Wextra -Werror -pthread -o "$wl/$w" \
		"$FPB_TOP/tools/testing/workloads/$w.c" >&2
done
gcc -static -O2 -Wall -Werror -I"$FPB_TOP/include/uapi" -o "$wl/cpuid-probe" \
	"$FPB_TOP/tools/testing/qemu/cpuid-probe.c" >&2
img=$FPB_TOP/build/migrate-${series##*/}$variant.cpio
mods=()
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev \
	 virtio_pci virtio_balloon virtio_console; do
	mods+=(-m "$m")
done
mods+=("${extra_mods[@]}")
"$FPB_TOP/scripts/initramfs.sh" -o "$img" -k "$series" "${mods[@]}" -M "$ko" \
	-i "$GUEST_DIR/init-migrate.sh" \
	-f "$wl/job:/bin/job" -f "$wl/churn:/bin/churn" -f "$wl/hold:/bin/hold" \
	-f "$wl/frag:/bin/frag" -f "$wl/alloclat:/bin/alloclat" \
	-f "$wl/canary:/bin/canary" -f "$wl/cpuid-probe:/bin/cpuid-probe" \
	"${extra[@]}"
echo "$img"
