#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Migrate a hostile FPB guest under TCG and check that QEMU holds.

The guest loads tools/testing/hostile/fpb_hostile.ko, which talks the
FPB ABI directly and lies: it marks ROM shadow, VGA window and VRAM pages
free, puts its header or bitmaps in VRAM, the ROM shadow, page 0 or beyond
RAM, registers a chunk table reaching past RAM, floods the host with
hypercalls.  A bad guest may cost the optimization, never the migration:
QEMU must stay up, the destination must load and run the guest, the ROM
shadow and VRAM must be identical on both sides, and the pages dropped
must be ordinary RAM only (the module's own pages, which it fills with a
pattern: on the destination a dropped one reads as zero).

usage: hostile.py --qemu QEMU --kimg DIR --image CPIO [--only CASE...]
"""

import argparse
import filecmp
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "migrate"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import fpbmig  # noqa: E402
import run  # noqa: E402
from fpbmig import HarnessError, VM  # noqa: E402
from fpbtap import Tap  # noqa: E402

TOP = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
KO = "/lib/fpb/fpb_hostile.ko"
STATUS = "/sys/kernel/debug/fpb_hostile/status"
ROM = (0xc0000, 0x40000)        # the PAM-controlled ROM shadows
EINVAL = -22                    # -KVM_EINVAL
# 64 KiB of RAM right after the legacy hole that the guest kernel leaves
# alone: the module owns it, fills it with a pattern and marks it free.
OWN_APPEND = "memmap=64K$0x100000"
OWN = "own=0x100-0x10f"


class Case:
    def __init__(self, opts, tap, rundir, name):
        self.opts, self.tap, self.rundir, self.name = opts, tap, rundir, name
        self.vms = []

    def ok(self, cond, what, diag=""):
        return self.tap.ok(cond, "%s: %s" % (self.name, what), diag)

    def vm(self, mem, role, incoming=False, append=""):
        o = argparse.Namespace(**vars(self.opts))
        o.mem = mem
        args = run.vm_args(o, "fpb-nomod", append) + ["-device", "VGA"]
        vm = VM(o.qemu, "%s-%s" % (self.name, role), args, self.rundir,
                incoming=incoming)
        self.vms.append(vm)
        if not incoming:
            vm.expect(r"@@READY", 180)
        return vm

    def kill(self):
        for vm in self.vms:
            vm.kill()


def status(vm):
    """The module's status file as {key: value or [values]}."""
    st = {}
    for line in vm.check("cat " + STATUS).splitlines():
        f = line.split()
        if not f:
            continue
        vals = [int(x, 0) if x.lstrip("-").isdigit() or x.startswith("0x")
                else x for x in f[1:]]
        key = f[0] if f[0] not in ("bm", "rotate") else " ".join(f[:2])
        st[key] = vals[0] if len(vals) == 1 else vals
    return st


def insmod(vm, params):
    out = vm.check("insmod %s %s && cat %s" % (KO, params, STATUS))
    return status(vm), out


def alive(vm, guest=True):
    """QEMU answers QMP and (unless paused) the guest its console."""
    vm.qmp.cmd("query-status")
    if guest:
        vm.check("true", timeout=60)
    return True


def dump(vm, what, gpa, size, stop=False):
    """The guest-physical range as bytes, through QMP pmemsave."""
    path = os.path.join(vm.log_path[:-4] + ".%s.bin" % what)
    if stop:
        vm.qmp.cmd("stop")
    try:
        vm.qmp.cmd("pmemsave", val=gpa, size=size, filename=path)
    finally:
        if stop:
            vm.qmp.cmd("cont")
    return path


def same_memory(src, dst, what, gpa, size):
    a = dump(src, what, gpa, size)
    b = dump(dst, what, gpa, size, stop=True)
    if filecmp.cmp(a, b, shallow=False):
        return True, ""
    with open(a, "rb") as fa, open(b, "rb") as fb:
        da, db = fa.read(), fb.read()
    pages = [i for i in range(0, size, 4096) if da[i:i + 4096] != db[i:i + 4096]]
    return False, "%d pages differ, first at 0x%x (%s vs %s)" % (
        len(pages), gpa + pages[0], a, b)


