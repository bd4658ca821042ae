// SPDX-License-Identifier: GPL-2.0
/*
 * An importer that mirrors user memory ("userptr", with an MMU interval
 * notifier) meets fencebuf's revoke. The bug class: a driver zaps a user
 * mapping while holding a lock; the zap runs the MMU notifiers of that range;
 * a userptr object aliased over the range (MAP_FIXED) needs the same lock in
 * its notifier, and the zapping thread recurses or deadlocks
 * ("drm/i915/userptr: Avoid struct_mutex recursion for
 * mmu_invalidate_range_start", Nov 2018). fencebuf zaps with only its
 * transition lock held, never the device lock
 * (rust/abstractions/dma_buf/mod.rs, "Lock order"); these tests put
 * notifiers on that zap and check what they see, what they may do there,
 * and that lockdep stays quiet.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <linux/udmabuf.h>

#include "kselftest_harness.h"
#include "fencebuf_test.h"
#include "fencebuf_sync.h"
#include "fencebuf_exporter.h"
#include "fencebuf_importer.h"

/* Away from the areas the host checks (qemu/ivshmem.py). */
#define BUF_OFF (3 << 20)
#define NPAGES 4
#define LEN (NPAGES * FB_PAGE)

/* enum mmu_notifier_event */
#define EV_UNMAP 0
#define EV_CLEAR 1

FIXTURE(userptr) {
	int dev, imp;
	uint8_t *range;
};

FIXTURE_SETUP(userptr)
{
	ASSERT_EQ(0, fb_reload_with_importer());
	self->dev = open(FB_EXPORTER_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->dev, 0);
	self->imp = open(IMP_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->imp, 0) TH_LOG("open %s: %s", IMP_DEV, strerror(errno));
	/* The user memory the importer mirrors: anonymous, touched. */
	self->range = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->range);
	memset(self->range, 0x11, LEN);
}

FIXTURE_TEARDOWN(userptr)
{
	if (self->range != MAP_FAILED)
		munmap(self->range, LEN);
	if (self->imp >= 0)
		close(self->imp);
	if (self->dev >= 0)
		close(self->dev);
	EXPECT_EQ(0, fb_unload_name(IMP_NAME));
	EXPECT_EQ(0, fb_unload());
}

static int up_create(int imp, void *addr, __u64 len, int wait_fd, __u32 wait_ms)
{
	struct fbimp_userptr u = {
		.addr = (__u64)(uintptr_t)addr, .len = len, .wait_fd = wait_fd, .wait_ms = wait_ms,
	};

	return ioctl(imp, FBIMP_IOC_USERPTR, &u) ? -errno : 0;
}

static long up_populate(int imp)
{
	__u64 pages = 0;

	return ioctl(imp, FBIMP_IOC_USERPTR_POPULATE, &pages) ? -errno : (long)pages;
}

/* The status; its log then starts empty again. */
static struct fbimp_userptr_status up_status(int imp)
{
	struct fbimp_userptr_status st;

	memset(&st, 0xff, sizeof(st));
	if (ioctl(imp, FBIMP_IOC_USERPTR_STATUS, &st))
		st.nlog = 0;
	return st;
}

/* Whether the log has an invalidation of @event covering [addr, addr + len). */
static int up_saw(const struct fbimp_userptr_status *st, __u32 event, void *addr, __u64 len)
{
	__u64 a = (__u64)(uintptr_t)addr;
	__u32 i;

	for (i = 0; i < st->nlog && i < FBIMP_USERPTR_LOG; i++)
		if (st->log[i].event == event && st->log[i].start <= a &&
		    st->log[i].end >= a + len && st->log[i].blockable == 1)
			return 1;
	return 0;
}

static void up_print(const struct fbimp_userptr_status *st)
{
	__u32 i;

	for (i = 0; i < st->nlog && i < FBIMP_USERPTR_LOG; i++)
		printf("#   invalidation [%#llx, %#llx) event %u blockable %u\n",
		       (unsigned long long)st->log[i].start, (unsigned long long)st->log[i].end,
		       st->log[i].event, st->log[i].blockable);
}

