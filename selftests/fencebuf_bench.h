/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the two benchmark programs share (fencebuf_bench.c times the timeline
 * and exporter operations, fencebuf_count.c runs them for the counting
 * plugin): the two timeline implementations, the two exporters, and calls
 * that end the program on failure.
 */
#ifndef FENCEBUF_BENCH_H
#define FENCEBUF_BENCH_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fencebuf_sync.h"
#include "fencebuf_exporter.h"
#include "fencebuf_importer.h"
#include "fencebuf_vfio.h"

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

/* Whether thread @tid of this process sleeps ('S' in its /proc stat). */
static inline int thread_sleeps(pid_t tid)
{
	char path[64], buf[256], *state;
	int fd, n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(path);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		die(path);
	buf[n] = '\0';
	state = strrchr(buf, ')');
	return state && state[1] == ' ' && state[2] == 'S';
}

/*
 * Wake-ups, measured the same way by both programs: a second thread INCs
 * the timeline once the caller sleeps in poll() on a fence it reaches.
 * The waker yields until then rather than sleeping, so that no timer of
 * its own fires during the wake-up; after the INC it blocks for the next
 * round, so that the caller runs next whether or not the wake-up preempted
 * the waker (the caller pins both to one CPU). One waker serves every
 * wake-up: a thread per wake-up left its exit's deferred frees (RCU
 * callbacks, a grace period) to run inside the next wake-ups, in about
 * half of them.
 */
struct wake {
	int tl;
	pid_t waiter;
	int pipe[2];
	/* Runs just before the INC: a clock read, or a counting marker. */
	void (*start)(struct wake *);
	double t_start;
	pthread_t thread;
};

static inline void *wake_thread(void *arg)
{
	struct wake *w = arg;
	char c;

	for (;;) {
		if (read(w->pipe[0], &c, 1) != 1)
			die("read");
		if (c == 'q')
			return NULL;
		while (!thread_sleeps(w->waiter))
			sched_yield();
		w->start(w);
		inc(w->tl, 1);
	}
}

/* Starts the waker, on the caller's CPUs: pin the caller first. */
static inline void wake_init(struct wake *w, int tl, void (*start)(struct wake *))
{
	w->tl = tl;
	w->waiter = gettid();
	w->start = start;
	if (pipe2(w->pipe, O_CLOEXEC))
		die("pipe");
	errno = pthread_create(&w->thread, NULL, wake_thread, w);
	if (errno)
		die("pthread_create");
}

static inline void wake_send(struct wake *w, char c)
{
	if (write(w->pipe[1], &c, 1) != 1)
		die("write");
}

/* Lets the waker INC once the caller sleeps: the caller polls next. */
static inline void wake_begin(struct wake *w)
{
	wake_send(w, 'g');
}

static inline void wake_fini(struct wake *w)
{
	wake_send(w, 'q');
	pthread_join(w->thread, NULL);
	close(w->pipe[0]);
	close(w->pipe[1]);
}

/*
 * The two MMIO exporters on the same kind of device in one boot: fencebuf's
 * (the first ivshmem device) and VFIO's (the second, bound to vfio-pci and
 * opened as a VMM opens it, fencebuf_vfio.h).
 */
struct exporter {
	const char *name;
	int dev;		/* fencebuf's exporter node, or -1 for VFIO */
	struct fb_vfio vfio;	/* VFIO's device */
};

static inline void open_exporters(struct exporter ex[2])
{
	ex[0] = (struct exporter){ .name = "fencebuf" };
	ex[0].dev = open(FB_EXPORTER_DEV, O_RDWR | O_CLOEXEC);
	if (ex[0].dev < 0)
		die(FB_EXPORTER_DEV);
	ex[1] = (struct exporter){ .name = "vfio", .dev = -1 };
	if (fb_vfio_open(&ex[1].vfio, FB_VFIO_PCI_ADDR)) {
		fprintf(stderr, "%s: vfio: %s\n", program_invocation_short_name, ex[1].vfio.why);
		exit(1);
	}
}

