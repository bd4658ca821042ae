// SPDX-License-Identifier: GPL-2.0
/*
 * Module parameters for fencebuf that the Rust module! macro cannot declare.
 *
 * The module! macro of Linux 7.3 supports only integer and bool parameters,
 * and makes them all invisible in sysfs (perm 0): the string ones, and those
 * that must show in /sys/module/fencebuf/parameters, are declared here,
 * read-only, and read by name from the module's parameter table
 * (rust/abstractions/module_param.rs).
 */

#include <linux/module.h>
#include <linux/moduleparam.h>

static char *devname = "sw_sync";
module_param(devname, charp, 0444);
MODULE_PARM_DESC(devname, "Name of the timeline device under /dev (default: sw_sync)");

/*
 * What the nodes should be: devtmpfs creates misc nodes root:root 0600 and
 * cannot give them a group, so udev/70-fencebuf.rules reads these two from
 * sysfs and applies them. The defaults are what the nodes are without it.
 */
static char *dev_group = "root";
module_param(dev_group, charp, 0444);
MODULE_PARM_DESC(dev_group, "Group of /dev/sw_sync and /dev/fencebuf/* (applied by the fencebuf udev rule; default: root)");

static char *dev_mode = "0600";
module_param(dev_mode, charp, 0444);
MODULE_PARM_DESC(dev_mode, "Octal mode of /dev/sw_sync and /dev/fencebuf/*, at most 0666 (applied by the fencebuf udev rule; default: 0600)");

/*
 * Whether fencebuf provides <debugfs>/sync/sw_sync on a kernel without the C
 * sw_sync (CONFIG_SW_SYNC), where sw_sync clients look for it.
 */
static bool debugfs_sw_sync = true;
module_param(debugfs_sw_sync, bool, 0444);
MODULE_PARM_DESC(debugfs_sw_sync, "Provide <debugfs>/sync/sw_sync, as /dev/sw_sync, when the kernel has none (default: Y)");
