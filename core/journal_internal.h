/* SPDX-License-Identifier: MIT */
/*
 * journal_internal.h - what journal.c (append, group commit), journal_ckpt.c (checkpoints)
 * and journal_replay.c (recovery) share. Not for use outside core/journal*.
 */
#ifndef GUARDFS_JOURNAL_INTERNAL_H
#define GUARDFS_JOURNAL_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/journal.h"
#include "core/journal_fmt.h"
#include "core/mdblock.h"
#include "core/sb.h"

/* What is known of one checkpoint area. */
struct jckpt_area {
	bool valid; /* holds a complete checkpoint that may be needed */
	uint64_t seq;
	uint64_t log_lbn;
	uint64_t next_seq;
};

struct journal {
	struct ns *ns;
	struct mdio io;
	struct jlog_geo log;
	uint64_t ckpt_start[2];
	uint64_t ckpt_blocks;
	uint32_t block_size;

	/*
	 * Lock order: ckpt_lock, then lock. No I/O is issued under lock; ckpt_lock is held
	 * across a whole checkpoint and only serialises checkpoints.
	 */
	pthread_mutex_t ckpt_lock;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* durable_seq advanced or a commit ended */

	/* The open batch: encoded records not yet handed to a log write. */
	uint8_t *open_buf;
	size_t open_len, open_cap;
	uint64_t open_first_seq;
	uint32_t open_count;

	uint64_t next_seq;    /* sequence number of the next append */
	uint64_t durable_seq; /* every record below it is durable */
	uint64_t next_lbn;    /* first log block not yet given to a batch */
	uint64_t tail_lbn;    /* oldest log block a valid checkpoint may still need */
	bool committing;      /* a thread is writing a batch */
	int error;	      /* sticky: a log write failed, the journal is read-only */

	struct jckpt_area area[2];
	unsigned newest;       /* area of the newest valid checkpoint */
	uint64_t max_ckpt_seq; /* highest checkpoint sequence seen on disk or written */

	struct journal_stats stats;
};

/* Allocate and set up geometry from the superblock; no I/O. */
int journal_alloc(struct ns *ns, const struct sb *sb, struct journal **out);
void journal_free(struct journal *j);

/* "A" or "B". */
static inline char jckpt_name(unsigned area)
{
	return area ? 'B' : 'A';
}

/* Read and decode the header of an area; on failure why says what is wrong. */
int jckpt_read_header(struct journal *j, unsigned area, struct jckpt_hdr *h, char *why, size_t len);

/*
 * Read the stream of a checkpoint and check every block; fn (NULL: check only) sees each
 * record. On failure why names the block and LBA.
 */
int jckpt_read_stream(struct journal *j, unsigned area, const struct jckpt_hdr *h,
		      journal_replay_fn fn, void *arg, char *why, size_t len);

/* Write a complete, empty checkpoint (mkfs). */
int jckpt_write_empty(struct journal *j, unsigned area, uint64_t seq);

#endif /* GUARDFS_JOURNAL_INTERNAL_H */
