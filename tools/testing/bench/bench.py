#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""FPB benchmarks: the migration matrix and the guest-side overhead.

usage: bench.py migrate  --qemu Q --kimg K --image I [--reps 3] [--sizes 1 2 4 8]
                         [--workloads ...] [--variants ...]
       bench.py fleet    --qemu Q --kimg K --image I [--fleet-reps 1]
                         [--parts scale bandwidth vcpus downtime]
                         [--fleet-sizes 2 8 16 32 64]
       bench.py overhead --qemu Q --kimg K --image I [--sizes 1 2 4 8]

Every run writes one JSON record into OUT/runs/ (default build/bench);
report.py turns them into the summary.  Variants are interleaved inside each
cell (plain hint hint-noinit fpb plain hint ...) so that a slow patch of the
machine hits them all alike.
"""

import argparse
import json
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "migrate"))
import fpbmig  # noqa: E402
import run as mig  # noqa: E402
from fpbmig import HarnessError, VM, progress  # noqa: E402

TOP = mig.TOP

# name: (run.py boot variant, extra kernel command line).  init-on-free is
# what a user can do with no new code: freed pages are zeroed at free time,
# so migration sends them as zero pages.
VARIANTS = {
    "plain": ("plain", ""),
    "hint": ("balloon-hint", ""),
    "hint-noinit": ("balloon-hint", "init_on_alloc=0"),
    "init-on-free": ("plain", "init_on_free=1"),
    "fpb": ("fpb", ""),
}

# The 2 GiB cells; the size sweep runs job50 (every variant) and idle
# (plain only: the floor FPB is measured against).
WORKLOADS = ("idle", "job25", "job50", "job75", "frag", "churn", "job1g")
SWEEP_WORKLOAD = "job50"
BASE_GIB = 2

# churn: allocating workers (two, or one per vCPU) and a 64 MiB long-lived
# set, all written at a fixed 32 MiB/s (what a TCG vCPU sustains with room
# to spare), after a job that left half of RAM free garbage.
CHURN = "/bin/churn %d 64 32"
JOB_RE = re.compile(r"dirtied (\d+) MiB in (\d+) ms, freed in (\d+) ms "
                    r"\((\d+) ns per page\)")
FRAG_PCT = 50


def opts_for(opts, gib):
    o = argparse.Namespace(**vars(opts))
    o.mem = "%dG" % gib
    return o


def job_notes(out):
    """The job's own timings: what init_on_free costs the guest."""
    m = JOB_RE.search(out)
    if not m:
        return {}
    return {"job_mib": int(m.group(1)), "job_fill_ms": int(m.group(2)),
            "job_free_ms": int(m.group(3)),
            "job_free_ns_per_page": int(m.group(4))}


def prepare(vm, workload, variant, vcpus=1):
    """Bring the source guest into the workload's state; return notes."""
    notes = {}
    if variant == "fpb":
        mig.wait_fpb_registered(vm)
    m = re.fullmatch(r"job(\d+)(g?)", workload)
    if m:
        arg = m.group(1) + ("G" if m.group(2) else "")
        notes.update(job_notes(vm.check("/bin/job %s" % arg, timeout=900)))
    elif workload == "frag":
        vm.check("/bin/frag %d > /mnt/tmp/frag.out 2>&1 & "
                 "while ! grep -q holding /mnt/tmp/frag.out; do sleep 0.2; done"
                 % FRAG_PCT, timeout=900)
        notes["buddyinfo"] = vm.check("cat /proc/buddyinfo")
    elif workload == "churn":
        notes.update(job_notes(vm.check("/bin/job 50", timeout=900)))
        vm.check(CHURN % max(2, vcpus) + " > /mnt/tmp/churn.out 2>&1 & sleep 1")
    notes["meminfo_free_kib"] = int(
        vm.check("awk '/^MemFree/ { print $2 }' /proc/meminfo"))
    return notes


