/* SPDX-License-Identifier: MIT */
/*
 * extent.c - per-file extent map over an rbtree with implicit file positions.
 *
 * The tree holds extents in file order. A node stores the hole before its extent (gap)
 * rather than its file block, and the number of blocks its subtree spans (the sum of
 * gap + len below it, an rbtree augmentation kept by node_update). A descent adds up spans
 * to know where it is, so lookups stay O(log n), and moving every extent after a point --
 * collapse and insert range -- changes one gap. The same bookkeeping rule runs through every
 * mutation: a change to one node's gap or len moves everything after it, so each primitive
 * below pairs its change with the compensating one (removing an extent grows the next gap;
 * inserting one shrinks it; a split hands the tail over with gap 0).
 *
 * Every range operation has the same three phases, so that a failure changes nothing:
 *   1. read-only: append the pieces the range will replace to the caller's vector (may fail
 *      with -ENOMEM; the vector is cut back);
 *   2. reserve the nodes the change may need (at most two new ones before any node is
 *      released: one per range boundary that splits an extent);
 *   3. mutate, which cannot fail: split the extents straddling the range boundaries, drop
 *      or change the extents inside, insert the new one, merge at the edges.
 * This is what XFS does with its incore extent tree (xfs_bmap_add_extent_*,
 * xfs_bmap_del_extent_real), with the shifts of xfs_bmap_collapse_extents made O(log n).
 */
#include "core/extent.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "core/bug.h"
#include "core/log.h"

#define node_entry(ptr) rb_entry(ptr, struct extent_node, rb)

/* Nodes reserved before a mutation, and nodes it released, to be reused. */
#define EXTENT_POOL_MAX 4
struct extent_pool {
	struct extent_node *node[EXTENT_POOL_MAX];
	int nr;
};

/* An extent and its file block, as found by a descent or a walk. */
struct extent_cur {
	struct extent_node *n; /* NULL past the last extent */
	uint64_t start;
};

static inline bool state_has_dblk(uint32_t state)
{
	return state == EXTENT_MAPPED || state == EXTENT_UNWRITTEN;
}

static inline uint64_t span_of(const struct rb_node *rb)
{
	return rb ? node_entry(rb)->span : 0;
}

static inline uint64_t subtree_span(const struct extent_node *n)
{
	return n->gap + n->len + span_of(n->rb.rb_left) + span_of(n->rb.rb_right);
}

static void node_update(struct rb_node *rb)
{
	struct extent_node *n = node_entry(rb);

	n->span = subtree_span(n);
}

/* After changing @n's gap or len: recompute the spans from @n up to the root. */
static void node_propagate(struct extent_node *n)
{
	struct rb_node *rb;

	for (rb = &n->rb; rb; rb = rb_parent(rb))
		node_update(rb);
}

static inline uint64_t cur_end(const struct extent_cur *c)
{
	return c->start + c->n->len;
}

/* The extent with the largest file block <= @fblk (c.n NULL when there is none). */
static struct extent_cur cur_floor(const struct extent_map *m, uint64_t fblk)
{
	struct extent_cur c = {NULL, 0};
	struct rb_node *rb = m->root.rb_node;
	uint64_t base = 0, start;

	while (rb) {
		/* everything left of rb, then rb's own hole */
		start = base + span_of(rb->rb_left) + node_entry(rb)->gap;
		if (start <= fblk) {
			c.n = node_entry(rb);
			c.start = start;
			base = start + c.n->len;
			rb = rb->rb_right;
		} else {
			rb = rb->rb_left;
		}
	}
	return c;
}

static struct extent_cur cur_first(const struct extent_map *m)
{
	struct rb_node *rb = rb_first(&m->root);

	if (!rb)
		return (struct extent_cur){NULL, 0};
	return (struct extent_cur){node_entry(rb), node_entry(rb)->gap};
}

static void cur_next(struct extent_cur *c)
{
	struct rb_node *rb = rb_next(&c->n->rb);
	uint64_t end = cur_end(c);

	c->n = rb ? node_entry(rb) : NULL;
	c->start = c->n ? end + c->n->gap : end;
}

