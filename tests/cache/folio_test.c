/* SPDX-License-Identifier: MIT */
/*
 * folio_test.c - the folio suite: per-block uptodate/dirty state at every alignment, read and
 * writeback completion accounting (out of order, from several threads, with errors, counted
 * to N + 2 atomic operations), no state for whole-folio writes, the lock and writeback waits,
 * allocation failures, and the invariants asserted when a folio is freed.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "core/folio.h"
#include "tests/cache/cache_test_util.h"

#define BS  4096u
#define BPF 16u
#define FS  (BPF * BS)

static struct folio *new_folio(void)
{
	struct folio *folio;

	ck_assert_int_eq(folio_alloc(FS, BS, 7, &folio), 0);
	return folio;
}

/* Bit b set when block b passes test. */
static uint32_t block_mask(const struct folio *folio,
			   bool (*test)(const struct folio *folio, unsigned block))
{
	uint32_t mask = 0;

	for (unsigned b = 0; b < folio_nr_blocks(folio); b++)
		if (test(folio, b))
			mask |= 1u << b;
	return mask;
}

static uint32_t uptodate_mask(const struct folio *folio)
{
	return block_mask(folio, folio_block_is_uptodate);
}

static uint32_t dirty_mask(const struct folio *folio)
{
	return block_mask(folio, folio_block_is_dirty);
}

static uint32_t blocks(unsigned first, unsigned nr)
{
	return nr ? (uint32_t)(((1ull << nr) - 1) << first) : 0;
}

/* Drop a test folio: clean it and unlock it so the free-time invariants hold. */
static void drop_folio(struct folio *folio)
{
	if (!folio_is_locked(folio))
		folio_lock(folio);
	folio_cancel_dirty(folio);
	folio_unlock(folio);
	folio_put(folio);
}

START_TEST(alloc_rejects_bad_geometry)
{
	struct folio *folio;

	ck_assert_int_eq(folio_alloc(3 * BS, BS, 0, &folio), -EINVAL);
	ck_assert_int_eq(folio_alloc(FS, 3000, 0, &folio), -EINVAL);
	ck_assert_int_eq(folio_alloc(FS, 256, 0, &folio), -EINVAL);
	ck_assert_int_eq(folio_alloc(BS, FS, 0, &folio), -EINVAL);
	ck_assert_int_eq(folio_alloc(0, BS, 0, &folio), -EINVAL);
	ck_assert_int_eq(folio_alloc(FS, BS, 3, &folio), 0);
	ck_assert_uint_eq(folio_pos(folio), 3ull * FS);
	ck_assert_uint_eq(folio_nr_blocks(folio), BPF);
	ck_assert_uint_eq((uintptr_t)folio_data(folio) % 4096, 0);
	ck_assert(!folio_has_state(folio) && !folio_is_uptodate(folio) && !folio_is_dirty(folio));
	folio_put(folio);
}
END_TEST

