/*
 * FPB host side: validator and protocol tests
 *
 * Copyright (c) 2026 FPB developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A fake guest (256 MiB of lazily allocated "RAM" with a hole like the
 * PC's 640K-1M) drives migration/fpb-protocol.c through the orderings the
 * safety rules are about.
 */

#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "qemu/thread.h"
#include "standard-headers/linux/kvm_para.h"
#include "../../migration/fpb-bitmap.h"
#include "../../migration/fpb-protocol.h"
#include "../../migration/fpb-ram.h"

#define RAM_END         (256ULL << 20)
#define HOLE_START      0xa0000ULL
#define HOLE_END        0x100000ULL
#define HDR_GPA         0x10000ULL
#define HDR_SIZE        (16 * 1024ULL)
#define BM0_GPA         0x200000ULL
#define BM1_GPA         0x201000ULL
#define BM_LEN          4096ULL         /* chunk_shift 15 */

typedef struct Fake {
    uint8_t *ram;
    GString *log;               /* order of host actions */
    GArray *runs;               /* pairs of pfn, npages dropped */
    int64_t now;
    bool tear;                  /* bump seq while a bitmap is read */
    QemuEvent in_copy;          /* set while a bitmap is being copied */
    int copy_delay_ms;
    int bad_reads;              /* reads the validator did not check first */
} Fake;

static Fake fake;
static FpbHostOps ops;
static FpbProto proto;

static bool fake_is_ram(void *opaque, uint64_t gpa, uint64_t len)
{
    return gpa + len >= gpa && gpa + len <= RAM_END &&
           (gpa + len <= HOLE_START || gpa >= HOLE_END);
}

static struct kvm_fpb_header *hdr(void)
{
    return (struct kvm_fpb_header *)(fake.ram + HDR_GPA);
}

static bool fake_read(void *opaque, uint64_t gpa, void *buf, uint64_t len)
{
    if (!fake_is_ram(opaque, gpa, len)) {
        fake.bad_reads++;
        return false;
    }
    memcpy(buf, fake.ram + gpa, len);
    if (len == BM_LEN) {
        if (fake.tear) {
            hdr()->seq += 2;
        }
        if (fake.copy_delay_ms) {
            qemu_event_set(&fake.in_copy);
            g_usleep(fake.copy_delay_ms * 1000);
        }
    }
    return true;
}

static void fake_arm(void *opaque)
{
    g_string_append(fake.log, "arm,");
}

static bool fake_write_request(void *opaque, uint64_t gpa, uint64_t req)
{
    g_assert_cmpuint(gpa, ==, HDR_GPA + offsetof(struct kvm_fpb_header,
                                                 request));
    memcpy(fake.ram + gpa, &req, sizeof(req));
    g_string_append(fake.log, "request,");
    return true;
}

/* Record the runs of set bits, joining runs that continue across calls. */
static uint64_t fake_drop_bits(void *opaque, uint64_t pfn,
                               const uint64_t *free, uint64_t npages)
{
    uint64_t i, n = 0;

    g_assert_cmpuint(pfn % 64, ==, 0);
    g_assert_cmpuint(npages % 64, ==, 0);
    g_assert_cmpuint((pfn + npages) << 12, <=, RAM_END);
    for (i = 0; i < npages; i++) {
        uint64_t len = fake.runs->len, p = pfn + i;

        if (!(free[i / 64] & (1ULL << (i % 64)))) {
            continue;
        }
        n++;
        if (len && g_array_index(fake.runs, uint64_t, len - 2) +
                   g_array_index(fake.runs, uint64_t, len - 1) == p) {
            g_array_index(fake.runs, uint64_t, len - 1)++;
        } else {
            g_array_append_val(fake.runs, p);
            p = 1;
            g_array_append_val(fake.runs, p);
        }
    }
    return n;
}

static int64_t fake_now(void *opaque)
{
    return fake.now;
}

static uint64_t fake_ram_end(void *opaque)
{
    return RAM_END;
}

/* A well-formed guest: two chunks, a few free pages in each. */
static void setup(void)
{
    struct kvm_fpb_header *h;

    if (!fake.ram) {
        fake.ram = g_malloc0(RAM_END);
        fake.log = g_string_new("");
        fake.runs = g_array_new(false, false, sizeof(uint64_t));
        qemu_event_init(&fake.in_copy, false);
    }
    memset(fake.ram + HDR_GPA, 0, HDR_SIZE);
    memset(fake.ram + BM0_GPA, 0, 2 * BM_LEN);
    g_string_truncate(fake.log, 0);
    g_array_set_size(fake.runs, 0);
    fake.tear = false;
    fake.copy_delay_ms = 0;
    fake.bad_reads = 0;
    fake.now += 10 * 1000000000LL;    /* a fresh rate limit window */

    h = hdr();
    h->magic = KVM_FPB_MAGIC;
    h->version = KVM_FPB_VERSION;
    h->header_size = sizeof(*h);
    h->chunk_shift = 15;
    h->nr_chunks = 2;
    h->chunk[0] = BM0_GPA | KVM_FPB_CHUNK_PRESENT;
    h->chunk[1] = BM1_GPA | KVM_FPB_CHUNK_PRESENT;
    /* pfns 0x300-0x30f free, and 0x8000 + 8..9 */
    memset(fake.ram + BM0_GPA + 0x300 / 8, 0xff, 2);
    fake.ram[BM1_GPA + 1] = 0x03;

    ops = (FpbHostOps) {
        .guest = {
            .read = fake_read,
            .is_ram = fake_is_ram,
        },
        .arm_dirty_log = fake_arm,
        .write_request = fake_write_request,
        .drop_bits = fake_drop_bits,
        .now_ns = fake_now,
        .ram_end = fake_ram_end,
    };
    fpb_proto_init(&proto, &ops);
}

static int64_t hc(uint64_t a0, uint64_t a1, uint64_t a2, FpbStatus *why)
{
    FpbStatus w;
    uint64_t pages;

    return fpb_proto_hypercall(&proto, a0, a1, a2, 0, why ? why : &w, &pages);
}

static int64_t do_register(void)
{
    return hc(KVM_FPB_OP_REGISTER, HDR_GPA, HDR_SIZE, NULL);
}

/* The guest side of one snapshot: answer what the host asked. */
static int64_t answer(FpbStatus *why)
{
    struct kvm_fpb_header *h = hdr();

    h->seq += 2;
    h->snapshot_request = h->request;
    return hc(KVM_FPB_OP_SNAPSHOT_DONE, h->request, h->seq, why);
}

