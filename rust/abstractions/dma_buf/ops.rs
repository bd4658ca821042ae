// SPDX-License-Identifier: GPL-2.0

//! The operations a driver gives its exported buffers.

use super::{
    attachment::Attachment,
    mapping::SgTable, //
};
use crate::abstractions::{
    io_range::IoRange,
    vma::{
        Fault,
        FaultResult, //
    }, //
};
use kernel::{
    dma::DataDirection,
    prelude::*, //
};

/// The operations of buffers exported through a [`BufferList`]: C's
/// `struct dma_buf_ops`, less what the abstraction does itself.
///
/// Each method runs with the buffer alive. `map` and `fault` run, and `vmap`
/// maps [`DmaBufOps::io_range`], only while its access is not revoked: the
/// abstraction checks that first and holds, across them, a lock that revoke
/// needs to mark the buffer (the reservation lock, which the core holds
/// around `map` and `vmap`; the access gate's, for `fault`), so a revoke
/// cannot slip between the check and the new mapping. (`attach` runs
/// first; the abstraction then refuses a revoked buffer with `ENODEV`.)
///
/// # Examples
///
/// The exporter's buffers (`rust/exporter/buffer.rs`) map physical ranges
/// of a BAR:
///
/// ```ignore
/// impl DmaBufOps for MmioBuffer {
///     fn attach(&self, attach: &Attachment) -> Result {
///         // MMIO only for importers that take peer-to-peer addresses.
///         if !attach.peer2peer() {
///             return Err(EOPNOTSUPP);
///         }
///         Ok(())
///     }
///
///     fn map(&self, attach: &Attachment, dir: DataDirection) -> Result<SgTable> {
///         self.ranges.map(attach, dir)
///     }
///
///     fn cpu_write_combine(&self) -> bool {
///         self.prefetchable
///     }
///
///     fn fault(&self, fault: &Fault) -> FaultResult {
///         match self.pfn(fault.pgoff() * PAGE_SIZE) {
///             Some(pfn) => fault.insert_pfn(pfn),
///             None => FaultResult::SIGBUS,
///         }
///     }
///
///     fn io_range(&self) -> Option<IoRange> {
///         self.single_range()
///     }
/// }
///
/// // A device's list, and an export under its device lock.
/// let list = BufferList::new(module, c"fencebuf", state, false)?;
/// let buf: DmaBuf = list.lock().export(buffer, size, O_RDWR)?;
/// // Memory off: every buffer revoked, or ENOMEM and nothing changed.
/// let outcome = list.transition().lock().try_revoke(timeout)?;
/// ```
///
/// [`BufferList`]: super::BufferList
pub(crate) trait DmaBufOps: Send + Sync + Sized + 'static {
    /// An importer attaches. Return an error to refuse it. (Importers that
    /// cannot be told to unmap are refused after this, with `EOPNOTSUPP`.)
    fn attach(&self, attach: &Attachment) -> Result;

    /// Maps the buffer for an importer. Reservation lock held.
    fn map(&self, attach: &Attachment, dir: DataDirection) -> Result<SgTable>;

    /// Whether CPU mappings are write-combined (else uncached).
    fn cpu_write_combine(&self) -> bool;

    /// A page of a CPU mapping is touched: insert its frame, or refuse.
    /// Runs under the faulting task's mmap lock.
    fn fault(&self, fault: &Fault) -> FaultResult;

    /// The buffer's memory, if it is one range of I/O memory: only then
    /// does the buffer offer `vmap`, mapped as [`Self::cpu_write_combine`]
    /// says. Asked once, at export. (The dma-buf core WARNs whenever an
    /// exporter's `vmap` fails, so a buffer that cannot be mapped whole
    /// offers none, and importers get `EINVAL` from the core, quietly.)
    fn io_range(&self) -> Option<IoRange>;
}
