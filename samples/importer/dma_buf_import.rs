// SPDX-License-Identifier: GPL-2.0

//! The importer's side of a dma-buf: a dynamic, revocable attachment.
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h).
//!
//! How to import a revocable (MMIO) dma-buf correctly, as this type enforces:
//!
//! - Attach dynamically, with `invalidate_mappings`: exporters that can
//!   revoke refuse importers that cannot be told to stop (`EOPNOTSUPP`).
//! - Map, unmap and vmap only with the buffer's reservation lock held
//!   ([`LockedAttachment`]). The exporter revokes under the same lock, so a
//!   mapping that succeeded stays valid until the lock is dropped or
//!   `invalidate_mappings` is called.
//! - In `invalidate_mappings` (reservation lock held by the exporter), unmap
//!   at once: the exporter waits for it. Map again later; while the buffer
//!   is revoked that fails with `ENODEV`.
//! - Use `vmap` only while holding a mapping that was not invalidated,
//!   under the lock: a revoked buffer cannot be vmap-ed (and the core warns
//!   when vmap fails). A deferred unmap keeps an invalidated mapping for a
//!   while: it is for DMA in flight, not for new accesses.
//!
//! The mapping lives inside the attachment and is touched only with the
//! reservation lock held: by [`LockedAttachment`] and by the invalidation
//! callback, which unmaps it before telling the importer.

use crate::abstractions::dma_buf::DmaBuf;
use crate::abstractions::dma_resv::ResvGuard;
use core::{
    cell::UnsafeCell,
    ptr::NonNull, //
};
use kernel::{
    bindings,
    device,
    error::from_err_ptr,
    ffi::c_void,
    prelude::*,
    sync::{
        aref::ARef,
        Arc, //
    }, //
};

/// How an attachment presents itself to the exporter.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum AttachKind {
    /// The correct importer of revocable buffers: dynamic, with
    /// `invalidate_mappings`, accepting peer-to-peer addresses.
    Revocable,
    /// Without `invalidate_mappings`: an exporter that revokes must refuse it.
    NoInvalidate,
    /// Not accepting peer-to-peer (MMIO) addresses.
    NoPeer2Peer,
    /// Revocable, but keeping its mapping when invalidated until it is
    /// unmapped (`UNMAP`, `DETACH`), as a driver that unmaps from a worker
    /// once its DMA has drained: the exporter's revoke must wait for it.
    Deferred,
}

/// What the importer wants to hear from the attachment.
pub(crate) trait Importer: Send + Sync + 'static {
    /// The exporter invalidated our mapping (which was unmapped already, if
    /// there was one, unless the attachment is [`AttachKind::Deferred`]).
    /// Runs with the buffer's reservation lock held.
    fn invalidated(&self);
}

/// Shared between the attachment and the invalidation callback.
struct Shared<T> {
    /// The mapping, touched only with the reservation lock held.
    sgt: UnsafeCell<Option<NonNull<bindings::sg_table>>>,
    /// Whether the exporter invalidated the mapping (a deferred attachment
    /// keeps it until it unmaps): no new access through it, and no `vmap`,
    /// which would reach a revoked buffer. Under the reservation lock.
    stale: UnsafeCell<bool>,
    attach: UnsafeCell<*mut bindings::dma_buf_attachment>,
    /// Kernel mappings kept on purpose past invalidation
    /// ([`LockedAttachment::hold_vmap`]): how many, and the map, which the
    /// core hands out again while it has one. Under the reservation lock.
    held: UnsafeCell<(u32, bindings::iosys_map)>,
    data: Arc<T>,
}

// SAFETY: The cells are only accessed with the buffer's reservation lock held,
// which serialises every thread; `T` is `Send + Sync`.
unsafe impl<T: Send + Sync> Sync for Shared<T> {}
// SAFETY: As above.
unsafe impl<T: Send + Sync> Send for Shared<T> {}

/// A dynamic attachment of a device to an imported dma-buf.
///
/// # Invariants
///
/// `attach` is a live attachment of `buf` made with ops of this type whose
/// `importer_priv` is `shared` (one reference leaked to it, reclaimed after
/// detach).
pub(crate) struct Attachment<T: Importer> {
    buf: DmaBuf,
    attach: NonNull<bindings::dma_buf_attachment>,
    shared: Arc<Shared<T>>,
    _dev: ARef<device::Device>,
}

// SAFETY: The attachment may be used and dropped from any thread; its mutable
// state is under the reservation lock.
unsafe impl<T: Importer> Send for Attachment<T> {}
// SAFETY: As above.
unsafe impl<T: Importer> Sync for Attachment<T> {}

