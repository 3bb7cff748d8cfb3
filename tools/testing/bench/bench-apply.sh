#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench-apply: the host side of FPB alone (no guest), copying and
# applying worst-case and best-case snapshots of 8 GiB to 16 TiB guests
# (qemu/tests/bench/fpb-apply-bench.c).  Prints the table and writes
# build/bench/apply.json.
set -euo pipefail
. "$(dirname "$0")/../../../scripts/lib.sh"

out="$FPB_TOP/build/bench"
mkdir -p "$out"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! exe=$("$FPB_TOP/scripts/qemu-build.sh" -t tests/bench/fpb-apply-bench \
	2>"$log" | tail -n1) || [ ! -x "$exe" ]; then
	cat "$log" >&2
	die "building tests/bench/fpb-apply-bench failed"
fi
# The 16 TiB guest needs 1 GiB: 512 MiB of guest bitmap, 512 MiB of
# migration bitmap.
"$exe" "$out/apply.json"
echo "$out/apply.json"
