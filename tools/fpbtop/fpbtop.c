// SPDX-License-Identifier: GPL-2.0
/*
 * fpbtop: watch the FPB guest module's snapshots as they happen.
 *
 * For each snapshot: the time from taking up the request to done, the
 * pages reported, the walk time, and histograms of the walker's zone->lock
 * and pcp->lock hold times; and the page allocator's latency while
 * snapshots run, against its latency outside them.  -j prints JSON, one
 * object per line.  See fpbtop.bpf.c for where each number comes from.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "fpbtop.h"
#include "fpbtop.skel.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

/* Exit status when this kernel or module cannot be traced at all. */
#define EXIT_UNSUPPORTED	2

static const char usage[] =
"usage: fpbtop [-j] [-q] [-v] [-c COUNT] [-d SECONDS]\n"
"Trace the FPB module's snapshots: latency, pages, walk time, lock holds,\n"
"and page allocation latency while snapshots run.  Ctrl-C ends.\n"
"  -j          JSON, one object per line: a \"snapshot\" per snapshot, then\n"
"              a \"summary\"\n"
"  -q          text: one line per snapshot, histograms only in the summary\n"
"  -v          libbpf's debug messages\n"
"  -c COUNT    end after COUNT snapshots\n"
"  -d SECONDS  end after SECONDS\n"
"Exit status 2: this kernel or the module cannot be traced (no BTF, module\n"
"not loaded or without fpbtop's tracepoints).\n";

static struct {
	bool json;
	bool quiet;
	bool verbose;
	unsigned long count;
	unsigned long seconds;
} opt;

/* Totals of the snapshots seen, for the summary. */
static struct {
	unsigned long snapshots;
	unsigned long long pages;
	unsigned long long latency_ns;
	unsigned long long walk_ns;
	unsigned long long max_latency_ns;
	unsigned long long max_walk_ns;
	struct fpbtop_lock zone_lock;
	struct fpbtop_lock pcp_lock;
} tot;

static volatile sig_atomic_t stop;
static long page_size;

