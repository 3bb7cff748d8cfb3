// SPDX-License-Identifier: GPL-2.0
/*
 * "After a job": fill a share of RAM with a non-zero pattern, then exit,
 * leaving that memory free but full of garbage that a plain migration
 * would send.
 *
 * usage: job PERCENT_OF_MEMTOTAL
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>

int main(int argc, char **argv)
{
	struct sysinfo si;
	unsigned long pct = argc > 1 ? strtoul(argv[1], NULL, 0) : 50;
	size_t len, i;
	unsigned char *p;

	if (pct == 0 || pct > 95) {
		fprintf(stderr, "job: percent must be 1..95\n");
		return 2;
	}
	sysinfo(&si);
	len = (size_t)si.totalram * si.mem_unit / 100 * pct;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("job: mmap");
		return 1;
	}
	for (i = 0; i < len; i += 4096)
		memset(p + i, 0xa5 ^ (unsigned char)(i >> 12), 4096);
	printf("job: dirtied %zu MiB, exiting\n", len >> 20);
	return 0;
}
