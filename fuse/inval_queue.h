/* SPDX-License-Identifier: MIT */
/*
 * inval_queue.h - the notifier's queue of kernel page cache ranges (inval.c): FIFO, and taken
 * a run at a time. The caller holds the notifier's lock around every call.
 *
 * Taking a run unqueues the head and folds into it the items right behind it that name the same
 * inode, as one range covering them all with the last one's sequence number. Dropping more of
 * the kernel's cache than asked is always safe; what it saves is a notification per item, which
 * for direct writes at queue depth (two ranges each: before and after the write) was most of
 * the notifier's load. Items of other inodes in between end a run, so sequence numbers still
 * reach the kernel in order.
 */
#ifndef GUARDFS_FUSE_INVAL_QUEUE_H
#define GUARDFS_FUSE_INVAL_QUEUE_H

#include <stdint.h>
#include <stdlib.h>

struct inval_item {
	struct inval_item *next;
	uint64_t ino, off, len, seq; /* len running past 2^64: to the end of the file */
};

struct inval_queue {
	struct inval_item *head, **tail;
};

static inline void inval_queue_init(struct inval_queue *q)
{
	q->head = NULL;
	q->tail = &q->head;
}

static inline void inval_queue_push(struct inval_queue *q, struct inval_item *it)
{
	it->next = NULL;
	*q->tail = it;
	q->tail = &it->next;
}

/* One past the last byte, saturated at 2^64 - 1 (the end of any file). */
static inline uint64_t inval_item_end(const struct inval_item *it)
{
	return it->len > UINT64_MAX - it->off ? UINT64_MAX : it->off + it->len;
}

/* The head with the same-inode items behind it folded in (they are freed), or NULL. */
static inline struct inval_item *inval_queue_take_run(struct inval_queue *q)
{
	struct inval_item *it = q->head, *next;

	if (!it)
		return NULL;
	while ((next = it->next) && next->ino == it->ino) {
		uint64_t end = inval_item_end(it), next_end = inval_item_end(next);

		if (next_end > end)
			end = next_end;
		if (next->off < it->off)
			it->off = next->off;
		it->len = end - it->off;
		it->seq = next->seq;
		it->next = next->next;
		free(next);
	}
	q->head = it->next;
	if (!q->head)
		q->tail = &q->head;
	it->next = NULL;
	return it;
}

#endif /* GUARDFS_FUSE_INVAL_QUEUE_H */
