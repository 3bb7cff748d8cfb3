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
pattern: on the destination a dropped one reads as zero).  It also
makes seq never settle, rewrites its chunk table while the host copies
it, answers requests never made, twice or from an earlier migration,
storms from every vCPU at once, frees its header without UNREGISTER,
calls from user mode and registers at and past every limit.

usage: hostile.py --qemu QEMU --kimg DIR --image CPIO [--only CASE...]
"""

import argparse
import filecmp
import os
import re
import subprocess
import sys
import time

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
# What the guest may do to the source's QMP during a migration: answers at
# most this far apart (the storm-all-cpus case holds query-migrate to 1 s).
QMP_BOUND_S = 2.0
E2BIG = -7                      # -KVM_E2BIG
EPERM = -1                      # -KVM_EPERM: KVM's answer at CPL > 0
DISCARDED = 1                   # KVM_FPB_DISCARDED
# 64 KiB of RAM right after the legacy hole that the guest kernel leaves
# alone: the module owns it, fills it with a pattern and marks it free.
OWN_APPEND = "memmap=64K$0x100000"
OWN = "own=0x100-0x10f"


class Case:
    def __init__(self, opts, tap, rundir, name):
        self.opts, self.tap, self.rundir, self.name = opts, tap, rundir, name
        self.vms = []
        self.smp = 1            # vCPUs of every VM of the case
        self.qemu_extra = []    # more QEMU arguments, likewise

    def ok(self, cond, what, diag=""):
        return self.tap.ok(cond, "%s: %s" % (self.name, what), diag)

    def vm(self, mem, role, incoming=False, append=""):
        o = argparse.Namespace(**vars(self.opts))
        o.mem = mem
        o.smp = self.smp
        args = (run.vm_args(o, "fpb-nomod", append) + ["-device", "VGA"] +
                self.qemu_extra)
        vm = VM(o.qemu, "%s-%s" % (self.name, role), args, self.rundir,
                incoming=incoming)
        self.vms.append(vm)
        if not incoming:
            vm.expect(r"@@READY", 180)
        return vm

    def kill(self):
        for vm in self.vms:
            vm.kill()
        self.vms = []

    def retire(self, vm):
        """Kill @vm, a source whose guest now runs elsewhere."""
        vm.kill()
        self.vms.remove(vm)


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


def load(vm, params, vga=False, owned=False):
    """insmod for an attack that needs REGISTER accepted (and the VGA or
    the owned pages found); the module's status."""
    st, out = insmod(vm, params)
    if st.get("register") != 0 or (vga and not st["vram"][1]) or \
       (owned and not st.get("owned")):
        raise HarnessError("register failed%s%s: %s" % (
            " or no VGA" if vga else "", " or no page owned" if owned else "",
            out))
    return st


def migrate_checked(case, src, mem="1G", params=None, vram=None, during=None,
                    append=OWN_APPEND):
    """migrate() and common_checks(): the destination, the final
    query-migrate, the module's status there and FPB's counters."""
    dst, info = migrate(case, src, mem, params, during=during, append=append)
    common_checks(case, src, dst, info, vram)
    return dst, info, status(dst), fpb_counts(info)


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
    """Migrate @src to a fresh destination; the final query-migrate, with
    "qmp-max-gap": the longest time between two of the source's answers to
    query-migrate, polled every 10 ms (at least the longest round trip)."""
    dst = case.vm(mem, "dst", incoming=True, append=append)
    p = {"max-bandwidth": case.opts.bandwidth}
    p.update(params or {})
    started = fpbmig.start_migration(src, dst, params=p)
    answers = [started[1]]

    def answered(info, _):
        answers.append(time.monotonic())

    try:
        if during:
            # It polls QMP itself (and times its answers).
            during(src)
            answers[:] = [time.monotonic()]
        info = fpbmig.wait_migration(src, dst, started, on_info=answered)
        info["qmp-max-gap"] = max(b - a for a, b in zip(answers, answers[1:]))
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
    """QEMU up on both sides and answering QMP within QMP_BOUND_S during
    the migration, the destination running and its guest answering; ROM
    shadow (and VRAM) identical on both sides."""
    case.ok(alive(src, guest=False) and alive(dst) and
            dst.qmp.cmd("query-status")["status"] == "running" and
            info["qmp-max-gap"] < QMP_BOUND_S,
            "migration completed, both QEMUs answer QMP (the source within "
            "%.2f s during the migration, bound %.0f s), the destination "
            "runs the guest" % (info["qmp-max-gap"], QMP_BOUND_S))
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
    load(src, "free=0xc0-0xef")
    dst, info, st, c = migrate_checked(case, src, append="")
    case.ok(c["skipped-pages"] == 0 and c["snapshots-applied"] >= 1,
            "snapshots applied, nothing dropped: 0xc0-0xef is no ordinary "
            "RAM (%s)" % c)


