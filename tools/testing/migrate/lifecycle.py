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


def hold_page(vm, pfn):
    """Start the canary on @pfn; True if it took that page."""
    free_mib = int(vm.check(
        "awk '/MemFree/ { print int($2 / 1024) }' /proc/meminfo"))
    out = vm.check(
        "echo 0 > /proc/sys/vm/compact_unevictable_allowed; "
        "echo 3 > /proc/sys/vm/drop_caches; "
        "/bin/canary %d %d > /mnt/tmp/canary.out 2>&1 & "
        "while ! grep -qs armed /mnt/tmp/canary.out; do "
        "pidof canary >/dev/null || break; sleep 0.2; done; "
        "cat /mnt/tmp/canary.out" % (pfn, max(free_mib - 80, 16)),
        timeout=300)
    return "canary: holds pfn" in out, out.strip()


def canary_verdict(tap, held, out, what):
    """The canary's result on the destination, or a SKIP if it never got
    its page (another user took it first)."""
    if held:
        tap.ok("canary: ok" in out, what, out)
    else:
        tap.skip(what, "the canary could not take that page")


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
        held, out = hold_page(res, resume_pfn)
        tap.diag(out)

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
        # Free in the image, but the restored kernel may have taken it.
        canary_verdict(tap, held, out,
                       "hibernate: nothing written into the page the resume "
                       "kernel had registered (pfn %d)" % resume_pfn)
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


# What a kexec'd or crash kernel boots with: the harness's command line
# without fpb.enable, so that a registration left over from the old kernel
# would be the only one.
NEXT_CMDLINE = "console=ttyS0 panic=-1 quiet loglevel=1"
CRASH_CMDLINE = NEXT_CMDLINE + " nr_cpus=1 reset_devices irqpoll"
TRACE = ["-trace", "fpb_hypercall", "-trace", "fpb_request"]


def trace_ops(vm, since=0):
    """REGISTER (1) / UNREGISTER (2) hypercalls and requests written, in
    QEMU's trace from offset @since of its log: [(what, value)]."""
    with open(vm.log_path, errors="replace") as f:
        f.seek(since)
        text = f.read()
    return [("request", m.group(3)) if m.group(3) else (m.group(1), m.group(2))
            for m in re.finditer(r"fpb_hypercall op ([12]) a1 0x([0-9a-f]+)|"
                                 r"fpb_request request (\d+)", text)]


def log_size(vm):
    return os.path.getsize(vm.log_path)


def boot_and_load(opts, rundir, vms, name, append, flags, cmdline):
    """Boot a traced guest with FPB registered, have kexec-load load the
    image's kernel and initramfs (@flags: "" or "-p", the crash kernel);
    the VM (appended to @vms) and its header's pfn."""
    vm = VM(opts.qemu, name, run.vm_args(opts, "fpb", append) + TRACE, rundir)
    vms.append(vm)
    vm.expect(r"@@READY", 180)
    run.wait_fpb_registered(vm)
    vm.check("kexec-load %s /boot/bzImage /boot/initrd.cpio '%s'"
             % (flags, cmdline))
    return vm, run.fpb_stat(vm, "header_pfn")


def reboot_into_next(vm, trigger):
    """Send @trigger, which never returns, and wait for the next kernel."""
    vm.buf = b""
    vm.ser.sendall(trigger.encode() + b"\n")
    vm.expect(r"@@READY", 300)


def system_ram(vm):
    """The kernel's System RAM ranges, from /proc/iomem: [(first, last)]."""
    return [(int(a, 16), int(b, 16)) for a, b in re.findall(
        r"^\s*([0-9a-f]+)-([0-9a-f]+) : System RAM$",
        vm.check("cat /proc/iomem"), re.M)]


def migrate_next(opts, rundir, src, name):
    """Migrate @src to a new QEMU (same arguments); return it and the record."""
    dst = VM(opts.qemu, name, src.args, rundir, incoming=True)
    info = migrate(src, dst, params={"max-bandwidth": opts.bandwidth})
    rec = summarize("fpb-" + name, info)
    src.kill()
    dst.buf = b""
    return dst, rec


def t_kexec(opts, tap, rundir):
    """kexec while registered: the reboot notifiers unregister the old
    kernel's header before the jump.  The new kernel (no FPB) holds that
    page in a canary across a migration; then it loads FPB and the next
    migration skips pages."""
    progress("kexec: boot, register, kexec into a kernel without FPB")
    vms = []
    try:
        src, old = boot_and_load(opts, rundir, vms, "kexec", "", "",
                                 NEXT_CMDLINE)
        mark = log_size(src)
        reboot_into_next(src, "kexec-load -e")
        ops = trace_ops(src)
        after = trace_ops(src, mark)
        tap.ok(any(w == "2" for w, _ in after) and ops[-1][0] == "2",
               "kexec: the old kernel unregistered its header (pfn %d) "
               "before the jump" % old,
               "hypercalls since the kexec: %s; last 4: %s"
               % (after, ops[-4:]))
        held, out = hold_page(src, old)
        tap.diag(out)
        src.check(SMALL_PC)
        mark = log_size(src)
        dst, rec = migrate_next(opts, rundir, src, "kexec-dst")
        vms.append(dst)
        out = dst.check(CANARY_VERIFY, timeout=300)
        pc = dst.run("sha256sum -c /mnt/tmp/pc.sums")[0]
        requests = [v for w, v in trace_ops(src, mark) if w == "request"]
        tap.ok(not requests and rec["fpb_skipped_pages"] == 0 and pc == 0,
               "kexec: no request written and nothing skipped while the "
               "new kernel runs without FPB; its page cache verifies",
               "requests %s, skipped %d, sha256sum -c %d"
               % (requests, rec["fpb_skipped_pages"], pc))
        canary_verdict(tap, held, out,
                       "kexec: nothing written into the old header's page, "
                       "now the new kernel's (pfn %d)" % old)

        progress("kexec: load FPB in the new kernel, migrate again")
        dst.check("insmod /lib/fpb/fpb.ko enable=1")
        run.wait_fpb_registered(dst)
        dst.check(SMALL_PC)
        dst2, rec = migrate_next(opts, rundir, dst, "kexec-dst2")
        vms.append(dst2)
        pc = dst2.run("sha256sum -c /mnt/tmp/pc.sums")[0]
        run.check_dmesg(dst2)
        tap.ok(rec["fpb_skipped_pages"] > 0 and pc == 0,
               "kexec: FPB in the new kernel: migration skipped %d pages and "
               "verifies" % rec["fpb_skipped_pages"])
    finally:
        for vm in vms:
            vm.kill()


