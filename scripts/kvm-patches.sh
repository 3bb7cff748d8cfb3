#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Export the KVM series in kvm/ as a git format-patch series, cover letter
# included, into OUTDIR.  A scratch git repository holds the pristine
# versions of the files the series touches (from linux-source-6.12); each
# patch is applied with git am and the files it adds are folded into its
# commit, so the exported patches are exactly what kvm-build.sh builds.
#
# usage: kvm-patches.sh OUTDIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || die "usage: kvm-patches.sh OUTDIR"
mkdir -p "$1"
outdir=$(cd "$1" && pwd)
src=$("$(dirname "$0")/linux-src.sh")
repo=$(mktemp -d)
trap 'rm -rf "$repo"' EXIT

export GIT_AUTHOR_NAME="FPB developers" GIT_AUTHOR_EMAIL=fpb@example.invalid
export GIT_COMMITTER_NAME="FPB developers" GIT_COMMITTER_EMAIL=fpb@example.invalid
export GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z"
# No automatic gc in the background: it would race the rm -rf on exit.
git_() { git -C "$repo" -c core.autocrlf=false -c user.useConfigOnly=false -c gc.auto=0 "$@"; }

git_ init -q -b fpb
series=()
while read -r p files; do
	case "$p" in '' | '#'*) continue ;; esac
	series+=("$p")
	while read -r f; do
		if [ -e "$src/$f" ] && [ ! -e "$repo/$f" ]; then
			mkdir -p "$repo/$(dirname "$f")"
			cp "$src/$f" "$repo/$f"
		fi
	done < <(sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$FPB_TOP/kvm/patches/$p")
done <"$FPB_TOP/kvm/series"
git_ add -A
git_ commit -q -m "linux-source-6.12 $(basename "$(dirname "$src")"), files the series touches"
git_ tag base

while read -r p files; do
	case "$p" in '' | '#'*) continue ;; esac
	git_ am -q "$FPB_TOP/kvm/patches/$p" || die "git am $p failed"
	if [ -n "$files" ]; then
		for f in $files; do
			mkdir -p "$repo/$(dirname "$f")"
			cp "$FPB_TOP/kvm/$f" "$repo/$f"
			git_ add "$f"
		done
		git_ commit -q --amend --no-edit
	fi
done <"$FPB_TOP/kvm/series"

# The cover letter is the branch description, signed like the patches.
git_ config branch.fpb.description "$(cat "$FPB_TOP/kvm/cover-letter.txt"
	printf '\nSigned-off-by: %s <%s>\n' "$GIT_AUTHOR_NAME" "$GIT_AUTHOR_EMAIL")"
rm -f "$outdir"/*.patch
git_ format-patch -q --cover-letter --cover-from-description=subject \
	--no-signature -o "$outdir" base..fpb
progress "exported ${#series[@]} patches and a cover letter"
echo "$outdir"