static inline void close_exporters(struct exporter ex[2])
{
	close(ex[0].dev);
	fb_vfio_close(&ex[1].vfio);
}

/* Export [off, off + len) of the BAR; the dma-buf fd. */
static inline int export_fd(struct exporter *e, uint64_t off, uint64_t len)
{
	int fd = e->dev >= 0 ? fb_export(e->dev, off, len) : fb_vfio_export(&e->vfio, off, len);

	if (fd < 0) {
		errno = -fd;
		die("EXPORT");
	}
	return fd;
}

/* Memory decoding on (restore) or off (revoke). */
static inline void set_memory(struct exporter *e, int on)
{
	int ret = e->dev >= 0 ? fb_memory(e->dev, on) : fb_vfio_memory(&e->vfio, on);

	if (ret) {
		errno = -ret;
		die("memory enable");
	}
}

/*
 * A CPU mapping of [off, off + len) of the BAR: fencebuf's is the buffer
 * @buf's own mmap; VFIO's dma-bufs have none, so it is the BAR region of the
 * device fd, as a VMM maps it.
 */
static inline uint8_t *cpu_map(struct exporter *e, int buf, size_t len, uint64_t off)
{
	void *p = e->dev >= 0 ?
		mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0) :
		fb_vfio_mmap_bar(&e->vfio, len, off);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static inline void imp_ioctl(int imp, unsigned long cmd, void *arg)
{
	if (ioctl(imp, cmd, arg))
		die("importer ioctl");
}

/* The BAR both exporters export from (ivshmem's memory BAR). */
#define BAR_LEN (4 << 20)

/* What each buffer of a revoke has besides its fd. */
enum holder {
	/* Attached and mapped by an importer (one importer file each). */
	ATTACHED,
	/*
	 * A CPU mapping, touched (fencebuf: the buffer's mmap; VFIO: a mapping
	 * of the BAR region at the buffer's offset).
	 */
	CPU_MAPPED,
	/* Nothing: what revoke costs per buffer before the mappings' part. */
	BARE,
};

/* The operations' names, by holder, in both programs' reports. */
static const char *const revoke_names[] = { "revoke", "revoke_cpu", "revoke_bare" };
static const char *const restore_names[] = { "restore", "restore_cpu", "restore_bare" };

/* @n live one-page buffers of @e, each held as @how. */
struct held {
	long n;
	enum holder how;
	int *fds, *imps;
	uint8_t **maps;
};

static inline void hold_buffers(struct held *h, struct exporter *e, long n, enum holder how)
{
	__u64 len;
	long b;

	h->n = n;
	h->how = how;
	h->fds = calloc(n, sizeof(int));
	h->imps = calloc(n, sizeof(int));
	h->maps = calloc(n, sizeof(uint8_t *));
	if (!h->fds || !h->imps || !h->maps)
		die("calloc");
	for (b = 0; b < n; b++) {
		uint64_t off = (b % (BAR_LEN / FB_PAGE)) * FB_PAGE;

		h->fds[b] = export_fd(e, off, FB_PAGE);
		if (how == CPU_MAPPED) {
			h->maps[b] = cpu_map(e, h->fds[b], FB_PAGE, off);
			h->maps[b][0] = 1;
		} else if (how == ATTACHED) {
			h->imps[b] = open(IMP_DEV, O_RDWR | O_CLOEXEC);
			if (h->imps[b] < 0)
				die(IMP_DEV);
			imp_ioctl(h->imps[b], FBIMP_IOC_ATTACH, &h->fds[b]);
			imp_ioctl(h->imps[b], FBIMP_IOC_MAP, &len);
		}
	}
}

static inline void release_buffers(struct held *h)
{
	long b;

	for (b = 0; b < h->n; b++) {
		if (h->how == CPU_MAPPED)
			munmap(h->maps[b], FB_PAGE);
		else if (h->how == ATTACHED)
			close(h->imps[b]);
		close(h->fds[b]);
	}
	free(h->fds);
	free(h->imps);
	free(h->maps);
}

#endif /* FENCEBUF_BENCH_H */
