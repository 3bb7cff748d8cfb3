#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""FPB benchmarks: the migration matrix and the guest-side overhead.

usage: bench.py migrate  --qemu Q --kimg K --image I [--reps 3] [--sizes 1 2 4 8]
                         [--workloads ...] [--variants ...]
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

# name: (run.py boot variant, extra kernel command line)
VARIANTS = {
    "plain": ("plain", ""),
    "hint": ("balloon-hint", ""),
    "hint-noinit": ("balloon-hint", "init_on_alloc=0"),
    "fpb": ("fpb", ""),
}

# The 2 GiB cells; the size sweep runs job50 (every variant) and idle
# (plain only: the floor FPB is measured against).
WORKLOADS = ("idle", "job25", "job50", "job75", "frag", "churn")
SWEEP_WORKLOAD = "job50"
BASE_GIB = 2

# churn: two allocating workers and a 64 MiB long-lived set, all written at
# a fixed 32 MiB/s (what a TCG vCPU sustains with room to spare), after a
# job that left half of RAM free garbage.
CHURN = "/bin/churn 2 64 32"
FRAG_PCT = 50


def opts_for(opts, gib):
    o = argparse.Namespace(**vars(opts))
    o.mem = "%dG" % gib
    return o


def prepare(vm, workload, variant):
    """Bring the source guest into the workload's state; return notes."""
    notes = {}
    if variant == "fpb":
        mig.wait_fpb_registered(vm)
    m = re.fullmatch(r"job(\d+)", workload)
    if m:
        vm.check("/bin/job %s" % m.group(1), timeout=900)
    elif workload == "frag":
        vm.check("/bin/frag %d > /mnt/tmp/frag.out 2>&1 & "
                 "while ! grep -q holding /mnt/tmp/frag.out; do sleep 0.2; done"
                 % FRAG_PCT, timeout=900)
        notes["buddyinfo"] = vm.check("cat /proc/buddyinfo")
    elif workload == "churn":
        vm.check("/bin/job 50", timeout=900)
        vm.check(CHURN + " > /mnt/tmp/churn.out 2>&1 & sleep 1")
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


def one_run(opts, rundir, gib, workload, variant, rep):
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

    notes = {}
    rec, dst = mig.one_migration(
        opts_for(opts, gib), rundir, boot_variant,
        prepare=lambda vm: notes.update(prepare(vm, workload, variant)),
        verify=verify_dst, append=append, on_info=on_info)
    dst.kill()
    rec.update(variant=variant, workload=workload, size_gib=gib, rep=rep,
               first_apply_ms=round(first[0], 1) if first else None)
    rec.update(notes)
    rec.update(extra)
    return rec


def cells(opts):
    for w in opts.workloads:
        if BASE_GIB in opts.sizes:
            yield BASE_GIB, w, opts.variants
    for gib in opts.sizes:
        if gib == BASE_GIB:
            continue
        if SWEEP_WORKLOAD in opts.workloads:
            yield gib, SWEEP_WORKLOAD, opts.variants
        if "idle" in opts.workloads and "plain" in opts.variants:
            yield gib, "idle", ("plain",)


def cmd_migrate(opts):
    runs = os.path.join(opts.out, "runs")
    os.makedirs(runs, exist_ok=True)
    rundir = fpbmig.new_rundir(TOP)
    todo = list(cells(opts))
    total = sum(len(v) for _, _, v in todo) * opts.reps
    n = 0
    failed = 0
    for gib, workload, variants in todo:
        for rep in range(1, opts.reps + 1):
            for variant in variants:
                n += 1
                name = "%dG-%s-%s-%d" % (gib, workload, variant, rep)
                path = os.path.join(runs, name + ".json")
                if opts.resume and os.path.exists(path):
                    continue
                progress("bench %d/%d: %s" % (n, total, name))
                t = time.monotonic()
                try:
                    rec = one_run(opts, rundir, gib, workload, variant, rep)
                except HarnessError as e:
                    failed += 1
                    print("bench: %s failed: %s" % (name, e), flush=True)
                    continue
                rec["wall_s"] = round(time.monotonic() - t, 1)
                with open(path, "w") as f:
                    json.dump(rec, f, indent=1)
                print("    %.0f ms, %.0f MB, skipped %s, first apply %s ms%s"
                      % (rec["total_time_ms"], rec["transferred_bytes"] / 1e6,
                         rec["fpb_skipped_pages"], rec["first_apply_ms"],
                         "" if rec["verified"] is not False else ", VERIFY FAILED"),
                      flush=True)
                failed += rec["verified"] is False
    print("bench: logs in %s" % rundir)
    return failed


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
    ap.add_argument("cmd", choices=["migrate", "overhead"])
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
    opts.bandwidth = 0
    try:
        fn = cmd_migrate if opts.cmd == "migrate" else cmd_overhead
        sys.exit(1 if fn(opts) else 0)
    except HarnessError as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
