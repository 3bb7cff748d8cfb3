#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Guest lifecycle tests: FPB across hibernation and S3 (guest-lifecycle).

usage: lifecycle.py --qemu QEMU --kimg DIR --image CPIO [--only NAME...]

The image is migrate-SERIES-lifecycle.cpio (image.sh -v lifecycle -m
virtio_blk): the migration guest with virtio_blk for the swap disk.

hibernate: a guest hibernates to a virtio swap disk while registered; a
fresh QEMU boots the same kernel on the same disk, loads FPB there (the
resume kernel registers its own header) and resumes the image.  The
restored guest takes the page the resume kernel had registered into a
patterned buffer (canary), is migrated, and checks the buffer and that FPB
skipped pages.  A resume kernel that jumped into the image still registered
gets `request` written into that page at every sync.

s3: the guest suspends to RAM (echo mem), QMP system_wakeup wakes it (QEMU
resets the machine, which drops the registration); a migration afterwards
must skip pages.
"""

import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import fpbmig  # noqa: E402
import run  # noqa: E402
from fpbtap import Tap  # noqa: E402
from fpbmig import VM, HarnessError, migrate, progress, summarize  # noqa: E402

TOP = run.TOP
SMALL_PC = (
    "mkdir -p /mnt/tmp/pc && for i in 1 2; do "
    "head -c 4194304 /dev/urandom > /mnt/tmp/pc/f$i || exit 1; done && "
    "sha256sum /mnt/tmp/pc/f* > /mnt/tmp/pc.sums")
CANARY_VERIFY = ("kill -USR1 $(pidof canary) && "
                 "while pidof canary >/dev/null; do sleep 0.2; done; "
                 "cat /mnt/tmp/canary.out")


def disk_args(path):
    return ["-drive", "file=%s,format=raw,if=none,id=swap0,cache=unsafe" % path,
            "-device", "virtio-blk-pci,drive=swap0"]


def args_for(opts, variant, disk, append):
    """vm_args() with the swap disk attached."""
    return run.vm_args(opts, variant, append) + disk_args(disk)


def resume_dev(vm):
    """MAJ:MIN of the swap disk, for /sys/power/resume."""
    return vm.check("cat /sys/block/vda/dev").strip()


def wait_exit(vm, timeout):
    deadline = time.monotonic() + timeout
    while vm.proc.poll() is None:
        if time.monotonic() > deadline:
            raise HarnessError("%s still running after %ss; console tail: %r"
                               % (vm.name, timeout, vm.buf[-500:]))
        try:
            vm._read_more()
        except HarnessError:
            break
        time.sleep(0.1)
    vm.kill()


def t_hibernate(opts, tap, rundir):
    """Hibernate while registered, resume in a kernel that registered its
    own header, migrate the restored guest."""
    disk = os.path.join(rundir, "swap.img")
    with open(disk, "wb") as f:
        f.truncate(768 << 20)
    append = "resume=/dev/vda"
    progress("hibernate: boot, register, hibernate to the swap disk")
    hib = VM(opts.qemu, "hibernate", args_for(opts, "fpb", disk, append),
             rundir)
    res = dst = None
    try:
        hib.expect(r"@@READY", 180)
        run.wait_fpb_registered(hib)
        image_pfn = run.fpb_stat(hib, "header_pfn")
        dev = resume_dev(hib)
        hib.check("mkswap /dev/vda >/dev/null && swapon /dev/vda && "
                  "echo %s > /sys/power/resume" % dev)
        hib.check(SMALL_PC)
        # The pages free in the image, for the resume kernel's header.
        free = bytes.fromhex(hib.check(
            "echo 1 > /sys/kernel/debug/fpb/snapshot && "
            "od -An -v -tx1 /sys/kernel/debug/fpb/bitmap | tr -d ' \\n'",
            timeout=300).strip())
        hib.buf = b""
        # Answered (@@DONE) by the restored kernel, on the next QEMU.
        hib.ser.sendall(b"echo shutdown > /sys/power/disk && "
                        b"echo disk > /sys/power/state\n")
        wait_exit(hib, 600)

        progress("hibernate: resume kernel: load FPB, register, resume")
        # The resume kernel loads FPB only after the harness has taken
        # some memory, so that its header lands elsewhere than the image's,
        # and again until the header lands in a page free in the image
        # (which the canary can then take in the restored guest).
        # QEMU traces every hypercall: which region it last registered.
        res_args = args_for(opts, "fpb-nomod", disk, append) + [
            "-trace", "fpb_hypercall"]
        res = VM(opts.qemu, "resume", res_args, rundir)
        res.expect(r"@@READY", 180)
        res.check("head -c 33554432 /dev/zero > /mnt/tmp/pad && "
                  "insmod /lib/fpb/fpb.ko enable=1")
        for attempt in range(32):
            run.wait_fpb_registered(res)
            resume_pfn = run.fpb_stat(res, "header_pfn")
            if resume_pfn != image_pfn and resume_pfn // 8 < len(free) and \
               free[resume_pfn // 8] >> (resume_pfn % 8) & 1:
                break
            res.check("rmmod fpb && head -c 1048576 /dev/zero > "
                      "/mnt/tmp/pad%d && insmod /lib/fpb/fpb.ko enable=1"
                      % attempt)
        tap.diag("header pfn: hibernated image %d, resume kernel %d "
                 "(loaded %d times)" % (image_pfn, resume_pfn, attempt + 1))
        res.buf = b""
        res.ser.sendall(("echo %s > /sys/power/resume\n" % dev).encode())
        # The hibernating shell's command ends in the restored kernel.
        _, m = res.expect(r"@@DONE (\d+)\r?\n", 600)
        if m.group(1) != b"0":
            raise HarnessError("echo disk > /sys/power/state failed (%s)"
                               % m.group(1).decode())
        res.check("swapoff /dev/vda")
        # Whatever the canary manages below: the host's registration must
        # now be the restored kernel's own header, the resume kernel's
        # undone before the jump into the image.
        with open(res.log_path, errors="replace") as f:
            ops = re.findall(r"fpb_hypercall op ([12]) a1 0x([0-9a-f]+)",
                             f.read())
        last = ops[-1] if ops else None
        tap.ok(last == ("1", "%x" % (image_pfn << 12)),
               "hibernate: the host's registration after resume is the "
               "restored kernel's header (pfn %d), not the resume kernel's "
               "(pfn %d)" % (image_pfn, resume_pfn),
               "REGISTER(1)/UNREGISTER(2) hypercalls, last 6: %s" % ops[-6:])
        st = run.fpb_stats(res)
        tap.diag("restored kernel: registered %d, header pfn %d"
                 % (st.get("registered", -1), st.get("header_pfn", -1)))
        free_mib = int(res.check(
            "awk '/MemFree/ { print int($2 / 1024) }' /proc/meminfo"))
        out = res.check(
            "echo 0 > /proc/sys/vm/compact_unevictable_allowed; "
            "echo 3 > /proc/sys/vm/drop_caches; "
            "/bin/canary %d %d > /mnt/tmp/canary.out 2>&1 & "
            "while ! grep -qs armed /mnt/tmp/canary.out; do "
            "pidof canary >/dev/null || break; sleep 0.2; done; "
            "cat /mnt/tmp/canary.out" % (resume_pfn, max(free_mib - 80, 16)),
            timeout=300)
        held = "canary: holds pfn" in out
        tap.diag(out.strip())

        progress("hibernate: migrate the restored guest")
        dst = VM(opts.qemu, "resume-dst", res_args, rundir, incoming=True)
        info = migrate(res, dst, params={"max-bandwidth": opts.bandwidth})
        rec = summarize("fpb-hibernate", info)
        res.kill()
        dst.buf = b""
        out = dst.check(CANARY_VERIFY, timeout=300)
        pc = dst.run("sha256sum -c /mnt/tmp/pc.sums")[0]
        run.check_dmesg(dst)
        stats = run.fpb_stats(dst)
        what = ("hibernate: nothing written into the page the resume "
                "kernel had registered (pfn %d)" % resume_pfn)
        if held:
            tap.ok("canary: ok" in out, what, out)
        else:
            # Free in the image, but the restored kernel took it first.
            tap.skip(what, "the canary could not take that page")
        tap.ok(rec["fpb_skipped_pages"] > 0 and pc == 0 and
               "canary: ok" in out,
               "hibernate: FPB works after resume: migration skipped %d "
               "pages and verifies" % rec["fpb_skipped_pages"],
               "page cache check %d; guest fpb stats: %s"
               % (pc, {k: stats.get(k) for k in
                       ("registered", "header_pfn", "applied", "discarded",
                        "rejected", "last_request")}))
    finally:
        for vm in (hib, res, dst):
            if vm:
                vm.kill()


def t_s3(opts, tap, rundir):
    """Suspend to RAM, QMP system_wakeup, migrate: FPB still skips."""
    args = run.vm_args(opts, "fpb")
    progress("s3: boot, register, suspend to RAM, wake up")
    src = VM(opts.qemu, "s3", args, rundir)
    dst = None
    try:
        src.expect(r"@@READY", 180)
        run.wait_fpb_registered(src)
        modes = src.check("cat /sys/power/mem_sleep")
        if "deep" not in modes:
            raise HarnessError("no S3 (deep) in /sys/power/mem_sleep: %s"
                               % modes.strip())
        src.check("echo deep > /sys/power/mem_sleep")
        src.check(run.PAGECACHE_SETUP)
        src.buf = b""
        src.ser.sendall(b"echo mem > /sys/power/state\n")
        deadline = time.monotonic() + 120
        while src.qmp.cmd("query-status")["status"] != "suspended":
            if time.monotonic() > deadline:
                raise HarnessError("guest did not suspend; console: %r"
                                   % src.buf[-500:])
            time.sleep(0.2)
        time.sleep(1)
        src.qmp.cmd("system_wakeup")
        _, m = src.expect(r"@@DONE (\d+)\r?\n", 180)
        if m.group(1) != b"0":
            raise HarnessError("echo mem > /sys/power/state failed (%s)"
                               % m.group(1).decode())
        dst = VM(opts.qemu, "s3-dst", args, rundir, incoming=True)
        info = migrate(src, dst, params={"max-bandwidth": opts.bandwidth})
        rec = summarize("fpb-s3", info)
        src.kill()
        dst.buf = b""
        dst.check(run.PAGECACHE_VERIFY)
        run.check_dmesg(dst)
        stats = run.fpb_stats(dst)
        tap.ok(rec["fpb_skipped_pages"] > 0,
               "s3: after suspend and system_wakeup, a migration skipped %d "
               "pages and verifies" % rec["fpb_skipped_pages"],
               "guest fpb stats: %s" % {k: stats.get(k) for k in
                                        ("registered", "applied", "discarded",
                                         "rejected", "last_request")})
    finally:
        src.kill()
        if dst:
            dst.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--kimg", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--mem", default="512M")
    ap.add_argument("--bandwidth", type=int, default=256 << 20)
    opts = ap.parse_args()
    # Booted by the firmware, not through PVH: see scripts/kimage.sh.
    opts.kernel = os.path.join(opts.kimg, "bzImage")
    tap = Tap()
    rundir = fpbmig.new_rundir(TOP)
    tests = [("hibernate", t_hibernate, 3), ("s3", t_s3, 1)]
    fpb = run.has_fpb(opts)
    for name, fn, count in tests:
        if opts.only and name not in opts.only:
            continue
        if not fpb:
            for _ in range(count):
                tap.skip(name, "this QEMU has no kvm-pv-fpb (make qemu)")
            continue
        try:
            fn(opts, tap, rundir)
        except HarnessError as e:
            for _ in range(count):
                tap.ok(False, name, e)
    tap.diag("logs in %s" % rundir)
    sys.exit(tap.done())


if __name__ == "__main__":
    main()
