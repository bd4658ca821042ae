// SPDX-License-Identifier: GPL-2.0
/*
 * The installed module, as a user meets it: `make install` (or, in `make
 * deb-check`, the fencebuf-dkms package) put fencebuf.ko (with depmod) and
 * 70-fencebuf.rules into the root the guest booted, and systemd-udevd runs
 * (qemu/guest-suite.sh, suite "install"). Here:
 * modprobe finds the module; the rule gives the nodes the group and mode of
 * the dev_group and dev_mode parameters; a user in that group can create
 * fences and describe the exporter, a user outside it cannot; without the
 * parameters only root can; bad parameters are refused at load.
 */
#include <grp.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "fencebuf_test.h"
#include "fencebuf_sync.h"
#include "fencebuf_exporter.h"

#define TEST_GROUP "fbusers"
#define TEST_GID ((gid_t)1500) /* TEST_GROUP in the guest's /etc/group */
#define NOBODY 65534

static char installed_ko[256];

/*
 * Where the module was installed: make install's extra/ or DKMS's
 * updates/dkms/, compressed as the kernel's are, if so.
 */
static const char *installed_path(void)
{
	static const char *const dir[] = { "extra", "updates/dkms" };
	static const char *const suffix[] = { "", ".xz", ".zst", ".gz" };
	struct utsname u;
	unsigned int i, j;

	if (installed_ko[0] || uname(&u))
		return installed_ko;
	for (i = 0; i < sizeof(dir) / sizeof(dir[0]); i++) {
		for (j = 0; j < sizeof(suffix) / sizeof(suffix[0]); j++) {
			snprintf(installed_ko, sizeof(installed_ko), "/lib/modules/%s/%s/fencebuf.ko%s",
				 u.release, dir[i], suffix[j]);
			if (!access(installed_ko, F_OK))
				return installed_ko;
		}
	}
	return installed_ko;
}

/* (Re)load the installed module with @params and let udev finish. */
static int load_installed(const char *params)
{
	int ret;

	if (fb_loaded() && fb_unload())
		return -EBUSY;
	ret = fb_load_path(installed_path(), params);
	if (!ret && system("udevadm settle --timeout=30"))
		return -ETIMEDOUT;
	return ret;
}

/*
 * In a child that is user nobody, in TEST_GROUP if @in_group: open each node
 * and use it. Returns 0 when all worked, the first open's errno when one
 * failed to open, or 100 + step for any other failure.
 */
static int as_nobody(bool in_group)
{
	gid_t g = TEST_GID;
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct fencebuf_info info;
		int tl, dev, f;

		if (setgroups(in_group ? 1 : 0, &g) || setgid(NOBODY) || setuid(NOBODY))
			_exit(101);
		if (getuid() != NOBODY || !setuid(0))
			_exit(102); /* privileges really gone */
		tl = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
		if (tl < 0)
			_exit(errno);
		f = fb_create(tl, 1);
		if (f < 0 || fb_status(f) != 0 || fb_inc(tl, 1) || fb_status(f) != 1)
			_exit(103);
		dev = open(FB_EXPORTER_DEV, O_RDWR | O_CLOEXEC);
		if (dev < 0)
			_exit(errno);
		if (ioctl(dev, FENCEBUF_IOC_GET_INFO, &info) || info.num_regions == 0)
			_exit(104);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void expect_node(struct __test_metadata *_metadata, const char *path, gid_t gid,
			mode_t mode)
{
	struct stat st;

	ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s: %s", path, strerror(errno));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ((uid_t)0, st.st_uid);
	EXPECT_EQ(gid, st.st_gid) TH_LOG("%s", path);
	EXPECT_EQ(mode, st.st_mode & 07777) TH_LOG("%s: mode %o", path, st.st_mode & 07777);
}

TEST(modprobe_finds_the_installed_module)
{
	if (fb_loaded())
		ASSERT_EQ(0, fb_unload());
	ASSERT_EQ(0, access(installed_path(), R_OK)) TH_LOG("%s", installed_path());
	/* modprobe resolves the name through the installed modules.dep. */
	ASSERT_EQ(0, system("modprobe fencebuf"));
	EXPECT_TRUE(fb_loaded());
	EXPECT_EQ(0, system("udevadm settle --timeout=30"));
	EXPECT_EQ(0, access("/dev/sw_sync", F_OK));
}

/*
 * The sw_sync library of graphics test suites runs `modprobe sw_sync` before
 * it opens /dev/sw_sync: on a kernel without the C sw_sync, the module alias
 * makes that load fencebuf.
 */
TEST(modprobe_sw_sync_loads_fencebuf)
{
	if (fb_loaded())
		ASSERT_EQ(0, fb_unload());
	ASSERT_EQ(0, system("modprobe sw_sync"));
	EXPECT_TRUE(fb_loaded());
	EXPECT_EQ(0, system("udevadm settle --timeout=30"));
	EXPECT_EQ(0, access("/dev/sw_sync", F_OK));
	/* On a kernel without the C sw_sync, its debugfs path is fencebuf's. */
	if (getenv("FENCEBUF_EXPECT_DEBUGFS") &&
	    !strcmp(getenv("FENCEBUF_EXPECT_DEBUGFS"), "fencebuf"))
		EXPECT_EQ(0, access("/sys/kernel/debug/sync/sw_sync", F_OK)) TH_LOG("%s", strerror(errno));
}

TEST(default_nodes_are_root_only)
{
	ASSERT_EQ(0, load_installed(""));
	expect_node(_metadata, "/dev/sw_sync", (gid_t)0, 0600);
	expect_node(_metadata, FB_EXPORTER_DEV, (gid_t)0, 0600);
	EXPECT_EQ(EACCES, as_nobody(true));
	EXPECT_EQ(EACCES, as_nobody(false));
}

TEST(group_members_can_use_the_nodes)
{
	ASSERT_EQ(0, load_installed("dev_group=" TEST_GROUP " dev_mode=0660"));
	expect_node(_metadata, "/dev/sw_sync", TEST_GID, 0660);
	expect_node(_metadata, FB_EXPORTER_DEV, TEST_GID, 0660);
	EXPECT_EQ(0, as_nobody(true));
	EXPECT_EQ(EACCES, as_nobody(false));
}

TEST(a_group_by_number_works_too)
{
	ASSERT_EQ(0, load_installed("dev_group=1500 dev_mode=0640"));
	expect_node(_metadata, "/dev/sw_sync", TEST_GID, 0640);
	/* Read-only for the group: opening O_RDWR is refused. */
	EXPECT_EQ(EACCES, as_nobody(true));
}

TEST(bad_parameters_are_refused)
{
	const char *bad[] = {
		"dev_mode=0777", "dev_mode=4660", "dev_mode=0668", "dev_mode=",
		"dev_mode=66666", "dev_mode=rw", "dev_group=", "dev_group=-x",
		"dev_group=a$b", "dev_group=\"a b\"", "dev_group=%k",
	};
	unsigned int i;

	if (fb_loaded())
		ASSERT_EQ(0, fb_unload());
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, fb_load_path(installed_path(), bad[i])) TH_LOG("%s", bad[i]);
		EXPECT_FALSE(fb_loaded()) TH_LOG("%s", bad[i]);
		if (fb_loaded())
			fb_unload();
	}
}

TEST(unload)
{
	if (fb_loaded())
		EXPECT_EQ(0, fb_unload());
	EXPECT_FALSE(fb_loaded());
}

TEST_HARNESS_MAIN
