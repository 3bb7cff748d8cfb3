/*
 * FPB: checks on everything a guest wrote into its free page bitmap region
 *
 * Copyright (c) 2026 FPB developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Pure functions over a "read guest RAM" callback, so that they can be
 * built alone for unit tests and a fuzzer.  Nothing here trusts the guest:
 * every number is checked before it sizes a read or an allocation.
 */

#ifndef MIGRATION_FPB_VALIDATE_H
#define MIGRATION_FPB_VALIDATE_H

#include "hw/i386/kvm_fpb.h"

/* How the checks reach guest memory. */
typedef struct FpbGuestOps {
    /*
     * Copy @len bytes at guest physical address @gpa into @buf.  Return
     * false, without touching anything but @buf, unless the whole range is
     * ordinary guest RAM.
     */
    bool (*read)(void *opaque, uint64_t gpa, void *buf, uint64_t len);
    /*
     * True if [@gpa, @gpa + @len) is entirely ordinary guest RAM: the
     * machine's main RAM, not ROM, a ROM shadow, SMRAM or device RAM.
     */
    bool (*is_ram)(void *opaque, uint64_t gpa, uint64_t len);
    void *opaque;
    /* One past the highest ordinary guest RAM address. */
    uint64_t ram_end;
} FpbGuestOps;

typedef enum FpbStatus {
    FPB_OK = 0,
    FPB_ERR_ALIGN,          /* header GPA not 4 KiB aligned */
    FPB_ERR_SIZE,           /* region smaller than a header */
    FPB_ERR_TOO_BIG,        /* region larger than KVM_FPB_REGION_MAX */
    FPB_ERR_NOT_RAM,        /* region or bitmap not (all) guest RAM */
    FPB_ERR_MAGIC,
    FPB_ERR_VERSION,
    FPB_ERR_HEADER_SIZE,
    FPB_ERR_CHUNK_SHIFT,
    FPB_ERR_NR_CHUNKS,      /* table larger than the region or than RAM */
    FPB_ERR_CHANGED,        /* a constant field changed while registered */
    FPB_ERR_SEQ,            /* seq odd or not what the guest passed */
    FPB_ERR_REQUEST,        /* snapshot_request is not the request answered */
    FPB_ERR_CHUNK,          /* entry with unknown flags or unaligned GPA */
    FPB_ERR_OVERLAP,        /* bitmap overlaps the region or another bitmap */
    FPB_ERR_TORN,           /* seq moved while the snapshot was copied */
    FPB_ERR_STALE,          /* not the outstanding request of this pass */
    FPB_ERR_RATE,           /* too many hypercalls */
    FPB_ERR_PAGE0,          /* region or bitmap in page 0 */
    FPB_ERR_CUT,            /* a sync or reset stopped the apply */
    FPB_ERR__MAX,
} FpbStatus;

const char *fpb_status_str(FpbStatus st);

/* What REGISTER accepted; later snapshots are checked against it. */
typedef struct FpbRegion {
    uint64_t gpa;
    uint64_t size;
    uint32_t chunk_shift;
    uint32_t nr_chunks;
} FpbRegion;

/*
 * A snapshot whose header and chunk table passed the checks.  The bitmaps
 * stay in guest memory: fpb_snapshot_copy() reads them piece by piece, so
 * that no allocation or lock hold grows with the size of the guest.
 */
typedef struct FpbSnapshot {
    uint32_t chunk_shift;
    uint32_t nr_chunks;
    uint64_t seq;
    uint64_t *chunk;            /* per chunk: GPA of its bitmap, or 0 */
} FpbSnapshot;

/* Check the region at @gpa of @size bytes; fill @reg on success. */
FpbStatus fpb_check_region(const FpbGuestOps *ops, uint64_t gpa,
                           uint64_t size, FpbRegion *reg);

/*
 * Check the header and chunk table of the snapshot answering @request,
 * which the guest says it published with sequence number @seq, and keep
 * the table in @snap (freed with fpb_snapshot_free(), also on failure).
 */
FpbStatus fpb_snapshot_open(const FpbGuestOps *ops, const FpbRegion *reg,
                            uint64_t request, uint64_t seq,
                            FpbSnapshot *snap);

/*
 * Copy @words 64-bit words of chunk @i's bitmap, from word @word on, into
 * @buf in host order, then re-read seq: FPB_ERR_TORN if the guest began
 * another snapshot since fpb_snapshot_open(), and then nothing copied so
 * far may be used.  Seqlock reasoning: seq unchanged after the copy means
 * every word copied since the open belongs to snapshot @snap->seq.
 */
FpbStatus fpb_snapshot_copy(const FpbGuestOps *ops, const FpbRegion *reg,
                            const FpbSnapshot *snap, uint32_t i,
                            uint64_t word, uint64_t *buf, uint64_t words);

void fpb_snapshot_free(FpbSnapshot *snap);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(FpbSnapshot, fpb_snapshot_free)

/* A range [start, end) of guest physical addresses. */
typedef struct FpbSpan {
    uint64_t start, end;
} FpbSpan;

/* qsort()/g_array_sort() order of spans: by start. */
int fpb_span_cmp(const void *a, const void *b);

#endif
