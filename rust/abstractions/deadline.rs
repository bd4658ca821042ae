// SPDX-License-Identifier: GPL-2.0

//! A deadline shared by several bounded waits.
//!
//! A revoke waits for every buffer's fences and unmaps; giving each wait the
//! whole timeout would bound a revoke by the number of buffers times the
//! timeout. Each wait gets what is left of one deadline instead.
//!
//! In jiffies, which the waits take anyway: reading the clock is one load,
//! where `Instant::now()` is a `ktime_get()` per buffer of a revoke.

use kernel::{
    bindings,
    time::{
        msecs_to_jiffies,
        Delta,
        Jiffies, //
    },
};

/// The current time in jiffies.
fn now() -> Jiffies {
    // SAFETY: `jiffies` is a global the timer tick updates; C reads it as a
    // volatile variable, which is what this is.
    unsafe { core::ptr::read_volatile(&raw const bindings::jiffies) }
}

/// A point in time, in jiffies.
pub(crate) struct Deadline {
    end: Jiffies,
}

impl Deadline {
    /// A deadline `timeout` from now, rounded up to whole jiffies.
    pub(crate) fn after(timeout: Delta) -> Self {
        // CAST: a timeout of at most `u32::MAX` milliseconds (the callers
        // pass a `u32` module parameter), and 0 for a negative one.
        let ms = super::compat::millis_ceil(timeout).clamp(0, u32::MAX.into()) as u32;
        Self {
            end: now().wrapping_add(msecs_to_jiffies(ms)),
        }
    }

    /// The time left, in jiffies; 0 once the deadline passed.
    pub(crate) fn remaining(&self) -> Jiffies {
        let left = self.end.wrapping_sub(now());
        // As `time_before()`: a difference over half the range is negative.
        if left == 0 || left > Jiffies::MAX / 2 {
            0
        } else {
            left
        }
    }
}
