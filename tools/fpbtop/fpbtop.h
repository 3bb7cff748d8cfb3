/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What fpbtop's BPF side (fpbtop.bpf.c) hands its user side (fpbtop.c):
 * one record per snapshot through a ring buffer, and totals in the BPF
 * program's global data.
 */
#ifndef _FPBTOP_H
#define _FPBTOP_H

/*
 * Log2 histograms.  Slot 0 counts values under 1 unit, slot s values in
 * [2^(s-1), 2^s), the last slot everything longer.  Lock holds are in
 * microseconds, FPB_HOLD_BUCKETS slots: the buckets of debugfs "holds".
 * Allocation latencies are in nanoseconds.
 */
#define FPBTOP_HOLD_SLOTS	16
#define FPBTOP_ALLOC_SLOTS	32

/* Zones told apart in one snapshot; holds in any further zone are "other". */
#define FPBTOP_MAX_ZONES	8
#define FPBTOP_ZONE_NAME_LEN	16

struct fpbtop_lock {
	__u64 holds;
	__u64 total_ns;
	__u64 max_ns;
	__u64 hist[FPBTOP_HOLD_SLOTS];		/* microseconds */
};

struct fpbtop_alloc {
	__u64 count;
	__u64 failed;		/* the allocator returned NULL */
	__u64 total_ns;
	__u64 max_ns;
	__u64 hist[FPBTOP_ALLOC_SLOTS];		/* nanoseconds */
};

struct fpbtop_zone {
	__u64 zone;		/* its address, the key; 0: slot unused */
	__s32 nid;
	__u32 zid;		/* index in its node's zones */
	char name[FPBTOP_ZONE_NAME_LEN];
	__u64 zone_holds;
	__u64 zone_max_ns;
	__u64 pcp_holds;
	__u64 pcp_max_ns;
};

struct fpbtop_snapshot {
	__u64 request;		/* 0: a local snapshot (debugfs) */
	__u64 seq;		/* the even seq that published it */
	__u64 start_ns;		/* CLOCK_MONOTONIC at fpb_snapshot_start */
	__u64 latency_ns;	/* fpb_snapshot_start to fpb_snapshot_end */
	__u64 nr_free;		/* pages reported */
	__u64 walk_ns;		/* the module's walk time */
	__u64 max_hold_ns;	/* the module's longest zone->lock hold */
	__s64 result;		/* the host's answer, 0 for a local snapshot */
	__u64 other_zone_holds;	/* holds in zones past FPBTOP_MAX_ZONES */
	struct fpbtop_lock zone_lock;
	struct fpbtop_lock pcp_lock;
	struct fpbtop_alloc alloc;	/* allocations that ended meanwhile */
	struct fpbtop_zone zones[FPBTOP_MAX_ZONES];
};

#endif /* _FPBTOP_H */
