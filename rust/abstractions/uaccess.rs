// SPDX-License-Identifier: GPL-2.0

//! Reading one word from userspace, as C's `get_user()`.
//!
//! C header: [`include/linux/uaccess.h`](srctree/include/linux/uaccess.h).
//!
//! The `kernel` crate of Linux 7.3 reads userspace through
//! [`kernel::uaccess::UserSliceReader`], a `copy_from_user()` of any size:
//! for one `u32` that is a call to `_copy_from_user()` and a slice's
//! bookkeeping, several times the work of `get_user()`'s single access
//! (`make bench` counts it on the timeline's INC).

use kernel::{
    prelude::*,
    uaccess::UserPtr, //
};

extern "C" {
    fn fencebuf_get_user_u32(val: *mut u32, ptr: *const u32) -> c_int;
}

/// Reads the `u32` at `ptr` in the current task's address space.
///
/// Fails with [`EFAULT`] if `ptr` is not a readable user address.
#[inline]
pub(crate) fn read_u32(ptr: UserPtr) -> Result<u32> {
    let mut val = 0;
    // SAFETY: `val` is valid for writing a `u32`; `get_user()` checks that
    // `ptr` is a user address and faults safely on a bad one.
    match unsafe { fencebuf_get_user_u32(&mut val, ptr.as_const_ptr().cast()) } {
        0 => Ok(val),
        _ => Err(EFAULT),
    }
}