static __u32 num_buffers(int dev)
{
	struct fencebuf_info info = { 0 };

	return ioctl(dev, FENCEBUF_IOC_GET_INFO, &info) ? ~0u : info.num_buffers;
}

/* A fencebuf buffer of BAR2 mapped over the mirrored range with MAP_FIXED. */
static int map_buffer_over(int dev, void *range, __u64 off)
{
	int buf = fb_export(dev, off, LEN);
	void *p;

	if (buf < 0)
		return buf;
	p = mmap(range, LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, buf, 0);
	close(buf);	/* the mapping holds the buffer */
	return p == range ? 0 : -errno;
}

/* A one-page udmabuf: a dma-buf that is not fencebuf's, to carry fences. */
static int udmabuf_new(void)
{
	struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC, .size = FB_PAGE };
	int memfd, dev, buf;

	memfd = memfd_create("fencebuf-jobs", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (memfd < 0)
		return -errno;
	c.memfd = memfd;
	if (ftruncate(memfd, FB_PAGE) || fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		buf = -errno;
		close(memfd);
		return buf;
	}
	dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		buf = -errno;
	} else {
		buf = ioctl(dev, UDMABUF_CREATE, &c);
		buf = buf < 0 ? -errno : buf;
		close(dev);
	}
	close(memfd);
	return buf;
}

/*
 * The seed's shape, step by step: every step returns, the notifier sees
 * each invalidation with its range, the CPU mapping faults while revoked and
 * works after restore.
 */
TEST_F(userptr, map_fixed_over_userptr_revoke_restore_munmap_unbind)
{
	struct fbimp_userptr_status st;
	uint8_t v = 0;

	ASSERT_EQ(0, up_create(self->imp, self->range, LEN, -1, 0));
	ASSERT_EQ(NPAGES, up_populate(self->imp));
	st = up_status(self->imp);
	EXPECT_EQ(1u, st.mirrored);
	EXPECT_EQ(0u, st.invalidations);
	EXPECT_EQ((__u64)NPAGES, st.pages);

	/* A fencebuf buffer replaces the anonymous pages: an unmap. */
	ASSERT_EQ(0, map_buffer_over(self->dev, self->range, BUF_OFF));
	st = up_status(self->imp);
	up_print(&st);
	EXPECT_TRUE(up_saw(&st, EV_UNMAP, self->range, LEN));
	EXPECT_EQ(0u, st.mirrored);
	/* An I/O mapping has no pages to pin. */
	EXPECT_EQ(-EFAULT, up_populate(self->imp));
	ASSERT_EQ(0, fb_touch(self->range, 1, 0x5a, NULL));

	/* Revoke zaps the buffer's CPU mapping: the notifier runs in it. */
	ASSERT_EQ(0, fb_memory(self->dev, 0));
	st = up_status(self->imp);
	up_print(&st);
	EXPECT_TRUE(up_saw(&st, EV_CLEAR, self->range, LEN));
	EXPECT_EQ(SIGBUS, fb_touch(self->range, 0, 0, NULL));

	/* Restore zaps nothing; the mapping works again. */
	ASSERT_EQ(0, fb_memory(self->dev, 1));
	EXPECT_EQ(0u, up_status(self->imp).nlog);
	ASSERT_EQ(0, fb_touch(self->range, 0, 0, &v));
	EXPECT_EQ(0x5a, v);

	ASSERT_EQ(0, munmap(self->range, LEN));
	st = up_status(self->imp);
	EXPECT_TRUE(up_saw(&st, EV_UNMAP, self->range, LEN));

	/* Mapped over once more, then the device goes away: a zap again. */
	ASSERT_EQ(0, map_buffer_over(self->dev, self->range, BUF_OFF));
	ASSERT_EQ(0, fb_touch(self->range, 0, 0, &v));
	(void)up_status(self->imp);
	ASSERT_EQ(0, fb_write_file(FB_DRIVER_DIR "/unbind", FB_PCI_ADDR));
	st = up_status(self->imp);
	up_print(&st);
	EXPECT_TRUE(up_saw(&st, EV_CLEAR, self->range, LEN));
	EXPECT_EQ(SIGBUS, fb_touch(self->range, 0, 0, NULL));
	ASSERT_EQ(0, fb_write_file(FB_DRIVER_DIR "/bind", FB_PCI_ADDR));
	EXPECT_EQ(0, access(FB_EXPORTER_DEV, F_OK));
	/* The unbound buffer stays revoked for good. */
	EXPECT_EQ(SIGBUS, fb_touch(self->range, 0, 0, NULL));
	EXPECT_EQ(0u, up_status(self->imp).refused);
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_USERPTR_REMOVE));
	/* The device node of the old binding still answers: ENODEV. */
	EXPECT_EQ(~0u, num_buffers(self->dev));
}

