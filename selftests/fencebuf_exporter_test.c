// SPDX-License-Identifier: GPL-2.0
/*
 * The MMIO dma-buf exporter on the guest's ivshmem device: export, mmap,
 * device memory seen from the host, revoke (memory off, unbind) and restore,
 * reservation fences holding revoke back, the reuse lookup, and every bad
 * input with no fd leaked. Each test starts with the module freshly loaded.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/dma-buf.h>
#include <linux/fencebuf.h>
#include <linux/sync_file.h>

#include "kselftest_harness.h"
#include "fencebuf_test.h"
#include "fencebuf_sync.h"
#include "fencebuf_exporter.h"

/* Sets or clears PCI_COMMAND_MEMORY behind the driver's back, as setpci does. */
static int set_memory_decode_bit(int on)
{
	int fd = open("/sys/bus/pci/devices/" FB_PCI_ADDR "/config", O_RDWR | O_CLOEXEC);
	uint8_t cmd[2];
	int ret = -1;

	if (fd < 0)
		return -1;
	if (pread(fd, cmd, 2, 4) == 2) {
		cmd[0] = on ? cmd[0] | 0x2 : cmd[0] & ~0x2;
		ret = pwrite(fd, cmd, 2, 4) == 2 ? 0 : -1;
	}
	close(fd);
	return ret;
}

static int unbind_write(const char *file)
{
	return fb_write_file(file, FB_PCI_ADDR);
}

FIXTURE(exporter) {
	int dev;
};

static void ex_load(struct __test_metadata *_metadata, FIXTURE_DATA(exporter) *self,
		     const char *params)
{
	if (fb_loaded())
		ASSERT_EQ(0, fb_unload());
	ASSERT_EQ(0, fb_load(params));
	self->dev = open(FB_EXPORTER_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->dev, 0) TH_LOG("open %s: %s", FB_EXPORTER_DEV, strerror(errno));
}

FIXTURE_SETUP(exporter)
{
	ex_load(_metadata, self, "");
}

FIXTURE_TEARDOWN(exporter)
{
	if (self->dev >= 0)
		close(self->dev);
	/* Deferred releases of closed buffers run on return to userspace. */
	if (fb_loaded())
		EXPECT_EQ(0, fb_unload());
}

TEST_F(exporter, info_describes_the_bars)
{
	struct fencebuf_info info;

	memset(&info, 0xa5, sizeof(info));
	ASSERT_EQ(0, ioctl(self->dev, FENCEBUF_IOC_GET_INFO, &info));
	EXPECT_EQ(FENCEBUF_INFO_MEMORY_ENABLED, info.flags);
	EXPECT_EQ(6u, info.num_regions);
	EXPECT_EQ(256u, info.max_ranges);
	EXPECT_EQ(0u, info.num_buffers);
	EXPECT_EQ(2u, info.regions[2].index);
	EXPECT_EQ((__u64)4 << 20, info.regions[2].size);
	EXPECT_EQ(FENCEBUF_REGION_EXPORTABLE | FENCEBUF_REGION_PREFETCH | FENCEBUF_REGION_MEM64,
		  info.regions[2].flags);
	/* ivshmem-plain: BAR0 is registers (memory), BAR1 is absent. */
	EXPECT_EQ(FENCEBUF_REGION_EXPORTABLE, info.regions[0].flags & FENCEBUF_REGION_EXPORTABLE);
	EXPECT_EQ(0u, info.regions[1].size);
	EXPECT_EQ(0u, info.regions[1].flags);
}

/*
 * CPU mappings of a prefetchable BAR are write-combined: on x86 with PAT a
 * page gets the memory type reserved for its address, not the VMA's, so
 * the BAR's range must be reserved write-combining (else: uncached).
 */
TEST_F(exporter, prefetchable_bar_is_reserved_write_combining)
{
	unsigned long long start = 0, end = 0, flags;
	char line[256], want[96];
	bool found = false;
	FILE *f;
	int i;

	f = fopen("/sys/bus/pci/devices/" FB_PCI_ADDR "/resource", "r");
	ASSERT_NE(NULL, f);
	for (i = 0; i <= FB_BAR && fgets(line, sizeof(line), f); i++)
		ASSERT_EQ(3, sscanf(line, "%llx %llx %llx", &start, &end, &flags));
	fclose(f);
	ASSERT_NE(0ull, start);
	f = fopen("/sys/kernel/debug/x86/pat_memtype_list", "r");
	if (!f)
		SKIP(return, "no x86 PAT memory type list: %s", strerror(errno));
	snprintf(want, sizeof(want), "[mem 0x%016llx-0x%016llx] write-combining", start, end + 1);
	while (fgets(line, sizeof(line), f))
		found = found || strstr(line, want);
	fclose(f);
	EXPECT_TRUE(found) TH_LOG("no \"%s\" in pat_memtype_list", want);
}

