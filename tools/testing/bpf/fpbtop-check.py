#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check what fpbtop printed in a bpf-tool guest against debugfs.

The guest (tools/testing/guest/init-bpf-tool.sh) tags its console lines:
FPBTOP-JSON (fpbtop -j), "FPBTOP-STATS i" (debugfs stats after snapshot
i, 0 before the first), "FPBTOP-HOLDS 0|1" (debugfs holds before and
after), FPBTOP-text / FPBTOP-quiet and "FPBTOP-STATS text|quiet" (one
snapshot each in the text views).  Every number the module also counts
must agree exactly: they describe the same snapshots.

usage: fpbtop-check.py CONSOLE SNAPSHOTS
Prints TAP.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from fpbtap import Tap  # noqa: E402


def parse(path):
    tagged = {}
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\r\n")
            tag, _, rest = line.partition(" ")
            if not tag.startswith("FPBTOP-"):
                continue
            sub = None
            if tag in ("FPBTOP-STATS", "FPBTOP-HOLDS"):
                sub, _, rest = rest.partition(" ")
            tagged.setdefault((tag, sub), []).append(rest)
    return tagged


def kv(lines):
    """debugfs stats: "key value" per line."""
    out = {}
    for line in lines or []:
        parts = line.split()
        if len(parts) == 2:
            out[parts[0]] = int(parts[1]) if parts[1].isdigit() else parts[1]
    return out


def holds(lines):
    """debugfs holds: "from_us to_us count" per bucket, in order."""
    return [int(line.split()[2]) for line in lines or []]


def hist_buckets(hist, slots):
    """fpbtop's hist_us entries as a list indexed like debugfs holds."""
    out = [0] * slots
    for h in hist:
        lo = h["lo"]
        out[0 if lo == 0 else lo.bit_length()] += h["count"]
    return out


