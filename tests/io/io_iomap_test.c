/* SPDX-License-Identifier: MIT */
/*
 * io_iomap_test.c - the mapping iterator on its own, with scripted begin/end ops: it walks a
 * range mapping by mapping, ends every mapping exactly once with the bytes advanced, stops on
 * zero progress unless the body marked the mapping stale (then it maps again from the same
 * position), stops on a body error, refuses to advance past a mapping, and rejects a begin
 * that does not cover the position.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/iomap.h"
#include "tests/util/test_util.h"

struct script {
	uint64_t map_len; /* each mapping's length */
	unsigned begins, ends;
	uint64_t ended_bytes; /* sum of written over ends */
	bool bad_offset;
};

static int s_begin(struct iomap_iter *iter, uint64_t pos, uint64_t len, unsigned flags,
		   struct meta_map *map)
{
	struct script *s = iter->private;

	s->begins++;
	map->type = META_MAP_HOLE;
	map->offset = s->bad_offset ? pos + 1 : pos;
	map->length = s->map_len;
	return 0;
}

static int s_end(struct iomap_iter *iter, uint64_t pos, uint64_t len, uint64_t written,
		 const struct meta_map *map)
{
	struct script *s = iter->private;

	s->ends++;
	s->ended_bytes += written;
	return 0;
}

static const struct iomap_ops s_ops = {.begin = s_begin, .end = s_end};

START_TEST(iterator_walks_range_one_mapping_at_a_time)
{
	struct script s = {.map_len = 4096};
	struct iomap_iter iter = {.pos = 1000, .len = 10000, .private = &s};
	int ret;

	while ((ret = iomap_iter(&iter, &s_ops)) > 0) {
		ck_assert_uint_eq(iomap_length(&iter), iter.len < 4096 ? iter.len : 4096);
		iter.status = iomap_iter_advance(&iter, iomap_length(&iter));
	}
	ck_assert_int_eq(ret, 0);
	ck_assert_uint_eq(iter.pos, 11000);
	ck_assert_uint_eq(s.begins, 3);
	ck_assert_uint_eq(s.ends, 3);
	ck_assert_uint_eq(s.ended_bytes, 10000);
}
END_TEST

START_TEST(zero_progress_stops_unless_stale)
{
	struct script s = {.map_len = 4096};
	struct iomap_iter iter = {.pos = 0, .len = 8192, .private = &s};
	int ret, bodies = 0;

	while ((ret = iomap_iter(&iter, &s_ops)) > 0) {
		/* First two bodies: stale without progress (remap); the third does nothing. */
		if (bodies++ < 2)
			iomap_iter_set_stale(&iter);
		iter.status = 0;
	}
	ck_assert_int_eq(ret, 0);
	ck_assert_int_eq(bodies, 3);
	ck_assert_uint_eq(s.begins, 3);
	ck_assert_uint_eq(s.ends, 3);
	ck_assert_uint_eq(iter.pos, 0);
}
END_TEST

START_TEST(body_error_ends_walk_after_ending_mapping)
{
	struct script s = {.map_len = 4096};
	struct iomap_iter iter = {.pos = 0, .len = 100000, .private = &s};
	int ret;

	while ((ret = iomap_iter(&iter, &s_ops)) > 0) {
		iomap_iter_advance(&iter, 100);
		iter.status = -ENOSPC;
	}
	ck_assert_int_eq(ret, -ENOSPC);
	ck_assert_uint_eq(s.ends, 1);
	ck_assert_uint_eq(s.ended_bytes, 100);
}
END_TEST

START_TEST(advance_past_mapping_and_uncovering_begin_are_refused)
{
	struct script s = {.map_len = 4096};
	struct iomap_iter iter = {.pos = 0, .len = 100000, .private = &s};

	ck_assert_int_eq(iomap_iter(&iter, &s_ops), 1);
	ck_assert_int_eq(iomap_iter_advance(&iter, 4097), -EIO);
	ck_assert_uint_eq(iter.pos, 0);
	ck_assert_int_eq(iomap_iter_advance(&iter, 4096), 0);
	s.bad_offset = true;
	ck_assert_int_eq(iomap_iter(&iter, &s_ops), -EIO);
	ck_assert_uint_eq(s.ends, 1);
}
END_TEST

START_TEST(empty_range_maps_nothing)
{
	struct script s = {.map_len = 4096};
	struct iomap_iter iter = {.pos = 5, .len = 0, .private = &s};

	ck_assert_int_eq(iomap_iter(&iter, &s_ops), 0);
	ck_assert_uint_eq(s.begins, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("io_iomap");
	TCase *tc = tcase_create("iter");

	tcase_add_test(tc, iterator_walks_range_one_mapping_at_a_time);
	tcase_add_test(tc, zero_progress_stops_unless_stale);
	tcase_add_test(tc, body_error_ends_walk_after_ending_mapping);
	tcase_add_test(tc, advance_past_mapping_and_uncovering_begin_are_refused);
	tcase_add_test(tc, empty_range_maps_nothing);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