START_TEST(partial_write_marks_exact_blocks_at_every_alignment)
{
	for (unsigned first = 0; first < BPF; first++) {
		for (unsigned nr = 1; first + nr <= BPF; nr++) {
			struct folio *folio = new_folio();
			bool whole = nr == BPF;
			unsigned off = first * BS, len = nr * BS, run_off = 0, run;

			folio_lock(folio);
			ck_assert_int_eq(folio_mark_uptodate_range(folio, off, len), 0);
			ck_assert_uint_eq(uptodate_mask(folio), blocks(first, nr));
			ck_assert(folio_is_uptodate(folio) == whole);
			ck_assert(folio_has_state(folio) == !whole);
			ck_assert(folio_range_is_uptodate(folio, off, len));
			if (first > 0)
				ck_assert(!folio_range_is_uptodate(folio, off - 1, len));
			ck_assert_int_eq(folio_mark_dirty_range(folio, off, len), 0);
			ck_assert_uint_eq(dirty_mask(folio), blocks(first, nr));
			ck_assert(folio_is_dirty(folio));
			run = folio_find_dirty_range(folio, &run_off, FS);
			ck_assert_uint_eq(run_off, off);
			ck_assert_uint_eq(run, len);
			run_off = off + len;
			ck_assert_uint_eq(folio_find_dirty_range(folio, &run_off, FS), 0);

			/* Clearing rounds inward: the partly cleared first block stays dirty. */
			folio_clear_dirty_range(folio, off + 1, len - 1);
			ck_assert_uint_eq(dirty_mask(folio), blocks(first, 1));
			ck_assert(folio_is_dirty(folio));
			folio_clear_dirty_range(folio, off, len);
			ck_assert_uint_eq(dirty_mask(folio), 0);
			ck_assert(!folio_is_dirty(folio));
			/* Setting rounds outward: one byte dirties its block. */
			ck_assert_int_eq(folio_mark_dirty_range(folio, off + len - 1, 1), 0);
			ck_assert_uint_eq(dirty_mask(folio), blocks(first + nr - 1, 1));
			drop_folio(folio);
		}
	}
}
END_TEST

START_TEST(byte_ranges_round_outward_to_set_and_inward_to_clear_dirty)
{
	const unsigned step = 512;

	for (unsigned start = 0; start < FS; start += step) {
		for (unsigned len = step; start + len <= FS; len += 3 * step) {
			struct folio *folio = new_folio();
			unsigned first = start / BS, last = (start + len - 1) / BS;
			unsigned cfirst = (start + BS - 1) / BS, cend = (start + len) / BS;
			uint32_t set = blocks(first, last - first + 1);
			uint32_t cleared = cend > cfirst ? blocks(cfirst, cend - cfirst) : 0;

			folio_lock(folio);
			ck_assert_int_eq(folio_mark_uptodate_range(folio, start, len), 0);
			ck_assert_uint_eq(uptodate_mask(folio), set);
			ck_assert_int_eq(folio_mark_dirty_range(folio, start, len), 0);
			ck_assert_uint_eq(dirty_mask(folio), set);
			folio_clear_dirty_range(folio, start, len);
			ck_assert_uint_eq(dirty_mask(folio), set & ~cleared);
			ck_assert(folio_is_dirty(folio) == ((set & ~cleared) != 0));
			drop_folio(folio);
		}
	}
}
END_TEST

START_TEST(whole_folio_write_allocates_no_state)
{
	struct folio *folio = new_folio(), *one;
	unsigned off = 0;

	folio_lock(folio);
	ck_assert_int_eq(folio_mark_uptodate_range(folio, 0, FS), 0);
	ck_assert_int_eq(folio_mark_dirty_range(folio, 0, FS), 0);
	ck_assert(!folio_has_state(folio));
	ck_assert(folio_is_uptodate(folio) && folio_is_dirty(folio));
	ck_assert_uint_eq(dirty_mask(folio), blocks(0, BPF));
	ck_assert_uint_eq(folio_find_dirty_range(folio, &off, FS), FS);
	/* A later partial write into a wholly dirty folio still needs no state. */
	ck_assert_int_eq(folio_mark_dirty_range(folio, BS, 10), 0);
	ck_assert(!folio_has_state(folio));
	/* Partially cleaning it does: the state is seeded from the flags. */
	folio_clear_dirty_range(folio, 0, BS);
	ck_assert(folio_has_state(folio));
	ck_assert_uint_eq(dirty_mask(folio), blocks(1, BPF - 1));
	ck_assert_uint_eq(uptodate_mask(folio), blocks(0, BPF));
	drop_folio(folio);

	/* A one-block folio never has state, whatever the range. */
	ck_assert_int_eq(folio_alloc(BS, BS, 0, &one), 0);
	folio_lock(one);
	ck_assert_int_eq(folio_mark_uptodate_range(one, 100, 10), 0);
	ck_assert(folio_is_uptodate(one));
	ck_assert_int_eq(folio_mark_dirty_range(one, 100, 10), 0);
	ck_assert(!folio_has_state(one));
	drop_folio(one);
}
END_TEST

