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
//! - [`Exported`]: a list entry, seen under the device lock: the buffer as a
//!   [`DmaBufObject`], which has no way to the buffer's file.
//! - [`ExportsGuard::find_open`]: a buffer the calling task has open, found
//!   through its fd table.
//! - Each buffer's access gate: whether it is revoked, and how many importer
//!   and kernel mappings it has. The callbacks below check it before calling
//!   the driver, so no driver can forget to; revoke (`dma_buf_revoke`) sets it
//!   and waits on it.
//!
//! The rules that make three known bugs impossible (the endless
//! get_file_rcu() loop on a dying file, i915 mmap_singleton, Oct 2023; the
//! deadlocking dma_buf_try_get() of "Allow MMIO regions to be exported
//! through dmabuf", Dec 2024; a list that reaches a freed file, below):
//!
//! - The list holds no reference to a buffer, and never reaches its file.
//!   A buffer's `release` is its dentry's `d_release`, and anything that
//!   holds the dentry (an `O_PATH` open of `/proc/PID/fd/N`, a bind mount of
//!   that link) lets `__fput()` free the file while the buffer is still on
//!   the list. What is alive under the device lock is the buffer and its
//!   dentry: `release` unlinks the entry under that lock before either is
//!   freed. So an entry gives a [`DmaBufObject`] (the buffer without its
//!   file), and a reference that outlives the lock is a [`DmaBufPin`], a
//!   dentry reference taken only if the dentry is not already dying: there
//!   is nothing to retry, a dying buffer is skipped, never waited for.
//! - A new reference to a buffer's *file* comes only from a file that is
//!   certainly alive: the one `dma_buf_export()` returns, or one in the
//!   calling task's fd table, found under the table's lock
//!   ([`ExportsGuard::find_open`]).
//! - Dropping a [`DmaBuf`] is `fput()`, which never runs `release`
//!   synchronously: it may be dropped with the device lock held. Dropping a
//!   [`DmaBufPin`] is `dput()`, which may: pins never leave this layer,
//!   and revoke drops them after the device lock.
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
    deadline::Deadline,
    dma_buf::{
        Attachment,
        DmaBuf, //
    },
    dma_buf_mapping::{
        direction,
        SgTable, //
    },
    dma_buf_object::{
        DmaBufObject,
        DmaBufPin, //
    },
    io_mapping::IoMapping,
    io_range::IoRange,
    vma::{
        self,
        Fault,
        FaultOps,
        FaultResult, //
    }, //
};
use core::{
    cell::Cell,
    ptr::NonNull, //
};
use kernel::{
    bindings,
    dma::DataDirection,
    error::{
        from_err_ptr,
        from_result, //
    },
    ffi::{
        c_uint,
        c_void, //
    },
    fs::File,
    mm::virt::VmaNew,
    new_condvar,
    new_mutex,
    prelude::*,
    str::CStr,
    sync::{
        aref::ARef,
        lock::mutex::MutexGuard,
        Arc,
        CondVar,
        CondVarTimeoutResult,
        Mutex, //
    },
    task::Task,
    time::{
        delay::fsleep,
        Delta, //
    }, //
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
    fn io_range(&self) -> Option<IoRange>;
}

