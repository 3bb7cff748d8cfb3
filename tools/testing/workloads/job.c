// SPDX-License-Identifier: GPL-2.0
/*
 * "After a job": fill a share of RAM (or a fixed size) with a non-zero
 * pattern, then free it, leaving that memory free but full of garbage
 * that a plain migration would send.  Prints how long the fill and the
 * free took: freeing is where init_on_free=1 zeroes every page.
 *
 *   job: dirtied N MiB in A ms, freed in B ms (C ns per page)
 *
 * usage: job PERCENT_OF_MEMTOTAL | job SIZE{M,G}
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Bytes to dirty, from "50" (percent of MemTotal), "512M" or "1G"; 0: bad. */
static size_t job_len(const char *arg)
{
	struct sysinfo si;
	unsigned long long total;
	char *end;
	unsigned long n = strtoul(arg, &end, 10);

	sysinfo(&si);
	total = (unsigned long long)si.totalram * si.mem_unit;
	if (end == arg)
		return 0;
	if (!strcmp(end, "M") || !strcmp(end, "G")) {
		unsigned long long len = (unsigned long long)n << (*end == 'G' ? 30 : 20);

		return len && len <= total / 100 * 95 ? len : 0;
	}
	if (*end || n == 0 || n > 95)
		return 0;
	return total / 100 * n;
}

int main(int argc, char **argv)
{
	size_t len = job_len(argc > 1 ? argv[1] : "50"), i;
	uint64_t t0, t1, t2;
	unsigned char *p;

	if (!len) {
		fprintf(stderr, "job: want a percent of MemTotal (1..95) or a size\n"
			"     like 512M or 1G, at most 95%% of MemTotal\n");
		return 2;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("job: mmap");
		return 1;
	}
	t0 = now_ns();
	for (i = 0; i < len; i += 4096)
		memset(p + i, 0xa5 ^ (unsigned char)(i >> 12), 4096);
	t1 = now_ns();
	munmap(p, len);
	t2 = now_ns();
	printf("job: dirtied %zu MiB in %llu ms, freed in %llu ms (%llu ns per page)\n",
	       len >> 20, (unsigned long long)(t1 - t0) / 1000000,
	       (unsigned long long)(t2 - t1) / 1000000,
	       (unsigned long long)((t2 - t1) / (len / 4096)));
	return 0;
}
