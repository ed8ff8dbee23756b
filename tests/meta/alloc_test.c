/* SPDX-License-Identifier: MIT */
/*
 * alloc_test.c - the free-space allocator: each step of the allocation policy, ENOSPC and
 * recovery, deferred frees, bad input, -ENOMEM leaving state untouched, corruption caught by
 * alloc_check(), and thousands of random operations against a per-block model that also
 * recomputes the policy's exact choice.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "tests/meta/meta_test_util.h"
#include "tests/util/test_alloc.h"

static void quiet_log(enum gfs_log_level level, const char *line, void *arg)
{
	(*(int *)arg)++;
}

static int nr_logged;

static void setup(void)
{
	nr_logged = 0;
	gfs_log_set_hook(quiet_log, &nr_logged);
}

static void teardown(void)
{
	gfs_log_set_hook(NULL, NULL);
}

/* Device [first, first + n) with the given ranges free. */
static void init_with_free(struct alloc *a, uint64_t first, uint64_t n, const uint64_t *ranges,
			   int nr_ranges)
{
	ck_assert_int_eq(alloc_init(a, first, n, ALLOC_INIT_USED), 0);
	for (int i = 0; i < nr_ranges; i++)
		ck_assert_int_eq(alloc_free(a, ranges[2 * i], ranges[2 * i + 1]), 0);
	ck_assert_int_eq(alloc_check(a), 0);
}

static void expect_alloc(struct alloc *a, uint64_t goal, uint64_t want, uint64_t min_len,
			 uint64_t start, uint64_t len)
{
	struct alloc_range r;

	ck_assert_int_eq(alloc_alloc(a, goal, want, min_len, &r), 0);
	ck_assert_uint_eq(r.start, start);
	ck_assert_uint_eq(r.len, len);
	ck_assert_int_eq(alloc_check(a), 0);
}

START_TEST(init_rejects_empty_and_wrapping_ranges)
{
	struct alloc a;

	ck_assert_int_eq(alloc_init(&a, 0, 0, ALLOC_INIT_FREE), -EINVAL);
	ck_assert_int_eq(alloc_init(&a, UINT64_MAX - 5, 10, ALLOC_INIT_FREE), -EINVAL);
	ck_assert_int_eq(alloc_init(&a, UINT64_MAX - 10, 10, ALLOC_INIT_FREE), 0);
	ck_assert_uint_eq(alloc_free_blocks(&a), 10);
	ck_assert_uint_eq(alloc_free_extents(&a), 1);
	alloc_destroy(&a);
	ck_assert_int_eq(alloc_init(&a, 7, 100, ALLOC_INIT_USED), 0);
	ck_assert_uint_eq(alloc_free_blocks(&a), 0);
	ck_assert_uint_eq(alloc_largest_free(&a), 0);
	ck_assert_int_eq(alloc_check(&a), 0);
	alloc_destroy(&a);
}
END_TEST

START_TEST(allocation_continues_at_goal_then_smallest_fit_after_it_then_best_fit)
{
	/* free: [100,150) 50, [200,210) 10, [300,320) 20, [400,412) 12, [500,600) 100 */
	static const uint64_t ranges[] = {100, 50, 200, 10, 300, 20, 400, 12, 500, 100};
	struct alloc a;

	init_with_free(&a, 0, 1000, ranges, 5);
	/* 1. goal inside a free extent with room: taken right at the goal */
	expect_alloc(&a, 120, 8, 1, 120, 8);
	/* goal inside [128,150) but only 22 left from it: not contiguity; smallest >= 30 after
	 * 128 is [500,600) */
	expect_alloc(&a, 128, 30, 30, 500, 30);
	/* 2. locality: smallest >= 11 at/after 250 is [400,412) (12), not [300,320) (20) */
	expect_alloc(&a, 250, 11, 1, 400, 11);
	/* the smaller [200,210) lies before the goal: [300,320) wins over it for want 9 */
	expect_alloc(&a, 250, 9, 1, 300, 9);
	/* 3. nothing after goal 700 fits: best fit anywhere, the 10-block [200,210) for 10 */
	expect_alloc(&a, 700, 10, 1, 200, 10);
	ck_assert_uint_eq(alloc_free_blocks(&a), 50 + 10 + 20 + 12 + 100 - 8 - 30 - 11 - 9 - 10);
	alloc_destroy(&a);
}
END_TEST

