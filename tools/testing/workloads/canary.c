// SPDX-License-Identifier: GPL-2.0
/*
 * Take one given guest page into a patterned, locked buffer and hold it
 * until SIGUSR1; then verify every page of the buffer.  The hibernation
 * test gives it the page the resume kernel had registered as its FPB
 * header: a host that still writes `request` there breaks the pattern.
 *
 * The buffer grows a MiB at a time until /proc/self/pagemap shows the
 * page among its own, or MAX_MIB is reached.  Set
 * vm.compact_unevictable_allowed=0 first so the page is not migrated away.
 *
 * usage: canary PFN MAX_MIB
 * Prints "canary: holds pfn P in N MiB" or "canary: pfn P not taken in
 * N MiB", then "canary: armed"; after SIGUSR1 "canary: ok ..." or
 * "canary: FAIL ...".
 */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL
#define WORDS (PAGE / sizeof(uint64_t))
#define PFN_MASK ((1ULL << 55) - 1)
#define PRESENT (1ULL << 63)

static volatile sig_atomic_t stop;

static void on_usr1(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t word(size_t page, size_t i)
{
	uint64_t x = (page << 9 | i) * 0x9e3779b97f4a7c15ULL;

	return x ^ (x >> 31) ^ 0xca4a11ca4a11ca4aULL;
}

static uint64_t pfn_of(int fd, void *addr)
{
	uint64_t e;
	off_t off = (uintptr_t)addr / PAGE * sizeof(e);

	if (pread(fd, &e, sizeof(e), off) != sizeof(e) || !(e & PRESENT))
		return 0;
	return e & PFN_MASK;
}

int main(int argc, char **argv)
{
	uint64_t target = argc > 2 ? strtoull(argv[1], NULL, 0) : 0;
	size_t max = argc > 2 ? strtoul(argv[2], NULL, 0) : 0;
	size_t pages = 0, p, i, bad = 0, at = (size_t)-1;
	uint64_t *m;
	int fd;

	if (!target || !max) {
		fprintf(stderr, "usage: canary PFN MAX_MIB\n");
		return 2;
	}
	signal(SIGUSR1, on_usr1);
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0) {
		perror("canary: pagemap");
		return 1;
	}
	m = mmap(NULL, max << 20, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		perror("canary: mmap");
		return 1;
	}
	while (at == (size_t)-1 && pages < max << 8) {
		for (p = pages; p < pages + 256; p++) {
			for (i = 0; i < WORDS; i++)
				m[p * WORDS + i] = word(p, i);
			if (pfn_of(fd, &m[p * WORDS]) == target)
				at = p;
		}
		/* Locked: swap is on in the hibernation test. */
		if (mlock(&m[pages * WORDS], 256 * PAGE)) {
			perror("canary: mlock");
			return 1;
		}
		pages = p;
	}
	if (at != (size_t)-1)
		printf("canary: holds pfn %" PRIu64 " in %zu MiB\n", target,
		       pages >> 8);
	else
		printf("canary: pfn %" PRIu64 " not taken in %zu MiB\n",
		       target, pages >> 8);
	printf("canary: armed\n");
	fflush(stdout);
	while (!stop)
		pause();
	for (p = 0; p < pages; p++)
		for (i = 0; i < WORDS; i++)
			if (m[p * WORDS + i] != word(p, i)) {
				printf("canary: page %zu word %zu: %#" PRIx64
				       " instead of %#" PRIx64 "\n", p, i,
				       m[p * WORDS + i], word(p, i));
				bad++;
				break;
			}
	if (at != (size_t)-1 && pfn_of(fd, &m[at * WORDS]) != target)
		printf("canary: pfn %" PRIu64 " moved away meanwhile\n",
		       target);
	printf("canary: %s: %zu of %zu pages wrong\n", bad ? "FAIL" : "ok",
	       bad, pages);
	return bad ? 1 : 0;
}
