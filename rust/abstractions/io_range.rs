// SPDX-License-Identifier: GPL-2.0

//! Physical ranges (C's `struct phys_vec`), ranges of I/O memory, and page
//! frames of them: physical addresses known to be a device's memory, never
//! RAM.
//!
//! C header: [`include/linux/types.h`](srctree/include/linux/types.h).
//!
//! Mapping a physical address to userspace (`vmf_insert_pfn()`), into the
//! kernel (`ioremap()`) or for a peer's DMA is only sound for device memory:
//! the same calls on RAM would hand out memory the kernel owns. So the
//! functions that do so take these types, which only code that knows the
//! range is a device's (the PCI BAR it came from, `pci`) can make.

use kernel::{
    bindings,
    page::PAGE_SHIFT, //
};

/// A physical range of MMIO: the C `struct phys_vec`.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub(crate) struct PhysRange(bindings::phys_vec);

impl PhysRange {
    /// The range of `len` bytes at physical address `addr`. Only the
    /// abstractions make one: mapping it is sound only once it is known to
    /// be device memory (`io_range`).
    pub(super) fn new(addr: u64, len: usize) -> Self {
        Self(bindings::phys_vec {
            // CAST: `phys_addr_t` is 64 bits wide on every 64-bit kernel.
            paddr: addr as bindings::phys_addr_t,
            len,
        })
    }

    /// Start address.
    pub(crate) fn addr(&self) -> u64 {
        self.0.paddr
    }

    /// Length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.0.len
    }
}

impl PartialEq for PhysRange {
    fn eq(&self, other: &Self) -> bool {
        self.addr() == other.addr() && self.len() == other.len()
    }
}

/// A non-empty range of a device's memory.
///
/// # Invariants
///
/// `[addr, addr + len)` is whole pages inside one memory BAR of a PCI
/// device: I/O memory, not RAM, and so is every page that holds a byte of
/// it ([`IoPfn`]).
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq)]
pub(crate) struct IoRange(PhysRange);

impl IoRange {
    /// # Safety
    ///
    /// `range` is non-empty, whole pages (page-aligned start and length)
    /// and inside one memory BAR of a PCI device.
    pub(crate) unsafe fn new(range: PhysRange) -> Self {
        // INVARIANT: the caller's guarantee.
        Self(range)
    }

    /// Start address.
    pub(crate) fn addr(&self) -> u64 {
        self.0.addr()
    }

    /// Length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The ranges as plain physical ranges, for the C calls that map them.
    pub(crate) fn as_phys(ranges: &[IoRange]) -> &[PhysRange] {
        // SAFETY: `IoRange` is a transparent wrapper of `PhysRange`.
        unsafe { core::slice::from_raw_parts(ranges.as_ptr().cast(), ranges.len()) }
    }

    /// The page frame that holds byte `offset` of the range, if inside.
    pub(crate) fn pfn(&self, offset: usize) -> Option<IoPfn> {
        // CAST: `usize` to `u64` is lossless.
        (offset < self.len()).then(|| IoPfn((self.addr() + offset as u64) >> PAGE_SHIFT))
    }
}

/// A page frame of a device's memory.
///
/// # Invariants
///
/// The frame is inside one memory BAR of a PCI device (made from an
/// [`IoRange`] only).
#[derive(Clone, Copy)]
pub(crate) struct IoPfn(u64);

impl IoPfn {
    /// The frame number.
    pub(crate) fn as_raw(self) -> u64 {
        self.0
    }
}
