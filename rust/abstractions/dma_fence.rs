// SPDX-License-Identifier: GPL-2.0

//! DMA fences.
//!
//! C header: [`include/linux/dma-fence.h`](srctree/include/linux/dma-fence.h).
//!
//! Four types split the roles the C API leaves to convention:
//!
//! - [`Fence`]: a shared, reference-counted `struct dma_fence` of any driver.
//!   Use it as `ARef<Fence>`; holding one is the only way to keep a fence.
//! - [`FenceContext<T>`]: a timeline of this module's fences. It owns the
//!   driver data `T` its fences report, and the value they have reached.
//! - [`DriverFence<T>`]: a fence created by this module on a context.
//! - [`FenceSignaller<T>`]: the unique right, and duty, to signal one
//!   [`DriverFence<T>`]. Signalling consumes it, with a mandatory result;
//!   dropping it unsignalled signals `-ECANCELED`, so no fence is ever left
//!   pending forever.
//!
//! Fences are created with their own inline lock (external fence locks are
//! deprecated) and with ops that have neither `.release` nor `.wait`: on
//! signal the core detaches the fence from this module (`ops = NULL`) and
//! later frees it with `kfree_rcu()`. A signalled fence therefore outlives
//! the module safely.
//!
//! While a fence is pending, its ops read the context's state: the name, and
//! the value the context has reached, which lets a waiter see the fence done
//! before its signaller gets to it (the `.signaled` peek, as in sw_sync).
//! That state is not the context itself: it is reference-counted by the
//! context and by every unsignalled fence's signaller, and freed with
//! `kfree_rcu()` after the last. The core calls ops only under RCU and only
//! while `ops` is set, so an op entered before its fence signalled finishes
//! before the state is freed. A fence thus never points at anything that
//! can go away under it, whatever the order in which timeline and fences die
//! (the sw_sync kref 0->1 race, "dma-buf/sw_sync: Avoid recursive lock
//! during fence signal" follow-up, Jun 2024).

