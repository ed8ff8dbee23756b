/* SPDX-License-Identifier: MIT */
/*
 * folio.c - folios: allocation, reference count, the sleeping lock, the writeback flag and the
 * per-block state (fs/iomap/buffered-io.c, struct iomap_folio_state).
 *
 * Invariants (asserted at free): a freed folio is unlocked, clean, not under writeback and out
 * of the cache index; its pending byte counts are zero; its uptodate bitmap is full exactly
 * when FOLIO_UPTODATE is set, and no dirty bit is set without FOLIO_DIRTY. Between
 * folio_writeback_init() and folio_writeback_end() the dirty bits of a locked folio outlive its
 * dirty flag, so the writeback code can find the runs: the folio cannot be freed then.
 *
 * Waiting for the lock or for the end of writeback uses a hashed table of wait queues keyed
 * by the folio's address (as the kernel's folio_waitqueue()), so the thread that unlocks a
 * folio or ends its writeback never touches the folio after clearing the bit: the folio may
 * be freed by then.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/bug.h"
#include "core/cache.h"
#include "core/folio.h"

#define BITS_PER_LONG	  (8 * sizeof(unsigned long))
#define BITS_TO_LONGS(nr) (((nr) + BITS_PER_LONG - 1) / BITS_PER_LONG)

struct folio_state {
	pthread_spinlock_t state_lock; /* the bitmap; a leaf lock */
	atomic_uint read_bytes_pending;
	atomic_uint write_bytes_pending;
	atomic_uint pending_ops; /* instrumentation: operations on the two counts above */
	unsigned long state[];	 /* [0, bpf) uptodate, [bpf, 2 * bpf) dirty */
};

struct folio_waitq {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_uint waiters;
};

#define FOLIO_WAITQ_BITS 8
#define FOLIO_WAITQ_NR	 (1u << FOLIO_WAITQ_BITS)
static struct folio_waitq folio_waitqs[FOLIO_WAITQ_NR] = {
	[0 ... FOLIO_WAITQ_NR - 1] = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0},
};

static struct folio_waitq *folio_waitq(const struct folio *folio)
{
	uint64_t key = (uintptr_t)folio >> 6;

	return &folio_waitqs[(key * 0x9E3779B97F4A7C15ull) >> (64 - FOLIO_WAITQ_BITS)];
}

/*
 * The waker cleared the bit (a sequentially consistent RMW) before loading waiters; a waiter
 * counts itself before testing the bit. So either the waker sees the waiter, or the waiter
 * sees the bit clear: no wakeup is lost.
 */
static void folio_wake(struct folio_waitq *wq)
{
	if (!atomic_load(&wq->waiters))
		return;
	pthread_mutex_lock(&wq->lock);
	pthread_cond_broadcast(&wq->cond);
	pthread_mutex_unlock(&wq->lock);
}

static void folio_wait_bit(struct folio *folio, unsigned bit, bool take)
{
	struct folio_waitq *wq = folio_waitq(folio);

	pthread_mutex_lock(&wq->lock);
	atomic_fetch_add(&wq->waiters, 1);
	for (;;) {
		unsigned old = atomic_load(&folio->flags);

		if (!(old & bit)) {
			if (!take || !(atomic_fetch_or(&folio->flags, bit) & bit))
				break;
			continue;
		}
		pthread_cond_wait(&wq->cond, &wq->lock);
	}
	atomic_fetch_sub(&wq->waiters, 1);
	pthread_mutex_unlock(&wq->lock);
}

bool folio_trylock(struct folio *folio)
{
	return !(atomic_fetch_or_explicit(&folio->flags, FOLIO_LOCKED, memory_order_acquire) &
		 FOLIO_LOCKED);
}

void folio_lock(struct folio *folio)
{
	if (!folio_trylock(folio))
		folio_wait_bit(folio, FOLIO_LOCKED, true);
}

void folio_unlock(struct folio *folio)
{
	struct folio_waitq *wq = folio_waitq(folio);
	unsigned old = atomic_fetch_and(&folio->flags, ~FOLIO_LOCKED);

	GFS_BUG_ON(!(old & FOLIO_LOCKED));
	/* The folio may be gone now: only the wait queue is touched. */
	folio_wake(wq);
}

static uint64_t folio_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---- allocation and references ---- */

static bool is_power_of_2(unsigned x)
{
	return x && !(x & (x - 1));
}

