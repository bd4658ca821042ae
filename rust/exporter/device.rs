// SPDX-License-Identifier: GPL-2.0

//! The MMIO exporter of one PCI device: its exportable BARs, the buffers
//! exported from them, memory decoding, and unbind.
//!
//! Turning memory decoding off revokes every buffer first, unbind revokes
//! them for good; both are one call of the abstraction (`dma_buf`: its
//! `revoke` documents the protocol, its module the lock order).
//! Memory decoding is turned off only after the revoke: no CPU or importer
//! mapping is left to touch the BAR. Restore turns decoding on first.
//!
//! Lockdep checks the lock order in every test run, and the `userptr`
//! suite, which puts MMU notifiers on the revoke's zap, compares it with
//! what lockdep recorded (lock classes `BufferList::transition`,
//! `BufferList::inner` and `Buffer::access`).

use super::buffer::{
    BufferKey,
    MmioBuffer, //
};
use crate::abstractions::{
    dma_buf::{
        BufferList,
        DmaBuf,
        RevokeOutcome, //
    },
    pci::{
        memory_decode,
        set_memory_decode,
        BarKind,
        BarRanges,
        P2pProvider,
        NUM_BARS, //
    }, //
};
use kernel::{
    pci,
    prelude::*,
    str::CString,
    sync::{
        aref::ARef,
        Arc, //
    },
    time::Delta, //
};

/// BARs of a PCI device.
pub(crate) const NUM_REGIONS: usize = NUM_BARS;

/// The most ranges one EXPORT accepts.
pub(crate) const MAX_RANGES: usize = 256;

/// A BAR the exporter may export from.
pub(crate) struct Region {
    pub(crate) len: u64,
    pub(crate) kind: BarKind,
    /// `None` if the BAR is not exportable (not memory, or not claimed).
    pub(crate) provider: Option<P2pProvider>,
}

/// The device state, behind the device lock. (Memory decoding is on while
/// the buffers are not revoked.)
pub(crate) struct DeviceState {
    /// The device was unbound, or failed for good: nothing can be exported,
    /// enabled or restored.
    gone: bool,
    /// A reset of the device is under way: memory decoding is the reset's
    /// until it ends, and the buffers stay revoked.
    resetting: bool,
    /// Memory decoding was off when the reset began.
    off_before_reset: bool,
}

/// What an EXPORT asks for, read from userspace.
pub(crate) struct ExportRequest {
    pub(crate) key: BufferKey,
    pub(crate) reuse: bool,
}

/// The exporter of one PCI device.
pub(crate) struct MmioDevice {
    name: CString,
    pdev: ARef<pci::Device>,
    regions: KVec<Region>,
    buffers: Arc<BufferList<MmioBuffer, DeviceState>>,
}

impl MmioDevice {
    /// An exporter for `pdev` with the given BARs; memory decoding is on.
    pub(crate) fn new(
        pdev: ARef<pci::Device>,
        regions: KVec<Region>,
        module: &'static ThisModule,
    ) -> Result<Arc<Self>> {
        let name = CString::try_from_fmt(fmt!("{}", pdev.as_ref().name()))?;
        let buffers = BufferList::new(
            module,
            c"fencebuf",
            DeviceState {
                gone: false,
                resetting: false,
                off_before_reset: false,
            },
            !memory_decode(&pdev),
        )?;
        Ok(Arc::new(
            Self {
                name,
                pdev,
                regions,
                buffers,
            },
            GFP_KERNEL,
        )?)
    }

    /// The device's PCI address.
    pub(crate) fn name(&self) -> &CStr {
        &self.name
    }

    /// The BARs, in order.
    pub(crate) fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// Memory decoding state and number of live buffers; `ENODEV` once
    /// unbound.
    pub(crate) fn status(&self) -> Result<(bool, usize)> {
        let guard = self.buffers.lock();
        if guard.state().gone {
            return Err(ENODEV);
        }
        Ok((!guard.is_revoked(), guard.len()))
    }

    /// Checks `n` ranges of BAR `region`, each `(offset, length)` given by
    /// `next`: `ENODEV` if the BAR is not exportable, then as
    /// [`BarRanges::new`].
    pub(crate) fn bar_ranges(
        &self,
        region: u32,
        n: usize,
        next: impl FnMut() -> Result<(u64, u64)>,
    ) -> Result<BarRanges> {
        // CAST: `u32` to `usize` is lossless.
        let bar = self.regions.get(region as usize).ok_or(ENODEV)?;
        let provider = bar.provider.as_ref().ok_or(ENODEV)?;
        BarRanges::new(provider, n, next)
    }

