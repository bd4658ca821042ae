/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The sample importer's ioctls (/dev/fencebuf_importer): a test and
 * documentation aid, not a stable ABI. Each open file is one importer.
 */
#ifndef FENCEBUF_IMPORTER_H
#define FENCEBUF_IMPORTER_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * struct fbimp_access - argument of %FBIMP_IOC_ACCESS
 * @offset: into the buffer
 * @len: bytes to copy (at most 1 MiB)
 * @user_ptr: userspace buffer to copy to (read) or from (write)
 * @write: 1 to write @user_ptr into the buffer, 0 to read
 * @pad: must be 0
 */
struct fbimp_access {
	__u64 offset;
	__u64 len;
	__u64 user_ptr;
	__u32 write;
	__u32 pad;
};

/**
 * struct fbimp_status - argument of %FBIMP_IOC_STATUS
 * @attached: 1 while attached
 * @mapped: 1 while the importer holds a mapping
 * @invalidations: invalidate_mappings calls received so far
 * @pad: 0
 * @size: size of the attached buffer
 */
struct fbimp_status {
	__u32 attached;
	__u32 mapped;
	__u32 invalidations;
	__u32 pad;
	__u64 size;
};

/* Attach (dynamically, peer to peer) to the dma-buf fd given. EBUSY if attached. */
#define FBIMP_IOC_ATTACH	_IOW('I', 0, __s32)
/* Map for DMA; returns the bytes the scatterlist covers. ENODEV if revoked. */
#define FBIMP_IOC_MAP		_IOR('I', 1, __u64)
#define FBIMP_IOC_UNMAP		_IO('I', 2)
/* CPU access through vmap, only while mapped (else ENODEV). */
#define FBIMP_IOC_ACCESS	_IOW('I', 3, struct fbimp_access)
#define FBIMP_IOC_STATUS	_IOR('I', 4, struct fbimp_status)
#define FBIMP_IOC_DETACH	_IO('I', 5)

/*
 * Importers that revocable exporters must refuse, to show that they do:
 * FBIMP_KIND_NO_INVALIDATE attaches dynamically without invalidate_mappings,
 * FBIMP_KIND_NO_P2P without accepting peer-to-peer addresses.
 *
 * FBIMP_KIND_DEFERRED is revocable but keeps its mapping when invalidated,
 * until UNMAP or DETACH, as a driver that unmaps from a worker once its DMA
 * has drained: a revoke must wait for that unmap before the memory goes.
 */
#define FBIMP_KIND_REVOCABLE		0
#define FBIMP_KIND_NO_INVALIDATE	1
#define FBIMP_KIND_NO_P2P		2
#define FBIMP_KIND_DEFERRED		3

/**
 * struct fbimp_attach - argument of %FBIMP_IOC_ATTACH_AS
 * @fd: the dma-buf
 * @kind: FBIMP_KIND_*
 */
struct fbimp_attach {
	__s32 fd;
	__u32 kind;
};

/* ATTACH as a given kind of importer. EINVAL for an unknown kind. */
#define FBIMP_IOC_ATTACH_AS	_IOW('I', 6, struct fbimp_attach)

/*
 * Userptr: one range of the caller's memory mirrored by the importer, as a
 * GPU driver mirrors a "userptr" object: an mmu_interval_notifier over the
 * range, the pages pinned under it, and "jobs" on those pages that every
 * invalidation waits for (the fences of a dma-buf). At most one per open file.
 */

/**
 * struct fbimp_userptr - argument of %FBIMP_IOC_USERPTR
 * @addr: start of the range, page aligned
 * @len: bytes, page aligned, at most %FBIMP_USERPTR_MAX_LEN
 * @wait_fd: a dma-buf whose fences stand for the importer's jobs on the
 *           pages: every invalidation waits for them (without the buffer's
 *           reservation lock), or -1 for none
 * @wait_ms: the longest one invalidation waits, at most 10000
 */
struct fbimp_userptr {
	__u64 addr;
	__u64 len;
	__s32 wait_fd;
	__u32 wait_ms;
};

#define FBIMP_USERPTR_MAX_LEN	(64ULL << 20)

/**
 * struct fbimp_inval - one invalidation seen by the userptr's notifier
 * @start: first invalidated address (may lie before the range)
 * @end: end of the invalidated addresses (exclusive)
 * @event: enum mmu_notifier_event: 0 unmap (munmap, MAP_FIXED), 1 clear
 *         (a zap such as an exporter's revoke), 2/3 protection, 5 release
 *         (exit), 6 migrate
 * @blockable: 1 if the notifier was allowed to sleep
 */
