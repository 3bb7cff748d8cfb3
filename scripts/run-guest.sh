#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a Debian guest kernel (vmlinux through PVH) with an initramfs under
# TCG, console on stdout, and power off when /init ends.
#
# usage: run-guest.sh [-k 6.12|6.1|DIR] [-q QEMU] [-m MEM] [-c CPUS] [-t SECS]
#                     [-a APPEND] -r INITRD [-- QEMU-ARGS...]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

series=6.12 qemu=${FPB_QEMU:-qemu-system-x86_64} mem=1G cpus=1 secs=600
append='' initrd=''
while getopts "k:q:m:c:t:a:r:" opt; do
	case $opt in
	k) series=$OPTARG ;;
	q) qemu=$OPTARG ;;
	m) mem=$OPTARG ;;
	c) cpus=$OPTARG ;;
	t) secs=$OPTARG ;;
	a) append=$OPTARG ;;
	r) initrd=$OPTARG ;;
	*) die "bad option" ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$initrd" ] || die "-r INITRD required"

kimg=$("$(dirname "$0")/kimage.sh" "$series")
# A bios dir only matters for a QEMU built here; Debian's finds its own.
bios=()
[ -d /usr/share/seabios ] && bios=(-L /usr/share/seabios -L /usr/share/qemu)

exec timeout --foreground -k 10 "$secs" "$qemu" "${bios[@]}" \
	-accel tcg -machine q35 -cpu max -smp "$cpus" -m "$mem" \
	-nographic -no-reboot -nodefaults -serial stdio \
	-kernel "$kimg/vmlinux" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 quiet loglevel=4 $append" "$@"
