/*
 * FPB: skip the free pages a guest reports in its free page bitmap
 *
 * Copyright (c) 2026 FPB developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef MIGRATION_FPB_H
#define MIGRATION_FPB_H

/*
 * Turn the host side on; called when a vCPU has kvm-pv-fpb.  @apply_late
 * is a test hook (x-fpb-apply-late) that applies snapshots one dirty
 * bitmap sync late, which the protocol must then refuse to do.
 */
void fpb_setup(bool apply_late);
bool fpb_enabled(void);

/* KVM_HC_FPB from a vCPU at CPL 0, arguments already truncated. */
int64_t fpb_hypercall(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);

void fpb_get_stats(uint64_t *pages_skipped, uint64_t *applied,
                   uint64_t *discarded);

#endif
