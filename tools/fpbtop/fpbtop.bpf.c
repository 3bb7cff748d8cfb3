// SPDX-License-Identifier: GPL-2.0
/*
 * fpbtop's BPF side.
 *
 * The FPB module's tracepoints mark each snapshot (fpb_snapshot_start,
 * fpb_snapshot_end) and each zone->lock and pcp->lock hold of its walker
 * (fpb_lock_hold).  The module is built without BTF of its own, so they
 * are raw tracepoints, their arguments read from the context in
 * TP_PROTO order.  Snapshots are serialized by the module's lock and the
 * end of one fires before the start of the next, so there is one snapshot
 * in progress at most: its record is built in snap_map and goes to user
 * space through the ring buffer when it ends.
 *
 * Page allocation latency is the time spent in the allocator's entry point
 * (__alloc_pages_noprof since 6.10, __alloc_pages before: user space
 * picks the one this kernel's BTF has), measured with fentry and fexit.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "fpbtop.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fpbtop_snapshot);
} snap_map SEC(".maps");

/*
 * Per task: when its outermost allocator call began.  An interrupt can
 * allocate inside an allocation of the task it interrupted: depth counts
 * the nesting, and only the outermost call is measured.  fpbtop.c attaches
 * fexit before fentry so that no call is seen entering but not leaving.
 */
struct alloc_start {
	__u64 ns;
	__u32 depth;
	__u32 during;		/* a snapshot ran when it began */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct alloc_start);
} alloc_map SEC(".maps");

/* Read by user space through the skeleton. */
struct fpbtop_alloc alloc_during;	/* began or ended while a snapshot ran */
struct fpbtop_alloc alloc_outside;
__u64 lost;		/* snapshot records the ring buffer had no room for */
__u64 partial;		/* snapshots that began before fpbtop attached */

static bool snapshot_running;
static const struct fpbtop_snapshot empty_snapshot;

static struct fpbtop_snapshot *current_snapshot(void)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(&snap_map, &key);
}

/* Slot of @v in a log2 histogram of @slots slots (fpbtop.h). */
static __always_inline __u32 log2_slot(__u64 v, __u32 slots)
{
	__u32 s = 0;

	while (v && s < slots - 1) {
		v >>= 1;
		s++;
	}
	return s;
}

static void lock_add(struct fpbtop_lock *l, __u64 ns)
{
	__u32 s = log2_slot(ns / 1000, FPBTOP_HOLD_SLOTS);

	l->holds++;
	l->total_ns += ns;
	if (ns > l->max_ns)
		l->max_ns = ns;
	l->hist[s & (FPBTOP_HOLD_SLOTS - 1)]++;
}

/*
 * Allocations end on every CPU at once: counts are atomic, the maximum is
 * a plain store and may miss a value that raced with a larger one.
 */
static void alloc_add(struct fpbtop_alloc *a, __u64 ns, bool failed)
{
	__u32 s = log2_slot(ns, FPBTOP_ALLOC_SLOTS);

	__sync_fetch_and_add(&a->count, 1);
	if (failed)
		__sync_fetch_and_add(&a->failed, 1);
	__sync_fetch_and_add(&a->total_ns, ns);
	if (ns > a->max_ns)
		a->max_ns = ns;
	__sync_fetch_and_add(&a->hist[s & (FPBTOP_ALLOC_SLOTS - 1)], 1);
}

/*
 * The snapshot's entry for @zone, keyed by its address; node, index and
 * name come from the kernel's own struct zone and pglist_data through
 * CO-RE, whose layouts differ between kernels.
 */
static struct fpbtop_zone *zone_entry(struct fpbtop_snapshot *s,
				      struct zone *zone)
{
	struct pglist_data *pgdat;
	const char *name;
	__u64 first;
	int i;

