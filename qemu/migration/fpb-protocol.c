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
 *    checks under it that no sync started since its request.  Every sync
 *    calls it (migration_bitmap_sync(), through fpb_before_bitmap_sync()),
 *    not a precopy notifier, which a failing notifier ahead would skip;
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
 * a sync waiting for an apply in progress, bounded by the work cap.
 */

#include "qemu/osdep.h"
#include "qemu/lockable.h"
#include "standard-headers/linux/kvm_para.h"
#include "fpb-protocol.h"

#define FPB_REQUEST_OFFSET  offsetof(struct kvm_fpb_header, request)
#define NS_PER_SEC          1000000000LL

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

static int64_t fpb_register(FpbProto *p, uint64_t gpa, uint64_t size,
                            FpbStatus *why)
{
    FpbRegion reg;

    if (size > KVM_FPB_REGION_MAX) {
        *why = FPB_ERR_TOO_BIG;
        p->refused++;
        return -KVM_E2BIG;
    }
    if (!fpb_rate_ok(p)) {
        *why = FPB_ERR_RATE;
        p->refused++;
        return -KVM_EINVAL;
    }
    *why = fpb_check_region(&p->ops->guest, gpa, size, &reg);
    if (*why != FPB_OK) {
        p->refused++;
        return -KVM_EINVAL;
    }
    p->registered = true;
    p->reg = reg;
    p->outstanding = 0;
    return 0;
}

typedef struct FpbDrop {
    FpbProto *p;
    uint64_t pages;
} FpbDrop;

static bool fpb_drop_run(void *opaque, uint64_t pfn, uint64_t npages)
{
    FpbDrop *d = opaque;

    d->pages += d->p->ops->drop_pages(d->p->ops->guest.opaque, pfn, npages);
    return true;
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

static uint64_t fpb_apply(FpbProto *p, const FpbSnapshot *snap)
{
    FpbDrop drop = { .p = p };

    fpb_snapshot_for_each_run(snap, fpb_drop_run, &drop);
    p->applied++;
    p->pages_skipped += drop.pages;
    return drop.pages;
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

static void fpb_drop_late(FpbProto *p)
{
    p->late_valid = false;
    fpb_snapshot_free(&p->late);
}

/* A sync ran: apply or discard what the apply_late test hooks kept. */
static void fpb_settle_late(FpbProto *p)
{
    if (!p->late_valid) {
        return;
    }
    p->late_valid = false;
    if (fpb_may_apply_late(p)) {
        fpb_apply(p, &p->late);
    } else {
        p->discarded++;
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
        p->refused++;
        return -KVM_EPERM;
    }
    if (!fpb_rate_ok(p)) {
        *why = FPB_ERR_RATE;
        p->refused++;
        return KVM_FPB_DISCARDED;
    }
    if (!fpb_is_snapshot(p, request)) {
        *why = FPB_ERR_STALE;
        p->refused++;
        return KVM_FPB_DISCARDED;
    }
    /* Answered at most once, and only within the pass that asked. */
    if (!p->outstanding || request != p->outstanding ||
        !fpb_may_apply(p, p->request_gen)) {
        *why = FPB_ERR_STALE;
        goto discard;
    }
    p->outstanding = 0;
    *why = fpb_snapshot_read(&p->ops->guest, &p->reg, request, seq, &snap);
    if (*why == FPB_ERR_TORN) {
        goto discard;
    }
    if (*why != FPB_OK) {
        p->discarded++;
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
    *pages = fpb_apply(p, &snap);
    return 0;

discard:
    p->discarded++;
    return KVM_FPB_DISCARDED;
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
        p->registered = false;
        p->outstanding = 0;
        ret = 0;
        break;
    case KVM_FPB_OP_SNAPSHOT_DONE:
        ret = fpb_snapshot_done(p, a1, a2, why, pages);
        break;
    default:
        p->refused++;
        ret = -KVM_EINVAL;
        break;
    }
    qemu_cond_broadcast(&p->answered);
    return ret;
}

const char *fpb_proto_migration_start(FpbProto *p, bool postcopy,
                                      bool background_snapshot)
{
    QEMU_LOCK_GUARD(&p->lock);
    if (p->mig == FPB_MIG_IDLE) {
        p->outstanding = 0;
        p->pages_skipped = 0;
        p->applied = 0;
        p->discarded = 0;
        p->refused = 0;
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
    QEMU_LOCK_GUARD(&p->lock);
    if (p->mig == FPB_MIG_ACTIVE) {
        p->mig = FPB_MIG_DONE;
    }
    p->outstanding = 0;
    qemu_cond_broadcast(&p->answered);
}

void fpb_proto_migration_end(FpbProto *p)
{
    QEMU_LOCK_GUARD(&p->lock);
    p->mig = FPB_MIG_IDLE;
    p->outstanding = 0;
    fpb_drop_late(p);
    qemu_cond_broadcast(&p->answered);
}

void fpb_proto_before_sync(FpbProto *p)
{
    /* Taking the lock lets an apply in progress finish first. */
    QEMU_LOCK_GUARD(&p->lock);
    p->sync_gen++;
    p->outstanding = 0;
}

uint64_t fpb_proto_after_sync(FpbProto *p)
{
    uint64_t req;

    QEMU_LOCK_GUARD(&p->lock);
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
    QEMU_LOCK_GUARD(&p->lock);
    fpb_settle_late(p);
}

void fpb_proto_reset(FpbProto *p)
{
    QEMU_LOCK_GUARD(&p->lock);
    p->registered = false;
    p->outstanding = 0;
    fpb_drop_late(p);
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