/// What the access gate of a buffer protects.
///
/// Not `kernel::revocable`: its access runs under the RCU read lock, and
/// `map_dma_buf`, `vmap` and faults sleep while they hold access; and a
/// revoked buffer comes back when memory decoding is turned on again.
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
    io_range: Option<IoRange>,
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

    /// Waits, until `deadline` at most, until importers have unmapped every
    /// mapping and kernel mapping; `false` if some are left.
    ///
    /// A signal does not end the wait: a revoke that gave up early would
    /// let its caller turn memory decoding off under mappings still in use.
    /// With a signal pending, the interruptible wait returns at once, so
    /// the wait polls instead, a millisecond at a time, until the deadline.
    pub(super) fn wait_unmapped(&self, deadline: &Deadline) -> bool {
        loop {
            let mut access = self.access.lock();
            if access.maps + access.vmaps == 0 {
                return true;
            }
            let left = deadline.remaining();
            if left == 0 {
                return false;
            }
            access.waiters += 1;
            let woken = self.unmapped.wait_interruptible_timeout(&mut access, left);
            access.waiters -= 1;
            drop(access);
            if let CondVarTimeoutResult::Signal { .. } = woken {
                fsleep(Delta::from_millis(1));
            }
        }
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

/// A list entry: no reference to the buffer, and no way to its file.
///
/// # Invariants
///
/// `dmabuf` and `dentry`, the dentry of its file, are alive while the entry
/// is on its list and the list's lock is held: the buffer's `release` (the
/// dentry's `d_release`) removes it under that lock first.
struct Entry<T> {
    buffer: Arc<ExportedBuffer<T>>,
    dmabuf: NonNull<bindings::dma_buf>,
    dentry: NonNull<bindings::dentry>,
}

// SAFETY: The pointers are only dereferenced under the list's lock, from any
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
                return Err(super::compat::eopnotsupp());
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
        from_result(|| {
            vma::set_io_pfnmap(vma, &Self::FAULT_OPS, buffer.data.cpu_write_combine())?;
            Ok(0)
        })
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

    /// The buffers not yet released (some may be dying, or have no file
    /// left: see [`Exported`]).
    pub(crate) fn buffers(&self) -> impl Iterator<Item = Exported<'_, T>> {
        self.inner.entries.iter().map(|entry| Exported { entry })
    }

    /// A new reference to a buffer of this list whose data `matches`, taken
    /// from a file of it that the calling task has open (in its fd table),
    /// if there is one.
    ///
    /// The fd table is the one place where a buffer's file is certainly
    /// alive without a reference of ours: its lock keeps every file in it
    /// referenced. `matches` runs under that spinlock: it must not sleep.
    pub(crate) fn find_open<F: Fn(&T) -> bool>(&self, matches: F) -> Option<DmaBuf> {
        // Most lookups find no candidate, and skip the fd table.
        if !self.inner.entries.iter().any(|e| matches(&e.buffer.data)) {
            return None;
        }
        let search = FdSearch {
            entries: &self.inner.entries,
            matches: &matches,
            found: Cell::new(None),
        };
        // SAFETY: `current` is always valid; its fd table (`files`) is
        // changed only by the task itself.
        let files = unsafe { (*Task::current_raw()).files };
        // SAFETY: `files` is the calling task's table, alive while it runs;
        // the callback gets `search`, alive for the call, as `p`.
        unsafe {
            bindings::iterate_fd(
                files,
                0,
                Some(FdSearch::<T, F>::callback),
                core::ptr::from_ref(&search).cast(),
            )
        };
        search.found.into_inner()
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
        // SAFETY: We hold the file's only reference, so it is alive; its
        // dentry is the buffer's for good (it never changes).
        let dentry = unsafe {
            NonNull::new_unchecked((*buf.file().as_ptr()).__bindgen_anon_1.f_path.dentry)
        };
        // INVARIANT: linked under the lock, while we hold a reference; its
        // `release` will unlink it under the same lock. (The push cannot
        // fail after `reserve`; if it did, dropping `buf` would release the
        // buffer, which finds no entry.)
        self.inner
            .entries
            .push_within_capacity(Entry {
                buffer,
                dmabuf,
                dentry,
            })
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
    /// The buffer, with its access gate.
    pub(super) fn buffer(&self) -> &'g Arc<ExportedBuffer<T>> {
        &self.entry.buffer
    }

    /// The dma-buf, alive while the device lock is held; its file may be
    /// gone.
    pub(super) fn object(&self) -> DmaBufObject<'g> {
        // SAFETY: The entry is on its list and we borrow the guard of its
        // lock, so the buffer and its dentry are alive (`Entry`'s
        // invariant).
        unsafe { DmaBufObject::from_raw(self.entry.dmabuf, self.entry.dentry) }
    }
}

