// SPDX-License-Identifier: GPL-2.0

//! The PCI driver: binds the QEMU ivshmem device (1af4:1110) by ID, and any
//! other PCI device through `driver_override`, and makes an MMIO exporter of
//! each.
//!
//! Probe enables the device for memory, claims every memory BAR and sets up
//! P2P providers for them, then registers `/dev/fencebuf/<pci-address>`.
//! Unbind revokes every buffer for good, then (dropping the bound data in
//! field order) removes the node, empties the providers, releases the BARs
//! and disables the device. Buffers outlive the binding, revoked.
//!
//! A reset of the device (a function or bus reset, through sysfs or another
//! driver) revokes every buffer before the device stops decoding, and the
//! buffers follow the restored device afterwards. Error recovery does the
//! same around its recovery, writing back the config space saved at probe
//! after a link reset; a device that failed for good is treated as unbound.

use super::{
    device::{
        MmioDevice,
        Region,
        NUM_REGIONS, //
    },
    file::ExporterFile, //
};
use crate::abstractions::{
    compat,
    miscdevice::MiscNode,
    pci::{
        bar_kind,
        reserve_write_combining,
        restore_state,
        save_state,
        BarClaim,
        ChannelState,
        MemEnabled,
        ProviderOwner,
        Recovery,
        Verdict, //
    }, //
};
use kernel::{
    device::{
        Bound,
        Core, //
    },
    pci,
    prelude::*,
    str::CString,
    sync::Arc, //
};

/// The driver.
pub(crate) struct FencebufPci;

compat::pci_device_table!(
    PCI_TABLE,
    <FencebufPci as pci::Driver>::IdInfo,
    [(
        pci::DeviceId::from_id(pci::Vendor::REDHAT_QUMRANET, 0x1110),
        ()
    )]
);

/// A bound device. Fields drop in order: the node first, the device's
/// enablement last.
#[pin_data]
pub(crate) struct BoundDevice<'bound> {
    #[pin]
    node: MiscNode<ExporterFile>,
    dev: Arc<MmioDevice>,
    _providers: KVec<ProviderOwner<'bound>>,
    _claims: KVec<BarClaim<'bound>>,
    _enabled: MemEnabled<'bound>,
}

impl pci::Driver for FencebufPci {
    type IdInfo = ();
    type Data<'bound> = BoundDevice<'bound>;
    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: compat::ProbeInfo<'bound, Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pin_init::pin_init_scope(move || {
            let bound: &'bound pci::Device<Bound> = pdev;
            let enabled = MemEnabled::new(bound)?;
            let mut claims = KVec::new();
            let mut providers = KVec::new();
            let mut regions = KVec::with_capacity(NUM_REGIONS, GFP_KERNEL)?;
            // CAST: 6 fits in `u32`.
            for bar in 0..NUM_REGIONS as u32 {
                let kind = bar_kind(bound, bar);
                let len = bound.resource_len(bar)?;
                let mut provider = None;
                if kind.memory && len != 0 {
                    claims.push(BarClaim::new(bound, bar, c"fencebuf")?, GFP_KERNEL)?;
                    // Without it, CPU mappings are uncached on x86: slower,
                    // not wrong, so the BAR is still exported.
                    if kind.prefetch {
                        if let Err(e) = reserve_write_combining(bound, bar) {
                            dev_warn!(
                                pdev,
                                "BAR {}: no write-combining ({:?}): CPU mappings are uncached\n",
                                bar,
                                e
                            );
                        }
                    }
                    let owner = ProviderOwner::new(bound, bar)?;
                    provider = Some(owner.provider());
                    providers.push(owner, GFP_KERNEL)?;
                }
                regions.push(
                    Region {
                        len,
                        kind,
                        provider,
                    },
                    GFP_KERNEL,
                )?;
            }
            let dev = MmioDevice::new(pdev.into(), regions, compat::this_module())?;
            let name = CString::try_from_fmt(fmt!("fencebuf/{}", dev.name()))?;
            dev_info!(pdev, "exporting memory BARs at /dev/{}\n", &*name);
            // What error recovery writes back after a link reset.
            save_state(pdev);
            Ok(try_pin_init!(BoundDevice {
                node <- MiscNode::register(name, dev.clone()),
                dev,
                _providers: providers,
                _claims: claims,
                _enabled: enabled,
            }))
        })
    }

    fn unbind<'bound>(_pdev: &'bound pci::Device<Core<'_>>, this: Pin<&BoundDevice<'bound>>) {
        this.dev.unbind();
    }
}

impl Recovery for FencebufPci {
    fn reset_prepare(_pdev: &pci::Device<Core<'_>>, this: Pin<&BoundDevice<'_>>) {
        this.dev.reset_prepare();
    }

    fn reset_done(_pdev: &pci::Device<Core<'_>>, this: Pin<&BoundDevice<'_>>) {
        this.dev.reset_done();
    }

    fn error_detected(
        _pdev: &pci::Device<Core<'_>>,
        this: Pin<&BoundDevice<'_>>,
        state: ChannelState,
    ) -> Verdict {
        match state {
            // The device still works, but another device under the same
            // port may still ask for a reset of the link, which comes
            // without another call first: revoke now, `resume` restores.
            ChannelState::Normal => {
                this.dev.reset_prepare();
                Verdict::CanRecover
            }
            ChannelState::Frozen => {
                this.dev.reset_prepare();
                Verdict::NeedReset
            }
            ChannelState::PermanentFailure => {
                this.dev.unbind();
                Verdict::Disconnect
            }
        }
    }

    fn slot_reset(pdev: &pci::Device<Core<'_>>, this: Pin<&BoundDevice<'_>>) -> Verdict {
        restore_state(pdev);
        this.dev.link_reset_done();
        Verdict::Recovered
    }

    fn resume(_pdev: &pci::Device<Core<'_>>, this: Pin<&BoundDevice<'_>>) {
        this.dev.reset_done();
    }
}
