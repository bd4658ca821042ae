// SPDX-License-Identifier: GPL-2.0

//! A range of user memory mirrored by a device ("userptr"): an
//! `mmu_interval_notifier` over the range and the pages pinned under it.
//!
//! C header: [`include/linux/mmu_notifier.h`](srctree/include/linux/mmu_notifier.h).
//!
//! The protocol is the one of Documentation/mm/hmm.rst and of the userptr
//! section of Documentation/gpu/drm-vm-bind-locking.rst:
//!
//! - [`UserRange::populate`] pins the pages between
//!   `mmu_interval_read_begin()` and `mmu_interval_read_retry()`, the latter
//!   under a leaf lock. When an invalidation collided it tries again, at most
//!   [`MAX_TRIES`] times, then fails with `EAGAIN`: it never spins.
//! - The invalidation callback updates the sequence under the same leaf lock
//!   (`mmu_interval_set_seq()`), so a populate that raced with it retries,
//!   then lets the driver stop using the old pages ([`Mirror::invalidate`]).
//! - Dropping the range removes the notifier, which waits for callbacks in
//!   progress, then unpins the pages.
//!
//! # What an invalidation may do
//!
//! The core calls [`Mirror::invalidate`] from inside the zap of any mapping
//! over the range: munmap, MAP_FIXED, mprotect, migration, reclaim, process
//! exit, and an exporter's `unmap_mapping_range()` when it revokes a buffer
//! mapped there. It runs under whatever locks that caller holds (the mmap
//! lock, `i_mmap_rwsem`, the exporter's own locks), inside lockdep's
//! `fs_reclaim` and MMU notifier maps. So it:
//!
//! - may wait for dma fences, but only through
//!   [`Invalidation::wait_fences`], which takes no reservation lock and
//!   refuses to sleep when the core says the invalidation cannot block;
//! - may take leaf locks (spinlocks under which nothing else is taken);
//! - must not take a reservation lock (the core primes dma_resv ->
//!   fs_reclaim -> MMU notifier), the mmap lock, or a lock the exporter may
//!   hold while zapping; must not allocate with `GFP_KERNEL`;
//! - may drop references whose release is deferred (a dma-buf's `fput()`),
//!   never run a release synchronously.
//!
//! A callback can only refuse ([`WouldBlock`]) through
//! [`Invalidation::wait_fences`] of a non-blockable invalidation, so it can
//! never refuse one the core requires to complete.

use crate::abstractions::dma_resv::Resv;
use core::ptr::{
    null_mut,
    read_volatile,
    write_volatile, //
};
use kernel::{
    bindings,
    mm::Mm,
    page::PAGE_SHIFT,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            ordering::Relaxed,
            Atomic, //
        },
        SpinLock, //
    },
    task::Task,
    time::Jiffies,
    types::Opaque, //
};

/// How often [`UserRange::populate`] retries after colliding with an
/// invalidation before it gives up with `EAGAIN`.
pub(crate) const MAX_TRIES: usize = 16;

/// The driver's side of a mirrored range.
pub(crate) trait Mirror: Send + Sync + 'static {
    /// The range's pages (or some of them) are going away: stop using them
    /// before returning. See the module documentation for what this may do.
    fn invalidate(&self, inv: &Invalidation<'_>) -> Result<(), WouldBlock>;
}

/// An invalidation refused because it would have had to sleep while the core
/// could not wait. Only [`Invalidation::wait_fences`] makes one.
pub(crate) struct WouldBlock(());

/// One invalidation of a mirrored range, as the core reports it.
pub(crate) struct Invalidation<'a> {
    range: &'a bindings::mmu_notifier_range,
}

