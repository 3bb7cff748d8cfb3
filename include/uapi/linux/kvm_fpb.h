/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * FPB: the free page bitmap a KVM guest publishes so that live migration
 * can skip its free pages.
 *
 * This file is the single source of truth for the ABI.  The suites
 * kvm-abi-drift and qemu-abi-drift (tools/testing/suites/) fail when the
 * KVM series or QEMU's copy says something else.
 * Documentation/virt/kvm/fpb-abi.rst explains every field and the rules
 * that keep a snapshot safe.
 */
#ifndef _UAPI_LINUX_KVM_FPB_H
#define _UAPI_LINUX_KVM_FPB_H

#include <linux/types.h>

/*
 * CPUID 0x40000001 EAX bit.  Upstream uses bits 0-7, 9-17 and 24; 8 and
 * 18-23 are free.  23 is the free bit furthest from where upstream
 * allocates next (18), and bit 8 is avoided because it was used long ago.
 */
#define KVM_FEATURE_FPB			23

/*
 * Hypercall number.  Upstream numbers are allocated in sequence (12 is the
 * last) and out-of-tree series already use 13 and 14.
 * KVM_CAP_EXIT_HYPERCALL takes a u64 mask indexed by hypercall number, so
 * the number must be below 64; staying below 31 keeps "1 << nr" on an int
 * defined in every VMM.  30 leaves upstream room for sixteen more.
 */
#define KVM_HC_FPB			30

/* a0: the operation.  a1..a3 as documented for each. */
#define KVM_FPB_OP_REGISTER		1	/* a1: header GPA, a2: region bytes */
#define KVM_FPB_OP_UNREGISTER		2	/* no arguments */
#define KVM_FPB_OP_SNAPSHOT_DONE	3	/* a1: request, a2: seq */

/*
 * Positive SNAPSHOT_DONE result: the snapshot was well formed but not used
 * (no migration wants it, it answers an old request, or a dirty bitmap sync
 * came between request and answer).  Errors are negative KVM_E* values.
 */
#define KVM_FPB_DISCARDED		1

#define KVM_FPB_MAGIC			0x31425046	/* "FPB1" */
#define KVM_FPB_VERSION			1
#define KVM_FPB_PAGE_SHIFT		12		/* one bit per 4 KiB */

/* One chunk covers 2^chunk_shift pages: 128 MiB to 64 GiB of guest memory. */
#define KVM_FPB_CHUNK_SHIFT_MIN		15
#define KVM_FPB_CHUNK_SHIFT_MAX		24

/* Largest header region (header plus chunk table) a host must accept. */
#define KVM_FPB_REGION_MAX		(64 * 1024)

/* Chunk table entry: bitmap GPA, 4 KiB aligned, with the low bits as flags. */
#define KVM_FPB_CHUNK_PRESENT		(1ULL << 0)
#define KVM_FPB_CHUNK_GPA_MASK		(~0xfffULL)

/*
 * The header region, little-endian, at a 4 KiB aligned GPA.  Three groups
 * of fields, each on its own cache line, with exactly one writer each.
 */
struct kvm_fpb_header {
	/* Guest, before REGISTER; constant while registered. */
	__u32 magic;
	__u16 version;
	__u16 header_size;	/* offset of chunk[]: sizeof(this struct) */
	__u32 chunk_shift;	/* KVM_FPB_CHUNK_SHIFT_MIN..MAX */
	__u32 nr_chunks;	/* entries in chunk[] */
	__u64 reserved0[6];

	/* Host only.  The guest reads it and never writes it. */
	__u64 request;		/* the snapshot the host asks for; 0: none */
	__u64 reserved1[7];

	/* Guest, under seq: odd while a snapshot is being written. */
	__u64 seq;
	__u64 snapshot_request;	/* the request this snapshot answers */
	__u64 nr_free;		/* bits set in this snapshot */
	__u64 reserved2[5];

	/* Guest, under seq: chunk i covers pfns [i, i + 1) << chunk_shift. */
	__u64 chunk[];
};

#endif /* _UAPI_LINUX_KVM_FPB_H */
