#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# With kvm-pv-fpb off, QEMU with FPB must migrate exactly like QEMU 10.0
# without it.  Migrates the same after-a-job guest with both binaries,
# alternating, N times (default 3), and prints transferred bytes and pages.
# A benchmark: prints figures.
set -euo pipefail
. "$(dirname "$0")/../../../scripts/lib.sh"

n=${1:-3}
patched=$("$FPB_TOP/scripts/qemu-build.sh" | tail -n1)
# The unpatched build: the same tree with no qemu/ laid over it.
pristine=$("$FPB_TOP/scripts/qemu-build.sh" -u | tail -n1)
kimg=$("$FPB_TOP/scripts/kimage.sh" 6.12)
img=$("$FPB_TOP/tools/testing/migrate/image.sh" 6.12)
out=$FPB_TOP/build/bench/feature-off
mkdir -p "$out"
for i in $(seq "$n"); do
	for which in unpatched patched; do
		q=$pristine
		[ "$which" = patched ] && q=$patched
		python3 "$FPB_TOP/tools/testing/migrate/run.py" demo --qemu "$q" \
			--kimg "$kimg" --image "$img" --variants plain \
			--out "$out/$which-$i.json" >/dev/null
	done
done
python3 - "$out" "$n" <<'PY'
import json, sys
out, n = sys.argv[1], int(sys.argv[2])
print("%-10s %4s %14s %12s %12s %9s" % ("qemu", "run", "transferred", "data pages", "zero pages", "total ms"))
for i in range(1, n + 1):
    for which in ("unpatched", "patched"):
        r = json.load(open("%s/%s-%d.json" % (out, which, i)))[0]
        print("%-10s %4d %14d %12d %12d %9d" % (which, i, r["transferred_bytes"],
              r["normal_pages"], r["zero_pages"], r["total_time_ms"]))
PY
