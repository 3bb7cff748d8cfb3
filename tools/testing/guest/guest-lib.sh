#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers for suites that boot a guest: build the module and the static
# test programs, make an initramfs, boot it, and turn the guest's result
# lines into TAP.
#
# Inside the guest, /lib/fpb/t.sh gives `t NAME CMD...` (prints
# "ok - NAME" or "not ok - NAME") and the kselftest binaries print TAP;
# fpb_tap renumbers every such line so the suite prints one plan-less TAP
# stream.

. "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/lib.sh"

GUEST_DIR=$FPB_TOP/tools/testing/guest
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

# fpb_tap < console: renumber the guest's result lines, pass comments.
fpb_tap() {
	awk '
	/^(not )?ok / {
		n++
		sub(/^ok [0-9]* ?-? ?/, "ok " n " - ")
		sub(/^not ok [0-9]* ?-? ?/, "not ok " n " - ")
		print; next
	}
	/^# / { print; next }
	/FPB-GUEST-DONE/ { done = 1 }
	END {
		if (!done) { n++; print "not ok " n " - guest ran to the end" }
		else { n++; print "ok " n " - guest ran to the end" }
	}'
}
