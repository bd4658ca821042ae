// SPDX-License-Identifier: GPL-2.0
/*
 * The sw_sync ABI of /dev/sw_sync and fencebuf's extensions: every ioctl,
 * every error path, the pending bound and memory cgroup accounting.
 * Each test starts with the module freshly loaded.
 */
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/fencebuf.h>
#include <linux/sync_file.h>

#include "kselftest_harness.h"
#include "fencebuf_test.h"
#include "fencebuf_sync.h"

FIXTURE(timeline) {
	int fd;
};

FIXTURE_SETUP(timeline)
{
	if (fb_loaded())
		ASSERT_EQ(0, fb_unload());
	ASSERT_EQ(0, fb_load(""));
	self->fd = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->fd, 0);
}

FIXTURE_TEARDOWN(timeline)
{
	if (self->fd >= 0)
		close(self->fd);
	if (fb_loaded())
		EXPECT_EQ(0, fb_unload());
}

TEST_F(timeline, create_fence_gives_cloexec_sync_file)
{
	struct sync_file_info info;
	int f = fb_create(self->fd, 1);

	ASSERT_GE(f, 0);
	EXPECT_EQ(FD_CLOEXEC, fcntl(f, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(0, fb_file_info(f, &info, NULL));
	EXPECT_EQ(1u, info.num_fences);
	EXPECT_EQ(0, info.status);
	EXPECT_EQ(0, fb_poll(f, 0));
	close(f);
}

TEST_F(timeline, create_fence_already_passed_is_signalled)
{
	int f;

	ASSERT_EQ(0, fb_inc(self->fd, 5));
	f = fb_create(self->fd, 3);
	ASSERT_GE(f, 0);
	EXPECT_EQ(1, fb_status(f));
	EXPECT_EQ(1, fb_poll(f, 0));
	close(f);
	f = fb_create(self->fd, 5); /* equal to the value: reached */
	ASSERT_GE(f, 0);
	EXPECT_EQ(1, fb_status(f));
	close(f);
}

TEST_F(timeline, inc_signals_reached_fences_in_order)
{
	struct sync_fence_info fi[5] = { 0 };
	int f[5], i;

	for (i = 0; i < 5; i++) {
		f[i] = fb_create(self->fd, i + 1);
		ASSERT_GE(f[i], 0);
	}
	ASSERT_EQ(0, fb_inc(self->fd, 3));
	for (i = 0; i < 5; i++) {
		struct sync_file_info info;

		ASSERT_EQ(0, fb_file_info(f[i], &info, &fi[i]));
		EXPECT_EQ(i < 3 ? 1 : 0, fi[i].status) TH_LOG("fence %d", i + 1);
	}
	/* Signalled in seqno order: timestamps do not go backwards. */
	EXPECT_LE(fi[0].timestamp_ns, fi[1].timestamp_ns);
	EXPECT_LE(fi[1].timestamp_ns, fi[2].timestamp_ns);
	ASSERT_EQ(0, fb_inc(self->fd, 2));
	EXPECT_EQ(1, fb_status(f[3]));
	EXPECT_EQ(1, fb_status(f[4]));
	for (i = 0; i < 5; i++)
		close(f[i]);
}

TEST_F(timeline, inc_by_zero_signals_nothing)
{
	int f = fb_create(self->fd, 1);

	ASSERT_GE(f, 0);
	ASSERT_EQ(0, fb_inc(self->fd, 0));
	EXPECT_EQ(0, fb_status(f));
	ASSERT_EQ(0, fb_inc(self->fd, 1));
	EXPECT_EQ(1, fb_status(f));
	close(f);
}

TEST_F(timeline, wraps_around_at_2_32)
{
	int before, after, huge;

	/* Advance to 0xfffffff0 in two steps (each below 2^31). */
	ASSERT_EQ(0, fb_inc(self->fd, 0x7ffffff8));
	ASSERT_EQ(0, fb_inc(self->fd, 0x7ffffff8));
	before = fb_create(self->fd, 0xffffffe0); /* behind: signalled */
	after = fb_create(self->fd, 4);           /* 0x14 ahead, past the wrap */
	ASSERT_GE(before, 0);
	ASSERT_GE(after, 0);
	EXPECT_EQ(1, fb_status(before));
	EXPECT_EQ(0, fb_status(after));
	ASSERT_EQ(0, fb_inc(self->fd, 0x10)); /* value wraps to 0 */
	EXPECT_EQ(0, fb_status(after));
	ASSERT_EQ(0, fb_inc(self->fd, 4));
	EXPECT_EQ(1, fb_status(after));
	/* An increment of 2^31 or more reaches every pending fence. */
	huge = fb_create(self->fd, 0x7fffffff);
	ASSERT_GE(huge, 0);
	EXPECT_EQ(0, fb_status(huge));
	ASSERT_EQ(0, fb_inc(self->fd, 0xffffffff));
	EXPECT_EQ(1, fb_status(huge));
	close(before);
	close(after);
	close(huge);
}

TEST_F(timeline, duplicate_seqno_is_the_same_fence)
{
	struct sw_sync_get_deadline gd = { 0 };
	struct sync_set_deadline sd = { .deadline_ns = 123456789 };
	int a = fb_create(self->fd, 7), b = fb_create(self->fd, 7);

	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	EXPECT_NE(a, b);
	/* A deadline set through one sync_file is seen through the other. */
	ASSERT_EQ(0, ioctl(a, SYNC_IOC_SET_DEADLINE, &sd));
	gd.fence_fd = b;
	ASSERT_EQ(0, ioctl(self->fd, SW_SYNC_GET_DEADLINE, &gd));
	EXPECT_EQ(sd.deadline_ns, gd.deadline_ns);
	ASSERT_EQ(0, fb_inc(self->fd, 7));
	EXPECT_EQ(1, fb_status(a));
	EXPECT_EQ(1, fb_status(b));
	close(a);
	close(b);
}

TEST_F(timeline, close_with_pending_fences_signals_enoent)
{
	int a = fb_create(self->fd, 1), b = fb_create(self->fd, 2), c;

	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	ASSERT_EQ(0, fb_inc(self->fd, 1));
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	EXPECT_EQ(1, fb_status(a));
	EXPECT_EQ(-ENOENT, fb_status(b));
	EXPECT_EQ(1, fb_poll(b, 0));
	/*
	 * Merging still works. (The core's merge drops signalled fences, so the
	 * merged fence is a signalled stub without the error: as with sw_sync.)
	 */
	c = fb_merge(a, b);
	ASSERT_GE(c, 0);
	EXPECT_EQ(1, fb_poll(c, 0));
	close(a);
	close(b);
	close(c);
}

TEST_F(timeline, signal_with_error_is_the_fence_status)
{
	struct fencebuf_signal s = { .value = 2, .error = -EIO };
	int f[3], i;

	for (i = 0; i < 3; i++) {
		f[i] = fb_create(self->fd, i + 1);
		ASSERT_GE(f[i], 0);
	}
	ASSERT_EQ(0, ioctl(self->fd, FENCEBUF_IOC_SIGNAL, &s));
	EXPECT_EQ(-EIO, fb_status(f[0]));
	EXPECT_EQ(-EIO, fb_status(f[1]));
	EXPECT_EQ(0, fb_status(f[2]));
	/* A value not ahead of the timeline signals nothing. */
	s.value = 1;
	ASSERT_EQ(0, ioctl(self->fd, FENCEBUF_IOC_SIGNAL, &s));
	EXPECT_EQ(0, fb_status(f[2]));
	/* Error 0 is success; the timeline value moved to 2 above. */
	s.value = 3;
	s.error = 0;
	ASSERT_EQ(0, ioctl(self->fd, FENCEBUF_IOC_SIGNAL, &s));
	EXPECT_EQ(1, fb_status(f[2]));
	for (i = 0; i < 3; i++)
		close(f[i]);
}

TEST_F(timeline, signal_rejects_bad_errors)
{
	struct fencebuf_signal s = { .value = 1, .error = 1 };
	int f = fb_create(self->fd, 1);

	ASSERT_GE(f, 0);
	EXPECT_EQ(-1, ioctl(self->fd, FENCEBUF_IOC_SIGNAL, &s));
	EXPECT_EQ(EINVAL, errno);
	s.error = -(FB_MAX_ERRNO + 1);
	EXPECT_EQ(-1, ioctl(self->fd, FENCEBUF_IOC_SIGNAL, &s));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, fb_status(f));
	close(f);
}

/* The latest deadline there is, INT64_MAX, is a deadline, as in C. */
TEST_F(timeline, get_deadline_of_int64_max)
{
	struct sync_set_deadline sd = { .deadline_ns = INT64_MAX };
	struct sw_sync_get_deadline gd = { 0 };
	int f = fb_create(self->fd, 1);

	ASSERT_GE(f, 0);
	ASSERT_EQ(0, ioctl(f, SYNC_IOC_SET_DEADLINE, &sd));
	gd.fence_fd = f;
	ASSERT_EQ(0, ioctl(self->fd, SW_SYNC_GET_DEADLINE, &gd))
		TH_LOG("GET_DEADLINE after a deadline of INT64_MAX: %s", strerror(errno));
	EXPECT_EQ((__u64)INT64_MAX, gd.deadline_ns);
	close(f);
}

TEST_F(timeline, get_deadline)
{
	struct sync_set_deadline sd = { .deadline_ns = 2000000000 };
	struct sw_sync_get_deadline gd = { 0 };
	int f = fb_create(self->fd, 1), other_tl, other;

	ASSERT_GE(f, 0);
	gd.fence_fd = f;
	EXPECT_EQ(-1, ioctl(self->fd, SW_SYNC_GET_DEADLINE, &gd));
	EXPECT_EQ(ENOENT, errno);
	ASSERT_EQ(0, ioctl(f, SYNC_IOC_SET_DEADLINE, &sd));
	sd.deadline_ns = 1000000000; /* earlier: kept */
	ASSERT_EQ(0, ioctl(f, SYNC_IOC_SET_DEADLINE, &sd));
	sd.deadline_ns = 3000000000; /* later: ignored */
	ASSERT_EQ(0, ioctl(f, SYNC_IOC_SET_DEADLINE, &sd));
	ASSERT_EQ(0, ioctl(self->fd, SW_SYNC_GET_DEADLINE, &gd));
	EXPECT_EQ(1000000000ULL, gd.deadline_ns);

	gd.deadline_ns = 1; /* input must be 0 */
	EXPECT_EQ(-1, ioctl(self->fd, SW_SYNC_GET_DEADLINE, &gd));
	EXPECT_EQ(EINVAL, errno);
	gd.deadline_ns = 0;
	gd.pad = 1;
	EXPECT_EQ(-1, ioctl(self->fd, SW_SYNC_GET_DEADLINE, &gd));
	EXPECT_EQ(EINVAL, errno);
	gd.pad = 0;
	gd.fence_fd = self->fd; /* not a sync_file */
	EXPECT_EQ(-1, ioctl(self->fd, SW_SYNC_GET_DEADLINE, &gd));
	EXPECT_EQ(EINVAL, errno);
	gd.fence_fd = -1;
	EXPECT_EQ(-1, ioctl(self->fd, SW_SYNC_GET_DEADLINE, &gd));
	EXPECT_EQ(EINVAL, errno);

	other_tl = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
	ASSERT_GE(other_tl, 0);
	other = fb_create(other_tl, 1);
	ASSERT_GE(other, 0);
	gd.fence_fd = other; /* a fence of another timeline */
	EXPECT_EQ(-1, ioctl(self->fd, SW_SYNC_GET_DEADLINE, &gd));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, SW_SYNC_GET_DEADLINE, NULL));
	EXPECT_EQ(EFAULT, errno);
	close(other);
	close(other_tl);
	close(f);
}

