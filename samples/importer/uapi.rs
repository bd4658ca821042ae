// SPDX-License-Identifier: GPL-2.0

//! The structures of `fencebuf_importer.h`, copied from and to userspace.

use kernel::transmute::{AsBytes, FromBytes};

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
