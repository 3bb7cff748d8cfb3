#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""FPB under real KVM.  Runs inside the nested KVM host (L1) of the
kvm-migrate suite, chrooted into the host's root shared over 9p, so the
QEMU built on the host and this harness run here unchanged.  Each case
boots an L2 guest under KVM, runs a job that dirties and frees most of its
memory, starts the churn checker (writes on a second vCPU while the walk and
the apply run) and `hold` (writes in the window between the walk and the
answer), migrates it over loopback and verifies both on the destination.

Dirty tracking is KVM's: its default dirty log with manual protect (QEMU
clears lazily) and a dirty ring.  The controls turn off what keeps FPB safe
(the arm before each request, the request/sync generation check) and must
see the destination corrupt: a control that cannot fail proves nothing.

Prints TAP; one JSON record per migration in --out.

usage: nested.py --qemu QEMU --kimg DIR --image CPIO --out DIR
                 [--set fast|full|unpatched...] [--cases NAME...]
                 [--kimg2 DIR --image2 CPIO] [--mem 512M] [--smp 2]
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import fpbmig  # noqa: E402
import run  # noqa: E402
from fpbmig import HarnessError  # noqa: E402
from fpbtap import Tap  # noqa: E402

DIRTY_LOG = "kvm"
DIRTY_RING = "kvm,dirty-ring-size=4096"
MODES = {DIRTY_LOG: "dirty-log", DIRTY_RING: "dirty-ring"}


class Case:
    """One migration of a churning guest.  @expect: "verify" (verifies;
    FPB skips pages unless @variant is plain), "discard" (verifies, every
    snapshot discarded, nothing skipped) or "corrupt" (a negative control:
    the destination must see corruption)."""

    def __init__(self, name, accel, variant, hooks="", expect="verify"):
        self.name = name
        self.accel = accel
        self.variant = variant
        self.hooks = hooks
        self.expect = expect

    def run(self, opts, tap):
        return one_case(opts, tap, self)


class Check:
    """Any other case: @fn(opts, tap, rundir) reports its own results."""

    def __init__(self, name, fn):
        self.name = name
        self.fn = fn

    def run(self, opts, tap):
        rundir = tempfile.mkdtemp(prefix=self.name + "-", dir="/tmp")
        try:
            self.fn(kvm_opts(opts, DIRTY_LOG), tap, rundir)
        except (HarnessError, OSError) as e:
            tap.ok(False, self.name, "%s\nlogs: %s"
                   % (e, keep_logs(opts, rundir, self.name)))


def kvm_opts(opts, accel, hooks=""):
    o = argparse.Namespace(**vars(opts))
    o.accel, o.fpb_hooks = accel, hooks
    return o


def t_cpl3(opts, tap, rundir):
    """Hypercalls from user space: -KVM_EPERM from KVM itself, no exit to
    QEMU (its fpb_hypercall trace event stays silent)."""
    args = run.vm_args(opts, "fpb-nomod") + ["-trace", "fpb_hypercall"]
    vm = fpbmig.VM(opts.qemu, "cpl3", args, rundir)
    try:
        vm.expect(r"@@READY", 180)
        out = vm.check("/bin/cpuid-probe")
    finally:
        vm.kill()
    with open(vm.log_path) as f:
        log = f.read()
    tap.ok("fpb=1" in out, "KVM: the guest sees the FPB feature bit", out)
    # This L1 is AMD: VMMCALL is the native hypercall.  KVM rewrites a
    # VMCALL into VMMCALL in guest memory, which faults in a read-only
    # user page; either way nothing reaches the hypercall handler.
    tap.ok("vmmcall: rax=-1" in out,
           "KVM: VMMCALL from CPL 3 returns -KVM_EPERM", out)
    tap.ok("vmcall: rax=-1" in out or "vmcall: SIGSEGV" in out,
           "KVM: VMCALL from CPL 3 returns -KVM_EPERM or faults", out)
    tap.ok("fpb_hypercall" not in log,
           "KVM: hypercalls from CPL 3 do not exit to QEMU", log)


def t_unpatched(opts, tap, rundir):
    """Debian's own KVM modules (no exit for KVM_HC_FPB): QEMU says what is
    missing in one line, the guest sees no FPB bit and its module refuses;
    with enforce, QEMU refuses to start."""
    vm = run.boot(opts, rundir, "fpb")
    try:
        dmesg = vm.check("dmesg")
        out = vm.check("/bin/cpuid-probe")
    finally:
        vm.kill()
    with open(vm.log_path) as f:
        log = f.read()
    # QEMU's generic "host doesn't support requested feature" line comes
    # once per vCPU and does not say why: one line must.
    lines = [x for x in log.splitlines() if "KVM_CAP_EXIT_HYPERCALL" in x]
    tap.ok(len(lines) == 1 and "kvm-pv-fpb" in lines[0],
           "unpatched KVM: QEMU says in one line what KVM lacks",
           "QEMU's output: %r" % log)
    tap.ok("fpb=0" in out, "unpatched KVM: the guest sees no FPB bit", out)
    tap.ok("host does not offer KVM_FEATURE_FPB" in dmesg,
           "unpatched KVM: the module refuses and says why", dmesg)
    args = run.vm_args(opts, "fpb")
    cpu = args.index("-cpu") + 1
    args[cpu] += ",enforce"
    p = subprocess.run([opts.qemu] + args, capture_output=True, text=True,
                       timeout=60)
    tap.ok(p.returncode != 0 and "kvm-pv-fpb" in p.stderr,
           "unpatched KVM: kvm-pv-fpb=on,enforce refuses to start",
           "exit %d: %s" % (p.returncode, p.stderr))


