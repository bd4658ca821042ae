// SPDX-License-Identifier: GPL-2.0
/*
 * Every way userspace can hold a dma-buf, and what fencebuf does with a
 * buffer held that way. A buffer (struct dma_buf) is freed from its
 * dentry's d_release, not with its file: whatever holds the dentry (an
 * O_PATH open of /proc/PID/fd/N or of /proc/PID/map_files/..., a bind mount
 * of such a link) keeps the buffer on the device's list after its file was
 * freed. The operations that walk that list (EXPORT with the reuse flag,
 * memory off and on, unbind) must then never reach the file: each test
 * makes one holder the buffer's last, closes the fd it was exported as,
 * lets an RCU grace period pass (so that the debug kernel's KASAN sees a
 * freed file as freed), runs those operations, and checks what userspace
 * can see: the reuse flag finds a buffer only while this process has it
 * open in its fd table, revoke and restore work, holders that are open
 * files keep working, and the module unloads at the end (no buffer, no
 * reference leaked). Each test starts with the module freshly loaded.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/fencebuf.h>

#include "kselftest_harness.h"
#include "fencebuf_test.h"
#include "fencebuf_exporter.h"

/* Away from the areas the host writes and checks (qemu/ivshmem.py). */
#define BUF_OFF 0x80000
#define BUF_LEN (2 * FB_PAGE)
/* fd numbers for the copies of a buffer, below fencebuf_kcov.c's (512 on). */
#define COPY_FD 300
/* A file to bind-mount a buffer on. */
#define MOUNT_POINT "/tmp/fencebuf-lifetimes-mnt"

/*
 * Long enough for an RCU grace period and its callbacks under TCG: with
 * CONFIG_SLUB_RCU_DEBUG a freed file (SLAB_TYPESAFE_BY_RCU) is poisoned for
 * KASAN only then.
 */
static void rcu_wait(void)
{
	usleep(300 * 1000);
}

static ino_t ino_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

/* Buffers of the device not yet released (GET_INFO), or -errno. */
static int num_buffers(int dev)
{
	struct fencebuf_info info;

	return ioctl(dev, FENCEBUF_IOC_GET_INFO, &info) ? -errno : (int)info.num_buffers;
}

/*
 * Waits up to @ms for the device to have @n buffers; returns the last
 * count. A buffer freed from a kernel thread (the AF_UNIX garbage
 * collector's fput() is delayed) goes a little later.
 */
static int wait_buffers(int dev, int n, int ms)
{
	int got = num_buffers(dev);

	for (; got != n && ms > 0; ms -= 20) {
		usleep(20 * 1000);
		got = num_buffers(dev);
	}
	return got;
}

/* EXPORT of the test's range with the reuse flag: the fd, its inode in *ino. */
static int export_reuse(int dev, ino_t *ino)
{
	struct fencebuf_range r = { .offset = BUF_OFF, .length = BUF_LEN };
	int fd = fb_export_ranges(dev, FB_BAR, FENCEBUF_EXPORT_REUSE, &r, 1);

	*ino = fd >= 0 ? ino_of(fd) : 0;
	return fd;
}

/* An O_PATH open of /proc/@pid/fd/@fd (@pid 0: self), or -1. */
static int open_fd_path(pid_t pid, int fd)
{
	char path[64];

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	else
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, O_PATH | O_CLOEXEC);
}

/*
 * The operations that walk the device's buffers, run while a holder keeps
 * the buffer of inode @old: EXPORT of the same range with the reuse flag
 * gives that buffer (@same) or a new one, and memory off and on both work.
 */
static void reuse_and_toggle(struct __test_metadata *_metadata, int dev, ino_t old, bool same)
{
	ino_t ino;
	int fd;

	fd = export_reuse(dev, &ino);
	ASSERT_GE(fd, 0) TH_LOG("export with reuse: %s", strerror(-fd));
	EXPECT_EQ(same, ino == old)
		TH_LOG("reuse gave inode %lu; the held buffer's is %lu, %s", (unsigned long)ino,
		       (unsigned long)old, same ? "open here" : "with no fd here");
	close(fd);
	EXPECT_EQ(0, fb_memory(dev, 0));
	EXPECT_EQ(0, fb_memory(dev, 1));
}

