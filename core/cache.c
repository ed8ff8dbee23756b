/* SPDX-License-Identifier: MIT */
/*
 * cache.c - the folio cache: memory budget, LRU eviction, dirty accounting, lookup and
 * get-or-create (filemap_get_folio / __filemap_get_folio with FGP_CREAT).
 *
 * Invariants: bytes_used is the data size of every allocated cache folio and never exceeds
 * the budget (a folio is charged before its buffer exists, uncharged when freed); a folio is
 * on the LRU exactly when it is in a mapping, clean and not under writeback; the index holds
 * one reference on each of its folios, so a folio with refcount 1 on the LRU is idle (nobody
 * can lock or dirty it without a reference) and can be evicted under the mapping lock.
 * Range walks (find, invalidate, truncate) live in cache_range.c. Lock order: cache.h.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "core/bug.h"
#include "core/cache.h"
#include "core/cache_internal.h"
#include "core/log.h"
#include "core/poll.h"

static bool is_power_of_2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* ---- events: a folio freed, released, cleaned; waiters re-check their condition ---- */

/*
 * A waiter counts itself (cache_wait_begin) before its last check of the condition, and an
 * event changes the state before loading event_waiters, both sequentially consistent: either
 * the event sees the waiter and bumps event_seq, or the waiter's check sees the new state.
 */
void cache_wake(struct cache *cache)
{
	if (!atomic_load(&cache->event_waiters))
		return;
	pthread_mutex_lock(&cache->event_lock);
	atomic_fetch_add(&cache->event_seq, 1);
	pthread_cond_broadcast(&cache->event_cond);
	pthread_mutex_unlock(&cache->event_lock);
}

static void cache_wait_begin(struct cache *cache)
{
	atomic_fetch_add(&cache->event_waiters, 1);
}

static void cache_wait_end(struct cache *cache)
{
	atomic_fetch_sub(&cache->event_waiters, 1);
}

/*
 * Sleeps until an event after seq, or 100 ms: the writeback hook is asked again then, and a
 * folio skipped because its mapping lock was busy makes no event.
 */
static void cache_wait_event(struct cache *cache, uint64_t seq)
{
	struct timespec deadline = gfs_deadline_after(100 * 1000 * 1000);

	pthread_mutex_lock(&cache->event_lock);
	while (atomic_load(&cache->event_seq) == seq)
		if (pthread_cond_timedwait(&cache->event_cond, &cache->event_lock, &deadline))
			break;
	pthread_mutex_unlock(&cache->event_lock);
}

/* ---- creation ---- */

static int cache_check_options(const struct cache_options *o)
{
	if (!is_power_of_2(o->folio_size) || !is_power_of_2(o->block_size) || o->block_size < 512 ||
	    o->block_size > o->folio_size || o->folio_size > (1u << 30)) {
		gfs_err("cache: folio size %u and block size %u must be powers of two, "
			"512 <= block <= folio <= 1 GiB",
			o->folio_size, o->block_size);
		return -EINVAL;
	}
	if (o->budget_bytes < 2ull * o->folio_size) {
		gfs_err("cache: budget of %llu bytes is less than two folios of %u bytes",
			(unsigned long long)o->budget_bytes, o->folio_size);
		return -EINVAL;
	}
	if (o->dirty_limit_bytes < o->dirty_background_bytes) {
		gfs_err("cache: dirty limit %llu below the background threshold %llu",
			(unsigned long long)o->dirty_limit_bytes,
			(unsigned long long)o->dirty_background_bytes);
		return -EINVAL;
	}
	return 0;
}

