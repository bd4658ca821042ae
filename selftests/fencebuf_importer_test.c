// SPDX-License-Identifier: GPL-2.0
/*
 * MMIO dma-bufs seen by an in-kernel importer, from two exporters on the
 * same kind of device in one boot: fencebuf's (the guest's first ivshmem
 * device) and vfio-pci's (the second, opened as a VMM opens it,
 * fencebuf_vfio.h). The sample importer (samples/importer) attaches
 * dynamically through QEMU's PCI test device, maps the buffer peer to peer,
 * reads and writes it through vmap where the exporter has one, and is
 * invalidated by revoke (memory off, unbind). Each test runs once per
 * exporter (the harness's variants), with fencebuf and the importer freshly
 * loaded. Where the two exporters differ, the test says which and why; the
 * comparison table of Documentation/fencebuf/design.rst ("fencebuf and VFIO
 * side by side") lists the same differences.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "fencebuf_test.h"
#include "fencebuf_exporter.h"
#include "fencebuf_importer.h"
#include "fencebuf_vfio.h"

/* Away from the areas the host checks (qemu/ivshmem.py). */
#define BUF_OFF (3 << 20)
#define BUF_LEN (4 * FB_PAGE)
/* The sample importer's largest ACCESS (MAX_ACCESS in samples/importer). */
#define IMP_MAX_ACCESS (1 << 20)

FIXTURE(importer) {
	int dev, imp, buf;
	struct fb_vfio vfio;
	/* The buffer's memory as userspace sees it: fencebuf's dma-buf
	 * mmapped, or VFIO's BAR region at the same offset (VFIO's dma-bufs
	 * have no mmap).
	 */
	uint8_t *map;
};

FIXTURE_VARIANT(importer) {
	bool vfio;
	const char *bdf;
};

FIXTURE_VARIANT_ADD(importer, fencebuf) {
	.vfio = false,
	.bdf = FB_PCI_ADDR,
};

FIXTURE_VARIANT_ADD(importer, vfio) {
	.vfio = true,
	.bdf = FB_VFIO_PCI_ADDR,
};

static int exp_export_ranges(FIXTURE_DATA(importer) *self, const FIXTURE_VARIANT(importer) *variant,
			     __u32 region, __u32 flags, const struct fencebuf_range *r, __u32 n)
{
	/* struct fencebuf_range and struct vfio_region_dma_range agree. */
	_Static_assert(sizeof(struct fencebuf_range) == sizeof(struct vfio_region_dma_range),
		       "range layouts");
	if (variant->vfio)
		return fb_vfio_export_ranges(&self->vfio, region, flags,
					     (const struct vfio_region_dma_range *)r, n);
	return fb_export_ranges(self->dev, region, flags, r, n);
}

static int exp_export(FIXTURE_DATA(importer) *self, const FIXTURE_VARIANT(importer) *variant,
		      __u64 offset, __u64 len)
{
	struct fencebuf_range r = { .offset = offset, .length = len };

	return exp_export_ranges(self, variant, FB_BAR, 0, &r, 1);
}

static int exp_memory(FIXTURE_DATA(importer) *self, const FIXTURE_VARIANT(importer) *variant,
		      int on)
{
	return variant->vfio ? fb_vfio_memory(&self->vfio, on) : fb_memory(self->dev, on);
}

/* Closes what userspace holds of the exporter: its device file(s). */
static void exp_close(FIXTURE_DATA(importer) *self, const FIXTURE_VARIANT(importer) *variant)
{
	if (variant->vfio) {
		fb_vfio_close(&self->vfio);
	} else if (self->dev >= 0) {
		close(self->dev);
		self->dev = -1;
	}
}

FIXTURE_SETUP(importer)
{
	int i;

	self->dev = self->imp = self->buf = -1;
	self->vfio.container = self->vfio.group = self->vfio.device = -1;
	self->map = MAP_FAILED;
	/*
	 * Debian's kernel has vfio-pci as a module this guest does not load,
	 * and no VFIO_NOIOMMU: without an IOMMU in the guest it cannot open
	 * the device at all.
	 */
	if (variant->vfio && access(FB_VFIO_DRIVER_DIR, F_OK))
		SKIP(return, "no vfio-pci in this kernel (%s is missing)", FB_VFIO_DRIVER_DIR);
	ASSERT_EQ(0, fb_reload_with_importer());
	if (variant->vfio) {
		ASSERT_EQ(0, fb_vfio_open(&self->vfio, variant->bdf))
			TH_LOG("vfio: %s", self->vfio.why);
	} else {
		self->dev = open(FB_EXPORTER_DEV, O_RDWR | O_CLOEXEC);
		ASSERT_GE(self->dev, 0);
	}
	self->imp = open(IMP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->imp, 0) TH_LOG("open %s: %s", IMP_DEV, strerror(errno));
	self->buf = exp_export(self, variant, BUF_OFF, BUF_LEN);
	ASSERT_GE(self->buf, 0) TH_LOG("export: %s", strerror(-self->buf));
	if (variant->vfio)
		self->map = fb_vfio_mmap_bar(&self->vfio, BUF_LEN, BUF_OFF);
	else
		self->map = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, self->buf, 0);
	ASSERT_NE(MAP_FAILED, self->map) TH_LOG("mmap: %s", strerror(errno));
	for (i = 0; i < BUF_LEN; i++)
		self->map[i] = i * 11 + 2;
}

