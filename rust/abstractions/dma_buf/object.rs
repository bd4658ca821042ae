// SPDX-License-Identifier: GPL-2.0

//! A dma-buf reached without a reference to its file, as an exporter finds
//! its own buffers, and a pin that keeps one alive.
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h).
//!
//! A buffer outlives its file whenever something else holds its dentry
//! (see the module above): `dma_buf_release()` is the dentry's
//! `d_release`. These types therefore go through the buffer, its
//! reservation object and its inode, which live as long as the dentry, and
//! have no way to the file.

use crate::abstractions::{
    dma_resv::{
        Resv,
        ResvGuard, //
    },
    vma::{
        mapping_mapped,
        zap_mappings, //
    }, //
};
use core::{
    marker::PhantomData,
    ptr::NonNull, //
};
use kernel::{
    bindings,
    ffi::c_void,
    sync::rcu, //
};

// `void *`: bindgen's `struct dentry` and `struct inode` are not FFI-safe
// where `struct lock_class_key` is empty (no lockdep), which
// `improper_ctypes` rejects.
extern "C" {
    fn fencebuf_d_inode_get(dentry: *mut c_void) -> *mut c_void;
}

/// A buffer with its reservation lock held.
///
/// # Invariants
///
/// `dmabuf` is alive for `'a`, its reservation lock held by `_resv`.
pub(super) struct LockedDmaBuf<'a> {
    dmabuf: NonNull<bindings::dma_buf>,
    _resv: ResvGuard<'a>,
}

impl LockedDmaBuf<'_> {
    /// Tells every importer that its mappings are invalid (the importers'
    /// `invalidate_mappings`); they unmap and may try to map again.
    pub(super) fn invalidate_mappings(&self) {
        // SAFETY: The buffer is alive and its reservation lock held (type
        // invariant), as the core requires.
        unsafe { bindings::dma_buf_invalidate_mappings(self.dmabuf.as_ptr()) };
    }
}

/// A dma-buf reached without a reference to its file, as an exporter finds
/// its own buffers: the buffer and its dentry, whose file may be gone.
///
/// It offers what lives as long as the buffer (the reservation object, the
/// inode's CPU mappings) and nothing of the file.
///
/// # Invariants
///
/// `dmabuf` and `dentry`, the dentry of its file, are alive for `'a`.
#[derive(Clone, Copy)]
pub(super) struct DmaBufObject<'a> {
    dmabuf: NonNull<bindings::dma_buf>,
    dentry: NonNull<bindings::dentry>,
    _alive: PhantomData<&'a bindings::dma_buf>,
}

impl<'a> DmaBufObject<'a> {
    /// # Safety
    ///
    /// `dmabuf` is alive for `'a`, and `dentry` is the dentry its file had
    /// (the buffer's `d_fsdata` owner), so alive as long as the buffer.
    pub(super) unsafe fn from_raw(
        dmabuf: NonNull<bindings::dma_buf>,
        dentry: NonNull<bindings::dentry>,
    ) -> Self {
        // INVARIANT: the caller's guarantee.
        Self {
            dmabuf,
            dentry,
            _alive: PhantomData,
        }
    }

