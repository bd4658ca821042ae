// SPDX-License-Identifier: GPL-2.0

//! What the exporter needs of a PCI device beyond `kernel::pci`: its name,
//! the flags of its BARs, claiming memory BARs and reserving their memory
//! type, enabling it for memory, and the memory-decode bit of its command
//! register.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h).
//!
//! Claims borrow the bound device, so they can only live in the driver's
//! per-device data and are released at unbind at the latest.

use super::fault_inject;
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

/// The `struct pci_dev` of `pdev`.
pub(super) fn raw<Ctx: device::DeviceContext>(pdev: &pci::Device<Ctx>) -> *mut bindings::pci_dev {
    // `pci::Device` is a transparent wrapper of `struct pci_dev`.
    core::ptr::from_ref(pdev).cast_mut().cast()
}

/// The device's name, its PCI address (`0000:00:04.0`).
pub(crate) fn name<Ctx: device::DeviceContext>(pdev: &pci::Device<Ctx>) -> &CStr {
    // SAFETY: The device is alive for the borrow; its name is set at
    // creation and freed with the device.
    unsafe { CStr::from_char_ptr(bindings::dev_name(&raw mut (*raw(pdev)).dev)) }
}

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

/// The device enabled for memory access (`pci_enable_device_mem()`);
/// disabled on drop.
pub(crate) struct MemEnabled<'bound> {
    pdev: &'bound pci::Device<device::Bound>,
}

impl<'bound> MemEnabled<'bound> {
    /// Enables `pdev`'s memory space.
    pub(crate) fn new(pdev: &'bound pci::Device<device::Bound>) -> Result<Self> {
        // SAFETY: The device is bound.
        to_result(unsafe { bindings::pci_enable_device_mem(raw(pdev)) })?;
        Ok(Self { pdev })
    }
}

impl Drop for MemEnabled<'_> {
    fn drop(&mut self) {
        // SAFETY: Enabled in `new`, and the device is still bound.
        unsafe { bindings::pci_disable_device(raw(self.pdev)) };
    }
}

// CAST: the offset of the command register, and its memory-decode bit.
const COMMAND: c_int = bindings::PCI_COMMAND as c_int;
// CAST: as above: a bit of the 16-bit register.
const COMMAND_MEMORY: u16 = bindings::PCI_COMMAND_MEMORY as u16;

extern "C" {
    fn fencebuf_pcibios_err_to_errno(err: c_int) -> c_int;
}

/// The result of a config space access: its `PCIBIOS_*` code as an errno.
fn pcibios_result(err: c_int) -> Result {
    // SAFETY: A pure conversion of an integer.
    to_result(unsafe { fencebuf_pcibios_err_to_errno(err) })
}

/// Reads the command register; fails if the device does not answer.
fn read_command(pdev: *mut bindings::pci_dev) -> Result<u16> {
    let mut cmd: u16 = 0;
    // SAFETY: Config space accesses are allowed on any live device.
    pcibios_result(unsafe { bindings::pci_read_config_word(pdev, COMMAND, &mut cmd) })?;
    Ok(cmd)
}

/// Whether memory decoding (`PCI_COMMAND_MEMORY`) is on. A device that
/// does not answer decodes nothing (its reads are all ones, which would
/// say "on").
pub(crate) fn memory_decode<Ctx: device::DeviceContext>(pdev: &pci::Device<Ctx>) -> bool {
    read_command(raw(pdev)).is_ok_and(|cmd| cmd & COMMAND_MEMORY != 0)
}

/// Turns memory decoding on or off. The caller serialises changes to the
/// command register of this device (the exporter's device lock). The write
/// can fail (a device that no longer answers; `<debugfs>/fencebuf/
/// fail_config_write`): [`memory_decode`] then says what the device does.
pub(crate) fn set_memory_decode<Ctx: device::DeviceContext>(
    pdev: &pci::Device<Ctx>,
    on: bool,
) -> Result {
    let pdev = raw(pdev);
    let cmd = read_command(pdev)?;
    let mem = COMMAND_MEMORY;
    let new = if on { cmd | mem } else { cmd & !mem };
    if new == cmd {
        return Ok(());
    }
    if fault_inject::config_write_fails() {
        // CAST: a small positive constant.
        return pcibios_result(bindings::PCIBIOS_SET_FAILED as c_int);
    }
    // SAFETY: As above.
    pcibios_result(unsafe { bindings::pci_write_config_word(pdev, COMMAND, new) })
}