/*
 * fencebuf and the importer reloaded with fencebuf's @params: a new device
 * file, importer file and buffer, not mapped (self->map is MAP_FAILED).
 */
static void reload_with(struct __test_metadata *_metadata, FIXTURE_DATA(importer) *self,
			const FIXTURE_VARIANT(importer) *variant, const char *params)
{
	close(self->dev);
	self->dev = -1;
	munmap(self->map, BUF_LEN);
	self->map = MAP_FAILED;
	close(self->buf);
	self->buf = -1;
	close(self->imp);
	self->imp = -1;
	ASSERT_EQ(0, fb_unload_name(IMP_NAME));
	ASSERT_EQ(0, fb_unload());
	ASSERT_EQ(0, fb_load(params));
	ASSERT_EQ(0, fb_load_path(IMP_KO, ""));
	self->dev = open(FB_EXPORTER_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->dev, 0);
	self->imp = open(IMP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->imp, 0);
	self->buf = exp_export(self, variant, BUF_OFF, BUF_LEN);
	ASSERT_GE(self->buf, 0);
}

FIXTURE_TEARDOWN(importer)
{
	if (self->map != MAP_FAILED)
		munmap(self->map, BUF_LEN);
	if (self->buf >= 0)
		close(self->buf);
	if (self->imp >= 0)
		close(self->imp);
	exp_close(self, variant);
	if (variant->vfio && access(FB_VFIO_DRIVER_DIR, F_OK))
		return;
	EXPECT_EQ(0, fb_unload_name(IMP_NAME));
	EXPECT_EQ(0, fb_unload());
}

static int imp_access(int imp, __u64 off, void *p, __u64 len, int write)
{
	struct fbimp_access a = {
		.offset = off, .len = len, .user_ptr = (__u64)(uintptr_t)p, .write = write,
	};

	return ioctl(imp, FBIMP_IOC_ACCESS, &a) ? -errno : 0;
}

static struct fbimp_status imp_status(int imp)
{
	struct fbimp_status st = { .attached = ~0u };

	ioctl(imp, FBIMP_IOC_STATUS, &st);
	return st;
}

static int imp_map(int imp, __u64 *len)
{
	return ioctl(imp, FBIMP_IOC_MAP, len) ? -errno : 0;
}

/* The mapping's entries, adjacent ones merged; their number or -errno. */
static int imp_segments(int imp, struct fbimp_segment *segs, __u32 max)
{
	struct fbimp_segments req = { .segs_ptr = (__u64)(uintptr_t)segs, .max = max };
	__u32 i, n = 0;

	if (ioctl(imp, FBIMP_IOC_SEGMENTS, &req))
		return -errno;
	if (req.count > max)
		return -E2BIG;
	for (i = 0; i < req.count; i++) {
		if (n && segs[n - 1].addr + segs[n - 1].len == segs[i].addr)
			segs[n - 1].len += segs[i].len;
		else
			segs[n++] = segs[i];
	}
	return n;
}

/* Bus address of BAR2 of @bdf (on this machine, its CPU physical address). */
static __u64 bar2_address(const char *bdf)
{
	unsigned long long start = 0, end, flags;
	char path[96], text[1024];
	const char *line = text;
	int i;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", bdf);
	if (fb_read_file(path, text, sizeof(text)) < 0)
		return 0;
	for (i = 0; i < FB_BAR && line; i++) {
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	if (!line || sscanf(line, "%llx %llx %llx", &start, &end, &flags) != 3)
		return 0;
	return start;
}

static bool pattern_at(const uint8_t *p, int from, int len)
{
	int i;

	for (i = 0; i < len; i++)
		if (p[i] != (uint8_t)((from + i) * 11 + 2))
			return false;
	return true;
}

TEST_F(importer, attach_map_read_write_detach)
{
	uint8_t data[BUF_LEN];
	__u64 len = 0;

	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_ATTACH, &self->buf));
	ASSERT_EQ(0, imp_map(self->imp, &len));
	EXPECT_EQ((__u64)BUF_LEN, len);	/* the scatterlist covers the buffer */
	EXPECT_EQ(1u, imp_status(self->imp).mapped);
	EXPECT_EQ((__u64)BUF_LEN, imp_status(self->imp).size);
	if (variant->vfio) {
		/* VFIO's dma-bufs have no vmap: importers can only DMA. */
		EXPECT_EQ(-EINVAL, imp_access(self->imp, 0, data, BUF_LEN, 0));
	} else {
		/* What userspace wrote through mmap, the importer reads. */
		ASSERT_EQ(0, imp_access(self->imp, 0, data, BUF_LEN, 0));
		EXPECT_TRUE(pattern_at(data, 0, BUF_LEN));
		/* What the importer writes, userspace sees. */
		memset(data, 0x6c, FB_PAGE);
		ASSERT_EQ(0, imp_access(self->imp, FB_PAGE, data, FB_PAGE, 1));
		EXPECT_EQ(0x6c, self->map[FB_PAGE]);
		EXPECT_EQ(0x6c, self->map[2 * FB_PAGE - 1]);
		EXPECT_EQ((uint8_t)(2 * FB_PAGE * 11 + 2), self->map[2 * FB_PAGE]);
	}
	EXPECT_EQ(0u, imp_status(self->imp).invalidations);
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_DETACH));
	EXPECT_EQ(0u, imp_status(self->imp).attached);
}

