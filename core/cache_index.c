/* SPDX-License-Identifier: MIT */
/*
 * cache_index.c - a radix tree of folios keyed by folio index (a much reduced xarray).
 *
 * Invariants: every node's count is the number of its non-NULL slots; no node but the root
 * is ever empty after an erase; a leaf has shift 0 and its slots hold the items; the root
 * covers keys [0, 64^height). A failed insert (-ENOMEM) unlinks what it added, leaving the
 * tree as it was.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/cache_index.h"

#define NODE_SHIFT 6
#define NODE_SLOTS (1u << NODE_SHIFT)
#define MAX_DEPTH  11 /* 11 * 6 >= 64 */

struct cache_index_node {
	unsigned shift; /* bits of the key below this node's slot index */
	unsigned count;
	void *slots[NODE_SLOTS];
};

/* The largest key a node with this shift covers when it is the root. */
static uint64_t span_max(unsigned shift)
{
	return shift + NODE_SHIFT >= 64 ? UINT64_MAX : (1ull << (shift + NODE_SHIFT)) - 1;
}

static unsigned slot_of(uint64_t key, unsigned shift)
{
	return (key >> shift) & (NODE_SLOTS - 1);
}

void *cache_index_lookup(const struct cache_index *idx, uint64_t key)
{
	struct cache_index_node *node = idx->root;

	if (!node || key > span_max(node->shift))
		return NULL;
	for (;;) {
		void *p = node->slots[slot_of(key, node->shift)];

		if (!p || node->shift == 0)
			return p;
		node = p;
	}
}

static unsigned shift_for(uint64_t key)
{
	unsigned shift = 0;

	while (key > span_max(shift))
		shift += NODE_SHIFT;
	return shift;
}

static struct cache_index_node *node_alloc(unsigned shift)
{
	struct cache_index_node *node = calloc(1, sizeof(*node));

	if (node)
		node->shift = shift;
	return node;
}

/* Undoes the roots a failed insert stacked (or created) above the old root. */
static void insert_unstack_roots(struct cache_index *idx, struct cache_index_node *old_root)
{
	while (idx->root && idx->root != old_root) {
		struct cache_index_node *node = idx->root;

		idx->root = node->shift > 0 ? node->slots[0] : NULL;
		free(node);
	}
}

int cache_index_insert(struct cache_index *idx, uint64_t key, void *item)
{
	struct cache_index_node *old_root = idx->root, *node;
	struct cache_index_node *added[MAX_DEPTH];
	unsigned saved_count[MAX_DEPTH], nr_added = 0, top = shift_for(key);

	if (cache_index_lookup(idx, key))
		return -EEXIST;
	if (!idx->root && !(idx->root = node_alloc(top)))
		return -ENOMEM;
	while (top > idx->root->shift) {
		node = node_alloc(idx->root->shift + NODE_SHIFT);
		if (!node)
			goto out_nomem;
		node->slots[0] = idx->root;
		node->count = 1;
		idx->root = node;
	}
	node = idx->root;
	while (node->shift > 0) {
		unsigned slot = slot_of(key, node->shift);

		if (!node->slots[slot]) {
			node->slots[slot] = node_alloc(node->shift - NODE_SHIFT);
			if (!node->slots[slot])
				goto out_nomem;
			saved_count[nr_added] = node->count;
			added[nr_added++] = node;
			node->count++;
		}
		node = node->slots[slot];
	}
	node->slots[slot_of(key, 0)] = item;
	node->count++;
	idx->nr_items++;
	return 0;

out_nomem:
	/* Each parent got one new child at the key's slot; restore its count after freeing. */
	for (unsigned i = nr_added; i-- > 0;) {
		unsigned slot = slot_of(key, added[i]->shift);

		free(added[i]->slots[slot]);
		added[i]->slots[slot] = NULL;
		added[i]->count = saved_count[i];
	}
	insert_unstack_roots(idx, old_root);
	return -ENOMEM;
}

void *cache_index_erase(struct cache_index *idx, uint64_t key)
{
	struct cache_index_node *path[MAX_DEPTH + 1], *node = idx->root;
	unsigned depth = 0;
	void *item;

	if (!node || key > span_max(node->shift))
		return NULL;
	for (;;) {
		path[depth++] = node;
		if (node->shift == 0)
			break;
		node = node->slots[slot_of(key, node->shift)];
		if (!node)
			return NULL;
	}
	item = node->slots[slot_of(key, 0)];
	if (!item)
		return NULL;
	node->slots[slot_of(key, 0)] = NULL;
	node->count--;
	idx->nr_items--;
	/* Free the nodes this emptied, bottom up. */
	while (depth > 0 && path[depth - 1]->count == 0) {
		node = path[--depth];
		free(node);
		if (depth == 0) {
			idx->root = NULL;
			return item;
		}
		path[depth - 1]->slots[slot_of(key, path[depth - 1]->shift)] = NULL;
		path[depth - 1]->count--;
	}
	/* Shrink the height while the root only leads to slot 0. */
	while (idx->root->shift > 0 && idx->root->count == 1 && idx->root->slots[0]) {
		node = idx->root;
		idx->root = node->slots[0];
		free(node);
	}
	return item;
}

static void *node_find(const struct cache_index_node *node, uint64_t *key, uint64_t last)
{
	uint64_t start = *key;
	uint64_t base = node->shift + NODE_SHIFT >= 64 ? 0 : start & ~span_max(node->shift);
	unsigned nr_slots = node->shift + NODE_SHIFT > 64 ? 1u << (64 - node->shift) : NODE_SLOTS;

	for (unsigned slot = slot_of(start, node->shift); slot < nr_slots; slot++) {
		uint64_t child_base = base | ((uint64_t)slot << node->shift);
		uint64_t child_start = child_base > start ? child_base : start;
		void *p = node->slots[slot];

		if (child_base > last)
			return NULL;
		if (!p)
			continue;
		if (node->shift == 0) {
			*key = child_base;
			return p;
		}
		p = node_find(p, &child_start, last);
		if (p) {
			*key = child_start;
			return p;
		}
	}
	return NULL;
}

void *cache_index_find(const struct cache_index *idx, uint64_t *key, uint64_t last)
{
	if (!idx->root || *key > last || *key > span_max(idx->root->shift))
		return NULL;
	return node_find(idx->root, key, last);
}

static void node_free(struct cache_index_node *node)
{
	if (node->shift > 0)
		for (unsigned slot = 0; slot < NODE_SLOTS; slot++)
			if (node->slots[slot])
				node_free(node->slots[slot]);
	free(node);
}

void cache_index_destroy(struct cache_index *idx)
{
	if (idx->root)
		node_free(idx->root);
	cache_index_init(idx);
}
