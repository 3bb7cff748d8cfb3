/*
 * FPB: the free page bitmap a KVM guest publishes so that live migration
 * can skip its free pages.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A copy, in QEMU style, of the FPB project's include/uapi/linux/kvm_fpb.h,
 * the single source of truth for the ABI; its tools/testing/suites/
 * qemu-abi-drift compares every number and offset of the two.  Until the
 * header is in Linux (and then in linux-headers/ via
 * scripts/update-linux-headers.sh) it lives here, licensed by its authors
 * (the FPB developers) like the rest of FPB's QEMU code.
 */
#ifndef HW_I386_KVM_FPB_H
#define HW_I386_KVM_FPB_H

/*
 * CPUID 0x40000001 EAX bit.  Upstream uses bits 0-7, 9-17 and 24; 8 and
 * 18-23 are free.  23 is the free bit furthest from where upstream
 * allocates next (18), and bit 8 is avoided because it was used long ago.
 */
#define KVM_FEATURE_FPB 23

/*
 * Hypercall number.  Upstream numbers are allocated in sequence (12 is the
 * last) and out-of-tree series already use 13 and 14.
 * KVM_CAP_EXIT_HYPERCALL takes a u64 mask indexed by hypercall number, so
 * the number must be below 64; staying below 31 keeps "1 << nr" on an int
 * defined in every VMM.  30 leaves upstream room for sixteen more.
 */
#define KVM_HC_FPB 30

/* a0: the operation.  a1..a3 as documented for each. */
#define KVM_FPB_OP_REGISTER 1  /* a1: header GPA, a2: region bytes */
#define KVM_FPB_OP_UNREGISTER 2  /* no arguments */
#define KVM_FPB_OP_SNAPSHOT_DONE 3  /* a1: request, a2: seq */

/*
 * Positive SNAPSHOT_DONE result: the snapshot was well formed but not used
 * (no migration wants it, it answers an old request, or a dirty bitmap sync
 * came between request and answer).  Errors are negative KVM_E* values.
 */
#define KVM_FPB_DISCARDED 1

#define KVM_FPB_MAGIC 0x31425046  /* "FPB1" */
#define KVM_FPB_VERSION 1
#define KVM_FPB_PAGE_SHIFT 12  /* one bit per 4 KiB */

/* One chunk covers 2^chunk_shift pages: 128 MiB to 64 GiB of guest memory. */
#define KVM_FPB_CHUNK_SHIFT_MIN 15
#define KVM_FPB_CHUNK_SHIFT_MAX 24

/* Largest header region (header plus chunk table) a host must accept. */
#define KVM_FPB_REGION_MAX (64 * 1024)

/* Chunk table entry: bitmap GPA, 4 KiB aligned, with the low bits as flags. */
#define KVM_FPB_CHUNK_PRESENT (1ULL << 0)
#define KVM_FPB_CHUNK_GPA_MASK (~0xfffULL)

/*
 * The header region, little-endian, at a 4 KiB aligned GPA.  Three groups
 * of fields, each on its own cache line, with exactly one writer each.
 */
struct kvm_fpb_header {
    /* Guest, before REGISTER; constant while registered. */
    uint32_t magic;
    uint16_t version;
    uint16_t header_size;  /* offset of chunk[]: sizeof(this struct) */
    uint32_t chunk_shift;  /* KVM_FPB_CHUNK_SHIFT_MIN..MAX */
    uint32_t nr_chunks;  /* entries in chunk[] */
    uint64_t reserved0[6];

    /* Host only.  The guest reads it and never writes it. */
    uint64_t request;  /* the snapshot the host asks for; 0: none */
    uint64_t reserved1[7];

    /* Guest, under seq: odd while a snapshot is being written. */
    uint64_t seq;
    uint64_t snapshot_request;  /* the request this snapshot answers */
    uint64_t nr_free;  /* bits set in this snapshot */
    uint64_t reserved2[5];

    /* Guest, under seq: chunk i covers pfns [i, i + 1) << chunk_shift. */
    uint64_t chunk[];
};

#endif /* HW_I386_KVM_FPB_H */
