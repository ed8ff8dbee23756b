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
#include "core/ns_ring.h"
#include "pi/pi.h"

/* One device command: a piece of a request no larger than the max transfer. */
struct ns_cmd {
	struct ns_ring_op op;    /* completion from the ring */
	struct ns_request *rq;   /* the request this is a piece of */
	uint64_t slba;
	uint32_t nlb;
	struct iovec *iov;       /* this piece's slice of rq->iov */
	int iovcnt;
	void *md;                /* this piece's slice of rq->md */
	uint64_t ref_tag;        /* rq->pi.ref_tag advanced to this piece (types 1/2) */
	int subops_pending;      /* backend's own count (e.g. data + metadata SQEs) */
	int error;               /* backend's own first error */
	void *backend_private;
};

struct ns_backend_ops {
	const char *name;
	/* Queue count commands; called without the ring lock. 0 or negative errno. */
	int (*queue)(struct ns *ns, struct ns_cmd **cmds, unsigned count);
	/* Release backend state; nothing is in flight. */
	void (*close)(struct ns *ns);
};

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
};

/* Backend constructors: fill ns->fmt, ns->ops, ns->ring and backend state. */
int ns_file_open(struct ns *ns, const char *path, const struct ns_options *opts);
int ns_nvme_open(struct ns *ns, const char *path, const struct ns_options *opts);

/* A backend reports each command exactly once; pe (may be NULL) names a PI failure. */
void ns_cmd_done(struct ns_cmd *cmd, int error, const struct pi_error *pe);

#endif /* GUARDFS_NS_INTERNAL_H */
