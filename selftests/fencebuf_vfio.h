/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VFIO opened the way a VMM opens it, to compare fencebuf's exporter with
 * the kernel's own (vfio-pci's dma-buf export, Linux 7.3) on the guest's
 * second ivshmem device (qemu/run-vm.sh), which the guest binds to vfio-pci
 * (qemu/guest-init.sh):
 *
 *  - the device's group, then a container with the IOMMU model the kernel
 *    offers: no-IOMMU (the guest has no IOMMU; vfio's
 *    enable_unsafe_noiommu_mode, group node /dev/vfio/noiommu-N) or type 1;
 *  - the device fd, its BAR2 and config-space regions;
 *  - BAR ranges exported as dma-bufs (VFIO_DEVICE_FEATURE_DMA_BUF);
 *  - memory decoding toggled by writing PCI_COMMAND through the config
 *    region, which is how VFIO revokes and restores its dma-bufs;
 *  - the BAR mmapped through the device fd (VFIO's dma-bufs have no mmap).
 *
 * Every call returns 0 (or an fd) or -errno.
 */
#ifndef FENCEBUF_VFIO_H
#define FENCEBUF_VFIO_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#define FB_VFIO_PCI_ADDR "0000:01:03.0"
#define FB_VFIO_DRIVER_DIR "/sys/bus/pci/drivers/vfio-pci"
/* Ranges a single export takes without allocating (the benchmarks' case). */
#define FB_VFIO_INLINE_RANGES 8

struct fb_vfio {
	int container, group, device;
	/* Where BAR2 and config space sit in the device fd's offsets. */
	__u64 bar_offset, bar_size, config_offset;
	/* PCI_COMMAND as last written: memory toggling writes without reading. */
	__u16 command;
	/* After a failed fb_vfio_open(): which step failed, and why. */
	char why[192];
};

static inline void fb_vfio_close(struct fb_vfio *v)
{
	if (v->device >= 0)
		close(v->device);
	if (v->group >= 0)
		close(v->group);
	if (v->container >= 0)
		close(v->container);
	v->device = v->group = v->container = -1;
}

/* Records why @what failed (errno), closes what was opened, returns -errno. */
static inline int fb_vfio_fail(struct fb_vfio *v, const char *what)
{
	int err = errno ? errno : EIO;

	snprintf(v->why, sizeof(v->why), "%s: %s", what, strerror(err));
	fb_vfio_close(v);
	return -err;
}

static inline int fb_vfio_region(int device, __u32 index, __u64 *offset, __u64 *size)
{
	struct vfio_region_info info = { .argsz = sizeof(info), .index = index };

	if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &info))
		return -errno;
	*offset = info.offset;
	*size = info.size;
	return 0;
}

/* Open the device at PCI address @bdf (bound to vfio-pci) as a VMM does. */
static inline int fb_vfio_open(struct fb_vfio *v, const char *bdf)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char link[PATH_MAX], path[96];
	const char *name;
	__u64 size;
	ssize_t n;
	int group, model;

	v->container = v->group = v->device = -1;
	v->why[0] = 0;
	errno = 0;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return fb_vfio_fail(v, path);
	link[n] = 0;
	name = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
	if (sscanf(name, "%d", &group) != 1) {
		errno = EINVAL;
		return fb_vfio_fail(v, "iommu_group is not a number");
	}
	/* A no-IOMMU group has a node of its own name (and needs CAP_SYS_RAWIO). */
	snprintf(path, sizeof(path), "/dev/vfio/noiommu-%d", group);
	v->group = open(path, O_RDWR | O_CLOEXEC);
	if (v->group < 0 && errno == ENOENT) {
		snprintf(path, sizeof(path), "/dev/vfio/%d", group);
		v->group = open(path, O_RDWR | O_CLOEXEC);
	}
	if (v->group < 0)
		return fb_vfio_fail(v, path);
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &status))
		return fb_vfio_fail(v, "VFIO_GROUP_GET_STATUS");
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		errno = EBUSY;
		return fb_vfio_fail(v, "group not viable (another device of it has a driver)");
	}
	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0)
		return fb_vfio_fail(v, "/dev/vfio/vfio");
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		errno = EPROTO;
		return fb_vfio_fail(v, "VFIO_GET_API_VERSION");
	}
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container))
		return fb_vfio_fail(v, "VFIO_GROUP_SET_CONTAINER");
	model = ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU) > 0 ?
		VFIO_NOIOMMU_IOMMU : VFIO_TYPE1v2_IOMMU;
	if (ioctl(v->container, VFIO_SET_IOMMU, model))
		return fb_vfio_fail(v, "VFIO_SET_IOMMU");
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (v->device < 0)
		return fb_vfio_fail(v, "VFIO_GROUP_GET_DEVICE_FD");
	errno = -fb_vfio_region(v->device, VFIO_PCI_BAR2_REGION_INDEX, &v->bar_offset,
				&v->bar_size);
	if (errno)
		return fb_vfio_fail(v, "VFIO_DEVICE_GET_REGION_INFO (BAR2)");
	errno = -fb_vfio_region(v->device, VFIO_PCI_CONFIG_REGION_INDEX, &v->config_offset,
				&size);
	if (errno)
		return fb_vfio_fail(v, "VFIO_DEVICE_GET_REGION_INFO (config)");
	if (pread(v->device, &v->command, sizeof(v->command),
		  v->config_offset + PCI_COMMAND) != sizeof(v->command))
		return fb_vfio_fail(v, "reading PCI_COMMAND");
	return 0;
}

