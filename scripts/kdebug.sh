#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the debug guest kernel from Debian's linux-source-6.12 and print its
# directory (last line), laid out like kimage.sh's: vmlinux (booted through
# PVH), bzImage, lib/modules/<release>/ (modules_install'd, uncompressed),
# plus kbuild-<key>/, the O= build tree, usable as KDIR for fpb.ko (it is
# also lib/modules/<release>/build).  kimage.sh, kheaders.sh and the
# scripts built on them take this directory in place of a series.
#
# The config is `make tinyconfig` plus scripts/kdebug.config: what the test
# guests need and KASAN (generic, inline), lockdep (PROVE_LOCKING),
# DEBUG_ATOMIC_SLEEP, DEBUG_PAGEALLOC (on by default), DEBUG_VM and KFENCE.
# Cached in $FPB_CACHE/kdebug/<linux-source version>-<hash of the fragment
# and this script>; ccache keeps a rebuild after an edit short.
#
# usage: kdebug.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
frag=$here/kdebug.config
src=$("$here/linux-src.sh")
ver=$(basename "$(dirname "$src")")
key=$ver-$(cat "$frag" "$here/kdebug.sh" | sha256sum | cut -c1-12)
base=$FPB_CACHE/kdebug
out=$base/$key
if [ -e "$out/.done" ]; then
	echo "$out"
	exit 0
fi

mkdir -p "$base"
exec 9>"$base/.lock"
flock 9
if [ -e "$out/.done" ]; then
	echo "$out"
	exit 0
fi

# Built in a directory of its own, renamed into place when complete.  One
# left by an interrupted run is reused: make picks up where it stopped.
tmp=$base/.tmp-$key
kb=kbuild-$key
mkdir -p "$tmp/$kb"
export CCACHE_DIR=${CCACHE_DIR:-$FPB_CACHE/ccache} CCACHE_BASEDIR=$base
kmake() {
	make -s -C "$src" O="$tmp/$kb" ARCH=x86_64 LOCALVERSION=-fpbdebug \
		CC="ccache gcc" -j"$(nproc)" "$@"
}
progress "kdebug: configuring (tinyconfig + scripts/kdebug.config)"
kmake tinyconfig >&2
"$src/scripts/kconfig/merge_config.sh" -m -O "$tmp/$kb" "$tmp/$kb/.config" \
	"$frag" >&2
kmake olddefconfig >&2
# merge_config.sh only warns when Kconfig drops an option (a dependency not
# met): every option the fragment asks for must have stuck.
bad=0
while read -r want; do
	opt=${want%%=*}
	case $want in
	"# CONFIG_"*" is not set")
		opt=${want#\# }
		opt=${opt%% *}
		grep -q "^$opt=" "$tmp/$kb/.config" || continue
		;;
	CONFIG_*) grep -qx "$want" "$tmp/$kb/.config" && continue ;;
	*) continue ;;
	esac
	echo "kdebug.sh: asked for '$want', olddefconfig made it:" \
		"$(grep -E "^(# )?${opt}[= ]" "$tmp/$kb/.config" || echo "(absent)")" >&2
	bad=1
done <"$frag"
[ "$bad" = 0 ] || die "scripts/kdebug.config does not apply to linux-source $ver"

progress "kdebug: building (cold: about 12 minutes on 2 busy cores)"
kmake >&2
rel=$(cat "$tmp/$kb/include/config/kernel.release")
rm -rf "${tmp:?}/lib"
kmake INSTALL_MOD_PATH="$tmp" modules_install >&2
# modules_install links build to the absolute O= path: relative, so that
# the link survives the rename.
ln -sfn "../../../$kb" "$tmp/lib/modules/$rel/build"
find "$tmp/lib/modules" -name '*.ko.xz' -exec xz -d {} +
cp "$tmp/$kb/vmlinux" "$tmp/vmlinux"
cp "$tmp/$kb/arch/x86/boot/bzImage" "$tmp/bzImage"
touch "$tmp/.done"
mv "$tmp" "$out"
prune_old_keys "$base" 2
echo "$out"
