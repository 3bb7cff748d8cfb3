/*
 * FPB: where the guest's ordinary RAM is
 *
 * Copyright (c) 2026 FPB developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The only memory FPB reads (header, chunk table, bitmaps), writes (the
 * request) or drops from the migration bitmap is ordinary guest RAM: the
 * machine's main RAM where the machine itself maps it, and nothing the
 * chipset or a device lays over it.  Not ROM, not ROM shadows (the PC's
 * PAM-controlled 0xc0000-0xfffff, whatever its current read-only state),
 * not SMRAM, not VGA or other device RAM, not other RAM blocks.
 *
 * fpb.c describes the top level of the system address space as layers,
 * highest priority first; this file turns them into the ranges of ordinary
 * RAM.  Pure functions, so that the unit test can feed it a model of a PC.
 */

#ifndef MIGRATION_FPB_RAM_H
#define MIGRATION_FPB_RAM_H

/*
 * One subregion of the address space, as rendered: a layer hides the
 * layers after it wherever it covers them, whether or not it is enabled
 * (a chipset can switch a disabled overlay on at any time).
 */
typedef struct FpbRamLayer {
    uint64_t start;
    uint64_t size;              /* UINT64_MAX: to the end of the space */
    const void *ram;            /* the main RAM it maps; NULL: anything else */
    uint64_t offset;            /* offset in @ram of @start */
} FpbRamLayer;

/* [start, end) of the address space is @ram from @offset on. */
typedef struct FpbRamRange {
    uint64_t start;
    uint64_t end;
    const void *ram;
    uint64_t offset;
} FpbRamRange;

typedef struct FpbRamMap {
    uint64_t end;               /* one past the highest ordinary RAM byte */
    uint32_t nr;
    FpbRamRange range[];        /* sorted, disjoint, adjacent ones merged */
} FpbRamMap;

/* The ordinary RAM that @nr layers, highest priority first, leave visible. */
FpbRamMap *fpb_ram_map_new(const FpbRamLayer *layers, uint32_t nr);
bool fpb_ram_map_equal(const FpbRamMap *a, const FpbRamMap *b);

/* The range that holds @gpa, or NULL. */
const FpbRamRange *fpb_ram_map_find(const FpbRamMap *map, uint64_t gpa);

/* True if all of [@gpa, @gpa + @len) is ordinary RAM (@len > 0). */
bool fpb_ram_map_covers(const FpbRamMap *map, uint64_t gpa, uint64_t len);

/*
 * Call @fn for each piece of ordinary RAM in [@gpa, @gpa + @len), in
 * address order, skipping whatever is not; stop early and return false if
 * @fn does.
 */
typedef bool FpbRamPieceFn(void *opaque, const FpbRamRange *r,
                           uint64_t gpa, uint64_t len);
bool fpb_ram_map_for_each(const FpbRamMap *map, uint64_t gpa, uint64_t len,
                          FpbRamPieceFn *fn, void *opaque);

#endif