def migrate(case, src, mem, params=None, during=None, append=""):
    """Migrate @src to a fresh destination; the final query-migrate."""
    dst = case.vm(mem, "dst", incoming=True, append=append)
    p = {"max-bandwidth": case.opts.bandwidth}
    p.update(params or {})
    started = fpbmig.start_migration(src, dst, params=p)
    try:
        if during:
            during(src)
        info = fpbmig.wait_migration(src, dst, started)
    except (HarnessError, OSError) as e:
        try:
            dst.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        with open(dst.log_path) as f:
            tail = f.read()[-600:]
        raise HarnessError("%s; source says %s; destination exit status %s, "
                           "log: %s" % (e, src.qmp.cmd("query-migrate").get(
                               "status"), dst.proc.returncode, tail))
    dst.buf = b""
    return dst, info


def fpb_counts(info):
    ram = info.get("ram", {})
    return {k: ram.get("fpb-" + k) for k in (
        "skipped-pages", "snapshots-applied", "snapshots-discarded",
        "hypercalls-refused")}


def common_checks(case, src, dst, info, vram=None):
    """QEMU up on both sides, the destination running and its guest
    answering; ROM shadow (and VRAM) identical on both sides."""
    case.ok(alive(src, guest=False) and alive(dst) and
            dst.qmp.cmd("query-status")["status"] == "running",
            "migration completed, both QEMUs answer QMP, the destination "
            "runs the guest")
    same, why = same_memory(src, dst, "rom", *ROM)
    case.ok(same, "ROM shadow 0xc0000-0xfffff identical on source and "
            "destination", why)
    if vram:
        same, why = same_memory(src, dst, "vram", *vram)
        case.ok(same, "VRAM 0x%x-0x%x identical on source and destination"
                % (vram[0], vram[0] + vram[1] - 1), why)
    run.check_dmesg(dst)


def t_rom_shadow(case):
    """Point 1: the ROM shadows 0xc0000-0xeffff marked free.  Today's
    QEMU dropped them (pc.ram behind a read-only PAM alias) and the
    destination failed to load kvm-tpr-opt."""
    src = case.vm("1G", "src")
    st, out = insmod(src, "free=0xc0-0xef")
    if st.get("register") != 0:
        raise HarnessError("register failed: " + out)
    dst, info = migrate(case, src, "1G")
    common_checks(case, src, dst, info)
    c = fpb_counts(info)
    case.ok(c["skipped-pages"] == 0 and c["snapshots-applied"] >= 1,
            "snapshots applied, nothing dropped: 0xc0-0xef is no ordinary "
            "RAM (%s)" % c)


def t_vram_bios(case):
    """Point 1: with 3 GiB the chunk table legitimately covers the PCI
    hole; VRAM and the BIOS shadow 0xf0000-0xfffff marked free."""
    src = case.vm("3G", "src")
    st, out = insmod(src, "free=vram,0xf0-0xff vram_fill=1")
    if st.get("register") != 0 or not st["vram"][1]:
        raise HarnessError("register failed or no VGA: " + out)
    vram = (st["vram"][0], st["vram"][1])
    dst, info = migrate(case, src, "3G")
    common_checks(case, src, dst, info, vram)
    c = fpb_counts(info)
    case.ok(c["skipped-pages"] == 0 and c["snapshots-applied"] >= 1,
            "snapshots applied, nothing dropped: VRAM and BIOS shadow are "
            "no ordinary RAM (%s)" % c)


def t_register_places(case):
    """Point 2: REGISTER refused for a header outside ordinary RAM or a
    chunk table reaching past it; accepted in RAM."""
    vm = case.vm("1G", "src")
    tries = [
        ("hdr=ram nr_chunks=9", "a chunk table one chunk past 1 GiB of RAM"),
        ("hdr=ram nr_chunks=32", "a chunk table up to the BIOS ROM at 4 GiB"),
        ("hdr=vram", "the header in VRAM"),
        ("hdr=rom pam_rw=1", "the header in the ROM shadow, made writable"),
        # The header the case before wrote is still there, read-only now.
        ("hdr=rom", "the header in the ROM shadow, read-only"),
        ("hdr=zero", "the header at GPA 0"),
        ("hdr=beyond", "the header beyond RAM"),
    ]
    for params, what in tries:
        st, out = insmod(vm, params)
        vm.check("rmmod fpb_hostile")
        case.ok(st.get("register") == EINVAL, "%s: REGISTER refused (%s)"
                % (what, st.get("register")), out)
    st, out = insmod(vm, "hdr=ram")
    case.ok(st.get("register") == 0 and st["nr_chunks"] == 8,
            "the header in RAM, 8 chunks: REGISTER accepted", out)
    alive(vm)


