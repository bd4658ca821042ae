// SPDX-License-Identifier: GPL-2.0

//! One exported buffer: ranges of a memory BAR, and whether access to them is
//! revoked.
//!
//! The buffer's state lock (the "mapping lock" of the order documented in
//! `mmio_device`) is the innermost lock: the fault path takes it under the
//! mmap lock, `map`/`vmap` under the reservation lock, revoke under both the
//! device and reservation locks (to mark the buffer revoked) and under the
//! transition lock (to wait for unmaps). Whoever inserts a page or creates a
//! mapping checks `revoked` under it, and revoke sets `revoked` under it
//! before zapping and invalidating: nothing can be mapped after revoke that
//! revoke does not remove.

use crate::ext::{
    dma_buf::{Attachment, Direction, Exporter},
    io_mapping::IoMapping,
    p2pdma::{P2pProvider, PhysRange, SgTable},
    vma::{Fault, FaultResult},
};
use kernel::{
    new_condvar, new_mutex,
    page::{PAGE_SHIFT, PAGE_SIZE},
    prelude::*,
    sync::{Arc, CondVar, Mutex},
    time::Jiffies,
};

use crate::mmio_device::DeviceState;

/// Mappings of the buffer that revoke must see gone.
struct MapState {
    revoked: bool,
    /// Importer mappings (`map_dma_buf`) not yet unmapped.
    maps: usize,
    /// Kernel mappings (`vmap`) not yet unmapped.
    vmaps: usize,
    /// Revokes waiting in `wait_unmapped`: the last unmap wakes them, and
    /// only then (importers usually unmap inside `invalidate_mappings`,
    /// before revoke waits, and outside revoke nobody waits).
    waiters: usize,
}

/// Ranges of one BAR, checked against it: what a buffer maps.
///
/// # Invariants
///
/// Every range is non-empty, page aligned and inside the BAR; `size` is
/// their total length, at most `isize::MAX`.
#[derive(PartialEq)]
pub(crate) struct BarRanges {
    region: u32,
    /// Physical addresses, in the order userspace gave the ranges.
    ranges: Ranges,
    size: usize,
}

/// One range inline (what most buffers are: no allocation), or several.
/// A list is never built for one range, so equal lists compare equal.
#[derive(PartialEq)]
enum Ranges {
    One(PhysRange),
    Many(KVec<PhysRange>),
}

impl Ranges {
    fn as_slice(&self) -> &[PhysRange] {
        match self {
            Ranges::One(range) => core::slice::from_ref(range),
            Ranges::Many(ranges) => ranges,
        }
    }
}

impl BarRanges {
    /// VFIO's `validate_dmabuf_input`, plus bounds: `n` (at least one)
    /// non-empty, page aligned ranges inside BAR `region` at
    /// `[start, start + len)`, each `(offset, length)` given by `next`, no
    /// overflow.
    pub(crate) fn check(
        region: u32,
        start: u64,
        len: u64,
        n: usize,
        mut next: impl FnMut() -> Result<(u64, u64)>,
    ) -> Result<Self> {
        if n == 0 {
            return Err(EINVAL);
        }
        let page = PAGE_SIZE as u64;
        let mut size: usize = 0;
        let mut range = || -> Result<PhysRange> {
            let (offset, length) = next()?;
            if length == 0 || offset % page != 0 || length % page != 0 {
                return Err(EINVAL);
            }
            let end = offset.checked_add(length).ok_or(EOVERFLOW)?;
            if end > len {
                return Err(EINVAL);
            }
            let length = usize::try_from(length).map_err(|_| EOVERFLOW)?;
            size = size.checked_add(length).ok_or(EOVERFLOW)?;
            Ok(PhysRange::new(start + offset, length))
        };
        let ranges = if n == 1 {
            Ranges::One(range()?)
        } else {
            let mut ranges = KVec::with_capacity(n, GFP_KERNEL)?;
            for _ in 0..n {
                ranges.push(range()?, GFP_KERNEL)?;
            }
            Ranges::Many(ranges)
        };
        // dma-buf sizes and DMA IOVA ranges are limited to what fits below
        // the sign bit (the core warns on larger IOVA requests).
        if size > isize::MAX as usize {
            return Err(EOVERFLOW);
        }
        // INVARIANT: checked above.
        Ok(Self {
            region,
            ranges,
            size,
        })
    }

    /// The BAR.
    pub(crate) fn region(&self) -> u32 {
        self.region
    }
}

/// What makes two buffers the same, for EXPORT's reuse flag.
#[derive(PartialEq)]
pub(crate) struct BufferKey {
    /// File flags of the dma-buf: a reuse must not widen access.
    pub(crate) open_flags: u32,
    /// The BAR and the ranges of it, compared by physical address.
    pub(crate) ranges: BarRanges,
}