/*
 * Two ranges, out of order: the importer's mapping is the BAR's bus
 * addresses of each range, in the order given (the guest's PCI devices sit
 * behind one bridge, so the mapping is bus addresses, not IOVAs). Such a
 * buffer has no kernel mapping (vmap).
 */
TEST_F(importer, the_mapping_is_the_ranges_in_order)
{
	const struct fencebuf_range r[2] = {
		{ .offset = BUF_OFF + 2 * FB_PAGE, .length = FB_PAGE },
		{ .offset = BUF_OFF, .length = 2 * FB_PAGE },
	};
	__u64 bar = bar2_address(variant->bdf), len = 0;
	struct fbimp_segment segs[8];
	uint8_t data[FB_PAGE];
	int buf, i;

	ASSERT_NE(0ull, bar);
	buf = exp_export_ranges(self, variant, FB_BAR, 0, r, 2);
	ASSERT_GE(buf, 0) TH_LOG("export: %s", strerror(-buf));
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_ATTACH, &buf));
	ASSERT_EQ(0, imp_map(self->imp, &len));
	EXPECT_EQ((__u64)(3 * FB_PAGE), len);
	ASSERT_EQ(2, imp_segments(self->imp, segs, 8));
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(bar + r[i].offset, segs[i].addr) TH_LOG("entry %d", i);
		EXPECT_EQ(r[i].length, segs[i].len) TH_LOG("entry %d", i);
	}
	/*
	 * No kernel mapping of two ranges: the buffer offers no vmap, so the
	 * core refuses with EINVAL. A vmap that is offered and fails would
	 * be refused too, but with the core's WARNING in the log.
	 */
	EXPECT_EQ(-EINVAL, imp_access(self->imp, 0, data, FB_PAGE, 0));
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_UNMAP));
	EXPECT_EQ(-ENODEV, imp_segments(self->imp, segs, 8));
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_DETACH));
	close(buf);
}

TEST_F(importer, revoke_invalidates_and_restore_allows_remap)
{
	struct fbimp_status st;
	uint8_t b = 0;
	__u64 len;

	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_ATTACH, &self->buf));
	ASSERT_EQ(0, imp_map(self->imp, &len));
	ASSERT_EQ(0, exp_memory(self, variant, 0));
	st = imp_status(self->imp);
	EXPECT_EQ(1u, st.invalidations);
	EXPECT_EQ(0u, st.mapped);	/* unmapped in invalidate_mappings */
	EXPECT_EQ(-ENODEV, imp_map(self->imp, &len));
	EXPECT_EQ(-ENODEV, imp_access(self->imp, 0, &b, 1, 0));
	/* The CPU mapping is revoked with it. */
	EXPECT_EQ(SIGBUS, fb_touch(self->map, 0, 0, NULL));

	ASSERT_EQ(0, exp_memory(self, variant, 1));
	EXPECT_EQ(2u, imp_status(self->imp).invalidations);	/* "map again" */
	ASSERT_EQ(0, imp_map(self->imp, &len));
	EXPECT_EQ((__u64)BUF_LEN, len);
	if (!variant->vfio) {
		ASSERT_EQ(0, imp_access(self->imp, 0, &b, 1, 0));
		EXPECT_EQ(2, b);
	}
	EXPECT_EQ(0, fb_touch(self->map, 0, 0, &b));
	EXPECT_EQ(2, b);
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_DETACH));
}

/* The parent bridge of the exporter's device (qemu/run-vm.sh). */
#define FB_BRIDGE_RESET "/sys/bus/pci/devices/0000:00:04.0/reset_subordinate"
#define FB_FUNCTION_RESET "/sys/bus/pci/devices/" FB_PCI_ADDR "/reset"

