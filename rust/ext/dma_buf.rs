// SPDX-License-Identifier: GPL-2.0

//! DMA buffers exported by this module.
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h).
//!
//! - [`Exporter`]: the buffer operations, as a trait the driver implements
//!   for its per-buffer data.
//! - [`Exports<T>`]: a device's list of exported buffers, and the lock (the
//!   exporter's "device lock") that protects it together with the driver's
//!   device state. A buffer's `release` unlinks it under that lock.
//! - [`DmaBuf`]: an owned reference to a buffer (to its file).
//! - [`Exported`]: a list entry, from which only [`Exported::try_get`] gives a
//!   [`DmaBuf`]; it fails, once, for a buffer whose last reference is gone.
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

use super::{
    dma_resv::{Resv, ResvGuard},
    io_mapping::IoMapping,
    p2pdma::SgTable,
    vma::{zap_file_mappings, Fault, FaultOps, FaultResult, NewVma},
};
use core::ptr::NonNull;
use kernel::{
    bindings,
    error::from_result,
    ffi::c_void,
    fs::File,
    new_mutex,
    prelude::*,
    str::CStr,
    sync::{aref::ARef, lock::mutex::MutexGuard, Arc, Mutex},
    types::Opaque,
};

/// A DMA data direction (`enum dma_data_direction`).
pub(crate) type Direction = bindings::dma_data_direction;

/// The operations of buffers exported through [`Exports<Self>`].
///
/// Each method runs with the buffer alive. Those documented so run with the
/// buffer's reservation lock held, taken by the core.
pub(crate) trait Exporter: Send + Sync + Sized + 'static {
    /// Device state protected by the device lock, with the list of buffers.
    type State: Send + Unpin;

    /// An importer attaches. Return an error to refuse it.
    fn attach(&self, attach: &Attachment) -> Result;

    /// Maps the buffer for an importer. Reservation lock held.
    fn map(&self, attach: &Attachment, dir: Direction) -> Result<SgTable>;

    /// A mapping from [`Exporter::map`] was freed. Reservation lock held.
    fn unmapped(&self, attach: &Attachment);

    /// Whether CPU mappings are write-combined (else uncached).
    fn cpu_write_combine(&self) -> bool;

    /// A page of a CPU mapping is touched: insert its frame, or refuse.
    /// Runs under the faulting task's mmap lock.
    fn fault(&self, fault: &Fault) -> FaultResult;

    /// Maps the buffer into kernel address space. Reservation lock held.
    fn vmap(&self) -> Result<IoMapping>;

    /// Undoes [`Exporter::vmap`]. Reservation lock held.
    fn vunmap(&self, mapping: IoMapping);
}

/// What a buffer's `priv` points to: its data and the list it is on.
struct BufPriv<T: Exporter> {
    exports: Arc<Exports<T>>,
    data: Arc<T>,
}

/// A list entry: no reference to the buffer, only its address.
///
/// # Invariants
///
/// `dmabuf` is alive while the entry is on its list, and the list's lock is
/// held: the buffer's `release` removes it under that lock first.
struct Entry<T> {
    data: Arc<T>,
    dmabuf: NonNull<bindings::dma_buf>,
}

// SAFETY: The pointer is only dereferenced under the list's lock, from any
// thread; `T` is `Send + Sync`.
unsafe impl<T: Send + Sync> Send for Entry<T> {}

/// The state behind a device's lock: the driver's state and the buffers.
pub(crate) struct ExportsInner<T: Exporter> {
    state: T::State,
    entries: KVec<Entry<T>>,
}

/// The buffers a device exported, and the device lock.
#[pin_data]
pub(crate) struct Exports<T: Exporter> {
    module: &'static ThisModule,
    name: &'static CStr,
    #[pin]
    inner: Mutex<ExportsInner<T>>,
}

