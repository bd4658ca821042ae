// SPDX-License-Identifier: GPL-2.0

//! String module parameters declared in C (`rust/helpers/params.c`).
//!
//! Linux 7.3's `module!` macro has no string parameter type; the parameters
//! are declared with `module_param(..., charp, 0444)` in C and read here.

use kernel::{prelude::*, str::CStr};

extern "C" {
    fn fencebuf_param_devname() -> *const kernel::ffi::c_char;
}

/// The `devname` module parameter: the name of the timeline device.
///
/// Fails with `EINVAL` when it is empty.
pub(crate) fn devname() -> Result<&'static CStr> {
    // SAFETY: `fencebuf_param_devname` takes no arguments and only reads a
    // pointer variable of this module.
    let ptr = unsafe { fencebuf_param_devname() };
    if ptr.is_null() {
        return Err(EINVAL);
    }
    // SAFETY: A non-null `charp` parameter points to a NUL-terminated string.
    // The parameter is read-only (perm 0444), so the string is never replaced
    // or freed while the module is loaded; nothing in this module uses it
    // after unload, so `'static` (the module's lifetime) is accurate.
    let name = unsafe { CStr::from_char_ptr(ptr) };
    if name.is_empty() {
        return Err(EINVAL);
    }
    Ok(name)
}
