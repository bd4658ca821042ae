// SPDX-License-Identifier: GPL-2.0
/*
 * fencebuf's MMIO dma-bufs seen by an in-kernel importer: the sample
 * importer (samples/importer) attaches dynamically through QEMU's PCI test
 * device, maps the buffer peer to peer, reads and writes it through vmap,
 * and is invalidated by revoke (memory off, unbind). Each test starts with
 * both modules freshly loaded.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "fencebuf_test.h"
#include "fencebuf_exporter.h"
#include "fencebuf_importer.h"

/* Away from the areas the host checks (qemu/ivshmem.py). */
#define BUF_OFF (3 << 20)
#define BUF_LEN (4 * FB_PAGE)

FIXTURE(imp) {
	int dev, imp, buf;
	uint8_t *map;
};

FIXTURE_SETUP(imp)
{
	int i;

	ASSERT_EQ(0, fb_reload_with_importer());
	self->dev = open(FB_EXPORTER_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->dev, 0);
	self->imp = open(IMP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->imp, 0) TH_LOG("open %s: %s", IMP_DEV, strerror(errno));
	self->buf = fb_export(self->dev, BUF_OFF, BUF_LEN);
	ASSERT_GE(self->buf, 0);
	self->map = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, self->buf, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	for (i = 0; i < BUF_LEN; i++)
		self->map[i] = i * 11 + 2;
}

FIXTURE_TEARDOWN(imp)
{
	if (self->map != MAP_FAILED)
		munmap(self->map, BUF_LEN);
	if (self->buf >= 0)
		close(self->buf);
	if (self->imp >= 0)
		close(self->imp);
	if (self->dev >= 0)
		close(self->dev);
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

TEST_F(imp, attach_map_read_write_detach)
{
	uint8_t data[BUF_LEN];
	__u64 len = 0;
	int i;

	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_ATTACH, &self->buf));
	ASSERT_EQ(0, imp_map(self->imp, &len));
	EXPECT_EQ((__u64)BUF_LEN, len);	/* the scatterlist covers the buffer */
	EXPECT_EQ(1u, imp_status(self->imp).mapped);
	EXPECT_EQ((__u64)BUF_LEN, imp_status(self->imp).size);
	/* What userspace wrote through mmap, the importer reads. */
	ASSERT_EQ(0, imp_access(self->imp, 0, data, BUF_LEN, 0));
	for (i = 0; i < BUF_LEN; i++)
		if (data[i] != (uint8_t)(i * 11 + 2))
			break;
	EXPECT_EQ(BUF_LEN, i);
	/* What the importer writes, userspace sees. */
	memset(data, 0x6c, FB_PAGE);
	ASSERT_EQ(0, imp_access(self->imp, FB_PAGE, data, FB_PAGE, 1));
	EXPECT_EQ(0x6c, self->map[FB_PAGE]);
	EXPECT_EQ(0x6c, self->map[2 * FB_PAGE - 1]);
	EXPECT_EQ((uint8_t)(2 * FB_PAGE * 11 + 2), self->map[2 * FB_PAGE]);
	EXPECT_EQ(0u, imp_status(self->imp).invalidations);
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_DETACH));
	EXPECT_EQ(0u, imp_status(self->imp).attached);
}

TEST_F(imp, revoke_invalidates_and_restore_allows_remap)
{
	struct fbimp_status st;
	uint8_t b;
	__u64 len;

	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_ATTACH, &self->buf));
	ASSERT_EQ(0, imp_map(self->imp, &len));
	ASSERT_EQ(0, fb_memory(self->dev, 0));
	st = imp_status(self->imp);
	EXPECT_EQ(1u, st.invalidations);
	EXPECT_EQ(0u, st.mapped);	/* unmapped in invalidate_mappings */
	EXPECT_EQ(-ENODEV, imp_map(self->imp, &len));
	EXPECT_EQ(-ENODEV, imp_access(self->imp, 0, &b, 1, 0));

	ASSERT_EQ(0, fb_memory(self->dev, 1));
	EXPECT_EQ(2u, imp_status(self->imp).invalidations);	/* "map again" */
	ASSERT_EQ(0, imp_map(self->imp, &len));
	ASSERT_EQ(0, imp_access(self->imp, 0, &b, 1, 0));
	EXPECT_EQ(2, b);
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_DETACH));
}

