// SPDX-License-Identifier: GPL-2.0

//! The MMIO exporter of one PCI device: its exportable BARs, the buffers
//! exported from them, and revoke.
//!
//! # Lock order
//!
//! What fencebuf takes, outermost first, and where the core's locks fall:
//!
//! 1. the transition lock of a device (serialises memory on/off and unbind;
//!    on unbind the driver core's PCI device lock is held around it);
//! 2. the device lock (the lock of [`Exports`]: device state and the list of
//!    buffers);
//! 3. the mmap lock of a task (`mm->mmap_lock`: the page fault path holds it);
//! 4. a buffer's reservation lock (`dma_resv`; the core primes mmap_lock ->
//!    dma_resv at boot, so nothing may fault or take the mmap lock under it);
//! 5. a buffer's mapping lock (its state: revoked, mapping counts), the
//!    innermost.
//!
//! A revoke takes 1, then 2, and under 2, for one buffer at a time, 4 then
//! 5: it marks the buffer revoked and invalidates its importers. It then
//! drops 2 and, holding only 1, waits for each buffer's fences, zaps its CPU
//! mappings and waits until importers have unmapped. The zap
//! (`unmap_mapping_range`) takes `i_mmap_rwsem` and page table locks and
//! runs the MMU notifiers of every range mirrored over a zapped mapping, for
//! example an importer's userptr object aliased over it with MAP_FIXED.
//! Those notifiers therefore run under lock 1 only, never under 2. A
//! notifier that waits on a fence which a task signals after an EXPORT, or
//! that drops a reference to a buffer (whose `release` takes 2), cannot
//! deadlock against the revoke, unlike i915's userptr notifier, which needed
//! the struct_mutex its own zapping thread held ("drm/i915/userptr: Avoid
//! struct_mutex recursion for mmu_invalidate_range_start", Nov 2018). The
//! revoke also holds its own reference to every buffer until it has
//! finished, so such a drop is never the last. A notifier must still not
//! take a reservation lock (fs_reclaim and MMU notifiers are primed inside
//! it) and must not call back into fencebuf's device: lockdep checks both.
//!
//! `map_dma_buf` and `vmap` run under 4 (taken by the core) and take 5. A
//! fault runs under 3 and takes 5. A buffer's `release` takes only 2, and
//! runs from the last `fput()` of its file, which is always deferred: revoke
//! drops file references without running `release` (unlike the
//! dma_buf_try_get() of "Allow MMIO regions to be exported through dmabuf",
//! Dec 2024). Revoke reaches a buffer only through `try_get`, which skips a
//! buffer whose last reference is gone instead of looping on it (as
//! get_file_rcu() did on i915's mmap singleton, Oct 2023). Lockdep checks
//! this order in every test run, and the `userptr` suite, which puts MMU
//! notifiers on the zap, compares it with what lockdep recorded (the lock
//! classes are named `MmioDevice::transition`, `Exports::inner` and
//! `MmioBuffer::state`).
//!
//! # Revoke (memory off, unbind, module unload)
//!
//! Under the transition lock: first, under the device lock, every buffer it
//! can still reference is marked revoked (faults, maps and vmaps fail from
//! then on; buffers exported later are born revoked) and its importers'
//! mappings are invalidated. Then, without the device lock, for each buffer:
//! wait (at most `revoke_timeout_ms`) for its fences, zap every CPU mapping,
//! and wait (same bound) until importers have unmapped. Memory decoding is
//! turned off only after that. The references for the second half are held
//! in a vector allocated first, so memory off either fails with `ENOMEM`
//! before changing anything or revokes everything; unbind, which cannot
//! fail, finishes each buffer under the device lock if that allocation fails.
//! Restore turns decoding on first, then clears `revoked` and tells
//! importers they may map again, all under the device lock: it zaps nothing.

use crate::{
    ext::{
        dma_buf::{DmaBuf, Exported, Exports, ExportsGuard},
        p2pdma::P2pProvider,
        pci_bar::{self, BarKind},
    },
    mmio_buffer::{BarRanges, BufferKey, MmioBuffer},
};
use kernel::{
    new_mutex, pci,
    prelude::*,
    str::CString,
    sync::{aref::ARef, Arc, Mutex},
    time::{msecs_to_jiffies, Jiffies},
};

