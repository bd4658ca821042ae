// SPDX-License-Identifier: GPL-2.0
/*
 * timeline_demo: a producer and a consumer sharing a fencebuf timeline.
 *
 * The consumer asks for fences at values 1..N (one sync_file each) and
 * waits for each with poll(); the producer advances the timeline by one
 * every 100 ms with SW_SYNC_IOC_INC. Last, a fence that the producer never
 * reaches is failed by closing the timeline: its status becomes -ENOENT.
 *
 * Usage: timeline_demo [DEVICE [N]]   (default /dev/sw_sync, 5)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/fencebuf.h>
#include <linux/sync_file.h>

static int timeline;
static unsigned int n_fences = 5;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int create_fence(uint32_t value)
{
	struct sw_sync_create_fence_data data = { .value = value };

	snprintf(data.name, sizeof(data.name), "demo-%u", value);
	if (ioctl(timeline, SW_SYNC_IOC_CREATE_FENCE, &data)) {
		perror("SW_SYNC_IOC_CREATE_FENCE");
		exit(1);
	}
	return data.fence;
}

/* Status and names of the single fence in a sync_file. */
static void describe(int fd, const char *what)
{
	struct sync_fence_info fi = { 0 };
	struct sync_file_info info = { .num_fences = 1, .sync_fence_info = (uintptr_t)&fi };

	if (ioctl(fd, SYNC_IOC_FILE_INFO, &info)) {
		perror("SYNC_IOC_FILE_INFO");
		exit(1);
	}
	printf("  %s: status %d%s, driver \"%s\", timeline \"%s\"\n", what, fi.status,
	       fi.status == 1 ? " (signalled)" : fi.status == 0 ? " (pending)" : " (error)",
	       fi.driver_name, fi.obj_name);
}

static void *producer(void *arg)
{
	uint32_t one = 1, v;

	(void)arg;
	for (v = 1; v <= n_fences; v++) {
		usleep(100 * 1000);
		printf("producer: SW_SYNC_IOC_INC -> timeline value %u\n", v);
		fflush(stdout);
		if (ioctl(timeline, SW_SYNC_IOC_INC, &one)) {
			perror("SW_SYNC_IOC_INC");
			exit(1);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/sw_sync";
	int fences[64], last;
	pthread_t prod;
	double start;
	unsigned int i;

	if (argc > 2)
		n_fences = atoi(argv[2]);
	if (n_fences < 1 || n_fences > 64) {
		fprintf(stderr, "N must be 1..64\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	timeline = open(dev, O_RDWR | O_CLOEXEC);
	if (timeline < 0) {
		fprintf(stderr, "open %s: %s\n", dev, strerror(errno));
		return 1;
	}
	printf("consumer: opened a timeline on %s; creating fences at 1..%u\n", dev, n_fences);
	for (i = 0; i < n_fences; i++)
		fences[i] = create_fence(i + 1);
	describe(fences[0], "fence 1 before the producer starts");

	start = now_ms();
	pthread_create(&prod, NULL, producer, NULL);
	for (i = 0; i < n_fences; i++) {
		struct pollfd p = { .fd = fences[i], .events = POLLIN };

		if (poll(&p, 1, 5000) != 1) {
			fprintf(stderr, "consumer: fence %u did not signal within 5 s\n", i + 1);
			return 1;
		}
		printf("consumer: poll() says fence %u signalled, %.0f ms after start\n", i + 1,
		       now_ms() - start);
	}
	pthread_join(prod, NULL);
	describe(fences[n_fences - 1], "last fence");

	last = create_fence(n_fences + 100);
	printf("consumer: a fence at %u that nobody will reach; closing the timeline fails it\n",
	       n_fences + 100);
	close(timeline);
	describe(last, "unreached fence after close");
	for (i = 0; i < n_fences; i++)
		close(fences[i]);
	close(last);
	printf("timeline_demo: done\n");
	return 0;
}
