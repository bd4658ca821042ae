// SPDX-License-Identifier: GPL-2.0

//! What fencebuf needs of a PCI device beyond `kernel::pci`: its BARs,
//! its memory space, peer-to-peer DMA providers of its BARs, and being told
//! about resets and error recovery.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h).

mod bar;
mod command;
mod device;
mod p2pdma;
mod recovery;

pub(crate) use bar::{
    bar_kind,
    reserve_write_combining,
    BarClaim,
    BarKind,
    NUM_BARS, //
};
pub(crate) use command::{
    memory_decode,
    set_memory_decode,
    MemEnabled, //
};
#[cfg(all(fencebuf_kunit, CONFIG_KUNIT = "y"))]
pub(crate) use p2pdma::{
    check_pages,
    range_within, //
};
pub(crate) use p2pdma::{
    BarRanges,
    P2pProvider,
    ProviderOwner, //
};
pub(crate) use recovery::{
    restore_state,
    save_state,
    ChannelState,
    Recovery,
    RecoveryAdapter,
    Verdict, //
};
