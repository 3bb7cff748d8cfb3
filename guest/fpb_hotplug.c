// SPDX-License-Identifier: GPL-2.0
/*
 * Memory hotplug: memory coming online gets bitmap chunks before its pages
 * are freed, and a larger region when it lies past the table; memory going
 * offline waits out a running walk.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/memory.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/printk.h>
#include <linux/workqueue.h>
#include "fpb_dev.h"

/*
 * Memory came online past the table: build a larger region, register it
 * (the host replaces the old one), then free the old one.
 */
void fpb_remap_fn(struct work_struct *work)
{
	struct fpb_map new, old;
	int ret;

	ret = fpb_map_alloc(&new, fpb_online_end_pfn());
	if (ret) {
		pr_warn("cannot grow the bitmap (%d); new memory stays unreported\n",
			ret);
		return;
	}
	fpb_map_cover_online(&new);

	mutex_lock(&fpb.lock);
	old = fpb.map;
	fpb.map = new;
	if (fpb.registered) {
		fpb.registered = false;
		ret = fpb_register_locked();
		if (ret) {
			/* The host still holds the old region: keep it. */
			fpb.map = old;
			old = new;
			fpb.registered = true;
		}
	}
	fpb.stats.remaps++;
	mutex_unlock(&fpb.lock);
	fpb_map_free(&old);
}

static int fpb_memory_notify(struct notifier_block *nb, unsigned long action,
			     void *arg)
{
	struct memory_notify *mn = arg;
	unsigned long end = mn->start_pfn + mn->nr_pages;

	switch (action) {
	case MEM_GOING_ONLINE:
		/* Before the pages reach the free lists. */
		mutex_lock(&fpb.lock);
		fpb_map_cover(&fpb.map, mn->start_pfn, mn->nr_pages);
		mutex_unlock(&fpb.lock);
		if (end > fpb_layout_end_pfn(&fpb.map.layout))
			queue_work(fpb.wq, &fpb.remap);
		break;
	case MEM_GOING_OFFLINE:
	case MEM_OFFLINE:
		/*
		 * A running walk may hold a pfn in this range to resume from;
		 * wait for it, so the range's memory map is not removed under
		 * it.  Walks that start later no longer find these pages on
		 * any free list.
		 */
		mutex_lock(&fpb.lock);
		mutex_unlock(&fpb.lock);
		break;
	}
	return NOTIFY_OK;
}

struct notifier_block fpb_memory_nb = {
	.notifier_call = fpb_memory_notify,
};
