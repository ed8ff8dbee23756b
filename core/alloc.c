/* SPDX-License-Identifier: MIT */
/*
 * alloc.c - free-space allocator: two indexes over maximal free extents, deferred frees.
 *
 * by_off orders free extents by start block; because they never overlap, shrinking or
 * growing one in place never changes its position there, so only by_size (ordered by
 * (length, start), augmented with the largest start in each subtree) is re-linked when an
 * extent changes. The augmentation answers "smallest extent of at least N blocks starting at
 * or after G" in one O(log n) descent (alloc_find_after), the locality step of the policy
 * described in alloc.h; XFS answers the same question with its by-size and by-block btrees
 * (xfs_alloc_ag_vextent_near), ext4 with its goal block.
 *
 * Parked (deferred) frees reuse struct alloc_extent: by_off links them into pending_off (to
 * catch double frees) and by_size into pending_seq, ordered by (seq, start). Releasing one
 * reuses its node as the free extent, so alloc_commit_frees() never needs memory.
 */
#include "core/alloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "core/bug.h"
#include "core/log.h"

#define off_entry(n)  rb_entry(n, struct alloc_extent, by_off)
#define size_entry(n) rb_entry(n, struct alloc_extent, by_size)

static inline uint64_t ext_end(const struct alloc_extent *e)
{
	return e->start + e->len;
}

static bool off_less(const struct rb_node *a, const struct rb_node *b)
{
	return off_entry(a)->start < off_entry(b)->start;
}

/* key: const uint64_t * block */
static int off_cmp(const void *key, const struct rb_node *node)
{
	uint64_t blk = *(const uint64_t *)key, start = off_entry(node)->start;

	return blk < start ? -1 : blk > start;
}

static bool size_less(const struct rb_node *a, const struct rb_node *b)
{
	const struct alloc_extent *x = size_entry(a), *y = size_entry(b);

	return x->len < y->len || (x->len == y->len && x->start < y->start);
}

/* key: const uint64_t * length; compares lengths only, so lower bound = first with len >= key */
static int size_cmp(const void *key, const struct rb_node *node)
{
	uint64_t len = *(const uint64_t *)key, nlen = size_entry(node)->len;

	return len < nlen ? -1 : len > nlen;
}

static bool seq_less(const struct rb_node *a, const struct rb_node *b)
{
	const struct alloc_extent *x = size_entry(a), *y = size_entry(b);

	return x->seq < y->seq || (x->seq == y->seq && x->start < y->start);
}

static uint64_t size_subtree_max(const struct alloc_extent *e)
{
	uint64_t max = e->start;
	const struct rb_node *n = &e->by_size;

	if (n->rb_left && size_entry(n->rb_left)->subtree_max_start > max)
		max = size_entry(n->rb_left)->subtree_max_start;
	if (n->rb_right && size_entry(n->rb_right)->subtree_max_start > max)
		max = size_entry(n->rb_right)->subtree_max_start;
	return max;
}

static void size_update(struct rb_node *node)
{
	struct alloc_extent *e = size_entry(node);

	e->subtree_max_start = size_subtree_max(e);
}

static void size_insert(struct alloc *a, struct alloc_extent *e)
{
	rb_add_augmented(&e->by_size, &a->by_size, size_less, size_update);
}

static void size_erase(struct alloc *a, struct alloc_extent *e)
{
	rb_erase_augmented(&e->by_size, &a->by_size, size_update);
}

static bool alloc_range_valid(const struct alloc *a, uint64_t start, uint64_t len)
{
	return len && start >= a->first && len <= a->nblocks &&
	       start - a->first <= a->nblocks - len;
}

/* The extent of @root (by_off or pending_off) with the largest start <= @blk. */
static struct alloc_extent *off_floor(const struct rb_root *root, uint64_t blk)
{
	return rb_entry_safe(rb_floor(&blk, root, off_cmp), struct alloc_extent, by_off);
}

