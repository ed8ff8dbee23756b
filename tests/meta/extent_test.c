/* SPDX-License-Identifier: MIT */
/*
 * extent_test.c - the per-file extent map: lookups of extents and holes, merging rules,
 * replaced/freed pieces, unwritten conversion, collapse and insert range, truncate, bad
 * input, -ENOMEM leaving the map untouched, corruption caught by extent_map_check(), and
 * random operations against a per-block model.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/extent.h"
#include "core/log.h"
#include "tests/meta/meta_test_util.h"
#include "tests/util/test_alloc.h"

static bool state_dev(int state)
{
	return state == EXTENT_MAPPED || state == EXTENT_UNWRITTEN;
}

static int extent_vec_push_test(struct extent_vec *vec, const struct extent_mapping *map)
{
	if (vec->nr == vec->cap) {
		size_t cap = vec->cap ? 2 * vec->cap : 16;
		struct extent_mapping *v = realloc(vec->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		vec->v = v;
		vec->cap = cap;
	}
	vec->v[vec->nr++] = *map;
	return 0;
}

#include "tests/meta/extent_model.h"

static void expect_lookup(const struct extent_map *m, uint64_t b, enum extent_state state,
			  uint64_t fblk, uint64_t len, uint64_t dblk)
{
	struct extent_mapping got;

	ck_assert_int_eq(extent_lookup(m, b, &got), 0);
	ck_assert_uint_eq(got.state, state);
	ck_assert_uint_eq(got.fblk, fblk);
	ck_assert_uint_eq(got.len, len);
	ck_assert_uint_eq(got.dblk, dblk);
}

static void expect_piece(const struct extent_vec *v, size_t i, enum extent_state state,
			 uint64_t fblk, uint64_t len, uint64_t dblk)
{
	ck_assert_uint_gt(v->nr, i);
	ck_assert_uint_eq(v->v[i].state, state);
	ck_assert_uint_eq(v->v[i].fblk, fblk);
	ck_assert_uint_eq(v->v[i].len, len);
	ck_assert_uint_eq(v->v[i].dblk, dblk);
}

START_TEST(empty_map_is_one_hole_and_lookups_past_the_end_fail)
{
	struct extent_map m;
	struct extent_mapping got;

	extent_map_init(&m);
	expect_lookup(&m, 0, EXTENT_HOLE, 0, EXTENT_FBLK_END, EXTENT_NO_DBLK);
	expect_lookup(&m, EXTENT_FBLK_END - 1, EXTENT_HOLE, 0, EXTENT_FBLK_END, EXTENT_NO_DBLK);
	ck_assert_int_eq(extent_lookup(&m, EXTENT_FBLK_END, &got), -EINVAL);
	ck_assert_uint_eq(extent_count(&m), 0);
	ck_assert_int_eq(extent_map_check(&m), 0);
	extent_map_destroy(&m);
}
END_TEST

START_TEST(neighbours_merge_only_when_file_and_device_contiguous_with_same_state)
{
	struct extent_map m;

	extent_map_init(&m);
	ck_assert_int_eq(extent_set(&m, 10, 10, EXTENT_MAPPED, 100, NULL), 0);
	ck_assert_int_eq(extent_set(&m, 20, 5, EXTENT_MAPPED, 110, NULL), 0); /* contiguous */
	ck_assert_uint_eq(extent_count(&m), 1);
	expect_lookup(&m, 24, EXTENT_MAPPED, 10, 15, 100);
	ck_assert_int_eq(extent_set(&m, 5, 5, EXTENT_MAPPED, 50, NULL), 0);	 /* device gap */
	ck_assert_int_eq(extent_set(&m, 25, 5, EXTENT_UNWRITTEN, 115, NULL), 0); /* state */
	ck_assert_int_eq(extent_set(&m, 31, 5, EXTENT_UNWRITTEN, 121, NULL), 0); /* file gap */
	ck_assert_uint_eq(extent_count(&m), 4);
	/* delalloc merges on file contiguity alone; its device block is ignored */
	ck_assert_int_eq(extent_set(&m, 40, 5, EXTENT_DELALLOC, 7, NULL), 0);
	ck_assert_int_eq(extent_set(&m, 45, 5, EXTENT_DELALLOC, 999, NULL), 0);
	expect_lookup(&m, 40, EXTENT_DELALLOC, 40, 10, EXTENT_NO_DBLK);
	/* filling the gap merges three extents into one */
	ck_assert_int_eq(extent_set(&m, 30, 1, EXTENT_UNWRITTEN, 120, NULL), 0);
	expect_lookup(&m, 30, EXTENT_UNWRITTEN, 25, 11, 115);
	expect_lookup(&m, 36, EXTENT_HOLE, 36, 4, EXTENT_NO_DBLK);
	ck_assert_uint_eq(extent_count(&m), 4);
	ck_assert_uint_eq(extent_blocks(&m, EXTENT_MAPPED), 20);
	ck_assert_uint_eq(extent_blocks(&m, EXTENT_UNWRITTEN), 11);
	ck_assert_uint_eq(extent_blocks(&m, EXTENT_DELALLOC), 10);
	ck_assert_uint_eq(extent_blocks(&m, EXTENT_HOLE), 0);
	ck_assert_int_eq(extent_map_check(&m), 0);
	extent_map_destroy(&m);
}
END_TEST

