// SPDX-License-Identifier: GPL-2.0

//! The sw_sync-compatible timeline device.
//!
//! Each open file of the device is one timeline: a fence context, a 32-bit
//! value (starting at 0) and the set of fences not yet reached.
//!
//! Ownership and locking:
//!
//! - The pending set owns every pending fence: a reference and the unique
//!   handle that signals it. sync_files hold their own references. There is
//!   no pointer to a fence without a reference, so no fence is ever revived
//!   from a zero count (the C sw_sync kref 0->1 race, Jun 2024).
//! - A pending fence refers to nothing of the timeline but the state it
//!   shares with it (name and reached value), which the pending set (or,
//!   before the fence joins it, the fence's signaller) keeps alive; once
//!   signalled the fence is detached from this module.
//!   Signalled fences outlive the timeline, and the module.
//! - One spinlock protects the value and the pending set. Fences are
//!   allocated before it is taken; under it, fences are looked up, inserted,
//!   or removed and signalled in seqno order inside a dma_fence signalling
//!   section. Nothing allocates, sleeps or waits under it.
//! - Closing the timeline signals every pending fence with `-ENOENT`.
//! - The reached value is published before the fences it reaches are
//!   signalled, so a waiter can see its fence done while INC is still busy
//!   (sw_sync's `.signaled`); for an error it is published after, so that no
//!   waiter signals a failing fence as a success.
//!
//! The value is kept as a 64-bit count whose low half is the ABI's value; a
//! fence is pending while `(s32)(seqno - value) > 0`, exactly as in sw_sync,
//! and is keyed by the 64-bit value at which it is reached, so the set's
//! order is sw_sync's wrap-around order.

use super::seqno;
use crate::abstractions::{
    dma_fence::{
        fence_error,
        FenceContext,
        FenceData,
        FenceSignaller,
        PendingFences,
        Refused, //
    },
    node_file::NodeFile,
    sync_file::{
        self,
        SyncFile, //
    },
    task::{
        self,
        COMM_LEN, //
    },
    uaccess,
    uapi::{
        FencebufSignal,
        SwSyncCreateFenceData,
        SwSyncGetDeadline,
        FENCEBUF_IOC_SIGNAL,
        SW_SYNC_GET_DEADLINE,
        SW_SYNC_IOC_CREATE_FENCE,
        SW_SYNC_IOC_INC, //
    }, //
};
use core::mem::size_of;
use kernel::{
    fs::file::{
        flags::O_CLOEXEC,
        FileDescriptorReservation, //
    },
    new_spinlock,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    str::CStr,
    sync::{
        aref::ARef,
        SpinLock, //
    },
    uaccess::{
        UserPtr,
        UserSlice, //
    }, //
};

/// What every fence of a timeline reports: the timeline's name.
struct TimelineFenceData {
    name: [u8; COMM_LEN],
}

impl FenceData for TimelineFenceData {
    // sw_sync's, as clients see it in `SYNC_IOC_FILE_INFO`: fencebuf is sw_sync.
    const DRIVER_NAME: &'static CStr = c"sw_sync";

    fn timeline_name(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.name).unwrap_or(c"")
    }

    fn is_reached(fence_seqno: u64, reached: u32) -> bool {
        // CAST: fences are created with a 32-bit seqno (`CREATE_FENCE`).
        seqno::is_reached(fence_seqno as u32, reached)
    }
}

/// The state behind the timeline's lock.
struct Timeline {
    value: u64,
    pending: PendingFences<TimelineFenceData>,
}

/// A timeline goes with the last close of its file.
impl Drop for Timeline {
    fn drop(&mut self) {
        // Closing a timeline fails every fence it still owed, as sw_sync
        // does. (Dropping the set would signal -ECANCELED instead.)
        self.pending.signal_upto(u64::MAX, Err(ENOENT));
    }
}

impl Timeline {
    /// The ABI's 32-bit value.
    fn value32(&self) -> u32 {
        // CAST: truncation intended: the ABI value is the low half.
        self.value as u32
    }

    /// How far `seqno` is ahead of the timeline, if it is.
    fn ahead(&self, seqno: u32) -> Option<u32> {
        seqno::ahead(seqno, self.value32())
    }

    /// Advances the timeline by `inc` and signals, in order, every fence it
    /// reaches with `result`.
    #[inline]
    fn advance(&mut self, ctx: &FenceContext<TimelineFenceData>, inc: u32, result: Result) {
        self.value += u64::from(inc);
        if result.is_ok() {
            ctx.set_reached(self.value32());
        }
        self.pending.signal_upto(self.value, result);
        if result.is_err() {
            ctx.set_reached(self.value32());
        }
    }
}

/// One open timeline: an open of `/dev/sw_sync`, or of
/// `<debugfs>/sync/sw_sync` where fencebuf provides it.
#[pin_data]
pub(crate) struct TimelineFile {
    context: FenceContext<TimelineFenceData>,
    /// The `max_pending` parameter, read once: it is fixed at load, and
    /// reading it costs CREATE_FENCE four calls each time.
    max_pending: usize,
    #[pin]
    timeline: SpinLock<Timeline>,
}

impl NodeFile for TimelineFile {
    /// Timelines share nothing.
    type Data = ();

