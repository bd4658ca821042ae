// SPDX-License-Identifier: GPL-2.0
/*
 * fencebuf_bench: fencebuf against the kernel's C sw_sync, in one boot, and
 * the MMIO exporter against VFIO's (vfio-pci's dma-buf export, on a second
 * ivshmem device) and against a direct mapping of the same BAR.
 *
 *   fencebuf_bench [-r REPS] [-t MS] [-q] [-o NAME]
 *
 * Every timeline measurement runs on both implementations, interleaved
 * (C, fencebuf, C, fencebuf, ...) for REPS repetitions (default 5; `make
 * bench` asks for 9) of about MS milliseconds each (default 300); -q is a
 * quick smoke run; -o runs only the timeline measurement NAME (say,
 * wakeup_latency), to look at one row. Results are
 * printed one per line as
 *
 *   @@bench {"name": ..., "impl": "c"|"fencebuf"|"vfio"|"direct", "param": N,
 *            "rep": R, "value": V, "unit": ...}
 *
 * and summarised on the host (scripts/report/bench-report.py): medians, ratios, plots.
 * fencebuf and the sample importer must be loaded, fencebuf bound to the first
 * ivshmem device, vfio-pci to the second.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <linux/fencebuf.h>
#include <linux/sync_file.h>

#include "fencebuf_bench.h"

/* The same BAR through sysfs: write-combined where the kernel has PAT. */
#define RESOURCE_WC "/sys/bus/pci/devices/" FB_PCI_ADDR "/resource2_wc"
#define RESOURCE_UC "/sys/bus/pci/devices/" FB_PCI_ADDR "/resource2"

static int reps = 5;
static int window_ms = 300;
static int quick;
static const char *only;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void emit(const char *name, const char *impl, long param, int rep, double value,
		 const char *unit)
{
	printf("@@bench {\"name\": \"%s\", \"impl\": \"%s\", \"param\": %ld, \"rep\": %d, "
	       "\"value\": %.6g, \"unit\": \"%s\"}\n", name, impl, param, rep, value, unit);
	fflush(stdout);
}

/* Create, signal, wait, close: one thread. */
static double cycle_one_thread(const struct impl *im)
{
	int tl = open_tl(im);
	double t0 = now(), end = t0 + window_ms / 1e3;
	long n = 0;
	uint32_t v = 0;

	while (now() < end) {
		int f = create(tl, ++v);

		inc(tl, 1);
		if (fb_poll(f, -1) != 1)
			die("poll");
		close(f);
		n++;
	}
	close(tl);
	return n / (now() - t0);
}

/* One producer (INC), one consumer (create, wait), on the two vCPUs. */
struct pc {
	int tl;
	atomic_uint want, done;
	atomic_bool stop;
};

/* Pin the calling thread to @cpu: the two sides of a race on two vCPUs. */
static void pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* Undo pin_to(): both vCPUs again. */
static void unpin(void)
{
	cpu_set_t all;

	CPU_ZERO(&all);
	CPU_SET(0, &all);
	CPU_SET(1, &all);
	sched_setaffinity(0, sizeof(all), &all);
}

static void *producer(void *arg)
{
	struct pc *pc = arg;

	pin_to(1);
	while (!atomic_load(&pc->stop)) {
		if (atomic_load(&pc->want) > atomic_load(&pc->done)) {
			inc(pc->tl, 1);
			atomic_fetch_add(&pc->done, 1);
		}
	}
	return NULL;
}

/*
 * How many of those waits had to sleep (poll() took over 30 us: a wake-up,
 * not a fence found signalled), from the last timed run.
 */
static double slept_share;

/*
 * With @timed, each poll() is timed to count the waits that slept. The two
 * clock reads delay the consumer by a few microseconds, which changes who
 * wins the race between its poll() and the producer's INC: both variants
 * are reported.
 */
static double cycle_two_threads_run(const struct impl *im, int timed)
{
	struct pc pc = { .tl = open_tl(im) };
	double t0, end, tp = 0;
	pthread_t t;
	long n = 0, slept = 0;

	pin_to(0);
	errno = pthread_create(&t, NULL, producer, &pc);
	if (errno)
		die("pthread_create");
	t0 = now();
	end = t0 + window_ms / 1e3;
	while (now() < end) {
		unsigned int v = atomic_load(&pc.want) + 1;
		int f = create(pc.tl, v);

		atomic_store(&pc.want, v);
		if (timed)
			tp = now();
		if (fb_poll(f, -1) != 1)
			die("poll");
		if (timed)
			slept += now() - tp > 30e-6;
		close(f);
		n++;
	}
	atomic_store(&pc.stop, true);
	pthread_join(t, NULL);
	close(pc.tl);
	unpin();
	if (timed)
		slept_share = 100.0 * slept / (n ? n : 1);
	return n / (now() - t0);
}

