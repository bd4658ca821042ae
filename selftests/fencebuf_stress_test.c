// SPDX-License-Identifier: GPL-2.0
/*
 * Race stress on the timeline, bounded in time, on every CPU. Each test
 * runs its threads for FENCEBUF_STRESS_SECONDS (default 5) and checks that
 * every thread made progress and the timeline still works afterwards; the
 * real verdict on memory safety comes from KASAN, lockdep and the refcount
 * checks in the guest's kernel log, which the runner scans.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>

#include "kselftest_harness.h"
#include "fencebuf_test.h"
#include "fencebuf_sync.h"

#define SLOTS 64

struct stress {
	atomic_bool stop;
	atomic_int tl;              /* the current timeline fd, -1 between timelines */
	atomic_uint target;         /* the next seqno to create fences at */
	atomic_int slots[SLOTS];    /* sync_file fds handed between threads */
	atomic_ulong iters[4];
	int epfd;
};

static void init_stress(struct stress *st, int tl)
{
	int i;

	memset(st, 0, sizeof(*st));
	atomic_store(&st->tl, tl);
	atomic_store(&st->target, 1);
	for (i = 0; i < SLOTS; i++)
		atomic_store(&st->slots[i], -1);
}

static void drain_slots(struct stress *st)
{
	int i, fd;

	for (i = 0; i < SLOTS; i++) {
		fd = atomic_exchange(&st->slots[i], -1);
		if (fd >= 0)
			close(fd);
	}
}

/* Seed 004: the last user reference of a pending fence goes away while
 * another CPU signals the timeline. */
static void *create_and_close(void *arg)
{
	struct stress *st = arg;
	int tl = atomic_load(&st->tl);

	while (!atomic_load(&st->stop)) {
		int f = fb_create(tl, atomic_load(&st->target) + 1);

		if (f >= 0) {
			int g = dup(f);

			close(f); /* the pending set's reference is now the only... */
			if (g >= 0)
				close(g); /* ...besides this one, dropped racing INC */
			atomic_fetch_add(&st->iters[0], 1);
		}
	}
	return NULL;
}

static void *inc_loop(void *arg)
{
	struct stress *st = arg;

	while (!atomic_load(&st->stop)) {
		int tl = atomic_load(&st->tl);

		if (tl >= 0 && !fb_inc(tl, 1)) {
			atomic_fetch_add(&st->target, 1);
			atomic_fetch_add(&st->iters[1], 1);
		}
	}
	return NULL;
}

FIXTURE(stress) {
	int tl;
	struct stress st;
};

FIXTURE_SETUP(stress)
{
	if (!fb_loaded())
		ASSERT_EQ(0, fb_load(""));
	self->tl = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->tl, 0);
	init_stress(&self->st, self->tl);
}

FIXTURE_TEARDOWN(stress)
{
	drain_slots(&self->st);
	if (self->tl >= 0)
		close(self->tl);
}

/* After a stress run the timeline must still behave. */
static int timeline_works(int tl)
{
	struct fencebuf_signal s = { 0 };
	char path[64], info[256];
	const char *v;
	uint32_t value;
	int f, ok;

	/* Move far ahead of anything the threads created. */
	if (fb_inc(tl, 1000000))
		return 0;
	f = fb_create(tl, 0);
	if (f < 0)
		return 0;
	close(f);
	/* Where the timeline is: long runs take it past any fixed value. */
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", tl);
	if (fb_read_file(path, info, sizeof(info)) || !(v = strstr(info, "\nvalue:\t")))
		return 0;
	value = strtoul(v + 8, NULL, 10);
	f = fb_create(tl, value + 2000000);
	if (f < 0)
		return 0;
	s.value = value + 2000000;
	ok = fb_status(f) == 0;
	ok = ok && !fb_inc(tl, 0) && fb_status(f) == 0;
	ok = ok && !ioctl(tl, FENCEBUF_IOC_SIGNAL, &s) && fb_status(f) == 1;
	close(f);
	return ok;
}

TEST_F_TIMEOUT(stress, last_put_races_inc, 3600)
{
	void *(*fn[])(void *) = { create_and_close, inc_loop };

	fb_run_threads(2, fn, &self->st, &self->st.stop);
	TH_LOG("created %lu, incremented %lu", atomic_load(&self->st.iters[0]),
	       atomic_load(&self->st.iters[1]));
	EXPECT_GT(atomic_load(&self->st.iters[0]), 0ul);
	EXPECT_GT(atomic_load(&self->st.iters[1]), 0ul);
	EXPECT_TRUE(timeline_works(self->tl));
}

/* Timelines come and go (closing signals -ENOENT) while another thread
 * increments whatever timeline is current and a third closes sync_files. */
static void *timeline_churn(void *arg)
{
	struct stress *st = arg;

	while (!atomic_load(&st->stop)) {
		int tl = open("/dev/sw_sync", O_RDWR | O_CLOEXEC), i;

		if (tl < 0)
			continue;
		atomic_store(&st->tl, tl);
		for (i = 0; i < 8; i++) {
			unsigned long slot = (i * 7 + atomic_load(&st->iters[0])) % SLOTS;
			int f = fb_create(tl, i + 1), old;

			if (f < 0)
				continue;
			old = atomic_exchange(&st->slots[slot], f);
			if (old >= 0)
				close(old);
		}
		atomic_store(&st->tl, -1);
		close(tl);
		atomic_fetch_add(&st->iters[0], 1);
	}
	return NULL;
}