impl<T: Exporter> Exported<'_, T> {
    /// The buffer, pinned to outlive the device lock (see [`DmaBufPin`]),
    /// unless its last dentry reference is gone and it is being released.
    pub(super) fn try_pin(&self) -> Option<PinnedExport<T>> {
        let pin = self.object().try_pin()?;
        // INVARIANT: The pin keeps the buffer's dentry, so its `release`,
        // which drops the `BufPriv` holding a reference to this buffer,
        // cannot run while the pin lives.
        Some(PinnedExport {
            pin,
            buffer: NonNull::from(&**self.buffer()),
        })
    }
}

/// A buffer of the list kept alive, without the list's lock, by a pin on
/// its dentry: what a revoke holds between its two passes. It takes no
/// reference to the buffer itself: the pin is enough.
///
/// # Invariants
///
/// `buffer` is the buffer of `pin`'s dma-buf, alive while `pin` is.
pub(crate) struct PinnedExport<T> {
    pin: DmaBufPin,
    buffer: NonNull<ExportedBuffer<T>>,
}

// SAFETY: It hands out `&ExportedBuffer<T>` and its pin, both usable from
// any thread (`T: Send + Sync`, `DmaBufPin: Send + Sync`).
unsafe impl<T: Send + Sync> Send for PinnedExport<T> {}
// SAFETY: See `Send`.
unsafe impl<T: Send + Sync> Sync for PinnedExport<T> {}

impl<T> PinnedExport<T> {
    /// The pin on the buffer's dentry.
    pub(super) fn pin(&self) -> &DmaBufPin {
        &self.pin
    }

    /// The buffer, with its access gate.
    pub(super) fn buffer(&self) -> &ExportedBuffer<T> {
        // SAFETY: Alive while the pin is (type invariant), and `self`
        // borrows the pin.
        unsafe { self.buffer.as_ref() }
    }
}

/// What [`ExportsGuard::find_open`] looks for in the fd table.
struct FdSearch<'a, T, F> {
    entries: &'a KVec<Entry<T>>,
    matches: &'a F,
    found: Cell<Option<DmaBuf>>,
}

impl<T, F: Fn(&T) -> bool> FdSearch<'_, T, F> {
    /// # Safety
    ///
    /// Called by `iterate_fd()` only, with `p` the `FdSearch` it was given
    /// and `file` an open file of the table, whose lock it holds.
    unsafe extern "C" fn callback(
        p: *const c_void,
        file: *mut bindings::file,
        _fd: c_uint,
    ) -> c_int {
        // SAFETY: `p` is our `FdSearch`, alive for the call (caller's
        // guarantee).
        let search = unsafe { &*p.cast::<Self>() };
        // SAFETY: The file is in the fd table, whose lock is held: alive.
        let (dentry, private) =
            unsafe { ((*file).__bindgen_anon_1.f_path.dentry, (*file).private_data) };
        // The files of a buffer's dentry are its own file, whose
        // `private_data` is the buffer, and `O_PATH` files, whose is NULL: a
        // dma-buf's inode cannot be opened again (its `i_fop` refuses).
        let Some(entry) = search.entries.iter().find(|e| {
            e.dentry.as_ptr() == dentry
                && e.dmabuf.as_ptr().cast() == private
                && (search.matches)(&e.buffer.data)
        }) else {
            return 0;
        };
        // SAFETY: `file` is alive (above); `File` is a transparent wrapper.
        let file: ARef<File> = unsafe { File::from_raw_file(file) }.into();
        core::mem::forget(file);
        // SAFETY: `file` is the buffer's file (above), and we own the
        // reference just taken.
        let buf = unsafe { DmaBuf::from_raw(entry.dmabuf) };
        search.found.set(Some(buf));
        1
    }
}