START_TEST(clear_uptodate_keeps_other_blocks)
{
	struct folio *folio = new_folio();

	folio_lock(folio);
	ck_assert_int_eq(folio_mark_uptodate_range(folio, 0, FS), 0);
	ck_assert(!folio_has_state(folio));
	ck_assert_int_eq(folio_clear_uptodate_range(folio, BS + 1, 1), 0);
	ck_assert(!folio_is_uptodate(folio));
	ck_assert_uint_eq(uptodate_mask(folio), blocks(0, BPF) & ~blocks(1, 1));
	ck_assert_int_eq(folio_mark_uptodate_range(folio, BS, BS), 0);
	ck_assert(folio_is_uptodate(folio));
	ck_assert_int_eq(folio_clear_uptodate_range(folio, 0, FS), 0);
	ck_assert_uint_eq(uptodate_mask(folio), 0);
	drop_folio(folio);
}
END_TEST

/* ---- reads ---- */

START_TEST(read_ends_once_after_last_range_and_not_before)
{
	struct folio *folio = new_folio();

	folio_lock(folio);
	ck_assert_int_eq(folio_read_init(folio), 0);
	ck_assert_uint_eq(folio_read_bytes_pending(folio), FS);
	/* Blocks 0-3 are a hole: zeroed, not submitted. */
	memset(folio_data(folio), 0, 4 * BS);
	ck_assert_int_eq(folio_mark_uptodate_range(folio, 0, 4 * BS), 0);
	folio_finish_read_range(folio, 8 * BS, 8 * BS, 0); /* completes before read_end */
	ck_assert(folio_is_locked(folio));
	folio_read_end(folio, 12 * BS);
	ck_assert(folio_is_locked(folio));
	ck_assert_uint_eq(folio_read_bytes_pending(folio), 4 * BS);
	folio_finish_read_range(folio, 4 * BS, 4 * BS, 0);
	ck_assert(!folio_is_locked(folio));
	ck_assert(folio_is_uptodate(folio) && !folio_has_error(folio));
	ck_assert_uint_eq(folio_read_bytes_pending(folio), 0);
	ck_assert_uint_eq(folio_pending_ops(folio), 2 + 2);
	folio_put(folio);
}
END_TEST

struct read_job {
	struct folio *folio;
	unsigned off[BPF], len[BPF], err[BPF];
	unsigned nr;	    /* submitted ranges, in completion order */
	unsigned submitted; /* bytes */
	uint32_t pre, holes, failed;
	atomic_uint next;
	pthread_barrier_t start;
};

static void *complete_ranges(void *arg)
{
	struct read_job *job = arg;
	unsigned i;

	pthread_barrier_wait(&job->start);
	while ((i = atomic_fetch_add(&job->next, 1)) < job->nr)
		folio_finish_read_range(job->folio, job->off[i], job->len[i],
					job->err[i] ? -EIO : 0);
	return NULL;
}

static void swap_ranges(struct read_job *job, unsigned i, unsigned j)
{
	unsigned off = job->off[i], len = job->len[i], err = job->err[i];

	job->off[i] = job->off[j];
	job->len[i] = job->len[j];
	job->err[i] = job->err[j];
	job->off[j] = off;
	job->len[j] = len;
	job->err[j] = err;
}

/*
 * Some blocks already uptodate, the rest split into runs of 1-4 blocks: holes (zeroed by the
 * submitter) or submitted ranges, one in eight failing, completed in a random order.
 */
