// SPDX-License-Identifier: GPL-2.0

//! Reservation objects: the lock and the fences of a shared buffer.
//!
//! C header: [`include/linux/dma-resv.h`](srctree/include/linux/dma-resv.h).

use core::{
    marker::PhantomData,
    ptr::NonNull, //
};
use kernel::{
    bindings,
    prelude::*,
    time::Jiffies,
    types::Opaque, //
};

/// A `struct dma_resv`, borrowed from the object that embeds it.
///
/// # Invariants
///
/// The wrapped reservation object is initialised and outlives every `&Resv`.
#[repr(transparent)]
pub(crate) struct Resv(Opaque<bindings::dma_resv>);

impl Resv {
    /// Borrows the reservation object at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` points to an initialised `struct dma_resv` that stays alive for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::dma_resv) -> &'a Self {
        // SAFETY: `Resv` is a transparent wrapper of `struct dma_resv`; the
        // caller guarantees it is alive for `'a`.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Takes the lock, without a ww acquire context (one object at a time).
    pub(crate) fn lock(&self) -> ResvGuard<'_> {
        // SAFETY: `self` is initialised (type invariant). Without an acquire
        // context the lock cannot fail with -EDEADLK or -EALREADY.
        let ret = unsafe { bindings::dma_resv_lock(self.0.get(), core::ptr::null_mut()) };
        debug_assert_eq!(ret, 0);
        // INVARIANT: we took the lock just above.
        ResvGuard {
            resv: NonNull::from(self),
            _not_send: PhantomData,
        }
    }

    /// Waits until every fence of the object (all usages, including
    /// bookkeeping ones) has signalled, or `timeout` jiffies have passed.
    /// Takes no lock: the fences are read under RCU, so this may run with or
    /// without the reservation lock, and inside an MMU notifier.
    ///
    /// Returns `true` if every fence signalled, `false` on timeout.
    pub(crate) fn wait_fences(&self, timeout: Jiffies) -> bool {
        // MAX_SCHEDULE_TIMEOUT is LONG_MAX: never wait longer than that.
        // CAST: `LONG_MAX` is positive.
        let timeout = core::cmp::min(timeout, c_long::MAX as Jiffies);
        // SAFETY: The object is initialised (type invariant); an
        // uninterruptible wait needs no lock.
        let ret = unsafe {
            bindings::dma_resv_wait_timeout(
                self.0.get(),
                bindings::dma_resv_usage_DMA_RESV_USAGE_BOOKKEEP,
                false,
                timeout,
            )
        };
        ret > 0
    }

    /// Whether every fence of the object (all usages) has signalled. Never
    /// sleeps and takes no lock.
    pub(crate) fn fences_signaled(&self) -> bool {
        // SAFETY: The object is initialised (type invariant); the test reads
        // the fences under RCU.
        unsafe {
            bindings::dma_resv_test_signaled(
                self.0.get(),
                bindings::dma_resv_usage_DMA_RESV_USAGE_BOOKKEEP,
            )
        }
    }
}

/// The lock of a [`Resv`], held; unlocked on drop.
///
/// # Invariants
///
/// The lock of `resv` is held by this task for the life of the guard.
pub(crate) struct ResvGuard<'a> {
    resv: NonNull<Resv>,
    // A ww_mutex must be released by the task that took it.
    _not_send: PhantomData<(&'a Resv, *mut ())>,
}

impl ResvGuard<'_> {
    /// The raw object, for callers that need the lock held.
    pub(crate) fn as_raw(&self) -> *mut bindings::dma_resv {
        // SAFETY: The object is alive for `'a`.
        unsafe { self.resv.as_ref() }.0.get()
    }
}

impl Drop for ResvGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: The lock is held by this task (type invariant).
        unsafe { bindings::dma_resv_unlock(self.as_raw()) };
    }
}
