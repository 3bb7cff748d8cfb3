// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for FPB's layout arithmetic, snapshot publication and the
 * free list walker, the latter against the real buddy allocator.
 * Built into a UML kernel by tools/testing/suites/kunit.
 */
#include <kunit/test.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include "fpb.h"

struct fpb_layout_case {
	const char *name;
	unsigned long end_pfn;
	int ret;
	unsigned int chunk_shift;
	unsigned int nr_chunks;
	unsigned int region_order;
};

#define GIB_PFNS(g)	((unsigned long)(g) << (30 - PAGE_SHIFT))

/* The table in Documentation/virt/kvm/fpb-abi.rst, plus the edges. */
static const struct fpb_layout_case fpb_layout_cases[] = {
	{ "one page", 1, 0, 15, 1, 0 },
	{ "512 MiB", GIB_PFNS(1) / 2, 0, 15, 4, 0 },
	{ "512 MiB + 1 page", GIB_PFNS(1) / 2 + 1, 0, 15, 5, 0 },
	{ "61 GiB (488 chunks, one page)", GIB_PFNS(61), 0, 15, 488, 0 },
	{ "64 GiB", GIB_PFNS(64), 0, 15, 512, 1 },
	{ "1 TiB", GIB_PFNS(1024), 0, 16, 4096, 4 },
	{ "4 TiB", GIB_PFNS(4096), 0, 18, 4096, 4 },
	{ "64 TiB", GIB_PFNS(65536), 0, 22, 4096, 4 },
	{ "no memory", 0, -EINVAL },
	{ "beyond 2^24-page chunks", (8168UL << 24) + 1, -E2BIG },
};