    /// The buffer's reservation object: its lock and fences.
    pub(super) fn resv(&self) -> &'a Resv {
        // SAFETY: The buffer, and so its reservation object, is alive for
        // `'a` (type invariant).
        unsafe { Resv::from_raw((*self.dmabuf.as_ptr()).resv) }
    }

    /// Takes the buffer's reservation lock.
    pub(super) fn lock(&self) -> LockedDmaBuf<'a> {
        // INVARIANT: alive for `'a`, locked by the guard.
        LockedDmaBuf {
            dmabuf: self.dmabuf,
            _resv: self.resv().lock(),
        }
    }

    /// Whether a VMA maps the buffer; without a lock or a reference, so
    /// it may miss a VMA being set up concurrently (see
    /// [`mapping_mapped`]). `false` once the dentry has let go of its
    /// inode: it is being killed, so it has no file, so no mapping.
    pub(super) fn cpu_mapped(&self) -> bool {
        // A killed dentry drops its inode before the buffer's `release`
        // runs; inodes are freed an RCU grace period after their last
        // reference (`destroy_inode()`), so under the read lock the inode
        // read here stays valid memory, put or not.
        let _rcu = rcu::read_lock();
        // SAFETY: The dentry is alive (type invariant); a racy read of a
        // pointer, `READ_ONCE()` as in C's `d_inode_rcu()`.
        let inode = unsafe { core::ptr::read_volatile(&raw const (*self.dentry.as_ptr()).d_inode) };
        // SAFETY: Under the RCU read lock, the inode and the mapping it
        // embeds are valid memory (above).
        !inode.is_null() && unsafe { mapping_mapped((*inode).i_mapping) }
    }

    /// Zaps every CPU mapping of the buffer: the next access faults.
    pub(super) fn zap_cpu_mappings(&self) {
        // SAFETY: The dentry is alive (type invariant).
        let inode = unsafe { fencebuf_d_inode_get(self.dentry.as_ptr().cast()) };
        // A dentry that let go of its inode is being killed: it has no file
        // left, so no mapping to zap.
        let Some(inode) = NonNull::new(inode.cast::<bindings::inode>()) else {
            return;
        };
        // SAFETY: We hold a reference to the inode, whose mapping every VMA
        // of the buffer's file shares (a dma-buf file's `f_mapping` is its
        // inode's).
        unsafe { zap_mappings((*inode.as_ptr()).i_mapping) };
        // SAFETY: The reference taken above. The last one evicts an
        // anonymous inode, which calls nothing of the exporter's, so this
        // may run under the device lock.
        unsafe { bindings::iput(inode.as_ptr()) };
    }

    /// A reference that keeps the buffer alive (not its file), unless its
    /// last one is already gone and it is being released. Never waits and
    /// never retries.
    pub(super) fn try_pin(&self) -> Option<DmaBufPin> {
        // SAFETY: The dentry is alive (type invariant). A dentry whose count
        // reached zero is marked dead before its `d_release` runs, and then
        // this fails; otherwise it takes a counted reference.
        let pinned =
            unsafe { bindings::lockref_get_not_dead(&raw mut (*self.dentry.as_ptr()).d_lockref) };
        // Lazily: a pin made on failure would be dropped, a `dput()` of a
        // reference we do not own.
        // INVARIANT: we own the dentry reference just taken.
        pinned.then(|| DmaBufPin {
            dmabuf: self.dmabuf,
            dentry: self.dentry,
        })
    }
}

/// A counted reference to a dma-buf's dentry: the buffer stays alive (its
/// `release` cannot run), its file may not.
///
/// Dropping it is `dput()`, which runs the buffer's `release`
/// synchronously if it was the last reference: drop it only where the
/// exporter's `release` may run, never under a lock that `release` takes.
///
/// # Invariants
///
/// We own one reference to `dentry`, the dentry of `dmabuf`'s file.
pub(super) struct DmaBufPin {
    dmabuf: NonNull<bindings::dma_buf>,
    dentry: NonNull<bindings::dentry>,
}

// SAFETY: Dentry references may be taken and dropped on any thread.
unsafe impl Send for DmaBufPin {}
// SAFETY: `object()` is safe from any thread.
unsafe impl Sync for DmaBufPin {}

impl DmaBufPin {
    /// The buffer, alive while `self` is.
    pub(super) fn object(&self) -> DmaBufObject<'_> {
        // SAFETY: Our dentry reference keeps the dentry, and so the buffer
        // whose `d_release` frees it, alive (type invariant).
        unsafe { DmaBufObject::from_raw(self.dmabuf, self.dentry) }
    }

    /// [`DmaBufObject::zap_cpu_mappings`], without taking a reference to
    /// the inode: the pin's dentry reference keeps it. A dentry lets go of
    /// its inode only when killed, at a count of zero, or deleted
    /// (`d_delete()`, from unlink and rmdir, which the dma-buf filesystem
    /// has no operation for; a bind mount of the file makes it a mount
    /// point, which unlink refuses).
    pub(super) fn zap_cpu_mappings(&self) {
        // SAFETY: We own a dentry reference (type invariant), so its inode
        // is alive (above); every VMA of the file shares its mapping.
        unsafe { zap_mappings((*(*self.dentry.as_ptr()).d_inode).i_mapping) };
    }
}

impl Drop for DmaBufPin {
    fn drop(&mut self) {
        // SAFETY: We own a reference (type invariant).
        unsafe { bindings::dput(self.dentry.as_ptr()) };
    }
}
