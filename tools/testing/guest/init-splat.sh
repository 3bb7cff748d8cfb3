# SPDX-License-Identifier: GPL-2.0
# Guest side of guest-debug's scanner check: load the module that reads
# freed memory and warns; the suite expects the console to show both.
insmod /lib/fpb/fpb_splat.ko
echo FPB-GUEST-DONE
