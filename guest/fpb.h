/* SPDX-License-Identifier: GPL-2.0 */
/*
 * FPB guest internals: the bitmap's geometry and memory (fpb_layout.c), the
 * free list walker (fpb_walk.c) and snapshot publication (fpb_snapshot.c).
 * None of these touch CPUID or hypercalls, so KUnit runs them under UML.
 */
#ifndef _FPB_H
#define _FPB_H

#include <linux/types.h>
#include <linux/mmzone.h>
#include <linux/kvm_fpb.h>

/*
 * Number of buddy orders: NR_PAGE_ORDERS since 6.8, MAX_ORDER (exclusive)
 * up to 6.3.  On 6.4-6.7, where MAX_ORDER is inclusive, the top order would
 * go unwalked: fewer pages reported, never a wrong one.
 */
#ifdef NR_PAGE_ORDERS
#define FPB_NR_ORDERS		NR_PAGE_ORDERS
#else
#define FPB_NR_ORDERS		MAX_ORDER
#endif

/* Largest header region the guest builds: the 64 KiB the host accepts. */
#define FPB_REGION_MAX_ORDER	4

struct fpb_layout {
	unsigned int chunk_shift;	/* pages per chunk, log2 */
	unsigned int nr_chunks;
	unsigned int region_order;	/* header region: PAGE_SIZE << order */
};

/* The shared region plus the guest's own view of where each chunk lives. */
struct fpb_map {
	struct fpb_layout layout;
	struct kvm_fpb_header *hdr;
	unsigned long **chunk;		/* nr_chunks entries, NULL for a hole */
};

/*
 * zone->lock hold times, log2 buckets of microseconds: bucket 0 counts
 * holds under 1 us, bucket b holds in [2^(b-1), 2^b) us, the last one
 * everything longer.
 */
#define FPB_HOLD_BUCKETS	16

/*
 * Most blocks one pcp->lock hold covers, 0 for no bound.  Since 6.2 the
 * allocator takes pcp->lock with interrupts on and only trylocks it where
 * it cannot wait (its fast paths and interrupt context fall back to the
 * buddy lists), so a hold costs nobody but the walker's own preemption
 * latency, and the list's length, at most pcp->high, bounds it.  Before,
 * the lock is taken with interrupts off: a hold does at most the work the
 * allocator's own drain does per hold (pcp->batch << 5, 2016 pages with
 * the default batch).  guest/Kbuild sets FPB_PCP_IRQS_ON from the version
 * of the kernel built against.
 */
#ifndef FPB_PCP_IRQS_ON
#define FPB_PCP_IRQS_ON		1
#endif
#if FPB_PCP_IRQS_ON
#define FPB_PCP_MAX_BLOCKS	0
#else
#define FPB_PCP_MAX_BLOCKS	2048
#endif

struct fpb_walk_stats {
	u64 blocks;		/* free blocks marked from the buddy lists */
	u64 pcp_blocks;		/* free blocks marked from per-cpu lists */
	u64 holds;		/* zone->lock acquisitions */
	u64 max_hold_ns;	/* longest single zone->lock hold */
	u64 max_pcp_hold_ns;	/* longest single pcp->lock hold */
	u64 pcp_capped;		/* pcp lists cut at FPB_PCP_MAX_BLOCKS */
	u64 lost_resumes;	/* resume point gone; list restarted */
	u64 buddy_free;		/* NR_FREE_PAGES of the walked zones */
	u64 hold_hist[FPB_HOLD_BUCKETS];
};

/* fpb_layout.c */
int fpb_layout_init(struct fpb_layout *l, unsigned long end_pfn);
static inline size_t fpb_chunk_bytes(const struct fpb_layout *l)
{
	return (size_t)1 << (l->chunk_shift - 3);
}

static inline unsigned long fpb_layout_end_pfn(const struct fpb_layout *l)
{
	return (unsigned long)l->nr_chunks << l->chunk_shift;
}

int fpb_map_alloc(struct fpb_map *map, unsigned long end_pfn);
void fpb_map_free(struct fpb_map *map);
int fpb_map_cover(struct fpb_map *map, unsigned long start_pfn,
		  unsigned long nr_pages);
int fpb_map_cover_online(struct fpb_map *map);
void fpb_map_clear(struct fpb_map *map);
void fpb_map_publish_table(struct fpb_map *map);
void fpb_map_mark(struct fpb_map *map, unsigned long pfn,
		  unsigned long nr_pages);
bool fpb_map_test(const struct fpb_map *map, unsigned long pfn);
u64 fpb_map_weight(const struct fpb_map *map);
unsigned long fpb_online_end_pfn(void);

/* fpb_walk.c */
extern bool fpb_walk_pcp_lists;
void fpb_walk_zone(struct zone *zone, struct fpb_map *map,
		   unsigned int batch, struct fpb_walk_stats *st);
void fpb_walk_all(struct fpb_map *map, unsigned int batch,
		  struct fpb_walk_stats *st);
unsigned int fpb_hold_bucket(u64 ns);
void fpb_walk_pcp_list(struct zone *zone, struct per_cpu_pages *pcp,
		       unsigned int pindex, unsigned int max_blocks,
		       struct fpb_map *map, struct fpb_walk_stats *st);

/* fpb_snapshot.c */
void fpb_snapshot_begin(struct fpb_map *map);
u64 fpb_snapshot_end(struct fpb_map *map, u64 request);
u64 fpb_snapshot_take(struct fpb_map *map, u64 request, unsigned int batch,
		      struct fpb_walk_stats *st);

#endif /* _FPB_H */