impl Invalidation<'_> {
    /// First byte of the invalidated addresses (may begin before the range).
    pub(crate) fn start(&self) -> u64 {
        // CAST: `unsigned long` is 64 bits wide on every 64-bit kernel.
        self.range.start as u64
    }

    /// End (exclusive) of the invalidated addresses.
    pub(crate) fn end(&self) -> u64 {
        // CAST: as in `start`.
        self.range.end as u64
    }

    /// Why (`enum mmu_notifier_event`: 0 unmap, 1 clear, 5 release, ...).
    pub(crate) fn event(&self) -> u32 {
        self.range.event
    }

    /// Whether the callback may sleep (`mmu_notifier_range_blockable()`).
    pub(crate) fn blockable(&self) -> bool {
        self.range.flags & bindings::MMU_NOTIFIER_RANGE_BLOCKABLE != 0
    }

    /// Waits, at most `timeout`, for every fence of `resv`, without its lock.
    /// `Ok(true)` if they all signalled, `Ok(false)` on timeout, and
    /// `Err(WouldBlock)` if some are pending but this invalidation cannot
    /// sleep.
    pub(crate) fn wait_fences(&self, resv: &Resv, timeout: Jiffies) -> Result<bool, WouldBlock> {
        if resv.fences_signaled() {
            return Ok(true);
        }
        if !self.blockable() {
            return Err(WouldBlock(()));
        }
        Ok(resv.wait_fences(timeout))
    }
}

/// Pages pinned with `pin_user_pages_fast()`, unpinned on drop.
///
/// The pins last until the range changes, for as long as the process
/// likes: long-term pins (`FOLL_LONGTERM`, which first migrates pages out of
/// movable and CMA memory), charged, as RDMA and VFIO charge theirs, to the
/// process's `pinned_vm` (`VmPin` in `/proc/PID/status`) against
/// `RLIMIT_MEMLOCK` unless it has `CAP_IPC_LOCK`. The counter is atomic, not
/// `locked_vm`, whose updates take the mmap lock, which an invalidation
/// (where pages are dropped) must not take.
///
/// # Invariants
///
/// Every entry of `pages` is a page pinned by us, once; `charged` pages are
/// charged to `mm`'s `pinned_vm`.
struct PinnedPages {
    pages: KVVec<*mut bindings::page>,
    mm: ARef<Mm>,
    charged: usize,
}

// SAFETY: Pinned pages may be unpinned from any thread.
unsafe impl Send for PinnedPages {}

impl PinnedPages {
    /// Pins `count` writable pages of the current task from `start`; `EFAULT`
    /// unless all of them can be (an I/O or PFN mapping has no pages).
    fn pin(start: usize, count: usize) -> Result<Self> {
        let mut pages = KVVec::from_elem(null_mut(), count, GFP_KERNEL)?;
        let nr = c_int::try_from(count).map_err(|_| EINVAL)?;
        let mm: ARef<Mm> = ARef::from(&**kernel::current!().mm().ok_or(EFAULT)?);
        charge_pinned(&mm, count)?;
        // INVARIANT: charged just above; nothing pinned yet.
        let mut this = Self {
            pages: KVVec::new(),
            mm,
            charged: count,
        };
        // SAFETY: `pages` has room for `count` entries; the current task's
        // mm is the one the addresses belong to.
        let got = unsafe {
            bindings::pin_user_pages_fast(
                // CAST: a user address, as the C prototype takes it.
                start as c_ulong,
                nr,
                bindings::FOLL_WRITE | bindings::FOLL_LONGTERM,
                pages.as_mut_ptr(),
            )
        };
        // CAST: `got` is at most `nr` when not negative.
        let pinned = usize::try_from(got).unwrap_or(0);
        pages.truncate(pinned);
        // INVARIANT: the first `pinned` entries were pinned just above.
        this.pages = pages;
        if got < 0 {
            return Err(Error::from_errno(got));
        }
        if pinned != count {
            return Err(EFAULT);
        }
        Ok(this)
    }

    fn len(&self) -> usize {
        self.pages.len()
    }
}

impl Drop for PinnedPages {
    fn drop(&mut self) {
        if !self.pages.is_empty() {
            // SAFETY: Every entry is a page we pinned (type invariant).
            // CAST: `usize` to `unsigned long` is lossless.
            unsafe {
                bindings::unpin_user_pages(self.pages.as_mut_ptr(), self.pages.len() as c_ulong)
            };
        }
        // CAST: at most the range's pages, far below `i64::MAX`.
        pinned_vm(&self.mm).fetch_sub(self.charged as i64, Relaxed);
    }
}

