// SPDX-License-Identifier: GPL-2.0

//! An ordered set of pending fences that owns them.
//!
//! The set takes over each fence's reference and its duty to signal from
//! the fence's [`FenceSignaller`]: there is no pointer to a fence without a
//! reference, so the set can never reach a fence whose count already fell
//! to zero (the C sw_sync's kref 0->1 race, Jun 2024).
//!
//! The set's fences are all of one context, and the set holds one count on
//! that context's state for all of them: each signaller's own count is put
//! as its fence goes in. Signalling from the set thus touches no count,
//! which keeps INC, the path a waiter waits on, free of atomic operations
//! other than the fences' own.
//!
//! The tree is intrusive (`rb_node` inside the fence), so inserting
//! allocates nothing and all of a fence's memory is the one accounted
//! allocation made by [`FenceSignaller::new`].
//!
//! Not `kernel::rbtree`: its nodes are boxes of their own, one more
//! allocation per fence, and it owns keys and values, not fences that C code
//! (the fence's release) also reaches.

use super::{
    context::FenceContext,
    driver_fence::DriverFence,
    signal::{
        FenceSignaller,
        SignalBatch,
        SignalTime,
        SignallingSection, //
    },
    state::{
        FenceData,
        StateRef, //
    }, //
};
use core::{
    cmp::Ordering,
    marker::PhantomData,
    ptr::NonNull, //
};
use kernel::{
    bindings,
    prelude::*,
    sync::aref::ARef, //
};

/// Why [`PendingFences::insert`] refused a fence; the signaller comes back.
pub(crate) enum Refused<'a, T: FenceData> {
    /// The key is taken, by the fence given with it.
    KeyTaken(FenceSignaller<T>, &'a DriverFence<T>),
    /// The fence is of another context than the set's.
    OtherContext(FenceSignaller<T>),
}

/// Pending fences ordered by a unique 64-bit key.
///
/// # Examples
///
/// Fences come back in key order, whatever the order they went in (the
/// `pending_set_order` KUnit test runs this, `rust/kunit.rs`):
///
/// ```ignore
/// let ctx = FenceContext::new(data)?;
/// let mut set = PendingFences::new(&ctx);
/// for seqno in [5, 1, 3] {
///     // A key that is taken gives the signaller back, with the fence
///     // that has it.
///     set.insert(seqno.into(), FenceSignaller::new(&ctx, seqno)?).ok();
/// }
/// // Signals 1, then 3, both with the same time; 5 stays pending.
/// set.signal_upto(4, Ok(()));
/// // Dropping the set signals the rest with -ECANCELED.
/// ```
///
/// # Invariants
///
/// - `state` is a count on the state of the context the set was made for.
/// - Every node in `root` is the `link` of an unsignalled `DriverFence<T>`
///   on that state, whose reference and duty to signal this set owns, with
///   its key in the fence's `key` field; keys are unique; `len` counts the
///   nodes; `leftmost` is the node with the smallest key, NULL when the set
///   is empty.
pub(crate) struct PendingFences<T: FenceData> {
    root: bindings::rb_root,
    /// Signalling pops the smallest key: caching it makes each pop O(1)
    /// amortised (`rb_next`) instead of a walk down the tree.
    leftmost: *mut bindings::rb_node,
    len: usize,
    /// Keeps the state of every fence in the set alive, and so every fence
    /// signallable.
    state: StateRef<T>,
    _owns: PhantomData<ARef<DriverFence<T>>>,
}

// SAFETY: The set owns fence references and a state count, which are
// `Send`; the raw pointers are only followed through `&self`/`&mut self`.
unsafe impl<T: FenceData> Send for PendingFences<T> {}

impl<T: FenceData> PendingFences<T> {
    /// An empty set for fences of `ctx`.
    pub(crate) fn new(ctx: &FenceContext<T>) -> Self {
        Self {
            root: bindings::rb_root {
                rb_node: core::ptr::null_mut(),
            },
            leftmost: core::ptr::null_mut(),
            len: 0,
            state: ctx.state().clone(),
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

    /// Adds a fence of the set's context under `key`, in one walk down the
    /// tree. Gives `signaller` back if `key` is taken (with the fence that
    /// has it) or its fence is of another context.
    pub(crate) fn insert(
        &mut self,
        key: u64,
        signaller: FenceSignaller<T>,
    ) -> Result<(), Refused<'_, T>> {
        // The set's count keeps only its own context's state alive.
        if signaller.fence().state() != self.state.as_ptr() {
            return Err(Refused::OtherContext(signaller));
        }
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
                    Ordering::Equal => return Err(Refused::KeyTaken(signaller, fence)),
                };
            }
        }
        // INVARIANT: The set takes over the fence's reference and its duty to
        // signal.
        // SAFETY: The signaller's count on the state goes, but `self.state`,
        // a count on the same state (checked above), stays until the set has
        // signalled every fence in it.
        let (fence, _count) = unsafe { signaller.into_parts() };
        let fence = ARef::into_raw(fence).as_ptr();
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

    /// Removes the fence with the smallest key if that key is at most
    /// `upto`. The caller takes over its reference and its duty to signal,
    /// which it must do while the set, whose count keeps the fence's state
    /// alive, is still there.
    #[inline]
    fn take_first_upto(&mut self, upto: u64) -> Option<ARef<DriverFence<T>>> {
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
        // SAFETY: The reference was given up by `insert` and is taken back
        // once: the node is no longer in the tree.
        Some(unsafe { ARef::from_raw(NonNull::from(fence)) })
    }

    /// Signals with `result`, in key order and at one time, every fence whose
    /// key is at most `upto`, in one dma_fence signalling section.
    #[inline]
    pub(crate) fn signal_upto(&mut self, upto: u64, result: Result) {
        if let Some(first) = self.take_first_upto(upto) {
            self.signal_from(first, upto, result);
        }
    }

    /// [`Self::signal_upto`] once it has found a fence to signal, `first`.
    ///
    /// Out of line, so that an INC that reaches no fence does not pay for
    /// this loop's registers (counted: `make bench`). Every fence this step
    /// reaches signals at the same moment: one clock read for all, none when
    /// it reaches none (sw_sync reads the clock once per fence).
    #[inline(never)]
    fn signal_from(&mut self, first: ARef<DriverFence<T>>, upto: u64, result: Result) {
        let _section = SignallingSection::begin();
        let batch = SignalBatch::new(result, SignalTime::now());
        // The set owns each fence's duty to signal, taken over from its
        // signaller; `self.state` keeps every fence's state alive.
        batch.signal_owned(first);
        while let Some(fence) = self.take_first_upto(upto) {
            batch.signal_owned(fence);
        }
    }
}

impl<T: FenceData> Drop for PendingFences<T> {
    fn drop(&mut self) {
        // No fence is left pending, and none outlives `self.state` (put after
        // this) unsignalled. Owners that want another status signal the set
        // first.
        self.signal_upto(u64::MAX, Err(crate::abstractions::compat::ecanceled()));
    }
}
