// SPDX-License-Identifier: MIT
/*
 * ns_ring.c - the io_uring engine under every namespace backend.
 *
 * One ring per namespace, and one thread — the completion thread — that is the ring's only
 * issuer: it alone calls io_uring_enter, which lets the ring run with SINGLE_ISSUER and
 * DEFER_TASKRUN (completions are posted in batches when the thread asks for them, never by
 * interrupting it), as fio does. Submitters from any thread take ring->submit_lock and write
 * SQEs into the shared SQ ring; they never enter the kernel for the ring. Each loop of the
 * completion thread publishes the SQEs prepared so far (under the lock), hands all but the last
 * to the kernel one per call (ring_submit_singly, which every submission goes through), and
 * makes one io_uring_enter that submits the last and waits for a completion. A submitter that
 * finds the thread asleep in that call nudges it through an eventfd whose read is always armed
 * on the ring, so a cross-thread submission costs one eventfd write and never waits for a
 * completion.
 *
 * end_io callbacks run on the completion thread and often submit the next request: those SQEs
 * go to the kernel as soon as the callback returns (ring_reap_batch). Waking a sleeping thread
 * costs 20 - 25 us on a VM (core/poll.h), so the thread polls where that pays, adaptively:
 *   - with I/O in flight, it polls for completions for about as long as recent ones took to come
 *     when that is short; for longer waits (large transfers) with at most
 *     NS_RING_HYBRID_MAX_INFLIGHT SQEs in flight it naps for half of it with a timed
 *     io_uring_enter and then polls (ring_wait_step); otherwise it sleeps;
 *   - with nothing in flight, it polls in user space for the next submission for about as long
 *     as recent idle gaps lasted (ring_idle_poll), so that a synchronous caller's next request,
 *     which follows the last completion within microseconds, needs no eventfd wake-up; on an
 *     idle filesystem the gaps grow past GFS_POLL_MAX_NS and it sleeps at once.
 *
 * Invariants: inflight counts every SQE from ns_ring_get_sqe until its CQE was processed (the
 * eventfd read is not counted), capped at ring->limit for every thread but the completion
 * thread (which makes the room, so it must never wait for it); ns_ring_destroy waits for
 * inflight to reach zero. SQEs are published only under submit_lock, when none is half-written.
 *
 * Lock order: submit_lock is a leaf lock. Callbacks run without it.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/bug.h"
#include "core/log.h"
#include "core/ns_ring.h"
#include "core/poll.h"

/* Hybrid polling (core/poll.h) for long waits only with at most this many SQEs in flight. */
#define NS_RING_HYBRID_MAX_INFLIGHT 2u

#define RING_FAST_FLAGS                                                                            \
	(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED)

struct ns_ring {
	struct io_uring uring;
	pthread_mutex_t submit_lock; /* SQ ring, sleeping, stopping, wait for space; leaf lock */
	pthread_cond_t space;	     /* inflight dropped: broadcast when waiters > 0 */
	atomic_uint inflight;	     /* SQEs handed out, CQE not yet processed */
	atomic_uint waiters;	     /* threads sleeping on space */
	unsigned limit;
	pthread_t thread;
	bool disabled;	      /* created with R_DISABLED: the thread enables it (becomes issuer) */
	int start_error;      /* the thread's start-up result, under submit_lock */
	bool started;	      /* under submit_lock, signalled on space */
	bool stopping;	      /* under submit_lock: ns_ring_destroy wants the thread gone */
	atomic_bool sleeping; /* the completion thread may be blocked in io_uring_enter */
	atomic_bool queued;   /* another thread prepared SQEs since the last publish */
	bool prepared;	      /* completion thread only: a callback prepared SQEs */
	bool timed_wait;      /* the kernel takes a timeout in io_uring_enter (EXT_ARG) */
	struct gfs_poll io_wait;   /* how long completions took to come */
	struct gfs_poll idle_wait; /* how long the ring stayed idle until the next submission */
	uint64_t idle_since;	   /* completion thread only: when inflight last reached 0 */
	int wake_fd;		   /* eventfd nudging the completion thread */
	uint64_t wake_buf;	   /* completion thread: where the eventfd read lands */
	struct ns_ring_op wake_op;
};

