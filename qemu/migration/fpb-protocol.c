/*
 * FPB: the host side of the free page bitmap protocol
 *
 * Copyright (c) 2026 FPB developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Why a snapshot is safe to apply (Documentation/virt/kvm/fpb-abi.rst in
 * the FPB project): every bit was set for a page that was free at an
 * instant after this host armed write tracking and wrote the request, and
 * no dirty bitmap sync ran between the request and the apply.  A write
 * after that instant then sits in the dirty log (not yet in the migration
 * bitmap), so clearing the page's migration bit only drops a send of stale
 * contents.  A sync in between could have moved such a write into the
 * migration bitmap, where clearing it would lose it.  Hence:
 *
 *  - p->lock serialises request, sync and apply: fpb_proto_before_sync()
 *    takes it, so a sync waits for an apply in progress, and an apply
 *    checks under it that no sync started since its request, then holds
 *    it to the end.  Every sync calls it (migration_bitmap_sync(),
 *    through fpb_before_bitmap_sync()), not a precopy notifier, which a
 *    failing notifier ahead would skip.  A sync that finds an apply in
 *    progress does not wait for all of it: the apply stops at its next
 *    step (FPB_STEP_PAGES), keeping what it applied, which was applied
 *    before the sync;
 *  - with KVM's manual dirty log protection a page is write-protected
 *    again only when KVM_CLEAR_DIRTY_LOG covers it; migration clears
 *    lazily, and qemu_guest_free_page_hint() clears the hinted range.  For
 *    FPB's pages, which the guest does not hold allocated (unlike
 *    virtio-balloon's), a write between the snapshot instant and that late
 *    clear would go unseen.  So ops->arm_dirty_log() clears the log of all
 *    guest RAM before the request is written, and the clear inside the
 *    hint finds nothing left to do.
 *
 * The migration never waits for the guest: requests are written and
 * answers applied by the vCPU that makes the hypercall.  The only wait is
 * a sync waiting for one step of an apply in progress.
 */

#include "qemu/osdep.h"
#include "qemu/lockable.h"
#include "standard-headers/linux/kvm_para.h"
#include "fpb-protocol.h"

#define FPB_REQUEST_OFFSET  offsetof(struct kvm_fpb_header, request)
#define FPB_STEP_WORDS      (FPB_STEP_PAGES / 64)
#define NS_PER_SEC          1000000000LL

/*
 * Take p->lock for a host path that ends what an apply may do: an apply
 * in progress sees @host_waiting at its next step and stops.
 */
typedef FpbProto FpbHostLock;

static FpbHostLock *fpb_proto_lock_host(FpbProto *p)
{
    qatomic_inc(&p->host_waiting);
    qemu_mutex_lock(&p->lock);
    qatomic_dec(&p->host_waiting);
    return p;
}

static void fpb_proto_unlock_host(FpbHostLock *p)
{
    qemu_mutex_unlock(&p->lock);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbHostLock, fpb_proto_unlock_host)
#define FPB_HOST_LOCK_GUARD(p) \
    g_autoptr(FpbHostLock) fpb_host_lock_ = fpb_proto_lock_host(p)

/* A counter that fpb_get_stats() reads without p->lock. */
static void fpb_count(uint64_t *counter, uint64_t n)
{
    qatomic_set(counter, *counter + n);
}

void fpb_proto_init(FpbProto *p, FpbHostOps *ops)
{
    memset(p, 0, sizeof(*p));
    qemu_mutex_init(&p->lock);
    qemu_cond_init(&p->answered);
    p->ops = ops;
}

/* Called with p->lock held. */
static bool fpb_rate_ok(FpbProto *p)
{
    int64_t now = p->ops->now_ns(p->ops->guest.opaque);

    if (now - p->rate_window >= NS_PER_SEC || now < p->rate_window) {
        p->rate_window = now;
        p->rate_count = 0;
    }
    return ++p->rate_count <= FPB_RATE_PER_SEC;
}

static void fpb_drop_late(FpbProto *p)
{
    p->late_valid = false;
    fpb_snapshot_free(&p->late);
}

/* What a snapshot kept for later refers to goes with the registration. */
static void fpb_unregister(FpbProto *p)
{
    p->registered = false;
    p->outstanding = 0;
    fpb_drop_late(p);
}

