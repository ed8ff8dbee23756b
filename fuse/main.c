/* SPDX-License-Identifier: MIT */
/*
 * main.c - the guardfs daemon: parse the command line, mount the core, mount FUSE, go to the
 * background, serve requests on a multithreaded loop (loop.c), and on SIGTERM/SIGINT/SIGHUP or
 * an unmount write everything back and checkpoint (gfs_unmount) before exiting 0.
 *
 * Start-up order matters:
 *   1. Fork first (unless -f): the core starts threads (flusher, completion workers), which
 *      would not survive a later fork. The parent waits on a pipe for the child's verdict and
 *      exits with it, so mount(8), fstab and the shell see a failure (not a guardfs source, a
 *      busy mountpoint) as a non-zero status with the one-line reason still on the terminal.
 *   2. Block the termination signals in every thread but the loop's: libfuse's handler must
 *      interrupt the main thread's wait, not a core thread that happens to take the signal.
 *   3. gfs_mount, fuse_session_mount, then READY=1 (sd_notify) and the parent released: the
 *      mount is live and the first request (FUSE_INIT) is served as soon as the loop runs.
 * In the background the log goes to syslog and stdio to /dev/null.
 */
#include "fuse/gfuse.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <syslog.h>
#include <unistd.h>

#include "core/log.h"
#include "fuse/notify.h"

#define GFUSE_DEFAULT_THREADS 16
#define GFUSE_MAX_BACKGROUND  1024

/* The FUSE protocol from which the kernel drops a direct_io file's cached pages of a direct
 * write's range before sending the write: 7.39, Linux 6.6 ("fuse: invalidate page cache pages
 * before direct write"). */
#define GFUSE_PROTO_DROPS_DIO 39

static void gfuse_init(void *userdata, struct fuse_conn_info *conn)
{
	struct gfuse *gf = userdata;

	conn->max_write = GFUSE_MAX_WRITE;
	/*
	 * Asynchronous direct I/O (libaio, io_uring) and readahead share the kernel's background
	 * request slots (default 12). With them all taken by direct writes, a readahead waits for
	 * a slot holding its pages locked; an invalidation of those pages then waits for it, and
	 * the writes' replies wait for the invalidation (inval.c): bounded waits of 2 s each, over
	 * and over. Enough slots for any queue depth a VM uses keep readahead from waiting.
	 */
	conn->max_background = GFUSE_MAX_BACKGROUND;
	conn->congestion_threshold = GFUSE_MAX_BACKGROUND * 3 / 4;
	conn->max_readahead = GFUSE_MAX_WRITE;
	conn->time_gran = 1;
	/* Write-through kernel cache: the core's cache is the only place dirty data lives. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* O_TRUNC comes as a setattr, which goes through gfs_truncate. */
	conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
	/* Requests are read into memory: loop.c looks at each header before libfuse does. */
	conn->want &= ~FUSE_CAP_SPLICE_READ;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	/*
	 * Then a direct write needs no invalidation notice unless a buffered open of the file could
	 * have read its range back while it ran (core/dio.c): only buffered opens keep a kernel
	 * cache (ops_file.c). Each notice costs the writer two thread switches (inval.c).
	 */
	gf->proto_minor = conn->proto_major == 7 ? conn->proto_minor : 0;
	if (conn->proto_major > 7 || conn->proto_minor >= GFUSE_PROTO_DROPS_DIO)
		gfs_set_upper_drops_dio(gf->gfs, (unsigned)sysconf(_SC_PAGESIZE));
}

/*
 * Log lines that name an inode get its path in front, when the kernel looked it up by name;
 * PI failure reports (errors, and the warnings of reads that passed when read again) also go
 * where pi_report= says when that is not the log's sink.
 */
static bool gfuse_log_filter(enum gfs_log_level level, const char *line, char *out, size_t len,
			     void *arg)
{
	struct gfuse *gf = arg;
	char path[PATH_MAX];
	unsigned long long ino;
	bool rewritten = false;
	int n = 0;

	if (sscanf(line, "inode %llu %n", &ino, &n) == 1 && n > 0 &&
	    !gfuse_names_path(gf->names, ino, path, sizeof(path))) {
		snprintf(out, len, "%s (inode %llu) %s", path, ino, line + n);
		rewritten = true;
	}
	if (level <= GFS_LOG_WARN && strstr(line, "PI ") && strstr(line, "check failed")) {
		const char *l = rewritten ? out : line;
		bool bg = !gf->opts->foreground, err = level == GFS_LOG_ERR;

		if (gf->opts->pi_report == GFUSE_PI_REPORT_SYSLOG && !bg)
			syslog(err ? LOG_ERR : LOG_WARNING, "%s", l);
		else if (gf->opts->pi_report == GFUSE_PI_REPORT_STDERR && bg) /* kept open */
			fprintf(stderr, "guardfs: %s: %s\n", err ? "error" : "warning", l);
	}
	return rewritten;
}