static struct alloc_extent *off_ceil(const struct rb_root *root, uint64_t blk)
{
	return rb_entry_safe(rb_lower_bound(&blk, root, off_cmp), struct alloc_extent, by_off);
}

/* The extent of @root with the largest start <= a block, and the extent after it. */
struct alloc_neighbours {
	struct alloc_extent *prev;
	struct alloc_extent *next;
};

static struct alloc_neighbours off_neighbours(const struct rb_root *root, uint64_t blk)
{
	struct rb_node *node = rb_floor(&blk, root, off_cmp);
	struct alloc_neighbours nb = {node ? off_entry(node) : NULL, NULL};

	node = node ? rb_next(node) : rb_first(root);
	nb.next = node ? off_entry(node) : NULL;
	return nb;
}

static bool neighbours_overlap(const struct alloc_neighbours *nb, uint64_t start, uint64_t len)
{
	return (nb->prev && ext_end(nb->prev) > start) ||
	       (nb->next && nb->next->start < start + len);
}

/* Does any extent of @root overlap [start, start + len)? */
static bool off_overlaps(const struct rb_root *root, uint64_t start, uint64_t len)
{
	struct alloc_extent *prev = off_floor(root, start), *next;

	if (prev && ext_end(prev) > start)
		return true;
	next = off_ceil(root, start);
	return next && next->start < start + len;
}

int alloc_init(struct alloc *a, uint64_t first, uint64_t nblocks, enum alloc_init_state state)
{
	*a = (struct alloc){
		.first = first,
		.nblocks = nblocks,
		.by_off = RB_ROOT,
		.by_size = RB_ROOT,
		.pending_off = RB_ROOT,
		.pending_seq = RB_ROOT,
	};
	if (!nblocks || first > UINT64_MAX - nblocks)
		return -EINVAL;
	if (state == ALLOC_INIT_FREE)
		return alloc_free(a, first, nblocks);
	return 0;
}

static void alloc_free_node(struct rb_node *node)
{
	free(off_entry(node));
}

void alloc_destroy(struct alloc *a)
{
	rb_destroy(&a->by_off, alloc_free_node);
	rb_destroy(&a->pending_off, alloc_free_node);
	a->by_size = RB_ROOT;
	a->pending_seq = RB_ROOT;
	a->free_blocks = a->free_extents = a->pending_blocks = a->pending_extents = 0;
}

/*
 * Remove [start, start + len) from free extent @e, which contains it. Needs a new node only
 * when the range is strictly inside @e; that allocation happens before anything changes.
 */
static int alloc_carve(struct alloc *a, struct alloc_extent *e, uint64_t start, uint64_t len)
{
	uint64_t end = start + len, eend = ext_end(e);
	struct alloc_extent *tail;

	GFS_BUG_ON(start < e->start || end > eend || !len);
	if (start == e->start && end == eend) {
		size_erase(a, e);
		rb_erase(&e->by_off, &a->by_off);
		free(e);
		a->free_extents--;
	} else if (start == e->start || end == eend) {
		size_erase(a, e);
		if (start == e->start)
			e->start = end; /* by_off order holds: still below the next extent */
		e->len -= len;
		size_insert(a, e);
	} else {
		tail = malloc(sizeof(*tail));
		if (!tail)
			return -ENOMEM;
		tail->start = end;
		tail->len = eend - end;
		size_erase(a, e);
		e->len = start - e->start;
		size_insert(a, e);
		rb_insert_next(&tail->by_off, &e->by_off, &a->by_off, NULL);
		size_insert(a, tail);
		a->free_extents++;
	}
	a->free_blocks -= len;
	return 0;
}

/*
 * Leftmost extent (smallest (len, start)) in the by_size subtree @node with len >= @want and
 * start >= @goal. Once a node qualifies by length its right subtree does too, so there the
 * subtree maximum alone decides and the search cannot fail past the first check: the whole
 * descent is O(height).
 */
