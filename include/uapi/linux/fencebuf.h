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

/**
 * define SW_SYNC_IOC_MAGIC - ioctl type of the timeline device (sw_sync's)
 */
#define SW_SYNC_IOC_MAGIC 'W'

/**
 * SW_SYNC_IOC_CREATE_FENCE - create a fence on the timeline
 *
 * Argument: &struct sw_sync_create_fence_data. Creates a fence at @value and
 * returns a sync_file fd for it in @fence. The fence is already signalled if
 * the timeline has passed @value. A second fence at the seqno of a
 * still-pending fence is that same fence (a new sync_file for it).
 *
 * Errors: EFAULT (bad pointer; no fd is leaked), EMFILE (no free fd),
 * ENOMEM (allocation failed or the memory cgroup is at its limit),
 * ENOSPC (the timeline already has max_pending pending fences).
 */
#define SW_SYNC_IOC_CREATE_FENCE \
	_IOWR(SW_SYNC_IOC_MAGIC, 0, struct sw_sync_create_fence_data)

/**
 * SW_SYNC_IOC_INC - advance the timeline
 *
 * Argument: a __u32 increment. Advances the timeline by it and signals, in
 * seqno order, every pending fence it reaches. An increment of 0 is allowed
 * and signals nothing.
 *
 * Errors: EFAULT.
 */
#define SW_SYNC_IOC_INC _IOW(SW_SYNC_IOC_MAGIC, 1, __u32)

/**
 * SW_SYNC_GET_DEADLINE - read the deadline a waiter set on a fence
 *
 * Argument: &struct sw_sync_get_deadline. Returns in @deadline_ns the
 * earliest deadline set on the fence of @fence_fd (SYNC_IOC_SET_DEADLINE on
 * its sync_file).
 *
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

/**
 * FENCEBUF_IOC_SIGNAL - advance the timeline, failing or passing its fences
 *
 * Argument: &struct fencebuf_signal. Advances the timeline to @value,
 * signalling every pending fence up to it with @error. A @value that is not
 * ahead of the timeline (in the wrap-around sense) signals nothing. A fencebuf
 * extension: the C sw_sync has no such ioctl.
 *
 * Errors: EFAULT; EINVAL (@error not in -4095..0).
 */
#define FENCEBUF_IOC_SIGNAL _IOW(SW_SYNC_IOC_MAGIC, 0x80, struct fencebuf_signal)

/**
 * define FENCEBUF_IOC_MAGIC - ioctl type of the exporter devices
 *
 * The MMIO dma-buf exporter has a node /dev/fencebuf/<pci-address> for each
 * PCI device bound to fencebuf (the QEMU ivshmem device by ID, any other
 * through driver_override).
 */
#define FENCEBUF_IOC_MAGIC 'F'

/**
 * define FENCEBUF_REGION_EXPORTABLE - a memory BAR fencebuf claimed
 *
 * %FENCEBUF_IOC_EXPORT accepts the region.
 */
#define FENCEBUF_REGION_EXPORTABLE	(1u << 0)
/**
 * define FENCEBUF_REGION_PREFETCH - the BAR is prefetchable
 *
 * CPU mappings of its buffers are write-combined; otherwise uncached.
 */
#define FENCEBUF_REGION_PREFETCH	(1u << 1)
/**
 * define FENCEBUF_REGION_MEM64 - the BAR is 64-bit
 */
#define FENCEBUF_REGION_MEM64		(1u << 2)

/**
 * struct fencebuf_region_info - one BAR of the device
 * @index: BAR number (0-5), the @region of EXPORT
 * @flags: FENCEBUF_REGION_*
 * @size: length of the BAR in bytes (0: not implemented)
 */
struct fencebuf_region_info {
	__u32 index;
	__u32 flags;
	__u64 size;
};

/**
 * define FENCEBUF_NUM_REGIONS - entries in &fencebuf_info.regions (BARs 0-5)
 */
#define FENCEBUF_NUM_REGIONS 6

/**
 * define FENCEBUF_INFO_MEMORY_ENABLED - memory decoding is on
 *
 * Set by %FENCEBUF_IOC_MEMORY_ENABLE; while it is, exported buffers are
 * usable.
 */
#define FENCEBUF_INFO_MEMORY_ENABLED	(1u << 0)

/**
 * struct fencebuf_info - argument of %FENCEBUF_IOC_GET_INFO (filled in)
 * @flags: FENCEBUF_INFO_*
 * @num_regions: FENCEBUF_NUM_REGIONS
 * @max_ranges: the most ranges one EXPORT accepts
 * @num_buffers: buffers exported from this device and not yet released
 * @regions: one entry per BAR, in BAR order
 */
