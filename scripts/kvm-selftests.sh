#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the KVM selftests the kvm-selftest suite runs, statically, from the
# patched tree, and print the directory holding the binaries (last line).
# The uapi headers come from the patched tree (headers_install), so the
# tests see KVM_HC_FPB.  Objects are kept in $FPB_CACHE/kvm/stbuild for
# incremental rebuilds; results in $FPB_CACHE/kvm/selftests/<hash of kvm/>.
#
# usage: kvm-selftests.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# The new test, and stock ones as a regression check on the hypercall and
# PV CPUID paths the series touches.  All run in seconds under nested TCG.
KVM_SELFTESTS="fpb_hypercall_test fix_hypercall_test kvm_pv_test cpuid_test
userspace_io_test"

tree=$("$(dirname "$0")/kvm-tree.sh")
key=$("$(dirname "$0")/kvm-tree.sh" -k)
out="$FPB_CACHE/kvm/selftests/$key"
if [ -e "$out/.done" ]; then
	echo "$out"
	exit 0
fi

bld="$FPB_CACHE/kvm/stbuild"
mkdir -p "$bld"
progress "generating the patched uapi headers (make headers)"
nice make -s -C "$tree" O="$bld/obj" headers >&2 ||
	die "headers_install failed"

targets=()
for t in $KVM_SELFTESTS; do
	targets+=("$bld/kvm/x86_64/$t")
done
progress "building KVM selftests: $KVM_SELFTESTS"
start=$(date +%s)
nice make -s -C "$tree/tools/testing/selftests/kvm" -j"$(nproc)" \
	OUTPUT="$bld/kvm" KHDR_INCLUDES="-isystem $bld/obj/usr/include" \
	EXTRA_CFLAGS=-static "${targets[@]}" >&2 ||
	die "KVM selftests build failed"
progress "KVM selftests built in $(($(date +%s) - start)) s"

rm -rf "$out"
mkdir -p "$out"
cp "${targets[@]}" "$out/"
touch "$out/.done"
ls -dt "$FPB_CACHE"/kvm/selftests/*/ | tail -n +6 | xargs -r rm -rf
echo "$out"