static struct ns_ring_op *ring_cqe_op(const struct io_uring_cqe *cqe)
{
	return (struct ns_ring_op *)(uintptr_t)(cqe->user_data & ~NS_RING_TAG_MASK);
}

/*
 * Under the lock: make the SQEs prepared so far visible to the kernel; returns how many it has
 * not consumed yet. The SQ index array is filled here, as liburing's own flush does.
 */
static unsigned ring_publish_sq(struct ns_ring *ring)
{
	struct io_uring_sq *sq = &ring->uring.sq;
	unsigned mask = *sq->kring_mask, ktail = *sq->ktail;

	while (sq->sqe_head != sq->sqe_tail) {
		sq->array[ktail & mask] = sq->sqe_head & mask;
		ktail++;
		sq->sqe_head++;
	}
	io_uring_smp_store_release(sq->ktail, ktail);
	atomic_store_explicit(&ring->queued, false, memory_order_relaxed);
	return ktail - io_uring_smp_load_acquire(sq->khead);
}

/* Under the lock: wake the completion thread if it may be blocked in the kernel. */
static void ring_nudge(struct ns_ring *ring)
{
	if (!atomic_load(&ring->sleeping))
		return;
	atomic_store(&ring->sleeping, false);
	/* An eventfd write only fails on counter overflow, and then a wake is pending anyway. */
	(void)!eventfd_write(ring->wake_fd, 1);
}

/* io_uring_enter failing other than by interruption or a request to retry is a bug. */
static void ring_check_enter(int ret)
{
	if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
		gfs_err("ns ring: io_uring_enter failed: %s", strerror(-ret));
		GFS_BUG_ON(ret < 0);
	}
}

/*
 * On the completion thread: hand published SQEs to the kernel one per call until keep of
 * to_submit are left (the main loop keeps the last for the call that also waits); returns how
 * many are left. Every path that submits goes through here. Why one per call: the kernel plugs
 * a submission of more than two SQEs; the commands then wait in the plug until the batch is
 * built, and the block layer merges adjacent ones (sequential 1 MiB direct reads became ~3 MiB
 * requests). 4 KiB random direct reads at QD 16 ran at 0.68 - 0.71 of fio that way and at
 * 0.79 - 0.83 one per call (docs/PERFORMANCE.md). It is also what fio's io_uring engine does
 * at its default batch of one; it costs a system call per command.
 */
static unsigned ring_submit_singly(struct ns_ring *ring, unsigned to_submit, unsigned keep)
{
	while (to_submit > keep) {
		int ret = io_uring_enter(ring->uring.ring_fd, 1, 0, 0, NULL);

		ring_check_enter(ret);
		if (ret <= 0)
			break; /* left published: the next call submits them */
		to_submit--;
	}
	return to_submit;
}

/*
 * Under the lock: a free SQE. The SQ holds limit + 1 entries, so only the completion thread's
 * over-limit submissions can fill it: the completion thread, being the issuer, pushes them to
 * the kernel on the spot; another thread lets it run and retries.
 */
static struct io_uring_sqe *ring_get_raw_sqe(struct ns_ring *ring, bool completion_thread)
{
	struct io_uring_sqe *sqe;

	while (!(sqe = io_uring_get_sqe(&ring->uring))) {
		if (completion_thread) {
			ring_submit_singly(ring, ring_publish_sq(ring), 0);
			continue;
		}
		atomic_store(&ring->sleeping, true);
		ring_nudge(ring);
		pthread_mutex_unlock(&ring->submit_lock);
		sched_yield();
		pthread_mutex_lock(&ring->submit_lock);
	}
	return sqe;
}

/* Under the lock, on the completion thread: keep one read armed on the eventfd. */
static void ring_arm_wake(struct ns_ring *ring)
{
	struct io_uring_sqe *sqe = ring_get_raw_sqe(ring, true);

	io_uring_prep_read(sqe, ring->wake_fd, &ring->wake_buf, sizeof(ring->wake_buf), 0);
	io_uring_sqe_set_data(sqe, &ring->wake_op);
}