static void fpb_layout_case_desc(const struct fpb_layout_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(fpb_layout, fpb_layout_cases, fpb_layout_case_desc);

static void fpb_test_layout(struct kunit *test)
{
	const struct fpb_layout_case *c = test->param_value;
	struct fpb_layout l = { };
	int ret = fpb_layout_init(&l, c->end_pfn);

	KUNIT_ASSERT_EQ(test, ret, c->ret);
	if (ret)
		return;
	KUNIT_EXPECT_EQ(test, l.chunk_shift, c->chunk_shift);
	KUNIT_EXPECT_EQ(test, l.nr_chunks, c->nr_chunks);
	KUNIT_EXPECT_EQ(test, l.region_order, c->region_order);
	/* The table covers the memory and fits the region. */
	KUNIT_EXPECT_GE(test, fpb_layout_end_pfn(&l), c->end_pfn);
	KUNIT_EXPECT_LE(test, sizeof(struct kvm_fpb_header) +
			l.nr_chunks * sizeof(__u64), PAGE_SIZE << l.region_order);
	KUNIT_EXPECT_LE(test, PAGE_SIZE << l.region_order, KVM_FPB_REGION_MAX);
}

static int fpb_test_init(struct kunit *test)
{
	struct fpb_map *map = kunit_kzalloc(test, sizeof(*map), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, map);
	test->priv = map;
	return 0;
}

static void fpb_test_exit(struct kunit *test)
{
	fpb_map_free(test->priv);
}

/* Holes: marks in an absent chunk or past the table go nowhere. */
static void fpb_test_holes(struct kunit *test)
{
	struct fpb_map *map = test->priv;
	unsigned long per = 1UL << KVM_FPB_CHUNK_SHIFT_MIN;

	KUNIT_ASSERT_EQ(test, fpb_map_alloc(map, 4 * per), 0);
	KUNIT_ASSERT_EQ(test, map->layout.nr_chunks, 4U);
	/* Chunks 1 and 3 present, 0 and 2 holes. */
	KUNIT_ASSERT_EQ(test, fpb_map_cover(map, per, 1), 0);
	KUNIT_ASSERT_EQ(test, fpb_map_cover(map, 3 * per + 5, 1), 0);
	KUNIT_EXPECT_NULL(test, map->chunk[0]);
	KUNIT_EXPECT_NOT_NULL(test, map->chunk[1]);
	KUNIT_EXPECT_NULL(test, map->chunk[2]);

	/* A run across chunk 0 (hole) into chunk 1 (present). */
	fpb_map_mark(map, per - 8, 16);
	KUNIT_EXPECT_FALSE(test, fpb_map_test(map, per - 1));
	KUNIT_EXPECT_TRUE(test, fpb_map_test(map, per));
	KUNIT_EXPECT_TRUE(test, fpb_map_test(map, per + 7));
	KUNIT_EXPECT_FALSE(test, fpb_map_test(map, per + 8));
	/* Past the table. */
	fpb_map_mark(map, 4 * per - 2, 100);
	KUNIT_EXPECT_TRUE(test, fpb_map_test(map, 4 * per - 1));
	KUNIT_EXPECT_FALSE(test, fpb_map_test(map, 4 * per));
	KUNIT_EXPECT_EQ(test, fpb_map_weight(map), 8ULL + 2);

	/* The published table lists present chunks only. */
	fpb_map_publish_table(map);
	KUNIT_EXPECT_EQ(test, map->hdr->chunk[0], 0ULL);
	KUNIT_EXPECT_EQ(test, map->hdr->chunk[1],
			virt_to_phys(map->chunk[1]) | KVM_FPB_CHUNK_PRESENT);
	KUNIT_EXPECT_EQ(test, map->hdr->chunk[1] & ~KVM_FPB_CHUNK_GPA_MASK,
			KVM_FPB_CHUNK_PRESENT);
	KUNIT_EXPECT_EQ(test, map->hdr->chunk[2], 0ULL);

	fpb_map_clear(map);
	KUNIT_EXPECT_EQ(test, fpb_map_weight(map), 0ULL);
}

static void fpb_test_header(struct kunit *test)
{
	struct fpb_map *map = test->priv;

	KUNIT_ASSERT_EQ(test, fpb_map_alloc(map, 1000), 0);
	KUNIT_EXPECT_EQ(test, map->hdr->magic, KVM_FPB_MAGIC);
	KUNIT_EXPECT_EQ(test, map->hdr->version, KVM_FPB_VERSION);
	KUNIT_EXPECT_EQ(test, map->hdr->header_size, 192);
	KUNIT_EXPECT_EQ(test, map->hdr->chunk_shift, map->layout.chunk_shift);
	KUNIT_EXPECT_EQ(test, map->hdr->nr_chunks, map->layout.nr_chunks);
	KUNIT_EXPECT_EQ(test, map->hdr->request, 0ULL);
	KUNIT_EXPECT_TRUE(test, IS_ALIGNED(virt_to_phys(map->hdr), PAGE_SIZE));
}

static void fpb_test_seq(struct kunit *test)
{
	struct fpb_map *map = test->priv;
	u64 seq;

	KUNIT_ASSERT_EQ(test, fpb_map_alloc(map, 1UL << 15), 0);
	KUNIT_ASSERT_EQ(test, fpb_map_cover(map, 0, 1), 0);
	KUNIT_EXPECT_EQ(test, map->hdr->seq, 0ULL);

	fpb_snapshot_begin(map);
	KUNIT_EXPECT_EQ(test, map->hdr->seq, 1ULL);
	fpb_map_mark(map, 10, 3);
	seq = fpb_snapshot_end(map, 42);
	KUNIT_EXPECT_EQ(test, seq, 2ULL);
	KUNIT_EXPECT_EQ(test, map->hdr->seq, 2ULL);
	KUNIT_EXPECT_EQ(test, map->hdr->snapshot_request, 42ULL);
	KUNIT_EXPECT_EQ(test, map->hdr->nr_free, 3ULL);

	/* A snapshot that never ended leaves seq odd; the next stays odd. */
	fpb_snapshot_begin(map);
	KUNIT_EXPECT_EQ(test, map->hdr->seq, 3ULL);
	fpb_snapshot_begin(map);
	KUNIT_EXPECT_EQ(test, map->hdr->seq, 5ULL);
	KUNIT_EXPECT_EQ(test, fpb_snapshot_end(map, 43), 6ULL);
}

#define FPB_HELD	64

struct fpb_held {
	struct page *page[FPB_HELD];
	unsigned int order[FPB_HELD];
};

static void fpb_hold(struct kunit *test, struct fpb_held *h)
{
	int i;

	for (i = 0; i < FPB_HELD; i++) {
		h->order[i] = i % 5;
		h->page[i] = alloc_pages(GFP_KERNEL, h->order[i]);
		KUNIT_ASSERT_NOT_NULL(test, h->page[i]);
	}
}

static void fpb_release(struct fpb_held *h)
{
	int i;

	for (i = 0; i < FPB_HELD; i++)
		if (h->page[i])
			__free_pages(h->page[i], h->order[i]);
}

static unsigned long fpb_held_marked(struct fpb_map *map, struct fpb_held *h)
{
	unsigned long n = 0, pfn, j;
	int i;

	for (i = 0; i < FPB_HELD; i++) {
		pfn = page_to_pfn(h->page[i]);
		for (j = 0; j < (1UL << h->order[i]); j++)
			n += fpb_map_test(map, pfn + j);
	}
	return n;
}

static void fpb_walk_map(struct kunit *test, struct fpb_map *map,
			 unsigned int batch, struct fpb_walk_stats *st)
{
	KUNIT_ASSERT_EQ(test, fpb_map_alloc(map, fpb_online_end_pfn()), 0);
	KUNIT_ASSERT_EQ(test, fpb_map_cover_online(map), 0);
	fpb_snapshot_take(map, 1, batch, st);
}

/* The property everything rests on, with two lock batch sizes. */
static void fpb_test_held_not_marked(struct kunit *test)
{
	static const unsigned int batches[] = { 256, 1 };
	struct fpb_map *map = test->priv;
	struct fpb_held *h;
	int b;

	h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, h);
	fpb_hold(test, h);
	for (b = 0; b < ARRAY_SIZE(batches); b++) {
		struct fpb_walk_stats st = { };

		fpb_walk_map(test, map, batches[b], &st);
		KUNIT_EXPECT_EQ_MSG(test, fpb_held_marked(map, h), 0UL,
				    "batch %u", batches[b]);
		KUNIT_EXPECT_GT(test, fpb_map_weight(map), 0ULL);
		KUNIT_EXPECT_GT(test, st.blocks, 0ULL);
		if (batches[b] == 1)
			KUNIT_EXPECT_GE(test, st.holds, st.blocks);
		fpb_map_free(map);
	}
	fpb_release(h);
}

