// SPDX-License-Identifier: GPL-2.0

//! What the `kernel` crate of Linux 7.3 does not say about the current task.

use kernel::bindings;

/// `TASK_COMM_LEN`: the size of a task's command name, NUL included.
// CAST: a small array length.
pub(crate) const COMM_LEN: usize = bindings::TASK_COMM_LEN as usize;

extern "C" {
    fn fencebuf_current_comm(buf: *mut u8);
}

/// The current task's command name, NUL-padded (always NUL-terminated).
pub(crate) fn current_comm() -> [u8; COMM_LEN] {
    let mut buf = [0u8; COMM_LEN];
    // SAFETY: `buf` has room for `TASK_COMM_LEN` bytes.
    unsafe { fencebuf_current_comm(buf.as_mut_ptr()) };
    buf
}