/*
 * A notifier drops the last reference of another fencebuf buffer. The drop
 * is an fput(): the buffer is released after the notifier returned, so its
 * release never takes the device lock inside a notifier (lockdep would
 * report the cycle with the allocations made under it).
 */
TEST_F(userptr, notifier_drops_the_last_reference_of_a_buffer)
{
	int other;

	ASSERT_EQ(0, up_create(self->imp, self->range, LEN, -1, 0));
	ASSERT_EQ(0, map_buffer_over(self->dev, self->range, BUF_OFF));
	ASSERT_EQ(0, fb_touch(self->range, 1, 1, NULL));
	other = fb_export(self->dev, BUF_OFF + LEN, LEN);
	ASSERT_GE(other, 0);
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_USERPTR_HOLD, &other));
	EXPECT_EQ(-1, ioctl(self->imp, FBIMP_IOC_USERPTR_HOLD, &other));
	EXPECT_EQ(EBUSY, errno);
	close(other);	/* the notifier's reference is the last one */
	EXPECT_EQ(2u, num_buffers(self->dev));

	/*
	 * During revoke: revoke holds a reference to every buffer until it
	 * has finished, so the notifier's drop is not the last; the buffer is
	 * released when revoke drops its own (an fput() too).
	 */
	ASSERT_EQ(0, fb_memory(self->dev, 0));
	EXPECT_EQ(0u, up_status(self->imp).held);
	EXPECT_EQ(1u, num_buffers(self->dev));	/* released, once */
	ASSERT_EQ(0, fb_memory(self->dev, 1));
	EXPECT_EQ(0, fb_touch(self->range, 0, 0, NULL));

	/* On munmap, under the mmap lock: the notifier's drop is the last. */
	other = fb_export(self->dev, BUF_OFF + LEN, LEN);
	ASSERT_GE(other, 0);
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_USERPTR_HOLD, &other));
	close(other);
	EXPECT_EQ(2u, num_buffers(self->dev));
	ASSERT_EQ(0, munmap(self->range, LEN));
	EXPECT_EQ(0u, up_status(self->imp).held);
	EXPECT_EQ(0u, num_buffers(self->dev));	/* both released, once */
}

struct prober {
	int dev;
	atomic_int stop;
	int calls;
	double max_s;
};

/* EXPORT + close, the device lock's users, timed until told to stop. */
static void *probe_device_lock(void *arg)
{
	struct prober *p = arg;

	while (!atomic_load(&p->stop)) {
		double t = fb_now_s();
		int buf = fb_export(p->dev, BUF_OFF + LEN, FB_PAGE);

		t = fb_now_s() - t;
		if (buf >= 0)
			close(buf);
		p->calls++;
		if (t > p->max_s)
			p->max_s = t;
		usleep(5000);
	}
	return NULL;
}

/*
 * A notifier that waits (bounded) on its jobs' fences during revoke: the
 * revoke finishes within the notifier's bound, and the device lock is free
 * all along (EXPORT from another thread does not wait for the notifier).
 */