static struct alloc_extent *alloc_find_after(const struct rb_node *node, uint64_t want,
					     uint64_t goal)
{
	const struct alloc_extent *e, *found;

	while (node) {
		e = size_entry(node);
		if (e->subtree_max_start < goal)
			return NULL;
		if (e->len >= want) {
			found = alloc_find_after(node->rb_left, want, goal);
			if (found)
				return (struct alloc_extent *)found;
			if (e->start >= goal)
				return (struct alloc_extent *)e;
		}
		node = node->rb_right;
	}
	return NULL;
}

int alloc_alloc(struct alloc *a, uint64_t goal, uint64_t want, uint64_t min_len,
		struct alloc_range *out)
{
	struct alloc_extent *e;
	uint64_t start;
	int ret;

	if (!min_len || min_len > want)
		return -EINVAL;
	/* 1. contiguity: continue right at the goal */
	e = off_floor(&a->by_off, goal);
	if (e && goal < ext_end(e) && ext_end(e) - goal >= want) {
		start = goal;
		goto take;
	}
	/* 2. locality: smallest fit at or after the goal */
	e = alloc_find_after(a->by_size.rb_node, want, goal);
	/* 3. best fit anywhere */
	if (!e)
		e = rb_entry_safe(rb_lower_bound(&want, &a->by_size, size_cmp), struct alloc_extent,
				  by_size);
	if (e) {
		start = e->start;
		goto take;
	}
	/* 4. the largest piece */
	e = rb_entry_safe(rb_last(&a->by_size), struct alloc_extent, by_size);
	if (!e || e->len < min_len)
		return -ENOSPC;
	start = e->start;
	want = e->len;
take:
	ret = alloc_carve(a, e, start, want);
	if (ret)
		return ret;
	out->start = start;
	out->len = want;
	return 0;
}

/*
 * Make [start, start + len) free, reusing @spare (may be NULL) when no neighbour absorbs it.
 * The caller checked that the range is in bounds and overlaps nothing, and found its free
 * neighbours @nb.
 */
static int alloc_insert_free(struct alloc *a, const struct alloc_neighbours *nb, uint64_t start,
			     uint64_t len, struct alloc_extent *spare)
{
	struct alloc_extent *prev = nb->prev, *next = nb->next, *link_after = nb->prev;
	uint64_t end = start + len;

	if (prev && ext_end(prev) != start)
		prev = NULL;
	if (next && next->start != end)
		next = NULL;
	if (prev && next) {
		size_erase(a, next);
		rb_erase(&next->by_off, &a->by_off);
		size_erase(a, prev);
		prev->len += len + next->len;
		size_insert(a, prev);
		free(next);
		a->free_extents--;
	} else if (prev || next) {
		struct alloc_extent *e = prev ? prev : next;

		size_erase(a, e);
		e->start = prev ? e->start : start; /* by_off order holds: above prev's end */
		e->len += len;
		size_insert(a, e);
	} else {
		if (!spare) {
			spare = malloc(sizeof(*spare));
			if (!spare)
				return -ENOMEM;
		}
		spare->start = start;
		spare->len = len;
		rb_insert_next(&spare->by_off, link_after ? &link_after->by_off : NULL, &a->by_off,
			       NULL);
		size_insert(a, spare);
		a->free_extents++;
		spare = NULL;
	}
	free(spare);
	a->free_blocks += len;
	return 0;
}

static int alloc_check_freeable(const struct alloc *a, uint64_t start, uint64_t len,
				struct alloc_neighbours *nb)
{
	if (!alloc_range_valid(a, start, len)) {
		gfs_err("alloc: free of blocks [%" PRIu64 ", +%" PRIu64
			") outside the device range [%" PRIu64 ", +%" PRIu64 ")",
			start, len, a->first, a->nblocks);
		return -EINVAL;
	}
	*nb = off_neighbours(&a->by_off, start);
	if (neighbours_overlap(nb, start, len) ||
	    (a->pending_extents && off_overlaps(&a->pending_off, start, len))) {
		gfs_err("alloc: double free of blocks [%" PRIu64 ", +%" PRIu64 ")", start, len);
		return -EINVAL;
	}
	return 0;
}

