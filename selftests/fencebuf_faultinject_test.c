// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation-failure injection: for every path into fencebuf (each ioctl,
 * open, mmap, first touch, the importer's attach and map, PCI probe and
 * module init), make the N-th allocation of the calling task fail, for
 * N = 1, 2, ... until the call runs without reaching an N-th allocation.
 *
 * Each failed call must return ENOMEM or an errno the path documents, and
 * leave nothing behind: the same open fds, the same lowest free fd (a
 * reserved but never installed fd shows only there), and a device that
 * works normally afterwards. Memory leaks are counted by kmemleak at the
 * end. Injection uses /proc/thread-self/fail-nth, which fails the N-th
 * failslab or fail_page_alloc point reached by this task only
 * (Documentation/fault-injection/fault-injection.rst); both are set to
 * count sleeping allocations, which they skip by default.
 *
 * Each path runs twice: with slab allocations only, then with page
 * allocations of every order too. Counting pages, N also lands on the slab
 * allocator's own refills, which come in varying number and which it
 * retries; measured (make coverage), N then passes over some of
 * fencebuf's own allocations (TimelineFile's FenceContext), which the
 * first pass fails one by one.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "fencebuf_test.h"
#include "fencebuf_sync.h"
#include "fencebuf_exporter.h"
#include "fencebuf_importer.h"

#define DEBUGFS "/sys/kernel/debug/"
/* Away from the areas the host checks (qemu/ivshmem.py). */
#define BUF_OFF (3 << 20)
#define BUF_LEN (4 * FB_PAGE)
/* No path here comes near this many allocations; reaching it fails. */
#define MAX_N 20000

/* What the paths share; -1 / MAP_FAILED when absent. */
struct fi_ctx {
	int tl, f1, f2, dev, buf, imp;
	uint8_t *map;
	int mapped_len;
};

/*
 * One path: set-up outside injection, the call under injection (returns
 * what it made, >= 0, or -errno), and the undoing of a success, outside
 * injection again. @errnos: what a failure may return besides ENOMEM.
 */
struct fi_path {
	const char *name;
	int (*setup)(struct fi_ctx *c);
	int (*run)(struct fi_ctx *c);
	void (*undo)(struct fi_ctx *c, int made);
	int errnos[4];
	bool importer;
	/* The call closes an fd of the set-up's, on success as on failure. */
	bool closes_fd;
	/*
	 * Only the last @tail allocations of the call, unless FENCEBUF_FI_FULL
	 * is set (make stress): a module load makes a thousand and more, nearly
	 * all of them the module loader's before fencebuf's init even runs.
	 */
	int tail;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int open_tl(struct fi_ctx *c)
{
	c->tl = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
	return c->tl < 0 ? -errno : 0;
}

/* A timeline with two pending fences at 5 and 7. */
static int setup_fences(struct fi_ctx *c)
{
	int ret = open_tl(c);

	if (ret)
		return ret;
	c->f1 = fb_create(c->tl, 5);
	c->f2 = fb_create(c->tl, 7);
	return c->f1 < 0 ? c->f1 : c->f2 < 0 ? c->f2 : 0;
}

static int setup_exporter(struct fi_ctx *c)
{
	c->dev = open(FB_EXPORTER_DEV, O_RDWR | O_CLOEXEC);
	return c->dev < 0 ? -errno : 0;
}

static int setup_buffer(struct fi_ctx *c)
{
	int ret = setup_exporter(c);

	if (ret)
		return ret;
	c->buf = fb_export(c->dev, BUF_OFF, BUF_LEN);
	return c->buf < 0 ? c->buf : 0;
}

static int setup_mapping(struct fi_ctx *c)
{
	int ret = setup_buffer(c);

	if (ret)
		return ret;
	c->map = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, c->buf, 0);
	if (c->map == MAP_FAILED)
		return -errno;
	c->mapped_len = BUF_LEN;
	return 0;
}

/*
 * A mapping whose first page is present, and a fence in the buffer's
 * reservation object, signalled so that a revoke does not wait for it.
 */
static int setup_busy_buffer(struct fi_ctx *c)
{
	int ret = setup_mapping(c);

	if (ret)
		return ret;
	if (fb_touch(c->map, 1, 1, NULL))
		return -EFAULT;
	ret = setup_fences(c);
	if (!ret)
		ret = fb_import_fence(c->buf, c->f1);
	return ret ? ret : fb_inc(c->tl, 5);
}

