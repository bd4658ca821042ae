// SPDX-License-Identifier: GPL-2.0

//! The MMIO exporter of one PCI device: its exportable BARs, the buffers
//! exported from them, and revoke.
//!
//! # Lock order
//!
//! 1. the device lock (the lock of [`Exports`]: device state and the list of
//!    buffers);
//! 2. a buffer's reservation lock (`dma_resv`);
//! 3. the mmap lock of a task (`mm->mmap_lock`, held by the page fault path);
//! 4. a buffer's mapping lock (its state: revoked, mapping counts), then the
//!    core's own `i_mmap_rwsem` and page table locks.
//!
//! Revoke takes 1, then 2 for one buffer at a time, then 4. `map_dma_buf` and
//! `vmap` run under 2 (taken by the core) and take 4. A fault runs under 3
//! and takes 4. A buffer's `release` takes only 1, and runs from the last
//! `fput()` of its file, which is always deferred: revoke drops file
//! references under 1 without deadlock (unlike the dma_buf_try_get() of
//! "Allow MMIO regions to be exported through dmabuf", Dec 2024). Revoke
//! reaches a buffer only through `try_get`, which skips a buffer whose last
//! reference is gone instead of looping on it (as get_file_rcu() did on
//! i915's mmap singleton, Oct 2023). Lockdep checks this order in every
//! test run.
//!
//! # Revoke (memory off, unbind, module unload)
//!
//! Under the device lock, for each buffer it can still reference: take its
//! reservation lock, mark it revoked, invalidate the importers' mappings,
//! wait (at most `revoke_timeout_ms`) for the buffer's fences, unlock, zap
//! every CPU mapping, and wait (same bound) until importers have unmapped.
//! Memory decoding is turned off only after that. Restore turns decoding on
//! first, then clears `revoked` and tells importers they may map again.

use crate::{
    ext::{
        dma_buf::{DmaBuf, Exports, ExportsGuard},
        p2pdma::{P2pProvider, PhysRange},
        pci_bar::{self, BarKind},
    },
    mmio_buffer::{BufferKey, MmioBuffer},
};
use kernel::{
    page::PAGE_SIZE,
    pci,
    prelude::*,
    str::CString,
    sync::{aref::ARef, Arc},
    time::msecs_to_jiffies,
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

/// The exporter of one PCI device.
pub(crate) struct MmioDevice {
    name: CString,
    pdev: ARef<pci::Device>,
    regions: KVec<Region>,
    exports: Arc<Exports<MmioBuffer>>,
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
        Ok(Arc::new(
            Self {
                name,
                pdev,
                regions,
                exports,
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
        let guard = self.exports.lock();
        if guard.state().gone {
            return Err(ENODEV);
        }
        Ok((guard.state().memory_enabled, guard.len()))
    }

    /// Exports the ranges of `req`: a new buffer, or with `reuse` a live
    /// buffer with identical region, ranges and access mode if there is one.
    pub(crate) fn export(&self, req: ExportRequest) -> Result<DmaBuf> {
        let key = req.key;
        let region = self.regions.get(key.region as usize).ok_or(ENODEV)?;
        let provider = region.provider.as_ref().ok_or(ENODEV)?;
        let (ranges, size) = Self::check_ranges(region, &key.ranges)?;

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
        let buffer = MmioBuffer::new(
            key,
            ranges,
            size,
            region.kind.prefetch,
            provider.clone(),
            revoked,
        )?;
        guard.export(buffer, size, open_flags)
    }

    /// VFIO's `validate_dmabuf_input`, plus bounds: non-empty, page aligned
    /// ranges inside the BAR, no overflow. Returns physical ranges and the
    /// total size.
    fn check_ranges(region: &Region, req: &[(u64, u64)]) -> Result<(KVec<PhysRange>, usize)> {
        let mut ranges = KVec::with_capacity(req.len(), GFP_KERNEL)?;
        let mut size: usize = 0;
        let page = PAGE_SIZE as u64;
        for &(offset, len) in req {
            if len == 0 || offset % page != 0 || len % page != 0 {
                return Err(EINVAL);
            }
            let end = offset.checked_add(len).ok_or(EOVERFLOW)?;
            if end > region.len {
                return Err(EINVAL);
            }
            let len = usize::try_from(len).map_err(|_| EOVERFLOW)?;
            size = size.checked_add(len).ok_or(EOVERFLOW)?;
            ranges.push(PhysRange::new(region.start + offset, len), GFP_KERNEL)?;
        }
        // dma-buf sizes and DMA IOVA ranges are limited to what fits below
        // the sign bit (the core warns on larger IOVA requests).
        if size > isize::MAX as usize {
            return Err(EOVERFLOW);
        }
        Ok((ranges, size))
    }

    /// Turns memory decoding on or off, restoring or revoking every buffer.
    pub(crate) fn set_memory_enabled(&self, on: bool) -> Result {
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
        } else {
            guard.state_mut().memory_enabled = false;
            self.revoke_all(&guard);
            pci_bar::set_memory_decode(&self.pdev, false)?;
        }
        Ok(())
    }

    /// The device is being unbound: revoke everything for good.
    pub(crate) fn unbind(&self) {
        let mut guard = self.exports.lock();
        guard.state_mut().gone = true;
        self.revoke_all(&guard);
    }

    fn revoke_all(&self, guard: &ExportsGuard<'_, MmioBuffer>) {
        let timeout = msecs_to_jiffies(crate::revoke_timeout_ms());
        for exported in guard.buffers() {
            // A buffer whose last reference is gone has no importer and no
            // CPU mapping left (both hold references): nothing to revoke.
            let Some(buf) = exported.try_get() else {
                continue;
            };
            let data = exported.data();
            {
                let locked = buf.lock();
                data.set_revoked(true);
                locked.invalidate_mappings();
                if !locked.wait_fences(timeout) {
                    pr_warn!(
                        "{}: revoke: fences of a {} byte buffer still unsignalled after {} ms, revoking anyway\n",
                        self.name(),
                        data.size(),
                        crate::revoke_timeout_ms()
                    );
                }
            }
            buf.zap_cpu_mappings();
            if !data.wait_unmapped(timeout) {
                pr_warn!(
                    "{}: revoke: an importer still maps a {} byte buffer after {} ms\n",
                    self.name(),
                    data.size(),
                    crate::revoke_timeout_ms()
                );
            }
            // `fput()`: deferred, never `release` here.
            drop(buf);
        }
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
