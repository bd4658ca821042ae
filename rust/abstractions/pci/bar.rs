// SPDX-License-Identifier: GPL-2.0

//! A PCI device's standard BARs: their kind, claiming them, and reserving
//! their memory type.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h).
//!
//! Claims borrow the bound device, so they can only live in the driver's
//! per-device data and are released at unbind at the latest.

use super::device::raw;
use kernel::{
    bindings,
    device,
    error::to_result,
    pci,
    prelude::*,
    str::CStr, //
};

/// The standard BARs of a PCI device (`PCI_STD_NUM_BARS`).
// CAST: 6 fits in `usize`.
pub(crate) const NUM_BARS: usize = bindings::PCI_STD_NUM_BARS as usize;

/// What a BAR is, from its resource flags.
#[derive(Clone, Copy, Default)]
pub(crate) struct BarKind {
    /// Memory (not I/O ports, not unimplemented).
    pub(crate) memory: bool,
    /// Prefetchable memory: CPU mappings may be write-combined.
    pub(crate) prefetch: bool,
    /// 64-bit memory.
    pub(crate) mem64: bool,
}

/// The kind of standard BAR `bar` (below [`NUM_BARS`]).
pub(crate) fn bar_kind<Ctx: device::DeviceContext>(pdev: &pci::Device<Ctx>, bar: u32) -> BarKind {
    let Some(bar) = usize::try_from(bar).ok().filter(|&b| b < NUM_BARS) else {
        return BarKind::default();
    };
    // SAFETY: The device is alive; `bar` indexes one of its standard BARs.
    let flags = unsafe { (*raw(pdev)).resource[bar].flags };
    // CAST: the `IORESOURCE_*` flags tested are in the low 32 bits.
    let flags = flags as u32;
    BarKind {
        memory: flags & bindings::IORESOURCE_MEM != 0,
        prefetch: flags & bindings::IORESOURCE_PREFETCH != 0,
        mem64: flags & bindings::IORESOURCE_MEM_64 != 0,
    }
}

/// A claimed BAR (`pci_request_region()`); released on drop.
pub(crate) struct BarClaim<'bound> {
    pdev: &'bound pci::Device<device::Bound>,
    bar: u32,
}

impl<'bound> BarClaim<'bound> {
    /// Claims BAR `bar` for `name` (`EBUSY` if another driver has it).
    pub(crate) fn new(
        pdev: &'bound pci::Device<device::Bound>,
        bar: u32,
        name: &'static CStr,
    ) -> Result<Self> {
        // SAFETY: The device is bound; the name is static.
        to_result(unsafe {
            // CAST: standard BAR numbers are below 6.
            bindings::pci_request_region(raw(pdev), bar as c_int, name.as_char_ptr())
        })?;
        Ok(Self { pdev, bar })
    }
}

impl Drop for BarClaim<'_> {
    fn drop(&mut self) {
        // SAFETY: We claimed this region in `new` and the device is bound.
        // CAST: standard BAR numbers are below 6.
        unsafe { bindings::pci_release_region(raw(self.pdev), self.bar as c_int) };
    }
}

/// Reserves BAR `bar`'s memory type as write-combining until the device is
/// unbound (`devm_arch_io_reserve_memtype_wc()`).
///
/// On x86 with PAT, `vmf_insert_pfn()` gives a page the memory type that
/// was reserved for its address, not the VMA's protection: without this,
/// "write-combined" CPU mappings of the BAR are uncached (UC-). Elsewhere it
/// does nothing. Fails if another mapping of the range has a conflicting
/// type.
pub(crate) fn reserve_write_combining(pdev: &pci::Device<device::Bound>, bar: u32) -> Result {
    let (start, len) = (pdev.resource_start(bar)?, pdev.resource_len(bar)?);
    // SAFETY: The device is bound, so its device-managed resources are
    // released at unbind at the latest; any range may be passed.
    to_result(unsafe {
        bindings::devm_arch_io_reserve_memtype_wc(&raw mut (*raw(pdev)).dev, start, len)
    })
}