def t_smoke_612(opts, tap, rundir):
    o = argparse.Namespace(**vars(opts))
    o.kimg, o.image = opts.kimg2, opts.image2
    run.t_smoke(o, tap, rundir)


CASES = {
    "fast": [
        Case("fpb-dirty-log", DIRTY_LOG, "fpb"),
        Case("fpb-dirty-ring", DIRTY_RING, "fpb"),
        Case("plain-dirty-log", DIRTY_LOG, "plain"),
        Case("control-skip-arm", DIRTY_LOG, "fpb", ",x-fpb-skip-arm=on",
             "corrupt"),
        Case("control-late-unchecked-dirty-log", DIRTY_LOG, "fpb",
             ",x-fpb-apply-late-unchecked=on", "corrupt"),
        Case("control-late-unchecked-dirty-ring", DIRTY_RING, "fpb",
             ",x-fpb-apply-late-unchecked=on", "corrupt"),
    ],
    "full": [
        Case("late-checked-dirty-log", DIRTY_LOG, "fpb",
             ",x-fpb-apply-late=on", "discard"),
        Case("late-checked-dirty-ring", DIRTY_RING, "fpb",
             ",x-fpb-apply-late=on", "discard"),
        Check("pingpong", lambda o, t, d: run.t_pingpong(o, t, d, 5)),
        Check("smoke-6.1", run.t_smoke),
        Check("smoke-6.12", t_smoke_612),
        Check("no-module", lambda o, t, d: run.t_refused(
            o, t, d, "KVM: FPB on in QEMU, module not loaded", "fpb-nomod",
            "", None)),
        Check("qemu-off", lambda o, t, d: run.t_refused(
            o, t, d, "KVM: module enabled, kvm-pv-fpb off", "plain",
            "fpb.enable=1", "host does not offer KVM_FEATURE_FPB")),
        Check("reboot", run.t_reboot),
        Check("cpl3", t_cpl3),
    ],
    "unpatched": [
        Check("unpatched", t_unpatched),
    ],
}


# The window the rules are about, made wide and certain: the guest module
# waits 2 s between its walk and its answer (answer_delay_ms, a testing
# knob), QEMU holds pass 1 back until the answer, and `hold` fills 160 MiB
# over 6 s from just before the migration starts, so that part of it lands
# in pages the walk saw free.  With the rules kept those writes are caught
# and resent; with a rule broken on purpose they are lost.
WINDOW_APPEND = "fpb.answer_delay_ms=2000"
WINDOW_PARAMS = {"fpb-first-wait-ms": 5000}
HOLD_START = "/bin/hold 160 6 > /mnt/tmp/hold.out 2>&1 &"
# A hold that died (its own memory lost) must not make the check wait.
HOLD_VERIFY = ("while ! grep -q filled /mnt/tmp/hold.out && pidof hold >/dev/null;"
               " do sleep 0.2; done; "
               "if pidof hold >/dev/null; then kill -USR1 $(pidof hold); "
               "while pidof hold >/dev/null; do sleep 0.2; done; fi; "
               "cat /mnt/tmp/hold.out; grep -q 'hold: ok' /mnt/tmp/hold.out || "
               "{ grep -q 'hold: FAIL' /mnt/tmp/hold.out || "
               "echo 'hold: FAIL: it died before its check'; exit 1; }")
# What a destination whose checks could not finish left in its kernel log.
KLOG_BAD = re.compile(r"Kernel panic|Oops|BUG:|general protection|segfault")


def prepare(vm, variant, job_pct):
    if variant == "fpb":
        run.wait_fpb_registered(vm)
    vm.check("/bin/job %d" % job_pct, timeout=900)
    vm.check(run.CHURN_START)


