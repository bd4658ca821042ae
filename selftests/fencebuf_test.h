/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the fencebuf guest tests: loading and unloading the
 * module under test, counting open fds (to prove an ioctl leaked none),
 * reading and writing small sysfs/procfs files, probing a CPU access that
 * may fault, and running stress threads.
 */
#ifndef FENCEBUF_TEST_H
#define FENCEBUF_TEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fencebuf_kcov.h"

#define FENCEBUF_MODULE_NAME "fencebuf"
#define FENCEBUF_DEFAULT_KO "/fencebuf/modules/fencebuf.ko"
/* The guest's page size (x86-64). */
#define FB_PAGE 4096
/* The largest errno a kernel error pointer or return value carries. */
#define FB_MAX_ERRNO 4095

/*
 * Debian's stock kernel (scripts/test/check.sh boots it with
 * FENCEBUF_GUEST_KERNEL=stock): a distribution config without the debug
 * kernel's fault injection and kmemleak. Only there may a test skip what
 * needs them; on the debug kernel their absence fails.
 */
static inline bool fb_stock_kernel(void)
{
	const char *k = getenv("FENCEBUF_GUEST_KERNEL");

	return k && !strcmp(k, "stock");
}

static inline const char *fb_module_path(void)
{
	const char *p = getenv("FENCEBUF_KO");

	return p ? p : FENCEBUF_DEFAULT_KO;
}

/* Load the module file @path with @params; returns 0 or -errno. */
static inline int fb_load_path(const char *path, const char *params)
{
	/* MODULE_INIT_COMPRESSED_FILE: the kernel decompresses it. */
	const int compressed = 4;
	const char *dot = strrchr(path, '.');
	int fd, ret;

	/* PCs of an earlier load of the module are offsets of that load. */
	fb_kcov_drain();
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* make install compresses modules where the kernel does (Debian: xz). */
	ret = syscall(SYS_finit_module, fd, params,
		      dot && strcmp(dot, ".ko") ? compressed : 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

/* Load fencebuf with @params; returns 0 or -errno. */
static inline int fb_load(const char *params)
{
	return fb_load_path(fb_module_path(), params);
}

/* Unload @name without waiting for users; 0 or -errno (EWOULDBLOCK if in use). */
static inline int fb_unload_name(const char *name)
{
	fb_kcov_drain();
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

static inline int fb_unload(void)
{
	return fb_unload_name(FENCEBUF_MODULE_NAME);
}

static inline bool fb_loaded(void)
{
	return access("/sys/module/" FENCEBUF_MODULE_NAME, F_OK) == 0;
}

/* Number of open fds of this process, or -1. */
static inline int fb_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

/*
 * The fd number the next open would get: an fd reserved in the kernel but
 * never installed (or released) takes a number without showing in
 * /proc/self/fd, and shows here.
 */
static inline int fb_lowest_free_fd(void)
{
	int fd = dup(0);

	close(fd);
	return fd;
}

/*
 * Leave no fd number free (RLIMIT_NOFILE at the lowest free fd), so that the
 * next fd the process asks for fails with EMFILE; @old keeps the limit for
 * fb_restore_fds(). 0 or -errno.
 */
static inline int fb_no_free_fd(struct rlimit *old)
{
	struct rlimit none;

	if (getrlimit(RLIMIT_NOFILE, old))
		return -errno;
	none = (struct rlimit){ .rlim_cur = fb_lowest_free_fd(), .rlim_max = old->rlim_max };
	return setrlimit(RLIMIT_NOFILE, &none) ? -errno : 0;
}

static inline int fb_restore_fds(const struct rlimit *old)
{
	return setrlimit(RLIMIT_NOFILE, old) ? -errno : 0;
}

static inline int fb_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n' && !memchr(buf, '\n', n - 1))
		buf[n - 1] = '\0'; /* single-line files: drop the newline */
	return 0;
}

static inline int fb_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* CLOCK_MONOTONIC now, in seconds. */
/* The kernel log from now on: /dev/kmsg at its end, non-blocking, or -1. */
static inline int fb_kmsg_from_now(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/*
 * The next record of @fd (fb_kmsg_from_now()) into @rec, NUL-terminated:
 * its length, or 0 when there is none yet. Records lost to the ring's
 * wrapping (EPIPE) are skipped.
 */
static inline ssize_t fb_kmsg_next(int fd, char *rec, size_t len)
{
	ssize_t n;

	do
		n = read(fd, rec, len - 1);
	while (n < 0 && errno == EPIPE);
	if (n <= 0)
		return 0;
	rec[n] = '\0';
	return n;
}

static inline double fb_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * A leak of Linux 7.3 itself, not of fencebuf, that VFIO's exporter hits on
 * every mapping: dma_buf_phys_vec_to_sgt() zeroes the table's orig_nents,
 * so the sg_free_table() in dma_buf_free_sgt() frees no scatterlist.
 * fencebuf works around it (rust/abstractions/dma_buf_mapping.rs); vfio-pci
 * does not. A kmemleak record whose backtrace has both functions below (a
 * scatterlist allocated for a VFIO mapping) is counted apart
 * (qemu/guest-init.sh applies the same rule).
 */
#define FB_KNOWN_LEAK "vfio_pci_dma_buf_map"
#define FB_KNOWN_LEAK_ALLOC "sg_alloc_table"

/*
 * Scan for leaks with kmemleak: the number of suspected leaks (the known
 * one above excepted), the first few printed as TAP comments, or -errno.
 * Objects count only once they are 5 s old and found unreferenced by two
 * scans.
 */
static inline int fb_kmemleak_scan(void)
{
	const char *path = "/sys/kernel/debug/kmemleak";
	int leaks = 0, records = 0, known = 0, ret;
	bool in_vfio = false, in_sg = false;
	char line[256];
	FILE *f;

	sleep(6);
	ret = fb_write_file(path, "scan");
	if (!ret)
		ret = fb_write_file(path, "scan");
	if (ret)
		return ret;
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "unreferenced object", 19)) {
			known += in_vfio && in_sg;
			in_vfio = in_sg = false;
			records++;
		}
		in_vfio |= strstr(line, FB_KNOWN_LEAK) != NULL;
		in_sg |= strstr(line, FB_KNOWN_LEAK_ALLOC) != NULL;
		if (records && records <= 3)
			printf("# %s", line);
	}
	known += in_vfio && in_sg;
	fclose(f);
	leaks = records - known;
	if (known)
		printf("# kmemleak: %d more from VFIO's dma-buf mappings (a Linux 7.3 leak)\n",
		       known);
	fflush(stdout);
	return leaks;
}

