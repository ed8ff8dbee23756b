/* SPDX-License-Identifier: MIT */
/*
 * notifier.c - two child processes that let a daemon killed at any moment finish dying, and its
 * mount fail requests instead of hanging, with no privilege needed.
 *
 * The hazard: the kernel invalidates page cache (FUSE_NOTIFY_INVAL_INODE) by locking the
 * range's pages, and a page under readahead stays locked until the daemon answers the read. If
 * the daemon is killed (SIGKILL, the OOM killer, a crash) while a thread is inside such a
 * notification, that thread waits in the kernel for good (uninterruptibly): the process never
 * finishes exiting, never closes /dev/fuse, and the kernel never ends the connection, so
 * everything that touches the mount hangs (tests/fuse/kill.sh).
 *
 * The notifier makes the notifications in the daemon's place, so that no thread of the daemon
 * is ever inside one: a killed daemon dies whole and its /dev/fuse closes, which ends the
 * requests its workers had read (fuse_dev_release). That is not enough by itself: the
 * readahead may still be queued, unread (waiting for a background slot, say), and the notifier
 * then stays stuck behind it, holding the connection open.
 *
 * The guard, the notifier's parent, is there for that: once the daemon is gone it reads
 * whatever the kernel still queues and fails it with ENOTCONN, what the mount answers once the
 * connection is gone (EIO would read as a device error). The readahead ends and the notifier
 * comes back, finds its socket hung up and exits. Then the guard exits too, the connection's
 * last descriptor closes, the kernel aborts it, and the mount answers ENOTCONN on its own.
 *
 * Both children share one /dev/fuse descriptor of their own, a clone of the session's
 * (FUSE_DEV_IOC_CLONE); neither holds the daemon's, whose release is what ends the workers'
 * requests. After a clean shutdown (gfuse_notifier_stop) the guard just exits, before the
 * unmount.
 *
 * Protocol: the daemon and the notifier share a SOCK_SEQPACKET pair. inval.c's notifier
 * thread, the only caller, sends one struct notifier_msg and reads back the kernel's answer
 * (0 or -errno). The daemon holds the write end of a pipe to the guard: a byte means a clean
 * stop, a hang-up means the daemon is gone. The children of a multithreaded process may only
 * make async-signal-safe calls: everything they need is prepared before fork(). Where they
 * cannot be made, or the notifier has gone, gfuse_notifier_inval returns -ENOSYS and the daemon
 * notifies from its own thread.
 */
#include "fuse/gfuse.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "core/poll.h" /* gfs_now_ns, gfs_poll_pause: async-signal-safe */

struct notifier_msg {
	uint64_t ino;
	int64_t off, len; /* the kernel's: len 0 means to the end */
};

/* The daemon's end of the socket; -1 when there is no notifier (any more). */
static atomic_int notifier_sock = -1;

/*
 * A hop to the notifier and back costs two wake-ups of a sleeping thread, which on a VM take
 * longer than the notification itself. So each side first polls the socket for a while: the
 * daemon for the answer (the kernel drops a few pages in microseconds), the notifier for the
 * next message (a stream of direct writes sends one per write), yielding the CPU meanwhile (2
 * vCPUs: the other side may need this one). 4 KiB direct writes at QD 1 to a file another
 * process holds open buffered, each write waiting for its invalidation: 0.66 - 0.75 of the
 * speed of notifying from the daemon's own thread with blocking waits, 0.71 - 0.83 with these
 * (docs/PERFORMANCE.md, "The notifier process").
 */
#define ANSWER_SPIN_NS 50000u
#define NEXT_SPIN_NS   100000u

/* recv(2) of one message, polling for spin_ns before it blocks; retried on EINTR. */
static ssize_t notifier_recv(int sock, void *buf, size_t len, uint64_t spin_ns)
{
	uint64_t until = gfs_now_ns() + spin_ns;
	ssize_t n;

	do {
		n = recv(sock, buf, len, MSG_DONTWAIT);
		if (n >= 0 || (errno != EAGAIN && errno != EINTR))
			return n;
		gfs_poll_pause(); /* yields: the other side may need this CPU */
	} while (gfs_now_ns() < until);
	do
		n = recv(sock, buf, len, 0);
	while (n < 0 && errno == EINTR);
	return n;
}

