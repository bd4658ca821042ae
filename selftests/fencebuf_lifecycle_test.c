// SPDX-License-Identifier: GPL-2.0
/*
 * Lifecycle: the module loaded and unloaded 100 times, with objects that
 * may outlive it (signalled fences) still open, and refused while one that
 * may not (a timeline, a buffer) is; the PCI device unbound and rebound
 * while buffers are mapped and fences pending, some of them in a buffer's
 * reservation object; opens of the exporter node racing unbind and rebind.
 * Every round must leave no fd behind; kmemleak and the
 * kernel log (scanned by the runner) must stay clean.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "fencebuf_test.h"
#include "fencebuf_sync.h"
#include "fencebuf_exporter.h"

#define LOAD_ROUNDS 100
#define BIND_ROUNDS 10

/* Unload fencebuf if loaded, waiting up to 5 s for users to go, then load
 * it with @params. */
static int load(const char *params)
{
	int i;

	for (i = 0; fb_loaded() && fb_unload(); i++) {
		if (i == 50)
			return -EBUSY;
		usleep(100 * 1000);
	}
	return fb_load(params);
}

FIXTURE(lifecycle) {
	int fds0;
};

FIXTURE_SETUP(lifecycle)
{
	self->fds0 = fb_count_fds();
}

FIXTURE_TEARDOWN(lifecycle)
{
	if (fb_loaded())
		fb_unload();
}

