/*
 * x86 TCG: KVM's paravirtual hypercall interface
 *
 * Copyright (c) 2026 FPB developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * With kvm-pv-fpb a TCG guest sees the KVM signature in CPUID, so it
 * issues hypercalls; answer them exactly as KVM's kvm_emulate_hypercall()
 * would, so that the guest cannot tell the difference.
 */

#include "qemu/osdep.h"
#include "cpu.h"
#include "exec/helper-proto.h"
#include "migration/fpb.h"
#include "standard-headers/linux/kvm_para.h"

void helper_kvm_hypercall(CPUX86State *env)
{
    /* KVM's is_64_bit_hypercall(): long mode with a 64-bit code segment. */
    bool op64 = (env->hflags & HF_LMA_MASK) && (env->hflags & HF_CS64_MASK);
    uint64_t nr = env->regs[R_EAX];
    uint64_t a0 = env->regs[R_EBX];
    uint64_t a1 = env->regs[R_ECX];
    uint64_t a2 = env->regs[R_EDX];
    uint64_t a3 = env->regs[R_ESI];
    int64_t ret;

    if (!op64) {
        nr = (uint32_t)nr;
        a0 = (uint32_t)a0;
        a1 = (uint32_t)a1;
        a2 = (uint32_t)a2;
        a3 = (uint32_t)a3;
    }
    if (env->hflags & HF_CPL_MASK) {
        ret = -KVM_EPERM;
    } else if (nr == KVM_HC_FPB) {
        ret = fpb_hypercall(a0, a1, a2, a3);
    } else {
        ret = -KVM_ENOSYS;
    }
    env->regs[R_EAX] = op64 ? ret : (uint32_t)ret;
}