TEST_F(userptr, notifier_waits_for_fences_without_the_device_lock)
{
	const __u32 wait_ms = 1000;
	struct prober p = { .dev = self->dev };
	struct fbimp_userptr_status st;
	int jobs, tl, fence;
	pthread_t th;
	double t;

	jobs = udmabuf_new();
	ASSERT_GE(jobs, 0) TH_LOG("udmabuf: %s", strerror(-jobs));
	ASSERT_EQ(0, up_create(self->imp, self->range, LEN, jobs, wait_ms));
	ASSERT_EQ(0, map_buffer_over(self->dev, self->range, BUF_OFF));
	ASSERT_EQ(0, fb_touch(self->range, 1, 1, NULL));
	/* A job that never finishes. */
	tl = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
	ASSERT_GE(tl, 0);
	fence = fb_create(tl, 1);
	ASSERT_GE(fence, 0);
	ASSERT_EQ(0, fb_import_fence(jobs, fence));
	(void)up_status(self->imp);

	ASSERT_EQ(0, pthread_create(&th, NULL, probe_device_lock, &p));
	usleep(50000);
	t = fb_now_s();
	ASSERT_EQ(0, fb_memory(self->dev, 0));
	t = fb_now_s() - t;
	usleep(50000);
	atomic_store(&p.stop, 1);
	pthread_join(th, NULL);

	st = up_status(self->imp);
	printf("# revoke took %.0f ms, the notifier waited %.0f ms; "
	       "meanwhile %d EXPORTs, the slowest %.1f ms\n",
	       t * 1e3, st.max_wait_ns / 1e6, p.calls, p.max_s * 1e3);
	EXPECT_TRUE(up_saw(&st, EV_CLEAR, self->range, LEN));
	EXPECT_EQ(1u, st.wait_timeouts);
	EXPECT_GE(st.max_wait_ns, (wait_ms - 20) * 1000000ull);
	/* Bounded: the notifier's wait plus the revoke's own work. */
	EXPECT_GE(t, wait_ms / 1e3 * 0.98);
	EXPECT_LT(t, wait_ms / 1e3 + 3);
	/* The device lock was not held while the notifier waited. */
	EXPECT_GE(p.calls, 10);
	EXPECT_LT(p.max_s, wait_ms / 1e3 / 4);
	EXPECT_EQ(SIGBUS, fb_touch(self->range, 0, 0, NULL));

	ASSERT_EQ(0, fb_inc(tl, 1));
	ASSERT_EQ(0, fb_memory(self->dev, 1));
	EXPECT_EQ(0, fb_touch(self->range, 0, 0, NULL));
	close(fence);
	close(tl);
	close(jobs);
}

/* VmPin of this process, in kB, from /proc/self/status; -1 if absent. */
static long vm_pin_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/*
 * The mirror's pins last as long as the range stays: long-term pins,
 * charged to the process's pinned memory (VmPin) while they last, and
 * refused over RLIMIT_MEMLOCK without CAP_IPC_LOCK, as RDMA's and VFIO's.
 */
TEST_F(userptr, pins_are_charged_to_the_process)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct caps[2];
	long before = vm_pin_kb();
	int status;
	pid_t child;

	ASSERT_GE(before, 0);
	ASSERT_EQ(0, up_create(self->imp, self->range, LEN, -1, 0));
	ASSERT_EQ(NPAGES, up_populate(self->imp));
	EXPECT_EQ(before + LEN / 1024, vm_pin_kb());
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_USERPTR_REMOVE));
	EXPECT_EQ(before, vm_pin_kb());

	/* Without CAP_IPC_LOCK, one page of RLIMIT_MEMLOCK: ENOMEM, nothing charged. */
	child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		struct rlimit one = { FB_PAGE, FB_PAGE };

		if (syscall(SYS_capget, &hdr, caps))
			_exit(10);
		/* CAP_IPC_LOCK (14) is in the first word. */
		caps[0].effective &= ~(1u << CAP_IPC_LOCK);
		if (syscall(SYS_capset, &hdr, caps) || setrlimit(RLIMIT_MEMLOCK, &one))
			_exit(11);
		if (up_create(self->imp, self->range, LEN, -1, 0))
			_exit(12);
		if (up_populate(self->imp) != -ENOMEM)
			_exit(13);
		_exit(vm_pin_kb() == before ? 0 : 14);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("child exit %d", WEXITSTATUS(status));
}

