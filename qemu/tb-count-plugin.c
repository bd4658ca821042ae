// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU TCG plugin for `make bench`: counts the guest kernel code executed
 * between markers that a guest program passes, per translation block.
 *
 * Timings under TCG move by 10% from run to run; the number of guest
 * instructions an operation executes does not. The guest program
 * (selftests/fencebuf_count.c) runs each operation on the C sw_sync and on
 * fencebuf between calls to a marker function linked at a fixed address;
 * every time that address executes, the plugin writes, for each kernel
 * translation block that ran since the previous marker, a line
 *
 *	<interval> <block address> <instructions in the block> <executions>
 *
 * scripts/report/count-report.py turns them into instructions and blocks per
 * operation, and names the functions where the two implementations differ.
 *
 * Arguments: marker=<hex address>, out=<file>. Run QEMU with
 * `-accel tcg,thread=single`, so that no vCPU runs while the marker's
 * callback reads the counters.
 *
 * Written for the pinned QEMU (scripts/toolchain/pins.env, QEMU_VERSION),
 * whose plugin API is version 7 (it refuses any other): the counters are
 * inline per-vCPU additions into a scoreboard, and a translation callback
 * gets the block and the userdata it was registered with, not the plugin's
 * id. QEMU's Debian packages ship no header, and the mirror serves no
 * source of the pinned version, so the few functions used are declared
 * here, as the pinned binary implements them (disassembled, each argument
 * traced to its use). What keeps them right is a run, not this comment:
 * scripts/test/counted-run.sh refuses a function the QEMU does not export, and
 * `make check` counts a short run with it (testing.rst, "The counting
 * plugin").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
typedef struct {
	const char *target_name;
	struct {
		int min, cur;
	} version;
	bool system_emulation;
	struct {
		int smp_vcpus, max_vcpus;
	} system;
} qemu_info_t;
struct qemu_plugin_scoreboard;
typedef struct {
	struct qemu_plugin_scoreboard *score;
	size_t offset;
} qemu_plugin_u64;
typedef void (*tb_trans_cb)(struct qemu_plugin_tb *tb, void *userdata);
typedef void (*vcpu_udata_cb)(unsigned int vcpu_index, void *userdata);
enum { QEMU_PLUGIN_CB_NO_REGS };
enum { QEMU_PLUGIN_INLINE_ADD_U64 };

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb cb, void *userdata);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, vcpu_udata_cb cb,
					  int flags, void *userdata);
void qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(struct qemu_plugin_tb *tb, int op,
							qemu_plugin_u64 entry, uint64_t imm);
struct qemu_plugin_scoreboard *qemu_plugin_scoreboard_new(size_t element_size);
void *qemu_plugin_scoreboard_find(struct qemu_plugin_scoreboard *score, unsigned int vcpu_index);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);

/* The API version these declarations are; QEMU refuses the plugin otherwise. */
EXPORT int qemu_plugin_version = 7;

/* x86-64: the upper half of the address space is the kernel's. */
#define KERNEL_START 0xffff800000000000ULL
/* One slot per translation (blocks are retranslated after a flush). */
#define MAX_SLOTS (4u << 20)

struct slot {
	uint64_t vaddr, insns, seen;
};

static struct slot *slots;
/* Each vCPU's executions of each slot: one array of MAX_SLOTS a vCPU. */
static struct qemu_plugin_scoreboard *counts;
static unsigned int vcpus;
static unsigned long nslots;
static bool full;
static uint64_t marker;
static unsigned int interval;
static FILE *out;

/* Runs as the marker's first instruction: close the interval. */
static void on_marker(unsigned int vcpu_index, void *userdata)
{
	unsigned long i;

	(void)vcpu_index;
	(void)userdata;
	for (i = 0; i < nslots; i++) {
		struct slot *s = &slots[i];
		uint64_t count = 0;
		unsigned int v;

		for (v = 0; v < vcpus; v++)
			count += ((uint64_t *)qemu_plugin_scoreboard_find(counts, v))[i];
		if (count != s->seen && interval > 0)
			fprintf(out, "%u %" PRIx64 " %" PRIu64 " %" PRIu64 "\n", interval, s->vaddr,
				s->insns, count - s->seen);
		s->seen = count;
	}
	if (full)
		fprintf(out, "# tb-count: more than %u translations, later ones not counted\n",
			MAX_SLOTS);
	fflush(out);
	interval++;
}

static void on_translate(struct qemu_plugin_tb *tb, void *userdata)
{
	uint64_t vaddr = qemu_plugin_tb_vaddr(tb);
	struct slot *s;

	(void)userdata;
	if (vaddr == marker)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, on_marker, QEMU_PLUGIN_CB_NO_REGS, NULL);
	if (vaddr < KERNEL_START)
		return;
	if (nslots == MAX_SLOTS) {
		full = true;
		return;
	}
	s = &slots[nslots];
	s->vaddr = vaddr;
	s->insns = qemu_plugin_tb_n_insns(tb);
	qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(
		tb, QEMU_PLUGIN_INLINE_ADD_U64,
		(qemu_plugin_u64){ counts, nslots * sizeof(uint64_t) }, 1);
	nslots++;
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
			       char **argv)
{
	const char *path = NULL;
	int i;

	if (!info->system_emulation || strcmp(info->target_name, "x86_64")) {
		fprintf(stderr, "tb-count: x86_64 system emulation only\n");
		return -1;
	}
	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "marker=", 7))
			marker = strtoull(argv[i] + 7, NULL, 16);
		else if (!strncmp(argv[i], "out=", 4))
			path = argv[i] + 4;
	}
	if (!marker || !path) {
		fprintf(stderr, "tb-count: usage: marker=<hex address>,out=<file>\n");
		return -1;
	}
	out = fopen(path, "w");
	slots = calloc(MAX_SLOTS, sizeof(*slots));
	counts = qemu_plugin_scoreboard_new(MAX_SLOTS * sizeof(uint64_t));
	vcpus = info->system.max_vcpus;
	if (!out || !slots || !counts) {
		fprintf(stderr, "tb-count: %s: %s\n", path, strerror(errno));
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate, NULL);
	return 0;
}
