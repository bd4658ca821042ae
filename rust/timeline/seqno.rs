// SPDX-License-Identifier: GPL-2.0

//! sw_sync's 32-bit sequence numbers, compared in wrap-around order.
//!
//! The ABI's timeline value and fence seqnos are 32 bits; a fence is
//! pending while `(int)(seqno - value) > 0`, exactly as in sw_sync, so values
//! and seqnos wrap around together.

/// How far `seqno` is ahead of `value`, if it is (sw_sync's
/// `(int)(seqno - value) > 0`).
pub(crate) fn ahead(seqno: u32, value: u32) -> Option<u32> {
    let d = seqno.wrapping_sub(value);
    // CAST: `i32::MAX` is positive.
    (d != 0 && d <= i32::MAX as u32).then_some(d)
}

/// Whether a fence of `seqno` is reached at `value`: sw_sync's
/// `!__dma_fence_is_later(seqno, value)`, in 32 bits.
pub(crate) fn is_reached(seqno: u32, value: u32) -> bool {
    ahead(seqno, value).is_none()
}
