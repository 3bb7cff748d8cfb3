/*
 * libFuzzer harness for migration/fpb-validate.c, built alone.
 *
 * The input is a guest: the first bytes pick the REGISTER arguments, the
 * rest is the content of a small guest RAM with a hole in it.  Every
 * access the validator makes is checked to stay inside RAM (ASan catches
 * anything the callbacks would not), and whatever it accepts is copied
 * and applied to a migration bitmap, as the host does, step by step.
 */
#include "qemu/osdep.h"
#include <stdio.h>
#include "fpb-bitmap.h"
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

/* Copy and apply every chunk of @snap; returns the pages dropped. */
static uint64_t apply(const FpbGuestOps *ops, const FpbRegion *reg,
                      const FpbSnapshot *snap)
{
    uint64_t words = 1ULL << (snap->chunk_shift - 6);
    uint64_t ram_pages = RAM_SIZE >> 12, dropped = 0;
    g_autofree uint64_t *buf = g_new(uint64_t, words);
    g_autofree unsigned long *bmap = NULL;
    uint64_t pages = (uint64_t)snap->nr_chunks << snap->chunk_shift;
    uint64_t longs = DIV_ROUND_UP(pages, 8 * sizeof(long)), left = 0, k;
    uint32_t i;

    /* The table covers at most one chunk past RAM: see fpb_check_header. */
    if (pages > ram_pages + (1ULL << snap->chunk_shift)) {
        abort();
    }
    /* Pass 1: every page dirty (pages is a whole number of longs). */
    bmap = g_new(unsigned long, longs ? longs : 1);
    memset(bmap, 0xff, longs * sizeof(long));
    for (i = 0; i < snap->nr_chunks; i++) {
        if (!snap->chunk[i]) {
            continue;
        }
        if (fpb_snapshot_copy(ops, reg, snap, i, 0, buf, words) != FPB_OK) {
            abort();        /* RAM never changes here: it cannot fail */
        }
        dropped += fpb_bitmap_drop(bmap, (uint64_t)i << snap->chunk_shift,
                                   buf, 0, words * 64);
    }
    for (k = 0; k < longs; k++) {
        left += __builtin_popcountl(bmap[k]);
    }
    if (dropped + left != pages) {
        abort();
    }
    /* Out of range requests are refused, never read. */
    if (snap->nr_chunks &&
        fpb_snapshot_copy(ops, reg, snap, 0, words, buf, 1) == FPB_OK) {
        abort();
    }
    return dropped;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FpbGuestOps ops = {
        .read = do_read,
        .is_ram = is_ram,
        .ram_end = RAM_SIZE,
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
    st = fpb_snapshot_open(&ops, &reg, args[2], args[3] >> 1, &snap);
    if (st == FPB_OK) {
        pages = apply(&ops, &reg, &snap);
    }
    if (verbose) {
        fprintf(stderr, "snapshot: %s, %llu pages\n", fpb_status_str(st),
                (unsigned long long)pages);
    }
    fpb_snapshot_free(&snap);
    return 0;
}
