#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Drive FPB migrations: the demo table and the integrity tests.

usage: run.py demo  --qemu QEMU --kimg DIR --image CPIO [--mem 2G] [--reps N]
       run.py tests --qemu QEMU --kimg DIR --image CPIO [--only NAME...]
"""

import argparse
import json
import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import fpbmig  # noqa: E402
from fpbtap import Tap  # noqa: E402
from fpbmig import (HarnessError, VM, migrate, progress,  # noqa: E402
                    start_migration, summarize, wait_migration)

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

VARIANTS = ("idle", "plain", "balloon-hint", "fpb")


def vm_args(opts, variant, append=""):
    """QEMU's arguments for @variant.  Under TCG by default; the nested KVM
    suite (nested.py) sets opts.accel, opts.cpu, opts.smp, and
    opts.fpb_hooks for the x-fpb-* test switches; the bench sets
    opts.mem_backend for guests larger than this host; guest-lifecycle
    (lifecycle.py) sets opts.kernel to boot bzImage instead of vmlinux."""
    cpu = getattr(opts, "cpu", "max")
    fpb_cpu = ",kvm-pv-fpb=on" + getattr(opts, "fpb_hooks", "")
    extra = []
    cmdline = " ".join(filter(None, [
        "console=ttyS0 panic=-1 quiet loglevel=1",
        getattr(opts, "append", ""), append]))
    if variant == "fpb":
        cpu += fpb_cpu
        cmdline += " fpb.enable=1"
    elif variant == "fpb-nomod":
        cpu += fpb_cpu
    elif variant == "balloon-hint":
        extra = ["-object", "iothread,id=iot0",
                 "-device", "virtio-balloon-pci,free-page-hint=on,iothread=iot0"]
    machine = "q35"
    if getattr(opts, "mem_backend", False):
        # RAM that is not reserved up front (MAP_NORESERVE), so that guests
        # far larger than this host fit as long as they touch little of it.
        machine += ",memory-backend=m0"
        extra += ["-object", "memory-backend-ram,id=m0,size=%s,reserve=off"
                  % opts.mem]
    return ["-L", "/usr/share/seabios", "-L", "/usr/share/qemu",
            "-accel", getattr(opts, "accel", "tcg"), "-machine", machine,
            "-cpu", cpu, "-smp", str(getattr(opts, "smp", 1)),
            "-m", opts.mem, "-nodefaults", "-display", "none", "-no-reboot",
            "-kernel", getattr(opts, "kernel", None) or
            os.path.join(opts.kimg, "vmlinux"),
            "-initrd", opts.image, "-append", cmdline.strip()] + extra


def boot(opts, rundir, variant, name="src", append=""):
    vm = VM(opts.qemu, name, vm_args(opts, variant, append), rundir)
    vm.expect(r"@@READY", 180)
    return vm


def fpb_stats(vm):
    """The guest's debugfs fpb/stats, numeric fields only."""
    st = {}
    for line in vm.check("cat /sys/kernel/debug/fpb/stats").splitlines():
        k, _, v = line.strip().partition(" ")
        if v.isdigit():
            st[k] = int(v)
    return st


def fpb_stat(vm, key):
    st = fpb_stats(vm)
    if key not in st:
        raise HarnessError("no %s in fpb stats" % key)
    return st[key]


# Boot-time messages that come from the CPU model, not from anything the
# tests do: Debian's SRSO notice on AMD models, and the XSAVE size check
# that trips when a nested guest (kvm-migrate) runs on KVM inside TCG,
# whose XSAVE leaf KVM passes on with sizes the guest finds inconsistent.
DMESG_CPU_MODEL = re.compile(r"srso\.html|XSAVE consistency problem|"
                             r"at arch/x86/kernel/fpu/xstate\.c:")
DMESG_BAD = re.compile(r"Oops|BUG|WARNING|corrupted|general protection")


def check_dmesg(vm):
    """Raise on a bad line in the guest's kernel log; return how many lines
    were read (the log is never empty on a booted kernel)."""
    lines = vm.check("dmesg").splitlines()
    for i, line in enumerate(lines):
        if DMESG_BAD.search(line) and not DMESG_CPU_MODEL.search(line):
            raise HarnessError("%s kernel log: %s" % (
                vm.name, "\n".join(lines[max(0, i - 2):i + 10])))
    return len(lines)


