#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job.  Until the migration harness exists it runs the guest-only
# demo: what an FPB snapshot finds after a memory-hungry job.
set -euo pipefail
here=$(dirname "$0")
if [ -x "$here/migrate/demo.sh" ]; then
	exec "$here/migrate/demo.sh" "$@"
fi
exec "$here/demo-guest-only.sh" "$@"