TEST_F(exporter, export_mmap_write_read)
{
	struct fencebuf_info info;
	uint8_t *p;
	int fd, i;

	fd = fb_export(self->dev, 0, 16 * FB_PAGE);
	ASSERT_GE(fd, 0) TH_LOG("export: %s", strerror(-fd));
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(16 * FB_PAGE, lseek(fd, 0, SEEK_END));
	ASSERT_EQ(0, ioctl(self->dev, FENCEBUF_IOC_GET_INFO, &info));
	EXPECT_EQ(1u, info.num_buffers);
	p = mmap(NULL, 16 * FB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < 16 * FB_PAGE; i++)
		p[i] = i * 31 + 1;
	for (i = 0; i < 16 * FB_PAGE; i++)
		if (p[i] != (uint8_t)(i * 31 + 1))
			break;
	EXPECT_EQ(16 * FB_PAGE, i);
	munmap(p, 16 * FB_PAGE);
	close(fd);
}

TEST_F(exporter, host_pattern_reaches_the_guest)
{
	uint8_t *p;
	int fd, i;

	ASSERT_EQ(0, fb_host_request(self->dev, "fill"));
	fd = fb_export(self->dev, FB_HOST_OFF, FB_PATTERN_LEN);
	ASSERT_GE(fd, 0);
	p = mmap(NULL, FB_PATTERN_LEN, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < FB_PATTERN_LEN; i++)
		if (p[i] != (uint8_t)(i * 7 + 3))
			break;
	EXPECT_EQ(FB_PATTERN_LEN, i) TH_LOG("byte %d is %#x", i, p[i]);
	munmap(p, FB_PATTERN_LEN);
	close(fd);
}

TEST_F(exporter, guest_pattern_for_the_host)
{
	uint8_t *p;
	int fd, i;

	fd = fb_export(self->dev, FB_GUEST_OFF, FB_PATTERN_LEN);
	ASSERT_GE(fd, 0);
	p = mmap(NULL, FB_PATTERN_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < FB_PATTERN_LEN; i++)
		p[i] = i * 13 + 5;
	munmap(p, FB_PATTERN_LEN);
	close(fd);
	/* 0: every byte reached the host's file; else the first wrong one + 1. */
	EXPECT_EQ(0, fb_host_request(self->dev, "verify"));
}