/*
 * A child process that keeps the fds it inherited and serves the parent's
 * requests about one of them, @fd, one byte each over a pipe, answering an
 * int: 'm' mmap it (0 or -errno), 't' write a byte through that mapping
 * (0 or the signal), 'r' EXPORT with reuse in the child (0: it gave the
 * same buffer as @fd, 1: another, or -errno). It exits when its command
 * pipe closes, also when the parent dies.
 */
struct holder {
	pid_t pid;
	int cmd, res;
};

static void holder_serve(int cmd, int res, int dev, int fd)
{
	uint8_t *p = MAP_FAILED;
	ino_t ino;
	char c;
	int r, f;

	while (read(cmd, &c, 1) == 1) {
		switch (c) {
		case 'm':
			p = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			r = p == MAP_FAILED ? -errno : 0;
			break;
		case 't':
			r = fb_touch(p, true, 0x3c, NULL);
			break;
		case 'r':
			f = export_reuse(dev, &ino);
			r = f < 0 ? f : ino != ino_of(fd);
			if (f >= 0)
				close(f);
			break;
		default:
			r = -EINVAL;
		}
		if (write(res, &r, sizeof(r)) != sizeof(r))
			break;
	}
	_exit(0);
}

static int holder_start(struct holder *h, int dev, int fd)
{
	int cmd[2], res[2];

	/* The child inherits the handler, not a half-installed one. */
	fb_touch_init();
	if (pipe2(cmd, O_CLOEXEC))
		return -errno;
	if (pipe2(res, O_CLOEXEC)) {
		close(cmd[0]);
		close(cmd[1]);
		return -errno;
	}
	h->pid = fork();
	if (h->pid == 0) {
		close(cmd[1]);
		close(res[0]);
		holder_serve(cmd[0], res[1], dev, fd);
	}
	close(cmd[0]);
	close(res[1]);
	h->cmd = cmd[1];
	h->res = res[0];
	if (h->pid < 0) {
		close(h->cmd);
		close(h->res);
		return -errno;
	}
	return 0;
}

/* The holder's answer to @c; -1000 if it did not answer. */
static int holder_ask(struct holder *h, char c)
{
	int r;

	if (write(h->cmd, &c, 1) != 1 || read(h->res, &r, sizeof(r)) != sizeof(r))
		return -1000;
	return r;
}

/* Ends the holder (its fds close as it exits); its exit status. */
static int holder_stop(struct holder *h)
{
	int status = -1;

	close(h->cmd);
	close(h->res);
	if (waitpid(h->pid, &status, 0) != h->pid)
		return -1;
	return status;
}

/* Sends @n fds over @sock in one SCM_RIGHTS message; 0 or -errno. */
static int send_fds(int sock, const int *fds, int n)
{
	char data = 'x';
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} u;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = CMSG_SPACE(n * sizeof(int)),
	};
	struct cmsghdr *c;

	if (n > 2)
		return -EINVAL;
	memset(&u, 0, sizeof(u));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

