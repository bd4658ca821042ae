// SPDX-License-Identifier: GPL-2.0

//! Exporting dma-bufs whose access can be revoked.
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h).
//!
//! - [`Exporter`]: the buffer operations, as a trait the driver implements
//!   for its per-buffer data.
//! - [`Exports<T, S>`]: a device's list of exported buffers, and the lock (the
//!   exporter's "device lock") that protects it together with the driver's
//!   device state `S`. A buffer's `release` unlinks it under that lock.
//! - [`Exported`]: a list entry, from which only [`Exported::try_get`] gives a
//!   [`DmaBuf`]; it fails, once, for a buffer whose last reference is gone.
//! - Each buffer's access gate: whether it is revoked, and how many importer
//!   and kernel mappings it has. The callbacks below check it before calling
//!   the driver, so no driver can forget to; revoke (`dma_buf_revoke`) sets it
//!   and waits on it.
//!
//! The rules that make two known bugs impossible (the endless get_file_rcu()
//! loop on a dying file, i915 mmap_singleton, Oct 2023; the deadlocking
//! dma_buf_try_get() of "Allow MMIO regions to be exported through dmabuf",
//! Dec 2024):
//!
//! - The list holds no reference to a buffer's file. While the lock is held,
//!   an entry's buffer and file are alive even if the file count reached
//!   zero: the file's `release` path (`__fput` → `dput` → `release`) blocks on
//!   the same lock before the file is freed. `try_get` therefore takes a
//!   reference only if the count is not zero (`get_file_active()`), and there
//!   is nothing to retry: a dying buffer is skipped, never waited for.
//! - Dropping a [`DmaBuf`] is `fput()`, which never runs `release`
//!   synchronously. Dropping the last reference with the lock held cannot
//!   deadlock against `release` taking it.
//!
//! # Lock order
//!
//! Outermost first: the transition lock ([`Exports::transition`]), the device
//! lock ([`Exports::lock`]), a task's mmap lock (the fault path holds it), a
//! buffer's reservation lock (`dma_resv`; the core primes mmap_lock ->
//! dma_resv at boot, so nothing may fault or take the mmap lock under it),
//! and a buffer's access gate, the innermost. `map_dma_buf` and `vmap` run
//! under the reservation lock (taken by the core) and take the gate; a fault
//! runs under the mmap lock and takes the gate; `release` takes only the
//! device lock, and runs from the last `fput()` of the buffer's file, which
//! is always deferred.

use super::{
    dma_buf::{
        Attachment,
        DmaBuf, //
    },
    dma_buf_mapping::{
        direction,
        PhysRange,
        SgTable, //
    },
    io_mapping::IoMapping,
    vma::{
        self,
        Fault,
        FaultOps,
        FaultResult, //
    }, //
};
use core::ptr::NonNull;
use kernel::{
    bindings,
    dma::DataDirection,
    error::{
        from_err_ptr,
        from_result, //
    },
    ffi::c_void,
    mm::virt::VmaNew,
    new_condvar,
    new_mutex,
    prelude::*,
    str::CStr,
    sync::{
        lock::mutex::MutexGuard,
        Arc,
        CondVar,
        CondVarTimeoutResult,
        Mutex, //
    },
    time::Jiffies, //
};

/// The operations of buffers exported through [`Exports`].
///
/// Each method runs with the buffer alive. `map` and `fault` run, and `vmap`
/// maps [`Exporter::io_range`], only while its access is not revoked: the
/// abstraction checks that first, under the buffer's access gate, and holds
/// the gate across them, so a revoke cannot slip between the check and the
/// new mapping. (`attach` runs first; the abstraction then refuses a
/// revoked buffer with `ENODEV`.)
pub(crate) trait Exporter: Send + Sync + Sized + 'static {
    /// An importer attaches. Return an error to refuse it. (Importers that
    /// cannot be told to unmap are refused after this, with `EOPNOTSUPP`.)
    fn attach(&self, attach: &Attachment) -> Result;

    /// Maps the buffer for an importer. Reservation lock held.
    fn map(&self, attach: &Attachment, dir: DataDirection) -> Result<SgTable>;

    /// Whether CPU mappings are write-combined (else uncached).
    fn cpu_write_combine(&self) -> bool;

    /// A page of a CPU mapping is touched: insert its frame, or refuse.
    /// Runs under the faulting task's mmap lock.
    fn fault(&self, fault: &Fault) -> FaultResult;

    /// The buffer's memory, if it is one range of I/O memory: only then
    /// does the buffer offer `vmap`, mapped as [`Self::cpu_write_combine`]
    /// says. Asked once, at export. (The dma-buf core WARNs whenever an
    /// exporter's `vmap` fails, so a buffer that cannot be mapped whole
    /// offers none, and importers get `EINVAL` from the core, quietly.)
    fn io_range(&self) -> Option<PhysRange>;
}

