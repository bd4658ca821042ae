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
 */
#define FBIMP_KIND_REVOCABLE		0
#define FBIMP_KIND_NO_INVALIDATE	1
#define FBIMP_KIND_NO_P2P		2

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

#endif /* FENCEBUF_IMPORTER_H */
