// SPDX-License-Identifier: GPL-2.0

//! Module parameters declared in C (`rust/helpers/params.c`), read.
//!
//! Linux 7.3's `module!` macro has no string parameter type, and the
//! parameters it declares do not show in sysfs; these are declared with
//! `module_param(..., 0444)` in C and read here.

use kernel::{
    ffi::c_char,
    prelude::*,
    str::CStr, //
};

extern "C" {
    fn fencebuf_param_devname() -> *const c_char;
    fn fencebuf_param_dev_group() -> *const c_char;
    fn fencebuf_param_dev_mode() -> *const c_char;
    fn fencebuf_param_debugfs_sw_sync() -> bool;
}

/// Reads a `charp` parameter; `None` when unset (NULL).
///
/// # Safety
///
/// `get` returns a read-only (perm 0444) `charp` parameter of this module.
unsafe fn read(get: unsafe extern "C" fn() -> *const c_char) -> Option<&'static CStr> {
    // SAFETY: The accessor takes no arguments and only reads a pointer
    // variable of this module.
    let ptr = unsafe { get() };
    if ptr.is_null() {
        return None;
    }
    // SAFETY: A non-null `charp` parameter points to a NUL-terminated string.
    // The parameter is read-only, so the string is never replaced or freed
    // while the module is loaded; nothing in this module uses it after
    // unload, so `'static` (the module's lifetime) is accurate.
    Some(unsafe { CStr::from_char_ptr(ptr) })
}

/// The `devname` parameter: the name of the timeline device.
pub(crate) fn devname() -> Option<&'static CStr> {
    // SAFETY: `fencebuf_param_devname` reads `devname`, a 0444 `charp`.
    unsafe { read(fencebuf_param_devname) }
}

/// The `dev_group` parameter: the group the udev rule gives the nodes.
pub(crate) fn dev_group() -> Option<&'static CStr> {
    // SAFETY: `fencebuf_param_dev_group` reads `dev_group`, a 0444 `charp`.
    unsafe { read(fencebuf_param_dev_group) }
}

/// The `dev_mode` parameter: the mode the udev rule gives the nodes.
pub(crate) fn dev_mode() -> Option<&'static CStr> {
    // SAFETY: `fencebuf_param_dev_mode` reads `dev_mode`, a 0444 `charp`.
    unsafe { read(fencebuf_param_dev_mode) }
}

/// The `debugfs_sw_sync` parameter.
pub(crate) fn debugfs_sw_sync() -> bool {
    // SAFETY: The accessor takes no arguments and only reads `debugfs_sw_sync`,
    // a 0444 `bool` parameter of this module, which nothing writes after load.
    unsafe { fencebuf_param_debugfs_sw_sync() }
}
