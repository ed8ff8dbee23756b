/* SPDX-License-Identifier: MIT */
/*
 * cache.h - the folio cache: a per-file index of folios, a global memory budget with LRU
 * eviction of clean folios, and dirty accounting with the thresholds writers consult.
 *
 * One struct cache per mounted filesystem, one struct cache_mapping per cached inode. The
 * index holds one reference on every folio in it; cache_get_folio() returns another.
 *
 * Budget: folio data bytes are reserved against budget_bytes before a folio buffer is
 * allocated, so the budget is never exceeded. Over budget, clean, unlocked folios nobody else
 * references are evicted least-recently-used (a hit sets a referenced bit and the LRU gives
 * such folios a second chance, so a hit takes no global lock); dirty folios and folios under
 * writeback are never on the LRU. If nothing is evictable, the writeback hook is asked to
 * write back and the allocation waits for folios to become clean or be freed, or returns
 * -EAGAIN with CACHE_GET_NOWAIT. Per-block state and index nodes are not charged.
 *
 * Dirty accounting counts whole folios (as the kernel's NR_FILE_DIRTY): above the background
 * threshold the writeback layer should write back in the background; above the limit,
 * cache_balance_dirty() throttles the writer until writeback brings it back under.
 *
 * Lock order (outermost first), followed everywhere:
 *	folio lock  ->  mapping->lock  ->  cache->lru_lock  ->  leaves (folio state spinlock,
 *	wait-queue and event mutexes)
 * A folio lock is never waited for while a mapping or LRU lock is held: lookups take a
 * reference under the mapping lock, drop it, then lock the folio (as filemap_get_folio does
 * after the i_pages lock). Eviction runs under the LRU lock and only trylocks a mapping lock.
 * The writeback hook is called with no cache lock held; mapping_dirtied is called with the
 * dirtied folio locked and must not take folio locks.
 */
#ifndef GUARDFS_CACHE_H
#define GUARDFS_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/folio.h"

struct cache;
struct cache_mapping;

/*
 * Default folio size: 64 KiB (16 blocks of 4 KiB): large enough that sequential I/O moves
 * big runs and the per-folio overhead is small, small enough that 4 KiB random overwrites
 * read and write back little around them. The cache benchmark (bench/cache-bench) is where
 * this choice is to be confirmed.
 */
#define CACHE_DEFAULT_FOLIO_SIZE (64u * 1024)
#define CACHE_DEFAULT_BLOCK_SIZE 4096u

struct cache_options {
	uint64_t budget_bytes;		 /* folio data in memory; at least 2 folios */
	unsigned folio_size;		 /* 0: CACHE_DEFAULT_FOLIO_SIZE; power of two */
	unsigned block_size;		 /* the fs block size; 0: 4096; power of two */
	uint64_t dirty_background_bytes; /* 0: budget / 4 */
	uint64_t dirty_limit_bytes;	 /* 0: budget / 2; at least the background threshold */
};

int cache_create(const struct cache_options *opts, struct cache **out);
/* Every mapping must be destroyed and every folio freed first (asserted). */
void cache_destroy(struct cache *cache);
unsigned cache_folio_size(const struct cache *cache);
unsigned cache_block_size(const struct cache *cache);

enum cache_wb_reason {
	CACHE_WB_BUDGET,     /* an allocation waits: nothing clean is evictable */
	CACHE_WB_BACKGROUND, /* dirty data above the background threshold */
	CACHE_WB_THROTTLE,   /* dirty data above the limit: a writer is throttled */
};

/* Registered by the writeback layer. */
struct cache_wb_ops {
	/* Write back about `bytes` (do not block on it: kick a flusher). No cache lock held. */
	void (*writeback)(struct cache *cache, enum cache_wb_reason reason, uint64_t bytes,
			  void *arg);
	/* A mapping got its first dirty folio (put the inode on the dirty list). Optional. */
	void (*mapping_dirtied)(struct cache_mapping *mapping, void *arg);
};
/* Set once, before other threads use the cache. */
void cache_set_wb_ops(struct cache *cache, const struct cache_wb_ops *ops, void *arg);

/* ---- mappings ---- */

/* owner is the caller's inode; ino names the file in log lines. */
int cache_mapping_create(struct cache *cache, uint64_t ino, void *owner,
			 struct cache_mapping **out);
/* Drops every folio (as cache_truncate(0), dirty data discarded), then frees the mapping. */
void cache_mapping_destroy(struct cache_mapping *mapping);
uint64_t cache_mapping_ino(const struct cache_mapping *mapping);
void *cache_mapping_owner(const struct cache_mapping *mapping);
uint64_t cache_mapping_nr_folios(struct cache_mapping *mapping);
uint64_t cache_mapping_nr_dirty(const struct cache_mapping *mapping);
/* CLOCK_MONOTONIC ns when the mapping went from clean to dirty (for the flusher's age). */
uint64_t cache_mapping_dirtied_ns(const struct cache_mapping *mapping);