static void plan_random_read(struct test_rng *rng, struct read_job *job)
{
	bool whole = rng_below(rng, 8) == 0; /* all submitted: nothing left for read_end */
	unsigned b = 0;

	job->pre = (uint32_t)rng_below(rng, 1u << BPF) & (uint32_t)rng_next(rng);
	if (job->pre == blocks(0, BPF) || whole)
		job->pre = 0;
	while (b < BPF) {
		unsigned run = 1 + rng_below(rng, 4);

		if (job->pre & (1u << b)) {
			b++;
			continue;
		}
		while (b + run > BPF || (blocks(b, run) & job->pre))
			run--;
		if (!whole && rng_below(rng, 4) == 0) {
			job->holes |= blocks(b, run);
		} else {
			job->off[job->nr] = b * BS;
			job->len[job->nr] = run * BS;
			job->err[job->nr] = rng_below(rng, 8) == 0;
			if (job->err[job->nr])
				job->failed |= blocks(b, run);
			job->submitted += run * BS;
			job->nr++;
		}
		b += run;
	}
	for (unsigned i = job->nr; i > 1; i--)
		swap_ranges(job, i - 1, rng_below(rng, i));
}

/* The submitter zeroes holes and calls read_end while four threads complete the ranges. */
static void run_random_read(struct test_rng *rng)
{
	struct read_job job = {.folio = new_folio()};
	pthread_t threads[4];

	plan_random_read(rng, &job);
	folio_lock(job.folio);
	for (unsigned i = 0; i < BPF; i++)
		if (job.pre & (1u << i))
			ck_assert_int_eq(folio_mark_uptodate_range(job.folio, i * BS, BS), 0);
	ck_assert_int_eq(folio_read_init(job.folio), 0);
	atomic_init(&job.next, 0);
	pthread_barrier_init(&job.start, NULL, 5);
	for (unsigned i = 0; i < 4; i++)
		pthread_create(&threads[i], NULL, complete_ranges, &job);
	pthread_barrier_wait(&job.start);
	for (unsigned i = 0; i < BPF; i++)
		if (job.holes & (1u << i))
			ck_assert_int_eq(folio_mark_uptodate_range(job.folio, i * BS, BS), 0);
	folio_read_end(job.folio, job.submitted);
	for (unsigned i = 0; i < 4; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&job.start);

	ck_assert_msg(!folio_is_locked(job.folio), "read never ended");
	ck_assert_uint_eq(folio_read_bytes_pending(job.folio), 0);
	ck_assert_uint_eq(uptodate_mask(job.folio), blocks(0, BPF) & ~job.failed);
	ck_assert(folio_is_uptodate(job.folio) == !job.failed);
	ck_assert(folio_has_error(job.folio) == !!job.failed);
	ck_assert_uint_eq(folio_pending_ops(job.folio), job.nr + (job.submitted == FS ? 1 : 2));
	folio_put(job.folio);
}

START_TEST(reads_completing_out_of_order_end_exactly_once)
{
	struct test_rng rng = {test_seed("reads_completing_out_of_order_end_exactly_once")};

	for (int i = 0; i < 300; i++)
		run_random_read(&rng);
}
END_TEST

START_TEST(read_error_in_one_range_leaves_other_ranges_uptodate)
{
	struct folio *folio = new_folio();

	folio_lock(folio);
	ck_assert_int_eq(folio_read_init(folio), 0);
	folio_finish_read_range(folio, 12 * BS, 4 * BS, 0);
	folio_finish_read_range(folio, 4 * BS, 4 * BS, -EIO);
	folio_finish_read_range(folio, 0, 4 * BS, 0);
	folio_read_end(folio, FS);
	ck_assert(folio_is_locked(folio)); /* blocks 8-11 still in flight */
	folio_finish_read_range(folio, 8 * BS, 4 * BS, 0);
	ck_assert(!folio_is_locked(folio));
	ck_assert(!folio_is_uptodate(folio));
	ck_assert(folio_has_error(folio));
	ck_assert_uint_eq(uptodate_mask(folio), blocks(0, BPF) & ~blocks(4, 4));
	ck_assert(!folio_range_is_uptodate(folio, 4 * BS, 1));
	ck_assert(folio_range_is_uptodate(folio, 8 * BS, 8 * BS));

	/* A retry reads only the failed range; the error is forgotten on success. */
	folio_lock(folio);
	ck_assert_int_eq(folio_read_init(folio), 0);
	ck_assert(!folio_has_error(folio));
	folio_finish_read_range(folio, 4 * BS, 4 * BS, 0);
	folio_read_end(folio, 4 * BS);
	ck_assert(!folio_is_locked(folio));
	ck_assert(folio_is_uptodate(folio) && !folio_has_error(folio));
	folio_put(folio);
}
END_TEST

