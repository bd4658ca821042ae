// SPDX-License-Identifier: GPL-2.0

//! Mapping physical (MMIO) ranges of a buffer for an importer: the
//! scatterlists of `dma_buf_phys_vec_to_sgt()`.
//!
//! C header: [`include/linux/dma-buf-mapping.h`](srctree/include/linux/dma-buf-mapping.h).

use super::attachment::Attachment;
use crate::abstractions::io_range::PhysRange;
use core::ptr::NonNull;
use kernel::{
    bindings,
    dma::DataDirection,
    error::from_err_ptr,
    ffi::c_void,
    prelude::*, //
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

/// The direction of a mapping, from the value the core passed.
pub(super) fn direction(dir: bindings::dma_data_direction) -> Option<DataDirection> {
    // `From<DataDirection>` exists for both 7.2's `dma_data_direction` (an
    // integer) and 7.3's (a newtype enum); their constants are spelt apart.
    // Compared one by one, most common first: a search of an array of them
    // builds the array on the stack at every map and unmap.
    let is = |d: DataDirection| bindings::dma_data_direction::from(d) == dir;
    if is(DataDirection::Bidirectional) {
        Some(DataDirection::Bidirectional)
    } else if is(DataDirection::ToDevice) {
        Some(DataDirection::ToDevice)
    } else if is(DataDirection::FromDevice) {
        Some(DataDirection::FromDevice)
    } else if is(DataDirection::None) {
        Some(DataDirection::None)
    } else {
        None
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
    dir: DataDirection,
}

impl SgTable {
    /// Maps `ranges` (of `size` bytes in all) of the MMIO that `provider`
    /// provides, for the importer of `attach`: `EINVAL` if the importer
    /// cannot reach it peer to peer.
    ///
    /// # Safety
    ///
    /// `provider` is a valid P2P provider for the duration of the call, the
    /// ranges are inside its memory, and the reservation lock of the
    /// attachment's buffer is held.
    #[inline]
    pub(in crate::abstractions) unsafe fn map_phys(
        attach: &Attachment,
        provider: NonNull<bindings::p2pdma_provider>,
        ranges: &[PhysRange],
        size: usize,
        dir: DataDirection,
    ) -> Result<Self> {
        // SAFETY: The attachment is alive, its buffer's reservation lock held
        // (caller's contract, asserted by the callee), and the provider valid
        // (caller's contract). The ranges are only read, though the C
        // prototype is not const.
        let sgt = unsafe {
            dma_buf_phys_vec_to_sgt(
                attach.as_raw().cast(),
                provider.as_ptr().cast(),
                ranges.as_ptr().cast_mut().cast(),
                ranges.len(),
                size,
                dir.into(),
            )
        };
        let sgt = NonNull::new(from_err_ptr(sgt)?).ok_or(ENOMEM)?;
        // INVARIANT: a table from `dma_buf_phys_vec_to_sgt()` for `attach`.
        Ok(Self {
            sgt,
            attach: NonNull::from(attach),
            dir,
        })
    }

    /// Hands the table to the dma-buf core; it comes back through
    /// [`SgTable::from_raw`] in `unmap_dma_buf`.
    pub(super) fn into_raw(self) -> *mut bindings::sg_table {
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
    pub(super) unsafe fn from_raw(
        sgt: *mut bindings::sg_table,
        attach: &Attachment,
        dir: DataDirection,
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
                self.dir.into(),
            )
        };
    }
}