static int gfuse_print_stats(const char *mountpoint)
{
	char buf[8192];
	ssize_t n = getxattr(mountpoint, "user.guardfs.stats", buf, sizeof(buf) - 1);

	if (n < 0) {
		fprintf(stderr, "guardfs: %s: cannot read counters: %s%s\n", mountpoint,
			strerror(errno),
			errno == ENODATA || errno == ENOTSUP ? " (not a guardfs mount?)" : "");
		return 1;
	}
	fwrite(buf, 1, (size_t)n, stdout);
	return 0;
}

/* Step 1 of the start-up: returns in the child (or with -f), with *notify_fd the pipe end to
 * report the verdict on (-1 with -f). The parent never returns. */
static void gfuse_background(bool foreground, int *notify_fd)
{
	int fds[2], status = 1;
	pid_t pid;

	*notify_fd = -1;
	if (foreground)
		return;
	if (pipe2(fds, O_CLOEXEC) || (pid = fork()) < 0) {
		fprintf(stderr, "guardfs: cannot go to the background: %s\n", strerror(errno));
		exit(1);
	}
	if (pid) {
		close(fds[1]);
		if (read(fds[0], &status, sizeof(status)) != sizeof(status))
			status = 1; /* the child died before it could tell */
		_exit(status);
	}
	close(fds[0]);
	setsid();
	*notify_fd = fds[1];
}

/*
 * The child is live (status 0) or failed: release the waiting parent, detach stdio. With
 * pi_report=stderr, stderr stays where the caller pointed it, for the PI failure reports.
 */
static void gfuse_release_parent(int *notify_fd, int status, bool keep_stderr)
{
	int fd;

	if (*notify_fd < 0)
		return;
	if (!status) {
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			if (!keep_stderr)
				dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		gfs_log_set_sink(GFS_LOG_SYSLOG, "guardfs");
	}
	if (write(*notify_fd, &status, sizeof(status)) != sizeof(status))
		status = 1;
	close(*notify_fd);
	*notify_fd = -1;
}

static struct fuse_session *gfuse_session_new(struct gfuse *gf, const char *argv0)
{
	struct gfuse_opts *o = gf->opts;
	struct fuse_lowlevel_ops ops = {.init = gfuse_init};
	struct fuse_session *se = NULL;
	char *kopts = NULL;
	int n;