/*
 * A reset of the device, whoever starts it, turns its decoding off for the
 * reset's length: fencebuf revokes every buffer before (reset_prepare) and
 * restores them after (reset_done), if the device decodes again. The
 * importer sees both: an invalidation for the revoke, one for "map again".
 * Both resets the guest can start: the device's own reset, which the kernel
 * then refuses (ENOTTY: the device's only method is a bus reset, and it
 * shares its bus) after the same prepare and done, and a reset of the
 * whole bus behind its bridge, which resets it for real.
 */
TEST_F(importer, a_reset_revokes_for_its_length_and_restores)
{
	const char *const resets[] = { FB_FUNCTION_RESET, FB_BRIDGE_RESET };
	__u32 expected = 0;
	uint8_t b = 0;
	__u64 len;
	int ret;

	if (variant->vfio)
		SKIP(return, "fencebuf's handling of resets");
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_ATTACH, &self->buf));
	for (unsigned int i = 0; i < 2; i++) {
		if (access(resets[i], F_OK)) {
			printf("# %s: not in this kernel\n", resets[i]);
			continue;
		}
		ASSERT_EQ(0, imp_map(self->imp, &len));
		ret = fb_write_file(resets[i], "1");
		EXPECT_TRUE(ret == 0 || ret == -ENOTTY) TH_LOG("%s: %s", resets[i], strerror(-ret));
		printf("# %s: %s\n", resets[i], ret ? strerror(-ret) : "reset");
		expected += 2;
		EXPECT_EQ(expected, imp_status(self->imp).invalidations) TH_LOG("%s", resets[i]);
		EXPECT_EQ(0u, imp_status(self->imp).mapped);
		/* Restored: the importer maps and reads the BAR, the CPU too. */
		ASSERT_EQ(0, imp_map(self->imp, &len));
		ASSERT_EQ(0, imp_access(self->imp, 0, &b, 1, 0));
		EXPECT_EQ(2, b);
		EXPECT_EQ(0, fb_touch(self->map, 0, 0, &b));
		EXPECT_EQ(2, b);
		ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_UNMAP));
	}
	/* With decoding off, a reset leaves the buffers revoked. */
	ASSERT_EQ(0, exp_memory(self, variant, 0));
	expected += 1;
	if (!access(FB_FUNCTION_RESET, F_OK)) {
		ret = fb_write_file(FB_FUNCTION_RESET, "1");
		EXPECT_TRUE(ret == 0 || ret == -ENOTTY);
	}
	EXPECT_EQ(expected, imp_status(self->imp).invalidations);
	EXPECT_EQ(-ENODEV, imp_map(self->imp, &len));
	EXPECT_EQ(SIGBUS, fb_touch(self->map, 0, 0, NULL));
	ASSERT_EQ(0, exp_memory(self, variant, 1));
	ASSERT_EQ(0, imp_map(self->imp, &len));
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_DETACH));
}

TEST_F(importer, attach_to_a_revoked_buffer_is_refused)
{
	ASSERT_EQ(0, exp_memory(self, variant, 0));
	EXPECT_EQ(-1, ioctl(self->imp, FBIMP_IOC_ATTACH, &self->buf));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(0u, imp_status(self->imp).attached);
	ASSERT_EQ(0, exp_memory(self, variant, 1));
	EXPECT_EQ(0, ioctl(self->imp, FBIMP_IOC_ATTACH, &self->buf));
}

/*
 * A buffer exported while memory decoding is off is born revoked, and
 * restored with the others.
 */
TEST_F(importer, a_buffer_exported_while_revoked_is_restored)
{
	__u64 len;
	int buf;

	ASSERT_EQ(0, exp_memory(self, variant, 0));
	buf = exp_export(self, variant, BUF_OFF, FB_PAGE);
	ASSERT_GE(buf, 0) TH_LOG("export: %s", strerror(-buf));
	EXPECT_EQ(-1, ioctl(self->imp, FBIMP_IOC_ATTACH, &buf));
	EXPECT_EQ(ENODEV, errno);
	ASSERT_EQ(0, exp_memory(self, variant, 1));
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_ATTACH, &buf));
	ASSERT_EQ(0, imp_map(self->imp, &len));
	EXPECT_EQ((__u64)FB_PAGE, len);
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_DETACH));
	close(buf);
}

/*
 * The device goes away. fencebuf revokes at unbind, whoever holds its
 * files. vfio-pci's unbind waits (vfio_unregister_group_dev) until the VMM
 * has closed the device, and closing it revokes: so the VMM closes first.
 * Either way the buffer stays revoked after the device comes back.
 */