START_TEST(read_pending_accounting_costs_n_plus_2_atomic_ops)
{
	for (unsigned n = 1; n <= BPF; n++) {
		struct folio *folio = new_folio();

		folio_lock(folio);
		ck_assert_int_eq(folio_read_init(folio), 0);
		for (unsigned i = 0; i < n; i++)
			folio_finish_read_range(folio, i * BS, BS, 0);
		if (n < BPF) {
			ck_assert_int_eq(folio_mark_uptodate_range(folio, n * BS, FS - n * BS), 0);
			ck_assert(folio_is_locked(folio));
		}
		folio_read_end(folio, n * BS);
		ck_assert(!folio_is_locked(folio) && folio_is_uptodate(folio));
		/* Everything submitted: nothing left to subtract at read_end. */
		ck_assert_uint_eq(folio_pending_ops(folio), n < BPF ? n + 2 : n + 1);
		folio_put(folio);
	}
}
END_TEST

START_TEST(one_block_folio_read_ends_with_its_only_range)
{
	struct folio *folio;

	ck_assert_int_eq(folio_alloc(BS, BS, 0, &folio), 0);
	folio_lock(folio);
	ck_assert_int_eq(folio_read_init(folio), 0);
	ck_assert(!folio_has_state(folio));
	folio_finish_read_range(folio, 0, BS, -EIO);
	ck_assert(!folio_is_locked(folio) && !folio_is_uptodate(folio) && folio_has_error(folio));
	folio_lock(folio);
	ck_assert_int_eq(folio_read_init(folio), 0);
	folio_read_end(folio, 0); /* a hole: nothing submitted, the read ends here */
	ck_assert(!folio_is_locked(folio) && !folio_has_error(folio));
	folio_put(folio);
}
END_TEST

/* ---- writeback ---- */

static void dirty_blocks(struct folio *folio, uint32_t mask)
{
	ck_assert_int_eq(folio_mark_uptodate_range(folio, 0, FS), 0);
	for (unsigned b = 0; b < BPF; b++)
		if (mask & (1u << b))
			ck_assert_int_eq(folio_mark_dirty_range(folio, b * BS, BS), 0);
}

START_TEST(writeback_pending_accounting_costs_n_plus_2_atomic_ops)
{
	for (unsigned n = 1; n <= BPF / 2; n++) {
		struct folio *folio = new_folio();
		unsigned off = 0, len, runs = 0, submitted = 0, offs[BPF], lens[BPF];
		uint32_t mask = 0;

		for (unsigned i = 0; i < n; i++)
			mask |= 1u << (2 * i); /* n separate runs */
		folio_lock(folio);
		dirty_blocks(folio, mask);
		ck_assert_int_eq(folio_writeback_init(folio), 0);
		ck_assert(folio_is_writeback(folio) && !folio_is_dirty(folio));
		while ((len = folio_find_dirty_range(folio, &off, FS))) {
			offs[runs] = off;
			lens[runs++] = len;
			submitted += len;
			off += len;
		}
		ck_assert_uint_eq(runs, n);
		folio_writeback_end(folio, submitted);
		ck_assert_uint_eq(dirty_mask(folio), 0);
		for (unsigned i = runs; i-- > 0;) {
			ck_assert(folio_is_writeback(folio));
			folio_finish_write_range(folio, offs[i], lens[i], 0);
		}
		ck_assert(!folio_is_writeback(folio) && !folio_has_error(folio));
		ck_assert_uint_eq(folio_pending_ops(folio), n + 2);
		folio_unlock(folio);
		folio_put(folio);
	}
}
END_TEST

