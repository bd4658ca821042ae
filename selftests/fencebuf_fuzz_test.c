// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded fuzzer for everything fencebuf gives userspace, run for a bounded
 * time against a live device.
 *
 * Worker threads share a pool of fds (timelines, sync_files, the exporter,
 * dma-bufs, the sample importer) and of dma-buf mappings. Each worker draws
 * from its own generator, seeded from the run's seed, and does one of:
 * ioctls from every fd's command set, other sets' commands and random command
 * numbers, with arguments that are sensible, random, NULL, unmapped,
 * inaccessible, read-only, a kernel address or straddling into an
 * inaccessible page; open,
 * close, dup; passing fds over a unix socket, or dropping them in flight;
 * holding files the other ways userspace can (O_PATH opens of /proc/PID/fd
 * and /proc/self/map_files links, pidfd_getfd(), close_range(), epoll, bind
 * mounts of an fd's link);
 * fork, whose child uses and closes what it inherited; mmap, munmap, mremap,
 * mprotect, madvise and touches of the mappings; poll, lseek and fdinfo.
 * Meanwhile a chaos thread turns the device's memory decoding off and on and
 * unbinds and rebinds the PCI device.
 *
 * The kernel must stay quiet (the runner fails any splat). At the end every
 * fd is closed and the run checks: the same fds as at the start, no kernel
 * error code leaked to userspace (ERESTARTSYS and friends), no ioctl that
 * reported success without writing its result to a read-only argument, the
 * device working normally, and a clean kmemleak scan.
 *
 * FENCEBUF_FUZZ_SEED=N replays a run's choices (the threads' interleaving is
 * not replayed); FENCEBUF_FUZZ_SECONDS=N (default 60) bounds it.
 *
 * FENCEBUF_FUZZ_MODE=guided steers the workers by coverage. A worker's
 * choices then come from an input, a string of bytes (a choice reads the
 * next 8; past the end, a generator seeded by the input goes on). It runs
 * one input as a program of PROGRAM_OPS operations with KCOV recording its
 * own task (fencebuf_kcov.h), and keeps the input in the shared corpus if
 * the program ran a basic block or an edge between two that no program had
 * run. Inputs are corpus entries mutated (bits, bytes, words, inserted and
 * deleted words, splices), or fresh random bytes while the corpus is empty.
 * The corpus starts from the files in FENCEBUF_FUZZ_CORPUS (a directory;
 * scripts/test/fuzz.sh keeps it in build/) and is printed at the end, one
 * "@@fuzz-corpus HEX" line an entry. Both modes print the blocks reached
 * every 30 s when KCOV is there, so the two can be compared.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "fencebuf_test.h"
#include "fencebuf_sync.h"
#include "fencebuf_exporter.h"
#include "fencebuf_importer.h"

#define BAR_SIZE (4 << 20)

#define WORKERS 3
#define SLOTS 48
#define MAPS 16
#define MAX_MAP_PAGES 8

/* K_PATH: an O_PATH fd of another fd's file, which holds its dentry only. */
enum kind { K_FREE, K_TIMELINE, K_FENCE, K_EXPORTER, K_DMABUF, K_IMPORTER, K_PATH, K_KINDS };

/* An fd of the pool; its lock is held while the fd is used or closed. */
struct slot {
	pthread_mutex_t lock;
	int fd;
	enum kind kind;
};

struct map {
	pthread_mutex_t lock;
	uint8_t *addr;
	size_t len;
	int prot;
};

static struct slot slots[SLOTS];
static struct map maps[MAPS];
static volatile int stop;

/* What went wrong, counted by all threads; the first cases are described. */
static struct {
	pthread_mutex_t lock;
	int count;
	char first[4][160];
} bad = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void report_bad(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&bad.lock);
	if (bad.count < 4) {
		va_start(ap, fmt);
		vsnprintf(bad.first[bad.count], sizeof(bad.first[0]), fmt, ap);
		va_end(ap);
	}
	bad.count++;
	pthread_mutex_unlock(&bad.lock);
}

/*
 * splitmix64: small, and good enough to draw choices from. Guided, the
 * choices come from an input's bytes first.
 */
struct rng {
	uint64_t s;
	const uint8_t *data;
	size_t len, pos;
};