START_TEST(set_returns_the_replaced_pieces_clipped_to_the_range)
{
	struct extent_vec v = {0};
	struct extent_map m;

	extent_map_init(&m);
	ck_assert_int_eq(extent_set(&m, 0, 10, EXTENT_MAPPED, 100, NULL), 0);
	ck_assert_int_eq(extent_set(&m, 15, 10, EXTENT_DELALLOC, 0, NULL), 0);
	ck_assert_int_eq(extent_set(&m, 30, 10, EXTENT_UNWRITTEN, 500, NULL), 0);
	ck_assert_int_eq(extent_set(&m, 5, 30, EXTENT_MAPPED, 1000, &v), 0);
	ck_assert_uint_eq(v.nr, 3);
	expect_piece(&v, 0, EXTENT_MAPPED, 5, 5, 105);
	expect_piece(&v, 1, EXTENT_DELALLOC, 15, 10, EXTENT_NO_DBLK);
	expect_piece(&v, 2, EXTENT_UNWRITTEN, 30, 5, 500);
	expect_lookup(&m, 0, EXTENT_MAPPED, 0, 5, 100);
	expect_lookup(&m, 5, EXTENT_MAPPED, 5, 30, 1000);
	expect_lookup(&m, 35, EXTENT_UNWRITTEN, 35, 5, 505);
	/* a range strictly inside one extent splits it in three */
	ck_assert_int_eq(extent_set(&m, 10, 2, EXTENT_UNWRITTEN, 2000, &v), 0);
	expect_piece(&v, 3, EXTENT_MAPPED, 10, 2, 1005);
	ck_assert_uint_eq(extent_count(&m), 5);
	/* re-setting the same mapping merges back */
	ck_assert_int_eq(extent_set(&m, 10, 2, EXTENT_MAPPED, 1005, NULL), 0);
	ck_assert_uint_eq(extent_count(&m), 3);
	ck_assert_int_eq(extent_map_check(&m), 0);
	extent_vec_free(&v);
	extent_map_destroy(&m);
}
END_TEST

START_TEST(unwritten_conversion_touches_only_unwritten_blocks_and_merges)
{
	struct extent_map m;
	uint64_t cookie;

	extent_map_init(&m);
	ck_assert_int_eq(extent_set(&m, 0, 10, EXTENT_MAPPED, 100, NULL), 0);
	ck_assert_int_eq(extent_set(&m, 10, 20, EXTENT_UNWRITTEN, 110, NULL), 0);
	ck_assert_int_eq(extent_set(&m, 30, 5, EXTENT_DELALLOC, 0, NULL), 0);
	cookie = extent_map_cookie(&m);
	ck_assert_int_eq(extent_convert_unwritten(&m, 15, 5), 0); /* middle: splits in three */
	ck_assert_uint_gt(extent_map_cookie(&m), cookie);
	expect_lookup(&m, 10, EXTENT_UNWRITTEN, 10, 5, 110);
	expect_lookup(&m, 15, EXTENT_MAPPED, 15, 5, 115);
	expect_lookup(&m, 20, EXTENT_UNWRITTEN, 20, 10, 120);
	ck_assert_int_eq(extent_convert_unwritten(&m, 5, 10), 0); /* head joins the mapped ones */
	expect_lookup(&m, 0, EXTENT_MAPPED, 0, 20, 100);
	ck_assert_int_eq(extent_convert_unwritten(&m, 18, 100), 0); /* tail; delalloc stays */
	expect_lookup(&m, 29, EXTENT_MAPPED, 0, 30, 100);
	expect_lookup(&m, 30, EXTENT_DELALLOC, 30, 5, EXTENT_NO_DBLK);
	ck_assert_uint_eq(extent_count(&m), 2);
	ck_assert_uint_eq(extent_blocks(&m, EXTENT_UNWRITTEN), 0);
	ck_assert_uint_eq(extent_blocks(&m, EXTENT_MAPPED), 30);
	ck_assert_int_eq(extent_map_check(&m), 0);
	extent_map_destroy(&m);
}
END_TEST

