/* SPDX-License-Identifier: MIT */
/*
 * folio.h - a cached, power-of-two sized range of one file, and its per-block state.
 *
 * A folio holds folio_size bytes of file data at file offset index * folio_size, in a buffer
 * aligned for O_DIRECT. Its flags say whether all of it is uptodate, whether any of it is
 * dirty, whether it is locked or under writeback, and whether its last I/O failed. When a
 * folio has more than one block and an operation covers only part of it, a struct folio_state
 * is allocated lazily (iomap_folio_state): one bitmap with an uptodate bit per block in
 * [0, bpf) and a dirty bit per block in [bpf, 2 * bpf), plus read_bytes_pending and
 * write_bytes_pending. An operation covering the whole folio needs no state at all.
 *
 * Pending-byte accounting (fs/iomap/buffered-io.c): folio_read_init() sets read_bytes_pending
 * to the folio size; each completed range subtracts its length (folio_finish_read_range());
 * folio_read_end(bytes_submitted) subtracts what was not submitted. Whoever brings the count
 * to zero ends the read exactly once: N ranges cost N + 2 atomic operations (N + 1 when all
 * of the folio was submitted: there is nothing to subtract, and the completions may already
 * have ended the read). Writeback is the same with write_bytes_pending. folio_pending_ops()
 * counts those operations for tests. The caller of folio_read_end/folio_writeback_end holds
 * a reference, so the folio outlives those calls even when a completion ended the I/O.
 *
 * Typical read of a locked folio (the caller holds a reference across init..end):
 *
 *	folio_read_init(folio);
 *	for each range not uptodate: zero it and folio_mark_uptodate_range() for holes, or
 *		submit it, submitted += len; its completion calls folio_finish_read_range()
 *	folio_read_end(folio, submitted);	// may end the read and unlock the folio
 *
 * Typical writeback of a folio (locked by the caller, dirty):
 *
 *	folio_wait_writeback(folio);
 *	folio_writeback_init(folio);		// writeback flag on, dirty flag off, bits kept
 *	off = 0;
 *	while ((len = folio_find_dirty_range(folio, &off, end)))
 *		submit [off, off + len), submitted += len, off += len; its completion calls
 *		folio_finish_write_range()
 *	folio_writeback_end(folio, submitted);	// clears the dirty bits, may end writeback
 *	folio_unlock(folio);
 *
 * Completion side: folio_finish_read_range() and folio_finish_write_range() may end the I/O,
 * which unlocks the folio or clears its writeback flag; after that call the folio may be
 * freed by another thread, so a completion handler never touches it again (the lesson of
 * "iomap: fix invalid folio access after folio_end_read()").
 *
 * Locks: the folio lock is a sleeping lock (a bit in flags plus a hashed wait queue, as the
 * kernel's folio_lock). The folio_state bitmap lock is a leaf spinlock: nothing else is taken
 * under it. Lock order with the cache: see cache.h (folio lock -> mapping lock -> LRU lock).
 * Functions that change uptodate or dirty state, or start writeback, require the folio lock
 * (asserted); completion functions do not take it.
 */
#ifndef GUARDFS_FOLIO_H
#define GUARDFS_FOLIO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct cache;
struct cache_mapping;
struct folio_state;

enum folio_flag {
	FOLIO_UPTODATE = 1u << 0,  /* every block holds the file's current data */
	FOLIO_DIRTY = 1u << 1,	   /* some block differs from the namespace */
	FOLIO_WRITEBACK = 1u << 2, /* a write of this folio is in flight: data must not change */
	FOLIO_LOCKED = 1u << 3,
	FOLIO_ERROR = 1u << 4,	    /* the last read or writeback of this folio failed */
	FOLIO_REFERENCED = 1u << 5, /* cache hit since the LRU last looked (second chance) */
};

struct folio {
	/* Constant from allocation. */
	uint64_t index;	     /* file offset = index << size_shift */
	void *data;	     /* size bytes, 4096-aligned */
	unsigned size;	     /* bytes, power of two */
	uint8_t size_shift;  /* log2(size) */
	uint8_t block_shift; /* log2(block size) */
	struct cache *cache; /* NULL for a standalone folio (no budget, no dirty accounting) */

	_Atomic unsigned flags; /* enum folio_flag */
	atomic_int refcount;
	_Atomic(struct folio_state *) state; /* set once under the folio lock, freed with it */
	uint64_t dirtied_ns; /* CLOCK_MONOTONIC time of the last clean -> dirty transition */

	/*
	 * Owned by cache.c. mapping changes under the folio lock and the mapping lock together
	 * (truncate, invalidate), or under the mapping and LRU locks when the index holds the
	 * only reference (eviction): a holder of a reference who locked the folio can trust it.
	 */
	struct cache_mapping *mapping;	   /* NULL once removed from the cache index */
	struct folio *lru_prev, *lru_next; /* under cache->lru_lock */
	bool on_lru;
};

/* A fixed-size batch that lives on the caller's stack (struct folio_batch in the kernel). */
#define FOLIO_BATCH_SIZE 15
struct folio_batch {
	unsigned nr;
	struct folio *folios[FOLIO_BATCH_SIZE];
};

static inline void folio_batch_init(struct folio_batch *fb)
{
	fb->nr = 0;
}

