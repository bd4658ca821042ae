// SPDX-License-Identifier: GPL-2.0
/*
 * String module parameters for fencebuf.
 *
 * The Rust module! macro of Linux 7.3 supports only integer and bool
 * parameters, so the string ones are declared here and read through an
 * accessor (rust/ext/param.rs).
 */

#include <linux/module.h>
#include <linux/moduleparam.h>

#include "helpers.h"

static char *devname = "sw_sync";
module_param(devname, charp, 0444);
MODULE_PARM_DESC(devname, "Name of the timeline device under /dev (default: sw_sync)");

/* Valid from module load until the module's memory is freed on unload. */
const char *fencebuf_param_devname(void)
{
	return devname;
}
