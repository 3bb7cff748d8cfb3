# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Working in a Debian root file system with chroot (scripts/debian-image.sh,
# the deb suite): bind mounts that are undone however the caller exits, and
# an overlay that keeps a cached tree as it is.  The caller sources lib.sh
# first and runs umount_all from its EXIT trap.

# What is mounted, in order; umount_all undoes it backwards.
mounts=()

umount_all() {
	local i
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
		umount -l "${mounts[i]}" 2>/dev/null || true
	done
	mounts=()
}

# What dpkg, apt and DKMS need inside: /proc, /sys, /dev.
chroot_mount() { # ROOTFS
	local r=$1
	mount -t proc proc "$r/proc" && mounts+=("$r/proc")
	mount -t sysfs sysfs "$r/sys" && mounts+=("$r/sys")
	mount --bind /dev "$r/dev" && mounts+=("$r/dev")
	mount --bind /dev/pts "$r/dev/pts" && mounts+=("$r/dev/pts")
}

# MERGED shows LOWER with the changes in UPPER (created), LOWER untouched.
overlay_mount() { # LOWER UPPER WORK MERGED
	mkdir -p "$2" "$3" "$4"
	mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4" &&
		mounts+=("$4")
}

# A tree is never removed while anything is mounted below it: rm -rf
# through a bind mount of /dev would empty the host's.
safe_rm() { # DIR
	if grep -q " $1[/ ]" /proc/mounts; then
		die "refusing to remove $1: something is mounted below it"
	fi
	rm -rf "$1"
}

in_chroot() { # ROOTFS CMD...
	local r=$1
	shift
	LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive chroot "$r" "$@"
}
