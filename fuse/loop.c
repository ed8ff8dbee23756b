/* SPDX-License-Identifier: MIT */
/*
 * loop.c - the request loop: opts->threads workers (one with -s, run by the caller) each
 * receiving a request from the session and handing it to libfuse, except FUSE_SYNCFS.
 *
 * Why our own loop: libfuse 3.14 does not know opcode 50 and answers it ENOSYS, after which the
 * kernel never sends it again, so syncfs(2) on the mount would return 0 with dirty data still in
 * the core's cache. The kernel sends FUSE_SYNCFS on fuseblk mounts (-o syncfs, blkdev.c); a
 * worker that receives one runs gfs_syncfs() and writes the reply to the session fd itself.
 * FUSE_OPEN with O_DIRECT is answered by gfuse_open_direct() the same way: its reply carries
 * FOPEN_PARALLEL_DIRECT_WRITES, which libfuse 3.14 has no field for.
 * Everything else goes to fuse_session_process_buf() exactly as fuse_session_loop_mt() would.
 *
 * Requests are read into memory (gfuse_init clears FUSE_CAP_SPLICE_READ), so the header can be
 * looked at before libfuse sees the request, into a buffer each worker alone owns (loop_buf):
 * a FUSE_WRITE's payload stays there unchanged until the worker serves its next request, which
 * is what lets a synchronous direct write go to the device from it in place (gfuse_write). An
 * async direct write takes the buffer along instead (gfuse_loop_take_buf) and the worker goes on
 * with a spare one.
 *
 * Exit and signals, as libfuse's own loops: the workers run with SIGTERM/SIGINT/SIGHUP blocked;
 * libfuse's handler (fuse_set_signal_handlers) marks the session exited and interrupts the
 * calling thread's wait, which then cancels the workers where they wait for a request (never
 * while one is being served) and joins them. An unmount makes a worker's read fail with ENODEV,
 * which exits the session the same way.
 */
#include "fuse/gfuse.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/bug.h"
#include "core/hugemem.h"
#include "core/log.h"

struct loop_state {
	struct gfuse *gf;
	sem_t finished; /* posted by each worker that stops on its own */
	int error;	/* first receive error (negative errno), 0 for an unmount or signal */
	pthread_mutex_t lock;
};

bool gfuse_reply_raw(struct gfuse *gf, const struct fuse_in_header *in, const char *name, int error,
		     const void *arg, size_t arg_len)
{
	struct fuse_out_header out = {.len = (uint32_t)(sizeof(out) + (error ? 0 : arg_len)),
				      .error = error,
				      .unique = in->unique};
	struct iovec iov[2] = {{&out, sizeof(out)}, {(void *)arg, arg_len}};
	ssize_t n;

	if (gf->opts->debug)
		fprintf(stderr,
			"unique: %llu, opcode: %s (%u), nodeid: %llu, error: %d (guardfs)\n",
			(unsigned long long)in->unique, name, in->opcode,
			(unsigned long long)in->nodeid, error);
	n = writev(fuse_session_fd(gf->se), iov, error || !arg_len ? 1 : 2);
	if (n == (ssize_t)out.len)
		return true;
	/* ENOENT: the kernel gave up on the request (interrupted); nothing waits for the reply. */
	if (!(n < 0 && errno == ENOENT))
		gfs_err("%s of inode %llu: cannot reply to the kernel: %s", name,
			(unsigned long long)in->nodeid, n < 0 ? strerror(errno) : "short write");
	return false;
}

/* FUSE_SYNCFS: write everything back, commit and flush, then answer the kernel. */
static void loop_syncfs(struct gfuse *gf, const struct fuse_in_header *in)
{
	gfuse_reply_raw(gf, in, "SYNCFS", gfs_syncfs(gf->gfs), NULL, 0);
}