def t_vram_bios(case):
    """Point 1: with 3 GiB the chunk table legitimately covers the PCI
    hole; VRAM and the BIOS shadow 0xf0000-0xfffff marked free."""
    src = case.vm("3G", "src")
    st = load(src, "free=vram,0xf0-0xff vram_fill=1", vga=True)
    vram = (st["vram"][0], st["vram"][1])
    dst, info, st, c = migrate_checked(case, src, "3G", vram=vram, append="")
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
    st = load(src, "bm=%s %s vram_fill=1 %s" % (where, OWN, params),
              owned=True)
    vram = (st["vram"][0], st["vram"][1])
    dst, info, st, c = migrate_checked(case, src, vram=vram)
    # Answers after the last sync are discarded unread (KVM_FPB_DISCARDED).
    case.ok(st["refused"] >= 1 and st["applied"] == 0,
            "no snapshot with its bitmap at %s %s applied: %d refused, %d "
            "discarded unread, of %d" % (where, hex(st["bm " + where][1]),
                                         st["refused"], st["discarded"],
                                         st["answers"]), st)
    case.ok(c["skipped-pages"] == 0 and st["owned_intact"] == st["owned"],
            "nothing dropped (%s; %d of %d owned pages intact)" % (
                c, st["owned_intact"], st["owned"]))


def t_straddle(case):
    """Point 3: one run of free pages from the VGA window (0xa0) through
    the ROM shadow into the module's own RAM pages 0x100-0x10f (which the
    guest kernel leaves alone, memmap=).  Today's
    QEMU stopped at the first non-RAM stretch and dropped nothing."""
    src = case.vm("1G", "src", append=OWN_APPEND)
    load(src, "free=0xa0-0xff " + OWN, owned=True)
    dst, info, st, c = migrate_checked(case, src)
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
    load(src, OWN + " storm_ms=3000")
    # Slow enough that the storm runs while the migration does.
    dst, info, st, c = migrate_checked(case, src,
                                       params={"max-bandwidth": 64 << 20})
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


def as_list(v):
    """A status value that may hold several numbers, as a list."""
    return v if isinstance(v, list) else [v]


def log_lines(vm, rx):
    """Lines of @vm's QEMU output (stdout and stderr) matching @rx."""
    with open(vm.log_path, errors="replace") as f:
        return [line for line in f if re.search(rx, line)]


def nothing_dropped(case, what, st, c):
    case.ok(c["skipped-pages"] == 0 and st["owned_intact"] == st["owned"],
            "%s: nothing dropped (%s; %d of %d owned pages intact)" % (
                what, c, st["owned_intact"], st["owned"]))


def only_owned(case, what, st, c, most):
    """Every owned page intact or dropped (zero, and counted as skipped),
    and no more than @most pages skipped: nothing but owned pages."""
    case.ok(st["owned_zero"] + st["owned_intact"] == st["owned"] and
            st["owned_zero"] <= c["skipped-pages"] <= most,
            "%s: at most the %d pages marked free dropped, owned pages intact "
            "or zero (%s; %d zero, %d intact of %d)" % (
                what, most, c, st["owned_zero"], st["owned_intact"],
                st["owned"]))