static uint64_t rnd(struct rng *r)
{
	uint64_t z;

	if (r->pos < r->len) {
		size_t n = r->len - r->pos < 8 ? r->len - r->pos : 8;

		z = 0;
		memcpy(&z, r->data + r->pos, n);
		r->pos += n;
		return z;
	}
	z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t below(struct rng *r, uint32_t n)
{
	return n ? rnd(r) % n : 0;
}

static bool chance(struct rng *r, uint32_t percent)
{
	return below(r, 100) < percent;
}

/* Only unsigned longs: the run sums the workers' as arrays. */
struct stats {
	unsigned long ops, ioctls, ioctl_ok, fds_made, forks, passes, dropped_in_flight;
	unsigned long maps, touches, sigbus, sigsegv, unbinds, toggles, holds;
};

struct worker {
	struct rng rng;
	/* Guided: this worker's PCs of one program. */
	uint64_t *pcs;
	pthread_t thread;
	int sock[2];
	/* The worker's epoll instance; a bind mount it made, if any. */
	int epfd;
	char mnt[48];
	bool mounted;
	/* Argument pages: two writable, then one inaccessible. */
	uint8_t *arena;
	struct stats st;
};

static uint8_t *ro_page;
static uint64_t seed;
static unsigned int seconds;
static bool have_importer;
static bool guided;
/* KCOV: the workers record their coverage (both modes, for comparison). */
static bool kcov_feedback;

/* A random slot, locked, holding an fd of @kind (K_FREE: any fd), or NULL. */
static struct slot *take(struct rng *r, enum kind kind)
{
	int i, start = below(r, SLOTS);

	for (i = 0; i < SLOTS; i++) {
		struct slot *s = &slots[(start + i) % SLOTS];

		if (pthread_mutex_trylock(&s->lock))
			continue;
		if (s->kind != K_FREE && (kind == K_FREE || s->kind == kind))
			return s;
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

static void give(struct slot *s)
{
	pthread_mutex_unlock(&s->lock);
}

/* Put a new fd in a free slot, or close it when the pool is full. */
static void keep(struct worker *w, int fd, enum kind kind)
{
	int i;

	if (fd < 0)
		return;
	w->st.fds_made++;
	for (i = 0; i < SLOTS; i++) {
		struct slot *s = &slots[i];

		if (pthread_mutex_trylock(&s->lock))
			continue;
		if (s->kind == K_FREE) {
			s->fd = fd;
			s->kind = kind;
			give(s);
			return;
		}
		give(s);
	}
	close(fd);
}

/* A number to pass where an fd is expected: mostly a pool fd, unlocked. */
static int any_fd(struct rng *r)
{
	switch (below(r, 10)) {
	case 0:
		return -1;
	case 1:
		return 1; /* the test's output: a tty, not a fence or a dma-buf */
	case 2:
		return 1000;
	default:
		return slots[below(r, SLOTS)].fd;
	}
}

/* Sensible arguments for each command, and where a returned fd is. */
struct cmd {
	unsigned long nr;
	const char *name;
	size_t size;
	enum kind made;	/* K_FREE: returns no fd */
	size_t fd_off;
	bool writes;	/* always writes its argument back on success */
	void (*fill)(struct rng *r, void *arg);
};

static void fill_create(struct rng *r, void *arg)
{
	struct sw_sync_create_fence_data *d = arg;

	d->value = chance(r, 90) ? below(r, 64) : rnd(r);
	snprintf(d->name, sizeof(d->name), "fuzz-%u", below(r, 100));
	d->fence = rnd(r);
}

static void fill_u32_small(struct rng *r, void *arg)
{
	*(uint32_t *)arg = chance(r, 90) ? below(r, 8) : rnd(r);
}

static void fill_get_deadline(struct rng *r, void *arg)
{
	struct sw_sync_get_deadline *d = arg;

	d->fence_fd = any_fd(r);
	d->deadline_ns = chance(r, 90) ? 0 : rnd(r);
	d->pad = chance(r, 90) ? 0 : rnd(r);
}

static void fill_signal(struct rng *r, void *arg)
{
	static const int errors[] = {
		0, -EIO, -ETIMEDOUT, -FB_MAX_ERRNO, -(FB_MAX_ERRNO + 1), 1, INT32_MIN,
	};
	struct fencebuf_signal *s = arg;

	s->value = below(r, 64);
	s->error = errors[below(r, sizeof(errors) / sizeof(errors[0]))];
}

static void fill_merge(struct rng *r, void *arg)
{
	struct sync_merge_data *m = arg;

	snprintf(m->name, sizeof(m->name), "fuzz-merge");
	m->fd2 = any_fd(r);
	m->fence = rnd(r);
	m->flags = chance(r, 90) ? 0 : rnd(r);
	m->pad = chance(r, 90) ? 0 : rnd(r);
}

/* The fence-info array points into the same writable page, after the struct. */
static void fill_file_info(struct rng *r, void *arg)
{
	struct sync_file_info *i = arg;

	memset(i, 0, sizeof(*i));
	i->num_fences = below(r, 4);
	i->flags = chance(r, 95) ? 0 : rnd(r);
	i->sync_fence_info = chance(r, 80) ? (uintptr_t)(i + 1) : rnd(r);
}

static void fill_set_deadline(struct rng *r, void *arg)
{
	struct sync_set_deadline *d = arg;

	d->deadline_ns = rnd(r);
	d->pad = chance(r, 90) ? 0 : rnd(r);
}

/* The ranges follow the struct in the same page. */
static void fill_export(struct rng *r, void *arg)
{
	struct fencebuf_export *e = arg;
	struct fencebuf_range *range = (void *)(e + 1);
	uint32_t n = chance(r, 90) ? 1 + below(r, 8) : below(r, 300), i;

	memset(e, 0, sizeof(*e));
	e->region = chance(r, 90) ? FB_BAR : below(r, 8);
	e->open_flags = chance(r, 90) ? O_RDWR | O_CLOEXEC : rnd(r);
	e->flags = chance(r, 70) ? 0 : chance(r, 90) ? FENCEBUF_EXPORT_REUSE : rnd(r);
	e->nr_ranges = n;
	e->ranges = chance(r, 95) ? (uintptr_t)range : rnd(r);
	e->fd = -1;
	/* At most what fits in the rest of the page; the kernel reads n. */
	for (i = 0; i < n && i < 100; i++) {
		range[i].offset = chance(r, 90) ? (uint64_t)below(r, BAR_SIZE / FB_PAGE) * FB_PAGE
						: rnd(r);
		range[i].length = chance(r, 90) ? (uint64_t)(1 + below(r, MAX_MAP_PAGES)) * FB_PAGE
						: rnd(r);
	}
}

static void fill_dma_buf_sync(struct rng *r, void *arg)
{
	struct dma_buf_sync *s = arg;

	s->flags = chance(r, 80) ? below(r, 8) : rnd(r);
}

static void fill_name(struct rng *r, void *arg)
{
	int i, n = below(r, 40);

	for (i = 0; i < n; i++)
		((char *)arg)[i] = 'a' + below(r, 26);
	((char *)arg)[n] = '\0';
}

static void fill_export_sync_file(struct rng *r, void *arg)
{
	struct dma_buf_export_sync_file *e = arg;

	e->flags = chance(r, 90) ? 1 + below(r, 3) : rnd(r);
	e->fd = -1;
}

static void fill_import_sync_file(struct rng *r, void *arg)
{
	struct dma_buf_import_sync_file *i = arg;

	i->flags = chance(r, 90) ? 1 + below(r, 3) : rnd(r);
	i->fd = any_fd(r);
}

static void fill_fd(struct rng *r, void *arg)
{
	*(int32_t *)arg = any_fd(r);
}

static void fill_access(struct rng *r, void *arg)
{
	struct fbimp_access *a = arg;

	a->offset = chance(r, 80) ? below(r, 4 * FB_PAGE) : rnd(r);
	a->len = chance(r, 80) ? below(r, FB_PAGE) : rnd(r);
	/* The rest of this page, or wherever. */
	a->user_ptr = chance(r, 80) ? (uintptr_t)(a + 1) : rnd(r);
	a->write = below(r, 3);
	a->pad = chance(r, 90) ? 0 : rnd(r);
}

static void fill_attach_as(struct rng *r, void *arg)
{
	struct fbimp_attach *a = arg;

	a->fd = any_fd(r);
	a->kind = below(r, 4);
}

static void fill_none(struct rng *r, void *arg)
{
	(void)r;
	(void)arg;
}

#define CMD(c, made_, off, wr, f) { c, #c, _IOC_SIZE(c), made_, off, wr, f }

static const struct cmd cmds[K_KINDS][8] = {
	[K_TIMELINE] = {
		CMD(SW_SYNC_IOC_CREATE_FENCE, K_FENCE,
		    offsetof(struct sw_sync_create_fence_data, fence), true, fill_create),
		CMD(SW_SYNC_IOC_INC, K_FREE, 0, false, fill_u32_small),
		CMD(SW_SYNC_GET_DEADLINE, K_FREE, 0, true, fill_get_deadline),
		CMD(FENCEBUF_IOC_SIGNAL, K_FREE, 0, false, fill_signal),
	},
	[K_FENCE] = {
		CMD(SYNC_IOC_MERGE, K_FENCE, offsetof(struct sync_merge_data, fence), true,
		    fill_merge),
		CMD(SYNC_IOC_FILE_INFO, K_FREE, 0, true, fill_file_info),
		CMD(SYNC_IOC_SET_DEADLINE, K_FREE, 0, false, fill_set_deadline),
	},
	[K_EXPORTER] = {
		CMD(FENCEBUF_IOC_GET_INFO, K_FREE, 0, true, fill_none),
		CMD(FENCEBUF_IOC_EXPORT, K_DMABUF, offsetof(struct fencebuf_export, fd), true,
		    fill_export),
	},
	[K_DMABUF] = {
		CMD(DMA_BUF_IOCTL_SYNC, K_FREE, 0, false, fill_dma_buf_sync),
		CMD(DMA_BUF_SET_NAME_B, K_FREE, 0, false, fill_name),
		CMD(DMA_BUF_IOCTL_EXPORT_SYNC_FILE, K_FENCE,
		    offsetof(struct dma_buf_export_sync_file, fd), true, fill_export_sync_file),
		CMD(DMA_BUF_IOCTL_IMPORT_SYNC_FILE, K_FREE, 0, false, fill_import_sync_file),
	},
	[K_IMPORTER] = {
		CMD(FBIMP_IOC_ATTACH, K_FREE, 0, false, fill_fd),
		CMD(FBIMP_IOC_MAP, K_FREE, 0, true, fill_none),
		CMD(FBIMP_IOC_UNMAP, K_FREE, 0, false, fill_none),
		CMD(FBIMP_IOC_ACCESS, K_FREE, 0, false, fill_access),
		CMD(FBIMP_IOC_STATUS, K_FREE, 0, true, fill_none),
		CMD(FBIMP_IOC_DETACH, K_FREE, 0, false, fill_none),
		CMD(FBIMP_IOC_ATTACH_AS, K_FREE, 0, false, fill_attach_as),
	},
};

static const struct cmd *cmd_of(enum kind k, uint32_t i)
{
	uint32_t n = 0;

	while (n < 8 && cmds[k][n].nr)
		n++;
	return n ? &cmds[k][i % n] : NULL;
}

/* The known command with number @nr, if any. */
static const struct cmd *lookup(unsigned long nr)
{
	int k, i;

	for (k = 0; k < K_KINDS; k++)
		for (i = 0; i < 8 && cmds[k][i].nr; i++)
			if (cmds[k][i].nr == nr)
				return &cmds[k][i];
	return NULL;
}

/* A command number near the known ones: any direction, size and number. */
static unsigned long random_cmd(struct rng *r)
{
	static const char types[] = { 'W', 'F', 'b', '>', 'I' };
	static const unsigned int dirs[] = { _IOC_NONE, _IOC_READ, _IOC_WRITE,
					     _IOC_READ | _IOC_WRITE };

	return _IOC(dirs[below(r, 4)], types[below(r, sizeof(types))], below(r, 0x90),
		    below(r, 96));
}

enum arg_mode { A_SENSIBLE, A_SENSIBLE_STRADDLE, A_RANDOM, A_NULL, A_UNMAPPED, A_NO_ACCESS,
		A_READ_ONLY, A_STRADDLE_NO_ACCESS, A_KERNEL, A_MODES };

static void op_ioctl(struct worker *w)
{
	struct rng *r = &w->rng;
	const uint32_t page = FB_PAGE;
	struct slot *s = take(r, K_FREE);
	const struct cmd *c;
	unsigned long nr;
	enum arg_mode mode;
	uint8_t *arg;
	size_t size;
	int fd, ret, err, i;

	fd = s ? s->fd : any_fd(r);
	if (s && chance(r, 80))
		c = cmd_of(s->kind, below(r, 8));
	else
		c = cmd_of(1 + below(r, K_KINDS - 1), below(r, 8));
	nr = c && chance(r, 90) ? c->nr : random_cmd(r);
	c = lookup(nr);
	size = _IOC_SIZE(nr);
	/* More modes give sensible arguments: the deeper paths need them. */
	mode = chance(r, 50) ? A_SENSIBLE : below(r, A_MODES);

	switch (mode) {
	case A_SENSIBLE:
	case A_RANDOM:
		arg = w->arena + 64 * below(r, 8);
		break;
	case A_SENSIBLE_STRADDLE:
		arg = w->arena + page - size / 2;
		break;
	case A_NULL:
		arg = NULL;
		break;
	case A_UNMAPPED:
		/* Mappings go top-down from far above: nothing is ever here. */
		arg = (uint8_t *)0x400000000000ull + below(r, page);
		break;
	case A_NO_ACCESS:
		arg = w->arena + 2 * page + below(r, page);
		break;
	case A_READ_ONLY:
		arg = ro_page + 64 * below(r, 8);
		break;
	case A_STRADDLE_NO_ACCESS:
		/* From 1 to size - 1 bytes readable, the rest not. */
		arg = w->arena + 2 * page - size + 1 + below(r, size > 1 ? size - 1 : 1);
		break;
	default:
		arg = (uint8_t *)0xffff888000000000ull;
		break;
	}
	if (mode == A_RANDOM)
		for (i = 0; i < 512; i++)
			arg[i] = rnd(r);
	else if ((mode == A_SENSIBLE || mode == A_SENSIBLE_STRADDLE) && c)
		c->fill(r, arg);

	w->st.ioctls++;
	ret = ioctl(fd, nr, arg);
	err = errno;
	if (ret == 0) {
		w->st.ioctl_ok++;
		if (c && c->writes &&
		    (mode == A_READ_ONLY || mode == A_NULL || mode == A_UNMAPPED ||
		     mode == A_NO_ACCESS || mode == A_STRADDLE_NO_ACCESS || mode == A_KERNEL))
			report_bad("%s: success, but its result cannot have been written", c->name);
		/* Whatever the arguments, an fd it made must not be lost. */
		if (c && c->made != K_FREE && (mode <= A_RANDOM))
			keep(w, *(int32_t *)(arg + c->fd_off), c->made);
	} else if (ret != -1 || err >= 512 || err <= 0) {
		report_bad("ioctl %#lx: returned %d, errno %d", nr, ret, err);
	}
	if (s)
		give(s);
}

static void op_open(struct worker *w)
{
	static const int flags[] = { O_RDWR, O_RDONLY, O_WRONLY, O_RDWR | O_NONBLOCK };
	struct rng *r = &w->rng;
	int f = flags[below(r, 4)] | O_CLOEXEC;

	switch (below(r, have_importer ? 3 : 2)) {
	case 0:
		keep(w, open("/dev/sw_sync", f), K_TIMELINE);
		break;
	case 1:
		keep(w, open(FB_EXPORTER_DEV, f), K_EXPORTER);
		break;
	default:
		keep(w, open(IMP_DEV, f), K_IMPORTER);
		break;
	}
}

static void op_close(struct worker *w)
{
	struct slot *s = take(&w->rng, K_FREE);

	if (!s)
		return;
	close(s->fd);
	s->fd = -1;
	s->kind = K_FREE;
	give(s);
}

static void op_dup(struct worker *w)
{
	struct slot *s = take(&w->rng, K_FREE);
	enum kind kind;
	int fd;

	if (!s)
		return;
	fd = chance(&w->rng, 50) ? dup(s->fd)
				 : fcntl(s->fd, F_DUPFD_CLOEXEC, 3 + below(&w->rng, 200));
	kind = s->kind;
	give(s);
	keep(w, fd, kind);
}

/* Send an fd over a unix socket: received back, or dropped in flight. */
static void op_pass(struct worker *w)
{
	char data = 'x', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct slot *s = take(&w->rng, K_FREE);
	struct cmsghdr *cm;
	enum kind kind;
	int fd;

	if (!s)
		return;
	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &s->fd, sizeof(int));
	kind = s->kind;
	if (chance(&w->rng, 30)) {
		/* Move: the original is closed while the copy is in flight. */
		if (sendmsg(w->sock[0], &msg, MSG_DONTWAIT) == 1) {
			close(s->fd);
			s->fd = -1;
			s->kind = K_FREE;
		}
	} else {
		sendmsg(w->sock[0], &msg, MSG_DONTWAIT);
	}
	give(s);
	w->st.passes++;
	if (chance(&w->rng, 20)) {
		/* Never received: closing the sockets drops what is in flight. */
		close(w->sock[0]);
		close(w->sock[1]);
		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, w->sock))
			report_bad("socketpair: %s", strerror(errno));
		w->st.dropped_in_flight++;
		return;
	}
	memset(cbuf, 0, sizeof(cbuf));
	msg.msg_controllen = sizeof(cbuf);
	if (recvmsg(w->sock[1], &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1)
		return;
	cm = CMSG_FIRSTHDR(&msg);
	if (cm && cm->cmsg_type == SCM_RIGHTS) {
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		keep(w, fd, kind);
	}
}

/* The mapping of @m through /proc/self/map_files: its path in @buf. */
static void map_files_path(char *buf, size_t len, const struct map *m)
{
	snprintf(buf, len, "/proc/self/map_files/%lx-%lx", (unsigned long)m->addr,
		 (unsigned long)(m->addr + m->len));
}

static struct map *take_map(struct rng *r, bool used);

/*
 * Hold a file the other ways userspace can: an O_PATH open of its
 * /proc/PID/fd link or of a mapping's /proc/self/map_files link (these hold
 * the dentry, not the file: a dma-buf lives on while its file is freed),
 * pidfd_getfd(), close_range(), epoll, and a bind mount of the fd's link.
 */
static void op_hold(struct worker *w)
{
	struct rng *r = &w->rng;
	char path[96];
	struct slot *s;
	struct map *m;
	int fd, pidfd;

	w->st.holds++;
	switch (below(r, 6)) {
	case 0: /* O_PATH through /proc/self/fd or /proc/PID/fd */
		s = take(r, chance(r, 70) ? K_DMABUF : K_FREE);
		if (!s)
			return;
		if (chance(r, 50))
			snprintf(path, sizeof(path), "/proc/self/fd/%d", s->fd);
		else
			snprintf(path, sizeof(path), "/proc/%d/fd/%d", getpid(), s->fd);
		fd = open(path, O_PATH | O_CLOEXEC);
		give(s);
		keep(w, fd, K_PATH);
		break;
	case 1: /* O_PATH (or a reopen) through /proc/self/map_files */
		m = take_map(r, true);
		if (!m)
			return;
		map_files_path(path, sizeof(path), m);
		pthread_mutex_unlock(&m->lock);
		fd = open(path, chance(r, 80) ? O_PATH | O_CLOEXEC : O_RDWR | O_CLOEXEC);
		keep(w, fd, K_PATH);
		break;
	case 2: /* pidfd_getfd() of our own fd */
		s = take(r, K_FREE);
		if (!s)
			return;
		pidfd = syscall(SYS_pidfd_open, getpid(), 0);
		fd = pidfd >= 0 ? syscall(SYS_pidfd_getfd, pidfd, s->fd, 0) : -1;
		if (pidfd >= 0)
			close(pidfd);
		if (fd >= 0)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
		keep(w, fd, s->kind);
		give(s);
		break;
	case 3: /* close_range() of one fd */
		s = take(r, K_FREE);
		if (!s)
			return;
		if (!syscall(SYS_close_range, s->fd, s->fd, 0)) {
			s->fd = -1;
			s->kind = K_FREE;
		}
		give(s);
		break;
	case 4: /* epoll: watched, then maybe closed while watched */
		s = take(r, K_FREE);
		if (!s)
			return;
		{
			struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.fd = s->fd };
			struct epoll_event out[4];

			epoll_ctl(w->epfd, EPOLL_CTL_ADD, s->fd, &ev);
			give(s);
			epoll_wait(w->epfd, out, 4, 0);
		}
		break;
	default: /* a bind mount of an fd's link, or its unmount */
		if (w->mounted) {
			umount2(w->mnt, MNT_DETACH);
			w->mounted = false;
			break;
		}
		s = take(r, K_DMABUF);
		if (!s)
			return;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", s->fd);
		w->mounted = !mount(path, w->mnt, NULL, MS_BIND, NULL);
		give(s);
		break;
	}
}