def one_migration(opts, rundir, variant, prepare=None, verify=None,
                  caps=(), params=None, append="", on_info=None):
    """Boot, prepare, migrate to a fresh destination, verify; one record."""
    boot_variant = "plain" if variant == "idle" else variant
    src = boot(opts, rundir, boot_variant, append=append)
    dst = None
    try:
        if prepare:
            prepare(src)
        dst = VM(opts.qemu, "dst", vm_args(opts, boot_variant, append), rundir,
                 incoming=True)
        limit = {"max-bandwidth": getattr(opts, "bandwidth", 0)}
        # What QEMU itself occupies before any guest RAM arrives.
        base_kb = dst.memory_kb("VmRSS")
        info = migrate(src, dst, caps=caps, params=dict(limit, **(params or {})),
                       on_info=on_info)
        rec = summarize(variant, info)
        rec["dst_base_rss_mb"] = round(base_kb / 1024, 1) if base_kb else None
        rec["info_migrate"] = src.qmp.cmd("human-monitor-command",
                                          **{"command-line": "info migrate"})
        src.kill()
        dst.buf = b""
        if verify:
            verify(dst)
        check_dmesg(dst)
        return rec, dst
    except Exception:
        src.kill()
        if dst:
            dst.kill()
        raise


def job(pct):
    def prepare(vm):
        vm.check("/bin/job %d" % pct, timeout=600)
    return prepare


def wait_fpb_registered(vm):
    if fpb_stat(vm, "registered") != 1:
        raise HarnessError("fpb did not register: "
                           + vm.check("dmesg | grep fpb || true"))


# What the demo reports for each variant: the median, min and max of these
# over its runs.  The table shows the first six with their range.
DEMO_METRICS = ("total_time_ms", "downtime_ms", "setup_time_ms",
                "transferred_bytes", "src_cpu_s", "dst_cpu_s",
                "normal_pages", "zero_pages", "fpb_skipped_pages",
                "src_sys_cpu_s", "dst_sys_cpu_s", "dirty_sync_count",
                "run_s")


def cmd_demo(opts):
    rundir = fpbmig.new_rundir(TOP)
    out = opts.out or os.path.join(TOP, "build", "demo.json")
    records = []
    t0 = time.monotonic()

    def save(error=None):
        doc = {"reps": opts.reps, "mem": opts.mem, "job_pct": opts.job,
               "variants": list(opts.variants),
               "wall_s": round(time.monotonic() - t0, 1),
               "summary": demo_summary(records, opts.variants),
               "runs": records}
        if error:
            doc["error"] = error
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w") as f:
            json.dump(doc, f, indent=1)

    # Interleaved (idle, plain, ..., idle, plain, ...): a slow spell of the
    # host spreads over the variants instead of landing on one of them.
    for rep in range(1, opts.reps + 1):
        for variant in opts.variants:
            what = "%s run %d/%d" % (variant, rep, opts.reps)
            progress("demo: %s: boot a %s guest%s, migrate" % (
                what, opts.mem, "" if variant == "idle"
                else ", run a job dirtying %d%% of RAM" % opts.job))

            def prepare(vm, variant=variant):
                if variant == "fpb":
                    wait_fpb_registered(vm)
                if variant != "idle":
                    job(opts.job)(vm)
            t1 = time.monotonic()
            try:
                rec, dst = one_migration(opts, rundir, variant, prepare=prepare)
                dst.kill()
            except HarnessError as e:
                msg = "demo: %s failed: %s (logs in %s)" % (what, e, rundir)
                save(msg)
                raise HarnessError(msg)
            rec["rep"] = rep
            rec["run_s"] = round(time.monotonic() - t1, 1)
            records.append(rec)
            progress("demo: %s: %s ms, %.0f MB, src/dst CPU %.2f/%.2f s"
                     " (system %.2f/%.2f s); %.0f s with boot and job" % (
                         what, rec["total_time_ms"],
                         (rec["transferred_bytes"] or 0) / 1e6,
                         rec["src_cpu_s"], rec["dst_cpu_s"],
                         rec["src_sys_cpu_s"], rec["dst_sys_cpu_s"],
                         rec["run_s"]))
    save()
    print_table(demo_summary(records, opts.variants), opts.reps)
    print("\nrecords: %s, logs: %s" % (out, rundir))
    print("demo: %d runs in %.0f s" % (len(records), time.monotonic() - t0))