START_TEST(collapse_shifts_later_extents_down_and_merges_at_the_seam)
{
	struct extent_vec v = {0};
	struct extent_map m;

	extent_map_init(&m);
	ck_assert_int_eq(extent_set(&m, 0, 10, EXTENT_MAPPED, 100, NULL), 0);
	ck_assert_int_eq(extent_set(&m, 12, 5, EXTENT_DELALLOC, 0, NULL), 0);
	ck_assert_int_eq(extent_set(&m, 20, 10, EXTENT_MAPPED, 110, NULL), 0);
	ck_assert_int_eq(extent_set(&m, 40, 3, EXTENT_UNWRITTEN, 7, NULL), 0);
	ck_assert_int_eq(extent_collapse(&m, 10, 10, &v), 0);
	ck_assert_uint_eq(v.nr, 1);
	expect_piece(&v, 0, EXTENT_DELALLOC, 12, 5, EXTENT_NO_DBLK);
	expect_lookup(&m, 0, EXTENT_MAPPED, 0, 20, 100);
	expect_lookup(&m, 20, EXTENT_HOLE, 20, 10, EXTENT_NO_DBLK);
	expect_lookup(&m, 30, EXTENT_UNWRITTEN, 30, 3, 7);
	/* collapse through the middle of extents: both sides are clipped */
	ck_assert_int_eq(extent_collapse(&m, 15, 16, &v), 0);
	expect_piece(&v, 1, EXTENT_MAPPED, 15, 5, 115);
	expect_piece(&v, 2, EXTENT_UNWRITTEN, 30, 1, 7);
	expect_lookup(&m, 0, EXTENT_MAPPED, 0, 15, 100);
	expect_lookup(&m, 15, EXTENT_UNWRITTEN, 15, 2, 8);
	ck_assert_int_eq(extent_map_check(&m), 0);
	extent_vec_free(&v);
	extent_map_destroy(&m);
}
END_TEST

START_TEST(insert_range_splits_shifts_up_and_refuses_to_pass_the_end)
{
	struct extent_map m;
	uint64_t cookie;

	extent_map_init(&m);
	ck_assert_int_eq(extent_set(&m, 0, 10, EXTENT_MAPPED, 100, NULL), 0);
	ck_assert_int_eq(extent_set(&m, 20, 10, EXTENT_DELALLOC, 0, NULL), 0);
	ck_assert_int_eq(extent_insert_range(&m, 5, 100), 0);
	expect_lookup(&m, 0, EXTENT_MAPPED, 0, 5, 100);
	expect_lookup(&m, 5, EXTENT_HOLE, 5, 100, EXTENT_NO_DBLK);
	expect_lookup(&m, 105, EXTENT_MAPPED, 105, 5, 105);
	expect_lookup(&m, 120, EXTENT_DELALLOC, 120, 10, EXTENT_NO_DBLK);
	/* collapsing the inserted range restores the original, merged */
	ck_assert_int_eq(extent_collapse(&m, 5, 100, NULL), 0);
	expect_lookup(&m, 0, EXTENT_MAPPED, 0, 10, 100);
	ck_assert_uint_eq(extent_count(&m), 2);
	/* the last extent would end past EXTENT_FBLK_END */
	cookie = extent_map_cookie(&m);
	ck_assert_int_eq(extent_insert_range(&m, 0, EXTENT_FBLK_END - 29), -EFBIG);
	ck_assert_uint_eq(extent_map_cookie(&m), cookie);
	ck_assert_int_eq(extent_insert_range(&m, 0, EXTENT_FBLK_END - 30), 0);
	expect_lookup(&m, EXTENT_FBLK_END - 1, EXTENT_DELALLOC, EXTENT_FBLK_END - 10, 10,
		      EXTENT_NO_DBLK);
	/* inserting past the last extent moves nothing */
	ck_assert_int_eq(extent_set(&m, 0, 1, EXTENT_MAPPED, 1, NULL), 0);
	ck_assert_int_eq(extent_insert_range(&m, EXTENT_FBLK_END - 5, 5), -EFBIG);
	ck_assert_int_eq(extent_map_check(&m), 0);
	extent_map_destroy(&m);
}
END_TEST

