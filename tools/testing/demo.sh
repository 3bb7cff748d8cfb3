#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job: tools/testing/migrate/demo.sh.  demo-guest-only.sh shows
# what a snapshot finds without migrating (no QEMU build needed).
exec "$(dirname "$0")/migrate/demo.sh" "$@"
