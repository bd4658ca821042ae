// SPDX-License-Identifier: GPL-2.0

//! Module parameters declared in C (`rust/helpers/params.c`).
//!
//! Linux 7.3's `module!` macro has no string parameter type, and the
//! parameters it declares do not show in sysfs; these are declared with
//! `module_param(..., 0444)` in C and read here.

use kernel::{ffi::c_char, prelude::*, str::CStr};

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

/// The `devname` module parameter: the name of the timeline device.
///
/// Fails with `EINVAL` when it is empty.
pub(crate) fn devname() -> Result<&'static CStr> {
    // SAFETY: `fencebuf_param_devname` reads `devname`, a 0444 `charp`.
    let name = unsafe { read(fencebuf_param_devname) }.ok_or(EINVAL)?;
    if name.is_empty() {
        return Err(EINVAL);
    }
    Ok(name)
}

/// Checks the `dev_group` and `dev_mode` parameters, which the udev rule
/// copies into its `GROUP=` and `MODE=`: a group name or number of portable
/// characters, and an octal mode of at most `0666`.
///
/// Fails with `EINVAL` naming the bad one.
pub(crate) fn check_node_access() -> Result {
    // SAFETY: Both accessors read a 0444 `charp` parameter of this module.
    let (group, mode) = unsafe {
        (
            read(fencebuf_param_dev_group),
            read(fencebuf_param_dev_mode),
        )
    };
    let group = group.map_or(&[][..], |g| g.to_bytes());
    // POSIX portable names: nothing udev would substitute or split.
    let group_ok = !group.is_empty()
        && group.len() <= 32
        && group[0] != b'-'
        && group
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(c));
    if !group_ok {
        pr_err!(
            "dev_group must be a group name or number ([A-Za-z0-9._-], not starting with '-')\n"
        );
        return Err(EINVAL);
    }
    let mode = mode.map_or(&[][..], |m| m.to_bytes());
    let mode_ok = (1..=4).contains(&mode.len())
        && mode.iter().all(|c| (b'0'..=b'7').contains(c))
        && mode.iter().fold(0u32, |m, c| m * 8 + u32::from(c - b'0')) & !0o666 == 0;
    if !mode_ok {
        pr_err!("dev_mode must be an octal mode of at most 0666 (e.g. 0660)\n");
        return Err(EINVAL);
    }
    Ok(())
}

/// The `debugfs_sw_sync` module parameter: whether to provide
/// `<debugfs>/sync/sw_sync` on a kernel that has none.
pub(crate) fn debugfs_sw_sync() -> bool {
    // SAFETY: The accessor takes no arguments and only reads `debugfs_sw_sync`,
    // a 0444 `bool` parameter of this module, which nothing writes after load.
    unsafe { fencebuf_param_debugfs_sw_sync() }
}