TEST_F(userptr, bad_inputs_get_clear_errors_and_leak_nothing)
{
	int fds = fb_count_fds(), lowest = fb_lowest_free_fd();
	int other, notbuf;
	__u64 pages;
	pid_t pid;
	int status;

	EXPECT_EQ(-EINVAL, up_populate(self->imp));
	EXPECT_EQ(-1, ioctl(self->imp, FBIMP_IOC_USERPTR_STATUS, &pages));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->imp, FBIMP_IOC_USERPTR_REMOVE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, up_create(self->imp, self->range, 0, -1, 0));
	EXPECT_EQ(-EINVAL, up_create(self->imp, self->range + 1, LEN, -1, 0));
	EXPECT_EQ(-EINVAL, up_create(self->imp, self->range, LEN - 1, -1, 0));
	EXPECT_EQ(-EINVAL,
		  up_create(self->imp, self->range, FBIMP_USERPTR_MAX_LEN + FB_PAGE, -1, 0));
	EXPECT_EQ(-EINVAL, up_create(self->imp, (void *)(uintptr_t)-FB_PAGE, 2 * FB_PAGE, -1, 0));
	EXPECT_EQ(-EINVAL, up_create(self->imp, self->range, LEN, -1, 10001));
	EXPECT_EQ(-EBADF, up_create(self->imp, self->range, LEN, 999, 0));
	notbuf = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_GE(notbuf, 0);
	EXPECT_EQ(-EINVAL, up_create(self->imp, self->range, LEN, notbuf, 0));
	EXPECT_EQ(-1, ioctl(self->imp, 0x1234));
	EXPECT_EQ(ENOTTY, errno);

	ASSERT_EQ(0, up_create(self->imp, self->range, LEN, -1, 0));
	EXPECT_EQ(-EBUSY, up_create(self->imp, self->range, LEN, -1, 0));
	EXPECT_EQ(-1, ioctl(self->imp, FBIMP_IOC_USERPTR_HOLD, &notbuf));
	EXPECT_EQ(EINVAL, errno);
	close(notbuf);
	/* Only the process whose memory it mirrors may pin it. */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(up_populate(self->imp) == -EINVAL ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(NPAGES, up_populate(self->imp));
	/* Nothing mapped there: nothing to pin. */
	ASSERT_EQ(0, munmap(self->range + FB_PAGE, FB_PAGE));
	EXPECT_EQ(-EFAULT, up_populate(self->imp));
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_USERPTR_REMOVE));
	EXPECT_EQ(-EINVAL, up_populate(self->imp));
	EXPECT_EQ(fds, fb_count_fds());
	EXPECT_EQ(lowest, fb_lowest_free_fd());

	/* A reference handed to the notifier is dropped on release, too. */
	ASSERT_EQ(0, up_create(self->imp, self->range, FB_PAGE, -1, 0));
	other = fb_export(self->dev, BUF_OFF, FB_PAGE);
	ASSERT_GE(other, 0);
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_USERPTR_HOLD, &other));
	close(other);
	EXPECT_EQ(1u, num_buffers(self->dev));
	close(self->imp);
	self->imp = -1;
	EXPECT_EQ(0u, num_buffers(self->dev));
}

struct racer {
	int dev, imp;
	uint8_t *range;
	unsigned int seconds;
	atomic_int stop;
	long toggles, remaps, populated, again, faults;
	int err;
};

