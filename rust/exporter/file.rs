// SPDX-License-Identifier: GPL-2.0

//! The files of `/dev/fencebuf/<pci-address>`: the exporter's uAPI.

use super::{
    buffer::BufferKey,
    device::{
        ExportRequest,
        MmioDevice,
        MAX_RANGES,
        NUM_REGIONS, //
    }, //
};
use crate::abstractions::{
    node_file::NodeFile,
    uapi::{
        FencebufExport,
        FencebufInfo,
        FencebufRange,
        FENCEBUF_EXPORT_REUSE,
        FENCEBUF_INFO_MEMORY_ENABLED,
        FENCEBUF_IOC_EXPORT,
        FENCEBUF_IOC_GET_INFO,
        FENCEBUF_IOC_MEMORY_ENABLE,
        FENCEBUF_NUM_REGIONS,
        FENCEBUF_REGION_EXPORTABLE,
        FENCEBUF_REGION_MEM64,
        FENCEBUF_REGION_PREFETCH, //
    }, //
};
use core::mem::size_of;
use kernel::{
    fs::file::{
        flags,
        FileDescriptorReservation, //
    },
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::Arc,
    uaccess::{
        UserPtr,
        UserSlice, //
    }, //
};

// GET_INFO reports every BAR.
const _: () = assert!(NUM_REGIONS == FENCEBUF_NUM_REGIONS);

/// An open file of an exporter node.
pub(crate) struct ExporterFile {
    dev: Arc<MmioDevice>,
}

impl NodeFile for ExporterFile {
    type Data = Arc<MmioDevice>;

    fn open(dev: &Arc<MmioDevice>) -> Result<Pin<KBox<Self>>> {
        Ok(KBox::pin(Self { dev: dev.clone() }, GFP_KERNEL)?)
    }

    fn ioctl(&self, cmd: u32, arg: usize) -> Result<isize> {
        let arg = UserPtr::from_addr(arg);
        match cmd {
            FENCEBUF_IOC_GET_INFO => self.get_info(arg),
            FENCEBUF_IOC_EXPORT => self.export(arg),
            FENCEBUF_IOC_MEMORY_ENABLE => self.memory_enable(arg),
            _ => Err(ENOTTY),
        }
    }

    fn show_fdinfo(&self, m: &SeqFile) {
        seq_print!(m, "device:\t{}\n", self.dev.name());
        if let Ok((enabled, buffers)) = self.dev.status() {
            seq_print!(m, "memory:\t{}\n", if enabled { "on" } else { "off" });
            seq_print!(m, "buffers:\t{}\n", buffers);
        } else {
            seq_print!(m, "memory:\tunbound\n");
        }
    }
}

impl ExporterFile {
    fn get_info(&self, arg: UserPtr) -> Result<isize> {
        let (enabled, buffers) = self.dev.status()?;
        let mut info = FencebufInfo {
            flags: if enabled {
                FENCEBUF_INFO_MEMORY_ENABLED
            } else {
                0
            },
            // CAST: 6 and 256: small constants.
            num_regions: NUM_REGIONS as u32,
            max_ranges: MAX_RANGES as u32,
            num_buffers: buffers.try_into().unwrap_or(u32::MAX),
            ..Default::default()
        };
        for (i, (out, region)) in info.regions.iter_mut().zip(self.dev.regions()).enumerate() {
            // CAST: a BAR number, below 6.
            out.index = i as u32;
            out.size = region.len;
            let kind = &region.kind;
            out.flags = [
                (region.provider.is_some(), FENCEBUF_REGION_EXPORTABLE),
                (kind.prefetch, FENCEBUF_REGION_PREFETCH),
                (kind.mem64, FENCEBUF_REGION_MEM64),
            ]
            .iter()
            .filter(|(set, _)| *set)
            .fold(0, |acc, (_, bit)| acc | bit);
        }
        UserSlice::new(arg, size_of::<FencebufInfo>())
            .writer()
            .write(&info)?;
        Ok(0)
    }

    fn export(&self, arg: UserPtr) -> Result<isize> {
        let slice = UserSlice::new(arg, size_of::<FencebufExport>());
        let (mut reader, mut writer) = slice.reader_writer();
        let mut req: FencebufExport = reader.read()?;

        let allowed_open = flags::O_ACCMODE | flags::O_CLOEXEC;
        let access = req.open_flags & flags::O_ACCMODE;
        if req.flags & !FENCEBUF_EXPORT_REUSE != 0
            || req.pad != 0
            || req.open_flags & !allowed_open != 0
            || (access != flags::O_RDWR && access != flags::O_RDONLY)
            || req.nr_ranges == 0
        {
            return Err(EINVAL);
        }
        // CAST: `u32` to `usize` is lossless.
        if req.nr_ranges as usize > MAX_RANGES {
            return Err(E2BIG);
        }

        // CAST: `u32` to `usize` is lossless.
        let n = req.nr_ranges as usize;
        let mut ranges_reader = UserSlice::new(
            // CAST: a user address: `usize` is 64 bits wide on every 64-bit kernel.
            UserPtr::from_addr(req.ranges as usize),
            n * size_of::<FencebufRange>(),
        )
        .reader();
        // Checked as they are read, into the buffer's own list.
        let ranges = self.dev.bar_ranges(req.region, n, || {
            let r: FencebufRange = ranges_reader.read()?;
            Ok((r.offset, r.length))
        })?;

        // Reserve the fd first, install it last: nothing can fail after the
        // file is visible to userspace, so no error leaks an fd.
        let fd = FileDescriptorReservation::get_unused_fd_flags(req.open_flags & flags::O_CLOEXEC)?;
        let buf = self.dev.export(ExportRequest {
            key: BufferKey {
                open_flags: req.open_flags & !flags::O_CLOEXEC,
                region: req.region,
                ranges,
            },
            reuse: req.flags & FENCEBUF_EXPORT_REUSE != 0,
        })?;
        // CAST: fds are below `INT_MAX` (`sysctl_nr_open`).
        req.fd = fd.reserved_fd() as i32;
        writer.write(&req)?;
        fd.fd_install(buf.into_file());
        Ok(0)
    }

    fn memory_enable(&self, arg: UserPtr) -> Result<isize> {
        let on: u32 = UserSlice::new(arg, size_of::<u32>()).reader().read()?;
        match on {
            0 | 1 => self.dev.set_memory_enabled(on == 1).map(|()| 0),
            _ => Err(EINVAL),
        }
    }
}
