/* SPDX-License-Identifier: MIT */
/*
 * cache_test.c - the cache suite: get-or-create (also racing on one index), the memory budget
 * under a workload ten times its size, LRU eviction order, what is never evicted, waiting
 * for writeback when nothing is evictable, dirty thresholds and throttling, the dirty folio
 * batch for zero range, invalidation, truncation, and allocation failures.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "core/cache.h"
#include "tests/cache/cache_test_util.h"

#define BS 4096u
#define FS (16u * BS)

static struct cache *new_cache(uint64_t budget_folios)
{
	struct cache_options opts = {.budget_bytes = budget_folios * FS, .folio_size = FS};
	struct cache *cache;

	ck_assert_int_eq(cache_create(&opts, &cache), 0);
	return cache;
}

static struct cache_mapping *new_mapping(struct cache *cache, uint64_t ino)
{
	struct cache_mapping *mapping;

	ck_assert_int_eq(cache_mapping_create(cache, ino, NULL, &mapping), 0);
	return mapping;
}

/* Brings a folio into the cache as a read would: created locked, filled, uptodate. */
static struct folio *read_folio(struct cache_mapping *mapping, uint64_t index)
{
	struct folio *folio;

	ck_assert_int_eq(cache_get_folio(mapping, index, CACHE_GET_CREATE | CACHE_GET_LOCK, &folio),
			 0);
	if (!folio_is_uptodate(folio)) {
		memset(folio_data(folio), (int)index, FS);
		ck_assert_int_eq(folio_mark_uptodate_range(folio, 0, FS), 0);
	}
	folio_unlock(folio);
	return folio;
}

static void cache_folio(struct cache_mapping *mapping, uint64_t index)
{
	folio_put(read_folio(mapping, index));
}

static void dirty_folio(struct cache_mapping *mapping, uint64_t index, unsigned off, unsigned len)
{
	struct folio *folio = read_folio(mapping, index);

	folio_lock(folio);
	ck_assert_int_eq(folio_mark_dirty_range(folio, off, len), 0);
	folio_unlock(folio);
	folio_put(folio);
}

static bool is_cached(struct cache_mapping *mapping, uint64_t index)
{
	struct folio_batch batch;
	uint64_t i = index;
	bool found;

	folio_batch_init(&batch);
	found = cache_find_folios(mapping, &i, index, CACHE_FIND_ALL, &batch) == 1;
	folio_batch_release(&batch);
	return found;
}

static struct cache_stats stats_of(struct cache *cache)
{
	struct cache_stats st;

	cache_get_stats(cache, &st);
	return st;
}

START_TEST(create_rejects_bad_options)
{
	struct cache_options opts = {.budget_bytes = 16 * FS, .folio_size = FS};
	struct cache *cache;

	opts.folio_size = 3 * BS;
	ck_assert_int_eq(cache_create(&opts, &cache), -EINVAL);
	opts.folio_size = FS;
	opts.block_size = 2 * FS;
	ck_assert_int_eq(cache_create(&opts, &cache), -EINVAL);
	opts.block_size = 0;
	opts.budget_bytes = FS;
	ck_assert_int_eq(cache_create(&opts, &cache), -EINVAL);
	opts.budget_bytes = 16 * FS;
	opts.dirty_background_bytes = 8 * FS;
	opts.dirty_limit_bytes = 4 * FS;
	ck_assert_int_eq(cache_create(&opts, &cache), -EINVAL);
	opts.dirty_background_bytes = opts.dirty_limit_bytes = 0;
	ck_assert_int_eq(cache_create(&opts, &cache), 0);
	ck_assert_uint_eq(cache_folio_size(cache), FS);
	ck_assert_uint_eq(cache_block_size(cache), CACHE_DEFAULT_BLOCK_SIZE);
	cache_destroy(cache);
}
END_TEST

