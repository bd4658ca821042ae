// SPDX-License-Identifier: GPL-2.0

//! A sample in-kernel importer of fencebuf's MMIO dma-bufs, and a test aid.
//!
//! It binds QEMU's PCI test device (1b36:0005), which sits behind the same
//! PCI bridge as the ivshmem device fencebuf exports from, so the two can do
//! peer-to-peer DMA. Each open of `/dev/fencebuf_importer` is one importer:
//! it attaches dynamically to a dma-buf fd passed from userspace, maps it,
//! reads and writes it through a kernel mapping, counts invalidations and
//! unmaps when invalidated (see `dma_buf_import` for the rules). The uAPI is
//! `fencebuf_importer.h`.
//!
//! It can also mirror a range of user memory ("userptr", `userptr`): an
//! MMU interval notifier over the range, pinned pages and jobs that every
//! invalidation waits for, as GPU drivers do.
//!
//! This module is safe Rust over the small abstractions in `dma_buf_import`
//! and `user_range` (and fencebuf's own `dma_buf`, `dma_resv`, `miscdevice`
//! and `node_file`, shared by path).

// fencebuf's own abstractions, shared by path, as the same module tree
// (`crate::abstractions`) so that their imports resolve in both modules:
// the same owned dma-buf reference type for exporter and importer.
#[path = "../../rust/abstractions"]
mod abstractions {
    #[allow(dead_code)]
    pub(crate) mod compat;
    pub(crate) mod dma_buf {
        #[allow(dead_code)]
        mod reference;
        pub(crate) use reference::DmaBuf;
    }
    #[allow(dead_code)]
    pub(crate) mod dma_resv;
    #[cfg(fencebuf_kernel_at_least = "7.3")]
    pub(crate) mod miscdevice;
    #[cfg(not(fencebuf_kernel_at_least = "7.3"))]
    #[path = "miscdevice_7_2.rs"]
    pub(crate) mod miscdevice;
    pub(crate) mod node_file;
    #[cfg(not(fencebuf_kernel_at_least = "7.3"))]
    pub(crate) mod node_file_ops;
}
mod dma_buf_import;
#[forbid(unsafe_code)]
mod importer;
mod uapi;
#[cfg(CONFIG_MMU_NOTIFIER)]
mod user_range;
#[cfg(CONFIG_MMU_NOTIFIER)]
#[forbid(unsafe_code)]
mod userptr;
#[cfg(not(CONFIG_MMU_NOTIFIER))]
#[forbid(unsafe_code)]
#[path = "userptr_unsupported.rs"]
mod userptr;

kernel::module_pci_driver! {
    type: importer::ImporterPci,
    name: "fencebuf_importer",
    authors: ["The fencebuf developers"],
    description: "Sample importer of fencebuf's MMIO dma-bufs",
    license: "GPL",
    imports_ns: ["DMA_BUF"],
}
