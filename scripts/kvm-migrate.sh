#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Migrate FPB guests under real KVM: boot Debian's 6.12 kernel under TCG as
# a nested KVM host (L1: -cpu EPYC, the KVM modules built from kvm/), share
# this machine's root with it read-only over 9p, and run
# tools/testing/migrate/nested.py there, chrooted into that root (see
# tools/testing/guest/init-kvm-host.sh).  Sharing the root, rather than
# building QEMU statically or copying it with its libraries into an image,
# lets the very binary the other suites test run in L1, with the host's
# Python for the harness.  L2 guests run Debian's SERIES kernel with the
# FPB module.  The L1 console goes to stdout; nested.py's records and the
# logs of failed cases land in OUT.
#
# usage: kvm-migrate.sh -o OUT [-u] [-m L1MEM] [-t SECS] [-- NESTED-ARGS...]
#   -u   load Debian's own (unpatched) KVM modules in L1 instead
#
# L2 guests run Debian's 6.1 kernel; nested.py gets 6.12 as its second.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out='' unpatched='' mem=3G secs=2400
while getopts "o:um:t:" opt; do
	case $opt in
	o) out=$OPTARG ;;
	u) unpatched=1 ;;
	m) mem=$OPTARG ;;
	t) secs=$OPTARG ;;
	*) die "usage: kvm-migrate.sh -o OUT [-u] [-m MEM] [-t SECS] [-- ARGS]" ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$out" ] || die "-o OUT required"
mkdir -p "$out"
out=$(cd "$out" && pwd)

qemu=$("$FPB_TOP/scripts/qemu-build.sh" | tail -n1)
if [ -n "$unpatched" ]; then
	mods=$(dirname "$(find "$("$FPB_TOP/scripts/kimage.sh" 6.12)/lib/modules" \
		-name kvm.ko -print -quit)")
else
	mods=$("$FPB_TOP/scripts/kvm-build.sh" | tail -n1)
fi
[[ -e $mods/kvm.ko && -e $mods/kvm-amd.ko ]] || die "no KVM modules in $mods"
kimg=$("$FPB_TOP/scripts/kimage.sh" 6.1)
img=$("$FPB_TOP/tools/testing/migrate/image.sh" 6.1)
kimg2=$("$FPB_TOP/scripts/kimage.sh" 6.12)
img2=$("$FPB_TOP/tools/testing/migrate/image.sh" 6.12)

# What L1 runs, chrooted into this machine's root: the same paths work.
{
	printf 'exec /usr/bin/python3 %q' "$FPB_TOP/tools/testing/migrate/nested.py"
	printf ' %q' --qemu "$qemu" --kimg "$kimg" --image "$img" \
		--kimg2 "$kimg2" --image2 "$img2" --out /tmp/out "$@"
	echo
} >"$out/l1-run.sh"
# L1 lays a tmpfs over /tmp: a tree under /tmp comes in a share of its own.
echo "$FPB_TOP" >"$out/l1-top"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$FPB_TOP/scripts/initramfs.sh" -o "$work/l1.cpio" -k 6.12 \
	-i "$FPB_TOP/tools/testing/guest/init-kvm-host.sh" \
	-m irqbypass -m ccp -m netfs -m 9pnet -m 9pnet_virtio -m 9p \
	-M "$mods/kvm.ko" -M "$mods/kvm-amd.ko"

progress "booting the nested KVM host (L1, $mem) with the KVM modules in $mods"
"$FPB_TOP/scripts/run-guest.sh" -k 6.12 -m "$mem" -c 1 -t "$secs" \
	-r "$work/l1.cpio" -- -cpu EPYC \
	-virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$out,mount_tag=out,security_model=none" \
	-virtfs "local,path=$FPB_TOP,mount_tag=top,security_model=none,readonly=on,multidevs=remap"
