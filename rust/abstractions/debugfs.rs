// SPDX-License-Identifier: GPL-2.0

//! A debugfs file whose opens are [`NodeFile`]s, as a [`MiscNode`]'s are:
//! `<debugfs>/sync/sw_sync`, where sw_sync clients look for the timeline
//! device.
//!
//! C header: [`include/linux/debugfs.h`](srctree/include/linux/debugfs.h).
//!
//! `kernel::debugfs` only makes typed read and write files; this makes a file
//! with the raw file operations of a [`NodeFile`]. It is created with
//! `debugfs_create_file_unsafe()`, as the C sw_sync's is, and not behind
//! debugfs' full proxy (`debugfs_create_file_full()`), which forwards neither
//! `compat_ioctl` nor `show_fdinfo` and checks for removal in every ioctl.
//! debugfs' lifetime rules (`fs/debugfs/file.c`) make that sound:
//!
//! - debugfs' open proxy calls `open` between `debugfs_file_get()` and
//!   `debugfs_file_put()`: `debugfs_remove()` waits for opens in progress,
//!   and later opens fail with `ENOENT` before they reach `open`. So `open`
//!   may use the data behind `i_private` if that outlives the removal.
//! - Before `open`, the proxy takes a reference to the module owning the
//!   operations (`fops_get()`) and makes them the file's own
//!   (`replace_fops()`); the file puts it after `release`. So this module,
//!   with the operations, stays while the file is open (`rmmod` is refused
//!   meanwhile, as for a misc device).
//! - From then on the VFS calls the operations directly, also after the
//!   debugfs file is removed; they use only the file's own `T`, its
//!   `private_data`, never `i_private`. `release` is always called, once.
//!
//! [`MiscNode`]: super::miscdevice::MiscNode

use super::{
    node_file::NodeFile,
    node_file_ops::NodeFileOps, //
};
use core::{
    marker::PhantomData,
    ptr::NonNull, //
};
use kernel::{
    bindings,
    error::from_err_ptr,
    ffi::{
        c_int,
        c_void, //
    },
    prelude::*,
    str::CStr,
    types::ForeignOwnable, //
};

#[cfg(CONFIG_DEBUG_FS)]
use bindings::{
    debugfs_create_dir,
    debugfs_create_file_unsafe,
    debugfs_lookup,
    debugfs_remove, //
};
#[cfg(not(CONFIG_DEBUG_FS))]
use stubs::{
    debugfs_create_dir,
    debugfs_create_file_unsafe,
    debugfs_lookup,
    debugfs_remove, //
};

// The dentries are typed `void *`: bindgen's `struct dentry` is not FFI-safe
// (it reaches structs that some configurations leave empty, `struct
// lock_class_key` without lockdep), which `improper_ctypes` rejects.
extern "C" {
    fn fencebuf_dget(dentry: *mut c_void);
    fn fencebuf_d_is_dir(dentry: *const c_void) -> bool;
}

/// `<debugfs>/<dir>/<name>`, whose opens are `T`s made from shared data.
///
/// # Invariants
///
/// - `file` is a debugfs file made by `debugfs_create_file_unsafe()` with
///   [`FileOps<T>`] as its operations and `_data` as its `i_private`.
/// - `dir`, if any, is the file's parent directory, made with it.
/// - Both are removed in `drop`, before `_data` is dropped.
pub(crate) struct DebugfsNode<T: NodeFile> {
    file: Dentry,
    dir: Option<Dentry>,
    _data: KBox<T::Data>,
}