    fn open(&(): &()) -> Result<Pin<KBox<Self>>> {
        // Named after the opening task, as sw_sync's timelines are.
        let context = FenceContext::new(TimelineFenceData {
            name: task::current_comm(),
        })?;
        let pending = PendingFences::new(&context);
        KBox::try_pin_init(
            try_pin_init!(TimelineFile {
                context,
                max_pending: crate::params::max_pending(),
                timeline <- new_spinlock!(
                    Timeline {
                        value: 0,
                        pending,
                    },
                    "fencebuf_timeline"
                ),
            }),
            GFP_KERNEL_ACCOUNT,
        )
    }

    fn ioctl(&self, cmd: u32, arg: usize) -> Result<isize> {
        let arg = UserPtr::from_addr(arg);
        match cmd {
            SW_SYNC_IOC_CREATE_FENCE => self.create_fence(arg)?,
            SW_SYNC_IOC_INC => self.inc(arg)?,
            SW_SYNC_GET_DEADLINE => self.get_deadline(arg)?,
            FENCEBUF_IOC_SIGNAL => self.signal(arg)?,
            _ => return Err(ENOTTY),
        }
        Ok(0)
    }

    fn show_fdinfo(&self, m: &SeqFile) {
        let (value, pending) = {
            let tl = self.timeline.lock();
            (tl.value32(), tl.pending.len())
        };
        seq_print!(
            m,
            "timeline:\t{}\nvalue:\t{}\npending:\t{}\n",
            self.context.data().timeline_name().to_str().unwrap_or("?"),
            value,
            pending
        );
    }
}

impl TimelineFile {
    // Out of line: the other commands, INC above all, then do not pay for
    // its registers and stack frame in `ioctl` (counted: `make bench`).
    #[inline(never)]
    fn create_fence(&self, arg: UserPtr) -> Result {
        let (mut reader, mut writer) =
            UserSlice::new(arg, size_of::<SwSyncCreateFenceData>()).reader_writer();
        let mut data: SwSyncCreateFenceData = reader.read()?;
        // Everything that can fail comes before the fd is installed.
        let fd = FileDescriptorReservation::get_unused_fd_flags(O_CLOEXEC)?;
        let new = FenceSignaller::new(&self.context, data.value)?;
        // The sync_file holds its own reference to the new fence, which thus
        // stays alive whatever happens to the pending set after the lock.
        let mut file = SyncFile::new(new.fence())?;

        let mut tl = self.timeline.lock();
        let (unused, existing) = match tl.ahead(data.value) {
            // Reached already: the fence is born signalled.
            None => (Some(new), None),
            Some(d) => {
                let key = tl.value + u64::from(d);
                if tl.pending.len() >= self.max_pending {
                    // Full: only a pending fence at this seqno can be given.
                    let existing = tl.pending.get(key).ok_or(ENOSPC)?;
                    (Some(new), Some(ARef::from(&**existing)))
                } else {
                    match tl.pending.insert(key, new) {
                        Ok(()) => (None, None),
                        // Same seqno as a pending fence: that fence, as sw_sync.
                        Err(Refused::KeyTaken(new, existing)) => {
                            (Some(new), Some(ARef::from(&**existing)))
                        }
                        Err(Refused::OtherContext(new)) => {
                            // Not reached: `new` is of this timeline's context.
                            new.signal(Err(EINVAL));
                            return Err(EINVAL);
                        }
                    }
                }
            }
        };
        drop(tl);
        // Not shared with anyone (its sync_file is not installed): signalling
        // it outside the lock is enough.
        if let Some(unused) = unused {
            unused.signal(Ok(()));
        }
        if let Some(existing) = existing {
            file = SyncFile::new(&existing)?;
        }

        // CAST: fds are below `INT_MAX` (`sysctl_nr_open`).
        data.fence = fd.reserved_fd() as i32;
        writer.write(&data)?;
        fd.fd_install(file.into_file());
        Ok(())
    }

    fn inc(&self, arg: UserPtr) -> Result {
        let inc = uaccess::read_u32(arg)?;
        self.timeline.lock().advance(&self.context, inc, Ok(()));
        Ok(())
    }

    fn signal(&self, arg: UserPtr) -> Result {
        let req: FencebufSignal = UserSlice::new(arg, size_of::<FencebufSignal>())
            .reader()
            .read()?;
        let result = match req.error {
            0 => Ok(()),
            e => Err(fence_error(e).ok_or(EINVAL)?),
        };
        let mut tl = self.timeline.lock();
        if let Some(d) = tl.ahead(req.value) {
            tl.advance(&self.context, d, result);
        }
        Ok(())
    }

    fn get_deadline(&self, arg: UserPtr) -> Result {
        let (mut reader, mut writer) =
            UserSlice::new(arg, size_of::<SwSyncGetDeadline>()).reader_writer();
        let mut data: SwSyncGetDeadline = reader.read()?;
        if data.deadline_ns != 0 || data.pad != 0 {
            return Err(EINVAL);
        }
        let fence = sync_file::fence_from_fd(data.fence_fd)?;
        // Only fences of this timeline: their context says so even after
        // they signalled (when the core has detached them from their ops).
        let ours = self.context.downcast(&fence).ok_or(EINVAL)?;
        // CAST: a deadline is a CLOCK_MONOTONIC time, not negative.
        data.deadline_ns = ours.deadline_ns().ok_or(ENOENT)? as u64;
        writer.write(&data)
    }
}