START_TEST(get_creates_once_then_hits)
{
	struct cache *cache = new_cache(16);
	struct cache_mapping *mapping = new_mapping(cache, 5);
	struct folio *a, *b;

	ck_assert_int_eq(cache_get_folio(mapping, 3, 0, &a), -ENOENT);
	ck_assert_int_eq(cache_get_folio(mapping, 3, CACHE_GET_CREATE, &a), 0);
	ck_assert(!folio_is_locked(a) && !folio_is_uptodate(a));
	ck_assert_uint_eq(folio_pos(a), 3ull * FS);
	ck_assert_int_eq(cache_get_folio(mapping, 3, CACHE_GET_LOCK, &b), 0);
	ck_assert_ptr_eq(a, b);
	ck_assert(folio_is_locked(b));
	ck_assert_int_eq(cache_get_folio(mapping, 3, CACHE_GET_LOCK | CACHE_GET_NOWAIT, &b),
			 -EAGAIN);
	folio_unlock(a);
	folio_put(a);
	folio_put(a);
	ck_assert_uint_eq(stats_of(cache).hits, 2);
	ck_assert_uint_eq(stats_of(cache).misses, 2);
	ck_assert_uint_eq(cache_mapping_nr_folios(mapping), 1);
	ck_assert_uint_eq(cache_mapping_ino(mapping), 5);
	cache_mapping_destroy(mapping);
	ck_assert_uint_eq(stats_of(cache).bytes_used, 0);
	cache_destroy(cache);
}
END_TEST

START_TEST(budget_never_exceeded_by_ten_times_its_size)
{
	struct cache *cache = new_cache(16);
	struct cache_mapping *mapping = new_mapping(cache, 1);
	struct cache_stats st;

	for (uint64_t i = 0; i < 160; i++) {
		cache_folio(mapping, i);
		ck_assert_uint_le(stats_of(cache).bytes_used, 16 * FS);
	}
	st = stats_of(cache);
	ck_assert_uint_le(st.peak_bytes, st.budget_bytes);
	ck_assert_uint_eq(st.peak_bytes, 16 * FS);
	ck_assert_uint_eq(st.evictions, 160 - 16);
	ck_assert_uint_eq(cache_mapping_nr_folios(mapping), 16);
	/* The most recent 16 are the ones kept. */
	for (uint64_t i = 144; i < 160; i++)
		ck_assert(is_cached(mapping, i));
	cache_mapping_destroy(mapping);
	cache_destroy(cache);
}
END_TEST

struct budget_thread {
	struct cache_mapping *mapping;
	uint64_t seed;
};

static void *read_random_folios(void *p)
{
	struct budget_thread *t = p;
	struct test_rng rng = {t->seed};

	for (int i = 0; i < 2000; i++)
		cache_folio(t->mapping, rng_below(&rng, 200));
	return NULL;
}

