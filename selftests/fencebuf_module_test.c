// SPDX-License-Identifier: GPL-2.0
/*
 * Module lifecycle: load, the device node, opens, unload, reload, and the
 * devname parameter. Each test starts from an unloaded module.
 */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "kselftest_harness.h"
#include "fencebuf_test.h"

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

TEST_HARNESS_MAIN
