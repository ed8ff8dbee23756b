// SPDX-License-Identifier: MIT
/*
 * ns_ring.c - the io_uring engine under every namespace backend.
 *
 * One ring per namespace. Submitters share the SQ under ring->submit_lock; one completion
 * thread owns the CQ, reaps CQEs in batches and calls each op's complete callback. The number
 * of SQEs handed out and not yet reaped (inflight) is capped at ring->limit; a submitter that
 * would exceed it submits what it prepared and sleeps on ring->space with the lock dropped.
 *
 * The completion thread is special: end_io callbacks often submit the next request, so it
 * never waits for space (it is the only thread that makes space) and its system calls are
 * deferred: SQEs it prepares during a CQE batch go to the kernel in one io_uring_submit after
 * the batch, the usual event-loop shape that turns N completions into one submission.
 *
 * Invariants: inflight counts every SQE from ns_ring_get_sqe until its CQE was processed, so
 * ns_ring_destroy can wait for it to reach zero; a user_data of 0 is the stop marker.
 *
 * Lock order: submit_lock is a leaf lock. Callbacks run without it.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bug.h"
#include "core/log.h"
#include "core/ns_ring.h"

struct ns_ring {
	struct io_uring uring;
	pthread_mutex_t submit_lock; /* SQ side and the wait for space; leaf lock */
	pthread_cond_t space;        /* inflight dropped: broadcast when waiters > 0 */
	atomic_uint inflight;        /* SQEs handed out, CQE not yet processed */
	atomic_uint waiters;         /* threads sleeping on space */
	unsigned limit;
	pthread_t thread;
	bool deferred; /* completion thread only: SQEs prepared during a batch */
};

static struct ns_ring_op *ring_cqe_op(const struct io_uring_cqe *cqe)
{
	return (struct ns_ring_op *)(uintptr_t)(cqe->user_data & ~NS_RING_TAG_MASK);
}

/* Push every prepared SQE to the kernel. Transient refusals are retried. */
static int ring_flush_sq(struct ns_ring *ring, bool may_wait)
{
	while (io_uring_sq_ready(&ring->uring)) {
		int ret = io_uring_submit(&ring->uring);

		if (ret >= 0 || ret == -EINTR)
			continue;
		if ((ret == -EAGAIN || ret == -EBUSY) && may_wait) {
			/* The CQ backlog is full: the completion thread is draining it. */
			sched_yield();
			continue;
		}
		return ret;
	}
	return 0;
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

static void ring_flush_deferred(struct ns_ring *ring)
{
	int ret;

	if (!ring->deferred)
		return;
	pthread_mutex_lock(&ring->submit_lock);
	ret = ring_flush_sq(ring, false);
	pthread_mutex_unlock(&ring->submit_lock);
	/* -EBUSY: keep them prepared; reaping the backlog below makes room. */
	ring->deferred = ret == -EAGAIN || ret == -EBUSY;
	if (ret < 0 && !ring->deferred) {
		gfs_err("ns ring: io_uring_submit from the completion thread failed: %s",
			strerror(-ret));
		GFS_BUG_ON(ret < 0);
	}
}

/* Process one batch of CQEs; returns true when the stop marker was seen. */
static bool ring_reap_batch(struct ns_ring *ring)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0, ops = 0;
	bool stop = false;

	io_uring_for_each_cqe(&ring->uring, head, cqe)
	{
		struct ns_ring_op *op = ring_cqe_op(cqe);

		seen++;
		if (!op) {
			stop = true;
			continue;
		}
		ops++;
		op->complete(op, cqe);
	}
	io_uring_cq_advance(&ring->uring, seen);
	ring_release(ring, ops);
	return stop;
}

static void *ring_reap_loop(void *arg)
{
	struct ns_ring *ring = arg;

	for (;;) {
		struct io_uring_cqe *cqe;
		int ret = io_uring_wait_cqe(&ring->uring, &cqe);

		if (ret == -EINTR || ret == -EAGAIN || ret == -EBUSY)
			continue;
		if (ret < 0) {
			gfs_err("ns ring: waiting for completions failed: %s", strerror(-ret));
			GFS_BUG_ON(ret < 0);
		}
		if (ring_reap_batch(ring))
			break;
		ring_flush_deferred(ring);
	}
	return NULL;
}

int ns_ring_create(unsigned entries, unsigned setup_flags, struct ns_ring **out)
{
	struct io_uring_params params;
	struct ns_ring *ring;
	int ret;

	if (!entries || entries > 4096)
		return -EINVAL;
	ring = calloc(1, sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	memset(&params, 0, sizeof(params));
	/* Room for the completion thread's over-limit submissions without CQ overflow. */
	params.flags = setup_flags | IORING_SETUP_CQSIZE;
	params.cq_entries = entries * 4;
	ret = io_uring_queue_init_params(entries, &ring->uring, &params);
	if (ret < 0)
		goto out_free;
	ring->limit = entries;
	atomic_init(&ring->inflight, 0);
	atomic_init(&ring->waiters, 0);
	pthread_mutex_init(&ring->submit_lock, NULL);
	pthread_cond_init(&ring->space, NULL);
	ret = -pthread_create(&ring->thread, NULL, ring_reap_loop, ring);
	if (ret)
		goto out_exit;
	*out = ring;
	return 0;

out_exit:
	pthread_cond_destroy(&ring->space);
	pthread_mutex_destroy(&ring->submit_lock);
	io_uring_queue_exit(&ring->uring);
out_free:
	free(ring);
	return ret;
}

void ns_ring_destroy(struct ns_ring *ring)
{
	struct io_uring_sqe *sqe;

	if (!ring)
		return;
	GFS_BUG_ON(ns_ring_on_completion_thread(ring));
	pthread_mutex_lock(&ring->submit_lock);
	ring_flush_sq(ring, true);
	ring_wait_below(ring, 1);
	/* The stop marker: a NOP with user_data 0, outside the inflight count. */
	sqe = io_uring_get_sqe(&ring->uring);
	GFS_BUG_ON(!sqe);
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, 0);
	GFS_BUG_ON(ring_flush_sq(ring, true) < 0);
	pthread_mutex_unlock(&ring->submit_lock);
	pthread_join(ring->thread, NULL);
	io_uring_queue_exit(&ring->uring);
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
		/* Our prepared SQEs count as in flight: the kernel must see them first. */
		GFS_BUG_ON(ring_flush_sq(ring, true) < 0);
		ring_wait_below(ring, ring->limit);
	}
	while (!(sqe = io_uring_get_sqe(&ring->uring))) {
		/* Only the completion thread can overrun the SQ: flush it now. */
		if (ring_flush_sq(ring, !completion_thread) < 0)
			sched_yield();
	}
	atomic_fetch_add(&ring->inflight, 1);
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)op);
	return sqe;
}

int ns_ring_submit(struct ns_ring *ring)
{
	if (ns_ring_on_completion_thread(ring)) {
		ring->deferred = true;
		return 0;
	}
	return ring_flush_sq(ring, true);
}
