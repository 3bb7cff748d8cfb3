#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest-only demo: boot a 2 GiB guest under TCG, run a job that dirties 60%
# of its memory and exits, take a local FPB snapshot and show how much of
# the guest a migration would not have to send.
set -euo pipefail
. "$(dirname "$0")/guest/guest-lib.sh"

progress "building the guest module"
ko=$("$FPB_TOP/scripts/build-guest.sh" -k 6.12)
progress "building the workload"
mkdir -p "$FPB_TOP/build/workloads"
gcc -static -O2 -Wall -o "$FPB_TOP/build/workloads/job" \
	"$FPB_TOP/tools/testing/workloads/job.c"
img=$FPB_TOP/build/demo-guest.cpio
"$FPB_TOP/scripts/initramfs.sh" -o "$img" -M "$ko" \
	-i "$GUEST_DIR/init-demo-snapshot.sh" \
	-f "$FPB_TOP/build/workloads/job:/bin/job"
progress "booting a 2 GiB guest under TCG (about 20 s)"
out=$("$FPB_TOP/scripts/run-guest.sh" -r "$img" -m 2G -t 300 -a loglevel=1)
echo "$out" | grep -q FPB-GUEST-DONE || die "guest did not finish: $out"

echo "$out" | awk '
$1 == "DEMO" { v[$2] = $3 }
$1 == "job:" { print "guest: " $0 }
END {
	mib = 1024
	printf "\n%-44s %10s\n", "after the job", "MiB"
	printf "%-44s %10.0f\n", "guest memory", v["total_kb"] / mib
	printf "%-44s %10.0f\n", "free (MemFree)", v["free_after_kb"] / mib
	printf "%-44s %10.0f\n", "reported free by the FPB snapshot",
		v["last_nr_free"] * 4 / mib
	printf "%-44s %9.1f%%\n", "MemFree covered by the snapshot",
		100 * v["last_nr_free"] * 4 / v["free_after_kb"]
	printf "%-44s %10.2f\n", "walk time, ms", v["last_walk_ns"] / 1e6
	printf "%-44s %10.1f\n", "longest zone->lock hold (last walk), us",
		v["last_max_hold_ns"] / 1e3
	printf "%-44s %10.1f\n", "longest per-cpu list lock hold, us",
		v["max_pcp_hold_ns"] / 1e3
	printf "%-44s %10d\n", "blocks found on per-cpu lists",
		v["last_pcp_blocks"]
}'