/* Register, start a migration and have one request outstanding. */
static void start_pass(void)
{
    g_assert_cmpint(do_register(), ==, 0);
    g_assert_null(fpb_proto_migration_start(&proto, false, false));
    fpb_proto_before_sync(&proto);
    g_assert_cmpuint(fpb_proto_after_sync(&proto), !=, 0);
}

static void test_apply(void)
{
    FpbStatus why;

    setup();
    start_pass();
    g_assert_cmpint(answer(&why), ==, 0);
    g_assert_cmpint(why, ==, FPB_OK);
    g_assert_cmpuint(fake.runs->len, ==, 4);
    g_assert_cmpuint(g_array_index(fake.runs, uint64_t, 0), ==, 0x300);
    g_assert_cmpuint(g_array_index(fake.runs, uint64_t, 1), ==, 16);
    g_assert_cmpuint(g_array_index(fake.runs, uint64_t, 2), ==, 0x8008);
    g_assert_cmpuint(g_array_index(fake.runs, uint64_t, 3), ==, 2);
    g_assert_cmpuint(proto.pages_skipped, ==, 18);
    g_assert_cmpuint(proto.applied, ==, 1);
    /* A request is answered at most once; a second answer is no snapshot. */
    g_assert_cmpint(answer(&why), ==, KVM_FPB_DISCARDED);
    g_assert_cmpuint(proto.discarded, ==, 0);
    g_assert_cmpuint(proto.refused, ==, 1);
}

/* Rule: arm write tracking for all RAM before the guest sees a request. */
static void test_arm_before_request(void)
{
    setup();
    start_pass();
    g_assert_cmpstr(fake.log->str, ==, "arm,request,");
}

/* Rule: a snapshot whose request straddles a sync is discarded. */
static void test_sync_between_request_and_apply(void)
{
    struct kvm_fpb_header *h;
    uint64_t req;
    FpbStatus why;

    setup();
    start_pass();
    h = hdr();
    req = h->request;
    /* The guest takes its snapshot, then a sync runs before it reports. */
    h->seq += 2;
    h->snapshot_request = req;
    fpb_proto_before_sync(&proto);
    g_assert_cmpint(hc(KVM_FPB_OP_SNAPSHOT_DONE, req, h->seq, &why), ==,
                    KVM_FPB_DISCARDED);
    g_assert_cmpint(why, ==, FPB_ERR_STALE);
    g_assert_cmpuint(fake.runs->len, ==, 0);
    /* Even once the next request is out, the old answer stays stale. */
    g_assert_cmpuint(fpb_proto_after_sync(&proto), >, req);
    g_assert_cmpint(hc(KVM_FPB_OP_SNAPSHOT_DONE, req, h->seq, &why), ==,
                    KVM_FPB_DISCARDED);
    g_assert_cmpuint(fake.runs->len, ==, 0);
    /* The fresh request's answer is applied. */
    g_assert_cmpint(answer(&why), ==, 0);
    g_assert_cmpuint(fake.runs->len, ==, 4);
}

/*
 * The test hooks.  x-fpb-apply-late keeps a valid snapshot until after the
 * next sync, where the rule must discard it.
 */
static void test_hook_apply_late(void)
{
    FpbStatus why;

    setup();
    proto.apply_late = true;
    start_pass();
    g_assert_cmpint(answer(&why), ==, 0);
    g_assert_cmpint(why, ==, FPB_OK);
    g_assert_cmpuint(fake.runs->len, ==, 0);
    fpb_proto_before_sync(&proto);
    g_assert_cmpuint(fpb_proto_after_sync(&proto), !=, 0);
    g_assert_cmpuint(fake.runs->len, ==, 0);
    g_assert_cmpuint(proto.applied, ==, 0);
    g_assert_cmpuint(proto.discarded, ==, 1);
}

/* x-fpb-apply-late-unchecked applies it anyway: the negative control. */
static void test_hook_apply_late_unchecked(void)
{
    FpbStatus why;

    setup();
    proto.apply_late_unchecked = true;
    start_pass();
    g_assert_cmpint(answer(&why), ==, 0);
    g_assert_cmpuint(fake.runs->len, ==, 0);
    fpb_proto_before_sync(&proto);
    g_assert_cmpuint(fpb_proto_after_sync(&proto), !=, 0);
    g_assert_cmpuint(fake.runs->len, ==, 4);
    g_assert_cmpuint(g_array_index(fake.runs, uint64_t, 0), ==, 0x300);
    g_assert_cmpuint(g_array_index(fake.runs, uint64_t, 1), ==, 16);
    g_assert_cmpuint(proto.applied, ==, 1);
    g_assert_cmpuint(proto.pages_skipped, ==, 18);
    g_assert_cmpuint(proto.discarded, ==, 0);
    /* Applied once: the next sync finds nothing kept. */
    fpb_proto_before_sync(&proto);
    fpb_proto_after_sync(&proto);
    g_assert_cmpuint(proto.applied, ==, 1);
    /* Also at the last sync, after switchover began: no request then. */
    g_assert_cmpint(answer(&why), ==, 0);
    fpb_proto_migration_stop(&proto);
    fpb_proto_before_sync(&proto);
    fpb_proto_after_last_sync(&proto);
    g_assert_cmpuint(proto.applied, ==, 2);
    fpb_proto_before_sync(&proto);
    g_assert_cmpuint(fpb_proto_after_sync(&proto), ==, 0);
    /* Never outside one. */
    fpb_proto_migration_end(&proto);
    start_pass();
    g_assert_cmpint(answer(&why), ==, 0);
    fpb_proto_migration_end(&proto);
    fpb_proto_after_last_sync(&proto);
    g_assert_cmpuint(proto.applied, ==, 0);     /* this migration's count */
}

/* x-fpb-skip-arm writes every request without arming first. */
static void test_hook_skip_arm(void)
{
    FpbStatus why;

    setup();
    proto.skip_arm = true;
    start_pass();
    g_assert_cmpint(answer(&why), ==, 0);
    fpb_proto_before_sync(&proto);
    g_assert_cmpuint(fpb_proto_after_sync(&proto), !=, 0);
    g_assert_cmpstr(fake.log->str, ==, "request,request,");
    g_assert_cmpuint(proto.applied, ==, 1);
}

