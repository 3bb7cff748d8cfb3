#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Regenerate qemu/patches/*.patch from an edited QEMU tree that is a git
# repository whose HEAD is the pristine source (a developer tool: edit QEMU's
# own files there, then run this).  New files belong in qemu/ instead.
#
# usage: qemu-refresh-patches.sh TREE
set -euo pipefail
. "$(dirname "$0")/lib.sh"

tree=${1:?usage: qemu-refresh-patches.sh TREE}
out="$FPB_TOP/qemu/patches"
mkdir -p "$out"

# One patch per concern, in the order they apply.
emit() {
	local name=$1
	shift
	git -C "$tree" diff --no-prefix --src-prefix=a/ --dst-prefix=b/ \
		HEAD -- "$@" >"$out/$name.patch"
	[ -s "$out/$name.patch" ] || die "$name.patch: no changes in $*"
}
# ram.c's calls into FPB belong to the commit that adds FPB (0002), the
# rest of ram.c to 0001, so that every commit of the series builds.  Each
# call is three lines: a comment, the call, a blank line.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk '/^#include "migration\/fpb.h"$/ { next }
     /Let the guest.s first free page bitmap arrive/ { skip = 3 }
     /FPB snapshots requested before this sync/ { skip = 3 }
     skip { skip--; next }
     { print }' "$tree/migration/ram.c" >"$tmp/ram.c"
ram_diff() { # FROM TO
	diff -u -p --label a/migration/ram.c --label b/migration/ram.c "$1" "$2" || true
}

rm -f "$out"/*.patch
emit 0001-migration-ram-hint-count-and-arm \
	include/migration/misc.h migration/ram.h
(cd "$tree" && git show HEAD:migration/ram.c) >"$tmp/ram.orig.c"
ram_diff "$tmp/ram.orig.c" "$tmp/ram.c" >>"$out/0001-migration-ram-hint-count-and-arm.patch"
emit 0002-migration-fpb-build \
	migration/meson.build migration/trace-events tests/unit/meson.build
ram_diff "$tmp/ram.c" "$tree/migration/ram.c" >>"$out/0002-migration-fpb-build.patch"
for hook in fpb_wait_first_snapshot fpb_before_bitmap_sync; do
	grep -q "$hook" "$out/0002-migration-fpb-build.patch" ||
		die "ram.c's FPB hook $hook not found: update the split above"
done
emit 0003-migration-fpb-stats \
	qapi/migration.json migration/migration.c migration/migration-hmp-cmds.c
emit 0004-target-i386-kvm-pv-fpb \
	target/i386/cpu.h target/i386/cpu.c target/i386/kvm/kvm.c
emit 0005-target-i386-tcg-kvm-hypercall \
	target/i386/helper.h target/i386/tcg/translate.c \
	target/i386/tcg/system/meson.build
# Every file the patches touch, as an exclusion pathspec.
mapfile -t covered < <(
	cd "$out" && cat ./*.patch | sed -n 's@^+++ b/@@p' | sed 's/^/:!/')
left=$(git -C "$tree" diff --name-only HEAD -- "${covered[@]}")
[ -z "$left" ] || die "edits not in any patch: $left"
ls "$out"