struct fencebuf_info {
	__u32 flags;
	__u32 num_regions;
	__u32 max_ranges;
	__u32 num_buffers;
	struct fencebuf_region_info regions[FENCEBUF_NUM_REGIONS];
};

/**
 * struct fencebuf_range - a part of a region
 * @offset: from the start of the BAR; page aligned
 * @length: in bytes; page aligned, not 0
 */
struct fencebuf_range {
	__u64 offset;
	__u64 length;
};

/**
 * define FENCEBUF_EXPORT_REUSE - reuse a live buffer
 *
 * %FENCEBUF_IOC_EXPORT gives a new fd for a buffer with identical region,
 * ranges and access mode (O_RDWR or O_RDONLY) that the calling process has
 * open (an fd of it in its fd table), if there is one; else a new buffer. A
 * buffer held only by other processes, mappings, importers or O_PATH opens is
 * not found: only an open file proves that a buffer's file is still alive.
 */
#define FENCEBUF_EXPORT_REUSE		(1u << 0)

/**
 * struct fencebuf_export - argument of %FENCEBUF_IOC_EXPORT
 * @region: the BAR to export from (FENCEBUF_REGION_EXPORTABLE)
 * @open_flags: file flags of the dma-buf: O_RDWR or O_RDONLY, optionally
 *		O_CLOEXEC (which also applies to the returned fd)
 * @flags: FENCEBUF_EXPORT_*
 * @nr_ranges: number of entries at @ranges, 1 to fencebuf_info.max_ranges
 * @ranges: user pointer to @nr_ranges struct fencebuf_range; the buffer is
 *	    their concatenation
 * @fd: out: the dma-buf fd
 * @pad: must be 0
 */
struct fencebuf_export {
	__u32 region;
	__u32 open_flags;
	__u32 flags;
	__u32 nr_ranges;
	__u64 ranges;
	__s32 fd;
	__u32 pad;
};

/**
 * FENCEBUF_IOC_GET_INFO - describe the device and its regions
 *
 * Argument: &struct fencebuf_info, filled in.
 *
 * Errors: EFAULT; ENODEV (the device was unbound).
 */
#define FENCEBUF_IOC_GET_INFO _IOR(FENCEBUF_IOC_MAGIC, 0, struct fencebuf_info)

/**
 * FENCEBUF_IOC_EXPORT - export ranges of a BAR as a dma-buf
 *
 * Argument: &struct fencebuf_export; the dma-buf fd is returned in @fd. The
 * dma-buf can be mmap-ed with MAP_SHARED (pages are mapped on first touch;
 * an O_RDONLY buffer maps read-only, and never writable; MAP_PRIVATE gives
 * EINVAL) and attached by
 * importers that implement invalidate_mappings. While memory decoding is
 * off, or after the device was unbound, the buffer is revoked: CPU accesses
 * get SIGBUS and importers' mappings fail with ENODEV.
 *
 * Errors: EFAULT (no fd is leaked); EINVAL (unknown @flags or @open_flags,
 * @pad not 0, @nr_ranges 0, a range empty, not page aligned or beyond the
 * BAR); EOVERFLOW (offset + length, or the total size, overflows); E2BIG
 * (more than max_ranges ranges); ENODEV (@region not exportable, or the
 * device was unbound); EMFILE; ENOMEM.
 */
#define FENCEBUF_IOC_EXPORT _IOWR(FENCEBUF_IOC_MAGIC, 1, struct fencebuf_export)

/**
 * FENCEBUF_IOC_MEMORY_ENABLE - turn the device's memory decoding on or off
 *
 * Argument: a __u32, 1 (on) or 0 (off), for PCI_COMMAND_MEMORY. Off revokes
 * every buffer of the device first: importers are invalidated, CPU mappings
 * zapped; on restores them. Idempotent.
 *
 * Errors: EBUSY (a reset of the device is under way: its buffers are
 * revoked until it ends, then follow what it decodes); EFAULT; EINVAL (not
 * 0 or 1); ENODEV (the device was unbound, or failed for good); ENOMEM
 * (off; nothing changed). When the device does not take the write
 * of its command register, the PCI error as an errno (EIO, ENODEV, ...):
 * the buffers are then usable exactly if the device still decodes, which
 * %FENCEBUF_INFO_MEMORY_ENABLED reports.
 */
#define FENCEBUF_IOC_MEMORY_ENABLE _IOW(FENCEBUF_IOC_MAGIC, 2, __u32)

#endif /* _UAPI_LINUX_FENCEBUF_H */