static void *snapshot_thread(void *opaque)
{
    FpbStatus why;

    g_assert_cmpint(answer(&why), ==, 0);
    return NULL;
}

/*
 * Rule: a sync that starts during an apply waits for the step in progress,
 * no more: the apply keeps what it applied and stops there.
 */
static void test_sync_cuts_apply(void)
{
    QemuThread t;

    setup();
    start_pass();
    fake.copy_delay_ms = 100;
    qemu_event_reset(&fake.in_copy);
    qemu_thread_create(&t, "snap", snapshot_thread, NULL,
                       QEMU_THREAD_JOINABLE);
    qemu_event_wait(&fake.in_copy);
    fpb_proto_before_sync(&proto);
    qemu_thread_join(&t);
    /* Chunk 0's step was applied before the sync began, chunk 1's not. */
    g_assert_cmpuint(fake.runs->len, ==, 2);
    g_assert_cmpuint(g_array_index(fake.runs, uint64_t, 0), ==, 0x300);
    g_assert_cmpuint(proto.pages_skipped, ==, 16);
    g_assert_cmpuint(proto.applied, ==, 1);
    /* The next request's answer is applied whole. */
    fake.copy_delay_ms = 0;
    g_array_set_size(fake.runs, 0);
    g_assert_cmpuint(fpb_proto_after_sync(&proto), !=, 0);
    g_assert_cmpint(answer(NULL), ==, 0);
    g_assert_cmpuint(fake.runs->len, ==, 4);
    g_assert_cmpuint(proto.applied, ==, 2);
}

/* Rule: a silent guest costs the optimisation, never the migration. */
static void test_absent_guest(void)
{
    int64_t start = g_get_monotonic_time();
    uint64_t first;
    FpbStatus why;
    int i;

    setup();
    start_pass();
    first = hdr()->request;
    for (i = 0; i < 100; i++) {
        fpb_proto_before_sync(&proto);
        fpb_proto_after_sync(&proto);
    }
    g_assert_cmpint(g_get_monotonic_time() - start, <, G_USEC_PER_SEC);
    hdr()->seq += 2;
    hdr()->snapshot_request = first;
    g_assert_cmpint(hc(KVM_FPB_OP_SNAPSHOT_DONE, first, hdr()->seq, &why),
                    ==, KVM_FPB_DISCARDED);
    g_assert_cmpuint(fake.runs->len, ==, 0);
    fpb_proto_migration_end(&proto);
    g_assert_cmpint(answer(&why), ==, KVM_FPB_DISCARDED);
}

/*
 * Switchover notifies before the last sync, which must neither reset the
 * counters query-migrate reports nor issue a request; the next migration
 * starts from zero.
 */
static void test_switchover(void)
{
    FpbStatus why;

    setup();
    start_pass();
    g_assert_cmpint(answer(&why), ==, 0);
    fpb_proto_migration_stop(&proto);
    g_assert_null(fpb_proto_migration_start(&proto, false, false));
    fpb_proto_before_sync(&proto);
    g_assert_cmpuint(fpb_proto_after_sync(&proto), ==, 0);
    g_assert_cmpuint(proto.applied, ==, 1);
    g_assert_cmpuint(proto.pages_skipped, ==, 18);
    fpb_proto_migration_end(&proto);
    g_assert_null(fpb_proto_migration_start(&proto, false, false));
    g_assert_cmpuint(proto.applied, ==, 0);
    g_assert_cmpuint(proto.pages_skipped, ==, 0);
}

/*
 * A 1 TiB guest (chunk_shift 18: 1024 chunks of 1 GiB, a layout the
 * spec allows): its 32 MiB of bitmap is applied, not refused.  The RAM is a
 * sparse mock: the header lives in the fake's RAM, every bitmap reads as
 * "7 of 8 pages free", and the migration bitmap is a real one.
 */
#define TB_RAM_END      (1ULL << 40)
#define TB_SHIFT        18
#define TB_CHUNKS       1024
#define TB_BM_GPA       (1ULL << 30)
#define TB_PAGES        (TB_RAM_END >> 12)

static unsigned long *tb_bmap;

static bool tb_is_ram(void *opaque, uint64_t gpa, uint64_t len)
{
    return gpa + len >= gpa && gpa + len <= TB_RAM_END;
}

static bool tb_read(void *opaque, uint64_t gpa, void *buf, uint64_t len)
{
    uint64_t bm_end = TB_BM_GPA + TB_CHUNKS * (1ULL << (TB_SHIFT - 3));

    if (gpa >= HDR_GPA && gpa + len <= HDR_GPA + HDR_SIZE) {
        memcpy(buf, fake.ram + gpa, len);
    } else if (gpa >= TB_BM_GPA && gpa + len <= bm_end) {
        memset(buf, 0xfe, len);
    } else {
        fake.bad_reads++;
        return false;
    }
    return true;
}

static uint64_t tb_drop_bits(void *opaque, uint64_t pfn, const uint64_t *free,
                             uint64_t npages)
{
    g_assert_cmpuint(pfn + npages, <=, TB_PAGES);
    return fpb_bitmap_drop(tb_bmap, pfn, free, 0, npages);
}

static uint64_t tb_ram_end(void *opaque)
{
    return TB_RAM_END;
}

static void test_terabyte(void)
{
    struct kvm_fpb_header *h;
    uint64_t free_pages = (TB_CHUNKS - 1) * (1ULL << TB_SHIFT) / 8 * 7;
    FpbStatus why;
    uint32_t i;

    setup();
    ops.guest.read = tb_read;
    ops.guest.is_ram = tb_is_ram;
    ops.drop_bits = tb_drop_bits;
    ops.ram_end = tb_ram_end;
    tb_bmap = bitmap_new(TB_PAGES);
    bitmap_set(tb_bmap, 0, TB_PAGES);       /* pass 1: everything dirty */
    h = hdr();
    h->chunk_shift = TB_SHIFT;
    h->nr_chunks = TB_CHUNKS;
    h->chunk[0] = 0;                        /* chunk 0: all in use */
    for (i = 1; i < TB_CHUNKS; i++) {
        h->chunk[i] = (TB_BM_GPA + i * (1ULL << (TB_SHIFT - 3))) |
                      KVM_FPB_CHUNK_PRESENT;
    }
    start_pass();
    g_assert_cmpint(answer(&why), ==, 0);
    g_assert_cmpint(why, ==, FPB_OK);
    g_assert_cmpuint(proto.applied, ==, 1);
    g_assert_cmpuint(proto.pages_skipped, ==, free_pages);
    g_assert_cmpuint(bitmap_count_one(tb_bmap, TB_PAGES), ==,
                     TB_PAGES - free_pages);
    g_assert_true(test_bit((1 << TB_SHIFT) - 1, tb_bmap));
    g_assert_true(test_bit(1 << TB_SHIFT, tb_bmap));
    g_assert_false(test_bit((1 << TB_SHIFT) + 1, tb_bmap));
    g_assert_true(test_bit(TB_PAGES - 8, tb_bmap));
    g_assert_false(test_bit(TB_PAGES - 1, tb_bmap));
    g_assert_cmpint(fake.bad_reads, ==, 0);
    g_free(tb_bmap);
}