TEST_F(exporter, ranges_are_concatenated)
{
	struct fencebuf_range r[2] = {
		{ .offset = 0x30000, .length = FB_PAGE },
		{ .offset = 0x10000, .length = 2 * FB_PAGE },
	};
	uint8_t *p, *q;
	int fd, one;

	fd = fb_export_ranges(self->dev, FB_BAR, 0, r, 2);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(3 * FB_PAGE, lseek(fd, 0, SEEK_END));
	one = fb_export(self->dev, 0x10000, 2 * FB_PAGE);
	ASSERT_GE(one, 0);
	p = mmap(NULL, 3 * FB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	q = mmap(NULL, 2 * FB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, one, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_NE(MAP_FAILED, q);
	/* Buffer page 1 is BAR offset 0x10000, page 2 is 0x11000. */
	p[FB_PAGE + 5] = 0x5a;
	p[2 * FB_PAGE + 7] = 0xa5;
	EXPECT_EQ(0x5a, q[5]);
	EXPECT_EQ(0xa5, q[FB_PAGE + 7]);
	/* An offset mapping starts at that page of the buffer. */
	munmap(q, 2 * FB_PAGE);
	q = mmap(NULL, FB_PAGE, PROT_READ, MAP_SHARED, fd, FB_PAGE);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(0x5a, q[5]);
	munmap(q, FB_PAGE);
	munmap(p, 3 * FB_PAGE);
	close(one);
	close(fd);
}

TEST_F(exporter, memory_off_revokes_with_sigbus_and_on_restores)
{
	struct fencebuf_info info;
	uint8_t *p, v = 0;
	int fd;

	fd = fb_export(self->dev, 0, 2 * FB_PAGE);
	ASSERT_GE(fd, 0);
	p = mmap(NULL, 2 * FB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, fb_touch(p, 1, 0x42, NULL));

	EXPECT_EQ(1, fb_memory_decode_bit(FB_PCI_ADDR));
	ASSERT_EQ(0, fb_memory(self->dev, 0));
	ASSERT_EQ(0, ioctl(self->dev, FENCEBUF_IOC_GET_INFO, &info));
	EXPECT_EQ(0u, info.flags & FENCEBUF_INFO_MEMORY_ENABLED);
	EXPECT_EQ(0, fb_memory_decode_bit(FB_PCI_ADDR));	/* PCI_COMMAND really changed */
	/* The page touched before is zapped; the untouched one faults too. */
	EXPECT_EQ(SIGBUS, fb_touch(p, 0, 0, NULL));
	EXPECT_EQ(SIGBUS, fb_touch(p + FB_PAGE, 1, 1, NULL));
	EXPECT_EQ(0, fb_memory(self->dev, 0)); /* idempotent */

	ASSERT_EQ(0, fb_memory(self->dev, 1));
	EXPECT_EQ(1, fb_memory_decode_bit(FB_PCI_ADDR));
	EXPECT_EQ(0, fb_touch(p, 0, 0, &v));
	EXPECT_EQ(0x42, v);
	EXPECT_EQ(0, fb_touch(p + FB_PAGE, 1, 1, NULL));
	munmap(p, 2 * FB_PAGE);
	close(fd);
}

/*
 * Decoding cleared behind fencebuf's back (setpci, a VMM writing config
 * space): memory off still revokes every buffer, and on restores decoding.
 */
TEST_F(exporter, memory_off_when_decoding_was_already_off)
{
	uint8_t *p;
	int fd;

	fd = fb_export(self->dev, 0, FB_PAGE);
	ASSERT_GE(fd, 0);
	p = mmap(NULL, FB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, fb_touch(p, 1, 0x17, NULL));
	ASSERT_EQ(0, set_memory_decode_bit(0));
	ASSERT_EQ(0, fb_memory_decode_bit(FB_PCI_ADDR));
	ASSERT_EQ(0, fb_memory(self->dev, 0));
	EXPECT_EQ(0, fb_memory_decode_bit(FB_PCI_ADDR));
	EXPECT_EQ(SIGBUS, fb_touch(p, 0, 0, NULL));
	ASSERT_EQ(0, fb_memory(self->dev, 1));
	EXPECT_EQ(1, fb_memory_decode_bit(FB_PCI_ADDR));
	EXPECT_EQ(0, fb_touch(p, 0, 0, NULL));
	munmap(p, FB_PAGE);
	close(fd);
}

/*
 * Decoding turned off behind fencebuf's back while it is on: memory on
 * turns it on again rather than trusting its own state.
 */
TEST_F(exporter, memory_on_when_decoding_was_turned_off_behind_its_back)
{
	struct fencebuf_info info;

	ASSERT_EQ(0, set_memory_decode_bit(0));
	ASSERT_EQ(0, fb_memory(self->dev, 1));
	EXPECT_EQ(1, fb_memory_decode_bit(FB_PCI_ADDR));
	ASSERT_EQ(0, ioctl(self->dev, FENCEBUF_IOC_GET_INFO, &info));
	EXPECT_NE(0u, info.flags & FENCEBUF_INFO_MEMORY_ENABLED);
}

/*
 * The device and fencebuf agree: decoding is @on in config space and in
 * GET_INFO, and the mapping @p faults (off) or reads @want (on).
 */
static void expect_decoding(struct __test_metadata *_metadata, int dev, uint8_t *p, int on,
			    uint8_t want)
{
	struct fencebuf_info info;
	uint8_t v = 0;

	EXPECT_EQ(on, fb_memory_decode_bit(FB_PCI_ADDR));
	ASSERT_EQ(0, ioctl(dev, FENCEBUF_IOC_GET_INFO, &info));
	EXPECT_EQ(on ? FENCEBUF_INFO_MEMORY_ENABLED : 0,
		  info.flags & FENCEBUF_INFO_MEMORY_ENABLED);
	if (!on) {
		EXPECT_EQ(SIGBUS, fb_touch(p, 0, 0, NULL));
		return;
	}
	EXPECT_EQ(0, fb_touch(p, 0, 0, &v));
	EXPECT_EQ(want, v);
}

#define FAIL_CONFIG_WRITE "/sys/kernel/debug/fencebuf/fail_config_write/"

/* Fails the next write of the command register (fencebuf's own point). */
static int fail_next_config_write(void)
{
	static const char *const files[][2] = {
		{ FAIL_CONFIG_WRITE "verbose", "0" },
		{ FAIL_CONFIG_WRITE "interval", "1" },
		{ FAIL_CONFIG_WRITE "probability", "100" },
		{ FAIL_CONFIG_WRITE "times", "1" },
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (fb_write_file(files[i][0], files[i][1]))
			return -1;
	return 0;
}

/*
 * The device does not take the write of its command register: the buffers
 * end as it decodes. Off that fails leaves them usable (decoding is still
 * on); on that fails leaves them revoked.
 */
TEST_F(exporter, failed_config_write_leaves_buffers_as_the_device_decodes)
{
	uint8_t *p;
	int fd;

	if (access(FAIL_CONFIG_WRITE, F_OK))
		SKIP(return, "no %s: the kernel has no CONFIG_FAULT_INJECTION_DEBUG_FS",
		     FAIL_CONFIG_WRITE);
	fd = fb_export(self->dev, 0, FB_PAGE);
	ASSERT_GE(fd, 0);
	p = mmap(NULL, FB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, fb_touch(p, 1, 0x5a, NULL));

	ASSERT_EQ(0, fail_next_config_write());
	EXPECT_EQ(-EIO, fb_memory(self->dev, 0));
	expect_decoding(_metadata, self->dev, p, 1, 0x5a);
	ASSERT_EQ(0, fb_memory(self->dev, 0));	/* the point failed once */
	expect_decoding(_metadata, self->dev, p, 0, 0);

	ASSERT_EQ(0, fail_next_config_write());
	EXPECT_EQ(-EIO, fb_memory(self->dev, 1));
	expect_decoding(_metadata, self->dev, p, 0, 0);
	ASSERT_EQ(0, fb_memory(self->dev, 1));
	expect_decoding(_metadata, self->dev, p, 1, 0x5a);
	munmap(p, FB_PAGE);
	close(fd);
}

#define FB_RESET "/sys/bus/pci/devices/" FB_PCI_ADDR "/reset"

/*
 * A function reset disables the device around the attempt and restores its
 * config space afterwards; fencebuf revokes the buffers before and restores
 * them after (the importer suite sees both): decoding is then as fencebuf
 * left it, on or off, and the buffers agree. The test device's one reset
 * method is a bus reset, which the kernel refuses at reset time because the
 * device shares its bridge (ENOTTY), after the same disable and restore.
 */
TEST_F(exporter, function_reset_leaves_decoding_as_fencebuf_left_it)
{
	uint8_t *p;
	int fd, ret;

	if (access(FB_RESET, F_OK))
		SKIP(return, "%s: no reset method", FB_PCI_ADDR);
	fd = fb_export(self->dev, 0, FB_PAGE);
	ASSERT_GE(fd, 0);
	p = mmap(NULL, FB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, fb_touch(p, 1, 0x66, NULL));

	for (int on = 1; on >= 0; on--) {
		ASSERT_EQ(0, fb_memory(self->dev, on));
		ret = fb_write_file(FB_RESET, "1");
		EXPECT_TRUE(ret == 0 || ret == -ENOTTY) TH_LOG("reset: %s", strerror(-ret));
		printf("# reset with decoding %s: %s\n", on ? "on" : "off",
		       ret ? strerror(-ret) : "done");
		expect_decoding(_metadata, self->dev, p, on, 0x66);
	}
	ASSERT_EQ(0, fb_memory(self->dev, 1));
	expect_decoding(_metadata, self->dev, p, 1, 0x66);
	munmap(p, FB_PAGE);
	close(fd);
}

TEST_F(exporter, export_while_memory_off_is_revoked_until_on)
{
	uint8_t *p;
	int fd;

	ASSERT_EQ(0, fb_memory(self->dev, 0));
	fd = fb_export(self->dev, 0, FB_PAGE);
	ASSERT_GE(fd, 0);
	p = mmap(NULL, FB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(SIGBUS, fb_touch(p, 0, 0, NULL));
	ASSERT_EQ(0, fb_memory(self->dev, 1));
	EXPECT_EQ(0, fb_touch(p, 0, 0, NULL));
	munmap(p, FB_PAGE);
	close(fd);
}

TEST_F(exporter, reuse_returns_the_live_buffer)
{
	struct fencebuf_range r = { .offset = 0x40000, .length = FB_PAGE };
	struct fencebuf_export e;
	struct stat a, b, c;
	int f1, f2, f3;

	f1 = fb_export_ranges(self->dev, FB_BAR, FENCEBUF_EXPORT_REUSE, &r, 1);
	f2 = fb_export_ranges(self->dev, FB_BAR, FENCEBUF_EXPORT_REUSE, &r, 1);
	r.length = 2 * FB_PAGE;
	f3 = fb_export_ranges(self->dev, FB_BAR, FENCEBUF_EXPORT_REUSE, &r, 1);
	ASSERT_GE(f1, 0);
	ASSERT_GE(f2, 0);
	ASSERT_GE(f3, 0);
	ASSERT_EQ(0, fstat(f1, &a));
	ASSERT_EQ(0, fstat(f2, &b));
	ASSERT_EQ(0, fstat(f3, &c));
	EXPECT_NE(f1, f2);
	EXPECT_EQ(a.st_ino, b.st_ino);	/* one buffer, two fds */
	EXPECT_NE(a.st_ino, c.st_ino);	/* other ranges, other buffer */
	close(f3);
	/* The same ranges read-only: another buffer, never a wider one. */
	r.length = FB_PAGE;
	e = (struct fencebuf_export){ .region = FB_BAR, .open_flags = O_RDONLY,
				      .flags = FENCEBUF_EXPORT_REUSE, .nr_ranges = 1,
				      .ranges = (__u64)(uintptr_t)&r };
	ASSERT_EQ(0, ioctl(self->dev, FENCEBUF_IOC_EXPORT, &e));
	f3 = e.fd;
	ASSERT_EQ(0, fstat(f3, &c));
	EXPECT_NE(a.st_ino, c.st_ino);
	EXPECT_EQ(O_RDONLY, fcntl(f3, F_GETFL) & O_ACCMODE);
	close(f1);
	close(f2);
	close(f3);
}

/* EXPORT with the reuse flag: the buffer's inode number (0: failed); its fd in *fd. */
static ino_t export_reusing(int dev, const struct fencebuf_range *r, __u32 n, int *fd)
{
	struct stat st;

	*fd = fb_export_ranges(dev, FB_BAR, FENCEBUF_EXPORT_REUSE, r, n);
	return *fd >= 0 && !fstat(*fd, &st) ? st.st_ino : 0;
}

/* Several ranges: the same list in the same order is the same buffer. */
TEST_F(exporter, reuse_compares_every_range_in_order)
{
	struct fencebuf_range two[2] = {
		{ .offset = 0x50000, .length = FB_PAGE },
		{ .offset = 0x60000, .length = FB_PAGE },
	};
	const struct fencebuf_range one = { .offset = 0x50000, .length = 2 * FB_PAGE };
	const struct fencebuf_range swapped[2] = { two[1], two[0] };
	const struct fencebuf_range three[3] = { two[0], two[1], { 0x70000, FB_PAGE } };
	const struct fencebuf_range elsewhere = { .offset = 0x70000, .length = 2 * FB_PAGE };
	ino_t ino[6];
	int fd[6], i, j;

	ino[0] = export_reusing(self->dev, two, 2, &fd[0]);
	ino[1] = export_reusing(self->dev, two, 2, &fd[1]);
	/*
	 * Each of these differs from every live buffer: one range of the same
	 * size, the same ranges in the other order, one range more, one range
	 * at another address.
	 */
	ino[2] = export_reusing(self->dev, &one, 1, &fd[2]);
	ino[3] = export_reusing(self->dev, swapped, 2, &fd[3]);
	ino[4] = export_reusing(self->dev, three, 3, &fd[4]);
	ino[5] = export_reusing(self->dev, &elsewhere, 1, &fd[5]);
	for (i = 0; i < 6; i++)
		ASSERT_NE(0u, ino[i]) TH_LOG("export %d", i);
	EXPECT_EQ(ino[0], ino[1]);
	for (i = 1; i < 6; i++)
		for (j = i + 1; j < 6; j++)
			EXPECT_NE(ino[i], ino[j]) TH_LOG("exports %d and %d", i, j);
	for (i = 0; i < 6; i++)
		close(fd[i]);
}

/* Each bad EXPORT: its errno, and no fd left behind. */
TEST_F(exporter, export_bad_inputs)
{
	struct fencebuf_range big[257];
	struct fencebuf_range r = { .offset = 0, .length = FB_PAGE };
	struct fencebuf_export e;
	int before = fb_count_fds(), i;
	struct fencebuf_range *last;
	void *ro, *edge;

	for (i = 0; i < 257; i++)
		big[i] = r;
/* Designated overrides of the defaults are the point here. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
#define EXPECT_EXPORT(err, ...) do {						\
		struct fencebuf_export x = { .region = FB_BAR, .open_flags = O_RDWR,	\
			.nr_ranges = 1, .ranges = (__u64)(uintptr_t)&r, __VA_ARGS__ };	\
		EXPECT_EQ(-1, ioctl(self->dev, FENCEBUF_IOC_EXPORT, &x));		\
		EXPECT_EQ(err, errno);							\
	} while (0)
	EXPECT_EXPORT(EINVAL, .nr_ranges = 0);
	EXPECT_EXPORT(E2BIG, .nr_ranges = 257, .ranges = (__u64)(uintptr_t)big);
	EXPECT_EXPORT(EINVAL, .flags = 2);
	EXPECT_EXPORT(EINVAL, .pad = 1);
	EXPECT_EXPORT(EINVAL, .open_flags = O_WRONLY);
	EXPECT_EXPORT(EINVAL, .open_flags = O_RDWR | O_NONBLOCK);
	EXPECT_EXPORT(ENODEV, .region = 1);	/* absent */
	EXPECT_EXPORT(ENODEV, .region = 6);
	EXPECT_EXPORT(ENODEV, .region = ~0u);
	EXPECT_EXPORT(EFAULT, .ranges = 0);
	/* The second range is past the end of mapped memory. */
	edge = mmap(NULL, 2 * FB_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, edge);
	ASSERT_EQ(0, munmap((char *)edge + FB_PAGE, FB_PAGE));
	last = (struct fencebuf_range *)((char *)edge + FB_PAGE) - 1;
	*last = r;
	EXPECT_EXPORT(EFAULT, .ranges = (__u64)(uintptr_t)last, .nr_ranges = 2);
	munmap(edge, FB_PAGE);
	r.length = 0;
	EXPECT_EXPORT(EINVAL);
	r.length = 100;
	EXPECT_EXPORT(EINVAL);
	r.offset = 1, r.length = FB_PAGE;
	EXPECT_EXPORT(EINVAL);
	r.offset = 4 << 20;			/* just past the BAR */
	EXPECT_EXPORT(EINVAL);
	r.offset = (4u << 20) - FB_PAGE, r.length = 2 * FB_PAGE;
	EXPECT_EXPORT(EINVAL);
	r.offset = -(__u64)FB_PAGE, r.length = 2 * FB_PAGE;	/* wraps */
	EXPECT_EXPORT(EOVERFLOW);
	r.offset = 0, r.length = FB_PAGE;
	/* BAR0 (256 bytes of registers) is smaller than a page. */
	EXPECT_EXPORT(EINVAL, .region = 0);
	EXPECT_EQ(-1, ioctl(self->dev, FENCEBUF_IOC_EXPORT, NULL));
	EXPECT_EQ(EFAULT, errno);

	/* The result cannot be written back: EFAULT, and the fd is not leaked. */
	ro = mmap(NULL, FB_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	e = (struct fencebuf_export){ .region = FB_BAR, .open_flags = O_RDWR, .nr_ranges = 1,
				      .ranges = (__u64)(uintptr_t)&r };
	memcpy(ro, &e, sizeof(e));
	ASSERT_EQ(0, mprotect(ro, FB_PAGE, PROT_READ));
	EXPECT_EQ(-1, ioctl(self->dev, FENCEBUF_IOC_EXPORT, ro));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, FB_PAGE);
	EXPECT_EQ(before, fb_count_fds());
#undef EXPECT_EXPORT
#pragma GCC diagnostic pop
}

/* No fd number left: EMFILE, and no buffer is left behind. */
TEST_F(exporter, no_free_fd_is_emfile_and_leaves_no_buffer)
{
	int before = fb_count_fds(), fd;
	struct fencebuf_info info;
	struct rlimit old;

	ASSERT_GT(before, 0);
	ASSERT_EQ(0, fb_no_free_fd(&old));
	fd = fb_export(self->dev, 0, FB_PAGE);
	ASSERT_EQ(0, fb_restore_fds(&old));
	EXPECT_EQ(-EMFILE, fd);
	EXPECT_EQ(before, fb_count_fds());
	ASSERT_EQ(0, ioctl(self->dev, FENCEBUF_IOC_GET_INFO, &info));
	EXPECT_EQ(0u, info.num_buffers);
	fd = fb_export(self->dev, 0, FB_PAGE);
	ASSERT_GE(fd, 0) TH_LOG("export: %s", strerror(-fd));
	close(fd);
}

TEST_F(exporter, other_bad_inputs)
{
	__u32 two = 2;
	int fd;
	void *p;

	EXPECT_EQ(-1, ioctl(self->dev, FENCEBUF_IOC_MEMORY_ENABLE, &two));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->dev, FENCEBUF_IOC_MEMORY_ENABLE, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->dev, FENCEBUF_IOC_GET_INFO, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->dev, _IO('F', 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
	fd = fb_export(self->dev, 0, FB_PAGE);
	ASSERT_GE(fd, 0);
	/* A private (copy-on-write) mapping of device memory is refused. */
	p = mmap(NULL, FB_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	/* Beyond the buffer. */
	p = mmap(NULL, 2 * FB_PAGE, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	p = mmap(NULL, FB_PAGE, PROT_READ, MAP_SHARED, fd, FB_PAGE);
	EXPECT_EQ(MAP_FAILED, p);
	close(fd);
}

TEST_F(exporter, fdinfo_shows_the_device)
{
	char path[64], buf[256];
	int fd = fb_export(self->dev, 0, FB_PAGE);

	ASSERT_GE(fd, 0);
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", self->dev);
	ASSERT_EQ(0, fb_read_file(path, buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "device:\t" FB_PCI_ADDR "\n"));
	EXPECT_NE(NULL, strstr(buf, "memory:\ton\n"));
	EXPECT_NE(NULL, strstr(buf, "buffers:\t1\n"));
	close(fd);
}

TEST_F(exporter, revoke_waits_for_the_buffers_fences)
{
	int tl, fence, buf, status;
	pid_t child;

	tl = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
	ASSERT_GE(tl, 0);
	fence = fb_create(tl, 1);
	ASSERT_GE(fence, 0);
	buf = fb_export(self->dev, 0, FB_PAGE);
	ASSERT_GE(buf, 0);
	ASSERT_EQ(0, fb_import_fence(buf, fence));

	child = fork();
	ASSERT_GE(child, 0);
	if (child == 0)
		_exit(fb_memory(self->dev, 0) ? 1 : 0);
	/* Held back by the fence... */
	usleep(500 * 1000);
	EXPECT_EQ(0, waitpid(child, &status, WNOHANG));
	/* ...until it signals. */
	ASSERT_EQ(0, fb_inc(tl, 1));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(buf);
	close(fence);
	close(tl);
}

TEST_F(exporter, revoke_proceeds_after_the_timeout)
{
	int tl, fence, buf;
	double t0, dt;
	uint8_t *p;

	close(self->dev);
	ASSERT_EQ(0, fb_unload());
	ex_load(_metadata, self, "revoke_timeout_ms=700");
	tl = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
	ASSERT_GE(tl, 0);
	fence = fb_create(tl, 1);
	buf = fb_export(self->dev, 0, FB_PAGE);
	ASSERT_GE(buf, 0);
	p = mmap(NULL, FB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, fb_import_fence(buf, fence));
	t0 = fb_now_s();
	ASSERT_EQ(0, fb_memory(self->dev, 0));
	dt = fb_now_s() - t0;
	EXPECT_GE(dt, 0.6);
	EXPECT_LT(dt, 5.0);
	EXPECT_EQ(SIGBUS, fb_touch(p, 0, 0, NULL));
	munmap(p, FB_PAGE);
	close(buf);
	close(fence);
	close(tl);
}

/*
 * Ten buffers, each held back by a fence that never signals: the revoke
 * takes about one timeout, not one per buffer (every wait of a revoke
 * shares one deadline).
 */
TEST_F(exporter, revoke_takes_one_timeout_however_many_buffers)
{
	int tl, fence, buf[10], i;
	double t0, dt;

	close(self->dev);
	ASSERT_EQ(0, fb_unload());
	ex_load(_metadata, self, "revoke_timeout_ms=300");
	tl = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
	ASSERT_GE(tl, 0);
	fence = fb_create(tl, 1);
	ASSERT_GE(fence, 0);
	for (i = 0; i < 10; i++) {
		buf[i] = fb_export(self->dev, (__u64)i * FB_PAGE, FB_PAGE);
		ASSERT_GE(buf[i], 0);
		ASSERT_EQ(0, fb_import_fence(buf[i], fence));
	}
	t0 = fb_now_s();
	ASSERT_EQ(0, fb_memory(self->dev, 0));
	dt = fb_now_s() - t0;
	/* One timeout is 0.3 s; one per buffer would be 3 s. */
	EXPECT_GE(dt, 0.25);
	EXPECT_LT(dt, 1.5) TH_LOG("revoke of 10 buffers took %.2f s", dt);
	ASSERT_EQ(0, fb_inc(tl, 1));
	for (i = 0; i < 10; i++)
		close(buf[i]);
	close(fence);
	close(tl);
}

static void on_sigusr1(int sig)
{
	(void)sig;
}

/*
 * A signal does not cut a revoke short: the revoking task, signalled while
 * it waits for a fence, still waits until the deadline before memory
 * decoding goes off, and the ioctl succeeds.
 */
TEST_F(exporter, signal_does_not_shorten_a_revoke)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	int tl, fence, buf, status, pipefd[2];
	double dt;
	pid_t child;

	close(self->dev);
	ASSERT_EQ(0, fb_unload());
	ex_load(_metadata, self, "revoke_timeout_ms=1500");
	tl = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
	ASSERT_GE(tl, 0);
	fence = fb_create(tl, 1);
	buf = fb_export(self->dev, 0, FB_PAGE);
	ASSERT_GE(buf, 0);
	ASSERT_EQ(0, fb_import_fence(buf, fence));
	ASSERT_EQ(0, pipe(pipefd));
	child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		double t0;
		int ret;

		sigaction(SIGUSR1, &sa, NULL);
		t0 = fb_now_s();
		ret = fb_memory(self->dev, 0);
		dt = fb_now_s() - t0;
		if (write(pipefd[1], &dt, sizeof(dt)) != sizeof(dt))
			_exit(2);
		_exit(ret ? 1 : 0);
	}
	/* Signalled again and again while it waits. */
	for (int i = 0; i < 10; i++) {
		usleep(100 * 1000);
		kill(child, SIGUSR1);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_EQ((ssize_t)sizeof(dt), read(pipefd[0], &dt, sizeof(dt)));
	EXPECT_GE(dt, 1.4) TH_LOG("the revoke ended after %.2f s", dt);
	EXPECT_EQ(0, fb_memory_decode_bit(FB_PCI_ADDR));
	close(pipefd[0]);
	close(pipefd[1]);
	ASSERT_EQ(0, fb_inc(tl, 1));
	close(buf);
	close(fence);
	close(tl);
}

/* An O_RDONLY export maps shared and read-only, and never writable. */
TEST_F(exporter, read_only_export_maps_read_only)
{
	struct fencebuf_range r = { .offset = 0x80000, .length = 2 * FB_PAGE };
	struct fencebuf_export e = { .region = FB_BAR, .open_flags = O_RDONLY | O_CLOEXEC,
				     .nr_ranges = 1, .ranges = (__u64)(uintptr_t)&r };
	uint8_t *w, *p, got;
	int rw;

	rw = fb_export(self->dev, r.offset, r.length);
	ASSERT_GE(rw, 0);
	w = mmap(NULL, r.length, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0);
	ASSERT_NE(MAP_FAILED, w);
	ASSERT_EQ(0, fb_touch(w + FB_PAGE, 1, 0x5a, NULL));
	ASSERT_EQ(0, ioctl(self->dev, FENCEBUF_IOC_EXPORT, &e));
	p = mmap(NULL, r.length, PROT_READ, MAP_SHARED, e.fd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap of an O_RDONLY export: %s", strerror(errno));
	EXPECT_EQ(0, fb_touch(p + FB_PAGE, 0, 0, &got));
	EXPECT_EQ(0x5a, got);
	/* Never writable: not at mmap, not through mprotect. */
	EXPECT_EQ(-1, mprotect(p, r.length, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(SIGSEGV, fb_touch(p, 1, 1, NULL));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, r.length, PROT_READ | PROT_WRITE, MAP_SHARED, e.fd, 0));
	EXPECT_EQ(EACCES, errno);
	/* A private (copy-on-write) mapping of I/O memory is refused. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, r.length, PROT_READ, MAP_PRIVATE, e.fd, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, r.length, PROT_READ, MAP_PRIVATE, rw, 0));
	EXPECT_EQ(EINVAL, errno);
	/* Revoked like any other. */
	ASSERT_EQ(0, fb_memory(self->dev, 0));
	EXPECT_EQ(SIGBUS, fb_touch(p, 0, 0, NULL));
	ASSERT_EQ(0, fb_memory(self->dev, 1));
	munmap(p, r.length);
	munmap(w, r.length);
	close(e.fd);
	close(rw);
}

TEST_F(exporter, unbind_revokes_for_good_and_rebind_works)
{
	struct fencebuf_info info;
	uint8_t *p;
	int fd, dev2, fd2;

	fd = fb_export(self->dev, 0, FB_PAGE);
	ASSERT_GE(fd, 0);
	p = mmap(NULL, FB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, fb_touch(p, 1, 7, NULL));

	ASSERT_EQ(0, unbind_write(FB_DRIVER_DIR "/unbind"));
	EXPECT_EQ(-1, access(FB_EXPORTER_DEV, F_OK));
	EXPECT_EQ(SIGBUS, fb_touch(p, 0, 0, NULL));
	EXPECT_EQ(-ENODEV, fb_export(self->dev, 0, FB_PAGE));
	EXPECT_EQ(-ENODEV, fb_memory(self->dev, 1));
	EXPECT_EQ(-1, ioctl(self->dev, FENCEBUF_IOC_GET_INFO, &info));
	EXPECT_EQ(ENODEV, errno);
	/* Module unload waits for the buffer: it holds the module. */
	EXPECT_EQ(-EWOULDBLOCK, fb_unload());

	ASSERT_EQ(0, unbind_write(FB_DRIVER_DIR "/bind"));
	dev2 = open(FB_EXPORTER_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_GE(dev2, 0);
	/* The old buffer stays revoked; new ones work. */
	EXPECT_EQ(SIGBUS, fb_touch(p, 0, 0, NULL));
	fd2 = fb_export(dev2, 0, FB_PAGE);
	ASSERT_GE(fd2, 0);
	munmap(p, FB_PAGE);
	p = mmap(NULL, FB_PAGE, PROT_READ, MAP_SHARED, fd2, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, fb_touch(p, 0, 0, NULL));
	munmap(p, FB_PAGE);
	close(fd2);
	close(dev2);
	close(fd);
}

TEST_F(exporter, rmmod_is_refused_while_a_buffer_lives)
{
	int fd = fb_export(self->dev, 0, FB_PAGE);

	ASSERT_GE(fd, 0);
	close(self->dev);
	self->dev = -1;
	EXPECT_EQ(-EWOULDBLOCK, fb_unload());
	close(fd);
	EXPECT_EQ(0, fb_unload());
}

/* Any PCI device binds through driver_override, as with vfio-pci. */
#define TESTDEV_OVERRIDE "/sys/bus/pci/devices/" FB_TESTDEV_PCI_ADDR "/driver_override"

TEST_F(exporter, driver_override_binds_another_device)
{
	struct fencebuf_info info;
	int dev;

	ASSERT_EQ(0, fb_write_file(TESTDEV_OVERRIDE, "fencebuf"));
	ASSERT_EQ(0, fb_write_file("/sys/bus/pci/drivers_probe", FB_TESTDEV_PCI_ADDR));
	dev = open("/dev/fencebuf/" FB_TESTDEV_PCI_ADDR, O_RDWR | O_CLOEXEC);
	ASSERT_GE(dev, 0);
	ASSERT_EQ(0, ioctl(dev, FENCEBUF_IOC_GET_INFO, &info));
	/* QEMU's PCI test device: BAR0 memory, BAR1 I/O ports (not exportable). */
	EXPECT_EQ(FENCEBUF_REGION_EXPORTABLE, info.regions[0].flags & FENCEBUF_REGION_EXPORTABLE);
	EXPECT_NE(0u, info.regions[1].size);
	EXPECT_EQ(0u, info.regions[1].flags);
	EXPECT_EQ(-ENODEV, fb_export(dev, 0, FB_PAGE));	/* it has no BAR2 */
	close(dev);
	EXPECT_EQ(0, fb_write_file(FB_DRIVER_DIR "/unbind", FB_TESTDEV_PCI_ADDR));
	EXPECT_EQ(0, fb_write_file(TESTDEV_OVERRIDE, "\n"));
}

TEST_HARNESS_MAIN