impl<T: NodeFile> DebugfsNode<T> {
    /// Creates `<debugfs>/<dir>/<name>` with permissions `mode`, and the
    /// directory if there is none; each open of the file is a
    /// `T::open(&data)`.
    ///
    /// Changes nothing and fails with `EEXIST` when the file exists (or
    /// `ENOTDIR` when `dir` is not a directory); fails with debugfs' error
    /// when it is not available: `ENODEV` without `CONFIG_DEBUG_FS`, `EPERM`
    /// when disabled (`debugfs=off`).
    pub(crate) fn create(dir: &CStr, name: &CStr, mode: u16, data: T::Data) -> Result<Self> {
        let data = KBox::new(data, GFP_KERNEL)?;
        let (parent, parent_is_ours) = match Dentry::lookup(dir, None) {
            Some(parent) if parent.is_dir() => {
                if Dentry::lookup(name, Some(&parent)).is_some() {
                    return Err(EEXIST);
                }
                (parent, false)
            }
            Some(_) => return Err(ENOTDIR),
            None => {
                // SAFETY: `dir` is a C string; a NULL parent is the root.
                let raw = unsafe { debugfs_create_dir(dir.as_char_ptr(), core::ptr::null_mut()) };
                // SAFETY: A new entry, of ours.
                (unsafe { Dentry::created(raw) }?, true)
            }
        };
        // SAFETY: `name` is a C string, `parent` a directory we hold. `data`,
        // the file's `i_private`, is what `FileOps<T>::open` expects there,
        // and (type invariant) outlives the file's removal. The operations
        // are static.
        let raw = unsafe {
            debugfs_create_file_unsafe(
                name.as_char_ptr(),
                mode,
                parent.as_ptr(),
                core::ptr::from_ref::<T::Data>(&*data).cast_mut().cast(),
                &FileOps::<T>::VTABLE,
            )
        };
        // SAFETY: A new entry, of ours.
        match unsafe { Dentry::created(raw) } {
            // INVARIANT: Made as described, with `parent`; removed in `drop`.
            Ok(file) => Ok(Self {
                file,
                dir: parent_is_ours.then_some(parent),
                _data: data,
            }),
            Err(e) => {
                if parent_is_ours {
                    parent.remove();
                }
                Err(e)
            }
        }
    }
}

impl<T: NodeFile> Drop for DebugfsNode<T> {
    fn drop(&mut self) {
        // Waits for opens in progress, and fails those after it; files
        // already open stay, and keep the module (see the module's doc).
        self.file.remove();
        if let Some(dir) = &self.dir {
            dir.remove();
        }
        // `_data` goes after this, as the type invariant says.
    }
}

/// A reference to a debugfs dentry, put when dropped.
///
/// The node holds references to the entries it made, so that they stay valid
/// even when something else removes them (the owner of a parent directory
/// that is not ours, removing it with everything in it).
///
/// # Invariants
///
/// `self.0` is a debugfs dentry of which this owns a reference.
struct Dentry(NonNull<bindings::dentry>);

// SAFETY: A dentry reference may be put on any thread.
unsafe impl Send for Dentry {}

// SAFETY: The methods taking `&self` call C functions that may run
// concurrently on any thread.
unsafe impl Sync for Dentry {}

impl Dentry {
    /// The existing debugfs entry `name` in directory `parent` (the root when
    /// `None`); `None` when there is none or `parent` is not a directory.
    fn lookup(name: &CStr, parent: Option<&Dentry>) -> Option<Self> {
        let parent = match parent {
            Some(parent) if !parent.is_dir() => return None,
            Some(parent) => parent.as_ptr(),
            None => core::ptr::null_mut(),
        };
        // SAFETY: `name` is a C string; `parent` is NULL (the root) or a
        // directory we hold a reference to.
        let found = unsafe { debugfs_lookup(name.as_char_ptr(), parent) };
        // INVARIANT: What it returns, unless NULL (not found, or debugfs not
        // initialised) or an error (no `CONFIG_DEBUG_FS`), is a positive
        // dentry referenced for the caller.
        from_err_ptr(found).ok().and_then(NonNull::new).map(Self)
    }

