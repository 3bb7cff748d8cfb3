# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Shared by FPB's scripts: where the cache lives and which Debian builds to use.
# Heavy artefacts live in $FPB_CACHE, outside the clone, keyed by their inputs.

FPB_CACHE=${FPB_CACHE:-/var/cache/fpb}
# Used by the scripts that source this file, not here.
# shellcheck disable=SC2034
FPB_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Created on first use; a build that needs no cache (build-guest.sh -d KDIR,
# as a user without write access to it) must not fail here.
mkdir -p "$FPB_CACHE" 2>/dev/null || true

die() { echo "${0##*/}: error: $*" >&2; exit 1; }

# A command that fails under set -e would otherwise end the script without a
# word: name the script, the line and the command.  -E carries the trap into
# functions, command substitutions and subshells.
set -E
trap 'fpb_err_trap $? "$LINENO" "$BASH_COMMAND"' ERR
fpb_err_trap() {
	# Without errexit the script handles the status itself: stay quiet.
	case $- in
	*e*) echo "${0##*/}: line $2: '$3' failed (exit $1)" >&2 ;;
	esac
}
progress() { echo ">>> $*" >&2; }

# Newest Debian package matching an anchored regexp, e.g. the newest 6.12
# kernel image.  The archive keeps moving, so versions are resolved here and
# every cache entry is keyed by what was resolved.
newest_pkg() {
	apt-cache search --names-only "$1" | cut -d' ' -f1 | sort -V | tail -n1
}

# Kernel ABI names (uname -r without -amd64) of the two guest kernels.
kver_612() {
	local p
	p=$(newest_pkg '^linux-image-6\.12\.[0-9]+\+deb12-amd64$')
	[ -n "$p" ] || die "no linux-image-6.12 in the apt lists (run scripts/setup.sh)"
	p=${p#linux-image-}
	echo "${p%-amd64}"
}

kver_61() {
	local p
	p=$(newest_pkg '^linux-image-6\.1\.0-[0-9]+-amd64$')
	[ -n "$p" ] || die "no linux-image-6.1 in the apt lists (run scripts/setup.sh)"
	p=${p#linux-image-}
	echo "${p%-amd64}"
}

# Download one Debian binary package into the cache, return its path.
fetch_deb() {
	local pkg=$1 dir="$FPB_CACHE/debs" f
	mkdir -p "$dir"
	# The newest by version.  ls, not a bare glob: no match must print
	# nothing; Debian's file names have no whitespace.
	# shellcheck disable=SC2012
	f=$(ls "$dir/${pkg}_"*.deb 2>/dev/null | sort -V | tail -n1)
	if [ -z "$f" ]; then
		(cd "$dir" && apt-get download -q "$pkg" >/dev/null) ||
			die "apt-get download $pkg failed"
		# Debian's file names have no whitespace.
		# shellcheck disable=SC2012
		f=$(ls "$dir/${pkg}_"*.deb | sort -V | tail -n1)
	fi
	echo "$f"
}

# Remove all but the KEEP most recently used build keys under DIR (its
# subdirectories other than pristine/ and unpatched/).  A key used in the
# last FPB_KEY_GRACE_MIN minutes (default 240) stays whatever KEEP says: a
# suite asks for its binary once and runs it for up to an hour, while a
# build for another tree (a work tree, a helper's edit) may come between.
prune_old_keys() {
	local dir=$1 keep=$2 d n=0
	while IFS= read -r d; do
		case ${d%/} in
		*/pristine | */unpatched) continue ;;
		esac
		n=$((n + 1))
		[ "$n" -le "$keep" ] && continue
		[ -n "$(find "${d%/}" -maxdepth 0 -mmin -"${FPB_KEY_GRACE_MIN:-240}")" ] &&
			continue
		rm -rf "$d"
	done < <(ls -1dt "$dir"/*/ 2>/dev/null)
}