int cache_create(const struct cache_options *opts, struct cache **out)
{
	struct cache_options o = *opts;
	struct cache *cache;
	int ret;

	if (!o.folio_size)
		o.folio_size = CACHE_DEFAULT_FOLIO_SIZE;
	if (!o.block_size)
		o.block_size = CACHE_DEFAULT_BLOCK_SIZE;
	if (!o.dirty_background_bytes)
		o.dirty_background_bytes = o.budget_bytes / 4;
	if (!o.dirty_limit_bytes)
		o.dirty_limit_bytes = o.budget_bytes / 2;
	ret = cache_check_options(&o);
	if (ret)
		return ret;
	cache = calloc(1, sizeof(*cache));
	if (!cache)
		return -ENOMEM;
	cache->opts = o;
	cache->folio_shift = __builtin_ctz(o.folio_size);
	pthread_mutex_init(&cache->lru_lock, NULL);
	pthread_mutex_init(&cache->event_lock, NULL);
	gfs_cond_init_monotonic(&cache->event_cond);
	*out = cache;
	return 0;
}

/*
 * A read completion unlocks its folio (folio_read_end) before it drops its reference, so a
 * teardown that has just deleted every folio from its mapping may still see the last few
 * references in flight. Wait for them, for a bounded time: a reference still held after that
 * is a leak, and the BUG_ON below names it.
 */
static void cache_wait_folios_freed(struct cache *cache)
{
	for (int tries = 0; tries < 300 && atomic_load(&cache->bytes_used) != 0; tries++) {
		uint64_t seq;

		cache_wait_begin(cache);
		seq = atomic_load(&cache->event_seq);
		if (atomic_load(&cache->bytes_used) != 0)
			cache_wait_event(cache, seq);
		cache_wait_end(cache);
	}
}

void cache_destroy(struct cache *cache)
{
	GFS_BUG_ON(atomic_load(&cache->nr_mappings) != 0);
	cache_wait_folios_freed(cache);
	GFS_BUG_ON(atomic_load(&cache->bytes_used) != 0);
	GFS_BUG_ON(cache->nr_lru != 0);
	pthread_cond_destroy(&cache->event_cond);
	pthread_mutex_destroy(&cache->event_lock);
	pthread_mutex_destroy(&cache->lru_lock);
	free(cache);
}

unsigned cache_folio_size(const struct cache *cache)
{
	return cache->opts.folio_size;
}

unsigned cache_block_size(const struct cache *cache)
{
	return cache->opts.block_size;
}

void cache_set_wb_ops(struct cache *cache, const struct cache_wb_ops *ops, void *arg)
{
	cache->wb_ops = *ops;
	cache->wb_arg = arg;
}

static void cache_request_writeback(struct cache *cache, enum cache_wb_reason reason,
				    uint64_t bytes)
{
	if (cache->wb_ops.writeback)
		cache->wb_ops.writeback(cache, reason, bytes, cache->wb_arg);
}

/* ---- LRU: clean, idle-able folios; head = most recently added ---- */

static void lru_add_head(struct cache *cache, struct folio *folio)
{
	folio->lru_prev = NULL;
	folio->lru_next = cache->lru_head;
	if (cache->lru_head)
		cache->lru_head->lru_prev = folio;
	else
		cache->lru_tail = folio;
	cache->lru_head = folio;
	folio->on_lru = true;
	cache->nr_lru++;
}

void cache_lru_del(struct cache *cache, struct folio *folio)
{
	if (!folio->on_lru)
		return;
	if (folio->lru_prev)
		folio->lru_prev->lru_next = folio->lru_next;
	else
		cache->lru_head = folio->lru_next;
	if (folio->lru_next)
		folio->lru_next->lru_prev = folio->lru_prev;
	else
		cache->lru_tail = folio->lru_prev;
	folio->lru_prev = folio->lru_next = NULL;
	folio->on_lru = false;
	cache->nr_lru--;
}

void cache_folio_lru_update(struct folio *folio)
{
	struct cache *cache = folio->cache;
	bool evictable, added = false;

	pthread_mutex_lock(&cache->lru_lock);
	evictable = folio->mapping && !folio_test_flag(folio, FOLIO_DIRTY | FOLIO_WRITEBACK);
	if (evictable && !folio->on_lru) {
		lru_add_head(cache, folio);
		added = true;
	} else if (!evictable && folio->on_lru) {
		cache_lru_del(cache, folio);
	}
	pthread_mutex_unlock(&cache->lru_lock);
	if (added)
		cache_wake(cache);
}