impl<T: Exporter> Exports<T> {
    /// A new, empty list, for buffers owned by `module`, named `name` in
    /// the dma-buf debug files.
    pub(crate) fn new(
        module: &'static ThisModule,
        name: &'static CStr,
        state: T::State,
    ) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                module,
                name,
                inner <- new_mutex!(ExportsInner {
                    state,
                    entries: KVec::new(),
                }, "Exports::inner"),
            }),
            GFP_KERNEL,
        )
    }

    /// Takes the device lock.
    pub(crate) fn lock<'a>(self: &'a Arc<Self>) -> ExportsGuard<'a, T> {
        ExportsGuard {
            exports: self,
            inner: self.inner.lock(),
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

    const FAULT_OPS: FaultOps = FaultOps::new(Self::fault_callback);

    /// The data of one of our buffers.
    ///
    /// # Safety
    ///
    /// `dmabuf` is alive, was exported with [`Self::OPS`], and its `release`
    /// has not run.
    unsafe fn data<'a>(dmabuf: *mut bindings::dma_buf) -> &'a T {
        // SAFETY: `priv` is the `BufPriv<T>` that `export` gave it, freed only
        // by `release` (caller's guarantee).
        unsafe { &(*(*dmabuf).priv_.cast::<BufPriv<T>>()).data }
    }

    /// # Safety
    ///
    /// Called by the core only, as `attach`: `dmabuf` is a live buffer of ours, `attach` an attachment being set up for it.
    unsafe extern "C" fn attach_callback(
        dmabuf: *mut bindings::dma_buf,
        attach: *mut bindings::dma_buf_attachment,
    ) -> c_int {
        // SAFETY: The core calls this for a live buffer of ours and an
        // attachment being set up for it.
        let (data, attach) = unsafe { (Self::data(dmabuf), Attachment::from_raw(attach)) };
        from_result(|| data.attach(attach).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the core only, as `map_dma_buf`: a live attachment of a live buffer of ours, its reservation lock held.
    unsafe extern "C" fn map_callback(
        attach: *mut bindings::dma_buf_attachment,
        dir: Direction,
    ) -> *mut bindings::sg_table {
        // SAFETY: The core calls this with a live attachment of a live buffer
        // of ours, its reservation lock held.
        let attach = unsafe { Attachment::from_raw(attach) };
        // SAFETY: As above.
        let data = unsafe { Self::data((*attach.as_raw()).dmabuf) };
        match data.map(attach, dir) {
            Ok(sgt) => sgt.into_raw(),
            Err(e) => e.to_ptr(),
        }
    }

    /// # Safety
    ///
    /// Called by the core only, as `unmap_dma_buf`: as `map_dma_buf`, with a table that `map_dma_buf` returned for it.
    unsafe extern "C" fn unmap_callback(
        attach: *mut bindings::dma_buf_attachment,
        sgt: *mut bindings::sg_table,
        dir: Direction,
    ) {
        // SAFETY: As in `map_callback`.
        let attach = unsafe { Attachment::from_raw(attach) };
        // SAFETY: `sgt` is what `map_callback` returned for this attachment
        // and direction; the core hands it back exactly once.
        drop(unsafe { SgTable::from_raw(sgt, attach, dir) });
        // SAFETY: As in `map_callback`.
        unsafe { Self::data((*attach.as_raw()).dmabuf) }.unmapped(attach);
    }

    /// # Safety
    ///
    /// Called by the core only, as `release`: the buffer's last reference is gone; called once.
    unsafe extern "C" fn release_callback(dmabuf: *mut bindings::dma_buf) {
        // SAFETY: The core calls `release` once, with the last reference
        // gone; `priv` is the box `export` leaked, ours again.
        let priv_ = unsafe { KBox::from_raw((*dmabuf).priv_.cast::<BufPriv<T>>()) };
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
    /// Called by the core only, as `mmap`: a live buffer of ours and a new VMA within its size.
    unsafe extern "C" fn mmap_callback(
        dmabuf: *mut bindings::dma_buf,
        vma: *mut bindings::vm_area_struct,
    ) -> c_int {
        // SAFETY: The core calls this for a live buffer of ours and a new
        // VMA, bounds already checked against the buffer's size.
        let (data, vma) = unsafe { (Self::data(dmabuf), NewVma::from_raw(vma)) };
        if !vma.is_shared() {
            return EINVAL.to_errno();
        }
        vma.set_io_pfnmap(&Self::FAULT_OPS, data.cpu_write_combine());
        0
    }

    /// # Safety
    ///
    /// Called by the core only, as `vm_operations_struct.fault` of a VMA that `mmap_callback` set up.
    unsafe extern "C" fn fault_callback(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
        // SAFETY: The core calls this for a fault in a VMA set up by
        // `mmap_callback`.
        let fault = unsafe { Fault::from_raw(vmf) };
        // SAFETY: The VMA maps our buffer's file and holds a reference to it,
        // so the buffer (the file's `private_data`) has not been released.
        let data = unsafe { Self::data((*fault.file().as_ptr()).private_data.cast()) };
        data.fault(fault).into_raw()
    }

    /// # Safety
    ///
    /// Called by the core only, as `vmap`: a live buffer of ours, reservation lock held, `map` to fill in.
    unsafe extern "C" fn vmap_callback(
        dmabuf: *mut bindings::dma_buf,
        map: *mut bindings::iosys_map,
    ) -> c_int {
        // SAFETY: The core calls this for a live buffer of ours, its
        // reservation lock held.
        let data = unsafe { Self::data(dmabuf) };
        from_result(|| {
            let mapping = data.vmap()?;
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
    /// Called by the core only, as `vunmap`: as `vmap`, with the map `vmap_callback` filled in; once per map.
    unsafe extern "C" fn vunmap_callback(
        dmabuf: *mut bindings::dma_buf,
        map: *mut bindings::iosys_map,
    ) {
        // SAFETY: The core calls this for a live buffer of ours, reservation
        // lock held, with the map `vmap_callback` filled in, exactly once.
        let (data, mapping) = unsafe {
            (
                Self::data(dmabuf),
                IoMapping::from_raw((*map).__bindgen_anon_1.vaddr_iomem),
            )
        };
        data.vunmap(mapping);
    }
}

/// The device lock of an [`Exports`], held.
pub(crate) struct ExportsGuard<'a, T: Exporter> {
    exports: &'a Arc<Exports<T>>,
    inner: MutexGuard<'a, ExportsInner<T>>,
}

impl<'a, T: Exporter> ExportsGuard<'a, T> {
    /// The driver's device state.
    pub(crate) fn state(&self) -> &T::State {
        &self.inner.state
    }

    /// The driver's device state, to change.
    pub(crate) fn state_mut(&mut self) -> &mut T::State {
        &mut self.inner.state
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
    /// it to the list.
    pub(crate) fn export(&mut self, data: Arc<T>, size: usize, flags: u32) -> Result<DmaBuf> {
        self.inner.entries.reserve(1, GFP_KERNEL)?;
        let priv_ = KBox::new(
            BufPriv {
                exports: self.exports.clone(),
                data: data.clone(),
            },
            GFP_KERNEL,
        )?;
        let priv_ = KBox::into_raw(priv_);
        let info = bindings::dma_buf_export_info {
            exp_name: self.exports.name.as_char_ptr(),
            owner: self.exports.module.as_ptr(),
            ops: &Exports::<T>::OPS,
            size,
            flags: flags as c_int,
            resv: core::ptr::null_mut(),
            priv_: priv_.cast::<c_void>(),
        };
        // SAFETY: `info` is complete; the ops are static and the core takes a
        // reference on our module for the life of the buffer.
        let dmabuf = unsafe { bindings::dma_buf_export(&info) };
        let dmabuf = match kernel::error::from_err_ptr(dmabuf) {
            Ok(d) => d,
            Err(e) => {
                // SAFETY: The export failed, so `priv` is ours again.
                drop(unsafe { KBox::from_raw(priv_) });
                return Err(e);
            }
        };
        // SAFETY: `dma_buf_export` returned a buffer or an error.
        let dmabuf = unsafe { NonNull::new_unchecked(dmabuf) };
        // INVARIANT: a new buffer's file has one reference, ours.
        let buf = DmaBuf(dmabuf);
        // INVARIANT: linked under the lock, while we hold a reference; its
        // `release` will unlink it under the same lock. (The push cannot
        // fail after `reserve`; if it did, dropping `buf` would release the
        // buffer, which finds no entry.)
        self.inner
            .entries
            .push_within_capacity(Entry { data, dmabuf })
            .map_err(|_| ENOMEM)?;
        Ok(buf)
    }
}

/// An entry of the list, seen with the device lock held.
pub(crate) struct Exported<'g, T> {
    entry: &'g Entry<T>,
}

impl<'g, T: Exporter> Exported<'g, T> {
    /// The driver's data of the buffer.
    pub(crate) fn data(&self) -> &'g Arc<T> {
        &self.entry.data
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
        // INVARIANT: on success we own a reference to the buffer's file.
        // Lazily: a `DmaBuf` made on failure would be dropped, an `fput()`
        // of a reference we do not own.
        (!file.is_null()).then(|| DmaBuf(self.entry.dmabuf))
    }
}

/// A reference to one of our buffers: a reference to its file.
///
/// # Invariants
///
/// We own one reference to the file of the `struct dma_buf` at `self.0`, so
/// the buffer is alive.
pub(crate) struct DmaBuf(NonNull<bindings::dma_buf>);

// SAFETY: File references may be taken and dropped on any thread.
unsafe impl Send for DmaBuf {}
// SAFETY: Every `&self` method is safe from any thread.
unsafe impl Sync for DmaBuf {}

impl DmaBuf {
    fn file_ptr(&self) -> *mut bindings::file {
        // SAFETY: The buffer is alive (type invariant).
        unsafe { (*self.0.as_ptr()).file }
    }

    /// The buffer's file, to install into an fd reserved beforehand.
    pub(crate) fn into_file(self) -> ARef<File> {
        let file = NonNull::new(self.file_ptr().cast::<File>());
        core::mem::forget(self);
        // SAFETY: `File` is a transparent wrapper of `struct file`, never
        // NULL for a live buffer; we hand over the reference we owned.
        unsafe { ARef::from_raw(file.unwrap_unchecked()) }
    }

    fn resv(&self) -> &Resv {
        // SAFETY: The buffer, and so its reservation object, is alive for
        // the borrow of `self`.
        unsafe { Resv::from_raw((*self.0.as_ptr()).resv) }
    }

    /// Takes the buffer's reservation lock.
    pub(crate) fn lock(&self) -> LockedDmaBuf<'_> {
        LockedDmaBuf {
            buf: self,
            _resv: self.resv().lock(),
        }
    }

    /// Waits for the buffer's fences, at most `timeout` jiffies; `false` on
    /// timeout. Needs no lock.
    pub(crate) fn wait_fences(&self, timeout: usize) -> bool {
        self.resv().wait_fences(timeout)
    }

    /// Zaps every CPU mapping of the buffer: the next access faults.
    pub(crate) fn zap_cpu_mappings(&self) {
        // SAFETY: The file is alive while we hold our reference.
        zap_file_mappings(unsafe { File::from_raw_file(self.file_ptr()) });
    }
}

impl Drop for DmaBuf {
    fn drop(&mut self) {
        // SAFETY: We own a reference (type invariant). `fput()` defers the
        // final release to task work or a workqueue: it never calls `release`
        // synchronously, whatever locks the caller holds.
        unsafe { bindings::fput(self.file_ptr()) };
    }
}

/// A buffer with its reservation lock held.
pub(crate) struct LockedDmaBuf<'a> {
    buf: &'a DmaBuf,
    _resv: ResvGuard<'a>,
}

impl LockedDmaBuf<'_> {
    /// Tells every importer that its mappings are invalid (the importers'
    /// `invalidate_mappings`); they unmap and may try to map again.
    pub(crate) fn invalidate_mappings(&self) {
        // SAFETY: The buffer is alive and its reservation lock held, as the
        // core requires.
        unsafe { bindings::dma_buf_invalidate_mappings(self.buf.0.as_ptr()) };
    }
}

/// An importer's attachment to one of our buffers.
///
/// # Invariants
///
/// The attachment is alive for as long as a `&Attachment` exists.
#[repr(transparent)]
pub(crate) struct Attachment(Opaque<bindings::dma_buf_attachment>);

impl Attachment {
    /// # Safety
    ///
    /// `ptr` is a live attachment, for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::dma_buf_attachment) -> &'a Self {
        // SAFETY: Transparent wrapper; validity is the caller's guarantee.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The raw attachment.
    pub(crate) fn as_raw(&self) -> *mut bindings::dma_buf_attachment {
        self.0.get()
    }

    /// Whether the importer accepts peer-to-peer (MMIO) addresses.
    pub(crate) fn peer2peer(&self) -> bool {
        // SAFETY: The attachment is alive (type invariant).
        unsafe { (*self.as_raw()).peer2peer }
    }

    /// Whether the importer implements `invalidate_mappings`, so that its
    /// mappings can be revoked.
    pub(crate) fn is_revocable(&self) -> bool {
        // SAFETY: The attachment is alive (type invariant).
        unsafe { bindings::dma_buf_attach_revocable(self.as_raw()) }
    }
}