START_TEST(largest_piece_is_returned_when_nothing_fits_and_min_len_is_honoured)
{
	static const uint64_t ranges[] = {10, 5, 20, 7, 40, 7, 60, 3};
	struct alloc_range r;
	struct alloc a;

	init_with_free(&a, 0, 100, ranges, 4);
	ck_assert_uint_eq(alloc_largest_free(&a), 7);
	/* ties on length: the (length, start) order picks the higher start */
	expect_alloc(&a, 0, 50, 1, 40, 7);
	expect_alloc(&a, 0, 50, 7, 20, 7);
	ck_assert_int_eq(alloc_alloc(&a, 0, 50, 6, &r), -ENOSPC);
	ck_assert_int_eq(alloc_alloc(&a, 0, 4, 0, &r), -EINVAL);
	ck_assert_int_eq(alloc_alloc(&a, 0, 4, 5, &r), -EINVAL);
	expect_alloc(&a, 0, 50, 5, 10, 5);
	expect_alloc(&a, 0, 50, 1, 60, 3);
	ck_assert_int_eq(alloc_alloc(&a, 0, 1, 1, &r), -ENOSPC);
	ck_assert_uint_eq(alloc_free_blocks(&a), 0);
	alloc_destroy(&a);
}
END_TEST

START_TEST(full_device_returns_enospc_and_recovers_after_free)
{
	struct alloc_range r, got[64];
	struct alloc a;

	ck_assert_int_eq(alloc_init(&a, 1000, 64, ALLOC_INIT_FREE), 0);
	for (int i = 0; i < 64; i++) {
		ck_assert_int_eq(alloc_alloc(&a, 1000, 1, 1, &got[i]), 0);
		ck_assert_uint_eq(got[i].start, 1000 + i); /* each continues the previous */
	}
	ck_assert_int_eq(alloc_alloc(&a, 0, 1, 1, &r), -ENOSPC);
	ck_assert_uint_eq(alloc_free_extents(&a), 0);
	ck_assert_int_eq(alloc_check(&a), 0);
	/* free every other block: 32 single-block extents, nothing merges */
	for (int i = 0; i < 64; i += 2)
		ck_assert_int_eq(alloc_free(&a, got[i].start, 1), 0);
	ck_assert_uint_eq(alloc_free_extents(&a), 32);
	ck_assert_int_eq(alloc_alloc(&a, 0, 2, 2, &r), -ENOSPC);
	/* freeing the rest merges everything back into one extent */
	for (int i = 1; i < 64; i += 2)
		ck_assert_int_eq(alloc_free(&a, got[i].start, 1), 0);
	ck_assert_uint_eq(alloc_free_extents(&a), 1);
	ck_assert_uint_eq(alloc_free_blocks(&a), 64);
	expect_alloc(&a, 0, 64, 64, 1000, 64);
	alloc_destroy(&a);
}
END_TEST

static int pending_fn(uint64_t start, uint64_t len, uint64_t seq, void *arg)
{
	uint64_t *seen = arg;

	seen[seen[0] * 3 + 1] = start;
	seen[seen[0] * 3 + 2] = len;
	seen[seen[0] * 3 + 3] = seq;
	seen[0]++;
	return 0;
}

/* The ranges parked below, in block order with their sequence numbers. */
static void walk_pending_expect(const struct alloc *a)
{
	static const uint64_t expect[] = {3, 10, 5, 7, 15, 5, 9, 50, 1, 8};
	uint64_t seen[16] = {0};

	ck_assert_int_eq(alloc_iterate_pending(a, pending_fn, seen), 0);
	ck_assert_mem_eq(seen, expect, sizeof(expect));
}

