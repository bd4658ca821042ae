// SPDX-License-Identifier: GPL-2.0
/*
 * Out-of-line wrappers for the static inline dma_fence API that
 * rust/abstractions/dma_fence/ uses, and the fence allocation.
 */

#include <linux/dma-fence.h>
#include <linux/slab.h>

#include "helpers.h"

__fencebuf_helper struct dma_fence *fencebuf_dma_fence_get(struct dma_fence *fence)
{
	return dma_fence_get(fence);
}

__fencebuf_helper void fencebuf_dma_fence_put(struct dma_fence *fence)
{
	dma_fence_put(fence);
}

__fencebuf_helper bool fencebuf_dma_fence_is_signaled(struct dma_fence *fence)
{
	return dma_fence_is_signaled(fence);
}

/*
 * Signals @fence, one of fencebuf's, failed with @error unless it is 0, in
 * one step under its lock: a waiter's .signaled peek may signal it
 * successfully at any moment, and an error set on a signalled fence would be
 * lost (and WARN). What dma_fence_signal_timestamp() does, without its call:
 * this inlines into the signalling loop. fencebuf initialises every fence
 * with its inline lock (dma_fence_init() with no lock), so the lock is taken
 * directly, not through dma_fence_spinlock()'s test of the flag that says so.
 */
__fencebuf_helper
void fencebuf_dma_fence_signal(struct dma_fence *fence, int error,
			       ktime_t timestamp)
{
	unsigned long flags;

	spin_lock_irqsave(&fence->inline_lock, flags);
	if (!dma_fence_test_signaled_flag(fence)) {
		if (error)
			dma_fence_set_error(fence, error);
		dma_fence_signal_timestamp_locked(fence, timestamp);
	}
	spin_unlock_irqrestore(&fence->inline_lock, flags);
}

__fencebuf_helper bool fencebuf_dma_fence_begin_signalling(void)
{
	return dma_fence_begin_signalling();
}

__fencebuf_helper void fencebuf_dma_fence_end_signalling(bool cookie)
{
	dma_fence_end_signalling(cookie);
}

/*
 * Fence memory is charged to the caller's memory cgroup, and at the
 * cgroup's limit the allocation fails with NULL (-> ENOMEM to userspace)
 * instead of invoking the OOM killer (__GFP_RETRY_MAYFAIL). The dma_fence
 * core frees it with kfree_rcu() (no .release op), hence kmalloc, not a
 * cache of fencebuf's own, which could not go with the module while
 * signalled fences live on. Not zeroed: the caller writes every field.
 *
 * @size is a constant of the Rust caller that C cannot see, and kmalloc()
 * of a variable size looks its cache up at run time (__kmalloc_noprof). So
 * each small size class a fence can fall in gets a kmalloc() of that class's
 * constant size, which picks its cache at build time, as C's
 * kmalloc(sizeof(*pt)) does: the memory is the same, since kmalloc() rounds
 * up to the class anyway.
 */
#define FENCEBUF_FENCE_GFP (GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

__fencebuf_helper void *fencebuf_fence_alloc(size_t size)
{
	if (size <= 64)
		return kmalloc(64, FENCEBUF_FENCE_GFP);
	if (size <= 128)
		return kmalloc(128, FENCEBUF_FENCE_GFP);
	if (size <= 192)
		return kmalloc(192, FENCEBUF_FENCE_GFP);
	if (size <= 256)
		return kmalloc(256, FENCEBUF_FENCE_GFP);
	return kmalloc(size, FENCEBUF_FENCE_GFP);
}
