# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# The one TAP emitter of FPB's shell suites, host and guest alike: POSIX sh,
# so bash suites source it and so do the busybox init scripts inside test
# guests (initramfs.sh installs it as /lib/fpb/tap.sh).
#
# Every suite prints its plan last with tap_done.  A suite that dies before
# then prints no plan, and the runner (TAP::Harness, as prove) counts it as
# failed even if every line it printed was "ok".
#
#   tap_ok DESC            tap_fail DESC           tap_skip DESC WHY
#   tap_check RC DESC      passes when RC is 0
#   tap_run DESC CMD...    runs CMD; its output becomes diagnostics on failure
#   tap_diag < FILE        every line as a "# " comment
#   tap_relay < FILE       re-numbers the TAP lines of another producer (a
#                          guest, KUnit, GLib, a Python suite) into this
#                          stream; its plans are dropped, its other lines
#                          become comments.  Read from a redirection, not a
#                          pipe, so that the count survives.
#   tap_done               prints the plan; exits 1 if anything failed

tap_n=0
tap_failed=0

tap_ok() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $*"
}

tap_fail() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $*"
}

tap_skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1 # SKIP $2"
}

tap_check() {
	_rc=$1
	shift
	if [ "$_rc" -eq 0 ]; then
		tap_ok "$@"
	else
		tap_fail "$@"
	fi
}

tap_diag() {
	sed 's/^/# /'
}

tap_run() {
	_desc=$1
	shift
	_out=${TMPDIR:-/tmp}/tap_run.$$
	if "$@" >"$_out" 2>&1; then
		tap_ok "$_desc"
	else
		tap_fail "$_desc"
		tap_diag <"$_out"
	fi
	rm -f "$_out"
}

tap_relay() {
	while IFS= read -r _line; do
		case $_line in
		"not ok"*)
			_rest=${_line#not ok}
			_rest=${_rest# }
			_rest=${_rest#"${_rest%%[!0-9]*}"}
			_rest=${_rest# }
			_rest=${_rest#- }
			tap_fail "$_rest"
			;;
		ok*)
			_rest=${_line#ok}
			_rest=${_rest# }
			_rest=${_rest#"${_rest%%[!0-9]*}"}
			_rest=${_rest# }
			_rest=${_rest#- }
			tap_n=$((tap_n + 1))
			echo "ok $tap_n - $_rest"
			;;
		1..*) ;;
		"#"*) echo "$_line" ;;
		"") ;;
		*) echo "# $_line" ;;
		esac
	done
}

tap_done() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ] || exit 1
	exit 0
}
