# SPDX-License-Identifier: GPL-2.0
#
# fpbtop (tools/fpbtop/), a libbpf tool run inside the guest: per snapshot
# the request-to-done latency, pages reported, walk time and lock hold
# histograms; page allocation latency while snapshots run.
#
#   make fpbtop    build it (static); the last line is its path
#
# The bpf-tool suite runs it in TCG guests and checks it against debugfs.

.PHONY: fpbtop

fpbtop: setup
	@scripts/fpbtop-build.sh
