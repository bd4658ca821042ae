// SPDX-License-Identifier: GPL-2.0

//! Revoking and restoring access to every buffer of a [`BufferList`], as
//! one operation each, under the list's transition lock ([`Transition`]).
//!
//! A revoke, under the transition lock:
//!
//! 1. Under the device lock, every buffer on the list is marked revoked
//!    under its reservation lock (faults, maps and vmaps fail from then on),
//!    its importers' mappings are invalidated, and the device is marked
//!    revoked, so that buffers exported later are born revoked. A buffer
//!    with nothing left to wait for or zap (every fence signalled, no VMA,
//!    no mapping still out) is done. Each other buffer not already being
//!    released is pinned (a dentry reference); one whose dentry is dying
//!    is skipped, never waited for: it has no file left, so no importer
//!    and no CPU mapping.
//! 2. Without the device lock, for each pinned buffer: wait for its fences,
//!    zap its CPU mappings, and, if importers or the kernel still had it
//!    mapped after the invalidation, wait until they have unmapped. Every
//!    wait of every buffer shares one deadline, so a revoke takes at most
//!    about one timeout, however many buffers it has.
//!
//! Nothing here reaches a buffer's file, which may already be freed while
//! the buffer lives (see `dma_buf`): the buffer, its reservation object
//! and its inode's mappings are enough.
//!
//! The zap (`unmap_mapping_pages`) runs the MMU notifiers of every range
//! mirrored over a zapped mapping, for example an importer's userptr object
//! aliased over it with MAP_FIXED. They run under the transition lock only,
//! never the device lock: a notifier that waits on a fence signalled after
//! an EXPORT, or that drops a buffer reference (whose `release` takes the
//! device lock), cannot deadlock against the revoke, unlike i915's userptr
//! notifier, which needed the struct_mutex its own zapping thread held
//! ("drm/i915/userptr: Avoid struct_mutex recursion for
//! mmu_invalidate_range_start", Nov 2018). The revoke's pins keep every
//! buffer it works on alive until it has finished, so such a drop never
//! releases one under the revoke; the pins themselves are dropped after the
//! device lock.
//!
//! Two operations, for two kinds of caller:
//!
//! - [`TransitionGuard::try_revoke`], for a revoke that may fail (memory
//!   off): it reserves room for the pins before changing anything, and
//!   fails with `ENOMEM` if it cannot.
//! - [`TransitionGuard::revoke`], for a revoke that must not fail (unbind,
//!   a reset): when there is no room for the pins, each buffer is finished
//!   under the device lock instead, where it is alive without a pin, and
//!   its CPU mappings are zapped there.
//!
//! Restore clears the marks and tells importers they may map again, all
//! under the device lock; it zaps nothing.

use super::{
    gate::Buffer,
    list::{
        BufferList,
        BufferListGuard,
        ListedBuffer, //
    },
    object::{
        DmaBufObject,
        DmaBufPin, //
    },
    ops::DmaBufOps, //
};
use crate::abstractions::deadline::Deadline;
use core::{
    ops::{
        Deref,
        DerefMut, //
    },
    ptr::NonNull, //
};
use kernel::{
    prelude::*,
    sync::{
        lock::mutex::MutexGuard,
        Arc, //
    },
    time::Delta, //
};

/// What a revoke did, and what it could not finish in time.
#[must_use]
#[derive(Default)]
pub(crate) struct RevokeOutcome {
    /// Buffers marked revoked.
    pub(crate) buffers: usize,
    /// Buffers whose fences had not all signalled when the wait timed out.
    pub(crate) fences_pending: usize,
    /// Buffers an importer still mapped when the wait timed out.
    pub(crate) still_mapped: usize,
}

/// The transition lock of a [`BufferList`], held: revoke and restore run
/// under it.
pub(crate) struct Transition<'a, T, S> {
    list: &'a Arc<BufferList<T, S>>,
    _lock: MutexGuard<'a, ()>,
}

impl<T: DmaBufOps, S: Send + Unpin + 'static> BufferList<T, S> {
    /// Takes the transition lock, under which revoke and restore run.
    pub(crate) fn transition<'a>(self: &'a Arc<Self>) -> Transition<'a, T, S> {
        Transition {
            list: self,
            _lock: self.transition.lock(),
        }
    }
}