START_TEST(deferred_frees_are_not_reused_before_commit)
{
	struct alloc_range r;
	struct alloc a;

	ck_assert_int_eq(alloc_init(&a, 0, 100, ALLOC_INIT_USED), 0);
	ck_assert_int_eq(alloc_free_deferred(&a, 10, 5, 7), 0);
	ck_assert_int_eq(alloc_free_deferred(&a, 15, 5, 9), 0);
	ck_assert_int_eq(alloc_free_deferred(&a, 50, 1, 8), 0);
	ck_assert_uint_eq(alloc_pending_blocks(&a), 11);
	ck_assert_uint_eq(alloc_pending_extents(&a), 3);
	ck_assert_uint_eq(alloc_free_blocks(&a), 0);
	ck_assert(!alloc_is_free(&a, 10, 1));
	ck_assert_int_eq(alloc_alloc(&a, 10, 1, 1, &r), -ENOSPC);
	ck_assert_int_eq(alloc_check(&a), 0);

	walk_pending_expect(&a);
	ck_assert_uint_eq(alloc_commit_frees(&a, 6), 0);
	ck_assert_int_eq(alloc_alloc(&a, 10, 1, 1, &r), -ENOSPC);
	ck_assert_uint_eq(alloc_commit_frees(&a, 8), 6); /* seq 7 and 8, not 9 */
	ck_assert_uint_eq(alloc_pending_blocks(&a), 5);
	ck_assert(alloc_is_free(&a, 10, 5) && alloc_is_free(&a, 50, 1));
	ck_assert(!alloc_is_free(&a, 15, 1));
	ck_assert_int_eq(alloc_check(&a), 0);
	expect_alloc(&a, 0, 6, 1, 10, 5); /* largest piece: [10,15), not the parked [15,20) */
	ck_assert_uint_eq(alloc_commit_frees(&a, 9), 5);
	ck_assert_uint_eq(alloc_pending_extents(&a), 0);
	/* [15,20) and [50,51) are free now; they did not merge with the allocated [10,15) */
	ck_assert_uint_eq(alloc_free_extents(&a), 2);
	ck_assert_int_eq(alloc_check(&a), 0);
	/* merging on commit: parked ranges next to free space join it */
	ck_assert_int_eq(alloc_free_deferred(&a, 20, 30, 10), 0);
	ck_assert_uint_eq(alloc_commit_frees(&a, UINT64_MAX), 30);
	ck_assert_uint_eq(alloc_free_extents(&a), 1);
	ck_assert(alloc_is_free(&a, 15, 36));
	alloc_destroy(&a);
}
END_TEST

static int snapshot_fn(uint64_t start, uint64_t len, void *arg)
{
	uint64_t *out = arg;

	out[out[0] * 2 + 1] = start;
	out[out[0] * 2 + 2] = len;
	out[0]++;
	return 0;
}

/* The free extents as [count, start0, len0, ...] plus the counters. */
static void snapshot(const struct alloc *a, uint64_t *out)
{
	memset(out, 0, 4096);
	ck_assert_int_eq(alloc_iterate_free(a, 0, snapshot_fn, out), 0);
	out[400] = alloc_free_blocks(a);
	out[401] = alloc_pending_blocks(a);
	out[402] = alloc_pending_extents(a);
	out[403] = alloc_free_extents(a);
}

