#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build FPB's patched qemu-system-x86_64 from Debian's QEMU 10.0 source.
#
# usage: qemu-build.sh [-p] [-t TARGET]
#   -p         only prepare the patched source tree and print its path
#   -P         only unpack the pristine source and print its path
#   -u         build QEMU 10.0 as Debian ships it, without FPB (a reference
#              for benchmarks), in $FPB_CACHE/qemu/VERSION/unpatched/
#   -t TARGET  build this ninja target (e.g. tests/unit/test-fpb) instead of
#              qemu-system-x86_64 and print its path
#   -s         build with AddressSanitizer and UndefinedBehaviorSanitizer, in
#              a build directory of its own (for the unit tests)
#
# The result lives in $FPB_CACHE/qemu/VERSION/HASH/, keyed by the Debian
# source version and a hash of qemu/ and this script.  The pristine source
# stays in $FPB_CACHE/qemu/VERSION/pristine for `make qemu-patches`.
# The last line printed is the path of the binary (or of the tree with -p).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

prepare_only='' pristine_only='' unpatched='' sanitize='' target=qemu-system-x86_64
while getopts "pPust:" opt; do
	case $opt in
	p) prepare_only=1 ;;
	P) pristine_only=1 ;;
	u) unpatched=1 ;;
	s) sanitize=1 ;;
	t) target=$OPTARG ;;
	*) die "bad option" ;;
	esac
done

srcdir="$FPB_CACHE/qemu-src"
mkdir -p "$srcdir"
# The newest .dsc by version.  ls, not a bare glob: no match must print
# nothing; Debian's file names have no whitespace.
# shellcheck disable=SC2012
dsc=$(ls "$srcdir"/qemu_*.dsc 2>/dev/null | sort -V | tail -n1 || true)
if [ -z "$dsc" ]; then
	progress "downloading the qemu source package from trixie"
	(cd "$srcdir" && apt-get source -q --download-only qemu/trixie >/dev/null) ||
		die "apt-get source qemu/trixie failed (deb-src trixie configured? run scripts/setup.sh)"
	# Debian's file names have no whitespace.
	# shellcheck disable=SC2012
	dsc=$(ls "$srcdir"/qemu_*.dsc | sort -V | tail -n1)
fi
ver=$(sed -n 's/^Version: //p' "$dsc")
upver=${ver#*:}
upver=${upver%%[+-]*}
case $upver in
10.0.*) ;;
*) die "qemu source $ver is not 10.0.x: FPB's patches target QEMU 10.0" ;;
esac

# No epoch in the path: QEMU refuses a source directory with a colon.
top="$FPB_CACHE/qemu/${ver#*:}"
pristine="$top/pristine"
if [ ! -e "$pristine/.fpb-unpacked" ]; then
	progress "unpacking $dsc"
	rm -rf "$pristine" "$pristine.tmp"
	mkdir -p "$top"
	dpkg-source -q -x "$dsc" "$pristine.tmp" >/dev/null ||
		die "dpkg-source -x $dsc failed"
	touch "$pristine.tmp/.fpb-unpacked"
	mv "$pristine.tmp" "$pristine"
fi
if [ -n "$pristine_only" ]; then
	echo "$pristine"
	exit 0
fi

hash=$( (cd "$FPB_TOP" && find qemu -type f ! -name README.md | LC_ALL=C sort |
	xargs sha256sum; sha256sum scripts/qemu-build.sh) |
	sha256sum | cut -c1-16)
key="$top/$hash"
[ -z "$unpatched" ] || key="$top/unpatched"
src="$key/src"
# One build of a key at a time: suites, benchmarks and other work trees
# ask for the same key, and a second configure would remove the first's
# build directory under it.  The others wait, then find it built.
mkdir -p "$key"
exec {lock}>"$key/.lock"
flock "$lock"
if [ ! -e "$src/.fpb-patched" ]; then
	# Each key is ~700 MB: keep the two used last besides the new one.
	prune_old_keys "$top" 2
	progress "laying qemu/ over the source in $src"
	rm -rf "$src"
	mkdir -p "$key"
	cp -a "$pristine" "$src.tmp"
	[ -n "$unpatched" ] ||
	(cd "$FPB_TOP/qemu" && find . -type f ! -path './patches/*' \
		! -name README.md -print0 | cpio -0 -pdm --quiet "$src.tmp")
	[ -n "$unpatched" ] ||
	for p in "$FPB_TOP"/qemu/patches/*.patch; do
		[ -e "$p" ] || continue
		patch -d "$src.tmp" -p1 -s -N --no-backup-if-mismatch <"$p" >/dev/null ||
			die "qemu/patches/${p##*/} does not apply to qemu $ver"
	done
	touch "$src.tmp/.fpb-patched"
	mv "$src.tmp" "$src"
fi
if [ -n "$prepare_only" ]; then
	echo "$src"
	exit 0
fi

touch "$key"	# most recently used, for the pruning above
build="$key/build${sanitize:+-san}"
bin="$build/$target"
san_opts=()
[ -z "$sanitize" ] || san_opts=(--enable-asan --enable-ubsan)
# ccache: paths relative to the key dir, so a new key still hits the cache.
# It lives in the cache too, so that an empty FPB_CACHE is really cold.
export CCACHE_BASEDIR="$key" CCACHE_NOHASHDIR=1
export CCACHE_DIR=${CCACHE_DIR:-$FPB_CACHE/ccache}
if [ ! -e "$build/build.ninja" ]; then
	progress "configuring qemu $ver in $build"
	rm -rf "$build"
	mkdir -p "$build"
	(cd "$build" && nice ../src/configure --python=/usr/bin/python3 \
		--cc="ccache gcc" --cxx="ccache g++" \
		--target-list=x86_64-softmmu --without-default-features \
		--disable-fdt --disable-install-blobs --disable-docs \
		--disable-werror --enable-trace-backends=log --enable-kvm \
		"${san_opts[@]}" >"$build/configure.log" 2>&1) ||
		die "configure failed, see $build/configure.log"
fi
progress "building $target in $build"
start=$(date +%s)
nice ninja -C "$build" "$target" >"$build/ninja.log" 2>&1 ||
	{ tail -n 30 "$build/ninja.log" >&2; die "build failed, see $build/ninja.log"; }
progress "built in $(( $(date +%s) - start )) s"
echo "$bin"
