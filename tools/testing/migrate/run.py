#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Drive FPB migrations: the demo table and the integrity tests.

usage: run.py demo  --qemu QEMU --kimg DIR --image CPIO [--mem 2G]
       run.py tests --qemu QEMU --kimg DIR --image CPIO [--only NAME...]
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fpbmig  # noqa: E402
from fpbmig import HarnessError, VM, migrate, progress, summarize  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

VARIANTS = ("idle", "plain", "balloon-hint", "fpb")


def vm_args(opts, variant, append=""):
    cpu = "max"
    extra = []
    cmdline = "console=ttyS0 panic=-1 quiet loglevel=1 " + append
    if variant == "fpb":
        cpu += ",kvm-pv-fpb=on"
        cmdline += " fpb.enable=1"
    elif variant == "fpb-nomod":
        cpu += ",kvm-pv-fpb=on"
    elif variant == "balloon-hint":
        extra = ["-object", "iothread,id=iot0",
                 "-device", "virtio-balloon-pci,free-page-hint=on,iothread=iot0"]
    return ["-L", "/usr/share/seabios", "-L", "/usr/share/qemu",
            "-accel", "tcg", "-machine", "q35", "-cpu", cpu, "-smp", "1",
            "-m", opts.mem, "-nodefaults", "-display", "none", "-no-reboot",
            "-kernel", os.path.join(opts.kimg, "vmlinux"),
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


def check_dmesg(vm):
    rc, out = vm.run("dmesg | grep -E 'Oops|BUG|WARNING|corrupted|general protection'")
    if rc == 0:
        raise HarnessError("%s kernel log: %s" % (vm.name, out))


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
        info = migrate(src, dst, caps=caps, params=dict(limit, **(params or {})),
                       on_info=on_info)
        rec = summarize(variant, info)
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


def cmd_demo(opts):
    rundir = fpbmig.new_rundir(TOP)
    records = []
    for variant in opts.variants:
        progress("demo: %s: boot a %s guest%s, migrate" % (
            variant, opts.mem, "" if variant == "idle" else ", run a job dirtying %d%% of RAM" % opts.job))

        def prepare(vm, variant=variant):
            if variant == "fpb":
                wait_fpb_registered(vm)
            if variant != "idle":
                job(opts.job)(vm)
        rec, dst = one_migration(opts, rundir, variant, prepare=prepare)
        dst.kill()
        records.append(rec)
    out = opts.out or os.path.join(TOP, "build", "demo.json")
    with open(out, "w") as f:
        json.dump(records, f, indent=1)
    print_table(records)
    print("\nrecords: %s, logs: %s" % (out, rundir))


def print_table(records):
    cols = [("variant", "variant", "%-13s"),
            ("total ms", "total_time_ms", "%9s"),
            ("down ms", "downtime_ms", "%8s"),
            ("setup ms", "setup_time_ms", "%8s"),
            ("MB sent", "transferred_bytes", "%8s"),
            ("data pages", "normal_pages", "%10s"),
            ("zero pages", "zero_pages", "%10s"),
            ("src cpu s", "src_cpu_s", "%9s"),
            ("dst cpu s", "dst_cpu_s", "%9s"),
            ("fpb skipped", "fpb_skipped_pages", "%11s")]
    print()
    print(" ".join(fmt % h for h, _, fmt in cols))
    for r in records:
        vals = []
        for _, k, fmt in cols:
            v = r.get(k)
            if k == "transferred_bytes" and v is not None:
                v = "%.0f" % (v / 1e6)
            vals.append(fmt % ("-" if v is None else v))
        print(" ".join(vals))


# ---------------------------------------------------------------- tests

PAGECACHE_SETUP = (
    "mkdir -p /mnt/tmp/pc && for i in 1 2 3 4 5 6 7 8; do "
    "head -c 8388608 /dev/urandom > /mnt/tmp/pc/f$i || exit 1; done && "
    "sha256sum /mnt/tmp/pc/f* > /mnt/tmp/pc.sums")
PAGECACHE_VERIFY = "sha256sum -c /mnt/tmp/pc.sums"
CHURN_START = "/bin/churn 2 32 > /mnt/tmp/churn.out 2>&1 & sleep 2; cat /mnt/tmp/churn.out"
CHURN_VERIFY = ("kill -USR1 $(pidof churn) && "
                "while pidof churn >/dev/null; do sleep 0.2; done; "
                "cat /mnt/tmp/churn.out; grep -q 'churn: ok' /mnt/tmp/churn.out")


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def result(self, ok, name, diag=""):
        self.n += 1
        print("%s %d - %s" % ("ok" if ok else "not ok", self.n, name), flush=True)
        for line in str(diag).splitlines():
            print("# " + line, flush=True)
        self.failed += not ok

    def skip(self, name, why):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, name, why), flush=True)


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
    tap.result(True, "churn, page cache and after-a-job verify on the destination",
               out["churn"])
    tap.result(rec["fpb_skipped_pages"] > 0,
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
        tap.result(True, "%d ping-pong migrations of a churning guest verify" % hops, out)
    finally:
        src.kill()
    tap.result(all(s > 0 for s in skipped),
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
    tap.result(rec["fpb_skipped_pages"] == 0,
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
        tap.result(rec["fpb_skipped_pages"] > 0,
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
    tap.result(rec["fpb_skipped_pages"] > 0,
               "%s guest: after a job, page cache verifies, %s pages skipped"
               % (release, rec["fpb_skipped_pages"]))
    line = "fpb skipped: %d pages" % rec["fpb_skipped_pages"]
    tap.result(line in rec["info_migrate"],
               "%s guest: info migrate says '%s'" % (release, line),
               rec["info_migrate"])


def t_late(opts, tap, rundir):
    """The test hook x-fpb-apply-late holds every snapshot until after the
    next dirty bitmap sync, while the guest refills the memory it had just
    reported free.  The host must discard each such snapshot; a host that
    applied one would drop the refilled pages' last writes."""
    args = vm_args(opts, "fpb")
    cpu = args.index("-cpu") + 1
    args[cpu] += ",x-fpb-apply-late=on"
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
        rec = summarize("fpb-late", info)
        record(opts, "late", rec)
        src.kill()
        dst.buf = b""
        out = dst.check("kill -USR1 $(pidof hold); "
                        "while pidof hold >/dev/null; do sleep 0.2; done; "
                        "cat /mnt/tmp/hold.out; grep -q 'hold: ok' /mnt/tmp/hold.out",
                        timeout=300)
        check_dmesg(dst)
        tap.result(True, "snapshots applied a sync late: memory refilled "
                   "after the snapshot verifies on the destination", out)
        tap.result(rec["fpb_snapshots_discarded"] >= 1 and rec["fpb_skipped_pages"] == 0,
                   "every late snapshot was discarded (%d discarded, %d pages skipped)"
                   % (rec["fpb_snapshots_discarded"], rec["fpb_skipped_pages"]))
    finally:
        src.kill()
        if dst:
            dst.kill()


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
        ("late", lambda: t_late(opts, tap, rundir), 2),
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
            tap.result(False, name, e)
    print("# logs in %s" % rundir)
    return tap.failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["demo", "tests"])
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--variants", nargs="*", default=VARIANTS, choices=VARIANTS)
    ap.add_argument("--out", help="demo records (default build/demo.json)")
    ap.add_argument("--hops", type=int, default=10)
    # 0: unlimited.  The tests pass 256 MiB/s so that pass 1 lasts long
    # enough for the guest to answer; the migration never waits for it.
    ap.add_argument("--bandwidth", type=int, default=0)
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--kimg", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--mem", default="2G")
    ap.add_argument("--job", type=int, default=75)
    opts = ap.parse_args()
    try:
        if opts.cmd == "demo":
            cmd_demo(opts)
        else:
            sys.exit(1 if cmd_tests(opts) else 0)
    except HarnessError as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
