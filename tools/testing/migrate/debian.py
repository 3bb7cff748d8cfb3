#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Migrate a real Debian guest, FPB installed from its package.

The guest is the bookworm image of scripts/debian-image.sh: systemd, the
fpb-dkms package installed with dpkg and built by DKMS, nothing loaded by
hand (systemd-modules-load loads fpb through /etc/modules-load.d/fpb.conf,
kmod passes fpb.* options from the kernel command line).  Each boot runs
on its own qcow2 overlay of the image, which the destination QEMU opens
too (shared storage on one host).

Two boots per kernel: with fpb.enable=1 on the command line the module
registers, files written before the migration verify after it and FPB
skips pages; without it the module is loaded all the same, does not
register, and the migration skips nothing.  --no-host: one more boot with
fpb.enable=1 on a QEMU that does not offer FPB, which the guest must take
in its stride.

usage: debian.py --qemu QEMU --image DIR --kimg SERIES=DIR...
                 [--off SERIES...] [--no-host SERIES...] [--mem 1G]
"""

import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import fpbmig  # noqa: E402
from fpbmig import HarnessError, VM, migrate, summarize  # noqa: E402
from fpbtap import Tap  # noqa: E402
from run import check_dmesg, fpb_stats  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

# Files written before the migration, checked after it: in tmpfs (guest
# RAM only) and on the disk (page cache over the shared disk).
FILES_WRITE = (
    "set -e; mkdir -p /dev/shm/fpb /var/tmp/fpb; "
    "for i in 1 2 3 4; do "
    "head -c 16777216 /dev/urandom > /dev/shm/fpb/f$i; "
    "head -c 16777216 /dev/urandom > /var/tmp/fpb/f$i; done; "
    "sha256sum /dev/shm/fpb/f* /var/tmp/fpb/f* > /dev/shm/fpb.sums; "
    "cat /dev/shm/fpb.sums")
FILES_VERIFY = "sha256sum -c /dev/shm/fpb.sums"


def vm_args(opts, series, overlay, append):
    cmdline = "root=/dev/vda rw console=ttyS0 panic=-1 " + append
    release = os.path.basename(os.path.realpath(opts.kimg[series]))
    initrd = os.path.join(opts.image, "initrd.img-%s-amd64" % release)
    if not os.path.exists(initrd):
        raise HarnessError("no %s in the image (kernels: %s)" % (
            initrd, ", ".join(f for f in os.listdir(opts.image)
                              if f.startswith("initrd"))))
    # cache=unsafe: both QEMUs run on this host and share its page cache,
    # so flushes to stable storage buy nothing here.
    return ["-L", "/usr/share/seabios", "-L", "/usr/share/qemu",
            "-accel", "tcg", "-machine", "q35", "-cpu", "max,kvm-pv-fpb=on",
            "-smp", "1", "-m", opts.mem, "-nodefaults", "-display", "none",
            "-no-reboot",
            "-kernel", os.path.join(opts.kimg[series], "vmlinux"),
            "-initrd", initrd, "-append", cmdline.strip(),
            "-drive", "file=%s,format=qcow2,if=virtio,cache=unsafe" % overlay]


def new_overlay(opts, rundir, name):
    path = os.path.join(rundir, name + ".qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw",
                    "-b", os.path.join(opts.image, "disk.raw"), path],
                   check=True)
    return path


def boot(opts, rundir, series, enable, host_fpb=True):
    """Boot to the end of systemd's start-up; return (vm, args, state,
    seconds).  host_fpb=False: QEMU does not offer FPB."""
    name = "%s-%s" % (series, "on" if enable else "off")
    if not host_fpb:
        name += "-nohost"
    overlay = new_overlay(opts, rundir, name)
    args = vm_args(opts, series, overlay, "fpb.enable=1" if enable else "")
    if not host_fpb:
        args[args.index("-cpu") + 1] = "max"
    t0 = time.monotonic()
    vm = VM(opts.qemu, name, args, rundir)
    vm.overlay = overlay
    try:
        _, m = vm.expect(r"@@READY (\w+)\r?\n", opts.boot_timeout)
    except Exception:
        done_with(vm)
        raise
    return vm, args, m.group(1).decode(), time.monotonic() - t0


def done_with(vm, dst=None):
    """Kill the boot's QEMUs and remove its overlay (tens of MB; the
    logs stay in the run directory)."""
    vm.kill()
    if dst:
        dst.kill()
    if os.path.exists(vm.overlay):
        os.unlink(vm.overlay)


def loaded_by_systemd(tap, vm, what):
    """systemd-modules-load inserted fpb, from DKMS's tree, and succeeded."""
    # By its syslog identifier, not by unit: journald cannot tell the unit
    # of a process that has already exited.
    journal = vm.check("journalctl -b -o cat -t systemd-modules-load")
    state = [vm.check("systemctl show -P %s systemd-modules-load.service" % p).strip()
             for p in ("ActiveState", "Result")]
    tap.ok("Inserted module 'fpb'" in journal and state == ["active", "success"],
           "%s: systemd-modules-load inserted fpb (unit %s)" % (what, "/".join(state)),
           journal)
    live = vm.check("cat /sys/module/fpb/initstate /sys/module/fpb/taint "
                    "2>&1 || true").split()
    path = vm.check("modinfo -n fpb").strip()
    release = vm.check("uname -r").strip()
    # The only fpb on the system is DKMS's, out of tree (taint O).
    tap.ok(live[:1] == ["live"] and "O" in "".join(live[1:])
           and re.fullmatch(r"/lib/modules/%s/updates/dkms/fpb\.ko(\.xz|\.zst)?"
                            % re.escape(release), path) is not None,
           "%s: fpb is loaded, DKMS's build for %s (%s)" % (what, release, path),
           " ".join(live))


