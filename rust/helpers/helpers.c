// SPDX-License-Identifier: GPL-2.0
/*
 * fencebuf's C helpers, in one translation unit: Kbuild builds it as an
 * object, or, on kernels that inline their own helpers into Rust
 * (CONFIG_RUST_INLINE_HELPERS), as LLVM bitcode linked into fencebuf's Rust
 * object, where the helpers inline into their callers.
 *
 * Sorted alphabetically.
 */

#include "dcache.c"
#include "dma_fence.c"
#include "pci.c"
#include "sync_file.c"
#include "task.c"
#include "uaccess.c"
#include "vma.c"
