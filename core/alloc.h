/* SPDX-License-Identifier: MIT */
/*
 * alloc.h - free-space allocator over a range of filesystem blocks, kept in memory.
 *
 * Free space is a set of maximal extents (never two adjacent: frees merge with neighbours),
 * indexed twice: by start block, and by (length, start) with each node also knowing the
 * largest start block in its subtree. Every operation is O(log n) in the number of free
 * extents (n), with no limit on n other than memory.
 *
 * Allocation policy, alloc_alloc(goal, want, min_len):
 *   1. contiguity: the free extent containing @goal has room for @want blocks from @goal:
 *      take them at @goal (extending a file in place, as ext4's goal and XFS's "exact" do);
 *   2. locality: the smallest free extent of at least @want blocks starting at or after
 *      @goal, taken from its start;
 *   3. best fit anywhere: the smallest free extent of at least @want blocks;
 *   4. nothing is that large: the whole largest free extent, if it has at least @min_len
 *      blocks, so that callers can allocate a large request in pieces;
 *   otherwise -ENOSPC.
 *
 * Deferred frees: space released by a metadata change must not be handed out again before
 * the log record that released it is durable (DESIGN.md 4.3), or a crash could leave the
 * old owner's on-disk metadata pointing at someone else's new data. alloc_free_deferred()
 * parks the range, tagged with the record's log sequence number, and alloc_commit_frees()
 * releases every parked range whose sequence number is durable. Parked space is neither
 * free nor allocatable.
 *
 * Building state: alloc_init() starts all-used or all-free; mount and log replay then call
 * alloc_free() / alloc_mark_used() per record. A checkpoint writer walks the free extents in
 * block order with alloc_iterate_free().
 *
 * Memory: sizeof(struct alloc_extent) = 72 bytes per free extent or parked range on LP64
 * (two rb_nodes, start, length, one augmented/sequence word), plus the malloc header.
 * Not thread-safe: the owner serialises access.
 */
#ifndef GUARDFS_ALLOC_H
#define GUARDFS_ALLOC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/rbtree.h"

/*
 * One free extent (in by_off and by_size) or one parked deferred free (in pending_off and,
 * through by_size, pending_seq). Private to alloc.c; public only so its size is visible.
 */
struct alloc_extent {
	struct rb_node by_off;
	struct rb_node by_size; /* for a parked range: its node in pending_seq */
	uint64_t start;
	uint64_t len;
	union {
		uint64_t subtree_max_start; /* free: largest start in this by_size subtree */
		uint64_t seq;		    /* parked: log sequence number of the freeing record */
	};
};

/* Fields are private: read them through the accessors below. */
struct alloc {
	uint64_t first;	  /* first block managed */
	uint64_t nblocks; /* blocks managed: [first, first + nblocks) */
	struct rb_root by_off;
	struct rb_root by_size;
	struct rb_root pending_off;
	struct rb_root pending_seq;
	uint64_t free_blocks;
	uint64_t free_extents;
	uint64_t pending_blocks;
	uint64_t pending_extents;
};

struct alloc_range {
	uint64_t start;
	uint64_t len;
};

enum alloc_init_state {
	ALLOC_INIT_USED, /* nothing free: replay frees what is free */
	ALLOC_INIT_FREE, /* everything free: replay marks what is used */
};

/* -EINVAL when the range is empty or wraps around; -ENOMEM. */
int alloc_init(struct alloc *a, uint64_t first, uint64_t nblocks, enum alloc_init_state state);
void alloc_destroy(struct alloc *a);

/*
 * Allocate between @min_len and @want contiguous blocks following the policy above; the
 * result is in *@out. -EINVAL when @min_len is 0 or above @want; -ENOSPC when no free
 * extent has @min_len blocks; -ENOMEM.
 */
int alloc_alloc(struct alloc *a, uint64_t goal, uint64_t want, uint64_t min_len,
		struct alloc_range *out);

/* Return blocks to free space now, merging with free neighbours. -EINVAL when out of range
 * or when any block is already free or parked (a double free; logged). -ENOMEM. */
int alloc_free(struct alloc *a, uint64_t start, uint64_t len);

/* Park blocks until alloc_commit_frees(@seq or later). Same checks as alloc_free(). */
int alloc_free_deferred(struct alloc *a, uint64_t start, uint64_t len, uint64_t seq);

/* Release every parked range with seq <= @durable_seq; returns the number of blocks. */
uint64_t alloc_commit_frees(struct alloc *a, uint64_t durable_seq);

/* Take specific free blocks (mount, replay, mkfs). -EINVAL unless all are free. -ENOMEM. */
int alloc_mark_used(struct alloc *a, uint64_t start, uint64_t len);

/* True when every block of the range is free (parked blocks are not free). */
bool alloc_is_free(const struct alloc *a, uint64_t start, uint64_t len);

uint64_t alloc_free_blocks(const struct alloc *a);
uint64_t alloc_free_extents(const struct alloc *a);
uint64_t alloc_pending_blocks(const struct alloc *a);
uint64_t alloc_pending_extents(const struct alloc *a);
/* Length of the largest free extent (0 when full). */
uint64_t alloc_largest_free(const struct alloc *a);

/*
 * Call @fn for each free extent ending after @from, in block order (a checkpoint writer
 * passes the first block). A non-zero return from @fn stops the walk and is returned.
 */
typedef int (*alloc_extent_fn)(uint64_t start, uint64_t len, void *arg);
int alloc_iterate_free(const struct alloc *a, uint64_t from, alloc_extent_fn fn, void *arg);

/* Call @fn for each parked range in block order, with its sequence number. */
typedef int (*alloc_pending_fn)(uint64_t start, uint64_t len, uint64_t seq, void *arg);
int alloc_iterate_pending(const struct alloc *a, alloc_pending_fn fn, void *arg);

/*
 * Validate the whole structure (O(n log n)): tree invariants, extents in range, sorted, not
 * overlapping, not adjacent (merged), both indexes hold the same extents, augmented values,
 * counts; parked ranges overlap nothing. Returns 0 or -EUCLEAN after one gfs_err() line.
 */
int alloc_check(const struct alloc *a);

#endif /* GUARDFS_ALLOC_H */
