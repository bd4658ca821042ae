// SPDX-License-Identifier: GPL-2.0

//! The module's parameters: those of `module!` (in `fencebuf.rs`) and those
//! declared in C, with the checks the udev rule relies on.

use crate::abstractions::{
    compat,
    module_param, //
};
use kernel::{
    prelude::*,
    str::CStr, //
};

/// The `max_pending` parameter.
pub(crate) fn max_pending() -> usize {
    // CAST: `usize` is at least 32 bits wide.
    compat::param_value(&crate::module_parameters::max_pending) as usize
}

/// The `revoke_timeout_ms` parameter.
pub(crate) fn revoke_timeout_ms() -> u32 {
    compat::param_value(&crate::module_parameters::revoke_timeout_ms)
}

/// The `devname` parameter: the name of the timeline device.
///
/// Fails with `EINVAL` when it is empty.
pub(crate) fn devname() -> Result<&'static CStr> {
    let name = charp(c"devname").ok_or(EINVAL)?;
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
    let group = charp(c"dev_group").map_or(&[][..], |g| g.to_bytes());
    if !is_group_name(group) {
        pr_err!(
            "dev_group must be a group name or number ([A-Za-z0-9._-], not starting with '-')\n"
        );
        return Err(EINVAL);
    }
    let mode = charp(c"dev_mode").map_or(&[][..], |m| m.to_bytes());
    if !is_node_mode(mode) {
        pr_err!("dev_mode must be an octal mode of at most 0666 (e.g. 0660)\n");
        return Err(EINVAL);
    }
    Ok(())
}

/// Whether `group` is a POSIX portable group name or number: nothing udev
/// would substitute or split; at most 32 bytes, as useradd allows.
pub(crate) fn is_group_name(group: &[u8]) -> bool {
    !group.is_empty()
        && group.len() <= 32
        && group[0] != b'-'
        && group
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(c))
}

/// Whether `mode` is an octal mode of at most `0666`, in at most 4 digits.
pub(crate) fn is_node_mode(mode: &[u8]) -> bool {
    (1..=4).contains(&mode.len())
        && mode.iter().all(|c| (b'0'..=b'7').contains(c))
        && mode.iter().fold(0u32, |m, c| m * 8 + u32::from(c - b'0')) & !0o666 == 0
}

/// The `debugfs_sw_sync` parameter: whether to provide
/// `<debugfs>/sync/sw_sync` on a kernel that has none.
pub(crate) fn debugfs_sw_sync() -> bool {
    // Declared in C, read-only: always there.
    module_param::bool(compat::this_module(), c"debugfs_sw_sync").unwrap_or(true)
}

/// A `charp` parameter declared in C (`rust/helpers/params.c`).
fn charp(name: &CStr) -> Option<&'static CStr> {
    module_param::charp(compat::this_module(), name)
}
