#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run sparse over arch/x86/kvm and virt/kvm, unpatched and patched, and
# fail if the series adds a warning.  Line numbers are dropped before the
# comparison, since the patches move code.  The unpatched run builds its
# own copy of KVM once (about 3 minutes of CPU), later runs are quick.
#
# usage: kvm-sparse.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out="$FPB_TOP/build/kvm-sparse"
mkdir -p "$out"
for v in unpatched patched; do
	flag=
	[ "$v" = unpatched ] && flag=-u
	"$(dirname "$0")/kvm-build.sh" -s $flag 2>/dev/null |
		grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' >"$out/$v.txt" || true
	sed -E 's/:[0-9]+:[0-9]+:/:/' "$out/$v.txt" | sort >"$out/$v.norm"
done
new=$(comm -13 "$out/unpatched.norm" "$out/patched.norm")
echo "sparse: $(wc -l <"$out/unpatched.txt") lines unpatched," \
	"$(wc -l <"$out/patched.txt") patched (in $out)"
if [ -n "$new" ]; then
	echo "sparse: the series adds:"
	echo "$new"
	exit 1
fi
echo "sparse: nothing new"
