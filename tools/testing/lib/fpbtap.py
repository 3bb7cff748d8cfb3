# SPDX-License-Identifier: GPL-2.0
"""The one TAP emitter of FPB's Python suites (the shell one is tap.sh).

The plan is printed last, by done(): a suite that dies before then prints
no plan and the runner counts it as failed.

    from fpbtap import Tap
    tap = Tap()
    tap.ok(cond, "what", diag="shown as comments when cond is false")
    tap.skip("what", "why")
    sys.exit(tap.done())
"""
import sys


class Tap:
    def __init__(self, out=None):
        self.out = out or sys.stdout
        self.n = 0
        self.failed = 0

    def _line(self, text):
        print(text, file=self.out, flush=True)

    def diag(self, text):
        for line in str(text).splitlines():
            self._line("# " + line)

    def ok(self, cond, name, diag=""):
        """One result; diag is shown when cond is false."""
        self.n += 1
        self._line("%s %d - %s" % ("ok" if cond else "not ok", self.n, name))
        if not cond:
            self.failed += 1
            if diag:
                self.diag(diag)
        return bool(cond)

    def skip(self, name, why):
        self.n += 1
        self._line("ok %d - %s # SKIP %s" % (self.n, name, why))

    def done(self):
        """Print the plan; return the exit status for sys.exit()."""
        self._line("1..%d" % self.n)
        return 1 if self.failed else 0