TEST_F(timeline, unknown_ioctl_is_enotty)
{
	uint32_t v = 0;

	EXPECT_EQ(-1, ioctl(self->fd, _IOW('W', 3, uint32_t), &v));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR('X', 0, struct sw_sync_create_fence_data), &v));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(timeline, bad_pointers_are_efault_and_leak_no_fd)
{
	struct sw_sync_create_fence_data *ro;
	int before = fb_count_fds();
	void *unmapped;
	char *two;

	ASSERT_GT(before, 0);
	EXPECT_EQ(-1, ioctl(self->fd, SW_SYNC_IOC_CREATE_FENCE, NULL));
	EXPECT_EQ(EFAULT, errno);
	unmapped = mmap(NULL, FB_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, unmapped);
	EXPECT_EQ(-1, ioctl(self->fd, SW_SYNC_IOC_CREATE_FENCE, unmapped));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, SW_SYNC_IOC_INC, unmapped));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, FENCEBUF_IOC_SIGNAL, unmapped));
	EXPECT_EQ(EFAULT, errno);
	/*
	 * Readable but not writable: the fence and the sync_file are made, the
	 * copy-out fails; the reserved fd must not leak.
	 */
	ro = mmap(NULL, FB_PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-1, ioctl(self->fd, SW_SYNC_IOC_CREATE_FENCE, ro));
	EXPECT_EQ(EFAULT, errno);
	/* Straddling a readable page and an unreadable one. */
	two = mmap(NULL, 2 * FB_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, two);
	ASSERT_EQ(0, mprotect(two + FB_PAGE, FB_PAGE, PROT_NONE));
	EXPECT_EQ(-1, ioctl(self->fd, SW_SYNC_IOC_CREATE_FENCE, two + FB_PAGE - 8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(before, fb_count_fds());
	/* Nothing was left pending by the failed calls but what was created. */
	munmap(two, 2 * FB_PAGE);
	munmap(ro, FB_PAGE);
	munmap(unmapped, FB_PAGE);
}

/* No fd number left: EMFILE, as from the C sw_sync, and no fence is left. */
TEST_F(timeline, no_free_fd_is_emfile_and_leaves_no_fence)
{
	char path[64], buf[512];
	int before = fb_count_fds(), ret;
	struct rlimit old;

	ASSERT_GT(before, 0);
	ASSERT_EQ(0, fb_no_free_fd(&old));
	ret = fb_create(self->fd, 5);
	ASSERT_EQ(0, fb_restore_fds(&old));
	EXPECT_EQ(-EMFILE, ret);
	EXPECT_EQ(before, fb_count_fds());
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", self->fd);
	ASSERT_EQ(0, fb_read_file(path, buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "pending:\t0\n")) TH_LOG("%s", buf);
	/* The timeline still works. */
	ret = fb_create(self->fd, 5);
	ASSERT_GE(ret, 0);
	EXPECT_EQ(0, fb_inc(self->fd, 5));
	EXPECT_EQ(1, fb_status(ret));
	close(ret);
}

TEST_F(timeline, unterminated_name_is_accepted)
{
	struct sw_sync_create_fence_data data = { .value = 1 };

	memset(data.name, 'x', sizeof(data.name));
	ASSERT_EQ(0, ioctl(self->fd, SW_SYNC_IOC_CREATE_FENCE, &data));
	ASSERT_GE(data.fence, 0);
	EXPECT_EQ(0, fb_status(data.fence));
	close(data.fence);
}

TEST_F(timeline, file_info_names_while_pending)
{
	struct sync_fence_info fi = { 0 };
	struct sync_file_info info;
	char comm[32] = "";
	int f = fb_create(self->fd, 1);

	ASSERT_GE(f, 0);
	ASSERT_EQ(0, fb_file_info(f, &info, &fi));
	/* sw_sync's name, as the C sw_sync reports it: fencebuf is sw_sync. */
	EXPECT_STREQ("sw_sync", fi.driver_name);
	ASSERT_EQ(0, fb_read_file("/proc/self/comm", comm, sizeof(comm)));
	EXPECT_STREQ(comm, fi.obj_name);
	EXPECT_NE(NULL, strstr(info.name, "sw_sync-"));
	close(f);
}

TEST_F(timeline, fdinfo_shows_name_value_pending)
{
	char path[64], buf[512], want[64], comm[32] = "";
	int f1 = fb_create(self->fd, 10), f2 = fb_create(self->fd, 11);

	ASSERT_GE(f1, 0);
	ASSERT_GE(f2, 0);
	ASSERT_EQ(0, fb_inc(self->fd, 5));
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", self->fd);
	ASSERT_EQ(0, fb_read_file(path, buf, sizeof(buf)));
	ASSERT_EQ(0, fb_read_file("/proc/self/comm", comm, sizeof(comm)));
	snprintf(want, sizeof(want), "timeline:\t%s\n", comm);
	EXPECT_NE(NULL, strstr(buf, want)) TH_LOG("%s", buf);
	EXPECT_NE(NULL, strstr(buf, "value:\t5\n")) TH_LOG("%s", buf);
	EXPECT_NE(NULL, strstr(buf, "pending:\t2\n")) TH_LOG("%s", buf);
	close(f1);
	close(f2);
}

TEST_F(timeline, pending_bound_is_enospc)
{
	int f[5], dup_fd, dup_low, passed, i;

	close(self->fd);
	ASSERT_EQ(0, fb_unload());
	ASSERT_EQ(0, fb_load("max_pending=4"));
	self->fd = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->fd, 0);
	for (i = 0; i < 4; i++) {
		f[i] = fb_create(self->fd, i + 1);
		ASSERT_GE(f[i], 0);
	}
	EXPECT_EQ(-ENOSPC, fb_create(self->fd, 5));
	/* A pending fence whose sync_file is closed still counts (README). */
	close(f[0]);
	f[0] = -1;
	EXPECT_EQ(-ENOSPC, fb_create(self->fd, 6));
	/* Neither an existing seqno nor a passed one adds a pending fence. */
	dup_fd = fb_create(self->fd, 4);
	EXPECT_GE(dup_fd, 0);
	/* Found on either side of the tree's root. */
	dup_low = fb_create(self->fd, 1);
	EXPECT_GE(dup_low, 0);
	passed = fb_create(self->fd, 0);
	EXPECT_GE(passed, 0);
	ASSERT_EQ(0, fb_inc(self->fd, 1));
	f[4] = fb_create(self->fd, 5);
	EXPECT_GE(f[4], 0);
	for (i = 0; i < 5; i++)
		close(f[i]);
	close(dup_fd);
	close(dup_low);
	close(passed);
}

