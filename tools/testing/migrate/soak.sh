#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make soak (HOPS=100) and the soak suite (5 hops): consecutive migration
# hops of churning 6.1 and 6.12 guests, 1-4 vCPUs, 1-4 GiB, verified after
# every hop (tools/testing/migrate/soak.py).  build/soak/summary.json.
#
# usage: soak.sh HOPS [--tap]
set -euo pipefail
. "$(dirname "$0")/../../../scripts/lib.sh"

hops=${1:?usage: soak.sh HOPS [--tap]}
shift
qemu=$("$FPB_TOP/scripts/qemu-build.sh" | tail -n1)
args=(--qemu "$qemu" --hops "$hops")
for k in 6.1 6.12; do
	args+=(--kimg-"$k" "$("$FPB_TOP/scripts/kimage.sh" "$k")"
		--image-"$k" "$("$FPB_TOP/tools/testing/migrate/image.sh" "$k")")
done
exec python3 "$FPB_TOP/tools/testing/migrate/soak.py" "${args[@]}" "$@"
