/* SPDX-License-Identifier: MIT */
/*
 * extent_ops.h - random operations on an extent map and on the model side by side (included
 * by extent_test.c only), and the same operations under malloc failure injection.
 */
#ifndef GUARDFS_EXTENT_OPS_H
#define GUARDFS_EXTENT_OPS_H

enum x_op { X_SET, X_PUNCH, X_CONVERT, X_COLLAPSE, X_INSERT, X_TRUNCATE, X_NR_OPS };

struct x_args {
	enum x_op op;
	uint64_t fblk, len, dblk;
	enum extent_state state;
};

static struct x_args x_random_args(struct test_rng *rng)
{
	static const enum extent_state states[] = {EXTENT_DELALLOC, EXTENT_MAPPED,
						   EXTENT_UNWRITTEN};
	/* weights keep a few hundred extents alive: sets fragment, the others consume */
	static const int weights[X_NR_OPS] = {[X_SET] = 70,	[X_PUNCH] = 8,	[X_CONVERT] = 8,
					      [X_COLLAPSE] = 6, [X_INSERT] = 6, [X_TRUNCATE] = 2};
	struct x_args a = {.op = X_SET};
	int dice = rng_below(rng, 100);

	for (int op = 0; op < X_NR_OPS; dice -= weights[op++]) {
		if (dice < weights[op]) {
			a.op = op;
			break;
		}
	}

	a.fblk = rng_below(rng, X_OPS);
	a.len = 1 + rng_below(rng, rng_below(rng, 16) ? 12 : 512);
	a.state = states[rng_below(rng, 3)];
	/* mostly an identity-like mapping so that neighbours merge, sometimes anywhere */
	a.dblk = rng_below(rng, 2) ? a.fblk + X_IDOFF : rng_below(rng, UINT64_C(1) << 40);
	if (a.op == X_TRUNCATE && rng_below(rng, 4))
		a.fblk = X_OPS / 2 + rng_below(rng, X_N - X_OPS / 2);
	return a;
}

/* Run @a on @map; pieces go to @out. */
static int x_apply_map(struct extent_map *map, const struct x_args *a, struct extent_vec *out)
{
	switch (a->op) {
	case X_SET:
		return extent_set(map, a->fblk, a->len, a->state, a->dblk, out);
	case X_PUNCH:
		return extent_punch(map, a->fblk, a->len, out);
	case X_CONVERT:
		return extent_convert_unwritten(map, a->fblk, a->len);
	case X_COLLAPSE:
		return extent_collapse(map, a->fblk, a->len, out);
	case X_INSERT:
		return extent_insert_range(map, a->fblk, a->len);
	default:
		return extent_truncate(map, a->fblk, out);
	}
}

/* Run @a on the model; the pieces a correct map returns go to @want. */
static void x_apply_model(struct extent_model *m, const struct x_args *a, struct extent_vec *want)
{
	want->nr = 0;
	switch (a->op) {
	case X_SET:
		model_pieces(m, a->fblk, a->len, want);
		model_fill(m, a->fblk, a->len, a->state, a->dblk);
		break;
	case X_PUNCH:
		model_pieces(m, a->fblk, a->len, want);
		model_fill(m, a->fblk, a->len, EXTENT_HOLE, 0);
		break;
	case X_CONVERT:
		for (uint64_t b = a->fblk; b < a->fblk + a->len && b < X_N; b++)
			if (m->state[b] == EXTENT_UNWRITTEN)
				m->state[b] = EXTENT_MAPPED;
		break;
	case X_COLLAPSE:
		model_pieces(m, a->fblk, a->len, want);
		model_shift(m, a->fblk, a->len, false);
		break;
	case X_INSERT:
		model_shift(m, a->fblk, a->len, true);
		break;
	default:
		model_pieces(m, a->fblk, X_N - a->fblk, want);
		model_fill(m, a->fblk, X_N - a->fblk, EXTENT_HOLE, 0);
		break;
	}
}