static int setup_importer(struct fi_ctx *c)
{
	int ret = setup_buffer(c);

	if (ret)
		return ret;
	c->imp = open(IMP_DEV, O_RDWR | O_CLOEXEC);
	return c->imp < 0 ? -errno : 0;
}

static int setup_attached(struct fi_ctx *c)
{
	int ret = setup_importer(c);

	if (ret)
		return ret;
	return ioctl(c->imp, FBIMP_IOC_ATTACH, &c->buf) ? -errno : 0;
}

/*
 * The exporter of a freshly bound device, which has exported nothing yet:
 * its first export grows the list of buffers (later ones find room).
 */
static int setup_rebound_exporter(struct fi_ctx *c)
{
	int ret = fb_write_file(FB_DRIVER_DIR "/unbind", FB_PCI_ADDR);

	if (!ret)
		ret = fb_write_file(FB_DRIVER_DIR "/bind", FB_PCI_ADDR);
	return ret ? ret : setup_exporter(c);
}

static int setup_unbound(struct fi_ctx *c)
{
	(void)c;
	return fb_write_file(FB_DRIVER_DIR "/unbind", FB_PCI_ADDR);
}

static int setup_unloaded(struct fi_ctx *c)
{
	(void)c;
	fb_unload_name(IMP_NAME);
	return fb_loaded() ? fb_unload() : 0;
}

static int ret_fd(int fd)
{
	return fd < 0 ? -errno : fd;
}

static int ret_ioctl(int ret)
{
	return ret ? -errno : 0;
}

static void undo_close(struct fi_ctx *c, int made)
{
	(void)c;
	close(made);
}

static int run_open_timeline(struct fi_ctx *c)
{
	(void)c;
	return ret_fd(open("/dev/sw_sync", O_RDWR | O_CLOEXEC));
}

static int run_create_fence(struct fi_ctx *c)
{
	return fb_create(c->tl, 9);
}

/* At a value the timeline has reached: the fence is born signalled. */
static int run_create_signalled(struct fi_ctx *c)
{
	return fb_create(c->tl, 0);
}

/* At a pending fence's seqno: a new sync_file for that fence. */
static int run_create_same_seqno(struct fi_ctx *c)
{
	return fb_create(c->tl, 5);
}

static int run_inc(struct fi_ctx *c)
{
	return fb_inc(c->tl, 6);
}

static int run_signal_error(struct fi_ctx *c)
{
	struct fencebuf_signal s = { .value = 7, .error = -EIO };

	return ret_ioctl(ioctl(c->tl, FENCEBUF_IOC_SIGNAL, &s));
}

static int setup_deadline(struct fi_ctx *c)
{
	struct sync_set_deadline d = { .deadline_ns = 1000 };
	int ret = setup_fences(c);

	return ret ? ret : ret_ioctl(ioctl(c->f1, SYNC_IOC_SET_DEADLINE, &d));
}

static int run_get_deadline(struct fi_ctx *c)
{
	struct sw_sync_get_deadline d = { .fence_fd = c->f1 };

	return ret_ioctl(ioctl(c->tl, SW_SYNC_GET_DEADLINE, &d));
}

static int run_merge(struct fi_ctx *c)
{
	return fb_merge(c->f1, c->f2);
}

static int run_file_info(struct fi_ctx *c)
{
	struct sync_fence_info fi[2];
	struct sync_file_info info = {
		.num_fences = 2,
		.sync_fence_info = (uintptr_t)fi,
	};
	int m = fb_merge(c->f1, c->f2), ret;

	/* The merge is set-up, but allocates under injection too: count on. */
	if (m < 0)
		return m;
	ret = ret_ioctl(ioctl(m, SYNC_IOC_FILE_INFO, &info));
	close(m);
	return ret;
}

static int run_close_timeline(struct fi_ctx *c)
{
	int ret = close(c->tl);

	c->tl = -1;
	return ret_ioctl(ret);
}

static int run_open_exporter(struct fi_ctx *c)
{
	(void)c;
	return ret_fd(open(FB_EXPORTER_DEV, O_RDWR | O_CLOEXEC));
}

static int run_get_info(struct fi_ctx *c)
{
	struct fencebuf_info info;

	return ret_ioctl(ioctl(c->dev, FENCEBUF_IOC_GET_INFO, &info));
}

static int run_export(struct fi_ctx *c)
{
	return fb_export(c->dev, BUF_OFF, BUF_LEN);
}