/*
 * Evicts the least recently used idle folio. Returns 0, -EBUSY when a candidate's mapping
 * lock was busy (retry soon), or -ENOENT when nothing on the LRU is idle.
 */
static int cache_evict_one(struct cache *cache)
{
	struct folio *folio, *prev;
	uint64_t scan;
	int ret = -ENOENT;

	pthread_mutex_lock(&cache->lru_lock);
	scan = cache->nr_lru;
	for (folio = cache->lru_tail; folio && scan--; folio = prev) {
		struct cache_mapping *mapping = folio->mapping;

		prev = folio->lru_prev;
		if (atomic_fetch_and(&folio->flags, ~FOLIO_REFERENCED) & FOLIO_REFERENCED) {
			cache_lru_del(cache, folio); /* second chance */
			lru_add_head(cache, folio);
			continue;
		}
		if (atomic_load(&folio->refcount) != 1)
			continue;
		/* The reverse of the lock order: only a trylock is allowed here. */
		if (pthread_rwlock_trywrlock(&mapping->lock)) {
			ret = -EBUSY;
			continue;
		}
		/* Under the mapping lock no lookup can take a new reference. */
		if (atomic_load(&folio->refcount) != 1) {
			pthread_rwlock_unlock(&mapping->lock);
			continue;
		}
		GFS_BUG_ON(folio_test_flag(folio, FOLIO_LOCKED | FOLIO_DIRTY | FOLIO_WRITEBACK));
		GFS_BUG_ON(cache_index_erase(&mapping->index, folio->index) != folio);
		cache_lru_del(cache, folio);
		folio->mapping = NULL;
		pthread_rwlock_unlock(&mapping->lock);
		pthread_mutex_unlock(&cache->lru_lock);
		atomic_fetch_add_explicit(&cache->evictions, 1, memory_order_relaxed);
		folio_put(folio);
		return 0;
	}
	pthread_mutex_unlock(&cache->lru_lock);
	return ret;
}

/* ---- budget ---- */

static bool cache_try_charge(struct cache *cache)
{
	uint64_t size = cache->opts.folio_size;
	uint64_t used = atomic_load(&cache->bytes_used), peak;

	do {
		if (used + size > cache->opts.budget_bytes)
			return false;
	} while (!atomic_compare_exchange_weak(&cache->bytes_used, &used, used + size));
	peak = atomic_load(&cache->peak_bytes);
	while (used + size > peak &&
	       !atomic_compare_exchange_weak(&cache->peak_bytes, &peak, used + size))
		;
	return true;
}

/* Reserves one folio of budget, evicting or waiting for writeback as needed. */
static int cache_reserve(struct cache *cache, bool nowait)
{
	bool waited = false;
	int ret;

	if (cache_try_charge(cache))
		return 0;
	cache_wait_begin(cache);
	for (;;) {
		uint64_t seq = atomic_load(&cache->event_seq);

		if (cache_try_charge(cache)) {
			ret = 0;
			break;
		}
		ret = cache_evict_one(cache);
		if (ret == 0)
			continue;
		if (ret == -EBUSY) {
			sched_yield();
			continue;
		}
		if (nowait) {
			ret = -EAGAIN;
			break;
		}
		if (!waited) {
			waited = true;
			atomic_fetch_add_explicit(&cache->budget_waits, 1, memory_order_relaxed);
		}
		cache_request_writeback(cache, CACHE_WB_BUDGET, cache->opts.folio_size);
		cache_wait_event(cache, seq);
	}
	cache_wait_end(cache);
	return ret;
}

void cache_folio_freed(struct cache *cache, unsigned size)
{
	atomic_fetch_sub(&cache->bytes_used, size);
	cache_wake(cache);
}

void cache_folio_released(struct cache *cache)
{
	cache_wake(cache);
}

/* ---- dirty accounting ---- */

