// SPDX-License-Identifier: GPL-2.0

//! Peer-to-peer DMA to a PCI BAR: the provider of a BAR, and mapping ranges
//! of it for an importer.
//!
//! C header: [`include/linux/pci-p2pdma.h`](srctree/include/linux/pci-p2pdma.h).
//!
//! The C provider is device-managed memory: it is freed when the device is
//! unbound, while buffers exported from the BAR may live on. So the provider
//! is reached only through a [`P2pProvider`] slot, which the
//! [`ProviderOwner`] empties when it is dropped; the owner borrows the bound
//! device, so it can only live in the driver's per-device data, which is
//! dropped before device-managed memory is released.

use super::{
    dma_buf::Attachment,
    dma_buf_mapping::{
        PhysRange,
        SgTable, //
    }, //
};
use core::ptr::NonNull;
use kernel::{
    bindings,
    device,
    dma::DataDirection,
    error::to_result,
    new_mutex,
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
#[derive(Clone)]
pub(crate) struct P2pProvider {
    slot: Arc<Mutex<Option<RawProvider>>>,
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
        let slot = Arc::pin_init(new_mutex!(Some(RawProvider(ptr))), GFP_KERNEL)?;
        // INVARIANT: the provider is device-managed and the device is bound
        // for `'bound`, which the owner cannot outlive.
        Ok(Self {
            provider: P2pProvider { slot },
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
    /// Maps `ranges` (of `size` bytes in all) of the provider's BAR for the
    /// importer of `attach`. The reservation lock of the buffer must be held
    /// (the core holds it around `map_dma_buf`).
    ///
    /// Fails with `ENODEV` once the device was unbound, `EINVAL` if the
    /// importer cannot reach the BAR peer to peer.
    pub(crate) fn map(
        &self,
        attach: &Attachment,
        ranges: &[PhysRange],
        size: usize,
        dir: DataDirection,
    ) -> Result<SgTable> {
        let slot = self.slot.lock();
        let provider = slot.as_ref().ok_or(ENODEV)?;
        // SAFETY: The provider is valid while the slot holds it, and the
        // slot's lock is held; the ranges are inside the provider's BAR and
        // the reservation lock is held (caller's contract).
        unsafe { SgTable::map_phys(attach, provider.0, ranges, size, dir) }
    }
}
