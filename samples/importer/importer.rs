// SPDX-License-Identifier: GPL-2.0

//! The importer driver: safe Rust over `dma_buf_import`.

use kernel::{
    device::Core,
    ioctl::{
        _IO,
        _IOR,
        _IOW,
        _IOWR, //
    },
    pci,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    str::CString,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        Mutex, //
    },
    uaccess::{
        UserPtr,
        UserSlice, //
    }, //
};

use crate::{
    abstractions::{
        miscdevice::MiscNode,
        node_file::NodeFile, //
    },
    dma_buf_import::{
        AttachKind,
        Attachment,
        Importer, //
    },
    uapi::{
        FbimpAccess,
        FbimpAttach,
        FbimpSegment,
        FbimpSegments,
        FbimpStatus,
        FbimpUserptr,
        FbimpUserptrStatus,
        SEGMENTS_MAX, //
    },
    userptr::{
        self,
        Userptr, //
    }, //
};

// CAST: an ASCII character, as in C's `_IOW('I', ...)`.
const FBIMP_IOC_MAGIC: u32 = b'I' as u32;
const FBIMP_IOC_ATTACH: u32 = _IOW::<i32>(FBIMP_IOC_MAGIC, 0);
const FBIMP_IOC_MAP: u32 = _IOR::<u64>(FBIMP_IOC_MAGIC, 1);
const FBIMP_IOC_UNMAP: u32 = _IO(FBIMP_IOC_MAGIC, 2);
const FBIMP_IOC_ACCESS: u32 = _IOW::<FbimpAccess>(FBIMP_IOC_MAGIC, 3);
const FBIMP_IOC_STATUS: u32 = _IOR::<FbimpStatus>(FBIMP_IOC_MAGIC, 4);
const FBIMP_IOC_DETACH: u32 = _IO(FBIMP_IOC_MAGIC, 5);
const FBIMP_IOC_ATTACH_AS: u32 = _IOW::<FbimpAttach>(FBIMP_IOC_MAGIC, 6);
const FBIMP_IOC_USERPTR: u32 = _IOW::<FbimpUserptr>(FBIMP_IOC_MAGIC, 7);
const FBIMP_IOC_USERPTR_POPULATE: u32 = _IOR::<u64>(FBIMP_IOC_MAGIC, 8);
const FBIMP_IOC_USERPTR_HOLD: u32 = _IOW::<i32>(FBIMP_IOC_MAGIC, 9);
const FBIMP_IOC_USERPTR_STATUS: u32 = _IOR::<FbimpUserptrStatus>(FBIMP_IOC_MAGIC, 10);
const FBIMP_IOC_USERPTR_REMOVE: u32 = _IO(FBIMP_IOC_MAGIC, 11);
const FBIMP_IOC_SEGMENTS: u32 = _IOWR::<FbimpSegments>(FBIMP_IOC_MAGIC, 12);
const FBIMP_IOC_VMAP_HOLD: u32 = _IOR::<u32>(FBIMP_IOC_MAGIC, 13);
const FBIMP_IOC_VMAP_READ: u32 = _IOR::<u32>(FBIMP_IOC_MAGIC, 14);
const FBIMP_IOC_VMAP_RELEASE: u32 = _IO(FBIMP_IOC_MAGIC, 15);

/// Largest copy of one ACCESS.
const MAX_ACCESS: usize = 1 << 20;

/// Counts the exporter's invalidations.
struct Counter {
    invalidations: Atomic<u32>,
}

impl Importer for Counter {
    fn invalidated(&self) {
        self.invalidations.fetch_add(1, Relaxed);
    }
}

/// One importer: an open file.
#[pin_data]
pub(crate) struct ImporterFile {
    dev: ARef<pci::Device>,
    counter: Arc<Counter>,
    /// Lock order: this, then the buffer's reservation lock.
    #[pin]
    attachment: Mutex<Option<Attachment<Counter>>>,
    /// Taken before the mmap lock (notifier insertion and pinning run under
    /// it), never by the notifier.
    #[pin]
    userptr: Mutex<Option<Userptr>>,
}

impl NodeFile for ImporterFile {
    type Data = ARef<pci::Device>;