int folio_alloc(unsigned size, unsigned block_size, uint64_t index, struct folio **out)
{
	struct folio *folio;

	if (!is_power_of_2(size) || !is_power_of_2(block_size) || block_size < 512 ||
	    block_size > size)
		return -EINVAL;
	folio = calloc(1, sizeof(*folio));
	if (!folio)
		return -ENOMEM;
	if (posix_memalign(&folio->data, 4096, size)) {
		free(folio);
		return -ENOMEM;
	}
	folio->index = index;
	folio->size = size;
	folio->size_shift = __builtin_ctz(size);
	folio->block_shift = __builtin_ctz(block_size);
	atomic_init(&folio->flags, 0);
	atomic_init(&folio->refcount, 1);
	atomic_init(&folio->state, NULL);
	*out = folio;
	return 0;
}

void folio_get(struct folio *folio)
{
	int old = atomic_fetch_add_explicit(&folio->refcount, 1, memory_order_relaxed);

	GFS_BUG_ON(old <= 0);
}

static bool bitmap_test(const unsigned long *map, unsigned bit)
{
	return map[bit / BITS_PER_LONG] & (1ul << (bit % BITS_PER_LONG));
}

static void bitmap_assign_range(unsigned long *map, unsigned start, unsigned nr, bool set)
{
	for (unsigned bit = start; bit < start + nr; bit++) {
		if (set)
			map[bit / BITS_PER_LONG] |= 1ul << (bit % BITS_PER_LONG);
		else
			map[bit / BITS_PER_LONG] &= ~(1ul << (bit % BITS_PER_LONG));
	}
}

/* The first bit in [start, end) equal to value, or end. */
static unsigned bitmap_find(const unsigned long *map, unsigned start, unsigned end, bool value)
{
	while (start < end && bitmap_test(map, start) != value)
		start++;
	return start;
}

static bool ifs_is_fully_uptodate(const struct folio *folio, const struct folio_state *st)
{
	unsigned bpf = folio_nr_blocks(folio);

	return bitmap_find(st->state, 0, bpf, false) == bpf;
}

static bool ifs_any_dirty(const struct folio *folio, const struct folio_state *st)
{
	unsigned bpf = folio_nr_blocks(folio);

	return bitmap_find(st->state, bpf, 2 * bpf, true) < 2 * bpf;
}

static void folio_free(struct folio *folio)
{
	struct folio_state *st = atomic_load(&folio->state);
	unsigned flags = atomic_load(&folio->flags);
	struct cache *cache = folio->cache;
	unsigned size = folio->size;

	GFS_BUG_ON(flags & FOLIO_LOCKED);
	GFS_BUG_ON(flags & FOLIO_WRITEBACK);
	GFS_BUG_ON(flags & FOLIO_DIRTY);
	GFS_BUG_ON(folio->mapping || folio->on_lru);
	if (st) {
		GFS_BUG_ON(atomic_load(&st->read_bytes_pending) != 0);
		GFS_BUG_ON(atomic_load(&st->write_bytes_pending) != 0);
		GFS_BUG_ON(ifs_is_fully_uptodate(folio, st) != !!(flags & FOLIO_UPTODATE));
		GFS_BUG_ON(ifs_any_dirty(folio, st));
		pthread_spin_destroy(&st->state_lock);
		free(st);
	}
	free(folio->data);
	free(folio);
	if (cache)
		cache_folio_freed(cache, size);
}

void folio_put(struct folio *folio)
{
	struct cache *cache = folio->cache;
	int old = atomic_fetch_sub_explicit(&folio->refcount, 1, memory_order_acq_rel);

	GFS_BUG_ON(old <= 0);
	if (old == 1)
		folio_free(folio);
	else if (old == 2 && cache)
		cache_folio_released(cache); /* maybe evictable now; the folio is not touched */
}

void folio_batch_release(struct folio_batch *fb)
{
	for (unsigned i = 0; i < fb->nr; i++)
		folio_put(fb->folios[i]);
	fb->nr = 0;
}

/* ---- per-block state ---- */

bool folio_has_state(const struct folio *folio)
{
	return atomic_load_explicit(&folio->state, memory_order_acquire) != NULL;
}

static struct folio_state *folio_state(const struct folio *folio)
{
	return atomic_load_explicit(&((struct folio *)folio)->state, memory_order_acquire);
}