/* fpb_bitmap_drop() against a bit-by-bit model, at every alignment. */
static void test_bitmap_drop(void)
{
    enum { BITS = 1024 };
    GRand *r = g_rand_new_with_seed(1);
    int iter;

    for (iter = 0; iter < 20000; iter++) {
        unsigned long dst[BITS / BITS_PER_LONG], want[BITS / BITS_PER_LONG];
        uint64_t free[BITS / 64 + 1];
        uint64_t n = g_rand_int_range(r, 0, BITS / 2);
        uint64_t dst_bit = g_rand_int_range(r, 0, BITS - n + 1);
        uint64_t free_bit = g_rand_int_range(r, 0, BITS - n + 1);
        uint64_t i, count = 0;

        for (i = 0; i < ARRAY_SIZE(dst); i++) {
            dst[i] = ((unsigned long)g_rand_int(r) << 31) ^ g_rand_int(r);
        }
        for (i = 0; i < ARRAY_SIZE(free); i++) {
            free[i] = ((uint64_t)g_rand_int(r) << 32) | g_rand_int(r);
        }
        memcpy(want, dst, sizeof(dst));
        for (i = 0; i < n; i++) {
            if ((free[(free_bit + i) / 64] >> ((free_bit + i) % 64)) & 1 &&
                test_bit(dst_bit + i, want)) {
                clear_bit(dst_bit + i, want);
                count++;
            }
        }
        g_assert_cmpuint(fpb_bitmap_drop(dst, dst_bit, free, free_bit, n), ==,
                         count);
        g_assert_cmpmem(dst, sizeof(dst), want, sizeof(want));
    }
    g_rand_free(r);
}

/* Rule: no snapshots with postcopy, which never sends a dropped page. */
static void test_postcopy_off(void)
{
    FpbStatus why;

    setup();
    g_assert_cmpint(do_register(), ==, 0);
    g_assert_nonnull(fpb_proto_migration_start(&proto, true, false));
    fpb_proto_before_sync(&proto);
    g_assert_cmpuint(fpb_proto_after_sync(&proto), ==, 0);
    g_assert_cmpuint(hdr()->request, ==, 0);
    g_assert_cmpstr(fake.log->str, ==, "");
    hdr()->seq += 2;
    g_assert_cmpint(hc(KVM_FPB_OP_SNAPSHOT_DONE, 0, hdr()->seq, &why), ==,
                    KVM_FPB_DISCARDED);
    fpb_proto_migration_end(&proto);
    g_assert_nonnull(fpb_proto_migration_start(&proto, false, true));
    g_assert_cmpuint(fpb_proto_after_sync(&proto), ==, 0);
}

static void test_torn(void)
{
    FpbStatus why;

    setup();
    start_pass();
    fake.tear = true;
    g_assert_cmpint(answer(&why), ==, KVM_FPB_DISCARDED);
    g_assert_cmpint(why, ==, FPB_ERR_TORN);
    g_assert_cmpuint(fake.runs->len, ==, 0);
}

static void test_seq_and_request(void)
{
    struct kvm_fpb_header *h;
    FpbStatus why;

    setup();
    start_pass();
    h = hdr();
    h->seq = 3;                     /* odd: still being written */
    h->snapshot_request = h->request;
    g_assert_cmpint(hc(KVM_FPB_OP_SNAPSHOT_DONE, h->request, 3, &why), ==,
                    -KVM_EINVAL);
    g_assert_cmpint(why, ==, FPB_ERR_SEQ);

    fpb_proto_before_sync(&proto);
    fpb_proto_after_sync(&proto);
    h->seq = 4;                     /* a2 disagrees */
    g_assert_cmpint(hc(KVM_FPB_OP_SNAPSHOT_DONE, h->request, 6, &why), ==,
                    -KVM_EINVAL);
    g_assert_cmpint(why, ==, FPB_ERR_SEQ);

    fpb_proto_before_sync(&proto);
    fpb_proto_after_sync(&proto);
    h->snapshot_request = h->request - 1;
    g_assert_cmpint(hc(KVM_FPB_OP_SNAPSHOT_DONE, h->request, 4, &why), ==,
                    -KVM_EINVAL);
    g_assert_cmpint(why, ==, FPB_ERR_REQUEST);
    g_assert_cmpuint(fake.runs->len, ==, 0);
}

typedef void HeaderEdit(struct kvm_fpb_header *h);

static void hostile_register(HeaderEdit *edit, FpbStatus want)
{
    FpbStatus why;

    setup();
    edit(hdr());
    g_assert_cmpint(hc(KVM_FPB_OP_REGISTER, HDR_GPA, HDR_SIZE, &why), ==,
                    -KVM_EINVAL);
    g_assert_cmpint(why, ==, want);
    g_assert_false(proto.registered);
}

static void bad_magic(struct kvm_fpb_header *h)
{
    h->magic++;
}

static void bad_version(struct kvm_fpb_header *h)
{
    h->version = 2;
}

static void bad_header_size(struct kvm_fpb_header *h)
{
    h->header_size = 64;
}

static void shift_low(struct kvm_fpb_header *h)
{
    h->chunk_shift = KVM_FPB_CHUNK_SHIFT_MIN - 1;
}

static void shift_high(struct kvm_fpb_header *h)
{
    h->chunk_shift = 63;
}

static void chunks_beyond_region(struct kvm_fpb_header *h)
{
    h->nr_chunks = (HDR_SIZE - sizeof(*h)) / 8 + 1;
}

static void chunks_beyond_ram(struct kvm_fpb_header *h)
{
    h->nr_chunks = 3;       /* 256 MiB of RAM is two 128 MiB chunks */
}

