// SPDX-License-Identifier: GPL-2.0

//! The sw_sync-compatible timeline: `/dev/sw_sync` (and, on kernels without
//! the C sw_sync, `<debugfs>/sync/sw_sync`).

mod file;
pub(crate) mod seqno;

pub(crate) use file::TimelineFile;
