// SPDX-License-Identifier: GPL-2.0
/*
 * The guest kernel's end: before a reboot or on a panic the host is told
 * to forget the region, which the next kernel will reuse.
 */
#include <linux/compiler.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
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
