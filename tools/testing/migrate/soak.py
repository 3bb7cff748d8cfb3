#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make soak: many consecutive migration hops of churning guests.

usage: soak.py --qemu Q --kimg-6.1 K --image-6.1 I --kimg-6.12 K --image-6.12 I
               [--hops 100] [--out build/soak] [--tap]

A guest can change neither its kernel, nor its vCPUs, nor its size while
it migrates, so the hops are split into segments, one guest each, cycling
through 6.1 and 6.12 kernels, 1 to 4 vCPUs and 1 to 4 GiB.  In a segment
one guest is migrated back and forth between two QEMUs (the destination
of one hop is the source of the next) while it churns on every vCPU;
after each hop the destination checks the churn's memory (the churn
stops, verifies, starts again) and the page cache files, and FPB must
have skipped pages.  Writes OUT/summary.json and prints it; with --tap,
TAP lines per segment too.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import fpbmig  # noqa: E402
import run  # noqa: E402
from fpbmig import HarnessError, VM  # noqa: E402
from fpbtap import Tap  # noqa: E402

# (kernel, vCPUs, GiB), cycled through.
CONFIGS = ((("6.12", 1, 1), ("6.1", 2, 2), ("6.12", 4, 4), ("6.1", 1, 3),
            ("6.12", 2, 2), ("6.1", 4, 1)))


def segment_plan(hops):
    """[(kernel, vcpus, gib, hops)...] covering @hops hops: every config
    at least once when there are hops enough, at most 10 hops a guest."""
    per = min(10, max(2, -(-hops // len(CONFIGS))))
    plan = []
    i = 0
    while hops > 0:
        k, v, g = CONFIGS[i % len(CONFIGS)]
        n = min(per, hops)
        plan.append((k, v, g, n))
        hops -= n
        i += 1
    return plan


def verify(vm):
    """The churn's and the page cache's checks; restart the churn."""
    rc1, out1 = vm.run(run.CHURN_VERIFY, timeout=300)
    rc2, out2 = vm.run(run.PAGECACHE_VERIFY, timeout=300)
    if rc1 == 0:
        vm.check(run.CHURN_START)
    return rc1 == 0 and rc2 == 0, (out1 + out2).strip()


def segment(opts, rundir, kernel, vcpus, gib, hops, records):
    o = argparse.Namespace(**vars(opts))
    o.kimg, o.image = opts.kimg[kernel], opts.image[kernel]
    o.mem, o.smp = "%dG" % gib, vcpus
    args = run.vm_args(o, "fpb")
    src = run.boot(o, rundir, "fpb", name="%s-%dc-%dg-0" % (kernel, vcpus, gib))
    try:
        run.wait_fpb_registered(src)
        src.check(run.PAGECACHE_SETUP)
        src.check("/bin/job 40", timeout=600)
        src.check(run.CHURN_START)
        for hop in range(1, hops + 1):
            dst = VM(o.qemu, "%s-%dc-%dg-%d" % (kernel, vcpus, gib, hop), args,
                     rundir, incoming=True)
            t0 = time.monotonic()
            try:
                info = fpbmig.migrate(src, dst,
                                      params={"max-bandwidth": o.bandwidth})
            except HarnessError:
                dst.kill()
                raise
            src.kill()
            src = dst
            src.buf = b""
            ok, out = verify(src)
            run.check_dmesg(src)
            rec = {"kernel": kernel, "vcpus": vcpus, "gib": gib, "hop": hop,
                   "verified": ok, "skipped_pages":
                   info["ram"].get("fpb-skipped-pages", 0),
                   "total_time_ms": info.get("total-time"),
                   "downtime_ms": info.get("downtime"),
                   "wall_s": round(time.monotonic() - t0, 1)}
            if not ok:
                rec["checks"] = out[-2000:]
            records.append(rec)
            print("    %s %d vCPU %d GiB hop %d: %s, %d pages skipped, %s ms"
                  % (kernel, vcpus, gib, hop, "verified" if ok else "CORRUPT",
                     rec["skipped_pages"], rec["total_time_ms"]), flush=True)
    finally:
        src.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qemu", required=True)
    for k in ("6.1", "6.12"):
        ap.add_argument("--kimg-" + k, required=True,
                        dest="kimg_" + k.replace(".", "_"))
        ap.add_argument("--image-" + k, required=True,
                        dest="image_" + k.replace(".", "_"))
    ap.add_argument("--hops", type=run.positive_int, default=100)
    ap.add_argument("--bandwidth", type=int, default=256 << 20)
    ap.add_argument("--out", default=os.path.join(run.TOP, "build", "soak"))
    ap.add_argument("--tap", action="store_true")
    opts = ap.parse_args()
    opts.kimg = {"6.1": opts.kimg_6_1, "6.12": opts.kimg_6_12}
    opts.image = {"6.1": opts.image_6_1, "6.12": opts.image_6_12}
    os.makedirs(opts.out, exist_ok=True)
    rundir = fpbmig.new_rundir(run.TOP)
    tap = Tap() if opts.tap else None
    records = []
    start = time.monotonic()
    for kernel, vcpus, gib, hops in segment_plan(opts.hops):
        fpbmig.progress("soak: %s guest, %d vCPUs, %d GiB, %d hops"
                        % (kernel, vcpus, gib, hops))
        n = len(records)
        err = None
        try:
            segment(opts, rundir, kernel, vcpus, gib, hops, records)
        except HarnessError as e:
            err = str(e)
            print("soak: segment failed: %s" % e, flush=True)
        seg = records[n:]
        if tap:
            tap.ok(err is None and len(seg) == hops and
                   all(r["verified"] and r["skipped_pages"] > 0 for r in seg),
                   "%s guest, %d vCPUs, %d GiB: %d hops verify, FPB skipped "
                   "pages on each (min %d)" % (
                       kernel, vcpus, gib, len(seg),
                       min([r["skipped_pages"] for r in seg] or [0])),
                   err or json.dumps([r for r in seg if not r["verified"]
                                      or not r["skipped_pages"]])[:2000])
    summary = {
        "hops": len(records),
        "verified": sum(r["verified"] for r in records),
        "corrupt": sum(not r["verified"] for r in records),
        "min_skipped_pages": min([r["skipped_pages"] for r in records] or [0]),
        "kernels": sorted({r["kernel"] for r in records}),
        "vcpus": sorted({r["vcpus"] for r in records}),
        "gib": sorted({r["gib"] for r in records}),
        "wall_s": round(time.monotonic() - start),
    }
    with open(os.path.join(opts.out, "summary.json"), "w") as f:
        json.dump(dict(summary, records=records), f, indent=1)
    print(json.dumps(summary))
    print("soak: logs in %s" % rundir)
    ok = (summary["hops"] == opts.hops and summary["corrupt"] == 0 and
          summary["min_skipped_pages"] > 0)
    if tap:
        tap.ok(ok, "soak: %d of %d hops, %d corrupt, at least %d pages "
               "skipped per hop" % (summary["hops"], opts.hops,
                                    summary["corrupt"],
                                    summary["min_skipped_pages"]))
        sys.exit(tap.done())
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
