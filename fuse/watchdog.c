/* SPDX-License-Identifier: MIT */
/*
 * watchdog.c - a child process that aborts the mount's FUSE connection when the daemon dies
 * without unmounting.
 *
 * Why it is needed: the notifier thread (inval.c) asks the kernel to drop cached pages, and the
 * kernel waits for each page's lock. A page under readahead stays locked until the daemon
 * answers the read. If the daemon is killed at that moment (SIGKILL, the OOM killer, a crash),
 * no worker is left to answer, the notifier never comes back from the kernel, so the process
 * never finishes exiting and never closes /dev/fuse, and the kernel never aborts the
 * connection. Every process that touches the mount then hangs until somebody writes to the
 * connection's fusectl abort file by hand (docs/MOUNTING.md). This process does it instead.
 *
 * It is forked once the mount is live. It keeps no descriptor of the daemon's but the read end
 * of a pipe whose write end only the daemon holds (a kept /dev/fuse descriptor would keep the
 * connection alive by itself), and wakes every second. The pipe hanging up (the daemon is gone)
 * or the daemon's main thread turning zombie (it is exiting, perhaps stuck) means the daemon
 * died: if the connection still exists, the watchdog writes 1 to
 * /sys/fs/fuse/connections/ID/abort, which fails every request with ENOTCONN and releases the
 * pages, so the daemon can finish dying. After an unmount the connection is gone and the
 * watchdog just exits.
 *
 * Connection IDs are reused: a mount made right after ours ended may get the same one. So the
 * watchdog aborts only while the daemon still holds the pipe open (it is exiting but stuck, and
 * its mount cannot have gone), and a daemon that shuts down cleanly tells it to stand down
 * before it unmounts (gfuse_watchdog_stop). Only root may abort a connection: for other users there
 * is no watchdog.
 *
 * The child of a multithreaded process may only make async-signal-safe calls: everything it
 * needs (paths, the pipe) is prepared before fork().
 */
#include "fuse/gfuse.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/log.h"

#define FUSECTL_DIR "/sys/fs/fuse/connections"

struct watchdog {
	pid_t daemon;
	int pipe_rd;
	char conn_dir[64];    /* FUSECTL_DIR/ID */
	char abort_path[80];  /* conn_dir/abort */
	char daemon_stat[64]; /* /proc/PID/stat */
};

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_mountinfo(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/*
 * The connection's fusectl name: the kernel's dev_t of the mount's superblock, which
 * /proc/self/mountinfo shows as MAJOR:MINOR. Read from there because a stat of the mountpoint
 * would be a request to this very daemon, which is not serving yet. The last entry for the
 * mountpoint is ours (mounts stack).
 */
static int conn_id_of(const char *mountpoint, unsigned long *id)
{
	char real[PATH_MAX], line[PATH_MAX + 256], mnt[PATH_MAX];
	unsigned maj, min;
	bool found = false;
	FILE *f;

	if (!realpath(mountpoint, real))
		return -errno;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &maj, &min, mnt) != 3)
			continue;
		unescape_mountinfo(mnt);
		if (strcmp(mnt, real))
			continue;
		*id = (unsigned long)maj << 20 | min; /* the kernel's MKDEV */
		found = true;
	}
	fclose(f);
	return found ? 0 : -ENOENT;
}

/* fusectl is mounted by systemd at boot; where it is not (a container), mount it. */
static int fusectl_ready(const char *conn_dir)
{
	if (access(conn_dir, F_OK) == 0)
		return 0;
	if (mount("fusectl", FUSECTL_DIR, "fusectl", 0, NULL) && errno != EBUSY)
		return -errno;
	gfs_info("mounted fusectl on %s for the watchdog", FUSECTL_DIR);
	return access(conn_dir, F_OK) ? -errno : 0;
}

/* Whether the daemon's main thread is a zombie: the process is exiting. */
static bool daemon_exiting(const struct watchdog *w)
{
	char buf[512];
	ssize_t n;
	char *p;
	int fd = open(w->daemon_stat, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return true; /* gone */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold anything */
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

static void abort_conn(const struct watchdog *w)
{
	int fd = open(w->abort_path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return; /* unmounted meanwhile */
	if (write(fd, "1", 1) < 0) {
		/* nothing else to try */
	}
	close(fd);
}

static _Noreturn void watchdog_run(const struct watchdog *w)
{
	struct pollfd pfd = {.fd = 3, .events = POLLIN};
	int null;

	/* Keep the pipe as fd 3 and nothing else of the daemon's (/dev/fuse above all). */
	if (w->pipe_rd != 3 && dup2(w->pipe_rd, 3) < 0)
		_exit(1);
	close_range(4, ~0u, 0);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 3)
			close(null);
	}
	setsid(); /* a terminal's ^C stops the daemon, which then unmounts; not us */
	for (;;) {
		int n = poll(&pfd, 1, 1000);

		if (n < 0 && errno != EINTR)
			_exit(1);
		/*
		 * A byte: the daemon is shutting down cleanly. End of file: it is gone whole,
		 * /dev/fuse closed, so the kernel aborted the connection itself. Either way the
		 * connection ID may soon name another mount: never touch it again.
		 */
		if (n > 0 && (pfd.revents & (POLLHUP | POLLERR | POLLIN)))
			_exit(0);
		if (access(w->conn_dir, F_OK))
			_exit(0); /* unmounted */
		/* Exiting while the pipe is still open: a thread is stuck; its mount is still ours.
		 */
		if (daemon_exiting(w))
			break;
	}
	abort_conn(w);
	_exit(0);
}

/* The daemon's end of the pipe: never closed, so it hangs up exactly when the daemon is gone. */
static int watchdog_pipe_wr = -1;

void gfuse_watchdog_stop(void)
{
	if (watchdog_pipe_wr >= 0 && write(watchdog_pipe_wr, "", 1) < 0) {
		/* a watchdog already gone: nothing to tell */
	}
}

int gfuse_watchdog_start(const char *mountpoint)
{
	struct watchdog w = {.daemon = getpid()};
	unsigned long id;
	int fds[2], ret;
	pid_t pid;

	if (geteuid() != 0)
		return 0; /* only root may abort a connection */
	ret = conn_id_of(mountpoint, &id);
	if (!ret) {
		snprintf(w.conn_dir, sizeof(w.conn_dir), FUSECTL_DIR "/%lu", id);
		snprintf(w.abort_path, sizeof(w.abort_path), "%s/abort", w.conn_dir);
		snprintf(w.daemon_stat, sizeof(w.daemon_stat), "/proc/%d/stat", (int)w.daemon);
		ret = fusectl_ready(w.conn_dir);
	}
	if (!ret && pipe2(fds, O_CLOEXEC))
		ret = -errno;
	if (ret) {
		gfs_info("%s: no watchdog (%s): if the daemon dies while the kernel waits for it, "
			 "abort the connection by hand",
			 mountpoint, strerror(-ret));
		return ret;
	}
	w.pipe_rd = fds[0];
	pid = fork();
	if (pid == 0)
		watchdog_run(&w);
	close(fds[0]);
	if (pid < 0) {
		ret = -errno;
		close(fds[1]);
		gfs_info("%s: no watchdog: fork: %s", mountpoint, strerror(-ret));
		return ret;
	}
	watchdog_pipe_wr = fds[1];
	return 0;
}
