/* SPDX-License-Identifier: MIT */
/*
 * ns_ring.h - the io_uring engine under every namespace backend (internal to core/ns*).
 *
 * One ring per namespace with a submission lock and one completion thread. A submitter takes
 * the lock, prepares one or more SQEs (each SQE's user_data points at a struct ns_ring_op
 * embedded in the caller's per-command state), submits them with one system call and drops
 * the lock. The completion thread reaps CQEs in batches and calls op->complete for each;
 * the op's memory must stay valid until then. The SQ/CQ are never touched without the lock
 * (submit side) or outside the completion thread (reap side), which is io_uring's own
 * concurrency rule.
 *
 * Lock order: ring->submit_lock is a leaf lock; complete callbacks run without it.
 */
#ifndef GUARDFS_NS_RING_H
#define GUARDFS_NS_RING_H

#include <liburing.h>

struct ns_ring;
struct ns_ring_op;

/* cqe is valid only during the call; big CQEs (CQE32) carry the extra 16 bytes in cqe->big_cqe. */
typedef void (*ns_ring_complete_fn)(struct ns_ring_op *op, const struct io_uring_cqe *cqe);

struct ns_ring_op {
	ns_ring_complete_fn complete;
};

/*
 * entries: SQ size and the limit of commands in flight. setup_flags: extra io_uring setup
 * flags (IORING_SETUP_SQE128 | IORING_SETUP_CQE32 for NVMe passthrough).
 */
int ns_ring_create(unsigned entries, unsigned setup_flags, struct ns_ring **out);

/* Wait until nothing is in flight, stop the completion thread, free the ring. */
void ns_ring_destroy(struct ns_ring *ring);

void ns_ring_lock(struct ns_ring *ring);
void ns_ring_unlock(struct ns_ring *ring);

/*
 * Under the lock: a free SQE, with its user_data already pointing at op. Waits (submitting
 * what is prepared) while the ring holds the maximum number of commands in flight.
 */
struct io_uring_sqe *ns_ring_get_sqe(struct ns_ring *ring, struct ns_ring_op *op);

/* Under the lock: submit every prepared SQE with one system call. 0 or negative errno. */
int ns_ring_submit(struct ns_ring *ring);

#endif /* GUARDFS_NS_RING_H */
