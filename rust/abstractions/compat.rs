// SPDX-License-Identifier: GPL-2.0

//! What differs between the kernel crates of the Linux releases fencebuf
//! supports, in one place, so that the rest of the module is one source for
//! all of them (Documentation/fencebuf/kernels.rst).
//!
//! Kbuild sets `fencebuf_kernel_at_least = "X.Y"` for every supported
//! release up to the target kernel's (`scripts/kbuild/release-cfg.mk`).
//! Each item below is written for the newest release first; the gate names
//! the release that brought the change. A difference that only changes
//! which file implements a type selects the file in `mod.rs` instead
//! (`miscdevice`).

use kernel::{
    error::Error,
    time::Delta,
    ThisModule, //
};

/// `pci::Driver::probe`'s ID info: `None` when the device was bound
/// through `driver_override` or a dynamic ID since 7.3; the first entry's
/// info then before.
#[cfg(fencebuf_kernel_at_least = "7.3")]
pub(crate) type ProbeInfo<'a, T> = Option<&'a T>;
#[cfg(not(fencebuf_kernel_at_least = "7.3"))]
pub(crate) type ProbeInfo<'a, T> = &'a T;

/// `kernel::pci_device_table!` with 7.3's arguments; 7.2's also name the
/// table's modpost alias.
#[cfg(fencebuf_kernel_at_least = "7.3")]
macro_rules! fb_pci_device_table {
    ($($args:tt)*) => {
        ::kernel::pci_device_table!($($args)*);
    };
}
#[cfg(not(fencebuf_kernel_at_least = "7.3"))]
macro_rules! fb_pci_device_table {
    ($table:ident, $info:ty, $($data:tt)*) => {
        ::kernel::pci_device_table!($table, MODULE_PCI_TABLE, $info, $($data)*);
    };
}
pub(crate) use fb_pci_device_table as pci_device_table;

/// This module: an associated constant of `ModuleMetadata` since 7.3, a
/// static at the crate's root, made by `module!`, before.
pub(crate) const fn this_module() -> &'static ThisModule {
    #[cfg(fencebuf_kernel_at_least = "7.3")]
    return &<crate::LocalModule as kernel::ModuleMetadata>::THIS_MODULE;
    #[cfg(not(fencebuf_kernel_at_least = "7.3"))]
    return &crate::THIS_MODULE;
}

/// The value of an integer parameter of `module!`: `value()` returns a copy
/// since 7.3, a reference before.
pub(crate) fn param_value<T: Copy + kernel::module_param::ModuleParam>(
    p: &kernel::module_param::ModuleParamAccess<T>,
) -> T {
    #[cfg(fencebuf_kernel_at_least = "7.3")]
    return p.value();
    #[cfg(not(fencebuf_kernel_at_least = "7.3"))]
    return *p.value();
}

/// The fewest whole milliseconds that are at least `d`, which is not
/// negative: `Delta::as_millis_ceil()` since 7.3.
pub(crate) fn millis_ceil(d: Delta) -> i64 {
    #[cfg(fencebuf_kernel_at_least = "7.3")]
    return d.as_millis_ceil();
    #[cfg(not(fencebuf_kernel_at_least = "7.3"))]
    return (d.as_nanos() + 999_999) / 1_000_000;
}

/// The head `kvfree_call_rcu()` takes: `struct kvfree_rcu_head` since 7.3,
/// `struct rcu_head` (bindgen's `callback_head`) before.
#[cfg(fencebuf_kernel_at_least = "7.3")]
pub(crate) type KvfreeRcuHead = kernel::bindings::kvfree_rcu_head;
#[cfg(not(fencebuf_kernel_at_least = "7.3"))]
pub(crate) type KvfreeRcuHead = kernel::bindings::callback_head;

/// `EOPNOTSUPP`, a constant of `kernel::error::code` since 7.3.
pub(crate) fn eopnotsupp() -> Error {
    #[cfg(fencebuf_kernel_at_least = "7.3")]
    return kernel::error::code::EOPNOTSUPP;
    // CAST: a small positive constant.
    #[cfg(not(fencebuf_kernel_at_least = "7.3"))]
    return Error::from_errno(-(kernel::bindings::EOPNOTSUPP as i32));
}

/// `ECANCELED`, a constant of `kernel::error::code` since 7.3.
pub(crate) fn ecanceled() -> Error {
    #[cfg(fencebuf_kernel_at_least = "7.3")]
    return kernel::error::code::ECANCELED;
    // CAST: a small positive constant.
    #[cfg(not(fencebuf_kernel_at_least = "7.3"))]
    return Error::from_errno(-(kernel::bindings::ECANCELED as i32));
}

/// `VM_MAYSHARE`. Linux 7.2's `rust/bindings/bindings_helper.h` defines it
/// as `VM_MAYEXEC`, so there `bindings::VM_MAYSHARE` and
/// `mm::virt::flags::MAYSHARE` are `VM_MAYEXEC` (`1 << 6`), which a dma-buf
/// (on a noexec mount) never has: every mmap would fail. 7.3 has the fix;
/// the bit is `DECLARE_VMA_BIT(MAYSHARE, 7)` in `include/linux/mm.h`.
#[cfg(fencebuf_kernel_at_least = "7.3")]
pub(crate) const VM_MAYSHARE: kernel::mm::virt::vm_flags_t = kernel::mm::virt::flags::MAYSHARE;
#[cfg(not(fencebuf_kernel_at_least = "7.3"))]
pub(crate) const VM_MAYSHARE: kernel::mm::virt::vm_flags_t = 1 << 7;
