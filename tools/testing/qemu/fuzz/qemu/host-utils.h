/* Just enough of QEMU's qemu/host-utils.h for migration/fpb-bitmap.c. */
#ifndef FPB_FUZZ_HOST_UTILS_H
#define FPB_FUZZ_HOST_UTILS_H
#define ctpopl(x)       __builtin_popcountl(x)
#endif