/* Adds a referenced folio; returns the slots left (0 = full). */
static inline unsigned folio_batch_add(struct folio_batch *fb, struct folio *folio)
{
	fb->folios[fb->nr++] = folio;
	return FOLIO_BATCH_SIZE - fb->nr;
}

/* Drops the reference of every folio in the batch and empties it. */
void folio_batch_release(struct folio_batch *fb);

/*
 * Allocates an unlocked, clean, not uptodate folio with one reference. size and block_size
 * are powers of two, 512 <= block_size <= size. Returns 0, -EINVAL or -ENOMEM.
 */
int folio_alloc(unsigned size, unsigned block_size, uint64_t index, struct folio **out);

void folio_get(struct folio *folio);
/*
 * Drops a reference; the last one frees the folio after asserting its invariants: unlocked,
 * not dirty, not under writeback, no pending bytes, and the bitmap agrees with the flags.
 */
void folio_put(struct folio *folio);

static inline void *folio_data(const struct folio *folio)
{
	return folio->data;
}
static inline unsigned folio_size(const struct folio *folio)
{
	return folio->size;
}
static inline uint64_t folio_pos(const struct folio *folio)
{
	return folio->index << folio->size_shift;
}
static inline unsigned folio_block_size(const struct folio *folio)
{
	return 1u << folio->block_shift;
}
static inline unsigned folio_nr_blocks(const struct folio *folio)
{
	return folio->size >> folio->block_shift;
}

static inline bool folio_test_flag(const struct folio *folio, unsigned flag)
{
	return atomic_load_explicit(&folio->flags, memory_order_acquire) & flag;
}
static inline bool folio_is_uptodate(const struct folio *folio)
{
	return folio_test_flag(folio, FOLIO_UPTODATE);
}
static inline bool folio_is_dirty(const struct folio *folio)
{
	return folio_test_flag(folio, FOLIO_DIRTY);
}
static inline bool folio_is_writeback(const struct folio *folio)
{
	return folio_test_flag(folio, FOLIO_WRITEBACK);
}
static inline bool folio_is_locked(const struct folio *folio)
{
	return folio_test_flag(folio, FOLIO_LOCKED);
}
static inline bool folio_has_error(const struct folio *folio)
{
	return folio_test_flag(folio, FOLIO_ERROR);
}
/* Whether per-block state was allocated (never for a one-block folio). */
bool folio_has_state(const struct folio *folio);

/* The sleeping folio lock. The caller holds a reference. */
void folio_lock(struct folio *folio);
bool folio_trylock(struct folio *folio);
void folio_unlock(struct folio *folio);

/*
 * Uptodate and dirty state over byte ranges [off, off + len) of the folio. Setting rounds
 * outward to blocks (any block touched), as ifs_set_range_uptodate/dirty: the caller has made
 * every touched block valid. Clearing dirty rounds inward (ifs_clear_range_dirty): a block
 * with dirty bytes left outside the range stays dirty. Clearing uptodate rounds outward: a
 * block partly invalid is invalid. All require the folio lock; marking may allocate the
 * per-block state and then fails with -ENOMEM. Dirty ranges must be uptodate, and a folio
 * under writeback must not be dirtied (its data is being checksummed and written).
 */
int folio_mark_uptodate_range(struct folio *folio, unsigned off, unsigned len);
int folio_clear_uptodate_range(struct folio *folio, unsigned off, unsigned len);
int folio_mark_dirty_range(struct folio *folio, unsigned off, unsigned len);
void folio_clear_dirty_range(struct folio *folio, unsigned off, unsigned len);
/* Drops all dirty state without writing it (truncate). Folio lock held. */
void folio_cancel_dirty(struct folio *folio);

bool folio_range_is_uptodate(const struct folio *folio, unsigned off, unsigned len);
bool folio_block_is_uptodate(const struct folio *folio, unsigned block);
bool folio_block_is_dirty(const struct folio *folio, unsigned block);
/*
 * The next dirty run at or after *off and before end (bytes within the folio): sets *off to
 * its start and returns its length, or 0 when there is none (ifs_find_dirty_range). Without
 * per-block state a dirty folio is one run: [*off rounded down to a block, end).
 */
unsigned folio_find_dirty_range(struct folio *folio, unsigned *off, unsigned end);

/* Reads: see the top of this file. folio_read_init needs the lock and may fail -ENOMEM. */
int folio_read_init(struct folio *folio);
void folio_finish_read_range(struct folio *folio, unsigned off, unsigned len, int error);
void folio_read_end(struct folio *folio, unsigned bytes_submitted);

/* Writeback: see the top of this file. folio_writeback_init may fail -ENOMEM. */
int folio_writeback_init(struct folio *folio);
void folio_finish_write_range(struct folio *folio, unsigned off, unsigned len, int error);
void folio_writeback_end(struct folio *folio, unsigned bytes_submitted);

/* The writeback flag itself (folio_start_writeback needs the lock; end wakes waiters). */
void folio_start_writeback(struct folio *folio);
void folio_end_writeback(struct folio *folio);
void folio_wait_writeback(struct folio *folio);

/* Instrumentation: atomic operations made on the pending counts since the state existed. */
unsigned folio_pending_ops(const struct folio *folio);
unsigned folio_read_bytes_pending(const struct folio *folio);
unsigned folio_write_bytes_pending(const struct folio *folio);

#endif /* GUARDFS_FOLIO_H */
