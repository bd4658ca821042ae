// SPDX-License-Identifier: GPL-2.0

//! Lazily populated PFN mappings of I/O memory: VMA set-up and page faults.
//!
//! C header: [`include/linux/mm.h`](srctree/include/linux/mm.h).
//!
//! A mapping is set up empty; each first touch of a page faults, and the fault
//! handler decides, under its own lock, whether to insert the page frame or to
//! refuse with `SIGBUS`. Zapping the mappings of a file (under the same lock
//! discipline) therefore revokes every CPU access at once, and a later fault
//! re-inserts the frame when access is allowed again.

use super::io_range::IoPfn;
use kernel::{
    bindings,
    ffi::c_void,
    fs::File,
    mm::virt::{
        flags,
        VmaNew, //
    },
    prelude::*, //
};

// The VMA and its operations are typed `void *`: bindgen's `vm_area_struct`
// is not FFI-safe, nor is `vm_operations_struct`, whose handlers take VMAs:
// both reach structs that some configurations leave empty (`struct
// lock_class_key` without lockdep), which `improper_ctypes` rejects.
extern "C" {
    fn fencebuf_vma_set_pfnmap(vma: *mut c_void, ops: *const c_void, write_combine: bool);
}

/// Makes a VMA being set up a lazily populated PFN mapping of I/O memory
/// whose faults `ops` handles: never copied on fork, never expanded by
/// mremap, never dumped, uncached or write-combined.
///
/// `EINVAL` for a private (copy-on-write) mapping, which I/O memory cannot
/// back (`vmf_insert_pfn()` BUG()s on one). A shared mapping of a file
/// opened read-only is not copy-on-write: `mmap()` clears its `VM_SHARED`
/// and `VM_MAYWRITE` but keeps `VM_MAYSHARE`, and the core then refuses
/// `PROT_WRITE`, at `mmap()` and at `mprotect()`.
pub(crate) fn set_io_pfnmap(vma: &VmaNew, ops: &'static FaultOps, write_combine: bool) -> Result {
    let f = vma.flags();
    // C's `is_cow_mapping()`.
    let cow = f & (flags::SHARED | flags::MAYWRITE) == flags::MAYWRITE;
    if f & super::compat::VM_MAYSHARE == 0 || cow {
        return Err(EINVAL);
    }
    vma.set_io();
    vma.set_dontexpand();
    vma.set_dontcopy();
    vma.set_dontdump();
    // `VmaNew` has no way to set `VM_PFNMAP`, the protection or the
    // operations: the helper does.
    // SAFETY: The VMA is being set up (`VmaNew`'s invariant); `ops` is a
    // static `vm_operations_struct`.
    unsafe {
        fencebuf_vma_set_pfnmap(
            vma.as_ptr().cast(),
            core::ptr::from_ref(&ops.0).cast(),
            write_combine,
        )
    };
    Ok(())
}

/// A `vm_operations_struct` with just a fault handler.
#[repr(transparent)]
pub(crate) struct FaultOps(bindings::vm_operations_struct);

// SAFETY: Only function pointers, never written after construction.
unsafe impl Sync for FaultOps {}

impl FaultOps {
    /// Operations whose page faults `fault` handles.
    pub(crate) const fn new(
        fault: unsafe extern "C" fn(*mut bindings::vm_fault) -> bindings::vm_fault_t,
    ) -> Self {
        // SAFETY: All-zero is a valid `vm_operations_struct` (no operations).
        let mut ops: bindings::vm_operations_struct = unsafe { core::mem::zeroed() };
        ops.fault = Some(fault);
        Self(ops)
    }
}

/// A page fault in a mapping set up with [`set_io_pfnmap`].
///
/// # Invariants
///
/// The fault is being handled: its VMA is alive and its `mmap_lock` (or VMA
/// lock) is held.
#[repr(transparent)]
pub(crate) struct Fault(bindings::vm_fault);

/// What a fault handler returns.
pub(crate) struct FaultResult(bindings::vm_fault_t);

