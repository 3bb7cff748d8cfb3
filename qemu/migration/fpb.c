/*
 * FPB: skip the free pages a guest reports in its free page bitmap
 *
 * Copyright (c) 2026 FPB developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Glue between the protocol (fpb-protocol.c) and the VM: guest RAM
 * access, the precopy notifier, the migration bitmap, reset and vmstate.
 * There is one FPB registration per VM, like KVM's, so the state is a
 * singleton created by the first vCPU that has kvm-pv-fpb.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/lockable.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/rcu.h"
#include "qemu/timer.h"
#include "exec/memory.h"
#include "exec/address-spaces.h"
#include "exec/ramblock.h"
#include "exec/target_page.h"
#include "qapi/qapi-types-migration.h"
#include "migration/client-options.h"
#include "migration/misc.h"
#include "migration/vmstate.h"
#include "migration/fpb.h"
#include "system/reset.h"
#include "system/runstate.h"
#include "standard-headers/linux/kvm_para.h"
#include "fpb-protocol.h"
#include "ram.h"
#include "trace.h"

static FpbProto fpb;
static bool fpb_on;
static uint32_t fpb_first_wait_ms;

/*
 * Only RAM a vCPU could write as memory counts: no MMIO (a read there
 * would run device code, possibly needing the BQL we may not take), no
 * ROM, no RAM devices.
 */
static bool fpb_mr_is_ram(MemoryRegion *mr)
{
    return memory_region_is_ram(mr) && !memory_region_is_ram_device(mr) &&
           !mr->readonly && !mr->rom_device && mr->ram_block;
}

/* Walk [gpa, gpa + len) in RAM pieces; copy into @buf unless NULL. */
static bool fpb_ram_access(uint64_t gpa, uint8_t *buf, uint64_t len)
{
    RCU_READ_LOCK_GUARD();

    while (len) {
        hwaddr xlat, l = len;
        MemoryRegion *mr;

        mr = address_space_translate(&address_space_memory, gpa, &xlat, &l,
                                     false, MEMTXATTRS_UNSPECIFIED);
        if (!l || !fpb_mr_is_ram(mr)) {
            return false;
        }
        if (buf) {
            memcpy(buf, qemu_map_ram_ptr(mr->ram_block, xlat), l);
            buf += l;
        }
        gpa += l;
        len -= l;
    }
    return true;
}

static bool fpb_read(void *opaque, uint64_t gpa, void *buf, uint64_t len)
{
    return fpb_ram_access(gpa, buf, len);
}

static bool fpb_is_ram(void *opaque, uint64_t gpa, uint64_t len)
{
    return fpb_ram_access(gpa, NULL, len);
}

static bool fpb_ram_end_cb(Int128 start, Int128 len, const MemoryRegion *mr,
                           hwaddr offset_in_region, void *opaque)
{
    uint64_t *end = opaque;

    if (memory_region_is_ram((MemoryRegion *)mr)) {
        *end = MAX(*end, int128_get64(int128_add(start, len)));
    }
    return false;
}

static uint64_t fpb_ram_end(void *opaque)
{
    uint64_t end = 0;

    RCU_READ_LOCK_GUARD();
    flatview_for_each_range(address_space_to_flatview(&address_space_memory),
                            fpb_ram_end_cb, &end);
    return end;
}

static void fpb_arm_dirty_log(void *opaque)
{
    ram_arm_dirty_log();
}

static bool fpb_write_request(void *opaque, uint64_t gpa, uint64_t request)
{
    uint64_t le = cpu_to_le64(request);

    /* Through the memory API so that the write itself is dirty-tracked. */
    return fpb_is_ram(opaque, gpa, sizeof(le)) &&
           address_space_write(&address_space_memory, gpa,
                               MEMTXATTRS_UNSPECIFIED, &le,
                               sizeof(le)) == MEMTX_OK;
}

