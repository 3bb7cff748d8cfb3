/*
 * FPB: skip the free pages a guest reports in its free page bitmap
 *
 * Copyright (c) 2026 FPB developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Glue between the protocol (fpb-protocol.c) and the VM: guest RAM
 * access, the precopy notifier, the migration bitmap, reset and the
 * migration section.
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
#include "hw/boards.h"
#include "hw/qdev-core.h"
#include "qapi/qapi-types-migration.h"
#include "migration/client-options.h"
#include "migration/misc.h"
#include "migration/register.h"
#include "migration/vmstate.h"
#include "migration/fpb.h"
#include "system/reset.h"
#include "system/runstate.h"
#include "standard-headers/linux/kvm_para.h"
#include "fpb-bitmap.h"
#include "fpb-protocol.h"
#include "fpb-ram.h"
#include "options.h"
#include "qemu-file.h"
#include "ram.h"
#include "trace.h"

static FpbProto fpb;
static bool fpb_on;

/*
 * Ordinary guest RAM (fpb-ram.h): the machine's main RAM where the machine
 * maps it.  Rebuilt under the BQL after every change of the memory map,
 * read under RCU by the vCPU that makes the hypercall, which does not hold
 * the BQL.
 */
typedef struct FpbRamView {
    struct rcu_head rcu;
    FpbRamMap *map;
} FpbRamView;

static FpbRamView *fpb_ram_view;

static void fpb_ram_view_free(FpbRamView *v)
{
    g_free(v->map);
    g_free(v);
}

/* RAM a vCPU writes as memory: no MMIO, ROM, RAM device or NVDIMM. */
static bool fpb_mr_plain_ram(MemoryRegion *mr)
{
    return memory_region_is_ram(mr) && !memory_region_is_ram_device(mr) &&
           !mr->readonly && !mr->rom_device && !mr->nonvolatile &&
           mr->ram_block;
}

/*
 * Describe @sub, a subregion of system memory, as layers (fpb-ram.h).  It
 * maps ordinary RAM only if it is the machine's own mapping of its main
 * RAM @ram: @ram itself or an alias of it, read-write all the way, owned
 * by no device.  The chipset's overlays of the same RAM (PAM's ROM
 * shadows, SMRAM) and kvmvapic's ROM are aliases their device owns; VGA's
 * VRAM and ROMs are other regions altogether.  With NUMA node backends
 * @ram is a container of them.
 */
static void fpb_ram_add_layers(GArray *layers, MemoryRegion *ram,
                               MemoryRegion *sub)
{
    FpbRamLayer l = {
        .start = sub->addr,
        .size = int128_gethi(sub->size) ? UINT64_MAX :
                int128_getlo(sub->size),
    };
    MemoryRegion *target = sub, *seg;
    bool readonly = sub->readonly;
    uint64_t off = 0;

    while (target->alias) {
        off += target->alias_offset;
        target = target->alias;
        readonly |= target->readonly;
    }
    if (sub->enabled && !readonly && target == ram &&
        !(sub->owner && object_dynamic_cast(sub->owner, TYPE_DEVICE))) {
        if (fpb_mr_plain_ram(ram)) {
            l.ram = ram;
            l.offset = off;
        } else if (!memory_region_is_ram(ram)) {
            QTAILQ_FOREACH(seg, &ram->subregions, subregions_link) {
                uint64_t lo = MAX(off, seg->addr);
                uint64_t hi = MIN(off + l.size,
                                  seg->addr + int128_get64(seg->size));
                FpbRamLayer s = {
                    .start = l.start + (lo - off),
                    .size = hi - lo,
                    .ram = seg,
                    .offset = lo - seg->addr,
                };

                if (lo < hi && seg->enabled && !seg->alias &&
                    fpb_mr_plain_ram(seg)) {
                    g_array_append_val(layers, s);
                }
            }
        }
    }
    /* Anything else hides what lies under it, enabled or not. */
    g_array_append_val(layers, l);
}

