#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""fpbtop across a real FPB migration: snapshots the host asked for.

Boot the migration harness's guest (tools/testing/migrate, image variant
with fpbtop) with fpb.enable=1 under the patched QEMU, start fpbtop -j in
it, migrate it, and on the destination (fpbtop keeps running: it is guest
state) stop fpbtop and compare its records with debugfs stats: as many
snapshots as debugfs counted, each with the host's request id, the host's
answer (applied or discarded) counted as debugfs counted them, and the last
one's request, pages and walk time equal to debugfs' last_*.  Prints TAP.

usage: fpbtop-migrate.py QEMU KIMG IMAGE
"""
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "migrate"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import run  # noqa: E402
from fpbmig import HarnessError  # noqa: E402
from fpbtap import Tap  # noqa: E402

KVM_FPB_DISCARDED = 1   # include/uapi/linux/kvm_fpb.h

START = ("/bin/fpbtop -j >/tmp/fpbtop.json 2>/tmp/fpbtop.err </dev/null & "
         "i=0; until grep -q '^fpbtop: tracing' /tmp/fpbtop.err; do "
         "i=$((i + 1)); [ $i -lt 120 ] || exit 1; "
         "kill -0 $! 2>/dev/null || exit 1; sleep 1; done")
STOP = ("pid=$(pidof fpbtop) && kill -INT $pid && i=0 && "
        "while kill -0 $pid 2>/dev/null; do i=$((i + 1)); "
        "[ $i -lt 60 ] || exit 1; sleep 1; done")


class Opts:
    pass


def main():
    opts = Opts()
    opts.qemu, opts.kimg, opts.image = sys.argv[1:4]
    opts.mem = "1G"
    rundir = tempfile.mkdtemp(prefix="fpb-bpf-mig-")
    tap = Tap()
    before = {}

    def prepare(vm):
        run.wait_fpb_registered(vm)
        before.update(run.fpb_stats(vm))
        vm.check(START, timeout=180)

    try:
        rec, dst = run.one_migration(opts, rundir, "fpb", prepare)
    except HarnessError as e:
        tap.ok(False, "migrate a guest running fpbtop: %s" % e)
        tap.diag("logs in %s" % rundir)
        return tap.done()
    try:
        tap.ok(rec["fpb_skipped_pages"] > 0,
               "migration with fpbtop running: FPB skipped %d pages"
               % rec["fpb_skipped_pages"])
        rc, out = dst.run(STOP, timeout=120)
        tap.ok(rc == 0, "fpbtop ends on SIGINT on the destination", diag=out)
        after = run.fpb_stats(dst)
        lines = dst.check("cat /tmp/fpbtop.json").splitlines()
        objs = [json.loads(line) for line in lines if line.startswith("{")]
        snaps = [o for o in objs if o["event"] == "snapshot"]
        summ = [o for o in objs if o["event"] == "summary"]
        taken = after["snapshots"] - before["snapshots"]
        tap.ok(snaps and len(snaps) == taken and len(summ) == 1 and
               summ[0]["lost"] == 0 and summ[0]["partial"] == 0,
               "fpbtop saw the %d snapshots the host asked for, as debugfs" % taken,
               diag="%d records, debugfs %d; %s" % (len(snaps), taken, summ))
        if not snaps:
            return tap.done()
        applied = sum(s["result"] == 0 for s in snaps)
        discarded = sum(s["result"] == KVM_FPB_DISCARDED for s in snaps)
        tap.ok(applied == after["applied"] - before["applied"] and
               discarded == after["discarded"] - before["discarded"] and
               applied + discarded == len(snaps),
               "the host's answers agree with debugfs (%d applied, %d discarded)"
               % (applied, discarded),
               diag="debugfs applied %d discarded %d rejected %d" % (
                   after["applied"] - before["applied"],
                   after["discarded"] - before["discarded"],
                   after["rejected"] - before["rejected"]))
        reqs = [s["request"] for s in snaps]
        tap.ok(all(reqs) and reqs == sorted(set(reqs)),
               "each snapshot carries the host's request id, increasing",
               diag=str(reqs))
        last = snaps[-1]
        tap.ok(last["request"] == after["last_request"] and
               last["pages"] == after["last_nr_free"] and
               last["walk_ns"] == after["last_walk_ns"] and
               last["module_max_hold_ns"] == after["last_max_hold_ns"],
               "the last snapshot's request, pages, walk and longest hold agree with debugfs",
               diag="fpbtop %s\ndebugfs %s" % (
                   {k: last[k] for k in ("request", "pages", "walk_ns",
                                         "module_max_hold_ns")}, after))
        tap.ok(all(s["latency_ns"] >= s["walk_ns"] for s in snaps),
               "request to done covers the walk (and the hypercall)")
        for s in snaps:
            tap.diag("request %d: request to done %.1f us, walk %.1f us, "
                     "%d pages, %d zone->lock holds, result %d"
                     % (s["request"], s["latency_ns"] / 1e3, s["walk_ns"] / 1e3,
                        s["pages"], s["zone_lock"]["holds"], s["result"]))
        tap.ok(run.check_dmesg(dst) > 0, "destination kernel log clean")
    except (HarnessError, ValueError, KeyError) as e:
        tap.ok(False, "fpbtop on the destination: %s" % e)
        tap.diag("logs in %s" % rundir)
    finally:
        dst.kill()
    if not tap.failed:
        shutil.rmtree(rundir, ignore_errors=True)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
