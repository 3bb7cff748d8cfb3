// SPDX-License-Identifier: GPL-2.0
/*
 * Publishing a snapshot under the header's sequence counter.
 *
 * seq is odd while the guest writes the table, the bitmap, nr_free and
 * snapshot_request; the host reads seq before and after copying, and a
 * change or an odd value tells it the copy is torn.
 */
#include <linux/compiler.h>
#include "fpb.h"

void fpb_snapshot_begin(struct fpb_map *map)
{
	u64 seq = READ_ONCE(map->hdr->seq);

	/* An odd seq can only be left by a snapshot that never ended. */
	WRITE_ONCE(map->hdr->seq, seq + ((seq & 1) ? 2 : 1));
	/* The host must see seq odd before any of the writes below. */
	smp_wmb();
}

u64 fpb_snapshot_end(struct fpb_map *map, u64 request)
{
	u64 seq = READ_ONCE(map->hdr->seq) + 1;

	WRITE_ONCE(map->hdr->nr_free, fpb_map_weight(map));
	WRITE_ONCE(map->hdr->snapshot_request, request);
	/* Everything above must be visible before seq turns even. */
	smp_wmb();
	WRITE_ONCE(map->hdr->seq, seq);
	return seq;
}

/*
 * Take a complete snapshot answering @request and return the even seq that
 * publishes it.  The caller read @request from the header before calling,
 * so every page's free instant follows the host's request.
 */
u64 fpb_snapshot_take(struct fpb_map *map, u64 request, unsigned int batch,
		      struct fpb_walk_stats *st)
{
	fpb_snapshot_begin(map);
	fpb_map_publish_table(map);
	fpb_map_clear(map);
	fpb_walk_all(map, batch, st);
	return fpb_snapshot_end(map, request);
}