static void fpb_ram_update(MemoryListener *listener)
{
    MachineState *ms = MACHINE(qdev_get_machine());
    g_autoptr(GArray) layers = g_array_new(false, false,
                                           sizeof(FpbRamLayer));
    FpbRamView *old = fpb_ram_view, *v;
    MemoryRegion *sub;
    FpbRamMap *map;
    uint32_t i;

    if (ms->ram) {
        QTAILQ_FOREACH(sub, &get_system_memory()->subregions,
                       subregions_link) {
            fpb_ram_add_layers(layers, ms->ram, sub);
        }
    }
    map = fpb_ram_map_new((FpbRamLayer *)layers->data, layers->len);
    if (old && fpb_ram_map_equal(old->map, map)) {
        g_free(map);
        return;
    }
    for (i = 0; i < map->nr; i++) {
        trace_fpb_ram_range(map->range[i].start, map->range[i].end,
                            memory_region_name(map->range[i].ram));
    }
    v = g_new0(FpbRamView, 1);
    v->map = map;
    qatomic_rcu_set(&fpb_ram_view, v);
    if (old) {
        call_rcu(old, fpb_ram_view_free, rcu);
    }
}

static MemoryListener fpb_ram_listener = {
    .name = "fpb",
    .commit = fpb_ram_update,
    .priority = MEMORY_LISTENER_PRIORITY_MIN,
};

/*
 * The host address of the ordinary RAM at @gpa in @r, and in *@len how
 * much of it (at most *@len) is contiguous there; NULL if the flat view
 * does not show @r's RAM there (the map is rebuilt only after the view
 * changed).  Called under RCU.
 */
static uint8_t *fpb_ram_ptr(const FpbRamRange *r, uint64_t gpa,
                            uint64_t *len)
{
    hwaddr xlat, l = MIN(*len, r->end - gpa);
    MemoryRegion *mr;

    mr = address_space_translate(&address_space_memory, gpa, &xlat, &l,
                                 false, MEMTXATTRS_UNSPECIFIED);
    if (mr != r->ram || xlat != r->offset + (gpa - r->start) || !l) {
        return NULL;
    }
    *len = l;
    return qemu_map_ram_ptr(mr->ram_block, xlat);
}

