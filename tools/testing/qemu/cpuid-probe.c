// SPDX-License-Identifier: GPL-2.0
/*
 * What a guest's user space can see of kvm-pv-fpb: the CPUID leaves, and
 * what VMCALL / VMMCALL do at CPL 3 (KVM answers -KVM_EPERM; without the
 * feature TCG raises #UD, i.e. SIGILL; KVM on AMD rewrites a VMCALL into
 * VMMCALL, which faults in a read-only user page, i.e. SIGSEGV).  Prints
 * one line per fact.
 */
#include <cpuid.h>
#include <linux/kvm_fpb.h>	/* include/uapi: the ABI's own numbers */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static sigjmp_buf env;

static void on_signal(int sig)
{
	siglongjmp(env, sig);
}

static void hypercall(const char *name, int amd)
{
	long ret = KVM_HC_FPB;

	int sig = sigsetjmp(env, 1);

	if (sig) {
		printf("%s: %s\n", name, sig == SIGILL ? "SIGILL" : "SIGSEGV");
		return;
	}
	if (amd)
		asm volatile("vmmcall" : "+a"(ret)
			     : "b"((long)KVM_FPB_OP_UNREGISTER) : "memory");
	else
		asm volatile("vmcall" : "+a"(ret)
			     : "b"((long)KVM_FPB_OP_UNREGISTER) : "memory");
	printf("%s: rax=%ld\n", name, ret);
}

int main(void)
{
	unsigned int a, b, c, d;
	char sig[13];

	setvbuf(stdout, NULL, _IONBF, 0);

	__cpuid(0x40000000, a, b, c, d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	sig[12] = 0;
	for (int i = 0; i < 12; i++)
		if (sig[i] < 32 || sig[i] > 126)
			sig[i] = '.';
	printf("cpuid 40000000: max=%#x sig=%s\n", a, sig);
	__cpuid(0x40000001, a, b, c, d);
	printf("cpuid 40000001: eax=%#x fpb=%u\n", a, (a >> KVM_FEATURE_FPB) & 1);
	signal(SIGILL, on_signal);
	signal(SIGSEGV, on_signal);
	hypercall("vmcall", 0);
	hypercall("vmmcall", 1);
	return 0;
}
