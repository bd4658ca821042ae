// SPDX-License-Identifier: GPL-2.0

//! A reference-counted `struct dma_fence` of any driver.

use core::ptr::NonNull;
use kernel::{
    bindings,
    sync::aref::{
        ARef,
        AlwaysRefCounted, //
    },
    types::Opaque, //
};

extern "C" {
    fn fencebuf_dma_fence_get(fence: *mut bindings::dma_fence) -> *mut bindings::dma_fence;
    fn fencebuf_dma_fence_put(fence: *mut bindings::dma_fence);
    fn fencebuf_dma_fence_is_signaled(fence: *mut bindings::dma_fence) -> bool;
}

/// A reference-counted `struct dma_fence`, of any driver.
///
/// # Invariants
///
/// The wrapped fence is initialised (`dma_fence_init`) and its reference count
/// is non-zero for as long as a `&Fence` exists.
#[repr(transparent)]
pub(crate) struct Fence(Opaque<bindings::dma_fence>);

// SAFETY: A `struct dma_fence` may be used and released from any thread: its
// reference count is atomic and its state is protected by its lock.
unsafe impl Send for Fence {}
// SAFETY: Every `&self` method below is safe to call concurrently: they read
// immutable fields or go through the fence's lock or atomic flags.
unsafe impl Sync for Fence {}

// SAFETY: `dma_fence_get`/`dma_fence_put` manage the fence's reference count;
// the fence stays valid while the count is non-zero.
unsafe impl AlwaysRefCounted for Fence {
    fn inc_ref(&self) {
        // SAFETY: By the type invariant the fence is alive (count > 0).
        unsafe { fencebuf_dma_fence_get(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller passes a reference it owns; `Fence` is
        // `repr(transparent)` over `struct dma_fence`.
        unsafe { fencebuf_dma_fence_put(obj.as_ptr().cast()) };
    }
}

impl Fence {
    /// Borrows a `Fence` from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` points to an initialised fence on which the caller holds a
    /// reference for the whole lifetime `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::dma_fence) -> &'a Self {
        // SAFETY: `Fence` is `repr(transparent)` over `struct dma_fence`; the
        // caller guarantees validity for `'a`.
        unsafe { &*ptr.cast() }
    }

    /// Takes over a reference the caller owns.
    ///
    /// # Safety
    ///
    /// `ptr` is non-null and points to an initialised fence; the caller
    /// transfers one reference to the returned `ARef`.
    pub(crate) unsafe fn from_owned_raw(ptr: *mut bindings::dma_fence) -> ARef<Self> {
        // SAFETY: Non-null by the safety requirements.
        let ptr = unsafe { NonNull::new_unchecked(ptr.cast::<Self>()) };
        // SAFETY: The caller transfers ownership of one reference.
        unsafe { ARef::from_raw(ptr) }
    }

    /// The raw `struct dma_fence` pointer.
    pub(crate) fn as_raw(&self) -> *mut bindings::dma_fence {
        self.0.get()
    }

    /// The fence's context, fixed at creation.
    pub(crate) fn context(&self) -> u64 {
        // SAFETY: `context` is written by `dma_fence_init` only.
        unsafe { (*self.as_raw()).context }
    }

    /// The fence's sequence number on its context, fixed at creation.
    pub(crate) fn seqno(&self) -> u64 {
        // SAFETY: `seqno` is written by `dma_fence_init` only.
        unsafe { (*self.as_raw()).seqno }
    }

    /// Whether the fence has signalled.
    pub(crate) fn is_signaled(&self) -> bool {
        // SAFETY: The fence is alive by the type invariant.
        unsafe { fencebuf_dma_fence_is_signaled(self.as_raw()) }
    }
}
