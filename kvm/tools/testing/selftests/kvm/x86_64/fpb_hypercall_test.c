// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test KVM_HC_FPB, the free page bitmap hypercall that KVM forwards to
 * userspace through KVM_CAP_EXIT_HYPERCALL.
 *
 * Each case of the table is a test of the kselftest harness, which runs it
 * in its own VM and child process: a failed assertion fails that case and
 * lets the others run.
 */
#include <asm/kvm_para.h>
#include <linux/kvm_para.h>
#include <linux/stringify.h>
#include <stdint.h>

#include "kvm_test_harness.h"
#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"

#define X86_FEATURE_KVM_FPB \
	KVM_X86_CPU_FEATURE(KVM_CPUID_FEATURES, 0, EAX, KVM_FEATURE_FPB)

/*
 * Arguments with every byte distinct and the upper halves set, so that a
 * swapped, dropped or truncated argument shows.
 */
#define FPB_A0	0xa0a1a2a3a4a5a6a7ull
#define FPB_A1	0xb0b1b2b3b4b5b6b7ull
#define FPB_A2	0xc0c1c2c3c4c5c6c7ull
#define FPB_A3	0xd0d1d2d3d4d5d6d7ull

/* Garbage a 32-bit caller may leave in RAX[63:32]; KVM must ignore it. */
#define FPB_NR_HIGH	0x5a5a5a5a00000000ull

/*
 * The library's 64-bit code selector, checked in add_compat_cs(), and a
 * free GDT slot for a code segment with L=0, D=1: compatibility mode.
 */
#define LIB_CS		0x8
#define COMPAT_CS	0x30
#define COMPAT_CS_DESC	0x00cf9b000000ffffull

struct fpb_case {
	uint64_t exit_mask;	/* KVM_CAP_EXIT_HYPERCALL argument */
	bool enforce;		/* KVM_CAP_ENFORCE_PV_FEATURE_CPUID */
	bool cpuid_bit;		/* KVM_FEATURE_FPB in the guest CPUID */
	bool compat;		/* call from a 32-bit code segment */
	bool exits;		/* userspace must see the hypercall */
	uint64_t user_ret;	/* what userspace answers */
	uint64_t guest_ret;	/* what the guest must get */
};

/* Indices into cases[]; each case is the test of that name, below. */
enum {
	EXIT_NOT_ENABLED,
	ONLY_MAP_GPA_RANGE_EXIT,
	EXIT_ENABLED,
	NEGATIVE_ANSWER,
	ENFORCED_CPUID_BIT_CLEAR,
	ENFORCED_CPUID_BIT_SET,
	COMPAT,
	COMPAT_EXIT_NOT_ENABLED,
};

static const struct fpb_case cases[] = {
	/* Exit not enabled: the guest gets -KVM_ENOSYS. */
	[EXIT_NOT_ENABLED] = {
		.guest_ret = -KVM_ENOSYS,
	},
	/* Only the MAP_GPA_RANGE exit enabled: the guest gets -KVM_ENOSYS. */
	[ONLY_MAP_GPA_RANGE_EXIT] = {
		.exit_mask = BIT_ULL(KVM_HC_MAP_GPA_RANGE),
		.guest_ret = -KVM_ENOSYS,
	},
	/*
	 * Exit enabled: userspace gets nr, a0-a3 and the long mode flag; the
	 * guest gets userspace's answer.
	 */
	[EXIT_ENABLED] = {
		.exit_mask = BIT_ULL(KVM_HC_FPB),
		.exits = true,
		.user_ret = 0x0123456789abcdefull,
		.guest_ret = 0x0123456789abcdefull,
	},
	/* Exit enabled: a negative answer reaches the guest. */
	[NEGATIVE_ANSWER] = {
		.exit_mask = BIT_ULL(KVM_HC_FPB) | BIT_ULL(KVM_HC_MAP_GPA_RANGE),
		.exits = true,
		.user_ret = -KVM_EINVAL,
		.guest_ret = -KVM_EINVAL,
	},
	/* PV CPUID enforced, KVM_FEATURE_FPB clear: guest gets -KVM_ENOSYS. */
	[ENFORCED_CPUID_BIT_CLEAR] = {
		.exit_mask = BIT_ULL(KVM_HC_FPB),
		.enforce = true,
		.guest_ret = -KVM_ENOSYS,
	},
	/* PV CPUID enforced, KVM_FEATURE_FPB set: the call exits. */
	[ENFORCED_CPUID_BIT_SET] = {
		.exit_mask = BIT_ULL(KVM_HC_FPB),
		.enforce = true,
		.cpuid_bit = true,
		.exits = true,
		.user_ret = 0,
		.guest_ret = 0,
	},
	/*
	 * A 32-bit caller: nr, the arguments and the answer truncated, the
	 * long mode flag clear.
	 */
	[COMPAT] = {
		.exit_mask = BIT_ULL(KVM_HC_FPB),
		.compat = true,
		.exits = true,
		.user_ret = 0xfeedface12345678ull,
		.guest_ret = 0x12345678,
	},
	/* A 32-bit caller, exit not enabled: -KVM_ENOSYS in 32 bits. */
	[COMPAT_EXIT_NOT_ENABLED] = {
		.compat = true,
		.guest_ret = (uint32_t)-KVM_ENOSYS,
	},
};