/* ifs_alloc: lazily, under the folio lock, seeded from the folio flags. */
static int folio_state_get(struct folio *folio, struct folio_state **out)
{
	unsigned bpf = folio_nr_blocks(folio);
	unsigned flags = atomic_load(&folio->flags);
	struct folio_state *st = folio_state(folio);

	GFS_BUG_ON(!(flags & FOLIO_LOCKED));
	GFS_BUG_ON(bpf < 2);
	if (!st) {
		st = calloc(1, sizeof(*st) + BITS_TO_LONGS(2 * bpf) * sizeof(unsigned long));
		if (!st)
			return -ENOMEM;
		pthread_spin_init(&st->state_lock, PTHREAD_PROCESS_PRIVATE);
		if (flags & FOLIO_UPTODATE)
			bitmap_assign_range(st->state, 0, bpf, true);
		if (flags & FOLIO_DIRTY)
			bitmap_assign_range(st->state, bpf, bpf, true);
		atomic_store_explicit(&folio->state, st, memory_order_release);
	}
	*out = st;
	return 0;
}

static void folio_count_op(struct folio_state *st)
{
	atomic_fetch_add_explicit(&st->pending_ops, 1, memory_order_relaxed);
}

/* The blocks [*first, *last] touched by [off, off + len) (outward rounding). */
static void folio_blocks_touched(const struct folio *folio, unsigned off, unsigned len,
				 unsigned *first, unsigned *last)
{
	GFS_BUG_ON(len == 0 || off + len > folio->size || off + len < off);
	*first = off >> folio->block_shift;
	*last = (off + len - 1) >> folio->block_shift;
}

static void folio_set_flag(struct folio *folio, unsigned flag)
{
	atomic_fetch_or_explicit(&folio->flags, flag, memory_order_release);
}

int folio_mark_uptodate_range(struct folio *folio, unsigned off, unsigned len)
{
	unsigned first, last, bpf = folio_nr_blocks(folio);
	struct folio_state *st = folio_state(folio);
	bool full;
	int ret;

	GFS_BUG_ON(!folio_is_locked(folio));
	if (!len || folio_is_uptodate(folio))
		return 0;
	folio_blocks_touched(folio, off, len, &first, &last);
	if (!st && first == 0 && last == bpf - 1) {
		folio_set_flag(folio, FOLIO_UPTODATE);
		return 0;
	}
	ret = folio_state_get(folio, &st);
	if (ret)
		return ret;
	pthread_spin_lock(&st->state_lock);
	bitmap_assign_range(st->state, first, last - first + 1, true);
	full = ifs_is_fully_uptodate(folio, st);
	pthread_spin_unlock(&st->state_lock);
	if (full)
		folio_set_flag(folio, FOLIO_UPTODATE);
	return 0;
}

int folio_clear_uptodate_range(struct folio *folio, unsigned off, unsigned len)
{
	unsigned first, last, bpf = folio_nr_blocks(folio);
	struct folio_state *st = folio_state(folio);
	int ret;

	GFS_BUG_ON(!folio_is_locked(folio));
	if (!len)
		return 0;
	folio_blocks_touched(folio, off, len, &first, &last);
	if (!st && (!folio_is_uptodate(folio) || (first == 0 && last == bpf - 1))) {
		GFS_BUG_ON(folio_is_dirty(folio));
		atomic_fetch_and(&folio->flags, ~FOLIO_UPTODATE);
		return 0;
	}
	/* The blocks outside the range stay uptodate: that takes per-block state. */
	ret = folio_state_get(folio, &st);
	if (ret)
		return ret;
	pthread_spin_lock(&st->state_lock);
	/* A dirty block made invalid would write garbage. */
	GFS_BUG_ON(bitmap_find(st->state, bpf + first, bpf + last + 1, true) <= bpf + last);
	bitmap_assign_range(st->state, first, last - first + 1, false);
	atomic_fetch_and(&folio->flags, ~FOLIO_UPTODATE);
	pthread_spin_unlock(&st->state_lock);
	return 0;
}

/* The folio's dirty flag: accounting in the cache follows its transitions. */
static void folio_set_dirty_flag(struct folio *folio)
{
	unsigned old = atomic_fetch_or(&folio->flags, FOLIO_DIRTY);

	if (!(old & FOLIO_DIRTY)) {
		folio->dirtied_ns = folio_now_ns();
		if (folio->cache)
			cache_folio_dirtied(folio);
	}
}

