# SPDX-License-Identifier: GPL-2.0
#
#   make soak    SOAK_HOPS (default 100) consecutive migration hops of
#                churning 6.1 and 6.12 guests, 1-4 vCPUs, 1-4 GiB, each
#                verified; build/soak/summary.json.  Not in make check,
#                which runs a 5-hop version (suite soak).

SOAK_HOPS ?= 100

.PHONY: soak
soak: setup
	@tools/testing/migrate/soak.sh $(SOAK_HOPS)
