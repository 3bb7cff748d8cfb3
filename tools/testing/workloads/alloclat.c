// SPDX-License-Identifier: GPL-2.0
/*
 * Page allocation latency: for SECONDS, map MIB of anonymous memory, time
 * the first touch of every page (a fault that allocates a page), unmap.
 * Prints the count and the 50th, 99th and 99.9th percentiles and the
 * maximum, in nanoseconds, as one line:
 *
 *   alloclat: n N p50 A p99 B p999 C max D
 *
 * usage: alloclat SECONDS MIB
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE 4096UL

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	unsigned long secs = argc > 1 ? strtoul(argv[1], NULL, 0) : 10;
	size_t mib = argc > 2 ? strtoul(argv[2], NULL, 0) : 64;
	size_t pages = mib << 8, n = 0, cap = 1 << 20, i;
	uint64_t end;
	uint32_t *lat;

	if (secs < 1 || secs > 3600 || mib < 1 || mib > 65536) {
		fprintf(stderr, "usage: alloclat SECONDS(1-3600) MIB(1-65536)\n");
		return 2;
	}
	lat = malloc(cap * sizeof(*lat));
	if (!lat)
		return 1;
	end = now_ns() + secs * 1000000000ULL;
	while (now_ns() < end) {
		volatile char *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			perror("alloclat: mmap");
			return 1;
		}
		madvise((void *)p, pages * PAGE, MADV_NOHUGEPAGE);
		for (i = 0; i < pages; i++) {
			uint64_t t0 = now_ns();

			p[i * PAGE] = 1;
			if (n == cap) {
				cap *= 2;
				lat = realloc(lat, cap * sizeof(*lat));
				if (!lat)
					return 1;
			}
			lat[n++] = now_ns() - t0;
		}
		munmap((void *)p, pages * PAGE);
	}
	qsort(lat, n, sizeof(*lat), cmp);
	printf("alloclat: n %zu p50 %u p99 %u p999 %u max %u\n", n, lat[n / 2],
	       lat[n * 99 / 100], lat[n * 999 / 1000], lat[n - 1]);
	return 0;
}