static uint64_t fpb_drop_pages(void *opaque, uint64_t pfn, uint64_t npages)
{
    uint64_t gpa = pfn << KVM_FPB_PAGE_SHIFT;
    uint64_t len = npages << KVM_FPB_PAGE_SHIFT;
    uint64_t page_size = qemu_target_page_size();
    uint64_t dropped = 0;

    RCU_READ_LOCK_GUARD();
    while (len) {
        hwaddr xlat, l = len;
        MemoryRegion *mr;
        RAMBlock *rb;

        mr = address_space_translate(&address_space_memory, gpa, &xlat, &l,
                                     true, MEMTXATTRS_UNSPECIFIED);
        l = QEMU_ALIGN_DOWN(l, page_size);
        if (!l) {
            break;
        }
        rb = mr->ram_block;
        /* Bits for anything but migrated RAM are ignored, not trusted. */
        if (fpb_mr_is_ram(mr) && rb->bmap && qemu_ram_is_migratable(rb) &&
            !migrate_ram_is_ignored(rb) &&
            !(xlat & (page_size - 1))) {
            dropped += qemu_guest_free_page_hint(
                qemu_map_ram_ptr(rb, xlat), l);
        }
        gpa += l;
        len -= l;
    }
    return dropped;
}

static int64_t fpb_now_ns(void *opaque)
{
    return qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
}

static FpbHostOps fpb_ops = {
    .guest = {
        .read = fpb_read,
        .is_ram = fpb_is_ram,
        .max_bitmap_bytes = FPB_MAX_BITMAP_BYTES,
    },
    .arm_dirty_log = fpb_arm_dirty_log,
    .write_request = fpb_write_request,
    .drop_pages = fpb_drop_pages,
    .now_ns = fpb_now_ns,
    .ram_end = fpb_ram_end,
};

int64_t fpb_hypercall(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
    FpbStatus why;
    uint64_t pages;
    int64_t ret;

    if (!fpb_on) {
        return -KVM_ENOSYS;
    }
    ret = fpb_proto_hypercall(&fpb, a0, a1, a2, a3, &why, &pages);
    trace_fpb_hypercall(a0, a1, a2, ret);
    if (why != FPB_OK) {
        trace_fpb_refused(a0, a1, fpb_status_str(why));
        if (why != FPB_ERR_STALE) {
            qemu_log_mask(LOG_GUEST_ERROR, "fpb: op %" PRIu64
                          " refused: %s\n", a0, fpb_status_str(why));
        }
    } else if (a0 == KVM_FPB_OP_SNAPSHOT_DONE && ret == 0) {
        trace_fpb_apply(a1, pages);
    }
    return ret;
}

static int fpb_precopy_notify(NotifierWithReturn *n, void *data, Error **errp)
{
    PrecopyNotifyData *pnd = data;
    const char *why_off;
    uint64_t req;

    switch (pnd->reason) {
    case PRECOPY_NOTIFY_SETUP:
    case PRECOPY_NOTIFY_BEFORE_BITMAP_SYNC:
        /*
         * ram_save_setup() syncs before PRECOPY_NOTIFY_SETUP arrives.  The
         * sync itself makes requests stale (fpb_before_bitmap_sync()): a
         * notifier that fails ahead of this one stops the chain, not the
         * sync.  Missing this start costs only the optimisation.
         */
        why_off = fpb_proto_migration_start(&fpb, migrate_postcopy_ram(),
                                            migrate_background_snapshot());
        if (why_off) {
            warn_report_once("kvm-pv-fpb: free page bitmap not used: %s",
                             why_off);
        }
        break;
    case PRECOPY_NOTIFY_AFTER_BITMAP_SYNC:
        /* After the last sync the guest is stopped and cannot answer. */
        if (runstate_is_running()) {
            req = fpb_proto_after_sync(&fpb);
            if (req) {
                trace_fpb_request(req);
            }
        }
        break;
    case PRECOPY_NOTIFY_COMPLETE:
        fpb_proto_migration_stop(&fpb);
        break;
    case PRECOPY_NOTIFY_CLEANUP:
        fpb_proto_migration_end(&fpb);
        break;
    default:
        break;
    }
    return 0;
}

/*
 * From migration_bitmap_sync(), not from the notifier above, which the
 * chain skips when a notifier ahead of it fails.  fpb_proto_before_sync()
 * takes the protocol lock, so an apply in progress finishes first.
 */
void fpb_before_bitmap_sync(void)
{
    if (fpb_on) {
        fpb_proto_before_sync(&fpb);
    }
}

