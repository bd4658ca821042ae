// SPDX-License-Identifier: GPL-2.0

//! fencebuf's abstraction layer.
//!
//! Everything `unsafe` in fencebuf, and every use of raw `bindings::`, lives
//! below this module. The driver logic above it (`timeline`, the exporter, the
//! PCI glue) is compiled with `#![forbid(unsafe_code)]`: the types here are
//! written so that it cannot break the C lifetime rules they wrap.

pub(crate) mod debugfs_node;
pub(crate) mod dma_buf;
pub(crate) mod dma_fence;
pub(crate) mod dma_resv;
pub(crate) mod io_mapping;
pub(crate) mod misc_node;
pub(crate) mod node_file;
pub(crate) mod p2pdma;
pub(crate) mod param;
pub(crate) mod pci_bar;
pub(crate) mod pending_fences;
pub(crate) mod sync_file;
pub(crate) mod task;
pub(crate) mod uapi;
pub(crate) mod vma;