START_TEST(bad_frees_and_marks_are_rejected_and_change_nothing)
{
	static const uint64_t ranges[] = {10, 10, 40, 10};
	uint64_t before[512], after[512];
	struct alloc a;

	init_with_free(&a, 5, 95, ranges, 2);
	ck_assert_int_eq(alloc_free_deferred(&a, 60, 5, 1), 0);
	snapshot(&a, before);
	ck_assert_int_eq(alloc_free(&a, 15, 1), -EINVAL); /* already free */
	ck_assert_int_eq(alloc_free(&a, 5, 6), -EINVAL);  /* overlaps [10,20) */
	ck_assert_int_eq(alloc_free(&a, 49, 2), -EINVAL); /* overlaps [40,50) */
	ck_assert_int_eq(alloc_free(&a, 62, 1), -EINVAL); /* parked */
	ck_assert_int_eq(alloc_free_deferred(&a, 64, 3, 2), -EINVAL);
	ck_assert_int_eq(alloc_free(&a, 4, 1), -EINVAL);  /* before the device */
	ck_assert_int_eq(alloc_free(&a, 99, 2), -EINVAL); /* past its end */
	ck_assert_int_eq(alloc_free(&a, 30, 0), -EINVAL); /* empty */
	ck_assert_int_eq(alloc_free(&a, 30, UINT64_MAX), -EINVAL);
	ck_assert_int_eq(alloc_mark_used(&a, 19, 2), -EINVAL); /* half used */
	ck_assert_int_eq(alloc_mark_used(&a, 60, 1), -EINVAL); /* parked is not free */
	ck_assert_int_eq(alloc_mark_used(&a, 12, 0), -EINVAL);
	ck_assert_int_gt(nr_logged, 0);
	snapshot(&a, after);
	ck_assert_mem_eq(before, after, sizeof(before));
	ck_assert_int_eq(alloc_check(&a), 0);
	/* the good ones still work */
	ck_assert_int_eq(alloc_mark_used(&a, 12, 3), 0);
	ck_assert(alloc_is_free(&a, 10, 2) && alloc_is_free(&a, 15, 5) &&
		  !alloc_is_free(&a, 12, 1));
	ck_assert_int_eq(alloc_free(&a, 20, 20), 0); /* bridges [15,20) and [40,50) */
	ck_assert(alloc_is_free(&a, 15, 35));
	ck_assert_int_eq(alloc_check(&a), 0);
	alloc_destroy(&a);
}
END_TEST

static int stop_at_third(uint64_t start, uint64_t len, void *arg)
{
	uint64_t *seen = arg;

	seen[seen[0]++ + 1] = start;
	return seen[0] == 3 ? 42 : 0;
}

START_TEST(iterate_free_walks_in_block_order_from_any_block_and_stops_on_request)
{
	static const uint64_t ranges[] = {70, 5, 10, 5, 50, 5, 30, 5};
	uint64_t seen[8] = {0};
	uint64_t snap[512];
	struct alloc a;

	init_with_free(&a, 0, 100, ranges, 4);
	snapshot(&a, snap);
	ck_assert_uint_eq(snap[0], 4);
	ck_assert(snap[1] == 10 && snap[3] == 30 && snap[5] == 50 && snap[7] == 70);
	/* from inside [30,35): that extent is first */
	ck_assert_int_eq(alloc_iterate_free(&a, 32, stop_at_third, seen), 42);
	ck_assert(seen[1] == 30 && seen[2] == 50 && seen[3] == 70);
	memset(seen, 0, sizeof(seen));
	ck_assert_int_eq(alloc_iterate_free(&a, 35, stop_at_third, seen), 0);
	ck_assert(seen[0] == 2 && seen[1] == 50);
	alloc_destroy(&a);
}
END_TEST

