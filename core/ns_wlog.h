/* SPDX-License-Identifier: MIT */
/*
 * ns_wlog.h - the file backend's write log: every write, write-zeroes/deallocate and flush, in
 * completion order, with the contents that reached the file; and a replay that rebuilds the
 * image as of any record, optionally dropping or reordering what no flush covered yet.
 *
 * A flush covers the records that had completed when it was submitted (records[0, durable)),
 * as a device's flush covers the writes it had acknowledged. At a replay point `upto`, the
 * writes below the highest `durable` of the flushes before `upto` are stable; the others may
 * be lost or land in any order, which is what a crash at that point may leave.
 *
 * The log lives in memory (tests bound what they write). Start and stop it while no I/O is in
 * flight; it survives ns_close() so a test can "crash" the namespace and replay afterwards.
 */
#ifndef GUARDFS_NS_WLOG_H
#define GUARDFS_NS_WLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/ns.h"

struct ns_wlog;

enum ns_wlog_kind {
	NS_WLOG_WRITE,
	NS_WLOG_ZEROES, /* write zeroes or deallocate: data zeros, metadata 0xFF */
	NS_WLOG_FLUSH,
};

struct ns_wlog_entry {
	enum ns_wlog_kind kind;
	uint64_t slba;
	uint32_t nlb;
	const void *data; /* WRITE: nlb * lba_size bytes */
	const void *md;	  /* WRITE: nlb * md_size bytes (NULL when md_size is 0) */
	size_t durable;	  /* FLUSH: records [0, durable) are stable once it completed */
};

/*
 * Start recording ns (a file backend). base_copy, when not NULL, receives a sparse copy of the
 * image as it is now: the base a replay starts from.
 */
int ns_wlog_start(struct ns *ns, const char *base_copy, struct ns_wlog **out);
/* Stop recording (ns_close also does); the log stays valid until ns_wlog_free. */
void ns_wlog_stop(struct ns *ns);
void ns_wlog_free(struct ns_wlog *log);

size_t ns_wlog_count(const struct ns_wlog *log);
int ns_wlog_get(const struct ns_wlog *log, size_t index, struct ns_wlog_entry *out);

struct ns_wlog_replay_opts {
	size_t upto;		/* apply records [0, upto) */
	bool drop_unflushed;	/* drop each write no flush covers, with probability 1/2 */
	bool reorder_unflushed; /* apply the writes no flush covers in a shuffled order */
	uint64_t seed;		/* for both choices */
};

/*
 * Build the image out (created or truncated; the recorded image size): a copy of base (NULL:
 * all holes), then the records as opts says. Returns 0 or a negative errno.
 */
int ns_wlog_replay(const struct ns_wlog *log, const char *base, const char *out,
		   const struct ns_wlog_replay_opts *opts);

/* For ns_file.c: append records (completion thread). */
struct ns_wlog *ns_wlog_of(struct ns *ns);
size_t ns_wlog_mark(struct ns_wlog *log);
void ns_wlog_add_write(struct ns_wlog *log, uint64_t slba, uint32_t nlb, const struct iovec *iov,
		       int iovcnt, const void *md);
void ns_wlog_add_zeroes(struct ns_wlog *log, uint64_t slba, uint32_t nlb);
void ns_wlog_add_flush(struct ns_wlog *log, size_t durable);

#endif /* GUARDFS_NS_WLOG_H */