static int run_export_ranges(struct fi_ctx *c)
{
	struct fencebuf_range r[16];
	int i;

	for (i = 0; i < 16; i++)
		r[i] = (struct fencebuf_range){ .offset = BUF_OFF + (15 - i) * FB_PAGE,
						.length = FB_PAGE };
	return fb_export_ranges(c->dev, FB_BAR, 0, r, 16);
}

static int run_export_reuse(struct fi_ctx *c)
{
	struct fencebuf_range r = { .offset = BUF_OFF, .length = BUF_LEN };

	return fb_export_ranges(c->dev, FB_BAR, FENCEBUF_EXPORT_REUSE, &r, 1);
}

static int run_mmap(struct fi_ctx *c)
{
	void *p = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, c->buf, 0);

	if (p == MAP_FAILED)
		return -errno;
	c->map = p;
	c->mapped_len = BUF_LEN;
	return 0;
}

/* A page fault that fails to allocate is retried by the kernel: never SIGBUS. */
static int run_first_touch(struct fi_ctx *c)
{
	return fb_touch(c->map + FB_PAGE, 1, 7, NULL) ? -EFAULT : 0;
}

/*
 * Memory off either revokes (the mapping faults) or fails with nothing
 * changed (the mapping still works).
 */
static int run_memory_off(struct fi_ctx *c)
{
	int ret = fb_memory(c->dev, 0);

	if ((fb_touch(c->map, 0, 0, NULL) == SIGBUS) != !ret)
		return -EPROTO;
	return ret;
}

static int setup_memory_off(struct fi_ctx *c)
{
	int ret = setup_busy_buffer(c);

	return ret ? ret : fb_memory(c->dev, 0);
}

/* Memory on either restores or fails with the buffer still revoked. */
static int run_memory_on(struct fi_ctx *c)
{
	int ret = fb_memory(c->dev, 1);

	if ((fb_touch(c->map, 0, 0, NULL) == SIGBUS) != !!ret)
		return -EPROTO;
	return ret;
}

static int run_import_sync_file(struct fi_ctx *c)
{
	return fb_import_fence(c->buf, c->f2);
}

static int run_export_sync_file(struct fi_ctx *c)
{
	struct dma_buf_export_sync_file e = { .flags = DMA_BUF_SYNC_RW, .fd = -1 };

	return ioctl(c->buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e) ? -errno : e.fd;
}

static int run_attach(struct fi_ctx *c)
{
	return ret_ioctl(ioctl(c->imp, FBIMP_IOC_ATTACH, &c->buf));
}

static void undo_detach(struct fi_ctx *c, int made)
{
	(void)made;
	ioctl(c->imp, FBIMP_IOC_DETACH);
}

static int run_map(struct fi_ctx *c)
{
	__u64 n;

	return ret_ioctl(ioctl(c->imp, FBIMP_IOC_MAP, &n));
}

static void undo_unmap(struct fi_ctx *c, int made)
{
	(void)made;
	ioctl(c->imp, FBIMP_IOC_UNMAP);
}

static int run_bind(struct fi_ctx *c)
{
	(void)c;
	return fb_write_file(FB_DRIVER_DIR "/bind", FB_PCI_ADDR);
}

/*
 * Unbind cannot fail: when it cannot allocate, it revokes each buffer under
 * the device lock instead. Either way the mapping faults afterwards (unless
 * the sysfs write itself failed before reaching the driver).
 */
static int run_unbind(struct fi_ctx *c)
{
	int ret = fb_write_file(FB_DRIVER_DIR "/unbind", FB_PCI_ADDR);

	if (ret)
		return ret;
	return fb_touch(c->map, 0, 0, NULL) == SIGBUS ? 0 : -EPROTO;
}

static int run_load(struct fi_ctx *c)
{
	(void)c;
	return fb_load("");
}

static void undo_unload(struct fi_ctx *c, int made)
{
	(void)c;
	(void)made;
	fb_unload();
}

/* Undo whatever set-up and a successful run left. */
static void ctx_release(struct fi_ctx *c)
{
	if (c->map != MAP_FAILED)
		munmap(c->map, c->mapped_len);
	c->map = MAP_FAILED;
	if (c->imp >= 0) {
		ioctl(c->imp, FBIMP_IOC_DETACH);
		close_fd(&c->imp);
	}
	if (c->dev >= 0)
		fb_memory(c->dev, 1);
	close_fd(&c->buf);
	close_fd(&c->dev);
	close_fd(&c->f1);
	close_fd(&c->f2);
	close_fd(&c->tl);
}

