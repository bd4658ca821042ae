// SPDX-License-Identifier: GPL-2.0

//! An ordered set of pending fences that owns them.
//!
//! The set holds each fence's [`FenceSignaller`], and with it a reference:
//! there is no pointer to a fence without a reference, so the set can never
//! reach a fence whose count already fell to zero (the C sw_sync's kref
//! 0->1 race, Jun 2024). The tree is intrusive (`rb_node` inside the
//! fence), so inserting allocates nothing and all of a fence's memory is the one
//! accounted allocation made by [`FenceSignaller::new`].
//!
//! Not `kernel::rbtree`: its nodes are boxes of their own, one more
//! allocation per fence, and it owns keys and values, not fences that C code
//! (the fence's release) also reaches.

use super::{
    driver_fence::DriverFence,
    signal::FenceSignaller,
    state::FenceData, //
};
use core::{
    cmp::Ordering,
    marker::PhantomData,
    ptr::NonNull, //
};
use kernel::bindings;

/// What [`PendingFences::insert`] gives back when the key is taken: the
/// signaller it was given, and the fence that already has the key.
pub(crate) type KeyTaken<'a, T> = (FenceSignaller<T>, &'a DriverFence<T>);

/// Pending fences ordered by a unique 64-bit key.
///
/// # Examples
///
/// Fences come back in key order, whatever the order they went in (the
/// `pending_set_order` KUnit test runs this, `rust/kunit.rs`):
///
/// ```ignore
/// let ctx = FenceContext::new(data)?;
/// let mut set = PendingFences::new();
/// for seqno in [5, 1, 3] {
///     // A key that is taken gives the signaller back, with the fence
///     // that has it.
///     set.insert(seqno.into(), FenceSignaller::new(&ctx, seqno)?).ok();
/// }
/// // Signals 1, then 3; 5 stays pending.
/// while let Some(fence) = set.pop_first_upto(4) {
///     fence.signal(Ok(()));
/// }
/// // Dropping the set signals the rest with -ECANCELED.
/// ```
///
/// # Invariants
///
/// Every node in `root` is the `link` of a `DriverFence<T>` whose
/// [`FenceSignaller`] (and the reference it holds) this set owns, with its
/// key in the fence's `key` field; keys are unique; `len` counts the nodes;
/// `leftmost` is the node with the smallest key, NULL when the set is empty.
pub(crate) struct PendingFences<T: FenceData> {
    root: bindings::rb_root,
    /// Signalling pops the smallest key: caching it makes each pop O(1)
    /// amortised (`rb_next`) instead of a walk down the tree.
    leftmost: *mut bindings::rb_node,
    len: usize,
    _owns: PhantomData<FenceSignaller<T>>,
}

// SAFETY: The set owns its fences' signallers, which are `Send`; the raw
// pointers are only followed through `&self`/`&mut self`.
unsafe impl<T: FenceData> Send for PendingFences<T> {}

impl<T: FenceData> PendingFences<T> {
    /// An empty set.
    pub(crate) const fn new() -> Self {
        Self {
            root: bindings::rb_root {
                rb_node: core::ptr::null_mut(),
            },
            leftmost: core::ptr::null_mut(),
            len: 0,
            _owns: PhantomData,
        }
    }

    /// The number of pending fences.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn key_of(fence: &DriverFence<T>) -> u64 {
        // SAFETY: `key` is written only by `insert`, under `&mut self`.
        unsafe { *fence.key.get() }
    }

    /// The pending fence with `key`, if any.
    pub(crate) fn get(&self, key: u64) -> Option<&DriverFence<T>> {
        let mut node = self.root.rb_node;
        while !node.is_null() {
            // SAFETY: By the type invariant, `node` is the link of a fence
            // this set keeps alive for as long as `&self`.
            let fence = unsafe { DriverFence::<T>::from_link(node) };
            node = match key.cmp(&Self::key_of(fence)) {
                Ordering::Equal => return Some(fence),
                // SAFETY: `node` is a valid node of this tree.
                Ordering::Less => unsafe { (*node).rb_left },
                // SAFETY: As above.
                Ordering::Greater => unsafe { (*node).rb_right },
            };
        }
        None
    }

    /// Adds a fence under `key`, in one walk down the tree. If `key` is
    /// taken, gives `signaller` back with the fence that has the key.
    pub(crate) fn insert(
        &mut self,
        key: u64,
        signaller: FenceSignaller<T>,
    ) -> Result<(), KeyTaken<'_, T>> {
        let mut link: *mut *mut bindings::rb_node = &mut self.root.rb_node;
        let mut parent = core::ptr::null_mut();
        let mut leftmost = true;
        // SAFETY: `link` always points into this tree (the root or a child
        // field of one of its nodes), which `&mut self` lets us modify; the
        // fence returned lives as long as the borrow of `self`.
        unsafe {
            while !(*link).is_null() {
                parent = *link;
                let fence = DriverFence::<T>::from_link(parent);
                link = match key.cmp(&Self::key_of(fence)) {
                    Ordering::Less => &raw mut (*parent).rb_left,
                    Ordering::Greater => {
                        leftmost = false;
                        &raw mut (*parent).rb_right
                    }
                    Ordering::Equal => return Err((signaller, fence)),
                };
            }
        }
        // INVARIANT: The set now owns the signaller and its reference.
        let fence = signaller.into_raw().as_ptr();
        // SAFETY: The fence is alive (we own a reference) and, its signaller
        // having been unique, in no other set: its link and key are ours.
        unsafe {
            *(*fence).key.get() = key;
            let node = (*fence).link.get();
            bindings::rb_link_node(node, parent, link);
            bindings::rb_insert_color(node, &mut self.root);
            if leftmost {
                // INVARIANT: only left turns: smaller than every other key.
                self.leftmost = node;
            }
        }
        self.len += 1;
        Ok(())
    }

    /// Removes and returns the fence with the smallest key if that key is
    /// at most `upto`.
    #[inline]
    pub(crate) fn pop_first_upto(&mut self, upto: u64) -> Option<FenceSignaller<T>> {
        let node = self.leftmost;
        if node.is_null() {
            return None;
        }
        // SAFETY: By the type invariant, `node` is the link of a live fence.
        let fence = unsafe { DriverFence::<T>::from_link(node) };
        if Self::key_of(fence) > upto {
            return None;
        }
        // SAFETY: `node` is in this tree, which `&mut self` lets us modify.
        // INVARIANT: its successor, if any, is the new smallest key.
        unsafe {
            self.leftmost = bindings::rb_next(node);
            bindings::rb_erase(node, &mut self.root);
        }
        self.len -= 1;
        // SAFETY: The signaller was given up by `insert` and is taken back
        // once: the node is no longer in the tree.
        Some(unsafe { FenceSignaller::from_raw(NonNull::from(fence)) })
    }

    /// Removes and returns the fence with the smallest key.
    pub(crate) fn pop_first(&mut self) -> Option<FenceSignaller<T>> {
        self.pop_first_upto(u64::MAX)
    }
}

impl<T: FenceData> Drop for PendingFences<T> {
    fn drop(&mut self) {
        // Each signaller signals -ECANCELED as it drops: no fence is left
        // pending. Owners that want another status drain the set first.
        while let Some(signaller) = self.pop_first() {
            drop(signaller);
        }
    }
}