/*
 * In a memory cgroup with little room, creating pending fences ends with
 * ENOMEM: the fences are charged to the cgroup and their allocation fails
 * at the limit instead of invoking the OOM killer. The sync_file that
 * comes with each fence is allocated by the kernel's sync_file core with
 * GFP_KERNEL, which would invoke the memcg OOM killer when it is the one
 * meeting the limit, so the task makes itself unkillable, as a task that
 * wants ENOMEM must.
 */
/* The memcg test child's exit status: what went wrong. */
enum memcg_child_exit {
	MEMCG_ENOMEM = 0,	/* the limit gave ENOMEM, and room came back */
	MEMCG_NO_CGROUP = 10,	/* could not join the cgroup */
	MEMCG_NO_TIMELINE,	/* could not open /dev/sw_sync */
	MEMCG_OTHER_ERRNO,	/* the limit gave another errno */
	MEMCG_NO_FAILURE,	/* a million fences and no failure */
	MEMCG_NO_CURRENT,	/* could not read memory.current */
	MEMCG_NO_MAX,		/* could not set memory.max */
	MEMCG_NO_OOM_ADJ,	/* could not make itself unkillable */
	MEMCG_FAILED_EARLY,	/* failed before a thousand fences */
	MEMCG_NO_ROOM_AFTER_FREE, /* freeing the fences made no room */
};