static double cycle_two_threads(const struct impl *im)
{
	return cycle_two_threads_run(im, 0);
}

static double cycle_two_threads_timed(const struct impl *im)
{
	return cycle_two_threads_run(im, 1);
}

/* CREATE_FENCE at a new pending seqno each time, the fd closed at once. */
static double create_rate(const struct impl *im)
{
	int tl = open_tl(im);
	double t0 = now(), end = t0 + window_ms / 1e3;
	long n = 0;

	while (now() < end) {
		close(create(tl, 1 + n));
		n++;
	}
	close(tl);
	return n / (now() - t0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(double), cmp_double);
	return v[n / 2];
}

/*
 * n pending fences (fds kept), then one INC that signals all of them: the
 * cost of creating the last 100 and the cost per signalled fence, net of
 * the cost of an INC that signals nothing (the ioctl itself, measured just
 * before on the same timeline), so that the scaling of the per-fence work
 * shows rather than the fixed cost spread over n. Each n is repeated (40
 * times up to n = 1,000, then about 40,000 fences per call, and 5 times
 * from n = 10,000) and the median trial reported, so that one interrupt or
 * one slow spell of the emulator does not decide the result. The creation
 * cost is the median of the last 100 creations timed in blocks of 10, for
 * the same reason.
 *
 * Trials follow one another without a pause. A pause lets the guest idle,
 * and under TCG whatever runs in the next few milliseconds is slower, for
 * both implementations alike: a 10 ms sleep between trials added about
 * 30 us to every INC at n = 100 (measured; an emulator effect, as an empty
 * INC slowed down as much), which showed as a per-fence cost twice that
 * of larger n.
 */
static void inc_scaling(const struct impl *im, long n, int rep)
{
	int *fds = calloc(n, sizeof(int)), trials = n < 1000 ? 40 : n < 10000 ? 40000 / n : 5, t;
	double create_ns[64], inc_ns[64], empty_ns[9], block_ns[10];
	long first = n - 100, i;

	if (first < 0) {
		errno = EINVAL;
		die("inc_scaling: n < 100");
	}
	if (!fds)
		die("calloc");
	for (t = 0; t < trials; t++) {
		int tl = open_tl(im);
		double t0 = 0, t1;

		for (i = 0; i < n; i++) {
			if (i >= first && (i - first) % 10 == 0)
				t0 = now();
			fds[i] = create(tl, i + 1);
			if (i >= first && (i - first) % 10 == 9)
				block_ns[(i - first) / 10] = (now() - t0) / 10 * 1e9;
		}
		create_ns[t] = median(block_ns, 10);
		for (i = 0; i < 9; i++) {
			t0 = now();
			inc(tl, 0);
			empty_ns[i] = (now() - t0) * 1e9;
		}
		t0 = now();
		inc(tl, n);
		t1 = now();
		inc_ns[t] = ((t1 - t0) * 1e9 - median(empty_ns, 9)) / n;
		if (fb_status(fds[n - 1]) != 1)
			die("INC did not signal");
		for (i = 0; i < n; i++)
			close(fds[i]);
		close(tl);
	}
	emit("create_nth_pending", im->name, n, rep, median(create_ns, trials), "ns");
	emit("inc_per_signalled_fence", im->name, n, rep, median(inc_ns, trials), "ns");
	free(fds);
}

/* Stamps the INC of a wake-up, in the waker. */
static void wake_clock(struct wake *w)
{
	w->t_start = now();
}

/*
 * INC in one thread to poll() returning in another, both on vCPU 0, as
 * fencebuf_count.c counts it (fencebuf_bench.h, struct wake): the kernel's
 * path from the signal to the woken waiter, and only that. A waiter on the
 * other vCPU sleeps on an idle vCPU, whose wake-up is the host scheduling
 * QEMU's thread, many times the kernel's path; unpinned, the threads
 * shared a vCPU in some repetitions and not in others.
 */
static double wakeup_latency(const struct impl *im)
{
	int tl = open_tl(im), i, n = quick ? 20 : 100;
	double *lat = calloc(n, sizeof(double)), med;
	int *f = calloc(n, sizeof(int));
	struct wake w;

	if (!lat || !f)
		die("calloc");
	pin_to(0);
	wake_init(&w, tl, wake_clock);
	for (i = 0; i < n; i++) {
		f[i] = create(tl, i + 1);
		wake_begin(&w);
		if (fb_poll(f[i], -1) != 1)
			die("poll");
		lat[i] = now() - w.t_start;
	}
	wake_fini(&w);
	unpin();
	/* Closed after the last: their deferred frees run in no wake-up. */
	for (i = 0; i < n; i++)
		close(f[i]);
	free(f);
	med = median(lat, n);
	free(lat);
	close(tl);
	return med * 1e6;
}

