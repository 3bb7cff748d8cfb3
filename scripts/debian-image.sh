#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A real Debian bookworm guest, made with debootstrap, cached in the cache
# keyed by its inputs.  Two layers:
#
#   base        debootstrap (minbase, systemd, udev, kmod), dkms, and
#               Debian's 6.12 (bookworm-backports) and 6.1 kernels with their
#               headers, installed by apt from the debs in $FPB_CACHE/debs;
#               an initramfs (initramfs-tools) for each.  Prints the
#               directory of the root file system (root-owned: use it
#               read-only, e.g. as the lower layer of an overlay).
#   guest DEB   the base with DEB (fpb-dkms) installed by dpkg, so that
#               DKMS builds the module for the image's kernels, plus the
#               test harness's console service and its job program
#               (tools/testing/debian/), as an ext4 disk image.  Prints
#               the directory holding disk.raw and initrd.img-<release>
#               for each kernel.
#
# Nothing here loads the module: in the guest, systemd-modules-load does,
# through the package's /etc/modules-load.d/fpb.conf.
#
# usage: debian-image.sh base | guest DEB
set -euo pipefail
. "$(dirname "$0")/lib.sh"

suite=bookworm
mirror=http://deb.debian.org/debian
root=$FPB_CACHE/debian-image
mkdir -p "$root/base" "$root/guest"
# One build at a time: two suites may want the same image, and pruning
# must not remove a tree that another run is still making.
exec 9>"$root/.lock"
flock 9

. "$FPB_TOP/scripts/chroot-lib.sh"
trap umount_all EXIT

# The kernel debs of one series (image, headers, common headers, kbuild),
# fetched into the cache like kheaders.sh does.
kernel_debs() { # KERNEL-ABI
	local kv=$1 kbuild=linux-kbuild-$1 p
	apt-cache show "$kbuild" >/dev/null 2>&1 || kbuild=linux-kbuild-${kv%.*-*}
	for p in "linux-image-$kv-amd64" "linux-headers-$kv-amd64" \
		"linux-headers-$kv-common" "$kbuild"; do
		fetch_deb "$p" 2>/dev/null || die "cannot fetch $p"
	done
}

build_base() {
	local debs=() d key dir r
	mapfile -t debs < <(kernel_debs "$(kver_612)"; kernel_debs "$(kver_61)")
	# The key: the code that builds the base (not the rest of this
	# script, so that changing the guest layer keeps the base), the suite
	# and every kernel deb by name.
	key=$( { declare -f build_base chroot_mount in_chroot kernel_debs;
		echo "$suite $mirror";
		for d in "${debs[@]}"; do basename "$d"; done; } |
		sha256sum | cut -c1-16)
	dir=$root/base/$key
	r=$dir/rootfs
	if [ -e "$dir/.done" ]; then
		touch "$dir"
		echo "$r"
		return
	fi
	command -v debootstrap >/dev/null ||
		die "debootstrap is not installed (run scripts/setup.sh)"
	safe_rm "$dir"
	mkdir -p "$dir"
	local t0=$SECONDS
	progress "debootstrap $suite into $r"
	debootstrap --variant=minbase --include=systemd-sysv,udev,kmod \
		"$suite" "$r" "$mirror" >"$dir/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$dir/debootstrap.log" >&2; die "debootstrap failed, see $dir/debootstrap.log"; }

	# bookworm-backports: what 6.12's packages depend on, if anything
	# newer than bookworm's.  No service may start inside the chroot.
	cat >"$r/etc/apt/sources.list" <<-EOF
	deb $mirror $suite main
	deb $mirror $suite-updates main
	deb http://deb.debian.org/debian-security $suite-security main
	deb $mirror $suite-backports main
	EOF
	printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
	chmod 755 "$r/usr/sbin/policy-rc.d"

	chroot_mount "$r"
	mkdir -p "$r/tmp/debs"
	cp "${debs[@]}" "$r/tmp/debs/"
	local local_debs=()
	for d in "${debs[@]}"; do
		local_debs+=("/tmp/debs/${d##*/}")
	done
	progress "installing dkms, Debian's $(kver_612) and $(kver_61) kernels and headers"
	{
		in_chroot "$r" apt-get update &&
		in_chroot "$r" apt-get install -y --no-install-recommends \
			dkms openssl initramfs-tools procps &&
		# A small initramfs: only what mounts an ext4 root on
		# virtio-blk (MODULES=most packs every storage driver, slow
		# to unpack under TCG).
		echo MODULES=list >"$r/etc/initramfs-tools/conf.d/fpb-guest" &&
		printf '%s\n' virtio_pci virtio_blk ext4 >>"$r/etc/initramfs-tools/modules" &&
		in_chroot "$r" apt-get install -y --no-install-recommends \
			"${local_debs[@]}" &&
		in_chroot "$r" apt-get clean
	} >"$dir/apt.log" 2>&1 ||
		{ tail -n 30 "$dir/apt.log" >&2; die "installing into the image failed, see $dir/apt.log"; }
	umount_all
	rm -rf "$r/tmp/debs" "$r/var/lib/apt/lists/"* "$r/usr/sbin/policy-rc.d"

	echo fpb-guest >"$r/etc/hostname"
	echo "/dev/vda / ext4 rw,errors=remount-ro 0 0" >"$r/etc/fstab"
	# Every boot of an overlay of this image is a first boot.
	: >"$r/etc/machine-id"
	touch "$dir/.done"
	progress "base image built in $((SECONDS - t0)) s"
	prune_old_keys "$root/base" 2
	echo "$r"
}