START_TEST(truncate_and_punch_return_what_they_remove)
{
	struct extent_vec v = {0};
	struct extent_map m;

	extent_map_init(&m);
	ck_assert_int_eq(extent_set(&m, 0, 10, EXTENT_MAPPED, 100, NULL), 0);
	ck_assert_int_eq(extent_set(&m, 10, 10, EXTENT_UNWRITTEN, 200, NULL), 0);
	ck_assert_int_eq(extent_set(&m, 1000000, 1, EXTENT_MAPPED, 300, NULL), 0);
	ck_assert_int_eq(extent_punch(&m, 8, 4, &v), 0);
	expect_piece(&v, 0, EXTENT_MAPPED, 8, 2, 108);
	expect_piece(&v, 1, EXTENT_UNWRITTEN, 10, 2, 200);
	ck_assert_int_eq(extent_punch(&m, 100, 1000, &v), 0); /* a hole: nothing */
	ck_assert_uint_eq(v.nr, 2);
	ck_assert_int_eq(extent_truncate(&m, 15, &v), 0);
	ck_assert_uint_eq(v.nr, 4);
	expect_piece(&v, 2, EXTENT_UNWRITTEN, 15, 5, 205);
	expect_piece(&v, 3, EXTENT_MAPPED, 1000000, 1, 300);
	ck_assert_uint_eq(extent_count(&m), 2);
	ck_assert_int_eq(extent_truncate(&m, 0, NULL), 0);
	ck_assert_uint_eq(extent_count(&m), 0);
	ck_assert_int_eq(extent_truncate(&m, EXTENT_FBLK_END, NULL), 0);
	ck_assert_int_eq(extent_map_check(&m), 0);
	extent_vec_free(&v);
	extent_map_destroy(&m);
}
END_TEST

START_TEST(bad_arguments_are_rejected_and_change_nothing)
{
	const uint64_t end = EXTENT_FBLK_END;
	struct extent_vec v = {0};
	struct extent_map m;
	uint64_t cookie;

	extent_map_init(&m);
	ck_assert_int_eq(extent_set(&m, 0, 10, EXTENT_MAPPED, 100, NULL), 0);
	cookie = extent_map_cookie(&m);
	ck_assert_int_eq(extent_set(&m, 0, 0, EXTENT_MAPPED, 1, &v), -EINVAL);
	ck_assert_int_eq(extent_set(&m, end, 1, EXTENT_MAPPED, 1, &v), -EINVAL);
	ck_assert_int_eq(extent_set(&m, end - 1, 2, EXTENT_MAPPED, 1, &v), -EINVAL);
	ck_assert_int_eq(extent_set(&m, 0, 5, EXTENT_HOLE, 1, &v), -EINVAL);
	ck_assert_int_eq(extent_set(&m, 0, 5, (enum extent_state)7, 1, &v), -EINVAL);
	ck_assert_int_eq(extent_set(&m, 0, 5, EXTENT_MAPPED, EXTENT_NO_DBLK, &v), -EINVAL);
	ck_assert_int_eq(extent_set(&m, 0, 5, EXTENT_UNWRITTEN, UINT64_MAX - 3, &v), -EINVAL);
	ck_assert_int_eq(extent_punch(&m, 0, 0, &v), -EINVAL);
	ck_assert_int_eq(extent_punch(&m, 5, end, &v), -EINVAL);
	ck_assert_int_eq(extent_convert_unwritten(&m, end, 1), -EINVAL);
	ck_assert_int_eq(extent_collapse(&m, 1, 0, &v), -EINVAL);
	ck_assert_int_eq(extent_insert_range(&m, 1, 0), -EINVAL);
	ck_assert_int_eq(extent_truncate(&m, end + 1, &v), -EINVAL);
	ck_assert_uint_eq(v.nr, 0);
	ck_assert_uint_eq(extent_map_cookie(&m), cookie);
	expect_lookup(&m, 0, EXTENT_MAPPED, 0, 10, 100);
	ck_assert_uint_eq(extent_count(&m), 1);
	/* the largest valid range works */
	ck_assert_int_eq(extent_set(&m, 0, end, EXTENT_DELALLOC, 0, &v), 0);
	expect_piece(&v, 0, EXTENT_MAPPED, 0, 10, 100);
	expect_lookup(&m, end - 1, EXTENT_DELALLOC, 0, end, EXTENT_NO_DBLK);
	ck_assert_int_eq(extent_map_check(&m), 0);
	extent_vec_free(&v);
	extent_map_destroy(&m);
}
END_TEST

