#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn bench.py's records into the report.

usage: report.py OUT

Reads OUT/runs/*.json and OUT/overhead.json; writes OUT/summary.json (one
record per cell, variant, workload and guest size, each metric as median,
min and max), OUT/summary.md (the tables and the targets) and the charts
OUT/bytes.png, OUT/time.png, OUT/size.png and OUT/scale.png (gnuplot).
A cell is the matrix or one of the fleet cells (bench.py fleet): scale,
bwN (max-bandwidth N MB/s), smpN (N vCPUs), dlN (downtime-limit N ms).
"""

import glob
import json
import os
import statistics
import subprocess
import sys

VARIANTS = ("plain", "hint", "hint-noinit", "init-on-free", "fpb")
WORKLOADS = ("idle", "job25", "job50", "job75", "frag", "churn", "job1g")
METRICS = ("total_time_ms", "downtime_ms", "setup_time_ms", "transferred_bytes",
           "normal_pages", "zero_pages", "dirty_sync_count", "src_cpu_s",
           "dst_cpu_s", "fpb_skipped_pages", "first_apply_ms",
           "guest_max_walk_ms", "guest_max_hold_us", "src_rss_mb",
           "dst_rss_mb", "dst_base_rss_mb", "used_bytes", "job_fill_ms",
           "job_free_ms",
           "job_free_ns_per_page")
# What a fleet cell fixed, copied into its summary record.
SETTINGS = ("bandwidth", "vcpus", "downtime_limit_ms", "mem_backend")
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
        key = (r.get("cell", "matrix"), r["size_gib"], r["workload"],
               r["variant"])
        groups.setdefault(key, []).append(r)
    summary = []
    for (cell, gib, workload, variant), rs in sorted(
            groups.items(), key=lambda kv: (kv[0][0] != "matrix", kv[0][0],
                                            kv[0][1], WORKLOADS.index(kv[0][2]),
                                            VARIANTS.index(kv[0][3]))):
        rec = {"cell": cell, "variant": variant, "workload": workload,
               "size_gib": gib, "n": len(rs),
               "verified": all(r.get("verified") is not False for r in rs)}
        for k in SETTINGS:
            rec[k] = rs[0].get(k, {"bandwidth": 0, "vcpus": 1,
                                   "downtime_limit_ms": 300,
                                   "mem_backend": False}[k])
        for m in METRICS:
            st = stats([r.get(m) for r in rs])
            if st is not None:
                rec[m] = st
        summary.append(rec)
    return summary


def med(summary, gib, workload, variant, metric, cell="matrix"):
    for r in summary:
        if (r["cell"], r["size_gib"], r["workload"], r["variant"]) == \
                (cell, gib, workload, variant):
            st = r.get(metric)
            return st["median"] if st else None
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
        if r["cell"] != "matrix" or r["size_gib"] != gib or \
                r["workload"] not in workloads or r["variant"] not in variants:
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
    for gib in sorted({r["size_gib"] for r in summary if r["cell"] == "matrix"}):
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
    summary = [r for r in summary if r["cell"] == "matrix"]
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


def gnuplot(out, name, lines):
    """Write the gnuplot script OUT/NAME and run it; False if it failed."""
    script = os.path.join(out, name)
    with open(script, "w") as f:
        f.write("\n".join(lines) + "\n")
    r = subprocess.run(["gnuplot", script], capture_output=True, text=True)
    if r.returncode:
        print("report: gnuplot failed: " + r.stderr, file=sys.stderr)
        return False
    return True


def cell_rows(summary, cell):
    return [r for r in summary if r["cell"] == cell]


def mb(st):
    return fmt_range(st, 1e6)


def fleet_targets(summary):
    """Issue 14's scale and downtime targets, as (name, value, limit, ok)."""
    out = []

    def check(name, value, limit):
        out.append((name, value, limit, None if value is None else value <= limit))

    def per_mb(gib):
        t = med(summary, gib, "job1g", "fpb", "total_time_ms", "scale")
        b = med(summary, gib, "job1g", "fpb", "transferred_bytes", "scale")
        return ratio(t, None if b is None else b / 1e6)

    big = max([r["size_gib"] for r in cell_rows(summary, "scale")] or [0])
    if big:
        b = med(summary, big, "job1g", "fpb", "transferred_bytes", "scale")
        used = med(summary, big, "job1g", "fpb", "used_bytes", "scale")
        check("%d GiB job1g: FPB bytes / guest memory in use" % big,
              ratio(b, used), 1.1)
        check("%d GiB job1g: FPB ms per MB / the 2 GiB guest's" % big,
              ratio(per_mb(big), per_mb(2)), 1.2)
        dst = med(summary, big, "job1g", "fpb", "dst_rss_mb", "scale")
        base = med(summary, big, "job1g", "fpb", "dst_base_rss_mb", "scale")
        if None not in (dst, b, base):
            check("%d GiB job1g: FPB destination peak RSS / (1.2 x MB sent "
                  "+ QEMU's own)" % big, dst / (1.2 * b / 1e6 + base), 1.0)
    for r in summary:
        if r["cell"].startswith("dl") and r["variant"] == "fpb":
            d = r.get("downtime_ms")
            check("downtime-limit %d ms, %s: FPB downtime (max) / limit"
                  % (r["downtime_limit_ms"], r["workload"]),
                  None if not d else d["max"] / r["downtime_limit_ms"], 1.0)
    return out


def fleet_md(summary):
    """The fleet cells' tables; empty if none ran."""
    scale = cell_rows(summary, "scale")
    lines = []
    if scale:
        lines += ["## Large sparse guests (guest RAM: memory-backend-ram, "
                  "reserve=off)", "",
                  "Memory in use = guest RAM minus MemFree at migration time: "
                  "the kernel, struct pages (64 bytes per 4 KiB page), firmware "
                  "reservations, caches and the workload. Plain and hinting run "
                  "only up to 8 GiB: they read every free page, which populates "
                  "it on both sides, and a larger source and destination do not "
                  "fit in this host's 24 GiB. init-on-free runs up to 16 GiB: "
                  "the guest zeroes every page as it frees it into the buddy "
                  "allocator at boot, so the source QEMU holds all of guest "
                  "RAM (see its peak RSS).", "",
                  "| GiB | workload | variant | n | MB sent | MB in use | total ms "
                  "| ms per MB | downtime ms | src peak RSS MB | dst peak RSS MB "
                  "| dst QEMU alone MB |", "|" + "---|" * 12]
        for r in scale:
            t, b = r.get("total_time_ms"), r.get("transferred_bytes")
            lines.append("| %d | %s | %s | %d%s | %s | %s | %s | %s | %s | %s | "
                         "%s | %s |" % (
                             r["size_gib"], r["workload"], r["variant"], r["n"],
                             "" if r["verified"] else " FAILED", mb(b),
                             mb(r.get("used_bytes")), fmt_range(t),
                             "-" if not (t and b) else "%.2f" % (
                                 t["median"] / (b["median"] / 1e6)),
                             fmt_range(r.get("downtime_ms")),
                             fmt_range(r.get("src_rss_mb")),
                             fmt_range(r.get("dst_rss_mb")),
                             fmt_range(r.get("dst_base_rss_mb"))))
    for prefix, title, key, unit in (
            ("bw", "Limited bandwidth (max-bandwidth)", "bandwidth", "MB/s"),
            ("smp", "vCPUs (multi-threaded TCG)", "vcpus", "vCPUs"),
            ("dl", "Downtime limit", "downtime_limit_ms", "ms limit")):
        rows = [r for r in summary if r["cell"].startswith(prefix)
                and r["cell"][len(prefix):].isdigit()]
        if not rows:
            continue
        lines += ["", "## %s, %d GiB guest" % (title, BASE_GIB), "",
                  "| %s | workload | variant | n | total ms | downtime ms | "
                  "MB sent | FPB skipped |" % unit, "|" + "---|" * 8]
        for r in sorted(rows, key=lambda r: (WORKLOADS.index(r["workload"]),
                                             r[key],
                                             VARIANTS.index(r["variant"]))):
            v = r[key] / 1e6 if key == "bandwidth" else r[key]
            lines.append("| %g | %s | %s | %d%s | %s | %s | %s | %s |" % (
                v, r["workload"], r["variant"], r["n"],
                "" if r["verified"] else " FAILED",
                fmt_range(r.get("total_time_ms")), fmt_range(r.get("downtime_ms")),
                mb(r.get("transferred_bytes")),
                fmt_range(r.get("fpb_skipped_pages"))
                if r["variant"] == "fpb" else "-"))
    price = [r for r in summary if r["variant"] in ("plain", "init-on-free")
             and r.get("job_free_ns_per_page")]
    if price:
        lines += ["", "## What init_on_free=1 costs the guest", "",
                  "The job's own timings (the same job, plain boot and "
                  "init_on_free=1 boot): filling its memory, and freeing it, "
                  "where init_on_free zeroes every page.", "",
                  "| cell | GiB | workload | variant | n | fill ms | free ms | "
                  "free ns per page |", "|" + "---|" * 8]
        for r in price:
            lines.append("| %s | %d | %s | %s | %d | %s | %s | %s |" % (
                r["cell"], r["size_gib"], r["workload"], r["variant"], r["n"],
                fmt_range(r.get("job_fill_ms")),
                fmt_range(r.get("job_free_ms")),
                fmt_range(r.get("job_free_ns_per_page"))))
    tl = []
    for name, value, limit, ok in fleet_targets(summary):
        tl.append("| %s | %s | %s | %s |" % (
            name, "-" if value is None else "%.3f" % value, "<= %.2f" % limit,
            {True: "met", False: "MISSED", None: "not measured"}[ok]))
    if tl:
        lines += ["", "## Fleet targets (medians)", "",
                  "| target | value | limit | |", "|---|---|---|---|"] + tl
    return lines


def plot_scale(out, scale):
    """MB sent and time against guest size, after a 1 GiB job: FPB follows
    the memory in use, plain the guest's size."""
    variants = [v for v in VARIANTS if any(r["variant"] == v for r in scale)]
    sizes = sorted({r["size_gib"] for r in scale})
    dat = os.path.join(out, "scale.dat")
    with open(dat, "w") as f:
        f.write("# gib used_MB " + " ".join(v + "_MB" for v in variants) + " "
                + " ".join(v + "_ms" for v in variants) + "\n")
        for gib in sizes:
            used = [med(scale, gib, "job1g", v, "used_bytes", "scale")
                    for v in variants]
            used = [u for u in used if u is not None]
            b = [med(scale, gib, "job1g", v, "transferred_bytes", "scale")
                 for v in variants]
            t = [med(scale, gib, "job1g", v, "total_time_ms", "scale")
                 for v in variants]
            f.write("%d %s " % (gib, "%.1f" % (statistics.median(used) / 1e6)
                                if used else "NaN")
                    + " ".join("NaN" if x is None else "%.1f" % (x / 1e6) for x in b)
                    + " " + " ".join("NaN" if x is None else "%.0f" % x for x in t)
                    + "\n")
    nv = len(variants)
    gp = ["set terminal pngcairo size 1200,500 noenhanced",
          "set output '%s'" % os.path.join(out, "scale.png"),
          "set style data linespoints", "set grid", "set key top left",
          "set logscale x 2", "set logscale y 10",
          "set xrange [%g:%g]" % (min(sizes) / 1.3, max(sizes) * 1.3),
          "set xtics (%s)" % ", ".join(str(g) for g in sizes),
          "set xlabel 'guest GiB (after a 1 GiB job)'",
          "set multiplot layout 1,2",
          "set title 'MB sent, and the guest memory in use'", "set ylabel 'MB'",
          "plot '%s' using 1:2 title 'memory in use' dashtype 2 lw 2, " % dat
          + ", ".join("'%s' using 1:%d title '%s'" % (dat, i + 3, v)
                      for i, v in enumerate(variants)),
          "set title 'Total migration time'", "set ylabel 'ms'",
          "plot " + ", ".join("'%s' using 1:%d title '%s'" % (dat, nv + i + 3, v)
                              for i, v in enumerate(variants)),
          "unset multiplot",
          # The same bytes chart as text, for the README.
          "set terminal dumb size 78,24", "unset grid",
          "set output '%s'" % os.path.join(out, "scale.txt"),
          "set title 'MB sent after a 1 GiB job (log-log)'", "set ylabel ''",
          "set key bottom right",
          "plot '%s' using 1:2 title 'in use' with linespoints pt 'u', " % dat
          + ", ".join("'%s' using 1:%d title '%s' with linespoints pt '%s'"
                      % (dat, i + 3, v, v[0]) for i, v in enumerate(variants))]
    return gnuplot(out, "scale.gp", gp)


def write_md(out, summary, ov):
    sizes = sorted({r["size_gib"] for r in summary if r["cell"] == "matrix"})
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
    fleet = fleet_md(summary)
    if fleet:
        lines += [""] + fleet
    if ov:
        lines += [""] + overhead_md(ov)
    lines += ["", "Charts: bytes.png, time.png, size.png, scale.png."]
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def plot(out, summary):
    """Clustered bars per workload (2 GiB) and lines against guest size."""
    fleet = [r for r in summary if r["cell"] == "scale"]
    summary = [r for r in summary if r["cell"] == "matrix"]
    if fleet and not plot_scale(out, fleet):
        return False
    if not summary:
        return True
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
    return gnuplot(out, "plots.gp", gp)


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
    print("report: %s/summary.{json,md}, bytes.png, time.png, size.png, "
          "scale.png" % out)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