TEST_F(importer, unbind_invalidates_the_importer_for_good)
{
	const char *dir = variant->vfio ? FB_VFIO_DRIVER_DIR : FB_DRIVER_DIR;
	char path[128];
	__u64 len;

	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_ATTACH, &self->buf));
	ASSERT_EQ(0, imp_map(self->imp, &len));
	if (variant->vfio) {
		/* The BAR mapping holds the device file too. */
		munmap(self->map, BUF_LEN);
		self->map = MAP_FAILED;
		exp_close(self, variant);
	}
	snprintf(path, sizeof(path), "%s/unbind", dir);
	ASSERT_EQ(0, fb_write_file(path, variant->bdf));
	EXPECT_EQ(0u, imp_status(self->imp).mapped);
	EXPECT_EQ(1u, imp_status(self->imp).invalidations);
	EXPECT_EQ(-ENODEV, imp_map(self->imp, &len));
	snprintf(path, sizeof(path), "%s/bind", dir);
	ASSERT_EQ(0, fb_write_file(path, variant->bdf));
	if (variant->vfio) {
		ASSERT_EQ(0, fb_vfio_open(&self->vfio, variant->bdf))
			TH_LOG("vfio: %s", self->vfio.why);
	} else {
		int dev2 = open(FB_EXPORTER_DEV, O_RDWR | O_CLOEXEC);

		ASSERT_GE(dev2, 0);
		close(dev2);
	}
	EXPECT_EQ(-ENODEV, imp_map(self->imp, &len));	/* the old buffer stays revoked */
	EXPECT_EQ(0, ioctl(self->imp, FBIMP_IOC_DETACH));
}

/*
 * Userspace closes everything of the exporter but the importer's
 * attachment. fencebuf's buffers keep their device (and the module) and
 * stay usable. VFIO revokes every buffer of a device when its last device
 * file closes (vfio_pci_core_close_device drains them), as a VMM's exit
 * should.
 */
TEST_F(importer, closing_the_exporter_files_while_attached)
{
	__u64 len;

	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_ATTACH, &self->buf));
	ASSERT_EQ(0, imp_map(self->imp, &len));
	munmap(self->map, BUF_LEN);
	self->map = MAP_FAILED;
	close(self->buf);
	self->buf = -1;
	exp_close(self, variant);
	if (variant->vfio) {
		EXPECT_EQ(0u, imp_status(self->imp).mapped);
		EXPECT_EQ(1u, imp_status(self->imp).invalidations);
		EXPECT_EQ(-ENODEV, imp_map(self->imp, &len));
	} else {
		EXPECT_EQ(-EWOULDBLOCK, fb_unload());
		EXPECT_EQ(1u, imp_status(self->imp).mapped);
		EXPECT_EQ(0u, imp_status(self->imp).invalidations);
		EXPECT_EQ(0, imp_map(self->imp, &len));
		EXPECT_EQ((__u64)BUF_LEN, len);
	}
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_DETACH));
}

static int imp_attach_deferred(int imp, int buf)
{
	struct fbimp_attach a = { .fd = buf, .kind = FBIMP_KIND_DEFERRED };

	return ioctl(imp, FBIMP_IOC_ATTACH_AS, &a) ? -errno : 0;
}

static void on_sigusr1(int sig)
{
	(void)sig;
}

/*
 * A deferred attachment, mapped, and memory off started in a child that
 * exits 0 when it returned 0; returns once the importer saw the
 * invalidation, with the child's pid. With @catch_sigusr1, the child
 * handles SIGUSR1, so the signal interrupts its interruptible sleeps.
 */
static pid_t deferred_revoke_started(struct __test_metadata *_metadata,
				     FIXTURE_DATA(importer) *self,
				     const FIXTURE_VARIANT(importer) *variant, bool catch_sigusr1)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	pid_t child;
	__u64 len;
	int i;

	EXPECT_EQ(0, imp_attach_deferred(self->imp, self->buf));
	EXPECT_EQ(0, imp_map(self->imp, &len));
	child = fork();
	if (child == 0) {
		if (catch_sigusr1)
			sigaction(SIGUSR1, &sa, NULL);
		_exit(exp_memory(self, variant, 0) ? 1 : 0);
	}
	EXPECT_GE(child, 0);
	for (i = 0; i < 500 && !imp_status(self->imp).invalidations; i++)
		usleep(10 * 1000);
	EXPECT_EQ(1u, imp_status(self->imp).invalidations);
	return child;
}

/* The importer unmaps at last: the child's memory off then succeeds. */
static void deferred_unmap_ends_the_revoke(struct __test_metadata *_metadata,
					   FIXTURE_DATA(importer) *self, pid_t child)
{
	int status;

	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_UNMAP));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/*
 * An importer that unmaps after invalidate_mappings has returned (a driver
 * that unmaps from a worker once its DMA drained) still DMA-maps the BAR:
 * memory decoding must stay on until it has unmapped. Both exporters wait
 * for it (VFIO with no bound; fencebuf for revoke_timeout_ms, next test).
 */
