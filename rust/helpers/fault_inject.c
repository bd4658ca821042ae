// SPDX-License-Identifier: GPL-2.0
/*
 * fencebuf's own fault injection points, for failures the kernel's own
 * points (failslab, fail_page_alloc) cannot make: <debugfs>/fencebuf/
 * fail_config_write/ fails the exporter's writes of a device's command
 * register, as a device that no longer answers would. The files are the
 * kernel's usual ones (probability, interval, times, ...; see
 * Documentation/fault-injection/fault-injection.rst). Like every point,
 * it counts for /proc/thread-self/fail-nth.
 *
 * Its own object, like params.c: it has state. Without
 * CONFIG_FAULT_INJECTION_DEBUG_FS (Debian's kernels) nothing ever fails.
 */

#include <linux/debugfs.h>
#include <linux/fault-inject.h>

#include "helpers.h"

#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS

static DECLARE_FAULT_ATTR(fail_config_write);
static struct dentry *fault_dir;

/* debugfs failures are not errors: the points are just absent then. */
void fencebuf_fault_inject_init(void)
{
	fault_dir = debugfs_create_dir("fencebuf", NULL);
	fault_create_debugfs_attr("fail_config_write", fault_dir,
				  &fail_config_write);
}

void fencebuf_fault_inject_exit(void)
{
#ifndef FAULT_ATTR_DNAME_LEN
	/*
	 * Before Linux 7.3, fault_create_debugfs_attr() keeps a reference to
	 * the attribute's directory in ->dname, which nothing puts. Put it
	 * while the directory still exists (dput(NULL) does nothing).
	 */
	dput(fail_config_write.dname);
#endif
	debugfs_remove_recursive(fault_dir);
}

bool fencebuf_should_fail_config_write(void)
{
	return should_fail(&fail_config_write, 1);
}

#else

void fencebuf_fault_inject_init(void)
{
}

void fencebuf_fault_inject_exit(void)
{
}

bool fencebuf_should_fail_config_write(void)
{
	return false;
}

#endif
