// SPDX-License-Identifier: GPL-2.0

//! The open files of a node: what a driver implements once, for every node
//! its files can be opened from (a [`MiscNode`], a `DebugfsNode`).
//!
//! [`MiscNode`]: super::miscdevice::MiscNode

use kernel::{
    prelude::*,
    seq_file::SeqFile, //
};

/// An open file of a node: made by `open`, dropped by the last `close`.
pub(crate) trait NodeFile: Send + Sync + Sized + 'static {
    /// What every open of the node shares.
    type Data: Send + Sync;

    /// The node is opened.
    fn open(data: &Self::Data) -> Result<Pin<KBox<Self>>>;

    /// An ioctl (native and 32-bit compat: the ABI has the same layout).
    fn ioctl(&self, cmd: u32, arg: usize) -> Result<isize>;

    /// Lines for `/proc/<pid>/fdinfo/<fd>`.
    fn show_fdinfo(&self, m: &SeqFile);
}