void cache_folio_dirtied(struct folio *folio)
{
	struct cache *cache = folio->cache;
	struct cache_mapping *mapping = folio->mapping;

	atomic_fetch_add(&cache->dirty_bytes, folio->size);
	if (mapping && atomic_fetch_add(&mapping->nr_dirty, 1) == 0) {
		atomic_store(&mapping->dirtied_ns, folio->dirtied_ns);
		if (cache->wb_ops.mapping_dirtied)
			cache->wb_ops.mapping_dirtied(mapping, cache->wb_arg);
	}
	cache_folio_lru_update(folio);
}

void cache_folio_cleaned(struct folio *folio)
{
	struct cache *cache = folio->cache;

	if (folio->mapping)
		atomic_fetch_sub(&folio->mapping->nr_dirty, 1);
	atomic_fetch_sub(&cache->dirty_bytes, folio->size);
	cache_folio_lru_update(folio);
	cache_wake(cache);
}

bool cache_dirty_over_background(struct cache *cache)
{
	return atomic_load(&cache->dirty_bytes) > cache->opts.dirty_background_bytes;
}

void cache_balance_dirty(struct cache *cache)
{
	uint64_t dirty = atomic_load(&cache->dirty_bytes);
	uint64_t bg = cache->opts.dirty_background_bytes;
	bool waited = false;

	if (dirty <= bg || !cache->wb_ops.writeback)
		return;
	cache_request_writeback(cache, CACHE_WB_BACKGROUND, dirty - bg);
	if (dirty <= cache->opts.dirty_limit_bytes)
		return;
	cache_wait_begin(cache);
	for (;;) {
		uint64_t seq = atomic_load(&cache->event_seq);

		dirty = atomic_load(&cache->dirty_bytes);
		if (dirty <= cache->opts.dirty_limit_bytes)
			break;
		if (!waited) {
			waited = true;
			atomic_fetch_add_explicit(&cache->throttles, 1, memory_order_relaxed);
		}
		cache_request_writeback(cache, CACHE_WB_THROTTLE, dirty - bg);
		cache_wait_event(cache, seq);
	}
	cache_wait_end(cache);
}

/* ---- mappings and lookup ---- */