/* Receives one fd sent by send_fds(); the fd or -errno. */
static int recv_fd(int sock)
{
	char data;
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -errno;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EPROTO;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

FIXTURE(lifetimes) {
	int dev;
};

FIXTURE_SETUP(lifetimes)
{
	if (fb_loaded())
		ASSERT_EQ(0, fb_unload());
	ASSERT_EQ(0, fb_load(""));
	self->dev = open(FB_EXPORTER_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->dev, 0) TH_LOG("open %s: %s", FB_EXPORTER_DEV, strerror(errno));
}

FIXTURE_TEARDOWN(lifetimes)
{
	if (self->dev >= 0)
		close(self->dev);
	/*
	 * Deferred releases of closed buffers run on return to userspace; a
	 * buffer still alive (a holder the test let leak) holds the module.
	 */
	if (fb_loaded())
		EXPECT_EQ(0, fb_unload());
}

/*
 * Unbinds the device (revoking its buffers for good), proves that the held
 * buffer still holds the module, and binds it again: self->dev is the new
 * device's node.
 */
static void unbind_and_rebind(struct __test_metadata *_metadata, FIXTURE_DATA(lifetimes) *self)
{
	ASSERT_EQ(0, fb_write_file(FB_DRIVER_DIR "/unbind", FB_PCI_ADDR));
	EXPECT_EQ(-ENODEV, fb_memory(self->dev, 1));
	close(self->dev);
	self->dev = -1;
	/* Neither the node nor the device: only the held buffer keeps it. */
	EXPECT_EQ(-EWOULDBLOCK, fb_unload());
	ASSERT_EQ(0, fb_write_file(FB_DRIVER_DIR "/bind", FB_PCI_ADDR));
	self->dev = open(FB_EXPORTER_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->dev, 0) TH_LOG("open after rebind: %s", strerror(errno));
	EXPECT_EQ(0, num_buffers(self->dev));
}

/* The reproducer: the O_PATH file in this process's own fd table. */
TEST_F(lifetimes, o_path_of_proc_self_fd)
{
	int fd, op, rw, err;
	char path[64];
	ino_t ino;

	fd = fb_export(self->dev, BUF_OFF, BUF_LEN);
	ASSERT_GE(fd, 0);
	ino = ino_of(fd);
	op = open_fd_path(0, fd);
	ASSERT_GE(op, 0) TH_LOG("O_PATH open of /proc/self/fd/%d: %s", fd, strerror(errno));
	close(fd);
	rcu_wait();

	/* The buffer outlives its file: same inode, still on the device. */
	EXPECT_EQ(ino, ino_of(op));
	EXPECT_EQ(1, num_buffers(self->dev));
	/* And the dentry is no way back to it: a dma-buf cannot be reopened. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", op);
	rw = open(path, O_RDWR | O_CLOEXEC);
	err = errno;
	if (rw >= 0)
		close(rw);
	EXPECT_EQ(-1, rw);
	EXPECT_EQ(ENXIO, err) TH_LOG("reopen of the held dentry: %s", strerror(err));

	/* An O_PATH file of the buffer is in this fd table, but no open one. */
	reuse_and_toggle(_metadata, self->dev, ino, false);
	EXPECT_EQ(1, num_buffers(self->dev));
	close(op);
	EXPECT_EQ(0, num_buffers(self->dev));
}

TEST_F(lifetimes, o_path_holder_across_unbind_and_rebind)
{
	ino_t ino, ino2;
	int fd, op;

	fd = fb_export(self->dev, BUF_OFF, BUF_LEN);
	ASSERT_GE(fd, 0);
	ino = ino_of(fd);
	op = open_fd_path(0, fd);
	ASSERT_GE(op, 0);
	close(fd);
	rcu_wait();

	unbind_and_rebind(_metadata, self);
	/* The old device's buffer is never the new one's. */
	fd = export_reuse(self->dev, &ino2);
	ASSERT_GE(fd, 0);
	EXPECT_NE(ino, ino2);
	close(fd);
	EXPECT_EQ(0, fb_memory(self->dev, 0));
	EXPECT_EQ(0, fb_memory(self->dev, 1));
	EXPECT_EQ(ino, ino_of(op));
	close(op);
}

/*
 * O_PATH of another process's fd, /proc/PID/fd/N: the child has the buffer
 * open, then exits, leaving the parent's O_PATH file its only holder.
 */
TEST_F(lifetimes, o_path_of_a_childs_fd)
{
	struct holder h;
	ino_t ino;
	int fd, op, status;

	fd = fb_export(self->dev, BUF_OFF, BUF_LEN);
	ASSERT_GE(fd, 0);
	ino = ino_of(fd);
	ASSERT_EQ(0, holder_start(&h, self->dev, fd));
	close(fd);
	op = open_fd_path(h.pid, fd);
	ASSERT_GE(op, 0) TH_LOG("O_PATH open of /proc/%d/fd/%d: %s", h.pid, fd, strerror(errno));
	EXPECT_EQ(ino, ino_of(op));
	/* Reuse looks in the caller's fd table: the child's open file counts there. */
	EXPECT_EQ(0, holder_ask(&h, 'r'));
	rcu_wait();
	reuse_and_toggle(_metadata, self->dev, ino, false);

	status = holder_stop(&h);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) TH_LOG("status %#x", status);
	EXPECT_EQ(1, num_buffers(self->dev));
	rcu_wait();
	reuse_and_toggle(_metadata, self->dev, ino, false);
	EXPECT_EQ(ino, ino_of(op));
	close(op);
	EXPECT_EQ(0, num_buffers(self->dev));
}

/*
 * A bind mount of /proc/self/fd/N, and its new mount API twin, a detached
 * copy from open_tree(OPEN_TREE_CLONE). Linux refuses both for a pseudo
 * filesystem's dentry (__do_loopback(): the dma-buf mount is in no mount
 * namespace, and its dentries are freed without an RCU delay); should it
 * ever allow them, the mount is a holder like the others. In a mount
 * namespace of the test's own, so that nothing stays mounted if it fails.
 */
