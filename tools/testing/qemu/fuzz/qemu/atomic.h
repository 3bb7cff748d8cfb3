/* Just enough of QEMU's qemu/atomic.h for migration/fpb-validate.c. */
#ifndef FPB_FUZZ_ATOMIC_H
#define FPB_FUZZ_ATOMIC_H
#define smp_rmb()       __atomic_thread_fence(__ATOMIC_ACQUIRE)
#endif
