// SPDX-License-Identifier: GPL-2.0
/*
 * FPB in-guest selftest.  Needs root, debugfs and the fpb module loaded
 * (test_mode=1 is enough: no host is involved).
 *
 * The one property that matters: a page this process holds is never marked
 * free, whatever the allocator does meanwhile.  The rest checks that the
 * bitmap is worth having: freed memory shows up in it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest.h"

#define DBG	"/sys/kernel/debug/fpb/"
#define PAGE	4096UL

static uint8_t *bitmap;
static size_t bitmap_len;

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* Take a local snapshot and read the whole bitmap back. */
static int snapshot(void)
{
	uint8_t buf[65536];
	size_t len = 0;
	ssize_t n;
	int fd, ret;

	ret = write_str(DBG "snapshot", "1");
	if (ret)
		return ret;
	fd = open(DBG "bitmap", O_RDONLY);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (len + n > bitmap_len) {
			bitmap = realloc(bitmap, len + n);
			if (!bitmap)
				ksft_exit_fail_msg("out of memory\n");
			bitmap_len = len + n;
		}
		memcpy(bitmap + len, buf, n);
		len += n;
	}
	close(fd);
	bitmap_len = len;
	return n < 0 ? -errno : 0;
}

static int marked(uint64_t pfn)
{
	if (pfn / 8 >= bitmap_len)
		return 0;
	return (bitmap[pfn / 8] >> (pfn % 8)) & 1;
}

static uint64_t stat_value(const char *key)
{
	char line[128], k[64];
	unsigned long long v;
	uint64_t ret = 0;
	FILE *f = fopen(DBG "stats", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %llu", k, &v) == 2 && !strcmp(k, key))
			ret = v;
	fclose(f);
	return ret;
}

static uint64_t meminfo_kb(const char *key)
{
	char line[128];
	unsigned long long v = 0;
	size_t kl = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			sscanf(line + kl + 1, "%llu", &v);
	fclose(f);
	return v;
}

/* Resolve the PFNs behind [p, p + n pages); 0 where not present. */
static void get_pfns(uint8_t *p, size_t n, uint64_t *pfn)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	size_t i;

	if (fd < 0)
		ksft_exit_fail_msg("pagemap: %s\n", strerror(errno));
	for (i = 0; i < n; i++) {
		uint64_t e;
		off_t off = ((uintptr_t)p / PAGE + i) * sizeof(e);

		if (pread(fd, &e, sizeof(e), off) != sizeof(e))
			ksft_exit_fail_msg("pagemap read: %s\n", strerror(errno));
		pfn[i] = (e >> 63) ? (e & ((1ULL << 55) - 1)) : 0;
	}
	close(fd);
}

static uint8_t *alloc_touched(size_t n)
{
	uint8_t *p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t i;

	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	/*
	 * Small pages only: unmapping part of a THP leaves the whole huge
	 * page allocated until a deferred split, which is not what the
	 * fragmented case is about.
	 */
	madvise(p, n * PAGE, MADV_NOHUGEPAGE);
	for (i = 0; i < n; i++)
		memset(p + i * PAGE, 0x5a, PAGE);
	return p;
}

static size_t count_marked(const uint64_t *pfn, size_t n, size_t step);

/*
 * What the first snapshot after freeing @freed pages must mark: most of
 * them where pcp lists are walked whole, else at least one hold's worth.
 */
static size_t first_want(size_t freed)
{
	size_t cap = stat_value("pcp_max_blocks");

	if (!cap)
		return freed / 2 + 1;
	return freed < cap ? freed : cap;
}

/*
 * Freed pages first wait on per-cpu lists, of which the walker may cover
 * only pcp_max_blocks per list (its bound on a pcp->lock hold, 0: none);
 * the rest reach the buddy lists as the kernel decays pcp->high.
 * Snapshot until more than half of @want pfns (every @step-th of @n) are
 * marked, for at most 30 s; return how many are, and in *first how many the
 * first snapshot found and in *ms how long it took.
 */
static size_t marked_within(const uint64_t *pfn, size_t n, size_t step,
			    size_t want, size_t *first, int *ms)
{
	size_t m = 0;

	for (*ms = 0; *ms <= 30000; *ms += 100) {
		if (snapshot())
			ksft_exit_fail_msg("snapshot: %s\n", strerror(errno));
		m = count_marked(pfn, n, step);
		if (!*ms)
			*first = m;
		if (m * 2 > want)
			break;
		usleep(100000);
	}
	return m;
}

static size_t count_marked(const uint64_t *pfn, size_t n, size_t step)
{
	size_t i, m = 0;

	for (i = 0; i < n; i += step)
		if (pfn[i] && marked(pfn[i]))
			m++;
	return m;
}