/*
 * In a child: keep the n (at most 3) given descriptors as 3, 4, ... and nothing else of the
 * daemon's, stdio on /dev/null, deaf to the signals that stop the daemon (a terminal's ^C,
 * systemd's SIGTERM to the whole unit): the daemon stops us itself.
 */
static void child_setup(const int *fds, int n)
{
	int high[3], null;

	/* Above 9 first, so that no dup2 below overwrites a descriptor still to be moved. */
	for (int i = 0; i < n; i++)
		if ((high[i] = fcntl(fds[i], F_DUPFD, 10)) < 0)
			_exit(1);
	for (int i = 0; i < n; i++)
		if (dup2(high[i], 3 + i) < 0)
			_exit(1);
	close_range(3 + n, ~0u, 0);
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2 + n)
			close(null);
	}
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	setsid(); /* and no controlling terminal */
}

/*
 * The notifier: fd 3 the socket to the daemon, fd 4 the /dev/fuse clone. The clone is
 * non-blocking for the guard's sake (the same open file); a notification is a write, which
 * that flag does not change.
 */
static _Noreturn void notifier_run(void)
{
	for (;;) {
		struct notifier_msg m;
		struct fuse_out_header oh = {.len = sizeof(oh) +
						    sizeof(struct fuse_notify_inval_inode_out),
					     .error = FUSE_NOTIFY_INVAL_INODE};
		struct fuse_notify_inval_inode_out out;
		struct iovec iov[2] = {{&oh, sizeof(oh)}, {&out, sizeof(out)}};
		ssize_t n = notifier_recv(3, &m, sizeof(m), NEXT_SPIN_NS);
		int32_t res;

		if (n != (ssize_t)sizeof(m))
			_exit(0); /* hung up (the daemon is gone or stopping), or garbage */
		out = (struct fuse_notify_inval_inode_out){
			.ino = m.ino, .off = m.off, .len = m.len};
		res = writev(4, iov, 2) < 0 ? -errno : 0;
		if (write(3, &res, sizeof(res)) != (ssize_t)sizeof(res))
			_exit(0);
	}
}

/*
 * What the guard reads requests into: the largest is a FUSE_WRITE of max_write and its headers.
 * Static, so that the daemon, which never touches it, pays no memory for it.
 */
static char guard_buf[GFUSE_MAX_WRITE + 8192];

/* Fail one queued request with ENOTCONN (those that take no answer get none). */
static void guard_fail_request(void)
{
	const struct fuse_in_header *in = (const struct fuse_in_header *)guard_buf;
	ssize_t n = read(4, guard_buf, sizeof(guard_buf));
	struct fuse_out_header oh;

	if (n < (ssize_t)sizeof(*in))
		return; /* EAGAIN, or a request too large (the kernel failed it itself) */
	if (in->opcode == FUSE_FORGET || in->opcode == FUSE_BATCH_FORGET ||
	    in->opcode == FUSE_INTERRUPT)
		return;
	oh = (struct fuse_out_header){.len = sizeof(oh), .error = -ENOTCONN, .unique = in->unique};
	if (write(4, &oh, sizeof(oh)) < 0) {
		/* the request went meanwhile (interrupted): nothing to do */
	}
}

/*
 * The guard: fd 3 the pipe from the daemon, fd 4 the /dev/fuse clone (non-blocking), notifier
 * the notifier's pid. Waits for the daemon to stop (a byte: exit at once) or to be gone (end of
 * file: fail whatever the kernel still queues until the notifier has exited, then exit).
 */
static _Noreturn void guard_run(pid_t notifier)
{
	struct pollfd pfd = {.fd = 3, .events = POLLIN};
	char byte;

	while (poll(&pfd, 1, -1) < 0)
		if (errno != EINTR)
			_exit(1);
	if (read(3, &byte, 1) == 1)
		_exit(0); /* a clean stop: the notifier exits when the daemon closes its socket */
	pfd = (struct pollfd){.fd = 4, .events = POLLIN};
	while (waitpid(notifier, NULL, WNOHANG) == 0) {
		int n = poll(&pfd, 1, 100);

		if (n > 0 && (pfd.revents & POLLIN))
			guard_fail_request();
		else if (n > 0 && (pfd.revents & (POLLERR | POLLHUP)))
			break; /* the connection is gone already */
	}
	_exit(0); /* closing fd 4 lets the kernel abort the connection */
}

