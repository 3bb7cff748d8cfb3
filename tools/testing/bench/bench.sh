#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: the migration matrix, the fleet cells (large sparse guests,
# limited bandwidth, vCPUs, downtime limits), the guest-side overhead, the
# report.
#
# usage: bench.sh [all|migrate|fleet|overhead|report] [bench.py options...]
#
# Results go to build/bench (BENCH_OUT overrides): runs/*.json,
# overhead.json, then summary.json, summary.md and *.png from report.py.
set -euo pipefail
. "$(dirname "$0")/../../../scripts/lib.sh"

what=${1:-all}
[ $# -gt 0 ] && shift
out=${BENCH_OUT:-$FPB_TOP/build/bench}
here=$(dirname "$0")

case $what in
all|migrate|fleet|overhead|report) ;;
*) echo "bench.sh: unknown part '$what' (all, migrate, fleet, overhead, report)" >&2
   exit 2 ;;
esac

if [ "$what" != report ]; then
	progress "building QEMU 10.0 with FPB (cached)"
	qemu=$("$FPB_TOP/scripts/qemu-build.sh" | tail -n1)
	kimg=$("$FPB_TOP/scripts/kimage.sh" 6.12)
	progress "building the guest image"
	img=$("$FPB_TOP/tools/testing/migrate/image.sh" 6.12)
	common=(--qemu "$qemu" --kimg "$kimg" --image "$img" --out "$out")
fi
rc=0
if [ "$what" = all ] || [ "$what" = migrate ]; then
	python3 "$here/bench.py" migrate "${common[@]}" "$@" || rc=1
fi
if [ "$what" = all ] || [ "$what" = fleet ]; then
	python3 "$here/bench.py" fleet "${common[@]}" "$@" || rc=1
fi
if [ "$what" = all ] || [ "$what" = overhead ]; then
	python3 "$here/bench.py" overhead "${common[@]}" "$@" || rc=1
fi
python3 "$here/report.py" "$out" || rc=1
exit $rc