static void chunks_huge(struct kvm_fpb_header *h)
{
    h->nr_chunks = UINT32_MAX;
}

static void test_hostile_headers(void)
{
    FpbStatus why;

    hostile_register(bad_magic, FPB_ERR_MAGIC);
    hostile_register(bad_version, FPB_ERR_VERSION);
    hostile_register(bad_header_size, FPB_ERR_HEADER_SIZE);
    hostile_register(shift_low, FPB_ERR_CHUNK_SHIFT);
    hostile_register(shift_high, FPB_ERR_CHUNK_SHIFT);
    hostile_register(chunks_beyond_region, FPB_ERR_NR_CHUNKS);
    hostile_register(chunks_beyond_ram, FPB_ERR_NR_CHUNKS);
    hostile_register(chunks_huge, FPB_ERR_NR_CHUNKS);

    setup();
    g_assert_cmpint(hc(KVM_FPB_OP_REGISTER, HDR_GPA + 8, HDR_SIZE, &why),
                    ==, -KVM_EINVAL);
    g_assert_cmpint(why, ==, FPB_ERR_ALIGN);
    g_assert_cmpint(hc(KVM_FPB_OP_REGISTER, HDR_GPA, 128 * 1024, &why),
                    ==, -KVM_E2BIG);
    g_assert_cmpint(hc(KVM_FPB_OP_REGISTER, HDR_GPA, 64, &why), ==,
                    -KVM_EINVAL);
    g_assert_cmpint(why, ==, FPB_ERR_SIZE);
    g_assert_cmpint(hc(KVM_FPB_OP_REGISTER, HOLE_START, HDR_SIZE, &why), ==,
                    -KVM_EINVAL);
    g_assert_cmpint(why, ==, FPB_ERR_NOT_RAM);
    g_assert_cmpint(hc(KVM_FPB_OP_REGISTER, RAM_END - 4096, HDR_SIZE, &why),
                    ==, -KVM_EINVAL);
    g_assert_cmpint(why, ==, FPB_ERR_NOT_RAM);
    g_assert_cmpint(hc(KVM_FPB_OP_REGISTER, -4096ULL, 8192, &why), ==,
                    -KVM_EINVAL);
    g_assert_cmpint(why, ==, FPB_ERR_NOT_RAM);
    g_assert_cmpint(hc(9, 0, 0, &why), ==, -KVM_EINVAL);
    g_assert_false(proto.registered);
    g_assert_cmpint(fake.bad_reads, ==, 0);
}

/* Change the chunk table after registration, expect the snapshot refused. */
static void hostile_chunk(uint32_t i, uint64_t entry, FpbStatus want)
{
    FpbStatus why;

    setup();
    start_pass();
    hdr()->chunk[i] = entry;
    g_assert_cmpint(answer(&why), ==, -KVM_EINVAL);
    g_assert_cmpint(why, ==, want);
    g_assert_cmpuint(fake.runs->len, ==, 0);
    /* Refused before any read outside RAM was even tried. */
    g_assert_cmpint(fake.bad_reads, ==, 0);
}

static void test_hostile_chunks(void)
{
    FpbStatus why;

    hostile_chunk(1, BM1_GPA | 0x800 | KVM_FPB_CHUNK_PRESENT, FPB_ERR_CHUNK);
    hostile_chunk(1, BM1_GPA | 2 | KVM_FPB_CHUNK_PRESENT, FPB_ERR_CHUNK);
    hostile_chunk(1, BM1_GPA, FPB_ERR_CHUNK);
    hostile_chunk(1, HOLE_START | KVM_FPB_CHUNK_PRESENT, FPB_ERR_NOT_RAM);
    hostile_chunk(1, RAM_END | KVM_FPB_CHUNK_PRESENT, FPB_ERR_NOT_RAM);
    hostile_chunk(1, (RAM_END - 2048) | KVM_FPB_CHUNK_PRESENT,
                  FPB_ERR_CHUNK);
    hostile_chunk(1, -4096ULL | KVM_FPB_CHUNK_PRESENT, FPB_ERR_NOT_RAM);
    hostile_chunk(1, HDR_GPA | KVM_FPB_CHUNK_PRESENT, FPB_ERR_OVERLAP);
    hostile_chunk(1, (HDR_GPA + HDR_SIZE - 4096) | KVM_FPB_CHUNK_PRESENT,
                  FPB_ERR_OVERLAP);
    hostile_chunk(1, BM0_GPA | KVM_FPB_CHUNK_PRESENT, FPB_ERR_OVERLAP);

    /* Constant fields may not change while registered. */
    setup();
    start_pass();
    hdr()->nr_chunks = 1;
    g_assert_cmpint(answer(&why), ==, -KVM_EINVAL);
    g_assert_cmpint(why, ==, FPB_ERR_CHANGED);

    /* A hole is fine and skips nothing in it. */
    setup();
    start_pass();
    hdr()->chunk[1] = 0;
    g_assert_cmpint(answer(&why), ==, 0);
    g_assert_cmpuint(fake.runs->len, ==, 2);
}

/*
 * A hypercall storm: thousands of SNAPSHOT_DONE calls, most of them over
 * the rate limit, the others repeating an answer or answering nothing.
 * They are refused hypercalls, not snapshots: fpb-snapshots-discarded
 * must count snapshots (at most one per request), however many calls.
 */
