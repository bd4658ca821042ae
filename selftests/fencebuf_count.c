// SPDX-License-Identifier: GPL-2.0
/*
 * fencebuf_count: the timeline operations of the benchmark, each run N
 * times on the kernel's C sw_sync and on fencebuf, and the exporter
 * operations on VFIO's exporter and on fencebuf's, between two markers, for
 * qemu/tb-count-plugin.c to count the guest kernel code they execute.
 *
 *   fencebuf_count [-n N]
 *
 * Every operation runs four times on each implementation; the first round
 * only warms up (first translations, slab growth), and the report takes
 * each operation's median over the other three: what else the kernel does
 * in an interval (a timer tick, an RCU batch landing in one interval or the
 * idle one) moves a single interval's count by a few percent. Before each
 * measured interval the program sleeps, so that nothing of what came before
 * runs inside it.
 * Each timeline interval also ends with a sleep, so that the operation's
 * deferred frees (RCU callbacks, by which both implementations free fences)
 * run inside it, whenever the kernel gets to them; an `idle` interval of the
 * sleep alone, measured on each implementation's turn, is what
 * scripts/report/count-report.py subtracts. The exporter intervals are not
 * settled: their n is 200, or one revoke or restore, and the idle interval's
 * own spread swamped them (a restore read a negative count).
 * Each measured interval is described by a line
 *
 *   @@count {"interval": I, "round": R, "impl": "c"|"vfio"|"fencebuf", "op": ..., "n": N}
 *
 * and the module's load address by `@@count-module <address>`. Kernel code
 * only: what userspace runs is the same program for both.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <linux/fencebuf.h>
#include <linux/sync_file.h>

#include "fencebuf_bench.h"

/* Measured rounds, after one that warms up. */
#define ROUNDS 3

/* Exporter operations counted per implementation (and buffers revoked). */
#define EXPORTER_N 200

/*
 * Linked at a fixed address (selftests/Makefile), which the plugin is given:
 * each call ends one interval and starts the next.
 */
__attribute__((noinline, section(".fbmark"))) void fencebuf_count_marker(void)
{
	asm volatile("" ::: "memory");
}

static int marks, round_no;

/* Long enough for kfree_rcu()'s batch delay and a grace period. */
#define SETTLE_US 200000

static void begin(void)
{
	/* Let earlier deferred work (RCU callbacks) finish outside the interval. */
	usleep(SETTLE_US);
	fencebuf_count_marker();
	marks++;
}

static void end(const char *impl, const char *op, long n)
{
	int interval = marks;

	fencebuf_count_marker();
	marks++;
	if (round_no > 0)
		printf("@@count {\"interval\": %d, \"round\": %d, \"impl\": \"%s\", "
		       "\"op\": \"%s\", \"n\": %ld}\n", interval, round_no, impl, op, n);
}

/* end(), after the operation's own deferred work (RCU frees) has run. */
static void end_settled(const char *impl, const char *op, long n)
{
	usleep(SETTLE_US);
	end(impl, op, n);
}

/* Wake-ups counted per implementation and round, at most. */
#define WAKEUP_N 100

/* Begins a wake-up's interval, in the waker. */
static void wake_marker(struct wake *w)
{
	(void)w;
	fencebuf_count_marker();
}

/*
 * From an INC in one thread to poll() returning in another that slept on
 * the fence, one interval each (on the one vCPU: the wake-up, the switch
 * and poll's return, as the timed row on one vCPU): what the rest of the
 * iteration runs (the waker's wait for the sleep) lies outside every
 * interval.
 */
static void count_wakeup(const struct impl *im, int tl, unsigned int seqno, long n)
{
	int f[WAKEUP_N], i, k = n < WAKEUP_N ? n : WAKEUP_N;
	struct wake w;

	wake_init(&w, tl, wake_marker);
	for (i = 0; i < k; i++) {
		f[i] = create(tl, ++seqno);
		wake_begin(&w);
		if (fb_poll(f[i], -1) != 1)
			die("poll");
		/* The waker's marker began this interval. */
		marks++;
		end(im->name, "wakeup", 1);
	}
	wake_fini(&w);
	/* Closed after the last: their deferred frees run in no wake-up. */
	for (i = 0; i < k; i++)
		close(f[i]);
}

static void count_timeline(const struct impl *im, int *fds, long n)
{
	int tl = open_tl(im), a, b;
	long i;

	begin();
	end_settled(im->name, "idle", 1);

	begin();
	for (i = 0; i < n; i++)
		fds[i] = create(tl, i + 1);
	end_settled(im->name, "create_pending", n);

	begin();
	for (i = 0; i < n; i++)
		inc(tl, 0);
	end_settled(im->name, "inc_empty", n);

	begin();
	inc(tl, n);
	end_settled(im->name, "inc_signal", n);
	if (fb_status(fds[n - 1]) != 1)
		die("INC did not signal");

	begin();
	for (i = 0; i < n; i++)
		close(fds[i]);
	end_settled(im->name, "close_signalled", n);

	begin();
	for (i = 0; i < n; i++) {
		int f = create(tl, n + i + 1);

		inc(tl, 1);
		if (fb_poll(f, -1) != 1)
			die("poll");
		close(f);
	}
	end_settled(im->name, "cycle", n);

	a = create(tl, 2 * n + 1);
	b = create(tl, 2 * n + 2);
	begin();
	for (i = 0; i < n; i++) {
		int m = fb_merge(a, b);

		if (m < 0) {
			errno = -m;
			die("MERGE");
		}
		close(m);
	}
	end_settled(im->name, "merge", n);
	close(a);
	close(b);
	inc(tl, 2);
	count_wakeup(im, tl, 2 * n + 2, n);
	close(tl);
}