def demo_summary(records, variants):
    """{variant: {metric: {median, min, max}}} over the variant's runs."""
    summary = {}
    for v in variants:
        runs = [r for r in records if r["variant"] == v]
        if not runs:
            continue
        summary[v] = {"runs": len(runs)}
        for k in DEMO_METRICS:
            vals = [r[k] for r in runs if r.get(k) is not None]
            if vals:
                summary[v][k] = {"median": statistics.median(vals),
                                 "min": min(vals), "max": max(vals)}
    return summary


def print_table(summary, reps):
    # (header, metric, scale, decimals, with range)
    cols = [("total ms", "total_time_ms", 1, 0, True),
            ("down ms", "downtime_ms", 1, 0, True),
            ("setup ms", "setup_time_ms", 1, 0, True),
            ("MB sent", "transferred_bytes", 1e6, 0, True),
            ("data pages", "normal_pages", 1, 0, False),
            ("zero pages", "zero_pages", 1, 0, False),
            ("src cpu s", "src_cpu_s", 1, 2, True),
            ("dst cpu s", "dst_cpu_s", 1, 2, True),
            ("fpb skipped", "fpb_skipped_pages", 1, 0, False)]

    def cell(st, scale, digits, rng):
        if not st:
            return "-"

        def f(x):
            return "%.*f" % (digits, x / scale)
        if not rng or reps == 1:
            return f(st["median"])
        return "%s (%s-%s)" % (f(st["median"]), f(st["min"]), f(st["max"]))

    rows = [["variant"] + [c[0] for c in cols]]
    for v, st in summary.items():
        rows.append([v] + [cell(st.get(k), scale, d, rng)
                           for _, k, scale, d, rng in cols])
    width = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print()
    if reps > 1:
        print("median (min-max) of %d runs per variant, interleaved; "
              "pages: medians" % reps)
    for r in rows:
        print("  ".join([r[0].ljust(width[0])] +
                        [c.rjust(w) for c, w in zip(r[1:], width[1:])]))


# ---------------------------------------------------------------- tests

PAGECACHE_SETUP = (
    "mkdir -p /mnt/tmp/pc && for i in 1 2 3 4 5 6 7 8; do "
    "head -c 8388608 /dev/urandom > /mnt/tmp/pc/f$i || exit 1; done && "
    "sha256sum /mnt/tmp/pc/f* > /mnt/tmp/pc.sums")
PAGECACHE_VERIFY = "sha256sum -c /mnt/tmp/pc.sums"


def churn_start(rate_mib_s=0):
    """The shell line that starts churn in the guest: one allocating worker
    per vCPU (at least two), so that every vCPU's per-cpu lists change while
    the walker reads them.  A rate in MiB/s paces all writers together (0: as
    fast as the guest can)."""
    rate = " %d" % rate_mib_s if rate_mib_s else ""
    return ("n=$(nproc); [ $n -ge 2 ] || n=2; "
            "/bin/churn $n 32%s > /mnt/tmp/churn.out 2>&1 & sleep 2; "
            "cat /mnt/tmp/churn.out" % rate)


CHURN_START = churn_start()
CHURN_VERIFY = ("kill -USR1 $(pidof churn) && "
                "while pidof churn >/dev/null; do sleep 0.2; done; "
                "cat /mnt/tmp/churn.out; grep -q 'churn: ok' /mnt/tmp/churn.out")


def has_fpb(opts):
    import subprocess
    out = subprocess.run([opts.qemu, "-cpu", "help"], capture_output=True,
                         text=True).stdout
    return "kvm-pv-fpb" in out


def record(opts, name, rec):
    d = os.path.join(TOP, "build", "migrate", "records")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "%s-%s.json" % (time.strftime("%H%M%S"), name)), "w") as f:
        json.dump(rec, f, indent=1)


def t_workloads(opts, tap, rundir):
    """After a job, page cache and churn at once, FPB on: all verify."""
    def prepare(vm):
        wait_fpb_registered(vm)
        vm.check(PAGECACHE_SETUP)
        vm.check("/bin/job 60", timeout=600)
        vm.check(CHURN_START)

    out = {}

    def verify(vm):
        out["churn"] = vm.check(CHURN_VERIFY, timeout=300)
        out["pc"] = vm.check(PAGECACHE_VERIFY)
        out["stats"] = vm.check("cat /sys/kernel/debug/fpb/stats")

    rec, dst = one_migration(opts, rundir, "fpb", prepare, verify)
    dst.kill()
    record(opts, "workloads", rec)
    tap.ok("churn: ok" in out["churn"] and out["pc"].count(": OK") == 8,
           "churn, page cache and after-a-job verify on the destination",
           out["pc"])
    tap.diag(out["churn"])
    tap.ok(rec["fpb_skipped_pages"] > 0,
               "FPB skipped pages in that migration (%s)" % rec["fpb_skipped_pages"])


