/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the two benchmark programs share (fencebuf_bench.c times the timeline
 * operations, fencebuf_count.c runs them for the counting plugin): the two
 * implementations, and calls that end the program on failure.
 */
#ifndef FENCEBUF_BENCH_H
#define FENCEBUF_BENCH_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fencebuf_sync.h"

/* The kernel's C sw_sync, the reference, and fencebuf, in one boot. */
static const struct impl {
	const char *name;
	const char *path;
} impls[] = { { "c", "/sys/kernel/debug/sync/sw_sync" }, { "fencebuf", "/dev/sw_sync" } };

static inline void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, strerror(errno));
	exit(1);
}

static inline int open_tl(const struct impl *im)
{
	int tl = open(im->path, O_RDWR | O_CLOEXEC);

	if (tl < 0)
		die(im->path);
	return tl;
}

static inline int create(int tl, uint32_t v)
{
	int f = fb_create(tl, v);

	if (f < 0) {
		errno = -f;
		die("CREATE_FENCE");
	}
	return f;
}

static inline void inc(int tl, uint32_t n)
{
	int ret = fb_inc(tl, n);

	if (ret) {
		errno = -ret;
		die("INC");
	}
}

#endif /* FENCEBUF_BENCH_H */
