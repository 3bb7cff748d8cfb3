/*
 * FPB: skip the free pages a guest reports in its free page bitmap
 *
 * Copyright (c) 2026 FPB developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef MIGRATION_FPB_H
#define MIGRATION_FPB_H

/* Bounds of the fpb-first-wait-ms CPU property. */
#define FPB_FIRST_WAIT_DEFAULT_MS   1000
#define FPB_FIRST_WAIT_MAX_MS       60000

/*
 * Turn the host side on; called when a vCPU has kvm-pv-fpb.  @apply_late
 * is a test hook (x-fpb-apply-late) that applies snapshots one dirty
 * bitmap sync late, which the protocol must then refuse to do.
 * @first_wait_ms bounds fpb_wait_first_snapshot().
 */
void fpb_setup(bool apply_late, uint32_t first_wait_ms);
bool fpb_enabled(void);

/*
 * Called by the migration thread, without the BQL, before each RAM
 * iteration: the first call of a migration waits (boundedly) for the
 * guest's answer to the first request.
 */
void fpb_wait_first_snapshot(void);

/* KVM_HC_FPB from a vCPU at CPL 0, arguments already truncated. */
int64_t fpb_hypercall(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);

void fpb_get_stats(uint64_t *pages_skipped, uint64_t *applied,
                   uint64_t *discarded);

#endif