static void folio_clear_dirty_flag(struct folio *folio)
{
	unsigned old = atomic_fetch_and(&folio->flags, ~FOLIO_DIRTY);

	if ((old & FOLIO_DIRTY) && folio->cache)
		cache_folio_cleaned(folio);
}

int folio_mark_dirty_range(struct folio *folio, unsigned off, unsigned len)
{
	unsigned first, last, bpf = folio_nr_blocks(folio);
	struct folio_state *st = folio_state(folio);
	int ret;

	GFS_BUG_ON(!folio_is_locked(folio));
	/* PI is computed over the data under writeback: a writer must wait first. */
	GFS_BUG_ON(folio_is_writeback(folio));
	if (!len)
		return 0;
	GFS_BUG_ON(!folio_range_is_uptodate(folio, off, len));
	folio_blocks_touched(folio, off, len, &first, &last);
	if (!st && (folio_is_dirty(folio) || (first == 0 && last == bpf - 1)))
		goto set_flag; /* no state: the flag covers every block */
	ret = folio_state_get(folio, &st);
	if (ret)
		return ret;
	pthread_spin_lock(&st->state_lock);
	bitmap_assign_range(st->state, bpf + first, last - first + 1, true);
	pthread_spin_unlock(&st->state_lock);
set_flag:
	folio_set_dirty_flag(folio);
	return 0;
}

void folio_clear_dirty_range(struct folio *folio, unsigned off, unsigned len)
{
	unsigned first, end, bpf = folio_nr_blocks(folio);
	unsigned bs = folio_block_size(folio);
	struct folio_state *st = folio_state(folio);
	bool any;

	GFS_BUG_ON(!folio_is_locked(folio));
	GFS_BUG_ON(off + len > folio->size || off + len < off);
	first = (off + bs - 1) >> folio->block_shift;
	end = (off + len) >> folio->block_shift;
	if (first >= end)
		return;
	if (!st && !folio_is_dirty(folio))
		return;
	if (!st && first == 0 && end == bpf) {
		folio_clear_dirty_flag(folio);
		return;
	}
	/* A partial clean of a wholly dirty folio needs bits; on -ENOMEM it stays dirty. */
	if (!st && folio_state_get(folio, &st))
		return;
	pthread_spin_lock(&st->state_lock);
	bitmap_assign_range(st->state, bpf + first, end - first, false);
	any = ifs_any_dirty(folio, st);
	pthread_spin_unlock(&st->state_lock);
	if (!any)
		folio_clear_dirty_flag(folio);
}

void folio_cancel_dirty(struct folio *folio)
{
	struct folio_state *st = folio_state(folio);
	unsigned bpf = folio_nr_blocks(folio);

	GFS_BUG_ON(!folio_is_locked(folio));
	if (st) {
		pthread_spin_lock(&st->state_lock);
		bitmap_assign_range(st->state, bpf, bpf, false);
		pthread_spin_unlock(&st->state_lock);
	}
	folio_clear_dirty_flag(folio);
}

bool folio_range_is_uptodate(const struct folio *folio, unsigned off, unsigned len)
{
	struct folio_state *st = folio_state(folio);
	unsigned first, last;
	bool ret;

	if (folio_is_uptodate(folio) || !len)
		return true;
	if (!st)
		return false;
	folio_blocks_touched(folio, off, len, &first, &last);
	pthread_spin_lock(&st->state_lock);
	ret = bitmap_find(st->state, first, last + 1, false) == last + 1;
	pthread_spin_unlock(&st->state_lock);
	return ret;
}

bool folio_block_is_uptodate(const struct folio *folio, unsigned block)
{
	struct folio_state *st = folio_state(folio);

	GFS_BUG_ON(block >= folio_nr_blocks(folio));
	if (folio_is_uptodate(folio))
		return true;
	return st && bitmap_test(st->state, block);
}

bool folio_block_is_dirty(const struct folio *folio, unsigned block)
{
	struct folio_state *st = folio_state(folio);

	GFS_BUG_ON(block >= folio_nr_blocks(folio));
	if (!st)
		return folio_is_dirty(folio);
	return bitmap_test(st->state, folio_nr_blocks(folio) + block);
}