/* Copy [gpa, gpa + len) into @buf unless NULL, if all ordinary RAM. */
static bool fpb_ram_access(uint64_t gpa, uint8_t *buf, uint64_t len)
{
    FpbRamView *v;

    RCU_READ_LOCK_GUARD();
    v = qatomic_rcu_read(&fpb_ram_view);
    if (!v || !fpb_ram_map_covers(v->map, gpa, len)) {
        return false;
    }
    while (len) {
        const FpbRamRange *r = fpb_ram_map_find(v->map, gpa);
        uint64_t l = len;
        uint8_t *p = r ? fpb_ram_ptr(r, gpa, &l) : NULL;

        if (!p) {
            return false;
        }
        if (buf) {
            memcpy(buf, p, l);
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

static uint64_t fpb_ram_end(void *opaque)
{
    FpbRamView *v;

    RCU_READ_LOCK_GUARD();
    v = qatomic_rcu_read(&fpb_ram_view);
    return v ? v->map->end : 0;
}

static void fpb_arm_dirty_log(void *opaque)
{
    ram_arm_dirty_log();
}

/* Under the BQL (a dirty bitmap sync), so the map cannot change meanwhile. */
static bool fpb_write_request(void *opaque, uint64_t gpa, uint64_t request)
{
    uint64_t le = cpu_to_le64(request);

    /* Through the memory API so that the write itself is dirty-tracked. */
    return fpb_is_ram(opaque, gpa, sizeof(le)) &&
           address_space_write(&address_space_memory, gpa,
                               MEMTXATTRS_UNSPECIFIED, &le,
                               sizeof(le)) == MEMTX_OK;
}

typedef struct FpbDropBits {
    uint64_t pfn;               /* the page of bit 0 of @free */
    const uint64_t *free;
    uint64_t dropped;
} FpbDropBits;

typedef struct FpbBlockDrop {
    const uint64_t *free;
    uint64_t free_bit;
} FpbBlockDrop;

static uint64_t fpb_block_drop(unsigned long *bmap, uint64_t start,
                               uint64_t npages, void *opaque)
{
    FpbBlockDrop *bd = opaque;

    return fpb_bitmap_drop(bmap, start, bd->free, bd->free_bit, npages);
}

/* Drop the pages of one piece of ordinary RAM whose bits are set. */
static bool fpb_drop_piece(void *opaque, const FpbRamRange *r, uint64_t gpa,
                           uint64_t len)
{
    uint64_t page_size = qemu_target_page_size();
    uint64_t end = QEMU_ALIGN_DOWN(gpa + len, page_size);
    RAMBlock *rb = ((MemoryRegion *)r->ram)->ram_block;
    FpbDropBits *d = opaque;

    gpa = QEMU_ALIGN_UP(gpa, page_size);
    if (!rb->bmap || !qemu_ram_is_migratable(rb) ||
        migrate_ram_is_ignored(rb) ||
        ((r->offset + (gpa - r->start)) & (page_size - 1))) {
        return true;
    }
    while (gpa < end) {
        uint64_t l = end - gpa;
        FpbBlockDrop bd = {
            .free = d->free,
            .free_bit = (gpa >> KVM_FPB_PAGE_SHIFT) - d->pfn,
        };

        /* Only where the flat view shows this RAM, as the map said. */
        if (!fpb_ram_ptr(r, gpa, &l)) {
            break;
        }
        l = QEMU_ALIGN_DOWN(l, page_size);
        if (!l) {
            break;
        }
        d->dropped += ram_block_drop_dirty(rb,
                                           (r->offset + (gpa - r->start)) /
                                           page_size, l / page_size,
                                           fpb_block_drop, &bd);
        gpa += l;
    }
    return true;
}

/* Drop exactly the ordinary RAM pages marked free, whatever lies between. */
static uint64_t fpb_drop_bits(void *opaque, uint64_t pfn, const uint64_t *free,
                              uint64_t npages)
{
    FpbDropBits d = { .pfn = pfn, .free = free };
    FpbRamView *v;

    RCU_READ_LOCK_GUARD();
    v = qatomic_rcu_read(&fpb_ram_view);
    if (v) {
        fpb_ram_map_for_each(v->map, pfn << KVM_FPB_PAGE_SHIFT,
                             npages << KVM_FPB_PAGE_SHIFT, fpb_drop_piece,
                             &d);
    }
    return d.dropped;
}

static int64_t fpb_now_ns(void *opaque)
{
    return qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
}

static FpbHostOps fpb_ops = {
    .guest = {
        .read = fpb_read,
        .is_ram = fpb_is_ram,
    },
    .arm_dirty_log = fpb_arm_dirty_log,
    .write_request = fpb_write_request,
    .drop_bits = fpb_drop_bits,
    .now_ns = fpb_now_ns,
    .ram_end = fpb_ram_end,
};

/*
 * With -d guest_errors each refused hypercall is logged, but the guest
 * decides how often it calls (the rate limit refuses all but
 * FPB_RATE_PER_SEC a second, and each of those refusals would be a line):
 * log at most FPB_LOG_PER_SEC refusals a second, then say that the rest
 * of that second's go unlogged.  fpb-hypercalls-refused counts them all.
 */
#define FPB_LOG_PER_SEC 4

static void fpb_log_refused(uint64_t a0, FpbStatus why)
{
    static uint32_t window, count;
    uint32_t now = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) /
                   NANOSECONDS_PER_SECOND;
    uint32_t w = qatomic_read(&window);
    uint32_t n;

    if (!qemu_loglevel_mask(LOG_GUEST_ERROR)) {
        return;
    }
    if (w != now && qatomic_cmpxchg(&window, w, now) == w) {
        qatomic_set(&count, 0);
    }
    n = qatomic_fetch_inc(&count);
    if (n < FPB_LOG_PER_SEC) {
        qemu_log("fpb: op %" PRIu64 " refused: %s\n", a0,
                 fpb_status_str(why));
    } else if (n == FPB_LOG_PER_SEC) {
        qemu_log("fpb: more refusals this second, not logged\n");
    }
}

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
    if (why == FPB_ERR_CUT) {
        /* Not the guest's doing: a sync or reset took over. */
        trace_fpb_apply_cut(a1, pages);
    } else if (why != FPB_OK) {
        trace_fpb_refused(a0, a1, fpb_status_str(why));
        if (why != FPB_ERR_STALE) {
            fpb_log_refused(a0, why);
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
        } else {
            fpb_proto_after_last_sync(&fpb);
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
    .name = "kvm-pv-fpb/registration",
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

/* The registration, when there is one, inside FPB's section. */
static const VMStateDescription vmstate_fpb = {
    .name = "kvm-pv-fpb",
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

/*
 * FPB's migration section, named after the CPU flag, is a live section
 * so that it is announced in the setup phase, before any RAM page: a
 * destination without FPB (which must not take a guest that sees
 * kvm-pv-fpb in CPUID: its module could make the hypercall there) then
 * fails at once with "Unknown savevm section or instance 'kvm-pv-fpb'",
 * instead of after the whole of RAM was copied.  The registration itself
 * is written at completion, with the guest stopped.
 */
enum {
    FPB_SECTION_SETUP = 1,
    FPB_SECTION_STATE = 2,
};

static bool fpb_section_active(void *opaque)
{
    return fpb_on;
}

static int fpb_save_setup(QEMUFile *f, void *opaque, Error **errp)
{
    qemu_put_byte(f, FPB_SECTION_SETUP);
    return 0;
}

static int fpb_save_complete(QEMUFile *f, void *opaque)
{
    QEMU_LOCK_GUARD(&fpb.lock);
    qemu_put_byte(f, FPB_SECTION_STATE);
    return vmstate_save_state(f, &vmstate_fpb, &fpb, NULL);
}

static int fpb_load_state(QEMUFile *f, void *opaque, int version_id)
{
    switch (qemu_get_byte(f)) {
    case FPB_SECTION_SETUP:
        return 0;
    case FPB_SECTION_STATE:
        return vmstate_load_state(f, &vmstate_fpb, &fpb, version_id);
    default:
        error_report("kvm-pv-fpb: unknown migration section content");
        return -EINVAL;
    }
}

/*
 * Once a snapshot made pass 1 short, QEMU sees little left to send and may
 * switch over in the middle of pass 1, with the rest of it sent during the
 * downtime.  Those are pages the destination has never received, which it
 * must populate as they land, so they cost more per byte than the rate
 * QEMU measured predicts, and the downtime overshot its limit (make
 * bench-fleet, downtime cells).  So hold switchover
 * back until pass 1 has looked at every page, as it would without FPB;
 * the downtime then carries only pages written since, as for plain
 * migration.  Pass 1 is finite, so this delays switchover, never blocks
 * it.
 */
#define FPB_HOLD_SWITCHOVER (UINT64_MAX / 4)

static void fpb_state_pending(void *opaque, uint64_t *must_precopy,
                              uint64_t *can_postcopy)
{
    if (qatomic_read(&fpb.applied) && !ram_first_round_done()) {
        *must_precopy += FPB_HOLD_SWITCHOVER;
    }
}

static const SaveVMHandlers fpb_savevm_handlers = {
    .is_active = fpb_section_active,
    .state_pending_estimate = fpb_state_pending,
    .state_pending_exact = fpb_state_pending,
    .save_setup = fpb_save_setup,
    .save_live_complete_precopy = fpb_save_complete,
    .load_state = fpb_load_state,
};

void fpb_setup(const FpbTestHooks *hooks)
{
    if (fpb_on) {
        return;
    }
    fpb_on = true;
    fpb_proto_init(&fpb, &fpb_ops);
    fpb.apply_late = hooks->apply_late;
    fpb.apply_late_unchecked = hooks->apply_late_unchecked;
    fpb.skip_arm = hooks->skip_arm;
    memory_listener_register(&fpb_ram_listener, &address_space_memory);
    precopy_add_notifier(&fpb_precopy_notifier);
    if (hooks->failing_notifier) {
        precopy_add_notifier(&fpb_failing_notifier);
    }
    qemu_register_reset(fpb_reset, NULL);
    register_savevm_live("kvm-pv-fpb", 0, 1, &fpb_savevm_handlers, &fpb);
}

void fpb_wait_first_snapshot(void)
{
    uint32_t bound = migrate_fpb_first_wait_ms();
    int64_t t0, waited;
    bool answered;

    if (!fpb_on || !bound) {
        return;
    }
    t0 = g_get_monotonic_time();
    if (fpb_proto_wait_first(&fpb, bound, &answered)) {
        waited = g_get_monotonic_time() - t0;
        trace_fpb_first_wait(waited, answered);
    }
}

bool fpb_enabled(void)
{
    return fpb_on;
}

void fpb_get_stats(uint64_t *pages_skipped, uint64_t *applied,
                   uint64_t *discarded, uint64_t *refused)
{
    /* Without fpb.lock: query-migrate must not wait for an apply. */
    *pages_skipped = qatomic_read(&fpb.pages_skipped);
    *applied = qatomic_read(&fpb.applied);
    *discarded = qatomic_read(&fpb.discarded);
    *refused = qatomic_read(&fpb.refused);
}