	gfuse_ops_entry(&ops);
	gfuse_ops_dir(&ops);
	gfuse_ops_file(&ops);
	gfuse_ops_xattr(&ops);
	n = asprintf(&kopts, "default_permissions,fsname=%s,subtype=%s%s%s%s", o->fsname,
		     o->subtype, o->syncfs ? ",blkdev" : "", o->kernel_opts ? "," : "",
		     o->kernel_opts ? o->kernel_opts : "");
	if (n < 0)
		return NULL;
	char *argv[] = {(char *)argv0, "-o", kopts, o->debug ? "-d" : NULL, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(o->debug ? 4 : 3, argv);

	se = fuse_session_new(&args, &ops, sizeof(ops), gf);
	fuse_opt_free_args(&args); /* libfuse may have copied the vector to edit it */
	free(kopts);
	return se;
}

static int gfuse_mount_core(struct gfuse *gf)
{
	struct gfuse_opts *o = gf->opts;
	struct gfs_opts go = {
		.cache_size = o->cache_size,
		.dirty_bytes = o->dirty_bytes,
		.dirty_expire_ms = o->dirty_expire_ms,
		.read_only = o->read_only,
		.dio_fsblock = o->dio_fsblock,
		.pi_read_tries = o->pi_read_tries,
	};
	int ret = gfs_mount(o->source, &go, &gf->gfs);

	if (ret)
		return ret; /* the core said why, in one line */
	gf->meta = gfs_meta(gf->gfs);
	return 0;
}

/* -o syncfs: mount as fuseblk, with the block device as the source (blkdev.c). */
static int gfuse_syncfs_source(struct gfuse_opts *o, int *loop_fd)
{
	char name[PATH_MAX];
	char *dup;

	if (gfuse_blkdev_open(o->source, o->read_only, name, sizeof(name), loop_fd))
		return -1;
	dup = strdup(name);
	if (!dup) {
		if (*loop_fd >= 0)
			close(*loop_fd);
		*loop_fd = -1;
		return -1;
	}
	free(o->fsname);
	o->fsname = dup;
	gfs_info("%s: -o syncfs: mounting as fuseblk on %s", o->source, name);
	return 0;
}

/* Serve until unmounted or signalled; the exit status. */
static int gfuse_serve(struct gfuse *gf, const char *argv0, int *notify_fd, sigset_t *sigs)
{
	int ret, loop_fd = -1, status = 1;

	if (gf->opts->syncfs && gfuse_syncfs_source(gf->opts, &loop_fd))
		return 1;
	gf->se = gfuse_session_new(gf, argv0);
	if (!gf->se || fuse_set_signal_handlers(gf->se))
		goto out;
	ret = fuse_session_mount(gf->se, gf->opts->mountpoint);
	if (loop_fd >= 0)
		close(loop_fd); /* the mount holds the loop device now, or it detaches */
	loop_fd = -1;
	if (ret)
		goto out_signals;
	gfuse_notifier_start(gf->se, gf->opts->mountpoint);
	if (gfuse_inval_start(gf))
		goto out_unmount;
	gfuse_release_parent(notify_fd, 0, gf->opts->pi_report == GFUSE_PI_REPORT_STDERR);
	gfuse_notify("READY=1\nSTATUS=mounted");
	gfs_info("%s mounted on %s", gf->opts->source, gf->opts->mountpoint);
	pthread_sigmask(SIG_UNBLOCK, sigs, NULL);
	ret = gfuse_loop(gf, sigs);
	gfuse_direct_drain(gf);
	pthread_sigmask(SIG_BLOCK, sigs, NULL);
	gfuse_notify("STOPPING=1\nSTATUS=writing back and unmounting");
	status = ret < 0 ? 1 : 0;
	gfuse_inval_stop(gf);
out_unmount:
	gfuse_notifier_stop();
	fuse_session_unmount(gf->se);
out_signals:
	fuse_remove_signal_handlers(gf->se);
out:
	if (loop_fd >= 0)
		close(loop_fd);
	if (gf->se)
		fuse_session_destroy(gf->se);
	return status;
}

/* --help, --version, --stats: the exit status. */
static int gfuse_other_mode(struct gfuse_opts *o)
{
	if (o->mode == GFUSE_MODE_HELP) {
		gfuse_opts_usage();
		return 0;
	}
	if (o->mode == GFUSE_MODE_VERSION) {
		printf("guardfs %s (libfuse %s)\n", GUARDFS_VERSION, fuse_pkgversion());
		return 0;
	}
	return gfuse_print_stats(o->mountpoint);
}

static int gfuse_resolve(const char *what, const char **path, char *buf)
{
	if (!realpath(*path, buf)) {
		fprintf(stderr, "guardfs: %s %s: %s\n", what, *path, strerror(errno));
		return -errno;
	}
	*path = buf;
	return 0;
}

static int gfuse_defaults(struct gfuse_opts *o)
{
	if (o->syncfs && geteuid() != 0) {
		fprintf(stderr,
			"guardfs: -o syncfs needs root (a fuseblk mount of a block device)\n");
		return -EPERM;
	}
	if (o->syncfs && o->fsname) {
		fprintf(stderr,
			"guardfs: -o syncfs: no fsname= (the source is the block device)\n");
		return -EINVAL;
	}
	if (!o->threads)
		o->threads = GFUSE_DEFAULT_THREADS;
	if (!o->fsname && !(o->fsname = strdup(o->source)))
		return -ENOMEM;
	if (!o->subtype && !(o->subtype = strdup("guardfs")))
		return -ENOMEM;
	return 0;
}

int main(int argc, char **argv)
{
	static char source[PATH_MAX], mountpoint[PATH_MAX];
	struct gfuse_opts opts;
	struct gfuse gf = {.opts = &opts, .entry_timeout = 1.0, .attr_timeout = 1.0};
	int notify_fd, status = 1;
	sigset_t sigs;

	if (gfuse_opts_parse(argc, argv, &opts))
		goto out_opts;
	if (opts.mode != GFUSE_MODE_MOUNT) {
		status = gfuse_other_mode(&opts);
		goto out_opts;
	}
	if (gfuse_resolve("source", &opts.source, source) ||
	    gfuse_resolve("mountpoint", &opts.mountpoint, mountpoint) || gfuse_defaults(&opts) ||
	    gfuse_names_create(&gf.names))
		goto out_opts;
	pthread_mutex_init(&gf.files_lock, NULL);
	gfuse_background(opts.foreground, &notify_fd);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	gfs_log_set_filter(gfuse_log_filter, &gf);
	if (gfuse_mount_core(&gf)) {
		gfuse_release_parent(&notify_fd, 1, true);
		goto out_names;
	}
	status = gfuse_serve(&gf, argv[0], &notify_fd, &sigs);
	gfuse_release_parent(&notify_fd, 1, true); /* still here: mounting failed */
	gfuse_files_release_all(&gf);
	if (gfs_unmount(gf.gfs)) {
		gfs_err("%s: writing back at unmount failed; the journal has the last commit",
			opts.source);
		status = 1;
	}
out_names:
	gfs_log_set_filter(NULL, NULL);
	pthread_mutex_destroy(&gf.files_lock);
	gfuse_names_destroy(gf.names);
out_opts:
	gfuse_opts_free(&opts);
	return status;
}
