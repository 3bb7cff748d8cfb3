#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run FPB's test suites and count their TAP results.
#
# usage: run-tests.sh [SUITE...]   (default: every suite, in name order)
#
# A suite is an executable in tools/testing/suites/ that prints TAP lines
# ("ok N - what", "not ok N - what", "ok N - what # SKIP why").  A suite that
# exits non-zero without reporting a failure counts as one failure.  Logs go
# to build/check/SUITE.log.  Ends with "check: N passed, N failed, N skipped".
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
mkdir -p build/check

if [ $# -eq 0 ]; then
	set -- $(ls tools/testing/suites)
fi

pass=0 fail=0 skip=0 failed=()
for s in "$@"; do
	exe=tools/testing/suites/$s
	[ -x "$exe" ] || { echo "run-tests: no suite '$s'" >&2; fail=$((fail + 1)); continue; }
	echo "=== $s"
	start=$(date +%s)
	"$exe" 2>&1 | tee "build/check/$s.log"
	rc=${PIPESTATUS[0]}
	p=$(grep -cE '^ok [0-9]+' "build/check/$s.log" | head -1)
	k=$(grep -cE '^ok [0-9]+.*# SKIP' "build/check/$s.log")
	f=$(grep -cE '^not ok [0-9]+' "build/check/$s.log")
	p=$((p - k))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - suite $s exited $rc without reporting a failure"
		f=1
	fi
	[ "$f" -gt 0 ] && failed+=("$s")
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + k))
	echo "=== $s: $p passed, $f failed, $k skipped ($(( $(date +%s) - start )) s)"
done

[ ${#failed[@]} -gt 0 ] && echo "failed suites: ${failed[*]}"
echo "check: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
