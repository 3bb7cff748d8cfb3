# SPDX-License-Identifier: GPL-2.0
#
# libvirt: Documentation/admin-guide/fpb-libvirt.xml, tested by the libvirt
# suite (make check-libvirt) with Debian's libvirt 9.0.
#
#   make libvirt   the libvirt suite, keeping its run directory (both
#                  libvirtd's configuration and logs, the domain XML as
#                  filled in, QEMU's logs, the guest consoles); the suite
#                  prints where

.PHONY: libvirt

libvirt: setup
	@FPB_LIBVIRT_KEEP=1 tools/testing/run-tests.pl libvirt
