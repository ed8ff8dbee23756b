/* SPDX-License-Identifier: MIT */
/*
 * ns_fault.h - seeded, reproducible fault injection for the file backend (test hooks).
 *
 * Off unless a fault is added. A fault matches a device command (a piece of a request no
 * larger than the max transfer) by op and LBA range and fires on the nth matching command,
 * once or every nth time. What it does:
 *
 *   NS_FAULT_BIT_FLIP   flip one bit of the data or of a tag (guard/app/ref) of one block
 *                       (chosen or seeded-random): on a write in what reaches the file (the
 *                       caller's buffer is untouched), on a read in what the caller gets
 *   NS_FAULT_MISDIRECT  a write lands at another LBA (chosen or seeded-random), reports success
 *   NS_FAULT_TORN       only a prefix of a write's blocks reaches the file, reports success
 *   NS_FAULT_LOST       a write reports success, nothing reaches the file
 *   NS_FAULT_IO_ERROR   the command fails with -EIO and transfers nothing (any op)
 *
 * The same seed and the same sequence of commands give the same faults. Faults are added and
 * cleared while no I/O is in flight.
 */
#ifndef GUARDFS_NS_FAULT_H
#define GUARDFS_NS_FAULT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/ns.h"

enum ns_fault_kind {
	NS_FAULT_BIT_FLIP,
	NS_FAULT_MISDIRECT,
	NS_FAULT_TORN,
	NS_FAULT_LOST,
	NS_FAULT_IO_ERROR,
};

#define NS_FAULT_OP(op) (1u << (op))
#define NS_FAULT_MAX	16

struct ns_fault {
	enum ns_fault_kind kind;
	unsigned ops;	    /* NS_FAULT_OP() bits; 0 = every op the kind applies to */
	uint64_t lba_first; /* match commands overlapping [lba_first, lba_last]; both 0 = any */
	uint64_t lba_last;
	uint64_t nth;	     /* fire on the nth matching command (1-based; 0 means 1) */
	bool every;	     /* fire on every nth matching command, not only once */
	enum pi_field field; /* BIT_FLIP: PI_FIELD_DATA, _GUARD, _APP or _REF */
	int64_t block;	     /* BIT_FLIP: block index in the command; -1 = seeded random */
	int64_t target_lba;  /* MISDIRECT: where the write lands; -1 = seeded random */
	int64_t torn_blocks; /* TORN: blocks that reach the file; -1 = seeded random < nlb */
};

/* What a fault did, for tests to check against. */
struct ns_fault_event {
	int id; /* as returned by ns_fault_add */
	enum ns_fault_kind kind;
	enum ns_op op;
	uint64_t slba; /* the command */
	uint32_t nlb;
	uint64_t lba;		 /* BIT_FLIP: damaged block; MISDIRECT: where it landed */
	enum pi_field field;	 /* BIT_FLIP */
	uint32_t bit;		 /* BIT_FLIP: bit index inside the field */
	uint32_t blocks_written; /* TORN: the prefix that reached the file */
};

/* Add a fault; returns its id (>= 0) or -EINVAL, -ENOSPC, -EOPNOTSUPP (not a file backend). */
int ns_fault_add(struct ns *ns, const struct ns_fault *fault);
/* Remove every fault and forget events; counters of matched commands restart. */
void ns_fault_clear(struct ns *ns);
void ns_fault_set_seed(struct ns *ns, uint64_t seed);
/* How often fault id fired. */
uint64_t ns_fault_fired(const struct ns *ns, int id);
/* The most recent event; -ENOENT when none fired since the last clear. */
int ns_fault_last_event(const struct ns *ns, struct ns_fault_event *out);

/* For ns_file.c. */
struct ns_cmd;

struct ns_fault_plan {
	bool io_error;
	bool lost;
	bool misdirect;
	bool torn;
	bool flip;
	uint64_t target_lba;
	uint32_t torn_blocks;
	int flip_id;
	enum pi_field flip_field;
	int64_t flip_block;
};

int ns_faults_create(struct ns *ns);
void ns_faults_destroy(struct ns *ns);
/* Decide what happens to cmd; false (fast, no lock) when nothing does. */
bool ns_fault_plan_cmd(struct ns *ns, enum ns_op op, const struct ns_cmd *cmd,
		       struct ns_fault_plan *plan);
/* Apply a planned bit flip to nlb blocks at slba in iov/md. */
void ns_fault_flip(struct ns *ns, const struct ns_fault_plan *plan, enum ns_op op, uint64_t slba,
		   const struct iovec *iov, int iovcnt, void *md, uint32_t nlb);

#endif /* GUARDFS_NS_FAULT_H */
