// SPDX-License-Identifier: GPL-2.0

//! The file operations of a [`NodeFile`], for the nodes that register raw
//! `file_operations` (a `DebugfsNode`, and a `MiscNode` on Linux 7.2): each
//! brings its own `open`; `release`, the ioctls and `show_fdinfo` are
//! these.

use super::node_file::NodeFile;
use core::marker::PhantomData;
use kernel::{
    bindings,
    error::from_result,
    ffi::{
        c_int,
        c_long,
        c_uint,
        c_ulong, //
    },
    prelude::*,
    seq_file::SeqFile,
    types::ForeignOwnable, //
};

/// An `open` of `file_operations`.
pub(crate) type OpenFn = unsafe extern "C" fn(*mut bindings::inode, *mut bindings::file) -> c_int;

/// The file operations of the files of `T`.
pub(crate) struct NodeFileOps<T>(PhantomData<T>);

impl<T: NodeFile> NodeFileOps<T> {
    /// File operations with `open`, owned by this module: the VFS holds the
    /// module for each open file.
    ///
    /// # Safety
    ///
    /// When `open` returns 0, it has stored a `Pin<KBox<T>>` (made by
    /// `into_foreign()`) in the file's `private_data`.
    pub(crate) const unsafe fn with_open(open: OpenFn) -> bindings::file_operations {
        bindings::file_operations {
            owner: super::compat::this_module().as_ptr(),
            open: Some(open),
            release: Some(Self::release),
            unlocked_ioctl: Some(Self::ioctl),
            #[cfg(CONFIG_COMPAT)]
            compat_ioctl: Some(Self::ioctl),
            show_fdinfo: Some(Self::show_fdinfo),
            ..pin_init::zeroed()
        }
    }

    /// # Safety
    ///
    /// Called by the VFS only, as `release` of a file `open` succeeded for.
    unsafe extern "C" fn release(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: `open` stored a `Pin<KBox<T>>` in the private data (the
        // contract of `with_open`); `release` comes once, after every other
        // operation of the file.
        drop(unsafe { <Pin<KBox<T>>>::from_foreign((*file).private_data) });
        0
    }

    /// # Safety
    ///
    /// Called by the VFS only, as `unlocked_ioctl` or `compat_ioctl` of a
    /// file `open` succeeded for.
    unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
        // SAFETY: The private data is the `Pin<KBox<T>>` `open` stored, which
        // `release` drops only after this.
        let this = unsafe { <Pin<KBox<T>>>::borrow((*file).private_data) };
        from_result(|| this.ioctl(cmd, arg))
    }

    /// # Safety
    ///
    /// Called by procfs only, as `show_fdinfo` of a file `open` succeeded
    /// for, with a `seq_file` to write to.
    unsafe extern "C" fn show_fdinfo(m: *mut bindings::seq_file, file: *mut bindings::file) {
        // SAFETY: As in `ioctl`.
        let this = unsafe { <Pin<KBox<T>>>::borrow((*file).private_data) };
        // SAFETY: The `seq_file` is valid and ours to write during the call.
        let m = unsafe { SeqFile::from_raw(m) };
        this.show_fdinfo(m);
    }
}