    /// Exports the ranges of `req`: a new buffer, or with `reuse` one with
    /// identical region, ranges and access mode that the caller has open,
    /// if there is one.
    pub(crate) fn export(&self, req: ExportRequest) -> Result<DmaBuf> {
        let key = req.key;
        let region = self
            .regions
            // CAST: `u32` to `usize` is lossless.
            .get(key.region as usize)
            .ok_or(ENODEV)?;

        let mut guard = self.buffers.lock();
        if guard.state().gone {
            return Err(ENODEV);
        }
        if req.reuse {
            // Only a buffer the caller has open: nothing else proves that a
            // buffer's file is alive (see `dma_buf`).
            if let Some(buf) = guard.find_open(|b| *b.key() == key) {
                return Ok(buf);
            }
        }
        let open_flags = key.open_flags;
        let buffer = MmioBuffer::new(key, region.kind.prefetch);
        let size = buffer.size();
        guard.export(buffer, size, open_flags)
    }

    /// Turns memory decoding on or off, restoring or revoking every buffer.
    /// When the device does not take the write, its buffers end as it
    /// decodes, and the write's error is returned. `EBUSY` while the device
    /// is being reset.
    pub(crate) fn set_memory_enabled(&self, on: bool) -> Result {
        let transition = self.buffers.transition();
        let mut guard = transition.lock();
        if guard.state().gone {
            return Err(ENODEV);
        }
        if guard.state().resetting {
            return Err(EBUSY);
        }
        // Done only if the device agrees: decoding may have been changed
        // behind the driver's back (setpci, a write through sysfs).
        if guard.is_revoked() != on && memory_decode(&self.pdev) == on {
            return Ok(());
        }
        if !on {
            // A failure leaves the device as it was.
            let outcome = guard.try_revoke(revoke_timeout())?;
            self.report(outcome);
            guard = transition.lock();
        }
        // Whatever the write does, the buffers then follow the device:
        // accessible exactly while it decodes.
        let written = set_memory_decode(&self.pdev, on);
        let decodes = memory_decode(&self.pdev);
        if decodes {
            guard.restore();
        }
        written?;
        if decodes != on {
            return Err(EIO);
        }
        Ok(())
    }

    /// The device is being unbound, or failed for good: revoke everything
    /// for good. Once: a device that failed for good is unbound later.
    pub(crate) fn unbind(&self) {
        let transition = self.buffers.transition();
        let mut guard = transition.lock();
        if guard.state().gone {
            return;
        }
        guard.state_mut().gone = true;
        self.report(guard.revoke(revoke_timeout()));
    }

    /// A reset of the device is about to start, which turns its decoding
    /// off: every buffer is revoked first, as for memory off, and memory
    /// on/off waits for [`Self::reset_done`].
    pub(crate) fn reset_prepare(&self) {
        let transition = self.buffers.transition();
        let mut guard = transition.lock();
        // Revoked exactly while the device does not decode.
        let off = guard.is_revoked();
        let state = guard.state_mut();
        state.resetting = true;
        state.off_before_reset = off;
        if !off {
            self.report(guard.revoke(revoke_timeout()));
        }
    }

    /// Error recovery reset the link and wrote back the config space saved
    /// at probe, with decoding on: turned off again if it was off before,
    /// so that recovery does not undo a memory off. A write that fails
    /// leaves the buffers to follow what the device decodes (`reset_done`).
    pub(crate) fn link_reset_done(&self) {
        let transition = self.buffers.transition();
        let guard = transition.lock();
        if guard.state().off_before_reset {
            let _ = set_memory_decode(&self.pdev, false);
        }
    }

    /// The reset is over and the device's config space restored: the
    /// buffers follow the device again, accessible exactly while it decodes.
    pub(crate) fn reset_done(&self) {
        let transition = self.buffers.transition();
        let mut guard = transition.lock();
        guard.state_mut().resetting = false;
        if !guard.state().gone && guard.is_revoked() && memory_decode(&self.pdev) {
            guard.restore();
        }
    }

    /// Says what a revoke could not finish in time.
    fn report(&self, outcome: RevokeOutcome) {
        let ms = crate::params::revoke_timeout_ms();
        let dev = self.pdev.as_ref();
        if outcome.fences_pending != 0 {
            dev_warn!(
                dev,
                "revoke: fences of {} of {} buffers still unsignalled after {} ms, revoked anyway\n",
                outcome.fences_pending,
                outcome.buffers,
                ms
            );
        }
        if outcome.still_mapped != 0 {
            dev_warn!(
                dev,
                "revoke: importers still map {} of {} buffers after {} ms\n",
                outcome.still_mapped,
                outcome.buffers,
                ms
            );
        }
    }
}

/// How long a revoke waits, in all: the `revoke_timeout_ms` parameter.
fn revoke_timeout() -> Delta {
    Delta::from_millis(crate::params::revoke_timeout_ms().into())
}