use core::{
    marker::PhantomData,
    mem::{
        align_of,
        needs_drop,
        offset_of,
        size_of, //
    },
    ptr::NonNull,
    sync::atomic::{
        AtomicBool,
        AtomicI64,
        AtomicU32,
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
    str::CStr,
    sync::{
        aref::{
            ARef,
            AlwaysRefCounted, //
        },
        Refcount, //
    },
    types::Opaque, //
};

extern "C" {
    fn fencebuf_dma_fence_get(fence: *mut bindings::dma_fence) -> *mut bindings::dma_fence;
    fn fencebuf_dma_fence_put(fence: *mut bindings::dma_fence);
    fn fencebuf_dma_fence_is_signaled(fence: *mut bindings::dma_fence) -> bool;
    fn fencebuf_dma_fence_signal(
        fence: *mut bindings::dma_fence,
        error: i32,
        timestamp: bindings::ktime_t,
    );
    fn fencebuf_dma_fence_begin_signalling() -> bool;
    fn fencebuf_dma_fence_end_signalling(cookie: bool);
    fn fencebuf_fence_alloc(size: usize) -> *mut c_void;
    fn fencebuf_refcount_sub_and_test(i: i32, r: *mut bindings::refcount_t) -> bool;
}

/// A reference-counted `struct dma_fence`, of any driver.
///
/// # Invariants
///
/// The wrapped fence is initialised (`dma_fence_init`) and its reference count
/// is non-zero for as long as a `&Fence` exists.
#[repr(transparent)]
pub(crate) struct Fence(Opaque<bindings::dma_fence>);

// SAFETY: A `struct dma_fence` may be used and released from any thread: its
// reference count is atomic and its state is protected by its lock.
unsafe impl Send for Fence {}
// SAFETY: Every `&self` method below is safe to call concurrently: they read
// immutable fields or go through the fence's lock or atomic flags.
unsafe impl Sync for Fence {}

// SAFETY: `dma_fence_get`/`dma_fence_put` manage the fence's reference count;
// the fence stays valid while the count is non-zero.
unsafe impl AlwaysRefCounted for Fence {
    fn inc_ref(&self) {
        // SAFETY: By the type invariant the fence is alive (count > 0).
        unsafe { fencebuf_dma_fence_get(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller passes a reference it owns; `Fence` is
        // `repr(transparent)` over `struct dma_fence`.
        unsafe { fencebuf_dma_fence_put(obj.as_ptr().cast()) };
    }
}

impl Fence {
    /// Borrows a `Fence` from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` points to an initialised fence on which the caller holds a
    /// reference for the whole lifetime `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::dma_fence) -> &'a Self {
        // SAFETY: `Fence` is `repr(transparent)` over `struct dma_fence`; the
        // caller guarantees validity for `'a`.
        unsafe { &*ptr.cast() }
    }

    /// Takes over a reference the caller owns.
    ///
    /// # Safety
    ///
    /// `ptr` is non-null and points to an initialised fence; the caller
    /// transfers one reference to the returned `ARef`.
    pub(crate) unsafe fn from_owned_raw(ptr: *mut bindings::dma_fence) -> ARef<Self> {
        // SAFETY: Non-null by the safety requirements.
        let ptr = unsafe { NonNull::new_unchecked(ptr.cast::<Self>()) };
        // SAFETY: The caller transfers ownership of one reference.
        unsafe { ARef::from_raw(ptr) }
    }

    /// The raw `struct dma_fence` pointer.
    pub(crate) fn as_raw(&self) -> *mut bindings::dma_fence {
        self.0.get()
    }

    /// The fence's context, fixed at creation.
    pub(crate) fn context(&self) -> u64 {
        // SAFETY: `context` is written by `dma_fence_init` only.
        unsafe { (*self.as_raw()).context }
    }

    /// The fence's sequence number on its context, fixed at creation.
    pub(crate) fn seqno(&self) -> u64 {
        // SAFETY: `seqno` is written by `dma_fence_init` only.
        unsafe { (*self.as_raw()).seqno }
    }

    /// Whether the fence has signalled.
    pub(crate) fn is_signaled(&self) -> bool {
        // SAFETY: The fence is alive by the type invariant.
        unsafe { fencebuf_dma_fence_is_signaled(self.as_raw()) }
    }
}

/// The driver data of a fence type of this module, kept by its context.
///
/// The data lives in the context's shared state, which is freed with
/// `kfree_rcu()` without running Rust destructors: `Self` must not need
/// dropping (checked at compile time).
pub(crate) trait FenceData: Send + Sync + Sized + 'static {
    /// Reported by `get_driver_name` while a fence is pending.
    const DRIVER_NAME: &'static CStr;

    /// Reported by `get_timeline_name` while a fence is pending.
    fn timeline_name(&self) -> &CStr;

    /// Whether the fence of sequence number `seqno` is signalled once its
    /// context has reached `reached` (see [`FenceContext::set_reached`]):
    /// the `.signaled` peek, called under RCU, lock-free.
    fn is_reached(seqno: u64, reached: u32) -> bool;
}

/// What the pending fences of a context read: its data and reached value.
///
/// # Invariants
///
/// - Allocated by [`FenceContext::new`] with `KBox`; `refs` counts the
///   [`StateRef`]s (and the counts a [`SignalBatch`] holds); freed only when
///   the last count is put, with `kvfree_call_rcu()` on `rcu`.
/// - Every `DriverFence<T>` pointing here is signalled, or has a
///   [`FenceSignaller`] holding a count.
#[repr(C)]
struct ContextState<T: FenceData> {
    rcu: Opaque<super::compat::KvfreeRcuHead>,
    refs: Refcount,
    reached: AtomicU32,
    data: T,
}

/// One counted reference to a [`ContextState`].
///
/// # Invariants
///
/// `0` points to a live `ContextState<T>` and owns one count of its `refs`.
struct StateRef<T: FenceData>(NonNull<ContextState<T>>);

// SAFETY: The state is only read through shared references (atomics and
// `T: Sync`), and freed by whichever thread drops the last count.
unsafe impl<T: FenceData> Send for StateRef<T> {}
// SAFETY: See `Send`.
unsafe impl<T: FenceData> Sync for StateRef<T> {}

impl<T: FenceData> StateRef<T> {
    fn get(&self) -> &ContextState<T> {
        // SAFETY: Live while the count is held, by the type invariant.
        unsafe { self.0.as_ref() }
    }

    /// Puts this count and `extra` more counts the caller owns, at once.
    #[inline]
    fn put_with(self, extra: i32) {
        let this = core::mem::ManuallyDrop::new(self);
        let refs = core::ptr::from_ref(&this.get().refs).cast_mut();
        // `Refcount` has no `sub_and_test`: it wraps a `refcount_t`
        // (`repr(transparent)` over an `Opaque`, so writable through `&`).
        // SAFETY: The state is live (this count); the caller owns `extra`
        // more, and all `1 + extra` are given up here (`this` is not dropped).
        if unsafe { fencebuf_refcount_sub_and_test(1 + extra, refs.cast()) } {
            // SAFETY: That was the last count.
            unsafe { Self::free(this.0) };
        }
    }

    /// # Safety
    ///
    /// The last count on `state` is gone.
    unsafe fn free(state: NonNull<ContextState<T>>) {
        let p = state.as_ptr();
        // SAFETY: Nothing but RCU readers (ops entered before their fence
        // signalled) can still see the state, and `kvfree_call_rcu` waits for
        // them. The `KBox` allocation is kmalloc memory; `T` needs no drop.
        unsafe { bindings::kvfree_call_rcu(Opaque::cast_into(&raw const (*p).rcu), p.cast()) };
    }
}

impl<T: FenceData> Clone for StateRef<T> {
    fn clone(&self) -> Self {
        // The state is live (our count), so the count is not zero.
        self.get().refs.inc();
        // INVARIANT: The count just taken is the new reference's.
        Self(self.0)
    }
}

impl<T: FenceData> Drop for StateRef<T> {
    fn drop(&mut self) {
        // The state is live (our count, given up here).
        if self.get().refs.dec_and_test() {
            // SAFETY: That was the last count.
            unsafe { Self::free(self.0) };
        }
    }
}

/// A fence created by this module on a [`FenceContext<T>`].
///
/// # Invariants
///
/// - `base` is initialised with [`FenceVTable::<T>::OPS`] and an inline lock,
///   in an allocation of `fencebuf_fence_alloc` sized for `Self`.
/// - `state` is the state of the context the fence was created on; it is
///   live while the fence is unsignalled (see [`ContextState`]).
/// - `link` and `key` are used only by the [`PendingFences`] that owns the
///   fence's [`FenceSignaller`], if any.
///
/// [`PendingFences`]: super::pending_fences::PendingFences
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
    // Not counted: the fence's signaller holds the count.
    state: NonNull<ContextState<T>>,
}

