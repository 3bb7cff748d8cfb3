# SPDX-License-Identifier: GPL-2.0
# Guest side of bench/poll-cost.sh: idle for a while in each configuration;
# the host measures QEMU's CPU time over each window between the markers.
idle() {
	echo "POLL begin $1"
	sleep 20
	echo "POLL end $1"
}
idle none
insmod /lib/fpb/fpb.ko test_mode=1 poll_ms=1000
for ms in 1000 200 100 50 20 5; do
	echo $ms > /sys/module/fpb/parameters/poll_ms
	idle poll_ms=$ms
done
echo "# polls $(awk '$1 == "polls" { print $2 }' /sys/kernel/debug/fpb/stats)"
rmmod fpb
idle none
echo FPB-GUEST-DONE
