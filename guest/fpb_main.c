// SPDX-License-Identifier: GPL-2.0
/*
 * FPB guest module: publish a free page bitmap so that live migration can
 * skip free pages.  See Documentation/virt/kvm/fpb-abi.rst.
 *
 * Off unless booted with fpb.enable=1 (or loaded with enable=1).  With
 * test_mode=1 it never talks to a host: snapshots are taken on demand
 * through debugfs, so the walker can be tested under any hypervisor.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cc_platform.h>
#include <linux/debugfs.h>
#include <linux/io.h>
#include <linux/kvm_para.h>
#include <linux/memory.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/panic_notifier.h>
#include <linux/reboot.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <asm/cpufeature.h>
#include <asm/kvm_para.h>
#include <asm/processor.h>
#include "fpb.h"

#define CREATE_TRACE_POINTS
#include "fpb_trace.h"

static bool enable;
module_param(enable, bool, 0444);
MODULE_PARM_DESC(enable, "Publish free pages to the host (fpb.enable=1 on the kernel command line)");

static bool test_mode;
module_param(test_mode, bool, 0444);
MODULE_PARM_DESC(test_mode, "No host: snapshots only through debugfs, no hypercall");

static int fpb_param_set_range(const char *val, const struct kernel_param *kp,
			       unsigned int min, unsigned int max)
{
	int ret = param_set_uint_minmax(val, kp, min, max);

	if (ret)
		pr_err("%s=%s rejected: want an integer from %u to %u\n",
		       kp->name, val, min, max);
	return ret;
}

/*
 * 100 ms.  Measured with tools/testing/bench/poll-cost.sh on an idle
 * 1-vCPU guest under TCG, each wakeup costs the host about 0.75 ms of CPU:
 * 100 ms polling adds 0.75% of a CPU to an idle baseline of 0.5-0.7%,
 * 20 ms adds 4.2%, 5 ms 8%.  A request then waits 50 ms on average, and
 * the host may wait that long for the first snapshot of a migration.
 */
static unsigned int poll_ms = 100;
static int fpb_poll_ms_set(const char *val, const struct kernel_param *kp)
{
	return fpb_param_set_range(val, kp, 1, 60000);
}

static const struct kernel_param_ops fpb_poll_ms_ops = {
	.set = fpb_poll_ms_set,
	.get = param_get_uint,
};
module_param_cb(poll_ms, &fpb_poll_ms_ops, &poll_ms, 0644);
MODULE_PARM_DESC(poll_ms, "How often to look for a snapshot request, ms (1-60000, default 100)");

/*
 * Free blocks marked per zone->lock hold.  256 keeps a hold in the tens of
 * microseconds even under TCG (see README for the measured distribution).
 */
static unsigned int batch = 256;
static int fpb_batch_set(const char *val, const struct kernel_param *kp)
{
	return fpb_param_set_range(val, kp, 1, 65536);
}

static const struct kernel_param_ops fpb_batch_ops = {
	.set = fpb_batch_set,
	.get = param_get_uint,
};
module_param_cb(batch, &fpb_batch_ops, &batch, 0644);
MODULE_PARM_DESC(batch, "Free blocks marked per zone->lock hold (1-65536, default 256)");

module_param_named(pcp_lists, fpb_walk_pcp_lists, bool, 0644);
MODULE_PARM_DESC(pcp_lists, "Also report pages waiting on per-cpu free lists (default 1)");

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

static struct fpb_dev {
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
} fpb;

static long fpb_hypercall(unsigned long op, unsigned long a1, unsigned long a2)
{
	return kvm_hypercall3(KVM_HC_FPB, op, a1, a2);
}

/* The KVM signature at some hypervisor base leaf, with our feature bit. */
static bool fpb_host_offers(void)
{
	unsigned int base, eax, sig[3];

	if (!boot_cpu_has(X86_FEATURE_HYPERVISOR))
		return false;
	for (base = 0x40000000; base < 0x40010000; base += 0x100) {
		cpuid(base, &eax, &sig[0], &sig[1], &sig[2]);
		if (!memcmp(sig, "KVMKVMKVM\0\0\0", 12))
			return eax >= base + 1 &&
			       (cpuid_eax(base + 1) & BIT(KVM_FEATURE_FPB));
	}
	return false;
}

