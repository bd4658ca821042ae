// SPDX-License-Identifier: GPL-2.0

//! fencebuf's own fault injection points, declared in C
//! (`rust/helpers/fault_inject.c`): failures that tests cannot cause
//! otherwise, made on demand through `<debugfs>/fencebuf/`.
//!
//! C header: [`include/linux/fault-inject.h`](srctree/include/linux/fault-inject.h).
//!
//! Without `CONFIG_FAULT_INJECTION_DEBUG_FS` no point ever fails.

use kernel::sync::atomic::{
    AtomicFlag,
    Full,
    Release, //
};

extern "C" {
    fn fencebuf_fault_inject_init();
    fn fencebuf_fault_inject_exit();
    fn fencebuf_should_fail_config_write() -> bool;
}

/// Whether a [`FaultPoints`] exists: the C side has one set of files.
static EXISTS: AtomicFlag = AtomicFlag::new(false);

/// The points' debugfs files, from creation until drop.
///
/// # Invariants
///
/// At most one exists at a time.
pub(crate) struct FaultPoints(());

impl FaultPoints {
    /// Creates the debugfs files; `None` if they exist already. Where
    /// debugfs fails, the points are absent, which is not an error.
    pub(crate) fn new() -> Option<Self> {
        if EXISTS.xchg(true, Full) {
            return None;
        }
        // SAFETY: No other `FaultPoints` exists, so the files do not.
        unsafe { fencebuf_fault_inject_init() };
        // INVARIANT: `EXISTS` was false and is now true.
        Some(Self(()))
    }
}

impl Drop for FaultPoints {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, the files are this one's.
        unsafe { fencebuf_fault_inject_exit() };
        EXISTS.store(false, Release);
    }
}

/// Whether this write of a PCI device's command register fails
/// (`fail_config_write`).
pub(crate) fn config_write_fails() -> bool {
    // SAFETY: Reads and updates the point's counters only; callable from
    // any context, with or without the debugfs files.
    unsafe { fencebuf_should_fail_config_write() }
}