static void *slot_closer(void *arg)
{
	struct stress *st = arg;
	unsigned int i = 0;

	while (!atomic_load(&st->stop)) {
		int fd = atomic_exchange(&st->slots[i++ % SLOTS], -1);

		if (fd >= 0) {
			fb_poll(fd, 0);
			fb_status(fd);
			close(fd);
			atomic_fetch_add(&st->iters[2], 1);
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(stress, close_races_inc_and_file_close, 3600)
{
	void *(*fn[])(void *) = { timeline_churn, inc_loop, slot_closer };

	fb_run_threads(3, fn, &self->st, &self->st.stop);
	TH_LOG("timelines %lu, incs %lu, closes %lu", atomic_load(&self->st.iters[0]),
	       atomic_load(&self->st.iters[1]), atomic_load(&self->st.iters[2]));
	EXPECT_GT(atomic_load(&self->st.iters[0]), 0ul);
	EXPECT_GT(atomic_load(&self->st.iters[2]), 0ul);
	EXPECT_TRUE(timeline_works(self->tl));
}

/* Seed 003: epoll waits on sync_files that other threads close. */
static void *epoll_waiter(void *arg)
{
	struct stress *st = arg;
	struct epoll_event ev[16];

	while (!atomic_load(&st->stop)) {
		if (epoll_wait(st->epfd, ev, 16, 1) >= 0)
			atomic_fetch_add(&st->iters[0], 1);
	}
	return NULL;
}

static void *epoll_adder(void *arg)
{
	struct stress *st = arg;
	unsigned int i = 0;
	int tl = atomic_load(&st->tl);

	while (!atomic_load(&st->stop)) {
		struct epoll_event ev = { .events = EPOLLIN };
		int f = fb_create(tl, atomic_load(&st->target) + 1 + i % 3), old;

		if (f < 0)
			continue;
		ev.data.fd = f;
		epoll_ctl(st->epfd, EPOLL_CTL_ADD, f, &ev);
		/* The closer thread closes it without EPOLL_CTL_DEL. */
		old = atomic_exchange(&st->slots[i++ % SLOTS], f);
		if (old >= 0)
			close(old);
		atomic_fetch_add(&st->iters[3], 1);
	}
	return NULL;
}

TEST_F_TIMEOUT(stress, epoll_races_sync_file_close, 3600)
{
	void *(*fn[])(void *) = { epoll_waiter, inc_loop, slot_closer, epoll_adder };

	self->st.epfd = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_GE(self->st.epfd, 0);
	fb_run_threads(4, fn, &self->st, &self->st.stop);
	TH_LOG("waits %lu, incs %lu, closes %lu, adds %lu", atomic_load(&self->st.iters[0]),
	       atomic_load(&self->st.iters[1]), atomic_load(&self->st.iters[2]),
	       atomic_load(&self->st.iters[3]));
	EXPECT_GT(atomic_load(&self->st.iters[0]), 0ul);
	EXPECT_GT(atomic_load(&self->st.iters[2]), 0ul);
	EXPECT_GT(atomic_load(&self->st.iters[3]), 0ul);
	close(self->st.epfd);
	EXPECT_TRUE(timeline_works(self->tl));
}

/* A waiter's lock-free peek (the fence's .signaled op, reached through
 * SYNC_IOC_FILE_INFO) races FENCEBUF_IOC_SIGNAL with an error. Every fence
 * here fails, so a peek must never see one succeed: a timeline that let
 * waiters see the new value before failing its fences would. */
#define PEEKED 32

static void *error_signaller(void *arg)
{
	struct stress *st = arg;
	int tl = atomic_load(&st->tl);
	uint32_t base = 0;

	while (!atomic_load(&st->stop)) {
		struct fencebuf_signal s = { .value = base + PEEKED, .error = -EIO };
		int f[PEEKED], i;

		for (i = 0; i < PEEKED; i++) {
			f[i] = fb_create(tl, base + 1 + i);
			atomic_store(&st->slots[i], f[i]);
		}
		if (ioctl(tl, FENCEBUF_IOC_SIGNAL, &s))
			atomic_fetch_add(&st->iters[2], 1);
		for (i = 0; i < PEEKED; i++) {
			atomic_store(&st->slots[i], -1);
			if (f[i] < 0 || fb_status(f[i]) != -EIO)
				atomic_fetch_add(&st->iters[2], 1);
			if (f[i] >= 0)
				close(f[i]);
		}
		base += PEEKED;
		atomic_fetch_add(&st->iters[0], 1);
	}
	return NULL;
}

static void *peeker(void *arg)
{
	struct stress *st = arg;
	unsigned int i = 0;

	while (!atomic_load(&st->stop)) {
		int fd = atomic_load(&st->slots[i++ % PEEKED]);

		/* The fd may be closed, or reused for the next round's fence of
		 * the same timeline, by now: any fence found here must fail. */
		if (fd >= 0 && fb_status(fd) == 1)
			atomic_fetch_add(&st->iters[3], 1);
		atomic_fetch_add(&st->iters[1], 1);
	}
	return NULL;
}

TEST_F_TIMEOUT(stress, peek_races_error_signal, 3600)
{
	void *(*fn[])(void *) = { error_signaller, peeker };

	fb_run_threads(2, fn, &self->st, &self->st.stop);
	TH_LOG("rounds %lu, peeks %lu, wrong statuses %lu, successes peeked %lu",
	       atomic_load(&self->st.iters[0]), atomic_load(&self->st.iters[1]),
	       atomic_load(&self->st.iters[2]), atomic_load(&self->st.iters[3]));
	EXPECT_GT(atomic_load(&self->st.iters[0]), 0ul);
	EXPECT_GT(atomic_load(&self->st.iters[1]), 0ul);
	EXPECT_EQ(0ul, atomic_load(&self->st.iters[2]));
	EXPECT_EQ(0ul, atomic_load(&self->st.iters[3]));
	EXPECT_TRUE(timeline_works(self->tl));
}

TEST_HARNESS_MAIN
