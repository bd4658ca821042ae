// SPDX-License-Identifier: GPL-2.0

//! A PCI driver that is told about resets of its device and about error
//! recovery (`struct pci_error_handlers`), which `kernel::pci::Driver` does
//! not offer yet.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h).
//!
//! [`RecoveryAdapter`] registers a [`Recovery`] driver exactly as
//! `kernel::pci::Adapter` does (its probe and remove, its per-device data),
//! with an error-handler table added. The PCI core calls every handler with
//! the device lock held and only while the device is bound to the driver
//! (`dev->driver` is read under that lock), so between probe and remove:
//! the per-device data is there, as in remove.
//!
//! One caller breaks that rule: Xen's PCI frontend (`xen-pcifront`, a guest
//! of a Xen host with a passed-through device) calls `error_detected`,
//! `slot_reset` and `resume` for errors the host forwards without taking
//! the device lock, racing every driver's remove, C or Rust. A driver
//! bound there can be unbound while recovery runs; this abstraction cannot
//! close that race from the driver's side.

use super::device::raw;
use core::marker::PhantomData;
use kernel::{
    bindings,
    device::{
        self,
        Core, //
    },
    driver,
    pci,
    prelude::*,
    types::Opaque,
    ThisModule, //
};

/// The state of the device's link that error recovery reports.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ChannelState {
    /// The error did not stop the device: MMIO and DMA still work.
    Normal,
    /// MMIO and DMA are blocked; a reset of the link follows.
    Frozen,
    /// The device is gone for good.
    PermanentFailure,
}

/// What a driver tells error recovery.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Verdict {
    /// The device works on without a reset.
    CanRecover,
    /// The device needs a reset ([`Recovery::slot_reset`] follows).
    NeedReset,
    /// The device is beyond recovery.
    Disconnect,
    /// The device works again.
    Recovered,
}

impl Verdict {
    fn to_raw(self) -> bindings::pci_ers_result_t {
        match self {
            Self::CanRecover => bindings::pci_ers_result_PCI_ERS_RESULT_CAN_RECOVER,
            Self::NeedReset => bindings::pci_ers_result_PCI_ERS_RESULT_NEED_RESET,
            Self::Disconnect => bindings::pci_ers_result_PCI_ERS_RESULT_DISCONNECT,
            Self::Recovered => bindings::pci_ers_result_PCI_ERS_RESULT_RECOVERED,
        }
    }
}

/// A PCI driver that handles resets of its device and error recovery.
///
/// Each method runs with the device lock held, between probe and unbind.
pub(crate) trait Recovery: pci::Driver {
    /// A reset of the device is about to start (a function reset, a reset
    /// of its bus, or recovery's link reset): the core then saves its
    /// config space and turns it off.
    fn reset_prepare(pdev: &pci::Device<Core<'_>>, this: Pin<&Self::Data<'_>>);

    /// The reset is over and the config space restored.
    fn reset_done(pdev: &pci::Device<Core<'_>>, this: Pin<&Self::Data<'_>>);

    /// An uncorrectable error on the device or its link.
    fn error_detected(
        pdev: &pci::Device<Core<'_>>,
        this: Pin<&Self::Data<'_>>,
        state: ChannelState,
    ) -> Verdict;

    /// The link was reset after [`Verdict::NeedReset`]; the config space is
    /// as the reset left it, not restored.
    fn slot_reset(pdev: &pci::Device<Core<'_>>, this: Pin<&Self::Data<'_>>) -> Verdict;

    /// Recovery is over: the device may be used again.
    fn resume(pdev: &pci::Device<Core<'_>>, this: Pin<&Self::Data<'_>>);
}

/// Saves the device's config space, which [`restore_state`] writes back
/// (`pci_save_state()`).
pub(crate) fn save_state(pdev: &pci::Device<Core<'_>>) {
    // SAFETY: `pdev` is a valid, bound PCI device; the caller holds its
    // device lock (`Core`), which serialises saving and restoring its state.
    unsafe { bindings::pci_save_state(raw(pdev)) };
}

/// Writes back the config space [`save_state`] saved, and keeps it saved
/// for the next reset (`pci_restore_state()`, `pci_save_state()`).
pub(crate) fn restore_state(pdev: &pci::Device<Core<'_>>) {
    // SAFETY: As in `save_state`.
    unsafe {
        bindings::pci_restore_state(raw(pdev));
        bindings::pci_save_state(raw(pdev));
    }
}

/// Registers a [`Recovery`] driver: `kernel::pci::Adapter` with an error
/// handler table.
pub(crate) struct RecoveryAdapter<T: Recovery>(PhantomData<T>);

