// SPDX-License-Identifier: GPL-2.0
/* The current task's command name, for rust/abstractions/task.rs. */

#include <linux/sched.h>
#include <linux/string.h>

#include "helpers.h"

/* @buf must have room for TASK_COMM_LEN bytes; always NUL-terminated. */
__fencebuf_helper void fencebuf_current_comm(char *buf)
{
	strscpy_pad(buf, current->comm, TASK_COMM_LEN);
}
