#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the migration guest's initramfs (Debian 6.12 by default): the FPB
# module, the virtio modules virtio-balloon needs, the static workloads
# (tools/testing/workloads), cpuid-probe, and the command loop.  Prints its path.
#
# usage: image.sh [6.12|6.1]
set -euo pipefail
. "$(dirname "$0")/../guest/guest-lib.sh"

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
img=$FPB_TOP/build/migrate-$series.cpio
mods=()
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev \
	 virtio_pci virtio_balloon virtio_console; do
	mods+=(-m "$m")
done
"$FPB_TOP/scripts/initramfs.sh" -o "$img" -k "$series" "${mods[@]}" -M "$ko" \
	-i "$GUEST_DIR/init-migrate.sh" \
	-f "$wl/job:/bin/job" -f "$wl/churn:/bin/churn" -f "$wl/hold:/bin/hold" \
	-f "$wl/frag:/bin/frag" -f "$wl/alloclat:/bin/alloclat" \
	-f "$wl/cpuid-probe:/bin/cpuid-probe"
echo "$img"