/*
 * A block above the orders the per-cpu lists cache goes straight back to
 * the buddy lists when freed, so the next snapshot must mark all of it.
 * The map is allocated before the block is freed: allocated after, its
 * header, chunk table and bitmaps (and, under KASAN, a new stack depot
 * pool of 4 pages) can be carved out of that very block, which is then
 * rightly not all free (seen in the UML run with KASAN: 12 of 16).
 */
static void fpb_test_freed_marked(struct kunit *test)
{
	const unsigned int order = PAGE_ALLOC_COSTLY_ORDER + 1;
	struct fpb_map *map = test->priv;
	struct fpb_walk_stats st = { };
	unsigned long pfn, j, n = 0;
	struct page *page;

	page = alloc_pages(GFP_KERNEL, order);
	KUNIT_ASSERT_NOT_NULL(test, page);
	pfn = page_to_pfn(page);
	KUNIT_ASSERT_EQ(test, fpb_map_alloc(map, fpb_online_end_pfn()), 0);
	KUNIT_ASSERT_EQ(test, fpb_map_cover_online(map), 0);
	__free_pages(page, order);

	fpb_snapshot_take(map, 1, 256, &st);
	for (j = 0; j < (1UL << order); j++)
		n += fpb_map_test(map, pfn + j);
	KUNIT_EXPECT_EQ(test, n, 1UL << order);
	/* Every bit set was counted, and nothing beyond what is free. */
	KUNIT_EXPECT_EQ(test, map->hdr->nr_free, fpb_map_weight(map));
}

/* Bucket edges of the zone->lock hold histogram, and one count per hold. */
static void fpb_test_hold_buckets(struct kunit *test)
{
	static const struct { u64 ns; unsigned int bucket; } cases[] = {
		{ 0, 0 }, { 999, 0 }, { 1000, 1 }, { 1999, 1 }, { 2000, 2 },
		{ 3999, 2 }, { 4000, 3 }, { 16383999, 14 }, { 16384000, 15 },
		{ U64_MAX, FPB_HOLD_BUCKETS - 1 },
	};
	struct fpb_map *map = test->priv;
	struct fpb_walk_stats st = { };
	u64 sum = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		KUNIT_EXPECT_EQ_MSG(test, fpb_hold_bucket(cases[i].ns),
				    cases[i].bucket, "%llu ns", cases[i].ns);
	fpb_walk_map(test, map, 1, &st);
	for (i = 0; i < FPB_HOLD_BUCKETS; i++)
		sum += st.hold_hist[i];
	KUNIT_EXPECT_EQ(test, sum, st.holds);
}

#define FPB_PCP_TEST_PAGES	2112

/*
 * A pcp->lock hold covers the whole list, or with a bound (kernels before
 * 6.2) that many blocks of it, the oldest (tail) first.  The list is a
 * private one filled with pages whose references are frozen to zero, as on
 * a real per-cpu list.
 */
