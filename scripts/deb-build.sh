#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build fpb-dkms_<version>_all.deb with Debian's tooling (dpkg-buildpackage,
# debhelper, dh-dkms) and print its path as the last line.
#
# The package's sources (debian/, Kbuild, guest/, include/ and the admin
# guide) are copied into build/deb/fpb-<version>/ and built there, so that
# nothing is written into the source tree; the .deb, .buildinfo and
# .changes land in build/deb/.
#
# usage: deb-build.sh [-v VERSION] [-o DIR]
#   -v VERSION  build this version instead of debian/changelog's: a
#               changelog entry is added to the copy (e.g. a snapshot
#               0.1.0+git20250101.1234abc, or a test upgrade)
#   -o DIR      output directory (default build/deb)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

version=
out=$FPB_TOP/build/deb
while getopts "v:o:" opt; do
	case $opt in
	v) version=$OPTARG ;;
	o) out=$OPTARG ;;
	*) die "usage: ${0##*/} [-v VERSION] [-o DIR]" ;;
	esac
done
for tool in dpkg-buildpackage dh dh_dkms; do
	command -v "$tool" >/dev/null ||
		die "$tool is missing (debhelper, dh-dkms, dpkg-dev: run scripts/setup.sh)"
done

cd "$FPB_TOP"
[ -n "$version" ] || version=$(dpkg-parsechangelog -S Version)
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$out/fpb-$version
rm -rf "$stage"
mkdir -p "$stage/Documentation/admin-guide"
cp -r debian Kbuild guest include "$stage/"
cp Documentation/admin-guide/fpb.rst "$stage/Documentation/admin-guide/"
if [ "$version" != "$(dpkg-parsechangelog -S Version)" ]; then
	{
		printf 'fpb (%s) %s; urgency=medium\n\n' "$version" \
			"$(dpkg-parsechangelog -S Distribution)"
		printf '  * Build of %s.\n\n' \
			"$(git describe --always --dirty 2>/dev/null || echo 'a working tree')"
		printf ' -- %s  %s\n\n' "$(dpkg-parsechangelog -S Maintainer)" "$(date -R)"
		cat debian/changelog
	} >"$stage/debian/changelog"
fi

progress "dpkg-buildpackage in $stage"
log=$out/fpb_$version.build.log
# -b: binary only (an _all package); -us -uc: unsigned.
(cd "$stage" && dpkg-buildpackage -b -us -uc) >"$log" 2>&1 ||
	{ tail -n 30 "$log" >&2; die "dpkg-buildpackage failed, see $log"; }
deb=$out/fpb-dkms_${version}_all.deb
[ -f "$deb" ] || die "dpkg-buildpackage made no $deb, see $log"
rm -rf "$stage"
echo "$deb"
