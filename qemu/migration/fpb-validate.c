/*
 * FPB: checks on everything a guest wrote into its free page bitmap region
 *
 * Copyright (c) 2026 FPB developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Only qemu/osdep.h and glib here: the unit test and the fuzzer build this
 * file on its own.
 */

#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/bswap.h"
#include "fpb-validate.h"

#define FPB_HDR_SIZE    sizeof(struct kvm_fpb_header)
#define FPB_PAGE_SIZE   (1ULL << KVM_FPB_PAGE_SHIFT)

static const char *const fpb_status_names[FPB_ERR__MAX] = {
    [FPB_OK] = "ok",
    [FPB_ERR_ALIGN] = "header GPA not page aligned",
    [FPB_ERR_SIZE] = "region smaller than the header",
    [FPB_ERR_TOO_BIG] = "region larger than KVM_FPB_REGION_MAX",
    [FPB_ERR_NOT_RAM] = "not ordinary guest RAM",
    [FPB_ERR_MAGIC] = "bad magic",
    [FPB_ERR_VERSION] = "unknown version",
    [FPB_ERR_HEADER_SIZE] = "bad header_size",
    [FPB_ERR_CHUNK_SHIFT] = "chunk_shift out of range",
    [FPB_ERR_NR_CHUNKS] = "chunk table larger than region or RAM",
    [FPB_ERR_CHANGED] = "constant header field changed",
    [FPB_ERR_SEQ] = "seq odd or not the one passed",
    [FPB_ERR_REQUEST] = "snapshot_request is not the request answered",
    [FPB_ERR_CHUNK] = "chunk entry with bad flags or alignment",
    [FPB_ERR_OVERLAP] = "bitmap overlaps the region or another bitmap",
    [FPB_ERR_TORN] = "seq changed during the copy",
    [FPB_ERR_STALE] = "no such request outstanding in this pass",
    [FPB_ERR_RATE] = "hypercall rate limit",
    [FPB_ERR_PAGE0] = "region or bitmap in page 0",
    [FPB_ERR_CUT] = "apply cut short by a sync or reset",
};

const char *fpb_status_str(FpbStatus st)
{
    if (st < FPB_OK || st >= FPB_ERR__MAX) {
        return "?";
    }
    return fpb_status_names[st];
}

static FpbStatus fpb_read_header(const FpbGuestOps *ops, uint64_t gpa,
                                 struct kvm_fpb_header *h)
{
    if (!ops->read(ops->opaque, gpa, h, FPB_HDR_SIZE)) {
        return FPB_ERR_NOT_RAM;
    }
    h->magic = le32_to_cpu(h->magic);
    h->version = le16_to_cpu(h->version);
    h->header_size = le16_to_cpu(h->header_size);
    h->chunk_shift = le32_to_cpu(h->chunk_shift);
    h->nr_chunks = le32_to_cpu(h->nr_chunks);
    h->request = le64_to_cpu(h->request);
    h->seq = le64_to_cpu(h->seq);
    h->snapshot_request = le64_to_cpu(h->snapshot_request);
    h->nr_free = le64_to_cpu(h->nr_free);
    return FPB_OK;
}

static FpbStatus fpb_check_header(const FpbGuestOps *ops,
                                  const struct kvm_fpb_header *h,
                                  uint64_t size)
{
    uint64_t ram_pfns = ops->ram_end >> KVM_FPB_PAGE_SHIFT;
    uint64_t chunk_pages;

    if (h->magic != KVM_FPB_MAGIC) {
        return FPB_ERR_MAGIC;
    }
    if (h->version != KVM_FPB_VERSION) {
        return FPB_ERR_VERSION;
    }
    if (h->header_size != FPB_HDR_SIZE) {
        return FPB_ERR_HEADER_SIZE;
    }
    if (h->chunk_shift < KVM_FPB_CHUNK_SHIFT_MIN ||
        h->chunk_shift > KVM_FPB_CHUNK_SHIFT_MAX) {
        return FPB_ERR_CHUNK_SHIFT;
    }
    /* 64-bit arithmetic: nr_chunks is 32 bits, size at most 64 KiB. */
    if (FPB_HDR_SIZE + (uint64_t)h->nr_chunks * sizeof(uint64_t) > size) {
        return FPB_ERR_NR_CHUNKS;
    }
    /* Every chunk but the last must start below the end of RAM. */
    chunk_pages = 1ULL << h->chunk_shift;
    if ((uint64_t)h->nr_chunks > DIV_ROUND_UP(ram_pfns, chunk_pages)) {
        return FPB_ERR_NR_CHUNKS;
    }
    return FPB_OK;
}

FpbStatus fpb_check_region(const FpbGuestOps *ops, uint64_t gpa,
                           uint64_t size, FpbRegion *reg)
{
    struct kvm_fpb_header h;
    FpbStatus st;

    if (gpa & (FPB_PAGE_SIZE - 1)) {
        return FPB_ERR_ALIGN;
    }
    if (size > KVM_FPB_REGION_MAX) {
        return FPB_ERR_TOO_BIG;
    }
    if (size < FPB_HDR_SIZE) {
        return FPB_ERR_SIZE;
    }
    /*
     * Page 0 is guest RAM, but no guest allocates it (the real mode
     * interrupt vectors and BIOS data live there), and a GPA of 0 is what
     * a guest bug looks like: the host never writes the request there.
     */
    if (!gpa) {
        return FPB_ERR_PAGE0;
    }
    if (gpa + size < gpa || gpa + size > ops->ram_end ||
        !ops->is_ram(ops->opaque, gpa, size)) {
        return FPB_ERR_NOT_RAM;
    }
    st = fpb_read_header(ops, gpa, &h);
    if (st == FPB_OK) {
        st = fpb_check_header(ops, &h, size);
    }
    if (st != FPB_OK) {
        return st;
    }
    reg->gpa = gpa;
    reg->size = size;
    reg->chunk_shift = h.chunk_shift;
    reg->nr_chunks = h.nr_chunks;
    return FPB_OK;
}