def verify(vm, workload):
    """The workload's own check on the destination: True if it passed."""
    if workload == "frag":
        rc, _ = vm.run("kill -USR1 $(pidof frag); "
                       "while pidof frag >/dev/null; do sleep 0.2; done; "
                       "grep -q 'frag: ok' /mnt/tmp/frag.out", timeout=600)
        return rc == 0
    if workload == "churn":
        rc, _ = vm.run(mig.CHURN_VERIFY, timeout=600)
        return rc == 0
    return None


def one_run(opts, rundir, gib, workload, variant, rep, setting=None):
    """One migration; @setting (a fleet cell's) may set vcpus, bandwidth,
    downtime_limit_ms and mem_backend."""
    setting = dict(setting or {})
    vcpus = setting.get("vcpus", 1)
    boot_variant, append = VARIANTS[variant]
    first = []
    extra = {}

    def on_info(info, elapsed):
        # The first snapshot applied, timed from the migrate command.
        if not first and info.get("ram", {}).get("fpb-snapshots-applied", 0):
            first.append(elapsed * 1000)

    def verify_dst(vm):
        extra["verified"] = verify(vm, workload)
        if variant == "fpb":
            st = mig.fpb_stats(vm)
            extra["guest_snapshots"] = st.get("snapshots")
            extra["guest_max_walk_ms"] = st.get("max_walk_ns", 0) / 1e6
            extra["guest_max_hold_us"] = st.get("max_hold_ns", 0) / 1e3
            extra["guest_lock_holds"] = st.get("lock_holds")

    o = opts_for(opts, gib)
    o.smp = vcpus
    o.bandwidth = setting.get("bandwidth", 0)
    o.mem_backend = setting.get("mem_backend", False)
    params = {}
    if "downtime_limit_ms" in setting:
        params["downtime-limit"] = setting["downtime_limit_ms"]
    notes = {}
    rec, dst = mig.one_migration(
        o, rundir, boot_variant,
        prepare=lambda vm: notes.update(prepare(vm, workload, variant, vcpus)),
        verify=verify_dst, append=append, on_info=on_info, params=params)
    dst.kill()
    rec.update(variant=variant, workload=workload, size_gib=gib, rep=rep,
               first_apply_ms=round(first[0], 1) if first else None,
               vcpus=vcpus, bandwidth=o.bandwidth,
               downtime_limit_ms=setting.get("downtime_limit_ms", 300),
               mem_backend=o.mem_backend)
    rec.update(notes)
    rec.update(extra)
    # Memory in use as the host sees it: every guest page not free in the
    # buddy allocator (kernel, struct pages, firmware, caches, workload).
    rec["used_bytes"] = (gib << 30) - notes["meminfo_free_kib"] * 1024
    return rec


def cells(opts):
    """The matrix: (name prefix, size, workload, variants, setting)."""
    for w in opts.workloads:
        if BASE_GIB in opts.sizes:
            yield "", BASE_GIB, w, opts.variants, {}
    for gib in opts.sizes:
        if gib == BASE_GIB:
            continue
        if SWEEP_WORKLOAD in opts.workloads:
            yield "", gib, SWEEP_WORKLOAD, opts.variants, {}
        if "idle" in opts.workloads and "plain" in opts.variants:
            yield "", gib, "idle", ("plain",), {}


# The fleet cells.  Guest RAM is a memory-backend-ram with reserve=off in
# the scale sweep, at every size so that sizes compare.  Plain migration
# and hinting populate the free pages they read on both sides (the job's
# garbage, or zero pages the host had reclaimed), so they run only where a
# source and a destination of that size fit in this host's memory
# (FLEET_FIT_GIB).  init-on-free sends free pages as zero pages, which the
# destination skips, but the guest zeroes all of its memory when it boots
# (memblock frees every page into the buddy allocator, and each free
# zeroes): the source holds the whole guest resident, so it runs up to
# FLEET_IOF_GIB.  FPB runs at every size.
FLEET_PARTS = ("scale", "bandwidth", "vcpus", "downtime")
FLEET_SIZES = (2, 8, 16, 32, 64)
FLEET_FIT_GIB = 8
FLEET_IOF_GIB = 16
FLEET_VARIANTS = ("plain", "hint", "init-on-free", "fpb")
BANDWIDTHS = (125000000, 1250000000)        # 1 and 10 Gbit/s
VCPUS = (1, 2, 4)
DOWNTIME_LIMITS = (50, 100, 300)


