# SPDX-License-Identifier: GPL-2.0
"""Migration harness: a source and a destination QEMU on loopback.

QMP and the guest's serial console are unix sockets in a private run
directory; the destination listens on a free loopback port picked at run
time (migrate-incoming, retried if the port was taken meanwhile).  Every
QEMU process is killed when the harness exits, however it exits.

The guest image runs a command loop on its console (init-migrate.sh): the
harness sends a shell command and reads its output up to "@@DONE <rc>".
"""

import atexit
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

_LIVE = []


def _kill_all():
    for vm in list(_LIVE):
        vm.kill()


atexit.register(_kill_all)
for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, lambda s, f: (_kill_all(), os._exit(128 + s)))


class HarnessError(Exception):
    pass


def progress(msg):
    print(">>> " + msg, flush=True)


def _connect_unix(path, timeout):
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise HarnessError("cannot connect to " + path)
            time.sleep(0.05)


class QMP:
    def __init__(self, path, timeout=30):
        self.sock = _connect_unix(path, timeout)
        self.file = self.sock.makefile("rw", encoding="utf-8")
        self.events = []
        # The greeting comes first; tolerate (and keep) any event before it.
        for _ in range(16):
            greeting = json.loads(self.file.readline() or "{}")
            if "event" not in greeting:
                break
            self.events.append(greeting)
        if "QMP" not in greeting:
            raise HarnessError("no QMP greeting from %s: %r" % (path, greeting))
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.file.write(json.dumps(msg) + "\n")
        self.file.flush()
        while True:
            line = self.file.readline()
            if not line:
                raise HarnessError("QMP connection closed during " + name)
            resp = json.loads(line)
            if "event" in resp:
                self.events.append(resp)
                continue
            if "error" in resp:
                raise HarnessError("%s: %s" % (name, resp["error"]["desc"]))
            return resp.get("return")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Console:
    """The guest's command loop (tools/testing/guest/init-migrate.sh) on a
    virtio console socket: commands in, output and "@@DONE <status>" out."""

    def __init__(self, sock, name, log):
        self.ser, self.name, self.console = sock, name, log
        self.ser.settimeout(0.2)
        self.buf = b""

    @classmethod
    def connect(cls, path, name, log_path):
        """The console on the socket at @path, logged to @log_path."""
        return cls(_connect_unix(path, 30), name, open(log_path, "ab"))

    def _gone(self):
        """Why no more output will come, or None while it may."""
        return "%s: console closed" % self.name

    def _read_more(self):
        try:
            data = self.ser.recv(65536)
        except socket.timeout:
            return
        if data:
            self.console.write(data)
            self.console.flush()
            self.buf += data
        elif self._gone():
            raise HarnessError(self._gone())

    def expect(self, pattern, timeout):
        """Wait for console output matching pattern (a regexp that starts
        with a fixed marker); return (output before it, match)."""
        rx = re.compile(pattern.encode())
        marker = re.match(rb"[@\w]+", pattern.encode()).group(0)
        deadline = time.monotonic() + timeout
        start = 0
        while True:
            # Output arrives a few bytes at a time: only look at what is new.
            i = self.buf.find(marker, start)
            if i >= 0:
                m = rx.match(self.buf, i)
                if m:
                    before = self.buf[:i]
                    self.buf = self.buf[m.end():]
                    return before, m
                start = i  # the rest of the line is still on its way
            else:
                start = max(0, len(self.buf) - len(marker))
            if time.monotonic() > deadline:
                raise HarnessError("%s: no %r within %ss; console tail: %r"
                                   % (self.name, pattern, timeout, self.buf[-500:]))
            self._read_more()

    def run(self, command, timeout=120):
        """Run a shell command in the guest; return (rc, output)."""
        self.buf = b""
        self.ser.sendall(command.encode() + b"\n")
        before, m = self.expect(r"@@DONE (\d+)\r?\n", timeout)
        return int(m.group(1)), before.decode(errors="replace")

    def check(self, command, timeout=120):
        rc, out = self.run(command, timeout)
        if rc:
            raise HarnessError("%s: `%s` failed (%d): %s" % (self.name, command, rc, out))
        return out

    def close(self):
        self.ser.close()
        self.console.close()


