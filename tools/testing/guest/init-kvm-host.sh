# SPDX-License-Identifier: GPL-2.0
# Guest side of the kvm-migrate suite: this guest is a nested KVM host (L1).
# It loads KVM, mounts the host's root read-only over 9p and runs the
# script the suite left in the "out" share, chrooted into the host's root:
# the QEMU built on the host then runs here unchanged, shared libraries,
# firmware and all, and the harness's paths are the same as on the host.
for m in kvm kvm-amd; do
	insmod "/lib/fpb/$m.ko" || echo "FPB-L1: insmod $m failed"
done
echo "FPB-L1: kvm taint '$(cat /sys/module/kvm/taint 2>/dev/null)'"
# Migrations run over loopback.
ip link set lo up
opts=trans=virtio,version=9p2000.L,msize=512000
mkdir -p /host
if mount -t 9p -o "$opts,ro,cache=loose" host /host &&
	mount -t tmpfs -o size=1G tmpfs /host/tmp &&
	mkdir -p /host/tmp/out &&
	mount -t 9p -o "$opts" out /host/tmp/out &&
	top=$(cat /host/tmp/out/l1-top) &&
	{ [ -d "/host$top" ] || mkdir -p "/host$top"; } &&
	mount -t 9p -o "$opts,ro,cache=loose" top "/host$top" &&
	mount -o bind /dev /host/dev &&
	mount -t proc proc /host/proc &&
	mount -t sysfs sysfs /host/sys; then
	chroot /host /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/tmp TMPDIR=/tmp PYTHONDONTWRITEBYTECODE=1 \
		/bin/sh /tmp/out/l1-run.sh
	echo "FPB-L1-DONE rc=$?"
else
	echo "FPB-L1: mounting the host's root failed"
fi