def t_pingpong(opts, tap, rundir, hops):
    """A churning guest migrated back and forth; every hop checked."""
    args = vm_args(opts, "fpb")
    src = boot(opts, rundir, "fpb", name="hop0")
    skipped = []
    try:
        wait_fpb_registered(src)
        src.check(PAGECACHE_SETUP)
        src.check(CHURN_START)
        for hop in range(1, hops + 1):
            dst = VM(opts.qemu, "hop%d" % hop, args, rundir, incoming=True)
            info = migrate(src, dst, params={"max-bandwidth": opts.bandwidth})
            rec = summarize("fpb", info, hop=hop)
            skipped.append(rec["fpb_skipped_pages"])
            src.kill()
            src = dst
            src.buf = b""
            check_dmesg(src)
            src.check(PAGECACHE_VERIFY)
        out = src.check(CHURN_VERIFY, timeout=300)
        tap.ok("churn: ok" in out,
               "%d ping-pong migrations of a churning guest verify" % hops)
        tap.diag(out)
    finally:
        src.kill()
    tap.ok(all(s > 0 for s in skipped),
               "FPB skipped pages on every hop", "skipped per hop: %s" % skipped)


def t_refused(opts, tap, rundir, name, variant, append, expect_log):
    """FPB not in use for some reason: the migration is still correct."""
    def prepare(vm):
        if expect_log:
            log = vm.check("dmesg")
            if expect_log not in log:
                raise HarnessError("no '%s' in the guest log" % expect_log)
        vm.check(PAGECACHE_SETUP)
        vm.check("/bin/job 50", timeout=600)

    def verify(vm):
        vm.check(PAGECACHE_VERIFY)

    rec, dst = one_migration(opts, rundir, variant, prepare, verify,
                             append=append)
    dst.kill()
    tap.ok(rec["fpb_skipped_pages"] == 0,
               "%s: migration verifies, nothing skipped" % name)


def t_reboot(opts, tap, rundir):
    """Rebooted while registered: the host dropped the old region."""
    args = [a for a in vm_args(opts, "fpb") if a != "-no-reboot"]
    src = VM(opts.qemu, "src", args, rundir)
    dst = None
    try:
        src.expect(r"@@READY", 180)
        wait_fpb_registered(src)
        src.ser.sendall(b"reboot -f\n")
        src.expect(r"@@READY", 180)
        wait_fpb_registered(src)
        src.check(PAGECACHE_SETUP)
        src.check("/bin/job 50", timeout=600)
        dst = VM(opts.qemu, "dst", args, rundir, incoming=True)
        info = migrate(src, dst, params={"max-bandwidth": opts.bandwidth})
        rec = summarize("fpb", info)
        dst.buf = b""
        dst.check(PAGECACHE_VERIFY)
        check_dmesg(dst)
        tap.ok(rec["fpb_skipped_pages"] > 0,
                   "rebooted while registered, re-registered, migrated: verifies, "
                   "skipped %s" % rec["fpb_skipped_pages"])
    finally:
        src.kill()
        if dst:
            dst.kill()


def t_smoke(opts, tap, rundir):
    """After a job, page cache: verifies, and FPB skipped pages."""
    def prepare(vm):
        wait_fpb_registered(vm)
        vm.check(PAGECACHE_SETUP)
        vm.check("/bin/job 60", timeout=600)

    def verify(vm):
        vm.check(PAGECACHE_VERIFY)

    rec, dst = one_migration(opts, rundir, "fpb", prepare, verify)
    release = dst.check("uname -r").strip()
    dst.kill()
    tap.ok(rec["fpb_skipped_pages"] > 0,
               "%s guest: after a job, page cache verifies, %s pages skipped"
               % (release, rec["fpb_skipped_pages"]))
    line = "fpb skipped: %d pages" % rec["fpb_skipped_pages"]
    tap.ok(line in rec["info_migrate"],
               "%s guest: info migrate says '%s'" % (release, line),
               rec["info_migrate"])


