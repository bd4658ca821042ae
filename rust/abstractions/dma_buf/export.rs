// SPDX-License-Identifier: GPL-2.0

//! Exporting a buffer: `dma_buf_export()`, the `struct dma_buf_ops` of
//! exported buffers and the `vm_operations` of their CPU mappings. C calls
//! the ops; they call the driver's [`DmaBufOps`] through the buffer's
//! access gate.

use super::{
    attachment::Attachment,
    gate::Buffer,
    list::{
        BufferList,
        BufferListGuard, //
    },
    mapping::{
        direction,
        SgTable, //
    },
    ops::DmaBufOps,
    reference::DmaBuf, //
};
use crate::abstractions::{
    compat,
    io_mapping::IoMapping,
    vma::{
        self,
        Fault,
        FaultOps,
        FaultResult, //
    }, //
};
use core::{
    marker::PhantomData,
    ptr::NonNull, //
};
use kernel::{
    bindings,
    error::{
        from_err_ptr,
        from_result, //
    },
    ffi::c_void,
    mm::virt::VmaNew,
    prelude::*,
    sync::Arc, //
};

/// What a buffer's `priv` points to, in one allocation: the buffer and the
/// list it is on. Freed by `release`; the list's entry and a revoke's pin
/// point at `buffer` without owning it, which is sound while the entry is
/// on the list (its lock held) or the pin holds the dentry, whose
/// `d_release` runs `release`.
#[pin_data]
struct BufPriv<T: DmaBufOps, S> {
    list: Arc<BufferList<T, S>>,
    #[pin]
    buffer: Buffer<T>,
}

