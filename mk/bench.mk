# SPDX-License-Identifier: GPL-2.0
#
# Benchmarks (tools/testing/bench/), not part of make check:
#
#   make bench           the migration matrix (plain, virtio-balloon hinting
#                        with and without init_on_alloc, FPB; idle, after a
#                        job, fragmented, churn; 1 to 8 GiB), the guest-side
#                        overhead and the report in build/bench/
#   make bench-migrate   only the migration matrix, then the report
#   make bench-fleet     only the fleet cells (16-64 GiB sparse guests, 1 and
#                        10 Gbit/s, 1-4 vCPUs, downtime limits), the report
#   make bench-overhead  only the guest overhead, then the report
#   make bench-report    redo the report from the records in build/bench/
#   make bench-quick     one repetition of the 2 GiB cells
#   make bench-apply     the host's copy and apply of a snapshot alone, 8 GiB
#                        to 16 TiB guests (build/bench/apply.json)
#
# BENCH_ARGS passes options to bench.py, e.g. BENCH_ARGS="--reps 5" or
# BENCH_ARGS="--sizes 2 --workloads idle job75 --resume".
# poll-cost.sh and feature-off.sh are separate, older measurements.

.PHONY: bench bench-migrate bench-fleet bench-overhead bench-report bench-quick \
	bench-apply

bench: setup
	@tools/testing/bench/bench.sh all $(BENCH_ARGS)

bench-migrate: setup
	@tools/testing/bench/bench.sh migrate $(BENCH_ARGS)

bench-fleet: setup
	@tools/testing/bench/bench.sh fleet $(BENCH_ARGS)

bench-overhead: setup
	@tools/testing/bench/bench.sh overhead $(BENCH_ARGS)

bench-report:
	@tools/testing/bench/bench.sh report

bench-quick: setup
	@tools/testing/bench/bench.sh migrate --reps 1 --sizes 2 $(BENCH_ARGS)

bench-apply: setup
	@tools/testing/bench/bench-apply.sh
