#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Idle cost of polling for snapshot requests: QEMU's CPU time (user + sys,
# from /proc) while an idle 1-vCPU TCG guest sleeps 20 s without the
# module, then with poll_ms 20, 5 and 1.  A benchmark: prints figures.
set -euo pipefail
. "$(dirname "$0")/../guest/guest-lib.sh"

ko=$("$FPB_TOP/scripts/build-guest.sh" -k 6.12)
img=$FPB_TOP/build/poll-cost.cpio
"$FPB_TOP/scripts/initramfs.sh" -o "$img" -M "$ko" \
	-i "$GUEST_DIR/init-poll-cost.sh"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
coproc GUEST { "$FPB_TOP/scripts/run-guest.sh" -r "$img" -m 1G -t 300 -a loglevel=1; }
pid=
printf '%-12s %14s %10s\n' config "QEMU CPU ms/s" "% of a CPU"
while IFS= read -r line <&"${GUEST[0]}"; do
	[ -n "$pid" ] || pid=$(pgrep -n -f "qemu-system-x86_64.*$img" || true)
	case $line in
	"POLL begin "*) t0=$(cpu_ticks "$pid"); s0=$(date +%s.%N) ;;
	"POLL end "*)
		t1=$(cpu_ticks "$pid"); s1=$(date +%s.%N)
		awk -v c="${line#POLL end }" -v t=$((t1 - t0)) -v hz="$hz" \
		    -v s="$(echo "$s1 - $s0" | bc)" \
		    'BEGIN { printf "%-12s %14.1f %9.2f%%\n", c, 1000 * t / hz / s, 100 * t / hz / s }'
		;;
	"# polls"*) echo "$line" ;;
	*FPB-GUEST-DONE*) break ;;
	esac
done
wait