/* /proc/thread-self/fail-nth: arm with N, read back 0 once it fired. */
static int fail_nth_fd = -1;

static void arm(int n)
{
	char s[16];
	int len = snprintf(s, sizeof(s), "%d", n);

	if (pwrite(fail_nth_fd, s, len, 0) != len)
		abort();
}

/* What fail-nth had left to count when last disarmed. */
static int read_nth_left;

/* Disarm; true if the armed failure was injected. */
static bool disarm(void)
{
	char s[16] = "";

	if (pread(fail_nth_fd, s, sizeof(s) - 1, 0) <= 0)
		abort();
	read_nth_left = atoi(s);
	arm(0);
	return read_nth_left == 0;
}

/* The fds a call could have left behind: how many, and the lowest free. */
struct fd_state {
	int count, lowest_free;
};

static struct fd_state fd_state(void)
{
	return (struct fd_state){ .count = fb_count_fds(), .lowest_free = fb_lowest_free_fd() };
}

/* Both work as before: a fence signals, a buffer maps and is written. */
static int device_works(void)
{
	struct fi_ctx c = { -1, -1, -1, -1, -1, -1, MAP_FAILED, 0 };
	int ret = setup_fences(&c);

	if (!ret)
		ret = fb_inc(c.tl, 5);
	if (!ret && fb_status(c.f1) != 1)
		ret = -EPROTO;
	if (!ret)
		ret = setup_mapping(&c);
	if (!ret && fb_touch(c.map, 1, 3, NULL))
		ret = -EFAULT;
	ctx_release(&c);
	return ret;
}

/*
 * Loaded, bound, both nodes there: after a failed load, probe or unbind,
 * and after one that succeeded although an allocation failed on its way, as
 * device_add() carries on when devtmpfs could not make the node.
 */
static int recover(void)
{
	int ret;

	if (fb_loaded() && access("/dev/sw_sync", F_OK)) {
		fb_unload_name(IMP_NAME);
		fb_unload();
	}
	if (!fb_loaded()) {
		ret = fb_load("");
		if (ret)
			return ret;
	}
	/*
	 * Unbound: a failed allocation in the unbind's devtmpfs request can
	 * leave the node of the unbound device behind (opening it is ENODEV),
	 * so the driver's link decides, and a stale node goes.
	 */
	if (access(FB_DRIVER_DIR "/" FB_PCI_ADDR, F_OK)) {
		unlink(FB_EXPORTER_DEV);
		return fb_write_file(FB_DRIVER_DIR "/bind", FB_PCI_ADDR);
	}
	if (access(FB_EXPORTER_DEV, F_OK)) {
		fb_write_file(FB_DRIVER_DIR "/unbind", FB_PCI_ADDR);
		return fb_write_file(FB_DRIVER_DIR "/bind", FB_PCI_ADDR);
	}
	return 0;
}

/*
 * Fail sleeping allocations too, quietly, and only through fail-nth
 * (probability stays 0); fi_pages() decides about pages. Returns the file it
 * could not set, or NULL.
 */
static const char *fi_settings(void)
{
	/* FENCEBUF_FI_VERBOSE=1: the kernel logs each injected failure's stack. */
	const char *verbose = getenv("FENCEBUF_FI_VERBOSE") ? "2" : "0";
	const char *const set[][2] = {
		{ DEBUGFS "failslab/ignore-gfp-wait", "N" },
		{ DEBUGFS "failslab/verbose", verbose },
		{ DEBUGFS "fail_page_alloc/ignore-gfp-wait", "N" },
		{ DEBUGFS "fail_page_alloc/ignore-gfp-highmem", "N" },
		{ DEBUGFS "fail_page_alloc/verbose", verbose },
	};
	unsigned int i;

	for (i = 0; i < sizeof(set) / sizeof(set[0]); i++)
		if (fb_write_file(set[i][0], set[i][1]))
			return set[i][0];
	return NULL;
}

/*
 * Whether fail-nth counts page allocations too: from order 0, or none
 * (min-order past the largest order). Returns 0 or -errno.
 */
static int fi_pages(bool on)
{
	return fb_write_file(DEBUGFS "fail_page_alloc/min-order", on ? "0" : "11");
}

FIXTURE(faultinject) {
	struct fi_ctx c;
};

FIXTURE_VARIANT(faultinject) {
	const struct fi_path *path;
};

