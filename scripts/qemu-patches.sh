#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Export FPB's QEMU change (new files under qemu/ plus qemu/patches/) as a
# `git format-patch` series against the pinned QEMU 10.0 source, one commit
# per logical step, into build/qemu-patches/ (or DIR).
#
# usage: qemu-patches.sh [DIR]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=$(realpath -m "${1:-$FPB_TOP/build/qemu-patches}")
pristine=$("$FPB_TOP/scripts/qemu-build.sh" -P | tail -n1)
[ -d "$pristine" ] || die "no pristine QEMU tree"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
progress "committing the pristine tree in $work"
(cd "$pristine" && tar --exclude=./.pc --exclude=./debian \
	--exclude=./.fpb-unpacked -cf - .) | tar -C "$work" -xf -
# No automatic gc: committing a whole QEMU tree leaves enough loose objects
# for git to start one in the background, which races the rm -rf on exit.
g() { git -C "$work" -c user.name="FPB developers" \
	-c user.email=fpb@example.invalid -c gc.auto=0 "$@"; }
g init -q
g add -A
g commit -q -m "QEMU $(basename "$(dirname "$pristine")") (Debian source)"
base=$(g rev-parse HEAD)

# List the new files of a commit in a MAINTAINERS section of their own,
# created before "Migration dirty limit and dirty page rate".
maintain() {
	local f new=()
	for f in "$@"; do
		case $f in *.patch) ;; *) new+=("F: $f") ;; esac
	done
	[ ${#new[@]} -gt 0 ] || return 0
	python3 - "$work/MAINTAINERS" "${new[@]}" <<'PY'
import sys
path, lines = sys.argv[1], sys.argv[2:]
text = open(path).read()
head = "FPB free page bitmap\n"
if head not in text:
    anchor = "Migration dirty limit and dirty page rate\n"
    assert anchor in text, "MAINTAINERS anchor missing"
    text = text.replace(anchor, head + "M: FPB developers <fpb@example.invalid>\n"
                        "S: Maintained\n\n" + anchor, 1)
start = text.index(head)
end = text.index("\n\n", start)
text = text[:end] + "".join("\n" + l for l in lines) + text[end:]
open(path, "w").write(text)
PY
}

# commit SUBJECT BODY [FILE|PATCH]...: new files come from qemu/, patches
# from qemu/patches/.
commit() {
	local subject=$1 body=$2 f
	shift 2
	for f in "$@"; do
		case $f in
		*.patch)
			patch -d "$work" -p1 -s --no-backup-if-mismatch \
				<"$FPB_TOP/qemu/patches/$f" ||
				die "qemu/patches/$f does not apply"
			;;
		*)
			mkdir -p "$work/$(dirname "$f")"
			cp "$FPB_TOP/qemu/$f" "$work/$f"
			;;
		esac
	done
	maintain "$@"
	g add -A
	printf '%s\n\n%s\n\nSigned-off-by: FPB developers <fpb@example.invalid>\n' \
		"$subject" "$body" | g commit -q -F -
}

commit "hw/i386: add kvm_fpb.h, the FPB paravirtual ABI" \
"FPB (free page bitmap) lets a KVM guest publish a bitmap of the pages
in its buddy allocator's free lists, so that live migration can skip
them.  This is a QEMU-style copy of the FPB project's ABI header (CPUID
bit, hypercall number, header region layout).  It is not in Linux yet,
so it cannot come through scripts/update-linux-headers.sh." \
	include/hw/i386/kvm_fpb.h

commit "migration/ram: let free page hinters see what they dropped" \
"qemu_guest_free_page_hint() now returns how many pages it removed from
the migration bitmap, so that a hinter can report the pages it saved.

Add ram_arm_dirty_log(), which clears the dirty log of every not yet
cleared clear_bmap chunk at once.  With KVM's manual dirty log
protection a page is write-protected again only when KVM_CLEAR_DIRTY_LOG
covers it, and migration clears lazily before sending.  virtio-balloon
does not care because the guest holds hinted pages allocated until the
hinting ends; a hinter whose pages the guest may reuse at once must have
every page tracked before it asks the guest, or a write between the
guest's report and the lazy clear would be lost.

Add ram_block_drop_dirty(), the same for a hinter that hands in a bitmap
rather than a range: a callback edits a RAMBlock's migration bitmap under
the bitmap mutex, after the same lazy dirty log clear, and the pages it
reports cleared are no longer counted as dirty." \
	0001-migration-ram-hint-count-and-arm.patch

commit "migration: skip the free pages a guest reports in its FPB bitmap" \
"A guest that sees kvm-pv-fpb registers a header region with the
KVM_HC_FPB hypercall.  After every dirty bitmap sync of a precopy
migration the host arms write tracking for all of RAM and writes a new
request number into the header; the guest answers with a snapshot of its
free pages, which the host validates, copies out of guest RAM and applies
straight into the migration bitmap, a word at a time
(ram_block_drop_dirty()), so that its cost follows the size of the
bitmap, not the number of runs of free pages in it.

