#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot Debian's 6.12 kernel under TCG on an AMD CPU model (-cpu EPYC, so the
# guest has SVM and becomes a nested KVM host), load KVM there and run the
# KVM selftests built by kvm-selftests.sh.  The console goes to stdout; each
# test's output sits between "FPB-KVM-BEGIN name" and "FPB-KVM-END name rc=N".
#
# usage: kvm-nested.sh [-u] [-t SECS]
#   -u   load Debian's own (unpatched) kvm.ko and kvm-amd.ko instead of the
#        ones built from kvm/, to show what the new test catches
set -euo pipefail
. "$(dirname "$0")/lib.sh"

unpatched='' secs=900
while getopts "ut:" opt; do
	case $opt in
	u) unpatched=1 ;;
	t) secs=$OPTARG ;;
	*) die "bad option" ;;
	esac
done

tests=$("$(dirname "$0")/kvm-selftests.sh" | tail -n1)
if [ -n "$unpatched" ]; then
	kimg=$("$(dirname "$0")/kimage.sh" 6.12)
	mods=$(dirname "$(find "$kimg/lib/modules" -name kvm.ko -print -quit)")
else
	mods=$("$(dirname "$0")/kvm-build.sh" | tail -n1)
fi
[[ -e $mods/kvm.ko && -e $mods/kvm-amd.ko ]] || die "no KVM modules in $mods"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/init" <<'INIT'
echo "FPB-KVM: kernel $(uname -r), cpu $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
for m in kvm kvm-amd; do
	insmod "/lib/fpb/$m.ko" || echo "FPB-KVM: insmod $m failed"
done
echo "FPB-KVM: kvm taint '$(cat /sys/module/kvm/taint 2>/dev/null)'," \
	"npt $(cat /sys/module/kvm_amd/parameters/npt 2>/dev/null)"
if [ -c /dev/kvm ]; then
	for t in /tests/*; do
		n=${t##*/}
		echo "FPB-KVM-BEGIN $n"
		"$t" 2>&1
		echo "FPB-KVM-END $n rc=$?"
	done
else
	echo "FPB-KVM: no /dev/kvm"
fi
INIT

args=(-o "$work/initrd.cpio" -k 6.12 -i "$work/init" -m irqbypass -m ccp
	-M "$mods/kvm.ko" -M "$mods/kvm-amd.ko")
for t in "$tests"/*; do
	args+=(-f "$t:/tests/${t##*/}")
done
"$(dirname "$0")/initramfs.sh" "${args[@]}"

progress "booting the nested KVM host ($([ -n "$unpatched" ] && echo Debian\'s || echo patched) modules from $mods)"
"$(dirname "$0")/run-guest.sh" -k 6.12 -m 2G -c 1 -t "$secs" -r "$work/initrd.cpio" \
	-- -cpu EPYC