def t_bitmap_place(case, where, params=""):
    """Point 2: chunk 0's bitmap outside ordinary RAM (ROM shadow, VRAM,
    page 0), marking the module's own pages free: every such snapshot
    refused, nothing dropped, ROM and VRAM intact."""
    src = case.vm("1G", "src", append=OWN_APPEND)
    st, out = insmod(src, "bm=%s %s vram_fill=1 %s" % (where, OWN, params))
    if st.get("register") != 0 or not st.get("owned"):
        raise HarnessError("register failed or no page owned: " + out)
    vram = (st["vram"][0], st["vram"][1])
    dst, info = migrate(case, src, "1G", append=OWN_APPEND)
    common_checks(case, src, dst, info, vram)
    st = status(dst)
    # Answers after the last sync are discarded unread (KVM_FPB_DISCARDED).
    case.ok(st["refused"] >= 1 and st["applied"] == 0,
            "no snapshot with its bitmap at %s %s applied: %d refused, %d "
            "discarded unread, of %d" % (where, hex(st["bm " + where][1]),
                                         st["refused"], st["discarded"],
                                         st["answers"]), st)
    c = fpb_counts(info)
    case.ok(c["skipped-pages"] == 0 and st["owned_intact"] == st["owned"],
            "nothing dropped (%s; %d of %d owned pages intact)" % (
                c, st["owned_intact"], st["owned"]))


def t_straddle(case):
    """Point 3: one run of free pages from the VGA window (0xa0) through
    the ROM shadow into the module's own RAM pages 0x100-0x10f (which the
    guest kernel leaves alone, memmap=).  Today's
    QEMU stopped at the first non-RAM stretch and dropped nothing."""
    src = case.vm("1G", "src", append=OWN_APPEND)
    st, out = insmod(src, "free=0xa0-0xff " + OWN)
    if st.get("register") != 0 or not st.get("owned"):
        raise HarnessError("register failed or no page owned: " + out)
    dst, info = migrate(case, src, "1G", append=OWN_APPEND)
    common_checks(case, src, dst, info)
    st = status(dst)
    c = fpb_counts(info)
    case.ok(st["owned_zero"] == st["owned"] and
            c["skipped-pages"] == st["owned"],
            "exactly the run's ordinary RAM pages dropped: %d of %d owned "
            "pages zero on the destination, %s pages skipped" % (
                st["owned_zero"], st["owned"], c["skipped-pages"]), st)


def t_storm(case):
    """Point 4: after its first answer the guest repeats it without pause
    for 3 s.  Refused hypercalls are counted apart; the snapshot counters
    count snapshots, at most one per request (one per dirty sync)."""
    src = case.vm("1G", "src", append=OWN_APPEND)
    st, out = insmod(src, OWN + " storm_ms=3000")
    if st.get("register") != 0:
        raise HarnessError("register failed: " + out)
    # Slow enough that the storm runs while the migration does.
    dst, info = migrate(case, src, "1G", {"max-bandwidth": 64 << 20},
                        append=OWN_APPEND)
    common_checks(case, src, dst, info)
    c = fpb_counts(info)
    syncs = info["ram"]["dirty-sync-count"]
    st = status(dst)
    case.ok(c["snapshots-applied"] is not None and
            c["snapshots-discarded"] is not None and
            c["snapshots-applied"] + c["snapshots-discarded"] <= syncs,
            "snapshots applied + discarded <= dirty syncs (%s, %d syncs)"
            % (c, syncs))
    case.ok((c["hypercalls-refused"] or 0) >= 1000,
            "the storm counted as refused hypercalls (%s of %d calls)"
            % (c["hypercalls-refused"], st["storm_calls"]))


CASES = [
    ("rom-shadow", t_rom_shadow),
    ("vram-bios", t_vram_bios),
    ("register-places", t_register_places),
    ("bitmap-rom", lambda c: t_bitmap_place(c, "rom", "pam_rw=1")),
    ("bitmap-vram", lambda c: t_bitmap_place(c, "vram")),
    ("bitmap-zero", lambda c: t_bitmap_place(c, "zero")),
    ("straddle", t_straddle),
    ("storm", t_storm),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--kimg", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--bandwidth", type=int, default=256 << 20)
    ap.add_argument("--only", nargs="*")
    opts = ap.parse_args()
    tap = Tap()
    rundir = fpbmig.new_rundir(TOP)
    for name, fn in CASES:
        if opts.only and name not in opts.only:
            continue
        case = Case(opts, tap, rundir, name)
        try:
            fn(case)
        except (HarnessError, OSError) as e:
            case.ok(False, "ran to the end", e)
        finally:
            case.kill()
    tap.diag("logs in %s" % rundir)
    sys.exit(tap.done())


if __name__ == "__main__":
    main()
