// SPDX-License-Identifier: GPL-2.0
/*
 * The free list walker.
 *
 * Every page it marks was seen, under zone->lock, inside a block on one of
 * the zone's buddy free lists.  That is the "free at an instant" the ABI's
 * safety argument needs; nothing else ever sets a bit.
 *
 * zone->lock is held for at most @batch blocks at a time.  Across a lock
 * drop the walker keeps only a pfn, never a list pointer, and re-checks
 * that pfn under the lock before following it (see fpb_walk_resume()).
 */
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/log2.h>
#include <linux/math64.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/mmzone.h>
#include <linux/nodemask.h>
#include <linux/page-flags.h>
#include <linux/page-isolation.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/spinlock.h>
#include <linux/vmstat.h>
#include "fpb.h"

/* The walk is in every build of the code, KUnit's included. */
#define CREATE_TRACE_POINTS
#include "fpb_trace.h"

bool fpb_walk_pcp_lists = true;

/* How often one list may be restarted before the walk moves on. */
#define FPB_MAX_RESTARTS	4

struct fpb_cursor {
	unsigned int order;
	unsigned int mt;
	unsigned int restarts;
	bool resume;			/* next_pfn is valid */
	unsigned long next_pfn;		/* first block not yet looked at */
};

/*
 * A list head lives inside zone->free_area; a page never does.  Checking the
 * address, rather than comparing with the head we started from, keeps the
 * walk correct when a resumed block now sits on another migratetype's list.
 */
static bool fpb_is_list_head(struct zone *zone, struct list_head *node)
{
	return (void *)node >= (void *)zone->free_area &&
	       (void *)node < (void *)(zone->free_area + FPB_NR_ORDERS);
}

/* PageBuddy() and the order in page_private() hold only under the lock. */
static bool fpb_is_free_block(struct zone *zone, struct page *page,
			      unsigned int order)
{
	lockdep_assert_held(&zone->lock);
	return PageBuddy(page) && page_private(page) == order &&
	       page_zone(page) == zone;
}

/*
 * Where to continue after the lock was dropped.  The block at next_pfn is
 * followed only if it is still a free block of this order in this zone,
 * i.e. still linked on one of this order's free lists, which the lock now
 * protects.  Otherwise the list starts over: bits are idempotent, so a
 * restart can only cost time, and FPB_MAX_RESTARTS bounds that.
 */
static struct list_head *fpb_walk_resume(struct zone *zone,
					 struct fpb_cursor *cur,
					 struct list_head *head,
					 struct fpb_walk_stats *st)
{
	struct page *page;

	lockdep_assert_held(&zone->lock);
	if (!cur->resume)
		return head->next;
	cur->resume = false;

	page = pfn_to_online_page(cur->next_pfn);
	if (page && fpb_is_free_block(zone, page, cur->order))
		return &page->buddy_list;

	st->lost_resumes++;
	if (++cur->restarts > FPB_MAX_RESTARTS)
		return head;	/* give up on this list */
	return head->next;
}

/*
 * Mark up to @budget blocks from @cur on.  Called with zone->lock held.
 * Returns true once every list of the zone has been walked.
 */
static bool fpb_walk_locked(struct zone *zone, struct fpb_map *map,
			    struct fpb_cursor *cur, unsigned int budget,
			    struct fpb_walk_stats *st)
{
	lockdep_assert_held(&zone->lock);
	for (; cur->order < FPB_NR_ORDERS; cur->order++, cur->mt = 0) {
		for (; cur->mt < MIGRATE_TYPES;
		     cur->mt++, cur->restarts = 0, cur->resume = false) {
			struct free_area *area = &zone->free_area[cur->order];
			struct list_head *head = &area->free_list[cur->mt];
			struct list_head *node;

			/*
			 * Isolated pageblocks are on their way out of the
			 * allocator (memory offline, alloc_contig_range()), so
			 * their lists are not walked.  A block isolated while
			 * the lock was dropped may still be marked from a
			 * resume: it was free under the lock when marked,
			 * which is all the safety argument needs, and telling
			 * it apart would take the pageblock flags, which a
			 * module cannot read.
			 */
			if (is_migrate_isolate(cur->mt))
				continue;

			node = fpb_walk_resume(zone, cur, head, st);
			for (; !fpb_is_list_head(zone, node); node = node->next) {
				struct page *page;

				page = list_entry(node, struct page, buddy_list);
				if (!budget--) {
					cur->next_pfn = page_to_pfn(page);
					cur->resume = true;
					return false;
				}
				/* Lists hold only free blocks; check anyway. */
				if (!fpb_is_free_block(zone, page, cur->order))
					continue;
				fpb_map_mark(map, page_to_pfn(page),
					     1UL << cur->order);
				st->blocks++;
			}
		}
	}
	return true;
}

/* The order of the blocks on per-cpu list @pindex (mm/page_alloc.c). */
static unsigned int fpb_pcp_order(unsigned int pindex)
{
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
	if (pindex >= NR_LOWORDER_PCP_LISTS)
		return HPAGE_PMD_ORDER;
#endif
	return pindex / MIGRATE_PCPTYPES;
}

/*
 * Mark the blocks of per-cpu list @pindex, from the tail, @max_blocks of
 * them at most (0: all).  Called with pcp->lock held.
 */