/*
 * CPU accesses that may fault. fb_touch() reads or writes one byte and
 * reports the signal the access raised: SIGBUS (a revoked mapping) or
 * SIGSEGV (a protection, or nothing mapped). Any number of threads may
 * touch at once: each jumps back through its own buffer, and the handler,
 * installed once for the process and left in place, acts only inside the
 * faulting thread's own touch. A fault anywhere else takes the default
 * action, as without the handler: the program dies.
 */
static __thread sigjmp_buf fb_touch_jmp;
static __thread volatile sig_atomic_t fb_touch_armed;

static inline void fb_on_touch_fault(int sig)
{
	if (!fb_touch_armed) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	fb_touch_armed = 0;
	siglongjmp(fb_touch_jmp, sig);
}

static inline void fb_touch_install(void)
{
	struct sigaction sa = { .sa_handler = fb_on_touch_fault };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

static pthread_once_t fb_touch_once = PTHREAD_ONCE_INIT;

/*
 * Install the handler, once: fb_touch() does on first use. A program that
 * fork()s while other threads touch calls it first, so that no child starts
 * with the installation half done.
 */
static inline void fb_touch_init(void)
{
	pthread_once(&fb_touch_once, fb_touch_install);
}

/*
 * Touch *p (read, or write @val): 0 if the access worked, else the signal it
 * raised, SIGBUS or SIGSEGV. On a read, the byte read is stored in *out.
 */
static inline int fb_touch(volatile uint8_t *p, bool write, uint8_t val, uint8_t *out)
{
	int sig;

	fb_touch_init();
	sig = sigsetjmp(fb_touch_jmp, 1);
	if (sig == 0) {
		fb_touch_armed = 1;
		if (write)
			*p = val;
		else if (out)
			*out = *p;
		else
			(void)*p;
	}
	fb_touch_armed = 0;
	return sig;
}

/* How long each stress test runs: FENCEBUF_STRESS_SECONDS, default 5. */
static inline unsigned int stress_seconds(void)
{
	const char *s = getenv("FENCEBUF_STRESS_SECONDS");

	return s && atoi(s) > 0 ? atoi(s) : 5;
}

/*
 * Run the @n threads fn[i](@arg) (at most 8) for stress_seconds(), then set
 * *@stop and join them. A thread that cannot be created ends the program:
 * a stress run with fewer threads than asked would pass without its race.
 */
static inline void fb_run_threads(int n, void *(*const fn[])(void *), void *arg,
				  atomic_bool *stop)
{
	pthread_t t[8];
	int i, err;

	if (n > 8)
		abort();
	for (i = 0; i < n; i++) {
		err = pthread_create(&t[i], NULL, fn[i], arg);
		if (err) {
			fprintf(stderr, "pthread_create: %s\n", strerror(err));
			abort();
		}
	}
	sleep(stress_seconds());
	atomic_store(stop, true);
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

#endif /* FENCEBUF_TEST_H */
