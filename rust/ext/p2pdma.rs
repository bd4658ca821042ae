// SPDX-License-Identifier: GPL-2.0

//! Peer-to-peer DMA to a PCI BAR: the provider of a BAR and the scatterlists
//! that map ranges of it for an importer.
//!
//! C headers: [`include/linux/pci-p2pdma.h`](srctree/include/linux/pci-p2pdma.h),
//! [`include/linux/dma-buf-mapping.h`](srctree/include/linux/dma-buf-mapping.h).
//!
//! The C provider is device-managed memory: it is freed when the device is
//! unbound, while buffers exported from the BAR may live on. So the provider
//! is reached only through a [`P2pProvider`] slot, which the
//! [`ProviderOwner`] empties when it is dropped; the owner borrows the bound
//! device, so it can only live in the driver's per-device data, which is
//! dropped before device-managed memory is released.

use super::dma_buf::Attachment;
use core::ptr::NonNull;
use kernel::{
    bindings, device,
    error::to_result,
    ffi::c_void,
    new_mutex, pci,
    prelude::*,
    sync::{Arc, Mutex},
};

// The attachment and the provider are typed `void *`: bindgen's versions of
// these structs are not FFI-safe (they contain zero-sized members).
extern "C" {
    fn dma_buf_phys_vec_to_sgt(
        attach: *mut c_void,
        provider: *mut c_void,
        phys_vec: *mut bindings::phys_vec,
        nr_ranges: usize,
        size: usize,
        dir: bindings::dma_data_direction,
    ) -> *mut bindings::sg_table;
    fn dma_buf_free_sgt(
        attach: *mut c_void,
        sgt: *mut bindings::sg_table,
        dir: bindings::dma_data_direction,
    );
}

/// A physical range of MMIO: the C `struct phys_vec`.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub(crate) struct PhysRange(bindings::phys_vec);

impl PhysRange {
    /// The range of `len` bytes at physical address `addr`.
    pub(crate) fn new(addr: u64, len: usize) -> Self {
        Self(bindings::phys_vec {
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
        dir: bindings::dma_data_direction,
    ) -> Result<SgTable> {
        let slot = self.slot.lock();
        let provider = slot.as_ref().ok_or(ENODEV)?;
        // SAFETY: The attachment is alive and its buffer's reservation lock is
        // held (caller's contract, asserted by the callee). The provider is
        // valid while the slot holds it, and the slot's lock is held. The
        // ranges are only read, though the C prototype is not const.
        let sgt = unsafe {
            dma_buf_phys_vec_to_sgt(
                attach.as_raw().cast(),
                provider.0.as_ptr().cast(),
                ranges.as_ptr().cast_mut().cast(),
                ranges.len(),
                size,
                dir,
            )
        };
        let sgt = kernel::error::from_err_ptr(sgt)?;
        let sgt = NonNull::new(sgt).ok_or(ENOMEM)?;
        // INVARIANT: a table from `dma_buf_phys_vec_to_sgt()` for `attach`.
        Ok(SgTable {
            sgt,
            attach: NonNull::from(attach),
            dir,
        })
    }
}

/// A scatterlist mapping MMIO ranges for one attachment; freed on drop.
///
/// # Invariants
///
/// `sgt` was returned by `dma_buf_phys_vec_to_sgt()` for `attach` and `dir`,
/// and `attach` outlives it (the core frees mappings before detaching).
pub(crate) struct SgTable {
    sgt: NonNull<bindings::sg_table>,
    attach: NonNull<Attachment>,
    dir: bindings::dma_data_direction,
}

impl SgTable {
    /// Hands the table to the dma-buf core; it comes back through
    /// [`SgTable::from_raw`] in `unmap_dma_buf`.
    pub(crate) fn into_raw(self) -> *mut bindings::sg_table {
        let sgt = self.sgt.as_ptr();
        core::mem::forget(self);
        sgt
    }

    /// Takes back a table handed out by [`SgTable::into_raw`].
    ///
    /// # Safety
    ///
    /// `sgt` came from `into_raw` of a table mapped for `attach` with `dir`,
    /// and is not used by anyone else any more.
    pub(crate) unsafe fn from_raw(
        sgt: *mut bindings::sg_table,
        attach: &Attachment,
        dir: bindings::dma_data_direction,
    ) -> Self {
        // INVARIANT: the caller passes back what `into_raw` gave out.
        Self {
            // SAFETY: `into_raw` never returns NULL.
            sgt: unsafe { NonNull::new_unchecked(sgt) },
            attach: NonNull::from(attach),
            dir,
        }
    }
}

impl Drop for SgTable {
    fn drop(&mut self) {
        // Linux 7.3's `dma_buf_phys_vec_to_sgt()` sets `orig_nents` to 0 ("no
        // CPU list"), so the `sg_free_table()` in `dma_buf_free_sgt()` would
        // free nothing and leak the scatterlist (kmemleak shows it, one per
        // mapping). The table was allocated with exactly `nents` entries (the
        // builder warns otherwise): give `sg_free_table()` that count back.
        // SAFETY: The table is ours until freed just below.
        unsafe { (*self.sgt.as_ptr()).orig_nents = (*self.sgt.as_ptr()).nents };
        // SAFETY: By the type invariants the table was mapped for `attach`,
        // which is still alive, with `dir`.
        unsafe {
            dma_buf_free_sgt(
                self.attach.as_ref().as_raw().cast(),
                self.sgt.as_ptr(),
                self.dir,
            )
        };
    }
}
