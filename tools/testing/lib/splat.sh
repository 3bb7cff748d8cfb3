# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Kernel splats in a console log as TAP failures, for the suites that run
# the debug kernels (guest-debug, and kunit's UML run with KASAN and
# lockdep).  Needs tools/testing/lib/tap.sh.

# splat_scan CONSOLE [NAME]: one TAP failure per kernel splat in a console
# log (KASAN and KFENCE reports, lockdep's, a sleep in atomic context, any
# BUG:, WARNING: or Oops), its first line as the description and the lines
# around it as diagnostics; one "ok" if there is none.  The patterns are
# case-sensitive: the boot banners ("kasan: KernelAddressSanitizer
# initialized", "kfence: initialized") and the guests' own TAP lines ("no
# oops, BUG, WARNING") do not match.
SPLAT_RE='KASAN|KFENCE|possible circular locking|possible recursive locking|inconsistent lock state|sleeping function called|BUG:|WARNING:|Oops'
splat_scan() {
	local f=$1 name=${2:-${1##*/}} clean n hits=0
	clean=$(mktemp)
	tr -d '\r' <"$f" >"$clean"
	while IFS=: read -r n _; do
		hits=$((hits + 1))
		tap_fail "$name: $(sed -n "${n}p" "$clean")"
		sed -n "$((n > 5 ? n - 5 : 1)),$((n + 25))p" "$clean" | tap_diag
	done < <(grep -nE "$SPLAT_RE" "$clean" | head -n 20 || true)
	rm -f "$clean"
	[ "$hits" -gt 0 ] || tap_ok "$name: no kernel splat"
}