START_TEST(append_adds_in_file_order_merges_and_refuses_to_go_back)
{
	struct extent_map m;
	uint64_t cookie;

	extent_map_init(&m);
	ck_assert_int_eq(extent_append(&m, 5, 10, EXTENT_MAPPED, 100), 0);
	ck_assert_int_eq(extent_append(&m, 15, 5, EXTENT_MAPPED, 110), 0); /* merges */
	ck_assert_int_eq(extent_append(&m, 20, 5, EXTENT_MAPPED, 116), 0); /* device gap */
	ck_assert_int_eq(extent_append(&m, 30, 5, EXTENT_DELALLOC, 3), 0);
	ck_assert_int_eq(extent_append(&m, 35, 5, EXTENT_DELALLOC, 9), 0); /* merges */
	ck_assert_uint_eq(extent_count(&m), 3);
	expect_lookup(&m, 0, EXTENT_HOLE, 0, 5, EXTENT_NO_DBLK);
	expect_lookup(&m, 19, EXTENT_MAPPED, 5, 15, 100);
	expect_lookup(&m, 20, EXTENT_MAPPED, 20, 5, 116);
	expect_lookup(&m, 27, EXTENT_HOLE, 25, 5, EXTENT_NO_DBLK);
	expect_lookup(&m, 39, EXTENT_DELALLOC, 30, 10, EXTENT_NO_DBLK);
	cookie = extent_map_cookie(&m);
	ck_assert_int_eq(extent_append(&m, 39, 5, EXTENT_DELALLOC, 0), -EINVAL);
	ck_assert_int_eq(extent_append(&m, 0, 1, EXTENT_MAPPED, 1), -EINVAL);
	ck_assert_int_eq(extent_append(&m, 50, 0, EXTENT_MAPPED, 1), -EINVAL);
	ck_assert_int_eq(extent_append(&m, 50, 1, EXTENT_HOLE, 1), -EINVAL);
	ck_assert_int_eq(extent_append(&m, EXTENT_FBLK_END - 1, 2, EXTENT_MAPPED, 1), -EINVAL);
	test_alloc_fail_after(0);
	cookie += extent_append(&m, 50, 1, EXTENT_MAPPED, 1) == -ENOMEM ? 0 : 1000;
	test_alloc_disarm();
	ck_assert_uint_eq(extent_map_cookie(&m), cookie);
	ck_assert_uint_eq(extent_count(&m), 3);
	ck_assert_int_eq(extent_append(&m, EXTENT_FBLK_END - 1, 1, EXTENT_UNWRITTEN, 1), 0);
	expect_lookup(&m, 40, EXTENT_HOLE, 40, EXTENT_FBLK_END - 41, EXTENT_NO_DBLK);
	ck_assert_int_eq(extent_map_check(&m), 0);
	extent_map_destroy(&m);
}
END_TEST

static int record_until_third(const struct extent_mapping *ext, void *arg)
{
	struct extent_vec *v = arg;

	ck_assert_int_eq(extent_vec_push_test(v, ext), 0);
	return v->nr == 3 ? 7 : 0;
}

