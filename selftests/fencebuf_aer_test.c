// SPDX-License-Identifier: GPL-2.0
/*
 * PCIe error recovery (AER) of fencebuf's device, in the q35 boot
 * (qemu/run-vm.sh, FENCEBUF_VM_MACHINE=q35). The kernel's injector
 * (/dev/aer_inject) raises an uncorrectable error on the root port above
 * the device; the port's recovery (drivers/pci/pcie/err.c) then calls the
 * error handlers of every driver below it: error_detected, for a fatal
 * error a reset of the link and slot_reset, then resume. Recovery works
 * only while every function below the port has a driver with handlers: the
 * device's sibling function is bound to fencebuf too, except where a test
 * unbinds it to make recovery fail for good.
 *
 * Each test watches what importers and userspace see: the sample importer's
 * invalidations (attached from the root bus, outside the port's recovery),
 * the buffer's CPU mapping, and the device's memory decoding in its config
 * space. The kernel's own "device recovery successful/failed" line ends
 * each recovery (read from /dev/kmsg).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/pci_regs.h>

#include "kselftest_harness.h"
#include "fencebuf_test.h"
#include "fencebuf_exporter.h"
#include "fencebuf_importer.h"

/* The q35 machine's layout (qemu/run-vm.sh). */
#define AER_PORT_BUS 0
#define AER_PORT_DEV 4
#define AER_PORT_FN 0
#define AER_PCI_ADDR "0000:01:00.0"
#define AER_SIBLING_ADDR "0000:01:00.1"
#define AER_DEV "/dev/fencebuf/" AER_PCI_ADDR
#define AER_INJECT "/dev/aer_inject"

#define BUF_OFF (1 << 20)
#define BUF_LEN (4 * FB_PAGE)
#define PATTERN 0x5a
/* How long a recovery may take under TCG. */
#define RECOVERY_TIMEOUT_S 30

/*
 * What /dev/aer_inject reads: struct aer_error_inj of
 * drivers/pci/pcie/aer_inject.c, which no uAPI header exports.
 */
struct aer_error_inj {
	uint8_t bus;
	uint8_t dev;
	uint8_t fn;
	uint32_t uncor_status;
	uint32_t cor_status;
	uint32_t header_log0;
	uint32_t header_log1;
	uint32_t header_log2;
	uint32_t header_log3;
	uint32_t domain;
};

/*
 * Severity comes from the port's Uncorrectable Error Severity register,
 * whose reset value makes a Data Link Protocol error fatal and a
 * Completion Timeout non-fatal (PCIe r6.0, sec 7.8.4.4).
 */
#define ERR_FATAL PCI_ERR_UNC_DLP
#define ERR_NONFATAL PCI_ERR_UNC_COMP_TIME

FIXTURE(aer) {
	int dev, imp, buf, kmsg;
	uint8_t *map;
};

static int write_bdf(const char *driver_file, const char *bdf)
{
	char path[128];

	snprintf(path, sizeof(path), FB_DRIVER_DIR "/%s", driver_file);
	return fb_write_file(path, bdf);
}

static bool bound(const char *bdf)
{
	char path[128];

	snprintf(path, sizeof(path), FB_DRIVER_DIR "/%s", bdf);
	return access(path, F_OK) == 0;
}

static __u32 invalidations(int imp)
{
	struct fbimp_status st = { 0 };

	if (ioctl(imp, FBIMP_IOC_STATUS, &st))
		return ~0u;
	return st.invalidations;
}

/* Whether the first page of @map has a page table entry. */
static int resident(uint8_t *map)
{
	unsigned char vec = 0;

	if (mincore(map, FB_PAGE, &vec))
		return -errno;
	return vec & 1;
}

/* An uncorrectable error @status on the root port; 0 or -errno. */
static int inject(uint32_t status)
{
	struct aer_error_inj e = {
		.bus = AER_PORT_BUS,
		.dev = AER_PORT_DEV,
		.fn = AER_PORT_FN,
		.uncor_status = status,
	};
	int fd, ret = 0;

	fd = open(AER_INJECT, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, &e, sizeof(e)) != sizeof(e))
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * Waits for the end of a recovery in the kernel log read from @kmsg:
 * 1 successful, 0 failed, -ETIMEDOUT.
 */
