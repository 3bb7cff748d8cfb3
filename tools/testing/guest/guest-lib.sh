#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers for suites that boot a guest: build the module and the static
# test programs, make an initramfs, boot it, and turn the guest's result
# lines into TAP.
#
# Inside the guest, /lib/fpb/tap.sh (tools/testing/lib/tap.sh) gives
# tap_run and the kselftest binaries print TAP; fpb_tap relays every such
# line into the suite's own TAP stream.

. "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/lib.sh"
. "$FPB_TOP/tools/testing/lib/tap.sh"
. "$FPB_TOP/tools/testing/lib/splat.sh"

# shellcheck disable=SC2034 # for the suites that source this file
GUEST_DIR=$FPB_TOP/tools/testing/guest
# shellcheck disable=SC2034 # installed as /lib/fpb/tap.sh in test guests
TAP_SH=$FPB_TOP/tools/testing/lib/tap.sh
SELFTESTS=$FPB_TOP/tools/testing/selftests

# Build the kselftest programs statically against the kernel's kselftest.h.
build_selftests() {
	local src out=$FPB_TOP/build/selftests
	src=$("$FPB_TOP/scripts/linux-src.sh")
	mkdir -p "$out/fpb"
	cp "$src/tools/testing/selftests/kselftest.h" "$out/"
	cp "$SELFTESTS"/fpb/*.c "$out/fpb/"
	gcc -static -O2 -Wall -Wextra -Werror -o "$out/fpb_test" \
		"$out/fpb/fpb_test.c" >&2 || die "fpb_test does not build"
	echo "$out/fpb_test"
}

# fpb_tap CONSOLE: relay the guest's result lines and comments into this
# suite's TAP stream, then check that the guest's script ran to its end.
fpb_tap() {
	tap_relay < <(tr -d '\r' <"$1" | grep -E '^((not )?ok |# )')
	if grep -q FPB-GUEST-DONE "$1"; then
		tap_ok "guest ran to the end"
	else
		tap_fail "guest ran to the end"
		tail -n 30 "$1" | tap_diag
	fi
}
