/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The module around the walker: its one device and what its files share.
 * fpb_main.c loads and unloads it, fpb_params.c holds the parameters,
 * fpb_hypercall.c talks to the host, fpb_poll.c answers its requests,
 * fpb_hotplug.c follows memory hotplug, fpb_lifetime.c unregisters before
 * reboot, on panic and around power transitions, fpb_debugfs.c shows the
 * counters and the bitmap.
 * (fpb.h is the part KUnit runs: layout, walk and snapshot.)
 */
#ifndef _FPB_DEV_H
#define _FPB_DEV_H

#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include "fpb.h"

struct dentry;

struct fpb_stats {
	u64 polls;
	u64 snapshots;		/* all, local ones included */
	u64 applied;		/* host used it */
	u64 discarded;		/* host found it well formed but unwanted */
	u64 rejected;		/* host found it invalid */
	u64 last_request;
	u64 last_nr_free;
	u64 last_buddy_free;
	u64 last_walk_ns;
	u64 max_walk_ns;
	u64 last_max_hold_ns;
	u64 max_hold_ns;
	u64 lock_holds;
	u64 lost_resumes;
	u64 last_pcp_blocks;
	u64 max_pcp_hold_ns;
	u64 last_pcp_capped;
	u64 remaps;
	u64 hold_hist[FPB_HOLD_BUCKETS];	/* all zone->lock holds */
};

struct fpb_dev {
	/* Serializes snapshots, map changes and (un)registration. */
	struct mutex lock;
	struct fpb_map map;
	bool active;		/* init got past the checks */
	bool registered;	/* the host knows our region */
	u64 answered;		/* last request answered */
	struct workqueue_struct *wq;
	struct delayed_work poll;
	struct work_struct remap;
	struct dentry *dbg;
	struct fpb_stats stats;
};

/* fpb_main.c */
extern struct fpb_dev fpb;

/* fpb_params.c */
extern bool fpb_enable;
extern bool fpb_test_mode;
extern unsigned int fpb_poll_ms;
extern unsigned int fpb_batch;
extern unsigned int fpb_answer_delay_ms;

/* fpb_hypercall.c */
long fpb_hypercall(unsigned long op, unsigned long a1, unsigned long a2);
bool fpb_host_offers(void);
int fpb_register_locked(void);
void fpb_unregister_locked(void);

/* fpb_poll.c */
long fpb_snapshot(u64 request, bool notify);
void fpb_poll_fn(struct work_struct *work);

/* fpb_hotplug.c */
extern struct notifier_block fpb_memory_nb;
void fpb_remap_fn(struct work_struct *work);

/* fpb_lifetime.c */
extern struct notifier_block fpb_reboot_nb;
extern struct notifier_block fpb_panic_nb;
extern struct notifier_block fpb_pm_nb;

/* fpb_debugfs.c */
void fpb_debugfs_init(void);
void fpb_debugfs_exit(void);

#endif /* _FPB_DEV_H */
