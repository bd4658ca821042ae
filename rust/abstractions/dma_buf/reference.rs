// SPDX-License-Identifier: GPL-2.0

//! An owned reference to a dma-buf: a reference to its file.
//!
//! Dropping a [`DmaBuf`] is `fput()`, which never runs the buffer's
//! `release` synchronously, so the last reference may be dropped with any
//! lock held, including one that `release` takes ("Allow MMIO regions to be
//! exported through dmabuf", Dec 2024, deadlocked on exactly that).
//!
//! The sample importer shares this file (by path, as
//! `crate::abstractions::dma_buf::reference`), hence its imports through
//! `crate::abstractions`.

use crate::abstractions::dma_resv::Resv;
use core::ptr::NonNull;
use kernel::{
    bindings,
    error::from_err_ptr,
    fs::File,
    prelude::*,
    sync::aref::ARef, //
};

/// An owned reference to a dma-buf: a reference to its file.
///
/// # Invariants
///
/// We own one reference to the file of the `struct dma_buf` at `self.0`, so
/// the buffer is alive.
pub(crate) struct DmaBuf(NonNull<bindings::dma_buf>);

// SAFETY: File references may be taken and dropped on any thread.
unsafe impl Send for DmaBuf {}
// SAFETY: Every `&self` method is safe from any thread.
unsafe impl Sync for DmaBuf {}

impl DmaBuf {
    /// A reference to the dma-buf at `fd` of the current task
    /// (`dma_buf_get()`): `EBADF` for no file, `EINVAL` for one that is not a
    /// dma-buf.
    // Only importers take buffers from fds.
    #[allow(dead_code)]
    pub(crate) fn get(fd: i32) -> Result<Self> {
        // SAFETY: Any fd may be passed; returns a new reference or an error.
        let buf = from_err_ptr(unsafe { bindings::dma_buf_get(fd) })?;
        // INVARIANT: `dma_buf_get` gave us a reference to the file.
        // SAFETY: Not NULL on success.
        Ok(Self(unsafe { NonNull::new_unchecked(buf) }))
    }

    /// Takes over a reference to the file of `dmabuf`.
    ///
    /// # Safety
    ///
    /// The caller owns a reference to the file of the live buffer `dmabuf`
    /// and gives it to the new object.
    pub(crate) unsafe fn from_raw(dmabuf: NonNull<bindings::dma_buf>) -> Self {
        // INVARIANT: the caller's guarantee.
        Self(dmabuf)
    }

    /// The raw buffer, alive while `self` is.
    pub(crate) fn as_raw(&self) -> *mut bindings::dma_buf {
        self.0.as_ptr()
    }

    fn file_ptr(&self) -> *mut bindings::file {
        // SAFETY: The buffer is alive (type invariant).
        unsafe { (*self.as_raw()).file }
    }

    /// The buffer's file.
    pub(crate) fn file(&self) -> &File {
        // SAFETY: The file is alive while we hold our reference to it.
        unsafe { File::from_raw_file(self.file_ptr()) }
    }

    /// The buffer's file, to install into an fd reserved beforehand.
    pub(crate) fn into_file(self) -> ARef<File> {
        let file = NonNull::new(self.file_ptr().cast::<File>());
        core::mem::forget(self);
        // SAFETY: `File` is a transparent wrapper of `struct file`, never
        // NULL for a live buffer; we hand over the reference we owned.
        unsafe { ARef::from_raw(file.unwrap_unchecked()) }
    }

    /// The buffer's reservation object: its lock and fences.
    // Used by the sample importer, which shares this file.
    #[allow(dead_code)]
    pub(crate) fn resv(&self) -> &Resv {
        // SAFETY: The buffer, and so its reservation object, is alive for
        // the borrow of `self`.
        unsafe { Resv::from_raw((*self.as_raw()).resv) }
    }
}

impl Drop for DmaBuf {
    fn drop(&mut self) {
        // SAFETY: We own a reference (type invariant). `fput()` defers the
        // final release to task work or a workqueue: it never calls `release`
        // synchronously, whatever locks the caller holds.
        unsafe { bindings::fput(self.file_ptr()) };
    }
}
