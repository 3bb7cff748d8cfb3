#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the migration guest's initramfs (Debian 6.12 by default): the FPB
# module, the virtio modules virtio-balloon needs, the static workloads
# (tools/testing/workloads), cpuid-probe, and the command loop.  Prints its path.
#
# usage: image.sh [-v VARIANT -f SRC:DST...] [6.12|6.1]
#   -v VARIANT  a variant of the image, migrate-SERIES-VARIANT.cpio, with
#               the -f files added (e.g. bpf-tool's, with fpbtop)
#   -f S:D      copy file S to D inside the image
set -euo pipefail
. "$(dirname "$0")/../guest/guest-lib.sh"

variant='' extra=()
while getopts "v:f:" opt; do
	case $opt in
	v) variant=-$OPTARG ;;
	f) extra+=(-f "$OPTARG") ;;
	*) die "bad option" ;;
	esac
done
shift $((OPTIND - 1))
[[ -n $variant || ${#extra[@]} -eq 0 ]] || die "-f needs -v VARIANT"
series=${1:-6.12}
ko=$("$FPB_TOP/scripts/build-guest.sh" -k "$series")
wl=$FPB_TOP/build/workloads
mkdir -p "$wl"
for w in job churn hold frag alloclat; do
	gcc -static -O2 -Wall -Wextra -Werror -pthread -o "$wl/$w" \
		"$FPB_TOP/tools/testing/workloads/$w.c" >&2
done
gcc -static -O2 -Wall -Werror -o "$wl/cpuid-probe" \
	"$FPB_TOP/tools/testing/qemu/cpuid-probe.c" >&2
img=$FPB_TOP/build/migrate-$series$variant.cpio
mods=()
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev \
	 virtio_pci virtio_balloon virtio_console; do
	mods+=(-m "$m")
done
"$FPB_TOP/scripts/initramfs.sh" -o "$img" -k "$series" "${mods[@]}" -M "$ko" \
	-i "$GUEST_DIR/init-migrate.sh" \
	-f "$wl/job:/bin/job" -f "$wl/churn:/bin/churn" -f "$wl/hold:/bin/hold" \
	-f "$wl/frag:/bin/frag" -f "$wl/alloclat:/bin/alloclat" \
	-f "$wl/cpuid-probe:/bin/cpuid-probe" "${extra[@]}"
echo "$img"
