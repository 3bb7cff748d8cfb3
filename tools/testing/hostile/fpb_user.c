// SPDX-License-Identifier: GPL-2.0
/*
 * The FPB hypercall from user mode (CPL 3), for the hostile-guest suite:
 * a process must not reach the host's FPB handler.  KVM answers any
 * hypercall made at CPL > 0 with -KVM_EPERM in RAX; an instruction the
 * CPU does not offer raises #UD, which the process sees as SIGILL (and a
 * #GP, SIGSEGV, is safe too).
 *
 * For each of VMCALL and VMMCALL and each FPB operation, prints
 * "INSN OP rax=VALUE", "INSN OP sigill" or "INSN OP sigsegv".
 *
 * usage: fpb_user [HEADER-GPA]
 */
#include <linux/kvm_fpb.h>	/* include/uapi: the ABI's own numbers */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

typedef long (*hypercall_fn)(long nr, long a0, long a1, long a2);

static sigjmp_buf env;

static void on_signal(int sig)
{
	siglongjmp(env, sig);
}

static long vmcall(long nr, long a0, long a1, long a2)
{
	long ret;

	asm volatile("vmcall" : "=a"(ret)
		     : "a"(nr), "b"(a0), "c"(a1), "d"(a2) : "memory");
	return ret;
}

static long vmmcall(long nr, long a0, long a1, long a2)
{
	long ret;

	asm volatile("vmmcall" : "=a"(ret)
		     : "a"(nr), "b"(a0), "c"(a1), "d"(a2) : "memory");
	return ret;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		hypercall_fn fn;
	} insns[] = { { "vmcall", vmcall }, { "vmmcall", vmmcall } };
	/* REGISTER, UNREGISTER, SNAPSHOT_DONE and an unknown operation. */
	static const long ops[] = {
		KVM_FPB_OP_REGISTER, KVM_FPB_OP_UNREGISTER,
		KVM_FPB_OP_SNAPSHOT_DONE, 99,
	};
	long gpa = argc > 1 ? strtol(argv[1], NULL, 0) : 0x1000;
	struct sigaction sa;
	unsigned int i, j;

	setvbuf(stdout, NULL, _IOLBF, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	for (i = 0; i < ARRAY_SIZE(insns); i++) {
		for (j = 0; j < ARRAY_SIZE(ops); j++) {
			int sig = sigsetjmp(env, 1);

			if (sig) {
				printf("%s %ld %s\n", insns[i].name, ops[j],
				       sig == SIGILL ? "sigill" : "sigsegv");
				continue;
			}
			printf("%s %ld rax=%ld\n", insns[i].name, ops[j],
			       insns[i].fn(KVM_HC_FPB, ops[j], gpa, 4096));
		}
	}
	return 0;
}