static void test_storm_counts_hypercalls(void)
{
    struct kvm_fpb_header *h;
    uint64_t req;
    FpbStatus why;
    int i;

    setup();
    start_pass();
    h = hdr();
    req = h->request;
    g_assert_cmpint(answer(&why), ==, 0);
    for (i = 0; i < 10000; i++) {
        hc(KVM_FPB_OP_SNAPSHOT_DONE, req + (i % 3), h->seq, &why);
    }
    g_assert_cmpuint(proto.applied, ==, 1);
    g_assert_cmpuint(proto.discarded, ==, 0);
    g_assert_cmpuint(proto.refused, ==, 10000);

    /* A snapshot made stale by a sync is discarded once, then refused. */
    fake.now += 1000000000LL;
    fpb_proto_before_sync(&proto);
    g_assert_cmpuint(fpb_proto_after_sync(&proto), ==, req + 1);
    h->seq += 2;
    h->snapshot_request = req + 1;
    fpb_proto_before_sync(&proto);
    for (i = 0; i < 5; i++) {
        g_assert_cmpint(hc(KVM_FPB_OP_SNAPSHOT_DONE, req + 1, h->seq, &why),
                        ==, KVM_FPB_DISCARDED);
        g_assert_cmpint(why, ==, FPB_ERR_STALE);
    }
    g_assert_cmpuint(proto.discarded, ==, 1);
    g_assert_cmpuint(proto.refused, ==, 10004);

    /* An invalid snapshot is a discarded snapshot, once per request. */
    g_assert_cmpuint(fpb_proto_after_sync(&proto), ==, req + 2);
    h->chunk[1] = BM1_GPA | 2 | KVM_FPB_CHUNK_PRESENT;
    g_assert_cmpint(answer(&why), ==, -KVM_EINVAL);
    g_assert_cmpint(answer(&why), ==, KVM_FPB_DISCARDED);
    g_assert_cmpuint(proto.discarded, ==, 2);
    g_assert_cmpuint(proto.refused, ==, 10005);

    /* Refused REGISTERs and unknown operations count as refused too. */
    g_assert_cmpint(hc(KVM_FPB_OP_REGISTER, HDR_GPA + 8, HDR_SIZE, &why),
                    ==, -KVM_EINVAL);
    g_assert_cmpint(hc(9, 0, 0, &why), ==, -KVM_EINVAL);
    g_assert_cmpuint(proto.refused, ==, 10007);
    g_assert_cmpuint(proto.discarded, ==, 2);

    /* The next migration starts from zero, old requests are not its own. */
    fpb_proto_migration_end(&proto);
    g_assert_null(fpb_proto_migration_start(&proto, false, false));
    g_assert_cmpuint(proto.refused, ==, 0);
    h->seq += 2;
    h->snapshot_request = req + 2;
    g_assert_cmpint(hc(KVM_FPB_OP_SNAPSHOT_DONE, req + 2, h->seq, &why), ==,
                    KVM_FPB_DISCARDED);
    g_assert_cmpuint(proto.discarded, ==, 0);
    g_assert_cmpuint(proto.refused, ==, 1);
}

/* Rate-limited answers are refused hypercalls, even the first answer. */
static void test_rate_limited_answer(void)
{
    struct kvm_fpb_header *h;
    FpbStatus why;
    int i;

    setup();
    start_pass();
    h = hdr();
    h->seq += 2;
    h->snapshot_request = h->request;
    for (i = 1; i < FPB_RATE_PER_SEC; i++) {
        hc(KVM_FPB_OP_SNAPSHOT_DONE, 0, h->seq, &why);
    }
    g_assert_cmpint(hc(KVM_FPB_OP_SNAPSHOT_DONE, h->request, h->seq, &why),
                    ==, KVM_FPB_DISCARDED);
    g_assert_cmpint(why, ==, FPB_ERR_RATE);
    g_assert_cmpuint(proto.discarded, ==, 0);
    g_assert_cmpuint(proto.refused, ==, FPB_RATE_PER_SEC);
    /* Still outstanding: answered in the next window, it is applied. */
    fake.now += 1000000000LL;
    g_assert_cmpint(hc(KVM_FPB_OP_SNAPSHOT_DONE, h->request, h->seq, &why),
                    ==, 0);
    g_assert_cmpuint(proto.applied, ==, 1);
}

/*
 * Page 0 is RAM, but never the header or a bitmap: the host would write
 * the request into the real mode interrupt vector table.
 */
static void test_page0(void)
{
    struct kvm_fpb_header *h0;
    FpbStatus why;

    setup();
    h0 = (struct kvm_fpb_header *)fake.ram;
    memcpy(h0, hdr(), HDR_SIZE);
    g_assert_cmpint(hc(KVM_FPB_OP_REGISTER, 0, HDR_SIZE, &why), ==,
                    -KVM_EINVAL);
    g_assert_cmpint(why, ==, FPB_ERR_PAGE0);
    g_assert_false(proto.registered);
    memset(h0, 0, HDR_SIZE);
    hostile_chunk(1, 0 | KVM_FPB_CHUNK_PRESENT, FPB_ERR_PAGE0);
}

/*
 * Layers of a q35 PC with 1 GiB (or 3 GiB) of RAM and a VGA, highest
 * priority first, as fpb.c finds them at the top of system memory: the
 * chipset's PAM and SMRAM aliases and kvmvapic's ROM map pc.ram too, but
 * are not the machine's own mapping of it.
 */
static const char pc_ram[] = "pc.ram";

static FpbRamMap *pc_map(uint64_t ram_size, bool tseg)
{
    uint64_t below = ram_size >= 0xb0000000ULL ? 0x80000000ULL : ram_size;
    FpbRamLayer l[] = {
        { 0xfee00000, 0x100000 },                       /* apic-msi */
        { 0xca000, 0x3000 },                            /* kvmvapic-rom */
        { 0xc0000, 0x4000 }, { 0xc0000, 0x4000 },       /* pam-rom, -ram */
        { 0xc4000, 0x4000 }, { 0xc8000, 0x4000 },
        { 0xcc000, 0x4000 }, { 0xd0000, 0x10000 },
        { 0xe0000, 0x8000 }, { 0xe8000, 0x8000 },       /* pam-ram: RW */
        { 0xf0000, 0x10000 }, { 0xf0000, 0x10000 },
        { 0xa0000, 0x20000 },                           /* smram-region */
        { below - 0x800000, tseg ? 0x800000 : 0 },      /* tseg-blackhole */
        { 0xfed1c000, 0x4000 },                         /* lpc-rcrb-mmio */
        { 0, below, pc_ram, 0 },                        /* ram-below-4g */
        { 1ULL << 32, ram_size - below, pc_ram, below },/* ram-above-4g */
        { 0xb0000000, 0x10000000 },                     /* pcie-mmcfg */
        { 0xfec00000, 0x1000 },                         /* ioapic */
        { 0, UINT64_MAX },              /* pci: vga.vram, pc.bios, ... */
    };

    return fpb_ram_map_new(l, ARRAY_SIZE(l));
}

static void assert_range(const FpbRamMap *m, uint32_t i, uint64_t start,
                         uint64_t end, uint64_t offset)
{
    g_assert_cmpuint(i, <, m->nr);
    g_assert_cmphex(m->range[i].start, ==, start);
    g_assert_cmphex(m->range[i].end, ==, end);
    g_assert_true(m->range[i].ram == pc_ram);
    g_assert_cmphex(m->range[i].offset, ==, offset);
}

