// SPDX-License-Identifier: GPL-2.0

//! DMA buffers: an owned reference to one, and an importer's attachment.
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h).
//!
//! A `struct dma_buf` has two lifetimes. Its file is what every reference
//! counts: [`DmaBuf`] owns one. The buffer itself, with its reservation
//! object and inode, lives as long as its *dentry*: `dma_buf_release()`,
//! which calls the exporter's `release` and frees the buffer, is the
//! dentry's `d_release`. Anything else that holds the dentry (an `O_PATH`
//! open of `/proc/PID/fd/N`, a bind mount of that link) lets `__fput()` free
//! the file while the buffer lives on, with `dmabuf->file` dangling. So an
//! exporter that finds its buffers through a list, without a file
//! reference, must never touch their file: `dma_buf_object` has the types
//! for that.
//!
//! Dropping a [`DmaBuf`] is `fput()`, which never runs the buffer's
//! `release` synchronously, so the last reference may be dropped with any
//! lock held, including one that `release` takes ("Allow MMIO regions to be
//! exported through dmabuf", Dec 2024, deadlocked on exactly that).

use super::dma_resv::Resv;
use core::ptr::NonNull;
use kernel::{
    bindings,
    error::from_err_ptr,
    fs::File,
    prelude::*,
    sync::aref::ARef,
    types::Opaque, //
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

/// An importer's attachment to a buffer.
///
/// # Invariants
///
/// The attachment is alive for as long as a `&Attachment` exists.
#[repr(transparent)]
pub(crate) struct Attachment(Opaque<bindings::dma_buf_attachment>);

impl Attachment {
    /// # Safety
    ///
    /// `ptr` is a live attachment, for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::dma_buf_attachment) -> &'a Self {
        // SAFETY: Transparent wrapper; validity is the caller's guarantee.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The raw attachment.
    pub(crate) fn as_raw(&self) -> *mut bindings::dma_buf_attachment {
        self.0.get()
    }

    /// The buffer attached to.
    pub(crate) fn dmabuf_raw(&self) -> *mut bindings::dma_buf {
        // SAFETY: The attachment is alive (type invariant); its buffer never
        // changes.
        unsafe { (*self.as_raw()).dmabuf }
    }

    /// Whether the importer accepts peer-to-peer (MMIO) addresses.
    pub(crate) fn peer2peer(&self) -> bool {
        // SAFETY: The attachment is alive (type invariant).
        unsafe { (*self.as_raw()).peer2peer }
    }

    /// Whether the importer implements `invalidate_mappings`, so that its
    /// mappings can be revoked.
    pub(crate) fn is_revocable(&self) -> bool {
        // SAFETY: The attachment is alive (type invariant).
        unsafe { bindings::dma_buf_attach_revocable(self.as_raw()) }
    }
}
