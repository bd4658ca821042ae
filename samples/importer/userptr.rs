// SPDX-License-Identifier: GPL-2.0

//! The importer's userptr object: a range of user memory it mirrors, the
//! way a GPU driver mirrors one, with "jobs" on the pages (the fences of a
//! dma-buf) that every invalidation waits for. Safe Rust over `user_range`.
//!
//! Locks: the importer file's userptr lock (taken by the ioctls, around
//! notifier insertion, pinning and removal, so before the mmap lock), then
//! the range's leaf lock and [`Jobs::log`], both leaves. The notifier takes
//! only the leaves.

use crate::{
    abstractions::dma_buf::DmaBuf,
    uapi::{
        FbimpInval,
        FbimpUserptr,
        FbimpUserptrStatus,
        USERPTR_LOG,
        USERPTR_MAX_LEN, //
    },
    user_range::{
        Invalidation,
        Mirror,
        UserRange,
        WouldBlock, //
    }, //
};
use kernel::{
    prelude::*,
    sync::SpinLock,
    time::{
        msecs_to_jiffies,
        Instant,
        Jiffies,
        Monotonic, //
    }, //
};

/// The longest wait of one invalidation that userspace may ask for.
const MAX_WAIT_MS: u32 = 10_000;

/// What the notifier saw, behind a leaf lock.
#[derive(Default)]
struct Log {
    invalidations: u32,
    refused: u32,
    wait_timeouts: u32,
    max_wait_ns: u64,
    /// The last [`USERPTR_LOG`] invalidations since the last status.
    entries: [FbimpInval; USERPTR_LOG],
    /// Invalidations since the last status (may exceed the entries kept).
    since: usize,
    /// A reference the next invalidation drops.
    held: Option<DmaBuf>,
}

impl Log {
    fn record(&mut self, inv: &Invalidation<'_>) {
        self.invalidations = self.invalidations.wrapping_add(1);
        let entry = FbimpInval {
            start: inv.start(),
            end: inv.end(),
            event: inv.event(),
            blockable: u32::from(inv.blockable()),
        };
        if self.since < USERPTR_LOG {
            self.entries[self.since] = entry;
        } else {
            // Keep the last ones, oldest first.
            self.entries.rotate_left(1);
            self.entries[USERPTR_LOG - 1] = entry;
        }
        self.since = self.since.saturating_add(1);
    }
}

/// The importer's jobs on the mirrored pages.
#[pin_data]
pub(crate) struct Jobs {
    /// The buffer whose fences stand for the jobs.
    wait_on: Option<DmaBuf>,
    wait: Jiffies,
    #[pin]
    log: SpinLock<Log>,
}

impl Mirror for Jobs {
    fn invalidate(&self, inv: &Invalidation<'_>) -> Result<(), WouldBlock> {
        let held = {
            let mut log = self.log.lock();
            log.record(inv);
            log.held.take()
        };
        // Dropped inside the notifier, outside the leaf lock: the buffer's
        // release is deferred (`fput()`), never run here.
        drop(held);
        let Some(buf) = &self.wait_on else {
            return Ok(());
        };
        // The drm-vm-bind-locking userptr rule: the sequence is updated
        // (by `user_range`), then the jobs are waited for without any
        // reservation lock.
        let start = Instant::<Monotonic>::now();
        let waited = inv.wait_fences(buf.resv(), self.wait);
        let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(0);
        let mut log = self.log.lock();
        log.max_wait_ns = log.max_wait_ns.max(ns);
        match waited {
            Ok(true) => Ok(()),
            Ok(false) => {
                log.wait_timeouts = log.wait_timeouts.wrapping_add(1);
                Ok(())
            }
            Err(would_block) => {
                log.refused = log.refused.wrapping_add(1);
                Err(would_block)
            }
        }
    }
}

/// A mirrored range and its jobs.
pub(crate) type Userptr = Pin<KBox<UserRange<Jobs>>>;

/// Mirrors the range of `req`.
pub(crate) fn create(req: &FbimpUserptr) -> Result<Userptr> {
    if req.len > USERPTR_MAX_LEN || req.wait_ms > MAX_WAIT_MS {
        return Err(EINVAL);
    }
    let wait_on = match req.wait_fd {
        -1 => None,
        fd => Some(DmaBuf::get(fd)?),
    };
    let start = usize::try_from(req.addr).map_err(|_| EINVAL)?;
    let len = usize::try_from(req.len).map_err(|_| EINVAL)?;
    UserRange::new(
        start,
        len,
        try_pin_init!(Jobs {
            wait_on,
            wait: msecs_to_jiffies(req.wait_ms),
            log <- kernel::new_spinlock!(Log::default(), "Jobs::log"),
        }),
    )
}

/// Pins the range's pages; returns how many.
pub(crate) fn populate(range: &Userptr) -> Result<usize> {
    range.populate()
}

/// Gives the notifier a reference to drop; `EBUSY` if it holds one.
pub(crate) fn hold(range: &Userptr, fd: i32) -> Result {
    let buf = DmaBuf::get(fd)?;
    let mut log = range.data().log.lock();
    if log.held.is_some() {
        // The leaf lock first, then `buf`.
        drop(log);
        return Err(EBUSY);
    }
    log.held = Some(buf);
    Ok(())
}

/// The counters, and the invalidations logged since the last status (which
/// this empties).
pub(crate) fn status(range: &Userptr) -> FbimpUserptrStatus {
    let (pages, mirrored) = range.pages();
    let mut log = range.data().log.lock();
    let nlog = log.since.min(USERPTR_LOG);
    let st = FbimpUserptrStatus {
        invalidations: log.invalidations,
        refused: log.refused,
        wait_timeouts: log.wait_timeouts,
        mirrored: u32::from(mirrored),
        // CAST: `usize` to `u64` is lossless.
        pages: pages as u64,
        max_wait_ns: log.max_wait_ns,
        held: u32::from(log.held.is_some()),
        // CAST: at most `USERPTR_LOG` entries.
        nlog: nlog as u32,
        log: log.entries,
    };
    log.since = 0;
    log.entries = Default::default();
    st
}
