// SPDX-License-Identifier: GPL-2.0
/*
 * Dentry references and types for rust/abstractions/debugfs.rs (dget() and
 * d_is_dir() are static inline), and a dentry's inode for
 * rust/abstractions/dma_buf/object.rs (d_lock is taken inline).
 */

#include <linux/dcache.h>
#include <linux/fs.h>

#include "helpers.h"

/* Takes a reference to @dentry, which the caller holds valid. */
__fencebuf_helper void fencebuf_dget(struct dentry *dentry)
{
	dget(dentry);
}

__fencebuf_helper bool fencebuf_d_is_dir(const struct dentry *dentry)
{
	return d_is_dir(dentry);
}

/*
 * The inode of @dentry, which the caller holds valid, with a reference; NULL
 * once the dentry has let go of it (it is being killed). A dentry drops its
 * inode under d_lock, so under d_lock its inode, if any, still has the
 * dentry's reference.
 */
__fencebuf_helper struct inode *fencebuf_d_inode_get(struct dentry *dentry)
{
	struct inode *inode;

	spin_lock(&dentry->d_lock);
	inode = d_inode(dentry);
	if (inode)
		ihold(inode);
	spin_unlock(&dentry->d_lock);
	return inode;
}
