// SPDX-License-Identifier: GPL-2.0

//! Peer-to-peer DMA to a PCI BAR: the provider of a BAR, and ranges of it,
//! checked against it once, that an importer maps.
//!
//! C header: [`include/linux/pci-p2pdma.h`](srctree/include/linux/pci-p2pdma.h).
//!
//! The C provider is device-managed memory: it is freed when the device is
//! unbound, while buffers exported from the BAR may live on. So the provider
//! is reached only through a [`P2pProvider`] slot, which the
//! [`ProviderOwner`] empties when it is dropped; the owner borrows the bound
//! device, so it can only live in the driver's per-device data, which is
//! dropped before device-managed memory is released.

use crate::abstractions::{
    dma_buf::{
        Attachment,
        SgTable, //
    },
    io_range::{
        IoRange,
        PhysRange, //
    }, //
};
use core::ptr::NonNull;
use kernel::{
    bindings,
    device,
    dma::DataDirection,
    error::to_result,
    new_mutex,
    page::PAGE_SIZE,
    pci,
    prelude::*,
    sync::{
        Arc,
        Mutex, //
    }, //
};

/// The raw provider pointer, valid while the slot holds it.
struct RawProvider(NonNull<bindings::p2pdma_provider>);

// SAFETY: The provider is plain data owned by the PCI core; the pointer may be
// used from any thread while it is valid (see `P2pProvider`).
unsafe impl Send for RawProvider {}

/// A shareable handle to the P2P provider of one BAR.
///
/// # Invariants
///
/// The slot holds a valid provider pointer until the [`ProviderOwner`] that
/// created it is dropped, which happens while the device is still bound; after
/// that it is `None` for good.
///
/// `bar` is the BAR's physical range, a memory BAR of the device.
#[derive(Clone)]
pub(crate) struct P2pProvider {
    slot: Arc<Mutex<Option<RawProvider>>>,
    bar: PhysRange,
}

/// Keeps a [`P2pProvider`] valid; revokes it when dropped.
pub(crate) struct ProviderOwner<'bound> {
    provider: P2pProvider,
    _dev: &'bound pci::Device<device::Bound>,
}

impl<'bound> ProviderOwner<'bound> {
    /// Sets up P2P DMA for `pdev` (once per device) and returns the owner of
    /// the provider of memory BAR `bar`. `ENODEV` if `bar` is not memory.
    pub(crate) fn new(pdev: &'bound pci::Device<device::Bound>, bar: u32) -> Result<Self> {
        let raw = core::ptr::from_ref(pdev)
            .cast_mut()
            .cast::<bindings::pci_dev>();
        // SAFETY: `pci::Device` is a transparent wrapper of `struct pci_dev`
        // and the device is bound, as `pcim_p2pdma_init()` requires.
        to_result(unsafe { bindings::pcim_p2pdma_init(raw) })?;
        // SAFETY: As above; P2P is initialised, so this does not warn.
        // CAST: standard BAR numbers are below 6.
        let ptr = unsafe { bindings::pcim_p2pdma_provider(raw, bar as c_int) };
        let ptr = NonNull::new(ptr).ok_or(ENODEV)?;
        // A provider exists for memory BARs only.
        let len = usize::try_from(pdev.resource_len(bar)?).map_err(|_| EOVERFLOW)?;
        let bar = PhysRange::new(pdev.resource_start(bar)?, len);
        let slot = Arc::pin_init(new_mutex!(Some(RawProvider(ptr))), GFP_KERNEL)?;
        // INVARIANT: the provider is device-managed and the device is bound
        // for `'bound`, which the owner cannot outlive.
        Ok(Self {
            provider: P2pProvider { slot, bar },
            _dev: pdev,
        })
    }

    /// A handle for buffers, usable until this owner is dropped.
    pub(crate) fn provider(&self) -> P2pProvider {
        self.provider.clone()
    }
}

impl Drop for ProviderOwner<'_> {
    fn drop(&mut self) {
        // Waits for any mapping in progress, then no one can start one.
        *self.provider.slot.lock() = None;
    }
}