def t_late(opts, tap, rundir, name="late", hooks="", what=""):
    """The test hook x-fpb-apply-late holds every snapshot until after the
    next dirty bitmap sync, while the guest refills the memory it had just
    reported free.  The host must discard each such snapshot; a host that
    applied one would drop the refilled pages' last writes.  @hooks adds
    more test hooks to -cpu, @what says what they do."""
    args = vm_args(opts, "fpb")
    cpu = args.index("-cpu") + 1
    args[cpu] += ",x-fpb-apply-late=on" + hooks
    src = VM(opts.qemu, "src", args, rundir)
    dst = None
    try:
        src.expect(r"@@READY", 180)
        wait_fpb_registered(src)
        src.check("/bin/job 40", timeout=600)
        dst = VM(opts.qemu, "dst", args, rundir, incoming=True)
        # Slow enough that pass 1 is still running when the refill is done.
        cpu0 = fpbmig.start_migration(src, dst,
                                      params={"max-bandwidth": 64 << 20})
        src.check("while [ $(awk '$1 == \"snapshots\" { print $2 }' "
                  "/sys/kernel/debug/fpb/stats) -lt 1 ]; do sleep 0.05; done; "
                  "/bin/hold 300 > /mnt/tmp/hold.out 2>&1 & "
                  "while ! grep -q filled /mnt/tmp/hold.out; do sleep 0.1; done",
                  timeout=300)
        info = fpbmig.wait_migration(src, dst, cpu0)
        rec = summarize("fpb-" + name, info)
        record(opts, name, rec)
        tap.ok(rec["fpb_snapshots_discarded"] >= 1 and rec["fpb_skipped_pages"] == 0,
                   "%severy late snapshot was discarded (%d discarded, %d pages skipped)"
                   % (what, rec["fpb_snapshots_discarded"], rec["fpb_skipped_pages"]))
        src.kill()
        dst.buf = b""
        out = dst.check("kill -USR1 $(pidof hold); "
                        "while pidof hold >/dev/null; do sleep 0.2; done; "
                        "cat /mnt/tmp/hold.out; grep -q 'hold: ok' /mnt/tmp/hold.out",
                        timeout=300)
        check_dmesg(dst)
        tap.ok("hold: ok" in out,
               "%ssnapshots applied a sync late: memory refilled after the "
               "snapshot verifies on the destination" % what)
        tap.diag(out)
    finally:
        src.kill()
        if dst:
            dst.kill()


SLOW = {"max-bandwidth": 32 << 20}    # pass 1 lasts long enough to interrupt
DELAY = "/sys/module/fpb/parameters/answer_delay_ms"


def wait_status(vm, want, timeout=120):
    """Poll query-migrate until its status is one of @want; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = vm.qmp.cmd("query-migrate")
        if info.get("status") in want:
            return info
        time.sleep(0.02)
    raise HarnessError("%s: migration never reached %s" % (vm.name, want))


def wait_applied(vm, timeout=60):
    """Poll query-migrate until a snapshot was applied."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = vm.qmp.cmd("query-migrate")
        if info.get("ram", {}).get("fpb-snapshots-applied", 0):
            return info
        if info.get("status") not in ("setup", "active"):
            break
        time.sleep(0.02)
    raise HarnessError("no snapshot applied while the migration ran")


def migrate_again(opts, tap, rundir, src, what):
    """After an interrupted migration: migrate to a fresh destination; the
    workloads verify there and FPB skips pages.  One TAP line."""
    running = src.qmp.cmd("query-status")["status"]
    dst = VM(opts.qemu, "dst", vm_args(opts, "fpb"), rundir, incoming=True)
    try:
        info = wait_migration(src, dst, start_migration(
            src, dst, params={"max-bandwidth": opts.bandwidth}))
        src.kill()
        dst.buf = b""
        rc1, out1 = dst.run(PAGECACHE_VERIFY, timeout=300)
        rc2, out2 = dst.run(CHURN_VERIFY, timeout=300)
        skipped = info["ram"].get("fpb-skipped-pages", 0)
        check_dmesg(dst)
    finally:
        dst.kill()
    tap.ok(running == "running" and rc1 == 0 and rc2 == 0 and skipped > 0,
           "%s: the source ran on, migrating again verifies, %d pages "
           "skipped" % (what, skipped),
           "source %s\n%s\n%s" % (running, out1.strip(), out2.strip()))


def busy_source(opts, rundir):
    src = boot(opts, rundir, "fpb")
    wait_fpb_registered(src)
    src.check(PAGECACHE_SETUP)
    src.check("/bin/job 50", timeout=600)
    src.check(CHURN_START)
    return src


