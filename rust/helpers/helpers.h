/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C helpers of fencebuf: functions Rust calls for what it cannot reach
 * directly (static inline kernel functions, fault injection points, which
 * are C macros).
 * The Rust declarations are in rust/abstractions/; `make ffi-check` checks
 * them against these prototypes.
 */
#ifndef FENCEBUF_HELPERS_H
#define FENCEBUF_HELPERS_H

#include <linux/compiler_types.h>
#include <linux/types.h>

/*
 * Marks a helper that helpers.c gathers. On kernels that inline their own
 * helpers into Rust (CONFIG_RUST_INLINE_HELPERS), Kbuild links helpers.c's
 * LLVM bitcode into fencebuf's Rust object and they inline there too.
 * __always_inline, as in the kernel's rust/helpers/helpers.c, gets past
 * LLVM's inlining checks, which refuse C into Rust for attribute differences
 * that do not matter here (null-pointer checks, builtins, target features).
 * Out of line, the kernel's gnu_inline semantics still emit each helper as
 * an ordinary external function.
 */
#define __fencebuf_helper __always_inline

struct dentry;
struct dma_fence;
struct file;
struct inode;
struct vm_area_struct;
struct vm_operations_struct;

/* dcache.c */
void fencebuf_dget(struct dentry *dentry);
bool fencebuf_d_is_dir(const struct dentry *dentry);
struct inode *fencebuf_d_inode_get(struct dentry *dentry);

/* dma_fence.c */
struct dma_fence *fencebuf_dma_fence_get(struct dma_fence *fence);
void fencebuf_dma_fence_put(struct dma_fence *fence);
bool fencebuf_dma_fence_is_signaled(struct dma_fence *fence);
void fencebuf_dma_fence_signal(struct dma_fence *fence, int error,
			       ktime_t timestamp);
bool fencebuf_dma_fence_begin_signalling(void);
void fencebuf_dma_fence_end_signalling(bool cookie);
void *fencebuf_fence_alloc(size_t size);

/* fault_inject.c */
void fencebuf_fault_inject_init(void);
void fencebuf_fault_inject_exit(void);
bool fencebuf_should_fail_config_write(void);

/* pci.c */
int fencebuf_pcibios_err_to_errno(int err);

/* sync_file.c */
struct file *fencebuf_sync_file_create(struct dma_fence *fence);

/* task.c */
void fencebuf_current_comm(char *buf);

/* uaccess.c */
int fencebuf_get_user_u32(u32 *val, const u32 __user *ptr);

/* vma.c */
void fencebuf_vma_set_pfnmap(struct vm_area_struct *vma,
			     const struct vm_operations_struct *ops,
			     bool write_combine);

#endif /* FENCEBUF_HELPERS_H */