static void test_ram_map_pc(void)
{
    g_autofree FpbRamMap *m1 = pc_map(1ULL << 30, false);
    g_autofree FpbRamMap *m3 = pc_map(3ULL << 30, true);

    /* No ROM shadow, no VGA window, no VRAM, no BIOS ROM. */
    g_assert_cmpuint(m1->nr, ==, 2);
    assert_range(m1, 0, 0, 0xa0000, 0);
    assert_range(m1, 1, 0x100000, 1ULL << 30, 0x100000);
    g_assert_cmphex(m1->end, ==, 1ULL << 30);

    g_assert_cmpuint(m3->nr, ==, 3);
    assert_range(m3, 0, 0, 0xa0000, 0);
    assert_range(m3, 1, 0x100000, 0x80000000ULL - 0x800000, 0x100000);
    assert_range(m3, 2, 1ULL << 32, (1ULL << 32) + (1ULL << 30),
                 0x80000000ULL);
    g_assert_cmphex(m3->end, ==, (1ULL << 32) + (1ULL << 30));

    g_assert_true(fpb_ram_map_find(m1, 0x9f000) == &m1->range[0]);
    g_assert_null(fpb_ram_map_find(m1, 0xa0000));
    g_assert_null(fpb_ram_map_find(m1, 0xc0000));
    g_assert_null(fpb_ram_map_find(m1, 0xfd000000));
    g_assert_null(fpb_ram_map_find(m3, 0xfd000000));
    g_assert_null(fpb_ram_map_find(m3, 0x7ffff000));
    g_assert_true(fpb_ram_map_covers(m1, 0x100000, 1ULL << 20));
    g_assert_false(fpb_ram_map_covers(m1, 0x9f000, 0x2000));
    g_assert_false(fpb_ram_map_covers(m1, 0xe8000, 0x1000));
    g_assert_false(fpb_ram_map_covers(m1, (1ULL << 30) - 0x1000, 0x2000));
    g_assert_false(fpb_ram_map_covers(m1, 0, 0));
    g_assert_false(fpb_ram_map_covers(m1, -0x1000ULL, 0x2000));
}

typedef struct Pieces {
    uint64_t gpa[8], len[8];
    int n;
} Pieces;

static bool add_piece(void *opaque, const FpbRamRange *r, uint64_t gpa,
                      uint64_t len)
{
    Pieces *p = opaque;

    g_assert_cmpint(p->n, <, 8);
    p->gpa[p->n] = gpa;
    p->len[p->n++] = len;
    return true;
}

/*
 * A run of free pages drops exactly its ordinary RAM pages, wherever it
 * starts: in RAM, in the VGA window, or in the ROM shadow.
 */
static void test_ram_map_runs(void)
{
    g_autofree FpbRamMap *m = pc_map(3ULL << 30, false);
    Pieces p = { 0 };

    fpb_ram_map_for_each(m, 0x9e000, 0x64000, add_piece, &p);
    g_assert_cmpint(p.n, ==, 2);
    g_assert_cmphex(p.gpa[0], ==, 0x9e000);
    g_assert_cmphex(p.len[0], ==, 0x2000);
    g_assert_cmphex(p.gpa[1], ==, 0x100000);
    g_assert_cmphex(p.len[1], ==, 0x2000);

    memset(&p, 0, sizeof(p));
    fpb_ram_map_for_each(m, 0xa0000, 0x70000, add_piece, &p);
    g_assert_cmpint(p.n, ==, 1);
    g_assert_cmphex(p.gpa[0], ==, 0x100000);
    g_assert_cmphex(p.len[0], ==, 0x10000);

    memset(&p, 0, sizeof(p));
    fpb_ram_map_for_each(m, 0xc0000, 0x30000, add_piece, &p);
    g_assert_cmpint(p.n, ==, 0);

    /* From below the PCI hole to above 4 GiB: VRAM and BIOS skipped. */
    memset(&p, 0, sizeof(p));
    fpb_ram_map_for_each(m, 0x7ffff000, (1ULL << 32) - 0x7ffff000 + 0x1000,
                         add_piece, &p);
    g_assert_cmpint(p.n, ==, 2);
    g_assert_cmphex(p.gpa[0], ==, 0x7ffff000);
    g_assert_cmphex(p.len[0], ==, 0x1000);
    g_assert_cmphex(p.gpa[1], ==, 1ULL << 32);
    g_assert_cmphex(p.len[1], ==, 0x1000);

    /* To the end of the address space. */
    memset(&p, 0, sizeof(p));
    fpb_ram_map_for_each(m, (1ULL << 32) + (1ULL << 30) - 0x1000, UINT64_MAX,
                         add_piece, &p);
    g_assert_cmpint(p.n, ==, 1);
    g_assert_cmphex(p.len[0], ==, 0x1000);
}

/*
 * The chunk table may cover ordinary RAM only: a 1 GiB guest gets 8
 * chunks of 128 MiB, however high the BIOS ROM or the VRAM sit.
 */
static void test_ram_end_limits_chunks(void)
{
    g_autofree FpbRamMap *m = pc_map(1ULL << 30, false);
    FpbGuestOps g = {
        .read = fake_read,
        .is_ram = fake_is_ram,
        .ram_end = m->end,
    };
    FpbRegion reg;

    setup();
    hdr()->nr_chunks = 8;
    g_assert_cmpint(fpb_check_region(&g, HDR_GPA, HDR_SIZE, &reg), ==,
                    FPB_OK);
    hdr()->nr_chunks = 9;
    g_assert_cmpint(fpb_check_region(&g, HDR_GPA, HDR_SIZE, &reg), ==,
                    FPB_ERR_NR_CHUNKS);
    hdr()->nr_chunks = 32;          /* up to the BIOS ROM at 4 GiB */
    g_assert_cmpint(fpb_check_region(&g, HDR_GPA, HDR_SIZE, &reg), ==,
                    FPB_ERR_NR_CHUNKS);
}