    fn open(dev: &ARef<pci::Device>) -> Result<Pin<KBox<Self>>> {
        let counter = Arc::new(
            Counter {
                invalidations: Atomic::new(0),
            },
            GFP_KERNEL,
        )?;
        KBox::pin_init(
            try_pin_init!(Self {
                dev: dev.clone(),
                counter,
                attachment <- kernel::new_mutex!(None),
                userptr <- kernel::new_mutex!(None, "ImporterFile::userptr"),
            }),
            GFP_KERNEL,
        )
    }

    fn ioctl(&self, cmd: u32, arg: usize) -> Result<isize> {
        let arg = UserPtr::from_addr(arg);
        match cmd {
            FBIMP_IOC_ATTACH => {
                let fd: i32 = UserSlice::new(arg, 4).reader().read()?;
                self.attach(fd, AttachKind::Revocable)
            }
            FBIMP_IOC_ATTACH_AS => {
                let req: FbimpAttach = UserSlice::new(arg, core::mem::size_of::<FbimpAttach>())
                    .reader()
                    .read()?;
                let kind = match req.kind {
                    0 => AttachKind::Revocable,
                    1 => AttachKind::NoInvalidate,
                    2 => AttachKind::NoPeer2Peer,
                    3 => AttachKind::Deferred,
                    _ => return Err(EINVAL),
                };
                self.attach(req.fd, kind)
            }
            FBIMP_IOC_MAP => {
                let att = self.attachment.lock();
                let len = att.as_ref().ok_or(EINVAL)?.lock().map()?;
                // Not held across the copy to userspace.
                drop(att);
                UserSlice::new(arg, 8).writer().write(&len)?;
                Ok(0)
            }
            FBIMP_IOC_UNMAP => {
                let att = self.attachment.lock();
                att.as_ref().ok_or(EINVAL)?.lock().unmap();
                Ok(0)
            }
            FBIMP_IOC_ACCESS => self.access(arg),
            FBIMP_IOC_SEGMENTS => self.segments(arg),
            FBIMP_IOC_STATUS => {
                let st = {
                    let att = self.attachment.lock();
                    FbimpStatus {
                        attached: u32::from(att.is_some()),
                        mapped: att.as_ref().map_or(0, |a| u32::from(a.lock().is_mapped())),
                        invalidations: self.counter.invalidations.load(Relaxed),
                        pad: 0,
                        // CAST: `usize` to `u64` is lossless.
                        size: att.as_ref().map_or(0, |a| a.size() as u64),
                    }
                };
                UserSlice::new(arg, core::mem::size_of::<FbimpStatus>())
                    .writer()
                    .write(&st)?;
                Ok(0)
            }
            FBIMP_IOC_DETACH => {
                let old = self.attachment.lock().take().ok_or(EINVAL)?;
                drop(old);
                Ok(0)
            }
            FBIMP_IOC_VMAP_HOLD | FBIMP_IOC_VMAP_READ => {
                let value = {
                    let att = self.attachment.lock();
                    let locked = att.as_ref().ok_or(EINVAL)?.lock();
                    if cmd == FBIMP_IOC_VMAP_HOLD {
                        locked.hold_vmap()?
                    } else {
                        locked.read_held()?
                    }
                };
                UserSlice::new(arg, 4).writer().write(&value)?;
                Ok(0)
            }
            FBIMP_IOC_VMAP_RELEASE => {
                let att = self.attachment.lock();
                att.as_ref().ok_or(EINVAL)?.lock().release_vmaps();
                Ok(0)
            }
            FBIMP_IOC_USERPTR => {
                let req: FbimpUserptr = UserSlice::new(arg, core::mem::size_of::<FbimpUserptr>())
                    .reader()
                    .read()?;
                let mut userptr = self.userptr.lock();
                if userptr.is_some() {
                    return Err(EBUSY);
                }
                *userptr = Some(userptr::create(&req)?);
                Ok(0)
            }
            FBIMP_IOC_USERPTR_POPULATE => {
                let pages = userptr::populate(self.userptr.lock().as_ref().ok_or(EINVAL)?)?;
                // CAST: `usize` to `u64` is lossless.
                UserSlice::new(arg, 8).writer().write(&(pages as u64))?;
                Ok(0)
            }
            FBIMP_IOC_USERPTR_HOLD => {
                let fd: i32 = UserSlice::new(arg, 4).reader().read()?;
                userptr::hold(self.userptr.lock().as_ref().ok_or(EINVAL)?, fd)?;
                Ok(0)
            }
            FBIMP_IOC_USERPTR_STATUS => {
                let st = userptr::status(self.userptr.lock().as_ref().ok_or(EINVAL)?);
                UserSlice::new(arg, core::mem::size_of::<FbimpUserptrStatus>())
                    .writer()
                    .write(&st)?;
                Ok(0)
            }
            FBIMP_IOC_USERPTR_REMOVE => {
                let old = self.userptr.lock().take().ok_or(EINVAL)?;
                drop(old);
                Ok(0)
            }
            _ => Err(ENOTTY),
        }
    }