static double merge_rate(const struct impl *im)
{
	int tl = open_tl(im), a = create(tl, 1), b = create(tl, 2);
	double t0 = now(), end = t0 + window_ms / 1e3;
	long n = 0;

	while (now() < end) {
		int m = fb_merge(a, b);

		if (m < 0) {
			errno = -m;
			die("MERGE");
		}
		close(m);
		n++;
	}
	close(a);
	close(b);
	close(tl);
	return n / (now() - t0);
}

/* Slab memory (kB) from /proc/meminfo. */
static long slab_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Slab: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* Slab bytes per pending fence (its sync_file and file included). */
static double memory_per_fence(const struct impl *im)
{
	long i, n = quick ? 2000 : 20000, before, after;
	int tl = open_tl(im), *fds = calloc(n, sizeof(int));

	/*
	 * The other implementation's fences, closed just before, are freed
	 * by RCU and fput's deferred work: let that finish first, or it
	 * shrinks this side's growth by whatever lands in the window.
	 */
	usleep(200000);
	before = slab_kb();
	for (i = 0; i < n; i++)
		fds[i] = create(tl, i + 1);
	after = slab_kb();
	for (i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	close(tl);
	return (after - before) * 1024.0 / n;
}

/*
 * Each measurement in turn, for every repetition on both implementations,
 * the order alternating (C first, then fencebuf first, ...) so that drift
 * in the machine's speed does not favour either.
 */
static void timeline_benchmarks(void)
{
	static const long ns[] = { 100, 1000, 10000, 100000 };
	static const struct {
		const char *name, *unit;
		double (*fn)(const struct impl *);
	} rates[] = {
		{ "cycle_1t", "ops/s", cycle_one_thread },
		{ "cycle_2t", "ops/s", cycle_two_threads },
		{ "cycle_2t_timed", "ops/s", cycle_two_threads_timed },
		{ "create_fence", "ops/s", create_rate },
		{ "merge", "ops/s", merge_rate },
		{ "wakeup_latency", "us", wakeup_latency },
		{ "slab_per_pending_fence", "bytes", memory_per_fence },
	};
	unsigned int m;
	int rep, k, j;

	for (m = 0; m < sizeof(rates) / sizeof(rates[0]); m++)
		for (rep = 0; rep < reps && (!only || !strcmp(only, rates[m].name)); rep++)
			for (k = 0; k < 2; k++) {
				const struct impl *im = &impls[(k + rep) % 2];

				emit(rates[m].name, im->name, 0, rep, rates[m].fn(im),
				     rates[m].unit);
				if (rates[m].fn == cycle_two_threads_timed)
					emit("cycle_2t_waits_slept", im->name, 0, rep,
					     slept_share, "%");
			}
	if (only)
		return;
	for (j = 0; j < (quick ? 2 : 4); j++)
		for (rep = 0; rep < reps; rep++)
			for (k = 0; k < 2; k++)
				inc_scaling(&impls[(k + rep) % 2], ns[j], rep);
}

/* Sequential copy bandwidth (MB/s) through @p, reading or writing. */
static double bandwidth(volatile uint8_t *p, size_t len, int write)
{
	static uint8_t buf[BAR_LEN];
	double t0 = now();
	int i, n = quick ? 2 : 8;

	for (i = 0; i < n; i++) {
		if (write)
			memcpy((void *)p, buf, len);
		else
			memcpy(buf, (const void *)p, len);
	}
	return (double)len * n / (now() - t0) / 1e6;
}

/* EXPORT + close; importer attach + map + unmap + detach; CPU access. */
static void exporter_ops(struct exporter *e, int rep)
{
	double t0 = now(), end = t0 + window_ms / 1e3;
	int imp, fd, i;
	long n = 0;
	uint8_t *p;
	__u64 len;

	while (now() < end) {
		close(export_fd(e, 0, FB_PAGE));
		n++;
	}
	emit("export_close", e->name, 0, rep, n / (now() - t0), "ops/s");

	imp = open(IMP_DEV, O_RDWR | O_CLOEXEC);
	if (imp < 0)
		die(IMP_DEV);
	fd = export_fd(e, 0, FB_PAGE);
	n = 0;
	t0 = now();
	end = t0 + window_ms / 1e3;
	while (now() < end) {
		imp_ioctl(imp, FBIMP_IOC_ATTACH, &fd);
		imp_ioctl(imp, FBIMP_IOC_MAP, &len);
		imp_ioctl(imp, FBIMP_IOC_UNMAP, NULL);
		imp_ioctl(imp, FBIMP_IOC_DETACH, NULL);
		n++;
	}
	emit("attach_map", e->name, 0, rep, n / (now() - t0), "ops/s");
	close(fd);
	close(imp);

	/* First touch of each page of a fresh mapping of the whole BAR. */
	fd = export_fd(e, 0, BAR_LEN);
	p = cpu_map(e, fd, BAR_LEN, 0);
	t0 = now();
	for (i = 0; i < BAR_LEN; i += FB_PAGE)
		((volatile uint8_t *)p)[i];
	emit("first_touch_fault", e->name, FB_PAGE, rep,
	     (now() - t0) / (BAR_LEN / FB_PAGE) * 1e9, "ns");
	emit("read_bw", e->name, 0, rep, bandwidth(p, BAR_LEN, 0), "MB/s");
	emit("write_bw", e->name, 0, rep, bandwidth(p, BAR_LEN, 1), "MB/s");
	munmap(p, BAR_LEN);
	close(fd);
}

/* Revoke and restore with @nb live buffers of one page, each held as @how. */
static void revoke_restore(struct exporter *e, long nb, enum holder how, int rep)
{
	struct held h;
	double t0;

	hold_buffers(&h, e, nb, how);
	t0 = now();
	set_memory(e, 0);
	emit(revoke_names[how], e->name, nb, rep, (now() - t0) * 1e6, "us");
	t0 = now();
	set_memory(e, 1);
	emit(restore_names[how], e->name, nb, rep, (now() - t0) * 1e6, "us");
	release_buffers(&h);
}

static void direct_bandwidth(int rep)
{
	int direct = open(RESOURCE_WC, O_RDWR | O_CLOEXEC), i;
	uint8_t *p;

	if (direct < 0 && errno == ENOENT) {
		if (rep == 0)
			printf("# no resource2_wc (no PAT): both mappings are uncached\n");
		direct = open(RESOURCE_UC, O_RDWR | O_CLOEXEC);
	}
	if (direct < 0)
		die(RESOURCE_UC);
	p = mmap(NULL, BAR_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, direct, 0);
	if (p == MAP_FAILED)
		die("mmap resource2");
	for (i = 0; i < BAR_LEN; i += FB_PAGE)
		((volatile uint8_t *)p)[i];
	emit("read_bw", "direct", 0, rep, bandwidth(p, BAR_LEN, 0), "MB/s");
	emit("write_bw", "direct", 0, rep, bandwidth(p, BAR_LEN, 1), "MB/s");
	munmap(p, BAR_LEN);
	close(direct);
}

static void exporter_benchmarks(void)
{
	static const long bufs[] = { 1, 10, 100, 1000, 10000 };
	struct exporter ex[2];
	enum holder how;
	int rep, j, k;

	open_exporters(ex);
	for (rep = 0; rep < reps; rep++) {
		for (k = 0; k < 2; k++)
			exporter_ops(&ex[(k + rep) % 2], rep);
		direct_bandwidth(rep);
		for (how = ATTACHED; how <= BARE; how++)
			for (j = 0; j < (quick ? 3 : 5); j++)
				for (k = 0; k < 2; k++)
					revoke_restore(&ex[(k + rep) % 2], bufs[j], how, rep);
	}
	close_exporters(ex);
}

int main(int argc, char **argv)
{
	struct rlimit nofile = { 250000, 250000 };
	int c;

	while ((c = getopt(argc, argv, "r:t:qo:")) != -1) {
		switch (c) {
		case 'r':
			reps = atoi(optarg);
			break;
		case 't':
			window_ms = atoi(optarg);
			break;
		case 'o':
			only = optarg;
			break;
		case 'q':
			quick = 1;
			reps = 1;
			window_ms = 50;
			break;
		default:
			fprintf(stderr, "usage: %s [-r REPS] [-t MS] [-q] [-o NAME]\n", argv[0]);
			return 2;
		}
	}
	/* 10^5 pending fences are 10^5 open sync_files. */
	if (setrlimit(RLIMIT_NOFILE, &nofile))
		die("setrlimit(RLIMIT_NOFILE)");
	printf("# fencebuf_bench: %d repetitions of %d ms, interleaved C / fencebuf\n",
	       reps, window_ms);
	timeline_benchmarks();
	if (!only)
		exporter_benchmarks();
	printf("# fencebuf_bench: done\n");
	return 0;
}