impl<T: Importer> Attachment<T> {
    const OPS: bindings::dma_buf_attach_ops = bindings::dma_buf_attach_ops {
        allow_peer2peer: true,
        invalidate_mappings: Some(Self::invalidate_callback),
    };
    const OPS_NO_INVALIDATE: bindings::dma_buf_attach_ops = bindings::dma_buf_attach_ops {
        allow_peer2peer: true,
        invalidate_mappings: None,
    };
    const OPS_DEFERRED: bindings::dma_buf_attach_ops = bindings::dma_buf_attach_ops {
        allow_peer2peer: true,
        invalidate_mappings: Some(Self::invalidate_deferred_callback),
    };
    const OPS_NO_P2P: bindings::dma_buf_attach_ops = bindings::dma_buf_attach_ops {
        allow_peer2peer: false,
        invalidate_mappings: Some(Self::invalidate_callback),
    };

    /// Attaches `dev` to the dma-buf at `fd` of the current task, as a
    /// `kind` importer.
    pub(crate) fn new(
        fd: i32,
        dev: ARef<device::Device>,
        data: Arc<T>,
        kind: AttachKind,
    ) -> Result<Self> {
        let buf = DmaBuf::get(fd)?;
        let shared = Arc::new(
            Shared {
                sgt: UnsafeCell::new(None),
                stale: UnsafeCell::new(false),
                attach: UnsafeCell::new(core::ptr::null_mut()),
                // SAFETY: All-zero is the empty `iosys_map`.
                held: UnsafeCell::new((0, unsafe { core::mem::zeroed() })),
                data,
            },
            GFP_KERNEL,
        )?;
        let priv_ = Arc::into_raw(shared.clone()).cast_mut().cast::<c_void>();
        let raw_dev = core::ptr::from_ref::<device::Device>(&dev)
            .cast_mut()
            .cast::<bindings::device>();
        let ops: &'static bindings::dma_buf_attach_ops = match kind {
            AttachKind::Revocable => &Self::OPS,
            AttachKind::NoInvalidate => &Self::OPS_NO_INVALIDATE,
            AttachKind::NoPeer2Peer => &Self::OPS_NO_P2P,
            AttachKind::Deferred => &Self::OPS_DEFERRED,
        };
        // SAFETY: The buffer is alive (we hold a reference), `dev` too (we
        // keep a reference for the life of the attachment), the ops are
        // static, and `priv_` holds its own reference to `shared`.
        let attach = unsafe { bindings::dma_buf_dynamic_attach(buf.as_raw(), raw_dev, ops, priv_) };
        let attach = match from_err_ptr(attach) {
            Ok(a) => a,
            Err(e) => {
                // SAFETY: Not attached: the reference leaked to `priv_` is ours.
                drop(unsafe { Arc::from_raw(priv_.cast::<Shared<T>>()) });
                return Err(e);
            }
        };
        // SAFETY: Nobody maps before `new` returns, so no lock is needed yet.
        unsafe { *shared.attach.get() = attach };
        Ok(Self {
            buf,
            // SAFETY: Not NULL on success.
            attach: unsafe { NonNull::new_unchecked(attach) },
            shared,
            _dev: dev,
        })
    }

    /// The buffer's size in bytes.
    pub(crate) fn size(&self) -> usize {
        // SAFETY: The buffer is alive; its size never changes.
        unsafe { (*self.buf.as_raw()).size }
    }

    /// Takes the buffer's reservation lock.
    pub(crate) fn lock(&self) -> LockedAttachment<'_, T> {
        LockedAttachment {
            att: self,
            _guard: self.buf.resv().lock(),
        }
    }

    /// # Safety
    ///
    /// Called by the core as `invalidate_mappings` of an attachment made by
    /// [`Attachment::new`], with the buffer's reservation lock held.
    unsafe extern "C" fn invalidate_callback(attach: *mut bindings::dma_buf_attachment) {
        // SAFETY: `importer_priv` is our `Shared<T>`, alive while attached.
        let shared = unsafe { &*(*attach).importer_priv.cast::<Shared<T>>() };
        // SAFETY: The reservation lock is held (caller's contract).
        unsafe { Self::unmap_locked(shared) };
        shared.data.invalidated();
    }

    /// # Safety
    ///
    /// As [`Self::invalidate_callback`], for a [`AttachKind::Deferred`]
    /// attachment: the mapping stays until it is unmapped.
    unsafe extern "C" fn invalidate_deferred_callback(attach: *mut bindings::dma_buf_attachment) {
        // SAFETY: `importer_priv` is our `Shared<T>`, alive while attached.
        let shared = unsafe { &*(*attach).importer_priv.cast::<Shared<T>>() };
        // SAFETY: The reservation lock is held (caller's contract).
        unsafe { *shared.stale.get() = shared.sgt.get().read().is_some() };
        shared.data.invalidated();
    }

    /// Unmaps the mapping, if any.
    ///
    /// # Safety
    ///
    /// The reservation lock of the buffer is held.
    unsafe fn unmap_locked(shared: &Shared<T>) {
        // SAFETY: The lock serialises every access to the cells.
        unsafe { *shared.stale.get() = false };
        // SAFETY: As above.
        if let Some(sgt) = unsafe { (*shared.sgt.get()).take() } {
            // SAFETY: `sgt` was mapped for this attachment (`map`), still
            // attached, lock held as required.
            unsafe {
                bindings::dma_buf_unmap_attachment(
                    *shared.attach.get(),
                    sgt.as_ptr(),
                    kernel::dma::DataDirection::Bidirectional.into(),
                )
            };
        }
    }
}