unsigned folio_find_dirty_range(struct folio *folio, unsigned *off, unsigned end)
{
	struct folio_state *st = folio_state(folio);
	unsigned bpf = folio_nr_blocks(folio);
	unsigned start_blk, end_blk, first, next;

	GFS_BUG_ON(end > folio->size);
	*off &= ~(folio_block_size(folio) - 1);
	if (*off >= end)
		return 0;
	if (!st) {
		/* Whole-folio dirty, or a one-block folio being written back. */
		if (!folio_test_flag(folio, FOLIO_DIRTY | FOLIO_WRITEBACK))
			return 0;
		return end - *off;
	}
	start_blk = *off >> folio->block_shift;
	end_blk = (end + folio_block_size(folio) - 1) >> folio->block_shift;
	pthread_spin_lock(&st->state_lock);
	first = bitmap_find(st->state, bpf + start_blk, bpf + end_blk, true);
	next = bitmap_find(st->state, first, bpf + end_blk, false);
	pthread_spin_unlock(&st->state_lock);
	if (first == bpf + end_blk)
		return 0;
	*off = (first - bpf) << folio->block_shift;
	return (next - first) << folio->block_shift;
}

/* ---- reads ---- */

/* folio_end_read: uptodate and unlocked in one atomic step; the folio is not touched after. */
static void folio_end_read(struct folio *folio, bool uptodate)
{
	struct folio_waitq *wq = folio_waitq(folio);
	unsigned old = atomic_load(&folio->flags), new;

	do {
		GFS_BUG_ON(!(old & FOLIO_LOCKED));
		new = (old | (uptodate ? FOLIO_UPTODATE : 0)) & ~FOLIO_LOCKED;
	} while (!atomic_compare_exchange_weak(&folio->flags, &old, new));
	folio_wake(wq);
}

int folio_read_init(struct folio *folio)
{
	struct folio_state *st;
	int ret;

	GFS_BUG_ON(!folio_is_locked(folio));
	GFS_BUG_ON(folio_is_uptodate(folio));
	atomic_fetch_and(&folio->flags, ~FOLIO_ERROR);
	if (folio_nr_blocks(folio) == 1)
		return 0;
	ret = folio_state_get(folio, &st);
	if (ret)
		return ret;
	GFS_BUG_ON(atomic_load(&st->read_bytes_pending) != 0);
	folio_count_op(st);
	atomic_store(&st->read_bytes_pending, folio->size);
	return 0;
}

/* Ends the read when the caller brought the count to zero: mirrors iomap_read_end. */
static void folio_read_done(struct folio *folio, struct folio_state *st)
{
	bool uptodate;

	pthread_spin_lock(&st->state_lock);
	uptodate = ifs_is_fully_uptodate(folio, st) && !folio_has_error(folio);
	pthread_spin_unlock(&st->state_lock);
	folio_end_read(folio, uptodate);
}

void folio_finish_read_range(struct folio *folio, unsigned off, unsigned len, int error)
{
	struct folio_state *st = folio_state(folio);
	unsigned first, last, old;

	if (!st) {
		/* One block, one range: this completion is the whole read. */
		if (error)
			folio_set_flag(folio, FOLIO_ERROR);
		folio_end_read(folio, !error);
		return;
	}
	folio_blocks_touched(folio, off, len, &first, &last);
	if (error) {
		folio_set_flag(folio, FOLIO_ERROR);
	} else {
		pthread_spin_lock(&st->state_lock);
		bitmap_assign_range(st->state, first, last - first + 1, true);
		pthread_spin_unlock(&st->state_lock);
	}
	/* acq_rel: whoever reaches zero sees every other range's bits and error. */
	folio_count_op(st);
	old = atomic_fetch_sub_explicit(&st->read_bytes_pending, len, memory_order_acq_rel);
	GFS_BUG_ON(old < len);
	if (old == len)
		folio_read_done(folio, st);
}

void folio_read_end(struct folio *folio, unsigned bytes_submitted)
{
	struct folio_state *st = folio_state(folio);
	unsigned unsent = folio->size - bytes_submitted, old;

	GFS_BUG_ON(bytes_submitted > folio->size);
	if (!st) {
		/* Nothing submitted: the read ends here; else its completion ended it. */
		if (!bytes_submitted)
			folio_end_read(folio, folio_is_uptodate(folio));
		return;
	}
	/* All submitted: the completions own the count and may have ended the read already. */
	if (!unsent)
		return;
	folio_count_op(st);
	old = atomic_fetch_sub_explicit(&st->read_bytes_pending, unsent, memory_order_acq_rel);
	GFS_BUG_ON(old < unsent);
	if (old == unsent)
		folio_read_done(folio, st);
}