TEST_F(importer, revoke_waits_for_a_deferred_unmap)
{
	pid_t child = deferred_revoke_started(_metadata, self, variant, false);
	int status;
	__u64 len;

	ASSERT_GT(child, 0);
	/* Invalidated, still mapped, and the revoke waits... */
	usleep(300 * 1000);
	EXPECT_EQ(1u, imp_status(self->imp).mapped);
	EXPECT_EQ(0, waitpid(child, &status, WNOHANG));
	/* ...until the unmap lets it finish. */
	deferred_unmap_ends_the_revoke(_metadata, self, child);
	EXPECT_EQ(SIGBUS, fb_touch(self->map, 0, 0, NULL));
	EXPECT_EQ(-ENODEV, imp_map(self->imp, &len));
	ASSERT_EQ(0, exp_memory(self, variant, 1));
	ASSERT_EQ(0, imp_map(self->imp, &len));
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_DETACH));
}

/*
 * A deferred unmap keeps an invalidated mapping for DMA in flight, not for
 * new CPU accesses: the sample importer's kernel access through vmap is
 * refused (ENODEV) between the invalidation and the unmap. A vmap there
 * would reach the revoked buffer, whose exporter must refuse it, and the
 * dma-buf core WARNs on every vmap an exporter refuses.
 */
TEST_F(importer, no_access_through_an_invalidated_mapping)
{
	pid_t child = deferred_revoke_started(_metadata, self, variant, false);
	uint8_t data[FB_PAGE];
	__u64 len;

	ASSERT_GT(child, 0);
	EXPECT_EQ(1u, imp_status(self->imp).mapped);
	EXPECT_EQ(-ENODEV, imp_access(self->imp, 0, data, FB_PAGE, 0));
	EXPECT_EQ(-ENODEV, imp_access(self->imp, 0, data, FB_PAGE, 1));
	deferred_unmap_ends_the_revoke(_metadata, self, child);
	ASSERT_EQ(0, exp_memory(self, variant, 1));
	ASSERT_EQ(0, imp_map(self->imp, &len));
	if (!variant->vfio)
		EXPECT_EQ(0, imp_access(self->imp, 0, data, FB_PAGE, 0));
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_DETACH));
}

/*
 * A signal does not cut the wait for a deferred unmap short: memory decoding
 * going off while the importer still maps the BAR is what the wait is for.
 * The revoking task, signalled again and again, still waits for the unmap.
 */
TEST_F(importer, signal_does_not_end_the_wait_for_an_unmap)
{
	pid_t child = deferred_revoke_started(_metadata, self, variant, true);
	int status, i;

	ASSERT_GT(child, 0);
	for (i = 0; i < 5; i++) {
		kill(child, SIGUSR1);
		usleep(60 * 1000);
	}
	/* Signalled, still mapped, and the revoke still waits. */
	EXPECT_EQ(1u, imp_status(self->imp).mapped);
	EXPECT_EQ(0, waitpid(child, &status, WNOHANG));
	deferred_unmap_ends_the_revoke(_metadata, self, child);
	ASSERT_EQ(0, exp_memory(self, variant, 1));
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_DETACH));
}

/* Whether a record read from @fd (fb_fb_kmsg_from_now()) since contains @text. */
static bool kmsg_has(int fd, const char *text)
{
	char rec[1024];

	while (fb_kmsg_next(fd, rec, sizeof(rec)))
		if (strstr(rec, text))
			return true;
	return false;
}

/*
 * An importer that never unmaps cannot hold memory disable back for ever:
 * after revoke_timeout_ms fencebuf goes on and says so. VFIO waits with no
 * bound (wait_for_completion() in vfio_pci_dma_buf_move()), so this would
 * hang the test there.
 */
TEST_F(importer, revoke_gives_up_on_a_mapping_kept_past_the_timeout)
{
	double t0, dt;
	__u64 len;
	int kmsg;

	if (variant->vfio)
		SKIP(return, "VFIO waits for the unmap with no bound: memory disable would hang");
	reload_with(_metadata, self, variant, "revoke_timeout_ms=400");

	ASSERT_EQ(0, imp_attach_deferred(self->imp, self->buf));
	ASSERT_EQ(0, imp_map(self->imp, &len));
	kmsg = fb_kmsg_from_now();
	ASSERT_GE(kmsg, 0);
	t0 = fb_now_s();
	ASSERT_EQ(0, exp_memory(self, variant, 0));
	dt = fb_now_s() - t0;
	EXPECT_GE(dt, 0.35);
	EXPECT_LT(dt, 5.0);
	EXPECT_TRUE(kmsg_has(kmsg, "revoke: importers still map 1 of 1 buffers after 400 ms"));
	close(kmsg);
	EXPECT_EQ(1u, imp_status(self->imp).mapped);
	/* The late unmap and a restore work as usual. */
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_UNMAP));
	ASSERT_EQ(0, exp_memory(self, variant, 1));
	ASSERT_EQ(0, imp_map(self->imp, &len));
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_DETACH));
}

