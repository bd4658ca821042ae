// SPDX-License-Identifier: GPL-2.0

//! DMA fences.
//!
//! C header: [`include/linux/dma-fence.h`](srctree/include/linux/dma-fence.h).
//!
//! Four types split the roles the C API leaves to convention:
//!
//! - [`Fence`]: a shared, reference-counted `struct dma_fence` of any driver.
//!   Use it as `ARef<Fence>`; holding one is the only way to keep a fence.
//! - [`FenceContext<T>`]: a timeline of this module's fences. It owns the
//!   driver data `T` its fences report, and the value they have reached.
//! - [`DriverFence<T>`]: a fence created by this module on a context.
//! - [`FenceSignaller<T>`]: the unique right, and duty, to signal one
//!   [`DriverFence<T>`]. Signalling consumes it, with a mandatory result;
//!   dropping it unsignalled signals `-ECANCELED`, so no fence is ever left
//!   pending forever.
//! - [`PendingFences<T>`]: an ordered set of pending fences of one context
//!   that owns them and their duty to signal, and signals them in order.
//!
//! Fences are created with their own inline lock (external fence locks are
//! deprecated) and with ops that have neither `.release` nor `.wait`: on
//! signal the core detaches the fence from this module (`ops = NULL`) and
//! later frees it with `kfree_rcu()`. A signalled fence therefore outlives
//! the module safely.
//!
//! While a fence is pending, its ops read the context's state: the name, and
//! the value the context has reached, which lets a waiter see the fence done
//! before its signaller gets to it (the `.signaled` peek, as in sw_sync).
//! That state is not the context itself: it is reference-counted by the
//! context, by every unsignalled fence's signaller and by every pending set
//! (for all its fences at once), and freed with `kfree_rcu()` after the
//! last. The core calls ops only under RCU and only while `ops` is set, so
//! an op entered before its fence signalled finishes before the state is
//! freed. A fence thus never points at anything that can go away under it,
//! whatever the order in which timeline and fences die (the sw_sync kref
//! 0->1 race, "dma-buf/sw_sync: Avoid recursive lock during fence signal"
//! follow-up, Jun 2024).
//!
//! Each type has a file of its own; what the files share (the fence's tree
//! link, the state's counts, a signaller's parts, signalling a fence whose
//! signaller is gone) is visible in this module only.
//!
//! [`DriverFence<T>`]: driver_fence::DriverFence

mod context;
mod driver_fence;
mod fence;
mod pending;
mod signal;
mod state;

pub(crate) use context::FenceContext;
pub(crate) use fence::Fence;
pub(crate) use pending::{
    PendingFences,
    Refused, //
};
pub(crate) use signal::{
    fence_error,
    FenceSignaller, //
};
pub(crate) use state::FenceData;