static int64_t fpb_register(FpbProto *p, uint64_t gpa, uint64_t size,
                            FpbStatus *why)
{
    FpbRegion reg;

    if (size > KVM_FPB_REGION_MAX) {
        *why = FPB_ERR_TOO_BIG;
        fpb_count(&p->refused, 1);
        return -KVM_E2BIG;
    }
    if (!fpb_rate_ok(p)) {
        *why = FPB_ERR_RATE;
        fpb_count(&p->refused, 1);
        return -KVM_EINVAL;
    }
    *why = fpb_check_region(&p->ops->guest, gpa, size, &reg);
    if (*why != FPB_OK) {
        fpb_count(&p->refused, 1);
        return -KVM_EINVAL;
    }
    fpb_unregister(p);
    p->registered = true;
    p->reg = reg;
    return 0;
}

/*
 * The rule: a snapshot may be applied only while no dirty bitmap sync has
 * happened since its request was issued.  Called with p->lock held, which
 * a sync takes first (fpb_proto_before_sync()).
 */
static bool fpb_may_apply(FpbProto *p, uint64_t request_gen)
{
    return p->mig == FPB_MIG_ACTIVE && request_gen == p->sync_gen;
}

/*
 * Called with p->lock held, between steps of an apply: whether a host path
 * waits for the lock (the apply must then stop), and how long the lock
 * was held since the last check.
 */
static bool fpb_host_waits(FpbProto *p)
{
    int64_t now = p->ops->now_ns(p->ops->guest.opaque);

    p->longest_hold_ns = MAX(p->longest_hold_ns, now - p->held_since);
    p->held_since = now;
    return qatomic_read(&p->host_waiting);
}

/*
 * Copy and apply @snap step by step.  The caller checked the rule; it
 * holds p->lock throughout, so the rule holds to the end.  Each step is
 * copied under a seq check (fpb_snapshot_copy()) and applied straight
 * into the migration bitmap.  Stops early, keeping what it applied, when
 * a host path waits for the lock, the guest began another snapshot (torn)
 * or its bitmaps are no longer RAM.  *@steps tells how many were applied.
 */
static FpbStatus fpb_apply(FpbProto *p, const FpbSnapshot *snap,
                           uint64_t *pages, uint64_t *steps)
{
    uint64_t chunk_words = 1ULL << (snap->chunk_shift - 6);
    uint64_t step = MIN(chunk_words, FPB_STEP_WORDS);
    g_autofree uint64_t *buf = g_new(uint64_t, step);
    uint64_t w, n;
    uint32_t i;
    FpbStatus st;

    *pages = 0;
    *steps = 0;
    for (i = 0; i < snap->nr_chunks; i++) {
        for (w = 0; snap->chunk[i] && w < chunk_words; w += step) {
            if (fpb_host_waits(p)) {
                return FPB_ERR_CUT;
            }
            st = fpb_snapshot_copy(&p->ops->guest, &p->reg, snap, i, w, buf,
                                   step);
            if (st != FPB_OK) {
                return st;
            }
            n = p->ops->drop_bits(p->ops->guest.opaque,
                                  ((uint64_t)i << snap->chunk_shift) + w * 64,
                                  buf, step * 64);
            *pages += n;
            fpb_count(&p->pages_skipped, n);
            ++*steps;
        }
    }
    fpb_host_waits(p);
    return FPB_OK;
}

/*
 * Apply @snap and count it: applied if any step was (what a step applied
 * stays applied, whatever stopped the rest), else discarded.
 */
static FpbStatus fpb_apply_count(FpbProto *p, const FpbSnapshot *snap,
                                 uint64_t *pages)
{
    uint64_t steps;
    FpbStatus st = fpb_apply(p, snap, pages, &steps);

    fpb_count(steps ? &p->applied : &p->discarded, 1);
    return st;
}

/*
 * Whether the snapshot the apply_late test hooks kept may be applied now,
 * after a sync.  apply_late_unchecked breaks the rule on purpose.
 */
static bool fpb_may_apply_late(FpbProto *p)
{
    if (p->apply_late_unchecked) {
        /* Up to the last sync, which runs after switchover began. */
        return p->mig == FPB_MIG_ACTIVE || p->mig == FPB_MIG_DONE;
    }
    return fpb_may_apply(p, p->late_gen);
}