def t_interrupted(opts, tap, rundir, what, interrupt, status):
    """A migration stopped in pass 1 after a snapshot was applied, by
    @interrupt(src, dst) which must leave it in @status; then again."""
    src = busy_source(opts, rundir)
    try:
        dst = VM(opts.qemu, "dst", vm_args(opts, "fpb"), rundir, incoming=True)
        start_migration(src, dst, params=SLOW)
        wait_applied(src)
        interrupt(src, dst)
        wait_status(src, (status,))
        dst.kill()
        migrate_again(opts, tap, rundir, src, what)
    finally:
        src.kill()


def t_late_answer(opts, tap, rundir):
    """The guest answers after the migration was cancelled: the host
    refuses the answer (the guest sees it discarded), applies nothing, and
    the next migration is unaffected."""
    src = busy_source(opts, rundir)
    try:
        before = fpb_stats(src)
        src.check("echo 3000 > " + DELAY)
        dst = VM(opts.qemu, "dst", vm_args(opts, "fpb"), rundir, incoming=True)
        start_migration(src, dst, params=SLOW)
        # The request is written at the first sync; the guest sees it
        # within a poll (100 ms), walks, then sleeps 3 s before answering
        # (debugfs cannot tell: it waits for the same lock).  Cancel in
        # that sleep; an answer that came first would count as applied.
        time.sleep(0.7)
        src.qmp.cmd("migrate_cancel")
        wait_status(src, ("cancelled",))
        dst.kill()
        time.sleep(4)
        after = fpb_stats(src)
        src.check("echo 0 > " + DELAY)
        tap.ok(after["discarded"] == before["discarded"] + 1 and
               after["applied"] == before["applied"],
               "an answer after migrate_cancel is discarded, nothing applied",
               "before %s\nafter %s" % (before, after))
        migrate_again(opts, tap, rundir, src, "after a late answer")
    finally:
        src.kill()


def t_unload_outstanding(opts, tap, rundir):
    """rmmod while a request is outstanding and the guest is about to
    answer: the module unregisters first; the migration verifies."""
    src = busy_source(opts, rundir)
    dst = None
    try:
        src.check("echo 2000 > " + DELAY)
        dst = VM(opts.qemu, "dst", vm_args(opts, "fpb"), rundir, incoming=True)
        started = start_migration(src, dst, params=SLOW)
        time.sleep(0.5)
        rc, out = src.run("rmmod fpb; echo rmmod $?; dmesg | tail -n 3",
                          timeout=60)
        src.qmp.cmd("migrate-set-parameters",
                    **{"max-bandwidth": opts.bandwidth})
        info = wait_migration(src, dst, started)
        src.kill()
        dst.buf = b""
        rc1, out1 = dst.run(PAGECACHE_VERIFY, timeout=300)
        rc2, out2 = dst.run(CHURN_VERIFY, timeout=300)
        check_dmesg(dst)
        tap.ok("rmmod 0" in out and rc1 == 0 and rc2 == 0,
               "module unloaded with a request outstanding: migration "
               "verifies (%d pages skipped)"
               % info["ram"].get("fpb-skipped-pages", 0),
               "%s\n%s\n%s" % (out.strip(), out1.strip(), out2.strip()))
    finally:
        src.kill()
        if dst:
            dst.kill()


def t_reboot_outstanding(opts, tap, rundir):
    """The guest reboots during a migration, with a request outstanding:
    the reset drops the registration, the migration completes, the new
    kernel registers its own region and the next migration uses it."""
    args = [a for a in vm_args(opts, "fpb") if a != "-no-reboot"]
    src = VM(opts.qemu, "src", args, rundir)
    dst = dst2 = None
    try:
        src.expect(r"@@READY", 180)
        wait_fpb_registered(src)
        src.check("/bin/job 50", timeout=600)
        src.check("echo 3000 > " + DELAY)
        dst = VM(opts.qemu, "dst", args, rundir, incoming=True)
        started = start_migration(src, dst, params=SLOW)
        time.sleep(0.7)         # the guest sleeps before its answer
        src.ser.sendall(b"reboot -f\n")
        src.qmp.cmd("migrate-set-parameters",
                    **{"max-bandwidth": opts.bandwidth})
        wait_migration(src, dst, started)
        src.kill()
        # The new kernel finishes booting on the destination, or did so
        # on the source already.
        try:
            dst.expect(r"@@READY", 90)
        except HarnessError:
            pass
        wait_fpb_registered(dst)
        check_dmesg(dst)
        dst.check(PAGECACHE_SETUP)
        dst.check("/bin/job 50", timeout=600)
        dst2 = VM(opts.qemu, "dst2", args, rundir, incoming=True)
        info = migrate(dst, dst2, params={"max-bandwidth": opts.bandwidth})
        dst2.buf = b""
        rc, out = dst2.run(PAGECACHE_VERIFY, timeout=300)
        check_dmesg(dst2)
        skipped = info["ram"].get("fpb-skipped-pages", 0)
        tap.ok(rc == 0 and skipped > 0,
               "rebooted during a migration with a request outstanding: the "
               "new kernel registers, the next migration verifies (%d pages "
               "skipped)" % skipped, out)
    finally:
        for vm in (src, dst, dst2):
            if vm:
                vm.kill()