/// BARs of a PCI device.
pub(crate) const NUM_REGIONS: usize = 6;

/// The most ranges one EXPORT accepts.
pub(crate) const MAX_RANGES: usize = 256;

/// A BAR the exporter may export from.
pub(crate) struct Region {
    pub(crate) start: u64,
    pub(crate) len: u64,
    pub(crate) kind: BarKind,
    /// `None` if the BAR is not exportable (not memory, or not claimed).
    pub(crate) provider: Option<P2pProvider>,
}

/// The device state, behind the device lock.
pub(crate) struct DeviceState {
    memory_enabled: bool,
    /// The device was unbound: nothing can be exported, enabled or restored.
    gone: bool,
}

/// What an EXPORT asks for, read from userspace.
pub(crate) struct ExportRequest {
    pub(crate) key: BufferKey,
    pub(crate) reuse: bool,
}

/// Buffers a revoke holds between its two halves.
type Held = KVVec<(DmaBuf, Arc<MmioBuffer>)>;

/// The exporter of one PCI device.
#[pin_data]
pub(crate) struct MmioDevice {
    name: CString,
    pdev: ARef<pci::Device>,
    regions: KVec<Region>,
    exports: Arc<Exports<MmioBuffer>>,
    /// Serialises memory on/off and unbind; the only fencebuf lock held
    /// while a revoke zaps CPU mappings (see "Lock order").
    #[pin]
    transition: Mutex<()>,
}

impl MmioDevice {
    /// An exporter for `pdev` with the given BARs; memory decoding is on.
    pub(crate) fn new(
        pdev: ARef<pci::Device>,
        regions: KVec<Region>,
        module: &'static ThisModule,
    ) -> Result<Arc<Self>> {
        let name = CString::try_from_fmt(fmt!("{}", pci_bar::name(&pdev)))?;
        let exports = Exports::new(
            module,
            c"fencebuf",
            DeviceState {
                memory_enabled: pci_bar::memory_decode(&pdev),
                gone: false,
            },
        )?;
        Arc::pin_init(
            try_pin_init!(Self {
                name,
                pdev,
                regions,
                exports,
                transition <- new_mutex!((), "MmioDevice::transition"),
            }),
            GFP_KERNEL,
        )
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
        let guard = self.exports.lock();
        if guard.state().gone {
            return Err(ENODEV);
        }
        Ok((guard.state().memory_enabled, guard.len()))
    }

    /// Checks `n` ranges of BAR `region`, each `(offset, length)` given by
    /// `next`: `ENODEV` if the BAR is not exportable, then as
    /// [`BarRanges::check`].
    pub(crate) fn bar_ranges(
        &self,
        region: u32,
        n: usize,
        next: impl FnMut() -> Result<(u64, u64)>,
    ) -> Result<BarRanges> {
        let bar = self.regions.get(region as usize).ok_or(ENODEV)?;
        if bar.provider.is_none() {
            return Err(ENODEV);
        }
        BarRanges::check(region, bar.start, bar.len, n, next)
    }

    /// Exports the ranges of `req`: a new buffer, or with `reuse` a live
    /// buffer with identical region, ranges and access mode if there is one.
    pub(crate) fn export(&self, req: ExportRequest) -> Result<DmaBuf> {
        let key = req.key;
        let region = self
            .regions
            .get(key.ranges.region() as usize)
            .ok_or(ENODEV)?;
        let provider = region.provider.as_ref().ok_or(ENODEV)?;

        let mut guard = self.exports.lock();
        if guard.state().gone {
            return Err(ENODEV);
        }
        if req.reuse {
            // One pass over the list; a dying buffer is skipped, not waited
            // for (the get_file_rcu() loop, Oct 2023).
            let found = guard
                .buffers()
                .filter(|b| *b.data().key() == key)
                .find_map(|b| b.try_get());
            if let Some(buf) = found {
                return Ok(buf);
            }
        }
        let revoked = !guard.state().memory_enabled;
        let open_flags = key.open_flags;
        let buffer = MmioBuffer::new(key, region.kind.prefetch, provider.clone(), revoked)?;
        let size = buffer.size();
        guard.export(buffer, size, open_flags)
    }