#define PATH(id, ...)                                                                 \
	static const struct fi_path path_##id = { .name = #id, __VA_ARGS__ };          \
	FIXTURE_VARIANT_ADD(faultinject, id) { .path = &path_##id }

PATH(open_timeline, .run = run_open_timeline, .undo = undo_close);
PATH(create_fence, .setup = setup_fences, .run = run_create_fence, .undo = undo_close);
PATH(create_fence_signalled, .setup = setup_fences, .run = run_create_signalled,
     .undo = undo_close);
PATH(create_fence_same_seqno, .setup = setup_fences, .run = run_create_same_seqno,
     .undo = undo_close);
PATH(inc, .setup = setup_fences, .run = run_inc);
PATH(signal_error, .setup = setup_fences, .run = run_signal_error);
PATH(get_deadline, .setup = setup_deadline, .run = run_get_deadline);
PATH(merge, .setup = setup_fences, .run = run_merge, .undo = undo_close);
PATH(file_info, .setup = setup_fences, .run = run_file_info);
PATH(close_timeline, .setup = setup_fences, .run = run_close_timeline, .closes_fd = true);
PATH(open_exporter, .run = run_open_exporter, .undo = undo_close);
PATH(get_info, .setup = setup_buffer, .run = run_get_info);
PATH(export, .setup = setup_exporter, .run = run_export, .undo = undo_close);
PATH(export_first_buffer, .setup = setup_rebound_exporter, .run = run_export, .undo = undo_close);
PATH(export_16_ranges, .setup = setup_exporter, .run = run_export_ranges, .undo = undo_close);
PATH(export_reuse, .setup = setup_buffer, .run = run_export_reuse, .undo = undo_close);
PATH(mmap, .setup = setup_buffer, .run = run_mmap);
PATH(first_touch, .setup = setup_mapping, .run = run_first_touch);
/* EIO: fail-nth reaches fencebuf's own point, fail_config_write, too. */
PATH(memory_off, .setup = setup_busy_buffer, .run = run_memory_off, .errnos = { EIO });
PATH(memory_on, .setup = setup_memory_off, .run = run_memory_on, .errnos = { EIO });
PATH(import_sync_file, .setup = setup_busy_buffer, .run = run_import_sync_file);
PATH(export_sync_file, .setup = setup_busy_buffer, .run = run_export_sync_file,
     .undo = undo_close);
PATH(importer_attach, .setup = setup_importer, .run = run_attach, .undo = undo_detach,
     .importer = true);
PATH(importer_map, .setup = setup_attached, .run = run_map, .undo = undo_unmap,
     .importer = true);
/*
 * A failed probe leaves the device unbound. Besides ENOMEM, the kernel says
 * EBUSY for a failed allocation in pci_request_region() and in
 * misc_register() (the minor's), which do not tell it from a taken BAR or
 * minor.
 */
PATH(pci_unbind, .setup = setup_busy_buffer, .run = run_unbind);
PATH(pci_probe, .setup = setup_unbound, .run = run_bind, .errnos = { EBUSY });
/*
 * The same in the module's init, and EINVAL from the driver core's
 * module_add_driver() when it cannot allocate /sys/module/fencebuf/drivers.
 */
PATH(module_init, .setup = setup_unloaded, .run = run_load, .undo = undo_unload, .tail = 150,
     .errnos = { EBUSY, EINVAL });

FIXTURE_SETUP(faultinject)
{
	const char *unset;

	self->c = (struct fi_ctx){ -1, -1, -1, -1, -1, -1, MAP_FAILED, 0 };
	if (fb_stock_kernel() && access("/proc/thread-self/fail-nth", F_OK))
		SKIP(return, "Debian's kernel has no fault injection (CONFIG_FAULT_INJECTION "
		     "is not set): no /proc/thread-self/fail-nth");
	unset = fi_settings();
	ASSERT_EQ(NULL, unset) TH_LOG("cannot write %s: is the kernel built with FAILSLAB, "
				      "FAIL_PAGE_ALLOC and FAULT_INJECTION_DEBUG_FS?", unset);
	ASSERT_EQ(0, recover());
	if (variant->path->importer && access(IMP_DEV, F_OK))
		ASSERT_EQ(0, fb_load_path(IMP_KO, ""));
	fail_nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	ASSERT_GE(fail_nth_fd, 0);
}

FIXTURE_TEARDOWN(faultinject)
{
	ctx_release(&self->c);
	if (fail_nth_fd >= 0) {
		arm(0);
		close(fail_nth_fd);
	}
	fb_unload_name(IMP_NAME);
}

TEST_F_TIMEOUT(faultinject, every_allocation_fails_in_turn, 3600)
{
	const struct fi_path *p = variant->path;
	const char *only = getenv("FENCEBUF_FI_PATH");
	int n, made, points = 0, pass, i;
	bool fired;

	/* FENCEBUF_FI_PATH=name: only that path (to debug it, with the above). */
	if (only && strcmp(only, p->name))
		SKIP(return, "FENCEBUF_FI_PATH=%s", only);

	/*
	 * Pass 0: slab allocations only; pass 1: page allocations too. With
	 * FENCEBUF_FI_FULL (make stress), pass 0 fails all of a tail path's
	 * allocations, pass 1 still the last ones only.
	 */
	for (pass = 0; pass < 2 && _metadata->exit_code == KSFT_PASS; pass++) {
		ASSERT_EQ(0, fi_pages(pass == 1));
		/* The last call of the pass before may have unbound or unloaded. */
		ASSERT_EQ(0, recover());
		n = 1;
		if (p->tail && (pass == 1 || !getenv("FENCEBUF_FI_FULL"))) {
			/* Count the call's allocations when none fails, to start near its end. */
			if (p->setup)
				ASSERT_EQ(0, p->setup(&self->c));
			arm(MAX_N);
			made = p->run(&self->c);
			ASSERT_FALSE(disarm());
			ASSERT_LE(0, made);
			if (p->undo)
				p->undo(&self->c, made);
			ctx_release(&self->c);
			n = MAX_N - read_nth_left;
			ksft_print_msg("pass %d: %d allocations in all: failing the last %d\n", pass,
				       n, p->tail);
			n = n > p->tail ? n - p->tail + 1 : 1;
		}
		for (; n <= MAX_N; n++) {
			struct fd_state before, after;

			if (p->setup)
				ASSERT_EQ(0, p->setup(&self->c))
					TH_LOG("pass %d: set-up before N=%d", pass, n);
			before = fd_state();
			arm(n);
			made = p->run(&self->c);
			fired = disarm();
			if (made >= 0 && p->undo)
				p->undo(&self->c, made);
			after = fd_state();
			ctx_release(&self->c);

			/* Not even an N-th allocation: the call ran through, and must work. */
			if (!fired) {
				ASSERT_LE(0, made) TH_LOG("pass %d, N=%d, no failure injected: %s",
							  pass, n, strerror(-made));
				break;
			}
			points++;
			if (made < 0 && made != -ENOMEM) {
				for (i = 0; p->errnos[i] && -made != p->errnos[i]; i++)
					;
				EXPECT_NE(0, p->errnos[i])
					TH_LOG("pass %d, N=%d: %s, not ENOMEM or a documented errno",
					       pass, n, strerror(-made));
			}
			EXPECT_EQ(before.count - p->closes_fd, after.count)
				TH_LOG("pass %d, N=%d: an fd was left open", pass, n);
			if (!p->closes_fd)
				EXPECT_EQ(before.lowest_free, after.lowest_free)
					TH_LOG("pass %d, N=%d: fd %d is still taken (a reservation "
					       "not released?)", pass, n, before.lowest_free);
			ASSERT_EQ(0, recover()) TH_LOG("after pass %d, N=%d failed", pass, n);
			ASSERT_EQ(0, device_works()) TH_LOG("after pass %d, N=%d failed", pass, n);
			if (_metadata->exit_code != KSFT_PASS)
				break;
		}
		ASSERT_GE(MAX_N, n) TH_LOG("pass %d: still failing at N=%d", pass, MAX_N);
	}
	/* Summed over the suites by scripts/report/report.py. */
	ksft_print_msg("stat: fault_points=%d\n", points);
}

/*
 * Leaks: kmemleak reports objects unreferenced for 5 s and seen twice. A
 * fixture of its own, declared after fi's, runs after every path.
 */
FIXTURE(leaks) {
	int unused;
};

FIXTURE_SETUP(leaks)
{
}

FIXTURE_TEARDOWN(leaks)
{
}

TEST_F_TIMEOUT(leaks, kmemleak_finds_nothing, 300)
{
	int leaks;

	if (fb_stock_kernel() && access("/sys/kernel/debug/kmemleak", F_OK))
		SKIP(return, "Debian's kernel has no kmemleak (CONFIG_DEBUG_KMEMLEAK is not set)");
	leaks = fb_kmemleak_scan();
	ksft_print_msg("stat: leaked_objects=%d\n", leaks);
	EXPECT_EQ(0, leaks);
}

TEST_HARNESS_MAIN