START_TEST(budget_never_exceeded_with_threads_and_files)
{
	uint64_t seed = test_seed("budget_never_exceeded_with_threads_and_files");
	struct cache *cache = new_cache(8);
	struct budget_thread t[4];
	pthread_t threads[4];
	struct cache_stats st;

	for (int i = 0; i < 4; i++) {
		t[i].mapping = new_mapping(cache, i);
		t[i].seed = seed + i;
		pthread_create(&threads[i], NULL, read_random_folios, &t[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(threads[i], NULL);
	st = stats_of(cache);
	ck_assert_uint_le(st.peak_bytes, st.budget_bytes);
	ck_assert_uint_ge(st.evictions, 1);
	ck_assert_uint_eq(st.hits + st.misses, 4 * 2000);
	for (int i = 0; i < 4; i++)
		cache_mapping_destroy(t[i].mapping);
	ck_assert_uint_eq(stats_of(cache).bytes_used, 0);
	cache_destroy(cache);
}
END_TEST

START_TEST(lru_evicts_least_recently_used_first)
{
	struct cache *cache = new_cache(4);
	struct cache_mapping *mapping = new_mapping(cache, 1);
	const uint64_t evicted[] = {1, 2, 3, 0};

	for (uint64_t i = 0; i < 4; i++)
		cache_folio(mapping, i);
	cache_folio(mapping, 0); /* a hit: 0 becomes the most recently used */
	for (uint64_t i = 0; i < 4; i++) {
		cache_folio(mapping, 4 + i);
		ck_assert_msg(!is_cached(mapping, evicted[i]), "folio %llu should be evicted",
			      (unsigned long long)evicted[i]);
		for (uint64_t j = i + 1; j < 4; j++)
			ck_assert(is_cached(mapping, evicted[j]));
	}
	cache_mapping_destroy(mapping);
	cache_destroy(cache);
}
END_TEST

START_TEST(dirty_locked_and_referenced_folios_are_never_evicted)
{
	struct cache *cache = new_cache(4);
	struct cache_mapping *mapping = new_mapping(cache, 1);
	struct folio *locked, *held, *held2, *f;

	dirty_folio(mapping, 0, 0, FS);
	locked = read_folio(mapping, 1);
	folio_lock(locked);
	held = read_folio(mapping, 2);
	cache_folio(mapping, 3);
	held2 = read_folio(mapping, 4); /* evicts 3, the only idle folio */
	ck_assert(!is_cached(mapping, 3));
	ck_assert_int_eq(cache_get_folio(mapping, 5, CACHE_GET_CREATE | CACHE_GET_NOWAIT, &f),
			 -EAGAIN);
	ck_assert(is_cached(mapping, 0) && is_cached(mapping, 1) && is_cached(mapping, 2));
	ck_assert_uint_eq(stats_of(cache).dirty_bytes, FS);
	folio_put(held2);
	ck_assert_int_eq(cache_get_folio(mapping, 5, CACHE_GET_CREATE | CACHE_GET_NOWAIT, &f), 0);
	ck_assert(!is_cached(mapping, 4));
	folio_put(f);
	folio_unlock(locked);
	folio_put(locked);
	folio_put(held);
	ck_assert_uint_le(stats_of(cache).peak_bytes, 4 * FS);
	cache_mapping_destroy(mapping);
	ck_assert_uint_eq(stats_of(cache).dirty_bytes, 0);
	cache_destroy(cache);
}
END_TEST

/* A stand-in for the writeback layer: a flusher thread kicked by the cache's hook. */
struct flusher {
	struct cache_mapping *mapping;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned kicks[3];
	bool kicked, stop;
	unsigned max_per_kick; /* folios cleaned per kick */
	pthread_t thread;
};

static void flusher_kick(struct cache *cache, enum cache_wb_reason reason, uint64_t bytes,
			 void *arg)
{
	struct flusher *fl = arg;

	pthread_mutex_lock(&fl->lock);
	fl->kicks[reason]++;
	fl->kicked = true;
	pthread_cond_signal(&fl->cond);
	pthread_mutex_unlock(&fl->lock);
}

/* Writes back dirty folios as the writeback layer will: lock, init, (no I/O here), end. */
static unsigned flush_some(struct cache_mapping *mapping, unsigned max)
{
	struct folio_batch batch;
	uint64_t index = 0;
	unsigned done = 0;

	folio_batch_init(&batch);
	cache_find_folios(mapping, &index, UINT64_MAX, CACHE_FIND_DIRTY, &batch);
	for (unsigned i = 0; i < batch.nr && done < max; i++) {
		struct folio *folio = batch.folios[i];
		unsigned off = 0, len, submitted = 0;

		folio_lock(folio);
		if (folio_is_dirty(folio)) {
			ck_assert_int_eq(folio_writeback_init(folio), 0);
			while ((len = folio_find_dirty_range(folio, &off, FS))) {
				submitted += len;
				off += len;
			}
			folio_writeback_end(folio, submitted);
			folio_finish_write_range(folio, 0, submitted, 0); /* "I/O" completes */
			done++;
		}
		folio_unlock(folio);
	}
	folio_batch_release(&batch);
	return done;
}

static void *flusher_main(void *arg)
{
	struct flusher *fl = arg;

	pthread_mutex_lock(&fl->lock);
	while (!fl->stop) {
		if (!fl->kicked) {
			pthread_cond_wait(&fl->cond, &fl->lock);
			continue;
		}
		fl->kicked = false;
		pthread_mutex_unlock(&fl->lock);
		flush_some(fl->mapping, fl->max_per_kick);
		pthread_mutex_lock(&fl->lock);
	}
	pthread_mutex_unlock(&fl->lock);
	return NULL;
}

static void flusher_start(struct flusher *fl, struct cache *cache, struct cache_mapping *mapping,
			  unsigned max_per_kick)
{
	struct cache_wb_ops ops = {.writeback = flusher_kick};

	memset(fl, 0, sizeof(*fl));
	fl->mapping = mapping;
	fl->max_per_kick = max_per_kick;
	pthread_mutex_init(&fl->lock, NULL);
	pthread_cond_init(&fl->cond, NULL);
	cache_set_wb_ops(cache, &ops, fl);
	pthread_create(&fl->thread, NULL, flusher_main, fl);
}

static void flusher_stop(struct flusher *fl)
{
	pthread_mutex_lock(&fl->lock);
	fl->stop = true;
	pthread_cond_signal(&fl->cond);
	pthread_mutex_unlock(&fl->lock);
	pthread_join(fl->thread, NULL);
}

START_TEST(allocation_waits_for_writeback_when_only_dirty_folios_remain)
{
	struct cache *cache = new_cache(4);
	struct cache_mapping *mapping = new_mapping(cache, 1);
	struct flusher fl;
	struct folio *folio;

	for (uint64_t i = 0; i < 4; i++)
		dirty_folio(mapping, i, BS, 2 * BS);
	ck_assert_int_eq(cache_get_folio(mapping, 9, CACHE_GET_CREATE | CACHE_GET_NOWAIT, &folio),
			 -EAGAIN);
	flusher_start(&fl, cache, mapping, 1);
	ck_assert_int_eq(cache_get_folio(mapping, 9, CACHE_GET_CREATE, &folio), 0);
	folio_put(folio);
	flusher_stop(&fl);
	ck_assert_uint_ge(fl.kicks[CACHE_WB_BUDGET], 1);
	ck_assert_uint_ge(stats_of(cache).budget_waits, 1);
	ck_assert_uint_le(stats_of(cache).peak_bytes, 4 * FS);
	ck_assert_uint_le(cache_mapping_nr_dirty(mapping), 3);
	cache_mapping_destroy(mapping);
	cache_destroy(cache);
}
END_TEST

START_TEST(writer_is_throttled_until_dirty_data_is_under_the_limit)
{
	struct cache_options opts = {.budget_bytes = 32 * FS,
				     .folio_size = FS,
				     .dirty_background_bytes = 4 * FS,
				     .dirty_limit_bytes = 8 * FS};
	struct cache_mapping *mapping;
	struct cache *cache;
	struct flusher fl;

	ck_assert_int_eq(cache_create(&opts, &cache), 0);
	mapping = new_mapping(cache, 1);
	for (uint64_t i = 0; i < 12; i++)
		dirty_folio(mapping, i, 0, BS);
	ck_assert(cache_dirty_over_background(cache));
	cache_balance_dirty(cache); /* no writeback hook: nothing to wait for */
	ck_assert_uint_eq(stats_of(cache).throttles, 0);

	flusher_start(&fl, cache, mapping, 1);
	cache_balance_dirty(cache);
	ck_assert_uint_le(stats_of(cache).dirty_bytes, 8 * FS);
	ck_assert_uint_eq(stats_of(cache).throttles, 1);
	flusher_stop(&fl);
	ck_assert_uint_ge(fl.kicks[CACHE_WB_BACKGROUND], 1);
	ck_assert_uint_ge(fl.kicks[CACHE_WB_THROTTLE], 1);
	flush_some(mapping, 100);
	ck_assert(!cache_dirty_over_background(cache));
	ck_assert_uint_eq(cache_mapping_nr_dirty(mapping), 0);
	cache_mapping_destroy(mapping);
	cache_destroy(cache);
}
END_TEST

static atomic_uint dirtied_calls;

static void count_dirtied(struct cache_mapping *mapping, void *arg)
{
	atomic_fetch_add(&dirtied_calls, 1);
}

START_TEST(mapping_dirtied_hook_runs_on_first_dirty_folio)
{
	struct cache *cache = new_cache(16);
	struct cache_mapping *mapping = new_mapping(cache, 1);
	struct cache_wb_ops ops = {.mapping_dirtied = count_dirtied};

	cache_set_wb_ops(cache, &ops, NULL);
	dirty_folio(mapping, 0, 0, BS);
	dirty_folio(mapping, 1, 0, BS);
	dirty_folio(mapping, 0, BS, BS); /* already dirty: no transition */
	ck_assert_uint_eq(atomic_load(&dirtied_calls), 1);
	ck_assert_uint_eq(cache_mapping_nr_dirty(mapping), 2);
	ck_assert_uint_ne(cache_mapping_dirtied_ns(mapping), 0);
	ck_assert_uint_eq(stats_of(cache).dirty_bytes, 2 * FS);
	flush_some(mapping, 100);
	dirty_folio(mapping, 2, 0, BS);
	ck_assert_uint_eq(atomic_load(&dirtied_calls), 2);
	cache_mapping_destroy(mapping);
	cache_destroy(cache);
}
END_TEST

START_TEST(fill_dirty_folios_batches_fifteen_and_advances_start)
{
	struct cache *cache = new_cache(64);
	struct cache_mapping *mapping = new_mapping(cache, 1);
	struct folio_batch batch;
	uint64_t start = 0, end = 40ull * FS, expect[21], prev_index = 0;
	unsigned nr_expect = 0, nr, got = 0, calls = 0;
	long allocs = 0;
	struct folio *wb;

	for (uint64_t i = 0; i < 40; i++) {
		if (i % 2)
			dirty_folio(mapping, i, BS, BS);
		else
			cache_folio(mapping, i);
	}
	/* Folio 10: clean but under writeback, so its data may still be the only copy. */
	wb = read_folio(mapping, 10);
	folio_lock(wb);
	ck_assert_int_eq(folio_mark_dirty_range(wb, 0, BS), 0);
	ck_assert_int_eq(folio_writeback_init(wb), 0);
	folio_writeback_end(wb, BS);
	folio_unlock(wb);
	for (uint64_t i = 0; i < 40; i++)
		if (i % 2 || i == 10)
			expect[nr_expect++] = i;

	while (start < end) {
		long before = test_alloc_calls();

		folio_batch_init(&batch);
		nr = cache_fill_dirty_folios(mapping, &start, end, &batch);
		allocs += test_alloc_calls() - before;
		calls++;
		ck_assert_uint_le(nr, FOLIO_BATCH_SIZE);
		for (unsigned i = 0; i < nr; i++) {
			ck_assert_uint_lt(got, nr_expect);
			ck_assert_uint_eq(batch.folios[i]->index, expect[got]);
			prev_index = batch.folios[i]->index;
			got++;
		}
		if (nr == FOLIO_BATCH_SIZE)
			ck_assert_uint_eq(start, (prev_index + 1) * FS);
		folio_batch_release(&batch);
	}
	ck_assert_int_eq(allocs, 0); /* the batch lives on the stack */
	ck_assert_uint_eq(got, nr_expect);
	ck_assert_uint_eq(calls, 2);
	ck_assert_uint_eq(start, end);

	/* Partial folios at both ends overlap; an empty range finds nothing. */
	start = 3ull * FS + 100;
	folio_batch_init(&batch);
	ck_assert_uint_eq(cache_fill_dirty_folios(mapping, &start, 5ull * FS + 1, &batch), 2);
	ck_assert_uint_eq(batch.folios[0]->index, 3);
	ck_assert_uint_eq(batch.folios[1]->index, 5);
	ck_assert_uint_eq(start, 5ull * FS + 1);
	folio_batch_release(&batch);
	ck_assert_uint_eq(cache_fill_dirty_folios(mapping, &start, start, &batch), 0);

	folio_finish_write_range(wb, 0, BS, 0);
	folio_put(wb);
	cache_mapping_destroy(mapping);
	cache_destroy(cache);
}
END_TEST

struct wait_range_arg {
	struct cache_mapping *mapping;
	atomic_bool done;
};

static void *wait_range(void *p)
{
	struct wait_range_arg *arg = p;

	cache_wait_writeback_range(arg->mapping, 0, 8ull * FS);
	atomic_store(&arg->done, true);
	return NULL;
}

START_TEST(range_needs_writeback_while_dirty_or_under_writeback)
{
	struct cache *cache = new_cache(16);
	struct cache_mapping *mapping = new_mapping(cache, 1);
	struct wait_range_arg arg = {.mapping = mapping};
	pthread_t thread;
	struct folio *folio;

	for (uint64_t i = 0; i < 8; i++)
		cache_folio(mapping, i);
	ck_assert(!cache_range_needs_writeback(mapping, 0, 8ull * FS));
	dirty_folio(mapping, 5, 0, BS);
	ck_assert(!cache_range_needs_writeback(mapping, 0, 5ull * FS));
	ck_assert(cache_range_needs_writeback(mapping, 6ull * FS - 1, 6ull * FS));
	ck_assert(!cache_range_needs_writeback(mapping, 6ull * FS, 8ull * FS));
	ck_assert(!cache_range_needs_writeback(mapping, 5ull * FS, 5ull * FS));

	ck_assert_int_eq(cache_get_folio(mapping, 5, CACHE_GET_LOCK, &folio), 0);
	ck_assert_int_eq(folio_writeback_init(folio), 0);
	folio_writeback_end(folio, BS);
	folio_unlock(folio);
	ck_assert(cache_range_needs_writeback(mapping, 0, 8ull * FS)); /* clean, in flight */
	pthread_create(&thread, NULL, wait_range, &arg);
	usleep(50 * 1000);
	ck_assert(!atomic_load(&arg.done));
	folio_finish_write_range(folio, 0, BS, 0);
	pthread_join(thread, NULL);
	ck_assert(atomic_load(&arg.done));
	ck_assert(!cache_range_needs_writeback(mapping, 0, 8ull * FS));
	folio_put(folio);
	cache_mapping_destroy(mapping);
	cache_destroy(cache);
}
END_TEST

struct invalidate_arg {
	struct cache_mapping *mapping;
	atomic_bool done;
	int ret;
};

static void *invalidate_all(void *p)
{
	struct invalidate_arg *arg = p;

	arg->ret = cache_invalidate_range(arg->mapping, 0, UINT64_MAX, NULL);
	atomic_store(&arg->done, true);
	return NULL;
}

START_TEST(invalidate_drops_clean_folios_reports_dirty_and_waits_for_writeback)
{
	struct cache *cache = new_cache(16);
	struct cache_mapping *mapping = new_mapping(cache, 1);
	struct invalidate_arg arg = {.mapping = mapping};
	struct folio *held, *wb;
	pthread_t thread;
	unsigned nr_dirty;

	for (uint64_t i = 0; i < 8; i++)
		cache_folio(mapping, i);
	dirty_folio(mapping, 2, 0, BS);
	dirty_folio(mapping, 6, 0, FS);
	held = read_folio(mapping, 4);
	ck_assert_int_eq(cache_invalidate_range(mapping, 0, 8ull * FS, &nr_dirty), -EBUSY);
	ck_assert_uint_eq(nr_dirty, 2);
	ck_assert_uint_eq(cache_mapping_nr_folios(mapping), 2);
	ck_assert(is_cached(mapping, 2) && is_cached(mapping, 6));
	ck_assert_ptr_null(held->mapping); /* gone from the index, alive while referenced */
	folio_put(held);
	ck_assert_uint_eq(stats_of(cache).bytes_used, 2 * FS);

	/* A folio under writeback is waited for, then dropped once clean. */
	for (uint64_t i = 0; i < 8; i++)
		flush_some(mapping, 100);
	wb = read_folio(mapping, 3);
	folio_lock(wb);
	ck_assert_int_eq(folio_mark_dirty_range(wb, 0, FS), 0);
	ck_assert_int_eq(folio_writeback_init(wb), 0);
	folio_writeback_end(wb, FS);
	folio_unlock(wb);
	pthread_create(&thread, NULL, invalidate_all, &arg);
	usleep(50 * 1000);
	ck_assert(!atomic_load(&arg.done));
	folio_finish_write_range(wb, 0, FS, 0);
	pthread_join(thread, NULL);
	ck_assert_int_eq(arg.ret, 0);
	ck_assert_uint_eq(cache_mapping_nr_folios(mapping), 0);
	folio_put(wb);
	ck_assert_uint_eq(stats_of(cache).bytes_used, 0);
	cache_mapping_destroy(mapping);
	cache_destroy(cache);
}
END_TEST

START_TEST(truncate_drops_folios_past_size_and_zeroes_the_straddling_tail)
{
	struct cache *cache = new_cache(16);
	struct cache_mapping *mapping = new_mapping(cache, 1);
	uint64_t size = 3ull * FS + BS + 100; /* inside block 1 of folio 3 */
	struct folio *folio, *held;
	unsigned char *data;

	for (uint64_t i = 0; i < 8; i++)
		dirty_folio(mapping, i, 0, FS);
	held = read_folio(mapping, 7);
	ck_assert_uint_eq(stats_of(cache).dirty_bytes, 8 * FS);
	cache_truncate(mapping, size);
	ck_assert_uint_eq(cache_mapping_nr_folios(mapping), 4);
	ck_assert_uint_eq(cache_mapping_nr_dirty(mapping), 4);
	ck_assert_uint_eq(stats_of(cache).dirty_bytes, 4 * FS);
	ck_assert(!folio_is_dirty(held) && held->mapping == NULL);
	folio_put(held);

	ck_assert_int_eq(cache_get_folio(mapping, 3, CACHE_GET_LOCK, &folio), 0);
	data = folio_data(folio);
	for (unsigned i = 0; i < FS; i++)
		ck_assert_uint_eq(data[i], i < BS + 100 ? 3 : 0);
	ck_assert(folio_block_is_dirty(folio, 0) && folio_block_is_dirty(folio, 1));
	for (unsigned b = 2; b < 16; b++)
		ck_assert(!folio_block_is_dirty(folio, b));
	ck_assert(folio_is_uptodate(folio));
	folio_unlock(folio);
	folio_put(folio);

	cache_truncate(mapping, 0);
	ck_assert_uint_eq(cache_mapping_nr_folios(mapping), 0);
	ck_assert_uint_eq(stats_of(cache).dirty_bytes, 0);
	ck_assert_uint_eq(stats_of(cache).bytes_used, 0);
	cache_mapping_destroy(mapping);
	cache_destroy(cache);
}
END_TEST

struct race_arg {
	struct cache_mapping *mapping;
	pthread_barrier_t *barrier;
	struct folio *got[100];
	long *locked_counter;
};

static void *get_same_indices(void *p)
{
	struct race_arg *arg = p;

	for (uint64_t i = 0; i < 100; i++) {
		pthread_barrier_wait(arg->barrier);
		ck_assert_int_eq(cache_get_folio(arg->mapping, i, CACHE_GET_CREATE | CACHE_GET_LOCK,
						 &arg->got[i]),
				 0);
		(*arg->locked_counter)++; /* only under the folio lock */
		folio_unlock(arg->got[i]);
	}
	return NULL;
}

START_TEST(concurrent_get_or_create_on_one_index_returns_one_folio)
{
	struct cache *cache = new_cache(128);
	struct cache_mapping *mapping = new_mapping(cache, 1);
	struct race_arg args[6];
	pthread_barrier_t barrier;
	pthread_t threads[6];
	long counter = 0;

	pthread_barrier_init(&barrier, NULL, 6);
	for (int t = 0; t < 6; t++) {
		args[t] = (struct race_arg){
			.mapping = mapping, .barrier = &barrier, .locked_counter = &counter};
		pthread_create(&threads[t], NULL, get_same_indices, &args[t]);
	}
	for (int t = 0; t < 6; t++)
		pthread_join(threads[t], NULL);
	pthread_barrier_destroy(&barrier);
	ck_assert_int_eq(counter, 6 * 100);
	for (int i = 0; i < 100; i++)
		for (int t = 1; t < 6; t++)
			ck_assert_ptr_eq(args[t].got[i], args[0].got[i]);
	ck_assert_uint_eq(cache_mapping_nr_folios(mapping), 100);
	ck_assert_uint_eq(stats_of(cache).bytes_used, 100ull * FS);
	for (int t = 0; t < 6; t++)
		for (int i = 0; i < 100; i++)
			folio_put(args[t].got[i]);
	cache_mapping_destroy(mapping);
	cache_destroy(cache);
}
END_TEST

struct lock_race {
	struct cache_mapping *mapping;
	struct cache_mapping *seen_mapping;
};

static void *get_locked(void *p)
{
	struct lock_race *r = p;
	struct folio *folio;

	ck_assert_int_eq(cache_get_folio(r->mapping, 3, CACHE_GET_CREATE | CACHE_GET_LOCK, &folio),
			 0);
	r->seen_mapping = folio->mapping; /* stable under the folio lock */
	folio_unlock(folio);
	folio_put(folio);
	return NULL;
}

static void *truncate_all(void *p)
{
	cache_truncate(p, 0);
	return NULL;
}

START_TEST(get_with_lock_never_returns_a_truncated_folio)
{
	struct cache *cache = new_cache(16);
	struct cache_mapping *mapping = new_mapping(cache, 1);

	for (int i = 0; i < 50; i++) {
		struct lock_race r = {.mapping = mapping};
		struct folio *folio = read_folio(mapping, 3);
		pthread_t getter, truncater;

		/* Both wait for the folio lock; whichever wins, the getter sees a live folio. */
		folio_lock(folio);
		pthread_create(&getter, NULL, get_locked, &r);
		pthread_create(&truncater, NULL, truncate_all, mapping);
		usleep(1000);
		folio_unlock(folio);
		folio_put(folio);
		pthread_join(getter, NULL);
		pthread_join(truncater, NULL);
		ck_assert_ptr_eq(r.seen_mapping, mapping);
	}
	cache_mapping_destroy(mapping);
	ck_assert_uint_eq(stats_of(cache).bytes_used, 0);
	cache_destroy(cache);
}
END_TEST

START_TEST(allocation_failures_return_enomem_and_release_budget)
{
	struct cache *cache = new_cache(16);
	struct cache_mapping *mapping = new_mapping(cache, 1);
	struct cache_options opts = {.budget_bytes = 16 * FS};
	struct cache_mapping *m2 = NULL;
	struct folio *folio = NULL;
	struct cache *c2 = NULL;
	int ret;

	/* The folio struct, its buffer, then the 4 index nodes above key 2^20 in an empty tree. */
	for (long ok = 0; ok < 6; ok++) {
		test_alloc_fail_after(ok);
		ret = cache_get_folio(mapping, 1ull << 20, CACHE_GET_CREATE, &folio);
		test_alloc_disarm(); /* before any ck_assert: Check allocates too */
		ck_assert_int_eq(ret, -ENOMEM);
		ck_assert_uint_eq(stats_of(cache).bytes_used, 0);
		ck_assert_uint_eq(cache_mapping_nr_folios(mapping), 0);
	}
	ck_assert_int_eq(cache_get_folio(mapping, 1ull << 20, CACHE_GET_CREATE, &folio), 0);
	folio_put(folio);
	test_alloc_fail_after(0);
	ret = cache_create(&opts, &c2);
	test_alloc_disarm();
	ck_assert_int_eq(ret, -ENOMEM);
	test_alloc_fail_after(0);
	ret = cache_mapping_create(cache, 2, NULL, &m2);
	test_alloc_disarm();
	ck_assert_int_eq(ret, -ENOMEM);
	ck_assert_ptr_null(c2);
	ck_assert_ptr_null(m2);
	cache_mapping_destroy(mapping);
	cache_destroy(cache);
}
END_TEST

static Suite *cache_suite(void)
{
	Suite *s = suite_create("cache");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, create_rejects_bad_options);
	tcase_add_test(tc, get_creates_once_then_hits);
	tcase_add_test(tc, budget_never_exceeded_by_ten_times_its_size);
	tcase_add_test(tc, budget_never_exceeded_with_threads_and_files);
	tcase_add_test(tc, lru_evicts_least_recently_used_first);
	tcase_add_test(tc, dirty_locked_and_referenced_folios_are_never_evicted);
	tcase_add_test(tc, allocation_waits_for_writeback_when_only_dirty_folios_remain);
	tcase_add_test(tc, writer_is_throttled_until_dirty_data_is_under_the_limit);
	tcase_add_test(tc, mapping_dirtied_hook_runs_on_first_dirty_folio);
	tcase_add_test(tc, fill_dirty_folios_batches_fifteen_and_advances_start);
	tcase_add_test(tc, range_needs_writeback_while_dirty_or_under_writeback);
	tcase_add_test(tc, invalidate_drops_clean_folios_reports_dirty_and_waits_for_writeback);
	tcase_add_test(tc, truncate_drops_folios_past_size_and_zeroes_the_straddling_tail);
	tcase_add_test(tc, concurrent_get_or_create_on_one_index_returns_one_folio);
	tcase_add_test(tc, get_with_lock_never_returns_a_truncated_folio);
	tcase_add_test(tc, allocation_failures_return_enomem_and_release_budget);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(cache_suite());
}
