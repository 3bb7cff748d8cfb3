# SPDX-License-Identifier: GPL-2.0
# Guest side of the migration harness (tools/testing/migrate): load the FPB
# module with the fpb.* options of the kernel command line (what modprobe
# would do), then run the harness's commands from the console, each
# answered by "@@DONE <exit status>".
# Commands come over a virtio console (see fpbmig.py for why not ttyS0).
# /dev/hvc0 exists as soon as the hvc driver registers, but opens with
# ENODEV until virtio_console has added the port (seen under nested KVM):
# wait until it opens, since a failed `exec <` would end init.
i=0
while ! (: </dev/hvc0) 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 300 ]; then
		echo "init: /dev/hvc0 does not open after 30 s (virtio_console missing?)"
		poweroff -f
	fi
	sleep 0.1
done
exec </dev/hvc0 >/dev/hvc0 2>&1
stty -echo 2>/dev/null
args=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^fpb\.//p')
if [ -n "$args" ]; then
	# shellcheck disable=SC2086
	insmod /lib/fpb/fpb.ko $args || echo "init: fpb refused to load"
fi
mkdir -p /mnt/tmp
mount -t tmpfs -o size=512M tmpfs /mnt/tmp
echo "@@READY"
while IFS= read -r cmd; do
	sh -c "$cmd"
	echo "@@DONE $?"
done