/* Memory decoding off and on, as fast as revoke allows. */
static void *race_memory(void *arg)
{
	struct racer *r = arg;

	while (!atomic_load(&r->stop)) {
		if (fb_memory(r->dev, 0) || fb_memory(r->dev, 1))
			r->err = r->err ? r->err : -errno;
		r->toggles++;
	}
	return NULL;
}

/* The range changes under the notifier: buffer, anonymous memory, nothing. */
static void *race_remap(void *arg)
{
	struct racer *r = arg;
	unsigned int i = 0;

	while (!atomic_load(&r->stop)) {
		switch (i++ % 3) {
		case 0:
			if (map_buffer_over(r->dev, r->range, BUF_OFF))
				r->err = r->err ? r->err : -EIO;
			/* May be revoked (SIGBUS); mapped just above, so no SIGSEGV. */
			if (fb_touch(r->range, 1, 1, NULL) == SIGSEGV)
				r->err = r->err ? r->err : -EFAULT;
			break;
		case 1:
			if (mmap(r->range, LEN, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != r->range)
				r->err = r->err ? r->err : -errno;
			memset(r->range, 2, LEN);
			break;
		default:
			munmap(r->range, LEN);
			break;
		}
		r->remaps++;
	}
	return NULL;
}

/*
 * Everything at once, on both vCPUs, for FENCEBUF_STRESS_SECONDS: memory
 * toggling (revoke zaps), MAP_FIXED of buffers and anonymous memory over the
 * mirrored range, munmap, and populate. Every call returns; populate ends in
 * pages, EFAULT or a bounded EAGAIN; the device works afterwards.
 */
TEST_F(userptr, race_revoke_remap_populate)
{
	struct racer r = { .dev = self->dev, .imp = self->imp, .range = self->range };
	struct fbimp_userptr_status st;
	pthread_t a, b;
	double end;
	long got;
	int jobs;

	jobs = udmabuf_new();
	ASSERT_GE(jobs, 0);
	ASSERT_EQ(0, up_create(self->imp, self->range, LEN, jobs, 50));
	ASSERT_EQ(0, pthread_create(&a, NULL, race_memory, &r));
	ASSERT_EQ(0, pthread_create(&b, NULL, race_remap, &r));
	end = fb_now_s() + stress_seconds();
	while (fb_now_s() < end) {
		got = up_populate(self->imp);
		if (got == NPAGES)
			r.populated++;
		else if (got == -EAGAIN)
			r.again++;
		else if (got == -EFAULT)
			r.faults++;
		else if (!r.err)
			r.err = (int)got;
	}
	atomic_store(&r.stop, 1);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	st = up_status(self->imp);
	printf("# %ld toggles, %ld remaps; populate: %ld pinned, %ld EFAULT, %ld EAGAIN; "
	       "%u invalidations\n",
	       r.toggles, r.remaps, r.populated, r.faults, r.again, st.invalidations);
	EXPECT_EQ(0, r.err);
	EXPECT_GT(r.toggles, 0);
	EXPECT_GT(r.remaps, 2);
	EXPECT_GT(st.invalidations, 0u);
	EXPECT_EQ(0u, st.refused);
	EXPECT_GT(r.populated + r.faults + r.again, 0);

	/* Everything still works. */
	ASSERT_EQ(0, fb_memory(self->dev, 1));
	ASSERT_EQ(0, map_buffer_over(self->dev, self->range, BUF_OFF));
	EXPECT_EQ(0, fb_touch(self->range, 1, 3, NULL));
	ASSERT_EQ(0, ioctl(self->imp, FBIMP_IOC_USERPTR_REMOVE));
	close(jobs);
}

/*
 * The lock order of rust/abstractions/dma_buf/mod.rs ("Lock order"),
 * outermost first, checked against the dependencies lockdep recorded in
 * this boot: every direct edge between two of these classes goes inward,
 * revoke's zap ran under the transition lock and never under the device
 * lock, and no MMU notifier took a fencebuf lock.
 */
static const char *const lock_order[] = {
	"BufferList::transition", "BufferList::inner", "&mm->mmap_lock",
	"reservation_ww_class_mutex", "Buffer::access",
};
#define N_ORDER (sizeof(lock_order) / sizeof(lock_order[0]))
#define ZAP_LOCK "&mapping->i_mmap_rwsem"
#define NOTIFIER_MAP "mmu_notifier_invalidate_range_start"

/* Whether lockdep's printed class @name is @want (maybe with /subclass or #n). */
static int class_is(const char *name, const char *want)
{
	size_t n = strlen(want);

	return !strncmp(name, want, n) && (!name[n] || strchr("/#", name[n]));
}

static int rank(const char *name)
{
	size_t i;

	for (i = 0; i < N_ORDER; i++)
		if (class_is(name, lock_order[i]))
			return (int)i;
	return -1;
}

/* The class name of a /proc/lockdep line: after the last @sep in it. */
static void class_name(const char *line, const char *sep, char *out, size_t len)
{
	const char *p = NULL, *q;

	for (q = strstr(line, sep); q; q = strstr(q + 1, sep))
		p = q;

	snprintf(out, len, "%s", p ? p + strlen(sep) : "");
	out[strcspn(out, "\n")] = '\0';
}

/*
 * Lockdep forgets a module's lock classes when it is unloaded, so the test
 * walks every path of the order itself, then reads the record while
 * fencebuf is still loaded: a fault, EXPORT, revoke with
 * a notifier on its zap, restore.
 */
TEST_F(userptr, lock_order_matches_what_lockdep_recorded)
{
	int edges = 0, zap_under_transition = 0, fault_edge = 0, bad = 0;
	char line[512], from[256] = "", to[256];
	FILE *f = fopen("/proc/lockdep", "r");
	int buf;

	if (!f)
		SKIP(return, "no /proc/lockdep (a kernel without lockdep)");
	ASSERT_EQ(0, up_create(self->imp, self->range, LEN, -1, 0));
	ASSERT_EQ(0, map_buffer_over(self->dev, self->range, BUF_OFF));
	ASSERT_EQ(0, fb_touch(self->range, 1, 1, NULL));
	buf = fb_export(self->dev, BUF_OFF + LEN, LEN);
	ASSERT_GE(buf, 0);
	ASSERT_EQ(0, fb_memory(self->dev, 0));
	ASSERT_EQ(0, fb_memory(self->dev, 1));
	close(buf);
	EXPECT_TRUE(up_saw((struct fbimp_userptr_status[]){ up_status(self->imp) }, EV_CLEAR,
			   self->range, LEN));
	while (fgets(line, sizeof(line), f)) {
		int r, s;

		if (line[0] != ' ') {
			class_name(line, ": ", from, sizeof(from));
			continue;
		}
		if (strncmp(line, " -> [", 5))
			continue;
		class_name(line, "] ", to, sizeof(to));
		r = rank(from);
		s = rank(to);
		if (class_is(from, NOTIFIER_MAP) && s >= 0) {
			printf("# an MMU notifier took %s\n", to);
			bad++;
		}
		if (r < 0)
			continue;
		if (class_is(to, ZAP_LOCK)) {
			printf("# %s -> %s (a zap)\n", from, to);
			if (r == 0)
				zap_under_transition = 1;
			else if (r == 1)
				bad++;
		}
		if (s < 0)
			continue;
		printf("# %s -> %s\n", from, to);
		edges++;
		/* Equal ranks: the core nesting its own lock (mmap_lock/1). */
		if (s < r)
			bad++;
		if (r == 2 && s == 4)
			fault_edge = 1;
	}
	fclose(f);
	EXPECT_EQ(0, bad);
	EXPECT_TRUE(zap_under_transition);
	EXPECT_TRUE(fault_edge);
	EXPECT_GE(edges, 3);
}

TEST_HARNESS_MAIN