static void fpb_walk_pcp_list_locked(struct zone *zone,
				     struct per_cpu_pages *pcp,
				     unsigned int pindex,
				     unsigned int max_blocks,
				     struct fpb_map *map,
				     struct fpb_walk_stats *st)
{
	unsigned int order = fpb_pcp_order(pindex);
	unsigned int n = 0;
	struct page *page;

	lockdep_assert_held(&pcp->lock);
	list_for_each_entry_reverse(page, &pcp->lists[pindex], pcp_list) {
		if (max_blocks && n++ == max_blocks) {
			st->pcp_capped++;
			break;
		}
		/* Free pages have no references; check anyway. */
		if (page_ref_count(page) || page_zone(page) != zone)
			continue;
		fpb_map_mark(map, page_to_pfn(page), 1UL << order);
		st->pcp_blocks++;
	}
}

/*
 * Freed pages of low orders wait on per-cpu lists before they reach the
 * buddy lists; after a job exits that can be tens of MiB per CPU.  They are
 * free just the same while pcp->lock is held: allocation takes them off
 * under that lock.  Remote CPUs' lists are locked the way drain_pages_zone()
 * does, one list per hold, for FPB_PCP_MAX_BLOCKS blocks at most where that
 * bounds the hold (see fpb.h).  A cut list cannot be resumed after the lock
 * is dropped, so its head goes unreported: coverage, never safety.  The
 * walk starts at the tail, where the oldest pages wait; the head's were
 * freed last and are the next to be allocated.
 */
void fpb_walk_pcp_list(struct zone *zone, struct per_cpu_pages *pcp,
		       unsigned int pindex, unsigned int max_blocks,
		       struct fpb_map *map, struct fpb_walk_stats *st)
{
	unsigned long flags = 0;
	u64 t0, held;

	if (FPB_PCP_IRQS_ON)
		spin_lock(&pcp->lock);
	else
		spin_lock_irqsave(&pcp->lock, flags);
	t0 = local_clock();
	fpb_walk_pcp_list_locked(zone, pcp, pindex, max_blocks, map, st);
	held = local_clock() - t0;
	if (FPB_PCP_IRQS_ON)
		spin_unlock(&pcp->lock);
	else
		spin_unlock_irqrestore(&pcp->lock, flags);
	st->max_pcp_hold_ns = max(st->max_pcp_hold_ns, held);
	trace_fpb_lock_hold(zone, true, held);
}

static void fpb_walk_pcp(struct zone *zone, struct fpb_map *map,
			 struct fpb_walk_stats *st)
{
	unsigned int cpu, pindex;

	for_each_possible_cpu(cpu) {
		struct per_cpu_pages *pcp;

		pcp = per_cpu_ptr(zone->per_cpu_pageset, cpu);
		if (!READ_ONCE(pcp->count))
			continue;
		for (pindex = 0; pindex < NR_PCP_LISTS; pindex++) {
			/* An unlocked peek: an empty list costs no lock. */
			if (list_empty(&pcp->lists[pindex]))
				continue;
			fpb_walk_pcp_list(zone, pcp, pindex,
					  FPB_PCP_MAX_BLOCKS, map, st);
			cond_resched();
		}
	}
}

unsigned int fpb_hold_bucket(u64 ns)
{
	u64 us = div_u64(ns, NSEC_PER_USEC);

	if (!us)
		return 0;
	return min_t(unsigned int, ilog2(us) + 1, FPB_HOLD_BUCKETS - 1);
}

void fpb_walk_zone(struct zone *zone, struct fpb_map *map,
		   unsigned int batch, struct fpb_walk_stats *st)
{
	struct fpb_cursor cur = { };
	unsigned long flags;
	bool done;

	st->buddy_free += zone_page_state(zone, NR_FREE_PAGES);
	do {
		u64 t0, held;

		spin_lock_irqsave(&zone->lock, flags);
		t0 = local_clock();
		done = fpb_walk_locked(zone, map, &cur, batch, st);
		held = local_clock() - t0;
		spin_unlock_irqrestore(&zone->lock, flags);

		st->holds++;
		st->max_hold_ns = max(st->max_hold_ns, held);
		st->hold_hist[fpb_hold_bucket(held)]++;
		trace_fpb_lock_hold(zone, false, held);
		/*
		 * Dropping the lock is safe: the cursor holds a pfn, not a
		 * pointer, and fpb_walk_resume() checks it under the lock.
		 * The pfn's memory map cannot go away meanwhile because memory
		 * offline waits for a running snapshot (fpb_memory_notify()).
		 */
		cond_resched();
	} while (!done);

	if (READ_ONCE(fpb_walk_pcp_lists))
		fpb_walk_pcp(zone, map, st);
}

void fpb_walk_all(struct fpb_map *map, unsigned int batch,
		  struct fpb_walk_stats *st)
{
	int nid;

	for_each_online_node(nid) {
		struct pglist_data *pgdat = NODE_DATA(nid);
		int z;

		for (z = 0; z < MAX_NR_ZONES; z++) {
			struct zone *zone = &pgdat->node_zones[z];

			if (populated_zone(zone))
				fpb_walk_zone(zone, map, batch, st);
		}
	}
}