def t_mixed_fleet(opts, tap, rundir):
    """A destination without FPB (Debian's QEMU 10.0 as shipped): a guest
    that sees kvm-pv-fpb must not move there, and the migration must say
    so before it copies RAM; with kvm-pv-fpb off it must just work."""
    if not opts.stock_qemu:
        for what in ("refused early", "source unharmed", "flag off: works",
                     "module on stock QEMU"):
            tap.skip("mixed fleet: %s" % what, "no stock QEMU (--stock-qemu)")
        return
    src = boot(opts, rundir, "fpb")
    try:
        wait_fpb_registered(src)
        src.check(PAGECACHE_SETUP)
        src.check("/bin/job 50", timeout=600)
        dst = VM(opts.stock_qemu, "stock-dst", vm_args(opts, "plain"), rundir,
                 incoming=True)
        start_migration(src, dst)
        sent, status = 0, None
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            info = src.qmp.cmd("query-migrate")
            sent = info.get("ram", {}).get("transferred", sent)
            status = info.get("status")
            if status in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.01)
        dst.kill()
        with open(dst.log_path, errors="replace") as f:
            dst_log = f.read().strip()
        tap.ok(status == "failed" and sent < (64 << 20) and
               "kvm-pv-fpb" in dst_log,
               "mixed fleet: refused early (%s after %d KiB of RAM), the "
               "destination names kvm-pv-fpb" % (status, sent >> 10),
               "destination said: %s" % dst_log[-400:])
        # The source keeps running and still migrates to a QEMU with FPB.
        dst = VM(opts.qemu, "dst", vm_args(opts, "fpb"), rundir, incoming=True)
        info = wait_migration(src, dst, start_migration(src, dst, params={
            "max-bandwidth": opts.bandwidth}))
        src.kill()
        dst.buf = b""
        dst.check(PAGECACHE_VERIFY)
        dst.kill()
        skipped = info["ram"].get("fpb-skipped-pages", 0)
        tap.ok(skipped > 0, "mixed fleet: source unharmed, migrates to an "
               "FPB destination afterwards (%d pages skipped)" % skipped)
    finally:
        src.kill()

    # kvm-pv-fpb off: the guest sees nothing of FPB, nothing of it travels.
    src = boot(opts, rundir, "plain")
    try:
        src.check(PAGECACHE_SETUP)
        dst = VM(opts.stock_qemu, "stock-dst", vm_args(opts, "plain"), rundir,
                 incoming=True)
        info = wait_migration(src, dst, start_migration(src, dst))
        src.kill()
        dst.buf = b""
        rc, out = dst.run(PAGECACHE_VERIFY, timeout=300)
        dst.kill()
        tap.ok(info["status"] == "completed" and rc == 0,
               "mixed fleet: kvm-pv-fpb off, FPB's QEMU to stock QEMU "
               "works and verifies", out)
    finally:
        src.kill()

    # The module on a QEMU without FPB: it refuses, saying why, and a
    # migration between two such QEMUs is a plain one.
    o = argparse.Namespace(**vars(opts))
    o.qemu = opts.stock_qemu
    src = boot(o, rundir, "plain", append="fpb.enable=1")
    try:
        log = src.check("dmesg | grep fpb: || true")
        src.check(PAGECACHE_SETUP)
        dst = VM(o.qemu, "stock-dst", vm_args(o, "plain", "fpb.enable=1"),
                 rundir, incoming=True)
        info = wait_migration(src, dst, start_migration(src, dst))
        src.kill()
        dst.buf = b""
        rc, out = dst.run(PAGECACHE_VERIFY, timeout=300)
        dst.kill()
        tap.ok("host does not offer KVM_FEATURE_FPB" in log and rc == 0 and
               "fpb-skipped-pages" not in info.get("ram", {}),
               "mixed fleet: fpb.enable=1 on stock QEMU: the module refuses, "
               "the migration verifies", log + out)
    finally:
        src.kill()