TEST_F(lifetimes, bind_mount_of_proc_self_fd)
{
	struct stat buf, mnt;
	int fd, tree, ret, err, held;
	char src[64];

	ASSERT_EQ(0, unshare(CLONE_NEWNS));
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	fd = open(MOUNT_POINT, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	ASSERT_GE(fd, 0);
	close(fd);

	fd = fb_export(self->dev, BUF_OFF, BUF_LEN);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, fstat(fd, &buf));
	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);

	ret = mount(src, MOUNT_POINT, NULL, MS_BIND, NULL);
	err = errno;
	ASSERT_EQ(0, stat(MOUNT_POINT, &mnt));
	if (ret) {
		TH_LOG("bind mount of a dma-buf: %s", strerror(err));
		EXPECT_TRUE(err == EINVAL || err == EPERM);
		/* Nothing was mounted there. */
		EXPECT_TRUE(S_ISREG(mnt.st_mode));
		EXPECT_FALSE(mnt.st_dev == buf.st_dev && mnt.st_ino == buf.st_ino);
	} else {
		TH_LOG("bind mount of a dma-buf: allowed");
		EXPECT_TRUE(mnt.st_dev == buf.st_dev && mnt.st_ino == buf.st_ino);
	}
	tree = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	err = errno;
	if (tree < 0) {
		TH_LOG("open_tree(OPEN_TREE_CLONE) of a dma-buf: %s", strerror(err));
		EXPECT_TRUE(err == EINVAL || err == EPERM);
	} else {
		TH_LOG("open_tree(OPEN_TREE_CLONE) of a dma-buf: allowed");
		EXPECT_EQ(buf.st_ino, ino_of(tree));
	}
	held = !ret || tree >= 0;

	close(fd);
	rcu_wait();
	EXPECT_EQ(held, num_buffers(self->dev));
	reuse_and_toggle(_metadata, self->dev, buf.st_ino, false);
	if (tree >= 0)
		close(tree);
	if (!ret)
		EXPECT_EQ(0, umount2(MOUNT_POINT, 0)) TH_LOG("umount: %s", strerror(errno));
	/* The mount's last reference goes on return to userspace, or a bit later. */
	EXPECT_EQ(0, wait_buffers(self->dev, 0, 2000));
	EXPECT_EQ(0, unlink(MOUNT_POINT));
}

/*
 * A buffer whose only reference is in flight: exported, sent over a new
 * socketpair @sv (with @with_receiver, together with the receiving socket
 * sv[1] itself), and its fd closed. Returns its inode number; 0 on failure.
 */
static ino_t send_and_close(int dev, int sv[2], bool with_receiver)
{
	int fds[2], fd;
	ino_t ino;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return 0;
	fd = fb_export(dev, BUF_OFF, BUF_LEN);
	if (fd < 0)
		return 0;
	ino = ino_of(fd);
	fds[0] = fd;
	fds[1] = sv[1];
	if (send_fds(sv[0], fds, with_receiver ? 2 : 1))
		ino = 0;
	close(fd);
	return ino;
}

/*
 * SCM_RIGHTS to this process itself: in flight, the message holds the
 * file, not this fd table; received, the buffer is open here again and
 * reuse finds it.
 */
TEST_F(lifetimes, scm_rights_in_flight_then_received)
{
	int sv[2], got;
	ino_t ino = send_and_close(self->dev, sv, false);

	ASSERT_NE(0u, ino);
	rcu_wait();
	EXPECT_EQ(1, num_buffers(self->dev));
	reuse_and_toggle(_metadata, self->dev, ino, false);

	got = recv_fd(sv[1]);
	ASSERT_GE(got, 0) TH_LOG("recvmsg: %s", strerror(-got));
	EXPECT_EQ(ino, ino_of(got));
	reuse_and_toggle(_metadata, self->dev, ino, true);
	close(got);
	EXPECT_EQ(0, num_buffers(self->dev));
	close(sv[0]);
	close(sv[1]);
}

