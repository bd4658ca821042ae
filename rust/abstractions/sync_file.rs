// SPDX-License-Identifier: GPL-2.0

//! Sync files: a fence as a file descriptor.
//!
//! C header: [`include/linux/sync_file.h`](srctree/include/linux/sync_file.h).
//! The core implements every sync_file ioctl (MERGE, FILE_INFO,
//! SET_DEADLINE) and poll for any fence.

use super::dma_fence::Fence;
use core::ptr::NonNull;
use kernel::{
    bindings,
    ffi::{
        c_int,
        c_void, //
    },
    fs::File,
    prelude::*,
    sync::aref::ARef, //
};

extern "C" {
    // Returns a `struct file *`; typed as `void *` as `struct file` is not FFI-safe.
    fn fencebuf_sync_file_create(fence: *mut bindings::dma_fence) -> *mut c_void;
    fn sync_file_get_fence(fd: c_int) -> *mut bindings::dma_fence;
}

/// A new sync_file, not yet installed in any fd table.
pub(crate) struct SyncFile(ARef<File>);

impl SyncFile {
    /// Creates a sync_file holding its own reference to `fence`.
    pub(crate) fn new(fence: &Fence) -> Result<Self> {
        // SAFETY: `fence` is alive; the sync_file takes its own reference.
        let file = unsafe { fencebuf_sync_file_create(fence.as_raw()) };
        let file = NonNull::new(file.cast::<File>()).ok_or(ENOMEM)?;
        // SAFETY: `File` is a transparent wrapper of `struct file`, and the
        // new file's only reference is ours to take over.
        Ok(Self(unsafe { ARef::from_raw(file) }))
    }

    /// The file, to install into an fd reserved beforehand.
    pub(crate) fn into_file(self) -> ARef<File> {
        self.0
    }
}

/// The fence of the sync_file at `fd` in the current task.
///
/// Fails with `EINVAL` when `fd` is not a sync_file (as sw_sync reports it).
pub(crate) fn fence_from_fd(fd: i32) -> Result<ARef<Fence>> {
    // SAFETY: Always safe to call; returns a new reference or NULL.
    let fence = unsafe { sync_file_get_fence(fd) };
    if fence.is_null() {
        return Err(EINVAL);
    }
    // SAFETY: Non-null, initialised, and we own the reference returned.
    Ok(unsafe { Fence::from_owned_raw(fence) })
}