int cache_mapping_create(struct cache *cache, uint64_t ino, void *owner, struct cache_mapping **out)
{
	struct cache_mapping *mapping = calloc(1, sizeof(*mapping));
	pthread_rwlockattr_t attr;

	if (!mapping)
		return -ENOMEM;
	mapping->cache = cache;
	mapping->ino = ino;
	mapping->owner = owner;
	/* Inserts must not starve behind a stream of cached reads. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&mapping->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	cache_index_init(&mapping->index);
	atomic_fetch_add(&cache->nr_mappings, 1);
	*out = mapping;
	return 0;
}

void cache_mapping_destroy(struct cache_mapping *mapping)
{
	struct cache *cache = mapping->cache;

	cache_truncate(mapping, 0);
	GFS_BUG_ON(mapping->index.nr_items != 0);
	GFS_BUG_ON(atomic_load(&mapping->nr_dirty) != 0);
	cache_index_destroy(&mapping->index);
	pthread_rwlock_destroy(&mapping->lock);
	free(mapping);
	atomic_fetch_sub(&cache->nr_mappings, 1);
}

uint64_t cache_mapping_ino(const struct cache_mapping *mapping)
{
	return mapping->ino;
}

void *cache_mapping_owner(const struct cache_mapping *mapping)
{
	return mapping->owner;
}

uint64_t cache_mapping_nr_folios(struct cache_mapping *mapping)
{
	uint64_t nr;

	pthread_rwlock_rdlock(&mapping->lock);
	nr = mapping->index.nr_items;
	pthread_rwlock_unlock(&mapping->lock);
	return nr;
}

uint64_t cache_mapping_nr_dirty(const struct cache_mapping *mapping)
{
	return atomic_load(&mapping->nr_dirty);
}

uint64_t cache_mapping_dirtied_ns(const struct cache_mapping *mapping)
{
	return atomic_load(&mapping->dirtied_ns);
}

static struct folio *cache_lookup(struct cache_mapping *mapping, uint64_t index)
{
	struct folio *folio;

	pthread_rwlock_rdlock(&mapping->lock);
	folio = cache_index_lookup(&mapping->index, index);
	if (folio)
		folio_get(folio);
	pthread_rwlock_unlock(&mapping->lock);
	return folio;
}

/*
 * Allocates a folio and inserts it, unless another thread inserted one first: then that one
 * is returned referenced and ours is freed. Returns 0, -EAGAIN or -ENOMEM.
 */
static int cache_create_folio(struct cache_mapping *mapping, uint64_t index, unsigned flags,
			      struct folio **out, bool *created)
{
	struct cache *cache = mapping->cache;
	struct folio *folio, *other;
	int ret;

	ret = cache_reserve(cache, flags & CACHE_GET_NOWAIT);
	if (ret)
		return ret;
	ret = folio_alloc(cache->opts.folio_size, cache->opts.block_size, index, &folio);
	if (ret) {
		cache_folio_freed(cache, cache->opts.folio_size);
		return ret;
	}
	folio->cache = cache;
	if (flags & CACHE_GET_LOCK)
		folio_trylock(folio); /* nobody else can see it yet */
	pthread_rwlock_wrlock(&mapping->lock);
	other = cache_index_lookup(&mapping->index, index);
	ret = other ? -EEXIST : cache_index_insert(&mapping->index, index, folio);
	if (ret) {
		if (other)
			folio_get(other);
		pthread_rwlock_unlock(&mapping->lock);
		if (flags & CACHE_GET_LOCK)
			folio_unlock(folio);
		folio_put(folio);
		*out = other;
		*created = false;
		return other ? 0 : ret;
	}
	folio_get(folio); /* the index's reference */
	pthread_mutex_lock(&cache->lru_lock);
	folio->mapping = mapping;
	lru_add_head(cache, folio);
	pthread_mutex_unlock(&cache->lru_lock);
	pthread_rwlock_unlock(&mapping->lock);
	*out = folio;
	*created = true;
	return 0;
}

int cache_get_folio(struct cache_mapping *mapping, uint64_t index, unsigned flags,
		    struct folio **out)
{
	struct cache *cache = mapping->cache;
	bool created, counted = false;
	struct folio *folio;
	int ret;

retry:
	folio = cache_lookup(mapping, index);
	if (folio) {
		if (!counted)
			atomic_fetch_add_explicit(&cache->hits, 1, memory_order_relaxed);
		if (!folio_test_flag(folio, FOLIO_REFERENCED))
			atomic_fetch_or(&folio->flags, FOLIO_REFERENCED);
		created = false;
	} else {
		if (!counted)
			atomic_fetch_add_explicit(&cache->misses, 1, memory_order_relaxed);
		if (!(flags & CACHE_GET_CREATE))
			return -ENOENT;
		ret = cache_create_folio(mapping, index, flags, &folio, &created);
		if (ret)
			return ret;
	}
	counted = true;
	if ((flags & CACHE_GET_LOCK) && !created) {
		if (flags & CACHE_GET_NOWAIT) {
			if (!folio_trylock(folio)) {
				folio_put(folio);
				return -EAGAIN;
			}
		} else {
			folio_lock(folio);
		}
		/* Truncated or invalidated while we waited: look again. */
		if (folio->mapping != mapping) {
			folio_unlock(folio);
			folio_put(folio);
			goto retry;
		}
	}
	*out = folio;
	return 0;
}

void cache_get_stats(struct cache *cache, struct cache_stats *out)
{
	out->hits = atomic_load(&cache->hits);
	out->misses = atomic_load(&cache->misses);
	out->evictions = atomic_load(&cache->evictions);
	out->bytes_used = atomic_load(&cache->bytes_used);
	out->peak_bytes = atomic_load(&cache->peak_bytes);
	out->dirty_bytes = atomic_load(&cache->dirty_bytes);
	out->budget_waits = atomic_load(&cache->budget_waits);
	out->throttles = atomic_load(&cache->throttles);
	out->budget_bytes = cache->opts.budget_bytes;
}

void cache_reset_peak(struct cache *cache)
{
	atomic_store(&cache->peak_bytes, atomic_load(&cache->bytes_used));
}
