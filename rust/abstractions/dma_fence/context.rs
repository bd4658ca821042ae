// SPDX-License-Identifier: GPL-2.0

//! A fence context: the timeline a set of this module's fences is ordered
//! on.

use super::{
    driver_fence::DriverFence,
    fence::Fence,
    state::{
        ContextState,
        FenceData,
        StateRef, //
    }, //
};
use core::{
    mem::needs_drop,
    ptr::NonNull,
    sync::atomic::{
        AtomicU32,
        Ordering, //
    }, //
};
use kernel::{
    bindings,
    prelude::*,
    sync::Refcount,
    types::Opaque, //
};

/// A fence context: the timeline that a set of fences is ordered on.
///
/// # Invariants
///
/// `id` was returned by `dma_fence_context_alloc`, and every fence with this
/// context is a `DriverFence<T>` on `state` (only [`FenceSignaller::new`](super::FenceSignaller::new)
/// creates them).
pub(crate) struct FenceContext<T: FenceData> {
    id: u64,
    state: StateRef<T>,
}

impl<T: FenceData> FenceContext<T> {
    /// The context's id, as `dma_fence_context_alloc()` gave it.
    pub(super) fn id(&self) -> u64 {
        self.id
    }

    /// The context's state, which its fences read.
    pub(super) fn state(&self) -> &StateRef<T> {
        &self.state
    }

    /// Allocates a new, globally unique fence context, whose fences report
    /// `data`, charged to the caller's memory cgroup.
    pub(crate) fn new(data: T) -> Result<Self> {
        const { assert!(!needs_drop::<T>(), "context data is freed by kfree_rcu()") };
        let state = KBox::new(
            ContextState {
                rcu: Opaque::uninit(),
                refs: Refcount::new(1),
                reached: AtomicU32::new(0),
                data,
            },
            GFP_KERNEL_ACCOUNT,
        )?;
        // SAFETY: Always safe to call.
        let id = unsafe { bindings::dma_fence_context_alloc(1) };
        // INVARIANT: A fresh state with one count, which `state` owns.
        // SAFETY: A fresh state with one count, which the reference owns.
        let state = unsafe { StateRef::from_raw(NonNull::from(KBox::leak(state))) };
        Ok(Self { id, state })
    }

    /// The data the context's fences report.
    pub(crate) fn data(&self) -> &T {
        &self.state.get().data
    }

    /// Lets waiters see, without a lock, every pending fence of the context
    /// whose seqno is at or before `value` (32-bit wrap-around order) as
    /// signalled, successfully, from now on.
    ///
    /// A waiter that sees it signals the fence itself: set a value only once
    /// every fence it covers may succeed, i.e. after signalling the ones
    /// that fail. Values must not go back.
    pub(crate) fn set_reached(&self, value: u32) {
        self.state.get().reached.store(value, Ordering::Release);
    }

    /// Returns `fence` as a `DriverFence<T>` if it belongs to this context.
    ///
    /// Works whether or not the fence has signalled.
    pub(crate) fn downcast<'a>(&self, fence: &'a Fence) -> Option<&'a DriverFence<T>> {
        if fence.context() != self.id {
            return None;
        }
        // SAFETY: By the type invariant, a fence of this context is a
        // `DriverFence<T>`; `&'a Fence` keeps it alive.
        Some(unsafe { DriverFence::from_base(fence.as_raw()) })
    }
}