/* A random mapping slot, locked, in use (@used) or free. */
static struct map *take_map(struct rng *r, bool used)
{
	int i, start = below(r, MAPS);

	for (i = 0; i < MAPS; i++) {
		struct map *m = &maps[(start + i) % MAPS];

		if (pthread_mutex_trylock(&m->lock))
			continue;
		if (!!m->addr == used)
			return m;
		pthread_mutex_unlock(&m->lock);
	}
	return NULL;
}

static int random_prot(struct rng *r)
{
	static const int prots[] = { PROT_READ | PROT_WRITE, PROT_READ, PROT_WRITE, PROT_NONE };

	return prots[chance(r, 70) ? 0 : below(r, 4)];
}

static void op_mmap(struct worker *w)
{
	struct rng *r = &w->rng;
	struct slot *s = take(r, K_DMABUF);
	size_t len = (1 + below(r, MAX_MAP_PAGES)) * FB_PAGE;
	off_t off = chance(r, 80) ? 0 : (off_t)below(r, 4) * FB_PAGE + (chance(r, 90) ? 0 : 1);
	int prot = random_prot(r), flags = chance(r, 90) ? MAP_SHARED : MAP_PRIVATE;
	struct map *m;
	void *p;

	if (!s)
		return;
	p = mmap(NULL, len, prot, flags, s->fd, off);
	give(s);
	if (p == MAP_FAILED)
		return;
	w->st.maps++;
	m = take_map(r, false);
	if (!m) {
		munmap(p, len);
		return;
	}
	m->addr = p;
	m->len = len;
	m->prot = prot;
	pthread_mutex_unlock(&m->lock);
}

