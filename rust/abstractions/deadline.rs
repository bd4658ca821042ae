// SPDX-License-Identifier: GPL-2.0

//! A deadline shared by several bounded waits.
//!
//! A revoke waits for every buffer's fences and unmaps; giving each wait the
//! whole timeout would bound a revoke by the number of buffers times the
//! timeout. Each wait gets what is left of one deadline instead.

use kernel::time::{
    msecs_to_jiffies,
    Delta,
    Instant,
    Jiffies,
    Monotonic, //
};

/// A point in time, `timeout` after its creation.
pub(crate) struct Deadline {
    start: Instant<Monotonic>,
    timeout: Delta,
}

impl Deadline {
    /// A deadline `timeout` from now.
    pub(crate) fn after(timeout: Delta) -> Self {
        Self {
            start: Instant::now(),
            timeout,
        }
    }

    /// The time left, in jiffies, rounded up; 0 once the deadline passed.
    pub(crate) fn remaining(&self) -> Jiffies {
        let left = self.timeout - self.start.elapsed();
        if left.is_negative() || left.is_zero() {
            return 0;
        }
        // CAST: at most the timeout, a `u32` of milliseconds when made from
        // one (the only constructor's callers).
        msecs_to_jiffies(super::compat::millis_ceil(left).min(u32::MAX.into()) as u32)
    }
}
