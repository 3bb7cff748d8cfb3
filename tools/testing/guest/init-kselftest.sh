# SPDX-License-Identifier: GPL-2.0
# Guest side of the guest-kselftest suite (appended to /init).
# shellcheck source=tools/testing/lib/tap.sh
. /lib/fpb/tap.sh
ko=/lib/fpb/fpb.ko

tap_run "poll_ms=0 is refused" sh -c "! insmod $ko test_mode=1 poll_ms=0"
tap_run "poll_ms=0 is refused with a clear message" \
	sh -c 'dmesg | grep -q "poll_ms=0 rejected: want an integer from 1 to 60000"'
tap_run "batch=abc is refused" sh -c "! insmod $ko test_mode=1 batch=abc"
tap_run "batch=0 is refused" sh -c "! insmod $ko test_mode=1 batch=0"
tap_run "enable=1 with test_mode=1 is refused" sh -c "! insmod $ko enable=1 test_mode=1"
tap_run "enable=1 without the CPUID feature is refused" sh -c "! insmod $ko enable=1"
tap_run "enable=1 without the feature says why in one line" \
	sh -c 'dmesg | grep -q "host does not offer KVM_FEATURE_FPB"'
tap_run "without enable the module loads, stays off and unloads" \
	sh -c "insmod $ko && ! test -e /sys/kernel/debug/fpb && rmmod fpb"
tap_run "poll_ms can be changed at run time and refuses bad values" \
	sh -c "insmod $ko test_mode=1 &&
	       echo 50 > /sys/module/fpb/parameters/poll_ms &&
	       ! echo 0 > /sys/module/fpb/parameters/poll_ms 2>/dev/null &&
	       test \$(cat /sys/module/fpb/parameters/poll_ms) = 50 && rmmod fpb"
tap_run "20 load, snapshot, unload cycles" sh -c "
	for i in \$(seq 20); do
		insmod $ko test_mode=1 || exit 1
		echo 1 > /sys/kernel/debug/fpb/snapshot || exit 1
		rmmod fpb || exit 1
	done"

insmod $ko test_mode=1
echo 1 > /sys/kernel/tracing/events/fpb/enable 2>/dev/null
/bin/fpb_test 128
tap_run "tracepoints fire at snapshot start and end" \
	sh -c 'grep -q fpb_snapshot_start /sys/kernel/tracing/trace &&
	       grep -q fpb_snapshot_end /sys/kernel/tracing/trace'
sed 's/^/# /' /sys/kernel/debug/fpb/stats
rmmod fpb
tap_run "kernel log has no oops, BUG, WARNING or corruption" \
	sh -c '! dmesg | grep -E "Oops|BUG|WARNING|corrupted|general protection"'
echo FPB-GUEST-DONE