static void op_remap(struct worker *w)
{
	struct rng *r = &w->rng;
	struct map *m = take_map(r, true);
	size_t pages = m ? m->len / FB_PAGE : 0;
	void *p;

	if (!m)
		return;
	switch (below(r, 5)) {
	case 0: /* all of it */
		munmap(m->addr, m->len);
		m->addr = NULL;
		break;
	case 1: /* the first page, leaving the rest mapped */
		if (pages > 1 && !munmap(m->addr, FB_PAGE)) {
			m->addr += FB_PAGE;
			m->len -= FB_PAGE;
		}
		break;
	case 2: {
		size_t len = (1 + below(r, MAX_MAP_PAGES)) * FB_PAGE;

		p = mremap(m->addr, m->len, len, MREMAP_MAYMOVE);
		if (p != MAP_FAILED) {
			m->addr = p;
			m->len = len;
		}
		break;
	}
	case 3: {
		int prot = random_prot(r);

		if (!mprotect(m->addr, m->len, prot))
			m->prot = prot;
		break;
	}
	default: {
		static const int advice[] = { MADV_DONTNEED, MADV_DONTFORK, MADV_DOFORK,
					      MADV_WILLNEED };

		madvise(m->addr, m->len, advice[below(r, 4)]);
		break;
	}
	}
	pthread_mutex_unlock(&m->lock);
}