/// What the access gate of a buffer protects.
struct Access {
    revoked: bool,
    /// Importer mappings (`map_dma_buf`) not yet unmapped.
    maps: usize,
    /// Kernel mappings (`vmap`) not yet unmapped.
    vmaps: usize,
    /// Revokes waiting for the mappings to go: the last unmap wakes them,
    /// and only then (importers usually unmap inside `invalidate_mappings`,
    /// before revoke waits, and outside revoke nobody waits).
    waiters: usize,
}

/// An exported buffer: the driver's data and its access gate.
#[pin_data]
pub(crate) struct ExportedBuffer<T> {
    data: T,
    /// What `vmap` maps: [`Exporter::io_range`] at export, with the ops
    /// that offer `vmap`.
    io_range: Option<PhysRange>,
    #[pin]
    access: Mutex<Access>,
    #[pin]
    unmapped: CondVar,
}

impl<T> ExportedBuffer<T> {
    /// Revokes or restores access to the buffer. Only the revoke protocol
    /// calls this, with the buffer's reservation lock held.
    pub(super) fn set_revoked(&self, revoked: bool) {
        self.access.lock().revoked = revoked;
    }

    /// Waits, at most `timeout`, until importers have unmapped every mapping
    /// and kernel mapping; `false` if some are left.
    pub(super) fn wait_unmapped(&self, timeout: Jiffies) -> bool {
        let mut access = self.access.lock();
        let mut left = timeout;
        while access.maps + access.vmaps != 0 && left != 0 {
            access.waiters += 1;
            left = match self.unmapped.wait_interruptible_timeout(&mut access, left) {
                CondVarTimeoutResult::Woken { jiffies } => jiffies,
                // A signal or the timeout: stop waiting either way.
                _ => 0,
            };
            access.waiters -= 1;
        }
        access.maps + access.vmaps == 0
    }

    /// One mapping fewer; wakes a waiting revoke at the last one.
    fn unmapped(&self, access: &mut Access) {
        if access.maps + access.vmaps == 0 && access.waiters != 0 {
            self.unmapped.notify_all();
        }
    }
}

/// What a buffer's `priv` points to: the buffer and the list it is on.
struct BufPriv<T: Exporter, S> {
    exports: Arc<Exports<T, S>>,
    buffer: Arc<ExportedBuffer<T>>,
}

/// A list entry: no reference to the buffer's file, only its address.
///
/// # Invariants
///
/// `dmabuf` is alive while the entry is on its list, and the list's lock is
/// held: the buffer's `release` removes it under that lock first.
struct Entry<T> {
    buffer: Arc<ExportedBuffer<T>>,
    dmabuf: NonNull<bindings::dma_buf>,
}

// SAFETY: The pointer is only dereferenced under the list's lock, from any
// thread; `T` is `Send + Sync`.
unsafe impl<T: Send + Sync> Send for Entry<T> {}

/// The state behind a device's lock: the driver's state and the buffers.
pub(crate) struct ExportsInner<T, S> {
    state: S,
    /// Whether the device's buffers are revoked: those exported now are
    /// born revoked.
    revoked: bool,
    entries: KVec<Entry<T>>,
}

/// The buffers a device exported, the device lock, and the transition lock
/// that serialises revoke and restore.
#[pin_data]
pub(crate) struct Exports<T, S> {
    module: &'static ThisModule,
    name: &'static CStr,
    /// Serialises revoke and restore; the only lock of ours held while a
    /// revoke zaps CPU mappings (and so runs MMU notifiers).
    #[pin]
    transition: Mutex<()>,
    #[pin]
    inner: Mutex<ExportsInner<T, S>>,
}

