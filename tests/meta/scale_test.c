/* SPDX-License-Identifier: MIT */
/*
 * scale_test.c - one file with 1,000,000 extents and one allocator with 1,000,000 free
 * extents: everything still works and validates at that size (no fixed limits). Times are
 * printed for information only; nothing here asserts on time.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/extent.h"
#include "tests/meta/meta_test_util.h"

#define SCALE_N 1000000

static void expect_last_extent_at(const struct extent_map *m, uint64_t fblk)
{
	struct extent_mapping got;

	ck_assert_int_eq(extent_lookup(m, fblk, &got), 0);
	ck_assert(got.state == EXTENT_MAPPED && got.fblk == fblk && got.len == 1);
	ck_assert_int_eq(extent_lookup(m, fblk + 1, &got), 0);
	ck_assert(got.state == EXTENT_HOLE && got.fblk == fblk + 1);
	ck_assert_uint_eq(got.len, EXTENT_FBLK_END - fblk - 1);
}

static int compare_fn(const struct extent_mapping *ext, void *arg)
{
	struct extent_mapping *expect = arg;

	fast_true(ext->fblk == expect->fblk && ext->len == 1 && ext->dblk == expect->dblk &&
		  ext->state == EXTENT_MAPPED);
	expect->fblk += 2;
	expect->dblk += 3;
	return 0;
}

static void expect_append_builds_same_map(const struct extent_map *ref)
{
	struct extent_mapping expect = {0};
	struct extent_map m;

	extent_map_init(&m);
	for (uint64_t i = 0; i < SCALE_N; i++)
		fast_eq(extent_append(&m, 2 * i, 1, EXTENT_MAPPED, 3 * i), 0);
	ck_assert_uint_eq(extent_count(&m), extent_count(ref));
	ck_assert_int_eq(extent_iterate(&m, 0, compare_fn, &expect), 0);
	ck_assert_uint_eq(expect.fblk, 2 * SCALE_N);
	expect = (struct extent_mapping){0};
	ck_assert_int_eq(extent_iterate(ref, 0, compare_fn, &expect), 0);
	ck_assert_uint_eq(expect.fblk, 2 * SCALE_N);
	extent_map_destroy(&m);
}

/* Shifting every extent is one gap change: 10,000 inserts and collapses at the front. */
static double shift_everything_many_times(struct extent_map *m)
{
	struct extent_mapping got;
	double t0 = test_now();

	for (uint64_t i = 0; i < 10000; i++) {
		fast_eq(extent_insert_range(m, 0, 1 + i % 7), 0);
		fast_eq(extent_lookup(m, 2 * (SCALE_N - 1) + 1 + i % 7, &got), 0);
		fast_true(got.state == EXTENT_MAPPED && got.dblk == 3 * (SCALE_N - 1));
		fast_eq(extent_collapse(m, 0, 1 + i % 7, NULL), 0);
	}
	return test_now() - t0;
}