/* A /dev/fuse descriptor of the session's connection that is not the session's own. */
static int notifier_clone_dev(struct fuse_session *se)
{
	uint32_t src = (uint32_t)fuse_session_fd(se);
	int dev = open("/dev/fuse", O_RDWR | O_CLOEXEC | O_NONBLOCK);

	if (dev < 0)
		return -errno;
	if (ioctl(dev, FUSE_DEV_IOC_CLONE, &src)) {
		int ret = -errno;

		close(dev);
		return ret;
	}
	return dev;
}

/* In the first child: fork the notifier, then guard. */
static _Noreturn void guard_start(int pipe_rd, int sock, int dev)
{
	pid_t notifier = fork();

	if (notifier == 0) {
		const int fds[] = {sock, dev};

		child_setup(fds, 2);
		notifier_run();
	}
	if (notifier < 0)
		_exit(1); /* the daemon sees the socket hang up and notifies by itself */
	{
		const int fds[] = {pipe_rd, dev};

		child_setup(fds, 2);
	}
	guard_run(notifier);
}

/* The daemon's end of the pipe to the guard: never closed, it hangs up when the daemon dies. */
static int guard_pipe_wr = -1;

int gfuse_notifier_start(struct fuse_session *se, const char *mountpoint)
{
	int sv[2] = {-1, -1}, pp[2] = {-1, -1}, dev = notifier_clone_dev(se), ret = 0;
	pid_t pid;

	if (dev < 0)
		ret = dev;
	else if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) || pipe2(pp, O_CLOEXEC))
		ret = -errno;
	if (!ret) {
		pid = fork();
		if (pid == 0)
			guard_start(pp[0], sv[1], dev);
		if (pid < 0)
			ret = -errno;
	}
	/* What the children hold, the daemon lets go of. */
	if (dev >= 0)
		close(dev);
	if (sv[1] >= 0)
		close(sv[1]);
	if (pp[0] >= 0)
		close(pp[0]);
	if (ret) {
		if (sv[0] >= 0)
			close(sv[0]);
		if (pp[1] >= 0)
			close(pp[1]);
		gfs_warn("%s: no notifier process (%s): if the daemon is killed while the kernel "
			 "waits for it, the mount may hang until its connection is aborted by hand",
			 mountpoint, strerror(-ret));
		return ret;
	}
	guard_pipe_wr = pp[1];
	atomic_store(&notifier_sock, sv[0]);
	return 0;
}

/* The notifier is gone (killed by hand?): the daemon notifies by itself from now on. */
static void notifier_lost(int sock, const char *why)
{
	int expected = sock;

	if (atomic_compare_exchange_strong(&notifier_sock, &expected, -1)) {
		gfs_warn("notifier process lost (%s): notifying from the daemon", why);
		close(sock);
	}
}

int gfuse_notifier_inval(uint64_t ino, int64_t off, int64_t len)
{
	struct notifier_msg m = {.ino = ino, .off = off, .len = len};
	int sock = atomic_load(&notifier_sock);
	int32_t res;
	ssize_t n;

	if (sock < 0)
		return -ENOSYS;
	if (send(sock, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m)) {
		notifier_lost(sock, strerror(errno));
		return -ENOSYS;
	}
	n = notifier_recv(sock, &res, sizeof(res), ANSWER_SPIN_NS);
	if (n != (ssize_t)sizeof(res)) {
		/* Not known to have reached the kernel: the caller sends it again. */
		notifier_lost(sock, n < 0 ? strerror(errno) : "it hung up");
		return -ENOSYS;
	}
	return res;
}

void gfuse_notifier_stop(void)
{
	int sock = atomic_exchange(&notifier_sock, -1);

	if (guard_pipe_wr >= 0 && write(guard_pipe_wr, "", 1) < 0) {
		/* a guard already gone: nothing to tell */
	}
	if (sock >= 0)
		close(sock); /* the notifier reads end of file and exits */
}
