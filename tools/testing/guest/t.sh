# SPDX-License-Identifier: GPL-2.0
# Sourced by guest init scripts: `t NAME CMD...` prints a TAP result line.
t() {
	name=$1
	shift
	if "$@" >/tmp/t.out 2>&1; then
		echo "ok - $name"
	else
		echo "not ok - $name"
		sed 's/^/# /' /tmp/t.out
	fi
}

# The kernel log must not show a crash or a warning from anything.
t_clean_dmesg() {
	t "kernel log has no oops, BUG, WARNING or corruption" \
		sh -c '! dmesg | grep -E "Oops|BUG|WARNING|corrupted|general protection"'
}
