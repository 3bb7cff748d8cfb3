// SPDX-License-Identifier: GPL-2.0
/*
 * Geometry and memory of the shared bitmap.
 *
 * The bitmap is split into chunks of at most a few pages each, listed by
 * guest-physical address in the header region, so nothing larger than
 * 64 KiB has to be physically contiguous even for multi-TiB guests.
 */
#include <linux/bitmap.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/slab.h>
#include <linux/io.h>
#include "fpb.h"

static unsigned int fpb_region_capacity(unsigned int order)
{
	return ((PAGE_SIZE << order) - sizeof(struct kvm_fpb_header)) /
	       sizeof(__u64);
}

/*
 * Pick the smallest chunks whose table fits a region of at most 64 KiB,
 * then the smallest such region: every allocation stays small.
 */
int fpb_layout_init(struct fpb_layout *l, unsigned long end_pfn)
{
	unsigned int shift, order;

	BUILD_BUG_ON(PAGE_SHIFT != KVM_FPB_PAGE_SHIFT);
	BUILD_BUG_ON(sizeof(struct kvm_fpb_header) != 192);
	BUILD_BUG_ON((PAGE_SIZE << FPB_REGION_MAX_ORDER) > KVM_FPB_REGION_MAX);

	if (!end_pfn)
		return -EINVAL;

	for (shift = KVM_FPB_CHUNK_SHIFT_MIN;
	     shift <= KVM_FPB_CHUNK_SHIFT_MAX; shift++) {
		unsigned long nr = DIV_ROUND_UP(end_pfn, 1UL << shift);

		for (order = 0; order <= FPB_REGION_MAX_ORDER; order++) {
			if (nr <= fpb_region_capacity(order)) {
				l->chunk_shift = shift;
				l->nr_chunks = nr;
				l->region_order = order;
				return 0;
			}
		}
	}
	return -E2BIG;
}

static unsigned int fpb_chunk_order(const struct fpb_layout *l)
{
	return get_order(fpb_chunk_bytes(l));
}

int fpb_map_alloc(struct fpb_map *map, unsigned long end_pfn)
{
	struct kvm_fpb_header *hdr;
	struct page *page;
	int ret;

	memset(map, 0, sizeof(*map));
	ret = fpb_layout_init(&map->layout, end_pfn);
	if (ret)
		return ret;

	map->chunk = kcalloc(map->layout.nr_chunks, sizeof(*map->chunk),
			     GFP_KERNEL);
	if (!map->chunk)
		return -ENOMEM;

	page = alloc_pages(GFP_KERNEL | __GFP_ZERO, map->layout.region_order);
	if (!page) {
		kfree(map->chunk);
		map->chunk = NULL;
		return -ENOMEM;
	}
	hdr = page_address(page);
	hdr->magic = KVM_FPB_MAGIC;
	hdr->version = KVM_FPB_VERSION;
	hdr->header_size = sizeof(*hdr);
	hdr->chunk_shift = map->layout.chunk_shift;
	hdr->nr_chunks = map->layout.nr_chunks;
	map->hdr = hdr;
	return 0;
}

void fpb_map_free(struct fpb_map *map)
{
	unsigned int i, order = fpb_chunk_order(&map->layout);

	if (map->chunk) {
		for (i = 0; i < map->layout.nr_chunks; i++)
			if (map->chunk[i])
				free_pages((unsigned long)map->chunk[i], order);
		kfree(map->chunk);
	}
	if (map->hdr)
		free_pages((unsigned long)map->hdr, map->layout.region_order);
	memset(map, 0, sizeof(*map));
}

/*
 * Give [start_pfn, start_pfn + nr_pages) a bitmap.  Memory past the table
 * stays uncovered: its pages are simply never reported.  A chunk that
 * cannot be allocated is a hole, which is just as safe.
 */
int fpb_map_cover(struct fpb_map *map, unsigned long start_pfn,
		  unsigned long nr_pages)
{
	const struct fpb_layout *l = &map->layout;
	unsigned long first, last, i;
	int ret = 0;

	if (!nr_pages)
		return 0;
	first = start_pfn >> l->chunk_shift;
	last = (start_pfn + nr_pages - 1) >> l->chunk_shift;
	if (last >= l->nr_chunks)
		last = l->nr_chunks - 1;

	for (i = first; i <= last && i < l->nr_chunks; i++) {
		unsigned long va;

		if (map->chunk[i])
			continue;
		va = __get_free_pages(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN,
				      fpb_chunk_order(l));
		if (!va) {
			ret = -ENOMEM;
			continue;
		}
		map->chunk[i] = (unsigned long *)va;
	}
	return ret;
}

unsigned long fpb_online_end_pfn(void)
{
	unsigned long end = 0;
	int nid;

	for_each_online_node(nid)
		end = max(end, pgdat_end_pfn(NODE_DATA(nid)));
	return end;
}

int fpb_map_cover_online(struct fpb_map *map)
{
	int nid, ret = 0;

	for_each_online_node(nid) {
		struct pglist_data *pgdat = NODE_DATA(nid);
		int z;

		for (z = 0; z < MAX_NR_ZONES; z++) {
			struct zone *zone = &pgdat->node_zones[z];

			if (!populated_zone(zone))
				continue;
			ret = fpb_map_cover(map, zone->zone_start_pfn,
					    zone->spanned_pages) ?: ret;
		}
	}
	return ret;
}

void fpb_map_clear(struct fpb_map *map)
{
	unsigned int i;

	for (i = 0; i < map->layout.nr_chunks; i++)
		if (map->chunk[i])
			memset(map->chunk[i], 0, fpb_chunk_bytes(&map->layout));
}

/* Only inside a snapshot (seq odd): the host reads the table under seq. */
void fpb_map_publish_table(struct fpb_map *map)
{
	unsigned int i;

	for (i = 0; i < map->layout.nr_chunks; i++) {
		u64 e = 0;

		if (map->chunk[i])
			e = virt_to_phys(map->chunk[i]) | KVM_FPB_CHUNK_PRESENT;
		WRITE_ONCE(map->hdr->chunk[i], e);
	}
}

void fpb_map_mark(struct fpb_map *map, unsigned long pfn,
		  unsigned long nr_pages)
{
	const struct fpb_layout *l = &map->layout;
	unsigned long per_chunk = 1UL << l->chunk_shift;

	while (nr_pages) {
		unsigned long idx = pfn >> l->chunk_shift;
		unsigned long off = pfn & (per_chunk - 1);
		unsigned long n = min(nr_pages, per_chunk - off);

		if (idx >= l->nr_chunks)
			return;
		if (map->chunk[idx])
			bitmap_set(map->chunk[idx], off, n);
		pfn += n;
		nr_pages -= n;
	}
}

bool fpb_map_test(const struct fpb_map *map, unsigned long pfn)
{
	const struct fpb_layout *l = &map->layout;
	unsigned long idx = pfn >> l->chunk_shift;

	if (idx >= l->nr_chunks || !map->chunk[idx])
		return false;
	return test_bit(pfn & ((1UL << l->chunk_shift) - 1), map->chunk[idx]);
}

u64 fpb_map_weight(const struct fpb_map *map)
{
	unsigned int i;
	u64 w = 0;

	for (i = 0; i < map->layout.nr_chunks; i++)
		if (map->chunk[i])
			w += bitmap_weight(map->chunk[i],
					   1U << map->layout.chunk_shift);
	return w;
}