/// Most counts a [`SignalBatch`] holds before it puts them: a `refcount_t`
/// holds at most `INT_MAX / 2` before it saturates (`REFCOUNT_SATURATED`), so
/// no more can be owed to one, and `1 + extra` cannot overflow.
const BATCH_MAX: i32 = i32::MAX / 2;

/// The error of a fence signalled with `errno`: a negative errno no lower
/// than `-MAX_ERRNO`, as `dma_fence_set_error()` requires; `None` otherwise.
pub(crate) fn fence_error(errno: i32) -> Option<Error> {
    // CAST: `MAX_ERRNO` is 4095.
    let lowest = -(bindings::MAX_ERRNO as i32);
    (lowest..0)
        .contains(&errno)
        .then(|| Error::from_errno(errno))
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
    unsafe fn from_base<'a>(fence: *mut bindings::dma_fence) -> &'a Self {
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

    /// The context's state, from an op of the fence.
    ///
    /// # Safety
    ///
    /// Called by an op that the core entered under RCU with `ops` set: the
    /// fence was unsignalled then, so its signaller held a count on the
    /// state, and the state is freed no earlier than one grace period after.
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

/// A fence context: the timeline that a set of fences is ordered on.
///
/// # Invariants
///
/// `id` was returned by `dma_fence_context_alloc`, and every fence with this
/// context is a `DriverFence<T>` on `state` (only [`FenceSignaller::new`]
/// creates them).
pub(crate) struct FenceContext<T: FenceData> {
    id: u64,
    state: StateRef<T>,
}

impl<T: FenceData> FenceContext<T> {
    /// Allocates a new, globally unique fence context, whose fences report
    /// `data`, charged to the caller's memory cgroup.
    pub(crate) fn new(data: T) -> Result<Self> {
        const { assert!(!needs_drop::<T>(), "context data is freed by kfree_rcu()") };
        let state = KBox::new(
            ContextState {
                rcu: Opaque::uninit(),
                refs: Refcount::new(1),
                reached: AtomicU32::new(0),
                data,
            },
            GFP_KERNEL_ACCOUNT,
        )?;
        // SAFETY: Always safe to call.
        let id = unsafe { bindings::dma_fence_context_alloc(1) };
        // INVARIANT: A fresh state with one count, which `state` owns.
        let state = StateRef(NonNull::from(KBox::leak(state)));
        Ok(Self { id, state })
    }

    /// The data the context's fences report.
    pub(crate) fn data(&self) -> &T {
        &self.state.get().data
    }

    /// Lets waiters see, without a lock, every pending fence of the context
    /// whose seqno is at or before `value` (32-bit wrap-around order) as
    /// signalled, successfully, from now on.
    ///
    /// A waiter that sees it signals the fence itself: set a value only once
    /// every fence it covers may succeed, i.e. after signalling the ones
    /// that fail. Values must not go back.
    pub(crate) fn set_reached(&self, value: u32) {
        self.state.get().reached.store(value, Ordering::Release);
    }

    /// Returns `fence` as a `DriverFence<T>` if it belongs to this context.
    ///
    /// Works whether or not the fence has signalled.
    pub(crate) fn downcast<'a>(&self, fence: &'a Fence) -> Option<&'a DriverFence<T>> {
        if fence.context() != self.id {
            return None;
        }
        // SAFETY: By the type invariant, a fence of this context is a
        // `DriverFence<T>`; `&'a Fence` keeps it alive.
        Some(unsafe { DriverFence::from_base(fence.as_raw()) })
    }
}