    /// Takes a reference to an entry `debugfs_create_*()` returned, or
    /// returns its error.
    ///
    /// # Safety
    ///
    /// `raw` was returned just now by a `debugfs_create_*()` call of the
    /// caller's, whose entry is removed only by the caller, or with its
    /// parent by the parent's owner but not during this call.
    unsafe fn created(raw: *mut bindings::dentry) -> Result<Self> {
        let new = NonNull::new(from_err_ptr(raw)?).ok_or(ENOMEM)?;
        // SAFETY: The entry is alive: it was just made and is not being
        // removed (the caller's guarantee), and debugfs holds it until then.
        unsafe { fencebuf_dget(new.as_ptr().cast()) };
        // INVARIANT: The reference just taken.
        Ok(Self(new))
    }

    fn as_ptr(&self) -> *mut bindings::dentry {
        self.0.as_ptr()
    }

    fn is_dir(&self) -> bool {
        // SAFETY: A referenced dentry (type invariant); the type of a
        // positive one (debugfs' are) does not change.
        unsafe { fencebuf_d_is_dir(self.as_ptr().cast_const().cast()) }
    }

    /// Removes the entry (recursively, for a directory). Only for entries
    /// the caller made.
    fn remove(&self) {
        // SAFETY: The dentry is valid as long as we hold it (type invariant).
        // Removing an entry already removed (with its parent) does nothing:
        // it is unhashed, which `simple_recursive_removal()` skips.
        unsafe { debugfs_remove(self.as_ptr()) };
    }
}

impl Drop for Dentry {
    fn drop(&mut self) {
        // SAFETY: We own a reference (type invariant), put here once.
        unsafe { bindings::dput(self.as_ptr()) };
    }
}

/// The file operations of a [`DebugfsNode<T>`]'s file.
struct FileOps<T>(PhantomData<T>);

impl<T: NodeFile> FileOps<T> {
    /// # Safety
    ///
    /// Called by debugfs' open proxy only, as `open` of a file of a
    /// `DebugfsNode<T>`, between `debugfs_file_get()` and
    /// `debugfs_file_put()`.
    unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: `i_private` is the node's `_data` (type invariant), alive:
        // removing the file, which comes before `_data` is dropped, waits for
        // the proxy's `debugfs_file_put()` after this.
        let data = unsafe { &*(*inode).i_private.cast::<T::Data>() };
        match T::open(data) {
            Ok(this) => {
                // SAFETY: The open call of a file owns its private data; the
                // other operations use it as the `Pin<KBox<T>>` it is.
                unsafe { (*file).private_data = this.into_foreign() };
                0
            }
            Err(e) => e.to_errno(),
        }
    }

    /// The operations; `owner` is this module, which debugfs' open proxy
    /// holds for each open file.
    const VTABLE: bindings::file_operations = {
        // SAFETY: `open` stores a `Pin<KBox<T>>` when it succeeds.
        unsafe { NodeFileOps::<T>::with_open(Self::open) }
    };
}

/// What `include/linux/debugfs.h` makes of the functions without
/// `CONFIG_DEBUG_FS`: static inline stubs, which bindgen does not see.
#[cfg(not(CONFIG_DEBUG_FS))]
mod stubs {
    use kernel::{
        bindings,
        ffi::c_char,
        ffi::c_void,
        prelude::*, //
    };

    /// # Safety
    ///
    /// None: a stub.
    pub(super) unsafe fn debugfs_lookup(
        _name: *const c_char,
        _parent: *mut bindings::dentry,
    ) -> *mut bindings::dentry {
        ENODEV.to_ptr()
    }

    /// # Safety
    ///
    /// None: a stub.
    pub(super) unsafe fn debugfs_create_dir(
        _name: *const c_char,
        _parent: *mut bindings::dentry,
    ) -> *mut bindings::dentry {
        ENODEV.to_ptr()
    }

    /// # Safety
    ///
    /// None: a stub.
    pub(super) unsafe fn debugfs_create_file_unsafe(
        _name: *const c_char,
        _mode: u16,
        _parent: *mut bindings::dentry,
        _data: *mut c_void,
        _fops: *const bindings::file_operations,
    ) -> *mut bindings::dentry {
        ENODEV.to_ptr()
    }

    /// # Safety
    ///
    /// None: a stub.
    pub(super) unsafe fn debugfs_remove(_dentry: *mut bindings::dentry) {}
}