def one_boot(opts, tap, rundir, series, enable):
    what = "%s, %s" % (series, "fpb.enable=1" if enable else "no fpb option")
    src, args, state, secs = boot(opts, rundir, series, enable)
    dst = None
    try:
        failed = "" if state == "running" else vm_check_quiet(
            src, "systemctl --failed --no-legend; journalctl -b -p err -o cat")
        tap.ok(state == "running", "%s: boots to systemd state '%s' in %.0f s"
               % (what, state, secs), failed)
        loaded_by_systemd(tap, src, what)
        param = src.check("cat /sys/module/fpb/parameters/enable").strip()
        dmesg = src.check("dmesg | grep 'fpb:' || true")
        if enable:
            tap.ok(param == "Y", "%s: kmod passed the option from the command "
                   "line (enable=%s)" % (what, param))
            stats = fpb_stats(src)
            tap.ok(stats.get("registered") == 1 and "fpb: registered" in dmesg,
                   "%s: the module registered with the host" % what,
                   "%s\n%s" % (dmesg, stats))
        else:
            debugfs = src.check("mountpoint -q /sys/kernel/debug && "
                                "ls /sys/kernel/debug/fpb 2>&1 || true")
            tap.ok(param == "N" and "fpb: off" in dmesg
                   and "fpb: registered" not in dmesg
                   and "No such file" in debugfs,
                   "%s: the module is loaded idle (enable=%s, not registered, "
                   "no debugfs directory)" % (what, param),
                   "%s\n%s" % (dmesg, debugfs))
        sums = src.check(FILES_WRITE)
        job = src.check("/usr/local/bin/job %d" % opts.job, timeout=600).strip()
        tap.diag("%s: %s" % (what, job))
        dst = VM(opts.qemu, "dst-" + os.path.basename(src.name), args, rundir,
                 incoming=True)
        info = migrate(src, dst, params={"max-bandwidth": opts.bandwidth})
        rec = summarize("fpb" if enable else "fpb-off", info)
        src.kill()
        dst.buf = b""
        out = dst.run(FILES_VERIFY)
        tap.ok(out[0] == 0 and sums.count("\n") == 8,
               "%s: the files written before the migration verify after it"
               % what, out[1])
        check_dmesg(dst)
        if enable:
            tap.ok(rec["fpb_skipped_pages"] > 0,
                   "%s: FPB skipped %d pages (%d MB sent in %d ms)" % (
                       what, rec["fpb_skipped_pages"],
                       (rec["transferred_bytes"] or 0) / 1e6, rec["total_time_ms"]))
        else:
            tap.ok(rec["fpb_skipped_pages"] == 0,
                   "%s: the migration skipped nothing (%d pages; %d MB sent in "
                   "%d ms)" % (what, rec["fpb_skipped_pages"],
                               (rec["transferred_bytes"] or 0) / 1e6,
                               rec["total_time_ms"]))
        state = dst.check("systemctl is-system-running || true").strip()
        tap.ok(state == "running", "%s: the destination runs on (systemd state "
               "'%s')" % (what, state))
    finally:
        done_with(src, dst)