TEST_F(imp, attach_to_a_revoked_buffer_is_refused)
{
	ASSERT_EQ(0, fb_memory(self->dev, 0));
	EXPECT_EQ(-1, ioctl(self->imp, FBIMP_IOC_ATTACH, &self->buf));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(0u, imp_status(self->imp).attached);
	ASSERT_EQ(0, fb_memory(self->dev, 1));
	EXPECT_EQ(0, ioctl(self->imp, FBIMP_IOC_ATTACH, &self->buf));
}

TEST_F(imp, unbind_invalidates_the_importer_for_good)
{
	__u64 len;
	int dev2;

	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_ATTACH, &self->buf));
	ASSERT_EQ(0, imp_map(self->imp, &len));
	ASSERT_EQ(0, fb_write_file(FB_DRIVER_DIR "/unbind", FB_PCI_ADDR));
	EXPECT_EQ(0u, imp_status(self->imp).mapped);
	EXPECT_EQ(1u, imp_status(self->imp).invalidations);
	EXPECT_EQ(-ENODEV, imp_map(self->imp, &len));
	ASSERT_EQ(0, fb_write_file(FB_DRIVER_DIR "/bind", FB_PCI_ADDR));
	dev2 = open(FB_EXPORTER_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_GE(dev2, 0);
	EXPECT_EQ(-ENODEV, imp_map(self->imp, &len));	/* the old buffer stays revoked */
	EXPECT_EQ(0, ioctl(self->imp, FBIMP_IOC_DETACH));
	close(dev2);
}

TEST_F(imp, an_attachment_keeps_fencebuf_loaded)
{
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_ATTACH, &self->buf));
	munmap(self->map, BUF_LEN);
	self->map = MAP_FAILED;
	close(self->buf);
	self->buf = -1;
	close(self->dev);
	self->dev = -1;
	EXPECT_EQ(-EWOULDBLOCK, fb_unload());
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_DETACH));
}

/* The exporter refuses importers that could keep using a revoked BAR. */
TEST_F(imp, importers_that_cannot_be_revoked_are_refused)
{
	struct fbimp_attach a = { .fd = self->buf, .kind = FBIMP_KIND_NO_INVALIDATE };

	EXPECT_EQ(-1, ioctl(self->imp, FBIMP_IOC_ATTACH_AS, &a));
	EXPECT_EQ(EOPNOTSUPP, errno);
	a.kind = FBIMP_KIND_NO_P2P;
	EXPECT_EQ(-1, ioctl(self->imp, FBIMP_IOC_ATTACH_AS, &a));
	EXPECT_EQ(EOPNOTSUPP, errno);
	a.kind = 3;
	EXPECT_EQ(-1, ioctl(self->imp, FBIMP_IOC_ATTACH_AS, &a));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0u, imp_status(self->imp).attached);
	a.kind = FBIMP_KIND_REVOCABLE;
	EXPECT_EQ(0, ioctl(self->imp, FBIMP_IOC_ATTACH_AS, &a));
	EXPECT_EQ(1u, imp_status(self->imp).attached);
}

TEST_F(imp, bad_inputs)
{
	uint8_t b[16];
	__u64 len;
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC), bad = -1;
	struct fbimp_access a = { .len = 1, .user_ptr = (__u64)(uintptr_t)b, .pad = 1 };

	EXPECT_EQ(-EINVAL, imp_map(self->imp, &len));	/* not attached */
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
	EXPECT_EQ(-E2BIG, imp_access(self->imp, 0, b, (2 << 20), 0));
	EXPECT_EQ(-EFAULT, imp_access(self->imp, 0, NULL, 1, 0));
	EXPECT_EQ(-1, ioctl(self->imp, FBIMP_IOC_ACCESS, &a));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->imp, _IO('I', 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
	close(null);
}

TEST_HARNESS_MAIN