static int recovery_outcome(int kmsg)
{
	double end = fb_now_s() + RECOVERY_TIMEOUT_S;
	char rec[1024];

	while (fb_now_s() < end) {
		if (!fb_kmsg_next(kmsg, rec, sizeof(rec))) {
			usleep(20 * 1000);
			continue;
		}
		if (strstr(rec, "device recovery successful"))
			return 1;
		if (strstr(rec, "device recovery failed"))
			return 0;
	}
	return -ETIMEDOUT;
}

FIXTURE_SETUP(aer)
{
	struct fencebuf_range r = { .offset = BUF_OFF, .length = BUF_LEN };

	self->dev = self->imp = self->buf = self->kmsg = -1;
	self->map = MAP_FAILED;
	ASSERT_EQ(0, access(AER_INJECT, W_OK))
		TH_LOG("no %s: the aer suite runs in make check's q35 boot", AER_INJECT);
	ASSERT_EQ(0, fb_reload_with_importer());
	/* A test may have left the sibling unbound. */
	if (!bound(AER_SIBLING_ADDR))
		ASSERT_EQ(0, write_bdf("bind", AER_SIBLING_ADDR));
	self->dev = open(AER_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->dev, 0) TH_LOG("%s: %s", AER_DEV, strerror(errno));
	self->buf = fb_export_ranges(self->dev, FB_BAR, 0, &r, 1);
	ASSERT_GE(self->buf, 0) TH_LOG("export: %s", strerror(-self->buf));
	self->map = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, self->buf, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	ASSERT_EQ(0, fb_touch(self->map, true, PATTERN, NULL));
	ASSERT_EQ(1, resident(self->map));
	self->imp = open(IMP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->imp, 0);
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_ATTACH, &self->buf));
	ASSERT_EQ(0u, invalidations(self->imp));
	/* From now on: only the records of this test's recovery. */
	self->kmsg = fb_kmsg_from_now();
	ASSERT_GE(self->kmsg, 0);
}