def fleet_cells(opts):
    variants = [v for v in FLEET_VARIANTS if v in opts.variants]
    if "scale" in opts.parts:
        for gib in opts.fleet_sizes:
            fits = [v for v in variants
                    if v == "fpb" or gib <= FLEET_FIT_GIB or
                    (v == "init-on-free" and gib <= FLEET_IOF_GIB)]
            for w in ("idle", "job1g"):
                yield "scale-", gib, w, fits, {"mem_backend": True}
    for w in ("job50", "churn"):
        if "bandwidth" in opts.parts:
            for bw in BANDWIDTHS:
                yield "bw%d-" % (bw // 1000000), BASE_GIB, w, variants, \
                    {"bandwidth": bw}
        if "vcpus" in opts.parts:
            for n in VCPUS:
                yield "smp%d-" % n, BASE_GIB, w, variants, {"vcpus": n}
    if "downtime" in opts.parts:
        for dl in DOWNTIME_LIMITS:
            yield "dl%d-" % dl, BASE_GIB, "job50", \
                [v for v in ("plain", "fpb") if v in variants], \
                {"downtime_limit_ms": dl}


def run_cells(opts, todo):
    """Run every cell's variants interleaved, reps times; return failures."""
    runs = os.path.join(opts.out, "runs")
    os.makedirs(runs, exist_ok=True)
    rundir = fpbmig.new_rundir(TOP)
    total = sum(len(c[3]) for c in todo) * opts.reps
    n = 0
    failed = 0
    for prefix, gib, workload, variants, setting in todo:
        for rep in range(1, opts.reps + 1):
            for variant in variants:
                n += 1
                name = "%s%dG-%s-%s-%d" % (prefix, gib, workload, variant, rep)
                path = os.path.join(runs, name + ".json")
                if opts.resume and os.path.exists(path):
                    continue
                progress("bench %d/%d: %s" % (n, total, name))
                t = time.monotonic()
                try:
                    rec = one_run(opts, rundir, gib, workload, variant, rep,
                                  setting)
                except HarnessError as e:
                    failed += 1
                    print("bench: %s failed: %s" % (name, e), flush=True)
                    continue
                rec["cell"] = prefix.rstrip("-") or "matrix"
                rec["wall_s"] = round(time.monotonic() - t, 1)
                with open(path, "w") as f:
                    json.dump(rec, f, indent=1)
                print("    %.0f ms (down %s ms), %.0f MB, skipped %s, first "
                      "apply %s ms, rss src %s dst %s MB%s"
                      % (rec["total_time_ms"], rec["downtime_ms"],
                         rec["transferred_bytes"] / 1e6,
                         rec["fpb_skipped_pages"], rec["first_apply_ms"],
                         rec["src_rss_mb"], rec["dst_rss_mb"],
                         "" if rec["verified"] is not False else ", VERIFY FAILED"),
                      flush=True)
                failed += rec["verified"] is False
    print("bench: logs in %s" % rundir)
    return failed


def cmd_migrate(opts):
    return run_cells(opts, list(cells(opts)))


def cmd_fleet(opts):
    o = argparse.Namespace(**vars(opts))
    o.reps = opts.fleet_reps
    return run_cells(o, list(fleet_cells(o)))


# ------------------------------------------------------------ guest overhead

SNAP = "echo 1 > /sys/kernel/debug/fpb/snapshot"


def holds(vm):
    out = vm.check("cat /sys/kernel/debug/fpb/holds")
    return [[int(a), None if b == "-" else int(b), int(c)]
            for a, b, c in (line.split() for line in out.splitlines())]


def walks(vm, n):
    ms = []
    for _ in range(n):
        vm.check(SNAP)
        ms.append(mig.fpb_stats(vm)["last_walk_ns"] / 1e6)
    return ms


def hist_delta(after, before):
    return [[a[0], a[1], a[2] - b[2]] for a, b in zip(after, before)]


def overhead_walks(opts, rundir, gib):
    """Walk time of idle and of fragmented memory in a test-mode guest."""
    o = opts_for(opts, gib)
    args = mig.vm_args(o, "plain", "fpb.test_mode=1")
    args[args.index("-smp") + 1] = "2"
    vm = VM(o.qemu, "walk%dG" % gib, args, rundir)
    try:
        vm.expect(r"@@READY", 300)
        # The first walk also pays TCG's translation of the walker.
        walks(vm, 1)
        h0 = holds(vm)
        idle = walks(vm, opts.walks)
        h1 = holds(vm)
        vm.check("/bin/frag %d > /mnt/tmp/frag.out 2>&1 & "
                 "while ! grep -q holding /mnt/tmp/frag.out; do sleep 0.2; done"
                 % FRAG_PCT, timeout=900)
        st0 = mig.fpb_stats(vm)
        frag = walks(vm, opts.walks)
        h2 = holds(vm)
        st = mig.fpb_stats(vm)
        rec = {
            "size_gib": gib,
            "idle_walk_ms": idle,
            "frag_walk_ms": frag,
            "idle_walk_ms_per_gib": statistics.median(idle) / gib,
            "frag_walk_ms_per_gib": statistics.median(frag) / gib,
            "frag_free_blocks_pcp": st["last_pcp_blocks"],
            "frag_nr_free": st["last_nr_free"],
            "max_hold_us": st["max_hold_ns"] / 1e3,
            "max_pcp_hold_us": st["max_pcp_hold_ns"] / 1e3,
            # Every zone->lock hold since load, the first walk's included
            # (it pays TCG's translation of the walker and sets max_hold).
            "holds_all": h2,
            "holds_idle": hist_delta(h1, h0),
            "holds_frag": hist_delta(h2, h1),
            "lock_holds_per_frag_walk": (st["lock_holds"] - st0["lock_holds"]) / len(frag),
            "buddyinfo": vm.check("cat /proc/buddyinfo"),
        }
        if gib == opts.alloc_gib:
            rec["alloc_latency"] = alloc_latency(vm, opts)
        return rec
    finally:
        vm.kill()


def alloclat(vm, opts):
    out = vm.check("/bin/alloclat %d 64" % opts.alloc_secs, timeout=600)
    m = re.search(r"alloclat: n (\d+) p50 (\d+) p99 (\d+) p999 (\d+) max (\d+)", out)
    if not m:
        raise HarnessError("alloclat: " + out)
    return dict(zip(("n", "p50_ns", "p99_ns", "p999_ns", "max_ns"),
                    map(int, m.groups())))


def alloc_latency(vm, opts):
    """Page-fault allocation latency with and without snapshots running
    back to back on the other vCPU, fragmented memory held (so that each
    walk is long), alternating."""
    res = {"quiet": [], "snapshots": [], "snapshots_taken": []}
    # A first run pays TCG's translation of the fault path: not counted.
    vm.check("/bin/alloclat 2 64", timeout=600)
    for _ in range(opts.alloc_reps):
        res["quiet"].append(alloclat(vm, opts))
        before = mig.fpb_stats(vm)["snapshots"]
        vm.check("(while :; do %s; done) >/dev/null 2>&1 & echo $! > /mnt/tmp/loop.pid"
                 % SNAP)
        res["snapshots"].append(alloclat(vm, opts))
        vm.check("kill $(cat /mnt/tmp/loop.pid); sleep 0.5")
        res["snapshots_taken"].append(mig.fpb_stats(vm)["snapshots"] - before)
    return res


def idle_cpu(opts, rundir):
    """QEMU's CPU time while a 2 GiB guest sleeps, without the module and
    with it registered to the host (default poll_ms), alternating."""
    res = {"plain": [], "fpb": []}
    o = opts_for(opts, BASE_GIB)
    for _ in range(opts.idle_reps):
        for variant in ("plain", "fpb"):
            vm = mig.boot(o, rundir, variant, name="idle-" + variant)
            try:
                if variant == "fpb":
                    mig.wait_fpb_registered(vm)
                vm.check("sleep 5")
                c0, t0 = vm.cpu_seconds(), time.monotonic()
                vm.check("sleep %d" % opts.idle_secs, timeout=opts.idle_secs + 60)
                c1, t1 = vm.cpu_seconds(), time.monotonic()
                res[variant].append(round(1000 * (c1 - c0) / (t1 - t0), 2))
            finally:
                vm.kill()
    return res


def cmd_overhead(opts):
    os.makedirs(opts.out, exist_ok=True)
    rundir = fpbmig.new_rundir(TOP)
    rec = {"walks": []}
    for gib in opts.sizes:
        progress("overhead: walks in a %d GiB test-mode guest" % gib)
        rec["walks"].append(overhead_walks(opts, rundir, gib))
        w = rec["walks"][-1]
        print("    idle %.2f ms/GiB, fragmented %.2f ms/GiB, max hold %.0f us"
              % (w["idle_walk_ms_per_gib"], w["frag_walk_ms_per_gib"],
                 w["max_hold_us"]), flush=True)
    progress("overhead: idle CPU with and without the module")
    rec["idle_cpu_ms_per_s"] = idle_cpu(opts, rundir)
    print("    %s" % rec["idle_cpu_ms_per_s"])
    with open(os.path.join(opts.out, "overhead.json"), "w") as f:
        json.dump(rec, f, indent=1)
    print("bench: logs in %s" % rundir)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["migrate", "fleet", "overhead"])
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--kimg", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--out", default=os.path.join(TOP, "build", "bench"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--workloads", nargs="+", default=list(WORKLOADS),
                    choices=WORKLOADS)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS),
                    choices=list(VARIANTS))
    ap.add_argument("--parts", nargs="+", default=list(FLEET_PARTS),
                    choices=FLEET_PARTS, help="fleet: which cells")
    ap.add_argument("--fleet-reps", type=int, default=1,
                    help="fleet: repetitions of each cell")
    ap.add_argument("--fleet-sizes", type=int, nargs="+",
                    default=list(FLEET_SIZES), help="fleet: scale sweep, GiB")
    ap.add_argument("--resume", action="store_true",
                    help="keep runs already recorded in OUT/runs")
    ap.add_argument("--walks", type=int, default=5)
    ap.add_argument("--alloc-gib", type=int, default=2)
    ap.add_argument("--alloc-secs", type=int, default=10)
    ap.add_argument("--alloc-reps", type=int, default=2)
    ap.add_argument("--idle-secs", type=int, default=20)
    ap.add_argument("--idle-reps", type=int, default=2)
    opts = ap.parse_args()
    if opts.reps < 1 or any(s < 1 or s > 10 for s in opts.sizes):
        ap.error("--reps must be >= 1 and sizes 1..10 GiB (both guests fit in RAM)")
    if any(s < 1 or s > 1024 for s in opts.fleet_sizes):
        ap.error("--fleet-sizes must be 1..1024 GiB")
    opts.bandwidth = 0
    try:
        fn = {"migrate": cmd_migrate, "fleet": cmd_fleet,
              "overhead": cmd_overhead}[opts.cmd]
        sys.exit(1 if fn(opts) else 0)
    except HarnessError as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
