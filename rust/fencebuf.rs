// SPDX-License-Identifier: GPL-2.0

//! fencebuf: a sw_sync-compatible fence timeline and an MMIO dma-buf
//! exporter, with reference counting that is correct by construction.
//!
//! The driver logic is safe Rust (`#[forbid(unsafe_code)]` below); all
//! `unsafe` lives in the abstraction layer in [`ext`].

use kernel::{
    driver,
    miscdevice::{MiscDeviceOptions, MiscDeviceRegistration},
    pci,
    prelude::*,
};

#[forbid(unsafe_code)]
mod exporter_file;
mod ext;
#[forbid(unsafe_code)]
mod mmio_buffer;
#[forbid(unsafe_code)]
mod mmio_device;
#[forbid(unsafe_code)]
mod pci_driver;
#[forbid(unsafe_code)]
mod timeline;

module! {
    type: Fencebuf,
    name: "fencebuf",
    authors: ["The fencebuf developers"],
    description: "sw_sync-compatible fence timelines and an MMIO dma-buf exporter",
    license: "GPL",
    imports_ns: ["DMA_BUF"],
    params: {
        max_pending: u32 {
            default: 1 << 20,
            description: "Most pending fences one timeline may hold (CREATE_FENCE fails with ENOSPC beyond)",
        },
        revoke_timeout_ms: u32 {
            default: 5000,
            description: "Longest wait of a revoke for a buffer's fences, and again for importers to unmap (ms)",
        },
    },
}

/// The `max_pending` module parameter.
fn max_pending() -> usize {
    module_parameters::max_pending.value() as usize
}

/// The `revoke_timeout_ms` module parameter.
fn revoke_timeout_ms() -> u32 {
    module_parameters::revoke_timeout_ms.value()
}

#[pin_data]
struct Fencebuf {
    #[pin]
    _timeline_dev: MiscDeviceRegistration<timeline::TimelineFile>,
    #[pin]
    _pci: driver::Registration<pci::Adapter<pci_driver::FencebufPci>>,
}

impl kernel::InPlaceModule for Fencebuf {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let name = ext::param::devname().inspect_err(|_| {
            pr_err!("devname must not be empty\n");
        });
        // The nodes' group and mode too: the udev rule copies them blindly.
        let name = ext::param::check_node_access().and(name);
        try_pin_init!(Self {
            _timeline_dev <- MiscDeviceRegistration::register(MiscDeviceOptions { name: name? }),
            _pci <- driver::Registration::new(c"fencebuf", module),
        })
    }
}
