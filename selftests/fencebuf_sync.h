/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small wrappers around the sw_sync and sync_file ioctls for the tests.
 * Functions that return an fd or a status return -errno on failure.
 */
#ifndef FENCEBUF_SYNC_H
#define FENCEBUF_SYNC_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/fencebuf.h>
#include <linux/sync_file.h>

/* A sync_file fd for a fence at @value on timeline @tl, or -errno. */
static inline int fb_create(int tl, uint32_t value)
{
	struct sw_sync_create_fence_data data = { .value = value };

	strcpy(data.name, "fencebuf-test");
	if (ioctl(tl, SW_SYNC_IOC_CREATE_FENCE, &data))
		return -errno;
	return data.fence;
}

static inline int fb_inc(int tl, uint32_t n)
{
	return ioctl(tl, SW_SYNC_IOC_INC, &n) ? -errno : 0;
}

/* SYNC_IOC_FILE_INFO with room for one fence; @fi may be NULL. */
static inline int fb_file_info(int f, struct sync_file_info *info, struct sync_fence_info *fi)
{
	struct sync_fence_info one;

	memset(info, 0, sizeof(*info));
	memset(&one, 0, sizeof(one));
	info->num_fences = 1;
	info->sync_fence_info = (uintptr_t)&one;
	if (ioctl(f, SYNC_IOC_FILE_INFO, info))
		return -errno;
	if (fi)
		*fi = one;
	return 0;
}

/* 1 signalled, 0 pending, a negative errno when signalled with an error. */
static inline int fb_status(int f)
{
	struct sync_file_info info;
	int ret = fb_file_info(f, &info, NULL);

	return ret ? ret - 1000 : info.status;
}

/* 1 if @f is readable (signalled) within @timeout_ms, 0 if not, -errno. */
static inline int fb_poll(int f, int timeout_ms)
{
	struct pollfd p = { .fd = f, .events = POLLIN };
	int ret = poll(&p, 1, timeout_ms);

	if (ret < 0)
		return -errno;
	return ret == 1 && (p.revents & POLLIN);
}

static inline int fb_merge(int a, int b)
{
	struct sync_merge_data m = { .fd2 = b };

	strcpy(m.name, "fencebuf-merge");
	if (ioctl(a, SYNC_IOC_MERGE, &m))
		return -errno;
	return m.fence;
}

#endif /* FENCEBUF_SYNC_H */