/* Where a skipped page would not read back the same, say why, once. */
static int fpb_guest_can_skip(void)
{
	if (page_poisoning_enabled()) {
		pr_err("page poisoning is on: free pages hold a pattern the migration target would not have; not registering\n");
		return -EOPNOTSUPP;
	}
	if (want_init_on_free()) {
		pr_err("init_on_free is on: free pages must read as zero, which skipped pages may not on the target; not registering\n");
		return -EOPNOTSUPP;
	}
	if (cc_platform_has(CC_ATTR_MEM_ENCRYPT) ||
	    cc_platform_has(CC_ATTR_GUEST_MEM_ENCRYPT)) {
		pr_err("guest memory is encrypted: the host cannot read the bitmap; not registering\n");
		return -EOPNOTSUPP;
	}
	return 0;
}

static int fpb_errno(long kvm_ret)
{
	switch (kvm_ret) {
	case 0:
		return 0;
	case -KVM_ENOSYS:
		return -ENODEV;
	case -KVM_E2BIG:
		return -E2BIG;
	case -KVM_EPERM:
		return -EPERM;
	default:
		return -EINVAL;
	}
}

static int fpb_register_locked(void)
{
	struct fpb_map *map = &fpb.map;
	long ret;

	lockdep_assert_held(&fpb.lock);
	ret = fpb_hypercall(KVM_FPB_OP_REGISTER, virt_to_phys(map->hdr),
			    PAGE_SIZE << map->layout.region_order);
	if (ret) {
		pr_err("host refused the region at %pa: %ld\n",
		       &(phys_addr_t){ virt_to_phys(map->hdr) }, ret);
		return fpb_errno(ret);
	}
	fpb.registered = true;
	fpb.answered = 0;
	return 0;
}

static void fpb_unregister_locked(void)
{
	lockdep_assert_held(&fpb.lock);
	if (!fpb.registered)
		return;
	fpb_hypercall(KVM_FPB_OP_UNREGISTER, 0, 0);
	fpb.registered = false;
}

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
static long fpb_snapshot(u64 request, bool notify)
{
	struct fpb_walk_stats st = { };
	long ret = 0;
	u64 t0, seq;

	mutex_lock(&fpb.lock);
	trace_fpb_snapshot_start(request);
	t0 = ktime_get_ns();
	seq = fpb_snapshot_take(&fpb.map, request, READ_ONCE(batch), &st);
	fpb_account(&st, ktime_get_ns() - t0);
	if (notify && fpb.registered) {
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
	mutex_unlock(&fpb.lock);
	trace_fpb_snapshot_end(request, seq, fpb.stats.last_nr_free,
			       fpb.stats.last_walk_ns, st.max_hold_ns, ret);
	return ret;
}

static void fpb_poll_fn(struct work_struct *work)
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
			   msecs_to_jiffies(READ_ONCE(poll_ms)));
}

/*
 * Memory came online past the table: build a larger region, register it
 * (the host replaces the old one), then free the old one.
 */
static void fpb_remap_fn(struct work_struct *work)
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

static struct notifier_block fpb_memory_nb = {
	.notifier_call = fpb_memory_notify,
};

/*
 * Reboot, halt, power-off and kexec: the next kernel will reuse our region,
 * so the host must stop writing requests into it first.
 */
static int fpb_reboot_notify(struct notifier_block *nb, unsigned long action,
			     void *data)
{
	cancel_delayed_work_sync(&fpb.poll);
	mutex_lock(&fpb.lock);
	fpb_unregister_locked();
	mutex_unlock(&fpb.lock);
	return NOTIFY_DONE;
}

static struct notifier_block fpb_reboot_nb = {
	.notifier_call = fpb_reboot_notify,
};

/*
 * Panic: no locks, no sleeping.  UNREGISTER is idempotent on the host, so
 * racing a poll in progress is harmless.  (A crash kernel runs in reserved
 * memory that never held our region.)
 */
static int fpb_panic_notify(struct notifier_block *nb, unsigned long action,
			    void *data)
{
	if (READ_ONCE(fpb.registered))
		fpb_hypercall(KVM_FPB_OP_UNREGISTER, 0, 0);
	return NOTIFY_DONE;
}

static struct notifier_block fpb_panic_nb = {
	.notifier_call = fpb_panic_notify,
};

