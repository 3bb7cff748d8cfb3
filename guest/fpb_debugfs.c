// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/fpb: the counters (stats), the zone->lock hold
 * histogram (holds), a local snapshot on demand (snapshot) and the bitmap
 * itself (bitmap).
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/kstrtox.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pfn.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>
#include "fpb_dev.h"

static int fpb_stats_show(struct seq_file *m, void *v)
{
	const struct fpb_stats *s = &fpb.stats;
	const struct fpb_layout *l = &fpb.map.layout;

	mutex_lock(&fpb.lock);
	seq_printf(m, "mode %s\n", fpb_test_mode ? "test" : "host");
	seq_printf(m, "registered %d\n", fpb.registered);
	seq_printf(m, "chunk_shift %u\n", l->chunk_shift);
	seq_printf(m, "nr_chunks %u\n", l->nr_chunks);
	seq_printf(m, "region_bytes %lu\n", PAGE_SIZE << l->region_order);
	seq_printf(m, "header_pfn %lu\n", PHYS_PFN(virt_to_phys(fpb.map.hdr)));
	seq_printf(m, "covered_pfns %lu\n", fpb_layout_end_pfn(l));
	seq_printf(m, "polls %llu\n", s->polls);
	seq_printf(m, "snapshots %llu\n", s->snapshots);
	seq_printf(m, "applied %llu\n", s->applied);
	seq_printf(m, "discarded %llu\n", s->discarded);
	seq_printf(m, "rejected %llu\n", s->rejected);
	seq_printf(m, "last_request %llu\n", s->last_request);
	seq_printf(m, "last_nr_free %llu\n", s->last_nr_free);
	seq_printf(m, "last_buddy_free %llu\n", s->last_buddy_free);
	seq_printf(m, "last_walk_ns %llu\n", s->last_walk_ns);
	seq_printf(m, "max_walk_ns %llu\n", s->max_walk_ns);
	seq_printf(m, "last_max_hold_ns %llu\n", s->last_max_hold_ns);
	seq_printf(m, "max_hold_ns %llu\n", s->max_hold_ns);
	seq_printf(m, "lock_holds %llu\n", s->lock_holds);
	seq_printf(m, "lost_resumes %llu\n", s->lost_resumes);
	seq_printf(m, "last_pcp_blocks %llu\n", s->last_pcp_blocks);
	seq_printf(m, "max_pcp_hold_ns %llu\n", s->max_pcp_hold_ns);
	seq_printf(m, "last_pcp_capped %llu\n", s->last_pcp_capped);
	seq_printf(m, "pcp_max_blocks %u\n", FPB_PCP_MAX_BLOCKS);
	seq_printf(m, "remaps %llu\n", s->remaps);
	mutex_unlock(&fpb.lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(fpb_stats);

/*
 * zone->lock hold times since load: one line per bucket, "<from_us> <to_us>
 * <holds>", to_us "-" for the open last bucket.
 */
static int fpb_holds_show(struct seq_file *m, void *v)
{
	int b;

	mutex_lock(&fpb.lock);
	for (b = 0; b < FPB_HOLD_BUCKETS; b++) {
		unsigned long from = b ? 1UL << (b - 1) : 0;

		if (b == FPB_HOLD_BUCKETS - 1)
			seq_printf(m, "%lu - %llu\n", from, fpb.stats.hold_hist[b]);
		else
			seq_printf(m, "%lu %lu %llu\n", from, 1UL << b,
				   fpb.stats.hold_hist[b]);
	}
	mutex_unlock(&fpb.lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(fpb_holds);

static ssize_t fpb_snapshot_write(struct file *file, const char __user *buf,
				  size_t len, loff_t *ppos)
{
	bool go;
	int ret = kstrtobool_from_user(buf, len, &go);

	if (ret)
		return ret;
	if (go)
		fpb_snapshot(0, false);
	return len;
}

static const struct file_operations fpb_snapshot_fops = {
	.owner = THIS_MODULE,
	.write = fpb_snapshot_write,
	.llseek = noop_llseek,
};

/* The bitmap as one flat file: byte n holds pfns 8n..8n+7, holes read 0. */
static ssize_t fpb_bitmap_read(struct file *file, char __user *buf,
			       size_t len, loff_t *ppos)
{
	const struct fpb_layout *l = &fpb.map.layout;
	size_t cb, done = 0;
	loff_t size;
	int ret = 0;

	mutex_lock(&fpb.lock);
	cb = fpb_chunk_bytes(l);
	size = (loff_t)cb * l->nr_chunks;
	while (done < len && *ppos < size) {
		unsigned long idx = *ppos / cb;
		size_t off = *ppos % cb;
		size_t n = min(len - done, cb - off);
		unsigned long *chunk = fpb.map.chunk[idx];

		if (chunk)
			ret = copy_to_user(buf + done, (u8 *)chunk + off, n);
		else
			ret = clear_user(buf + done, n);
		if (ret) {
			ret = -EFAULT;
			break;
		}
		done += n;
		*ppos += n;
	}
	mutex_unlock(&fpb.lock);
	return done ? done : ret;
}

static const struct file_operations fpb_bitmap_fops = {
	.owner = THIS_MODULE,
	.read = fpb_bitmap_read,
	.llseek = default_llseek,
};

void fpb_debugfs_init(void)
{
	fpb.dbg = debugfs_create_dir("fpb", NULL);
	debugfs_create_file("stats", 0444, fpb.dbg, NULL, &fpb_stats_fops);
	debugfs_create_file("holds", 0444, fpb.dbg, NULL, &fpb_holds_fops);
	debugfs_create_file("snapshot", 0200, fpb.dbg, NULL,
			    &fpb_snapshot_fops);
	debugfs_create_file("bitmap", 0400, fpb.dbg, NULL, &fpb_bitmap_fops);
}

void fpb_debugfs_exit(void)
{
	debugfs_remove_recursive(fpb.dbg);
}