// SAFETY: The same layout as `pci::Adapter<T>`'s, which this delegates to:
// `struct pci_driver` (`repr(C)`, embedding a `struct device_driver` at the
// offset given), with `T::Data` as the device's private data.
unsafe impl<T: Recovery> driver::DriverLayout for RecoveryAdapter<T> {
    type DriverType = bindings::pci_driver;
    type DriverData<'bound> = T::Data<'bound>;
    const DEVICE_DRIVER_OFFSET: usize =
        <pci::Adapter<T> as driver::DriverLayout>::DEVICE_DRIVER_OFFSET;
}

// SAFETY: `register` and `unregister` are `pci::Adapter<T>`'s, which keep
// its contract; `register` only adds `err_handler` first.
unsafe impl<T: Recovery> driver::RegistrationOps for RecoveryAdapter<T> {
    unsafe fn register(
        pdrv: &Opaque<Self::DriverType>,
        name: &'static CStr,
        module: &'static ThisModule,
    ) -> Result {
        // SAFETY: `pdrv` is valid and not registered yet, so nothing else
        // reads it; `HANDLERS` is a `'static` table.
        unsafe { (*pdrv.get()).err_handler = &Self::HANDLERS };
        // SAFETY: Our caller's guarantees are those `pci::Adapter` needs.
        unsafe { <pci::Adapter<T> as driver::RegistrationOps>::register(pdrv, name, module) }
    }

    unsafe fn unregister(pdrv: &Opaque<Self::DriverType>) {
        // SAFETY: `register` succeeded for `pdrv`, through `pci::Adapter`.
        unsafe { <pci::Adapter<T> as driver::RegistrationOps>::unregister(pdrv) }
    }
}

impl<T: Recovery> RecoveryAdapter<T> {
    const HANDLERS: bindings::pci_error_handlers = bindings::pci_error_handlers {
        error_detected: Some(Self::error_detected_callback),
        mmio_enabled: None,
        slot_reset: Some(Self::slot_reset_callback),
        reset_prepare: Some(Self::reset_prepare_callback),
        reset_done: Some(Self::reset_done_callback),
        resume: Some(Self::resume_callback),
        cor_error_detected: None,
    };

    /// Runs `f` on the bound device and its data.
    ///
    /// # Safety
    ///
    /// `pdev` is a PCI device bound to this driver, whose device lock the
    /// caller holds (the PCI core, calling an error handler).
    unsafe fn with_bound<R>(
        pdev: *mut bindings::pci_dev,
        f: impl FnOnce(&pci::Device<Core<'_>>, Pin<&T::Data<'_>>) -> R,
    ) -> R {
        // SAFETY: `pci::Device` is a transparent wrapper of `struct
        // pci_dev`; the device is valid while its lock is held, and the
        // lock and the binding are what `CoreInternal` stands for.
        let pdev = unsafe { &*pdev.cast::<pci::Device<device::CoreInternal<'_>>>() };
        // SAFETY: The device is bound to this driver, so `pci::Adapter`'s
        // probe stored its `Pin<KBox<T::Data>>` (`set_drvdata()`), and its
        // remove, which takes it, cannot run while we hold the lock.
        let data = unsafe { pdev.as_ref().drvdata_borrow::<T::Data<'_>>() };
        f(pdev, data)
    }

    extern "C" fn error_detected_callback(
        pdev: *mut bindings::pci_dev,
        state: bindings::pci_channel_state_t,
    ) -> bindings::pci_ers_result_t {
        let state = if state == bindings::pci_channel_io_normal {
            ChannelState::Normal
        } else if state == bindings::pci_channel_io_frozen {
            ChannelState::Frozen
        } else {
            ChannelState::PermanentFailure
        };
        // SAFETY: The PCI core calls error handlers on a bound device with
        // its device lock held; but for Xen's frontend, which does not take
        // the lock (see the module documentation).
        unsafe { Self::with_bound(pdev, |p, d| T::error_detected(p, d, state)) }.to_raw()
    }

    extern "C" fn slot_reset_callback(pdev: *mut bindings::pci_dev) -> bindings::pci_ers_result_t {
        // SAFETY: As in `error_detected_callback`.
        unsafe { Self::with_bound(pdev, T::slot_reset) }.to_raw()
    }

    extern "C" fn reset_prepare_callback(pdev: *mut bindings::pci_dev) {
        // SAFETY: The PCI core calls it with the device lock held
        // (`pci_dev_save_and_disable()` asserts it), on a bound device.
        unsafe { Self::with_bound(pdev, T::reset_prepare) }
    }

    extern "C" fn reset_done_callback(pdev: *mut bindings::pci_dev) {
        // SAFETY: As in `reset_prepare_callback` (`pci_dev_restore()`).
        unsafe { Self::with_bound(pdev, T::reset_done) }
    }

    extern "C" fn resume_callback(pdev: *mut bindings::pci_dev) {
        // SAFETY: As in `error_detected_callback`.
        unsafe { Self::with_bound(pdev, T::resume) }
    }
}
