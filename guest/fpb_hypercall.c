// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM side: whether the host offers FPB (CPUID), and the hypercalls
 * that register and unregister the region.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/io.h>
#include <linux/kvm_para.h>
#include <linux/lockdep.h>
#include <linux/printk.h>
#include <asm/cpufeature.h>
#include <asm/kvm_para.h>
#include <asm/processor.h>
#include "fpb_dev.h"

long fpb_hypercall(unsigned long op, unsigned long a1, unsigned long a2)
{
	return kvm_hypercall3(KVM_HC_FPB, op, a1, a2);
}

/*
 * The first KVM signature among the hypervisor base leaves, with its
 * features leaf present and our feature bit set in it.
 */
bool fpb_host_offers(void)
{
	unsigned int base;

	if (!boot_cpu_has(X86_FEATURE_HYPERVISOR))
		return false;
	base = hypervisor_cpuid_base(KVM_SIGNATURE, 0);
	return base && cpuid_eax(base) >= base + 1 &&
	       (cpuid_eax(base + 1) & BIT(KVM_FEATURE_FPB));
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

int fpb_register_locked(void)
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

void fpb_unregister_locked(void)
{
	lockdep_assert_held(&fpb.lock);
	if (!fpb.registered)
		return;
	fpb_hypercall(KVM_FPB_OP_UNREGISTER, 0, 0);
	fpb.registered = false;
}