static void fpb_test_pcp_list(struct kunit *test)
{
	static const unsigned int bounds[] = { 0, 2048, 1 };
	struct fpb_map *map = test->priv;
	struct per_cpu_pages *pcp;
	struct page **pages;
	int i, b, n = 0;

	pcp = kunit_kzalloc(test, sizeof(*pcp), GFP_KERNEL);
	pages = kunit_kcalloc(test, FPB_PCP_TEST_PAGES, sizeof(*pages),
			      GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pcp);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	spin_lock_init(&pcp->lock);
	for (i = 0; i < NR_PCP_LISTS; i++)
		INIT_LIST_HEAD(&pcp->lists[i]);
	for (n = 0; n < FPB_PCP_TEST_PAGES; n++) {
		pages[n] = alloc_page(GFP_KERNEL);
		if (!pages[n] || !page_ref_freeze(pages[n], 1))
			break;
		/* Freeing adds at the head: pages[0] ends up at the tail. */
		list_add(&pages[n]->pcp_list, &pcp->lists[0]);
	}
	for (b = 0; b < ARRAY_SIZE(bounds) && n == FPB_PCP_TEST_PAGES; b++) {
		unsigned int want = bounds[b] ?: FPB_PCP_TEST_PAGES;
		struct fpb_walk_stats st = { };
		unsigned long marked = 0;

		KUNIT_ASSERT_EQ(test, fpb_map_alloc(map, fpb_online_end_pfn()), 0);
		KUNIT_ASSERT_EQ(test, fpb_map_cover_online(map), 0);
		fpb_walk_pcp_list(page_zone(pages[0]), pcp, 0, bounds[b], map,
				  &st);
		KUNIT_EXPECT_EQ(test, st.pcp_blocks, (u64)want);
		KUNIT_EXPECT_EQ(test, st.pcp_capped, bounds[b] ? 1ULL : 0ULL);
		for (i = 0; i < FPB_PCP_TEST_PAGES; i++) {
			bool m = fpb_map_test(map, page_to_pfn(pages[i]));
			bool in_bound = i < want;

			marked += m;
			if (m != in_bound)
				KUNIT_FAIL(test, "bound %u: page %d (from the tail) %s",
					   bounds[b], i, m ? "marked" : "not marked");
		}
		KUNIT_EXPECT_EQ(test, marked, (unsigned long)want);
		fpb_map_free(map);
	}
	for (i = 0; i < n; i++) {
		list_del(&pages[i]->pcp_list);
		page_ref_unfreeze(pages[i], 1);
		__free_page(pages[i]);
	}
	if (n < FPB_PCP_TEST_PAGES && pages[n])
		__free_page(pages[n]);
	KUNIT_ASSERT_EQ(test, n, FPB_PCP_TEST_PAGES);
}

/* Each snapshot starts from a cleared bitmap. */
static void fpb_test_stale_cleared(struct kunit *test)
{
	struct fpb_map *map = test->priv;
	struct fpb_walk_stats st = { };
	struct page *page = alloc_page(GFP_KERNEL);
	unsigned long pfn;

	KUNIT_ASSERT_NOT_NULL(test, page);
	pfn = page_to_pfn(page);
	KUNIT_ASSERT_EQ(test, fpb_map_alloc(map, fpb_online_end_pfn()), 0);
	KUNIT_ASSERT_EQ(test, fpb_map_cover_online(map), 0);
	fpb_map_mark(map, pfn, 1);
	KUNIT_ASSERT_TRUE(test, fpb_map_test(map, pfn));
	fpb_snapshot_take(map, 7, 256, &st);
	KUNIT_EXPECT_FALSE(test, fpb_map_test(map, pfn));
	KUNIT_EXPECT_EQ(test, map->hdr->snapshot_request, 7ULL);
	__free_page(page);
}

static struct kunit_case fpb_test_cases[] = {
	KUNIT_CASE_PARAM(fpb_test_layout, fpb_layout_gen_params),
	KUNIT_CASE(fpb_test_header),
	KUNIT_CASE(fpb_test_holes),
	KUNIT_CASE(fpb_test_seq),
	KUNIT_CASE(fpb_test_held_not_marked),
	KUNIT_CASE(fpb_test_freed_marked),
	KUNIT_CASE(fpb_test_stale_cleared),
	KUNIT_CASE(fpb_test_hold_buckets),
	KUNIT_CASE(fpb_test_pcp_list),
	{}
};

static struct kunit_suite fpb_test_suite = {
	.name = "fpb",
	.init = fpb_test_init,
	.exit = fpb_test_exit,
	.test_cases = fpb_test_cases,
};

kunit_test_suite(fpb_test_suite);

MODULE_DESCRIPTION("KUnit tests for the FPB free page bitmap");
MODULE_LICENSE("GPL");
