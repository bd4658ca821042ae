/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * fencebuf uAPI.
 *
 * The timeline device (/dev/sw_sync by default) speaks the ABI of the
 * kernel's sw_sync (drivers/dma-buf/sw_sync.c), which has no uAPI header of
 * its own: the three SW_SYNC_* ioctls below are bit-for-bit that ABI. The
 * FENCEBUF_* ioctls are extensions with their own numbers.
 *
 * Every open of the timeline device is one timeline with its own fence
 * context and a 32-bit value that starts at 0.
 */
#ifndef _UAPI_LINUX_FENCEBUF_H
#define _UAPI_LINUX_FENCEBUF_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * struct sw_sync_create_fence_data - argument of %SW_SYNC_IOC_CREATE_FENCE
 * @value: seqno of the fence; it signals when the timeline reaches it
 *	   (32-bit, wrap-around safe: "reached" means (s32)(value - timeline) <= 0)
 * @name: ignored, as by sw_sync (need not be NUL-terminated)
 * @fence: out: a new sync_file fd (O_CLOEXEC) for the fence
 */
struct sw_sync_create_fence_data {
	__u32 value;
	char name[32];
	__s32 fence;
};

/**
 * struct sw_sync_get_deadline - argument of %SW_SYNC_GET_DEADLINE
 * @deadline_ns: in: must be 0; out: the earliest deadline set on the fence
 *		 (CLOCK_MONOTONIC ns)
 * @pad: must be 0
 * @fence_fd: a sync_file fd holding a single fence of a fencebuf timeline
 */
struct sw_sync_get_deadline {
	__u64 deadline_ns;
	__u32 pad;
	__s32 fence_fd;
};

#define SW_SYNC_IOC_MAGIC 'W'

/*
 * SW_SYNC_IOC_CREATE_FENCE - create a fence at @value on this timeline.
 * Returns a sync_file fd in @fence. Already signalled if the timeline has
 * passed @value. A second fence at the seqno of a still-pending fence is that
 * same fence (a new sync_file for it).
 * Errors: EFAULT (bad pointer; no fd is leaked), EMFILE (no free fd),
 * ENOMEM (allocation failed or the memory cgroup is at its limit),
 * ENOSPC (the timeline already has max_pending pending fences).
 */
#define SW_SYNC_IOC_CREATE_FENCE \
	_IOWR(SW_SYNC_IOC_MAGIC, 0, struct sw_sync_create_fence_data)

/*
 * SW_SYNC_IOC_INC - advance the timeline by a __u32 and signal, in seqno
 * order, every pending fence it reaches. An increment of 0 is allowed and
 * signals nothing. Errors: EFAULT.
 */
#define SW_SYNC_IOC_INC _IOW(SW_SYNC_IOC_MAGIC, 1, __u32)

/*
 * SW_SYNC_GET_DEADLINE - read the deadline a waiter set on a fence
 * (SYNC_IOC_SET_DEADLINE on its sync_file).
 * Errors: EFAULT; EINVAL (@deadline_ns or @pad not 0, @fence_fd not a
 * sync_file, or not a single fence of a fencebuf timeline); ENOENT (no
 * deadline was set).
 */
#define SW_SYNC_GET_DEADLINE \
	_IOWR(SW_SYNC_IOC_MAGIC, 2, struct sw_sync_get_deadline)

/**
 * struct fencebuf_signal - argument of %FENCEBUF_IOC_SIGNAL
 * @value: advance the timeline to this value (if it is ahead of it)
 * @error: a negative errno (-4095..-1) that every fence signalled by this
 *	   call reports as its status (SYNC_IOC_FILE_INFO), or 0 for success
 */
struct fencebuf_signal {
	__u32 value;
	__s32 error;
};

/*
 * FENCEBUF_IOC_SIGNAL - advance the timeline to @value, signalling every
 * pending fence up to it with @error. A @value that is not ahead of the
 * timeline (in the wrap-around sense) signals nothing.
 * Errors: EFAULT; EINVAL (@error not in -4095..0).
 */
#define FENCEBUF_IOC_SIGNAL _IOW(SW_SYNC_IOC_MAGIC, 0x80, struct fencebuf_signal)

#endif /* _UAPI_LINUX_FENCEBUF_H */