/* A sync ran: apply or discard what the apply_late test hooks kept. */
static void fpb_settle_late(FpbProto *p)
{
    uint64_t pages;

    if (!p->late_valid) {
        return;
    }
    p->late_valid = false;
    if (fpb_may_apply_late(p)) {
        p->held_since = p->ops->now_ns(p->ops->guest.opaque);
        fpb_apply_count(p, &p->late, &pages);
    } else {
        fpb_count(&p->discarded, 1);
    }
    fpb_drop_late(p);
}

/*
 * Whether a SNAPSHOT_DONE for @request is this migration's first answer
 * to a request the host issued: a snapshot, which the counters report as
 * applied or discarded.  Anything else is a refused hypercall, so that a
 * guest repeating itself cannot inflate the snapshot counters.
 */
static bool fpb_is_snapshot(FpbProto *p, uint64_t request)
{
    if (p->mig == FPB_MIG_IDLE || p->mig == FPB_MIG_OFF || !request ||
        request > p->last_request || request <= p->counted_request) {
        return false;
    }
    p->counted_request = request;
    return true;
}

static int64_t fpb_snapshot_done(FpbProto *p, uint64_t request, uint64_t seq,
                                 FpbStatus *why, uint64_t *pages)
{
    g_auto(FpbSnapshot) snap = { 0 };

    if (!p->registered) {
        fpb_count(&p->refused, 1);
        return -KVM_EPERM;
    }
    if (!fpb_rate_ok(p)) {
        *why = FPB_ERR_RATE;
        fpb_count(&p->refused, 1);
        return KVM_FPB_DISCARDED;
    }
    if (!fpb_is_snapshot(p, request)) {
        *why = FPB_ERR_STALE;
        fpb_count(&p->refused, 1);
        return KVM_FPB_DISCARDED;
    }
    /* Answered at most once, and only within the pass that asked. */
    if (!p->outstanding || request != p->outstanding ||
        !fpb_may_apply(p, p->request_gen)) {
        *why = FPB_ERR_STALE;
        fpb_count(&p->discarded, 1);
        return KVM_FPB_DISCARDED;
    }
    p->outstanding = 0;
    p->held_since = p->ops->now_ns(p->ops->guest.opaque);
    *why = fpb_snapshot_open(&p->ops->guest, &p->reg, request, seq, &snap);
    if (*why != FPB_OK) {
        fpb_count(&p->discarded, 1);
        return -KVM_EINVAL;
    }
    if (p->apply_late || p->apply_late_unchecked) {
        fpb_snapshot_free(&p->late);
        p->late = snap;
        memset(&snap, 0, sizeof(snap));
        p->late_gen = p->request_gen;
        p->late_valid = true;
        return 0;
    }
    *why = fpb_apply_count(p, &snap, pages);
    /* Torn before anything was applied: the guest raced itself. */
    if (*why == FPB_ERR_TORN && !*pages) {
        return KVM_FPB_DISCARDED;
    }
    return 0;
}

int64_t fpb_proto_hypercall(FpbProto *p, uint64_t a0, uint64_t a1,
                            uint64_t a2, uint64_t a3, FpbStatus *why,
                            uint64_t *pages)
{
    int64_t ret;

    *why = FPB_OK;
    *pages = 0;
    QEMU_LOCK_GUARD(&p->lock);
    p->ops->guest.ram_end = p->ops->ram_end(p->ops->guest.opaque);
    switch (a0) {
    case KVM_FPB_OP_REGISTER:
        ret = fpb_register(p, a1, a2, why);
        break;
    case KVM_FPB_OP_UNREGISTER:
        fpb_unregister(p);
        ret = 0;
        break;
    case KVM_FPB_OP_SNAPSHOT_DONE:
        ret = fpb_snapshot_done(p, a1, a2, why, pages);
        break;
    default:
        fpb_count(&p->refused, 1);
        ret = -KVM_EINVAL;
        break;
    }
    qemu_cond_broadcast(&p->answered);
    return ret;
}