/* About 0.5 s a round under TCG with the debug kernel. */
TEST_F_TIMEOUT(lifecycle, load_and_unload_100_times, 600)
{
	int i;

	for (i = 0; i < LOAD_ROUNDS; i++) {
		int tl, pending, done, dev, buf;
		uint8_t *p;

		ASSERT_EQ(0, load(i % 2 ? "max_pending=16" : "")) TH_LOG("round %d", i);
		tl = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
		ASSERT_GE(tl, 0);
		pending = fb_create(tl, 2);
		done = fb_create(tl, 1);
		ASSERT_GE(pending, 0);
		ASSERT_GE(done, 0);
		ASSERT_EQ(0, fb_inc(tl, 1));
		dev = open(FB_EXPORTER_DEV, O_RDWR | O_CLOEXEC);
		ASSERT_GE(dev, 0);
		buf = fb_export(dev, 0, FB_PAGE);
		ASSERT_GE(buf, 0);
		p = mmap(NULL, FB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
		ASSERT_NE(MAP_FAILED, p);
		ASSERT_EQ(0, fb_touch(p, 1, (uint8_t)i, NULL));

		/* Objects that hold the module: unloading is refused. */
		EXPECT_EQ(-EWOULDBLOCK, fb_unload()) TH_LOG("round %d", i);
		munmap(p, FB_PAGE);
		close(buf);
		close(dev);
		EXPECT_EQ(-EWOULDBLOCK, fb_unload()) TH_LOG("round %d: the timeline", i);
		close(tl); /* fails the pending fence with -ENOENT */

		/* Signalled fences do not hold it, and outlive it. */
		ASSERT_EQ(0, fb_unload()) TH_LOG("round %d", i);
		EXPECT_FALSE(fb_loaded());
		EXPECT_EQ(1, fb_status(done));
		EXPECT_EQ(-ENOENT, fb_status(pending));
		EXPECT_EQ(1, fb_poll(pending, 0));
		close(done);
		close(pending);
	}
	EXPECT_EQ(self->fds0, fb_count_fds());
}

TEST_F_TIMEOUT(lifecycle, unbind_and_rebind_with_buffers_mapped_and_fences_pending, 600)
{
	int i;

	/* A short fence wait: the imported pending fence must not hold the
	 * unbind back for long (it is signalled only after). */
	ASSERT_EQ(0, load("revoke_timeout_ms=200"));
	for (i = 0; i < BIND_ROUNDS; i++) {
		int tl, held, free_fence, dev, bufs[3], k, dev2;
		uint8_t *maps[2];
		double t0, dt;

		tl = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
		ASSERT_GE(tl, 0);
		held = fb_create(tl, 1);
		free_fence = fb_create(tl, 2);
		ASSERT_GE(held, 0);
		ASSERT_GE(free_fence, 0);
		dev = open(FB_EXPORTER_DEV, O_RDWR | O_CLOEXEC);
		ASSERT_GE(dev, 0) TH_LOG("round %d", i);
		for (k = 0; k < 3; k++) {
			bufs[k] = fb_export(dev, (__u64)k * FB_PAGE, FB_PAGE);
			ASSERT_GE(bufs[k], 0);
		}
		for (k = 0; k < 2; k++) {
			maps[k] = mmap(NULL, FB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
				       bufs[k], 0);
			ASSERT_NE(MAP_FAILED, maps[k]);
			ASSERT_EQ(0, fb_touch(maps[k], 1, 1, NULL));
		}
		ASSERT_EQ(0, fb_import_fence(bufs[0], held));

		t0 = fb_now_s();
		ASSERT_EQ(0, fb_write_file(FB_DRIVER_DIR "/unbind", FB_PCI_ADDR));
		dt = fb_now_s() - t0;
		/* One bounded fence wait (0.2 s), not an endless one. */
		EXPECT_LT(dt, 3.0) TH_LOG("round %d: unbind took %.2f s", i, dt);
		for (k = 0; k < 2; k++)
			EXPECT_EQ(SIGBUS, fb_touch(maps[k], 0, 0, NULL));
		EXPECT_EQ(-ENODEV, fb_export(dev, 0, FB_PAGE));

		/* The timeline is untouched by the unbind. */
		EXPECT_EQ(0, fb_status(held));
		ASSERT_EQ(0, fb_inc(tl, 2));
		EXPECT_EQ(1, fb_status(held));
		EXPECT_EQ(1, fb_status(free_fence));

		ASSERT_EQ(0, fb_write_file(FB_DRIVER_DIR "/bind", FB_PCI_ADDR));
		dev2 = open(FB_EXPORTER_DEV, O_RDWR | O_CLOEXEC);
		ASSERT_GE(dev2, 0);
		k = fb_export(dev2, 0, FB_PAGE);
		EXPECT_GE(k, 0);
		if (k >= 0)
			close(k);
		/* The old buffers stay revoked after the rebind. */
		EXPECT_EQ(SIGBUS, fb_touch(maps[0], 0, 0, NULL));

		for (k = 0; k < 2; k++)
			munmap(maps[k], FB_PAGE);
		for (k = 0; k < 3; k++)
			close(bufs[k]);
		close(dev);
		close(dev2);
		close(held);
		close(free_fence);
		close(tl);
	}
	EXPECT_EQ(0, fb_unload());
	EXPECT_EQ(self->fds0, fb_count_fds());
}

/* Opens the exporter node, asks it something and closes it, until stopped. */
static void *open_loop(void *arg)
{
	atomic_int *stop = arg;
	struct fencebuf_info info;
	long opens = 0;

	while (!atomic_load(stop)) {
		int dev = open(FB_EXPORTER_DEV, O_RDWR | O_CLOEXEC);

		if (dev < 0)
			continue;
		ioctl(dev, FENCEBUF_IOC_GET_INFO, &info);
		close(dev);
		opens++;
	}
	return (void *)opens;
}

/*
 * Opens racing the unbind that removes the node and the rebind that makes a
 * new one: an open must see a node whose data is there (the fuzzer once
 * caught one reading the previous binding's freed data; KASAN reports it).
 */
TEST_F_TIMEOUT(lifecycle, opens_race_unbind_and_rebind, 600)
{
	atomic_int stop = 0;
	pthread_t t[2];
	long opens = 0;
	void *ret;
	double end;
	int i, rounds = 0;

	ASSERT_EQ(0, load(""));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, open_loop, &stop));
	end = fb_now_s() + stress_seconds();
	while (fb_now_s() < end) {
		ASSERT_EQ(0, fb_write_file(FB_DRIVER_DIR "/unbind", FB_PCI_ADDR));
		ASSERT_EQ(0, fb_write_file(FB_DRIVER_DIR "/bind", FB_PCI_ADDR));
		rounds++;
	}
	atomic_store(&stop, 1);
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], &ret);
		opens += (long)ret;
	}
	TH_LOG("%d rebinds, %ld opens", rounds, opens);
	EXPECT_GT(opens, 0);
	EXPECT_EQ(0, fb_unload());
	EXPECT_EQ(self->fds0, fb_count_fds());
}

TEST_HARNESS_MAIN
