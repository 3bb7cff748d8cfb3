# SPDX-License-Identifier: GPL-2.0
#
# KVM: the host kernel side of FPB (kvm/), see kvm/README.
#
#   make kvm                   build the patched kvm.ko, kvm-amd.ko and
#                              kvm-intel.ko for Debian's 6.12 kernel; the
#                              last line printed is their directory
#   make kvm-selftests         build the KVM selftests the suite runs
#   make kvm-patches           export the series with git format-patch into
#                              build/kvm-patches/
#   make kvm-nested            boot the nested KVM host and run the selftests
#                              (console output only; check-kvm-selftest
#                              turns it into TAP)
#   make kvm-check-unpatched   the kvm-selftest suite against Debian's own
#                              KVM modules: fpb_hypercall_test must fail
#   make kvm-sparse            sparse warnings of the files the series
#                              touches, before and after (must not grow)
#   make kvm-migrate           FPB migrations under real (nested) KVM, the
#                              kvm-migrate suite; FPB_KVM_MIGRATE_CASES="a b"
#                              picks cases (tools/testing/migrate/nested.py)

.PHONY: kvm kvm-selftests kvm-patches kvm-nested kvm-check-unpatched kvm-sparse \
	kvm-migrate

kvm: setup
	@scripts/kvm-build.sh

kvm-selftests: setup
	@scripts/kvm-selftests.sh

kvm-patches: setup
	@scripts/kvm-patches.sh build/kvm-patches

kvm-nested: setup
	@scripts/kvm-nested.sh

kvm-check-unpatched: setup
	@tools/testing/suites/kvm-selftest -u

kvm-sparse: setup
	@scripts/kvm-sparse.sh

kvm-migrate: setup
	@tools/testing/run-tests.pl kvm-migrate
