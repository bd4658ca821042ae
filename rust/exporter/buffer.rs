// SPDX-License-Identifier: GPL-2.0

//! One exported buffer: ranges of a memory BAR.
//!
//! Whether access to them is revoked is the abstraction's business
//! (`dma_buf`): it calls `map` and `fault` below, and maps
//! `io_range` for `vmap`, only while the buffer is not revoked, under the
//! buffer's access gate.

use crate::abstractions::{
    compat,
    dma_buf::{
        Attachment,
        DmaBufOps,
        SgTable, //
    },
    io_range::{
        IoPfn,
        IoRange, //
    },
    pci::P2pProvider,
    vma::{
        Fault,
        FaultResult, //
    }, //
};
use kernel::{
    dma::DataDirection,
    page::PAGE_SIZE,
    prelude::*, //
};

/// Ranges of one BAR, checked against it: what a buffer maps.
///
/// # Invariants
///
/// Every range is non-empty, page aligned and inside the BAR (the
/// provider checked that); `size` is their total length, at most
/// `isize::MAX`.
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
    One(IoRange),
    Many(KVec<IoRange>),
}

impl Ranges {
    fn as_slice(&self) -> &[IoRange] {
        match self {
            Ranges::One(range) => core::slice::from_ref(range),
            Ranges::Many(ranges) => ranges,
        }
    }
}

impl BarRanges {
    /// VFIO's `validate_dmabuf_input`, plus bounds: `n` (at least one)
    /// non-empty, page aligned ranges inside BAR `region`, whose provider is
    /// `bar`, each `(offset, length)` given by `next`, no overflow.
    pub(crate) fn check(
        region: u32,
        bar: &P2pProvider,
        n: usize,
        mut next: impl FnMut() -> Result<(u64, u64)>,
    ) -> Result<Self> {
        if n == 0 {
            return Err(EINVAL);
        }
        let mut size: usize = 0;
        let mut range = || -> Result<IoRange> {
            let (offset, length) = next()?;
            check_pages(offset, length)?;
            let range = bar.range(offset, length)?;
            size = size.checked_add(range.len()).ok_or(EOVERFLOW)?;
            Ok(range)
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
        // CAST: `isize::MAX` is positive.
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

/// Checks that a range of `length` bytes at `offset` is whole pages, and
/// not empty: `EINVAL` otherwise (VFIO's `validate_dmabuf_input`).
pub(crate) fn check_pages(offset: u64, length: u64) -> Result {
    // CAST: `usize` to `u64` is lossless.
    let page = PAGE_SIZE as u64;
    if length == 0 || offset % page != 0 || length % page != 0 {
        return Err(EINVAL);
    }
    Ok(())
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
pub(crate) struct MmioBuffer {
    key: BufferKey,
    write_combine: bool,
    provider: P2pProvider,
}

impl MmioBuffer {
    /// A buffer over the ranges of `key`.
    pub(crate) fn new(key: BufferKey, write_combine: bool, provider: P2pProvider) -> Self {
        Self {
            key,
            write_combine,
            provider,
        }
    }

    /// What identifies the buffer.
    pub(crate) fn key(&self) -> &BufferKey {
        &self.key
    }

    /// Size in bytes.
    pub(crate) fn size(&self) -> usize {
        self.key.ranges.size
    }

    /// The page frame that holds byte `offset` of the buffer.
    fn pfn(&self, mut offset: usize) -> Option<IoPfn> {
        // At most `max_ranges` steps, never more.
        for r in self.key.ranges.ranges.as_slice() {
            if offset < r.len() {
                return r.pfn(offset);
            }
            offset -= r.len();
        }
        None
    }
}

impl DmaBufOps for MmioBuffer {
    fn attach(&self, attach: &Attachment) -> Result {
        if !attach.peer2peer() {
            return Err(compat::eopnotsupp());
        }
        Ok(())
    }

    fn map(&self, attach: &Attachment, dir: DataDirection) -> Result<SgTable> {
        self.provider
            .map(attach, self.key.ranges.ranges.as_slice(), dir)
    }

    fn cpu_write_combine(&self) -> bool {
        self.write_combine
    }

    fn fault(&self, fault: &Fault) -> FaultResult {
        let Some(offset) = fault.pgoff().checked_mul(PAGE_SIZE) else {
            return FaultResult::SIGBUS;
        };
        match self.pfn(offset) {
            Some(pfn) => fault.insert_pfn(pfn),
            None => FaultResult::SIGBUS,
        }
    }

    fn io_range(&self) -> Option<IoRange> {
        // One kernel mapping must be virtually contiguous: one range.
        match self.key.ranges.ranges {
            Ranges::One(range) => Some(range),
            Ranges::Many(_) => None,
        }
    }
}
