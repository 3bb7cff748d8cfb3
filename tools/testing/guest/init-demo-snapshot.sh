# SPDX-License-Identifier: GPL-2.0
# Guest side of the guest-only demo: a job dirties memory and exits, then a
# local snapshot shows what a migration could skip.
kb() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
insmod /lib/fpb/fpb.ko test_mode=1
echo "DEMO total_kb $(kb MemTotal)"
echo "DEMO free_before_kb $(kb MemFree)"
/bin/job 60
echo "DEMO free_after_kb $(kb MemFree)"
echo 1 > /sys/kernel/debug/fpb/snapshot
# The first walk also pays for translating its code under TCG.
echo 1 > /sys/kernel/debug/fpb/snapshot
sed 's/^/DEMO /' /sys/kernel/debug/fpb/stats
echo FPB-GUEST-DONE
