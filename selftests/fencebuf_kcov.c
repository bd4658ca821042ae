// SPDX-License-Identifier: GPL-2.0
/*
 * KCOV coverage of fencebuf's code by the test programs (fencebuf_kcov.h).
 *
 * KCOV records the PCs of one task into a buffer that task enabled, and a
 * task starts without it: so every thread (pthread_create is wrapped) and
 * every forked child (pthread_atfork) enables its own. The buffer is drained
 * into a set of module offsets before it fills (ioctl and close are wrapped:
 * fencebuf's code runs behind them), before the module is unloaded or
 * loaded (fencebuf_test.h), and when the task ends (thread-specific data's
 * destructor, atexit, _exit is wrapped); the set then goes to a file.
 *
 * Only fencebuf is instrumented (Kbuild): every PC recorded is fencebuf's.
 * The host (scripts/report/coverage-report.py) checks each offset against
 * the module's own call sites of the coverage hook, which catches a PC
 * attributed to the wrong load of the module.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kcov.h>

#include "fencebuf_kcov.h"

#define KCOV_PATH "/sys/kernel/debug/kcov"
#define SECTIONS_DIR "/sys/module/fencebuf/sections"
/* PCs a task may record between drains; the first word is the count. */
#define AREA_WORDS (256 << 10)
#define MAX_SECTIONS 16
/* Out of the tests' way: some count their low fds. */
#define KCOV_FD_MIN 512

int __real_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg);
int __real_ioctl(int fd, unsigned long request, ...);
int __real_close(int fd);
void __real__exit(int status) __attribute__((noreturn));

/* Module offsets seen, as (section index << 40 | offset): open addressing. */
struct pcset {
	uint64_t *slot;
	size_t cap, used;
};

struct task_cov {
	int fd;
	uint64_t *area;
	struct pcset seen;
	unsigned long lost, overflows;
	struct task_cov *next;
};

/* Set by the constructor: FENCEBUF_KCOV's directory, or NULL. */
static const char *dump_dir;
static pthread_key_t task_key;
static __thread struct task_cov *task;
static unsigned int dumps;

/* Every task_cov of this process, so that exit() can write them all. */
static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static struct task_cov *all;
static char section_name[MAX_SECTIONS][32];
static int sections;

static bool pcset_add(struct pcset *s, uint64_t key)
{
	size_t i;

	if (2 * (s->used + 1) > s->cap) {
		struct pcset bigger = { .cap = s->cap ? 2 * s->cap : 4096 };

		bigger.slot = calloc(bigger.cap, sizeof(*bigger.slot));
		if (!bigger.slot)
			return false;
		for (i = 0; i < s->cap; i++)
			if (s->slot[i])
				pcset_add(&bigger, s->slot[i] - 1);
		free(s->slot);
		*s = bigger;
	}
	/* Keys are stored plus one: zero marks a free slot. */
	for (i = (key * 0x9e3779b97f4a7c15ull) >> 20; ; i++) {
		i &= s->cap - 1;
		if (s->slot[i] == key + 1)
			return true;
		if (!s->slot[i]) {
			s->slot[i] = key + 1;
			s->used++;
			return true;
		}
	}
}

/* The index of section @name in this process's table; -1 if it is full. */
static int section_index(const char *name)
{
	int i;

	for (i = 0; i < sections; i++)
		if (!strcmp(section_name[i], name))
			return i;
	if (sections == MAX_SECTIONS || strlen(name) >= sizeof(section_name[0]))
		return -1;
	memcpy(section_name[sections], name, strlen(name) + 1);
	return sections++;
}

struct loaded_section {
	uint64_t addr;
	int index;
};

/* The loaded module's text sections, by address; how many (0: not loaded). */
static int read_sections(struct loaded_section *ls)
{
	DIR *d = opendir(SECTIONS_DIR);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)) && n < MAX_SECTIONS) {
		char path[300], buf[32];
		FILE *f;

		if (!strstr(e->d_name, "text"))
			continue;
		snprintf(path, sizeof(path), SECTIONS_DIR "/%s", e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f)) {
			ls[n].addr = strtoull(buf, NULL, 16);
			ls[n].index = section_index(e->d_name);
			if (ls[n].addr && ls[n].index >= 0)
				n++;
		}
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

