#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the KVM selftests the kvm-selftest suite runs, statically, from the
# patched tree, and print the directory holding the binaries (last line).
# The uapi headers include the series' changes, so the tests see
# KVM_HC_FPB.  Objects are kept in $FPB_CACHE/kvm/stbuild for
# incremental rebuilds; results in $FPB_CACHE/kvm/selftests/<hash of kvm/>.
#
# usage: kvm-selftests.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# The new test, and stock ones as a regression check on what the series
# touches: hypercalls (fix_hypercall_test, kvm_pv_test, and svm_vmcall_test
# from a nested guest), PV CPUID (kvm_pv_test, cpuid_test) and other exits
# completed through complete_userspace_io (userspace_io_test,
# userspace_msr_exit_test).  All run in seconds under nested TCG.
KVM_SELFTESTS="fpb_hypercall_test fix_hypercall_test kvm_pv_test cpuid_test
userspace_io_test userspace_msr_exit_test svm_vmcall_test"

tree=$("$(dirname "$0")/kvm-tree.sh")
key=$("$(dirname "$0")/kvm-tree.sh" -k)
out="$FPB_CACHE/kvm/selftests/$key"
if [ -e "$out/.done" ]; then
	echo "$out"
	exit 0
fi

mkdir -p "$FPB_CACHE/kvm"
exec 8>"$FPB_CACHE/kvm/stbuild.lock"
flock 8
bld="$FPB_CACHE/kvm/stbuild"
mkdir -p "$bld"
# The pristine tree's uapi headers are generated once; the headers the
# series changes are processed on top, as kbuild would, and only replaced
# when they differ, so an edit in kvm/ does not rebuild every test.
src=$("$(dirname "$0")/linux-src.sh")
hdrs="$FPB_CACHE/kvm/headers/$(basename "$(dirname "$src")")"
if [ ! -e "$hdrs/.done" ]; then
	progress "generating the uapi headers of linux-source-6.12 (once)"
	rm -rf "$hdrs"
	nice make -s -C "$src" O="$hdrs/obj" headers >&2 || die "make headers failed"
	touch "$hdrs/.done"
fi
inc="$bld/usr/include"
[ -d "$inc" ] || { mkdir -p "$bld/usr" && cp -a "$hdrs/obj/usr/include" "$bld/usr/"; }
want=$(sed -n 's|^+++ b/\(\(arch/x86/\)\?include/uapi/.*\.h\)$|\1|p' \
	"$FPB_TOP"/kvm/patches/*.patch | sort -u)
for f in $want; do
	rel=${f#arch/x86/}
	rel=${rel#include/uapi/}
	# It runs scripts/unifdef, which the pristine headers build made.
	(cd "$hdrs/obj" && sh "$tree/scripts/headers_install.sh" "$tree/$f" \
		"$bld/hdr.tmp") ||
		die "headers_install.sh $f failed"
	cmp -s "$bld/hdr.tmp" "$inc/$rel" || cp "$bld/hdr.tmp" "$inc/$rel"
done
rm -f "$bld/hdr.tmp"
# A header the series no longer touches goes back to the pristine one.
{ diff -rq "$hdrs/obj/usr/include" "$inc" 2>/dev/null || true; } |
	sed -n "s|^Files $hdrs/obj/usr/include/\(.*\) and .* differ\$|\1|p" |
	while read -r rel; do
		echo "$want" | grep -qE "(^|/)include/uapi/$rel\$" ||
			cp "$hdrs/obj/usr/include/$rel" "$inc/$rel"
	done

targets=()
for t in $KVM_SELFTESTS; do
	targets+=("$bld/kvm/x86_64/$t")
done
progress "building KVM selftests: $KVM_SELFTESTS"
start=$(date +%s)
nice make -s -C "$tree/tools/testing/selftests/kvm" -j"$(nproc)" \
	OUTPUT="$bld/kvm" KHDR_INCLUDES="-isystem $inc" \
	EXTRA_CFLAGS=-static "${targets[@]}" >&2 ||
	die "KVM selftests build failed"
progress "KVM selftests built in $(($(date +%s) - start)) s"

rm -rf "$out"
mkdir -p "$out"
cp "${targets[@]}" "$out/"
touch "$out/.done"
prune_old_keys "$FPB_CACHE/kvm/selftests" 5
echo "$out"