def t_kdump(opts, tap, rundir):
    """A panic boots the crash kernel in the crashkernel= reservation; no
    reboot or panic notifier runs first, so the old kernel's header stays
    registered.  It must lie outside the crash kernel's RAM; the crash
    kernel migrates with nothing skipped; once it loads FPB itself, a
    migration skips pages and the old kernel's memory (/proc/vmcore)
    arrives unchanged."""
    progress("kdump: boot with crashkernel=, register, load the crash kernel")
    vms = []
    try:
        src, old = boot_and_load(opts, rundir, vms, "kdump",
                                 "crashkernel=256M", "-p", CRASH_CMDLINE)
        reboot_into_next(src, "echo c > /proc/sysrq-trigger")
        if "/proc/vmcore" not in src.check("ls /proc/vmcore || true"):
            raise HarnessError("the crash kernel has no /proc/vmcore")
        ram = system_ram(src)
        ops = trace_ops(src)
        tap.ok(ops and ops[-1] == ("1", "%x" % (old << 12)) and
               not any(a <= old << 12 <= b for a, b in ram),
               "kdump: the old kernel's header, still registered (pfn %d), "
               "lies outside the crash kernel's RAM" % old,
               "last hypercalls %s; crash kernel System RAM %s"
               % (ops[-4:], ["%x-%x" % r for r in ram]))
        src.check(SMALL_PC)
        mark = log_size(src)
        dst, rec = migrate_next(opts, rundir, src, "kdump-dst")
        vms.append(dst)
        pc = dst.run("sha256sum -c /mnt/tmp/pc.sums")[0]
        requests = [v for w, v in trace_ops(src, mark) if w == "request"]
        tap.ok(rec["fpb_skipped_pages"] == 0 and pc == 0,
               "kdump: the crash kernel migrates, nothing skipped (%d "
               "requests went to the dead kernel's header), its page cache "
               "verifies" % len(requests),
               "skipped %d, sha256sum -c %d" % (rec["fpb_skipped_pages"], pc))

        progress("kdump: FPB in the crash kernel; /proc/vmcore across a "
                 "migration")
        dst.check("insmod /lib/fpb/fpb.ko enable=1")
        run.wait_fpb_registered(dst)
        before = dst.check("sha256sum /proc/vmcore", timeout=600).split()[0]
        dst2, rec = migrate_next(opts, rundir, dst, "kdump-dst2")
        vms.append(dst2)
        after = dst2.check("sha256sum /proc/vmcore", timeout=600).split()[0]
        pc = dst2.run("sha256sum -c /mnt/tmp/pc.sums")[0]
        tap.ok(rec["fpb_skipped_pages"] > 0 and pc == 0 and before == after,
               "kdump: FPB in the crash kernel skipped %d pages; the dump of "
               "the old kernel's memory is unchanged" % rec["fpb_skipped_pages"],
               "sha256 of /proc/vmcore before %s, after %s; sha256sum -c %d"
               % (before, after, pc))
    finally:
        for vm in vms:
            vm.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--kimg", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--kexec-image",
                    help="the image with kexec-load, /boot/bzImage and "
                    "/boot/initrd.cpio, for kexec and kdump")
    ap.add_argument("--mem", default="512M")
    ap.add_argument("--bandwidth", type=int, default=256 << 20)
    opts = ap.parse_args()
    # Booted by the firmware, not through PVH: see scripts/kimage.sh.
    opts.kernel = os.path.join(opts.kimg, "bzImage")
    tap = Tap()
    rundir = fpbmig.new_rundir(TOP)
    tests = [("hibernate", t_hibernate, 3, False), ("s3", t_s3, 1, False),
             ("kexec", t_kexec, 4, True), ("kdump", t_kdump, 3, True)]
    fpb = run.has_fpb(opts)
    for name, fn, count, kexec in tests:
        if opts.only and name not in opts.only:
            continue
        why = None
        if not fpb:
            why = "this QEMU has no kvm-pv-fpb (make qemu)"
        elif kexec and not opts.kexec_image:
            why = "no --kexec-image"
        if why:
            for _ in range(count):
                tap.skip(name, why)
            continue
        o = opts
        if kexec:
            o = argparse.Namespace(**vars(opts))
            o.image, o.mem = opts.kexec_image, "1G"
        try:
            fn(o, tap, rundir)
        except HarnessError as e:
            for _ in range(count):
                tap.ok(False, name, e)
    tap.diag("logs in %s" % rundir)
    sys.exit(tap.done())


if __name__ == "__main__":
    main()