const char *fpb_proto_migration_start(FpbProto *p, bool postcopy,
                                      bool background_snapshot)
{
    FPB_HOST_LOCK_GUARD(p);
    if (p->mig == FPB_MIG_IDLE) {
        p->outstanding = 0;
        qatomic_set(&p->pages_skipped, 0);
        qatomic_set(&p->applied, 0);
        qatomic_set(&p->discarded, 0);
        qatomic_set(&p->refused, 0);
        p->counted_request = p->last_request;
        p->first_waited = false;
        p->off_reason = NULL;
        /*
         * Postcopy never sends a page dropped from the migration bitmap,
         * not even when the destination faults on it: the faulting thread
         * would wait until postcopy ends (virtio-balloon's free page
         * hinting stays off with postcopy for the same reason).
         */
        if (postcopy) {
            p->off_reason = "postcopy-ram is enabled";
        }
        /* Write-protect faults, not a dirty log, track such a snapshot. */
        if (background_snapshot) {
            p->off_reason = "background-snapshot is enabled";
        }
        p->mig = p->off_reason ? FPB_MIG_OFF : FPB_MIG_ACTIVE;
    }
    return p->mig == FPB_MIG_OFF ? p->off_reason : NULL;
}

void fpb_proto_migration_stop(FpbProto *p)
{
    FPB_HOST_LOCK_GUARD(p);
    if (p->mig == FPB_MIG_ACTIVE) {
        p->mig = FPB_MIG_DONE;
    }
    p->outstanding = 0;
    qemu_cond_broadcast(&p->answered);
}

void fpb_proto_migration_end(FpbProto *p)
{
    FPB_HOST_LOCK_GUARD(p);
    p->mig = FPB_MIG_IDLE;
    p->outstanding = 0;
    fpb_drop_late(p);
    qemu_cond_broadcast(&p->answered);
}

void fpb_proto_before_sync(FpbProto *p)
{
    /* An apply in progress stops at its next step and lets the sync in. */
    FPB_HOST_LOCK_GUARD(p);
    p->sync_gen++;
    p->outstanding = 0;
}

uint64_t fpb_proto_after_sync(FpbProto *p)
{
    uint64_t req;

    FPB_HOST_LOCK_GUARD(p);
    fpb_settle_late(p);
    if (p->mig != FPB_MIG_ACTIVE || !p->registered) {
        return 0;
    }
    p->ops->guest.ram_end = p->ops->ram_end(p->ops->guest.opaque);
    /* Arm first: the guest's snapshot instant must follow the arming. */
    if (!p->skip_arm) {
        p->ops->arm_dirty_log(p->ops->guest.opaque);
    }
    req = ++p->last_request;
    if (!p->ops->write_request(p->ops->guest.opaque,
                               p->reg.gpa + FPB_REQUEST_OFFSET, req)) {
        return 0;
    }
    p->outstanding = req;
    p->request_gen = p->sync_gen;
    return req;
}

void fpb_proto_after_last_sync(FpbProto *p)
{
    FPB_HOST_LOCK_GUARD(p);
    fpb_settle_late(p);
}

void fpb_proto_reset(FpbProto *p)
{
    FPB_HOST_LOCK_GUARD(p);
    fpb_unregister(p);
    qemu_cond_broadcast(&p->answered);
}

/*
 * Pass 1 sends RAM in address order, so each free page it sends before
 * the first snapshot is applied crosses the wire for nothing.  Waiting for
 * the answer costs no more time than sending those pages would, and a
 * guest that never answers costs at most @timeout_ms once per migration.
 * Waiting cannot break the rule: no sync runs meanwhile, because the
 * caller is the thread that syncs.  It must not hold the BQL, which the
 * guest's vCPUs and timers need to answer.
 *
 * Returns false if this migration already waited (nothing done), else
 * true with *answered telling whether the answer came in time.
 */
bool fpb_proto_wait_first(FpbProto *p, uint32_t timeout_ms, bool *answered)
{
    int64_t deadline = g_get_monotonic_time() + timeout_ms * 1000LL;

    QEMU_LOCK_GUARD(&p->lock);
    if (p->first_waited || p->mig != FPB_MIG_ACTIVE) {
        return false;
    }
    p->first_waited = true;
    while (p->outstanding && p->registered && p->mig == FPB_MIG_ACTIVE) {
        int64_t left = deadline - g_get_monotonic_time();

        if (left <= 0) {
            break;
        }
        qemu_cond_timedwait(&p->answered, &p->lock, DIV_ROUND_UP(left, 1000));
    }
    *answered = !p->outstanding;
    return true;
}