struct wait_arg {
	struct folio *folio;
	atomic_bool done;
	bool saw_writeback_after_wait;
};

static void *wait_for_writeback(void *p)
{
	struct wait_arg *arg = p;

	folio_wait_writeback(arg->folio);
	arg->saw_writeback_after_wait = folio_is_writeback(arg->folio);
	atomic_store(&arg->done, true);
	return NULL;
}

START_TEST(writeback_of_dirty_runs_ends_once_and_wakes_waiters)
{
	struct folio *folio = new_folio();
	struct wait_arg arg = {.folio = folio};
	unsigned off = 0, len;
	unsigned exp_off[] = {1 * BS, 5 * BS, 9 * BS}, exp_len[] = {2 * BS, BS, 3 * BS};
	pthread_t thread;
	int runs = 0;

	folio_lock(folio);
	dirty_blocks(folio, blocks(1, 2) | blocks(5, 1) | blocks(9, 3));
	ck_assert_int_eq(folio_writeback_init(folio), 0);
	pthread_create(&thread, NULL, wait_for_writeback, &arg);
	while ((len = folio_find_dirty_range(folio, &off, FS))) {
		ck_assert_int_lt(runs, 3);
		ck_assert_uint_eq(off, exp_off[runs]);
		ck_assert_uint_eq(len, exp_len[runs]);
		runs++;
		off += len;
	}
	ck_assert_int_eq(runs, 3);
	folio_writeback_end(folio, 6 * BS);
	folio_unlock(folio);
	folio_finish_write_range(folio, 9 * BS, 3 * BS, 0);
	folio_finish_write_range(folio, 1 * BS, 2 * BS, -EIO);
	ck_assert(folio_is_writeback(folio));
	ck_assert(!atomic_load(&arg.done));
	folio_finish_write_range(folio, 5 * BS, BS, 0);
	pthread_join(thread, NULL);
	ck_assert(atomic_load(&arg.done) && !arg.saw_writeback_after_wait);
	ck_assert(!folio_is_writeback(folio) && folio_has_error(folio) && !folio_is_dirty(folio));
	ck_assert_uint_eq(folio_write_bytes_pending(folio), 0);
	folio_put(folio);
}
END_TEST

START_TEST(writeback_without_state_covers_the_whole_folio)
{
	struct folio *folio;
	unsigned off = 0;

	ck_assert_int_eq(folio_alloc(BS, BS, 0, &folio), 0);
	folio_lock(folio);
	ck_assert_int_eq(folio_mark_uptodate_range(folio, 0, BS), 0);
	ck_assert_int_eq(folio_mark_dirty_range(folio, 0, BS), 0);
	ck_assert_int_eq(folio_writeback_init(folio), 0);
	ck_assert_uint_eq(folio_find_dirty_range(folio, &off, BS), BS);
	folio_writeback_end(folio, BS);
	ck_assert(folio_is_writeback(folio));
	folio_finish_write_range(folio, 0, BS, 0);
	ck_assert(!folio_is_writeback(folio) && !folio_is_dirty(folio));
	folio_unlock(folio);
	folio_put(folio);
}
END_TEST

/* ---- lock ---- */

struct lock_arg {
	struct folio *folio;
	long counter;
};

static void *lock_and_count(void *p)
{
	struct lock_arg *arg = p;

	for (int i = 0; i < 20000; i++) {
		folio_lock(arg->folio);
		arg->counter++; /* only under the folio lock */
		folio_unlock(arg->folio);
	}
	return NULL;
}