static void count_touch(struct worker *w, int sig)
{
	w->st.touches++;
	if (sig == SIGBUS)
		w->st.sigbus++;
	else if (sig == SIGSEGV)
		w->st.sigsegv++;
}

static void op_touch(struct worker *w)
{
	struct rng *r = &w->rng;
	struct map *m = take_map(r, true);

	if (!m)
		return;
	count_touch(w, fb_touch(m->addr + below(r, m->len), chance(r, 50), rnd(r), NULL));
	pthread_mutex_unlock(&m->lock);
}

/*
 * The child inherits the fds and the mappings (but no other thread, and so
 * none of their locks: it only trylocks). It uses some, closes some, exits.
 */
static void op_fork(struct worker *w)
{
	struct rng *r = &w->rng;
	pid_t pid;
	int i;

	pid = fork();
	if (pid < 0)
		return;
	w->st.forks++;
	if (pid == 0) {
		for (i = 0; i < 16; i++) {
			struct map *m = take_map(r, true);
			struct slot *s = take(r, K_FREE);

			if (m)
				fb_touch(m->addr + below(r, m->len), chance(r, 50), 0x5a, NULL);
			if (s && chance(r, 50))
				close(s->fd);
			else if (s && s->kind == K_TIMELINE)
				fb_inc(s->fd, 1);
			else if (s && s->kind == K_DMABUF)
				munmap(mmap(NULL, FB_PAGE, PROT_READ, MAP_SHARED, s->fd, 0),
				       FB_PAGE);
		}
		_exit(0);
	}
	waitpid(pid, NULL, 0);
}

static void op_peek(struct worker *w)
{
	struct rng *r = &w->rng;
	struct pollfd p[3];
	struct slot *s[3];
	char path[64], buf[512];
	int i, n = 0;

	for (i = 0; i < 3; i++) {
		s[n] = take(r, K_FREE);
		if (s[n]) {
			p[n] = (struct pollfd){ .fd = s[n]->fd, .events = POLLIN | POLLOUT };
			n++;
		}
	}
	switch (below(r, 3)) {
	case 0:
		poll(p, n, below(r, 2));
		break;
	case 1:
		if (n) {
			snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", p[0].fd);
			fb_read_file(path, buf, sizeof(buf));
		}
		break;
	default:
		if (n)
			lseek(p[0].fd, below(r, 2) * FB_PAGE, below(r, 3));
		break;
	}
	for (i = 0; i < n; i++)
		give(s[i]);
}

/*
 * Coverage feedback. Features are the basic blocks a program ran (their
 * PCs) and the edges between consecutive ones (hashed): a program that
 * adds one is kept.
 */
#define PROGRAM_OPS 16
#define MAX_PCS (64 << 10)
#define INPUT_MAX 2048
#define CORPUS_MAX 4096

struct input {
	size_t len;
	uint8_t data[INPUT_MAX];
};

