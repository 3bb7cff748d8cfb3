#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""FPB with multifd and with `migrate file:` (plain and mapped-ram): boot
the migration harness's guest with the FPB module, run a job and start the
churn checker, migrate, and verify on the destination (reusing
tools/testing/migrate).  Prints TAP.

usage: mig-variants.py QEMU KIMG IMAGE [MEM]
"""
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "migrate"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import fpbmig  # noqa: E402
import run  # noqa: E402
from fpbmig import VM, HarnessError  # noqa: E402
from fpbtap import Tap  # noqa: E402


class Opts:
    pass


# The migration thread never waits for the guest, so a migration that ends
# before the guest's first answer (a file on a fast disk, ~100 ms) skips
# nothing.  These tests are about correctness with each transport, so pass 1
# is slowed to a few seconds to leave the guest time to answer.
BANDWIDTH = 128 << 20


# Churn paced well below BANDWIDTH: unpaced, how fast it dirties memory
# depends on how busy the host is, and on a quiet host a file: migration
# never converged (it wrote 58 GB before it was stopped).
CHURN_START = run.churn_start(16)
# A migration into a file that does not converge grows the file forever:
# at BANDWIDTH, 120 s is at most 15 GiB, removed afterwards.
FILE_TIMEOUT = 120


def prepare(vm):
    run.wait_fpb_registered(vm)
    vm.check("/bin/job 40", timeout=600)
    vm.check(CHURN_START)


def via_file(opts, rundir, caps):
    """Migrate the running guest into a file, restore it from the file."""
    src = run.boot(opts, rundir, "fpb")
    dst = None
    path = os.path.join(rundir, "vm.mig")
    try:
        prepare(src)
        caps = [{"capability": c, "state": True} for c in caps]
        if caps:
            src.qmp.cmd("migrate-set-capabilities", capabilities=caps)
        src.qmp.cmd("migrate-set-parameters", **{"max-bandwidth": BANDWIDTH})
        src.qmp.cmd("migrate", uri="file:" + path)
        deadline = time.monotonic() + FILE_TIMEOUT
        while True:
            if time.monotonic() > deadline:
                src.qmp.cmd("migrate_cancel")
                raise HarnessError("migration into %s did not complete in %d s"
                                   % (path, FILE_TIMEOUT))
            info = src.qmp.cmd("query-migrate")
            if info["status"] == "completed":
                break
            if info["status"] in ("failed", "cancelled"):
                raise HarnessError("migration %s: %s" % (
                    info["status"], info.get("error-desc")))
            time.sleep(0.05)
        src.kill()
        dst = VM(opts.qemu, "dst", run.vm_args(opts, "fpb"), rundir,
                 incoming=True)
        if caps:
            dst.qmp.cmd("migrate-set-capabilities", capabilities=caps)
        dst.qmp.cmd("migrate-incoming", uri="file:" + path)
        deadline = time.monotonic() + 120
        while dst.qmp.cmd("query-status")["status"] != "running":
            if time.monotonic() > deadline:
                raise HarnessError("destination not running")
            time.sleep(0.1)
        dst.buf = b""
        out = dst.check(run.CHURN_VERIFY, timeout=300)
        run.check_dmesg(dst)
        return info["ram"].get("fpb-skipped-pages", 0), out
    finally:
        src.kill()
        if dst:
            dst.kill()
        if os.path.exists(path):
            os.unlink(path)


def main():
    opts = Opts()
    opts.qemu, opts.kimg, opts.image = sys.argv[1:4]
    opts.mem = sys.argv[4] if len(sys.argv) > 4 else "1G"
    rundir = tempfile.mkdtemp(prefix="fpb-mig-")
    tap = Tap()
    try:
        out = {}

        def verify(vm):
            out["churn"] = vm.check(run.CHURN_VERIFY, timeout=300)

        rec, dst = run.one_migration(opts, rundir, "fpb", prepare, verify,
                                     caps=("multifd",),
                                     params={"max-bandwidth": BANDWIDTH})
        dst.kill()
        tap.ok("churn: ok" in out["churn"],
               "multifd: churn verifies on the destination")
        tap.ok(rec["fpb_skipped_pages"] > 0,
               "multifd: FPB skipped %s pages" % rec["fpb_skipped_pages"])
    except HarnessError as e:
        tap.ok(False, "multifd: %s" % e)
    for caps, name in (((), "file:"), (("mapped-ram",), "file: mapped-ram")):
        try:
            skipped, churn = via_file(opts, rundir, caps)
            tap.ok("churn: ok" in churn, "%s churn verifies after restore" % name)
            tap.ok(skipped > 0, "%s FPB skipped %s pages" % (name, skipped))
        except HarnessError as e:
            tap.ok(False, "%s %s" % (name, e))
    tap.diag("logs in %s" % rundir)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
