// SPDX-License-Identifier: GPL-2.0

//! A PCI device's memory space: enabling it, and its command register's
//! memory-decode bit.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h).
//!
//! Not `pci::Device::config_space()`: its accessors drop the `PCIBIOS_*`
//! error, and here a device that does not answer must read as decoding
//! nothing, and a write that fails must be reported.

use super::device::raw;
use crate::abstractions::fault_inject;
use kernel::{
    bindings,
    device,
    error::to_result,
    pci,
    prelude::*, //
};

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
