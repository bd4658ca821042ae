// SPDX-License-Identifier: GPL-2.0

//! The userptr ioctls on a kernel without `CONFIG_MMU_NOTIFIER`: nothing can
//! mirror user memory there, so creating a range fails with `EOPNOTSUPP`
//! and there is never one to use (the other ioctls fail with `EINVAL`).

use crate::uapi::{
    FbimpUserptr,
    FbimpUserptrStatus, //
};
use kernel::prelude::*;

/// A mirrored range: none can exist.
pub(crate) enum Userptr {}

/// Always `EOPNOTSUPP`.
pub(crate) fn create(_req: &FbimpUserptr) -> Result<Userptr> {
    Err(crate::abstractions::compat::eopnotsupp())
}

pub(crate) fn populate(range: &Userptr) -> Result<usize> {
    match *range {}
}

pub(crate) fn hold(range: &Userptr, _fd: i32) -> Result {
    match *range {}
}

pub(crate) fn status(range: &Userptr) -> FbimpUserptrStatus {
    match *range {}
}