/// The `pinned_vm` counter of `mm`, in pages.
fn pinned_vm(mm: &Mm) -> &Atomic<i64> {
    // SAFETY: `pinned_vm` is an `atomic64_t` of a live mm (we hold a
    // count), only ever accessed atomically.
    unsafe { Atomic::from_ptr(&raw mut (*mm.as_raw()).__bindgen_anon_1.pinned_vm.counter) }
}

/// Charges `count` pages to `mm`'s `pinned_vm`: `ENOMEM` over the current
/// task's `RLIMIT_MEMLOCK`, unless it has `CAP_IPC_LOCK` (`ib_umem_get()`'s
/// rule).
fn charge_pinned(mm: &Mm, count: usize) -> Result {
    // CAST: at most the range's pages, far below `i64::MAX`.
    let count = count as i64;
    let total = pinned_vm(mm).fetch_add(count, Relaxed) + count;
    // SAFETY: The current task's signal struct lives as long as it does;
    // `task_rlimit()` reads the limit the same way, with `READ_ONCE()`.
    let limit = unsafe {
        read_volatile(
            &raw const (*(*Task::current_raw()).signal).rlim[bindings::RLIMIT_MEMLOCK as usize]
                .rlim_cur,
        )
    } >> PAGE_SHIFT;
    let over = usize::try_from(total).unwrap_or(usize::MAX) > limit;
    // CAST: `CAP_IPC_LOCK` is 14.
    // SAFETY: `capable()` may be called from any task context.
    if over && !unsafe { bindings::capable(bindings::CAP_IPC_LOCK as c_int) } {
        pinned_vm(mm).fetch_sub(count, Relaxed);
        return Err(ENOMEM);
    }
    Ok(())
}

/// The pages that mirror the range, behind the leaf lock.
struct Pages {
    pinned: Option<PinnedPages>,
    /// No invalidation since `pinned` was taken.
    current: bool,
}

/// A mirrored range of the current task's memory.
///
/// # Invariants
///
/// `sub` is inserted in the mm with [`Self::OPS`] from the moment the value
/// is initialised until it is dropped.
#[pin_data(PinnedDrop)]
pub(crate) struct UserRange<T: Mirror> {
    start: usize,
    len: usize,
    #[pin]
    data: T,
    /// The leaf lock of the protocol.
    #[pin]
    pages: SpinLock<Pages>,
    #[pin]
    sub: Opaque<bindings::mmu_interval_notifier>,
}

// SAFETY: The notifier is only touched through the core's API and the leaf
// lock; `T` is `Send + Sync`.
unsafe impl<T: Mirror> Send for UserRange<T> {}
// SAFETY: As above.
unsafe impl<T: Mirror> Sync for UserRange<T> {}

impl<T: Mirror> UserRange<T> {
    const OPS: bindings::mmu_interval_notifier_ops = bindings::mmu_interval_notifier_ops {
        invalidate: Some(Self::invalidate_callback),
        invalidate_start: None,
        invalidate_finish: None,
    };

    /// Mirrors `[start, start + len)` of the current task, page aligned,
    /// for `data`. `EINVAL` for a bad range or a task without memory.
    pub(crate) fn new(
        start: usize,
        len: usize,
        data: impl PinInit<T, Error>,
    ) -> Result<Pin<KBox<Self>>> {
        let page = 1usize << PAGE_SHIFT;
        if len == 0 || start % page != 0 || len % page != 0 {
            return Err(EINVAL);
        }
        start.checked_add(len).ok_or(EINVAL)?;
        let mm = kernel::current!().mm().ok_or(EINVAL)?.as_raw();
        // Copies for the insertion: inside the initialiser, `start` and `len`
        // name the fields being initialised.
        let (range_start, range_len) = (start, len);
        KBox::try_pin_init(
            try_pin_init!(Self {
                start,
                len,
                data <- data,
                pages <- kernel::new_spinlock!(Pages {
                    pinned: None,
                    current: false,
                }, "UserRange::pages"),
                // Last: the callback may run as soon as it is inserted, and
                // finds every other field initialised.
                // INVARIANT: inserted here, removed in `drop`.
                sub <- Opaque::try_ffi_init(|slot: *mut bindings::mmu_interval_notifier| {
                    // SAFETY: `slot` is ours to initialise; `mm` is the
                    // current task's, alive (it has users) for this call, and
                    // the core takes its own reference; the ops are static.
                    // The fields the callback reads are initialised.
                    to_result(unsafe {
                        bindings::mmu_interval_notifier_insert(
                            slot,
                            mm,
                            range_start,
                            range_len,
                            &Self::OPS,
                        )
                    })
                }),
            }),
            GFP_KERNEL,
        )
    }