static void test_unregister_and_reset(void)
{
    FpbStatus why;

    setup();
    start_pass();
    g_assert_cmpint(hc(KVM_FPB_OP_UNREGISTER, 0, 0, NULL), ==, 0);
    g_assert_cmpint(answer(&why), ==, -KVM_EPERM);
    fpb_proto_before_sync(&proto);
    g_assert_cmpuint(fpb_proto_after_sync(&proto), ==, 0);

    setup();
    start_pass();
    fpb_proto_reset(&proto);
    g_assert_false(proto.registered);
    g_assert_cmpint(answer(&why), ==, -KVM_EPERM);
    g_assert_cmpint(hc(KVM_FPB_OP_UNREGISTER, 0, 0, NULL), ==, 0);
}

static void test_rate_limit(void)
{
    FpbStatus why;
    int i;

    setup();
    for (i = 0; i < FPB_RATE_PER_SEC; i++) {
        g_assert_cmpint(do_register(), ==, 0);
    }
    g_assert_cmpint(hc(KVM_FPB_OP_REGISTER, HDR_GPA, HDR_SIZE, &why), ==,
                    -KVM_EINVAL);
    g_assert_cmpint(why, ==, FPB_ERR_RATE);
    fake.now += 1000000000LL;
    g_assert_cmpint(do_register(), ==, 0);
}

/* What a thread does to the protocol after a delay, during a wait. */
typedef enum { LATER_ANSWER, LATER_UNREGISTER } LaterOp;

static void *later_thread(void *opaque)
{
    FpbStatus why;

    g_usleep(50 * 1000);
    if ((uintptr_t)opaque == LATER_ANSWER) {
        g_assert_cmpint(answer(&why), ==, 0);
    } else {
        g_assert_cmpint(hc(KVM_FPB_OP_UNREGISTER, 0, 0, NULL), ==, 0);
    }
    return NULL;
}

static int64_t wait_first_ms(uint32_t timeout_ms, bool expect_wait,
                             bool *answered)
{
    int64_t start = g_get_monotonic_time();

    g_assert(fpb_proto_wait_first(&proto, timeout_ms, answered) ==
             expect_wait);
    return (g_get_monotonic_time() - start) / 1000;
}

/* The first wait ends as soon as the guest answers, and only once. */
static void test_first_wait_answered(void)
{
    QemuThread t;
    bool answered = false;

    setup();
    start_pass();
    qemu_thread_create(&t, "answer", later_thread,
                       (void *)(uintptr_t)LATER_ANSWER, QEMU_THREAD_JOINABLE);
    g_assert_cmpint(wait_first_ms(10000, true, &answered), <, 5000);
    qemu_thread_join(&t);
    g_assert_true(answered);
    g_assert_cmpuint(proto.applied, ==, 1);
    /* Later iterations of the same migration do not wait. */
    fpb_proto_before_sync(&proto);
    g_assert_cmpuint(fpb_proto_after_sync(&proto), !=, 0);
    g_assert_cmpint(wait_first_ms(10000, false, &answered), <, 5000);
}

/* A silent guest costs the bound, no more. */
static void test_first_wait_timeout(void)
{
    bool answered = true;

    setup();
    start_pass();
    g_assert_cmpint(wait_first_ms(100, true, &answered), >=, 99);
    g_assert_false(answered);
    /* The request stays valid: a late answer is still applied. */
    g_assert_cmpint(answer(NULL), ==, 0);
    g_assert_cmpuint(proto.applied, ==, 1);
}

/* Unregistering, or no registration at all, ends the wait at once. */
static void test_first_wait_unregistered(void)
{
    QemuThread t;
    bool answered;

    setup();
    start_pass();
    qemu_thread_create(&t, "unregister", later_thread,
                       (void *)(uintptr_t)LATER_UNREGISTER,
                       QEMU_THREAD_JOINABLE);
    g_assert_cmpint(wait_first_ms(10000, true, &answered), <, 5000);
    qemu_thread_join(&t);

    setup();
    g_assert_null(fpb_proto_migration_start(&proto, false, false));
    fpb_proto_before_sync(&proto);
    g_assert_cmpuint(fpb_proto_after_sync(&proto), ==, 0);
    g_assert_cmpint(wait_first_ms(10000, true, &answered), <, 5000);
    g_assert_true(answered);
    /* Without a migration there is nothing to wait for. */
    fpb_proto_migration_end(&proto);
    g_assert_cmpint(wait_first_ms(10000, false, &answered), <, 5000);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/fpb/apply", test_apply);
    g_test_add_func("/fpb/rule/arm-before-request", test_arm_before_request);
    g_test_add_func("/fpb/rule/sync-between-request-and-apply",
                    test_sync_between_request_and_apply);
    g_test_add_func("/fpb/rule/sync-cuts-apply", test_sync_cuts_apply);
    g_test_add_func("/fpb/rule/absent-guest", test_absent_guest);
    g_test_add_func("/fpb/apply/terabyte", test_terabyte);
    g_test_add_func("/fpb/bitmap-drop", test_bitmap_drop);
    g_test_add_func("/fpb/rule/postcopy-off", test_postcopy_off);
    g_test_add_func("/fpb/switchover", test_switchover);
    g_test_add_func("/fpb/torn", test_torn);
    g_test_add_func("/fpb/seq-and-request", test_seq_and_request);
    g_test_add_func("/fpb/hostile-headers", test_hostile_headers);
    g_test_add_func("/fpb/hostile-chunks", test_hostile_chunks);
    g_test_add_func("/fpb/unregister-and-reset", test_unregister_and_reset);
    g_test_add_func("/fpb/rate-limit", test_rate_limit);
    g_test_add_func("/fpb/counters/storm", test_storm_counts_hypercalls);
    g_test_add_func("/fpb/counters/rate-limited-answer",
                    test_rate_limited_answer);
    g_test_add_func("/fpb/page0", test_page0);
    g_test_add_func("/fpb/ram-map/pc", test_ram_map_pc);
    g_test_add_func("/fpb/ram-map/runs", test_ram_map_runs);
    g_test_add_func("/fpb/ram-map/ram-end-limits-chunks",
                    test_ram_end_limits_chunks);
    g_test_add_func("/fpb/first-wait/answered", test_first_wait_answered);
    g_test_add_func("/fpb/first-wait/timeout", test_first_wait_timeout);
    g_test_add_func("/fpb/first-wait/unregistered",
                    test_first_wait_unregistered);
    g_test_add_func("/fpb/hook/apply-late", test_hook_apply_late);
    g_test_add_func("/fpb/hook/apply-late-unchecked",
                    test_hook_apply_late_unchecked);
    g_test_add_func("/fpb/hook/skip-arm", test_hook_skip_arm);
    return g_test_run();
}