FIXTURE_TEARDOWN(aer)
{
	if (self->map != MAP_FAILED)
		munmap(self->map, BUF_LEN);
	const int fds[] = { self->dev, self->imp, self->buf, self->kmsg };

	for (unsigned int i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/*
 * A non-fatal error: the device still works, but another function under
 * the port could still ask for a link reset, which would come with no call
 * to fencebuf first. So error_detected revokes, and resume restores.
 */
TEST_F(aer, a_nonfatal_error_revokes_until_resume)
{
	uint8_t b = 0;

	ASSERT_EQ(0, inject(ERR_NONFATAL));
	ASSERT_EQ(1, recovery_outcome(self->kmsg));
	EXPECT_EQ(2u, invalidations(self->imp));	/* revoked, restored */
	EXPECT_EQ(0, resident(self->map));		/* the CPU mapping was zapped */
	EXPECT_EQ(1, fb_memory_decode_bit(AER_PCI_ADDR));
	EXPECT_EQ(0, fb_touch(self->map, false, 0, &b));
	EXPECT_EQ(PATTERN, b);
	/* Recovery is over: memory off and on work again. */
	EXPECT_EQ(0, fb_memory(self->dev, 0));
	EXPECT_EQ(0, fb_memory(self->dev, 1));
	EXPECT_EQ(4u, invalidations(self->imp));
}

/*
 * A fatal error: the link is reset, which resets the device and its config
 * space; slot_reset writes back what probe saved, and resume restores.
 */
TEST_F(aer, a_fatal_error_resets_the_link_and_restores)
{
	uint8_t b = 0;

	ASSERT_EQ(0, inject(ERR_FATAL));
	ASSERT_EQ(1, recovery_outcome(self->kmsg));
	EXPECT_EQ(2u, invalidations(self->imp));
	EXPECT_EQ(0, resident(self->map));
	EXPECT_EQ(1, fb_memory_decode_bit(AER_PCI_ADDR));
	EXPECT_EQ(0, fb_touch(self->map, false, 0, &b));
	EXPECT_EQ(PATTERN, b);
	EXPECT_EQ(0, fb_touch(self->map, true, PATTERN + 1, NULL));
	/* A second error recovers the same way. */
	ASSERT_EQ(0, inject(ERR_FATAL));
	ASSERT_EQ(1, recovery_outcome(self->kmsg));
	EXPECT_EQ(4u, invalidations(self->imp));
	EXPECT_EQ(0, fb_touch(self->map, false, 0, &b));
	EXPECT_EQ(PATTERN + 1, b);
	EXPECT_EQ(0, fb_memory(self->dev, 0));
	EXPECT_EQ(0, fb_memory_decode_bit(AER_PCI_ADDR));
	EXPECT_EQ(0, fb_memory(self->dev, 1));
}

/*
 * Userspace turned memory off, then a fatal error reset the link, and
 * slot_reset wrote back the config space saved at probe, with decoding on.
 * Recovery must not undo the memory off: the device stays off and the
 * buffers revoked until userspace turns memory on.
 */
TEST_F(aer, memory_off_survives_a_link_reset)
{
	uint8_t b = 0;

	ASSERT_EQ(0, fb_memory(self->dev, 0));
	EXPECT_EQ(1u, invalidations(self->imp));
	ASSERT_EQ(0, inject(ERR_FATAL));
	ASSERT_EQ(1, recovery_outcome(self->kmsg));
	EXPECT_EQ(0, fb_memory_decode_bit(AER_PCI_ADDR));
	EXPECT_EQ(1u, invalidations(self->imp));	/* still revoked */
	EXPECT_EQ(SIGBUS, fb_touch(self->map, false, 0, NULL));
	ASSERT_EQ(0, fb_memory(self->dev, 1));
	EXPECT_EQ(1, fb_memory_decode_bit(AER_PCI_ADDR));
	EXPECT_EQ(2u, invalidations(self->imp));
	EXPECT_EQ(0, fb_touch(self->map, false, 0, &b));
	EXPECT_EQ(PATTERN, b);
}

/*
 * A function below the port without a driver makes recovery fail: the
 * kernel tells every driver below the port that its device failed for good
 * (error_detected with pci_channel_io_perm_failure), which fencebuf treats
 * as unbind. Only removing the devices and scanning the bus again brings
 * them back, as new devices with new buffers. Last: it leaves the devices
 * removed and found again.
 */
TEST_F(aer, a_failed_recovery_revokes_for_good)
{
	struct fencebuf_range r = { .offset = BUF_OFF, .length = BUF_LEN };
	const char *const gone[] = { AER_PCI_ADDR, AER_SIBLING_ADDR };
	uint8_t *map2;
	char path[128];
	uint8_t b = 0;
	__u32 on = 1;
	int dev2, buf2;

	ASSERT_EQ(0, write_bdf("unbind", AER_SIBLING_ADDR));
	ASSERT_EQ(0, inject(ERR_FATAL));
	ASSERT_EQ(0, recovery_outcome(self->kmsg));
	/* Revoked by error_detected, and again for good: never restored. */
	EXPECT_EQ(2u, invalidations(self->imp));
	EXPECT_EQ(SIGBUS, fb_touch(self->map, false, 0, NULL));
	EXPECT_EQ(-ENODEV, fb_export_ranges(self->dev, FB_BAR, 0, &r, 1));
	EXPECT_EQ(-1, ioctl(self->dev, FENCEBUF_IOC_MEMORY_ENABLE, &on));
	EXPECT_EQ(ENODEV, errno);

	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/remove", gone[i]);
		ASSERT_EQ(0, fb_write_file(path, "1"));
	}
	ASSERT_EQ(0, fb_write_file("/sys/bus/pci/rescan", "1"));
	ASSERT_TRUE(bound(AER_PCI_ADDR));
	ASSERT_TRUE(bound(AER_SIBLING_ADDR));
	/*
	 * The old buffer stays revoked, and removal does not revoke it again;
	 * the new device exports and maps.
	 */
	EXPECT_EQ(2u, invalidations(self->imp));
	EXPECT_EQ(SIGBUS, fb_touch(self->map, false, 0, NULL));
	dev2 = open(AER_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_GE(dev2, 0);
	buf2 = fb_export_ranges(dev2, FB_BAR, 0, &r, 1);
	ASSERT_GE(buf2, 0) TH_LOG("export: %s", strerror(-buf2));
	map2 = mmap(NULL, BUF_LEN, PROT_READ, MAP_SHARED, buf2, 0);
	ASSERT_NE(MAP_FAILED, map2);
	EXPECT_EQ(0, fb_touch(map2, false, 0, &b));
	EXPECT_EQ(PATTERN, b);
	munmap(map2, BUF_LEN);
	close(buf2);
	close(dev2);
}

TEST_HARNESS_MAIN
