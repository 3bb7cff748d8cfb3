// SPDX-License-Identifier: GPL-2.0
/*
 * Memory churn with integrity checks, to run across a migration.
 *
 * Worker threads allocate buffers of random sizes (4 KiB to 64 MiB), fill
 * them with a pattern derived from a seed, verify and free them, without
 * pause.  One writer thread keeps rewriting a set of long-lived pages, each
 * stamped with a generation recorded in a separate table.  SIGUSR1 stops
 * everything and verifies every long-lived page against its generation:
 * a write lost by the migration shows up as a stale page.
 *
 * With RATE_MIB_S the workers and the writer together write at most that
 * many MiB per second: a steady dirty rate, for benchmarks.
 *
 * usage: churn THREADS LONG_LIVED_MIB [RATE_MIB_S]
 * Prints "churn: ok ..." or "churn: FAIL ..." and exits 0 or 1.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define WORDS (PAGE / sizeof(uint64_t))

static volatile sig_atomic_t stop;
static unsigned long worker_errors, worker_rounds;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static double rate;		/* bytes per ns, 0: unlimited */
static double paced_bytes;
static uint64_t pace_start;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * Sleep until writing @len more bytes keeps the total at the set rate; in
 * slices, so that a stop request is seen within 50 ms.
 */
static void pace(size_t len)
{
	uint64_t due, now;

	if (!rate)
		return;
	pthread_mutex_lock(&count_lock);
	paced_bytes += len;
	due = pace_start + (uint64_t)(paced_bytes / rate);
	pthread_mutex_unlock(&count_lock);
	while (!stop && (now = now_ns()) < due) {
		struct timespec ts = { 0, due - now };

		if (due - now > 50000000)
			ts.tv_nsec = 50000000;
		nanosleep(&ts, NULL);
	}
}

static void fill(uint64_t *p, size_t words, uint64_t seed)
{
	size_t i;

	for (i = 0; i < words; i++)
		p[i] = mix(seed + i);
}

static size_t check(const uint64_t *p, size_t words, uint64_t seed)
{
	size_t i, bad = 0;

	for (i = 0; i < words; i++)
		bad += p[i] != mix(seed + i);
	return bad;
}

static void *worker(void *arg)
{
	uint64_t seed = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL;

	while (!stop) {
		size_t len = PAGE << (mix(++seed) % 15);	/* 4 KiB .. 64 MiB */
		uint64_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		size_t bad;

		if (p == MAP_FAILED)
			continue;
		pace(len);
		fill(p, len / 8, seed);
		bad = check(p, len / 8, seed);
		munmap(p, len);
		pthread_mutex_lock(&count_lock);
		worker_errors += bad;
		worker_rounds++;
		pthread_mutex_unlock(&count_lock);
	}
	return NULL;
}

static uint64_t *longlived;
static uint64_t *gen;
static size_t nr_pages;

static void *writer(void *arg)
{
	size_t i = 0;

	(void)arg;
	while (!stop) {
		uint64_t g = gen[i] + 1;

		pace(PAGE);
		fill(longlived + i * WORDS, WORDS, mix(g) ^ i);
		/* The page first, then the record that says what it holds. */
		__atomic_store_n(&gen[i], g, __ATOMIC_RELEASE);
		i = (i + 1) % nr_pages;
	}
	return NULL;
}

static void on_usr1(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	int nthreads = argc > 1 ? atoi(argv[1]) : 2;
	size_t mib = argc > 2 ? strtoul(argv[2], NULL, 0) : 64;
	unsigned long rate_mib = argc > 3 ? strtoul(argv[3], NULL, 0) : 0;
	pthread_t *t, w;
	size_t i, stale = 0;
	int k;

	if (nthreads < 1 || nthreads > 64 || mib < 1 || rate_mib > 65536) {
		fprintf(stderr,
			"usage: churn THREADS(1-64) LONG_LIVED_MIB [RATE_MIB_S(0-65536)]\n");
		return 2;
	}
	rate = rate_mib * 1048576.0 / 1e9;
	nr_pages = mib << 8;
	longlived = mmap(NULL, nr_pages * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	gen = calloc(nr_pages, sizeof(*gen));
	t = calloc(nthreads, sizeof(*t));
	if (longlived == MAP_FAILED || !gen || !t) {
		perror("churn: alloc");
		return 1;
	}
	for (i = 0; i < nr_pages; i++)
		fill(longlived + i * WORDS, WORDS, mix(0) ^ i);

	signal(SIGUSR1, on_usr1);
	pace_start = now_ns();
	for (k = 0; k < nthreads; k++)
		pthread_create(&t[k], NULL, worker, (void *)(uintptr_t)(k + 1));
	pthread_create(&w, NULL, writer, NULL);
	printf("churn: running, pid %d\n", getpid());
	fflush(stdout);
	while (!stop)
		pause();
	for (k = 0; k < nthreads; k++)
		pthread_join(t[k], NULL);
	pthread_join(w, NULL);

	for (i = 0; i < nr_pages; i++)
		stale += !!check(longlived + i * WORDS, WORDS, mix(gen[i]) ^ i);
	printf("churn: %s: %zu of %zu long-lived pages stale, %lu bad words in %lu buffers\n",
	       stale || worker_errors ? "FAIL" : "ok", stale, nr_pages,
	       worker_errors, worker_rounds);
	return stale || worker_errors ? 1 : 0;
}
