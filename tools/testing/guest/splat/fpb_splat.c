// SPDX-License-Identifier: GPL-2.0
/*
 * Test only, never loaded by anything but the guest-debug suite: on load, a
 * use-after-free (KASAN, or KFENCE when the object came from its pool) and
 * a WARNING, so that the suite can show that its console scanner
 * (splat_scan in tools/testing/guest/guest-lib.sh) reports them.  The
 * module then refuses to stay loaded.
 */
#include <linux/bug.h>
#include <linux/compiler.h>
#include <linux/module.h>
#include <linux/slab.h>

static int __init fpb_splat_init(void)
{
	char *p = kmalloc(64, GFP_KERNEL);

	if (!p)
		return -ENOMEM;
	kfree(p);
	OPTIMIZER_HIDE_VAR(p);
	pr_info("fpb_splat: read after free: %d\n", READ_ONCE(p[8]));
	WARN(1, "fpb_splat: a warning on purpose\n");
	return -EAGAIN;
}
module_init(fpb_splat_init);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("FPB test: a use-after-free and a WARNING on purpose");
