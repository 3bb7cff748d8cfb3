/*
 * libFuzzer harness for migration/fpb-validate.c, built alone.
 *
 * The input is a guest: the first bytes pick the REGISTER arguments, the
 * rest is the content of a small guest RAM with a hole in it.  Every
 * access the validator makes is checked to stay inside RAM (ASan catches
 * anything the callbacks would not), and whatever it accepts is walked.
 */
#include "qemu/osdep.h"
#include <stdio.h>
#include "fpb-validate.h"

#define RAM_SIZE    (1024 * 1024)       /* guest RAM [0, 1 MiB) ... */
#define HOLE_START  0x80000             /* ... with a hole [512K, 576K) */
#define HOLE_END    0x90000

static uint8_t *ram;

static bool is_ram(void *opaque, uint64_t gpa, uint64_t len)
{
    return gpa + len >= gpa && gpa + len <= RAM_SIZE &&
           (gpa + len <= HOLE_START || gpa >= HOLE_END);
}

static bool do_read(void *opaque, uint64_t gpa, void *buf, uint64_t len)
{
    /* RAM never changes here, so the validator must check before reading. */
    if (!is_ram(opaque, gpa, len)) {
        abort();
    }
    memcpy(buf, ram + gpa, len);
    return true;
}

static bool count_run(void *opaque, uint64_t pfn, uint64_t npages)
{
    uint64_t *pages = opaque;

    if (npages == 0 || pfn + npages < pfn) {
        abort();
    }
    *pages += npages;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FpbGuestOps ops = {
        .read = do_read,
        .is_ram = is_ram,
        .ram_end = RAM_SIZE,
        .max_bitmap_bytes = 64 * 1024,
    };
    FpbSnapshot snap;
    FpbRegion reg;
    uint64_t args[4] = { 0 }, pages = 0;
    size_t n = MIN(size, sizeof(args));
    static int verbose = -1;
    FpbStatus st;

    if (verbose < 0) {
        verbose = getenv("FPB_FUZZ_VERBOSE") != NULL;
    }
    if (!ram) {
        ram = malloc(RAM_SIZE);
    }
    memcpy(args, data, n);
    data += n;
    size -= n;
    memset(ram, 0, RAM_SIZE);
    /* Guest content at the header GPA it names (when that is in RAM). */
    if (args[0] < RAM_SIZE) {
        memcpy(ram + args[0], data, MIN(size, RAM_SIZE - args[0]));
    }
    /* Bitmaps in the top 128 KiB, filled from the input's tail. */
    memcpy(ram + RAM_SIZE - 128 * 1024, data, MIN(size, 128 * 1024));
    /* Keep addresses plausible often enough to get past the checks. */
    if (args[3] & 1) {
        args[0] &= (RAM_SIZE - 1) & ~0xfffULL;
        args[1] &= 0xffff;
    }
    st = fpb_check_region(&ops, args[0], args[1], &reg);
    if (verbose) {
        fprintf(stderr, "register: %s\n", fpb_status_str(st));
    }
    if (st != FPB_OK) {
        return 0;
    }
    st = fpb_snapshot_read(&ops, &reg, args[2], args[3] >> 1, &snap);
    if (st == FPB_OK) {
        fpb_snapshot_for_each_run(&snap, count_run, &pages);
        if (pages > snap.bits_len * 8) {
            abort();
        }
    }
    if (verbose) {
        fprintf(stderr, "snapshot: %s, %llu pages\n", fpb_status_str(st),
                (unsigned long long)pages);
    }
    fpb_snapshot_free(&snap);
    return 0;
}