impl FaultResult {
    /// The access is refused: the task gets `SIGBUS`.
    pub(crate) const SIGBUS: Self = Self(bindings::vm_fault_reason_VM_FAULT_SIGBUS);

    /// The raw value for the C caller.
    pub(crate) fn into_raw(self) -> bindings::vm_fault_t {
        self.0
    }
}

impl Fault {
    /// # Safety
    ///
    /// `vmf` is the fault passed to a `.fault` handler, valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(vmf: *mut bindings::vm_fault) -> &'a Self {
        // SAFETY: Transparent wrapper; validity is the caller's guarantee.
        unsafe { &*vmf.cast::<Self>() }
    }

    /// The file the faulting VMA maps.
    pub(crate) fn file(&self) -> &File {
        // SAFETY: The VMA is alive while the fault is handled and holds a
        // reference to its file, which is never NULL for these mappings.
        unsafe { File::from_raw_file((*self.0.__bindgen_anon_1.vma).vm_file) }
    }

    /// Offset of the faulting page in the file, in pages.
    pub(crate) fn pgoff(&self) -> usize {
        self.0.__bindgen_anon_1.pgoff
    }

    /// Maps page frame `pfn` of device memory at the faulting address, with
    /// the VMA's protection (uncached or write-combined).
    pub(crate) fn insert_pfn(&self, pfn: IoPfn) -> FaultResult {
        let f = &self.0.__bindgen_anon_1;
        // SAFETY: The VMA is a PFN mapping (set up by `set_io_pfnmap`, which
        // refuses copy-on-write ones), alive and locked while
        // the fault is handled; the address is the faulting one, inside it;
        // the frame is device memory (`IoPfn`'s invariant), not RAM.
        // CAST: `unsigned long` is 64 bits wide on every 64-bit kernel.
        FaultResult(unsafe { bindings::vmf_insert_pfn(f.vma, f.address, pfn.as_raw() as c_ulong) })
    }
}

/// Whether any VMA maps the address space `mapping`: C's
/// `mapping_mapped()`, one load without the `i_mmap` lock, as in the
/// kernel's own truncation paths.
///
/// A mapping linked into `i_mmap` concurrently is missed only if none of
/// its faults happened before the caller's last synchronisation with the
/// fault path: a caller that first makes every later fault fail
/// (fencebuf's revoke marks the buffer under the lock its fault handler
/// takes) misses only mappings with no page to zap. Any VMA that did fault
/// was linked before its fault, under the mmap lock, and that ordering
/// reaches the caller through the lock.
///
/// # Safety
///
/// `mapping` is valid memory for the call (an inode's, while the inode is,
/// or until an RCU grace period after it was put).
pub(crate) unsafe fn mapping_mapped(mapping: *const bindings::address_space) -> bool {
    // SAFETY: `mapping` is valid (caller's guarantee); a racy read of a
    // pointer, `READ_ONCE()` as in C's `RB_EMPTY_ROOT()`.
    let root = unsafe { core::ptr::read_volatile(&raw const (*mapping).i_mmap.rb_root.rb_node) };
    !root.is_null()
}

/// Zaps every page that any VMA maps of the address space `mapping`: the
/// next access faults. A file no VMA maps costs one load (see
/// [`mapping_mapped`], which says which concurrent mappings it misses).
///
/// # Safety
///
/// `mapping` is alive for the call (an inode's, while the inode is).
pub(crate) unsafe fn zap_mappings(mapping: *mut bindings::address_space) {
    // SAFETY: `mapping` is alive (caller's guarantee).
    if !unsafe { mapping_mapped(mapping) } {
        return;
    }
    // SAFETY: As above. Zero pages means "to the end"; `even_cows` zaps
    // private copies too. Not `unmap_mapping_range()`, which only turns
    // bytes into these pages (one call per buffer of a revoke).
    unsafe { bindings::unmap_mapping_pages(mapping, 0, 0, true) };
}