static struct {
	pthread_mutex_t lock;
	uint64_t *slot;
	size_t cap, used, blocks;
} features = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct {
	pthread_mutex_t lock;
	struct input *entry[CORPUS_MAX];
	unsigned int n, loaded;
} corpus = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Adds @key (nonzero) to the feature set; true if it was new. */
static bool feature_add(uint64_t key)
{
	size_t i;

	if (2 * (features.used + 1) > features.cap) {
		uint64_t *old = features.slot;
		size_t cap = features.cap, j;

		features.cap = cap ? 2 * cap : 1 << 16;
		features.slot = calloc(features.cap, sizeof(uint64_t));
		if (!features.slot) {
			features.slot = old;
			features.cap = cap;
			return false;
		}
		features.used = 0;
		for (j = 0; j < cap; j++)
			if (old[j])
				feature_add(old[j]);
		free(old);
	}
	for (i = (key * 0x9e3779b97f4a7c15ull) >> 24; ; i++) {
		i &= features.cap - 1;
		if (features.slot[i] == key)
			return false;
		if (!features.slot[i]) {
			features.slot[i] = key;
			features.used++;
			return true;
		}
	}
}

/* Counts @pcs' new features; true if there was one. */
static bool new_coverage(const uint64_t *pcs, size_t n)
{
	uint64_t prev = 0;
	bool fresh = false;
	size_t i;

	pthread_mutex_lock(&features.lock);
	for (i = 0; i < n; i++) {
		/* A block: its PC (kernel addresses have the top bit set). */
		if (feature_add(pcs[i])) {
			features.blocks++;
			fresh = true;
		}
		/* An edge: top bit clear, so it never equals a block. */
		if (prev && feature_add(((prev * 31) ^ pcs[i]) >> 1 | 1))
			fresh = true;
		prev = pcs[i];
	}
	pthread_mutex_unlock(&features.lock);
	return fresh;
}

static void corpus_add(const struct input *in)
{
	struct input *copy = malloc(sizeof(*copy));

	if (!copy)
		return;
	*copy = *in;
	pthread_mutex_lock(&corpus.lock);
	if (corpus.n < CORPUS_MAX)
		corpus.entry[corpus.n++] = copy;
	else
		free(copy);
	pthread_mutex_unlock(&corpus.lock);
}

/* A copy of a random corpus entry into @in; false if the corpus is empty. */
static bool corpus_pick(struct rng *r, struct input *in)
{
	bool found;

	pthread_mutex_lock(&corpus.lock);
	found = corpus.n > 0;
	if (found)
		*in = *corpus.entry[below(r, corpus.n)];
	pthread_mutex_unlock(&corpus.lock);
	return found;
}

/* Values that reach boundaries: zero, one, all ones, page sizes, flags. */
static uint64_t interesting(struct rng *r)
{
	static const uint64_t v[] = {
		0, 1, 2, 3, 7, 8, 63, 64, 255, 4095, 4096, 4097, 1 << 20, 4 << 20,
		0x7fffffff, 0x80000000, 0xffffffff, ~0ull, ~0ull >> 1, 1ull << 63,
	};

	return v[below(r, sizeof(v) / sizeof(v[0]))] - (chance(r, 20) ? 1 : 0);
}

/* One to four mutations of @in, drawing from the worker's own generator. */
static void mutate(struct rng *r, struct input *in)
{
	unsigned int k, times = 1 + below(r, 4);

	for (k = 0; k < times; k++) {
		size_t words = in->len / 8, at = words ? 8 * below(r, words) : 0;
		uint64_t v;

		switch (below(r, 7)) {
		case 0: /* a bit */
			if (in->len)
				in->data[below(r, in->len)] ^= 1 << below(r, 8);
			break;
		case 1: /* a byte */
			if (in->len)
				in->data[below(r, in->len)] = rnd(r);
			break;
		case 2: /* a word, to a boundary value */
			v = interesting(r);
			if (at + 8 <= in->len)
				memcpy(in->data + at, &v, 8);
			break;
		case 3: /* a new choice: the ones after it shift */
			if (in->len + 8 <= INPUT_MAX) {
				memmove(in->data + at + 8, in->data + at, in->len - at);
				v = chance(r, 50) ? rnd(r) : interesting(r);
				memcpy(in->data + at, &v, 8);
				in->len += 8;
			}
			break;
		case 4: /* a choice fewer */
			if (at + 8 <= in->len) {
				memmove(in->data + at, in->data + at + 8, in->len - at - 8);
				in->len -= 8;
			}
			break;
		case 5: { /* splice: this entry's start, another's end */
			struct input *other = malloc(sizeof(*other));

			if (other && corpus_pick(r, other) && other->len) {
				size_t from = 8 * below(r, other->len / 8 + 1);
				size_t n = other->len - from;

				if (at + n > INPUT_MAX)
					n = INPUT_MAX - at;
				memcpy(in->data + at, other->data + from, n);
				in->len = at + n;
			}
			free(other);
			break;
		}
		default: /* a run of words repeated */
			if (at + 16 <= in->len && in->len + 16 <= INPUT_MAX) {
				memmove(in->data + at + 16, in->data + at, in->len - at);
				in->len += 16;
			}
			break;
		}
	}
}

static void fresh_input(struct rng *r, struct input *in)
{
	size_t i;

	in->len = 8 * (8 + below(r, 57));
	for (i = 0; i < in->len; i++)
		in->data[i] = rnd(r);
}

/* The operations, weighted by repetition. */
static void (*const ops[])(struct worker *) = {
	op_ioctl, op_ioctl, op_ioctl, op_ioctl, op_ioctl, op_ioctl, op_open, op_open,
	op_close, op_dup, op_pass, op_mmap, op_mmap, op_remap, op_touch, op_touch,
	op_peek, op_fork, op_hold,
};

static void run_op(struct worker *w)
{
	unsigned int i = below(&w->rng, sizeof(ops) / sizeof(ops[0]));

	/* fork is slow under emulation: keep it rarer than the rest. */
	if (ops[i] == op_fork && chance(&w->rng, 80))
		return;
	ops[i](w);
	w->st.ops++;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct input *in = guided ? malloc(sizeof(*in)) : NULL;
	unsigned int k;

	if (guided && (!in || !kcov_feedback)) {
		report_bad("guided mode needs KCOV (%s)", in ? "/sys/kernel/debug/kcov" : "memory");
		free(in);
		return NULL;
	}
	while (!stop) {
		struct rng own = w->rng;
		bool fresh;
		size_t n;

		if (guided) {
			uint64_t h = 0xcbf29ce484222325ull;

			if (corpus_pick(&own, in))
				mutate(&own, in);
			else
				fresh_input(&own, in);
			/* Past the input's end, a generator that the input seeds. */
			for (n = 0; n < in->len; n++)
				h = (h ^ in->data[n]) * 0x100000001b3ull;
			w->rng = (struct rng){ .s = h, .data = in->data, .len = in->len };
		}
		if (kcov_feedback)
			fb_kcov_begin();
		for (k = 0; k < PROGRAM_OPS && !stop; k++)
			run_op(w);
		if (kcov_feedback) {
			n = fb_kcov_end(w->pcs, MAX_PCS);
			fresh = new_coverage(w->pcs, n < MAX_PCS ? n : MAX_PCS);
			if (fresh && guided)
				corpus_add(in);
		}
		/* Guided, the worker's own generator draws the next mutation. */
		if (guided)
			w->rng = own;
	}
	free(in);
	return NULL;
}