def migrate_once(opts, rundir, case):
    """Boot, prepare, migrate, verify: (record, what the checkers said)."""
    o = kvm_opts(opts, case.accel, case.hooks)
    src = run.boot(o, rundir, case.variant, append=WINDOW_APPEND)
    dst = None
    try:
        prepare(src, case.variant, opts.job)
        dst = fpbmig.VM(opts.qemu, "dst",
                        run.vm_args(o, case.variant, WINDOW_APPEND),
                        rundir, incoming=True)
        src.check(HOLD_START)
        started = fpbmig.start_migration(
            src, dst, params=dict(WINDOW_PARAMS, **{"max-bandwidth":
                                                    opts.bandwidth}))
        info = fpbmig.wait_migration(src, dst, started)
        src.kill()
        dst.buf = b""
        try:
            rc1, out1 = dst.run(run.CHURN_VERIFY, timeout=300)
            rc2, out2 = dst.run(HOLD_VERIFY, timeout=300)
            out = out1.strip() + "\n" + out2.strip()
        except HarnessError as e:
            # Lost pages can take the destination's kernel down with them.
            with open(dst.ser_path + ".kernel", errors="replace") as f:
                bad = [x for x in f.read().splitlines() if KLOG_BAD.search(x)]
            rc1 = rc2 = 1
            out = "\n".join(["checks did not finish: %s" % e] +
                            ["kernel: FAIL: " + x for x in bad[:5]])
        rec = fpbmig.summarize(case.variant, info, case=case.name,
                               mode=MODES[case.accel], hooks=case.hooks,
                               verified=rc1 == 0 and rc2 == 0,
                               corrupt="FAIL" in out,
                               checkers=[x for x in out.splitlines()
                                         if x.startswith(("churn:", "hold:",
                                                          "checks ", "kernel:"))])
        return rec, out
    finally:
        src.kill()
        if dst:
            dst.kill()


def save(opts, rec):
    path = os.path.join(opts.out, "%s-%s.json" % (
        time.strftime("%H%M%S"), rec["case"]))
    with open(path, "w") as f:
        json.dump(rec, f, indent=1)


def keep_logs(opts, rundir, name):
    """The L1 /tmp dies with L1: keep a failed case's logs in --out."""
    dst = os.path.join(opts.out, "logs", name)
    os.makedirs(dst, exist_ok=True)
    for f in os.listdir(rundir):
        path = os.path.join(rundir, f)
        if os.path.isfile(path):    # not the QMP and console sockets
            shutil.copy(path, dst)
    return dst


def one_case(opts, tap, case):
    rundir = tempfile.mkdtemp(prefix=case.name + "-", dir="/tmp")
    tries = opts.control_tries if case.expect == "corrupt" else 1
    for attempt in range(1, tries + 1):
        try:
            rec, out = migrate_once(opts, rundir, case)
        except (HarnessError, OSError) as e:
            tap.ok(False, "%s: migration ran" % case.name,
                   "%s\nlogs: %s" % (e, keep_logs(opts, rundir, case.name)))
            return None
        rec["attempt"] = attempt
        save(opts, rec)
        if case.expect == "corrupt" and rec["corrupt"]:
            break
    what = "%s (%s): %d pages skipped, %d bytes sent" % (
        case.name, rec["mode"], rec["fpb_skipped_pages"],
        rec["transferred_bytes"])
    churn = rec["checkers"]
    if case.expect == "corrupt":
        tap.ok(rec["corrupt"],
               "%s: control: corruption detected on the destination%s" % (
                   what, " (attempt %d)" % attempt if attempt > 1 else ""),
               "no corruption in %d tries: this control proves nothing\n%s"
               % (tries, "\n".join(churn)))
        return rec
    ok = tap.ok(rec["verified"], "%s: verifies on the destination" % what,
                "\n".join(churn) + "\nlogs: "
                + keep_logs(opts, rundir, case.name))
    if ok:
        shutil.rmtree(rundir, ignore_errors=True)
    if case.expect == "discard":
        tap.ok(rec["fpb_snapshots_discarded"] >= 1
               and rec["fpb_skipped_pages"] == 0,
               "%s: every late snapshot discarded (%d discarded)"
               % (case.name, rec["fpb_snapshots_discarded"]))
    elif case.variant == "fpb":
        tap.ok(rec["fpb_skipped_pages"] > 0,
               "%s: FPB skipped pages" % case.name)
    return rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--kimg", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--set", nargs="+", default=["fast"], choices=CASES)
    ap.add_argument("--cases", nargs="*", help="only these, by name")
    ap.add_argument("--kimg2", help="a second guest kernel (smoke-6.12)")
    ap.add_argument("--image2")
    ap.add_argument("--mem", default="512M")
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--job", type=int, default=70)
    # Slow enough that churn writes between the walk and the apply.
    ap.add_argument("--bandwidth", type=int, default=64 << 20)
    ap.add_argument("--control-tries", type=int, default=2)
    opts = ap.parse_args()
    opts.cpu = "host"
    os.makedirs(opts.out, exist_ok=True)

    tap = Tap()
    recs = {}
    for name in opts.set:
        for case in CASES[name]:
            if opts.cases and case.name not in opts.cases:
                continue
            recs[case.name] = case.run(opts, tap)
    fpb, plain = recs.get("fpb-dirty-log"), recs.get("plain-dirty-log")
    if fpb and plain and plain["transferred_bytes"]:
        tap.diag("bytes, FPB against plain (dirty log): %.2f" % (
            fpb["transferred_bytes"] / plain["transferred_bytes"]))
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