enum cache_get_flags {
	CACHE_GET_CREATE = 1u << 0, /* allocate (clean, not uptodate) if absent */
	CACHE_GET_LOCK = 1u << 1,   /* return it locked and still in the mapping */
	CACHE_GET_NOWAIT = 1u << 2, /* -EAGAIN instead of waiting for a lock or for budget */
};

/*
 * The folio at index, referenced (folio_put when done). Returns 0, -ENOENT (absent, no
 * CREATE), -EAGAIN (NOWAIT) or -ENOMEM. A new folio is created locked when LOCK is asked, so
 * nobody sees it before the caller has read it. With CREATE and without NOWAIT it may wait
 * for budget: the caller holds no folio lock then (writeback may need it).
 */
int cache_get_folio(struct cache_mapping *mapping, uint64_t index, unsigned flags,
		    struct folio **out);

enum cache_find {
	CACHE_FIND_ALL,
	CACHE_FIND_DIRTY,	       /* for writeback */
	CACHE_FIND_DIRTY_OR_WRITEBACK, /* for zero range; locked folios count (may be dirty) */
	CACHE_FIND_WRITEBACK,	       /* for fsync's wait */
};

/*
 * Fills batch (from its current nr) with referenced folios of index in [*index, last] that
 * match, in index order, and sets *index past the last one added, or to last + 1 when the
 * lookup reached the end (saturated at UINT64_MAX). Returns the number in the batch.
 */
unsigned cache_find_folios(struct cache_mapping *mapping, uint64_t *index, uint64_t last,
			   enum cache_find which, struct folio_batch *batch);

/*
 * iomap_fill_dirty_folios: the dirty or writeback folios overlapping bytes [*start, end) into
 * a batch on the caller's stack, no allocation; *start becomes the byte offset where the
 * lookup stopped (never beyond end), so a caller trims its mapping there and calls again.
 */
unsigned cache_fill_dirty_folios(struct cache_mapping *mapping, uint64_t *start, uint64_t end,
				 struct folio_batch *batch);

/*
 * filemap_range_needs_writeback: whether a folio overlapping bytes [start, end) is dirty or
 * under writeback (zero range and SEEK_DATA treat such a range as data). No reference taken.
 */
bool cache_range_needs_writeback(struct cache_mapping *mapping, uint64_t start, uint64_t end);

/* filemap_fdatawait_range: waits for the writeback of every folio overlapping [start, end). */
void cache_wait_writeback_range(struct cache_mapping *mapping, uint64_t start, uint64_t end);

/*
 * Drops the clean folios overlapping bytes [start, end), after waiting for their writeback
 * and lock. Dirty ones stay: returns -EBUSY and their number in *nr_dirty (may be NULL).
 */
int cache_invalidate_range(struct cache_mapping *mapping, uint64_t start, uint64_t end,
			   unsigned *nr_dirty);

/*
 * Shrinks the cache to a file of size bytes: folios wholly past it are dropped, dirty or not
 * (after their writeback ends); in the folio straddling it, the bytes past size are zeroed
 * and the blocks wholly past it lose their dirty bits. A folio someone still references is
 * removed from the index (its mapping becomes NULL) and freed when they put it.
 */
void cache_truncate(struct cache_mapping *mapping, uint64_t size);

/* ---- dirty thresholds ---- */

bool cache_dirty_over_background(struct cache *cache);
/*
 * balance_dirty_pages: called by a writer after dirtying, holding no folio lock. Above the
 * background threshold it asks for background writeback; above the limit it also waits until
 * writeback brings dirty data back under the limit. Without a writeback hook it never waits.
 */
void cache_balance_dirty(struct cache *cache);

struct cache_stats {
	uint64_t hits;
	uint64_t misses;
	uint64_t evictions;
	uint64_t bytes_used; /* folio data allocated now */
	uint64_t peak_bytes; /* most ever allocated (since cache_reset_peak) */
	uint64_t dirty_bytes;
	uint64_t budget_waits; /* allocations that had to wait for budget */
	uint64_t throttles;    /* cache_balance_dirty calls that waited */
	uint64_t budget_bytes;
};
void cache_get_stats(struct cache *cache, struct cache_stats *out);
void cache_reset_peak(struct cache *cache);

/* ---- called by folio.c only ---- */
void cache_folio_dirtied(struct folio *folio);	  /* clean -> dirty, folio locked */
void cache_folio_cleaned(struct folio *folio);	  /* dirty -> clean */
void cache_folio_lru_update(struct folio *folio); /* after a dirty/writeback flag change */
void cache_folio_released(struct cache *cache);	  /* a reference went, maybe evictable */
void cache_folio_freed(struct cache *cache, unsigned size);

#endif /* GUARDFS_CACHE_H */
