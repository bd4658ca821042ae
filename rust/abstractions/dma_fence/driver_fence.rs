// SPDX-License-Identifier: GPL-2.0

//! A fence created by this module, and the `dma_fence_ops` of its type.

use super::{
    fence::Fence,
    state::{
        ContextState,
        FenceData,
        StateRef, //
    }, //
};
use core::{
    marker::PhantomData,
    mem::{
        align_of,
        offset_of,
        size_of, //
    },
    ptr::NonNull,
    sync::atomic::{
        AtomicBool,
        AtomicI64,
        Ordering, //
    }, //
};
use kernel::{
    bindings,
    ffi::{
        c_char,
        c_void, //
    },
    prelude::*,
    sync::aref::{
        ARef,
        AlwaysRefCounted, //
    },
    types::Opaque, //
};

extern "C" {
    fn fencebuf_fence_alloc(size: usize) -> *mut c_void;
}

/// A fence created by this module on a [`FenceContext<T>`](super::FenceContext).
///
/// # Invariants
///
/// - `base` is initialised with [`FenceVTable::<T>::OPS`] and an inline lock,
///   in an allocation of `fencebuf_fence_alloc` sized for `Self`.
/// - `state` is the state of the context the fence was created on; it is
///   live while the fence is unsignalled (see [`ContextState`]).
/// - `link` and `key` are used only by the [`PendingFences`] that owns the
///   fence's [`FenceSignaller`](super::FenceSignaller), if any.
///
/// [`PendingFences`]: super::PendingFences
#[repr(C)]
pub(crate) struct DriverFence<T: FenceData> {
    // First: the core frees the fence through a `struct dma_fence *`.
    base: Opaque<bindings::dma_fence>,
    // Earliest deadline a waiter asked for, once `has_deadline` is set
    // (`i64::MAX` before, the identity of `fetch_min`): a flag, not a
    // sentinel, as sw_sync's `SW_SYNC_HAS_DEADLINE_BIT`, so that a deadline
    // of `i64::MAX` is one.
    deadline: AtomicI64,
    has_deadline: AtomicBool,
    pub(super) link: Opaque<bindings::rb_node>,
    pub(super) key: Opaque<u64>,
    // Not counted: the fence's signaller, or its pending set, holds the count.
    state: NonNull<ContextState<T>>,
}

// SAFETY: Same as `Fence`; `T: Send + Sync`, `state` is only read by ops
// (see the invariants), and `link`/`key` are only accessed by the owning
// `PendingFences` under its exclusive borrow.
unsafe impl<T: FenceData> Send for DriverFence<T> {}
// SAFETY: See `Send`.
unsafe impl<T: FenceData> Sync for DriverFence<T> {}

// SAFETY: Same reference count as the embedded `struct dma_fence`.
unsafe impl<T: FenceData> AlwaysRefCounted for DriverFence<T> {
    fn inc_ref(&self) {
        self.as_fence().inc_ref();
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: `base` is the first field of a `repr(C)` struct; the caller
        // passes a reference it owns.
        unsafe { Fence::dec_ref(obj.cast()) };
    }
}

impl<T: FenceData> core::ops::Deref for DriverFence<T> {
    type Target = Fence;

    fn deref(&self) -> &Fence {
        self.as_fence()
    }
}

impl<T: FenceData> DriverFence<T> {
    /// Creates an unsignalled fence at `seqno` on the context `context`,
    /// whose state is `state`, charged to the caller's memory cgroup.
    pub(super) fn new(context: u64, state: &StateRef<T>, seqno: u32) -> Result<ARef<Self>> {
        // kmalloc guarantees at least this alignment.
        const { assert!(align_of::<DriverFence<T>>() <= bindings::ARCH_KMALLOC_MINALIGN) };
        // SAFETY: Plain allocation; the result is checked below.
        let raw = unsafe { fencebuf_fence_alloc(size_of::<DriverFence<T>>()) };
        let raw = NonNull::new(raw.cast::<DriverFence<T>>()).ok_or(ENOMEM)?;
        let p = raw.as_ptr();
        // SAFETY: `p` is a fresh, suitably aligned allocation of
        // `DriverFence<T>`, not zeroed; every field is written here, before
        // the fence is published (it is unreachable until this function
        // returns). `dma_fence_init` writes every field of `base`.
        unsafe {
            (&raw mut (*p).deadline).write(AtomicI64::new(i64::MAX));
            (&raw mut (*p).has_deadline).write(AtomicBool::new(false));
            (&raw mut (*p).state).write(state.as_ptr());
            // An unlinked node, and its key (both set again on insertion).
            (&raw mut (*p).link).write(Opaque::new(bindings::rb_node {
                __rb_parent_color: 0,
                rb_right: core::ptr::null_mut(),
                rb_left: core::ptr::null_mut(),
            }));
            (&raw mut (*p).key).write(Opaque::new(0));
            bindings::dma_fence_init(
                Opaque::cast_into(&raw const (*p).base),
                &FenceVTable::<T>::OPS,
                core::ptr::null_mut(),
                context,
                u64::from(seqno),
            );
        }
        // SAFETY: `dma_fence_init` set the count to one, which we take over.
        Ok(unsafe { ARef::from_raw(raw) })
    }

