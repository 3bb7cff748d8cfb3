#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a busybox initramfs (uncompressed cpio: decompressing it under TCG
# costs more than reading it) for a Debian guest kernel.
#
# usage: initramfs.sh -o OUT.cpio -k 6.12|6.1|DIR -i INIT [-m MOD]... [-M KO]...
#                     [-f SRC:DST]...
#   -m MOD   a module of the Debian kernel, by name, in load order
#   -M KO    a module file of our own (copied to /lib/fpb/)
#   -f S:D   copy file S to D inside the image
#   -i INIT  the script run as /init (after /proc, /sys, /dev are mounted and
#            the -m modules are loaded by /init.common)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out='' series=6.12 init='' mods=() kos=() files=()
while getopts "o:k:i:m:M:f:" opt; do
	case $opt in
	o) out=$OPTARG ;;
	k) series=$OPTARG ;;
	i) init=$OPTARG ;;
	m) mods+=("$OPTARG") ;;
	M) kos+=("$OPTARG") ;;
	f) files+=("$OPTARG") ;;
	*) die "bad option" ;;
	esac
done
[[ -n $out && -n $init ]] || die "usage: -o OUT -i INIT required"
[ -x /bin/busybox ] || die "busybox-static missing (run scripts/setup.sh)"

kimg=$("$(dirname "$0")/kimage.sh" "$series")
moddir=$(echo "$kimg"/lib/modules/*)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,mnt,lib/modules,lib/fpb}
cp /bin/busybox "$root/bin/busybox"
for a in $(/bin/busybox --list); do
	[ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
done

: >"$root/lib/modules/load-order"
for m in "${mods[@]}"; do
	f=$(find "$moddir" -name "$m.ko" -print -quit)
	if [ -z "$f" ] && grep -q "/$m.ko$" "$moddir/modules.builtin"; then
		continue	# built into this kernel
	fi
	[ -n "$f" ] || die "module $m not found in $moddir"
	cp "$f" "$root/lib/modules/"
	echo "$m" >>"$root/lib/modules/load-order"
done
for k in "${kos[@]}"; do
	[ -e "$k" ] || die "module file $k missing"
	cp "$k" "$root/lib/fpb/"
done
for f in "${files[@]}"; do
	mkdir -p "$root/$(dirname "${f#*:}")"
	cp -a "${f%%:*}" "$root/${f#*:}"
done

cat >"$root/init.common" <<'INIT'
# The firmware's last console line has no newline: end it.
echo
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
while read -r m; do
	insmod "/lib/modules/$m.ko" || echo "init: insmod $m failed"
done </lib/modules/load-order
INIT
{
	echo '#!/bin/sh'
	echo '. /init.common'
	cat "$init"
	echo 'sync; poweroff -f'
} >"$root/init"
chmod +x "$root/init"

(cd "$root" && find . | cpio -o -H newc --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