/* Never received: closing the receiving socket drops the message and its file. */
TEST_F(lifetimes, scm_rights_in_flight_dropped_with_the_socket)
{
	int sv[2];
	ino_t ino = send_and_close(self->dev, sv, false);

	ASSERT_NE(0u, ino);
	rcu_wait();
	reuse_and_toggle(_metadata, self->dev, ino, false);
	EXPECT_EQ(1, num_buffers(self->dev));
	close(sv[1]);
	EXPECT_EQ(0, wait_buffers(self->dev, 0, 2000));
	close(sv[0]);
	reuse_and_toggle(_metadata, self->dev, ino, false);
}

/*
 * Never received, in a cycle: the receiving socket is in flight in its own
 * queue with the buffer, so only the AF_UNIX garbage collector frees them
 * (from a worker: the buffer's last fput() is delayed).
 */
TEST_F(lifetimes, scm_rights_in_flight_freed_by_the_garbage_collector)
{
	int sv[2], poke[2], i, n;
	/* With the receiving socket itself in the message: a cycle. */
	ino_t ino = send_and_close(self->dev, sv, true);

	ASSERT_NE(0u, ino);
	/* The receiver first: sv[0]'s release then schedules the collector. */
	close(sv[1]);
	EXPECT_EQ(1, num_buffers(self->dev));
	close(sv[0]);
	reuse_and_toggle(_metadata, self->dev, ino, false);
	/* A release of any AF_UNIX socket schedules the collector again. */
	for (i = 0, n = num_buffers(self->dev); n && i < 10; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, poke) == 0) {
			close(poke[0]);
			close(poke[1]);
		}
		n = wait_buffers(self->dev, 0, 500);
	}
	EXPECT_EQ(0, n) TH_LOG("the collector never freed the buffer");
	rcu_wait();
	reuse_and_toggle(_metadata, self->dev, ino, false);
}

/*
 * pidfd_getfd(): a child has the buffer open, the parent closed its fd and
 * takes the child's. The parent's new fd is the buffer's file: reuse finds
 * it, and a mapping of it works, SIGBUSes while memory is off, and works
 * again after.
 */
TEST_F(lifetimes, pidfd_getfd_from_a_child)
{
	struct holder h;
	int fd, pidfd, got, status;
	uint8_t *p, v = 0;
	ino_t ino;

	fd = fb_export(self->dev, BUF_OFF, BUF_LEN);
	ASSERT_GE(fd, 0);
	ino = ino_of(fd);
	ASSERT_EQ(0, holder_start(&h, self->dev, fd));
	close(fd);
	rcu_wait();
	reuse_and_toggle(_metadata, self->dev, ino, false);

	pidfd = syscall(SYS_pidfd_open, h.pid, 0);
	ASSERT_GE(pidfd, 0) TH_LOG("pidfd_open: %s", strerror(errno));
	got = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	ASSERT_GE(got, 0) TH_LOG("pidfd_getfd: %s", strerror(errno));
	close(pidfd);
	EXPECT_EQ(ino, ino_of(got));
	EXPECT_EQ(FD_CLOEXEC, fcntl(got, F_GETFD) & FD_CLOEXEC);
	reuse_and_toggle(_metadata, self->dev, ino, true);

	/* The child goes: the parent's copy is the last. */
	status = holder_stop(&h);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) TH_LOG("status %#x", status);
	EXPECT_EQ(1, num_buffers(self->dev));
	p = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, got, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, fb_touch(p, true, 0x77, NULL));
	ASSERT_EQ(0, fb_memory(self->dev, 0));
	EXPECT_EQ(SIGBUS, fb_touch(p, false, 0, NULL));
	ASSERT_EQ(0, fb_memory(self->dev, 1));
	EXPECT_EQ(0, fb_touch(p, false, 0, &v));
	EXPECT_EQ(0x77, v);
	munmap(p, BUF_LEN);
	close(got);
	EXPECT_EQ(0, num_buffers(self->dev));
}

/* Copies in one fd table: any one keeps the buffer; close_range() of all frees it. */
TEST_F(lifetimes, dup_and_dup3_copies_then_close_range)
{
	ino_t ino;
	int fd, i;

	fd = fb_export(self->dev, BUF_OFF, BUF_LEN);
	ASSERT_GE(fd, 0);
	ino = ino_of(fd);
	ASSERT_EQ(COPY_FD, dup2(fd, COPY_FD));
	ASSERT_EQ(COPY_FD + 1, dup3(fd, COPY_FD + 1, O_CLOEXEC));
	ASSERT_EQ(COPY_FD + 2, fcntl(fd, F_DUPFD_CLOEXEC, COPY_FD + 2));
	close(fd);
	rcu_wait();
	reuse_and_toggle(_metadata, self->dev, ino, true);
	close(COPY_FD + 1);
	reuse_and_toggle(_metadata, self->dev, ino, true);
	EXPECT_EQ(1, num_buffers(self->dev));

	ASSERT_EQ(0, close_range(COPY_FD, COPY_FD + 2, 0));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(-1, fcntl(COPY_FD + i, F_GETFD));
	EXPECT_EQ(0, num_buffers(self->dev));
	rcu_wait();
	reuse_and_toggle(_metadata, self->dev, ino, false);
}

