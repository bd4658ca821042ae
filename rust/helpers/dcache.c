// SPDX-License-Identifier: GPL-2.0
/*
 * Dentry references and types for rust/abstractions/debugfs.rs: dget() and
 * d_is_dir() are static inline.
 */

#include <linux/dcache.h>

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
