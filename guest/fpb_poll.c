// SPDX-License-Identifier: GPL-2.0
/*
 * Answering the host: every poll_ms the worker looks for a new request in
 * the header, takes a snapshot and tells the host it is there.  Each
 * snapshot, local ones included, is accounted in the module's counters.
 */
#include <linux/compiler.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/delay.h>
#include <linux/mutex.h>
#include <linux/workqueue.h>
#include "fpb_dev.h"
#include "fpb_trace.h"

static void fpb_account(const struct fpb_walk_stats *st, u64 walk_ns)
{
	struct fpb_stats *s = &fpb.stats;
	int i;

	s->snapshots++;
	s->last_nr_free = READ_ONCE(fpb.map.hdr->nr_free);
	s->last_buddy_free = st->buddy_free;
	s->last_walk_ns = walk_ns;
	s->max_walk_ns = max(s->max_walk_ns, walk_ns);
	s->last_max_hold_ns = st->max_hold_ns;
	s->max_hold_ns = max(s->max_hold_ns, st->max_hold_ns);
	s->lock_holds += st->holds;
	s->lost_resumes += st->lost_resumes;
	s->last_pcp_blocks = st->pcp_blocks;
	s->max_pcp_hold_ns = max(s->max_pcp_hold_ns, st->max_pcp_hold_ns);
	s->last_pcp_capped = st->pcp_capped;
	for (i = 0; i < FPB_HOLD_BUCKETS; i++)
		s->hold_hist[i] += st->hold_hist[i];
}

/*
 * Take a snapshot for @request (0: local, for debugfs) and, if @notify,
 * tell the host.  The host copies the bitmap inside the hypercall, so the
 * lock is held across it: no local snapshot can rewrite the bitmap under
 * the host's copy.
 */
long fpb_snapshot(u64 request, bool notify)
{
	struct fpb_walk_stats st = { };
	long ret = 0;
	u64 t0, seq;

	mutex_lock(&fpb.lock);
	trace_fpb_snapshot_start(request);
	t0 = ktime_get_ns();
	seq = fpb_snapshot_take(&fpb.map, request, READ_ONCE(fpb_batch), &st);
	fpb_account(&st, ktime_get_ns() - t0);
	if (notify && fpb.registered) {
		if (READ_ONCE(fpb_answer_delay_ms))
			msleep(READ_ONCE(fpb_answer_delay_ms));
		fpb.answered = request;
		fpb.stats.last_request = request;
		ret = fpb_hypercall(KVM_FPB_OP_SNAPSHOT_DONE, request, seq);
		if (ret == 0)
			fpb.stats.applied++;
		else if (ret == KVM_FPB_DISCARDED)
			fpb.stats.discarded++;
		else
			fpb.stats.rejected++;
	}
	/*
	 * Under the lock: the counters are this snapshot's, and its end comes
	 * before the next snapshot's start.
	 */
	trace_fpb_snapshot_end(request, seq, fpb.stats.last_nr_free,
			       fpb.stats.last_walk_ns, st.max_hold_ns, ret);
	mutex_unlock(&fpb.lock);
	return ret;
}

void fpb_poll_fn(struct work_struct *work)
{
	u64 request = READ_ONCE(fpb.map.hdr->request);

	fpb.stats.polls++;
	if (request && request != READ_ONCE(fpb.answered)) {
		/*
		 * The walk's loads must follow the load of request: each
		 * page's free instant has to come after the host armed
		 * dirty tracking and wrote the request.
		 */
		smp_rmb();
		fpb_snapshot(request, true);
	}
	queue_delayed_work(fpb.wq, &fpb.poll,
			   msecs_to_jiffies(READ_ONCE(fpb_poll_ms)));
}
