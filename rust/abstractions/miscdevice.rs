// SPDX-License-Identifier: GPL-2.0

//! A misc device node with data shared by its open files, and a name made at
//! run time: one node per bound device (`/dev/fencebuf/0000:00:04.0`), and
//! the timeline device (`/dev/sw_sync`, named by a module parameter).
//!
//! `kernel::miscdevice` gives `open` only the registration; this finds the
//! node around it. That is sound because the adapter type registered is
//! private to this file and [`MiscNode`] is the only place that registers it.

use super::node_file::NodeFile;
use core::marker::PhantomData;
use kernel::{
    container_of,
    fs::File,
    miscdevice::{
        MiscDevice,
        MiscDeviceOptions,
        MiscDeviceRegistration, //
    },
    prelude::*,
    seq_file::SeqFile,
    str::{
        CStr,
        CString, //
    }, //
};

/// The registered adapter; private, so only `MiscNode` can register it.
struct Adapter<T>(PhantomData<T>);

/// A registered misc device whose files are `T`s.
///
/// # Invariants
///
/// `reg` is the only registration of `Adapter<T>` anywhere. `name`, which it
/// points to, and `data`, which its opens read, are initialised before it
/// and dropped after it.
#[pin_data]
pub(crate) struct MiscNode<T: NodeFile> {
    #[pin]
    reg: MiscDeviceRegistration<Adapter<T>>,
    name: CString,
    data: T::Data,
}

impl<T: NodeFile> MiscNode<T> {
    /// Registers `/dev/<name>`; a `/` in `name` makes a subdirectory.
    pub(crate) fn register(name: CString, data: T::Data) -> impl PinInit<Self, Error> {
        // SAFETY: The string lives on the heap, which does not move when the
        // `CString` does, and is dropped only after `reg` (field order).
        let static_name: &'static CStr = unsafe { &*core::ptr::from_ref::<CStr>(&name) };
        // Registering makes the node openable at once, and `open` reads
        // `data`: it goes last. (Fields still drop in declaration order, so
        // the node is gone before what it uses.)
        try_pin_init!(Self {
            name,
            data,
            reg <- MiscDeviceRegistration::register(MiscDeviceOptions { name: static_name }),
        })
    }
}

#[vtable]
impl<T: NodeFile> MiscDevice for Adapter<T> {
    type Ptr = Pin<KBox<T>>;

    fn open(_file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<T>>> {
        // SAFETY: By the invariant of `MiscNode`, `misc` is the `reg` field of
        // a `MiscNode<T>` whose other fields are initialised, and which stays
        // registered (so alive) during `open`: the misc core holds its list
        // lock across it.
        let node = unsafe { &*container_of!(core::ptr::from_ref(misc), MiscNode<T>, reg) };
        T::open(&node.data)
    }

    fn ioctl(this: Pin<&T>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        this.ioctl(cmd, arg)
    }

    #[cfg(CONFIG_COMPAT)]
    fn compat_ioctl(this: Pin<&T>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        this.ioctl(cmd, arg)
    }

    fn show_fdinfo(this: Pin<&T>, m: &SeqFile, _file: &File) {
        this.show_fdinfo(m)
    }
}
