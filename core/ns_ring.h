/* SPDX-License-Identifier: MIT */
/*
 * ns_ring.h - the io_uring engine under every namespace backend (internal to core/ns*).
 *
 * One ring per namespace with a submission lock and one completion thread. A submitter takes
 * the lock, prepares one or more SQEs (each SQE's user_data points at a struct ns_ring_op
 * embedded in the caller's per-command state), calls ns_ring_submit and drops the lock. The
 * completion thread is the ring's only issuer (SINGLE_ISSUER, DEFER_TASKRUN): it pushes what
 * was prepared to the kernel with the same system call that waits for completions, woken by
 * ns_ring_submit when it sleeps; it reaps CQEs in batches and calls op->complete for each;
 * the op's memory must stay valid until then. The SQ is never touched without the lock, the
 * CQ never outside the completion thread, which is io_uring's own concurrency rule.
 *
 * Lock order: ring->submit_lock is a leaf lock; complete callbacks run without it.
 */
#ifndef GUARDFS_NS_RING_H
#define GUARDFS_NS_RING_H

#include <stdbool.h>

#include <liburing.h>

struct ns_ring;
struct ns_ring_op;

/*
 * cqe is valid only during the call; big CQEs (CQE32) carry the extra 16 bytes in cqe->big_cqe.
 * The low bits of user_data (NS_RING_TAG_MASK) are free for the caller, e.g. to tell apart
 * several SQEs of one command that share an op: ops are at least 8-byte aligned and the engine
 * masks those bits before it calls complete.
 */
typedef void (*ns_ring_complete_fn)(struct ns_ring_op *op, const struct io_uring_cqe *cqe);

struct ns_ring_op {
	ns_ring_complete_fn complete;
};

#define NS_RING_TAG_MASK 7ull

/* The caller's tag of a CQE (what it OR-ed into sqe->user_data after ns_ring_get_sqe). */
static inline unsigned ns_ring_cqe_tag(const struct io_uring_cqe *cqe)
{
	return (unsigned)(cqe->user_data & NS_RING_TAG_MASK);
}

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
 * what is prepared, with the lock dropped while waiting) while the ring holds the maximum
 * number of commands in flight, so finish preparing an SQE before asking for the next, and do
 * not link SQEs. On the completion thread (an end_io that submits) it never waits: the limit
 * may be exceeded there, and the SQEs go to the kernel in one batch after the CQE batch.
 */
struct io_uring_sqe *ns_ring_get_sqe(struct ns_ring *ring, struct ns_ring_op *op);

/*
 * Under the lock: submit every prepared SQE with one system call. 0 or negative errno. On the
 * completion thread the system call is deferred to the end of the current CQE batch.
 */
int ns_ring_submit(struct ns_ring *ring);

/* True on the ring's completion thread (where waiting for the ring would deadlock). */
bool ns_ring_on_completion_thread(const struct ns_ring *ring);

#endif /* GUARDFS_NS_RING_H */