static int fpb_stats_show(struct seq_file *m, void *v)
{
	const struct fpb_stats *s = &fpb.stats;
	const struct fpb_layout *l = &fpb.map.layout;

	mutex_lock(&fpb.lock);
	seq_printf(m, "mode %s\n", test_mode ? "test" : "host");
	seq_printf(m, "registered %d\n", fpb.registered);
	seq_printf(m, "chunk_shift %u\n", l->chunk_shift);
	seq_printf(m, "nr_chunks %u\n", l->nr_chunks);
	seq_printf(m, "region_bytes %lu\n", PAGE_SIZE << l->region_order);
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

static void fpb_debugfs_init(void)
{
	fpb.dbg = debugfs_create_dir("fpb", NULL);
	debugfs_create_file("stats", 0444, fpb.dbg, NULL, &fpb_stats_fops);
	debugfs_create_file("holds", 0444, fpb.dbg, NULL, &fpb_holds_fops);
	debugfs_create_file("snapshot", 0200, fpb.dbg, NULL,
			    &fpb_snapshot_fops);
	debugfs_create_file("bitmap", 0400, fpb.dbg, NULL, &fpb_bitmap_fops);
}

static int fpb_checks(void)
{
	int ret;

	if (enable && test_mode) {
		pr_err("enable=1 and test_mode=1 exclude each other\n");
		return -EINVAL;
	}
	if (test_mode)
		return 0;
	ret = fpb_guest_can_skip();
	if (ret)
		return ret;
	if (!fpb_host_offers()) {
		pr_err("host does not offer KVM_FEATURE_FPB (CPUID 0x40000001 EAX bit %d)\n",
		       KVM_FEATURE_FPB);
		return -ENODEV;
	}
	return 0;
}

static int __init fpb_init(void)
{
	int ret;

	if (!enable && !test_mode) {
		pr_info("off; boot with fpb.enable=1 to publish free pages\n");
		return 0;
	}
	ret = fpb_checks();
	if (ret)
		return ret;

	mutex_init(&fpb.lock);
	INIT_DELAYED_WORK(&fpb.poll, fpb_poll_fn);
	INIT_WORK(&fpb.remap, fpb_remap_fn);
	ret = fpb_map_alloc(&fpb.map, fpb_online_end_pfn());
	if (ret) {
		pr_err("cannot allocate the header region: %d\n", ret);
		return ret;
	}
	if (fpb_map_cover_online(&fpb.map))
		pr_warn("some bitmap chunks could not be allocated; their memory stays unreported\n");

	fpb.wq = alloc_ordered_workqueue("fpb", WQ_FREEZABLE);
	if (!fpb.wq) {
		ret = -ENOMEM;
		goto err_map;
	}
	ret = register_memory_notifier(&fpb_memory_nb);
	if (ret)
		goto err_wq;

	if (enable) {
		mutex_lock(&fpb.lock);
		ret = fpb_register_locked();
		mutex_unlock(&fpb.lock);
		if (ret)
			goto err_mem;
		register_reboot_notifier(&fpb_reboot_nb);
		atomic_notifier_chain_register(&panic_notifier_list,
					       &fpb_panic_nb);
	}
	/*
	 * Test mode polls too, so its idle cost can be measured anywhere;
	 * with no host nothing ever writes a request.
	 */
	queue_delayed_work(fpb.wq, &fpb.poll, 0);
	fpb_debugfs_init();
	fpb.active = true;
	pr_info("%s: %u chunks of %lu KiB, %lu MiB covered\n",
		test_mode ? "test mode" : "registered", fpb.map.layout.nr_chunks,
		fpb_chunk_bytes(&fpb.map.layout) >> 10,
		fpb_layout_end_pfn(&fpb.map.layout) >> (20 - PAGE_SHIFT));
	return 0;

err_mem:
	unregister_memory_notifier(&fpb_memory_nb);
err_wq:
	destroy_workqueue(fpb.wq);
err_map:
	fpb_map_free(&fpb.map);
	return ret;
}

static void __exit fpb_exit(void)
{
	if (!fpb.active)
		return;
	debugfs_remove_recursive(fpb.dbg);
	if (enable) {
		atomic_notifier_chain_unregister(&panic_notifier_list,
						 &fpb_panic_nb);
		unregister_reboot_notifier(&fpb_reboot_nb);
	}
	unregister_memory_notifier(&fpb_memory_nb);
	cancel_delayed_work_sync(&fpb.poll);
	cancel_work_sync(&fpb.remap);
	destroy_workqueue(fpb.wq);

	/* The host must stop writing into the region before it is freed. */
	mutex_lock(&fpb.lock);
	fpb_unregister_locked();
	mutex_unlock(&fpb.lock);
	fpb_map_free(&fpb.map);
}

module_init(fpb_init);
module_exit(fpb_exit);
MODULE_DESCRIPTION("Free page bitmap for fast KVM live migration");
MODULE_LICENSE("GPL");