START_TEST(folio_lock_excludes_other_threads)
{
	struct lock_arg arg = {.folio = new_folio()};
	pthread_t threads[4];

	for (int i = 0; i < 4; i++)
		pthread_create(&threads[i], NULL, lock_and_count, &arg);
	for (int i = 0; i < 4; i++)
		pthread_join(threads[i], NULL);
	ck_assert_int_eq(arg.counter, 4 * 20000);
	ck_assert(folio_trylock(arg.folio));
	ck_assert(!folio_trylock(arg.folio));
	folio_unlock(arg.folio);
	folio_put(arg.folio);
}
END_TEST

/* ---- allocation failures ---- */

START_TEST(state_allocation_failure_leaves_folio_unchanged)
{
	struct folio *folio = new_folio(), *none = NULL;
	int ret[6];

	/* No ck_assert while armed: Check allocates too. */
	folio_lock(folio);
	test_alloc_fail_after(0);
	ret[0] = folio_mark_uptodate_range(folio, 0, BS);
	ret[1] = folio_read_init(folio);
	test_alloc_disarm();
	ck_assert_int_eq(ret[0], -ENOMEM);
	ck_assert_int_eq(ret[1], -ENOMEM);
	ck_assert(!folio_has_state(folio) && uptodate_mask(folio) == 0);
	ck_assert_int_eq(folio_mark_uptodate_range(folio, 0, FS), 0);
	ck_assert_int_eq(folio_mark_dirty_range(folio, 0, FS), 0);
	test_alloc_fail_after(0);
	ret[2] = folio_writeback_init(folio);
	test_alloc_disarm();
	ck_assert_int_eq(ret[2], -ENOMEM);
	ck_assert(folio_is_dirty(folio) && !folio_is_writeback(folio));

	test_alloc_fail_after(0);
	ret[3] = folio_alloc(FS, BS, 0, &none);
	test_alloc_fail_after(1); /* the struct, not the data buffer */
	ret[4] = folio_alloc(FS, BS, 0, &none);
	test_alloc_disarm();
	ck_assert_int_eq(ret[3], -ENOMEM);
	ck_assert_int_eq(ret[4], -ENOMEM);
	ck_assert_ptr_null(none);
	drop_folio(folio);
}
END_TEST

/* ---- invariants: each of these must die of a GFS_BUG_ON ---- */

static void free_with_read_pending(void *unused)
{
	struct folio *folio = new_folio();

	folio_lock(folio);
	folio_read_init(folio);
	folio_finish_read_range(folio, 0, BS, 0);
	atomic_fetch_and(&folio->flags, ~FOLIO_LOCKED); /* a buggy caller dropping the lock */
	folio_put(folio);
}

static void free_with_write_pending(void *unused)
{
	struct folio *folio = new_folio();

	folio_lock(folio);
	dirty_blocks(folio, 1);
	folio_writeback_init(folio);
	folio_end_writeback(folio); /* ended behind the accounting's back */
	folio_unlock(folio);
	folio_put(folio);
}

static void free_dirty(void *unused)
{
	struct folio *folio = new_folio();

	folio_lock(folio);
	dirty_blocks(folio, 3);
	folio_unlock(folio);
	folio_put(folio);
}

static void free_with_uptodate_flag_but_partial_bitmap(void *unused)
{
	struct folio *folio = new_folio();

	folio_lock(folio);
	folio_mark_uptodate_range(folio, 0, BS);
	atomic_fetch_or(&folio->flags, FOLIO_UPTODATE);
	folio_unlock(folio);
	folio_put(folio);
}

