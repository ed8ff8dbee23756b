/* SPDX-License-Identifier: MIT */
/*
 * scrub.h - read ranges of a namespace at sequential speed and verify their PI.
 *
 * The caller lists what to read: ranges of LBAs, each with the app (owner) tag its blocks must
 * carry and an opaque owner cookie that comes back with any damage found in it. The scrub sorts
 * them by LBA, reads in large requests (ranges that touch are read together, up to the request
 * size), keeps several requests in flight with ns_submit, and verifies each range of each
 * completed request with pi_verify while the next ones are being read. The device is asked not
 * to check (PRCHK 0), so one bad block does not fail a whole request: every bad block is found
 * and reported with its tag, expected and found values. A block that fails is read again, alone,
 * up to PI_READ_TRIES reads in all, as the daemon reads data again (pi_retries=): if one of
 * those passes, the medium holds good data and the damage happened on the way (transient). A
 * read that fails outright reports each of its blocks as unreadable (tag PI_TAG_NONE).
 *
 * With verify off it is the plain sequential read the benchmark compares against.
 */
#ifndef GUARDFS_TOOLS_SCRUB_H
#define GUARDFS_TOOLS_SCRUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ns.h"
#include "pi/pi.h"
#include "tools/progress.h"

struct scrub_range {
	uint64_t lba;
	uint64_t nlb;
	uint16_t app_tag;    /* owner tag every block must carry */
	uint64_t owner;	     /* caller's cookie, returned in struct scrub_bad */
	bool zero_unwritten; /* a block of all-zero data and metadata was never written: skip it */
};

struct scrub_bad {
	uint64_t owner;
	uint64_t lba;
	enum pi_tag tag;	  /* PI_TAG_NONE: the read itself failed */
	uint64_t expected, found; /* of the first failure */
	int error;		  /* the read's errno when tag is PI_TAG_NONE */
	unsigned reads_failed;	  /* PI failures: reads of the block that failed */
	bool transient;		  /* the read after them passed: not damaged on the medium */
};

struct scrub_opts {
	uint32_t request_bytes;	   /* largest read; 0: 1 MiB (capped at the namespace's transfer) */
	unsigned queue_depth;	   /* reads in flight; 0: 8 */
	bool no_verify;		   /* only read (the baseline) */
	struct progress *progress; /* may be NULL; total = bytes of all ranges */
};

struct scrub_result {
	uint64_t bytes_read;
	uint64_t blocks_checked;
	uint64_t blocks_zero; /* skipped as never written (zero_unwritten ranges) */
	uint64_t requests;
	struct scrub_bad *bad; /* in LBA order; free() */
	size_t nr_bad;	       /* with the transient ones */
	size_t nr_transient;
};

/* Sorts @ranges in place. 0, or -ENOMEM / -EINVAL; damage is not an error. */
int scrub_ranges(struct ns *ns, struct scrub_range *ranges, size_t nr,
		 const struct scrub_opts *opts, struct scrub_result *res);

#endif /* GUARDFS_TOOLS_SCRUB_H */