/* ---- writeback ---- */

void folio_start_writeback(struct folio *folio)
{
	unsigned old;

	GFS_BUG_ON(!folio_is_locked(folio));
	old = atomic_fetch_or(&folio->flags, FOLIO_WRITEBACK);
	GFS_BUG_ON(old & FOLIO_WRITEBACK);
	if (folio->cache)
		cache_folio_lru_update(folio);
}

void folio_end_writeback(struct folio *folio)
{
	struct folio_waitq *wq = folio_waitq(folio);
	unsigned old;

	/*
	 * Writeback holds no reference of its own: truncation waits for the flag to clear and
	 * eviction skips such folios. Once the flag is clear the folio could go, so hold it
	 * across the LRU update (as the kernel's folio_end_writeback).
	 */
	folio_get(folio);
	old = atomic_fetch_and(&folio->flags, ~FOLIO_WRITEBACK);
	GFS_BUG_ON(!(old & FOLIO_WRITEBACK));
	folio_wake(wq);
	if (folio->cache)
		cache_folio_lru_update(folio);
	folio_put(folio);
}

void folio_wait_writeback(struct folio *folio)
{
	if (folio_is_writeback(folio))
		folio_wait_bit(folio, FOLIO_WRITEBACK, false);
}

int folio_writeback_init(struct folio *folio)
{
	struct folio_state *st;
	int ret;

	GFS_BUG_ON(!folio_is_locked(folio));
	GFS_BUG_ON(!folio_is_dirty(folio));
	if (folio_nr_blocks(folio) > 1) {
		/* Seeded while the dirty flag is still set: no state means every block. */
		ret = folio_state_get(folio, &st);
		if (ret)
			return ret;
		GFS_BUG_ON(atomic_load(&st->write_bytes_pending) != 0);
		folio_count_op(st);
		atomic_store(&st->write_bytes_pending, folio->size);
	}
	atomic_fetch_and(&folio->flags, ~FOLIO_ERROR);
	folio_start_writeback(folio);
	/* A writer must now wait for writeback before dirtying again: the bits are ours. */
	folio_clear_dirty_flag(folio);
	return 0;
}

void folio_finish_write_range(struct folio *folio, unsigned off, unsigned len, int error)
{
	struct folio_state *st = folio_state(folio);
	unsigned old;

	if (error)
		folio_set_flag(folio, FOLIO_ERROR);
	if (!st) {
		folio_end_writeback(folio);
		return;
	}
	GFS_BUG_ON(len == 0 || off + len > folio->size);
	folio_count_op(st);
	old = atomic_fetch_sub_explicit(&st->write_bytes_pending, len, memory_order_acq_rel);
	GFS_BUG_ON(old < len);
	if (old == len)
		folio_end_writeback(folio);
}

void folio_writeback_end(struct folio *folio, unsigned bytes_submitted)
{
	struct folio_state *st = folio_state(folio);
	unsigned unsent = folio->size - bytes_submitted, bpf = folio_nr_blocks(folio), old;

	GFS_BUG_ON(!folio_is_locked(folio));
	GFS_BUG_ON(bytes_submitted > folio->size);
	if (!st) {
		if (!bytes_submitted)
			folio_end_writeback(folio);
		return;
	}
	/* Every dirty run was submitted (or was a hole): the bits go with the dirty flag. */
	pthread_spin_lock(&st->state_lock);
	bitmap_assign_range(st->state, bpf, bpf, false);
	pthread_spin_unlock(&st->state_lock);
	if (!unsent)
		return;
	folio_count_op(st);
	old = atomic_fetch_sub_explicit(&st->write_bytes_pending, unsent, memory_order_acq_rel);
	GFS_BUG_ON(old < unsent);
	if (old == unsent)
		folio_end_writeback(folio);
}

/* ---- instrumentation ---- */

unsigned folio_pending_ops(const struct folio *folio)
{
	struct folio_state *st = folio_state(folio);

	return st ? atomic_load(&st->pending_ops) : 0;
}

unsigned folio_read_bytes_pending(const struct folio *folio)
{
	struct folio_state *st = folio_state(folio);

	return st ? atomic_load(&st->read_bytes_pending) : 0;
}

unsigned folio_write_bytes_pending(const struct folio *folio)
{
	struct folio_state *st = folio_state(folio);

	return st ? atomic_load(&st->write_bytes_pending) : 0;
}