def cmd_tests(opts):
    tap = Tap()
    rundir = fpbmig.new_rundir(TOP)
    fpb = has_fpb(opts)
    why = "this QEMU has no kvm-pv-fpb (build it with make qemu)"
    tests = [
        ("smoke", lambda: t_smoke(opts, tap, rundir), 2),
        ("workloads", lambda: t_workloads(opts, tap, rundir), 2),
        ("pingpong", lambda: t_pingpong(opts, tap, rundir, opts.hops), 2),
        ("no-module", lambda: t_refused(opts, tap, rundir, "FPB on in QEMU, module not loaded",
                                         "fpb-nomod", "", None), 1),
        ("qemu-off", lambda: t_refused(opts, tap, rundir, "module enabled, feature off in QEMU",
                                        "plain", "fpb.enable=1",
                                        "host does not offer KVM_FEATURE_FPB"), 1),
        ("page-poison", lambda: t_refused(opts, tap, rundir, "page_poison=1 in the guest",
                                           "fpb", "page_poison=1",
                                           "page poisoning is on"), 1),
        ("reboot", lambda: t_reboot(opts, tap, rundir), 1),
        ("mixed-fleet", lambda: t_mixed_fleet(opts, tap, rundir), 4),
        ("cancel", lambda: t_interrupted(
            opts, tap, rundir, "migrate_cancel after an apply",
            lambda src, dst: src.qmp.cmd("migrate_cancel"), "cancelled"), 1),
        ("dst-killed", lambda: t_interrupted(
            opts, tap, rundir, "destination killed after an apply",
            lambda src, dst: dst.kill(), "failed"), 1),
        ("late-answer", lambda: t_late_answer(opts, tap, rundir), 2),
        ("unload-outstanding", lambda: t_unload_outstanding(opts, tap, rundir), 1),
        ("reboot-outstanding", lambda: t_reboot_outstanding(opts, tap, rundir), 1),
        ("late", lambda: t_late(opts, tap, rundir), 2),
        # Notifier chains stop at the first failure and the sync goes on:
        # the sync itself, not FPB's notifier, must make requests stale.
        ("late-failing-notifier",
         lambda: t_late(opts, tap, rundir, "late-failing-notifier",
                        ",x-fpb-failing-notifier=on",
                        "another precopy notifier failing: "), 2),
    ]
    for name, fn, count in tests:
        if opts.only and name not in opts.only:
            continue
        if not fpb and name != "qemu-off":
            for _ in range(count):
                tap.skip(name, why)
            continue
        try:
            fn()
        except HarnessError as e:
            tap.ok(False, name, e)
    tap.diag("logs in %s" % rundir)
    return tap.done()


def positive_int(text):
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError("%r is not a whole number >= 1" % text)
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["demo", "tests"])
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--variants", nargs="*", default=VARIANTS, choices=VARIANTS)
    ap.add_argument("--out", help="demo records (default build/demo.json)")
    ap.add_argument("--reps", type=positive_int, default=2,
                    help="demo: runs of each variant, interleaved (default 2)")
    ap.add_argument("--hops", type=int, default=10)
    # 0: unlimited.  The tests pass 256 MiB/s so that pass 1 lasts long
    # enough for the guest to answer; the migration never waits for it.
    ap.add_argument("--bandwidth", type=int, default=0)
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--stock-qemu",
                    help="QEMU 10.0 without FPB, for the mixed fleet tests")
    ap.add_argument("--kimg", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--mem", default="2G")
    ap.add_argument("--smp", type=positive_int, default=1,
                    help="vCPUs of every guest (multi-threaded TCG)")
    ap.add_argument("--job", type=int, default=75)
    ap.add_argument("--append", default="",
                    help="more kernel command line for every guest (the "
                         "debug kernel's loglevel and debug_pagealloc=on)")
    opts = ap.parse_args()
    try:
        if opts.cmd == "demo":
            cmd_demo(opts)
        else:
            sys.exit(cmd_tests(opts))
    except HarnessError as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