/// The unique right and duty to signal one fence.
///
/// # Examples
///
/// ```ignore
/// let fence = FenceSignaller::new(&ctx, 1)?;
/// // Shared with userspace: the sync_file holds its own reference.
/// let file = SyncFile::new(fence.fence())?;
/// // Signalling consumes the signaller: no fence is signalled twice, and
/// // one dropped unsignalled signals -ECANCELED.
/// fence.signal(Err(ETIMEDOUT));
/// ```
///
/// # Invariants
///
/// `fence` is a `DriverFence<T>` that no one else can signal, except a
/// waiter that sees its context reach it; `state` is a count on the fence's
/// `state`, put only after the fence has signalled.
pub(crate) struct FenceSignaller<T: FenceData> {
    fence: ARef<DriverFence<T>>,
    state: StateRef<T>,
}

impl<T: FenceData> FenceSignaller<T> {
    /// Creates an unsignalled fence at `seqno` (32-bit, wrap-around ordering)
    /// on `ctx`, charged to the caller's memory cgroup.
    ///
    /// Fails with `ENOMEM` when the allocation fails or the cgroup is at its
    /// limit (never by invoking the OOM killer).
    pub(crate) fn new(ctx: &FenceContext<T>, seqno: u32) -> Result<Self> {
        // kmalloc guarantees at least this alignment.
        const { assert!(align_of::<DriverFence<T>>() <= bindings::ARCH_KMALLOC_MINALIGN) };
        // SAFETY: Plain allocation; the result is checked below.
        let raw = unsafe { fencebuf_fence_alloc(size_of::<DriverFence<T>>()) };
        let raw = NonNull::new(raw.cast::<DriverFence<T>>()).ok_or(ENOMEM)?;
        let state = ctx.state.clone();
        let p = raw.as_ptr();
        // SAFETY: `p` is a fresh, suitably aligned allocation of
        // `DriverFence<T>`, not zeroed; every field is written here, before
        // the fence is published (it is unreachable until this function
        // returns). `dma_fence_init` writes every field of `base`.
        unsafe {
            (&raw mut (*p).deadline).write(AtomicI64::new(i64::MAX));
            (&raw mut (*p).has_deadline).write(AtomicBool::new(false));
            (&raw mut (*p).state).write(state.0);
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
                ctx.id,
                u64::from(seqno),
            );
        }
        // SAFETY: `dma_fence_init` set the count to one, which we take over.
        let fence = unsafe { ARef::from_raw(raw) };
        // INVARIANT: The fence was just created and is known only here; the
        // count taken above is on its state.
        Ok(Self { fence, state })
    }

    /// The fence, to share (e.g. in a sync_file).
    pub(crate) fn fence(&self) -> &DriverFence<T> {
        &self.fence
    }

    /// Signals the fence with `result`: `Ok` for success, or the error its
    /// waiters will see as the fence status.
    pub(crate) fn signal(self, result: Result) {
        SignalBatch::new(result, SignalTime::now()).signal(self);
    }

    /// Signals the fence with `error`, 0 for success.
    #[inline]
    fn do_signal(&self, error: i32, at: SignalTime) {
        // SAFETY: The fence is alive, one of ours, so initialised with its
        // inline lock; `error` is 0 or a negative errno, as
        // `dma_fence_set_error` wants; any CLOCK_MONOTONIC time is a valid
        // timestamp. Signalling twice (after a waiter's peek) is a no-op.
        unsafe { fencebuf_dma_fence_signal(self.fence.as_raw(), error, at.0) };
    }

    pub(super) fn into_raw(self) -> NonNull<DriverFence<T>> {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again; the fence reference
        // moves out with the pointer, and the state count, never dropped,
        // with it (`from_raw` finds the state through the fence).
        ARef::into_raw(unsafe { core::ptr::read(&this.fence) })
    }

    /// # Safety
    ///
    /// `ptr` comes from [`Self::into_raw`] and is used only once.
    pub(super) unsafe fn from_raw(ptr: NonNull<DriverFence<T>>) -> Self {
        // SAFETY: `into_raw` gave up exactly this reference.
        let fence = unsafe { ARef::from_raw(ptr) };
        // INVARIANT: `into_raw` gave up the count on the fence's state too.
        let state = StateRef(fence.state);
        Self { fence, state }
    }
}