/// An exported buffer: the concatenation of `key.ranges` of a BAR.
#[pin_data]
pub(crate) struct MmioBuffer {
    key: BufferKey,
    write_combine: bool,
    provider: P2pProvider,
    #[pin]
    state: Mutex<MapState>,
    #[pin]
    unmapped: CondVar,
}

impl MmioBuffer {
    /// A buffer over the ranges of `key`, revoked or not.
    pub(crate) fn new(
        key: BufferKey,
        write_combine: bool,
        provider: P2pProvider,
        revoked: bool,
    ) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                key,
                write_combine,
                provider,
                state <- new_mutex!(MapState {
                    revoked,
                    maps: 0,
                    vmaps: 0,
                    waiters: 0,
                }, "MmioBuffer::state"),
                unmapped <- new_condvar!("MmioBuffer::unmapped"),
            }),
            GFP_KERNEL,
        )
    }

    /// What identifies the buffer.
    pub(crate) fn key(&self) -> &BufferKey {
        &self.key
    }

    /// Size in bytes.
    pub(crate) fn size(&self) -> usize {
        self.key.ranges.size
    }

    /// Revokes or restores access. Revoking is only half of it: the caller
    /// then invalidates importers and zaps CPU mappings.
    pub(crate) fn set_revoked(&self, revoked: bool) {
        self.state.lock().revoked = revoked;
    }

    /// Waits, at most `timeout`, until importers have unmapped every mapping
    /// and kernel mapping; `false` if some are left.
    pub(crate) fn wait_unmapped(&self, timeout: Jiffies) -> bool {
        let mut state = self.state.lock();
        let mut left = timeout;
        while state.maps + state.vmaps != 0 && left != 0 {
            state.waiters += 1;
            left = match self.unmapped.wait_interruptible_timeout(&mut state, left) {
                kernel::sync::CondVarTimeoutResult::Woken { jiffies } => jiffies,
                // A signal or the timeout: stop waiting either way.
                _ => 0,
            };
            state.waiters -= 1;
        }
        state.maps + state.vmaps == 0
    }

    /// The physical address of byte `offset` of the buffer.
    fn phys(&self, mut offset: usize) -> Option<u64> {
        // At most `max_ranges` steps, never more.
        for r in self.key.ranges.ranges.as_slice() {
            if offset < r.len() {
                return Some(r.addr() + offset as u64);
            }
            offset -= r.len();
        }
        None
    }
}

impl Exporter for MmioBuffer {
    type State = DeviceState;

    fn attach(&self, attach: &Attachment) -> Result {
        if !attach.peer2peer() {
            return Err(EOPNOTSUPP);
        }
        if self.state.lock().revoked {
            return Err(ENODEV);
        }
        // An importer that cannot be told to unmap could keep using the BAR
        // after revoke.
        if !attach.is_revocable() {
            return Err(EOPNOTSUPP);
        }
        Ok(())
    }

    fn map(&self, attach: &Attachment, dir: Direction) -> Result<SgTable> {
        let mut state = self.state.lock();
        if state.revoked {
            return Err(ENODEV);
        }
        let ranges = &self.key.ranges;
        let sgt = self
            .provider
            .map(attach, ranges.ranges.as_slice(), ranges.size, dir)?;
        state.maps += 1;
        Ok(sgt)
    }

    fn unmapped(&self, _attach: &Attachment) {
        let mut state = self.state.lock();
        state.maps -= 1;
        if state.maps + state.vmaps == 0 && state.waiters != 0 {
            self.unmapped.notify_all();
        }
    }

    fn cpu_write_combine(&self) -> bool {
        self.write_combine
    }

    fn fault(&self, fault: &Fault) -> FaultResult {
        // Held across the insertion: revoke cannot slip between the check
        // and the new page table entry.
        let state = self.state.lock();
        if state.revoked {
            return FaultResult::SIGBUS;
        }
        let Some(offset) = fault.pgoff().checked_mul(PAGE_SIZE) else {
            return FaultResult::SIGBUS;
        };
        match self.phys(offset) {
            Some(phys) => fault.insert_pfn(phys >> PAGE_SHIFT),
            None => FaultResult::SIGBUS,
        }
    }

    fn vmap(&self) -> Result<IoMapping> {
        let mut state = self.state.lock();
        if state.revoked {
            return Err(ENODEV);
        }
        // One kernel mapping must be virtually contiguous: one range.
        let [range] = self.key.ranges.ranges.as_slice() else {
            return Err(EOPNOTSUPP);
        };
        let mapping = IoMapping::new_wc(range.addr(), range.len())?;
        state.vmaps += 1;
        Ok(mapping)
    }

    fn vunmap(&self, mapping: IoMapping) {
        drop(mapping);
        let mut state = self.state.lock();
        state.vmaps -= 1;
        if state.maps + state.vmaps == 0 && state.waiters != 0 {
            self.unmapped.notify_all();
        }
    }
}
