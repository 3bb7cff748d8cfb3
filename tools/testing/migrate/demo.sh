#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job: the same 2 GiB guest, after a job that dirtied 75% of its
# memory and exited, migrated plain, with virtio-balloon free page hinting
# and with FPB, and once idle (the floor).  Prints the table and writes
# build/demo.json.
set -euo pipefail
. "$(dirname "$0")/../../../scripts/lib.sh"

progress "building QEMU 10.0 with FPB (cached; about 10 minutes cold)"
qemu=$("$FPB_TOP/scripts/qemu-build.sh" | tail -n1)
progress "unpacking Debian's 6.12 guest kernel (cached)"
kimg=$("$FPB_TOP/scripts/kimage.sh" 6.12)
progress "building the guest image: FPB module, workloads, virtio modules"
img=$("$(dirname "$0")/image.sh" 6.12)
exec python3 "$(dirname "$0")/run.py" demo --qemu "$qemu" --kimg "$kimg" \
	--image "$img" "$@"