static NotifierWithReturn fpb_precopy_notifier = {
    .notify = fpb_precopy_notify,
};

/*
 * Test hook (x-fpb-failing-notifier): a precopy notifier that fails before
 * each dirty bitmap sync once the migration is set up.  Added after FPB's,
 * it runs first, and the chain stops at it: FPB's notifier does not see
 * those syncs, while the syncs go ahead.
 */
static int fpb_failing_notify(NotifierWithReturn *n, void *data, Error **errp)
{
    static bool set_up;
    PrecopyNotifyData *pnd = data;

    switch (pnd->reason) {
    case PRECOPY_NOTIFY_SETUP:
        set_up = true;
        break;
    case PRECOPY_NOTIFY_CLEANUP:
        set_up = false;
        break;
    case PRECOPY_NOTIFY_BEFORE_BITMAP_SYNC:
        if (set_up) {
            error_setg(errp, "x-fpb-failing-notifier: failing on purpose");
            return -1;
        }
        break;
    default:
        break;
    }
    return 0;
}

static NotifierWithReturn fpb_failing_notifier = {
    .notify = fpb_failing_notify,
};

static void fpb_reset(void *opaque)
{
    fpb_proto_reset(&fpb);
}

static bool fpb_registration_needed(void *opaque)
{
    return fpb.registered;
}

static int fpb_registration_post_load(void *opaque, int version_id)
{
    FpbRegion reg;
    FpbStatus st;

    /* The destination trusts the guest no more than the source did. */
    fpb_ops.guest.ram_end = fpb_ram_end(NULL);
    st = fpb_check_region(&fpb_ops.guest, fpb.reg.gpa, fpb.reg.size, &reg);
    if (st != FPB_OK) {
        warn_report("kvm-pv-fpb: migrated registration dropped: %s",
                    fpb_status_str(st));
        fpb.registered = false;
        return 0;
    }
    fpb.reg = reg;
    fpb.registered = true;
    return 0;
}

static const VMStateDescription vmstate_fpb_registration = {
    .name = "fpb/registration",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = fpb_registration_needed,
    .post_load = fpb_registration_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(reg.gpa, FpbProto),
        VMSTATE_UINT64(reg.size, FpbProto),
        VMSTATE_UINT64(last_request, FpbProto),
        VMSTATE_END_OF_LIST()
    },
};

/*
 * Registered only when kvm-pv-fpb is on, which both sides must agree on
 * anyway (it is guest-visible CPUID); its content travels only once a
 * guest registered.
 */
static const VMStateDescription vmstate_fpb = {
    .name = "fpb",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * const []) {
        &vmstate_fpb_registration,
        NULL
    },
};

void fpb_setup(const FpbTestHooks *hooks, uint32_t first_wait_ms)
{
    if (fpb_on) {
        return;
    }
    fpb_on = true;
    fpb_proto_init(&fpb, &fpb_ops);
    fpb.apply_late = hooks->apply_late;
    fpb.apply_late_unchecked = hooks->apply_late_unchecked;
    fpb.skip_arm = hooks->skip_arm;
    fpb_first_wait_ms = first_wait_ms;
    precopy_add_notifier(&fpb_precopy_notifier);
    if (hooks->failing_notifier) {
        precopy_add_notifier(&fpb_failing_notifier);
    }
    qemu_register_reset(fpb_reset, NULL);
    vmstate_register(NULL, 0, &vmstate_fpb, &fpb);
}

void fpb_wait_first_snapshot(void)
{
    int64_t t0, waited;
    bool answered;

    if (!fpb_on || !fpb_first_wait_ms) {
        return;
    }
    t0 = g_get_monotonic_time();
    if (fpb_proto_wait_first(&fpb, fpb_first_wait_ms, &answered)) {
        waited = g_get_monotonic_time() - t0;
        trace_fpb_first_wait(waited, answered);
    }
}

bool fpb_enabled(void)
{
    return fpb_on;
}

void fpb_get_stats(uint64_t *pages_skipped, uint64_t *applied,
                   uint64_t *discarded)
{
    QEMU_LOCK_GUARD(&fpb.lock);
    *pages_skipped = fpb.pages_skipped;
    *applied = fpb.applied;
    *discarded = fpb.discarded;
}
