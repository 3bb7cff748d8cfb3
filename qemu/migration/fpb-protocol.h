/*
 * FPB: the host side of the free page bitmap protocol
 *
 * Copyright (c) 2026 FPB developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The state machine that decides when a snapshot is requested and whether
 * one may be applied, over callbacks for everything that touches the VM,
 * so that a unit test can drive it through the orderings that matter.
 */

#ifndef MIGRATION_FPB_PROTOCOL_H
#define MIGRATION_FPB_PROTOCOL_H

#include "qemu/thread.h"
#include "fpb-validate.h"

/* Hypercalls that do work (REGISTER, SNAPSHOT_DONE) per second. */
#define FPB_RATE_PER_SEC        64
/*
 * Pages of bitmap copied and applied per step of an apply: 1 GiB of guest
 * RAM, 32 KiB of bitmap.  Between steps the apply gives way to a sync or a
 * reset waiting for the protocol lock, so one step (plus the header and
 * chunk table checks before the first) bounds how long they wait, at any
 * guest size.
 */
#define FPB_STEP_PAGES          (1ULL << 18)

typedef struct FpbHostOps {
    FpbGuestOps guest;
    /* Re-arm write tracking of every page of guest RAM. */
    void (*arm_dirty_log)(void *opaque);
    /* Store @request at @gpa through the dirty-tracked path. */
    bool (*write_request)(void *opaque, uint64_t gpa, uint64_t request);
    /*
     * Drop from the migration bitmap the pages [@pfn, @pfn + @npages)
     * whose bit is set in @free (host order, bit 0 for @pfn; @pfn and
     * @npages are multiples of 64); return how many of them were set.
     */
    uint64_t (*drop_bits)(void *opaque, uint64_t pfn, const uint64_t *free,
                          uint64_t npages);
    int64_t (*now_ns)(void *opaque);
    /* One past the highest guest RAM address, now (RAM may be plugged). */
    uint64_t (*ram_end)(void *opaque);
} FpbHostOps;

/* Where the current migration is, as far as FPB is concerned. */
typedef enum FpbMigState {
    FPB_MIG_IDLE,               /* no migration */
    FPB_MIG_ACTIVE,             /* precopy passes: request and apply */
    FPB_MIG_OFF,                /* this migration cannot use FPB */
    FPB_MIG_DONE,               /* switchover began; counters stay */
} FpbMigState;

typedef struct FpbProto {
    /*
     * Host paths that end what an apply may do (a sync, a reset, the end
     * of a migration) take it with fpb_proto_lock_host(), which makes an
     * apply in progress stop at its next step.
     */
    QemuMutex lock;
    int host_waiting;           /* atomic: such paths waiting for @lock */
    int64_t held_since;         /* when the apply last checked for them */
    int64_t longest_hold_ns;    /* longest stretch between such checks */
    QemuCond answered;          /* broadcast when @outstanding may change */
    FpbHostOps *ops;

    bool registered;
    FpbRegion reg;
    uint64_t last_request;      /* migrated: requests only grow */

    FpbMigState mig;
    const char *off_reason;
    uint64_t outstanding;       /* request awaiting an answer, 0: none */
    uint64_t sync_gen;          /* bumped before each dirty bitmap sync */
    uint64_t request_gen;       /* sync_gen when @outstanding was issued */
    bool first_waited;          /* fpb_proto_wait_first() ran this migration */

    int64_t rate_window;
    unsigned rate_count;

    /*
     * Counters of the current (or last) migration, written under @lock
     * and read without it (fpb_get_stats()), so that query-migrate never
     * waits for an apply.  A snapshot is the
     * first answer to a request this host issued in this migration: it is
     * either applied or discarded, so that each request counts at most
     * once.  Every other hypercall the host turns down (rate limited,
     * invalid, answering nothing outstanding or answering a second time)
     * counts as refused.
     */
    uint64_t pages_skipped;
    uint64_t applied;
    uint64_t discarded;
    uint64_t refused;
    uint64_t counted_request;   /* highest request counted as a snapshot */

    /*
     * Test hooks (x-fpb-* CPU properties).  Each makes the host do what a
     * safety rule forbids, to show that the end-to-end tests catch it.
     *
     * apply_late (x-fpb-apply-late): keep each valid snapshot and apply it
     * only after the next dirty bitmap sync, the very ordering the
     * request/sync rule must refuse.  The apply still checks the rule
     * (fpb_may_apply()), so every such snapshot must be discarded.
     *
     * apply_late_unchecked (x-fpb-apply-late-unchecked): the same without
     * that check, so the snapshot is applied although a sync ran since its
     * request, at the last sync of the migration too (otherwise a kept
     * snapshot could escape the tests by coming last).  A negative
     * control: the tests must see data loss.
     *
     * skip_arm (x-fpb-skip-arm): write each request without arming write
     * tracking first (ops->arm_dirty_log() is not called).  A negative
     * control: under KVM with manual dirty log protection a write between
     * the guest's snapshot and migration's lazy clear goes unseen, and the
     * tests must see data loss.
     */
    bool apply_late;
    bool apply_late_unchecked;
    bool skip_arm;
    bool late_valid;
    FpbSnapshot late;           /* checked table; bitmaps stay in the guest */
    uint64_t late_gen;          /* request_gen of @late */
} FpbProto;

void fpb_proto_init(FpbProto *p, FpbHostOps *ops);

/*
 * Handle hypercall KVM_HC_FPB with arguments @a0..@a3, return its result.
 * *@why tells why something was refused or discarded, *@pages how many
 * pages an applied snapshot dropped.
 */
int64_t fpb_proto_hypercall(FpbProto *p, uint64_t a0, uint64_t a1,
                            uint64_t a2, uint64_t a3, FpbStatus *why,
                            uint64_t *pages);

/*
 * A migration starts (idempotent until fpb_proto_migration_end(): the
 * first sync comes before the setup notification, the last one after
 * switchover began); returns NULL or why FPB stays off for it.
 */
const char *fpb_proto_migration_start(FpbProto *p, bool postcopy,
                                      bool background_snapshot);
/* Switchover: no more requests or applies, counters stay readable. */
void fpb_proto_migration_stop(FpbProto *p);
/* The migration is over (cleanup). */
void fpb_proto_migration_end(FpbProto *p);
void fpb_proto_before_sync(FpbProto *p);
/*
 * Returns the request written into the guest, 0 if none.  With the
 * apply_late test hooks, first tries to apply the snapshot it kept.
 */
uint64_t fpb_proto_after_sync(FpbProto *p);
/*
 * The last sync, with the guest stopped: no request; a snapshot the
 * apply_late test hooks kept is settled as after any other sync, so that a
 * late apply cannot escape the tests by coming last.
 */
void fpb_proto_after_last_sync(FpbProto *p);
void fpb_proto_reset(FpbProto *p);
bool fpb_proto_wait_first(FpbProto *p, uint32_t timeout_ms, bool *answered);

#endif
