# SPDX-License-Identifier: GPL-2.0
# Guest side of the guest-refusals suite: booted once per setting that makes
# skipping free pages wrong; the module must refuse with a clear line.
# shellcheck source=tools/testing/lib/tap.sh
. /lib/fpb/tap.sh
ko=/lib/fpb/fpb.ko

case "$(cat /proc/cmdline)" in
*page_poison=1*) what="page poisoning is on" ;;
*init_on_free=1*) what="init_on_free is on" ;;
*) what=unknown ;;
esac
tap_run "enable=1 is refused ($what)" sh -c "! insmod $ko enable=1"
tap_run "the refusal says: $what" sh -c "dmesg | grep -q '$what'"
tap_run "test_mode still loads ($what)" sh -c "insmod $ko test_mode=1 && rmmod fpb"
tap_run "kernel log has no oops, BUG, WARNING or corruption" \
	sh -c '! dmesg | grep -E "Oops|BUG|WARNING|corrupted|general protection"'
echo FPB-GUEST-DONE