impl<T: FenceData> Drop for FenceSignaller<T> {
    fn drop(&mut self) {
        // The duty to signal does not go away with the handle. (The state's
        // count goes after this, with the fields.)
        if !self.fence.is_signaled() {
            self.do_signal(super::compat::ecanceled().to_errno(), SignalTime::now());
        }
    }
}

/// Signals the fences one event reaches, with one result and one time, and
/// puts their signallers' counts on the context state at once: a timeline
/// step that signals n fences makes one atomic operation on the state, not n.
///
/// Its methods, and those of the signaller it uses, are `#[inline]`: they are
/// INC's inner loop, where each call left out of line showed as a few
/// percent of an INC that signals one fence (counted under TCG, `make bench`).
///
/// # Invariants
///
/// `state`, if any, and the `extra` further counts on the same state are
/// owned by the batch; they are counts of fences already signalled.
pub(crate) struct SignalBatch<T: FenceData> {
    /// The result as the fence status: 0, or a negative errno (computed
    /// once, not per fence).
    error: i32,
    at: SignalTime,
    state: Option<StateRef<T>>,
    extra: i32,
}

impl<T: FenceData> SignalBatch<T> {
    /// A batch that signals with `result` at `at`.
    pub(crate) fn new(result: Result, at: SignalTime) -> Self {
        Self {
            error: result.err().map_or(0, Error::to_errno),
            at,
            state: None,
            extra: 0,
        }
    }

    /// Signals `fence`; its count on the state is put with the batch.
    #[inline]
    pub(crate) fn signal(&mut self, fence: FenceSignaller<T>) {
        fence.do_signal(self.error, self.at);
        let this = core::mem::ManuallyDrop::new(fence);
        // SAFETY: `this` is never used or dropped again; each field is moved
        // out exactly once.
        let (fence, state) =
            unsafe { (core::ptr::read(&this.fence), core::ptr::read(&this.state)) };
        drop(fence);
        match &self.state {
            Some(held) if held.0 == state.0 && self.extra < BATCH_MAX => {
                // INVARIANT: The signalled fence's count joins the batch's.
                core::mem::forget(state);
                self.extra += 1;
            }
            _ => {
                self.flush();
                self.state = Some(state);
            }
        }
    }

    #[inline]
    fn flush(&mut self) {
        if let Some(state) = self.state.take() {
            state.put_with(core::mem::take(&mut self.extra));
        }
    }
}

impl<T: FenceData> Drop for SignalBatch<T> {
    #[inline]
    fn drop(&mut self) {
        self.flush();
    }
}

/// A `CLOCK_MONOTONIC` time at which fences are signalled.
///
/// Not `kernel::time::Instant<Monotonic>`: Linux 7.3 gives no way to read an
/// `Instant`'s `ktime_t` outside the kernel crate (`as_nanos` is
/// `pub(crate)`), and the signalling functions take one.
#[derive(Clone, Copy)]
pub(crate) struct SignalTime(bindings::ktime_t);

impl SignalTime {
    /// Now.
    #[inline]
    pub(crate) fn now() -> Self {
        // SAFETY: Always safe to call.
        Self(unsafe { bindings::ktime_get() })
    }
}

/// A `dma_fence` signalling critical section, for lockdep: inside it, code
/// must not wait for fences nor allocate memory that could wait for them.
pub(crate) struct SignallingSection(bool);

impl SignallingSection {
    /// Enters the section; it ends when the guard drops.
    pub(crate) fn begin() -> Self {
        // SAFETY: Always safe to call; the cookie is returned on drop.
        Self(unsafe { fencebuf_dma_fence_begin_signalling() })
    }
}

impl Drop for SignallingSection {
    fn drop(&mut self) {
        // SAFETY: The cookie comes from the matching `begin`.
        unsafe { fencebuf_dma_fence_end_signalling(self.0) };
    }
}
