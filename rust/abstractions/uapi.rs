// SPDX-License-Identifier: GPL-2.0

//! The uAPI of `include/uapi/linux/fencebuf.h`: its structures, as Rust
//! types that can be copied from and to userspace, and its ioctl numbers and
//! flags, under the header's names.
//!
//! Each struct is `repr(C)` with only integer fields and no padding
//! (asserted below), so every bit pattern is valid and no byte is
//! uninitialised: the conditions of `FromBytes` and `AsBytes`.
//!
//! Written by hand, as the kernel's bindgen does not see an out-of-tree
//! header; `make uapi-layout-check` (`scripts/lint/uapi-layout.py`) compares
//! every member's name, offset, size and sign with the header's as a C
//! compiler lays it out, and every constant's value with the header's.

use core::mem::size_of;
use kernel::{
    ioctl::{
        _IOR,
        _IOW,
        _IOWR, //
    },
    transmute::{
        AsBytes,
        FromBytes, //
    }, //
};

// CAST: an ASCII character, as in C's `_IOW('W', ...)`.
pub(crate) const SW_SYNC_IOC_MAGIC: u32 = b'W' as u32;
pub(crate) const SW_SYNC_IOC_CREATE_FENCE: u32 =
    _IOWR::<SwSyncCreateFenceData>(SW_SYNC_IOC_MAGIC, 0);
pub(crate) const SW_SYNC_IOC_INC: u32 = _IOW::<u32>(SW_SYNC_IOC_MAGIC, 1);
pub(crate) const SW_SYNC_GET_DEADLINE: u32 = _IOWR::<SwSyncGetDeadline>(SW_SYNC_IOC_MAGIC, 2);
pub(crate) const FENCEBUF_IOC_SIGNAL: u32 = _IOW::<FencebufSignal>(SW_SYNC_IOC_MAGIC, 0x80);

// CAST: an ASCII character, as in C's `_IOR('F', ...)`.
pub(crate) const FENCEBUF_IOC_MAGIC: u32 = b'F' as u32;
pub(crate) const FENCEBUF_IOC_GET_INFO: u32 = _IOR::<FencebufInfo>(FENCEBUF_IOC_MAGIC, 0);
pub(crate) const FENCEBUF_IOC_EXPORT: u32 = _IOWR::<FencebufExport>(FENCEBUF_IOC_MAGIC, 1);
pub(crate) const FENCEBUF_IOC_MEMORY_ENABLE: u32 = _IOW::<u32>(FENCEBUF_IOC_MAGIC, 2);

pub(crate) const FENCEBUF_REGION_EXPORTABLE: u32 = 1 << 0;
pub(crate) const FENCEBUF_REGION_PREFETCH: u32 = 1 << 1;
pub(crate) const FENCEBUF_REGION_MEM64: u32 = 1 << 2;
pub(crate) const FENCEBUF_NUM_REGIONS: usize = 6;
pub(crate) const FENCEBUF_INFO_MEMORY_ENABLED: u32 = 1 << 0;
pub(crate) const FENCEBUF_EXPORT_REUSE: u32 = 1 << 0;

/// `struct sw_sync_create_fence_data`.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct SwSyncCreateFenceData {
    pub(crate) value: u32,
    pub(crate) name: [u8; 32],
    pub(crate) fence: i32,
}

/// `struct sw_sync_get_deadline`.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct SwSyncGetDeadline {
    pub(crate) deadline_ns: u64,
    pub(crate) pad: u32,
    pub(crate) fence_fd: i32,
}

/// `struct fencebuf_signal`.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct FencebufSignal {
    pub(crate) value: u32,
    pub(crate) error: i32,
}

// The sizes userspace was built with: any padding would show here.
const _: () = assert!(size_of::<SwSyncCreateFenceData>() == 4 + 32 + 4);
const _: () = assert!(size_of::<SwSyncGetDeadline>() == 8 + 4 + 4);
const _: () = assert!(size_of::<FencebufSignal>() == 4 + 4);

// SAFETY: `repr(C)`, integer fields only, no padding (asserted above).
unsafe impl FromBytes for SwSyncCreateFenceData {}
// SAFETY: As above: no padding, so no uninitialised bytes.
unsafe impl AsBytes for SwSyncCreateFenceData {}
// SAFETY: `repr(C)`, integer fields only, no padding (asserted above).
unsafe impl FromBytes for SwSyncGetDeadline {}
// SAFETY: As above: no padding, so no uninitialised bytes.
unsafe impl AsBytes for SwSyncGetDeadline {}
// SAFETY: `repr(C)`, integer fields only, no padding (asserted above).
unsafe impl FromBytes for FencebufSignal {}

/// `struct fencebuf_region_info`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct FencebufRegionInfo {
    pub(crate) index: u32,
    pub(crate) flags: u32,
    pub(crate) size: u64,
}

/// `struct fencebuf_info`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct FencebufInfo {
    pub(crate) flags: u32,
    pub(crate) num_regions: u32,
    pub(crate) max_ranges: u32,
    pub(crate) num_buffers: u32,
    pub(crate) regions: [FencebufRegionInfo; FENCEBUF_NUM_REGIONS],
}

/// `struct fencebuf_range`.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct FencebufRange {
    pub(crate) offset: u64,
    pub(crate) length: u64,
}

/// `struct fencebuf_export`.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct FencebufExport {
    pub(crate) region: u32,
    pub(crate) open_flags: u32,
    pub(crate) flags: u32,
    pub(crate) nr_ranges: u32,
    pub(crate) ranges: u64,
    pub(crate) fd: i32,
    pub(crate) pad: u32,
}

const _: () = assert!(size_of::<FencebufRegionInfo>() == 4 + 4 + 8);
const _: () = assert!(size_of::<FencebufInfo>() == 4 * 4 + 6 * 16);
const _: () = assert!(size_of::<FencebufRange>() == 8 + 8);
const _: () = assert!(size_of::<FencebufExport>() == 4 * 4 + 8 + 4 + 4);

// SAFETY: `repr(C)`, integer fields only, no padding (asserted above).
unsafe impl AsBytes for FencebufRegionInfo {}
// SAFETY: `repr(C)`, integer fields and arrays of a padding-free struct, no
// padding (asserted above).
unsafe impl AsBytes for FencebufInfo {}
// SAFETY: `repr(C)`, integer fields only, no padding (asserted above).
unsafe impl FromBytes for FencebufRange {}
// SAFETY: `repr(C)`, integer fields only, no padding (asserted above).
unsafe impl FromBytes for FencebufExport {}
// SAFETY: As above: no padding, so no uninitialised bytes.
unsafe impl AsBytes for FencebufExport {}