impl<T: Importer> Drop for Attachment<T> {
    fn drop(&mut self) {
        {
            let locked = self.lock();
            locked.release_vmaps();
            // SAFETY: The reservation lock is held.
            unsafe { Self::unmap_locked(&self.shared) };
        }
        // SAFETY: Attached (type invariant), no mapping left; detach takes
        // the reservation lock itself.
        unsafe { bindings::dma_buf_detach(self.buf.as_raw(), self.attach.as_ptr()) };
        // SAFETY: Detached: the core no longer uses `importer_priv`, whose
        // reference is ours again.
        drop(unsafe { Arc::from_raw(Arc::as_ptr(&self.shared)) });
    }
}

/// An attachment with its buffer's reservation lock held.
pub(crate) struct LockedAttachment<'a, T: Importer> {
    att: &'a Attachment<T>,
    _guard: ResvGuard<'a>,
}

impl<T: Importer> LockedAttachment<'_, T> {
    /// Whether we hold a mapping.
    pub(crate) fn is_mapped(&self) -> bool {
        // SAFETY: The reservation lock is held.
        unsafe { (*self.att.shared.sgt.get()).is_some() }
    }

    /// Maps the buffer for DMA by the attached device (or keeps the current
    /// mapping). Returns how many bytes the scatterlist covers.
    pub(crate) fn map(&self) -> Result<u64> {
        let shared = &self.att.shared;
        // SAFETY: The reservation lock is held.
        let sgt = match unsafe { *shared.sgt.get() } {
            Some(sgt) => sgt,
            None => {
                // SAFETY: Attached, lock held, as the core requires.
                let sgt = from_err_ptr(unsafe {
                    bindings::dma_buf_map_attachment(
                        self.att.attach.as_ptr(),
                        kernel::dma::DataDirection::Bidirectional.into(),
                    )
                })?;
                let sgt = NonNull::new(sgt).ok_or(ENOMEM)?;
                // SAFETY: The reservation lock is held.
                unsafe { *shared.sgt.get() = Some(sgt) };
                sgt
            }
        };
        let mut len = 0u64;
        // SAFETY: The table is ours until unmapped, under this lock.
        unsafe { Self::walk(sgt, |_, seg| len += seg) };
        Ok(len)
    }

    /// Calls `f(dma_address, length)` for each entry of our mapping, in
    /// order, and returns how many there are; `ENODEV` if not mapped.
    pub(crate) fn segments(&self, f: impl FnMut(u64, u64)) -> Result<u32> {
        // SAFETY: The reservation lock is held.
        let sgt = unsafe { *self.att.shared.sgt.get() }.ok_or(ENODEV)?;
        // SAFETY: The table is ours until unmapped, under this lock.
        Ok(unsafe { Self::walk(sgt, f) })
    }

    /// Walks the DMA-mapped entries of `sgt`; returns their number.
    ///
    /// # Safety
    ///
    /// `sgt` is a mapping returned by `dma_buf_map_attachment` and not yet
    /// unmapped, and stays so during the call.
    unsafe fn walk(sgt: NonNull<bindings::sg_table>, mut f: impl FnMut(u64, u64)) -> u32 {
        // SAFETY: Valid per the function's safety requirements.
        let sgt = unsafe { sgt.as_ref() };
        let mut sg = sgt.sgl;
        for _ in 0..sgt.nents {
            // SAFETY: `nents` entries of the DMA-mapped list, walked with
            // `sg_next` (chained lists).
            unsafe {
                f((*sg).dma_address, u64::from((*sg).dma_length));
                sg = bindings::sg_next(sg);
            }
        }
        sgt.nents
    }

    /// Unmaps our mapping, if any.
    pub(crate) fn unmap(&self) {
        // SAFETY: The reservation lock is held.
        unsafe { Attachment::<T>::unmap_locked(&self.att.shared) };
    }

    /// Copies between the buffer at `offset` and `data` through a kernel
    /// mapping (`vmap`). Only while mapped and not invalidated since
    /// (`ENODEV` otherwise), so never on a revoked buffer: the exporter
    /// revokes and invalidates under the reservation lock this holds, and
    /// the dma-buf core WARNs when an exporter's `vmap` fails.
    pub(crate) fn copy(&self, offset: usize, data: &mut [u8], write: bool) -> Result {
        // SAFETY: The reservation lock is held.
        if !self.is_mapped() || unsafe { *self.att.shared.stale.get() } {
            return Err(ENODEV);
        }
        let end = offset.checked_add(data.len()).ok_or(EINVAL)?;
        if end > self.att.size() {
            return Err(EINVAL);
        }
        // SAFETY: All-zero is the empty `iosys_map`.
        let mut map: bindings::iosys_map = unsafe { core::mem::zeroed() };
        // SAFETY: The buffer is alive and its reservation lock held.
        to_result(unsafe { bindings::dma_buf_vmap(self.att.buf.as_raw(), &mut map) })?;
        // SAFETY: `vmap` filled in the map; both unions members are pointers.
        let (io, base) = unsafe { (map.is_iomem, map.__bindgen_anon_1.vaddr) };
        // SAFETY: `[offset, end)` is inside the buffer, which the mapping
        // covers; `data` is ours. I/O memory is copied with the I/O helpers.
        unsafe {
            let at = base.cast::<u8>().add(offset).cast::<c_void>();
            let buf = data.as_mut_ptr().cast::<c_void>();
            match (io, write) {
                (true, true) => bindings::memcpy_toio(at, buf, data.len()),
                (true, false) => bindings::memcpy_fromio(buf, at, data.len()),
                (false, true) => {
                    core::ptr::copy_nonoverlapping(buf.cast::<u8>(), at.cast(), data.len())
                }
                (false, false) => {
                    core::ptr::copy_nonoverlapping(at.cast::<u8>(), buf.cast(), data.len())
                }
            }
        };
        // SAFETY: Undoes the `vmap` above, lock still held.
        unsafe { bindings::dma_buf_vunmap(self.att.buf.as_raw(), &mut map) };
        Ok(())
    }

    /// Takes a kernel mapping (`vmap`) and keeps it, mapped or not,
    /// invalidated or not, until [`Self::release_vmaps`] or detach.
    ///
    /// This breaks the rules above on purpose, as a buggy importer would:
    /// the tests show what an exporter's revoke does then. While one is
    /// kept, the core hands the same map out again without asking the
    /// exporter, revoked or not. Returns how many are kept.
    pub(crate) fn hold_vmap(&self) -> Result<u32> {
        // SAFETY: The reservation lock is held.
        let kept = unsafe { (*self.att.shared.held.get()).0 };
        let kept = kept.checked_add(1).ok_or(EOVERFLOW)?;
        // SAFETY: All-zero is the empty `iosys_map`.
        let mut map: bindings::iosys_map = unsafe { core::mem::zeroed() };
        // SAFETY: The buffer is alive and its reservation lock held.
        to_result(unsafe { bindings::dma_buf_vmap(self.att.buf.as_raw(), &mut map) })?;
        // SAFETY: The reservation lock is held.
        let held = unsafe { &mut *self.att.shared.held.get() };
        // The core hands out one map per buffer, so a kept one is `map`.
        *held = (kept, map);
        Ok(kept)
    }

    /// Reads the first 32 bits of the buffer through the kept kernel
    /// mapping; `ENODEV` if none is kept.
    pub(crate) fn read_held(&self) -> Result<u32> {
        // SAFETY: The reservation lock is held.
        let (count, map) = unsafe { *self.att.shared.held.get() };
        if count == 0 {
            return Err(ENODEV);
        }
        let mut word = [0u8; 4];
        // SAFETY: The map is alive until its `vunmap`, which only
        // `release_vmaps` does, and covers the buffer, at least a page.
        unsafe {
            let dst = word.as_mut_ptr().cast::<c_void>();
            if map.is_iomem {
                bindings::memcpy_fromio(dst, map.__bindgen_anon_1.vaddr_iomem, 4);
            } else {
                core::ptr::copy_nonoverlapping(
                    map.__bindgen_anon_1.vaddr.cast::<u8>(),
                    dst.cast(),
                    4,
                );
            }
        }
        Ok(u32::from_ne_bytes(word))
    }

    /// Gives back every kept kernel mapping.
    pub(crate) fn release_vmaps(&self) {
        // SAFETY: The reservation lock is held.
        let held = unsafe { &mut *self.att.shared.held.get() };
        while held.0 != 0 {
            // SAFETY: One `vmap` of `hold_vmap` not yet undone, lock held.
            unsafe { bindings::dma_buf_vunmap(self.att.buf.as_raw(), &mut held.1) };
            held.0 -= 1;
        }
    }
}

use kernel::error::to_result;
