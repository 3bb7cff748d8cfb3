# SPDX-License-Identifier: GPL-2.0
#
# FPB: free page bitmap for fast KVM live migration.
#
#   make demo      the main job: migrate a guest plain, with virtio-balloon
#                  hinting and with FPB, side by side
#   make check     every test; `make check-SUITE` runs one suite
#                  (tools/testing/suites/SUITE), `make list-checks` lists them
#   make guest     build the guest module (KDIR=... picks the headers,
#                  default: Debian's 6.12)
#
# Heavy artefacts live in $(FPB_CACHE), outside the clone.

FPB_CACHE ?= /var/cache/fpb
export FPB_CACHE

SUITES := $(notdir $(wildcard tools/testing/suites/*))

.PHONY: all setup guest check demo list-checks clean
all: guest

setup:
	@scripts/setup.sh

# Out-of-tree kbuild writes objects next to the sources, so each kernel gets
# its own copy of the tree under build/ (6.1 and 6.12 can then coexist).
# Building the module needs only kbuild and the headers: with KDIR it
# installs nothing and needs no root; without, Debian's 6.12 headers are
# downloaded into the cache, which needs setup's apt sources.
guest: $(if $(KDIR),,setup)
	@scripts/build-guest.sh $(if $(KDIR),-d $(KDIR))

check: setup
	@tools/testing/run-tests.pl

$(addprefix check-,$(SUITES)): check-%: setup
	@tools/testing/run-tests.pl $*

list-checks:
	@printf '%s\n' $(SUITES)

demo: setup
	@tools/testing/demo.sh

clean:
	rm -rf build

# Each part of the project (qemu, kvm, bench, ...) adds its targets here.
include $(wildcard mk/*.mk)