def no_host_boot(opts, tap, rundir, series):
    """An image with fpb.enable=1 on a host that does not offer FPB: the
    module refuses to load, saying why, and the boot is not failed."""
    what = "%s, fpb.enable=1, host without FPB" % series
    vm, _, state, secs = boot(opts, rundir, series, True, host_fpb=False)
    try:
        failed = vm.check("systemctl --failed --no-legend")
        tap.ok(state == "running", "%s: boots to systemd state '%s' in %.0f s"
               % (what, state, secs), failed)
        journal = vm.check("journalctl -b -o cat -t systemd-modules-load")
        dmesg = vm.check("dmesg | grep 'fpb:' || true")
        gone = vm.run("test -e /sys/module/fpb")[0] != 0
        tap.ok(gone and "Failed to insert module 'fpb': No such device" in journal
               and "host does not offer KVM_FEATURE_FPB" in dmesg,
               "%s: the module refuses to load, the log says why" % what,
               "%s\n%s" % (journal, dmesg))
    finally:
        done_with(vm)


def vm_check_quiet(vm, cmd):
    try:
        return vm.check(cmd)
    except HarnessError as e:
        return str(e)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--image", required=True,
                    help="directory of scripts/debian-image.sh guest")
    ap.add_argument("--kimg", nargs="+", required=True, metavar="SERIES=DIR",
                    help="kernels to boot: 6.12=DIR of scripts/kimage.sh ...")
    ap.add_argument("--off", nargs="*", default=None, metavar="SERIES",
                    help="series that also boot without the option "
                    "(default: all)")
    ap.add_argument("--no-host", nargs="*", default=[], metavar="SERIES",
                    help="series that also boot with fpb.enable=1 on a QEMU "
                    "that does not offer FPB")
    ap.add_argument("--mem", default="1G")
    ap.add_argument("--job", type=int, default=60)
    ap.add_argument("--bandwidth", type=int, default=256 << 20)
    ap.add_argument("--boot-timeout", type=int, default=300)
    opts = ap.parse_args()
    opts.kimg = dict(k.split("=", 1) for k in opts.kimg)
    tap = Tap()
    rundir = fpbmig.new_rundir(TOP)
    for series in opts.kimg:
        for enable in (True, False):
            if not enable and opts.off is not None and series not in opts.off:
                continue
            try:
                one_boot(opts, tap, rundir, series, enable)
            except HarnessError as e:
                tap.ok(False, "%s, %s" % (series, "fpb.enable=1" if enable
                                          else "no fpb option"), e)
        if series in opts.no_host:
            try:
                no_host_boot(opts, tap, rundir, series)
            except HarnessError as e:
                tap.ok(False, "%s, fpb.enable=1, host without FPB" % series, e)
    tap.diag("logs in %s" % rundir)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