START_TEST(failed_memory_allocation_changes_nothing)
{
	static const uint64_t ranges[] = {10, 10, 40, 10, 70, 10};
	uint64_t before[512], after[512];
	struct alloc_range r;
	struct alloc a;
	int ret;

	init_with_free(&a, 0, 100, ranges, 3);
	snapshot(&a, before);
	/* each of these needs exactly one new node */
	test_alloc_fail_after(0);
	ret = alloc_mark_used(&a, 12, 2); /* splits [10,20) */
	test_alloc_disarm();
	ck_assert_int_eq(ret, -ENOMEM);
	test_alloc_fail_after(0);
	ret = alloc_alloc(&a, 45, 2, 1, &r); /* at the goal, inside [40,50) */
	test_alloc_disarm();
	ck_assert_int_eq(ret, -ENOMEM);
	test_alloc_fail_after(0);
	ret = alloc_free(&a, 30, 2); /* touches nothing */
	test_alloc_disarm();
	ck_assert_int_eq(ret, -ENOMEM);
	test_alloc_fail_after(0);
	ret = alloc_free_deferred(&a, 30, 2, 1);
	test_alloc_disarm();
	ck_assert_int_eq(ret, -ENOMEM);
	snapshot(&a, after);
	ck_assert_mem_eq(before, after, sizeof(before));
	ck_assert_int_eq(alloc_check(&a), 0);
	/* merging frees and whole-extent allocations need no memory at all */
	test_alloc_fail_after(0);
	ret = alloc_free(&a, 20, 5);
	ret = ret ? ret : alloc_alloc(&a, 0, 10, 10, &r);
	test_alloc_disarm();
	ck_assert_int_eq(ret, 0);
	ck_assert_uint_eq(r.start, 40);
	ck_assert_uint_eq(test_alloc_failures(), 0);
	ck_assert_int_eq(alloc_check(&a), 0);
	alloc_destroy(&a);
}
END_TEST

START_TEST(check_reports_corrupted_structures)
{
	static const uint64_t ranges[] = {10, 10, 40, 10, 70, 10};
	struct alloc_extent *e;
	struct alloc a;

	init_with_free(&a, 0, 100, ranges, 3);
	e = rb_entry(rb_first(&a.by_off), struct alloc_extent, by_off);
	e->len += 30; /* now overlaps [40,50) */
	ck_assert_int_eq(alloc_check(&a), -EUCLEAN);
	e->len -= 30;
	ck_assert_int_eq(alloc_check(&a), 0);
	e->len += 20; /* now touches [40,50): should have been merged */
	ck_assert_int_eq(alloc_check(&a), -EUCLEAN);
	e->len -= 20;
	a.free_blocks++;
	ck_assert_int_eq(alloc_check(&a), -EUCLEAN);
	a.free_blocks--;
	e->subtree_max_start += 1000;
	ck_assert_int_eq(alloc_check(&a), -EUCLEAN);
	e->subtree_max_start -= 1000;
	ck_assert_int_eq(alloc_check(&a), 0);
	ck_assert_int_gt(nr_logged, 0);
	alloc_destroy(&a);
}
END_TEST

#include "alloc_model.h"

START_TEST(random_operations_match_block_model_and_policy)
{
	/* thousands of expected double-free lines: keep them out of the test log */
	gfs_log_set_level((enum gfs_log_level)(GFS_LOG_ERR - 1));
	run_alloc_model(test_seed("random_operations_match_block_model_and_policy"), 20000);
	gfs_log_set_level(GFS_LOG_INFO);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("alloc");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, init_rejects_empty_and_wrapping_ranges);
	tcase_add_test(tc, allocation_continues_at_goal_then_smallest_fit_after_it_then_best_fit);
	tcase_add_test(tc, largest_piece_is_returned_when_nothing_fits_and_min_len_is_honoured);
	tcase_add_test(tc, full_device_returns_enospc_and_recovers_after_free);
	tcase_add_test(tc, deferred_frees_are_not_reused_before_commit);
	tcase_add_test(tc, bad_frees_and_marks_are_rejected_and_change_nothing);
	tcase_add_test(tc, iterate_free_walks_in_block_order_from_any_block_and_stops_on_request);
	tcase_add_test(tc, failed_memory_allocation_changes_nothing);
	tcase_add_test(tc, check_reports_corrupted_structures);
	tcase_add_test(tc, random_operations_match_block_model_and_policy);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
