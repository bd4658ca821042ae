// SPDX-License-Identifier: GPL-2.0

//! fencebuf's abstraction layer: safe Rust interfaces to the kernel's C APIs
//! that the Linux 7.3 kernel crate does not cover yet.
//!
//! Everything `unsafe` in fencebuf, and every use of raw `bindings::`, lives
//! below this module, one file per kernel header or concept. The driver
//! logic above it (the timeline, the exporter, the parameters) is compiled
//! with `#![forbid(unsafe_code)]`: the types here are written so that it
//! cannot break the C lifetime rules they wrap. Nothing here knows about
//! fencebuf's devices or uAPI policy, with one exception: `uapi` holds the
//! uAPI structs, because marking them plain data (`FromBytes`, `AsBytes`)
//! takes an `unsafe impl` and 7.3 has no derive for it.
//!
//! C helpers for static inline functions are in `rust/helpers/`.

pub(crate) mod compat;
pub(crate) mod deadline;
pub(crate) mod debugfs;
pub(crate) mod dma_buf;
pub(crate) mod dma_fence;
pub(crate) mod dma_resv;
pub(crate) mod fault_inject;
pub(crate) mod io_mapping;
pub(crate) mod io_range;
#[cfg(fencebuf_kernel_at_least = "7.3")]
pub(crate) mod miscdevice;
#[cfg(not(fencebuf_kernel_at_least = "7.3"))]
#[path = "miscdevice_7_2.rs"]
pub(crate) mod miscdevice;
pub(crate) mod module_param;
pub(crate) mod node_file;
pub(crate) mod node_file_ops;
pub(crate) mod pci;
pub(crate) mod sync_file;
pub(crate) mod task;
pub(crate) mod uaccess;
pub(crate) mod uapi;
pub(crate) mod vma;
