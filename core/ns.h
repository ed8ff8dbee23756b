/* SPDX-License-Identifier: MIT */
/*
 * ns.h - the namespace layer: asynchronous block I/O with per-block metadata.
 *
 * One interface for every backend: a regular file laid out as QEMU's nvme-ns backing image
 * (the "file backend"), or an NVMe namespace driven through io_uring passthrough on its
 * /dev/ngXnY generic device (the "NVMe backend"). Requests carry data iovecs, a separate
 * metadata buffer and the PI parameters the device should check (NVMe PRCHK semantics).
 *
 * File backend: a block whose data range is a hole in the image and whose stored metadata is
 * all zeros (never written: a fresh ftruncate'd image) reads back with its PI tuple all 0xFF,
 * the PI escape, as QEMU's nvme-ns does (details in core/ns_file_md.c). The file backend
 * moves metadata through a shared mapping of the image and so installs a SIGBUS handler for
 * the process (core/mapguard.h), which passes on every SIGBUS that is not its own.
 *
 * Completion: end_io runs on a completion thread of the namespace, once per request, after
 * every piece of it finished; rq->error is 0 or a negative errno. A request larger than the
 * namespace's max transfer is split here and fails as a whole if any piece fails. Submission
 * is safe from several threads.
 */
#ifndef GUARDFS_NS_H
#define GUARDFS_NS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "pi/pi.h"

struct ns;

enum ns_backend {
	NS_BACKEND_FILE,
	NS_BACKEND_NVME,
};

struct ns_format {
	struct pi_format pi;   /* lba_size, md_size, PI type/guard/location; layout SEPARATE */
	uint64_t nlb;	       /* capacity in logical blocks */
	bool volatile_cache;   /* a flush is needed for durability */
	bool write_zeroes;     /* NS_OP_WRITE_ZEROES supported */
	bool deallocate;       /* NS_OP_DEALLOCATE supported */
	uint32_t max_transfer; /* largest data transfer of one device command, bytes */
};

struct ns_options {
	/*
	 * The format of a regular file, which has no header of its own (guardfs records it in
	 * its superblock). Required for the file backend; for NVMe, NULL or it must match.
	 */
	const struct pi_format *format;
	unsigned queue_depth; /* requests in flight; 0 = default (128) */
	bool read_only;
	bool strict;   /* file backend: check PI on every read and write, like PRCHK */
	bool md_by_io; /* file backend: read metadata by I/O, never from a mapping (tests) */
};

enum ns_op {
	NS_OP_READ,
	NS_OP_WRITE,
	NS_OP_FLUSH,
	NS_OP_WRITE_ZEROES, /* data reads back as zeros, PI tuple as 0xFF (escape) */
	NS_OP_DEALLOCATE,   /* likewise */
};

/* What the device checks on a read or write (NVMe ILBRT, LBAT/LBATM, PRCHK). */
struct ns_pi_params {
	uint64_t ref_tag; /* initial ref tag */
	uint16_t app_tag; /* expected app tag and its mask */
	uint16_t app_mask;
	uint8_t checks; /* PI_CHECK_* bits */
};

struct ns_request;
typedef void (*ns_end_io_fn)(struct ns_request *rq);

struct ns_request {
	/* Set by the submitter. */
	enum ns_op op;
	uint64_t slba;
	uint32_t nlb;
	const struct iovec *iov; /* nlb * lba_size bytes of data (read/write) */
	int iovcnt;
	void *md; /* nlb * md_size bytes of metadata; NULL when md_size is 0 */
	struct ns_pi_params pi;
	bool fua; /* write: durable before completion */
	ns_end_io_fn end_io;
	void *private;

	/* Set before end_io runs. */
	int error;		  /* 0 or negative errno */
	struct pi_error pi_error; /* tag != PI_TAG_NONE when a PI check failed (error -EIO) */

	/* Private to the namespace layer. */
	atomic_uint pieces_pending;
	atomic_int first_error;
};

/*
 * Open a namespace: a regular file -> file backend, /dev/ngXnY -> NVMe backend,
 * /dev/nvmeXnY -> its ng device. Logs one line naming the path on failure. The namespace owns
 * a completion thread, which fork() does not copy: open it in the process that uses it (after
 * daemonizing).
 */
int ns_open(const char *path, const struct ns_options *opts, struct ns **out);

/* Wait for everything in flight, then release the namespace. */
void ns_close(struct ns *ns);

const struct ns_format *ns_get_format(const struct ns *ns);
enum ns_backend ns_get_backend(const struct ns *ns);
const char *ns_get_path(const struct ns *ns);

/* Queue a request; end_io will run exactly once unless this returns an error. */
int ns_submit(struct ns *ns, struct ns_request *rq);

/* Submit and wait: returns rq->error. end_io must be NULL. */
int ns_submit_wait(struct ns *ns, struct ns_request *rq);

/* Convenience wrappers over ns_submit_wait for single-buffer I/O. */
int ns_read_sync(struct ns *ns, uint64_t slba, uint32_t nlb, void *data, void *md,
		 const struct ns_pi_params *pi);
int ns_write_sync(struct ns *ns, uint64_t slba, uint32_t nlb, const void *data, const void *md,
		  const struct ns_pi_params *pi);
int ns_flush_sync(struct ns *ns);

/* Requests accepted by ns_submit since open, per op, and what they moved. */
struct ns_stats {
	uint64_t reads;
	uint64_t writes;
	uint64_t flushes;
	uint64_t write_zeroes;
	uint64_t deallocates;
	uint64_t bytes_read;
	uint64_t bytes_written;
	uint64_t errors; /* requests completed with an error */
};

void ns_get_stats(const struct ns *ns, struct ns_stats *out);

#endif /* GUARDFS_NS_H */
