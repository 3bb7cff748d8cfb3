#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Apply the KVM series in kvm/ to a copy of Debian's linux-source-6.12 and
# print the patched tree's path.  The copy is hard-linked, and every file a
# patch touches is unlinked before patching, so the unpacked source stays
# pristine.  Cached in $FPB_CACHE/kvm/tree/<hash of kvm/ and this script>.
#
# usage: kvm-tree.sh [-u]    -u: print the unpatched tree instead
#        kvm-tree.sh -k      print only the cache key
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kvm_key() {
	(cd "$FPB_TOP" && find kvm -type f | LC_ALL=C sort | xargs sha256sum &&
		sha256sum scripts/kvm-tree.sh) | sha256sum | cut -c1-16
}

case "${1:-}" in
-k) kvm_key; exit 0 ;;
-u) "$(dirname "$0")/linux-src.sh"; exit 0 ;;
esac

src=$("$(dirname "$0")/linux-src.sh")
key=$(kvm_key)
out="$FPB_CACHE/kvm/tree/$key"
mkdir -p "$FPB_CACHE/kvm/tree"
# One writer at a time: the suites may run while someone types make kvm.
exec 9>"$FPB_CACHE/kvm/tree/.lock"
flock 9
if [ ! -e "$out/.done" ]; then
	progress "applying kvm/ to a copy of $(basename "$(dirname "$src")") ($key)"
	rm -rf "$out"
	mkdir -p "$out"
	cp -al "$src" "$out/linux"
	while read -r p files; do
		case "$p" in '' | '#'*) continue ;; esac
		patch="$FPB_TOP/kvm/patches/$p"
		[ -e "$patch" ] || die "kvm/series names missing $p"
		while read -r f; do
			[ -e "$out/linux/$f" ] || continue
			cp --remove-destination "$out/linux/$f" "$out/linux/$f.tmp"
			mv "$out/linux/$f.tmp" "$out/linux/$f"
		done < <(sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$patch")
		patch -d "$out/linux" -p1 -s --no-backup-if-mismatch -i "$patch" ||
			die "$p does not apply"
		for f in $files; do
			[ -e "$FPB_TOP/kvm/$f" ] || die "kvm/series names missing kvm/$f"
			rm -f "$out/linux/$f"
			cp "$FPB_TOP/kvm/$f" "$out/linux/$f"
		done
	done <"$FPB_TOP/kvm/series"
	touch "$out/.done"
	# Keep the three newest trees; each is mostly hard links anyway.
	prune_old_keys "$FPB_CACHE/kvm/tree" 3
fi
echo "$out/linux"