/*
 * An importer that breaks the rules and keeps a kernel mapping (vmap) past
 * invalidation: revoke waits its bounded time for it and goes on. The core
 * then hands the same mapping out again without asking fencebuf, revoked or
 * not. It stays a mapping of the BAR, never of freed or reused memory, until
 * the importer gives it back, also after unbind: fencebuf unmaps it only at
 * the last vunmap.
 */
TEST_F(importer, a_kernel_mapping_kept_past_revoke_stays_the_bars)
{
	__u32 word, kept, before;
	uint8_t *p;
	int kmsg;

	if (variant->vfio)
		SKIP(return, "VFIO's dma-bufs offer no vmap");
	reload_with(_metadata, self, variant, "revoke_timeout_ms=400");
	p = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, self->buf, 0);
	ASSERT_NE(MAP_FAILED, p);
	memcpy(p, "\x5a\xa5\x3c\xc3", 4);
	memcpy(&before, p, 4);
	munmap(p, BUF_LEN);

	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_ATTACH, &self->buf));
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_VMAP_HOLD, &kept));
	EXPECT_EQ(1u, kept);
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_VMAP_READ, &word));
	EXPECT_EQ(before, word);

	kmsg = fb_kmsg_from_now();
	ASSERT_GE(kmsg, 0);
	ASSERT_EQ(0, exp_memory(self, variant, 0));
	EXPECT_TRUE(kmsg_has(kmsg, "revoke: importers still map 1 of 1 buffers after 400 ms"));
	close(kmsg);
	/* The core's cached mapping: fencebuf is not asked. */
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_VMAP_HOLD, &kept));
	EXPECT_EQ(2u, kept);
	/* Decoding is off: the device no longer answers at the BAR. */
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_VMAP_READ, &word));
	EXPECT_NE(before, word) TH_LOG("read 0x%08x with decoding off", word);
	ASSERT_EQ(0, exp_memory(self, variant, 1));
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_VMAP_READ, &word));
	EXPECT_EQ(before, word);

	/* Unbind revokes for good and waits its bounded time again. */
	ASSERT_EQ(0, fb_write_file(FB_DRIVER_DIR "/unbind", FB_PCI_ADDR));
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_VMAP_READ, &word));
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_VMAP_RELEASE));
	EXPECT_EQ(-1, ioctl(self->imp, FBIMP_IOC_VMAP_READ, &word));
	EXPECT_EQ(ENODEV, errno);
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_DETACH));
	ASSERT_EQ(0, fb_write_file(FB_DRIVER_DIR "/bind", FB_PCI_ADDR));
}

/*
 * A buffer whose file is gone but whose dentry an O_PATH open of
 * /proc/self/fd/N still holds: the buffer lives on (its release is the
 * dentry's), its file is freed. Revoke and restore must not reach that
 * file. Both exporters run it: on a kernel without the dma-buf fix in
 * scripts/kernel/patches/, VFIO's get_file_active(&dmabuf->file) reads the
 * freed file here (KASAN: slab-use-after-free in __get_file_rcu).
 */
TEST_F(importer, revoke_of_a_buffer_whose_file_is_freed)
{
	char link[64];
	int fd, opath;

	fd = exp_export(self, variant, BUF_OFF, BUF_LEN);
	ASSERT_GE(fd, 0);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	opath = open(link, O_PATH | O_CLOEXEC);
	ASSERT_GE(opath, 0);
	close(fd);
	/* The last fput() runs on return to userspace; then an RCU grace
	 * period, after which the freed file may be reused. */
	usleep(300 * 1000);
	EXPECT_EQ(0, exp_memory(self, variant, 0));
	EXPECT_EQ(0, exp_memory(self, variant, 1));
	close(opath);
}

/* Both exporters refuse importers that could keep using a revoked BAR. */
TEST_F(importer, importers_that_cannot_be_revoked_are_refused)
{
	struct fbimp_attach a = { .fd = self->buf, .kind = FBIMP_KIND_NO_INVALIDATE };

	EXPECT_EQ(-1, ioctl(self->imp, FBIMP_IOC_ATTACH_AS, &a));
	EXPECT_EQ(EOPNOTSUPP, errno);
	a.kind = FBIMP_KIND_NO_P2P;
	EXPECT_EQ(-1, ioctl(self->imp, FBIMP_IOC_ATTACH_AS, &a));
	EXPECT_EQ(EOPNOTSUPP, errno);
	a.kind = FBIMP_KIND_DEFERRED + 1;
	EXPECT_EQ(-1, ioctl(self->imp, FBIMP_IOC_ATTACH_AS, &a));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0u, imp_status(self->imp).attached);
	a.kind = FBIMP_KIND_REVOCABLE;
	EXPECT_EQ(0, ioctl(self->imp, FBIMP_IOC_ATTACH_AS, &a));
	EXPECT_EQ(1u, imp_status(self->imp).attached);
}