struct fbimp_inval {
	__u64 start;
	__u64 end;
	__u32 event;
	__u32 blockable;
};

#define FBIMP_USERPTR_LOG	8

/**
 * struct fbimp_userptr_status - argument of %FBIMP_IOC_USERPTR_STATUS
 * @invalidations: invalidations seen since %FBIMP_IOC_USERPTR
 * @refused: non-blockable invalidations refused (jobs still running)
 * @wait_timeouts: invalidations whose wait for the jobs hit @wait_ms
 * @mirrored: 1 if the pinned pages mirror the range (no invalidation since
 *           %FBIMP_IOC_USERPTR_POPULATE)
 * @pages: pages pinned (current or not)
 * @max_wait_ns: the longest wait of one invalidation
 * @held: 1 while a reference from %FBIMP_IOC_USERPTR_HOLD is held
 * @nlog: entries of @log filled: the invalidations since the previous
 *        STATUS, oldest first (the last %FBIMP_USERPTR_LOG of them)
 * @log: those invalidations
 */
struct fbimp_userptr_status {
	__u32 invalidations;
	__u32 refused;
	__u32 wait_timeouts;
	__u32 mirrored;
	__u64 pages;
	__u64 max_wait_ns;
	__u32 held;
	__u32 nlog;
	struct fbimp_inval log[FBIMP_USERPTR_LOG];
};

/*
 * Mirror a range. EBUSY if this file mirrors one already; EINVAL for an
 * unaligned, empty or too large range or @wait_ms over 10000; EBADF (or
 * EINVAL) if @wait_fd is not a dma-buf.
 */
#define FBIMP_IOC_USERPTR		_IOW('I', 7, struct fbimp_userptr)
/*
 * Pin the range's pages (writable), retrying while invalidations collide, at
 * most 16 times, then EAGAIN. Returns the number of pages. EFAULT if a page
 * cannot be pinned (nothing mapped there, or an I/O mapping such as a
 * fencebuf buffer); EINVAL from another process or without a range.
 */
#define FBIMP_IOC_USERPTR_POPULATE	_IOR('I', 8, __u64)
/*
 * Give the notifier a reference to a dma-buf, which the next invalidation
 * drops (from inside the notifier). EBUSY if one is held already.
 */
#define FBIMP_IOC_USERPTR_HOLD		_IOW('I', 9, __s32)
#define FBIMP_IOC_USERPTR_STATUS	_IOR('I', 10, struct fbimp_userptr_status)
/* Stop mirroring: remove the notifier, unpin the pages. EINVAL without a range. */
#define FBIMP_IOC_USERPTR_REMOVE	_IO('I', 11)

/**
 * struct fbimp_segment - one entry of the importer's DMA mapping
 * @addr: its DMA address (a PCI bus address for a peer-to-peer mapping)
 * @len: its length in bytes
 */
struct fbimp_segment {
	__u64 addr;
	__u64 len;
};

/**
 * struct fbimp_segments - argument of %FBIMP_IOC_SEGMENTS
 * @segs_ptr: array of @max struct fbimp_segment to fill
 * @max: its capacity, at most %FBIMP_SEGMENTS_MAX
 * @count: set to the number of entries the mapping has (only the first @max
 *         of them are copied)
 */
struct fbimp_segments {
	__u64 segs_ptr;
	__u32 max;
	__u32 count;
};

#define FBIMP_SEGMENTS_MAX	1024

/*
 * The entries of the current DMA mapping, as the exporter's scatterlist gave
 * them: ENODEV if not mapped, EINVAL if not attached or if @max is over
 * %FBIMP_SEGMENTS_MAX.
 */
#define FBIMP_IOC_SEGMENTS		_IOWR('I', 12, struct fbimp_segments)

/*
 * A kernel mapping kept past invalidation, which breaks the dma-buf rules on
 * purpose, as a buggy importer would: for tests of what the exporter's
 * revoke does then. HOLD vmaps the buffer (attached is enough) and keeps
 * the mapping, returning how many are kept; READ reads the buffer's first
 * 32 bits through it (ENODEV if none is kept); RELEASE gives all back, as
 * DETACH and close do. EINVAL if not attached.
 */
#define FBIMP_IOC_VMAP_HOLD	_IOR('I', 13, __u32)
#define FBIMP_IOC_VMAP_READ	_IOR('I', 14, __u32)
#define FBIMP_IOC_VMAP_RELEASE	_IO('I', 15)

#endif /* FENCEBUF_IMPORTER_H */