/*
 * Make the hypercall from compatibility mode with the upper halves of RAX,
 * RBX, RCX, RDX and RSI still holding 64-bit values: the hardware keeps
 * them, so KVM has to truncate.  The far return into the 32-bit segment
 * pushes below RSP, so step over the red zone first.  Nothing uses the
 * stack in 32-bit mode.
 */
static uint64_t fpb_compat_hypercall(uint64_t nr, uint64_t a0, uint64_t a1,
				     uint64_t a2, uint64_t a3)
{
	uint64_t vmmcall = host_cpu_is_amd, ret;

	asm volatile("sub $128, %%rsp\n\t"
		     "lea 1f(%%rip), %%r10\n\t"
		     "lea 2f(%%rip), %%r11\n\t"
		     "test %[vmmcall], %[vmmcall]\n\t"
		     "cmovnz %%r11, %%r10\n\t"
		     "pushq $" __stringify(COMPAT_CS) "\n\t"
		     "push %%r10\n\t"
		     "lretq\n\t"
		     ".code32\n"
		     "1:\tvmcall\n\t"
		     "ljmp $" __stringify(LIB_CS) ", $3f\n"
		     "2:\tvmmcall\n\t"
		     "ljmp $" __stringify(LIB_CS) ", $3f\n"
		     ".code64\n"
		     "3:\tadd $128, %%rsp"
		     : "=a"(ret)
		     : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3),
		       [vmmcall] "r"(vmmcall)
		     : "r10", "r11", "memory", "cc");
	return ret;
}

static void guest_main(uint64_t i)
{
	const struct fpb_case *c = &cases[i];
	uint64_t ret;

	if (c->compat)
		ret = fpb_compat_hypercall(FPB_NR_HIGH | KVM_HC_FPB, FPB_A0,
					   FPB_A1, FPB_A2, FPB_A3);
	else
		ret = kvm_hypercall(KVM_HC_FPB, FPB_A0, FPB_A1, FPB_A2, FPB_A3);

	GUEST_ASSERT_EQ(ret, c->guest_ret);
	GUEST_DONE();
}

static void check_exit(const struct fpb_case *c, struct kvm_run *run)
{
	uint64_t mask = c->compat ? 0xffffffffull : ~0ull;

	TEST_ASSERT(c->exits, "unexpected KVM_EXIT_HYPERCALL, nr %llu",
		    run->hypercall.nr);
	TEST_ASSERT_EQ(run->hypercall.nr, KVM_HC_FPB);
	TEST_ASSERT_EQ(run->hypercall.args[0], FPB_A0 & mask);
	TEST_ASSERT_EQ(run->hypercall.args[1], FPB_A1 & mask);
	TEST_ASSERT_EQ(run->hypercall.args[2], FPB_A2 & mask);
	TEST_ASSERT_EQ(run->hypercall.args[3], FPB_A3 & mask);
	TEST_ASSERT_EQ(!!(run->hypercall.flags & KVM_EXIT_HYPERCALL_LONG_MODE),
		       !c->compat);
}

static void add_compat_cs(struct kvm_vcpu *vcpu)
{
	uint64_t *gdt = addr_gva2hva(vcpu->vm, vcpu->vm->arch.gdt);
	struct kvm_sregs sregs;

	vcpu_sregs_get(vcpu, &sregs);
	TEST_ASSERT_EQ(sregs.cs.selector, LIB_CS);
	TEST_ASSERT(sregs.gdt.limit >= COMPAT_CS + 7, "GDT too small");
	gdt[COMPAT_CS / 8] = COMPAT_CS_DESC;
}

KVM_ONE_VCPU_TEST_SUITE(fpb_hypercall);

