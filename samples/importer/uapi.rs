// SPDX-License-Identifier: GPL-2.0

//! The structures of `fencebuf_importer.h`, copied from and to userspace.

use kernel::transmute::{
    AsBytes,
    FromBytes, //
};

/// `struct fbimp_access`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct FbimpAccess {
    pub(crate) offset: u64,
    pub(crate) len: u64,
    pub(crate) user_ptr: u64,
    pub(crate) write: u32,
    pub(crate) pad: u32,
}

/// `struct fbimp_status`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct FbimpStatus {
    pub(crate) attached: u32,
    pub(crate) mapped: u32,
    pub(crate) invalidations: u32,
    pub(crate) pad: u32,
    pub(crate) size: u64,
}

const _: () = assert!(core::mem::size_of::<FbimpAccess>() == 32);
const _: () = assert!(core::mem::size_of::<FbimpStatus>() == 24);

// SAFETY: `repr(C)`, integer fields only, no padding (asserted above).
unsafe impl FromBytes for FbimpAccess {}
// SAFETY: `repr(C)`, integer fields only, no padding (asserted above).
unsafe impl AsBytes for FbimpStatus {}

/// `struct fbimp_attach`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct FbimpAttach {
    pub(crate) fd: i32,
    pub(crate) kind: u32,
}

const _: () = assert!(core::mem::size_of::<FbimpAttach>() == 8);

// SAFETY: `repr(C)`, integer fields only, no padding (asserted above).
unsafe impl FromBytes for FbimpAttach {}

/// `struct fbimp_userptr`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct FbimpUserptr {
    pub(crate) addr: u64,
    pub(crate) len: u64,
    pub(crate) wait_fd: i32,
    pub(crate) wait_ms: u32,
}

/// `struct fbimp_inval`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct FbimpInval {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) event: u32,
    pub(crate) blockable: u32,
}

/// `FBIMP_USERPTR_LOG`.
pub(crate) const USERPTR_LOG: usize = 8;

/// `FBIMP_USERPTR_MAX_LEN`.
#[cfg_attr(not(CONFIG_MMU_NOTIFIER), allow(dead_code))]
pub(crate) const USERPTR_MAX_LEN: u64 = 64 << 20;

/// `struct fbimp_userptr_status`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct FbimpUserptrStatus {
    pub(crate) invalidations: u32,
    pub(crate) refused: u32,
    pub(crate) wait_timeouts: u32,
    pub(crate) mirrored: u32,
    pub(crate) pages: u64,
    pub(crate) max_wait_ns: u64,
    pub(crate) held: u32,
    pub(crate) nlog: u32,
    pub(crate) log: [FbimpInval; USERPTR_LOG],
}

const _: () = assert!(core::mem::size_of::<FbimpUserptr>() == 24);
const _: () = assert!(core::mem::size_of::<FbimpInval>() == 24);
const _: () = assert!(core::mem::size_of::<FbimpUserptrStatus>() == 40 + 24 * USERPTR_LOG);

// SAFETY: `repr(C)`, integer fields only, no padding (asserted above).
unsafe impl FromBytes for FbimpUserptr {}
// SAFETY: `repr(C)`, integer fields only, no padding (asserted above).
unsafe impl AsBytes for FbimpInval {}
// SAFETY: `repr(C)`, integer fields and arrays of `FbimpInval`, no padding
// (asserted above).
unsafe impl AsBytes for FbimpUserptrStatus {}

/// `struct fbimp_segment`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct FbimpSegment {
    pub(crate) addr: u64,
    pub(crate) len: u64,
}

/// `struct fbimp_segments`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct FbimpSegments {
    pub(crate) segs_ptr: u64,
    pub(crate) max: u32,
    pub(crate) count: u32,
}

/// `FBIMP_SEGMENTS_MAX`.
pub(crate) const SEGMENTS_MAX: u32 = 1024;

const _: () = assert!(core::mem::size_of::<FbimpSegment>() == 16);
const _: () = assert!(core::mem::size_of::<FbimpSegments>() == 16);

// SAFETY: `repr(C)`, integer fields only, no padding (asserted above).
unsafe impl AsBytes for FbimpSegment {}
// SAFETY: `repr(C)`, integer fields only, no padding (asserted above).
unsafe impl FromBytes for FbimpSegments {}
// SAFETY: `repr(C)`, integer fields only, no padding (asserted above).
unsafe impl AsBytes for FbimpSegments {}