impl<T: DmaBufOps, S: Send + Unpin + 'static> Transition<'_, T, S> {
    /// Takes the device lock, under the transition lock: the only way to a
    /// [`TransitionGuard`], which revokes and restores.
    pub(crate) fn lock(&self) -> TransitionGuard<'_, T, S> {
        TransitionGuard {
            guard: self.list.lock(),
        }
    }
}

/// The device lock of a [`BufferList`], taken under its transition lock
/// (borrowed for `'t`): revoke and restore run on it.
pub(crate) struct TransitionGuard<'t, T, S> {
    guard: BufferListGuard<'t, T, S>,
}

impl<'t, T, S> Deref for TransitionGuard<'t, T, S> {
    type Target = BufferListGuard<'t, T, S>;

    fn deref(&self) -> &Self::Target {
        &self.guard
    }
}

impl<T, S> DerefMut for TransitionGuard<'_, T, S> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.guard
    }
}

impl<T: DmaBufOps, S: Send + Unpin + 'static> TransitionGuard<'_, T, S> {
    /// Revokes access to every buffer (see the module documentation), or
    /// fails with `ENOMEM`, changing nothing, when there is no room for the
    /// pins. Drops the device lock before it zaps CPU mappings; every wait
    /// of every buffer shares one deadline, `timeout` from now.
    pub(crate) fn try_revoke(self, timeout: Delta) -> Result<RevokeOutcome> {
        let pins = KVVec::with_capacity(self.guard.len(), GFP_KERNEL)?;
        Ok(self.revoke_pinned(pins, Deadline::after(timeout)))
    }

    /// Revokes access to every buffer, and cannot fail: as
    /// [`Self::try_revoke`] when there is room for the pins, else each
    /// buffer is finished under the device lock.
    pub(crate) fn revoke(self, timeout: Delta) -> RevokeOutcome {
        let deadline = Deadline::after(timeout);
        match KVVec::with_capacity(self.guard.len(), GFP_KERNEL) {
            Ok(pins) => self.revoke_pinned(pins, deadline),
            Err(_) => self.revoke_locked(deadline),
        }
    }

    /// The revoke of the module documentation, with room for a pin per
    /// buffer in `pins`.
    fn revoke_pinned(self, mut pins: KVVec<PinnedBuffer<T>>, deadline: Deadline) -> RevokeOutcome {
        let mut guard = self.guard;
        guard.set_revoked(true);
        let mut outcome = RevokeOutcome::default();
        for listed in guard.buffers() {
            let mapped = mark(&listed, true);
            outcome.buffers += 1;
            if !mapped && settled(listed.object()) {
                continue;
            }
            // A buffer whose dentry is dying has no file, so no importer
            // and no CPU mapping left: nothing to finish.
            if let Some(pinned) = PinnedBuffer::new(&listed, mapped) {
                // Cannot fail: there is room for every buffer on the list,
                // and the list cannot grow while the device lock is held.
                let _ = pins.push_within_capacity(pinned);
            }
        }
        drop(guard);
        for pinned in &pins {
            let pin = &pinned.pin;
            finish(
                pin.object(),
                || pin.zap_cpu_mappings(),
                pinned.mapped(),
                &deadline,
                &mut outcome,
            );
        }
        // `dput()`s, which may `release` a buffer: the device lock is
        // dropped, and `release` takes no other lock of ours.
        drop(pins);
        outcome
    }

    /// The revoke without pins: each buffer is finished under the device
    /// lock, where it is alive without a reference.
    fn revoke_locked(self, deadline: Deadline) -> RevokeOutcome {
        let mut guard = self.guard;
        guard.set_revoked(true);
        let mut outcome = RevokeOutcome::default();
        for listed in guard.buffers() {
            let mapped = mark(&listed, true);
            outcome.buffers += 1;
            let object = listed.object();
            finish(
                object,
                || object.zap_cpu_mappings(),
                mapped.then(|| listed.buffer()),
                &deadline,
                &mut outcome,
            );
        }
        outcome
    }

