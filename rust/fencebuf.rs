// SPDX-License-Identifier: GPL-2.0

//! fencebuf: a sw_sync-compatible fence timeline and an MMIO dma-buf
//! exporter, with reference counting that is correct by construction.
//!
//! The driver logic ([`timeline`], [`exporter`], [`params`]) is safe Rust
//! (`#[forbid(unsafe_code)]` below); all `unsafe` and every use of raw
//! `bindings::` live in the abstraction layer, [`abstractions`].

use abstractions::{
    debugfs::DebugfsNode,
    fault_inject::FaultPoints,
    miscdevice::MiscNode,
    pci::RecoveryAdapter, //
};
use kernel::{
    driver,
    prelude::*,
    str::CString, //
};

mod abstractions;
#[forbid(unsafe_code)]
mod exporter;
#[cfg(all(fencebuf_kunit, CONFIG_KUNIT = "y"))]
mod kunit;
#[forbid(unsafe_code)]
mod params;
#[forbid(unsafe_code)]
mod timeline;

module! {
    type: Fencebuf,
    name: "fencebuf",
    authors: ["The fencebuf developers"],
    description: "sw_sync-compatible fence timelines and an MMIO dma-buf exporter",
    license: "GPL",
    // What a sw_sync user loads on a kernel without the C sw_sync.
    alias: ["sw_sync"],
    imports_ns: ["DMA_BUF"],
    params: {
        max_pending: u32 {
            default: 1 << 20,
            description: "Most pending fences one timeline may hold (CREATE_FENCE fails with ENOSPC beyond)",
        },
        revoke_timeout_ms: u32 {
            default: 5000,
            description: "How long a revoke waits in all for its buffers' fences and unmaps (ms)",
        },
    },
}

#[pin_data]
struct Fencebuf {
    #[pin]
    _timeline_dev: MiscNode<timeline::TimelineFile>,
    #[pin]
    _pci: driver::Registration<RecoveryAdapter<exporter::FencebufPci>>,
    /// `<debugfs>/sync/sw_sync`, when fencebuf provides it.
    _debugfs_sw_sync: Option<DebugfsNode<timeline::TimelineFile>>,
    /// `<debugfs>/fencebuf/`: made first, dropped last (fields drop in
    /// order), so that it outlives the devices whose faults it injects.
    _fault_points: Option<FaultPoints>,
}

impl kernel::InPlaceModule for Fencebuf {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let name = params::devname().inspect_err(|_| {
            pr_err!("devname must not be empty\n");
        });
        // The nodes' group and mode too: the udev rule copies them blindly.
        let name = params::check_node_access().and(name);
        try_pin_init!(Self {
            _fault_points: FaultPoints::new(),
            _timeline_dev <- MiscNode::register(CString::try_from(name?)?, ()),
            _pci <- driver::Registration::new(c"fencebuf", module),
            _debugfs_sw_sync: debugfs_sw_sync(),
        })
    }
}

/// `<debugfs>/sync/sw_sync`, the timeline device where the kernel's sync
/// selftests and Android's libsync open it, unless the kernel has its own (the
/// C sw_sync, `CONFIG_SW_SYNC`) or the `debugfs_sw_sync` parameter is off.
/// Not having it is no error.
fn debugfs_sw_sync() -> Option<DebugfsNode<timeline::TimelineFile>> {
    if !params::debugfs_sw_sync() {
        pr_info!("not providing <debugfs>/sync/sw_sync (debugfs_sw_sync=N)\n");
        return None;
    }
    // Mode 0644, as the C sw_sync's.
    match DebugfsNode::create(c"sync", c"sw_sync", 0o644, ()) {
        Ok(node) => {
            pr_info!("providing <debugfs>/sync/sw_sync (the kernel has no sw_sync)\n");
            Some(node)
        }
        Err(EEXIST) => {
            pr_info!("leaving the kernel's <debugfs>/sync/sw_sync alone\n");
            None
        }
        Err(e) => {
            pr_notice!(
                "cannot provide <debugfs>/sync/sw_sync (error {}); /dev/sw_sync works\n",
                e.to_errno()
            );
            None
        }
    }
}