/*
 * fork(): the child's fd table has its own copy, which keeps the buffer
 * and lets the child find it with reuse, while the parent, which closed
 * its own, cannot. The child's mapping SIGBUSes while memory is off.
 */
TEST_F(lifetimes, fork_child_keeps_the_buffer)
{
	struct holder h;
	int fd, status;
	ino_t ino;

	fd = fb_export(self->dev, BUF_OFF, BUF_LEN);
	ASSERT_GE(fd, 0);
	ino = ino_of(fd);
	ASSERT_EQ(0, holder_start(&h, self->dev, fd));
	EXPECT_EQ(0, holder_ask(&h, 'm'));
	EXPECT_EQ(0, holder_ask(&h, 't'));
	ASSERT_EQ(0, close_range(fd, fd, 0));
	rcu_wait();
	EXPECT_EQ(1, num_buffers(self->dev));
	reuse_and_toggle(_metadata, self->dev, ino, false);
	EXPECT_EQ(0, holder_ask(&h, 'r'));

	ASSERT_EQ(0, fb_memory(self->dev, 0));
	EXPECT_EQ(SIGBUS, holder_ask(&h, 't'));
	ASSERT_EQ(0, fb_memory(self->dev, 1));
	EXPECT_EQ(0, holder_ask(&h, 't'));

	status = holder_stop(&h);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) TH_LOG("status %#x", status);
	EXPECT_EQ(0, num_buffers(self->dev));
	rcu_wait();
	reuse_and_toggle(_metadata, self->dev, ino, false);
}

/*
 * A new buffer watched for EPOLLIN by a new epoll instance, with its inode
 * number as the event's data: the buffer's fd in *fd, its inode in *ino;
 * the epoll fd, or -1.
 */
static int epoll_watching_a_buffer(int dev, int *fd, ino_t *ino)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	*fd = fb_export(dev, BUF_OFF, BUF_LEN);
	if (ep < 0 || *fd < 0)
		return -1;
	*ino = ino_of(*fd);
	ev.data.u64 = *ino;
	return epoll_ctl(ep, EPOLL_CTL_ADD, *fd, &ev) ? -1 : ep;
}

/*
 * epoll holds no reference: the last close of the buffer's file removes it
 * from the epoll instance, which then reports nothing.
 */
TEST_F(lifetimes, epoll_does_not_hold_the_buffer)
{
	struct epoll_event out;
	ino_t ino = 0;
	int fd, ep = epoll_watching_a_buffer(self->dev, &fd, &ino);

	ASSERT_GE(ep, 0);
	/* No fences: the buffer is readable. */
	ASSERT_EQ(1, epoll_wait(ep, &out, 1, 0));
	EXPECT_EQ(ino, out.data.u64);
	EXPECT_EQ((uint32_t)EPOLLIN, out.events & EPOLLIN);

	close(fd);
	EXPECT_EQ(0, num_buffers(self->dev));
	rcu_wait();
	reuse_and_toggle(_metadata, self->dev, ino, false);
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));
	close(ep);
}

/*
 * An epoll item lives as long as the buffer's file, not its fd: with only a
 * mapping keeping the file, epoll still reports it, through revoke and
 * restore; the munmap that frees the file removes it, and the epoll
 * instance, the last thing left, is closed after.
 */