    /// The driver's data.
    pub(crate) fn data(&self) -> &T {
        &self.data
    }

    /// Pins the pages of the range, retrying while invalidations collide
    /// (at most [`MAX_TRIES`] times, then `EAGAIN`). Only from the task
    /// whose memory the range mirrors (`EINVAL` otherwise). Returns the
    /// number of pages.
    pub(crate) fn populate(&self) -> Result<usize> {
        let sub = self.sub.get();
        let mm = kernel::current!().mm().ok_or(EINVAL)?.as_raw();
        // SAFETY: `sub` is inserted (type invariant); `mm` never changes.
        if mm != unsafe { (*sub).mm } {
            return Err(EINVAL);
        }
        for _ in 0..MAX_TRIES {
            // SAFETY: `sub` is inserted (type invariant). This may sleep
            // until an invalidation in progress has finished.
            let seq = unsafe { bindings::mmu_interval_read_begin(sub) };
            let new = PinnedPages::pin(self.start, self.len >> PAGE_SHIFT)?;
            let count = new.len();
            let old = {
                let mut pages = self.pages.lock();
                // `mmu_interval_read_retry()`, under the leaf lock.
                // SAFETY: `sub` is inserted; the field is written under
                // this lock by the callback.
                if unsafe { read_volatile(&raw const (*sub).invalidate_seq) } != seq {
                    None
                } else {
                    pages.current = true;
                    Some(pages.pinned.replace(new))
                }
            };
            // Pages are unpinned (the old ones, or the new ones of a collided
            // attempt) outside the leaf lock.
            if let Some(old) = old {
                drop(old);
                return Ok(count);
            }
        }
        Err(EAGAIN)
    }

    /// Pages pinned, and whether they still mirror the range (no
    /// invalidation since).
    pub(crate) fn pages(&self) -> (usize, bool) {
        let pages = self.pages.lock();
        (
            pages.pinned.as_ref().map_or(0, PinnedPages::len),
            pages.current,
        )
    }

    /// # Safety
    ///
    /// Called by the core only, as `invalidate` of a notifier inserted by
    /// [`UserRange::new`], with a valid range.
    unsafe extern "C" fn invalidate_callback(
        sub: *mut bindings::mmu_interval_notifier,
        range: *const bindings::mmu_notifier_range,
        cur_seq: c_ulong,
    ) -> bool {
        // SAFETY: `sub` is the `sub` field of a `UserRange<T>`, alive while
        // inserted: `drop` removes it, which waits for this callback.
        let this = unsafe {
            &*kernel::container_of!(
                sub.cast::<Opaque<bindings::mmu_interval_notifier>>(),
                Self,
                sub
            )
        };
        // SAFETY: The core passes a valid range for the call.
        let range = unsafe { &*range };
        let inv = Invalidation { range };
        {
            let mut pages = this.pages.lock();
            // `mmu_interval_set_seq()`: under the lock `populate` checks it.
            // SAFETY: `sub` is inserted; we hold the leaf lock.
            unsafe { write_volatile(&raw mut (*sub).invalidate_seq, cur_seq) };
            pages.current = false;
        }
        this.data.invalidate(&inv).is_ok()
    }
}

#[pinned_drop]
impl<T: Mirror> PinnedDrop for UserRange<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: Inserted (type invariant). Removal waits for callbacks in
        // progress; none can start after it returns. Pages are unpinned
        // after, when the fields drop.
        unsafe { bindings::mmu_interval_notifier_remove(self.sub.get()) };
    }
}

use kernel::error::to_result;
