// SPDX-License-Identifier: GPL-2.0
/*
 * Out-of-line wrappers for the static inline dma_fence API that
 * rust/abstractions/dma_fence.rs uses, and the fence allocation.
 */

#include <linux/dma-fence.h>
#include <linux/refcount.h>
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
 * Fails and signals @fence in one step under its lock: a waiter's
 * .signaled peek may signal it successfully at any moment, and an error
 * set on a signalled fence would be lost (and WARN).
 */
__fencebuf_helper
void fencebuf_dma_fence_signal_error(struct dma_fence *fence, int error,
				     ktime_t timestamp)
{
	unsigned long flags;

	dma_fence_lock_irqsave(fence, flags);
	if (!dma_fence_test_signaled_flag(fence)) {
		dma_fence_set_error(fence, error);
		dma_fence_signal_timestamp_locked(fence, timestamp);
	}
	dma_fence_unlock_irqrestore(fence, flags);
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
 * core frees it with kfree_rcu() (no .release op), hence kmalloc. Not
 * zeroed: the caller writes every field.
 */
__fencebuf_helper void *fencebuf_fence_alloc(size_t size)
{
	return kmalloc(size, GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN);
}

/*
 * Puts @i counts of a fence context's shared state at once (a batch of
 * signalled fences, rust/abstractions/dma_fence.rs SignalBatch).
 */
__fencebuf_helper bool fencebuf_refcount_sub_and_test(int i, refcount_t *r)
{
	return refcount_sub_and_test(i, r);
}