static const char *memcg_child_exit_name(int status)
{
	static const char *const names[] = {
		[MEMCG_NO_CGROUP] = "could not join the cgroup",
		[MEMCG_NO_TIMELINE] = "could not open /dev/sw_sync",
		[MEMCG_OTHER_ERRNO] = "other errno",
		[MEMCG_NO_FAILURE] = "no failure",
		[MEMCG_NO_CURRENT] = "could not read memory.current",
		[MEMCG_NO_MAX] = "could not set memory.max",
		[MEMCG_NO_OOM_ADJ] = "could not set oom_score_adj",
		[MEMCG_FAILED_EARLY] = "failed early",
		[MEMCG_NO_ROOM_AFTER_FREE] = "no room after freeing",
	};

	if (status < 0 || status >= (int)(sizeof(names) / sizeof(names[0])) || !names[status])
		return "?";
	return names[status];
}

TEST_F_TIMEOUT(timeline, memcg_limit_gives_enomem, 180)
{
	const char *cg = "/sys/fs/cgroup/fencebuf-test";
	char path[128], buf[256];
	int status;
	pid_t pid;

	fb_write_file("/sys/fs/cgroup/cgroup.subtree_control", "+memory");
	rmdir(cg);
	ASSERT_EQ(0, mkdir(cg, 0755));

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		long current;
		int tl, n, err = 0;

		if (fb_write_file("/proc/self/oom_score_adj", "-1000"))
			_exit(MEMCG_NO_OOM_ADJ);
		snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
		snprintf(buf, sizeof(buf), "%d", getpid());
		if (fb_write_file(path, buf))
			_exit(MEMCG_NO_CGROUP);
		tl = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
		if (tl < 0)
			_exit(MEMCG_NO_TIMELINE);
		/* Room for a few thousand fences beyond what the task uses now. */
		snprintf(path, sizeof(path), "%s/memory.current", cg);
		if (fb_read_file(path, buf, sizeof(buf)))
			_exit(MEMCG_NO_CURRENT);
		current = atol(buf);
		snprintf(path, sizeof(path), "%s/memory.max", cg);
		snprintf(buf, sizeof(buf), "%ld", current + 512 * 1024);
		if (fb_write_file(path, buf))
			_exit(MEMCG_NO_MAX);
		for (n = 1; n < 1000000; n++) {
			int f = fb_create(tl, n);

			if (f < 0) {
				err = -f;
				break;
			}
			close(f);
		}
		/* Thousands of fences fit: the failure is the limit, not a bug. */
		if (n < 1000)
			_exit(MEMCG_FAILED_EARLY);
		/*
		 * The fences were the memory: freeing them makes room again (once
		 * RCU has run: signalled fences are freed with kfree_rcu()).
		 */
		close(tl);
		tl = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
		for (n = 0; n < 100 && (tl < 0 || fb_create(tl, 1) < 0); n++) {
			usleep(100 * 1000);
			if (tl < 0)
				tl = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
		}
		if (n == 100)
			_exit(MEMCG_NO_ROOM_AFTER_FREE);
		_exit(err == ENOMEM ? MEMCG_ENOMEM : (err ? MEMCG_OTHER_ERRNO : MEMCG_NO_FAILURE));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("child killed by signal %d", WTERMSIG(status));
	EXPECT_EQ(MEMCG_ENOMEM, WEXITSTATUS(status))
		TH_LOG("child: %s", memcg_child_exit_name(WEXITSTATUS(status)));
	snprintf(path, sizeof(path), "%s/memory.events", cg);
	ASSERT_EQ(0, fb_read_file(path, buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "oom_kill 0")) TH_LOG("%s", buf);
	EXPECT_EQ(NULL, strstr(buf, "\nmax 0")) TH_LOG("the limit was never hit: %s", buf);
	EXPECT_EQ(0, rmdir(cg));
}

/*
 * Signalled fences do not depend on the module: it unloads while their
 * sync_files are open, and the files keep working.
 */
TEST_F(timeline, rmmod_with_signalled_sync_files_open)
{
	struct sync_fence_info fi = { 0 };
	struct sync_file_info info;
	int ok, gone;

	ok = fb_create(self->fd, 1);
	gone = fb_create(self->fd, 2);
	ASSERT_GE(ok, 0);
	ASSERT_GE(gone, 0);
	ASSERT_EQ(0, fb_inc(self->fd, 1));
	ASSERT_EQ(-EWOULDBLOCK, fb_unload()); /* the timeline is open */
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	ASSERT_EQ(0, fb_unload());
	ASSERT_FALSE(fb_loaded());

	ASSERT_EQ(0, fb_file_info(ok, &info, &fi));
	EXPECT_EQ(1, fi.status);
	ASSERT_EQ(0, fb_file_info(gone, &info, &fi));
	EXPECT_EQ(-ENOENT, fi.status);
	EXPECT_EQ(1, fb_poll(ok, 0));
	EXPECT_EQ(1, fb_poll(gone, 0));
	close(ok);
	close(gone);
}

TEST_HARNESS_MAIN
