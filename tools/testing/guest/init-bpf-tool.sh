# SPDX-License-Identifier: GPL-2.0
# Guest side of the bpf-tool suite (appended to /init): fpbtop traces
# snapshots taken through debugfs in test mode, of fragmented memory, while
# alloclat allocates; the
# tool's JSON and debugfs "stats" after each snapshot go to the console
# for the host to compare (tools/testing/bpf/fpbtop-check.py).
# shellcheck source=tools/testing/lib/tap.sh
. /lib/fpb/tap.sh
ko=/lib/fpb/fpb.ko
dbg=/sys/kernel/debug/fpb
# The suite passes the number of snapshots on the kernel command line, which
# hands unknown name=value options to init as its environment.
n=${fpbtop_snapshots:-6}

# dump TAG FILE: FILE on the console, each line tagged for the host.
dump() {
	sed "s/^/$1 /" "$2"
}

# await PID SECS: wait for PID; its exit status, or 124 if it had to be
# killed after SECS (fpbtop exits 0 on SIGTERM).
await() {
	rm -f /tmp/await.killed
	(sleep "$2"; touch /tmp/await.killed; kill "$1" 2>/dev/null) &
	_dog=$!
	wait "$1"
	_rc=$?
	kill "$_dog" 2>/dev/null
	[ -e /tmp/await.killed ] && return 124
	return "$_rc"
}

# start_fpbtop OUT ARGS...: fpbtop in the background, $! in fpbtop_pid;
# returns once it is attached (its "tracing" line), 1 if it never is.
start_fpbtop() {
	_out=$1
	shift
	/bin/fpbtop "$@" >"$_out" 2>"$_out.err" &
	fpbtop_pid=$!
	for _i in $(seq 120); do
		grep -q '^fpbtop: tracing' "$_out.err" && return 0
		kill -0 "$fpbtop_pid" 2>/dev/null || return 1
		sleep 1
	done
	return 1
}

# refuses PATTERN DESC: fpbtop exits 2 (unsupported) saying PATTERN.
refuses() {
	/bin/fpbtop >/tmp/refusal 2>&1
	if [ $? -eq 2 ] && grep -q "$1" /tmp/refusal; then
		tap_ok "$2"
	else
		tap_fail "$2"
		tap_diag </tmp/refusal
	fi
}

echo "FPBTOP-KERNEL $(uname -r)"
if [ ! -e /sys/kernel/btf/vmlinux ]; then
	refuses 'has no BTF' "without BTF fpbtop exits 2 and says why"
	dump FPBTOP-NOBTF /tmp/refusal
else
	refuses 'fpb module is not loaded' \
		"without the module fpbtop exits 2 and says why"
	# A kernel without BTF, imitated: a tmpfs hides /sys/kernel/btf.
	mount -t tmpfs none /sys/kernel/btf
	refuses 'has no BTF' \
		"without BTF fpbtop exits 2 and says why (BTF hidden)"
	umount /sys/kernel/btf

	# Many small free blocks and small batches: thousands of zone->lock
	# holds per snapshot, and walks long enough (tens of milliseconds)
	# for the scheduler to run alloclat in the middle of them.
	/bin/frag 40 >/tmp/frag 2>&1 &
	frag=$!
	until grep -q holding /tmp/frag; do sleep 1; done
	insmod $ko test_mode=1 batch=16
	# Allocations while snapshots run: alloclat faults in 16 MiB page by
	# page (no huge pages) and unmaps it, as fast as it goes, until it
	# is killed.
	/bin/alloclat 300 16 >/tmp/alloclat 2>&1 &
	alloclat=$!

	if start_fpbtop /tmp/fpbtop.json -j -c "$n"; then
		tap_ok "fpbtop -j attaches"
	else
		tap_fail "fpbtop -j attaches"
		tap_diag </tmp/fpbtop.json.err
	fi
	tap_run "fpb cannot be unloaded while fpbtop traces it" \
		sh -c '! rmmod fpb 2>/dev/null'
	cp $dbg/stats /tmp/stats.0
	cp $dbg/holds /tmp/holds.0
	i=1
	while [ $i -le "$n" ]; do
		echo 1 >$dbg/snapshot
		cp $dbg/stats /tmp/stats.$i
		sleep 1
		i=$((i + 1))
	done
	await "$fpbtop_pid" 120
	tap_check $? "fpbtop -j -c $n ends by itself after $n snapshots"
	cp $dbg/holds /tmp/holds.1
	dump FPBTOP-ERR /tmp/fpbtop.json.err
	dump FPBTOP-JSON /tmp/fpbtop.json
	i=0
	while [ $i -le "$n" ]; do
		dump "FPBTOP-STATS $i" /tmp/stats.$i
		i=$((i + 1))
	done
	dump "FPBTOP-HOLDS 0" /tmp/holds.0
	dump "FPBTOP-HOLDS 1" /tmp/holds.1

	# The text views, one snapshot each.
	for mode in text quiet; do
		args=
		[ $mode = quiet ] && args=-q
		# shellcheck disable=SC2086 # $args is empty or one option
		start_fpbtop /tmp/fpbtop.$mode -c 1 $args
		echo 1 >$dbg/snapshot
		cp $dbg/stats /tmp/stats.$mode
		await "$fpbtop_pid" 120
		tap_check $? "fpbtop ($mode) -c 1 ends by itself"
		dump "FPBTOP-$mode" /tmp/fpbtop.$mode
		dump "FPBTOP-STATS $mode" /tmp/stats.$mode
	done

	kill "$alloclat"
	kill -USR1 "$frag"
	await "$frag" 120
	tap_check $? "frag's held pages are intact"
	tap_run "fpb unloads once fpbtop is gone" rmmod fpb
fi
tap_run "kernel log has no oops, BUG, WARNING or corruption" \
	sh -c '! dmesg | grep -E "Oops|BUG|WARNING|corrupted|general protection"'
echo FPB-GUEST-DONE