/*
 * The exporter operations of the benchmark on fencebuf's exporter and on
 * VFIO's (fencebuf_vfio.h), n times each: EXPORT + close, importer attach +
 * map + unmap + detach, first touch of a page of a CPU mapping, revoke and
 * restore with no buffer (their fixed cost), and revoke and restore of n
 * buffers attached and mapped by importers, then of n buffers mapped by the
 * CPU, then of n buffers only exported (per buffer).
 */
static void count_exporter(struct exporter *e, long n)
{
	const long pages = BAR_LEN / FB_PAGE;
	volatile uint8_t *p;
	enum holder how;
	int fd, importer;
	struct held h;
	__u64 len;
	long i;

	begin();
	for (i = 0; i < n; i++)
		close(export_fd(e, 0, FB_PAGE));
	end(e->name, "export_close", n);

	importer = open(IMP_DEV, O_RDWR | O_CLOEXEC);
	if (importer < 0)
		die(IMP_DEV);
	fd = export_fd(e, 0, FB_PAGE);
	begin();
	for (i = 0; i < n; i++) {
		imp_ioctl(importer, FBIMP_IOC_ATTACH, &fd);
		imp_ioctl(importer, FBIMP_IOC_MAP, &len);
		imp_ioctl(importer, FBIMP_IOC_UNMAP, NULL);
		imp_ioctl(importer, FBIMP_IOC_DETACH, NULL);
	}
	end(e->name, "attach_map", n);
	close(fd);
	close(importer);

	/* fencebuf's own mmap of a buffer; VFIO's BAR region (no dma-buf mmap). */
	fd = export_fd(e, 0, pages * FB_PAGE);
	p = cpu_map(e, fd, pages * FB_PAGE, 0);
	begin();
	for (i = 0; i < pages; i++)
		p[i * FB_PAGE];
	end(e->name, "first_touch", pages);
	munmap((void *)p, pages * FB_PAGE);
	close(fd);

	/* A revoke's and a restore's fixed cost: no buffer to visit. */
	begin();
	set_memory(e, 0);
	end(e->name, "revoke_none", 1);
	begin();
	set_memory(e, 1);
	end(e->name, "restore_none", 1);

	for (how = ATTACHED; how <= BARE; how++) {
		hold_buffers(&h, e, n, how);
		begin();
		set_memory(e, 0);
		end(e->name, revoke_names[how], n);
		begin();
		set_memory(e, 1);
		end(e->name, restore_names[how], n);
		release_buffers(&h);
	}
}

/* The module's load address, for naming its functions. */
static void print_module_base(void)
{
	char line[256], name[64], addr[64];
	FILE *f = fopen("/proc/modules", "r");

	if (!f)
		die("/proc/modules");
	/* The name compared whole: "fencebuf_importer" is another module. */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %*s %*s %*s %*s %63s", name, addr) == 2 &&
		    !strcmp(name, "fencebuf"))
			printf("@@count-module %s\n", addr);
	fclose(f);
}

int main(int argc, char **argv)
{
	struct rlimit nofile = { 65536, 65536 };
	struct exporter ex[2];
	cpu_set_t cpu0;
	long n = 2000;
	int *fds, c, k;

	while ((c = getopt(argc, argv, "n:")) != -1) {
		if (c != 'n' || (n = atol(optarg)) < 1 || n > 60000) {
			fprintf(stderr, "usage: %s [-n N (1..60000)]\n", argv[0]);
			return 2;
		}
	}
	if (setrlimit(RLIMIT_NOFILE, &nofile))
		die("setrlimit(RLIMIT_NOFILE)");
	fds = calloc(n, sizeof(int));
	if (!fds)
		die("calloc");
	/* One vCPU; the other only takes its timer ticks. */
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	if (sched_setaffinity(0, sizeof(cpu0), &cpu0))
		die("sched_setaffinity");
	setvbuf(stdout, NULL, _IOLBF, 0);
	print_module_base();
	fencebuf_count_marker();
	marks++;
	for (round_no = 0; round_no <= ROUNDS; round_no++)
		for (k = 0; k < 2; k++)
			count_timeline(&impls[(k + round_no) % 2], fds, n);
	open_exporters(ex);
	for (round_no = 0; round_no <= ROUNDS; round_no++)
		for (k = 0; k < 2; k++)
			count_exporter(&ex[(k + round_no) % 2], EXPORTER_N);
	close_exporters(ex);
	printf("# fencebuf_count: done\n");
	return 0;
}