int alloc_free(struct alloc *a, uint64_t start, uint64_t len)
{
	struct alloc_neighbours nb;
	int ret = alloc_check_freeable(a, start, len, &nb);

	return ret ? ret : alloc_insert_free(a, &nb, start, len, NULL);
}

int alloc_free_deferred(struct alloc *a, uint64_t start, uint64_t len, uint64_t seq)
{
	struct alloc_neighbours nb;
	struct alloc_extent *p;
	int ret = alloc_check_freeable(a, start, len, &nb);

	if (ret)
		return ret;
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->start = start;
	p->len = len;
	p->seq = seq;
	rb_add(&p->by_off, &a->pending_off, off_less);
	rb_add(&p->by_size, &a->pending_seq, seq_less);
	a->pending_blocks += len;
	a->pending_extents++;
	return 0;
}

uint64_t alloc_commit_frees(struct alloc *a, uint64_t durable_seq)
{
	struct alloc_neighbours nb;
	struct rb_node *node;
	struct alloc_extent *p;
	uint64_t released = 0, start, len;
	int ret;

	while ((node = rb_first(&a->pending_seq)) && size_entry(node)->seq <= durable_seq) {
		p = size_entry(node);
		rb_erase(&p->by_size, &a->pending_seq);
		rb_erase(&p->by_off, &a->pending_off);
		a->pending_blocks -= p->len;
		a->pending_extents--;
		start = p->start;
		len = p->len;
		/* With a spare node supplied, making space free cannot fail. */
		nb = off_neighbours(&a->by_off, start);
		ret = alloc_insert_free(a, &nb, start, len, p);
		GFS_BUG_ON(ret);
		released += len;
	}
	return released;
}

int alloc_mark_used(struct alloc *a, uint64_t start, uint64_t len)
{
	struct alloc_extent *e = off_floor(&a->by_off, start);

	if (!alloc_range_valid(a, start, len) || !e || ext_end(e) < start + len) {
		gfs_err("alloc: blocks [%" PRIu64 ", +%" PRIu64
			") are not free, cannot mark them used",
			start, len);
		return -EINVAL;
	}
	return alloc_carve(a, e, start, len);
}

bool alloc_is_free(const struct alloc *a, uint64_t start, uint64_t len)
{
	struct alloc_extent *e;

	if (!alloc_range_valid(a, start, len))
		return false;
	e = off_floor(&a->by_off, start);
	return e && ext_end(e) >= start + len;
}

uint64_t alloc_free_blocks(const struct alloc *a)
{
	return a->free_blocks;
}

uint64_t alloc_free_extents(const struct alloc *a)
{
	return a->free_extents;
}

uint64_t alloc_pending_blocks(const struct alloc *a)
{
	return a->pending_blocks;
}

uint64_t alloc_pending_extents(const struct alloc *a)
{
	return a->pending_extents;
}

uint64_t alloc_largest_free(const struct alloc *a)
{
	struct rb_node *node = rb_last(&a->by_size);

	return node ? size_entry(node)->len : 0;
}

int alloc_iterate_free(const struct alloc *a, uint64_t from, alloc_extent_fn fn, void *arg)
{
	struct alloc_extent *e = off_floor(&a->by_off, from);
	struct rb_node *node;
	int ret;

	if (e && ext_end(e) > from)
		node = &e->by_off;
	else
		node = rb_lower_bound(&from, &a->by_off, off_cmp);
	for (; node; node = rb_next(node)) {
		e = off_entry(node);
		ret = fn(e->start, e->len, arg);
		if (ret)
			return ret;
	}
	return 0;
}

int alloc_iterate_pending(const struct alloc *a, alloc_pending_fn fn, void *arg)
{
	struct rb_node *node;
	struct alloc_extent *p;
	int ret;

	for (node = rb_first(&a->pending_off); node; node = rb_next(node)) {
		p = off_entry(node);
		ret = fn(p->start, p->len, p->seq, arg);
		if (ret)
			return ret;
	}
	return 0;
}