impl<T: DmaBufOps, S: Send + Unpin + 'static> BufferListGuard<'_, T, S> {
    /// Exports a new buffer of `size` bytes with file flags `flags`, and adds
    /// it to the list; revoked if the device's buffers are.
    pub(crate) fn export(&mut self, data: T, size: usize, flags: u32) -> Result<DmaBuf> {
        self.reserve()?;
        let (list, revoked) = (self.list().clone(), self.born_revoked());
        let priv_ = KBox::pin_init(
            pin_init!(BufPriv {
                list,
                buffer <- Buffer::new(data, revoked),
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: `priv` is never moved out of: `release` drops it in place
        // (`KBox::from_raw`).
        let priv_ = KBox::into_raw(unsafe { Pin::into_inner_unchecked(priv_) });
        // SAFETY: Just allocated, and ours until the export succeeds.
        let buffer = NonNull::from(unsafe { &(*priv_).buffer });
        let (name, module) = self.owner();
        let info = bindings::dma_buf_export_info {
            exp_name: name.as_char_ptr(),
            owner: module.as_ptr(),
            // SAFETY: As above.
            ops: Callbacks::<T, S>::ops(unsafe { buffer.as_ref() }.io_range().is_some()),
            size,
            // CAST: file flags (`O_*`) fit in an `int`.
            flags: flags as c_int,
            resv: core::ptr::null_mut(),
            priv_: priv_.cast::<c_void>(),
        };
        // SAFETY: `info` is complete; the ops are static and the core takes a
        // reference on our module for the life of the buffer.
        let dmabuf = match from_err_ptr(unsafe { bindings::dma_buf_export(&info) }) {
            Ok(d) => d,
            Err(e) => {
                // SAFETY: The export failed, so `priv` is ours again.
                drop(unsafe { KBox::from_raw(priv_) });
                return Err(e);
            }
        };
        // SAFETY: `dma_buf_export` returned a buffer or an error.
        let dmabuf = unsafe { NonNull::new_unchecked(dmabuf) };
        // SAFETY: A new buffer's file has one reference, which we hand over.
        let buf = unsafe { DmaBuf::from_raw(dmabuf) };
        // SAFETY: We hold the file's only reference, so it is alive; its
        // dentry is the buffer's for good (it never changes).
        let dentry = unsafe {
            NonNull::new_unchecked((*buf.file().as_ptr()).__bindgen_anon_1.f_path.dentry)
        };
        // SAFETY: We hold a reference, so the buffer is alive; its `release`
        // (these ops) unlinks it from `priv`'s list, this one, before it
        // frees `priv` and its `buffer`. (Linking cannot fail after
        // `reserve`; if it did, dropping `buf` would release the buffer,
        // which finds no entry.)
        unsafe { self.link(buffer, dmabuf, dentry) }?;
        Ok(buf)
    }
}

/// The callbacks of buffers of a `BufferList<T, S>`.
pub(super) struct Callbacks<T, S>(PhantomData<(T, S)>);

impl<T: DmaBufOps, S: Send + Unpin + 'static> Callbacks<T, S> {
    const OPS: bindings::dma_buf_ops = bindings::dma_buf_ops {
        attach: Some(Self::attach),
        detach: None,
        pin: None,
        unpin: None,
        map_dma_buf: Some(Self::map_dma_buf),
        unmap_dma_buf: Some(Self::unmap_dma_buf),
        release: Some(Self::release),
        begin_cpu_access: None,
        end_cpu_access: None,
        mmap: Some(Self::mmap),
        vmap: Some(Self::vmap),
        vunmap: Some(Self::vunmap),
    };

    /// For buffers that are not one range of I/O memory: no `vmap`.
    const OPS_NO_VMAP: bindings::dma_buf_ops = bindings::dma_buf_ops {
        vmap: None,
        vunmap: None,
        ..Self::OPS
    };

    const FAULT_OPS: FaultOps = FaultOps::new(Self::fault);

    /// The ops of a buffer, which offers `vmap` only if it is one range of
    /// I/O memory.
    pub(super) fn ops(vmap: bool) -> &'static bindings::dma_buf_ops {
        if vmap {
            &Self::OPS
        } else {
            &Self::OPS_NO_VMAP
        }
    }

    /// One of our buffers.
    ///
    /// # Safety
    ///
    /// `dmabuf` is alive, was exported by [`BufferList`] with these ops,
    /// and its `release` has not run.
    ///
    /// [`BufferList`]: super::BufferList
    unsafe fn buffer<'a>(dmabuf: *mut bindings::dma_buf) -> &'a Buffer<T> {
        // SAFETY: `priv` is the `BufPriv<T, S>` that the export gave it,
        // freed only by `release` (caller's guarantee).
        unsafe { &(*(*dmabuf).priv_.cast::<BufPriv<T, S>>()).buffer }
    }

    /// # Safety
    ///
    /// Called by the core only, as `attach`: `dmabuf` is a live buffer of
    /// ours, `attach` an attachment being set up for it.
    unsafe extern "C" fn attach(
        dmabuf: *mut bindings::dma_buf,
        attach: *mut bindings::dma_buf_attachment,
    ) -> c_int {
        // SAFETY: The core calls this for a live buffer of ours and an
        // attachment being set up for it.
        let (buffer, attach) = unsafe { (Self::buffer(dmabuf), Attachment::from_raw(attach)) };
        let check = || {
            buffer.data().attach(attach)?;
            if buffer.is_revoked() {
                return Err(ENODEV);
            }
            // An importer that cannot be told to unmap could keep using the
            // buffer after revoke.
            if !attach.is_revocable() {
                return Err(compat::eopnotsupp());
            }
            Ok(())
        };
        // Not `from_result`: the compiler calls it out of line here, a
        // second function on every attach (`make bench`'s count).
        match check() {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the core only, as `map_dma_buf`: a live attachment of a live
    /// buffer of ours, its reservation lock held.
    unsafe extern "C" fn map_dma_buf(
        attach: *mut bindings::dma_buf_attachment,
        dir: bindings::dma_data_direction,
    ) -> *mut bindings::sg_table {
        // SAFETY: The core calls this with a live attachment of a live buffer
        // of ours, its reservation lock held.
        let attach = unsafe { Attachment::from_raw(attach) };
        // SAFETY: As above.
        let buffer = unsafe { Self::buffer(attach.dmabuf_raw()) };
        let Some(dir) = direction(dir) else {
            return EINVAL.to_ptr();
        };
        match buffer.map(|data| data.map(attach, dir)) {
            Ok(sgt) => sgt.into_raw(),
            Err(e) => e.to_ptr(),
        }
    }

    /// # Safety
    ///
    /// Called by the core only, as `unmap_dma_buf`: as `map_dma_buf`, with a
    /// table that `map_dma_buf` returned for it.
    unsafe extern "C" fn unmap_dma_buf(
        attach: *mut bindings::dma_buf_attachment,
        sgt: *mut bindings::sg_table,
        dir: bindings::dma_data_direction,
    ) {
        // SAFETY: As in `map_dma_buf`.
        let attach = unsafe { Attachment::from_raw(attach) };
        // `map_dma_buf` mapped nothing for a direction it does not know.
        let Some(dir) = direction(dir) else {
            return;
        };
        // SAFETY: `sgt` is what `map_dma_buf` returned for this attachment
        // and direction; the core hands it back exactly once.
        drop(unsafe { SgTable::from_raw(sgt, attach, dir) });
        // SAFETY: As in `map_dma_buf`.
        let buffer = unsafe { Self::buffer(attach.dmabuf_raw()) };
        buffer.unmapped();
    }

    /// # Safety
    ///
    /// Called by the core only, as `release`: the buffer's last reference is
    /// gone; called once.
    unsafe extern "C" fn release(dmabuf: *mut bindings::dma_buf) {
        // SAFETY: The core calls `release` once, with the last reference
        // gone; `priv` is the box the export leaked, ours again.
        let priv_ = unsafe { KBox::from_raw((*dmabuf).priv_.cast::<BufPriv<T, S>>()) };
        priv_.list.unlink(dmabuf);
    }

    /// # Safety
    ///
    /// Called by the core only, as `mmap`: a live buffer of ours and a new
    /// VMA within its size.
    unsafe extern "C" fn mmap(
        dmabuf: *mut bindings::dma_buf,
        vma: *mut bindings::vm_area_struct,
    ) -> c_int {
        // SAFETY: The core calls this for a live buffer of ours and a new
        // VMA, bounds already checked against the buffer's size.
        let (buffer, vma) = unsafe { (Self::buffer(dmabuf), VmaNew::from_raw(vma)) };
        from_result(|| {
            vma::set_io_pfnmap(vma, &Self::FAULT_OPS, buffer.data().cpu_write_combine())?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the core only, as `vm_operations_struct.fault` of a VMA that
    /// `mmap` set up.
    unsafe extern "C" fn fault(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
        // SAFETY: The core calls this for a fault in a VMA set up by `mmap`.
        let fault = unsafe { Fault::from_raw(vmf) };
        // SAFETY: The VMA maps our buffer's file and holds a reference to it,
        // so the buffer (the file's `private_data`) has not been released.
        let buffer = unsafe { Self::buffer((*fault.file().as_ptr()).private_data.cast()) };
        // The gate is held across the insertion: revoke cannot slip between
        // the check and the new page table entry.
        buffer
            .access(|data| data.fault(fault))
            .unwrap_or(FaultResult::SIGBUS)
            .into_raw()
    }

    /// # Safety
    ///
    /// Called by the core only, as `vmap`: a live buffer of ours, reservation
    /// lock held, `map` to fill in.
    unsafe extern "C" fn vmap(
        dmabuf: *mut bindings::dma_buf,
        map: *mut bindings::iosys_map,
    ) -> c_int {
        // SAFETY: The core calls this for a live buffer of ours, its
        // reservation lock held.
        let buffer = unsafe { Self::buffer(dmabuf) };
        from_result(|| {
            // Only buffers with a range have the ops with `vmap`.
            let range = buffer.io_range().ok_or(EINVAL)?;
            let mapping = buffer.map(|data| IoMapping::new(range, data.cpu_write_combine()))?;
            // SAFETY: `map` is the core's, to fill in: an I/O memory address.
            unsafe {
                (*map).is_iomem = true;
                (*map).__bindgen_anon_1.vaddr_iomem = mapping.into_raw();
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the core only, as `vunmap`: as `vmap`, with the map
    /// `vmap` filled in; once per map.
    unsafe extern "C" fn vunmap(dmabuf: *mut bindings::dma_buf, map: *mut bindings::iosys_map) {
        // SAFETY: The core calls this for a live buffer of ours, reservation
        // lock held, with the map `vmap` filled in, exactly once.
        let (buffer, mapping) = unsafe {
            (
                Self::buffer(dmabuf),
                IoMapping::from_raw((*map).__bindgen_anon_1.vaddr_iomem),
            )
        };
        drop(mapping);
        buffer.unmapped();
    }
}
