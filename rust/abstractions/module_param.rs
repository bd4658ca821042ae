// SPDX-License-Identifier: GPL-2.0

//! Module parameters declared in C (`module_param()`), read by name.
//!
//! C header: [`include/linux/moduleparam.h`](srctree/include/linux/moduleparam.h).
//!
//! Linux 7.3's `module!` macro has no string parameter type, and the
//! parameters it declares do not show in sysfs. A module declares those in
//! C with `module_param()`, and reads them here from the table the module
//! loader keeps of them (`struct module`'s `kp`), by name and type: no C
//! accessor per parameter.
//!
//! Only read-only parameters (no write bit in their sysfs mode) are read:
//! nothing changes or frees their values while the module is loaded, so a
//! string is `'static` for the module.

use core::ptr;
use kernel::{
    bindings,
    ffi::c_char,
    prelude::*,
    str::CStr,
    ThisModule, //
};

/// The read-only parameter `name` of `module`, if it has one of type `ops`.
fn find(
    module: &'static ThisModule,
    name: &CStr,
    ops: &'static bindings::kernel_param_ops,
) -> Option<&'static bindings::kernel_param> {
    // SAFETY: `module` is a loaded module, which outlives `'static` as this
    // module sees it; the loader set `kp` and `num_kp` before its init ran
    // and never changes them.
    let module = unsafe { &*module.as_ptr() };
    if module.kp.is_null() {
        return None;
    }
    // CAST: a count of parameters fits in `usize`.
    // SAFETY: `kp` points to the module's `num_kp` parameters (above).
    let params = unsafe { core::slice::from_raw_parts(module.kp, module.num_kp as usize) };
    params.iter().find(|kp| {
        // SAFETY: Every parameter has a NUL-terminated name, in the module.
        let kp_name = unsafe { CStr::from_char_ptr(kp.name) };
        kp_name == name && ptr::eq(kp.ops, ops) && kp.perm & 0o222 == 0
    })
}

/// The read-only `charp` parameter `name` of `module`; `None` if it has no
/// such parameter, or if it is NULL.
pub(crate) fn charp(module: &'static ThisModule, name: &CStr) -> Option<&'static CStr> {
    // SAFETY: Only read: `param_ops_charp` is the kernel's, set at boot.
    let kp = find(module, name, unsafe { &bindings::param_ops_charp })?;
    // SAFETY: A `charp` parameter's `arg` points to its `char *` variable,
    // in the module; read-only (`find`), so written only by the loader.
    let value = unsafe { *kp.__bindgen_anon_1.arg.cast::<*const c_char>() };
    if value.is_null() {
        return None;
    }
    // SAFETY: A non-null `charp` points to a NUL-terminated string, which
    // nothing replaces or frees while the module is loaded (read-only).
    Some(unsafe { CStr::from_char_ptr(value) })
}

/// The read-only `bool` parameter `name` of `module`, if it has one.
pub(crate) fn bool(module: &'static ThisModule, name: &CStr) -> Option<bool> {
    // SAFETY: Only read: `param_ops_bool` is the kernel's, set at boot.
    let kp = find(module, name, unsafe { &bindings::param_ops_bool })?;
    // SAFETY: A `bool` parameter's `arg` points to its `bool` variable, in
    // the module; read-only (`find`), so written only by the loader.
    Some(unsafe { *kp.__bindgen_anon_1.arg.cast::<bool>() })
}