#define check_fail(...)                                                                            \
	do {                                                                                       \
		gfs_err("alloc: " __VA_ARGS__);                                                    \
		return -EUCLEAN;                                                                   \
	} while (0)

/* Walk one by-offset index: in range, sorted, not overlapping (@merged: not even adjacent). */
static int alloc_check_offsets(const struct alloc *a, const struct rb_root *root, bool merged,
			       uint64_t *nr, uint64_t *blocks)
{
	const struct alloc_extent *e, *prev = NULL;
	struct rb_node *node;

	*nr = *blocks = 0;
	for (node = rb_first(root); node; prev = e, node = rb_next(node)) {
		e = off_entry(node);
		if (!alloc_range_valid(a, e->start, e->len))
			check_fail("extent [%" PRIu64 ", +%" PRIu64 ") out of range", e->start,
				   e->len);
		if (prev && (ext_end(prev) > e->start || (merged && ext_end(prev) == e->start)))
			check_fail("extent [%" PRIu64 ", +%" PRIu64
				   ") overlaps or touches its predecessor ending at %" PRIu64,
				   e->start, e->len, ext_end(prev));
		(*nr)++;
		*blocks += e->len;
	}
	return 0;
}

static int alloc_check_sizes(const struct alloc *a)
{
	const struct alloc_extent *e;
	struct rb_node *node;

	for (node = rb_first(&a->by_size); node; node = rb_next(node)) {
		e = size_entry(node);
		if (e->subtree_max_start != size_subtree_max(e))
			check_fail("extent [%" PRIu64 ", +%" PRIu64 ") has subtree maximum %" PRIu64
				   ", expected %" PRIu64,
				   e->start, e->len, e->subtree_max_start, size_subtree_max(e));
		if (off_floor(&a->by_off, e->start) != e)
			check_fail("extent [%" PRIu64 ", +%" PRIu64 ") is missing from by_off",
				   e->start, e->len);
	}
	return 0;
}

int alloc_check(const struct alloc *a)
{
	size_t nr_off, nr_size, nr_poff, nr_pseq;
	uint64_t nr, blocks, pnr, pblocks;
	struct rb_node *node;
	struct alloc_extent *p;

	if (rb_check(&a->by_off, off_less, &nr_off) || rb_check(&a->by_size, size_less, &nr_size) ||
	    rb_check(&a->pending_off, off_less, &nr_poff) ||
	    rb_check(&a->pending_seq, seq_less, &nr_pseq))
		return -EUCLEAN;
	if (alloc_check_offsets(a, &a->by_off, true, &nr, &blocks) ||
	    alloc_check_offsets(a, &a->pending_off, false, &pnr, &pblocks) || alloc_check_sizes(a))
		return -EUCLEAN;
	if (nr != nr_size || nr != a->free_extents || blocks != a->free_blocks)
		check_fail("free counts: %" PRIu64 " extents by offset, %zu by size, %" PRIu64
			   " recorded; %" PRIu64 " blocks, %" PRIu64 " recorded",
			   nr, nr_size, a->free_extents, blocks, a->free_blocks);
	if (pnr != nr_pseq || pnr != a->pending_extents || pblocks != a->pending_blocks)
		check_fail("parked counts: %" PRIu64 " ranges by offset, %zu by sequence, %" PRIu64
			   " recorded; %" PRIu64 " blocks, %" PRIu64 " recorded",
			   pnr, nr_pseq, a->pending_extents, pblocks, a->pending_blocks);
	for (node = rb_first(&a->pending_off); node; node = rb_next(node)) {
		p = off_entry(node);
		if (off_overlaps(&a->by_off, p->start, p->len))
			check_fail("parked range [%" PRIu64 ", +%" PRIu64 ") is also free",
				   p->start, p->len);
	}
	return 0;
}
