/* SPDX-License-Identifier: MIT */
/*
 * cache_internal.h - the cache and mapping structures shared by cache.c (budget, LRU, lookup)
 * and cache_range.c (range walks: find, invalidate, truncate). Nobody else includes this.
 */
#ifndef GUARDFS_CACHE_INTERNAL_H
#define GUARDFS_CACHE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/cache.h"
#include "core/cache_index.h"

struct cache {
	struct cache_options opts; /* defaults filled in */
	unsigned folio_shift;
	struct cache_wb_ops wb_ops; /* set before the cache is shared */
	void *wb_arg;

	atomic_uint_fast64_t bytes_used; /* charged folio data; <= opts.budget_bytes */
	atomic_uint_fast64_t peak_bytes;
	atomic_uint_fast64_t dirty_bytes;
	atomic_uint_fast64_t hits, misses, evictions, budget_waits, throttles;
	atomic_uint nr_mappings;

	/* Lock order: folio lock -> mapping->lock -> lru_lock. */
	pthread_mutex_t lru_lock;
	struct folio *lru_head, *lru_tail; /* head: most recently added */
	uint64_t nr_lru;

	/* Budget and dirty waiters (a leaf lock); see cache_wake(). */
	pthread_mutex_t event_lock;
	pthread_cond_t event_cond;
	atomic_uint event_waiters;
	atomic_uint_fast64_t event_seq;
};

struct cache_mapping {
	struct cache *cache;
	uint64_t ino;
	void *owner;
	/* The index; taken after a folio lock, before the LRU lock. */
	pthread_rwlock_t lock;
	struct cache_index index;
	atomic_uint_fast64_t nr_dirty;	 /* dirty folios */
	atomic_uint_fast64_t dirtied_ns; /* when nr_dirty last left zero */
};

void cache_wake(struct cache *cache);
/* Under cache->lru_lock. */
void cache_lru_del(struct cache *cache, struct folio *folio);

#endif /* GUARDFS_CACHE_INTERNAL_H */
