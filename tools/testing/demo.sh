#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job: tools/testing/migrate/demo.sh.  demo-guest-only.sh shows
# what a snapshot finds without migrating (no QEMU build needed).
set -euo pipefail
here=$(dirname "$0")
if [ -x "$here/migrate/demo.sh" ]; then
	exec "$here/migrate/demo.sh" "$@"
fi
exec "$here/demo-guest-only.sh" "$@"