START_TEST(iterate_starts_at_the_extent_covering_or_after_a_block_and_stops_on_request)
{
	struct extent_vec v = {0};
	struct extent_map m;

	extent_map_init(&m);
	for (uint64_t i = 0; i < 5; i++)
		ck_assert_int_eq(extent_append(&m, 10 * i, 5, EXTENT_MAPPED, 100 * i), 0);
	ck_assert_int_eq(extent_iterate(&m, 12, record_until_third, &v), 7);
	ck_assert_uint_eq(v.nr, 3);
	expect_piece(&v, 0, EXTENT_MAPPED, 10, 5, 100);
	expect_piece(&v, 2, EXTENT_MAPPED, 30, 5, 300);
	v.nr = 0;
	ck_assert_int_eq(extent_iterate(&m, 35, record_until_third, &v), 0);
	ck_assert_uint_eq(v.nr, 1);
	expect_piece(&v, 0, EXTENT_MAPPED, 40, 5, 400);
	v.nr = 0;
	ck_assert_int_eq(extent_iterate(&m, 45, record_until_third, &v), 0);
	ck_assert_uint_eq(v.nr, 0);
	extent_vec_free(&v);
	extent_map_destroy(&m);
}
END_TEST

static int nr_logged;

static void count_lines(enum gfs_log_level level, const char *line, void *arg)
{
	nr_logged++;
}

START_TEST(check_reports_unmerged_neighbours_bad_fields_spans_and_counts)
{
	struct extent_node *n, *second;
	struct extent_map m;

	gfs_log_set_hook(count_lines, NULL);
	extent_map_init(&m);
	ck_assert_int_eq(extent_set(&m, 0, 10, EXTENT_MAPPED, 100, NULL), 0);
	ck_assert_int_eq(extent_set(&m, 20, 10, EXTENT_MAPPED, 120, NULL), 0);
	n = rb_entry(rb_first(&m.root), struct extent_node, rb);
	second = rb_entry(rb_next(&n->rb), struct extent_node, rb);
	ck_assert_uint_eq(second->gap, 10);
	second->dblk = 110; /* [10,20) hole */
	ck_assert_int_eq(extent_map_check(&m), 0);
	second->gap = 0; /* contiguous in file and device: should have been merged (and the
			  * spans above it are stale, but the merge rule is checked first) */
	ck_assert_int_eq(extent_map_check(&m), -EUCLEAN);
	second->gap = 10;
	second->dblk = 120;
	n->len = 11; /* spans no longer add up */
	ck_assert_int_eq(extent_map_check(&m), -EUCLEAN);
	n->len = 10;
	n->state = EXTENT_HOLE;
	ck_assert_int_eq(extent_map_check(&m), -EUCLEAN);
	n->state = EXTENT_DELALLOC; /* with a device block */
	ck_assert_int_eq(extent_map_check(&m), -EUCLEAN);
	n->state = EXTENT_MAPPED;
	n->dblk = UINT64_MAX - 3; /* device range wraps */
	ck_assert_int_eq(extent_map_check(&m), -EUCLEAN);
	n->dblk = 100;
	m.nr_blocks[EXTENT_MAPPED]++;
	ck_assert_int_eq(extent_map_check(&m), -EUCLEAN);
	m.nr_blocks[EXTENT_MAPPED]--;
	ck_assert_int_eq(extent_map_check(&m), 0);
	ck_assert_int_eq(nr_logged, 6);
	gfs_log_set_hook(NULL, NULL);
	extent_map_destroy(&m);
}
END_TEST

#include "tests/meta/extent_ops.h"

int main(void)
{
	Suite *s = suite_create("extent");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, empty_map_is_one_hole_and_lookups_past_the_end_fail);
	tcase_add_test(tc, neighbours_merge_only_when_file_and_device_contiguous_with_same_state);
	tcase_add_test(tc, set_returns_the_replaced_pieces_clipped_to_the_range);
	tcase_add_test(tc, unwritten_conversion_touches_only_unwritten_blocks_and_merges);
	tcase_add_test(tc, collapse_shifts_later_extents_down_and_merges_at_the_seam);
	tcase_add_test(tc, insert_range_splits_shifts_up_and_refuses_to_pass_the_end);
	tcase_add_test(tc, truncate_and_punch_return_what_they_remove);
	tcase_add_test(tc, append_adds_in_file_order_merges_and_refuses_to_go_back);
	tcase_add_test(tc,
		       iterate_starts_at_the_extent_covering_or_after_a_block_and_stops_on_request);
	tcase_add_test(tc, bad_arguments_are_rejected_and_change_nothing);
	tcase_add_test(tc, check_reports_unmerged_neighbours_bad_fields_spans_and_counts);
	tcase_add_test(tc, random_operations_match_block_model);
	tcase_add_test(tc, failed_memory_allocation_leaves_the_map_unchanged);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
