# SPDX-License-Identifier: GPL-2.0
#
# The Debian package and the Debian guest (debian/, scripts/deb-build.sh,
# scripts/debian-image.sh):
#
#   make deb            build fpb-dkms_<version>_all.deb into build/deb/ with
#                       debhelper and dh-dkms; the last line is its path.
#                       DEB_VERSION=... builds another version (a snapshot)
#   make deb-lint       lintian on that package
#   make debian-image   the bookworm guest image (debootstrap, cached in
#                       FPB_CACHE) with the package installed by dpkg and
#                       built by DKMS; the last line is its directory

.PHONY: deb deb-lint debian-image

deb: setup
	@scripts/deb-build.sh $(if $(DEB_VERSION),-v $(DEB_VERSION))

deb-lint: setup
	@deb=$$(scripts/deb-build.sh $(if $(DEB_VERSION),-v $(DEB_VERSION)) | tail -n1) && \
		lintian --info --display-info --pedantic "$$deb"

debian-image: setup
	@deb=$$(scripts/deb-build.sh | tail -n1) && scripts/debian-image.sh guest "$$deb"
