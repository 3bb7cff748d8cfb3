/*
 * FPB: clearing a guest's free pages out of a migration bitmap, word by word
 *
 * Copyright (c) 2026 FPB developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A snapshot of a 1 TiB guest holds 2^28 bits; the apply handles them a
 * word at a time, so that its cost follows the size of the bitmap, not the
 * number of runs of free pages in it.
 */

#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "qemu/host-utils.h"
#include "fpb-bitmap.h"

/* @n (1..BITS_PER_LONG) bits of @free from bit @bit on, in the low bits. */
static unsigned long fpb_bits_at(const uint64_t *free, uint64_t bit,
                                 unsigned n)
{
    const uint64_t *w = free + bit / 64;
    unsigned sh = bit % 64;
    uint64_t v = w[0] >> sh;

    /* Read the next word only when the bits reach into it. */
    if (sh && sh + n > 64) {
        v |= w[1] << (64 - sh);
    }
    return (unsigned long)v & BITMAP_LAST_WORD_MASK(n);
}

uint64_t fpb_bitmap_drop(unsigned long *dst, uint64_t dst_bit,
                         const uint64_t *free, uint64_t free_bit, uint64_t n)
{
    uint64_t dropped = 0;

    while (n) {
        unsigned long *w = dst + dst_bit / BITS_PER_LONG;
        unsigned sh = dst_bit % BITS_PER_LONG;
        unsigned take = MIN(BITS_PER_LONG - sh, n);
        unsigned long hit = fpb_bits_at(free, free_bit, take) << sh;

        hit &= *w;
        if (hit) {
            *w &= ~hit;
            dropped += ctpopl(hit);
        }
        dst_bit += take;
        free_bit += take;
        n -= take;
    }
    return dropped;
}