TEST_F(lifetimes, epoll_item_lives_as_long_as_the_file)
{
	struct epoll_event out;
	ino_t ino = 0;
	int fd, ep = epoll_watching_a_buffer(self->dev, &fd, &ino);
	uint8_t *p;

	ASSERT_GE(ep, 0);
	p = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	close(fd);
	rcu_wait();

	ASSERT_EQ(1, epoll_wait(ep, &out, 1, 0));
	EXPECT_EQ(ino, out.data.u64);
	reuse_and_toggle(_metadata, self->dev, ino, false);
	ASSERT_EQ(0, fb_memory(self->dev, 0));
	EXPECT_EQ(SIGBUS, fb_touch(p, false, 0, NULL));
	EXPECT_EQ(1, epoll_wait(ep, &out, 1, 0));
	ASSERT_EQ(0, fb_memory(self->dev, 1));
	EXPECT_EQ(0, fb_touch(p, true, 1, NULL));
	EXPECT_EQ(1, num_buffers(self->dev));

	munmap(p, BUF_LEN);
	EXPECT_EQ(0, num_buffers(self->dev));
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));
	rcu_wait();
	reuse_and_toggle(_metadata, self->dev, ino, false);
	close(ep);
}

/*
 * A buffer held by a mapping only: exported, mapped, a byte written
 * through the mapping, its fd closed. Returns the mapping; *ino is the
 * buffer's inode.
 */
static uint8_t *mapping_only(struct __test_metadata *_metadata, int dev, uint8_t v, ino_t *ino)
{
	uint8_t *p;
	int fd;

	fd = fb_export(dev, BUF_OFF, BUF_LEN);
	if (fd < 0)
		return MAP_FAILED;
	*ino = ino_of(fd);
	p = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p != MAP_FAILED)
		EXPECT_EQ(0, fb_touch(p, true, v, NULL));
	close(fd);
	return p;
}

/*
 * /proc/self/map_files/START-END of a mapping of the buffer: an O_PATH open
 * of it holds the dentry after the munmap that freed the file, like
 * /proc/self/fd/N; an O_RDWR open must fail (a dma-buf cannot be reopened).
 * Then memory off and on, and unbind and rebind, with that holder.
 */
TEST_F(lifetimes, o_path_of_proc_self_map_files)
{
	int op, rw, err;
	char path[96];
	uint8_t *p;
	ino_t ino;

	p = mapping_only(_metadata, self->dev, 9, &ino);
	ASSERT_NE(MAP_FAILED, p);
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
		 (unsigned long)p, (unsigned long)p + BUF_LEN);
	op = open(path, O_PATH | O_CLOEXEC);
	ASSERT_GE(op, 0) TH_LOG("O_PATH open of %s: %s", path, strerror(errno));
	EXPECT_EQ(ino, ino_of(op));
	rw = open(path, O_RDWR | O_CLOEXEC);
	err = errno;
	if (rw >= 0)
		close(rw);
	TH_LOG("O_RDWR open of the map_files link: %s", rw < 0 ? strerror(err) : "allowed");
	EXPECT_EQ(-1, rw);
	EXPECT_EQ(ENXIO, err);

	munmap(p, BUF_LEN);
	rcu_wait();
	EXPECT_EQ(1, num_buffers(self->dev));
	reuse_and_toggle(_metadata, self->dev, ino, false);
	unbind_and_rebind(_metadata, self);
	reuse_and_toggle(_metadata, self->dev, ino, false);
	EXPECT_EQ(ino, ino_of(op));
	close(op);
}

/*
 * A mapping alone: it holds the file, so the buffer is revoked and
 * restored with it, but no fd of this process is the buffer's, so reuse
 * does not find it.
 */
TEST_F(lifetimes, mmap_alone_holds_the_buffer)
{
	uint8_t *p, v = 0;
	ino_t ino;

	p = mapping_only(_metadata, self->dev, 0x5a, &ino);
	ASSERT_NE(MAP_FAILED, p);
	rcu_wait();
	EXPECT_EQ(1, num_buffers(self->dev));

	reuse_and_toggle(_metadata, self->dev, ino, false);
	ASSERT_EQ(0, fb_memory(self->dev, 0));
	EXPECT_EQ(SIGBUS, fb_touch(p, false, 0, NULL));
	EXPECT_EQ(SIGBUS, fb_touch(p + FB_PAGE, true, 1, NULL));
	ASSERT_EQ(0, fb_memory(self->dev, 1));
	EXPECT_EQ(0, fb_touch(p, false, 0, &v));
	EXPECT_EQ(0x5a, v);
	EXPECT_EQ(0, fb_touch(p + FB_PAGE, true, 1, NULL));
	munmap(p, BUF_LEN);
	EXPECT_EQ(0, num_buffers(self->dev));
}

TEST_HARNESS_MAIN
