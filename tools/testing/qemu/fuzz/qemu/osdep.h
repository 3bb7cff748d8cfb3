/*
 * Just enough of QEMU's qemu/osdep.h to build migration/fpb-validate.c and
 * fpb-bitmap.c on their own (unit tests of the validator, the libFuzzer harness).
 */
#ifndef FPB_FUZZ_OSDEP_H
#define FPB_FUZZ_OSDEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))

#endif