build_guest() { # DEB
	local deb=$1 base key dir r size kv t0=$SECONDS
	local extra=$FPB_TOP/tools/testing/debian
	local job=$FPB_TOP/tools/testing/workloads/job.c
	[ -f "$deb" ] || die "no such package: $deb"
	base=$(build_base)
	key=$( { echo "$base"; sha256sum "$deb" | cut -d' ' -f1;
		declare -f build_guest; cat "$extra"/* "$job"; } |
		sha256sum | cut -c1-16)
	dir=$root/guest/$key
	if [ -e "$dir/.done" ]; then
		touch "$dir"
		echo "$dir"
		return
	fi
	safe_rm "$dir"
	r=$dir/rootfs
	# The base stays as it is: the package goes into an overlay of it,
	# and the disk image is made from the merged tree.
	overlay_mount "$base" "$dir/upper" "$dir/work" "$r"
	chroot_mount "$r"
	cp "$deb" "$r/tmp/"
	progress "installing ${deb##*/} into the image with dpkg (DKMS builds the module)"
	in_chroot "$r" dpkg -i "/tmp/${deb##*/}" >"$dir/dpkg.log" 2>&1 ||
		{ tail -n 30 "$dir/dpkg.log" >&2; die "dpkg -i ${deb##*/} failed in the image, see $dir/dpkg.log"; }
	rm -f "$r/tmp/${deb##*/}"
	for kv in "$r"/lib/modules/*/; do
		kv=$(basename "$kv")
		# fpb.ko, or fpb.ko.xz where the kernel compresses modules.
		compgen -G "$r/lib/modules/$kv/updates/dkms/fpb.ko*" >/dev/null ||
			die "DKMS did not install fpb.ko for $kv in the image, see $dir/dpkg.log"
		cp "$r/boot/initrd.img-$kv" "$dir/"
	done

	# The test harness's side (tests only, nothing of it touches the
	# module): a command loop on the virtio console and the job.
	install -m 755 "$extra/fpb-test-console" "$r/usr/local/sbin/"
	install -m 644 "$extra/fpb-test-console.service" "$r/etc/systemd/system/"
	ln -sf /etc/systemd/system/fpb-test-console.service \
		"$r/etc/systemd/system/multi-user.target.wants/"
	# systemd-getty-generator would put a login prompt on hvc0 too.
	ln -sf /dev/null "$r/etc/systemd/system/serial-getty@hvc0.service"
	gcc -static -O2 -Wall -Wextra -Werror -o "$r/usr/local/bin/job" "$job"
	umount_all

	mount -t overlay overlay \
		-o "lowerdir=$dir/upper:$base" "$r"
	mounts+=("$r")
	# Room for the files the tests write and the guest's logs.
	size=$(( $(du -sm "$r" | cut -f1) * 5 / 4 + 512 ))
	mkfs.ext4 -q -F -L fpb-root -d "$r" "$dir/disk.raw" "${size}M" >&2 ||
		die "mkfs.ext4 -d failed"
	umount_all
	safe_rm "$dir/upper"
	safe_rm "$dir/work"
	rmdir "$r"
	touch "$dir/.done"
	progress "guest image built in $((SECONDS - t0)) s: $dir/disk.raw (${size} MiB)"
	prune_old_keys "$root/guest" 2
	echo "$dir"
}

usage() { die "usage: ${0##*/} base | guest DEB"; }

[ $# -ge 1 ] || usage
case $1 in
base) build_base ;;
guest) [ $# -eq 2 ] || usage; build_guest "$2" ;;
*) usage ;;
esac