/* One request just received into buf. */
static void loop_dispatch(struct gfuse *gf, const struct fuse_buf *buf)
{
	const struct fuse_in_header *in = buf->mem;

	GFS_BUG_ON(buf->flags & FUSE_BUF_IS_FD);
	if (buf->size >= sizeof(*in) && in->opcode == FUSE_SYNCFS) {
		loop_syncfs(gf, in);
		return;
	}
	if (buf->size >= sizeof(*in) + sizeof(struct fuse_open_in) && in->opcode == FUSE_OPEN) {
		const struct fuse_open_in *arg = (const void *)(in + 1);

		if (arg->flags & O_DIRECT) {
			gfuse_open_direct(gf, in, arg);
			return;
		}
	}
	fuse_session_process_buf(gf->se, buf);
}

/* Receive and serve until the session exits; 0, or the receive error that ended it. Cancellable
 * only while waiting for a request. */
static int loop_serve(struct gfuse *gf, struct fuse_buf *buf)
{
	int ret = 0;

	while (!fuse_session_exited(gf->se)) {
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		ret = fuse_session_receive_buf(gf->se, buf);
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		if (ret == -EINTR)
			continue;
		if (ret <= 0) /* 0: unmounted (libfuse exited the session on ENODEV) */
			break;
		loop_dispatch(gf, buf);
	}
	return ret < 0 ? ret : 0;
}

/*
 * A worker's request buffer. A FUSE_WRITE's payload follows two headers, so the buffer starts
 * that many bytes before a page boundary: the payload is then page aligned and can go to the
 * device as it is. The region is one huge page (core/hugemem.h), so that a 1 MiB payload is
 * one segment for the device. libfuse reads a request into buf->mem when it is set (3.14 reads
 * at most its bufsize, 256 pages + 4 KiB, which fits), and allocates a buffer of its own only
 * when not.
 */
#define LOOP_REGION_BYTES GFS_HUGE_PAGE
#define LOOP_WRITE_HDR	  (sizeof(struct fuse_in_header) + sizeof(struct fuse_write_in))

struct loop_buf {
	struct fuse_buf fb;
	void *region;
};

/* The calling worker's buffer, for gfuse_loop_take_buf. */
static __thread struct loop_buf *loop_cur;

/*
 * Regions that writes took from their workers (gfuse_loop_take_buf) come back here for the next
 * worker that gives its own away. At most LOOP_SPARE_MAX exist beyond one per worker, so writes
 * in flight hold at most that much memory; past it they take the bounce. After the loop ended
 * (closed), regions that come back are freed. The lock is a leaf.
 */
#define LOOP_SPARE_MAX 16

static struct {
	pthread_mutex_t lock;
	void *free[LOOP_SPARE_MAX];
	unsigned nr_free, nr_extra; /* regions here; regions made beyond one per worker */
	bool closed;
} loop_spare = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void *loop_region_new(void)
{
	return gfs_huge_alloc(LOOP_REGION_BYTES);
}

static void loop_region_free(void *region)
{
	gfs_huge_free(region, LOOP_REGION_BYTES);
}

static void loop_buf_set(struct loop_buf *b, void *region)
{
	b->region = region;
	b->fb.mem = (char *)region + getpagesize() - LOOP_WRITE_HDR;
}

static void loop_buf_init(struct loop_buf *b)
{
	void *region = loop_region_new();

	*b = (struct loop_buf){.fb = {.mem = NULL}};
	if (region) /* else libfuse allocates one: everything works, writes take the bounce */
		loop_buf_set(b, region);
	loop_cur = b;
}

static void loop_buf_free(void *arg)
{
	struct loop_buf *b = arg;

	if (b->fb.mem && !b->region)
		free(b->fb.mem);
	loop_region_free(b->region);
	loop_cur = NULL;
}