/* Bad exports: the same errno from both, except where noted. */
TEST_F(importer, export_bad_inputs)
{
	static struct fencebuf_range many[257];
	const struct fencebuf_range one = { .offset = 0, .length = FB_PAGE };
	struct fencebuf_range r;
	int fds = fb_count_fds(), fd, i;

	EXPECT_EQ(-EINVAL, exp_export_ranges(self, variant, FB_BAR, 0, &one, 0));
	EXPECT_EQ(-EINVAL, exp_export_ranges(self, variant, FB_BAR, 1u << 31, &one, 1));
	r = (struct fencebuf_range){ .offset = 0, .length = 0 };
	EXPECT_EQ(-EINVAL, exp_export_ranges(self, variant, FB_BAR, 0, &r, 1));
	r = (struct fencebuf_range){ .offset = 100, .length = FB_PAGE };
	EXPECT_EQ(-EINVAL, exp_export_ranges(self, variant, FB_BAR, 0, &r, 1));
	r = (struct fencebuf_range){ .offset = 0, .length = FB_PAGE + 1 };
	EXPECT_EQ(-EINVAL, exp_export_ranges(self, variant, FB_BAR, 0, &r, 1));
	r = (struct fencebuf_range){ .offset = (4 << 20) - FB_PAGE, .length = 2 * FB_PAGE };
	EXPECT_EQ(-EINVAL, exp_export_ranges(self, variant, FB_BAR, 0, &r, 1));
	r = (struct fencebuf_range){ .offset = -(__u64)FB_PAGE, .length = 2 * FB_PAGE };
	EXPECT_EQ(-EOVERFLOW, exp_export_ranges(self, variant, FB_BAR, 0, &r, 1));
	/* ivshmem-plain has no BAR1; region 6 is the ROM, 9 nothing. */
	EXPECT_EQ(-ENODEV, exp_export_ranges(self, variant, 1, 0, &one, 1));
	EXPECT_EQ(-ENODEV, exp_export_ranges(self, variant, 6, 0, &one, 1));
	EXPECT_EQ(-ENODEV, exp_export_ranges(self, variant, 9, 0, &one, 1));
	/*
	 * fencebuf bounds the ranges of one buffer (FENCEBUF_IOC_INFO's
	 * max_ranges, 256); VFIO takes as many as kmalloc can copy.
	 */
	for (i = 0; i < 257; i++)
		many[i] = (struct fencebuf_range){ .offset = i * FB_PAGE, .length = FB_PAGE };
	fd = exp_export_ranges(self, variant, FB_BAR, 0, many, 257);
	if (variant->vfio) {
		EXPECT_GE(fd, 0);
		if (fd >= 0)
			close(fd);
	} else {
		EXPECT_EQ(-E2BIG, fd);
	}
	EXPECT_EQ(fds, fb_count_fds());	/* no fd left behind */
}

TEST_F(importer, bad_inputs)
{
	struct fbimp_segments seg = { .max = FBIMP_SEGMENTS_MAX + 1 };
	uint8_t b[16];
	__u64 len;
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC), bad = -1;
	struct fbimp_access a = { .len = 1, .user_ptr = (__u64)(uintptr_t)b, .pad = 1 };

	EXPECT_EQ(-EINVAL, imp_map(self->imp, &len));	/* not attached */
	EXPECT_EQ(-1, ioctl(self->imp, FBIMP_IOC_SEGMENTS, &seg));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->imp, FBIMP_IOC_ATTACH, &null));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->imp, FBIMP_IOC_ATTACH, &bad));
	EXPECT_EQ(EBADF, errno);
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_ATTACH, &self->buf));
	EXPECT_EQ(-1, ioctl(self->imp, FBIMP_IOC_ATTACH, &self->buf));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(-ENODEV, imp_access(self->imp, 0, b, 1, 0));	/* not mapped */
	ASSERT_EQ(0, imp_map(self->imp, &len));
	EXPECT_EQ(-EINVAL, imp_access(self->imp, BUF_LEN - 8, b, 16, 0));
	EXPECT_EQ(-E2BIG, imp_access(self->imp, 0, b, 2 * IMP_MAX_ACCESS, 0));
	EXPECT_EQ(-1, ioctl(self->imp, FBIMP_IOC_SEGMENTS, &seg));
	EXPECT_EQ(EINVAL, errno);
	seg = (struct fbimp_segments){ .segs_ptr = 8, .max = 1 };
	EXPECT_EQ(-1, ioctl(self->imp, FBIMP_IOC_SEGMENTS, &seg));
	EXPECT_EQ(EFAULT, errno);
	if (!variant->vfio)
		EXPECT_EQ(-EFAULT, imp_access(self->imp, 0, NULL, 1, 0));
	EXPECT_EQ(-1, ioctl(self->imp, FBIMP_IOC_ACCESS, &a));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->imp, _IO('I', 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
	close(null);
}

TEST_HARNESS_MAIN