static void run_case(struct kvm_vcpu *vcpu, uint64_t i)
{
	const struct fpb_case *c = &cases[i];
	struct kvm_vm *vm = vcpu->vm;
	struct ucall uc;
	int exits = 0;

	vcpu_args_set(vcpu, 1, i);
	if (c->compat)
		add_compat_cs(vcpu);
	if (c->exit_mask)
		vm_enable_cap(vm, KVM_CAP_EXIT_HYPERCALL, c->exit_mask);
	if (c->enforce)
		vcpu_enable_cap(vcpu, KVM_CAP_ENFORCE_PV_FEATURE_CPUID, 1);
	if (c->cpuid_bit)
		vcpu_set_cpuid_feature(vcpu, X86_FEATURE_KVM_FPB);
	else
		vcpu_clear_cpuid_feature(vcpu, X86_FEATURE_KVM_FPB);

	for (;;) {
		vcpu_run(vcpu);
		if (vcpu->run->exit_reason == KVM_EXIT_HYPERCALL) {
			check_exit(c, vcpu->run);
			vcpu->run->hypercall.ret = c->user_ret;
			exits++;
			continue;
		}
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_DONE:
			TEST_ASSERT_EQ(exits, c->exits ? 1 : 0);
			return;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			break;
		default:
			TEST_FAIL("unexpected ucall %lu", uc.cmd);
		}
	}
}

/* KVM_CHECK_EXTENSION(KVM_CAP_EXIT_HYPERCALL) reports KVM_HC_FPB. */
KVM_ONE_VCPU_TEST(fpb_hypercall, check_extension, NULL)
{
	uint64_t valid = kvm_check_cap(KVM_CAP_EXIT_HYPERCALL);

	TEST_ASSERT(valid & BIT_ULL(KVM_HC_FPB),
		    "KVM_CAP_EXIT_HYPERCALL mask %#lx lacks KVM_HC_FPB", valid);
}

/* KVM_ENABLE_CAP(KVM_CAP_EXIT_HYPERCALL) refuses every unreported bit. */
KVM_ONE_VCPU_TEST(fpb_hypercall, enable_cap_mask, NULL)
{
	uint64_t valid = kvm_check_cap(KVM_CAP_EXIT_HYPERCALL);
	struct kvm_vm *vm = vcpu->vm;
	int bit, r;

	for (bit = 0; bit < 64; bit++) {
		if (valid & BIT_ULL(bit))
			continue;
		r = __vm_enable_cap(vm, KVM_CAP_EXIT_HYPERCALL,
				    BIT_ULL(KVM_HC_FPB) | BIT_ULL(bit));
		TEST_ASSERT(r == -1 && errno == EINVAL,
			    "KVM_CAP_EXIT_HYPERCALL bit %d accepted (r %d errno %d)",
			    bit, r, errno);
	}
	vm_enable_cap(vm, KVM_CAP_EXIT_HYPERCALL, valid);
	vm_enable_cap(vm, KVM_CAP_EXIT_HYPERCALL, BIT_ULL(KVM_HC_FPB));
	vm_enable_cap(vm, KVM_CAP_EXIT_HYPERCALL, 0);
}

/* KVM_GET_SUPPORTED_CPUID does not report KVM_FEATURE_FPB. */
KVM_ONE_VCPU_TEST(fpb_hypercall, supported_cpuid, NULL)
{
	TEST_ASSERT(!kvm_cpu_has(X86_FEATURE_KVM_FPB),
		    "KVM_GET_SUPPORTED_CPUID reports KVM_FEATURE_FPB");
}

KVM_ONE_VCPU_TEST(fpb_hypercall, exit_not_enabled, guest_main)
{
	run_case(vcpu, EXIT_NOT_ENABLED);
}

KVM_ONE_VCPU_TEST(fpb_hypercall, only_map_gpa_range_exit, guest_main)
{
	run_case(vcpu, ONLY_MAP_GPA_RANGE_EXIT);
}

KVM_ONE_VCPU_TEST(fpb_hypercall, exit_enabled, guest_main)
{
	run_case(vcpu, EXIT_ENABLED);
}

KVM_ONE_VCPU_TEST(fpb_hypercall, negative_answer, guest_main)
{
	run_case(vcpu, NEGATIVE_ANSWER);
}

KVM_ONE_VCPU_TEST(fpb_hypercall, enforced_cpuid_bit_clear, guest_main)
{
	run_case(vcpu, ENFORCED_CPUID_BIT_CLEAR);
}

KVM_ONE_VCPU_TEST(fpb_hypercall, enforced_cpuid_bit_set, guest_main)
{
	run_case(vcpu, ENFORCED_CPUID_BIT_SET);
}

KVM_ONE_VCPU_TEST(fpb_hypercall, compat, guest_main)
{
	run_case(vcpu, COMPAT);
}

KVM_ONE_VCPU_TEST(fpb_hypercall, compat_exit_not_enabled, guest_main)
{
	run_case(vcpu, COMPAT_EXIT_NOT_ENABLED);
}

int main(int argc, char *argv[])
{
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_EXIT_HYPERCALL));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_ENFORCE_PV_FEATURE_CPUID));

	return test_harness_run(argc, argv);
}