    fn as_fence(&self) -> &Fence {
        // SAFETY: `base` is an initialised fence kept alive by `&self`.
        unsafe { Fence::from_raw(self.base.get()) }
    }

    /// The earliest deadline (CLOCK_MONOTONIC ns) a waiter set, if any.
    pub(crate) fn deadline_ns(&self) -> Option<i64> {
        // Acquire: pairs with `set_deadline`'s release, after its `fetch_min`.
        self.has_deadline
            .load(Ordering::Acquire)
            .then(|| self.deadline.load(Ordering::Relaxed))
    }

    /// # Safety
    ///
    /// `fence` is the `base` of a live `DriverFence<T>`.
    pub(super) unsafe fn from_base<'a>(fence: *mut bindings::dma_fence) -> &'a Self {
        // SAFETY: `base` is the first field of the `repr(C)` struct, so the
        // pointers are equal; the caller guarantees liveness.
        unsafe { &*fence.cast::<Self>() }
    }

    /// # Safety
    ///
    /// `node` is the `link` of a live `DriverFence<T>`.
    pub(super) unsafe fn from_link<'a>(node: *mut bindings::rb_node) -> &'a Self {
        // SAFETY: `link` is a field of `Self`; the caller guarantees liveness.
        unsafe { &*node.byte_sub(offset_of!(Self, link)).cast::<Self>() }
    }

    /// The state of the fence's context, which its signaller, or the pending
    /// set that took it over, counts.
    pub(super) fn state(&self) -> NonNull<ContextState<T>> {
        self.state
    }

    /// The context's state, from an op of the fence.
    ///
    /// # Safety
    ///
    /// Called by an op that the core entered under RCU with `ops` set: the
    /// fence was unsignalled then, so its signaller or its pending set held a
    /// count on the state, and the state is freed no earlier than one grace
    /// period after.
    unsafe fn state_in_op(&self) -> &ContextState<T> {
        // SAFETY: See above.
        unsafe { self.state.as_ref() }
    }
}

/// The `dma_fence_ops` of `DriverFence<T>`: no `.release`, no `.wait`.
struct FenceVTable<T>(PhantomData<T>);

impl<T: FenceData> FenceVTable<T> {
    const OPS: bindings::dma_fence_ops = bindings::dma_fence_ops {
        get_driver_name: Some(Self::get_driver_name),
        get_timeline_name: Some(Self::get_timeline_name),
        signaled: Some(Self::signaled),
        set_deadline: Some(Self::set_deadline),
        // SAFETY: All-zero is a valid `dma_fence_ops` (every op absent).
        ..unsafe { core::mem::zeroed() }
    };

    /// # Safety
    ///
    /// Called by the dma_fence core on a fence of this type.
    unsafe extern "C" fn get_driver_name(_fence: *mut bindings::dma_fence) -> *const c_char {
        T::DRIVER_NAME.as_char_ptr()
    }

    /// # Safety
    ///
    /// Called by the dma_fence core, under RCU, on an unsignalled fence of
    /// this type. The name may be freed one grace period after the fence
    /// signals, as the op's contract allows.
    unsafe extern "C" fn get_timeline_name(fence: *mut bindings::dma_fence) -> *const c_char {
        // SAFETY: The core only calls this op on our fences, while they are
        // alive.
        let this = unsafe { DriverFence::<T>::from_base(fence) };
        // SAFETY: Called under RCU with `ops` set (`dma_fence_timeline_name`).
        let state = unsafe { this.state_in_op() };
        state.data.timeline_name().as_char_ptr()
    }

    /// # Safety
    ///
    /// Called by the dma_fence core, under RCU with `ops` set, on a live
    /// fence of this type.
    unsafe extern "C" fn signaled(fence: *mut bindings::dma_fence) -> bool {
        // SAFETY: As for `get_timeline_name`.
        let this = unsafe { DriverFence::<T>::from_base(fence) };
        // SAFETY: `dma_fence_is_signaled` calls this under RCU, `ops` set.
        let reached = unsafe { this.state_in_op() }
            .reached
            .load(Ordering::Acquire);
        T::is_reached(this.seqno(), reached)
    }

    /// # Safety
    ///
    /// Called by the dma_fence core on a live fence of this type.
    unsafe extern "C" fn set_deadline(
        fence: *mut bindings::dma_fence,
        deadline: bindings::ktime_t,
    ) {
        // SAFETY: As for `get_timeline_name`.
        let this = unsafe { DriverFence::<T>::from_base(fence) };
        // Keep the earliest, as sw_sync does; lock-free, so no lock ordering.
        this.deadline.fetch_min(deadline, Ordering::Relaxed);
        this.has_deadline.store(true, Ordering::Release);
    }
}