/* The first extent that ends after @fblk (covering it, or the next one). */
static struct extent_cur cur_first_after(const struct extent_map *m, uint64_t fblk)
{
	struct extent_cur c = cur_floor(m, fblk);

	if (!c.n)
		return cur_first(m);
	if (cur_end(&c) <= fblk)
		cur_next(&c);
	return c;
}

static struct extent_node *node_next(struct extent_node *n)
{
	return rb_entry_safe(rb_next(&n->rb), struct extent_node, rb);
}

static bool range_valid(uint64_t fblk, uint64_t len)
{
	return len && fblk < EXTENT_FBLK_END && len <= EXTENT_FBLK_END - fblk;
}

static void cur_to_mapping(const struct extent_cur *c, struct extent_mapping *out)
{
	*out = (struct extent_mapping){
		.fblk = c->start, .len = c->n->len, .dblk = c->n->dblk, .state = c->n->state};
}

void extent_vec_free(struct extent_vec *vec)
{
	free(vec->v);
	*vec = (struct extent_vec){0};
}

static int extent_vec_push(struct extent_vec *vec, const struct extent_mapping *map)
{
	struct extent_mapping *v;
	size_t cap;

	if (vec->nr == vec->cap) {
		cap = vec->cap ? vec->cap * 2 : 8;
		v = realloc(vec->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		vec->v = v;
		vec->cap = cap;
	}
	vec->v[vec->nr++] = *map;
	return 0;
}

/* Phase 1: append the non-hole pieces of [fblk, end), clipped; cut back on failure. */
static int extent_collect(const struct extent_map *m, uint64_t fblk, uint64_t end,
			  struct extent_vec *out)
{
	struct extent_cur c;
	struct extent_mapping piece;
	size_t nr_before;

	if (!out)
		return 0;
	nr_before = out->nr;
	for (c = cur_first_after(m, fblk); c.n && c.start < end; cur_next(&c)) {
		cur_to_mapping(&c, &piece);
		if (piece.fblk < fblk) {
			piece.len -= fblk - piece.fblk;
			if (state_has_dblk(piece.state))
				piece.dblk += fblk - piece.fblk;
			piece.fblk = fblk;
		}
		if (piece.fblk + piece.len > end)
			piece.len = end - piece.fblk;
		if (extent_vec_push(out, &piece)) {
			out->nr = nr_before;
			return -ENOMEM;
		}
	}
	return 0;
}

/* Phase 2: make sure @pool holds at least @nr nodes. */
static int pool_reserve(struct extent_pool *pool, int nr)
{
	GFS_BUG_ON(nr > EXTENT_POOL_MAX);
	while (pool->nr < nr) {
		pool->node[pool->nr] = malloc(sizeof(struct extent_node));
		if (!pool->node[pool->nr])
			return -ENOMEM;
		pool->nr++;
	}
	return 0;
}

static struct extent_node *pool_get(struct extent_pool *pool)
{
	GFS_BUG_ON(pool->nr == 0);
	return pool->node[--pool->nr];
}

static void pool_put(struct extent_pool *pool, struct extent_node *n)
{
	if (pool->nr < EXTENT_POOL_MAX)
		pool->node[pool->nr++] = n;
	else
		free(n);
}

static void pool_release(struct extent_pool *pool)
{
	while (pool->nr)
		free(pool->node[--pool->nr]);
}

static void map_account(struct extent_map *m, const struct extent_node *n, int sign)
{
	if (sign > 0) {
		m->nr_extents++;
		m->nr_blocks[n->state] += n->len;
	} else {
		m->nr_extents--;
		m->nr_blocks[n->state] -= n->len;
	}
}

/* Link @n right after @prev in file order (first when @prev is NULL); n->span is set here. */
static void node_link_after(struct extent_map *m, struct extent_node *prev, struct extent_node *n)
{
	rb_insert_next(&n->rb, prev ? &prev->rb : NULL, &m->root, node_update);
}

/* Unlink @n; its blocks become hole, so the next extent's gap grows by them. */
static void node_remove(struct extent_map *m, struct extent_node *n, struct extent_pool *pool)
{
	struct extent_node *next = node_next(n);

	map_account(m, n, -1);
	if (next)
		next->gap += n->gap + n->len;
	rb_erase_augmented(&n->rb, &m->root, node_update);
	if (next)
		node_propagate(next);
	pool_put(pool, n);
}

/* Put @n (len, state, dblk set) at @fblk, which lies in a hole at least n->len long. */
static void node_insert_in_hole(struct extent_map *m, uint64_t fblk, struct extent_node *n)
{
	struct extent_cur prev = cur_floor(m, fblk);
	uint64_t prev_end = prev.n ? cur_end(&prev) : 0;
	struct extent_node *next = prev.n ? node_next(prev.n) : cur_first(m).n;

	GFS_BUG_ON(prev_end > fblk);
	n->gap = fblk - prev_end;
	if (next) {
		GFS_BUG_ON(next->gap < n->gap + n->len);
		next->gap -= n->gap + n->len;
		node_propagate(next);
	}
	node_link_after(m, prev.n, n);
	map_account(m, n, 1);
}

/* Phase 3 helper: if an extent straddles @fblk, cut it in two there (uses one pool node). */
static void extent_split_at(struct extent_map *m, uint64_t fblk, struct extent_pool *pool)
{
	struct extent_cur c = cur_floor(m, fblk);
	struct extent_node *tail;
	uint64_t head_len;

	if (!c.n || c.start == fblk || cur_end(&c) <= fblk)
		return;
	head_len = fblk - c.start;
	tail = pool_get(pool);
	tail->gap = 0;
	tail->len = c.n->len - head_len;
	tail->state = c.n->state;
	tail->dblk = state_has_dblk(c.n->state) ? c.n->dblk + head_len : EXTENT_NO_DBLK;
	c.n->len = head_len; /* per-state block counts are unchanged: the tail has the rest */
	node_propagate(c.n);
	node_link_after(m, c.n, tail);
	m->nr_extents++;
}

/* Can @b follow @a inside one extent? */
static bool nodes_mergeable(const struct extent_node *a, const struct extent_node *b)
{
	if (b->gap || a->state != b->state)
		return false;
	return !state_has_dblk(a->state) || a->dblk + a->len == b->dblk;
}

/* Absorb @n's successors into @n while they are mergeable. */
static void extent_merge_next(struct extent_map *m, struct extent_node *n, struct extent_pool *pool)
{
	struct extent_node *next;

	while ((next = node_next(n)) && nodes_mergeable(n, next)) {
		/* n grows by exactly what next spanned (its gap is 0): later extents stay put */
		n->len += next->len;
		m->nr_extents--;
		rb_erase_augmented(&next->rb, &m->root, node_update);
		node_propagate(n);
		pool_put(pool, next);
	}
}

/* Merge every mergeable pair among the extents touching [fblk, end] and their neighbours. */
static void extent_merge_range(struct extent_map *m, uint64_t fblk, uint64_t end,
			       struct extent_pool *pool)
{
	struct extent_cur c = cur_floor(m, fblk ? fblk - 1 : 0);

	if (!c.n)
		c = cur_first(m);
	for (; c.n && c.start <= end; cur_next(&c))
		extent_merge_next(m, c.n, pool);
}

/* Phase 3 of punch: split at both ends and drop everything inside [fblk, end). */
static void extent_remove_range(struct extent_map *m, uint64_t fblk, uint64_t end,
				struct extent_pool *pool)
{
	struct extent_cur c;
	struct extent_node *n;

	extent_split_at(m, fblk, pool);
	if (end < EXTENT_FBLK_END)
		extent_split_at(m, end, pool);
	c = cur_first_after(m, fblk);
	while (c.n && c.start < end) {
		GFS_BUG_ON(c.start < fblk || cur_end(&c) > end);
		n = c.n;
		cur_next(&c); /* removing n leaves the next extent where it is */
		node_remove(m, n, pool);
	}
}

/*
 * Phases 1 to 3 for the changes that start by emptying [fblk, fblk + len) (set, punch,
 * collapse): collect what is there into @out (may be NULL), reserve the two boundary nodes in
 * @pool, then remove the range. On failure nothing has changed: @out is cut back and @pool is
 * empty.
 */
static int extent_clear_range(struct extent_map *m, uint64_t fblk, uint64_t len,
			      struct extent_vec *out, struct extent_pool *pool)
{
	size_t nr_before = out ? out->nr : 0;
	int ret;

	if (!range_valid(fblk, len))
		return -EINVAL;
	ret = extent_collect(m, fblk, fblk + len, out);
	if (ret)
		return ret;
	ret = pool_reserve(pool, 2);
	if (ret) {
		if (out)
			out->nr = nr_before;
		pool_release(pool);
		return ret;
	}
	extent_remove_range(m, fblk, fblk + len, pool);
	return 0;
}

void extent_map_init(struct extent_map *m)
{
	*m = (struct extent_map){.root = RB_ROOT};
}

static void extent_node_free(struct rb_node *node)
{
	free(node_entry(node));
}

void extent_map_destroy(struct extent_map *m)
{
	rb_destroy(&m->root, extent_node_free);
	extent_map_init(m);
}

int extent_lookup(const struct extent_map *m, uint64_t fblk, struct extent_mapping *out)
{
	struct extent_cur c;
	struct extent_node *next;
	uint64_t hole_start;

	if (fblk >= EXTENT_FBLK_END)
		return -EINVAL;
	c = cur_floor(m, fblk);
	if (c.n && cur_end(&c) > fblk) {
		cur_to_mapping(&c, out);
		return 0;
	}
	hole_start = c.n ? cur_end(&c) : 0;
	next = c.n ? node_next(c.n) : cur_first(m).n;
	*out = (struct extent_mapping){.fblk = hole_start,
				       .len = next ? next->gap : EXTENT_FBLK_END - hole_start,
				       .dblk = EXTENT_NO_DBLK,
				       .state = EXTENT_HOLE};
	return 0;
}

static int extent_set_check(uint64_t fblk, uint64_t len, enum extent_state state, uint64_t dblk)
{
	if (!range_valid(fblk, len))
		return -EINVAL;
	if (state == EXTENT_DELALLOC)
		return 0;
	if (!state_has_dblk(state) || dblk == EXTENT_NO_DBLK || dblk > UINT64_MAX - len)
		return -EINVAL;
	return 0;
}

int extent_set(struct extent_map *m, uint64_t fblk, uint64_t len, enum extent_state state,
	       uint64_t dblk, struct extent_vec *replaced)
{
	struct extent_pool pool = {.nr = 0};
	struct extent_node *n;
	int ret;

	ret = extent_set_check(fblk, len, state, dblk);
	if (ret)
		return ret;
	ret = extent_clear_range(m, fblk, len, replaced, &pool);
	if (ret)
		return ret;
	/* the new extent reuses a node: one of the two reserved, or one the removal gave back */
	n = pool_get(&pool);
	n->len = len;
	n->state = state;
	n->dblk = state == EXTENT_DELALLOC ? EXTENT_NO_DBLK : dblk;
	node_insert_in_hole(m, fblk, n);
	extent_merge_range(m, fblk, fblk + len, &pool);
	m->cookie++;
	pool_release(&pool);
	return 0;
}

int extent_append(struct extent_map *m, uint64_t fblk, uint64_t len, enum extent_state state,
		  uint64_t dblk)
{
	uint64_t map_end = span_of(m->root.rb_node); /* end of the last extent */
	struct rb_node *last_rb = rb_last(&m->root);
	struct extent_node *last = last_rb ? node_entry(last_rb) : NULL, *n;
	int ret = extent_set_check(fblk, len, state, dblk);

	if (ret)
		return ret;
	if (fblk < map_end)
		return -EINVAL;
	if (state == EXTENT_DELALLOC)
		dblk = EXTENT_NO_DBLK;
	if (last && fblk == map_end && last->state == state &&
	    (!state_has_dblk(state) || last->dblk + last->len == dblk)) {
		last->len += len;
		m->nr_blocks[state] += len;
		node_propagate(last);
	} else {
		n = malloc(sizeof(*n));
		if (!n)
			return -ENOMEM;
		*n = (struct extent_node){
			.gap = fblk - map_end, .len = len, .dblk = dblk, .state = state};
		node_link_after(m, last, n);
		map_account(m, n, 1);
	}
	m->cookie++;
	return 0;
}

int extent_punch(struct extent_map *m, uint64_t fblk, uint64_t len, struct extent_vec *freed)
{
	struct extent_pool pool = {.nr = 0};
	int ret;

	ret = extent_clear_range(m, fblk, len, freed, &pool);
	if (ret)
		return ret;
	m->cookie++;
	pool_release(&pool);
	return 0;
}

int extent_truncate(struct extent_map *m, uint64_t fblk, struct extent_vec *freed)
{
	if (fblk > EXTENT_FBLK_END)
		return -EINVAL;
	if (fblk == EXTENT_FBLK_END) {
		m->cookie++;
		return 0;
	}
	return extent_punch(m, fblk, EXTENT_FBLK_END - fblk, freed);
}

/* Split @fblk's extent only when it is unwritten: other states keep their extent whole. */
static void extent_split_unwritten_at(struct extent_map *m, uint64_t fblk, struct extent_pool *pool)
{
	struct extent_cur c = cur_floor(m, fblk);

	if (c.n && c.n->state == EXTENT_UNWRITTEN)
		extent_split_at(m, fblk, pool);
}

int extent_convert_unwritten(struct extent_map *m, uint64_t fblk, uint64_t len)
{
	struct extent_pool pool = {.nr = 0};
	struct extent_cur c;
	uint64_t end = fblk + len;
	int ret;

	if (!range_valid(fblk, len))
		return -EINVAL;
	ret = pool_reserve(&pool, 2);
	if (ret)
		goto out;
	extent_split_unwritten_at(m, fblk, &pool);
	if (end < EXTENT_FBLK_END)
		extent_split_unwritten_at(m, end, &pool);
	for (c = cur_first_after(m, fblk); c.n && c.start < end; cur_next(&c)) {
		if (c.n->state != EXTENT_UNWRITTEN)
			continue;
		GFS_BUG_ON(c.start < fblk || cur_end(&c) > end);
		m->nr_blocks[EXTENT_UNWRITTEN] -= c.n->len;
		m->nr_blocks[EXTENT_MAPPED] += c.n->len;
		c.n->state = EXTENT_MAPPED;
	}
	extent_merge_range(m, fblk, end, &pool);
	m->cookie++;
out:
	pool_release(&pool);
	return ret;
}

int extent_collapse(struct extent_map *m, uint64_t fblk, uint64_t len, struct extent_vec *freed)
{
	struct extent_pool pool = {.nr = 0};
	struct extent_node *next;
	int ret;

	ret = extent_clear_range(m, fblk, len, freed, &pool);
	if (ret)
		return ret;
	/* The range is a hole now: shrinking the gap after it by len moves every later extent. */
	next = cur_first_after(m, fblk).n;
	if (next) {
		GFS_BUG_ON(next->gap < len);
		next->gap -= len;
		node_propagate(next);
	}
	/* The extents that met at fblk may now be contiguous. */
	extent_merge_range(m, fblk, fblk, &pool);
	m->cookie++;
	pool_release(&pool);
	return 0;
}

int extent_insert_range(struct extent_map *m, uint64_t fblk, uint64_t len)
{
	struct extent_pool pool = {.nr = 0};
	uint64_t map_end = span_of(m->root.rb_node); /* end of the last extent */
	struct extent_node *next;
	int ret;

	if (!range_valid(fblk, len))
		return -EINVAL;
	if (map_end > fblk && map_end > EXTENT_FBLK_END - len)
		return -EFBIG;
	ret = pool_reserve(&pool, 1);
	if (ret)
		goto out;
	extent_split_at(m, fblk, &pool);
	/* Growing the gap of the first extent at or after fblk moves it and all later ones. */
	next = cur_first_after(m, fblk).n;
	if (next) {
		next->gap += len;
		node_propagate(next);
	}
	m->cookie++;
out:
	pool_release(&pool);
	return ret;
}

uint64_t extent_count(const struct extent_map *m)
{
	return m->nr_extents;
}

uint64_t extent_blocks(const struct extent_map *m, enum extent_state state)
{
	return (unsigned)state < 4 ? m->nr_blocks[state] : 0;
}

uint64_t extent_map_cookie(const struct extent_map *m)
{
	return m->cookie;
}

int extent_iterate(const struct extent_map *m, uint64_t from, extent_fn fn, void *arg)
{
	struct extent_cur c;
	struct extent_mapping map;
	int ret;

	for (c = cur_first_after(m, from); c.n; cur_next(&c)) {
		cur_to_mapping(&c, &map);
		ret = fn(&map, arg);
		if (ret)
			return ret;
	}
	return 0;
}

#define check_fail(pos, n, fmt, ...)                                                               \
	do {                                                                                       \
		gfs_err("extent map: extent at %" PRIu64 " (+%" PRIu64 ", state %u): " fmt, pos,   \
			(n)->len, (n)->state, ##__VA_ARGS__);                                      \
		return -EUCLEAN;                                                                   \
	} while (0)

/* One node, found at file block @pos (where the previous extent ended) after @prev. */
static int extent_check_node(const struct extent_node *n, const struct extent_node *prev,
			     uint64_t pos)
{
	if (!n->len || n->gap > EXTENT_FBLK_END - pos || n->len > EXTENT_FBLK_END - pos - n->gap)
		check_fail(pos, n, "empty or past the end (hole before it %" PRIu64 ")", n->gap);
	if (n->state == EXTENT_DELALLOC) {
		if (n->dblk != EXTENT_NO_DBLK)
			check_fail(pos, n, "delalloc with device block %" PRIu64, n->dblk);
	} else if (!state_has_dblk(n->state)) {
		check_fail(pos, n, "invalid state");
	} else if (n->dblk == EXTENT_NO_DBLK || n->dblk > UINT64_MAX - n->len) {
		check_fail(pos, n, "device block %" PRIu64 " invalid", n->dblk);
	}
	if (prev && nodes_mergeable(prev, n))
		check_fail(pos, n, "not merged with its predecessor");
	if (n->span != subtree_span(n))
		check_fail(pos, n, "subtree span %" PRIu64 ", expected %" PRIu64, n->span,
			   subtree_span(n));
	return 0;
}

int extent_map_check(const struct extent_map *m)
{
	const struct extent_node *n, *prev = NULL;
	uint64_t blocks[4] = {0}, nr = 0, pos = 0;
	struct rb_node *node;
	int ret;

	/* Order is implicit (positions are sums), so the tree is checked without "less". */
	if (rb_check(&m->root, NULL, NULL))
		return -EUCLEAN;
	for (node = rb_first(&m->root); node; prev = n, node = rb_next(node)) {
		n = node_entry(node);
		ret = extent_check_node(n, prev, pos);
		if (ret)
			return ret;
		pos += n->gap + n->len;
		nr++;
		blocks[n->state] += n->len;
	}
	if (nr != m->nr_extents || blocks[EXTENT_HOLE] != m->nr_blocks[EXTENT_HOLE] ||
	    blocks[EXTENT_DELALLOC] != m->nr_blocks[EXTENT_DELALLOC] ||
	    blocks[EXTENT_MAPPED] != m->nr_blocks[EXTENT_MAPPED] ||
	    blocks[EXTENT_UNWRITTEN] != m->nr_blocks[EXTENT_UNWRITTEN]) {
		gfs_err("extent map: counts differ: %" PRIu64 " extents walked, %" PRIu64
			" recorded",
			nr, m->nr_extents);
		return -EUCLEAN;
	}
	return 0;
}