int fpb_span_cmp(const void *a, const void *b)
{
    const FpbSpan *x = a, *y = b;

    return x->start < y->start ? -1 : x->start > y->start;
}

void fpb_snapshot_free(FpbSnapshot *snap)
{
    g_free(snap->chunk);
    memset(snap, 0, sizeof(*snap));
}

/* Check the chunk table and keep, per chunk, where its bitmap is. */
static FpbStatus fpb_check_chunks(const FpbGuestOps *ops, const FpbRegion *reg,
                                  FpbSnapshot *snap)
{
    uint64_t bm_len = 1ULL << (reg->chunk_shift - 3);
    uint64_t reg_end = reg->gpa + reg->size;
    uint32_t n = reg->nr_chunks ? reg->nr_chunks : 1;
    g_autofree FpbSpan *spans = g_new(FpbSpan, n);
    uint32_t i, nr_present = 0;

    snap->chunk = g_new0(uint64_t, n);
    if (reg->nr_chunks &&
        !ops->read(ops->opaque, reg->gpa + FPB_HDR_SIZE, snap->chunk,
                   (uint64_t)reg->nr_chunks * sizeof(uint64_t))) {
        return FPB_ERR_NOT_RAM;
    }
    for (i = 0; i < reg->nr_chunks; i++) {
        uint64_t e = le64_to_cpu(snap->chunk[i]);
        uint64_t gpa = e & KVM_FPB_CHUNK_GPA_MASK;

        snap->chunk[i] = gpa;
        if (!e) {
            continue;
        }
        if (e != (gpa | KVM_FPB_CHUNK_PRESENT)) {
            return FPB_ERR_CHUNK;
        }
        if (!gpa) {
            return FPB_ERR_PAGE0;
        }
        if (gpa + bm_len < gpa || gpa + bm_len > ops->ram_end ||
            !ops->is_ram(ops->opaque, gpa, bm_len)) {
            return FPB_ERR_NOT_RAM;
        }
        if (gpa < reg_end && reg->gpa < gpa + bm_len) {
            return FPB_ERR_OVERLAP;
        }
        spans[nr_present].start = gpa;
        spans[nr_present].end = gpa + bm_len;
        nr_present++;
    }
    /* A bitmap that is also another's would count some pages twice. */
    qsort(spans, nr_present, sizeof(*spans), fpb_span_cmp);
    for (i = 1; i < nr_present; i++) {
        if (spans[i].start < spans[i - 1].end) {
            return FPB_ERR_OVERLAP;
        }
    }
    return FPB_OK;
}

FpbStatus fpb_snapshot_open(const FpbGuestOps *ops, const FpbRegion *reg,
                            uint64_t request, uint64_t seq,
                            FpbSnapshot *snap)
{
    struct kvm_fpb_header h;
    FpbStatus st;

    memset(snap, 0, sizeof(*snap));
    st = fpb_read_header(ops, reg->gpa, &h);
    if (st != FPB_OK) {
        return st;
    }
    /* The registration sized everything: the guest may not move it. */
    if (h.chunk_shift != reg->chunk_shift || h.nr_chunks != reg->nr_chunks) {
        return FPB_ERR_CHANGED;
    }
    st = fpb_check_header(ops, &h, reg->size);
    if (st != FPB_OK) {
        return st;
    }
    if ((h.seq & 1) || h.seq != seq) {
        return FPB_ERR_SEQ;
    }
    if (h.snapshot_request != request) {
        return FPB_ERR_REQUEST;
    }
    snap->chunk_shift = reg->chunk_shift;
    snap->nr_chunks = reg->nr_chunks;
    snap->seq = seq;
    st = fpb_check_chunks(ops, reg, snap);
    if (st != FPB_OK) {
        fpb_snapshot_free(snap);
    }
    return st;
}

FpbStatus fpb_snapshot_copy(const FpbGuestOps *ops, const FpbRegion *reg,
                            const FpbSnapshot *snap, uint32_t i,
                            uint64_t word, uint64_t *buf, uint64_t words)
{
    uint64_t chunk_words = 1ULL << (snap->chunk_shift - 6);
    uint64_t seq2, k;

    /* The caller's bounds: a bug here must not become a wild read. */
    if (i >= snap->nr_chunks || !snap->chunk[i] || word > chunk_words ||
        words > chunk_words - word) {
        return FPB_ERR_CHUNK;
    }
    /* Bitmaps were checked to be RAM, but the map may have changed. */
    if (!ops->read(ops->opaque, snap->chunk[i] + word * 8, buf, words * 8)) {
        return FPB_ERR_NOT_RAM;
    }
    /* Pairs with the guest's barrier between the bitmap and seq writes. */
    smp_rmb();
    if (!ops->read(ops->opaque, reg->gpa + offsetof(struct kvm_fpb_header, seq),
                   &seq2, sizeof(seq2))) {
        return FPB_ERR_NOT_RAM;
    }
    if (le64_to_cpu(seq2) != snap->seq) {
        return FPB_ERR_TORN;
    }
    for (k = 0; k < words; k++) {
        buf[k] = le64_to_cpu(buf[k]);
    }
    return FPB_OK;
}