/* Export @n ranges of @region as a dma-buf; its fd or -errno. */
static inline int fb_vfio_export_ranges(struct fb_vfio *v, __u32 region, __u32 flags,
					const struct vfio_region_dma_range *r, __u32 n)
{
	union {
		struct vfio_device_feature feature;
		__u8 bytes[sizeof(struct vfio_device_feature) +
			   sizeof(struct vfio_device_feature_dma_buf) +
			   FB_VFIO_INLINE_RANGES * sizeof(struct vfio_region_dma_range)];
	} inline_arg = { 0 };
	struct vfio_device_feature *f = &inline_arg.feature;
	struct vfio_device_feature_dma_buf *get;
	size_t size = sizeof(*f) + sizeof(*get) + (size_t)n * sizeof(*r);
	int ret;

	if (n > FB_VFIO_INLINE_RANGES) {
		f = calloc(1, size);
		if (!f)
			return -ENOMEM;
	}
	f->argsz = size;
	f->flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_BUF;
	get = (struct vfio_device_feature_dma_buf *)f->data;
	get->region_index = region;
	get->open_flags = O_RDWR | O_CLOEXEC;
	get->flags = flags;
	get->nr_ranges = n;
	if (n)
		memcpy(get->dma_ranges, r, n * sizeof(*r));
	ret = ioctl(v->device, VFIO_DEVICE_FEATURE, f);
	ret = ret < 0 ? -errno : ret;
	if (f != &inline_arg.feature)
		free(f);
	return ret;
}

/* Export [offset, offset + len) of BAR2; the dma-buf fd or -errno. */
static inline int fb_vfio_export(struct fb_vfio *v, __u64 offset, __u64 len)
{
	struct vfio_region_dma_range r = { .offset = offset, .length = len };

	return fb_vfio_export_ranges(v, VFIO_PCI_BAR2_REGION_INDEX, 0, &r, 1);
}

/* Memory decoding on or off: off revokes every dma-buf, on restores them. */
static inline int fb_vfio_memory(struct fb_vfio *v, int on)
{
	__u16 cmd = on ? v->command | PCI_COMMAND_MEMORY : v->command & ~PCI_COMMAND_MEMORY;
	ssize_t n = pwrite(v->device, &cmd, sizeof(cmd), v->config_offset + PCI_COMMAND);

	if (n != sizeof(cmd))
		return n < 0 ? -errno : -EIO;
	v->command = cmd;
	return 0;
}

/* BAR2 [offset, offset + len) mapped through the device fd, or MAP_FAILED. */
static inline void *fb_vfio_mmap_bar(struct fb_vfio *v, size_t len, __u64 offset)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, v->device,
		    v->bar_offset + offset);
}

#endif /* FENCEBUF_VFIO_H */