	for (i = 0; i < FPBTOP_MAX_ZONES; i++) {
		struct fpbtop_zone *z = &s->zones[i];

		if (z->zone == (__u64)zone)
			return z;
		if (z->zone)
			continue;
		z->zone = (__u64)zone;
		pgdat = BPF_CORE_READ(zone, zone_pgdat);
		if (bpf_core_field_exists(pgdat->node_id))
			z->nid = BPF_CORE_READ(pgdat, node_id);
		first = (__u64)pgdat +
			bpf_core_field_offset(struct pglist_data, node_zones);
		z->zid = ((__u64)zone - first) / bpf_core_type_size(struct zone);
		name = BPF_CORE_READ(zone, name);
		bpf_probe_read_kernel_str(z->name, sizeof(z->name), name);
		return z;
	}
	return NULL;
}

SEC("raw_tp/fpb_snapshot_start")
int BPF_PROG(snapshot_start, __u64 request)
{
	__u32 key = 0;
	struct fpbtop_snapshot *s;

	bpf_map_update_elem(&snap_map, &key, &empty_snapshot, BPF_ANY);
	s = current_snapshot();
	if (!s)
		return 0;
	s->request = request;
	s->start_ns = bpf_ktime_get_ns();
	snapshot_running = true;
	return 0;
}

SEC("raw_tp/fpb_lock_hold")
int BPF_PROG(lock_hold, struct zone *zone, bool pcp, __u64 held_ns)
{
	struct fpbtop_snapshot *s = current_snapshot();
	struct fpbtop_zone *z;

	if (!s || !snapshot_running)
		return 0;
	lock_add(pcp ? &s->pcp_lock : &s->zone_lock, held_ns);
	z = zone_entry(s, zone);
	if (!z) {
		s->other_zone_holds++;
	} else if (pcp) {
		z->pcp_holds++;
		if (held_ns > z->pcp_max_ns)
			z->pcp_max_ns = held_ns;
	} else {
		z->zone_holds++;
		if (held_ns > z->zone_max_ns)
			z->zone_max_ns = held_ns;
	}
	return 0;
}

SEC("raw_tp/fpb_snapshot_end")
int BPF_PROG(snapshot_end, __u64 request, __u64 seq, __u64 nr_free,
	     __u64 walk_ns, __u64 max_hold_ns, long result)
{
	struct fpbtop_snapshot *s = current_snapshot();

	if (!s)
		return 0;
	if (!snapshot_running || s->request != request) {
		partial++;
		return 0;
	}
	snapshot_running = false;
	s->seq = seq;
	s->latency_ns = bpf_ktime_get_ns() - s->start_ns;
	s->nr_free = nr_free;
	s->walk_ns = walk_ns;
	s->max_hold_ns = max_hold_ns;
	s->result = result;
	if (bpf_ringbuf_output(&events, s, sizeof(*s), 0))
		__sync_fetch_and_add(&lost, 1);
	return 0;
}

/* The program names the allocator; user space retargets both before load. */
SEC("fentry/__alloc_pages")
int BPF_PROG(alloc_enter)
{
	struct alloc_start *a;

	a = bpf_task_storage_get(&alloc_map, bpf_get_current_task_btf(), NULL,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!a)
		return 0;
	if (a->depth++)
		return 0;
	a->ns = bpf_ktime_get_ns();
	a->during = snapshot_running;
	return 0;
}

SEC("fexit/__alloc_pages")
int BPF_PROG(alloc_exit, gfp_t gfp, unsigned int order, int preferred_nid,
	     nodemask_t *nodemask, struct page *page)
{
	struct fpbtop_snapshot *s;
	struct alloc_start *a;
	bool running;
	__u64 ns;

	a = bpf_task_storage_get(&alloc_map, bpf_get_current_task_btf(), NULL,
				 0);
	/* No entry or depth 0: the call began before fpbtop attached. */
	if (!a || !a->depth || --a->depth)
		return 0;
	ns = bpf_ktime_get_ns() - a->ns;
	running = snapshot_running;
	if (running || a->during)
		alloc_add(&alloc_during, ns, !page);
	else
		alloc_add(&alloc_outside, ns, !page);
	s = current_snapshot();
	if (running && s)
		alloc_add(&s->alloc, ns, !page);
	return 0;
}
