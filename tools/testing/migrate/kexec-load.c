// SPDX-License-Identifier: GPL-2.0
/*
 * The two kexec steps the lifecycle tests need, without kexec-tools (whose
 * Debian build is dynamically linked and the test image has no libc):
 *
 *   kexec-load [-p] KERNEL INITRD CMDLINE
 *	load a bzImage with kexec_file_load(2); -p loads it as the crash
 *	kernel, into the crashkernel= reservation, for kdump
 *   kexec-load -e
 *	reboot into the loaded kernel (LINUX_REBOOT_CMD_KEXEC), which runs
 *	the reboot notifiers first, as `kexec -e` does
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kexec.h>
#include <linux/reboot.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int load(const char *kernel, const char *initrd, const char *cmdline,
		unsigned long flags)
{
	int kfd = open(kernel, O_RDONLY | O_CLOEXEC);
	int ifd = open(initrd, O_RDONLY | O_CLOEXEC);

	if (kfd < 0 || ifd < 0) {
		fprintf(stderr, "kexec-load: open %s: %s\n",
			kfd < 0 ? kernel : initrd, strerror(errno));
		return 1;
	}
	/* The length counts the terminating NUL. */
	if (syscall(SYS_kexec_file_load, kfd, ifd, strlen(cmdline) + 1, cmdline,
		    flags)) {
		fprintf(stderr, "kexec-load: kexec_file_load: %s\n",
			strerror(errno));
		return 1;
	}
	printf("kexec-load: loaded%s\n",
	       flags & KEXEC_FILE_ON_CRASH ? " as the crash kernel" : "");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "-e")) {
		sync();
		syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
			LINUX_REBOOT_CMD_KEXEC, NULL);
		fprintf(stderr, "kexec-load: reboot: %s\n", strerror(errno));
		return 1;
	}
	if (argc == 5 && !strcmp(argv[1], "-p"))
		return load(argv[2], argv[3], argv[4], KEXEC_FILE_ON_CRASH);
	if (argc == 4)
		return load(argv[1], argv[2], argv[3], 0);
	fprintf(stderr, "usage: kexec-load [-p] KERNEL INITRD CMDLINE | -e\n");
	return 2;
}