def t_seq(case):
    """Item 1: seq left odd, passed as such and with SNAPSHOT_DONE
    claiming the even value that would follow, then seq moved on by
    another vCPU without pause while the guest answers, so that it never
    holds between the host's reads.  The spec: the host reads seq itself
    (even and equal to a2) and again after each piece it copies; a seq
    left odd means every snapshot discarded, nothing dropped.  One guest,
    migrated three times."""
    case.smp = 2
    src = case.vm("1G", "src", append=OWN_APPEND)
    for attack in ("odd", "claim", "flip"):
        what = "seq %s" % attack
        load(src, "%s seq_attack=%s" % (OWN, attack))
        dst, info, st, c = migrate_checked(case, src)
        syncs = info["ram"]["dirty-sync-count"]
        diag = ("%s; the guest saw %d refused (seq checked on entry), %d "
                "discarded (torn, or after the last sync), %d applied; %d "
                "seq moves" % (c, st["refused"], st["discarded"],
                               st["applied"], st["flips"]))
        if attack != "flip":
            case.ok(c["snapshots-applied"] == 0 and
                    c["snapshots-discarded"] >= 1,
                    "%s: every snapshot discarded (%s)" % (what, diag))
            nothing_dropped(case, what, st, c)
        else:
            # The flipper's vCPU is a host thread, which the host's
            # scheduler may stop for a while: a snapshot whose seq held
            # across the host's reads is the guest's own, and the spec
            # applies it.  One applied while seq moved during the call
            # (moved_applied) was very likely read torn.
            case.ok(st["moved_applied"] == 0 and 1 <= c["snapshots-applied"]
                    + c["snapshots-discarded"] <= syncs,
                    "%s: no snapshot applied while seq moved during the call "
                    "(%d; %d calls during which it held), each request "
                    "answered counted once (%s)" % (
                        what, st["moved_applied"], st["held"], diag))
            only_owned(case, what, st, c, st["owned"])
            if st["held"]:
                # Seen every time under TCG so far, although the flipper
                # moved seq right before each call: the torn path is then
                # not reached, only the checks on entry.
                case.tap.diag("%s: seq held during %d calls: the flipper's "
                              "vCPU did not run while the host read" % (
                                  what, st["held"]))
        dst.check("rmmod fpb_hostile")
        case.retire(src)
        src = dst


def t_chunk_flip(case):
    """Item 2: another vCPU rewrites chunk 0's table entry without pause
    while the host copies, alternating between its bitmap (every owned page
    free) and a second bitmap marking half of them, VRAM (filled with a
    pattern: as a bitmap, nearly every page of chunk 0 free) or 4 GiB,
    beyond the 1 GiB of RAM.  The host validates the table it copied and
    reads the bitmaps it validated: at most the owned pages are dropped,
    ROM and VRAM intact.  One guest, migrated three times."""
    case.smp = 2
    src = case.vm("1G", "src", append=OWN_APPEND)
    # Not "beyond" (the first GPA past RAM, 1 GiB here): below 4 GiB q35
    # maps nothing there, but 4 GiB is also where a larger guest's RAM
    # would continue.
    for alt in ("ram", "vram", "0x100000000"):
        what = "chunk 0 alternating with %s" % alt
        st = load(src, "%s chunk_flip=%s vram_fill=1" % (OWN, alt), vga=True)
        vram = (st["vram"][0], st["vram"][1])
        dst, info, st, c = migrate_checked(case, src, vram=vram)
        only_owned(case, what, st, c, st["owned"])
        if alt == "ram":
            # Both entries are valid: whichever the host copied applies.
            case.ok(c["snapshots-applied"] >= 1 and st["owned_zero"] >=
                    st["owned"] // 2, "%s: snapshots applied (%s, %d entry "
                    "rewrites)" % (what, c, st["flips"]))
        else:
            case.ok(c["snapshots-applied"] + c["snapshots-discarded"] >= 1,
                    "%s: snapshots applied or refused (%s, %d entry "
                    "rewrites)" % (what, c, st["flips"]))
        dst.check("rmmod fpb_hostile")
        case.retire(src)
        src = dst


