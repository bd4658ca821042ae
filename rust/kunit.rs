// SPDX-License-Identifier: GPL-2.0

//! fencebuf's KUnit tests: the pure logic, checked inside the kernel.
//!
//! Compiled only into the project's own builds (`fencebuf_kunit`, set by
//! the Makefile for the pinned kernels) of a kernel with `CONFIG_KUNIT=y`:
//! the debug kernel, which runs no test at load (`kunit.autorun` off), and
//! where `make check`'s `kunit` suite runs them through
//! `<debugfs>/kunit/fencebuf/run` and reports each case. A distribution's
//! kernel never gets them, so no user's load runs or taints anything. They live here, at
//! the crate root, because the KUnit macro generates `unsafe` code, which
//! the driver modules forbid.

#[kernel::macros::kunit_tests(fencebuf)]
mod tests {
    use crate::{
        abstractions::{
            dma_fence::{
                FenceContext,
                FenceData,
                FenceSignaller,
                PendingFences,
                Refused, //
            },
            pci::{
                check_pages,
                range_within, //
            },
        },
        params::{
            is_group_name,
            is_node_mode, //
        },
        timeline::seqno,
    };
    use kernel::{
        page::PAGE_SIZE,
        prelude::*,
        str::CStr,
        sync::aref::ARef, //
    };

    /// sw_sync's rule: a fence is pending while `(s32)(seqno - value) > 0`.
    #[test]
    fn seqno_ahead_wraps_around() {
        assert_eq!(seqno::ahead(5, 3), Some(2));
        assert_eq!(seqno::ahead(3, 3), None);
        assert_eq!(seqno::ahead(2, 3), None);
        // Across the wrap: 1 is 3 ahead of u32::MAX - 1.
        assert_eq!(seqno::ahead(1, u32::MAX - 1), Some(3));
        // Half the range ahead is the furthest a fence can be pending.
        assert_eq!(seqno::ahead(i32::MAX as u32, 0), Some(i32::MAX as u32));
        assert_eq!(seqno::ahead(i32::MAX as u32 + 1, 0), None);
    }

    #[test]
    fn seqno_reached() {
        assert!(seqno::is_reached(3, 3));
        assert!(seqno::is_reached(2, 3));
        assert!(!seqno::is_reached(4, 3));
        assert!(seqno::is_reached(u32::MAX, 0));
        assert!(!seqno::is_reached(0, u32::MAX));
    }

    /// The BAR bounds of an EXPORT range.
    #[test]
    fn range_within_bar() {
        assert_eq!(range_within(0x10000, 0, 0x10000), Ok(0x10000));
        assert_eq!(range_within(0x10000, 0xf000, 0x1000), Ok(0x1000));
        assert_eq!(range_within(0x10000, 0xf000, 0x2000), Err(EINVAL));
        assert_eq!(range_within(0x10000, 0x10000, 0x1000), Err(EINVAL));
        assert_eq!(range_within(0x10000, 0, 0), Err(EINVAL));
        assert_eq!(range_within(0x10000, u64::MAX, 2), Err(EOVERFLOW));
    }

    /// Whole pages only, as VFIO's `validate_dmabuf_input`.
    #[test]
    fn range_pages() {
        let page = PAGE_SIZE as u64;
        assert_eq!(check_pages(0, page), Ok(()));
        assert_eq!(check_pages(3 * page, 2 * page), Ok(()));
        assert_eq!(check_pages(0, 0), Err(EINVAL));
        assert_eq!(check_pages(1, page), Err(EINVAL));
        assert_eq!(check_pages(0, page + 1), Err(EINVAL));
    }

    /// What the udev rule may be given as `GROUP=`.
    #[test]
    fn node_group() {
        assert!(is_group_name(b"video"));
        assert!(is_group_name(b"render_1.x-y"));
        assert!(is_group_name(b"44"));
        assert!(!is_group_name(b""));
        assert!(!is_group_name(b"-video"));
        assert!(!is_group_name(b"vid eo"));
        assert!(!is_group_name(b"video\""));
        assert!(!is_group_name(b"$env{X}"));
        assert!(is_group_name(&[b'a'; 32]));
        assert!(!is_group_name(&[b'a'; 33]));
    }

    /// What the udev rule may be given as `MODE=`.
    #[test]
    fn node_mode() {
        assert!(is_node_mode(b"0660"));
        assert!(is_node_mode(b"666"));
        assert!(is_node_mode(b"0"));
        assert!(!is_node_mode(b"0667"));
        assert!(!is_node_mode(b"4660"));
        assert!(!is_node_mode(b"0680"));
        assert!(!is_node_mode(b""));
        assert!(!is_node_mode(b"00660"));
    }

    struct TestData;

    impl FenceData for TestData {
        const DRIVER_NAME: &'static CStr = c"fencebuf_kunit";

        fn timeline_name(&self) -> &CStr {
            c"kunit"
        }

        fn is_reached(_seqno: u64, _reached: u32) -> bool {
            false
        }
    }

    /// The pending set signals its fences in key order, whatever the order
    /// they came in, the rest when it goes, and refuses a key twice and a
    /// fence of another context.
    #[test]
    fn pending_set_order() -> Result {
        let ctx = FenceContext::new(TestData)?;
        let mut set = PendingFences::new(&ctx);
        let mut fences = KVec::new();
        for seqno in [5, 1, 4, 2, 3] {
            let fence = FenceSignaller::new(&ctx, seqno)?;
            fences.push(ARef::from(fence.fence()), GFP_KERNEL)?;
            if set.insert(seqno.into(), fence).is_err() {
                return Err(EINVAL);
            }
        }
        let again = FenceSignaller::new(&ctx, 4)?;
        match set.insert(4, again) {
            Err(Refused::KeyTaken(again, taken)) => {
                assert_eq!(taken.seqno(), 4);
                again.signal(Ok(()));
            }
            _ => return Err(EINVAL),
        }
        let other = FenceContext::new(TestData)?;
        match set.insert(6, FenceSignaller::new(&other, 6)?) {
            Err(Refused::OtherContext(stranger)) => stranger.signal(Ok(())),
            _ => return Err(EINVAL),
        }
        assert_eq!(set.len(), 5);
        for upto in 1..=3 {
            set.signal_upto(upto, Err(EIO));
            for fence in &fences {
                assert_eq!(fence.is_signaled(), fence.seqno() <= upto);
            }
        }
        assert_eq!(set.len(), 2);
        drop(set);
        assert!(fences.iter().all(|fence| fence.is_signaled()));
        Ok(())
    }
}