static void ring_release(struct ns_ring *ring, unsigned count)
{
	if (!count)
		return;
	atomic_fetch_sub(&ring->inflight, count);
	/* Dekker pairing with ring_wait_below(): waiters is raised before inflight is read. */
	if (atomic_load(&ring->waiters)) {
		pthread_mutex_lock(&ring->submit_lock);
		pthread_cond_broadcast(&ring->space);
		pthread_mutex_unlock(&ring->submit_lock);
	}
}

/* Under the lock: sleep until fewer than limit SQEs are in flight. */
static void ring_wait_below(struct ns_ring *ring, unsigned limit)
{
	atomic_fetch_add(&ring->waiters, 1);
	while (atomic_load(&ring->inflight) >= limit)
		pthread_cond_wait(&ring->space, &ring->submit_lock);
	atomic_fetch_sub(&ring->waiters, 1);
}

/* On the completion thread: push what a callback just prepared to the kernel right away. */
static void ring_push_prepared(struct ns_ring *ring)
{
	unsigned to_submit;

	ring->prepared = false;
	pthread_mutex_lock(&ring->submit_lock);
	to_submit = ring_publish_sq(ring);
	pthread_mutex_unlock(&ring->submit_lock);
	ring_submit_singly(ring, to_submit, 0);
}

/*
 * Process every posted CQE: the batch io_uring_enter just collected. An end_io that queued the
 * next request has it submitted before the next CQE is looked at, not after the batch: on a
 * virtual disk the device works in parallel with us, and an early submission keeps it busy
 * (measured: +15-40% IOPS at QD 32, docs/PERFORMANCE.md), at one system call per resubmission,
 * as fio's io_uring engine does.
 */
static void ring_reap_batch(struct ns_ring *ring)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0, ops = 0;
	bool rearm = false;

	io_uring_for_each_cqe(&ring->uring, head, cqe)
	{
		struct ns_ring_op *op = ring_cqe_op(cqe);

		seen++;
		if (op == &ring->wake_op) {
			rearm = true;
			continue;
		}
		ops++;
		op->complete(op, cqe);
		if (ring->prepared)
			ring_push_prepared(ring);
	}
	io_uring_cq_advance(&ring->uring, seen);
	if (rearm) {
		pthread_mutex_lock(&ring->submit_lock);
		ring_arm_wake(ring);
		pthread_mutex_unlock(&ring->submit_lock);
	}
	ring_release(ring, ops);
}