def main():
    console, n = sys.argv[1], int(sys.argv[2])
    tap = Tap()
    t = parse(console)
    kernel = (t.get(("FPBTOP-KERNEL", None)) or ["?"])[0]

    objs, bad = [], []
    for line in t.get(("FPBTOP-JSON", None), []):
        try:
            objs.append(json.loads(line))
        except ValueError:
            bad.append(line)
    tap.ok(objs and not bad, "%s: fpbtop -j prints one JSON object per line" % kernel,
           diag="\n".join(bad[:5]) or "no JSON lines on the console")
    snaps = [o for o in objs if o.get("event") == "snapshot"]
    summ = [o for o in objs if o.get("event") == "summary"]
    stats = [kv(t.get(("FPBTOP-STATS", str(i)))) for i in range(n + 1)]
    if not tap.ok(len(summ) == 1 and all(stats),
                  "%s: a summary and debugfs stats for every snapshot" % kernel):
        return tap.done()
    summ = summ[0]

    # The same snapshots: debugfs counted exactly n, fpbtop saw n.
    taken = stats[n]["snapshots"] - stats[0]["snapshots"]
    tap.ok(taken == n, "%s: debugfs counts %d snapshots" % (kernel, n),
           diag="debugfs snapshots went from %d to %d"
           % (stats[0]["snapshots"], stats[n]["snapshots"]))
    tap.ok(len(snaps) == n and summ["snapshots"] == n,
           "%s: fpbtop reports %d snapshots, as debugfs does" % (kernel, n),
           diag="%d snapshot records, summary says %d"
           % (len(snaps), summ["snapshots"]))
    tap.ok(summ["lost"] == 0 and summ["partial"] == 0,
           "%s: no record lost, none partial" % kernel,
           diag="lost %d partial %d" % (summ["lost"], summ["partial"]))

    checks = {
        "pages reported": ("pages", "last_nr_free"),
        "walk time": ("walk_ns", "last_walk_ns"),
        "longest zone->lock hold (module)": ("module_max_hold_ns", "last_max_hold_ns"),
    }
    for what, (mine, theirs) in checks.items():
        diffs = ["snapshot %d: fpbtop %s, debugfs %s" % (i + 1, s.get(mine), stats[i + 1][theirs])
                 for i, s in enumerate(snaps[:n]) if s.get(mine) != stats[i + 1][theirs]]
        tap.ok(len(snaps) == n and not diffs,
               "%s: %s per snapshot agrees with debugfs" % (kernel, what),
               diag="\n".join(diffs))

    # fpbtop's own view of the holds, built from fpb_lock_hold.
    diffs = []
    for i, s in enumerate(snaps[:n]):
        st, prev = stats[i + 1], stats[i]
        if s["zone_lock"]["holds"] != st["lock_holds"] - prev["lock_holds"]:
            diffs.append("snapshot %d: %d zone->lock holds, debugfs %d"
                         % (i + 1, s["zone_lock"]["holds"],
                            st["lock_holds"] - prev["lock_holds"]))
        if s["zone_lock"]["max_ns"] != st["last_max_hold_ns"]:
            diffs.append("snapshot %d: longest zone->lock hold %d, debugfs %d"
                         % (i + 1, s["zone_lock"]["max_ns"], st["last_max_hold_ns"]))
    tap.ok(len(snaps) == n and not diffs,
           "%s: zone->lock holds and longest hold per snapshot agree with debugfs" % kernel,
           diag="\n".join(diffs))

    h0 = holds(t.get(("FPBTOP-HOLDS", "0")))
    h1 = holds(t.get(("FPBTOP-HOLDS", "1")))
    want = [b - a for a, b in zip(h0, h1)]
    got = hist_buckets(summ["zone_lock"]["hist_us"], len(want))
    tap.ok(want and got == want,
           "%s: zone->lock hold histogram agrees with debugfs holds" % kernel,
           diag="fpbtop %s\ndebugfs %s" % (got, want))

    # pcp->lock: debugfs keeps the longest hold since load.
    if stats[0]["snapshots"] == 0:
        got = max((s["pcp_lock"]["max_ns"] for s in snaps), default=0)
        tap.ok(got == stats[n]["max_pcp_hold_ns"],
               "%s: longest pcp->lock hold agrees with debugfs" % kernel,
               diag="fpbtop %d, debugfs %d" % (got, stats[n]["max_pcp_hold_ns"]))
    else:
        tap.skip("%s: longest pcp->lock hold agrees with debugfs" % kernel,
                 "snapshots before fpbtop attached")
    tap.ok(sum(s["pcp_lock"]["holds"] for s in snaps) > 0,
           "%s: fpbtop saw pcp->lock holds" % kernel)

    # Internal consistency.
    diffs = []
    for i, s in enumerate(snaps):
        if s["request"] != 0 or s["result"] != 0:
            diffs.append("snapshot %d: request %d result %d (local: 0, 0)"
                         % (i + 1, s["request"], s["result"]))
        if s["latency_ns"] < s["walk_ns"]:
            diffs.append("snapshot %d: request to done %d ns < walk %d ns"
                         % (i + 1, s["latency_ns"], s["walk_ns"]))
        if i and s["seq"] != snaps[i - 1]["seq"] + 2:
            diffs.append("snapshot %d: seq %d after %d" % (i + 1, s["seq"], snaps[i - 1]["seq"]))
        for lock in ("zone_lock", "pcp_lock"):
            if sum(h["count"] for h in s[lock]["hist_us"]) != s[lock]["holds"]:
                diffs.append("snapshot %d: %s histogram sums to %d, %d holds"
                             % (i + 1, lock, sum(h["count"] for h in s[lock]["hist_us"]),
                                s[lock]["holds"]))
        zh = sum(z["zone_holds"] for z in s["zones"]) + s["other_zone_holds"]
        ph = sum(z["pcp_holds"] for z in s["zones"])
        if zh != s["zone_lock"]["holds"] or ph > s["pcp_lock"]["holds"]:
            diffs.append("snapshot %d: per-zone holds %d/%d, totals %d/%d"
                         % (i + 1, zh, ph, s["zone_lock"]["holds"], s["pcp_lock"]["holds"]))
        if not any(z["name"] in ("DMA32", "Normal") for z in s["zones"]):
            diffs.append("snapshot %d: zones %s" % (i + 1, [z["name"] for z in s["zones"]]))
    tap.ok(snaps and not diffs,
           "%s: records are consistent (request, seq, latency >= walk, histograms, zones)"
           % kernel, diag="\n".join(diffs))

    # Page allocation latency: alloclat allocates all along.
    diffs = []
    for key in ("alloc_during", "alloc_outside"):
        a = summ[key]
        if a["count"] == 0:
            diffs.append("%s: no allocation" % key)
        if sum(h["count"] for h in a["hist_ns"]) != a["count"]:
            diffs.append("%s: histogram sums to %d, count %d"
                         % (key, sum(h["count"] for h in a["hist_ns"]), a["count"]))
    tap.ok(not diffs, "%s: page allocation latency measured during and outside snapshots"
           " (%s: %d during, %d outside)"
           % (kernel, summ.get("allocator"), summ["alloc_during"]["count"],
              summ["alloc_outside"]["count"]), diag="\n".join(diffs))
    tap.diag("%s: during: %d allocations, longest %d ns; outside: %d, longest %d ns"
             % (kernel, summ["alloc_during"]["count"], summ["alloc_during"]["max_ns"],
                summ["alloc_outside"]["count"], summ["alloc_outside"]["max_ns"]))

    # The text views: the one snapshot's pages and walk time, as debugfs.
    for mode in ("text", "quiet"):
        out = t.get(("FPBTOP-" + mode, None), [])
        st = kv(t.get(("FPBTOP-STATS", mode)))
        pages, walk = st.get("last_nr_free"), st.get("last_walk_ns")
        text = "\n".join(out)
        if mode == "text":
            good = (pages is not None and walk is not None and
                    "snapshot 1: request 0" in text and
                    "pages reported %d " % pages in text and
                    "walk %.1f us" % (walk / 1e3) in text and
                    "zone->lock hold times" in text and
                    "1 snapshots" in text)
        else:
            rows = [r for r in (line.split() for line in out)
                    if len(r) == 10 and r[0] == "1"]
            good = (pages is not None and len(rows) == 1 and
                    int(rows[0][4]) == pages and
                    rows[0][3] == "%.1f" % (walk / 1e3))
        tap.ok(good, "%s: fpbtop %s view shows the snapshot's pages and walk time"
               % (kernel, "-q" if mode == "quiet" else "text"),
               diag="debugfs: pages %s walk_ns %s\n%s" % (pages, walk, text))
        if good and mode == "text":
            tap.diag(text)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
