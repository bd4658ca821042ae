// SPDX-License-Identifier: GPL-2.0
/*
 * get_user() for rust/abstractions/uaccess.rs: a macro, which Rust cannot
 * call.
 */

#include <linux/uaccess.h>

#include "helpers.h"

__fencebuf_helper int fencebuf_get_user_u32(u32 *val, const u32 __user *ptr)
{
	return get_user(*val, ptr);
}
