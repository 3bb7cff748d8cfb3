#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn bench.py's records into the report.

usage: report.py OUT

Reads OUT/runs/*.json and OUT/overhead.json; writes OUT/summary.json (one
record per variant, workload and guest size, each metric as median, min and
max), OUT/summary.md (the tables and the targets) and the charts
OUT/bytes.png, OUT/time.png and OUT/size.png (gnuplot).
"""

import glob
import json
import os
import statistics
import subprocess
import sys

VARIANTS = ("plain", "hint", "hint-noinit", "fpb")
WORKLOADS = ("idle", "job25", "job50", "job75", "frag", "churn")
METRICS = ("total_time_ms", "downtime_ms", "setup_time_ms", "transferred_bytes",
           "normal_pages", "zero_pages", "dirty_sync_count", "src_cpu_s",
           "dst_cpu_s", "fpb_skipped_pages", "first_apply_ms",
           "guest_max_walk_ms", "guest_max_hold_us")
BASE_GIB = 2
TARGET_JOBS = ("job25", "job50", "job75")


def load_runs(out):
    runs = []
    for path in sorted(glob.glob(os.path.join(out, "runs", "*.json"))):
        with open(path) as f:
            runs.append(json.load(f))
    return runs


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values),
            "max": max(values)}


def summarize(runs):
    groups = {}
    for r in runs:
        groups.setdefault((r["size_gib"], r["workload"], r["variant"]), []).append(r)
    summary = []
    for (gib, workload, variant), rs in sorted(
            groups.items(), key=lambda kv: (kv[0][0], WORKLOADS.index(kv[0][1]),
                                            VARIANTS.index(kv[0][2]))):
        rec = {"variant": variant, "workload": workload, "size_gib": gib,
               "n": len(rs),
               "verified": all(r.get("verified") is not False for r in rs)}
        for m in METRICS:
            s = stats([r.get(m) for r in rs])
            if s is not None:
                rec[m] = s
        summary.append(rec)
    return summary


def med(summary, gib, workload, variant, metric):
    for r in summary:
        if (r["size_gib"], r["workload"], r["variant"]) == (gib, workload, variant):
            s = r.get(metric)
            return s["median"] if s else None
    return None


def fmt_range(s, scale=1.0, digits=0):
    if not s:
        return "-"
    f = "%%.%df" % digits
    if s["min"] == s["max"]:
        return f % (s["median"] / scale)
    return (f + " (" + f + "-" + f + ")") % (s["median"] / scale, s["min"] / scale,
                                             s["max"] / scale)


def table(summary, gib, workloads, variants=VARIANTS):
    lines = ["| workload | variant | n | total ms | MB sent | downtime ms | "
             "setup ms | data pages | zero pages | syncs | src CPU s | "
             "dst CPU s | FPB skipped | first apply ms | walk ms | hold us |",
             "|" + "---|" * 16]
    for r in summary:
        if r["size_gib"] != gib or r["workload"] not in workloads or \
                r["variant"] not in variants:
            continue
        lines.append("| %s | %s | %d%s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["workload"], r["variant"], r["n"], "" if r["verified"] else " FAILED",
            fmt_range(r.get("total_time_ms")),
            fmt_range(r.get("transferred_bytes"), 1e6),
            fmt_range(r.get("downtime_ms")),
            fmt_range(r.get("setup_time_ms")),
            fmt_range(r.get("normal_pages")),
            fmt_range(r.get("zero_pages")),
            fmt_range(r.get("dirty_sync_count")),
            fmt_range(r.get("src_cpu_s"), digits=2),
            fmt_range(r.get("dst_cpu_s"), digits=2),
            fmt_range(r.get("fpb_skipped_pages")) if r["variant"] == "fpb" else "-",
            fmt_range(r.get("first_apply_ms")),
            fmt_range(r.get("guest_max_walk_ms"), digits=1),
            fmt_range(r.get("guest_max_hold_us"))))
    return lines


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def targets(summary):
    """The issue's targets, each as (name, value, limit, ok)."""
    out = []

    def check(name, value, limit, le=True):
        ok = None if value is None else (value <= limit if le else value >= limit)
        out.append((name, value, limit, ok))

    g = BASE_GIB
    idle_b = med(summary, g, "idle", "plain", "transferred_bytes")
    idle_t = med(summary, g, "idle", "plain", "total_time_ms")
    for w in TARGET_JOBS:
        fb = med(summary, g, w, "fpb", "transferred_bytes")
        ft = med(summary, g, w, "fpb", "total_time_ms")
        check("%s: FPB bytes / idle guest bytes" % w, ratio(fb, idle_b), 1.1)
        check("%s: FPB bytes / hinting bytes" % w,
              ratio(fb, med(summary, g, w, "hint", "transferred_bytes")), 0.25)
        check("%s: FPB time / hinting time" % w,
              ratio(ft, med(summary, g, w, "hint", "total_time_ms")), 0.5)
        check("%s: FPB time / idle guest time" % w, ratio(ft, idle_t), 1.2)
    check("idle: FPB bytes / plain bytes",
          ratio(med(summary, g, "idle", "fpb", "transferred_bytes"), idle_b), 1.05)
    check("idle: FPB time / plain time",
          ratio(med(summary, g, "idle", "fpb", "total_time_ms"), idle_t), 1.05)
    for gib in sorted({r["size_gib"] for r in summary}):
        check("%d GiB job50: FPB bytes / idle guest bytes (same size)" % gib,
              ratio(med(summary, gib, "job50", "fpb", "transferred_bytes"),
                    med(summary, gib, "idle", "plain", "transferred_bytes")), 1.1)
    return out


def overhead_md(ov):
    lines = ["## Guest overhead", "",
             "Test-mode guests (2 vCPUs), snapshots taken through debugfs; "
             "fragmented: `frag %s` holds a quarter of what it allocated, "
             "freed in order-0 and order-1 blocks." % "50", "",
             "| guest GiB | idle walk ms (median) | idle ms/GiB | fragmented walk ms "
             "(median) | fragmented ms/GiB | free pages in fragmented snapshot | "
             "zone->lock holds per walk | longest zone->lock hold us | "
             "longest pcp hold us |",
             "|---|---|---|---|---|---|---|---|---|"]
    for w in ov.get("walks", []):
        lines.append("| %d | %.2f | %.2f | %.1f | %.2f | %d | %.0f | %.0f | %.0f |" % (
            w["size_gib"], statistics.median(w["idle_walk_ms"]),
            w["idle_walk_ms_per_gib"], statistics.median(w["frag_walk_ms"]),
            w["frag_walk_ms_per_gib"], w["frag_nr_free"],
            w["lock_holds_per_frag_walk"], w["max_hold_us"], w["max_pcp_hold_us"]))
    lines += ["", "zone->lock hold times, every walk of every size (idle, "
              "fragmented, the first walk of each guest included):", "",
              "| hold | holds |", "|---|---|"]
    hist = {}
    for w in ov.get("walks", []):
        for lo, hi, n in w["holds_all"]:
            hist[(lo, hi)] = hist.get((lo, hi), 0) + n
    for (lo, hi), n in sorted(hist.items()):
        if n:
            lines.append("| %s | %d |" % ("%d-%d us" % (lo, hi) if hi else
                                          ">= %d us" % lo, n))
    for w in ov.get("walks", []):
        a = w.get("alloc_latency")
        if not a:
            continue
        lines += ["", "Page allocation latency (first touch of an anonymous page, "
                  "ns) in the %d GiB guest with fragmented memory, alone and "
                  "with snapshots back to back on the other vCPU (%s snapshots "
                  "per run):" % (w["size_gib"], a["snapshots_taken"]), "",
                  "| run | pages | p50 | p99 | p99.9 | max |", "|---|---|---|---|---|---|"]
        for kind in ("quiet", "snapshots"):
            for r in a[kind]:
                lines.append("| %s | %d | %d | %d | %d | %d |" % (
                    kind, r["n"], r["p50_ns"], r["p99_ns"], r["p999_ns"], r["max_ns"]))
    cpu = ov.get("idle_cpu_ms_per_s")
    if cpu:
        lines += ["", "QEMU CPU of an idle 2 GiB guest, ms per s: without FPB %s, "
                  "with FPB registered (poll_ms 100) %s." % (cpu["plain"], cpu["fpb"])]
    return lines


def compact(summary):
    """Total ms / MB sent per workload (rows) and variant (columns), for
    the README."""
    variants = [v for v in VARIANTS if any(r["variant"] == v for r in summary)]
    cells = [(g, w) for g in sorted({r["size_gib"] for r in summary})
             for w in WORKLOADS
             if any(r["size_gib"] == g and r["workload"] == w for r in summary)]
    lines = ["| GiB | workload | " + " | ".join(variants) + " |",
             "|---|---|" + "---|" * len(variants)]
    for g, w in cells:
        row = []
        for v in variants:
            t = med(summary, g, w, v, "total_time_ms")
            b = med(summary, g, w, v, "transferred_bytes")
            row.append("-" if t is None else "%.0f ms, %.0f MB" % (t, b / 1e6))
        lines.append("| %d | %s | %s |" % (g, w, " | ".join(row)))
    return lines


def write_md(out, summary, ov):
    sizes = sorted({r["size_gib"] for r in summary})
    lines = ["# FPB benchmark", "",
             "TCG guests on this machine, migrated over loopback with "
             "max-bandwidth unlimited. Each cell shows the median of its runs "
             "and, in brackets, min-max; variants ran interleaved. Absolute "
             "times under TCG vary from run to run: compare ratios within one "
             "report.", "",
             "Variants: plain (no free page optimisation), hint (virtio-balloon "
             "free-page-hint, guest defaults: init_on_alloc=1), hint-noinit "
             "(the same with init_on_alloc=0), fpb. Workloads: idle; jobNN (a "
             "job dirtied NN% of RAM and exited); frag (half of RAM allocated, "
             "three quarters of it freed as order-0/1 blocks, the rest held); "
             "churn (after job50, allocating and freeing at a fixed 32 MiB/s "
             "during the migration).", "",
             "## %d GiB guest" % BASE_GIB, ""]
    lines += table(summary, BASE_GIB, WORKLOADS)
    if len(sizes) > 1:
        lines += ["", "## Guest size (job50; idle plain is the floor)", ""]
        for gib in sizes:
            lines += table(summary, gib, ("idle", "job50"))[0 if gib == sizes[0] else 2:]
    tl = ["| target | value | limit | |", "|---|---|---|---|"]
    for name, value, limit, ok in targets(summary):
        tl.append("| %s | %s | %s | %s |" % (
            name, "-" if value is None else "%.3f" % value, "<= %.2f" % limit,
            {True: "met", False: "MISSED", None: "not measured"}[ok]))
    lines += ["", "## Targets (medians)", ""] + tl
    with open(os.path.join(out, "summary-short.md"), "w") as f:
        f.write("\n".join(["Total time and bytes sent, medians:", ""] + compact(summary)
                          + ["", "Targets:", ""] + tl) + "\n")
    if ov:
        lines += [""] + overhead_md(ov)
    lines += ["", "Charts: bytes.png, time.png, size.png."]
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def plot(out, summary):
    """Clustered bars per workload (2 GiB) and lines against guest size."""
    variants = [v for v in VARIANTS if any(r["variant"] == v for r in summary)]
    workloads = [w for w in WORKLOADS
                 if any(r["workload"] == w and r["size_gib"] == BASE_GIB for r in summary)]
    dat = os.path.join(out, "bars.dat")
    with open(dat, "w") as f:
        f.write("# workload " + " ".join(variants) + " " +
                " ".join(v + "_t" for v in variants) + "\n")
        for w in workloads:
            b = [med(summary, BASE_GIB, w, v, "transferred_bytes") for v in variants]
            t = [med(summary, BASE_GIB, w, v, "total_time_ms") for v in variants]
            f.write(w + " " + " ".join("NaN" if x is None else "%.1f" % (x / 1e6) for x in b)
                    + " " + " ".join("NaN" if x is None else "%.0f" % x for x in t) + "\n")
    sizes = sorted({r["size_gib"] for r in summary})
    sdat = os.path.join(out, "size.dat")
    with open(sdat, "w") as f:
        f.write("# gib " + " ".join(variants) + " " + " ".join(v + "_MB" for v in variants)
                + " idle_t idle_MB\n")
        for gib in sizes:
            t = [med(summary, gib, "job50", v, "total_time_ms") for v in variants]
            b = [med(summary, gib, "job50", v, "transferred_bytes") for v in variants]
            it = med(summary, gib, "idle", "plain", "total_time_ms")
            ib = med(summary, gib, "idle", "plain", "transferred_bytes")
            f.write("%d " % gib + " ".join("NaN" if x is None else "%.0f" % x for x in t + [])
                    + " " + " ".join("NaN" if x is None else "%.1f" % (x / 1e6) for x in b)
                    + " %s %s\n" % ("NaN" if it is None else "%.0f" % it,
                                    "NaN" if ib is None else "%.1f" % (ib / 1e6)))
    nv = len(variants)
    gp = ["set terminal pngcairo size 900,500 noenhanced",
          "set style data histograms", "set style histogram clustered gap 1",
          "set style fill solid 0.8 border -1", "set key top left",
          "set grid ytics", "set yrange [0:*]"]
    gp += ["set xrange [-0.5:%f]" % (len(workloads) - 0.5),
           "set output '%s'" % os.path.join(out, "bytes.png"),
           "set title 'Transferred MB, %d GiB guest (median)'" % BASE_GIB,
           "set ylabel 'MB'",
           "plot " + ", ".join("'%s' using %d:xtic(1) title '%s'" % (dat, i + 2, v)
                               for i, v in enumerate(variants))]
    gp += ["set output '%s'" % os.path.join(out, "time.png"),
           "set title 'Total migration time, %d GiB guest (median)'" % BASE_GIB,
           "set ylabel 'ms'",
           "plot " + ", ".join("'%s' using %d:xtic(1) title '%s'" % (dat, nv + i + 2, v)
                               for i, v in enumerate(variants))]
    gp += ["set terminal pngcairo size 1200,500 noenhanced", "set autoscale x",
           "set output '%s'" % os.path.join(out, "size.png"),
           "set style data linespoints", "set multiplot layout 1,2",
           "set xlabel 'guest GiB'", "set xtics (%s)" % ", ".join(str(s) for s in sizes),
           "set title 'Total time after job50 (median)'", "set ylabel 'ms'",
           "plot " + ", ".join("'%s' using 1:%d title '%s'" % (sdat, i + 2, v)
                               for i, v in enumerate(variants))
           + ", '%s' using 1:%d title 'idle (plain)' dashtype 2" % (sdat, 2 * nv + 2),
           "set title 'Transferred MB after job50 (median)'", "set ylabel 'MB'",
           "plot " + ", ".join("'%s' using 1:%d title '%s'" % (sdat, nv + i + 2, v)
                               for i, v in enumerate(variants))
           + ", '%s' using 1:%d title 'idle (plain)' dashtype 2" % (sdat, 2 * nv + 3),
           "unset multiplot"]
    script = os.path.join(out, "plots.gp")
    with open(script, "w") as f:
        f.write("\n".join(gp) + "\n")
    r = subprocess.run(["gnuplot", script], capture_output=True, text=True)
    if r.returncode:
        print("report: gnuplot failed: " + r.stderr, file=sys.stderr)
        return False
    return True


def main():
    if len(sys.argv) != 2:
        print("usage: report.py OUT", file=sys.stderr)
        sys.exit(2)
    out = sys.argv[1]
    runs = load_runs(out)
    ov = None
    if os.path.exists(os.path.join(out, "overhead.json")):
        with open(os.path.join(out, "overhead.json")) as f:
            ov = json.load(f)
    if not runs and not ov:
        print("report: no runs in %s/runs and no overhead.json" % out, file=sys.stderr)
        sys.exit(1)
    summary = summarize(runs)
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    write_md(out, summary, ov)
    ok = plot(out, summary) if runs else True
    print(open(os.path.join(out, "summary.md")).read())
    print("report: %s/summary.{json,md}, bytes.png, time.png, size.png" % out)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
