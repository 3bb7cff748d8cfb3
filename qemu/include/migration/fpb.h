/*
 * FPB: skip the free pages a guest reports in its free page bitmap
 *
 * Copyright (c) 2026 FPB developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef MIGRATION_FPB_H
#define MIGRATION_FPB_H

/* Default and bound of the fpb-first-wait-ms migration parameter. */
#define FPB_FIRST_WAIT_DEFAULT_MS   1000
#define FPB_FIRST_WAIT_MAX_MS       60000

/*
 * Test hooks, the x-fpb-* CPU properties, all off by default.  Each breaks
 * something on purpose and exists only to show that the tests catch the
 * failure (migration/fpb-protocol.h has the details):
 *
 * @apply_late: apply snapshots one dirty bitmap sync late; the protocol
 * must then discard every one of them.
 * @apply_late_unchecked: the same without the check that no sync ran
 * since the request: snapshots are applied and data is lost.
 * @skip_arm: request snapshots without arming write tracking first; with
 * KVM's manual dirty log protection data is lost.
 * @failing_notifier: add a precopy notifier that fails before each dirty
 * bitmap sync once the migration is set up, so that the notifier chain
 * stops before reaching FPB's; snapshots must stay as safe.
 */
typedef struct FpbTestHooks {
    bool apply_late;
    bool apply_late_unchecked;
    bool skip_arm;
    bool failing_notifier;
} FpbTestHooks;

/* Turn the host side on; called when a vCPU has kvm-pv-fpb. */
void fpb_setup(const FpbTestHooks *hooks);
bool fpb_enabled(void);

/*
 * Called by migration_bitmap_sync() before every sync of the migration
 * bitmap, whatever the precopy notifiers did: from then on, no snapshot
 * requested before it may be applied.  Waits for an apply in progress, so
 * the caller must not hold the bitmap mutex.
 */
void fpb_before_bitmap_sync(void);

/*
 * Called by the migration thread, without the BQL, before each RAM
 * iteration: the first call of a migration waits for the guest's answer
 * to the first request, for at most the fpb-first-wait-ms migration
 * parameter.
 */
void fpb_wait_first_snapshot(void);

/* KVM_HC_FPB from a vCPU at CPL 0, arguments already truncated. */
int64_t fpb_hypercall(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);

/*
 * The counters of the current or last migration: pages dropped, snapshots
 * applied and discarded (each request counts at most once), and
 * hypercalls refused (rate limited, invalid, or answering nothing).
 */
void fpb_get_stats(uint64_t *pages_skipped, uint64_t *applied,
                   uint64_t *discarded, uint64_t *refused);

#endif
