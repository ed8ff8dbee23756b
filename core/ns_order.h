/* SPDX-License-Identifier: MIT */
/*
 * ns_order.h - keeping each block's data and metadata together across commands in flight, for
 * a backend whose data and metadata travel separately (the file backend).
 *
 * A controller writes a block's data and its metadata as one: a read or a write that overlaps a
 * write sees all of one command or all of the other. The file backend moves a block's data with
 * one SQE and its metadata with a pwrite, a second SQE or a copy from a mapping, so two commands
 * in flight over the same LBA could interleave them: one write's data with another's metadata
 * (a block that fails its PI check for ever after) or a read with new data and old metadata (a
 * PI error where nothing is wrong). An ns_order makes a command that overlaps an earlier one
 * still in flight, where either of the two writes, wait until that one completed; commands on
 * other LBAs, and reads among themselves, start at once. Waiting commands start in submission
 * order.
 *
 * Lock order: the ns_order's lock is a leaf lock; it is never held across I/O, a system call
 * or the ring lock.
 */
#ifndef GUARDFS_NS_ORDER_H
#define GUARDFS_NS_ORDER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct ns_cmd;

/* A command's place in an ns_order; embedded in struct ns_cmd, owned by the ns_order. */
struct ns_order_link {
	struct ns_cmd *prev, *next; /* submission order of the commands in flight or waiting */
	struct ns_cmd *ready;	    /* ns_order_exit's result chain */
	uint64_t start, end;	    /* LBA range [start, end) */
	bool writes;
	bool linked;  /* in the order */
	bool waiting; /* entered, not started yet */
	bool held;    /* entered, not released: its submitter may still start it */
};

struct ns_order {
	pthread_mutex_t lock;
	struct ns_cmd *head, *tail;
};

void ns_order_init(struct ns_order *o);
void ns_order_destroy(struct ns_order *o);

/*
 * Take cmd (LBAs [start, end), writing them or not) into the order, held by its submitter.
 * True: start it now; false: it waits behind an overlapping command. A submitter enters a batch
 * of commands, starts those it may, then releases the batch if any of them waits: until then
 * no other thread starts a command of the batch, so the submitter may still look at all of
 * them (none of them can complete and free the others).
 */
bool ns_order_enter(struct ns_order *o, struct ns_cmd *cmd, uint64_t start, uint64_t end,
		    bool writes);

/*
 * Let go of a batch that ns_order_enter held (commands never entered are ignored). Returns the
 * waiting ones that may start now, chained through their link's ready, for the caller to start;
 * after this call it must not touch the other commands of the batch.
 */
struct ns_cmd *ns_order_release(struct ns_order *o, struct ns_cmd **cmds, unsigned count);

/*
 * cmd completed (a command never entered is ignored): take it out. Returns the waiting
 * commands that may start now (held ones excepted), in submission order, chained through
 * their link's ready.
 */
struct ns_cmd *ns_order_exit(struct ns_order *o, struct ns_cmd *cmd);

#endif /* GUARDFS_NS_ORDER_H */
