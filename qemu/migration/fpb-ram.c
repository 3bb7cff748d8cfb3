/*
 * FPB: where the guest's ordinary RAM is
 *
 * Copyright (c) 2026 FPB developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Only qemu/osdep.h and glib here, like fpb-validate.c: the unit test
 * builds this file on its own.
 */

#include "qemu/osdep.h"
#include "fpb-ram.h"
#include "fpb-validate.h"

static int fpb_range_cmp(const void *a, const void *b)
{
    const FpbRamRange *x = a, *y = b;

    return x->start < y->start ? -1 : x->start > y->start;
}

static uint64_t fpb_layer_end(const FpbRamLayer *l)
{
    if (l->size == UINT64_MAX || l->start + l->size < l->start) {
        return UINT64_MAX;
    }
    return l->start + l->size;
}

/* Add [@start, @end) to the sorted, disjoint, merged spans in @claimed. */
static void fpb_claim(GArray *claimed, uint64_t start, uint64_t end)
{
    FpbSpan s = { start, end };
    guint i, n = 0;

    g_array_append_val(claimed, s);
    g_array_sort(claimed, fpb_span_cmp);
    for (i = 1; i < claimed->len; i++) {
        FpbSpan *last = &g_array_index(claimed, FpbSpan, n);
        FpbSpan *cur = &g_array_index(claimed, FpbSpan, i);

        if (cur->start <= last->end) {
            last->end = MAX(last->end, cur->end);
        } else {
            g_array_index(claimed, FpbSpan, ++n) = *cur;
        }
    }
    g_array_set_size(claimed, n + 1);
}

static void fpb_add_range(GArray *ranges, const FpbRamLayer *l,
                          uint64_t start, uint64_t end)
{
    FpbRamRange r = {
        .start = start,
        .end = end,
        .ram = l->ram,
        .offset = l->offset + (start - l->start),
    };

    g_array_append_val(ranges, r);
}

FpbRamMap *fpb_ram_map_new(const FpbRamLayer *layers, uint32_t nr)
{
    g_autoptr(GArray) claimed = g_array_new(false, false, sizeof(FpbSpan));
    g_autoptr(GArray) ranges = g_array_new(false, false,
                                           sizeof(FpbRamRange));
    FpbRamMap *map;
    uint32_t i, n = 0;
    guint j;

    for (i = 0; i < nr; i++) {
        const FpbRamLayer *l = &layers[i];
        uint64_t pos = l->start, end = fpb_layer_end(l);

        if (pos >= end) {
            continue;
        }
        /* What of this layer no layer before it covers. */
        for (j = 0; l->ram && j < claimed->len && pos < end; j++) {
            const FpbSpan *c = &g_array_index(claimed, FpbSpan, j);

            if (c->end <= pos) {
                continue;
            }
            if (c->start >= end) {
                break;
            }
            if (c->start > pos) {
                fpb_add_range(ranges, l, pos, c->start);
            }
            pos = c->end;
        }
        if (l->ram && pos < end) {
            fpb_add_range(ranges, l, pos, end);
        }
        fpb_claim(claimed, l->start, end);
    }

    g_array_sort(ranges, fpb_range_cmp);
    map = g_malloc0(sizeof(*map) + ranges->len * sizeof(FpbRamRange));
    for (j = 0; j < ranges->len; j++) {
        const FpbRamRange *r = &g_array_index(ranges, FpbRamRange, j);
        FpbRamRange *last = n ? &map->range[n - 1] : NULL;

        if (last && last->end == r->start && last->ram == r->ram &&
            last->offset + (last->end - last->start) == r->offset) {
            last->end = r->end;
        } else {
            map->range[n++] = *r;
        }
        map->end = MAX(map->end, r->end);
    }
    map->nr = n;
    return map;
}

bool fpb_ram_map_equal(const FpbRamMap *a, const FpbRamMap *b)
{
    return a->nr == b->nr && a->end == b->end &&
           !memcmp(a->range, b->range, a->nr * sizeof(FpbRamRange));
}

/* The index of the first range that ends after @gpa (map->nr if none). */
static uint32_t fpb_ram_map_lower(const FpbRamMap *map, uint64_t gpa)
{
    uint32_t lo = 0, hi = map->nr;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (map->range[mid].end <= gpa) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

const FpbRamRange *fpb_ram_map_find(const FpbRamMap *map, uint64_t gpa)
{
    uint32_t i = fpb_ram_map_lower(map, gpa);

    if (i < map->nr && map->range[i].start <= gpa) {
        return &map->range[i];
    }
    return NULL;
}

bool fpb_ram_map_covers(const FpbRamMap *map, uint64_t gpa, uint64_t len)
{
    uint64_t end = gpa + len;

    if (!len || end < gpa) {
        return false;
    }
    while (gpa < end) {
        const FpbRamRange *r = fpb_ram_map_find(map, gpa);

        if (!r) {
            return false;
        }
        gpa = r->end;
    }
    return true;
}

bool fpb_ram_map_for_each(const FpbRamMap *map, uint64_t gpa, uint64_t len,
                          FpbRamPieceFn *fn, void *opaque)
{
    uint64_t end = gpa + len < gpa ? UINT64_MAX : gpa + len;
    uint32_t i;

    for (i = fpb_ram_map_lower(map, gpa);
         i < map->nr && map->range[i].start < end; i++) {
        const FpbRamRange *r = &map->range[i];
        uint64_t s = MAX(gpa, r->start), e = MIN(end, r->end);

        if (s < e && !fn(opaque, r, s, e - s)) {
            return false;
        }
    }
    return true;
}
