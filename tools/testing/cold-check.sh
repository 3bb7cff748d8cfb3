#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The README's promise, checked: a fresh clone of the committed HEAD runs
# `make demo` and then `make check` with an empty FPB_CACHE.  Paths that
# run only when the cache is empty (first download, first build of a key)
# are exercised nowhere else, so run this before resolving anything that
# touches scripts/, mk/, the Makefile or .ci/.
#
# usage: cold-check.sh [-c CACHE] [-k] [TARGET...]   (default: demo check)
#   -c CACHE  use CACHE as FPB_CACHE; it must be empty or absent (default: a
#             new directory under /var/tmp, removed afterwards unless -k)
#   -k        keep the clone and the cache
#
# Debian packages and source tarballs already downloaded by apt are reused
# (apt's own archive cache); nothing built is: ccache lives in FPB_CACHE
# too (scripts/qemu-build.sh).  Each phase's wall time and
# exit status go to the summary printed at the end and to
# $out/summary.txt.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

cache='' keep=''
while getopts "c:k" opt; do
	case $opt in
	c) cache=$OPTARG ;;
	k) keep=1 ;;
	*) die "usage: cold-check.sh [-c CACHE] [-k] [TARGET...]" ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- demo check

out=$(mktemp -d /var/tmp/fpb-cold.XXXXXX)
# As /var/cache/fpb is: guest-build reads the headers as nobody.
chmod 755 "$out"
if [ -z "$cache" ]; then
	cache=$out/cache
elif [ -n "$(ls -A "$cache" 2>/dev/null)" ]; then
	die "$cache is not empty: a cold check needs an empty cache"
fi
mkdir -p "$cache"

progress "cloning $(git -C "$FPB_TOP" rev-parse --short HEAD) into $out/clone"
git clone -q "$FPB_TOP" "$out/clone"

summary=$out/summary.txt
rc=0
for t in "$@"; do
	progress "make $t (FPB_CACHE=$cache), log in $out/$t.log"
	start=$(date +%s)
	trc=0
	(cd "$out/clone" && env -u CCACHE_DIR FPB_CACHE="$cache" make "$t") \
		>"$out/$t.log" 2>&1 ||
		trc=$?
	secs=$(($(date +%s) - start))
	tail -n 3 "$out/$t.log" | sed "s/^/  $t: /" >&2
	echo "cold-check: make $t: exit $trc in $secs s" | tee -a "$summary"
	[ "$trc" -eq 0 ] || rc=1
done

if [ -z "$keep" ] && [ "$rc" -eq 0 ]; then
	rm -rf "$out/clone"
	[ "$cache" != "$out/cache" ] || rm -rf "$cache"
fi
echo "cold-check: logs and summary in $out"
exit "$rc"
