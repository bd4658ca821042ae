// SPDX-License-Identifier: GPL-2.0

//! What a context's pending fences read: the driver data of their fence
//! type and the value the context has reached, in a state counted by the
//! context, by every unsignalled fence's signaller and by every pending set
//! of the context's fences, freed with `kfree_rcu()` after the last.

use core::{
    ptr::NonNull,
    sync::atomic::AtomicU32, //
};
use kernel::{
    bindings,
    str::CStr,
    sync::Refcount,
    types::Opaque, //
};

/// The driver data of a fence type of this module, kept by its context.
///
/// The data lives in the context's shared state, which is freed with
/// `kfree_rcu()` without running Rust destructors: `Self` must not need
/// dropping (checked at compile time).
pub(crate) trait FenceData: Send + Sync + Sized + 'static {
    /// Reported by `get_driver_name` while a fence is pending.
    const DRIVER_NAME: &'static CStr;

    /// Reported by `get_timeline_name` while a fence is pending.
    fn timeline_name(&self) -> &CStr;

    /// Whether the fence of sequence number `seqno` is signalled once its
    /// context has reached `reached` (see [`FenceContext::set_reached`](super::FenceContext::set_reached)):
    /// the `.signaled` peek, called under RCU, lock-free.
    fn is_reached(seqno: u64, reached: u32) -> bool;
}

/// What the pending fences of a context read: its data and reached value.
///
/// # Invariants
///
/// - Allocated by [`FenceContext::new`](super::FenceContext::new) with `KBox`; `refs` counts the
///   [`StateRef`]s; freed only when the last count is put, with `kvfree_call_rcu()` on `rcu`.
/// - Every `DriverFence<T>` pointing here is signalled, or has a
///   [`FenceSignaller`](super::FenceSignaller) holding a count, or is in a
///   [`PendingFences`](super::PendingFences) holding one.
#[repr(C)]
pub(super) struct ContextState<T: FenceData> {
    pub(super) rcu: Opaque<crate::abstractions::compat::KvfreeRcuHead>,
    pub(super) refs: Refcount,
    pub(super) reached: AtomicU32,
    pub(super) data: T,
}

/// One counted reference to a [`ContextState`].
///
/// # Invariants
///
/// `0` points to a live `ContextState<T>` and owns one count of its `refs`.
pub(super) struct StateRef<T: FenceData>(NonNull<ContextState<T>>);

// SAFETY: The state is only read through shared references (atomics and
// `T: Sync`), and freed by whichever thread drops the last count.
unsafe impl<T: FenceData> Send for StateRef<T> {}
// SAFETY: See `Send`.
unsafe impl<T: FenceData> Sync for StateRef<T> {}

impl<T: FenceData> StateRef<T> {
    /// # Safety
    ///
    /// `state` is a live state on which the caller owns one count, given to
    /// the new reference.
    pub(super) unsafe fn from_raw(state: NonNull<ContextState<T>>) -> Self {
        // INVARIANT: the caller's guarantee.
        Self(state)
    }

    /// The state, for fences that point at it without a count.
    pub(super) fn as_ptr(&self) -> NonNull<ContextState<T>> {
        self.0
    }

    pub(super) fn get(&self) -> &ContextState<T> {
        // SAFETY: Live while the count is held, by the type invariant.
        unsafe { self.0.as_ref() }
    }

    /// # Safety
    ///
    /// The last count on `state` is gone.
    unsafe fn free(state: NonNull<ContextState<T>>) {
        let p = state.as_ptr();
        // SAFETY: Nothing but RCU readers (ops entered before their fence
        // signalled) can still see the state, and `kvfree_call_rcu` waits for
        // them. The `KBox` allocation is kmalloc memory; `T` needs no drop.
        unsafe { bindings::kvfree_call_rcu(Opaque::cast_into(&raw const (*p).rcu), p.cast()) };
    }
}

impl<T: FenceData> Clone for StateRef<T> {
    fn clone(&self) -> Self {
        // The state is live (our count), so the count is not zero.
        self.get().refs.inc();
        // INVARIANT: The count just taken is the new reference's.
        Self(self.0)
    }
}

impl<T: FenceData> Drop for StateRef<T> {
    fn drop(&mut self) {
        // The state is live (our count, given up here).
        if self.get().refs.dec_and_test() {
            // SAFETY: That was the last count.
            unsafe { Self::free(self.0) };
        }
    }
}
