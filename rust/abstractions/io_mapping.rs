// SPDX-License-Identifier: GPL-2.0

//! A kernel virtual mapping of I/O memory (`ioremap_wc()` or `ioremap()`),
//! for CPU access from the kernel (a dma-buf's `vmap`).
//!
//! Not `kernel::io::mem::IoMem`: it maps with `ioremap()` only and is tied to
//! the bound device (`Devres`), while a `vmap` wants write-combining for a
//! prefetchable BAR and may outlive the binding until the importer unmaps.

use super::io_range::IoRange;
use core::ptr::NonNull;
use kernel::{
    bindings,
    ffi::c_void,
    prelude::*, //
};

/// An `ioremap_wc()` or `ioremap()` mapping; unmapped on drop.
///
/// # Invariants
///
/// `addr` was returned by `ioremap_wc()` or `ioremap()` and is not unmapped
/// yet.
pub(crate) struct IoMapping {
    addr: NonNull<c_void>,
}

// SAFETY: The mapping is a kernel address range usable from any thread.
unsafe impl Send for IoMapping {}

impl IoMapping {
    /// Maps the device memory of `range`, write-combined or uncached.
    ///
    /// The caller keeps the memory claimed (its BAR requested) while the
    /// mapping exists; that is a correctness rule of the driver, not a memory
    /// safety one: the mapping itself stays valid until dropped.
    pub(crate) fn new(range: IoRange, write_combine: bool) -> Result<Self> {
        // CAST: `resource_size_t` is 64 bits wide on every 64-bit kernel.
        let phys = range.addr() as bindings::resource_size_t;
        let addr = if write_combine {
            // SAFETY: `ioremap_wc()` accepts any range and fails with NULL.
            unsafe { bindings::ioremap_wc(phys, range.len()) }
        } else {
            // SAFETY: `ioremap()` accepts any range and fails with NULL.
            unsafe { bindings::ioremap(phys, range.len()) }
        };
        // INVARIANT: returned by `ioremap_wc()` or `ioremap()`.
        Ok(Self {
            addr: NonNull::new(addr).ok_or(ENOMEM)?,
        })
    }

    /// Gives up ownership; [`IoMapping::from_raw`] takes it back.
    pub(crate) fn into_raw(self) -> *mut c_void {
        let addr = self.addr.as_ptr();
        core::mem::forget(self);
        addr
    }

    /// # Safety
    ///
    /// `addr` came from [`IoMapping::into_raw`] and is not used any more.
    pub(crate) unsafe fn from_raw(addr: *mut c_void) -> Self {
        // INVARIANT: what `into_raw` gave out, still mapped.
        Self {
            // SAFETY: `into_raw` never returns NULL.
            addr: unsafe { NonNull::new_unchecked(addr) },
        }
    }
}

impl Drop for IoMapping {
    fn drop(&mut self) {
        // SAFETY: Mapped by `ioremap_wc()` or `ioremap()` and not unmapped
        // yet (invariant).
        unsafe { bindings::iounmap(self.addr.as_ptr()) };
    }
}
