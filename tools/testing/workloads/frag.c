// SPDX-License-Identifier: GPL-2.0
/*
 * Fragmented free memory: fill a share of RAM, then free every other page
 * and every other aligned pair, and hold the rest until SIGUSR1.  The freed
 * memory is garbage in order-0 and order-1 blocks: hinting that only
 * reports max-order blocks cannot see it.
 *
 * Of each four pages the first and the last two are freed, the second is
 * held: where the allocator handed out physically contiguous pages, this
 * leaves an order-0 and an order-1 free block around every held page.
 *
 * SIGUSR1 verifies every held page against its pattern, prints
 * "frag: ok ..." or "frag: FAIL ..." and exits 0 or 1.
 *
 * usage: frag PERCENT_OF_MEMTOTAL
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#define PAGE 4096UL

static volatile sig_atomic_t stop;

static void on_usr1(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t pattern(size_t page)
{
	return 0x9e3779b97f4a7c15ULL * (page + 1);
}

int main(int argc, char **argv)
{
	unsigned long pct = argc > 1 ? strtoul(argv[1], NULL, 0) : 50;
	size_t len, pages, i, j, bad = 0, held = 0;
	struct sysinfo si;
	uint64_t *p;

	if (pct == 0 || pct > 90) {
		fprintf(stderr, "frag: percent must be 1..90\n");
		return 2;
	}
	sysinfo(&si);
	len = (size_t)si.totalram * si.mem_unit / 100 * pct & ~(4 * PAGE - 1);
	pages = len / PAGE;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("frag: mmap");
		return 1;
	}
	/* Huge pages would keep the freed quarters inside a THP. */
	madvise(p, len, MADV_NOHUGEPAGE);
	for (i = 0; i < pages; i++)
		for (j = 0; j < PAGE / 8; j++)
			p[i * PAGE / 8 + j] = pattern(i) ^ j;
	for (i = 0; i < pages; i += 4) {
		madvise((char *)p + i * PAGE, PAGE, MADV_DONTNEED);
		madvise((char *)p + (i + 2) * PAGE, 2 * PAGE, MADV_DONTNEED);
	}
	signal(SIGUSR1, on_usr1);
	printf("frag: holding %zu MiB, freed %zu MiB\n", len / 4 >> 20,
	       len / 4 * 3 >> 20);
	fflush(stdout);
	while (!stop)
		pause();
	for (i = 1; i < pages; i += 4, held++)
		for (j = 0; j < PAGE / 8; j++)
			bad += p[i * PAGE / 8 + j] != (pattern(i) ^ j);
	printf("frag: %s: %zu bad words in %zu held pages\n",
	       bad ? "FAIL" : "ok", bad, held);
	return bad ? 1 : 0;
}