def t_bogus(case):
    """Item 3: around each answer the guest answers a request never made
    (the request plus 1000), the request it answered before (the previous
    pass's, and in the second migration the first migration's) and the
    same request a second time.  These mark every owned page free, the real
    answers only the first half: a bogus answer applied would zero a page
    of the second half.  Each must return KVM_FPB_DISCARDED and count as a
    refused hypercall, not as a snapshot."""
    src = case.vm("1G", "src", append=OWN_APPEND)
    load(src, OWN + " bogus=1")
    calls, last = 0, None
    for n in (1, 2):
        what = "migration %d" % n
        dst, info, st, c = migrate_checked(case, src)
        syncs = info["ram"]["dirty-sync-count"]
        made = st["bogus_calls"] - calls
        # The first request's come while the host holds the first pass for
        # its answer (fpb-first-wait-ms), so the source counts them; a later
        # one may be answered after the source stopped, on the destination.
        first = 2 if n == 1 else 3
        case.ok(made >= first and st["bogus_bad"] == 0 and
                (c["hypercalls-refused"] or 0) >= first and
                c["snapshots-applied"] + c["snapshots-discarded"] <= syncs,
                "%s: %d bogus answers, each KVM_FPB_DISCARDED (%d not), the "
                "first request's %d counted as refused hypercalls, not as "
                "snapshots (%s, %d syncs)" % (what, made, st["bogus_bad"],
                                              first, c, syncs))
        case.ok(c["snapshots-applied"] >= 1 and
                st["upper_intact"] == st["owned"] // 2 and
                c["skipped-pages"] <= st["owned"] // 2,
                "%s: the real answers applied, no page only a bogus answer "
                "marked dropped (%s; %d of %d such pages intact)" % (
                    what, c, st["upper_intact"], st["owned"] // 2), st)
        if last is not None:
            old = dict(zip(as_list(st["old_req"]), as_list(st["old_ret"])))
            case.ok(old.get(last) == DISCARDED,
                    "%s: the answer to migration 1's request %d discarded "
                    "(%s)" % (what, last, old.get(last)), st)
        calls, last = st["bogus_calls"], st["answered"]
        case.retire(src)
        src = dst


def t_storm_all(case):
    """Item 4: from load on, one kthread bound to each of 4 vCPUs alternates
    REGISTER and SNAPSHOT_DONE without pause for 5 s while the guest is
    migrated.  QEMU runs with -d guest_errors, which logs refused
    hypercalls.  QMP must answer query-migrate within 1 s throughout, the
    migration complete, and QEMU's log stay bounded (fewer than 100 FPB
    lines for millions of calls: FPB_LOG_PER_SEC a second)."""
    storm_s, bound_s, most_lines = 5, 1.0, 100
    case.smp = 4
    case.qemu_extra = ["-d", "guest_errors"]
    src = case.vm("1G", "src", append=OWN_APPEND)
    rtts = []
    cpu = {}

    def during(vm):
        # The storm began at insmod and goes on after the migration.
        while time.monotonic() - cpu["t0"] < storm_s - 0.2:
            t = time.monotonic()
            vm.qmp.cmd("query-migrate")
            rtts.append(time.monotonic() - t)
            time.sleep(0.05)
        cpu["t1"], cpu["c1"] = time.monotonic(), vm.cpu_seconds()

    cpu["t0"], cpu["c0"] = time.monotonic(), src.cpu_seconds()
    load(src, "%s storm_all=1 storm_ms=%d" % (OWN, storm_s * 1000))
    dst, info, st, c = migrate_checked(case, src,
                                       params={"max-bandwidth": 64 << 20},
                                       during=during)
    calls = st["storm_register"] + st["storm_other"] + st["storm_done"]
    wall = cpu["t1"] - cpu["t0"]
    case.tap.diag("storm: %d calls from 4 vCPUs (%d REGISTER accepted); "
                  "QEMU used %.2f s of CPU in %.2f s (%.0f%%), QMP max %.3f "
                  "s over %d queries; %s" % (
                      calls, st["storm_register"], cpu["c1"] - cpu["c0"],
                      wall, 100 * (cpu["c1"] - cpu["c0"]) / wall,
                      max(rtts), len(rtts), c))
    case.ok(rtts and max(rtts) < bound_s and calls >= 100000,
            "QMP answered query-migrate within %.1f s during a storm of %d "
            "calls (max %.3f s)" % (bound_s, calls, max(rtts or [0])))
    lines = log_lines(src, r"fpb")
    case.ok(len(lines) < most_lines and (c["hypercalls-refused"] or 0) >=
            100000, "QEMU logged %d FPB lines (< %d) for %s refused calls" % (
                len(lines), most_lines, c["hypercalls-refused"]),
            "".join(lines[:5]))


def t_free_header(case):
    """Item 5: the guest registers, frees the header page without
    UNREGISTER, allocates it again and fills it with a pattern.  The host
    writes each request into it (the spec's Lifetime section: the guest's
    own fault) and finds no header there: the guest loses the 8 bytes at
    the offset of request, nothing else; nothing dropped."""
    src = case.vm("1G", "src", append=OWN_APPEND)
    st, out = insmod(src, OWN + " free_hdr=1")
    if st.get("register") != 0 or not st["reused"]:
        raise HarnessError("register failed or the header page did not "
                           "come back: " + out)
    dst, info, st, c = migrate_checked(case, src)
    case.ok(st["reused_diff"] == 1 and st["reused_request"] >= 1,
            "the reused page lost exactly the word of request (%d words "
            "differ, request %d there)" % (st["reused_diff"],
                                           st["reused_request"]), st)
    nothing_dropped(case, "header freed", st, c)


def t_user_mode(case):
    """Item 6: VMCALL and VMMCALL with KVM_HC_FPB from a user process
    (CPL 3), every FPB operation.  Under QEMU's TCG both reach the KVM
    hypercall emulation, which answers -KVM_EPERM at CPL > 0 as KVM does
    (SIGILL or SIGSEGV would be safe too, but is not what happens): no
    call reaches FPB (trace event fpb_hypercall), and the registration
    of the module survives the UNREGISTER."""
    case.qemu_extra = ["-trace", "fpb_hypercall"]
    src = case.vm("1G", "src", append=OWN_APPEND)
    st = load(src, OWN)
    before = len(log_lines(src, r"fpb_hypercall"))
    out = src.check("/bin/fpb_user %d" % st["hdr"][1]).replace("\r", "")
    after = len(log_lines(src, r"fpb_hypercall"))
    rets = re.findall(r"^(vmm?call) (\d+) (\S+)$", out, re.M)
    case.ok(len(rets) == 8 and
            all(r == "rax=%d" % EPERM for _, _, r in rets),
            "user mode VMCALL and VMMCALL: -KVM_EPERM (%d) for every "
            "operation" % EPERM, out)
    case.ok(before >= 1 and after == before,
            "no user mode call reached FPB (%d fpb_hypercall trace lines, "
            "the module's REGISTER among them, before; %d after)" % (
                before, after))
    dst, info, st, c = migrate_checked(case, src)
    case.ok(c["snapshots-applied"] >= 1 and st["owned_zero"] == st["owned"],
            "the module's registration survived: snapshots applied, owned "
            "pages dropped (%s)" % c)


def t_limits(case):
    """Item 7: REGISTER at and past each limit (chunk_shift 15..24, the
    64 KiB region, the chunk table against region and RAM, the header's
    alignment), then snapshots whose chunk entries the spec refuses
    (unaligned, unknown flag, on the header, on another chunk's bitmap)
    and one at chunk_shift 24, accepted."""
    vm = case.vm("1G", "src", append=OWN_APPEND)
    tries = [
        ("chunk_shift=14", EINVAL, "chunk_shift 14, below "
         "KVM_FPB_CHUNK_SHIFT_MIN"),
        ("chunk_shift=15", 0, "chunk_shift 15, KVM_FPB_CHUNK_SHIFT_MIN"),
        ("chunk_shift=24", 0, "chunk_shift 24, KVM_FPB_CHUNK_SHIFT_MAX"),
        ("chunk_shift=25", EINVAL, "chunk_shift 25, above the maximum"),
        ("chunk_shift=24 nr_chunks=2", EINVAL, "two chunks of 64 GiB for "
         "1 GiB of RAM"),
        ("region=65536", 0, "a region of 64 KiB, KVM_FPB_REGION_MAX"),
        ("region=65537", E2BIG, "a region one byte over 64 KiB"),
        ("region=69632", E2BIG, "a region of 68 KiB"),
        ("region=191", EINVAL, "a region smaller than the header"),
        ("region=255", EINVAL, "a region one byte short of 8 entries"),
        ("region=256", 0, "a region of the header and 8 entries exactly"),
        ("nr_chunks=8169 region=65536", EINVAL, "8169 entries, one more "
         "than 64 KiB holds"),
        ("nr_chunks=8168 region=65536", EINVAL, "8168 entries, as many as "
         "64 KiB holds, but past 1 GiB of RAM"),
        ("hdr_off=8", EINVAL, "the header 8 bytes past a page boundary"),
        ("hdr_off=2048", EINVAL, "the header 2 KiB past a page boundary"),
    ]
    for params, want, what in tries:
        st, out = insmod(vm, params)
        vm.check("rmmod fpb_hostile")
        case.ok(st.get("register") == want, "%s: REGISTER %s (%s)" % (
            what, "accepted" if not want else "returns %d" % want,
            st.get("register")), out)
    snaps = [
        ("bm_entry=unaligned", "chunk 0's bitmap GPA 2 KiB past a page"),
        ("bm_entry=flags", "chunk 0's entry with an unknown flag"),
        ("bm_entry=hdr", "chunk 0's bitmap on the header"),
        ("bm_entry=prev bm_chunk=1", "chunk 1's bitmap also chunk 0's"),
        ("chunk_shift=24", None),
    ]
    for params, what in snaps:
        load(vm, "%s %s" % (OWN, params))
        dst, info, st, c = migrate_checked(case, vm)
        if what:
            case.ok(st["refused"] >= 1 and st["applied"] == 0 and
                    c["snapshots-applied"] == 0,
                    "%s: every snapshot refused (%d refused, %d discarded "
                    "unread, of %d)" % (what, st["refused"], st["discarded"],
                                        st["answers"]), st)
            nothing_dropped(case, what, st, c)
        else:
            case.ok(c["snapshots-applied"] >= 1 and
                    st["owned_zero"] == st["owned"],
                    "chunk_shift 24, one chunk with a 2 MiB bitmap: applied, "
                    "the owned pages dropped (%s)" % c, st)
        dst.check("rmmod fpb_hostile")
        case.retire(vm)
        vm = dst


CASES = [
    ("rom-shadow", t_rom_shadow),
    ("vram-bios", t_vram_bios),
    ("register-places", t_register_places),
    ("bitmap-rom", lambda c: t_bitmap_place(c, "rom", "pam_rw=1")),
    ("bitmap-vram", lambda c: t_bitmap_place(c, "vram")),
    ("bitmap-zero", lambda c: t_bitmap_place(c, "zero")),
    ("straddle", t_straddle),
    ("storm", t_storm),
    ("seq", t_seq),
    ("chunk-flip", t_chunk_flip),
    ("bogus-answers", t_bogus),
    ("storm-all-cpus", t_storm_all),
    ("free-header", t_free_header),
    ("user-mode", t_user_mode),
    ("limits", t_limits),
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