START_TEST(one_million_extents_in_one_file)
{
	struct test_rng rng = {test_seed("one_million_extents_in_one_file")};
	struct extent_vec freed = {0};
	struct extent_mapping got;
	struct extent_map m;
	double t0, t_build, t_append, t_lookup, t_check, t_shift;

	extent_map_init(&m);
	t0 = test_now();
	/* every other block, device blocks not contiguous: nothing can merge */
	for (uint64_t i = 0; i < SCALE_N; i++)
		fast_eq(extent_set(&m, 2 * i, 1, EXTENT_MAPPED, 3 * i, NULL), 0);
	t_build = test_now() - t0;
	ck_assert_uint_eq(extent_count(&m), SCALE_N);
	/* the checkpoint-loading path builds the same map */
	t0 = test_now();
	expect_append_builds_same_map(&m);
	t_append = test_now() - t0;
	ck_assert_uint_eq(extent_blocks(&m, EXTENT_MAPPED), SCALE_N);
	t0 = test_now();
	for (int i = 0; i < SCALE_N; i++) {
		uint64_t b = rng_below(&rng, 2 * SCALE_N);

		fast_eq(extent_lookup(&m, b, &got), 0);
		if (b % 2 == 0) {
			fast_true(got.state == EXTENT_MAPPED && got.fblk == b && got.len == 1);
			fast_eq(got.dblk, 3 * (b / 2));
		} else {
			/* the last hole runs to the end of the file space */
			fast_true(got.state == EXTENT_HOLE && got.fblk == b);
			fast_eq(got.len, b == 2 * SCALE_N - 1 ? EXTENT_FBLK_END - b : 1);
		}
	}
	t_lookup = test_now() - t0;
	t0 = test_now();
	ck_assert_int_eq(extent_map_check(&m), 0);
	t_check = test_now() - t0;
	t_shift = shift_everything_many_times(&m);
	ck_assert_uint_eq(extent_count(&m), SCALE_N);
	ck_assert_int_eq(extent_map_check(&m), 0);
	expect_last_extent_at(&m, 2 * (SCALE_N - 1));
	/* a block in the first hole, far away on the device: nothing merges ... */
	ck_assert_int_eq(extent_set(&m, 1, 1, EXTENT_MAPPED, UINT64_C(1) << 40, NULL), 0);
	ck_assert_uint_eq(extent_count(&m), SCALE_N + 1);
	/* ... and one collapse shifts all the later extents */
	ck_assert_int_eq(extent_collapse(&m, 0, 2, &freed), 0);
	ck_assert_uint_eq(freed.nr, 2);
	ck_assert_int_eq(extent_lookup(&m, 2 * SCALE_N - 4, &got), 0);
	ck_assert_uint_eq(got.dblk, 3 * (SCALE_N - 1));
	freed.nr = 0;
	t0 = test_now();
	ck_assert_int_eq(extent_truncate(&m, 0, &freed), 0);
	ck_assert_uint_eq(freed.nr, SCALE_N - 1);
	ck_assert_uint_eq(extent_count(&m), 0);
	printf("extents: %d built in %.3f s (%.3f s by append, with a comparison), %d lookups in "
	       "%.3f s, check %.3f s, 10000 "
	       "insert+collapse pairs %.3f s, truncate %.3f s; %zu bytes per extent\n",
	       SCALE_N, t_build, t_append, SCALE_N, t_lookup, t_check, t_shift, test_now() - t0,
	       sizeof(struct extent_node));
	extent_vec_free(&freed);
	extent_map_destroy(&m);
}
END_TEST

START_TEST(one_million_free_extents_in_one_allocator)
{
	struct test_rng rng = {test_seed("one_million_free_extents_in_one_allocator")};
	uint64_t *order = malloc(SCALE_N * sizeof(*order));
	struct alloc_range r;
	struct alloc a;
	double t0, t_build, t_alloc, t_check;

	ck_assert_int_eq(alloc_init(&a, 0, 4 * (uint64_t)SCALE_N, ALLOC_INIT_USED), 0);
	for (uint64_t i = 0; i < SCALE_N; i++)
		order[i] = i;
	for (uint64_t i = SCALE_N - 1; i > 0; i--) {
		uint64_t j = rng_below(&rng, i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	/* free extent i: [4i, 4i + 1 + i % 3), freed in random order */
	t0 = test_now();
	for (uint64_t i = 0; i < SCALE_N; i++)
		fast_eq(alloc_free(&a, 4 * order[i], 1 + order[i] % 3), 0);
	t_build = test_now() - t0;
	ck_assert_uint_eq(alloc_free_extents(&a), SCALE_N);
	t0 = test_now();
	ck_assert_int_eq(alloc_check(&a), 0);
	t_check = test_now() - t0;
	/* locality: the goal's extent (500000, length 3) has 2 blocks left after the goal, so 3
	 * blocks come from the next extent of length 3 after it, 500003 */
	ck_assert_int_eq(alloc_alloc(&a, 4 * 500000 + 1, 3, 3, &r), 0);
	ck_assert_uint_eq(r.start, 4 * 500003);
	/* best fit: 2 blocks with no goal take the first extent of length 2 */
	ck_assert_int_eq(alloc_alloc(&a, 0, 2, 2, &r), 0);
	ck_assert_uint_eq(r.start, 4 * 1);
	t0 = test_now();
	for (int i = 0; i < SCALE_N / 2; i++)
		fast_eq(alloc_alloc(&a, rng_below(&rng, 4 * SCALE_N), 1, 1, &r), 0);
	t_alloc = test_now() - t0;
	ck_assert_int_eq(alloc_check(&a), 0);
	/* nothing has 4 contiguous blocks: ENOSPC for 4, the largest piece below it */
	ck_assert_int_eq(alloc_alloc(&a, 0, 4, 4, &r), -ENOSPC);
	ck_assert_int_eq(alloc_alloc(&a, 0, 4, 1, &r), 0);
	ck_assert_uint_eq(r.len, 3);
	printf("allocator: %d free extents built in %.3f s, check %.3f s, %d allocations in "
	       "%.3f s; %zu bytes per free extent\n",
	       SCALE_N, t_build, t_check, SCALE_N / 2, t_alloc, sizeof(struct alloc_extent));
	alloc_destroy(&a);
	free(order);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("meta_scale");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, one_million_extents_in_one_file);
	tcase_add_test(tc, one_million_free_extents_in_one_allocator);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