static void free_with_full_bitmap_but_no_uptodate_flag(void *unused)
{
	struct folio *folio = new_folio();

	folio_lock(folio);
	folio_mark_uptodate_range(folio, 0, BS);
	folio_mark_uptodate_range(folio, BS, FS - BS);
	atomic_fetch_and(&folio->flags, ~FOLIO_UPTODATE);
	folio_unlock(folio);
	folio_put(folio);
}

static void free_locked(void *unused)
{
	struct folio *folio = new_folio();

	folio_lock(folio);
	folio_put(folio);
}

static void unlock_unlocked(void *unused)
{
	folio_unlock(new_folio());
}

static void dirty_without_lock(void *unused)
{
	struct folio *folio = new_folio();

	folio_mark_dirty_range(folio, 0, BS);
}

static void dirty_under_writeback(void *unused)
{
	struct folio *folio = new_folio();

	folio_lock(folio);
	dirty_blocks(folio, 1);
	folio_writeback_init(folio);
	folio_mark_dirty_range(folio, 0, BS);
}

static void dirty_range_not_uptodate(void *unused)
{
	struct folio *folio = new_folio();

	folio_lock(folio);
	folio_mark_uptodate_range(folio, 0, BS);
	folio_mark_dirty_range(folio, 0, 2 * BS);
}

static void read_completion_beyond_pending(void *unused)
{
	struct folio *folio = new_folio();

	folio_lock(folio);
	folio_read_init(folio);
	folio_read_end(folio, 4 * BS);
	folio_finish_read_range(folio, 0, 8 * BS, 0);
}

START_TEST(violated_invariants_abort)
{
	expect_abort(free_with_read_pending, NULL, "read_bytes_pending");
	expect_abort(free_with_write_pending, NULL, "write_bytes_pending");
	expect_abort(free_dirty, NULL, "FOLIO_DIRTY");
	expect_abort(free_with_uptodate_flag_but_partial_bitmap, NULL, "ifs_is_fully_uptodate");
	expect_abort(free_with_full_bitmap_but_no_uptodate_flag, NULL, "ifs_is_fully_uptodate");
	expect_abort(free_locked, NULL, "FOLIO_LOCKED");
	expect_abort(unlock_unlocked, NULL, "FOLIO_LOCKED");
	expect_abort(dirty_without_lock, NULL, "folio_is_locked");
	expect_abort(dirty_under_writeback, NULL, "folio_is_writeback");
	expect_abort(dirty_range_not_uptodate, NULL, "folio_range_is_uptodate");
	expect_abort(read_completion_beyond_pending, NULL, "old < len");
}
END_TEST

static Suite *folio_suite(void)
{
	Suite *s = suite_create("folio");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, alloc_rejects_bad_geometry);
	tcase_add_test(tc, partial_write_marks_exact_blocks_at_every_alignment);
	tcase_add_test(tc, byte_ranges_round_outward_to_set_and_inward_to_clear_dirty);
	tcase_add_test(tc, whole_folio_write_allocates_no_state);
	tcase_add_test(tc, clear_uptodate_keeps_other_blocks);
	tcase_add_test(tc, read_ends_once_after_last_range_and_not_before);
	tcase_add_test(tc, reads_completing_out_of_order_end_exactly_once);
	tcase_add_test(tc, read_error_in_one_range_leaves_other_ranges_uptodate);
	tcase_add_test(tc, read_pending_accounting_costs_n_plus_2_atomic_ops);
	tcase_add_test(tc, one_block_folio_read_ends_with_its_only_range);
	tcase_add_test(tc, writeback_pending_accounting_costs_n_plus_2_atomic_ops);
	tcase_add_test(tc, writeback_of_dirty_runs_ends_once_and_wakes_waiters);
	tcase_add_test(tc, writeback_without_state_covers_the_whole_folio);
	tcase_add_test(tc, folio_lock_excludes_other_threads);
	tcase_add_test(tc, state_allocation_failure_leaves_folio_unchanged);
	tcase_add_test(tc, violated_invariants_abort);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(folio_suite());
}
