#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""FPB under libvirt: the documented domain XML, live-migrated between two
libvirt daemons on this machine.  Prints TAP (tools/testing/suites/libvirt).

usage: libvirt.py --qemu QEMU --kimg DIR --image CPIO [--user USER] [--mem MIB]

Two session-mode libvirtd run as an unprivileged user, each with its own
XDG_CONFIG_HOME, XDG_RUNTIME_DIR, XDG_CACHE_HOME and XDG_DATA_HOME (so its
own libvirtd.conf with its own host_uuid, qemu.conf with its own migration
ports, socket, logs and domain state).  virsh reaches them through
qemu+unix:///session?socket=PATH and migrates between them; migration data
goes over loopback (--migrateuri tcp:127.0.0.1, the port from the
destination's range).

The domain is Documentation/admin-guide/fpb-libvirt.xml with its @...@
placeholders filled in.  The guest is the busybox image of the migration
harness (init-migrate.sh): commands go over the virtio console, which the
XML puts on a unix socket.

Two migrations of a guest that ran a job (the job leaves most of memory
free but dirty):
  fpb on   the XML as documented: the vCPU has kvm-pv-fpb (qom-get), the
           guest registers, the source's info migrate shows skipped pages
           while the migration runs, and after it the destination's guest
           has had snapshots applied, its files verify and libvirt's job
           statistics show far less memory sent than
  fpb off  the same XML without its qemu:commandline: kvm-pv-fpb is off,
           the guest (still fpb.enable=1) does not register, and the job's
           memory is sent.
"""

import argparse
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from fpbtap import Tap  # noqa: E402
import run  # noqa: E402  (the page cache and kernel log checks)
from fpbmig import Console  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TEMPLATE = os.path.join(TOP, "Documentation", "admin-guide", "fpb-libvirt.xml")
DOMAIN = "fpb-libvirt-test"
QEMU_NS = "{http://libvirt.org/schemas/domain/qemu/1.0}"
JOB_PCT = 75
NO_HOST = "host does not offer KVM_FEATURE_FPB"
# MiB/s, both migrations: slow enough that the source's info migrate is
# read a few times while FPB's migration runs (about 2 s), fast enough
# for the one without FPB (about 14 s).
BANDWIDTH_MIB = 64


class Failure(Exception):
    pass


def progress(msg):
    print(">>> " + msg, file=sys.stderr, flush=True)


class User:
    """Who runs the daemons, virsh and so QEMU: as root, an unprivileged
    user through setpriv (a session daemon refuses nothing to root, but
    libvirt only runs in session mode as non-root); otherwise ourselves."""

    def __init__(self, name):
        pw = pwd.getpwnam(name)
        self.name, self.uid, self.gid = name, pw.pw_uid, pw.pw_gid

    def argv(self, cmd):
        if os.getuid() == self.uid:
            return cmd
        return ["setpriv", "--reuid=%d" % self.uid, "--regid=%d" % self.gid,
                "--clear-groups"] + cmd

    def own(self, path):
        if os.getuid() == 0:
            os.chown(path, self.uid, self.gid)


class Daemon:
    """One session-mode libvirtd with its own directories."""

    def __init__(self, name, base, user, ports):
        self.name, self.user = name, user
        self.dir = os.path.join(base, name)
        os.makedirs(self.dir, mode=0o700)
        dirs = {"HOME": "home", "XDG_CONFIG_HOME": "config",
                "XDG_RUNTIME_DIR": "run", "XDG_CACHE_HOME": "cache",
                "XDG_DATA_HOME": "data"}
        self.env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
        for var, sub in dirs.items():
            self.env[var] = os.path.join(self.dir, sub)
            os.makedirs(self.env[var], mode=0o700)
        conf = os.path.join(self.env["XDG_CONFIG_HOME"], "libvirt")
        os.makedirs(conf, mode=0o700)
        self.host_uuid = str(uuid.uuid4())
        self.ports = ports
        with open(os.path.join(conf, "libvirtd.conf"), "w") as f:
            f.write('host_uuid = "%s"\n' % self.host_uuid)
        with open(os.path.join(conf, "qemu.conf"), "w") as f:
            # No virtlogd: QEMU's output goes straight to a file.  Loopback
            # cannot be set here (migration_address and migration_host
            # refuse a local address): virsh migrate gives it instead.
            f.write('stdio_handler = "file"\n'
                    'migration_port_min = %d\n'
                    'migration_port_max = %d\n' % ports)
        for root, dirs, files in os.walk(self.dir):
            for p in [root] + [os.path.join(root, x) for x in files]:
                user.own(p)
        self.sock = os.path.join(self.env["XDG_RUNTIME_DIR"], "libvirt",
                                 "libvirt-sock")
        self.uri = "qemu+unix:///session?socket=" + self.sock
        self.log_path = os.path.join(self.dir, "libvirtd.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(user.argv(["libvirtd"]), env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while self.virsh("version", check=False).returncode:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise Failure("libvirtd %s did not come up; log:\n%s"
                              % (name, self.log_tail()))
            time.sleep(0.2)

    def virsh(self, *args, check=True, timeout=600):
        p = subprocess.run(self.user.argv(["virsh", "-q", "-c", self.uri]
                                          + list(args)),
                           env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        if check and p.returncode:
            raise Failure("virsh %s (%s): %s" % (" ".join(args), self.name,
                                                 p.stderr.strip()))
        return p

    def qmp(self, command, **arguments):
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        out = self.virsh("qemu-monitor-command", DOMAIN, json.dumps(msg)).stdout
        return json.loads(out)["return"]

    def qemu_log(self):
        path = os.path.join(self.env["XDG_CACHE_HOME"], "libvirt", "qemu",
                            "log", DOMAIN + ".log")
        try:
            with open(path) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def log_tail(self):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-20:])
        except OSError:
            return ""

    def stop(self):
        """Destroy its domains, then end the daemon (a daemon leaves its
        QEMUs running when it exits)."""
        if self.proc.poll() is None:
            for dom in self.virsh("list", "--all", "--name", check=False,
                                  timeout=60).stdout.split():
                self.virsh("destroy", dom, check=False, timeout=60)
                self.virsh("undefine", dom, check=False, timeout=60)
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def render(fields, fpb=True):
    """The documented XML with its placeholders filled in; without its
    qemu:commandline when not fpb."""
    with open(TEMPLATE) as f:
        text = f.read()
    for key, value in fields.items():
        text = text.replace("@%s@" % key, value)
    body = text[text.index("<domain"):]
    left = re.findall(r"@[A-Z_]+@", body)
    if left:
        raise Failure("%s: placeholders the test does not fill: %s"
                      % (TEMPLATE, " ".join(sorted(set(left)))))
    if fpb:
        return text
    root = ET.fromstring(body)
    cmdline = root.find(QEMU_NS + "commandline")
    if cmdline is None:
        raise Failure("%s has no qemu:commandline" % TEMPLATE)
    root.remove(cmdline)
    ET.register_namespace("qemu", QEMU_NS[1:-1])
    return ET.tostring(root, encoding="unicode")


def raw_jobinfo(daemon):
    """virsh domjobinfo --completed --rawstats as a dict of ints."""
    out = daemon.virsh("domjobinfo", "--completed", "--rawstats",
                       "--keep-completed", DOMAIN).stdout
    st = {}
    for line in out.splitlines():
        k, _, v = line.partition(":")
        if v.strip().isdigit():
            st[k.strip()] = int(v)
    return st


def guest_stats(con):
    """The guest's debugfs fpb/stats, numeric fields; {} without the module
    (it does not load when the host does not offer FPB)."""
    rc, out = con.run("cat /sys/kernel/debug/fpb/stats")
    if rc:
        return {}
    st = {}
    for line in out.splitlines():
        k, _, v = line.strip().partition(" ")
        if v.isdigit():
            st[k] = int(v)
    return st


class SkipPoller(threading.Thread):
    """libvirt's job statistics have no FPB counters and the source QEMU is
    gone once the migration completes: read the source's "info migrate"
    while it runs and keep the largest "fpb skipped" seen."""

    def __init__(self, daemon):
        super().__init__(daemon=True)
        self.src = daemon
        self.halt = threading.Event()
        self.skipped = 0
        self.samples = 0
        self.start()

    def run(self):
        while not self.halt.is_set():
            p = self.src.virsh("qemu-monitor-command", DOMAIN, "--hmp",
                               "info migrate", check=False, timeout=30)
            m = re.search(r"fpb skipped: (\d+) pages", p.stdout)
            if m and "Migration status: active" in p.stdout:
                self.samples += 1
                self.skipped = max(self.skipped, int(m.group(1)))
            self.halt.wait(0.05)

    def stop(self):
        self.halt.set()
        self.join()
        return self.skipped, self.samples


def cpu_fpb(daemon):
    cpus = daemon.qmp("query-cpus-fast")
    return [daemon.qmp("qom-get", path=c["qom-path"], property="kvm-pv-fpb")
            for c in cpus]


def cpu_feature_refused(daemon, tap, fields):
    """What the XML's comment says: libvirt's own way to name a CPU feature
    does not know kvm-pv-fpb.  Should a libvirt accept it, this fails and
    the documentation needs a look."""
    name = DOMAIN + "-cpu-feature"
    root = ET.fromstring(render(dict(fields, NAME=name, UUID=str(uuid.uuid4()),
                                     SERIAL_LOG="/dev/null",
                                     CONSOLE_SOCKET=os.path.join(daemon.dir, "unused.sock")),
                                fpb=False))
    ET.SubElement(root.find("cpu"), "feature", policy="require", name="kvm-pv-fpb")
    path = os.path.join(daemon.dir, "cpu-feature.xml")
    ET.ElementTree(root).write(path)
    daemon.user.own(path)
    daemon.virsh("define", path)
    p = daemon.virsh("start", name, check=False)
    if p.returncode == 0:
        daemon.virsh("destroy", name, check=False)
    daemon.virsh("undefine", name)
    tap.ok(p.returncode and "unknown CPU feature: kvm-pv-fpb" in p.stderr,
           "<cpu><feature name='kvm-pv-fpb'/> is refused by virsh start, as "
           "fpb-libvirt.xml says", p.stderr.strip() or "virsh start succeeded")


def migration(opts, tap, base, user, fpb):
    """Start the domain on a fresh pair of daemons, run a job, migrate it;
    return libvirt's completed job statistics."""
    what = "fpb on" if fpb else "fpb off"
    tag = what.replace(" ", "-")
    run_dir = os.path.join(base, "fpb" if fpb else "nofpb")
    os.makedirs(run_dir)
    user.own(run_dir)
    # Own port ranges, so the two never take each other's (and a third
    # instance on this host would get its own as well).
    src = Daemon("src", run_dir, user, (49152 + 200, 49152 + 299))
    dst = None
    try:
        dst = Daemon("dst", run_dir, user, (49152 + 300, 49152 + 399))
        tap.diag("%s: host_uuid src %s, dst %s" % (what, src.host_uuid,
                                                  dst.host_uuid))
        fields = {
            "NAME": DOMAIN, "UUID": str(uuid.uuid4()), "TYPE": "qemu",
            "CPU_MODE": "maximum", "MEMORY_MIB": str(opts.mem),
            "EMULATOR": opts.emulator, "KERNEL": opts.kernel,
            "INITRD": opts.image,
            "CMDLINE": "console=ttyS0 panic=-1 quiet loglevel=1 fpb.enable=1",
        }
        xml = {}
        for d in (src, dst):
            xml[d] = os.path.join(d.dir, "domain.xml")
            with open(xml[d], "w") as f:
                f.write(render(dict(fields,
                                    SERIAL_LOG=os.path.join(d.dir, "serial.log"),
                                    CONSOLE_SOCKET=os.path.join(d.dir, "console.sock")),
                               fpb))
            user.own(xml[d])

        if fpb:
            cpu_feature_refused(src, tap, fields)
        progress("%s: virsh define, virsh start" % what)
        src.virsh("define", xml[src])
        p = src.virsh("start", DOMAIN, check=False)
        if p.returncode:
            raise Failure("virsh start: %s\nQEMU log:\n%s"
                          % (p.stderr.strip(), src.qemu_log()))
        con = Console.connect(os.path.join(src.dir, "console.sock"),
                              tag + "-src",
                              os.path.join(base, tag + "-src.console"))
        con.expect(r"@@READY", 180)
        flags = cpu_fpb(src)
        tap.ok(flags == [fpb], "%s: qom-get kvm-pv-fpb through virsh "
               "qemu-monitor-command: %s" % (what, flags))
        stats = guest_stats(con)
        log = con.check("dmesg | grep fpb || true")
        if fpb:
            tap.ok(stats.get("registered") == 1,
                   "fpb on: guest debugfs fpb/stats: registered %s"
                   % stats.get("registered"), log)
        else:
            tap.ok(not stats.get("registered") and NO_HOST in log,
                   "fpb off: the guest did not register: '%s'" % NO_HOST, log)

        progress("%s: page cache files, /bin/job %d" % (what, JOB_PCT))
        con.check(run.PAGECACHE_SETUP)
        con.check("/bin/job %d" % JOB_PCT, timeout=600)
        con.close()

        progress("%s: virsh migrate --live to the second libvirtd" % what)
        poller = SkipPoller(src)
        t0 = time.monotonic()
        p = src.virsh("migrate", "--live", "--persistent", "--undefinesource",
                      DOMAIN, dst.uri, "--migrateuri", "tcp:127.0.0.1",
                      "--listen-address", "127.0.0.1",
                      "--bandwidth", str(BANDWIDTH_MIB),
                      "--xml", xml[dst], check=False)
        secs = time.monotonic() - t0
        skipped, samples = poller.stop()
        if p.returncode:
            raise Failure("virsh migrate: %s\nsource QEMU log:\n%s\n"
                          "destination QEMU log:\n%s"
                          % (p.stderr.strip(), src.qemu_log(), dst.qemu_log()))
        state = dst.virsh("domstate", DOMAIN).stdout.strip()
        gone = src.virsh("list", "--all", "--name").stdout.split()
        tap.ok(state == "running" and DOMAIN not in gone,
               "%s: virsh migrate --live in %.1f s: running on the "
               "destination, gone from the source" % (what, secs),
               "destination state %r, source domains %r" % (state, gone))
        job = raw_jobinfo(dst)
        tap.diag("%s: domjobinfo --completed on the destination: %s" % (what, " ".join(
            "%s=%s" % (k, job.get(k)) for k in ("memory_total", "memory_processed",
                                                "memory_normal", "memory_constant",
                                                "time_elapsed", "downtime"))))

        if fpb:
            tap.ok(skipped > 0, "fpb on: the source's info migrate (virsh "
                   "qemu-monitor-command --hmp) during the migration: fpb "
                   "skipped %d pages (%d samples)" % (skipped, samples))
        else:
            tap.diag("fpb off: info migrate during the migration: %s" % (
                "fpb skipped %d pages (%d samples)" % (skipped, samples)
                if samples else "no fpb skipped line"))

        con = Console.connect(os.path.join(dst.dir, "console.sock"),
                              tag + "-dst",
                              os.path.join(base, tag + "-dst.console"))
        rc, out = con.run(run.PAGECACHE_VERIFY)
        tap.ok(rc == 0, "%s: page cache files verify on the destination"
               % what, out)
        tap.diag(out.strip())
        # The filter runs in the guest: once, a whole dmesg through the
        # destination's virtio console stalled half way (20 KB in, nothing
        # for 120 s).
        bad = [line for line in con.check(
            "dmesg | grep -E '%s' || true" % run.DMESG_BAD.pattern).splitlines()
            if line.strip() and not run.DMESG_CPU_MODEL.search(line)]
        tap.ok(not bad, "%s: no oops, BUG or WARNING in the destination's "
               "kernel log" % what, "\n".join(bad))
        tap.ok(cpu_fpb(dst) == [fpb], "%s: destination vCPU kvm-pv-fpb is %s"
               % (what, fpb))
        after = guest_stats(con)
        if fpb:
            tap.ok(after.get("applied", 0) >= 1,
                   "fpb on: destination guest: %s snapshots, %s applied by "
                   "the source host" % (after.get("snapshots"), after.get("applied")),
                   "\n".join("%s %s" % kv for kv in after.items()))
        else:
            tap.ok(after.get("snapshots", 0) == 0,
                   "fpb off: destination guest took no snapshot (%s)"
                   % (after.get("snapshots") if after else "module not loaded"))
        con.close()
        return job
    finally:
        for d in (dst, src):
            if d:
                d.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--kimg", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--mem", type=int, default=1024, help="MiB")
    ap.add_argument("--user", default=None,
                    help="run libvirtd as this user (default: nobody as root)")
    ap.add_argument("--keep", action="store_true",
                    default=bool(os.environ.get("FPB_LIBVIRT_KEEP")),
                    help="keep the run directory even if everything passed "
                    "(also FPB_LIBVIRT_KEEP=1)")
    opts = ap.parse_args()
    user = User(opts.user or ("nobody" if os.getuid() == 0
                              else pwd.getpwuid(os.getuid()).pw_name))
    tap = Tap()

    # Unix socket paths are limited to 108 bytes: a short base under /tmp.
    base = tempfile.mkdtemp(prefix="fpb-libvirt.")
    os.chmod(base, 0o755)
    user.own(base)
    # libvirt's QEMU does not get -L: firmware comes from QEMU's data
    # directory, which a build without installed blobs lacks.  A wrapper
    # adds Debian's, and the XML stays the documented one.
    opts.emulator = os.path.join(base, "qemu-system-x86_64")
    with open(opts.emulator, "w") as f:
        f.write("#!/bin/sh\nexec %s -L /usr/share/seabios -L /usr/share/qemu \"$@\"\n"
                % opts.qemu)
    os.chmod(opts.emulator, 0o755)
    opts.kernel = os.path.join(opts.kimg, "vmlinux")
    # Leave through the finally clauses, which stop the daemons and their
    # domains (fpbmig's handlers would _exit without them).
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))
    tap.diag("user %s, run directory %s, libvirt: %s" % (
        user.name, base, subprocess.run(["libvirtd", "--version"], capture_output=True,
                                        text=True).stdout.strip()))
    for path in (opts.qemu, opts.kernel, opts.image):
        if subprocess.run(user.argv(["test", "-r", path])).returncode:
            tap.ok(False, "%s can read %s" % (user.name, path))
            return tap.done()

    jobs = {}
    for fpb in (True, False):
        try:
            jobs[fpb] = migration(opts, tap, base, user, fpb)
        except (Failure, run.HarnessError, subprocess.TimeoutExpired) as e:
            tap.ok(False, "fpb %s: libvirt run" % ("on" if fpb else "off"), str(e))
    if len(jobs) == 2:
        on, off = (jobs[x].get("memory_processed", 0) for x in (True, False))
        total = jobs[True].get("memory_total", 0)
        tap.ok(off > total // 2,
               "fpb off: the job's memory was sent (%d of %d MiB)"
               % (off >> 20, total >> 20))
        tap.ok(0 < on < off // 4,
               "fpb on: memory processed %d MiB, under a quarter of fpb off's %d MiB"
               % (on >> 20, off >> 20))
    if tap.failed == 0 and not opts.keep:
        shutil.rmtree(base, ignore_errors=True)
    else:
        tap.diag("logs kept in %s" % base)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
