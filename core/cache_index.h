/* SPDX-License-Identifier: MIT */
/*
 * cache_index.h - the per-file index of cached folios: a radix tree keyed by folio index.
 *
 * 64 slots per node, grown in height on demand, so a lookup costs one node per 6 bits of the
 * largest index and range walks (truncate, invalidate, dirty folio lookup) visit folios in
 * index order without probing absent ones. Not thread-safe: cache.c holds the mapping lock.
 */
#ifndef GUARDFS_CACHE_INDEX_H
#define GUARDFS_CACHE_INDEX_H

#include <stdint.h>

struct cache_index_node;

struct cache_index {
	struct cache_index_node *root; /* NULL when empty */
	uint64_t nr_items;
};

static inline void cache_index_init(struct cache_index *idx)
{
	idx->root = 0;
	idx->nr_items = 0;
}

void *cache_index_lookup(const struct cache_index *idx, uint64_t key);
/* Stores item (non-NULL) at an absent key. Returns 0, -EEXIST or -ENOMEM. */
int cache_index_insert(struct cache_index *idx, uint64_t key, void *item);
/* Removes and returns the item at key, or NULL. */
void *cache_index_erase(struct cache_index *idx, uint64_t key);
/* The first item with key in [*key, last]; sets *key to its key. NULL when there is none. */
void *cache_index_find(const struct cache_index *idx, uint64_t *key, uint64_t last);
/* Frees every node; the items are the caller's. */
void cache_index_destroy(struct cache_index *idx);

#endif /* GUARDFS_CACHE_INDEX_H */
