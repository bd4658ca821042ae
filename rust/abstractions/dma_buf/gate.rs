// SPDX-License-Identifier: GPL-2.0

//! An exported buffer and its access gate: whether access is revoked, and
//! how many mappings are out.
//!
//! The callbacks map only through the gate, which checks and counts under
//! one lock: a revoke cannot slip between the check and the new mapping,
//! and waits until the count falls to zero.
//!
//! Not `kernel::revocable`: its access runs under the RCU read lock, and
//! `map_dma_buf`, `vmap` and faults sleep while they hold access; and a
//! revoked buffer comes back when memory decoding is turned on again.

use super::ops::DmaBufOps;
use crate::abstractions::{
    deadline::Deadline,
    io_range::IoRange, //
};
use core::sync::atomic::{
    AtomicBool,
    Ordering, //
};
use kernel::{
    new_condvar,
    new_mutex,
    prelude::*,
    sync::{
        CondVar,
        CondVarTimeoutResult,
        Mutex, //
    },
    time::{
        delay::fsleep,
        Delta, //
    }, //
};

/// What the access gate of a buffer protects, besides `Buffer::revoked`.
struct Access {
    /// Importer mappings (`map_dma_buf`) not yet unmapped.
    maps: usize,
    /// Kernel mappings (`vmap`) not yet unmapped.
    vmaps: usize,
    /// Revokes waiting for the mappings to go: the last unmap wakes them,
    /// and only then (importers usually unmap inside `invalidate_mappings`,
    /// before revoke waits, and outside revoke nobody waits).
    waiters: usize,
}

impl Access {
    fn count(&mut self, kind: Mapping) -> &mut usize {
        match kind {
            Mapping::Importer => &mut self.maps,
            Mapping::Kernel => &mut self.vmaps,
        }
    }
}

/// The two kinds of mapping a revoke waits for.
#[derive(Clone, Copy)]
pub(super) enum Mapping {
    /// An importer's (`map_dma_buf`).
    Importer,
    /// A kernel mapping (`vmap`).
    Kernel,
}

/// An exported buffer: the driver's data and its access gate.
#[pin_data]
pub(super) struct Buffer<T> {
    data: T,
    /// What `vmap` maps: [`DmaBufOps::io_range`] at export, with the ops
    /// that offer `vmap`.
    io_range: Option<IoRange>,
    /// Whether access is revoked. Written only with `access` locked, so
    /// that a check under the lock and what it lets through (a mapping, a
    /// fault's page) are one step for a revoke; read without the lock only
    /// for a snapshot, which needs no lock round trip.
    revoked: AtomicBool,
    #[pin]
    access: Mutex<Access>,
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
            revoked: AtomicBool::new(revoked),
            access <- new_mutex!(Access {
                maps: 0,
                vmaps: 0,
                waiters: 0,
            }, "Buffer::access"),
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

    /// Whether access is revoked (a snapshot: use [`Self::access`] to act
    /// on it).
    pub(super) fn is_revoked(&self) -> bool {
        self.revoked.load(Ordering::Relaxed)
    }

    /// Runs `f` with the gate held, unless access is revoked (`None`).
    pub(super) fn access<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        let _access = self.access.lock();
        // Relaxed: written under the lock we hold.
        (!self.revoked.load(Ordering::Relaxed)).then(|| f(&self.data))
    }

    /// Makes a mapping of `kind` with `f`, with the gate held: `ENODEV` if
    /// access is revoked; the mapping is counted if `f` succeeds.
    pub(super) fn map<M>(&self, kind: Mapping, f: impl FnOnce(&T) -> Result<M>) -> Result<M> {
        let mut access = self.access.lock();
        // Relaxed: written under the lock we hold.
        if self.revoked.load(Ordering::Relaxed) {
            return Err(ENODEV);
        }
        let mapping = f(&self.data)?;
        *access.count(kind) += 1;
        Ok(mapping)
    }

    /// A mapping of `kind` is gone; wakes a waiting revoke at the last one.
    pub(super) fn unmapped(&self, kind: Mapping) {
        let mut access = self.access.lock();
        *access.count(kind) -= 1;
        if access.maps + access.vmaps == 0 && access.waiters != 0 {
            self.unmapped.notify_all();
        }
    }

    /// Revokes or restores access to the buffer. Only the revoke protocol
    /// calls this, with the buffer's reservation lock held.
    ///
    /// Returns whether mappings or kernel mappings were out as it did. No
    /// new one can be made while access stays revoked, so a revoke that
    /// found none out need not [wait](Self::wait_unmapped) for any.
    pub(super) fn set_revoked(&self, revoked: bool) -> bool {
        let access = self.access.lock();
        self.revoked.store(revoked, Ordering::Relaxed);
        access.maps + access.vmaps != 0
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
            let mut access = self.access.lock();
            if access.maps + access.vmaps == 0 {
                return true;
            }
            let left = deadline.remaining();
            if left == 0 {
                return false;
            }
            access.waiters += 1;
            let woken = self.unmapped.wait_interruptible_timeout(&mut access, left);
            access.waiters -= 1;
            drop(access);
            if let CondVarTimeoutResult::Signal { .. } = woken {
                fsleep(Delta::from_millis(1));
            }
        }
    }
}
