/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the MMIO exporter tests: the exporter node of the guest's
 * ivshmem device, EXPORT of a single range, importing a fence into a
 * buffer (fb_touch() in fencebuf_test.h probes a CPU access).
 */
#ifndef FENCEBUF_EXPORTER_H
#define FENCEBUF_EXPORTER_H

#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/dma-buf.h>
#include <linux/fencebuf.h>

#include "fencebuf_test.h"

/* The guest's ivshmem device sits behind a bridge (qemu/run-vm.sh). */
#define FB_PCI_ADDR "0000:01:01.0"
#define FB_EXPORTER_DEV "/dev/fencebuf/" FB_PCI_ADDR
/* The sample importer's device (pci-testdev), behind the same bridge. */
#define FB_TESTDEV_PCI_ADDR "0000:01:02.0"
#define FB_DRIVER_DIR "/sys/bus/pci/drivers/fencebuf"
/* ivshmem's shared memory BAR. */
#define FB_BAR 2

/* The sample importer (samples/importer), in the guest's image. */
#define IMP_KO "/fencebuf/modules/fencebuf_importer.ko"
#define IMP_NAME "fencebuf_importer"
#define IMP_DEV "/dev/fencebuf_importer"

/* Layout of BAR2 shared with the host (qemu/ivshmem.py). */
#define FB_HOST_OFF (1 << 20)
#define FB_GUEST_OFF (2 << 20)
#define FB_PATTERN_LEN (64 << 10)
#define FB_MAILBOX_OFF (3 << 20)

static inline int fb_export_ranges(int dev, __u32 region, __u32 flags,
				   const struct fencebuf_range *r, __u32 n)
{
	struct fencebuf_export e = {
		.region = region,
		.open_flags = O_RDWR | O_CLOEXEC,
		.flags = flags,
		.nr_ranges = n,
		.ranges = (__u64)(uintptr_t)r,
		.fd = -1,
	};

	return ioctl(dev, FENCEBUF_IOC_EXPORT, &e) ? -errno : e.fd;
}

/* Export [offset, offset + len) of BAR2; returns the dma-buf fd or -errno. */
static inline int fb_export(int dev, __u64 offset, __u64 len)
{
	struct fencebuf_range r = { .offset = offset, .length = len };

	return fb_export_ranges(dev, FB_BAR, 0, &r, 1);
}

/*
 * Asks the host to "fill" the host pattern or "verify" the guest's, and
 * waits for its answer in the mailbox (qemu/ivshmem.py): 0 done and right,
 * the first differing byte + 1, -ETIMEDOUT if the host never answered, or
 * -errno. The host serves the request now, while nothing else writes
 * device memory, not after the boot, when later suites may have.
 */
static inline long fb_host_request(int dev, const char *what)
{
	volatile uint32_t *box;
	uint32_t seq = getpid();
	long ret = -ETIMEDOUT;
	int fd, i;

	fd = fb_export(dev, FB_MAILBOX_OFF, FB_PAGE);
	if (fd < 0)
		return fd;
	box = mmap(NULL, FB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (box == MAP_FAILED)
		return -errno;
	box[0] = ~0u;
	box[1] = 0;
	printf("@@fencebuf ivshmem %s %u\n", what, seq);
	fflush(stdout);
	/* The host polls once a second; TCG can be slow. */
	for (i = 0; i < 6000; i++) {
		if (box[1] == seq) {
			ret = box[0];
			break;
		}
		usleep(10 * 1000);
	}
	munmap((void *)box, FB_PAGE);
	return ret;
}

/* Import the sync_file @fence into the dma-buf @buf as a write fence. */
static inline int fb_import_fence(int buf, int fence)
{
	struct dma_buf_import_sync_file imp = { .flags = DMA_BUF_SYNC_WRITE, .fd = fence };

	return ioctl(buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &imp) ? -errno : 0;
}

/* Fresh loads of fencebuf and the sample importer; 0 or -errno. */
static inline int fb_reload_with_importer(void)
{
	int ret;

	fb_unload_name(IMP_NAME);
	if (fb_loaded()) {
		ret = fb_unload();
		if (ret)
			return ret;
	}
	ret = fb_load("");
	return ret ? ret : fb_load_path(IMP_KO, "");
}

static inline int fb_memory(int dev, __u32 on)
{
	return ioctl(dev, FENCEBUF_IOC_MEMORY_ENABLE, &on) ? -errno : 0;
}

/*
 * Whether device @bdf decodes memory: PCI_COMMAND_MEMORY, read from its
 * config space (1 or 0), or -1.
 */
static inline int fb_memory_decode_bit(const char *bdf)
{
	char path[128];
	uint8_t cmd[2];
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = pread(fd, cmd, 2, 4);
		close(fd);
	}
	return n == 2 ? cmd[0] & 0x2 ? 1 : 0 : -1;
}

#endif /* FENCEBUF_EXPORTER_H */
