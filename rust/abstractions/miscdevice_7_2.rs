// SPDX-License-Identifier: GPL-2.0

//! [`MiscNode`] on Linux 7.2, whose `kernel::miscdevice` sets no `owner` in
//! the file operations it registers: an open node would not pin the module,
//! so `rmmod` would succeed and the open file would call into freed code
//! (7.3 sets it). This registers the misc device with file operations of
//! its own whose `owner` is this module; everything else is as in
//! `miscdevice.rs`, which 7.3 and later use.
//!
//! C header: [`include/linux/miscdevice.h`](srctree/include/linux/miscdevice.h).

use super::{
    node_file::NodeFile,
    node_file_ops::NodeFileOps, //
};
use core::marker::PhantomData;
use kernel::{
    bindings,
    container_of,
    error::to_result,
    ffi::c_int,
    prelude::*,
    str::{
        CStr,
        CString, //
    },
    types::{
        ForeignOwnable,
        Opaque, //
    }, //
};

/// A registered misc device whose files are `T`s.
///
/// # Invariants
///
/// `misc` is registered with `Ops::<T>::VTABLE` from the end of its
/// initialisation until drop; `name`, which it points to, and `data`, which
/// its opens read, are initialised before it and dropped after it.
#[pin_data(PinnedDrop)]
pub(crate) struct MiscNode<T: NodeFile> {
    #[pin]
    misc: Opaque<bindings::miscdevice>,
    name: CString,
    data: T::Data,
}

// SAFETY: `misc_deregister()` may run on any thread; `data` is `Send`.
unsafe impl<T: NodeFile> Send for MiscNode<T> {}
// SAFETY: Nothing is reached through `&self` but `data`, which is `Sync`.
unsafe impl<T: NodeFile> Sync for MiscNode<T> {}

impl<T: NodeFile> MiscNode<T> {
    /// Registers `/dev/<name>`; a `/` in `name` makes a subdirectory.
    pub(crate) fn register(name: CString, data: T::Data) -> impl PinInit<Self, Error> {
        // SAFETY: The string lives on the heap, which does not move when the
        // `CString` does, and is dropped only after `misc` is deregistered.
        let static_name: &'static CStr = unsafe { &*core::ptr::from_ref::<CStr>(&name) };
        // Registering makes the node openable at once, and `open` reads
        // `data`: it goes last.
        try_pin_init!(Self {
            name,
            data,
            misc <- Opaque::try_ffi_init(move |slot: *mut bindings::miscdevice| {
                let mut raw: bindings::miscdevice = pin_init::zeroed();
                // CAST: a small constant.
                raw.minor = bindings::MISC_DYNAMIC_MINOR as c_int;
                raw.name = static_name.as_char_ptr();
                raw.fops = &Ops::<T>::VTABLE;
                // SAFETY: `slot` is ours to write, pinned, and deregistered
                // in drop before it goes.
                unsafe {
                    slot.write(raw);
                    to_result(bindings::misc_register(slot))
                }
            }),
        })
    }
}

#[pinned_drop]
impl<T: NodeFile> PinnedDrop for MiscNode<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: Registered (type invariant), deregistered once, here.
        unsafe { bindings::misc_deregister(self.misc.get()) };
    }
}

/// The file operations of the nodes of `T`.
struct Ops<T>(PhantomData<T>);

impl<T: NodeFile> Ops<T> {
    const VTABLE: bindings::file_operations = {
        // SAFETY: `open` stores a `Pin<KBox<T>>` when it succeeds.
        unsafe { NodeFileOps::<T>::with_open(Self::open) }
    };

    /// # Safety
    ///
    /// Called by `misc_open()` only, which set `private_data` to our
    /// `miscdevice` and holds the misc list lock, so the node is registered
    /// (alive) during the call.
    unsafe extern "C" fn open(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: As above.
        let misc = unsafe { (*file).private_data.cast::<Opaque<bindings::miscdevice>>() };
        // SAFETY: `misc` is the `misc` field of a `MiscNode<T>` (only
        // `register` uses these operations), whose other fields are
        // initialised.
        let node = unsafe { &*container_of!(misc, MiscNode<T>, misc) };
        match T::open(&node.data) {
            Ok(this) => {
                // SAFETY: The file is being opened: its private data is ours.
                unsafe { (*file).private_data = this.into_foreign() };
                0
            }
            Err(e) => e.to_errno(),
        }
    }
}
