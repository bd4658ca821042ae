// SPDX-License-Identifier: GPL-2.0

//! Creating and signalling this module's fences: the signaller that is the
//! unique right and duty to signal one, batches of them, their time, and
//! the signalling section lockdep checks.

use super::{
    context::FenceContext,
    driver_fence::DriverFence,
    state::{
        FenceData,
        StateRef, //
    }, //
};
use kernel::{
    bindings,
    prelude::*,
    sync::aref::ARef, //
};

extern "C" {
    fn fencebuf_dma_fence_signal(
        fence: *mut bindings::dma_fence,
        error: i32,
        timestamp: bindings::ktime_t,
    );
    fn fencebuf_dma_fence_begin_signalling() -> bool;
    fn fencebuf_dma_fence_end_signalling(cookie: bool);
}

/// The error of a fence signalled with `errno`: a negative errno no lower
/// than `-MAX_ERRNO`, as `dma_fence_set_error()` requires; `None` otherwise.
pub(crate) fn fence_error(errno: i32) -> Option<Error> {
    // CAST: `MAX_ERRNO` is 4095.
    let lowest = -(bindings::MAX_ERRNO as i32);
    (lowest..0)
        .contains(&errno)
        .then(|| Error::from_errno(errno))
}

/// The unique right and duty to signal one fence.
///
/// # Examples
///
/// ```ignore
/// let fence = FenceSignaller::new(&ctx, 1)?;
/// // Shared with userspace: the sync_file holds its own reference.
/// let file = SyncFile::new(fence.fence())?;
/// // Signalling consumes the signaller: no fence is signalled twice, and
/// // one dropped unsignalled signals -ECANCELED.
/// fence.signal(Err(ETIMEDOUT));
/// ```
///
/// # Invariants
///
/// `fence` is a `DriverFence<T>` that no one else can signal, except a
/// waiter that sees its context reach it; `state` is a count on the fence's
/// `state`, put only after the fence has signalled.
pub(crate) struct FenceSignaller<T: FenceData> {
    fence: ARef<DriverFence<T>>,
    state: StateRef<T>,
}

impl<T: FenceData> FenceSignaller<T> {
    /// Creates an unsignalled fence at `seqno` (32-bit, wrap-around ordering)
    /// on `ctx`, charged to the caller's memory cgroup.
    ///
    /// Fails with `ENOMEM` when the allocation fails or the cgroup is at its
    /// limit (never by invoking the OOM killer).
    pub(crate) fn new(ctx: &FenceContext<T>, seqno: u32) -> Result<Self> {
        let state = ctx.state().clone();
        let fence = DriverFence::new(ctx.id(), &state, seqno)?;
        // INVARIANT: The fence was just created and is known only here; the
        // count taken above is on its state.
        Ok(Self { fence, state })
    }

    /// The fence, to share (e.g. in a sync_file).
    pub(crate) fn fence(&self) -> &DriverFence<T> {
        &self.fence
    }

    /// Signals the fence with `result`: `Ok` for success, or the error its
    /// waiters will see as the fence status.
    pub(crate) fn signal(self, result: Result) {
        // SAFETY: `_state` is dropped after the fence has signalled.
        let (fence, _state) = unsafe { self.into_parts() };
        SignalBatch::new(result, SignalTime::now()).signal_owned(fence);
    }

    /// Splits the signaller into the fence, whose duty to signal passes to
    /// the caller, and the count on its state.
    ///
    /// # Safety
    ///
    /// Until it has signalled the fence, the caller keeps the count, or
    /// another on the same state: the fence's ops read the state while it
    /// is pending.
    #[inline]
    pub(super) unsafe fn into_parts(self) -> (ARef<DriverFence<T>>, StateRef<T>) {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again; each field is moved
        // out exactly once.
        unsafe { (core::ptr::read(&this.fence), core::ptr::read(&this.state)) }
    }
}

impl<T: FenceData> Drop for FenceSignaller<T> {
    fn drop(&mut self) {
        // The duty to signal does not go away with the handle. (The state's
        // count goes after this, with the fields.)
        if !self.fence.is_signaled() {
            let error = crate::abstractions::compat::ecanceled().to_errno();
            signal_with(&self.fence, error, SignalTime::now());
        }
    }
}

/// Signals `fence` with `error` (0 for success) at `at`.
///
/// Inlined: it is INC's inner loop, where each call left out of line
/// showed as a few percent of an INC that signals one fence (counted under
/// TCG, `make bench`).
#[inline]
fn signal_with<T: FenceData>(fence: &DriverFence<T>, error: i32, at: SignalTime) {
    // SAFETY: The fence is alive, one of ours, so initialised with its inline
    // lock; `error` is 0 or a negative errno, as `dma_fence_set_error` wants;
    // any CLOCK_MONOTONIC time is a valid timestamp. Signalling twice (after
    // a waiter's peek) is a no-op.
    unsafe { fencebuf_dma_fence_signal(fence.as_raw(), error, at.0) };
}

/// Signals fences that one event reaches with one result and one time.
pub(super) struct SignalBatch {
    /// The result as the fence status: 0, or a negative errno (computed
    /// once, not per fence).
    error: i32,
    at: SignalTime,
}

impl SignalBatch {
    /// A batch that signals with `result` at `at`.
    #[inline]
    pub(super) fn new(result: Result, at: SignalTime) -> Self {
        Self {
            error: result.err().map_or(0, Error::to_errno),
            at,
        }
    }

    /// Signals `fence`, whose duty to signal the caller owns (a pending set
    /// that took it over from the fence's signaller), and drops the
    /// reference.
    #[inline]
    pub(super) fn signal_owned<T: FenceData>(&self, fence: ARef<DriverFence<T>>) {
        signal_with(&fence, self.error, self.at);
    }
}

/// A `CLOCK_MONOTONIC` time at which fences are signalled.
///
/// Not `kernel::time::Instant<Monotonic>`: Linux 7.3 gives no way to read an
/// `Instant`'s `ktime_t` outside the kernel crate (`as_nanos` is
/// `pub(crate)`), and the signalling functions take one.
#[derive(Clone, Copy)]
pub(super) struct SignalTime(bindings::ktime_t);

impl SignalTime {
    /// Now.
    #[inline]
    pub(super) fn now() -> Self {
        // SAFETY: Always safe to call.
        Self(unsafe { bindings::ktime_get() })
    }
}

/// A `dma_fence` signalling critical section, for lockdep: inside it, code
/// must not wait for fences nor allocate memory that could wait for them.
pub(super) struct SignallingSection(bool);

impl SignallingSection {
    /// Enters the section; it ends when the guard drops.
    pub(super) fn begin() -> Self {
        // SAFETY: Always safe to call; the cookie is returned on drop.
        Self(unsafe { fencebuf_dma_fence_begin_signalling() })
    }
}

impl Drop for SignallingSection {
    fn drop(&mut self) {
        // SAFETY: The cookie comes from the matching `begin`.
        unsafe { fencebuf_dma_fence_end_signalling(self.0) };
    }
}
