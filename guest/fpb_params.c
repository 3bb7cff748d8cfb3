// SPDX-License-Identifier: GPL-2.0
/*
 * The module's parameters, with the range checks of the ones that can be
 * changed at run time.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/moduleparam.h>
#include <linux/printk.h>
#include "fpb_dev.h"

bool fpb_enable;
module_param_named(enable, fpb_enable, bool, 0444);
MODULE_PARM_DESC(enable, "Publish free pages to the host (fpb.enable=1 on the kernel command line)");

bool fpb_test_mode;
module_param_named(test_mode, fpb_test_mode, bool, 0444);
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
unsigned int fpb_poll_ms = 100;
static int fpb_poll_ms_set(const char *val, const struct kernel_param *kp)
{
	return fpb_param_set_range(val, kp, 1, 60000);
}

static const struct kernel_param_ops fpb_poll_ms_ops = {
	.set = fpb_poll_ms_set,
	.get = param_get_uint,
};
module_param_cb(poll_ms, &fpb_poll_ms_ops, &fpb_poll_ms, 0644);
MODULE_PARM_DESC(poll_ms, "How often to look for a snapshot request, ms (1-60000, default 100)");

/*
 * Free blocks marked per zone->lock hold.  256 keeps a hold in the tens of
 * microseconds even under TCG (see README for the measured distribution).
 */
unsigned int fpb_batch = 256;
static int fpb_batch_set(const char *val, const struct kernel_param *kp)
{
	return fpb_param_set_range(val, kp, 1, 65536);
}

static const struct kernel_param_ops fpb_batch_ops = {
	.set = fpb_batch_set,
	.get = param_get_uint,
};
module_param_cb(batch, &fpb_batch_ops, &fpb_batch, 0644);
MODULE_PARM_DESC(batch, "Free blocks marked per zone->lock hold (1-65536, default 256)");

/*
 * Testing only: the tests write into freshly freed memory between the walk
 * and the answer, to show that such writes are caught (and that they are
 * lost when the host breaks its rules on purpose).  A wider window makes
 * that deterministic instead of a matter of timing.
 */
unsigned int fpb_answer_delay_ms;
static int fpb_answer_delay_set(const char *val, const struct kernel_param *kp)
{
	return fpb_param_set_range(val, kp, 0, 10000);
}

static const struct kernel_param_ops fpb_answer_delay_ops = {
	.set = fpb_answer_delay_set,
	.get = param_get_uint,
};
module_param_cb(answer_delay_ms, &fpb_answer_delay_ops, &fpb_answer_delay_ms, 0644);
MODULE_PARM_DESC(answer_delay_ms, "Testing only: wait between the walk and the answer, ms (0-10000, default 0)");

module_param_named(pcp_lists, fpb_walk_pcp_lists, bool, 0644);
MODULE_PARM_DESC(pcp_lists, "Also report pages waiting on per-cpu free lists (default 1)");
