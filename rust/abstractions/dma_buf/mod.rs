// SPDX-License-Identifier: GPL-2.0

//! DMA buffers: references to them, and exporting them so that access can
//! be revoked.
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h).
//!
//! - [`DmaBuf`]: an owned reference to a buffer (to its file).
//! - [`DmaBufOps`]: the buffer operations (C's `struct dma_buf_ops`), as a
//!   trait the driver implements for its per-buffer data.
//! - [`BufferList<T, S>`]: a device's list of exported buffers, and the
//!   lock (the exporter's "device lock") that protects it together with the
//!   driver's device state `S`. A buffer's `release` unlinks it under that
//!   lock. [`find_open`] finds a buffer the calling task has open, through
//!   its fd table.
//! - Each buffer's access gate (`gate`): whether it is revoked, and how many
//!   importer and kernel mappings it has. The callbacks (`export`) check
//!   it before calling the driver, so no driver can forget to; revoke
//!   ([`TransitionGuard`]) sets it and waits on it.
//!
//! # Two lifetimes
//!
//! A `struct dma_buf` has two lifetimes. Its file is what every reference
//! counts: [`DmaBuf`] owns one. The buffer itself, with its reservation
//! object and inode, lives as long as its *dentry*: `dma_buf_release()`,
//! which calls the exporter's `release` and frees the buffer, is the
//! dentry's `d_release`. Anything else that holds the dentry (an `O_PATH`
//! open of `/proc/PID/fd/N`, a bind mount of that link) lets `__fput()` free
//! the file while the buffer lives on, with `dmabuf->file` dangling.
//!
//! The rules that make three known bugs impossible (the endless
//! get_file_rcu() loop on a dying file, i915 mmap_singleton, Oct 2023; the
//! deadlocking dma_buf_try_get() of "Allow MMIO regions to be exported
//! through dmabuf", Dec 2024; a list that reaches a freed file, above):
//!
//! - The list holds no reference to a buffer, and never reaches its file.
//!   What is alive under the device lock is the buffer and its dentry:
//!   `release` unlinks the entry under that lock before either is freed. So
//!   an entry gives a buffer object without its file (`object`), and a
//!   reference that outlives the lock is a pin: a dentry reference taken
//!   only if the dentry is not already dying. There is nothing to retry, a
//!   dying buffer is skipped, never waited for.
//! - A new reference to a buffer's *file* comes only from a file that is
//!   certainly alive: the one `dma_buf_export()` returns, or one in the
//!   calling task's fd table, found under the table's lock
//!   ([`find_open`]).
//! - Dropping a [`DmaBuf`] is `fput()`, which never runs `release`
//!   synchronously: it may be dropped with the device lock held. Dropping a
//!   pin is `dput()`, which may: pins never leave this module, and revoke
//!   drops them after the device lock.
//!
//! Privacy does the rest: the list's entries, the gate and the pins are
//! private to this module, so the driver cannot reach a buffer's file, map
//! past a revoke, or hold a pin under the device lock.
//!
//! # Lock order
//!
//! Outermost first: the transition lock ([`BufferList::transition`]), the
//! device lock ([`BufferList::lock`]), a task's mmap lock (the fault path
//! holds it), a buffer's reservation lock (`dma_resv`; the core primes
//! mmap_lock -> dma_resv at boot, so nothing may fault or take the mmap lock
//! under it), and a buffer's access gate, the innermost. `map_dma_buf`,
//! `vmap` and their unmaps run under the reservation lock (taken by the
//! core) and take no lock of ours; a fault runs under the mmap lock and
//! takes the gate; revoke takes the gate under the reservation lock; `release`
//! takes only the device lock, and runs from the last `fput()` of the
//! buffer's file, which is always deferred.
//!
//! [`find_open`]: list::BufferListGuard::find_open
//! [`TransitionGuard`]: revoke::TransitionGuard

mod attachment;
mod export;
mod gate;
mod list;
mod mapping;
mod object;
mod ops;
mod reference;
mod revoke;

pub(crate) use attachment::Attachment;
pub(crate) use list::BufferList;
pub(crate) use mapping::SgTable;
pub(crate) use ops::DmaBufOps;
pub(crate) use reference::DmaBuf;
pub(crate) use revoke::RevokeOutcome;