impl<T: Exporter, S: Send + Unpin + 'static> Exports<T, S> {
    /// A new, empty list, for buffers owned by `module`, named `name` in
    /// the dma-buf debug files; with `revoked`, buffers are born revoked.
    pub(crate) fn new(
        module: &'static ThisModule,
        name: &'static CStr,
        state: S,
        revoked: bool,
    ) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                module,
                name,
                transition <- new_mutex!((), "Exports::transition"),
                inner <- new_mutex!(ExportsInner {
                    state,
                    revoked,
                    entries: KVec::new(),
                }, "Exports::inner"),
            }),
            GFP_KERNEL,
        )
    }

    /// Takes the device lock.
    pub(crate) fn lock<'a>(self: &'a Arc<Self>) -> ExportsGuard<'a, T, S> {
        ExportsGuard {
            exports: self,
            inner: self.inner.lock(),
        }
    }

    /// Takes the transition lock, under which revoke and restore run.
    pub(crate) fn transition<'a>(self: &'a Arc<Self>) -> Transition<'a, T, S> {
        Transition {
            exports: self,
            _lock: self.transition.lock(),
        }
    }

    const OPS: bindings::dma_buf_ops = bindings::dma_buf_ops {
        attach: Some(Self::attach_callback),
        detach: None,
        pin: None,
        unpin: None,
        map_dma_buf: Some(Self::map_callback),
        unmap_dma_buf: Some(Self::unmap_callback),
        release: Some(Self::release_callback),
        begin_cpu_access: None,
        end_cpu_access: None,
        mmap: Some(Self::mmap_callback),
        vmap: Some(Self::vmap_callback),
        vunmap: Some(Self::vunmap_callback),
    };

    /// For buffers that are not one range of I/O memory: no `vmap`.
    const OPS_NO_VMAP: bindings::dma_buf_ops = bindings::dma_buf_ops {
        vmap: None,
        vunmap: None,
        ..Self::OPS
    };

    const FAULT_OPS: FaultOps = FaultOps::new(Self::fault_callback);

    /// One of our buffers.
    ///
    /// # Safety
    ///
    /// `dmabuf` is alive, was exported by [`ExportsGuard::export`], and its
    /// `release` has not run.
    unsafe fn buffer<'a>(dmabuf: *mut bindings::dma_buf) -> &'a ExportedBuffer<T> {
        // SAFETY: `priv` is the `BufPriv<T, S>` that `export` gave it, freed
        // only by `release` (caller's guarantee).
        unsafe { &(*(*dmabuf).priv_.cast::<BufPriv<T, S>>()).buffer }
    }

    /// # Safety
    ///
    /// Called by the core only, as `attach`: `dmabuf` is a live buffer of
    /// ours, `attach` an attachment being set up for it.
    unsafe extern "C" fn attach_callback(
        dmabuf: *mut bindings::dma_buf,
        attach: *mut bindings::dma_buf_attachment,
    ) -> c_int {
        // SAFETY: The core calls this for a live buffer of ours and an
        // attachment being set up for it.
        let (buffer, attach) = unsafe { (Self::buffer(dmabuf), Attachment::from_raw(attach)) };
        from_result(|| {
            buffer.data.attach(attach)?;
            if buffer.access.lock().revoked {
                return Err(ENODEV);
            }
            // An importer that cannot be told to unmap could keep using the
            // buffer after revoke.
            if !attach.is_revocable() {
                return Err(EOPNOTSUPP);
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the core only, as `map_dma_buf`: a live attachment of a live
    /// buffer of ours, its reservation lock held.
    unsafe extern "C" fn map_callback(
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
        let mut access = buffer.access.lock();
        if access.revoked {
            return ENODEV.to_ptr();
        }
        match buffer.data.map(attach, dir) {
            Ok(sgt) => {
                access.maps += 1;
                sgt.into_raw()
            }
            Err(e) => e.to_ptr(),
        }
    }

    /// # Safety
    ///
    /// Called by the core only, as `unmap_dma_buf`: as `map_dma_buf`, with a
    /// table that `map_dma_buf` returned for it.
    unsafe extern "C" fn unmap_callback(
        attach: *mut bindings::dma_buf_attachment,
        sgt: *mut bindings::sg_table,
        dir: bindings::dma_data_direction,
    ) {
        // SAFETY: As in `map_callback`.
        let attach = unsafe { Attachment::from_raw(attach) };
        // `map_callback` mapped nothing for a direction it does not know.
        let Some(dir) = direction(dir) else {
            return;
        };
        // SAFETY: `sgt` is what `map_callback` returned for this attachment
        // and direction; the core hands it back exactly once.
        drop(unsafe { SgTable::from_raw(sgt, attach, dir) });
        // SAFETY: As in `map_callback`.
        let buffer = unsafe { Self::buffer(attach.dmabuf_raw()) };
        let mut access = buffer.access.lock();
        access.maps -= 1;
        buffer.unmapped(&mut access);
    }

    /// # Safety
    ///
    /// Called by the core only, as `release`: the buffer's last reference is
    /// gone; called once.
    unsafe extern "C" fn release_callback(dmabuf: *mut bindings::dma_buf) {
        // SAFETY: The core calls `release` once, with the last reference
        // gone; `priv` is the box `export` leaked, ours again.
        let priv_ = unsafe { KBox::from_raw((*dmabuf).priv_.cast::<BufPriv<T, S>>()) };
        let mut inner = priv_.exports.inner.lock();
        if let Some(i) = inner
            .entries
            .iter()
            .position(|e| e.dmabuf.as_ptr() == dmabuf)
        {
            // INVARIANT: unlinked under the lock, before the buffer is freed.
            drop(inner.entries.remove(i));
        }
        drop(inner);
    }

    /// # Safety
    ///
    /// Called by the core only, as `mmap`: a live buffer of ours and a new
    /// VMA within its size.
    unsafe extern "C" fn mmap_callback(
        dmabuf: *mut bindings::dma_buf,
        vma: *mut bindings::vm_area_struct,
    ) -> c_int {
        // SAFETY: The core calls this for a live buffer of ours and a new
        // VMA, bounds already checked against the buffer's size.
        let (buffer, vma) = unsafe { (Self::buffer(dmabuf), VmaNew::from_raw(vma)) };
        if !vma::is_shared(vma) {
            return EINVAL.to_errno();
        }
        vma::set_io_pfnmap(vma, &Self::FAULT_OPS, buffer.data.cpu_write_combine());
        0
    }

    /// # Safety
    ///
    /// Called by the core only, as `vm_operations_struct.fault` of a VMA that
    /// `mmap_callback` set up.
    unsafe extern "C" fn fault_callback(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
        // SAFETY: The core calls this for a fault in a VMA set up by
        // `mmap_callback`.
        let fault = unsafe { Fault::from_raw(vmf) };
        // SAFETY: The VMA maps our buffer's file and holds a reference to it,
        // so the buffer (the file's `private_data`) has not been released.
        let buffer = unsafe { Self::buffer((*fault.file().as_ptr()).private_data.cast()) };
        // Held across the insertion: revoke cannot slip between the check
        // and the new page table entry.
        let access = buffer.access.lock();
        if access.revoked {
            return FaultResult::SIGBUS.into_raw();
        }
        buffer.data.fault(fault).into_raw()
    }

    /// # Safety
    ///
    /// Called by the core only, as `vmap`: a live buffer of ours, reservation
    /// lock held, `map` to fill in.
    unsafe extern "C" fn vmap_callback(
        dmabuf: *mut bindings::dma_buf,
        map: *mut bindings::iosys_map,
    ) -> c_int {
        // SAFETY: The core calls this for a live buffer of ours, its
        // reservation lock held.
        let buffer = unsafe { Self::buffer(dmabuf) };
        from_result(|| {
            let mut access = buffer.access.lock();
            if access.revoked {
                return Err(ENODEV);
            }
            // Only buffers with a range have the ops with `vmap`.
            let range = buffer.io_range.ok_or(EINVAL)?;
            let mapping = IoMapping::new(range, buffer.data.cpu_write_combine())?;
            access.vmaps += 1;
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
    /// `vmap_callback` filled in; once per map.
    unsafe extern "C" fn vunmap_callback(
        dmabuf: *mut bindings::dma_buf,
        map: *mut bindings::iosys_map,
    ) {
        // SAFETY: The core calls this for a live buffer of ours, reservation
        // lock held, with the map `vmap_callback` filled in, exactly once.
        let (buffer, mapping) = unsafe {
            (
                Self::buffer(dmabuf),
                IoMapping::from_raw((*map).__bindgen_anon_1.vaddr_iomem),
            )
        };
        drop(mapping);
        let mut access = buffer.access.lock();
        access.vmaps -= 1;
        buffer.unmapped(&mut access);
    }
}

/// The device lock of an [`Exports`], held.
pub(crate) struct ExportsGuard<'a, T, S> {
    exports: &'a Arc<Exports<T, S>>,
    inner: MutexGuard<'a, ExportsInner<T, S>>,
}

impl<'a, T: Exporter, S: Send + Unpin + 'static> ExportsGuard<'a, T, S> {
    /// The driver's device state.
    pub(crate) fn state(&self) -> &S {
        &self.inner.state
    }

    /// The driver's device state, to change.
    pub(crate) fn state_mut(&mut self) -> &mut S {
        &mut self.inner.state
    }

    /// Whether the device's buffers are revoked.
    pub(crate) fn is_revoked(&self) -> bool {
        self.inner.revoked
    }

    /// Marks the device's buffers revoked or not; only the revoke protocol
    /// changes this, buffer by buffer.
    pub(super) fn set_revoked(&mut self, revoked: bool) {
        self.inner.revoked = revoked;
    }

    /// Number of buffers not yet released.
    pub(crate) fn len(&self) -> usize {
        self.inner.entries.len()
    }

    /// The buffers not yet released (some may be dying: see
    /// [`Exported::try_get`]).
    pub(crate) fn buffers(&self) -> impl Iterator<Item = Exported<'_, T>> {
        self.inner.entries.iter().map(|entry| Exported { entry })
    }

    /// Exports a new buffer of `size` bytes with file flags `flags`, and adds
    /// it to the list; revoked if the device's buffers are.
    pub(crate) fn export(&mut self, data: T, size: usize, flags: u32) -> Result<DmaBuf> {
        let revoked = self.inner.revoked;
        let io_range = data.io_range();
        let buffer = Arc::pin_init(
            pin_init!(ExportedBuffer {
                data,
                io_range,
                access <- new_mutex!(Access {
                    revoked,
                    maps: 0,
                    vmaps: 0,
                    waiters: 0,
                }, "ExportedBuffer::access"),
                unmapped <- new_condvar!("ExportedBuffer::unmapped"),
            }),
            GFP_KERNEL,
        )?;
        self.inner.entries.reserve(1, GFP_KERNEL)?;
        let priv_ = KBox::new(
            BufPriv {
                exports: self.exports.clone(),
                buffer: buffer.clone(),
            },
            GFP_KERNEL,
        )?;
        let priv_ = KBox::into_raw(priv_);
        let info = bindings::dma_buf_export_info {
            exp_name: self.exports.name.as_char_ptr(),
            owner: self.exports.module.as_ptr(),
            ops: if io_range.is_some() {
                &Exports::<T, S>::OPS
            } else {
                &Exports::<T, S>::OPS_NO_VMAP
            },
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
        // INVARIANT: linked under the lock, while we hold a reference; its
        // `release` will unlink it under the same lock. (The push cannot
        // fail after `reserve`; if it did, dropping `buf` would release the
        // buffer, which finds no entry.)
        self.inner
            .entries
            .push_within_capacity(Entry { buffer, dmabuf })
            .map_err(|_| ENOMEM)?;
        Ok(buf)
    }
}

/// The transition lock of an [`Exports`], held: revoke and restore.
pub(crate) struct Transition<'a, T, S> {
    pub(super) exports: &'a Arc<Exports<T, S>>,
    _lock: MutexGuard<'a, ()>,
}

/// An entry of the list, seen with the device lock held.
pub(crate) struct Exported<'g, T> {
    entry: &'g Entry<T>,
}

impl<'g, T: Exporter> Exported<'g, T> {
    /// The driver's data of the buffer.
    pub(crate) fn data(&self) -> &'g T {
        &self.entry.buffer.data
    }

    /// The buffer, with its access gate.
    pub(super) fn buffer(&self) -> &'g Arc<ExportedBuffer<T>> {
        &self.entry.buffer
    }

    /// A new reference to the buffer, unless its last one is already gone
    /// (it is being released, and will leave the list once the device lock
    /// is dropped). Never waits and never retries.
    pub(crate) fn try_get(&self) -> Option<DmaBuf> {
        let dmabuf = self.entry.dmabuf.as_ptr();
        // SAFETY: The buffer is alive while its entry is on the list and the
        // lock is held (we borrow the guard), and so is its file: `release`
        // blocks on the lock before `__fput` frees the file. The file pointer
        // never changes after export.
        let file = unsafe { bindings::get_file_active(&raw mut (*dmabuf).file) };
        // Lazily: a `DmaBuf` made on failure would be dropped, an `fput()`
        // of a reference we do not own.
        // SAFETY: On success we own a reference to the buffer's file.
        (!file.is_null()).then(|| unsafe { DmaBuf::from_raw(self.entry.dmabuf) })
    }
}
