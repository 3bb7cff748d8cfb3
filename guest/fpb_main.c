// SPDX-License-Identifier: GPL-2.0
/*
 * FPB guest module: publish a free page bitmap so that live migration can
 * skip free pages.  See Documentation/virt/kvm/fpb-abi.rst.
 *
 * Off unless booted with fpb.enable=1 (or loaded with enable=1).  With
 * test_mode=1 it never talks to a host: snapshots are taken on demand
 * through debugfs, so the walker can be tested under any hypervisor.
 *
 * This file loads and unloads the module and checks first that the guest
 * and the host allow it; fpb_dev.h says where the rest lives.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cc_platform.h>
#include <linux/memory.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/panic_notifier.h>
#include <linux/reboot.h>
#include <linux/suspend.h>
#include <linux/workqueue.h>
#include "fpb_dev.h"

struct fpb_dev fpb;

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

static int fpb_checks(void)
{
	int ret;

	if (fpb_enable && fpb_test_mode) {
		pr_err("enable=1 and test_mode=1 exclude each other\n");
		return -EINVAL;
	}
	if (fpb_test_mode)
		return 0;
	ret = fpb_guest_can_skip();
	if (ret)
		return ret;
	if (!fpb_host_offers()) {
		pr_err("host does not offer KVM_FEATURE_FPB (CPUID 0x40000001 EAX bit %d): start QEMU with -cpu ...,kvm-pv-fpb=on; under KVM the host kernel also needs FPB's KVM series\n",
		       KVM_FEATURE_FPB);
		return -ENODEV;
	}
	return 0;
}

static int __init fpb_init(void)
{
	int ret;

	if (!fpb_enable && !fpb_test_mode) {
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

	if (fpb_enable) {
		mutex_lock(&fpb.lock);
		ret = fpb_register_locked();
		mutex_unlock(&fpb.lock);
		if (ret)
			goto err_mem;
		register_reboot_notifier(&fpb_reboot_nb);
		atomic_notifier_chain_register(&panic_notifier_list,
					       &fpb_panic_nb);
		register_pm_notifier(&fpb_pm_nb);
	}
	/*
	 * Test mode polls too, so its idle cost can be measured anywhere;
	 * with no host nothing ever writes a request.
	 */
	queue_delayed_work(fpb.wq, &fpb.poll, 0);
	fpb_debugfs_init();
	fpb.active = true;
	pr_info("%s: %u chunks of %lu KiB, %lu MiB covered\n",
		fpb_test_mode ? "test mode" : "registered",
		fpb.map.layout.nr_chunks,
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
	fpb_debugfs_exit();
	if (fpb_enable) {
		unregister_pm_notifier(&fpb_pm_nb);
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