/* The corpus a previous run left (FENCEBUF_FUZZ_CORPUS), as seeds. */
static void corpus_load(const char *dir)
{
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *e;

	while (d && (e = readdir(d))) {
		struct input in;
		char path[512];
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		in.len = fread(in.data, 1, INPUT_MAX, f);
		fclose(f);
		if (in.len) {
			corpus_add(&in);
			corpus.loaded++;
		}
	}
	if (d)
		closedir(d);
}

static void corpus_print(void)
{
	unsigned int i;
	size_t j;

	for (i = corpus.loaded; i < corpus.n; i++) {
		printf("@@fuzz-corpus ");
		for (j = 0; j < corpus.entry[i]->len; j++)
			printf("%02x", corpus.entry[i]->data[j]);
		printf("\n");
	}
	fflush(stdout);
}

/*
 * Revoke and restore by memory decoding every 10 to 60 ms, and about every
 * 1 to 3 s a PCI unbind and rebind. Each toggle makes QEMU rebuild its
 * memory map; toggling every few ms crashed Debian 12's QEMU 7.2 with
 * multi-threaded TCG (see the exporter stress), and the rate stays that of
 * the runs made on it, so that they compare.
 */
static void *chaos_main(void *arg)
{
	struct worker *w = arg;
	struct rng *r = &w->rng;
	double next_unbind = fb_now_s() + 1;
	int dev = open(FB_EXPORTER_DEV, O_RDWR | O_CLOEXEC);

	while (!stop) {
		usleep(10000 + below(r, 50000));
		if (fb_now_s() >= next_unbind) {
			close(dev);
			if (!fb_write_file(FB_DRIVER_DIR "/unbind", FB_PCI_ADDR))
				w->st.unbinds++;
			usleep(below(r, 50000));
			if (fb_write_file(FB_DRIVER_DIR "/bind", FB_PCI_ADDR))
				report_bad("rebind: %s", strerror(errno));
			dev = open(FB_EXPORTER_DEV, O_RDWR | O_CLOEXEC);
			next_unbind = fb_now_s() + 1 + below(r, 2000) / 1000.0;
			continue;
		}
		if (fb_memory(dev, 0) == 0) {
			w->st.toggles++;
			usleep(below(r, 5000));
			fb_memory(dev, 1);
		}
	}
	close(dev);
	return NULL;
}

static bool fd_listed(const int *fds, int n, int fd)
{
	int i;

	for (i = 0; i < n; i++)
		if (fds[i] == fd)
			return true;
	return false;
}

/* This process's fds, sorted by the kernel; returns how many. */
static int list_fds(int *fds, int max)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d) && n < max)
			fds[n++] = atoi(e->d_name);
	if (d)
		closedir(d);
	return n;
}

FIXTURE(fuzz) {
	int unused;
};

FIXTURE_SETUP(fuzz)
{
	const char *s = getenv("FENCEBUF_FUZZ_SEED"), *t = getenv("FENCEBUF_FUZZ_SECONDS");
	const char *m = getenv("FENCEBUF_FUZZ_MODE");

	seed = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	seconds = t && atoi(t) > 0 ? atoi(t) : 60;
	/* Before anything else, so a failing set-up can be replayed too. */
	ksft_print_msg("fuzz: seed %llu, %u s, %d workers (replay: FENCEBUF_FUZZ_SEED=%llu; "
		       "the threads' interleaving is not replayed)\n",
		       (unsigned long long)seed, seconds, WORKERS, (unsigned long long)seed);
	ASSERT_TRUE(!m || !strcmp(m, "random") || !strcmp(m, "guided")) {
		TH_LOG("FENCEBUF_FUZZ_MODE is random or guided, not '%s'", m);
	}
	guided = m && !strcmp(m, "guided");
	kcov_feedback = fb_kcov_begin();
	/* Guided needs the feedback; random only reports it where it is. */
	if (guided)
		ASSERT_TRUE(kcov_feedback) {
			TH_LOG("guided fuzzing needs KCOV: no /sys/kernel/debug/kcov");
		}
	if (guided)
		corpus_load(getenv("FENCEBUF_FUZZ_CORPUS"));
	ksft_print_msg("fuzz: %s%s, %u corpus entries loaded\n", guided ? "guided" : "random",
		       kcov_feedback ? ", KCOV feedback" : ", no KCOV", corpus.loaded);
	fb_unload_name(IMP_NAME);
	if (fb_loaded())
		ASSERT_EQ(0, fb_unload());
	/* Short revoke waits keep unbinds quick; a small limit reaches ENOSPC. */
	ASSERT_EQ(0, fb_load("revoke_timeout_ms=100 max_pending=64"));
	have_importer = fb_load_path(IMP_KO, "") == 0;
}

FIXTURE_TEARDOWN(fuzz)
{
	fb_unload_name(IMP_NAME);
}