    /// Turns memory decoding on or off, restoring or revoking every buffer.
    pub(crate) fn set_memory_enabled(&self, on: bool) -> Result {
        let _transition = self.transition.lock();
        let mut guard = self.exports.lock();
        if guard.state().gone {
            return Err(ENODEV);
        }
        if guard.state().memory_enabled == on {
            return Ok(());
        }
        if on {
            pci_bar::set_memory_decode(&self.pdev, true)?;
            guard.state_mut().memory_enabled = true;
            self.restore_all(&guard);
            return Ok(());
        }
        // Room for a reference to every buffer, before anything changes: a
        // failure leaves the device as it was.
        let held = KVVec::with_capacity(guard.len(), GFP_KERNEL)?;
        guard.state_mut().memory_enabled = false;
        self.revoke_all(guard, held);
        // Only now: no CPU or importer mapping is left to touch the BAR.
        pci_bar::set_memory_decode(&self.pdev, false)
    }

    /// The device is being unbound: revoke everything for good.
    pub(crate) fn unbind(&self) {
        let _transition = self.transition.lock();
        let mut guard = self.exports.lock();
        guard.state_mut().gone = true;
        match KVVec::with_capacity(guard.len(), GFP_KERNEL) {
            Ok(held) => self.revoke_all(guard, held),
            // Unbind cannot fail. Without room for the references, each
            // buffer is finished under the device lock, as a revoke did
            // before it was split in two.
            Err(_) => {
                let timeout = msecs_to_jiffies(crate::revoke_timeout_ms());
                for exported in guard.buffers() {
                    if let Some(buf) = Self::revoke_mark(&exported) {
                        self.revoke_finish(buf, exported.data(), timeout);
                    }
                }
            }
        }
    }

    /// Revokes every buffer: the first half under the device lock, which
    /// `guard` holds and which is dropped here, the second without it.
    /// `held` has room for a reference to every buffer.
    fn revoke_all(&self, guard: ExportsGuard<'_, MmioBuffer>, mut held: Held) {
        for exported in guard.buffers() {
            if let Some(buf) = Self::revoke_mark(&exported) {
                // Cannot fail: `held` has room for every buffer on the list,
                // and the list cannot grow while the device lock is held.
                let _ = held.push_within_capacity((buf, exported.data().clone()));
            }
        }
        drop(guard);
        let timeout = msecs_to_jiffies(crate::revoke_timeout_ms());
        for (buf, data) in held {
            self.revoke_finish(buf, &data, timeout);
        }
    }

    /// Marks one buffer revoked and invalidates its importers' mappings,
    /// under its reservation lock. `None` for a buffer whose last reference
    /// is gone: it has no importer and no CPU mapping left (both hold
    /// references), so nothing to revoke.
    fn revoke_mark(exported: &Exported<'_, MmioBuffer>) -> Option<DmaBuf> {
        let buf = exported.try_get()?;
        {
            let locked = buf.lock();
            exported.data().set_revoked(true);
            locked.invalidate_mappings();
        }
        Some(buf)
    }

    /// The second half of a buffer's revoke, without the device lock: wait
    /// for its fences, zap its CPU mappings (which runs the MMU notifiers of
    /// every range mirrored over them), wait until importers have unmapped.
    /// Each wait is bounded by `timeout`, `revoke_timeout_ms` read once per
    /// revoke.
    fn revoke_finish(&self, buf: DmaBuf, data: &MmioBuffer, timeout: Jiffies) {
        if !buf.wait_fences(timeout) {
            dev_warn!(
                self.pdev.as_ref(),
                "revoke: fences of a {} byte buffer still unsignalled after {} ms, revoking anyway\n",
                data.size(),
                crate::revoke_timeout_ms()
            );
        }
        buf.zap_cpu_mappings();
        if !data.wait_unmapped(timeout) {
            dev_warn!(
                self.pdev.as_ref(),
                "revoke: an importer still maps a {} byte buffer after {} ms\n",
                data.size(),
                crate::revoke_timeout_ms()
            );
        }
        // `fput()`: deferred, never `release` here.
        drop(buf);
    }

    fn restore_all(&self, guard: &ExportsGuard<'_, MmioBuffer>) {
        for exported in guard.buffers() {
            let Some(buf) = exported.try_get() else {
                continue;
            };
            let locked = buf.lock();
            exported.data().set_revoked(false);
            // Importers may map again.
            locked.invalidate_mappings();
        }
    }
}