class VM(Console):
    """One QEMU process with QMP and a serial console on unix sockets."""

    _count = 0

    def __init__(self, qemu, name, args, rundir, incoming=False):
        # Every VM gets its own socket and log paths: a path reused after a
        # VM is killed could be reached before the new QEMU binds it.
        VM._count += 1
        self.name, self.args = name, args
        base = os.path.join(rundir, "%02d-%s" % (VM._count, name))
        self.qmp_path = base + ".qmp"
        self.ser_path = base + ".serial"
        self.log_path = base + ".log"
        # The kernel console goes to a file; commands travel over a
        # virtio console, because the emulated UART stalls on long output
        # under TCG (seen with both 7.2 and 10.0).
        cmd = [qemu] + args + [
            "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
            "-chardev", "file,id=ser0,path=%s" % self.ser_path + ".kernel",
            "-serial", "chardev:ser0",
            "-device", "virtio-serial-pci,id=vser0",
            "-chardev", "socket,id=cmd0,path=%s,server=on,wait=off" % self.ser_path,
            "-device", "virtconsole,chardev=cmd0,id=cmdcon0",
        ]
        if incoming:
            cmd += ["-incoming", "defer"]
        self.cmdline = cmd
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        _LIVE.append(self)
        self.qmp = QMP(self.qmp_path)
        Console.__init__(self, _connect_unix(self.ser_path, 30), name,
                         open(base + ".console", "wb"))

    def memory_kb(self, field):
        """A memory figure of the QEMU process from /proc, in KiB: VmHWM
        (peak resident set) or VmRSS (now)."""
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return None

    def kill(self):
        if self in _LIVE:
            _LIVE.remove(self)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.qmp.close() if hasattr(self, "qmp") else None
        self.log.close()

    def cpu_times(self):
        """(user, system) CPU seconds of the QEMU process so far."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tck = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / tck, int(fields[12]) / tck

    def cpu_seconds(self):
        return sum(self.cpu_times())

    def _gone(self):
        # A socket closed under a live QEMU reads as empty: wait for more.
        if self.proc.poll() is None:
            return None
        return "%s exited (%s); see %s" % (self.name, self.proc.returncode,
                                          self.log_path)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def migrate(src, dst, caps=(), params=None, timeout=600, on_info=None):
    """Migrate src to dst; return the final query-migrate and CPU figures."""
    return wait_migration(src, dst, start_migration(src, dst, caps, params),
                          timeout, on_info)


def start_migration(src, dst, caps=(), params=None):
    """Start migrating src to dst; pass the result to wait_migration()."""
    capabilities = [{"capability": c, "state": True} for c in caps]
    if capabilities:
        src.qmp.cmd("migrate-set-capabilities", capabilities=capabilities)
        dst.qmp.cmd("migrate-set-capabilities", capabilities=capabilities)
    if params:
        src.qmp.cmd("migrate-set-parameters", **params)
    for attempt in range(5):
        port = free_port()
        try:
            dst.qmp.cmd("migrate-incoming", uri="tcp:127.0.0.1:%d" % port)
            break
        except HarnessError as e:
            if attempt == 4 or "in use" not in str(e).lower():
                raise
    cpu0 = (src.cpu_times(), dst.cpu_times())
    src.qmp.cmd("migrate", uri="tcp:127.0.0.1:%d" % port)
    return cpu0, time.monotonic()


def wait_migration(src, dst, started, timeout=600, on_info=None):
    """Poll query-migrate until the end; on_info(info, seconds since the
    migrate command), if given, sees every answer (every 10 ms then)."""
    cpu0, t0 = started
    deadline = time.monotonic() + timeout
    while True:
        info = src.qmp.cmd("query-migrate")
        if on_info:
            on_info(info, time.monotonic() - t0)
        status = info.get("status")
        if status == "completed":
            break
        if status in ("failed", "cancelled"):
            raise HarnessError("migration %s: %s" % (status, info.get("error-desc", "")))
        if time.monotonic() > deadline:
            src.qmp.cmd("migrate_cancel")
            raise HarnessError("migration did not complete in %ss" % timeout)
        time.sleep(0.01 if on_info else 0.05)
    # The destination runs once it has loaded everything.
    deadline = time.monotonic() + 60
    while dst.qmp.cmd("query-status")["status"] != "running":
        if time.monotonic() > deadline:
            raise HarnessError("destination not running after migration")
        time.sleep(0.05)
    cpu1 = (src.cpu_times(), dst.cpu_times())
    # Peak resident memory of each QEMU so far, in MB.
    info["rss"] = {}
    for who, vm in (("src", src), ("dst", dst)):
        kb = vm.memory_kb("VmHWM")
        info["rss"][who + "_mb"] = round(kb / 1024, 1) if kb else None
    # Total and system CPU seconds of each QEMU during the migration.
    info["cpu"] = {}
    for i, who in enumerate(("src", "dst")):
        info["cpu"][who + "_s"] = round(sum(cpu1[i]) - sum(cpu0[i]), 3)
        info["cpu"][who + "_sys_s"] = round(cpu1[i][1] - cpu0[i][1], 3)
    return info


def summarize(variant, info, **extra):
    """One flat JSON record of a migration."""
    ram = info.get("ram", {})
    rec = {
        "variant": variant,
        "status": info.get("status"),
        "total_time_ms": info.get("total-time"),
        "downtime_ms": info.get("downtime"),
        "setup_time_ms": info.get("setup-time"),
        "transferred_bytes": ram.get("transferred"),
        "normal_pages": ram.get("normal"),
        "zero_pages": ram.get("duplicate"),
        "dirty_sync_count": ram.get("dirty-sync-count"),
        "src_cpu_s": info["cpu"]["src_s"],
        "dst_cpu_s": info["cpu"]["dst_s"],
        "src_sys_cpu_s": info["cpu"]["src_sys_s"],
        "dst_sys_cpu_s": info["cpu"]["dst_sys_s"],
        "src_rss_mb": info.get("rss", {}).get("src_mb"),
        "dst_rss_mb": info.get("rss", {}).get("dst_mb"),
    }
    rec["fpb_skipped_pages"] = ram.get("fpb-skipped-pages", 0)
    rec["fpb_snapshots_applied"] = ram.get("fpb-snapshots-applied", 0)
    rec["fpb_snapshots_discarded"] = ram.get("fpb-snapshots-discarded", 0)
    rec["fpb_hypercalls_refused"] = ram.get("fpb-hypercalls-refused", 0)
    rec.update(extra)
    return rec


def new_rundir(top):
    base = os.path.join(top, "build", "migrate")
    os.makedirs(base, exist_ok=True)
    return tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=base)