TEST_F_TIMEOUT(fuzz, random_calls_interleaved_with_revoke_and_unbind, 100000)
{
	struct worker w[WORKERS + 1];
	struct stats total = { 0 };
	int before[256], after[256], nb, na, i, j, leaks, lowest_free;
	size_t k;
	struct rng main_rng = { .s = seed };
	double start, end;
	int next_growth = 30;

	/* Touches of mappings raise SIGBUS (revoked) or SIGSEGV (protection). */
	fb_touch_init();
	ro_page = mmap(NULL, FB_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro_page);
	for (i = 0; i < FB_PAGE; i++)
		ro_page[i] = rnd(&main_rng);
	ASSERT_EQ(0, mprotect(ro_page, FB_PAGE, PROT_READ));
	for (i = 0; i < SLOTS; i++)
		slots[i] = (struct slot){ .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1 };
	for (i = 0; i < MAPS; i++)
		maps[i] = (struct map){ .lock = PTHREAD_MUTEX_INITIALIZER };
	nb = list_fds(before, 256);
	lowest_free = fb_lowest_free_fd();

	for (i = 0; i <= WORKERS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].rng.s = rnd(&main_rng);
		w[i].pcs = kcov_feedback ? malloc(MAX_PCS * sizeof(uint64_t)) : NULL;
		ASSERT_TRUE(!kcov_feedback || w[i].pcs);
		ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, w[i].sock));
		w[i].epfd = epoll_create1(EPOLL_CLOEXEC);
		ASSERT_GE(w[i].epfd, 0);
		snprintf(w[i].mnt, sizeof(w[i].mnt), "/tmp/fencebuf-fuzz-mnt-%d", i);
		close(open(w[i].mnt, O_RDWR | O_CREAT | O_CLOEXEC, 0600));
		/* PROT_NONE rather than unmapped: no later mmap may land there. */
		w[i].arena = mmap(NULL, 3 * FB_PAGE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, w[i].arena);
		ASSERT_EQ(0, mprotect(w[i].arena + 2 * FB_PAGE, FB_PAGE, PROT_NONE));
		ASSERT_EQ(0, pthread_create(&w[i].thread, NULL,
					    i < WORKERS ? worker_main : chaos_main, &w[i]));
	}
	start = fb_now_s();
	end = start + seconds;
	while (fb_now_s() < end) {
		sleep(1);
		/* Coverage growth, for comparing the modes (scripts/test/fuzz.sh). */
		if (kcov_feedback && fb_now_s() - start >= next_growth) {
			pthread_mutex_lock(&features.lock);
			ksft_print_msg("fuzz-growth: t=%d blocks=%zu features=%zu corpus=%u\n",
				       next_growth, features.blocks, features.used, corpus.n);
			pthread_mutex_unlock(&features.lock);
			next_growth += 30;
		}
	}
	stop = 1;
	for (i = 0; i <= WORKERS; i++) {
		pthread_join(w[i].thread, NULL);
		close(w[i].sock[0]);
		close(w[i].sock[1]);
		close(w[i].epfd);
		if (w[i].mounted)
			umount2(w[i].mnt, MNT_DETACH);
		unlink(w[i].mnt);
		munmap(w[i].arena, 3 * FB_PAGE);
		free(w[i].pcs);
		for (k = 0; k < sizeof(total) / sizeof(unsigned long); k++)
			((unsigned long *)&total)[k] += ((unsigned long *)&w[i].st)[k];
	}
	for (i = 0; i < MAPS; i++)
		if (maps[i].addr)
			munmap(maps[i].addr, maps[i].len);
	for (i = 0; i < SLOTS; i++)
		if (slots[i].kind != K_FREE)
			close(slots[i].fd);
	munmap(ro_page, FB_PAGE);

	ksft_print_msg("fuzz: %lu ops: %lu ioctls (%lu succeeded), %lu fds made, %lu forks, "
		       "%lu fds passed (%lu dropped in flight), %lu other holds, %lu mappings, "
		       "%lu touches (%lu SIGBUS, %lu SIGSEGV), %lu revokes by memory off, "
		       "%lu unbinds\n",
		       total.ops, total.ioctls, total.ioctl_ok, total.fds_made, total.forks,
		       total.passes, total.dropped_in_flight, total.holds, total.maps, total.touches,
		       total.sigbus, total.sigsegv, total.toggles, total.unbinds);
	ksft_print_msg("stat: iterations=%lu\n", total.ops);
	if (kcov_feedback)
		ksft_print_msg("fuzz: %s: %zu basic blocks, %zu features, %u corpus entries "
			       "(%u new)\n", guided ? "guided" : "random", features.blocks,
			       features.used, corpus.n, corpus.n - corpus.loaded);
	if (guided)
		corpus_print();

	/* Every fd the run opened is gone; list any that is not. */
	na = list_fds(after, 256);
	for (i = 0, j = 0; i < na; i++) {
		char path[64], target[128] = "";

		if (fd_listed(before, nb, after[i]))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", after[i]);
		readlink(path, target, sizeof(target) - 1);
		TH_LOG("fd %d (%s) left open", after[i], target);
		j++;
	}
	/* An fd reserved and never installed or released shows only here. */
	i = fb_lowest_free_fd();
	if (i != lowest_free)
		TH_LOG("fd %d is taken, but not listed in /proc/self/fd", lowest_free);
	ksft_print_msg("stat: leaked_fds=%d\n", j + (nb > na ? nb - na : 0) + (i != lowest_free));
	EXPECT_EQ(nb, na);
	EXPECT_EQ(0, j);
	EXPECT_EQ(lowest_free, i);
	for (i = 0; i < bad.count && i < 4; i++)
		TH_LOG("%s", bad.first[i]);
	EXPECT_EQ(0, bad.count);

	/* The device works as before: bound, decoding, a fence signals. */
	if (access(FB_EXPORTER_DEV, F_OK))
		ASSERT_EQ(0, fb_write_file(FB_DRIVER_DIR "/bind", FB_PCI_ADDR));
	{
		int tl = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
		int dev = open(FB_EXPORTER_DEV, O_RDWR | O_CLOEXEC), f, buf;
		uint8_t *p;

		ASSERT_LE(0, tl);
		ASSERT_LE(0, dev);
		ASSERT_EQ(0, fb_memory(dev, 1));
		f = fb_create(tl, 1);
		ASSERT_LE(0, f);
		ASSERT_EQ(0, fb_inc(tl, 1));
		EXPECT_EQ(1, fb_status(f));
		buf = fb_export(dev, 3 << 20, FB_PAGE);
		ASSERT_LE(0, buf);
		p = mmap(NULL, FB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
		ASSERT_NE(MAP_FAILED, p);
		EXPECT_EQ(0, fb_touch(p, true, 0x42, NULL));
		EXPECT_EQ(0, fb_touch(p, false, 0, NULL));
		EXPECT_EQ(0x42, p[0]);
		munmap(p, FB_PAGE);
		close(buf);
		close(f);
		close(dev);
		close(tl);
	}
	if (fb_stock_kernel() && access("/sys/kernel/debug/kmemleak", F_OK)) {
		ksft_print_msg("no leak scan: Debian's kernel has no kmemleak "
			       "(CONFIG_DEBUG_KMEMLEAK is not set)\n");
		return;
	}
	leaks = fb_kmemleak_scan();
	ksft_print_msg("stat: leaked_objects=%d\n", leaks);
	EXPECT_EQ(0, leaks);
}

TEST_HARNESS_MAIN