    fn show_fdinfo(&self, m: &SeqFile) {
        seq_print!(
            m,
            "invalidations:\t{}\n",
            self.counter.invalidations.load(Relaxed)
        );
    }
}

impl ImporterFile {
    fn attach(&self, fd: i32, kind: AttachKind) -> Result<isize> {
        let mut att = self.attachment.lock();
        if att.is_some() {
            return Err(EBUSY);
        }
        let dev: &kernel::device::Device = (*self.dev).as_ref();
        *att = Some(Attachment::new(fd, dev.into(), self.counter.clone(), kind)?);
        Ok(0)
    }

    fn segments(&self, arg: UserPtr) -> Result<isize> {
        let size = core::mem::size_of::<FbimpSegments>();
        let (mut reader, mut writer) = UserSlice::new(arg, size).reader_writer();
        let mut req: FbimpSegments = reader.read()?;
        if req.max > SEGMENTS_MAX {
            return Err(EINVAL);
        }
        // CAST: `u32` to `usize` is lossless.
        let max = req.max as usize;
        let mut segs = KVec::with_capacity(max, GFP_KERNEL)?;
        {
            let att = self.attachment.lock();
            req.count = att.as_ref().ok_or(EINVAL)?.lock().segments(|addr, len| {
                // Past `max` entries are counted, not copied.
                let _ = segs.push_within_capacity(FbimpSegment { addr, len });
            })?;
        }
        // Copied out after the locks are dropped.
        let mut out = UserSlice::new(
            // CAST: a user address: `usize` is 64 bits wide on every 64-bit kernel.
            UserPtr::from_addr(req.segs_ptr as usize),
            segs.len() * core::mem::size_of::<FbimpSegment>(),
        )
        .writer();
        for seg in &segs {
            out.write(seg)?;
        }
        writer.write(&req)?;
        Ok(0)
    }

    fn access(&self, arg: UserPtr) -> Result<isize> {
        let req: FbimpAccess = UserSlice::new(arg, core::mem::size_of::<FbimpAccess>())
            .reader()
            .read()?;
        if req.pad != 0 || req.write > 1 {
            return Err(EINVAL);
        }
        let len = usize::try_from(req.len).map_err(|_| EINVAL)?;
        let offset = usize::try_from(req.offset).map_err(|_| EINVAL)?;
        if len > MAX_ACCESS {
            return Err(E2BIG);
        }
        let mut data = KVec::from_elem(0u8, len, GFP_KERNEL)?;
        // CAST: a user address: `usize` is 64 bits wide on every 64-bit kernel.
        let user = UserPtr::from_addr(req.user_ptr as usize);
        if req.write == 1 {
            UserSlice::new(user, len).reader().read_slice(&mut data)?;
        }
        {
            let att = self.attachment.lock();
            att.as_ref()
                .ok_or(EINVAL)?
                .lock()
                .copy(offset, &mut data, req.write == 1)?;
        }
        if req.write == 0 {
            UserSlice::new(user, len).writer().write_slice(&data)?;
        }
        Ok(0)
    }
}

/// The driver.
pub(crate) struct ImporterPci;

crate::abstractions::compat::pci_device_table!(
    PCI_TABLE,
    <ImporterPci as pci::Driver>::IdInfo,
    [(pci::DeviceId::from_id(pci::Vendor::REDHAT, 0x5), ())]
);

impl pci::Driver for ImporterPci {
    type IdInfo = ();
    type Data<'bound> = MiscNode<ImporterFile>;
    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: crate::abstractions::compat::ProbeInfo<'bound, Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pin_init::pin_init_scope(move || {
            let name = CString::try_from_fmt(fmt!("fencebuf_importer"))?;
            dev_info!(pdev, "importing through /dev/fencebuf_importer\n");
            Ok(MiscNode::register(name, pdev.into()))
        })
    }
}
