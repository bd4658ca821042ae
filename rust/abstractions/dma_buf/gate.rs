// SPDX-License-Identifier: GPL-2.0

//! An exported buffer and its access gate: whether access is revoked, and
//! how many mappings are out.
//!
//! A revoke marks a buffer revoked under its reservation lock, then waits
//! until the mappings made before are gone; no new one can be made while
//! the mark stays. Importer and kernel mappings are made and unmapped
//! under that lock already (the core holds it around `map_dma_buf`,
//! `unmap_dma_buf`, `vmap` and `vunmap`), so checking the mark and
//! counting take no lock of their own. Faults run without it: they check
//! the mark under the gate's mutex, which the mark is also written under,
//! so that a revoke cannot slip between a fault's check and its page.
//!
//! Not `kernel::revocable`: its access runs under the RCU read lock, and
//! `map_dma_buf`, `vmap` and faults sleep while they hold access; and a
//! revoked buffer comes back when memory decoding is turned on again.

use super::ops::DmaBufOps;
use crate::abstractions::{
    deadline::Deadline,
    io_range::IoRange, //
};
use kernel::{
    new_condvar,
    new_mutex,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Full,
            Relaxed, //
        },
        CondVar,
        CondVarTimeoutResult,
        Mutex, //
    },
    time::{
        delay::fsleep,
        Delta, //
    }, //
};

/// An exported buffer: the driver's data and its access gate.
#[pin_data]
pub(super) struct Buffer<T> {
    data: T,
    /// What `vmap` maps: [`DmaBufOps::io_range`] at export, with the ops
    /// that offer `vmap`.
    io_range: Option<IoRange>,
    /// Whether access is revoked. Written only with both the reservation
    /// lock and `access` held: a check under either lock is one step, for
    /// a revoke, with what it lets through (a mapping, a fault's page).
    revoked: Atomic<bool>,
    /// Importer and kernel mappings not yet unmapped. Changed only under
    /// the reservation lock; read without it by a revoke's wait.
    mapped: Atomic<usize>,
    /// Revokes waiting for `mapped` to fall to zero; changed only with
    /// `access` held. The last unmap wakes them, and only then (importers
    /// usually unmap inside `invalidate_mappings`, before a revoke would
    /// wait, and outside a revoke nobody waits).
    waiters: Atomic<usize>,
    #[pin]
    access: Mutex<()>,
    #[pin]
    unmapped: CondVar,
}

impl<T: DmaBufOps> Buffer<T> {
    /// A buffer of `data`, revoked from birth if `revoked`.
    pub(super) fn new(data: T, revoked: bool) -> impl PinInit<Self> {
        let io_range = data.io_range();
        pin_init!(Buffer {
            data,
            io_range,
            revoked: Atomic::new(revoked),
            mapped: Atomic::new(0),
            waiters: Atomic::new(0),
            access <- new_mutex!((), "Buffer::access"),
            unmapped <- new_condvar!("Buffer::unmapped"),
        })
    }
}

impl<T> Buffer<T> {
    /// The driver's data.
    pub(super) fn data(&self) -> &T {
        &self.data
    }

    /// What `vmap` maps, if the buffer is one range of I/O memory.
    pub(super) fn io_range(&self) -> Option<IoRange> {
        self.io_range
    }

    /// Whether access is revoked (a snapshot, unless the reservation lock
    /// is held: use [`Self::access`] or [`Self::map`] to act on it).
    pub(super) fn is_revoked(&self) -> bool {
        self.revoked.load(Relaxed)
    }

    /// Runs `f` with the gate held, unless access is revoked (`None`).
    pub(super) fn access<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        let _access = self.access.lock();
        // Relaxed: written under the lock we hold.
        (!self.revoked.load(Relaxed)).then(|| f(&self.data))
    }

    /// Makes a mapping with `f`: `ENODEV` if access is revoked; the mapping
    /// is counted if `f` succeeds. Called with the buffer's reservation
    /// lock held, as the core holds it around `map_dma_buf` and `vmap`.
    pub(super) fn map<M>(&self, f: impl FnOnce(&T) -> Result<M>) -> Result<M> {
        // Relaxed: written under the reservation lock we hold.
        if self.revoked.load(Relaxed) {
            return Err(ENODEV);
        }
        let mapping = f(&self.data)?;
        self.mapped.add(1, Relaxed);
        Ok(mapping)
    }

    /// A mapping is gone; wakes a waiting revoke at the last one. Called
    /// with the buffer's reservation lock held, as the core holds it
    /// around `unmap_dma_buf` and `vunmap`.
    #[inline]
    pub(super) fn unmapped(&self) {
        // Full: the fall is seen before the check of `waiters`, as a
        // waiter's count is seen before its check of `mapped`; either this
        // sees the waiter, or the waiter sees no mapping left.
        if self.mapped.fetch_sub(1, Full) == 1 && self.waiters.load(Relaxed) != 0 {
            // Under the lock, the waiter is asleep on `unmapped` or has not
            // checked `mapped` yet.
            let _access = self.access.lock();
            self.unmapped.notify_all();
        }
    }

    /// Whether importer or kernel mappings are out. Exact with the
    /// reservation lock held; while access is revoked, once `false`, it
    /// stays `false`.
    pub(super) fn is_mapped(&self) -> bool {
        self.mapped.load(Relaxed) != 0
    }

    /// Revokes or restores access to the buffer. Only the revoke protocol
    /// calls this, with the buffer's reservation lock held.
    pub(super) fn set_revoked(&self, revoked: bool) {
        let _access = self.access.lock();
        self.revoked.store(revoked, Relaxed);
    }

    /// Waits, until `deadline` at most, until importers have unmapped every
    /// mapping and kernel mapping; `false` if some are left.
    ///
    /// A signal does not end the wait: a revoke that gave up early would
    /// let its caller turn memory decoding off under mappings still in use.
    /// With a signal pending, the interruptible wait returns at once, so
    /// the wait polls instead, a millisecond at a time, until the deadline.
    pub(super) fn wait_unmapped(&self, deadline: &Deadline) -> bool {
        loop {
            if !self.is_mapped() {
                return true;
            }
            let left = deadline.remaining();
            if left == 0 {
                return false;
            }
            let mut access = self.access.lock();
            // Full: see `unmapped`.
            self.waiters.fetch_add(1, Full);
            let woken = self
                .is_mapped()
                .then(|| self.unmapped.wait_interruptible_timeout(&mut access, left));
            self.waiters.fetch_sub(1, Relaxed);
            drop(access);
            if let Some(CondVarTimeoutResult::Signal { .. }) = woken {
                fsleep(Delta::from_millis(1));
            }
        }
    }
}
