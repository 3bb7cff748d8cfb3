/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM fpb

#if !defined(_FPB_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _FPB_TRACE_H

#include <linux/mmzone.h>
#include <linux/tracepoint.h>

TRACE_EVENT(fpb_snapshot_start,
	    TP_PROTO(u64 request),
	    TP_ARGS(request),
	    TP_STRUCT__entry(__field(u64, request)),
	    TP_fast_assign(__entry->request = request;),
	    TP_printk("request=%llu", __entry->request)
);

TRACE_EVENT(fpb_snapshot_end,
	    TP_PROTO(u64 request, u64 seq, u64 nr_free, u64 walk_ns,
		     u64 max_hold_ns, long result),
	    TP_ARGS(request, seq, nr_free, walk_ns, max_hold_ns, result),
	    TP_STRUCT__entry(__field(u64, request)
			     __field(u64, seq)
			     __field(u64, nr_free)
			     __field(u64, walk_ns)
			     __field(u64, max_hold_ns)
			     __field(long, result)),
	    TP_fast_assign(__entry->request = request;
			   __entry->seq = seq;
			   __entry->nr_free = nr_free;
			   __entry->walk_ns = walk_ns;
			   __entry->max_hold_ns = max_hold_ns;
			   __entry->result = result;),
	    TP_printk("request=%llu seq=%llu nr_free=%llu walk_ns=%llu max_hold_ns=%llu result=%ld",
		      __entry->request, __entry->seq, __entry->nr_free,
		      __entry->walk_ns, __entry->max_hold_ns, __entry->result)
);

/*
 * One zone->lock or pcp->lock hold of the walker, emitted after the unlock
 * with the time the walker measured under the lock (what debugfs "holds"
 * and the max_*hold_ns counters account).
 */
TRACE_EVENT(fpb_lock_hold,
	    TP_PROTO(struct zone *zone, bool pcp, u64 held_ns),
	    TP_ARGS(zone, pcp, held_ns),
	    TP_STRUCT__entry(__field(int, nid)
			     __field(int, zid)
			     __field(bool, pcp)
			     __field(u64, held_ns)),
	    TP_fast_assign(__entry->nid = zone_to_nid(zone);
			   __entry->zid = zone_idx(zone);
			   __entry->pcp = pcp;
			   __entry->held_ns = held_ns;),
	    TP_printk("nid=%d zid=%d lock=%s held_ns=%llu",
		      __entry->nid, __entry->zid,
		      __entry->pcp ? "pcp" : "zone", __entry->held_ns)
);

#endif /* _FPB_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE fpb_trace
#include <trace/define_trace.h>