A snapshot whose request was issued before the latest sync is discarded,
and request, sync and apply are serialised by a mutex that
migration_bitmap_sync() takes before every sync: a sync in between could
already have moved a write made after the snapshot into the migration
bitmap.  The sync itself takes it, not a BEFORE_BITMAP_SYNC notifier: a
notifier chain stops at the first notifier that fails, and the sync goes
ahead anyway.  An apply holds that mutex to its end but works in steps
of 1 GiB of guest RAM and stops at the next step when a sync, a reset or
the end of the migration waits for the mutex, keeping what it applied:
no guest is refused for its size, and a sync waits for one step at most
(tests/bench/fpb-apply-bench.c measures it, 8 GiB to 16 TiB).  The
migration waits for the guest once, boundedly:
ram_save_iterate() holds the first pass back until the first answer
arrives or the new migration parameter fpb-first-wait-ms (default 1000,
at most 60000, 0 turns the wait off) passes, since whatever it sends
before then is sent even if free; no sync can run meanwhile, the waiting
thread being the one that syncs.  FPB stays off with postcopy-ram (a page it
dropped is never sent, even when the destination faults on it) and
background-snapshot.

FPB reads, writes and drops ordinary guest RAM only: the machine's main
RAM where the machine itself maps it, rebuilt from the top level of the
system address space by a memory listener (fpb-ram.c).  Not ROM, not the
ROM shadows and SMRAM the chipset lays over RAM (whatever their current
state), not VGA or other device RAM, not other RAM blocks; a run of free
pages that crosses anything else drops exactly its ordinary RAM pages.

fpb-validate.c checks everything the guest wrote and depends on nothing
but a read callback, so that it can be unit tested and fuzzed alone;
fpb-protocol.c is the state machine over callbacks; fpb.c connects them
to guest RAM, the precopy notifier, reset and migration.  The
registration migrates in a live section named kvm-pv-fpb, present only
when the flag is on, announced in the setup phase so that a destination
without FPB fails before any RAM is copied, naming the flag (a guest that
saw the CPUID bit must not land where its hypercall is a #UD); its
content, sent only when a guest registered, travels at the end;
scripts/analyze-migration.py reads it." \
	migration/fpb-validate.h migration/fpb-validate.c \
	migration/fpb-bitmap.h migration/fpb-bitmap.c \
	migration/fpb-protocol.h migration/fpb-protocol.c \
	migration/fpb-ram.h migration/fpb-ram.c migration/fpb.c \
	include/migration/fpb.h 0002-migration-fpb-build.patch \
	0006-migration-fpb-first-wait-parameter.patch \
	0008-scripts-analyze-migration-fpb.patch \
	tests/unit/test-fpb.c tests/bench/fpb-apply-bench.c

commit "migration: report FPB savings in query-migrate" \
"Add optional fpb-skipped-pages, fpb-snapshots-applied,
fpb-snapshots-discarded and fpb-hypercalls-refused to MigrationStats,
present only when a vCPU has kvm-pv-fpb, and print them in 'info
migrate'.  A snapshot is the first answer to a request the host issued,
so the snapshot counters grow by at most one per request; hypercalls
turned down without a snapshot (rate limited, invalid, repeated) are
counted apart, however many a guest makes." \
	0003-migration-fpb-stats.patch

commit "target/i386: add the kvm-pv-fpb paravirtual feature" \
"CPUID 0x40000001 EAX bit 23, off by default and never auto-enabled by
-cpu host or max.  Under KVM the bit is offered only when the kernel
accepts KVM_HC_FPB in KVM_CAP_EXIT_HYPERCALL; QEMU then enables that
exit (kvm_enable_hypercall() now keeps bits enabled earlier, such as
SEV-SNP's KVM_HC_MAP_GPA_RANGE) and hands the hypercall to FPB; a host
kernel without that support gets a warning that names the KVM series it
needs.  docs/system/i386/kvm-pv.rst describes the flag.

x-fpb-apply-late, x-fpb-apply-late-unchecked, x-fpb-skip-arm and
x-fpb-failing-notifier are test hooks, off by default: each breaks FPB
or its surroundings on purpose and exists only to show that the tests
catch the failure (see include/migration/fpb.h)." \
	0004-target-i386-kvm-pv-fpb.patch 0007-docs-kvm-pv-fpb.patch

commit "target/i386/tcg: emulate KVM hypercalls for kvm-pv-fpb" \
"With kvm-pv-fpb on, TCG shows KVM's signature in CPUID 0x40000000 and
only the FPB bit in 0x40000001, and VMCALL and VMMCALL outside an SVM
guest reach a helper that behaves like KVM's kvm_emulate_hypercall():
-KVM_EPERM above CPL 0, -KVM_ENOSYS for unknown numbers, registers
truncated to 32 bits outside 64-bit mode.  As under KVM, which
intercepts VMMCALL whatever its guest's EFER.SVME, this holds with SVME
set too (Linux sets it when kvm_amd loads); inside an SVM guest both are
#UD or an exit to that guest's hypervisor, as on hardware.  With it off,
both still raise #UD as before." \
	target/i386/tcg/system/hypercall_helper.c \
	0005-target-i386-tcg-kvm-hypercall.patch

# Everything in qemu/ must have gone into some commit.
missing=$(cd "$FPB_TOP/qemu" && find . -type f ! -path './patches/*' \
	! -name README.md | sed 's@^\./@@' | while read -r f; do
	[ -e "$work/$f" ] || echo "$f"; done)
[ -z "$missing" ] || die "not exported: $missing"
for p in "$FPB_TOP"/qemu/patches/*.patch; do
	grep -q "${p##*/}" "$0" || die "patch ${p##*/} is in no commit"
done

rm -rf "$out"
mkdir -p "$out"
g format-patch -q -o "$out" "$base"..HEAD
ls "$out"/*.patch
