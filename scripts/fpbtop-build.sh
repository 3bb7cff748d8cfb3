#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build tools/fpbtop (static) and print the binary's path.  Its vmlinux.h
# is dumped by Debian's bpftool from the BTF of Debian's 6.12 guest kernel
# (the cached vmlinux, scripts/kimage.sh) into the cache, keyed by the
# kernel and bpftool versions: 2.6 MB of generated header, not committed.
# CO-RE relocates the BPF object to whichever kernel it runs on.
#
# usage: fpbtop-build.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v bpftool >/dev/null || die "bpftool missing (run scripts/setup.sh)"
[ -e /usr/include/bpf/libbpf.h ] || die "libbpf-dev missing (run scripts/setup.sh)"

kv=$(kver_612)
bv=$(bpftool version | awk 'NR == 1 { print $2 }')
vh=$FPB_CACHE/bpf/$kv-bpftool-$bv/vmlinux.h
if [ ! -e "$vh" ]; then
	kimg=$("$(dirname "$0")/kimage.sh" 6.12)
	progress "fpbtop: dumping vmlinux.h from the BTF of $kv"
	mkdir -p "$(dirname "$vh")"
	bpftool btf dump file "$kimg/vmlinux" format c >"$vh.tmp" ||
		die "bpftool could not dump the BTF of $kimg/vmlinux"
	mv "$vh.tmp" "$vh"
fi

out=$FPB_TOP/build/fpbtop/
mkdir -p "$out"
make -s -C "$FPB_TOP/tools/fpbtop" VMLINUX_H="$vh" OUTPUT="$out" >&2 ||
	die "fpbtop does not build"
echo "${out}fpbtop"