START_TEST(random_operations_match_block_model)
{
	struct test_rng rng = {test_seed("random_operations_match_block_model")};
	struct extent_model *m = calloc(1, sizeof(*m));
	struct extent_vec got = {0}, want = {0};
	struct extent_map map;
	const int nr_ops = 20000;
	int nr_by_op[X_NR_OPS] = {0};
	uint64_t extents_seen = 0, max_extents = 0;

	extent_map_init(&map);
	for (int i = 0; i < nr_ops; i++) {
		struct x_args a = x_random_args(&rng);
		uint64_t cookie = extent_map_cookie(&map);

		/* keep every extent inside the model: insert must not push past X_N */
		if (a.op == X_INSERT && model_last_used(m) + a.len > X_N)
			a.op = X_COLLAPSE;
		got.nr = 0;
		ck_assert_int_eq(x_apply_map(&map, &a, &got), 0);
		x_apply_model(m, &a, &want);
		assert_pieces_equal(&got, &want);
		ck_assert_uint_eq(extent_map_cookie(&map), cookie + 1);
		model_compare_map(m, &map, i % 100 == 0);
		nr_by_op[a.op]++;
		extents_seen += extent_count(&map);
		if (extent_count(&map) > max_extents)
			max_extents = extent_count(&map);
	}
	model_compare_map(m, &map, true);
	printf("extent model: %d ops (set %d, punch %d, convert %d, collapse %d, insert %d, "
	       "truncate %d); extents: %" PRIu64 " on average, %" PRIu64 " at most\n",
	       nr_ops, nr_by_op[X_SET], nr_by_op[X_PUNCH], nr_by_op[X_CONVERT],
	       nr_by_op[X_COLLAPSE], nr_by_op[X_INSERT], nr_by_op[X_TRUNCATE],
	       extents_seen / nr_ops, max_extents);
	for (int op = 0; op < X_NR_OPS; op++)
		ck_assert_int_gt(nr_by_op[op], 100);
	ck_assert_uint_gt(extents_seen / nr_ops, 50);
	extent_vec_free(&got);
	extent_vec_free(&want);
	extent_map_destroy(&map);
	free(m);
}
END_TEST

/*
 * Each operation is first run with malloc failing after 0, 1, 2, ... successful calls until
 * it succeeds; every failure must return -ENOMEM and leave the map, its cookie and the
 * caller's vector exactly as they were.
 */
START_TEST(failed_memory_allocation_leaves_the_map_unchanged)
{
	struct test_rng rng = {test_seed("failed_memory_allocation_leaves_the_map_unchanged")};
	struct extent_model *m = calloc(1, sizeof(*m));
	struct extent_vec got = {0}, want = {0};
	struct extent_map map;
	long nr_failures = 0;

	extent_map_init(&map);
	for (int i = 0; i < 600; i++) {
		struct x_args a = x_random_args(&rng);
		uint64_t cookie = extent_map_cookie(&map);
		int ret;

		if (a.op == X_INSERT && model_last_used(m) + a.len > X_N)
			a.op = X_PUNCH;
		/* a vector with no spare room, so that appending must allocate */
		extent_vec_free(&got);
		for (long ok_calls = 0;; ok_calls++) {
			test_alloc_fail_after(ok_calls);
			ret = x_apply_map(&map, &a, &got);
			test_alloc_disarm();
			if (ret != -ENOMEM)
				break;
			nr_failures++;
			ck_assert_uint_eq(got.nr, 0);
			ck_assert_uint_eq(extent_map_cookie(&map), cookie);
			model_compare_map(m, &map, false);
		}
		ck_assert_int_eq(ret, 0);
		x_apply_model(m, &a, &want);
		assert_pieces_equal(&got, &want);
		model_compare_map(m, &map, false);
	}
	printf("extent -ENOMEM: %ld injected failures, all clean\n", nr_failures);
	ck_assert_int_gt(nr_failures, 600);
	extent_vec_free(&got);
	extent_vec_free(&want);
	extent_map_destroy(&map);
	free(m);
}
END_TEST

#endif /* GUARDFS_EXTENT_OPS_H */
