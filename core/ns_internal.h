/* SPDX-License-Identifier: MIT */
/*
 * ns_internal.h - what ns.c shares with the backends (ns_file.c, ns_nvme.c). Not for use
 * outside core/ns*.
 *
 * ns.c splits each request into commands no larger than the namespace's max transfer
 * (struct ns_cmd, each with its slice of the data iovecs and metadata), hands them to the
 * backend's queue(), and completes the request once the last command has called
 * ns_cmd_done(). The backend owns how a command becomes SQEs on the ring.
 */
#ifndef GUARDFS_NS_INTERNAL_H
#define GUARDFS_NS_INTERNAL_H

#include "core/ns.h"
#include "core/ns_order.h"
#include "core/ns_ring.h"
#include "pi/pi.h"

/* One device command: a piece of a request no larger than the max transfer. */
struct ns_cmd {
	struct ns_ring_op op;  /* completion from the ring */
	struct ns *ns;	       /* the namespace it runs on */
	struct ns_request *rq; /* the request this is a piece of */
	uint64_t slba;
	uint32_t nlb;
	struct iovec *iov; /* this piece's slice of rq->iov */
	int iovcnt;
	void *md;	    /* this piece's slice of rq->md */
	uint64_t ref_tag;   /* rq->pi.ref_tag advanced to this piece (types 1/2) */
	int subops_pending; /* backend's own count (e.g. data + metadata SQEs) */
	int error;	    /* backend's own first error */
	void *backend_private;
	struct ns_order_link order; /* the file backend's per-LBA order (ns_order.h) */
};

struct ns_backend_ops {
	const char *name;
	/*
	 * Queue count commands; called without the ring lock. 0 or negative errno. An error
	 * means none of them was queued (ns_submit fails and end_io never runs); once a command
	 * is queued, its failures go through ns_cmd_done, preferably from the completion thread
	 * (end_io must not run on the submitter's stack: it may hold locks end_io takes).
	 */
	int (*queue)(struct ns *ns, struct ns_cmd **cmds, unsigned count);
	/* Release backend state; nothing is in flight and ns.c already destroyed ns->ring. */
	void (*close)(struct ns *ns);
};

/* Request counters behind ns_get_stats(); relaxed atomics, read as a snapshot. */
struct ns_counters {
	atomic_uint_least64_t ops[NS_OP_DEALLOCATE + 1];
	atomic_uint_least64_t bytes_read;
	atomic_uint_least64_t bytes_written;
	atomic_uint_least64_t errors;
};

struct ns_faults;
struct ns_wlog;

struct ns {
	char *path;
	enum ns_backend backend;
	struct ns_format fmt;
	struct pi_ctx pi; /* built from fmt.pi */
	const struct ns_backend_ops *ops;
	struct ns_ring *ring;
	bool read_only;
	bool strict;
	void *backend_private;
	struct ns_counters counters;
	struct ns_faults *faults;	/* file backend test hooks (ns_fault.c); NULL elsewhere */
	_Atomic(struct ns_wlog *) wlog; /* file backend write log (ns_wlog.c) while recording */
};

/* Backend constructors: fill ns->fmt, ns->ops, ns->ring and backend state. */
int ns_file_open(struct ns *ns, const char *path, const struct ns_options *opts);
int ns_nvme_open(struct ns *ns, const char *path, const struct ns_options *opts);

/* A backend reports each command exactly once; pe (may be NULL) names a PI failure. */
void ns_cmd_done(struct ns_cmd *cmd, int error, const struct pi_error *pe);

#endif /* GUARDFS_NS_INTERNAL_H */