/*
 * The sections last seen loaded. The PCs of the module's exit run in the
 * task that unloads it, after which its sections are gone from sysfs: they
 * are that load's, drained just before (fencebuf_test.h).
 */
static struct loaded_section last_ls[MAX_SECTIONS];
static int last_nls;

/* Moves @t's recorded PCs into its set of module offsets. */
static void drain(struct task_cov *t)
{
	struct loaded_section ls[MAX_SECTIONS];
	uint64_t n = __atomic_load_n(&t->area[0], __ATOMIC_RELAXED), i;
	int k, nls;

	pthread_mutex_lock(&all_lock);
	nls = read_sections(ls);
	if (nls) {
		memcpy(last_ls, ls, sizeof(ls));
		last_nls = nls;
	} else {
		memcpy(ls, last_ls, sizeof(ls));
		nls = last_nls;
	}
	if (n >= AREA_WORDS - 1) {
		n = AREA_WORDS - 1;
		t->overflows++;
	}
	for (i = 1; i <= n; i++) {
		uint64_t pc = t->area[i];
		int best = -1;

		/* The section that starts closest below the PC holds it. */
		for (k = 0; k < nls; k++)
			if (ls[k].addr <= pc && (best < 0 || ls[k].addr > ls[best].addr))
				best = k;
		if (best < 0 || !pcset_add(&t->seen, (uint64_t)ls[best].index << 40 |
							   (pc - ls[best].addr)))
			t->lost++;
	}
	pthread_mutex_unlock(&all_lock);
	__atomic_store_n(&t->area[0], 0, __ATOMIC_RELAXED);
}

static void dump(struct task_cov *t)
{
	char path[300];
	FILE *f;
	size_t i;

	if (!dump_dir)
		return;
	drain(t);
	snprintf(path, sizeof(path), "%s/%d.%ld.%u", dump_dir, getpid(), syscall(SYS_gettid),
		 __atomic_fetch_add(&dumps, 1, __ATOMIC_RELAXED));
	f = fopen(path, "we");
	if (!f)
		return;
	fprintf(f, "# lost %lu overflows %lu\n", t->lost, t->overflows);
	for (i = 0; i < t->seen.cap; i++) {
		uint64_t key = t->seen.slot[i] - 1;

		if (t->seen.slot[i])
			fprintf(f, "%s %llx\n", section_name[key >> 40],
				(unsigned long long)(key & ((1ull << 40) - 1)));
	}
	fclose(f);
	free(t->seen.slot);
	t->seen = (struct pcset){ 0 };
	t->lost = t->overflows = 0;
}

/* Stops recording and frees @t; the caller has unlinked it. */
static void release(struct task_cov *t)
{
	__real_ioctl(t->fd, KCOV_DISABLE, 0);
	munmap(t->area, AREA_WORDS * sizeof(uint64_t));
	__real_close(t->fd);
	free(t->seen.slot);
	free(t);
}

/* Starts recording the calling task's PCs; leaves task NULL on failure. */
static void start(void)
{
	struct task_cov *t = calloc(1, sizeof(*t));
	int fd;

	if (!t)
		return;
	fd = open(KCOV_PATH, O_RDWR | O_CLOEXEC);
	t->fd = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, KCOV_FD_MIN);
	if (fd >= 0)
		__real_close(fd);
	if (t->fd < 0 || __real_ioctl(t->fd, KCOV_INIT_TRACE, AREA_WORDS))
		goto fail;
	t->area = mmap(NULL, AREA_WORDS * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED,
		       t->fd, 0);
	if (t->area == MAP_FAILED)
		goto fail;
	if (__real_ioctl(t->fd, KCOV_ENABLE, KCOV_TRACE_PC)) {
		munmap(t->area, AREA_WORDS * sizeof(uint64_t));
		goto fail;
	}
	__atomic_store_n(&t->area[0], 0, __ATOMIC_RELAXED);
	pthread_mutex_lock(&all_lock);
	t->next = all;
	all = t;
	pthread_mutex_unlock(&all_lock);
	task = t;
	pthread_setspecific(task_key, t);
	return;
