// SPDX-License-Identifier: GPL-2.0

//! An importer's attachment to a buffer, as its exporter sees it.

use kernel::{
    bindings,
    types::Opaque, //
};

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