    /// Restores access to every buffer: importers may map again.
    pub(crate) fn restore(&mut self) {
        self.guard.set_revoked(false);
        for listed in self.guard.buffers() {
            mark(&listed, false);
        }
    }
}

/// A buffer of the list kept alive, without the list's lock, by a pin on
/// its dentry: what a revoke holds between its two passes. It takes no
/// reference to the buffer itself: the pin is enough.
///
/// # Invariants
///
/// `mapped`, if set, is the buffer of `pin`'s dma-buf, alive while `pin`
/// is.
struct PinnedBuffer<T> {
    pin: DmaBufPin,
    /// The buffer, if mappings were still out after it was marked: the
    /// only thing the second pass needs of it is to wait for them.
    mapped: Option<NonNull<Buffer<T>>>,
}

// SAFETY: It hands out `&Buffer<T>` and its pin, both usable from any
// thread (`T: Send + Sync`, `DmaBufPin: Send + Sync`).
unsafe impl<T: Send + Sync> Send for PinnedBuffer<T> {}
// SAFETY: See `Send`.
unsafe impl<T: Send + Sync> Sync for PinnedBuffer<T> {}

impl<T> PinnedBuffer<T> {
    /// `listed`, pinned to outlive the device lock, unless its last dentry
    /// reference is gone and it is being released; `mapped` as [`mark`]
    /// returned it.
    fn new(listed: &ListedBuffer<'_, T>, mapped: bool) -> Option<Self> {
        let pin = listed.object().try_pin()?;
        // INVARIANT: The pin keeps the buffer's dentry, so its `release`,
        // which frees the `BufPriv` this buffer is in, cannot run while the
        // pin lives.
        Some(Self {
            pin,
            mapped: mapped.then(|| NonNull::from(listed.buffer())),
        })
    }

    /// The buffer, with its access gate, if mappings were still out after
    /// it was marked revoked.
    fn mapped(&self) -> Option<&Buffer<T>> {
        // SAFETY: Alive while the pin is (type invariant), and `self`
        // borrows the pin.
        self.mapped.map(|buffer| unsafe { buffer.as_ref() })
    }
}

/// Marks one buffer revoked (or not) and invalidates its importers'
/// mappings, under its reservation lock: whether mappings are still out
/// after that. Most importers unmap inside the invalidation; while the
/// buffer stays revoked, none can map again, so a buffer found with none
/// out needs no [wait](Buffer::wait_unmapped).
// Inline: it is restore's whole loop body (counted by `make bench`).
#[inline]
fn mark<T>(listed: &ListedBuffer<'_, T>, revoked: bool) -> bool {
    let locked = listed.object().lock();
    listed.buffer().set_revoked(revoked);
    locked.invalidate_mappings();
    listed.buffer().is_mapped()
}

/// Whether a buffer just marked revoked, with no mapping left, has nothing
/// for the second pass: every fence has signalled and no VMA maps it. It
/// then needs no pin. While it stays marked, no mapping can be made and a
/// CPU mapping set up later faults (`SIGBUS`); a fence added after this
/// test is one a revoke that came a moment earlier would not have waited
/// for either.
// Inline: it is most buffers' whole second pass (counted by `make bench`).
#[inline]
fn settled(object: DmaBufObject<'_>) -> bool {
    // The cheaper test first: a CPU-mapped buffer needs the second pass
    // whatever its fences.
    !object.cpu_mapped() && object.resv().fences_signaled()
}

/// The second half of a buffer's revoke: wait for its fences, zap its CPU
/// mappings (`zap`: through a pin where there is one, which needs no
/// reference to the inode), and wait until importers have unmapped if
/// mappings were still out after it was marked (`mapped`, the buffer
/// then); no wait past `deadline`.
fn finish<T>(
    object: DmaBufObject<'_>,
    zap: impl FnOnce(),
    mapped: Option<&Buffer<T>>,
    deadline: &Deadline,
    outcome: &mut RevokeOutcome,
) {
    if !object.resv().wait_fences(deadline.remaining()) {
        outcome.fences_pending += 1;
    }
    zap();
    if mapped.is_some_and(|buffer| !buffer.wait_unmapped(deadline)) {
        outcome.still_mapped += 1;
    }
}
