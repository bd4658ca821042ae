// SPDX-License-Identifier: GPL-2.0

//! The C `struct pci_dev` behind a `kernel::pci::Device`, for the calls the
//! `kernel` crate does not wrap.

use kernel::{
    bindings,
    device,
    pci, //
};

/// The `struct pci_dev` of `pdev`.
pub(super) fn raw<Ctx: device::DeviceContext>(pdev: &pci::Device<Ctx>) -> *mut bindings::pci_dev {
    // `pci::Device` is a transparent wrapper of `struct pci_dev`.
    core::ptr::from_ref(pdev).cast_mut().cast()
}
