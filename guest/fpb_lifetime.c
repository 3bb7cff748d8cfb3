// SPDX-License-Identifier: GPL-2.0
/*
 * The guest kernel's end: before a reboot or on a panic the host is told
 * to forget the region, which the next kernel will reuse.  Around power
 * transitions (hibernation, restore, suspend) the region is unregistered
 * first and registered again when this kernel runs on.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compiler.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/printk.h>
#include <linux/suspend.h>
#include <linux/workqueue.h>
#include "fpb_dev.h"

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

struct notifier_block fpb_reboot_nb = {
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

struct notifier_block fpb_panic_nb = {
	.notifier_call = fpb_panic_notify,
};

/* Unregistered for a power transition, to register again after it. */
static bool fpb_pm_paused;

static void fpb_pm_pause(void)
{
	cancel_delayed_work_sync(&fpb.poll);
	mutex_lock(&fpb.lock);
	if (fpb.registered) {
		fpb_unregister_locked();
		fpb_pm_paused = true;
	}
	mutex_unlock(&fpb.lock);
}

static void fpb_pm_continue(void)
{
	mutex_lock(&fpb.lock);
	if (fpb_pm_paused) {
		fpb_pm_paused = false;
		/* A hibernation image may be resumed under another VMM. */
		if (!fpb_host_offers())
			pr_warn("the host no longer offers FPB; staying unregistered\n");
		else if (fpb_register_locked())
			pr_warn("could not register again after a power transition\n");
	}
	mutex_unlock(&fpb.lock);
	queue_delayed_work(fpb.wq, &fpb.poll, 0);
}

/*
 * Hibernation and restore jump between kernels without reboot notifiers:
 *
 * - PM_HIBERNATION_PREPARE, in the hibernating kernel before the image is
 *   made: the image then holds an unregistered module, and no request is
 *   written while the image is saved.
 * - PM_RESTORE_PREPARE, in the resume kernel (which may have loaded FPB and
 *   registered its own header) before it loads the image and jumps into
 *   it: the restored kernel reuses that page for anything.
 * - PM_POST_HIBERNATION, in the restored kernel (or in the hibernating one
 *   when it runs on: failure, suspend-to-both), and PM_POST_RESTORE, in the
 *   resume kernel when the restore failed: register again.
 *
 * S3 the same way: the host drops the registration when it resets the
 * machine on wakeup (QEMU does), so the guest registers again after it.
 */
static int fpb_pm_notify(struct notifier_block *nb, unsigned long action,
			 void *data)
{
	switch (action) {
	case PM_HIBERNATION_PREPARE:
	case PM_RESTORE_PREPARE:
	case PM_SUSPEND_PREPARE:
		fpb_pm_pause();
		break;
	case PM_POST_HIBERNATION:
	case PM_POST_RESTORE:
	case PM_POST_SUSPEND:
		fpb_pm_continue();
		break;
	}
	return NOTIFY_DONE;
}

struct notifier_block fpb_pm_nb = {
	.notifier_call = fpb_pm_notify,
};
