// SPDX-License-Identifier: GPL-2.0
/*
 * Module lifecycle: load, the device node, opens, unload, reload, the
 * devname parameter, and <debugfs>/sync/sw_sync. Each test starts from an
 * unloaded module.
 */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "kselftest_harness.h"
#include "fencebuf_test.h"
#include "fencebuf_sync.h"

#define MISC_MAJOR 10u
/* Documented in README: root-only until a udev rule says otherwise. */
#define DEFAULT_MODE 0600u

FIXTURE(module) {};

FIXTURE_SETUP(module)
{
	if (fb_loaded())
		ASSERT_EQ(0, fb_unload());
	ASSERT_FALSE(fb_loaded());
}

FIXTURE_TEARDOWN(module)
{
	if (fb_loaded())
		EXPECT_EQ(0, fb_unload());
}

TEST_F(module, loads)
{
	char state[32];

	ASSERT_EQ(0, fb_load(""));
	ASSERT_TRUE(fb_loaded());
	ASSERT_EQ(0, fb_read_file("/sys/module/fencebuf/initstate", state, sizeof(state)));
	EXPECT_STREQ("live", state);
}

TEST_F(module, device_node)
{
	char sysdev[32], want[32];
	struct stat st;

	ASSERT_EQ(0, fb_load(""));
	ASSERT_EQ(0, stat("/dev/sw_sync", &st)) TH_LOG("/dev/sw_sync: %s", strerror(errno));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(DEFAULT_MODE, st.st_mode & 07777);
	EXPECT_EQ(0u, st.st_uid);
	EXPECT_EQ(0u, st.st_gid);
	EXPECT_EQ(MISC_MAJOR, major(st.st_rdev));
	/* The node is the one the misc class registered, not a stale one. */
	ASSERT_EQ(0, fb_read_file("/sys/class/misc/sw_sync/dev", sysdev, sizeof(sysdev)));
	snprintf(want, sizeof(want), "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	EXPECT_STREQ(want, sysdev);
}

TEST_F(module, second_open)
{
	int a, b;

	ASSERT_EQ(0, fb_load(""));
	a = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
	ASSERT_GE(a, 0);
	b = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
	ASSERT_GE(b, 0);
	EXPECT_NE(a, b);
	EXPECT_EQ(0, close(b));
	EXPECT_EQ(0, close(a));
}

TEST_F(module, unknown_ioctl_is_enotty)
{
	int fd;

	ASSERT_EQ(0, fb_load(""));
	fd = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(-1, ioctl(fd, _IO('W', 0x7f), 0));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
}

TEST_F(module, unloads)
{
	ASSERT_EQ(0, fb_load(""));
	ASSERT_EQ(0, fb_unload());
	EXPECT_FALSE(fb_loaded());
	EXPECT_EQ(-1, access("/dev/sw_sync", F_OK));
	EXPECT_EQ(ENOENT, errno);
}

TEST_F(module, reloads)
{
	int fd;

	ASSERT_EQ(0, fb_load(""));
	ASSERT_EQ(0, fb_unload());
	ASSERT_EQ(0, fb_load(""));
	fd = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	close(fd);
}

TEST_F(module, unload_refused_while_open)
{
	int fd;

	ASSERT_EQ(0, fb_load(""));
	fd = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(-EWOULDBLOCK, fb_unload());
	EXPECT_TRUE(fb_loaded());
	close(fd);
	EXPECT_EQ(0, fb_unload());
}

TEST_F(module, devname_param)
{
	char val[64];
	struct stat st;

	ASSERT_EQ(0, fb_load("devname=fencebuf_test0"));
	ASSERT_EQ(0, stat("/dev/fencebuf_test0", &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(-1, access("/dev/sw_sync", F_OK));
	ASSERT_EQ(0, fb_read_file("/sys/module/fencebuf/parameters/devname", val, sizeof(val)));
	EXPECT_STREQ("fencebuf_test0", val);
}

TEST_F(module, devname_empty_is_einval)
{
	EXPECT_EQ(-EINVAL, fb_load("devname="));
	EXPECT_FALSE(fb_loaded());
}

#define DEBUGFS_SYNC_DIR "/sys/kernel/debug/sync"
#define DEBUGFS_SW_SYNC DEBUGFS_SYNC_DIR "/sw_sync"
#define DEBUGFS_SW_SYNC_PARAM "/sys/module/fencebuf/parameters/debugfs_sw_sync"

/*
 * Whether @fd is a fencebuf timeline: fencebuf's print their name, value and
 * pending count in fdinfo, the C sw_sync's nothing.
 */
static bool is_fencebuf_timeline(int fd)
{
	char path[64], buf[512];

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	return !fb_read_file(path, buf, sizeof(buf)) && strstr(buf, "\ntimeline:\t");
}

/*
 * Who serves <debugfs>/sync/sw_sync with fencebuf loaded:
 * FENCEBUF_EXPECT_DEBUGFS=c (the default: the pinned debug kernel has the
 * C sw_sync built in, and fencebuf leaves it alone) or =fencebuf (a kernel
 * without CONFIG_SW_SYNC, such as Debian's).
 */
static bool expect_fencebuf_debugfs(struct __test_metadata *_metadata)
{
	const char *want = getenv("FENCEBUF_EXPECT_DEBUGFS");

	if (!want || !strcmp(want, "c"))
		return false;
	if (!strcmp(want, "fencebuf"))
		return true;
	TH_LOG("FENCEBUF_EXPECT_DEBUGFS=%s: not c or fencebuf", want);
	EXPECT_TRUE(false);
	return false;
}

TEST_F(module, debugfs_sw_sync_param)
{
	char val[8];
	struct stat st;

	ASSERT_EQ(0, fb_load(""));
	ASSERT_EQ(0, stat(DEBUGFS_SW_SYNC_PARAM, &st))
		TH_LOG("%s: %s", DEBUGFS_SW_SYNC_PARAM, strerror(errno));
	EXPECT_EQ(0444u, st.st_mode & 07777);
	ASSERT_EQ(0, fb_read_file(DEBUGFS_SW_SYNC_PARAM, val, sizeof(val)));
	EXPECT_STREQ("Y", val);
	ASSERT_EQ(0, fb_unload());
	ASSERT_EQ(0, fb_load("debugfs_sw_sync=0"));
	ASSERT_EQ(0, fb_read_file(DEBUGFS_SW_SYNC_PARAM, val, sizeof(val)));
	EXPECT_STREQ("N", val);
}

/* The kernel has the C sw_sync: fencebuf changes nothing in debugfs. */
static void check_c_debugfs_sw_sync(struct __test_metadata *_metadata)
{
	struct stat before, dir_before, st;
	int fd;

	ASSERT_EQ(0, stat(DEBUGFS_SW_SYNC, &before))
		TH_LOG("%s: %s (FENCEBUF_EXPECT_DEBUGFS=c wants the kernel's)", DEBUGFS_SW_SYNC,
		       strerror(errno));
	ASSERT_EQ(0, stat(DEBUGFS_SYNC_DIR, &dir_before));
	ASSERT_EQ(0, fb_load(""));

	/* The same file (the C sw_sync's, mode 0644), and its timelines. */
	ASSERT_EQ(0, stat(DEBUGFS_SW_SYNC, &st));
	EXPECT_EQ(before.st_ino, st.st_ino);
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(0644u, st.st_mode & 07777);
	fd = open(DEBUGFS_SW_SYNC, O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0) TH_LOG("%s: %s", DEBUGFS_SW_SYNC, strerror(errno));
	EXPECT_FALSE(is_fencebuf_timeline(fd));
	close(fd);
	/* While /dev/sw_sync is fencebuf's. */
	fd = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	EXPECT_TRUE(is_fencebuf_timeline(fd));
	close(fd);

	/* And unloading leaves them. */
	ASSERT_EQ(0, fb_unload());
	ASSERT_EQ(0, stat(DEBUGFS_SYNC_DIR, &st))
		TH_LOG("%s: %s", DEBUGFS_SYNC_DIR, strerror(errno));
	EXPECT_EQ(dir_before.st_ino, st.st_ino);
	ASSERT_EQ(0, stat(DEBUGFS_SW_SYNC, &st)) TH_LOG("%s: %s", DEBUGFS_SW_SYNC, strerror(errno));
	EXPECT_EQ(before.st_ino, st.st_ino);
	fd = open(DEBUGFS_SW_SYNC, O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	EXPECT_FALSE(is_fencebuf_timeline(fd));
	close(fd);
}

/*
 * The kernel has no sw_sync: fencebuf's serves the debugfs path as
 * /dev/sw_sync, and is gone with it, the sync directory too. (Only the C
 * sw_sync makes that directory: without it, and with fencebuf unloaded,
 * there is none, unless an earlier unload left fencebuf's behind.)
 */
static void check_fencebuf_debugfs_sw_sync(struct __test_metadata *_metadata)
{
	int tl, f1, f2;
	struct stat st;

	ASSERT_EQ(-1, access(DEBUGFS_SYNC_DIR, F_OK))
		TH_LOG("%s exists without fencebuf (FENCEBUF_EXPECT_DEBUGFS=fencebuf)",
		       DEBUGFS_SYNC_DIR);
	ASSERT_EQ(0, fb_load(""));
	ASSERT_EQ(0, stat(DEBUGFS_SW_SYNC, &st)) TH_LOG("%s: %s", DEBUGFS_SW_SYNC, strerror(errno));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(0644u, st.st_mode & 07777);
	EXPECT_EQ(0u, st.st_uid);

	tl = open(DEBUGFS_SW_SYNC, O_RDWR | O_CLOEXEC);
	ASSERT_GE(tl, 0) TH_LOG("%s: %s", DEBUGFS_SW_SYNC, strerror(errno));
	EXPECT_TRUE(is_fencebuf_timeline(tl));
	f1 = fb_create(tl, 1);
	ASSERT_GE(f1, 0);
	f2 = fb_create(tl, 2);
	ASSERT_GE(f2, 0);
	EXPECT_EQ(0, fb_status(f1));
	EXPECT_EQ(0, fb_inc(tl, 1));
	EXPECT_EQ(1, fb_status(f1));
	EXPECT_EQ(0, fb_status(f2));
	EXPECT_EQ(-1, ioctl(tl, _IO('W', 0x7f), 0));
	EXPECT_EQ(ENOTTY, errno);
	/* An open timeline holds the module, as one of /dev/sw_sync does. */
	EXPECT_EQ(-EWOULDBLOCK, fb_unload());
	/* Its last close fails what it still owed. */
	close(tl);
	EXPECT_EQ(-ENOENT, fb_status(f2));
	close(f1);
	close(f2);

	ASSERT_EQ(0, fb_unload());
	EXPECT_EQ(-1, access(DEBUGFS_SW_SYNC, F_OK));
	EXPECT_EQ(-1, access(DEBUGFS_SYNC_DIR, F_OK));

	/* Not with the parameter off. */
	ASSERT_EQ(0, fb_load("debugfs_sw_sync=0"));
	EXPECT_EQ(-1, access(DEBUGFS_SYNC_DIR, F_OK));
}

TEST_F(module, debugfs_sw_sync)
{
	if (expect_fencebuf_debugfs(_metadata))
		check_fencebuf_debugfs_sw_sync(_metadata);
	else
		check_c_debugfs_sw_sync(_metadata);
}

TEST_HARNESS_MAIN
