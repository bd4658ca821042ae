// SPDX-License-Identifier: GPL-2.0

//! Revoking and restoring access to every buffer of an [`Exports`], as one
//! operation each.
//!
//! [`Exports`]: super::dma_buf_export::Exports
//! [`DmaBufPin`]: super::dma_buf_object::DmaBufPin
//!
//! A revoke, under the transition lock:
//!
//! 1. Under the device lock, every buffer on the list is marked revoked
//!    under its reservation lock (faults, maps and vmaps fail from then on),
//!    its importers' mappings are invalidated, and the device is marked
//!    revoked, so that buffers exported later are born revoked. Each buffer
//!    not already being released is pinned ([`DmaBufPin`]); one whose
//!    dentry is dying is skipped, never waited for: it has no file left,
//!    so no importer and no CPU mapping.
//! 2. Without the device lock, for each pinned buffer: wait for its fences,
//!    zap its CPU mappings, and wait until importers have unmapped. Every
//!    wait of every buffer shares one deadline, so a revoke takes at most
//!    about one timeout, however many buffers it has.
//!
//! Nothing here reaches a buffer's file, which may already be freed while
//! the buffer lives (see `dma_buf`): the buffer, its reservation object
//! and its inode's mappings are enough.
//!
//! The zap (`unmap_mapping_range`) runs the MMU notifiers of every range
//! mirrored over a zapped mapping, for example an importer's userptr object
//! aliased over it with MAP_FIXED. They run under the transition lock only,
//! never the device lock: a notifier that waits on a fence signalled after
//! an EXPORT, or that drops a buffer reference (whose `release` takes the
//! device lock), cannot deadlock against the revoke, unlike i915's userptr
//! notifier, which needed the struct_mutex its own zapping thread held
//! ("drm/i915/userptr: Avoid struct_mutex recursion for
//! mmu_invalidate_range_start", Nov 2018). The revoke's pins keep every
//! buffer alive until it has finished, so such a drop never releases one
//! under the revoke; the pins themselves are dropped after the device lock.
//!
//! The pins of step 2 are held in a vector reserved beforehand
//! ([`TransitionGuard::reserve_revoke`]), so a revoke that may fail fails with
//! `ENOMEM` before changing anything. Without a reservation (unbind, which
//! cannot fail), each buffer is finished under the device lock instead,
//! where it is alive without a pin.
//!
//! Restore clears the marks and tells importers they may map again, all
//! under the device lock; it zaps nothing.

use super::{
    deadline::Deadline,
    dma_buf_export::{
        Exported,
        ExportedBuffer,
        Exporter,
        ExportsGuard,
        PinnedExport,
        Transition, //
    }, //
    dma_buf_object::DmaBufObject,
};
use core::ops::{
    Deref,
    DerefMut, //
};
use kernel::{
    prelude::*,
    time::Delta, //
};

/// Room for a reference to every buffer of a device, reserved before a
/// revoke changes anything.
pub(crate) struct RevokeReservation<T>(KVVec<PinnedExport<T>>);

/// What a revoke did, and what it could not finish in time.
#[must_use]
#[derive(Default)]
pub(crate) struct RevokeOutcome {
    /// Buffers revoked (those not already released).
    pub(crate) buffers: usize,
    /// Buffers whose fences had not all signalled when the wait timed out.
    pub(crate) fences_pending: usize,
    /// Buffers an importer still mapped when the wait timed out.
    pub(crate) still_mapped: usize,
}

impl<'a, T: Exporter, S: Send + Unpin + 'static> Transition<'a, T, S> {
    /// Takes the device lock, under the transition lock: the only way to a
    /// [`TransitionGuard`], which revokes and restores.
    pub(crate) fn lock(&self) -> TransitionGuard<'_, T, S> {
        TransitionGuard {
            guard: self.exports.lock(),
        }
    }
}

