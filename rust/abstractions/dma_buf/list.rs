// SPDX-License-Identifier: GPL-2.0

//! A device's list of exported buffers, behind the device lock.
//!
//! The list holds no reference to a buffer and never reaches its file (see
//! the module above): an entry is the buffer's gate, the buffer and its
//! dentry, alive while the entry is on the list and the lock is held.

use super::{
    gate::Buffer,
    object::DmaBufObject,
    ops::DmaBufOps,
    reference::DmaBuf, //
};
use core::{
    cell::Cell,
    ptr::NonNull, //
};
use kernel::{
    bindings,
    ffi::{
        c_uint,
        c_void, //
    },
    fs::File,
    new_mutex,
    prelude::*,
    str::CStr,
    sync::{
        aref::ARef,
        lock::mutex::MutexGuard,
        Arc,
        Mutex, //
    },
    task::Task, //
};

/// A list entry: no reference to the buffer, and no way to its file.
///
/// # Invariants
///
/// `dmabuf`, `dentry`, the dentry of its file, and `buffer`, its gate in
/// its `priv`, are alive while the entry is on its list and the list's lock
/// is held: the buffer's `release` (the dentry's `d_release`) removes it
/// under that lock first.
struct Entry<T> {
    buffer: NonNull<Buffer<T>>,
    dmabuf: NonNull<bindings::dma_buf>,
    dentry: NonNull<bindings::dentry>,
}

// SAFETY: The pointers are only dereferenced under the list's lock, from any
// thread; `T` is `Send + Sync`.
unsafe impl<T: Send + Sync> Send for Entry<T> {}

impl<T> Entry<T> {
    /// The buffer's gate, alive while the list's lock is held (borrowed for
    /// as long as the entry is).
    fn buffer(&self) -> &Buffer<T> {
        // SAFETY: The entry is borrowed from the list under its lock (every
        // borrow of an entry comes through the lock's guard), so the buffer
        // is alive (type invariant).
        unsafe { self.buffer.as_ref() }
    }
}

/// The state behind a device's lock: the driver's state and the buffers.
struct ListInner<T, S> {
    state: S,
    /// Whether the device's buffers are revoked: those exported now are
    /// born revoked.
    revoked: bool,
    entries: KVec<Entry<T>>,
}

/// The buffers a device exported, the device lock, and the transition lock
/// that serialises revoke and restore.
#[pin_data]
pub(crate) struct BufferList<T, S> {
    module: &'static ThisModule,
    name: &'static CStr,
    /// Serialises revoke and restore (`revoke`); the only lock of ours held
    /// while a revoke zaps CPU mappings (and so runs MMU notifiers).
    #[pin]
    pub(super) transition: Mutex<()>,
    #[pin]
    inner: Mutex<ListInner<T, S>>,
}

impl<T: DmaBufOps, S: Send + Unpin + 'static> BufferList<T, S> {
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
                transition <- new_mutex!((), "BufferList::transition"),
                inner <- new_mutex!(ListInner {
                    state,
                    revoked,
                    entries: KVec::new(),
                }, "BufferList::inner"),
            }),
            GFP_KERNEL,
        )
    }

    /// Takes the device lock.
    pub(crate) fn lock<'a>(self: &'a Arc<Self>) -> BufferListGuard<'a, T, S> {
        BufferListGuard {
            list: self,
            inner: self.inner.lock(),
        }
    }

    /// Unlinks `dmabuf`, whose `release` runs, under the device lock.
    pub(super) fn unlink(&self, dmabuf: *mut bindings::dma_buf) {
        let mut inner = self.inner.lock();
        if let Some(i) = inner
            .entries
            .iter()
            .position(|e| e.dmabuf.as_ptr() == dmabuf)
        {
            // INVARIANT: unlinked under the lock, before the buffer is freed.
            drop(inner.entries.remove(i));
        }
    }
}

/// The device lock of a [`BufferList`], held.
pub(crate) struct BufferListGuard<'a, T, S> {
    list: &'a Arc<BufferList<T, S>>,
    inner: MutexGuard<'a, ListInner<T, S>>,
}

impl<'a, T: DmaBufOps, S: Send + Unpin + 'static> BufferListGuard<'a, T, S> {
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
    /// left: see [`ListedBuffer`]).
    pub(super) fn buffers(&self) -> impl Iterator<Item = ListedBuffer<'_, T>> {
        self.inner
            .entries
            .iter()
            .map(|entry| ListedBuffer { entry })
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
        if !self
            .inner
            .entries
            .iter()
            .any(|e| matches(e.buffer().data()))
        {
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

    /// Whether buffers exported now are born revoked.
    pub(super) fn born_revoked(&self) -> bool {
        self.inner.revoked
    }

    /// The list's name and module, for a new buffer's export info.
    pub(super) fn owner(&self) -> (&'static CStr, &'static ThisModule) {
        (self.list.name, self.list.module)
    }

    /// The list itself, for a new buffer's `priv`.
    pub(super) fn list(&self) -> &Arc<BufferList<T, S>> {
        self.list
    }

    /// Room for one more entry: [`Self::link`] cannot fail after it.
    pub(super) fn reserve(&mut self) -> Result {
        Ok(self.inner.entries.reserve(1, GFP_KERNEL)?)
    }

    /// Links a new buffer, after [`Self::reserve`].
    ///
    /// # Safety
    ///
    /// `dmabuf` is a live buffer whose `release` will call
    /// [`BufferList::unlink`] on this list before it frees `buffer`, its
    /// gate; `dentry` is the dentry of its file.
    pub(super) unsafe fn link(
        &mut self,
        buffer: NonNull<Buffer<T>>,
        dmabuf: NonNull<bindings::dma_buf>,
        dentry: NonNull<bindings::dentry>,
    ) -> Result {
        // INVARIANT: linked under the lock, alive (the caller's guarantee);
        // its `release` will unlink it under the same lock.
        self.inner
            .entries
            .push_within_capacity(Entry {
                buffer,
                dmabuf,
                dentry,
            })
            .map_err(|_| ENOMEM)
    }
}

/// An entry of the list, seen with the device lock held.
pub(super) struct ListedBuffer<'g, T> {
    entry: &'g Entry<T>,
}

impl<'g, T> ListedBuffer<'g, T> {
    /// The buffer, with its access gate.
    pub(super) fn buffer(&self) -> &'g Buffer<T> {
        self.entry.buffer()
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

/// What [`BufferListGuard::find_open`] looks for in the fd table.
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
                && (search.matches)(e.buffer().data())
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
