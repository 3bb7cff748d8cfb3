/* Just enough of QEMU's qemu/bitmap.h for migration/fpb-bitmap.c. */
#ifndef FPB_FUZZ_BITMAP_H
#define FPB_FUZZ_BITMAP_H
#define BITS_PER_LONG   (sizeof(unsigned long) * 8)
#define BITMAP_LAST_WORD_MASK(nbits) \
    (~0UL >> (-(nbits) & (BITS_PER_LONG - 1)))
#endif
