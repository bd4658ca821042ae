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
    pci::BarRanges,
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

/// What makes two buffers the same, for EXPORT's reuse flag.
#[derive(PartialEq)]
pub(crate) struct BufferKey {
    /// File flags of the dma-buf: a reuse must not widen access.
    pub(crate) open_flags: u32,
    /// The BAR.
    pub(crate) region: u32,
    /// The ranges of it, compared by physical address.
    pub(crate) ranges: BarRanges,
}

/// An exported buffer: the concatenation of `key.ranges` of a BAR.
pub(crate) struct MmioBuffer {
    key: BufferKey,
    write_combine: bool,
}

impl MmioBuffer {
    /// A buffer over the ranges of `key`.
    pub(crate) fn new(key: BufferKey, write_combine: bool) -> Self {
        Self { key, write_combine }
    }

    /// What identifies the buffer.
    pub(crate) fn key(&self) -> &BufferKey {
        &self.key
    }

    /// Size in bytes.
    pub(crate) fn size(&self) -> usize {
        self.key.ranges.size()
    }

    /// The page frame that holds byte `offset` of the buffer.
    fn pfn(&self, mut offset: usize) -> Option<IoPfn> {
        // At most `max_ranges` steps, never more.
        for r in self.key.ranges.as_slice() {
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

    // Inline: with `map_dma_buf` (counted by `make bench`), the table goes
    // back in registers, not through a `Result` in memory.
    #[inline]
    fn map(&self, attach: &Attachment, dir: DataDirection) -> Result<SgTable> {
        self.key.ranges.map(attach, dir)
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
        self.key.ranges.single()
    }
}