fail:
	if (t->fd >= 0)
		__real_close(t->fd);
	free(t);
}

static void unlink_task(struct task_cov *t)
{
	struct task_cov **p;

	pthread_mutex_lock(&all_lock);
	for (p = &all; *p; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			break;
		}
	pthread_mutex_unlock(&all_lock);
}

/* A thread ends (returned, or pthread_exit). */
static void thread_end(void *arg)
{
	struct task_cov *t = arg;

	unlink_task(t);
	dump(t);
	release(t);
	task = NULL;
}

/* The process ends: every task's coverage, the other threads' as they are. */
static void process_end(void)
{
	struct task_cov *t;

	pthread_mutex_lock(&all_lock);
	t = all;
	all = NULL;
	pthread_mutex_unlock(&all_lock);
	for (; t; t = t->next)
		dump(t);
}

/* A forked child has no KCOV of its own, and none of its parent's threads. */
static void child_after_fork(void)
{
	struct task_cov *t = all, *next;

	all = NULL;
	for (; t; t = next) {
		next = t->next;
		/* The parent's buffer is still the parent's: only unmap it here. */
		munmap(t->area, AREA_WORDS * sizeof(uint64_t));
		__real_close(t->fd);
		free(t->seen.slot);
		free(t);
	}
	task = NULL;
	pthread_setspecific(task_key, NULL);
	pthread_mutex_init(&all_lock, NULL);
	if (dump_dir)
		start();
}

__attribute__((constructor)) static void kcov_init(void)
{
	pthread_key_create(&task_key, thread_end);
	pthread_atfork(NULL, NULL, child_after_fork);
	dump_dir = getenv("FENCEBUF_KCOV");
	if (dump_dir && !*dump_dir)
		dump_dir = NULL;
	if (!dump_dir)
		return;
	atexit(process_end);
	start();
}

struct trampoline {
	void *(*fn)(void *);
	void *arg;
};

static void *thread_start(void *arg)
{
	struct trampoline tr = *(struct trampoline *)arg;

	free(arg);
	start();
	return tr.fn(tr.arg);
}

int __wrap_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg)
{
	struct trampoline *tr;
	int ret;

	if (!dump_dir)
		return __real_pthread_create(thread, attr, fn, arg);
	tr = malloc(sizeof(*tr));
	if (!tr)
		return EAGAIN;
	*tr = (struct trampoline){ fn, arg };
	ret = __real_pthread_create(thread, attr, thread_start, tr);
	if (ret)
		free(tr);
	return ret;
}

static void drain_if_half_full(void)
{
	if (dump_dir && task &&
	    __atomic_load_n(&task->area[0], __ATOMIC_RELAXED) > AREA_WORDS / 2)
		drain(task);
}

int __wrap_ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	drain_if_half_full();
	return __real_ioctl(fd, request, arg);
}

int __wrap_close(int fd)
{
	drain_if_half_full();
	return __real_close(fd);
}

void __wrap__exit(int status)
{
	if (dump_dir)
		process_end();
	__real__exit(status);
}

void fb_kcov_drain(void)
{
	if (dump_dir && task)
		drain(task);
}

bool fb_kcov_begin(void)
{
	if (!task)
		start();
	if (!task)
		return false;
	if (dump_dir)
		drain(task);
	__atomic_store_n(&task->area[0], 0, __ATOMIC_RELAXED);
	return true;
}

size_t fb_kcov_end(uint64_t *pcs, size_t max)
{
	uint64_t n;

	if (!task)
		return 0;
	n = __atomic_load_n(&task->area[0], __ATOMIC_RELAXED);
	if (n >= AREA_WORDS - 1) {
		task->overflows++;
		return 0;
	}
	memcpy(pcs, &task->area[1], (n < max ? n : max) * sizeof(*pcs));
	return n;
}
