// SPDX-License-Identifier: GPL-2.0
/*
 * sync_file creation for rust/abstractions/sync_file.rs: returns the file, so that
 * Rust never depends on the layout of struct sync_file.
 */

#include <linux/sync_file.h>

#include "helpers.h"

/* Returns the sync_file's file with the one reference the caller owns. */
__fencebuf_helper struct file *fencebuf_sync_file_create(struct dma_fence *fence)
{
	struct sync_file *sync_file = sync_file_create(fence);

	return sync_file ? sync_file->file : NULL;
}
