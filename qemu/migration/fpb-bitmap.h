/*
 * FPB: clearing a guest's free pages out of a migration bitmap, word by word
 *
 * Copyright (c) 2026 FPB developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Pure code over plain bitmaps, built alone for the unit test and the
 * apply benchmark.
 */

#ifndef MIGRATION_FPB_BITMAP_H
#define MIGRATION_FPB_BITMAP_H

/*
 * Clear in @dst, a migration bitmap (unsigned long words, bit n for page
 * n), the @n bits from bit @dst_bit on whose counterparts are set in
 * @free, a guest bitmap already in host order (64-bit words, bit n for
 * page n), from bit @free_bit on.  Returns how many of those bits were set
 * in @dst: the pages that will no longer be sent.
 */
uint64_t fpb_bitmap_drop(unsigned long *dst, uint64_t dst_bit,
                         const uint64_t *free, uint64_t free_bit, uint64_t n);

#endif