static void on_signal(int sig)
{
	stop = 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG && !opt.verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void lock_merge(struct fpbtop_lock *to, const struct fpbtop_lock *l)
{
	int i;

	to->holds += l->holds;
	to->total_ns += l->total_ns;
	if (l->max_ns > to->max_ns)
		to->max_ns = l->max_ns;
	for (i = 0; i < FPBTOP_HOLD_SLOTS; i++)
		to->hist[i] += l->hist[i];
}

/* Bounds of slot @s: [lo, hi), hi 0 for the open last slot. */
static void slot_bounds(int s, int slots, unsigned long long *lo,
			unsigned long long *hi)
{
	*lo = s ? 1ULL << (s - 1) : 0;
	*hi = s == slots - 1 ? 0 : 1ULL << s;
}

static void print_hist(const char *title, const char *unit,
		       const unsigned long long *hist, int slots)
{
	unsigned long long max = 0, lo, hi;
	int first = -1, last = -1, s, i, stars;
	char range[48];

	for (s = 0; s < slots; s++) {
		if (!hist[s])
			continue;
		if (first < 0)
			first = s;
		last = s;
		if (hist[s] > max)
			max = hist[s];
	}
	printf("  %s\n", title);
	if (first < 0) {
		printf("    (none)\n");
		return;
	}
	printf("    %22s : %-10s distribution\n", unit, "count");
	for (s = first; s <= last; s++) {
		slot_bounds(s, slots, &lo, &hi);
		if (hi)
			snprintf(range, sizeof(range), "%llu -> %llu", lo, hi);
		else
			snprintf(range, sizeof(range), "%llu -> ...", lo);
		stars = (int)(hist[s] * 40 / max);
		printf("    %22s : %-10llu |", range, hist[s]);
		for (i = 0; i < 40; i++)
			putchar(i < stars ? '*' : ' ');
		printf("|\n");
	}
}

/*
 * JSON, one object per line.  json_sep holds what goes before the next
 * member: nothing right after an opening bracket, a comma otherwise.
 */
static const char *json_sep = "";

static void json_key(const char *key)
{
	printf("%s", json_sep);
	if (key)
		printf("\"%s\":", key);
	json_sep = ",";
}

static void json_open(const char *key, char bracket)
{
	json_key(key);
	putchar(bracket);
	json_sep = "";
}

static void json_close(char bracket)
{
	putchar(bracket);
	json_sep = ",";
}

/* Ends the line's top-level object. */
static void json_end(void)
{
	json_close('}');
	putchar('\n');
	json_sep = "";
}

static void json_u64(const char *key, unsigned long long v)
{
	json_key(key);
	printf("%llu", v);
}

static void json_s64(const char *key, long long v)
{
	json_key(key);
	printf("%lld", v);
}

static void json_str(const char *key, const char *v, size_t len)
{
	size_t i;

	json_key(key);
	putchar('"');
	for (i = 0; i < len && v[i]; i++) {
		unsigned char c = v[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_hist(const char *key, const unsigned long long *hist,
		      int slots)
{
	unsigned long long lo, hi;
	int s;

	json_open(key, '[');
	for (s = 0; s < slots; s++) {
		if (!hist[s])
			continue;
		slot_bounds(s, slots, &lo, &hi);
		json_open(NULL, '{');
		json_u64("lo", lo);
		json_key("hi");
		if (hi)
			printf("%llu", hi);
		else
			printf("null");
		json_u64("count", hist[s]);
		json_close('}');
	}
	json_close(']');
}

static void json_lock(const char *key, const struct fpbtop_lock *l)
{
	json_open(key, '{');
	json_u64("holds", l->holds);
	json_u64("total_ns", l->total_ns);
	json_u64("max_ns", l->max_ns);
	json_hist("hist_us", l->hist, FPBTOP_HOLD_SLOTS);
	json_close('}');
}

static void json_alloc(const char *key, const struct fpbtop_alloc *a)
{
	json_open(key, '{');
	json_u64("count", a->count);
	json_u64("failed", a->failed);
	json_u64("total_ns", a->total_ns);
	json_u64("max_ns", a->max_ns);
	json_hist("hist_ns", a->hist, FPBTOP_ALLOC_SLOTS);
	json_close('}');
}

static void json_snapshot(const struct fpbtop_snapshot *s, unsigned long n)
{
	int i;

	json_open(NULL, '{');
	json_str("event", "snapshot", 8);
	json_u64("n", n);
	json_u64("request", s->request);
	json_u64("seq", s->seq);
	json_s64("result", s->result);
	json_u64("latency_ns", s->latency_ns);
	json_u64("walk_ns", s->walk_ns);
	json_u64("pages", s->nr_free);
	json_u64("module_max_hold_ns", s->max_hold_ns);
	json_lock("zone_lock", &s->zone_lock);
	json_lock("pcp_lock", &s->pcp_lock);
	json_open("zones", '[');
	for (i = 0; i < FPBTOP_MAX_ZONES && s->zones[i].zone; i++) {
		const struct fpbtop_zone *z = &s->zones[i];

		json_open(NULL, '{');
		json_s64("nid", z->nid);
		json_u64("zid", z->zid);
		json_str("name", z->name, sizeof(z->name));
		json_u64("zone_holds", z->zone_holds);
		json_u64("zone_max_ns", z->zone_max_ns);
		json_u64("pcp_holds", z->pcp_holds);
		json_u64("pcp_max_ns", z->pcp_max_ns);
		json_close('}');
	}
	json_close(']');
	json_u64("other_zone_holds", s->other_zone_holds);
	json_alloc("alloc", &s->alloc);
	json_end();
}

static void text_snapshot(const struct fpbtop_snapshot *s, unsigned long n)
{
	const struct fpbtop_lock *zl = &s->zone_lock, *pl = &s->pcp_lock;
	unsigned long long mib = s->nr_free * page_size >> 20;
	int i;

	if (opt.quiet) {
		if (n == 1)
			printf("%6s %10s %12s %12s %12s %8s %10s %8s %10s %8s\n",
			       "N", "REQUEST", "LATENCY_US", "WALK_US",
			       "PAGES", "ZHOLDS", "ZMAX_US", "PHOLDS",
			       "PMAX_US", "ALLOCS");
		printf("%6lu %10llu %12.1f %12.1f %12llu",
		       n, s->request, s->latency_ns / 1e3, s->walk_ns / 1e3,
		       s->nr_free);
		printf(" %8llu %10.1f %8llu %10.1f %8llu\n",
		       zl->holds, zl->max_ns / 1e3, pl->holds,
		       pl->max_ns / 1e3, s->alloc.count);
		fflush(stdout);
		return;
	}
	printf("snapshot %lu: request %llu, seq %llu, result %lld\n",
	       n, s->request, s->seq, s->result);
	printf("  request to done %.1f us, walk %.1f us,",
	       s->latency_ns / 1e3, s->walk_ns / 1e3);
	printf(" pages reported %llu (%llu MiB)\n", s->nr_free, mib);
	printf("  zone->lock: %llu holds, %.1f us in all, longest %.1f us\n",
	       zl->holds, zl->total_ns / 1e3, zl->max_ns / 1e3);
	printf("  pcp->lock:  %llu holds, %.1f us in all, longest %.1f us\n",
	       pl->holds, pl->total_ns / 1e3, pl->max_ns / 1e3);
	for (i = 0; i < FPBTOP_MAX_ZONES && s->zones[i].zone; i++) {
		const struct fpbtop_zone *z = &s->zones[i];

		printf("    node %d %-8.*s", z->nid, (int)sizeof(z->name),
		       z->name);
		printf(" zone->lock %llu holds (longest %.1f us),",
		       z->zone_holds, z->zone_max_ns / 1e3);
		printf(" pcp->lock %llu holds (longest %.1f us)\n",
		       z->pcp_holds, z->pcp_max_ns / 1e3);
	}
	if (s->other_zone_holds)
		printf("    other zones: %llu holds\n", s->other_zone_holds);
	printf("  page allocations that ended meanwhile: %llu (%llu failed),",
	       s->alloc.count, s->alloc.failed);
	printf(" longest %.1f us\n", s->alloc.max_ns / 1e3);
	print_hist("zone->lock hold times", "usecs", zl->hist,
		   FPBTOP_HOLD_SLOTS);
	print_hist("pcp->lock hold times", "usecs", pl->hist,
		   FPBTOP_HOLD_SLOTS);
	print_hist("page allocation latency meanwhile", "nsecs", s->alloc.hist,
		   FPBTOP_ALLOC_SLOTS);
	printf("\n");
	fflush(stdout);
}

static int on_snapshot(void *ctx, void *data, size_t size)
{
	const struct fpbtop_snapshot *s = data;

	if (size < sizeof(*s) || (opt.count && tot.snapshots >= opt.count))
		return 0;
	tot.snapshots++;
	tot.pages += s->nr_free;
	tot.latency_ns += s->latency_ns;
	tot.walk_ns += s->walk_ns;
	if (s->latency_ns > tot.max_latency_ns)
		tot.max_latency_ns = s->latency_ns;
	if (s->walk_ns > tot.max_walk_ns)
		tot.max_walk_ns = s->walk_ns;
	lock_merge(&tot.zone_lock, &s->zone_lock);
	lock_merge(&tot.pcp_lock, &s->pcp_lock);
	if (opt.json)
		json_snapshot(s, tot.snapshots);
	else
		text_snapshot(s, tot.snapshots);
	fflush(stdout);
	if (opt.count && tot.snapshots >= opt.count)
		stop = 1;
	return 0;
}

static void print_summary(const struct fpbtop_bpf *skel,
			  const char *allocator)
{
	const struct fpbtop_bpf__bss *b = skel->bss;

	if (opt.json) {
		json_open(NULL, '{');
		json_str("event", "summary", 7);
		json_u64("snapshots", tot.snapshots);
		json_u64("lost", b->lost);
		json_u64("partial", b->partial);
		json_str("allocator", allocator, strlen(allocator));
		json_u64("max_latency_ns", tot.max_latency_ns);
		json_u64("max_walk_ns", tot.max_walk_ns);
		json_lock("zone_lock", &tot.zone_lock);
		json_lock("pcp_lock", &tot.pcp_lock);
		json_alloc("alloc_during", &b->alloc_during);
		json_alloc("alloc_outside", &b->alloc_outside);
		json_end();
		return;
	}
	printf("%lu snapshots", tot.snapshots);
	if (tot.snapshots) {
		printf(", request to done %.1f us on average (longest %.1f),",
		       tot.latency_ns / 1e3 / tot.snapshots,
		       tot.max_latency_ns / 1e3);
		printf(" walk %.1f us (longest %.1f),",
		       tot.walk_ns / 1e3 / tot.snapshots,
		       tot.max_walk_ns / 1e3);
		printf(" %llu pages on average", tot.pages / tot.snapshots);
	}
	printf("\n");
	if (b->lost || b->partial)
		printf("%llu snapshot records lost, %llu begun before fpbtop attached\n",
		       b->lost, b->partial);
	print_hist("zone->lock hold times, all snapshots", "usecs",
		   tot.zone_lock.hist, FPBTOP_HOLD_SLOTS);
	print_hist("pcp->lock hold times, all snapshots", "usecs",
		   tot.pcp_lock.hist, FPBTOP_HOLD_SLOTS);
	printf("  page allocations (%s): %llu while snapshots ran, %llu outside\n",
	       allocator, b->alloc_during.count, b->alloc_outside.count);
	print_hist("page allocation latency while snapshots ran", "nsecs",
		   b->alloc_during.hist, FPBTOP_ALLOC_SLOTS);
	print_hist("page allocation latency outside snapshots", "nsecs",
		   b->alloc_outside.hist, FPBTOP_ALLOC_SLOTS);
}

/*
 * The allocator's entry point: __alloc_pages became __alloc_pages_noprof
 * with memory allocation profiling (6.10).
 */
static const char *find_allocator(struct btf *btf)
{
	static const char *const names[] = {
		"__alloc_pages_noprof", "__alloc_pages",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (btf__find_by_name_kind(btf, names[i], BTF_KIND_FUNC) > 0)
			return names[i];
	return NULL;
}

/*
 * fexit first: an allocation that passes fentry alone would leave its
 * task's nesting depth (fpbtop.bpf.c) one too high for good, and that
 * task's allocations unmeasured; fexit alone finds depth 0 and ignores the
 * call.  The skeleton destroys the links.
 */
static int attach_allocator(struct fpbtop_bpf *skel, const char *allocator)
{
	int err;

	skel->links.alloc_exit = bpf_program__attach(skel->progs.alloc_exit);
	if (skel->links.alloc_exit)
		skel->links.alloc_enter =
			bpf_program__attach(skel->progs.alloc_enter);
	if (skel->links.alloc_exit && skel->links.alloc_enter)
		return 0;
	err = -errno;
	fprintf(stderr, "fpbtop: cannot attach to %s: %s\n", allocator,
		strerror(-err));
	return err;
}

static int check_environment(void)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr,
			"fpbtop: this kernel has no BTF (/sys/kernel/btf/vmlinux: %s)\n"
			"fpbtop: it needs a kernel built with CONFIG_DEBUG_INFO_BTF=y\n",
			strerror(errno));
		return -1;
	}
	if (access("/sys/module/fpb", F_OK)) {
		fprintf(stderr, "fpbtop: the fpb module is not loaded\n");
		return -1;
	}
	return 0;
}

static int parse_ulong(const char *s, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno || !*s || *end || *s == '-' ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct ring_buffer *rb = NULL;
	struct fpbtop_bpf *skel = NULL;
	const char *allocator;
	struct timespec t0, now;
	struct btf *btf;
	int c, err, status = 1;

	while ((c = getopt(argc, argv, "jqvc:d:h")) != -1) {
		switch (c) {
		case 'j':
			opt.json = true;
			break;
		case 'q':
			opt.quiet = true;
			break;
		case 'v':
			opt.verbose = true;
			break;
		case 'c':
			if (parse_ulong(optarg, &opt.count) || !opt.count) {
				fprintf(stderr, "fpbtop: -c wants a count > 0\n");
				return 1;
			}
			break;
		case 'd':
			if (parse_ulong(optarg, &opt.seconds) || !opt.seconds) {
				fprintf(stderr, "fpbtop: -d wants seconds > 0\n");
				return 1;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 1;
		}
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return 1;
	}
	page_size = sysconf(_SC_PAGESIZE);
	libbpf_set_print(libbpf_print);

	if (check_environment())
		return EXIT_UNSUPPORTED;
	btf = btf__load_vmlinux_btf();
	if (!btf) {
		fprintf(stderr, "fpbtop: cannot read the kernel's BTF: %s\n",
			strerror(errno));
		return EXIT_UNSUPPORTED;
	}
	allocator = find_allocator(btf);
	btf__free(btf);
	if (!allocator) {
		fprintf(stderr,
			"fpbtop: the kernel's BTF has neither __alloc_pages_noprof nor __alloc_pages\n");
		return EXIT_UNSUPPORTED;
	}

	skel = fpbtop_bpf__open();
	if (!skel) {
		fprintf(stderr, "fpbtop: cannot open the BPF object: %s\n",
			strerror(errno));
		return 1;
	}
	err = bpf_program__set_attach_target(skel->progs.alloc_enter, 0,
					     allocator);
	if (!err)
		err = bpf_program__set_attach_target(skel->progs.alloc_exit, 0,
						     allocator);
	if (err) {
		fprintf(stderr, "fpbtop: cannot target %s: %s\n", allocator,
			strerror(-err));
		goto out;
	}
	/* attach_allocator() attaches these two, in its order. */
	bpf_program__set_autoattach(skel->progs.alloc_enter, false);
	bpf_program__set_autoattach(skel->progs.alloc_exit, false);
	err = fpbtop_bpf__load(skel);
	if (err) {
		fprintf(stderr, "fpbtop: cannot load the BPF programs: %s\n",
			strerror(-err));
		goto out;
	}
	err = fpbtop_bpf__attach(skel);
	if (err) {
		if (err == -ENOENT)
			fprintf(stderr,
				"fpbtop: the fpb module lacks fpb_snapshot_start, fpb_snapshot_end or fpb_lock_hold (too old?)\n");
		else
			fprintf(stderr, "fpbtop: cannot attach: %s\n",
				strerror(-err));
		status = EXIT_UNSUPPORTED;
		goto out;
	}
	err = attach_allocator(skel, allocator);
	if (err)
		goto out;
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_snapshot,
			      NULL, NULL);
	if (!rb) {
		err = -errno;
		fprintf(stderr, "fpbtop: cannot open the ring buffer: %s\n",
			strerror(errno));
		goto out;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* The tests wait for this line before they take snapshots. */
	fprintf(stderr, "fpbtop: tracing FPB snapshots and %s; Ctrl-C to end\n",
		allocator);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop) {
		err = ring_buffer__poll(rb, 100);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "fpbtop: polling the ring buffer: %s\n",
				strerror(-err));
			goto out;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (opt.seconds &&
		    (unsigned long)(now.tv_sec - t0.tv_sec) >= opt.seconds)
			break;
	}
	/* Records that arrived with the signal. */
	ring_buffer__consume(rb);
	print_summary(skel, allocator);
	status = 0;
out:
	ring_buffer__free(rb);
	fpbtop_bpf__destroy(skel);
	return status;
}
