// SPDX-License-Identifier: GPL-2.0
/*
 * Fill memory once with a checksummed pattern and hold it, untouched,
 * until SIGUSR1; then verify every page.  Unlike churn, nothing rewrites
 * a page, so a write the migration failed to resend stays visible.
 *
 * With SECONDS the fill is spread over that long, so that it spans a
 * window of the migration (the guest's walk and its answer).
 *
 * usage: hold MIB [SECONDS]
 * Prints "hold: filled N MiB", later "hold: ok ..." or "hold: FAIL ...".
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define WORDS (PAGE / sizeof(uint64_t))

static volatile sig_atomic_t stop;

static void on_usr1(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t word(size_t page, size_t i)
{
	uint64_t x = (page << 9 | i) * 0x9e3779b97f4a7c15ULL;

	return x ^ (x >> 29) ^ 0xfbbfbbfbbfbbfbbfULL;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 0;
	double secs = argc > 2 ? strtod(argv[2], NULL) : 0;
	size_t pages = mib << 8, p, i, bad = 0;
	/* One pause per MiB. */
	struct timespec pause_mib = {
		.tv_sec = (time_t)(secs / mib),
		.tv_nsec = (long)((secs / mib - (time_t)(secs / mib)) * 1e9),
	};
	uint64_t *m;

	if (!mib || secs < 0) {
		fprintf(stderr, "usage: hold MIB [SECONDS]\n");
		return 2;
	}
	signal(SIGUSR1, on_usr1);
	m = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		perror("hold: mmap");
		return 1;
	}
	for (p = 0; p < pages; p++) {
		for (i = 0; i < WORDS; i++)
			m[p * WORDS + i] = word(p, i);
		if (secs > 0 && p % 256 == 255)
			nanosleep(&pause_mib, NULL);
	}
	printf("hold: filled %zu MiB\n", mib);
	fflush(stdout);
	while (!stop)
		pause();
	for (p = 0; p < pages; p++)
		for (i = 0; i < WORDS; i++)
			if (m[p * WORDS + i] != word(p, i)) {
				bad++;
				break;
			}
	printf("hold: %s: %zu of %zu pages wrong\n", bad ? "FAIL" : "ok",
	       bad, pages);
	return bad ? 1 : 0;
}