static int ring_start(struct ns_ring *ring)
{
	int ret = 0;

	/* Enabling the ring here makes this thread its single issuer. */
	if (ring->disabled)
		ret = io_uring_register(ring->uring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	pthread_mutex_lock(&ring->submit_lock);
	ring->start_error = ret < 0 ? ret : 0;
	ring->started = true;
	if (!ring->start_error)
		ring_arm_wake(ring);
	pthread_cond_broadcast(&ring->space);
	pthread_mutex_unlock(&ring->submit_lock);
	return ret < 0 ? ret : 0;
}

/*
 * With I/O in flight and nothing posted yet: poll, nap or sleep, as recent completions took
 * (gfs_poll_step). *wait_start marks when the wait began, until completions end it.
 */
static enum gfs_poll_step ring_wait_step(struct ns_ring *ring, uint64_t *wait_start,
					 uint64_t *nap_ns)
{
	enum gfs_poll_step step;
	uint64_t now;

	if (!atomic_load(&ring->inflight))
		return GFS_POLL_SLEEP;
	now = gfs_now_ns();
	if (!*wait_start)
		*wait_start = now;
	step = gfs_poll_step(&ring->io_wait, now - *wait_start, nap_ns);
	/*
	 * Hybrid polling only at a low queue depth, where the wake-up it saves is a large share of
	 * each request's latency: with many transfers in flight the device is kept busy anyway,
	 * and the polling only takes the CPU from whoever verifies and copies their data.
	 */
	if (step != GFS_POLL_SPIN &&
	    (!ring->timed_wait || atomic_load(&ring->inflight) > NS_RING_HYBRID_MAX_INFLIGHT))
		return GFS_POLL_SLEEP;
	return step;
}

/* Submit, and wait for a completion or until nap_ns passed, whichever comes first. */
static int ring_enter_nap(struct ns_ring *ring, unsigned to_submit, uint64_t nap_ns)
{
	struct __kernel_timespec ts = {.tv_sec = (long long)(nap_ns / 1000000000ull),
				       .tv_nsec = (long long)(nap_ns % 1000000000ull)};
	struct io_uring_getevents_arg arg = {
		.sigmask = 0, .sigmask_sz = _NSIG / 8, .ts = (uint64_t)(uintptr_t)&ts};
	int ret = io_uring_enter2(ring->uring.ring_fd, to_submit, 1,
				  IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, (sigset_t *)&arg,
				  sizeof(arg));

	return ret == -ETIME ? 0 : ret;
}

/*
 * Nothing in flight: poll in user space for the next submission (another thread's SQEs raise
 * queued) for about as long as recent idle gaps lasted, before the loop sleeps in the kernel.
 * sleeping stays false meanwhile, so submitters need not write the eventfd.
 */
static void ring_idle_poll(struct ns_ring *ring)
{
	uint64_t budget, now = gfs_now_ns();

	if (!ring->idle_since)
		ring->idle_since = now;
	budget = gfs_poll_budget(&ring->idle_wait);
	while (!atomic_load_explicit(&ring->queued, memory_order_acquire) &&
	       gfs_now_ns() - ring->idle_since < budget) {
		gfs_poll_pause();
	}
}

static void *ring_reap_loop(void *arg)
{
	struct ns_ring *ring = arg;
	uint64_t wait_start = 0;

	pthread_setname_np(pthread_self(), "gfs-ring");
	if (ring_start(ring))
		return NULL;
	for (;;) {
		enum gfs_poll_step step = GFS_POLL_SPIN;
		uint64_t nap_ns = 0;
		unsigned to_submit;
		bool block, stop;
		int ret;

		if (!atomic_load(&ring->inflight) && !io_uring_cq_ready(&ring->uring))
			ring_idle_poll(ring);
		pthread_mutex_lock(&ring->submit_lock);
		to_submit = ring_publish_sq(ring);
		if (to_submit) /* the idle gap ended with a submission */
			gfs_poll_end(&ring->idle_wait, &ring->idle_since);
		if (!io_uring_cq_ready(&ring->uring))
			step = ring_wait_step(ring, &wait_start, &nap_ns);
		block = step != GFS_POLL_SPIN;
		stop = ring->stopping && atomic_load(&ring->inflight) == 0;
		atomic_store(&ring->sleeping, block);
		pthread_mutex_unlock(&ring->submit_lock);
		if (stop)
			break;
		to_submit = ring_submit_singly(ring, to_submit, 1);
		/* One system call submits the last SQE and collects what completed. */
		if (step == GFS_POLL_NAP)
			ret = ring_enter_nap(ring, to_submit, nap_ns);
		else
			ret = io_uring_enter(ring->uring.ring_fd, to_submit, block ? 1 : 0,
					     IORING_ENTER_GETEVENTS, NULL);
		atomic_store(&ring->sleeping, false);
		ring_check_enter(ret);
		if (io_uring_cq_ready(&ring->uring))
			gfs_poll_end(&ring->io_wait, &wait_start);
		ring_reap_batch(ring);
	}
	return NULL;
}

static int ring_setup(struct ns_ring *ring, unsigned entries, unsigned setup_flags)
{
	struct io_uring_params params;
	int ret;

	memset(&params, 0, sizeof(params));
	/* Room for the completion thread's over-limit submissions without CQ overflow. */
	params.flags = setup_flags | IORING_SETUP_CQSIZE | RING_FAST_FLAGS;
	params.cq_entries = entries * 4;
	ret = io_uring_queue_init_params(entries + 1, &ring->uring, &params);
	ring->disabled = ret == 0;
	ring->timed_wait = ret == 0 && (params.features & IORING_FEAT_EXT_ARG);
	if (ret == -EINVAL) {
		/* Kernels before 6.1: the same single-issuer loop, without the fast task work. */
		memset(&params, 0, sizeof(params));
		params.flags = setup_flags | IORING_SETUP_CQSIZE;
		params.cq_entries = entries * 4;
		ret = io_uring_queue_init_params(entries + 1, &ring->uring, &params);
		ring->timed_wait = ret == 0 && (params.features & IORING_FEAT_EXT_ARG);
	}
	return ret;
}

int ns_ring_create(unsigned entries, unsigned setup_flags, struct ns_ring **out)
{
	struct ns_ring *ring;
	int ret;

	if (!entries || entries > 4096)
		return -EINVAL;
	ring = calloc(1, sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	ring->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (ring->wake_fd < 0) {
		ret = -errno;
		goto out_free;
	}
	ret = ring_setup(ring, entries, setup_flags);
	if (ret < 0)
		goto out_close;
	ring->limit = entries;
	atomic_init(&ring->inflight, 0);
	atomic_init(&ring->waiters, 0);
	atomic_init(&ring->sleeping, false);
	atomic_init(&ring->queued, false);
	atomic_init(&ring->io_wait.avg_ns, 0);
	atomic_init(&ring->idle_wait.avg_ns, 0);
	pthread_mutex_init(&ring->submit_lock, NULL);
	pthread_cond_init(&ring->space, NULL);
	ret = -pthread_create(&ring->thread, NULL, ring_reap_loop, ring);
	if (ret)
		goto out_exit;
	pthread_mutex_lock(&ring->submit_lock);
	while (!ring->started)
		pthread_cond_wait(&ring->space, &ring->submit_lock);
	ret = ring->start_error;
	pthread_mutex_unlock(&ring->submit_lock);
	if (ret) {
		pthread_join(ring->thread, NULL);
		goto out_exit;
	}
	*out = ring;
	return 0;

out_exit:
	pthread_cond_destroy(&ring->space);
	pthread_mutex_destroy(&ring->submit_lock);
	io_uring_queue_exit(&ring->uring);
out_close:
	close(ring->wake_fd);
out_free:
	free(ring);
	return ret;
}

void ns_ring_destroy(struct ns_ring *ring)
{
	if (!ring)
		return;
	GFS_BUG_ON(ns_ring_on_completion_thread(ring));
	pthread_mutex_lock(&ring->submit_lock);
	ring_nudge(ring);
	ring_wait_below(ring, 1);
	ring->stopping = true;
	/* Wake it even if it just cleared sleeping: it re-checks stopping under the lock. */
	atomic_store(&ring->sleeping, true);
	ring_nudge(ring);
	pthread_mutex_unlock(&ring->submit_lock);
	pthread_join(ring->thread, NULL);
	io_uring_queue_exit(&ring->uring);
	close(ring->wake_fd);
	pthread_cond_destroy(&ring->space);
	pthread_mutex_destroy(&ring->submit_lock);
	free(ring);
}

void ns_ring_lock(struct ns_ring *ring)
{
	pthread_mutex_lock(&ring->submit_lock);
}

void ns_ring_unlock(struct ns_ring *ring)
{
	pthread_mutex_unlock(&ring->submit_lock);
}

bool ns_ring_on_completion_thread(const struct ns_ring *ring)
{
	return pthread_equal(pthread_self(), ring->thread);
}

struct io_uring_sqe *ns_ring_get_sqe(struct ns_ring *ring, struct ns_ring_op *op)
{
	bool completion_thread = ns_ring_on_completion_thread(ring);
	struct io_uring_sqe *sqe;

	GFS_BUG_ON(((uintptr_t)op & NS_RING_TAG_MASK) != 0);
	if (!completion_thread && atomic_load(&ring->inflight) >= ring->limit) {
		/* Our prepared SQEs count as in flight: the thread must publish them first. */
		ring_nudge(ring);
		ring_wait_below(ring, ring->limit);
	}
	sqe = ring_get_raw_sqe(ring, completion_thread);
	if (completion_thread)
		ring->prepared = true;
	atomic_fetch_add(&ring->inflight, 1);
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)op);
	return sqe;
}

int ns_ring_submit(struct ns_ring *ring)
{
	/* The completion thread publishes at the top of its loop; others wake it if asleep. */
	if (!ns_ring_on_completion_thread(ring)) {
		atomic_store_explicit(&ring->queued, true, memory_order_release);
		ring_nudge(ring);
	}
	return 0;
}