/* Children that keep allocating, touching and freeing while we snapshot. */
static pid_t start_churn(int nproc)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	setpgid(0, 0);
	while (nproc-- > 1 && fork() > 0)
		;
	srand(getpid());
	for (;;) {
		size_t n = 1 + rand() % 4096;
		uint8_t *p = alloc_touched(n);

		munmap(p, n * PAGE);
	}
}

int main(int argc, char **argv)
{
	size_t n = (argc > 1 ? strtoul(argv[1], NULL, 0) : 128) << 8;
	uint64_t *pfn, *old;
	size_t m, i, held, first;
	int ms;
	uint8_t *p;
	int rounds;
	pid_t churn;

	ksft_print_header();
	if (access(DBG "snapshot", W_OK))
		ksft_exit_skip("no " DBG "snapshot: fpb not loaded or no debugfs\n");
	ksft_set_plan(10);

	pfn = calloc(n, sizeof(*pfn));
	old = calloc(n, sizeof(*old));
	p = alloc_touched(n);
	get_pfns(p, n, pfn);
	for (i = 0, held = 0; i < n; i++)
		held += !!pfn[i];

	if (snapshot())
		ksft_exit_fail_msg("snapshot: %s\n", strerror(errno));
	m = count_marked(pfn, n, 1);
	ksft_print_msg("%zu of %zu held pages marked\n", m, held);
	ksft_test_result(held == n && m == 0, "no held page is marked free\n");

	ksft_test_result(stat_value("last_nr_free") > 0 &&
			 stat_value("last_nr_free") <= stat_value("covered_pfns"),
			 "nr_free is within the covered range\n");

	/* Stale bits: the same pages, held across a second snapshot. */
	if (snapshot())
		ksft_exit_fail_msg("snapshot: %s\n", strerror(errno));
	ksft_test_result(count_marked(pfn, n, 1) == 0,
			 "second snapshot marks no held page\n");

	memcpy(old, pfn, n * sizeof(*pfn));
	munmap(p, n * PAGE);
	m = marked_within(old, n, 1, held, &first, &ms);
	ksft_print_msg("%zu of %zu freed pages marked (%.1f%%) after %d ms, %zu at once\n",
		       m, held, 100.0 * m / held, ms, first);
	ksft_test_result(first >= first_want(held),
			 "the first snapshot marks what its pcp bound allows\n");
	ksft_test_result(m * 2 > held, "most freed pages are marked within 30 s\n");

	{
		uint64_t free_kb = meminfo_kb("MemFree");
		uint64_t nr = stat_value("last_nr_free");

		ksft_print_msg("snapshot covers %.1f%% of MemFree (%llu of %llu KiB)\n",
			       100.0 * nr * 4 / free_kb,
			       (unsigned long long)nr * 4,
			       (unsigned long long)free_kb);
		ksft_print_msg("walk %llu us, longest zone->lock hold %llu us\n",
			       (unsigned long long)stat_value("last_walk_ns") / 1000,
			       (unsigned long long)stat_value("last_max_hold_ns") / 1000);
		ksft_test_result(nr * 4 * 2 > free_kb,
				 "snapshot covers most of MemFree\n");
	}

	/* Fragmented: free every other page of a fresh allocation. */
	p = alloc_touched(n);
	get_pfns(p, n, pfn);
	for (i = 1; i < n; i += 2)
		munmap(p + i * PAGE, PAGE);
	i = marked_within(pfn + 1, n - 1, 2, n / 2, &first, &ms);
	m = count_marked(pfn, n, 2);
	ksft_print_msg("fragmented: %zu of %zu freed singles marked after %d ms, %zu at once\n",
		       i, n / 2, ms, first);
	ksft_print_msg("fragmented: walk %llu us\n",
		       (unsigned long long)stat_value("last_walk_ns") / 1000);
	ksft_test_result(m == 0, "fragmented: no held page is marked\n");
	ksft_test_result(first >= first_want(n / 2),
			 "fragmented: the first snapshot marks what its pcp bound allows\n");
	ksft_test_result(i * 2 > n / 2,
			 "fragmented: most freed single pages are marked within 30 s\n");

	/*
	 * Under churn, with the lock dropped after every block so that the
	 * resume path runs all the time: still no held page marked.
	 */
	churn = start_churn(2);
	write_str("/sys/module/fpb/parameters/batch", "1");
	for (rounds = 0, m = 0; rounds < 10; rounds++) {
		if (snapshot())
			ksft_exit_fail_msg("snapshot: %s\n", strerror(errno));
		m += count_marked(pfn, n, 2);
	}
	write_str("/sys/module/fpb/parameters/batch", "256");
	kill(-churn, SIGKILL);
	while (wait(NULL) > 0)
		;
	ksft_print_msg("churn: lost resumes so far %llu, lock holds %llu\n",
		       (unsigned long long)stat_value("lost_resumes"),
		       (unsigned long long)stat_value("lock_holds"));
	ksft_test_result(m == 0,
			 "10 snapshots under churn with batch=1 mark no held page\n");

	ksft_finished();
}
