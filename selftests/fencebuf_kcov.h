/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Coverage of fencebuf's code by the test programs, through KCOV.
 *
 * Every test program links fencebuf_kcov.c. With FENCEBUF_KCOV=DIR in its
 * environment (make coverage) it records, for each of its tasks (threads and
 * forked children too), the PCs of fencebuf's code the task ran, and writes
 * them to DIR as "SECTION OFFSET" lines, offsets into the module's sections,
 * so that the host can map them to source lines whatever address the module
 * was loaded at. Without FENCEBUF_KCOV it does nothing.
 *
 * KCOV records only what runs in the task that enabled it: work fencebuf does
 * in interrupts, timers or other kernel threads (fence callbacks on
 * signalling, RCU frees) is not seen.
 */
#ifndef FENCEBUF_KCOV_H
#define FENCEBUF_KCOV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Turns this task's recorded PCs into module offsets now. The module's
 * sections move when it is unloaded and loaded again: fb_load_path() and
 * fb_unload_name() call this first.
 */
void fb_kcov_drain(void);

/* Guided fuzzing: the caller's own task's coverage, one stretch at a time. */

/* Start recording this task's PCs afresh; false if KCOV is not available. */
bool fb_kcov_begin(void);

/*
 * The PCs recorded since fb_kcov_begin() (duplicates and all, in order):
 * stores up to @max in @pcs and returns how many there were (0 after an
 * overflow was counted).
 */
size_t fb_kcov_end(uint64_t *pcs, size_t max);

#endif