impl P2pProvider {
    /// The `len` bytes at `offset` into the BAR: `EINVAL` if empty, not
    /// whole pages or not inside it, `EOVERFLOW` if the end overflows.
    fn range(&self, offset: u64, len: u64) -> Result<IoRange> {
        // Whole pages: a CPU mapping maps a range's pages whole, and the
        // page that holds the end of a range that ends mid-page holds what
        // comes after it, past a BAR smaller than a page.
        check_pages(offset, len)?;
        let len = range_within(self.bar.len(), offset, len)?;
        // SAFETY: Non-empty, whole pages and inside the BAR (just checked),
        // a memory BAR (`P2pProvider`'s invariant); a BAR that holds a page
        // is aligned to its size, so its pages are whole pages too.
        Ok(unsafe { IoRange::new(PhysRange::new(self.bar.addr() + offset, len)) })
    }
}

/// Ranges of one provider's BAR, in the order given: what a buffer maps.
///
/// The ranges are checked against the BAR once, here, and kept with the
/// provider they were checked against: mapping them needs no second check.
///
/// # Invariants
///
/// Every range is non-empty, whole pages and inside `provider`'s BAR;
/// `size` is their total length, at most `isize::MAX`.
pub(crate) struct BarRanges {
    provider: P2pProvider,
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

impl BarRanges {
    /// `n` (at least one) ranges of `provider`'s BAR, each `(offset,
    /// length)` given by `next`: `EINVAL` if there are none or one is
    /// empty, not whole pages or not inside the BAR, `EOVERFLOW` if an end
    /// or the total overflows.
    pub(crate) fn new(
        provider: &P2pProvider,
        n: usize,
        mut next: impl FnMut() -> Result<(u64, u64)>,
    ) -> Result<Self> {
        if n == 0 {
            return Err(EINVAL);
        }
        let mut size: usize = 0;
        let mut range = || -> Result<IoRange> {
            let (offset, length) = next()?;
            let range = provider.range(offset, length)?;
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
        // INVARIANT: each range came from `provider.range()`; `size` is
        // their total, checked above.
        Ok(Self {
            provider: provider.clone(),
            ranges,
            size,
        })
    }

    /// The ranges, in the order given.
    pub(crate) fn as_slice(&self) -> &[IoRange] {
        match &self.ranges {
            Ranges::One(range) => core::slice::from_ref(range),
            Ranges::Many(ranges) => ranges,
        }
    }

    /// Their total length in bytes.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// The range, if there is only one.
    pub(crate) fn single(&self) -> Option<IoRange> {
        match self.ranges {
            Ranges::One(range) => Some(range),
            Ranges::Many(_) => None,
        }
    }

    /// Maps the ranges, concatenated, for the importer of `attach`. The
    /// reservation lock of the buffer must be held (the core holds it
    /// around `map_dma_buf`).
    ///
    /// Fails with `ENODEV` once the device was unbound, `EINVAL` if the
    /// importer cannot reach the BAR peer to peer.
    #[inline]
    pub(crate) fn map(&self, attach: &Attachment, dir: DataDirection) -> Result<SgTable> {
        let slot = self.provider.slot.lock();
        let provider = slot.as_ref().ok_or(ENODEV)?;
        let ranges = IoRange::as_phys(self.as_slice());
        // SAFETY: The provider is valid while the slot holds it, and the
        // slot's lock is held; the ranges are inside the provider's BAR and
        // `size` is their total (type invariant); the reservation lock is
        // held (caller's contract, asserted by the callee).
        unsafe { SgTable::map_phys(attach, provider.0, ranges, self.size, dir) }
    }
}

/// Ranges compare by physical address: equal ranges are of the same BAR,
/// so of the same provider.
impl PartialEq for BarRanges {
    fn eq(&self, other: &Self) -> bool {
        self.ranges == other.ranges
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

/// The length of the `len` bytes at `offset` into a BAR of `bar_len` bytes:
/// `EINVAL` if empty or not inside it, `EOVERFLOW` if the end overflows.
pub(crate) fn range_within(bar_len: usize, offset: u64, len: u64) -> Result<usize> {
    let end = offset.checked_add(len).ok_or(EOVERFLOW)?;
    // CAST: `usize` to `u64` is lossless.
    if len == 0 || end > bar_len as u64 {
        return Err(EINVAL);
    }
    usize::try_from(len).map_err(|_| EOVERFLOW)
}
