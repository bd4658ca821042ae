// SPDX-License-Identifier: GPL-2.0

//! The MMIO dma-buf exporter: a PCI driver that exports ranges of a
//! device's memory BARs as dma-bufs, and revokes them.
//!
//! Imports flow one way: `pci` (the driver) → `file` (the uAPI) → `device`
//! (one device's exporter) → `buffer` (one buffer).

mod buffer;
mod device;
mod file;
mod pci;

pub(crate) use pci::FencebufPci;
