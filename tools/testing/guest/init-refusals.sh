# SPDX-License-Identifier: GPL-2.0
# Guest side of the guest-refusals suite: booted once per setting that makes
# skipping free pages wrong; the module must refuse with a clear line.
. /lib/fpb/t.sh
ko=/lib/fpb/fpb.ko

case "$(cat /proc/cmdline)" in
*page_poison=1*) what="page poisoning is on" ;;
*init_on_free=1*) what="init_on_free is on" ;;
*) what=unknown ;;
esac
t "enable=1 is refused ($what)" sh -c "! insmod $ko enable=1"
t "the refusal says: $what" sh -c "dmesg | grep -q '$what'"
t "test_mode still loads ($what)" sh -c "insmod $ko test_mode=1 && rmmod fpb"
t_clean_dmesg
echo FPB-GUEST-DONE
