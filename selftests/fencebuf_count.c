// SPDX-License-Identifier: GPL-2.0
/*
 * fencebuf_count: the timeline operations of the benchmark, each run N
 * times on the kernel's C sw_sync and on fencebuf between two markers, for
 * qemu/tb-count-plugin.c to count the guest kernel code they execute.
 *
 *   fencebuf_count [-n N]
 *
 * Every operation runs twice on each implementation; the first round only
 * warms up (first translations, slab growth). Before each measured interval
 * the program sleeps, so that the deferred frees (RCU) of what came before
 * run outside it; those of the operation itself, as in `cycle`, run inside.
 * Each measured interval is described by a line
 *
 *   @@count {"interval": I, "impl": "c"|"fencebuf", "op": ..., "n": N}
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

/*
 * Linked at a fixed address (selftests/Makefile), which the plugin is given:
 * each call ends one interval and starts the next.
 */
__attribute__((noinline, section(".fbmark"))) void fencebuf_count_marker(void)
{
	asm volatile("" ::: "memory");
}

static int marks, round_no;

static void begin(void)
{
	/* Let earlier deferred work (RCU callbacks) finish outside the interval. */
	usleep(200000);
	fencebuf_count_marker();
	marks++;
}

static void end(const struct impl *im, const char *op, long n)
{
	int interval = marks;

	fencebuf_count_marker();
	marks++;
	if (round_no > 0)
		printf("@@count {\"interval\": %d, \"impl\": \"%s\", \"op\": \"%s\", \"n\": %ld}\n",
		       interval, im->name, op, n);
}

static void count_timeline(const struct impl *im, int *fds, long n)
{
	int tl = open_tl(im), a, b;
	long i;

	begin();
	for (i = 0; i < n; i++)
		fds[i] = create(tl, i + 1);
	end(im, "create_pending", n);

	begin();
	for (i = 0; i < n; i++)
		inc(tl, 0);
	end(im, "inc_empty", n);

	begin();
	inc(tl, n);
	end(im, "inc_signal", n);
	if (fb_status(fds[n - 1]) != 1)
		die("INC did not signal");

	begin();
	for (i = 0; i < n; i++)
		close(fds[i]);
	end(im, "close_signalled", n);

	begin();
	for (i = 0; i < n; i++) {
		int f = create(tl, n + i + 1);

		inc(tl, 1);
		if (fb_poll(f, -1) != 1)
			die("poll");
		close(f);
	}
	end(im, "cycle", n);

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
	end(im, "merge", n);
	close(a);
	close(b);
	close(tl);
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
	for (round_no = 0; round_no < 2; round_no++)
		for (k = 0; k < 2; k++)
			count_timeline(&impls[(k + round_no) % 2], fds, n);
	printf("# fencebuf_count: done\n");
	return 0;
}