/// The device lock of an [`Exports`], taken under its transition lock
/// (borrowed for `'t`): revoke and restore run on it.
///
/// [`Exports`]: super::dma_buf_export::Exports
pub(crate) struct TransitionGuard<'t, T, S> {
    guard: ExportsGuard<'t, T, S>,
}

impl<'t, T, S> Deref for TransitionGuard<'t, T, S> {
    type Target = ExportsGuard<'t, T, S>;

    fn deref(&self) -> &Self::Target {
        &self.guard
    }
}

impl<T, S> DerefMut for TransitionGuard<'_, T, S> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.guard
    }
}

impl<T: Exporter, S: Send + Unpin + 'static> TransitionGuard<'_, T, S> {
    /// Room for a reference to every buffer: `ENOMEM` leaves everything as
    /// it was.
    pub(crate) fn reserve_revoke(&self) -> Result<RevokeReservation<T>> {
        Ok(RevokeReservation(KVVec::with_capacity(
            self.guard.len(),
            GFP_KERNEL,
        )?))
    }

    /// Revokes access to every buffer (see the module documentation). Drops
    /// the device lock before it zaps CPU mappings; every wait of every
    /// buffer shares one deadline, `timeout` from now.
    pub(crate) fn revoke(
        self,
        reservation: Option<RevokeReservation<T>>,
        timeout: Delta,
    ) -> RevokeOutcome {
        let deadline = Deadline::after(timeout);
        let mut guard = self.guard;
        guard.set_revoked(true);
        let mut outcome = RevokeOutcome::default();
        let Some(RevokeReservation(mut held)) = reservation else {
            // Under the device lock each buffer is alive without a
            // reference: nothing to pin, and nothing to drop here.
            for exported in guard.buffers() {
                mark(&exported, true);
                let object = exported.object();
                finish(
                    object,
                    || object.zap_cpu_mappings(),
                    exported.buffer(),
                    &deadline,
                    &mut outcome,
                );
            }
            return outcome;
        };
        for exported in guard.buffers() {
            mark(&exported, true);
            // A buffer whose dentry is dying has no file, so no importer
            // and no CPU mapping left: nothing to finish.
            if let Some(pinned) = exported.try_pin() {
                // Cannot fail: the reservation has room for every buffer on
                // the list, and the list cannot grow while the device lock
                // is held.
                let _ = held.push_within_capacity(pinned);
            }
        }
        drop(guard);
        for pinned in &held {
            let pin = pinned.pin();
            finish(
                pin.object(),
                || pin.zap_cpu_mappings(),
                pinned.buffer(),
                &deadline,
                &mut outcome,
            );
        }
        // `dput()`s, which may `release` a buffer: the device lock is
        // dropped, and `release` takes no other lock of ours.
        drop(held);
        outcome
    }

    /// Restores access to every buffer: importers may map again.
    pub(crate) fn restore(&mut self) {
        self.guard.set_revoked(false);
        for exported in self.guard.buffers() {
            mark(&exported, false);
        }
    }
}

/// Marks one buffer revoked (or not) and invalidates its importers'
/// mappings, under its reservation lock.
// Inline: out of line it cost restore about 19 instructions per buffer
// (counted, `make bench`).
#[inline]
fn mark<T: Exporter>(exported: &Exported<'_, T>, revoked: bool) {
    let locked = exported.object().lock();
    exported.buffer().set_revoked(revoked);
    locked.invalidate_mappings();
}

/// The second half of a buffer's revoke: wait for its fences, zap its CPU
/// mappings (`zap`: through a pin where there is one, which needs no
/// reference to the inode), wait until importers have unmapped; no wait
/// past `deadline`.
fn finish<T>(
    object: DmaBufObject<'_>,
    zap: impl FnOnce(),
    buffer: &ExportedBuffer<T>,
    deadline: &Deadline,
    outcome: &mut RevokeOutcome,
) {
    outcome.buffers += 1;
    if !object.resv().wait_fences(deadline.remaining()) {
        outcome.fences_pending += 1;
    }
    zap();
    if !buffer.wait_unmapped(deadline) {
        outcome.still_mapped += 1;
    }
}
