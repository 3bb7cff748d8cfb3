# SPDX-License-Identifier: GPL-2.0
#
# QEMU 10.0 with FPB's host side (qemu/, scripts/qemu-*.sh):
#
#   make qemu            build qemu-system-x86_64; the last line is its path
#   make qemu-patches    export the change as a format-patch series into
#                        build/qemu-patches/
#   make qemu-fuzz-long  fuzz the validator for FPB_FUZZ_SECS (default 3600)

.PHONY: qemu qemu-patches qemu-fuzz-long

qemu: setup
	@scripts/qemu-build.sh

qemu-patches: setup
	@scripts/qemu-patches.sh build/qemu-patches

qemu-fuzz-long: setup
	@FPB_FUZZ_SECS=$${FPB_FUZZ_SECS:-3600} tools/testing/suites/qemu-fuzz