void *gfuse_loop_take_buf(const void *payload)
{
	struct loop_buf *b = loop_cur;
	const char *p = payload;
	void *held, *fresh = NULL;

	if (!b || !b->region || p < (char *)b->region || p >= (char *)b->region + LOOP_REGION_BYTES)
		return NULL;
	pthread_mutex_lock(&loop_spare.lock);
	if (loop_spare.nr_free)
		fresh = loop_spare.free[--loop_spare.nr_free];
	else if (loop_spare.nr_extra < LOOP_SPARE_MAX && (fresh = loop_region_new()))
		loop_spare.nr_extra++;
	pthread_mutex_unlock(&loop_spare.lock);
	if (!fresh)
		return NULL;
	held = b->region;
	/* libfuse is done with the request's memory once the handler returns (no splice). */
	loop_buf_set(b, fresh);
	return held;
}

void gfuse_loop_release_buf(void *held)
{
	pthread_mutex_lock(&loop_spare.lock);
	if (!loop_spare.closed) {
		GFS_BUG_ON(loop_spare.nr_free >= LOOP_SPARE_MAX);
		loop_spare.free[loop_spare.nr_free++] = held;
		held = NULL;
	}
	pthread_mutex_unlock(&loop_spare.lock);
	loop_region_free(held);
}

/* The loop ended: free the spare regions, and from now on each one that comes back. */
static void loop_spare_close(void)
{
	pthread_mutex_lock(&loop_spare.lock);
	loop_spare.closed = true;
	while (loop_spare.nr_free)
		loop_region_free(loop_spare.free[--loop_spare.nr_free]);
	pthread_mutex_unlock(&loop_spare.lock);
}

static void *loop_worker(void *arg)
{
	struct loop_state *ls = arg;
	struct loop_buf buf;
	int ret;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	loop_buf_init(&buf);
	pthread_cleanup_push(loop_buf_free, &buf);
	ret = loop_serve(ls->gf, &buf.fb);
	pthread_cleanup_pop(1);
	if (ret < 0) {
		pthread_mutex_lock(&ls->lock);
		if (!ls->error)
			ls->error = ret;
		pthread_mutex_unlock(&ls->lock);
	}
	fuse_session_exit(ls->gf->se);
	sem_post(&ls->finished);
	return NULL;
}

/* Start up to opts->threads workers with the termination signals blocked; how many started. */
static unsigned loop_start(struct loop_state *ls, pthread_t *tids, const sigset_t *sigs)
{
	unsigned n = 0;
	sigset_t old;
	int ret;

	pthread_sigmask(SIG_BLOCK, sigs, &old);
	for (; n < ls->gf->opts->threads; n++) {
		ret = pthread_create(&tids[n], NULL, loop_worker, ls);
		if (ret) {
			gfs_err("cannot start request thread %u: %s", n, strerror(ret));
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return n;
}

static int loop_mt(struct gfuse *gf, const sigset_t *sigs)
{
	struct loop_state ls = {.gf = gf};
	pthread_t *tids = calloc(gf->opts->threads, sizeof(*tids));
	unsigned n;

	if (!tids)
		return -ENOMEM;
	sem_init(&ls.finished, 0, 0);
	pthread_mutex_init(&ls.lock, NULL);
	n = loop_start(&ls, tids, sigs);
	if (!n)
		ls.error = -EAGAIN;
	/* sem_wait returns EINTR when libfuse's signal handler ran on this thread. */
	while (n && !fuse_session_exited(gf->se))
		sem_wait(&ls.finished);
	for (unsigned i = 0; i < n; i++)
		pthread_cancel(tids[i]);
	for (unsigned i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
	pthread_mutex_destroy(&ls.lock);
	sem_destroy(&ls.finished);
	free(tids);
	return ls.error;
}

int gfuse_loop(struct gfuse *gf, const sigset_t *sigs)
{
	int ret;

	if (gf->opts->single_thread) {
		struct loop_buf buf;

		loop_buf_init(&buf);
		ret = loop_serve(gf, &buf.fb);
		loop_buf_free(&buf);
	} else
		ret = loop_mt(gf, sigs);
	loop_spare_close();
	fuse_session_reset(gf->se);
	return ret;
}
