// SPDX-License-Identifier: GPL-2.0
/*
 * exporter_demo: export part of a PCI memory BAR as a dma-buf with fencebuf,
 * mmap it, and live through a revoke.
 *
 *   exporter_demo [/dev/fencebuf/<pci-address>]
 *
 * 1. GET_INFO lists the BARs; the first exportable one larger than a page
 *    is used.
 * 2. EXPORT makes a dma-buf of its first 64 KiB; mmap maps it (pages are
 *    mapped on first touch) and the program writes and reads a pattern.
 * 3. MEMORY_ENABLE(0) turns the device's memory decoding off: fencebuf
 *    revokes the buffer, and a CPU access gets SIGBUS, which this program
 *    catches and reports. A real client would stop using the mapping, wait
 *    for the device to come back, and carry on.
 * 4. MEMORY_ENABLE(1) restores it: the same mapping works again and the
 *    data is still there (device memory was not touched meanwhile).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/fencebuf.h>

#define LEN (64 << 10)

static sigjmp_buf on_bus;

static void sigbus(int sig)
{
	(void)sig;
	siglongjmp(on_bus, 1);
}

/* Read *p; returns 1 and the value, or 0 if the access raised SIGBUS. */
static int try_read(volatile uint8_t *p, uint8_t *v)
{
	if (sigsetjmp(on_bus, 1))
		return 0;
	*v = *p;
	return 1;
}

static int memory(int dev, __u32 on)
{
	if (ioctl(dev, FENCEBUF_IOC_MEMORY_ENABLE, &on)) {
		perror("FENCEBUF_IOC_MEMORY_ENABLE");
		return -1;
	}
	printf("memory decoding %s\n", on ? "on: buffers restored" : "off: buffers revoked");
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/dev/fencebuf/0000:01:01.0";
	struct sigaction sa = { .sa_handler = sigbus };
	struct fencebuf_range range = { .offset = 0, .length = LEN };
	struct fencebuf_export exp = {
		.open_flags = O_RDWR | O_CLOEXEC, .nr_ranges = 1,
		.ranges = (__u64)(uintptr_t)&range,
	};
	struct fencebuf_info info;
	volatile uint8_t *p;
	uint8_t v;
	int dev, i, bar = -1;

	dev = open(path, O_RDWR | O_CLOEXEC);
	if (dev < 0 || ioctl(dev, FENCEBUF_IOC_GET_INFO, &info)) {
		perror(path);
		return 1;
	}
	for (i = 0; i < FENCEBUF_NUM_REGIONS; i++) {
		if (!info.regions[i].size)
			continue;
		printf("BAR%u: %llu bytes%s%s\n", info.regions[i].index,
		       (unsigned long long)info.regions[i].size,
		       info.regions[i].flags & FENCEBUF_REGION_EXPORTABLE ? ", exportable" : "",
		       info.regions[i].flags & FENCEBUF_REGION_PREFETCH ? ", write-combined" : "");
		if (bar < 0 && info.regions[i].flags & FENCEBUF_REGION_EXPORTABLE &&
		    info.regions[i].size >= LEN)
			bar = i;
	}
	if (bar < 0) {
		fprintf(stderr, "no exportable BAR of %d KiB\n", LEN >> 10);
		return 1;
	}
	exp.region = bar;
	if (ioctl(dev, FENCEBUF_IOC_EXPORT, &exp)) {
		perror("FENCEBUF_IOC_EXPORT");
		return 1;
	}
	printf("exported BAR%d [0, %d KiB) as dma-buf fd %d\n", bar, LEN >> 10, exp.fd);
	p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, exp.fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (i = 0; i < LEN; i++)
		p[i] = i ^ 0x5a;
	for (i = 0; i < LEN && p[i] == (uint8_t)(i ^ 0x5a); i++)
		;
	printf("wrote and read back %d bytes through the mapping: %s\n", LEN,
	       i == LEN ? "ok" : "MISMATCH");
	if (i != LEN)
		return 1;

	sigaction(SIGBUS, &sa, NULL);
	if (memory(dev, 0))
		return 1;
	if (try_read(p + 100, &v)) {
		fprintf(stderr, "read a revoked buffer without SIGBUS\n");
		return 1;
	}
	printf("access while revoked: SIGBUS (caught), as it should\n");
	if (memory(dev, 1))
		return 1;
	if (!try_read(p + 100, &v) || v != (100 ^ 0x5a)) {
		fprintf(stderr, "the mapping did not come back\n");
		return 1;
	}
	printf("access after restore: ok, byte 100 is still %#x\n", v);
	munmap((void *)p, LEN);
	close(exp.fd);
	close(dev);
	return 0;
}
