/* SPDX-License-Identifier: MIT */
/*
 * cache_index_test.c - the cache index (radix tree) against a sorted-array model: random
 * inserts, erases, lookups and range finds over keys of every magnitude up to UINT64_MAX, and
 * insert failures at every allocation leaving the tree unchanged.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/cache_index.h"
#include "tests/cache/cache_test_util.h"

#define MODEL_MAX 4096

struct model {
	uint64_t keys[MODEL_MAX]; /* sorted */
	unsigned nr;
};

static unsigned model_pos(const struct model *m, uint64_t key)
{
	return (unsigned)test_lower_bound(m->keys, m->nr, key);
}

static bool model_has(const struct model *m, uint64_t key)
{
	unsigned pos = model_pos(m, key);

	return pos < m->nr && m->keys[pos] == key;
}

/* Items are the key's address-sized tag: key * 2 + 1 is never NULL. */
static void *item_of(uint64_t key)
{
	return (void *)(uintptr_t)(key * 2 + 1);
}

static uint64_t random_key(struct test_rng *rng)
{
	switch (rng_below(rng, 4)) {
	case 0:
		return rng_below(rng, 200);
	case 1:
		return rng_below(rng, 1ull << 20);
	case 2:
		return UINT64_MAX - rng_below(rng, 100);
	default:
		return rng_next(rng) >> rng_below(rng, 64);
	}
}

static void check_find_matches_model(const struct cache_index *idx, const struct model *m,
				     uint64_t from, uint64_t last)
{
	unsigned pos = model_pos(m, from);
	uint64_t key = from;
	void *item = cache_index_find(idx, &key, last);

	if (pos < m->nr && m->keys[pos] <= last) {
		ck_assert_ptr_eq(item, item_of(m->keys[pos]));
		ck_assert_uint_eq(key, m->keys[pos]);
	} else {
		ck_assert_ptr_null(item);
	}
}

START_TEST(random_operations_match_a_sorted_model)
{
	struct test_rng rng = {test_seed("random_operations_match_a_sorted_model")};
	static struct model m;
	struct cache_index idx;

	memset(&m, 0, sizeof(m));
	cache_index_init(&idx);
	for (int op = 0; op < 200000; op++) {
		uint64_t key = rng_below(&rng, 3) ? random_key(&rng)
						  : (m.nr ? m.keys[rng_below(&rng, m.nr)] : 0);
		unsigned pos = model_pos(&m, key);

		switch (rng_below(&rng, 4)) {
		case 0:
			if (m.nr == MODEL_MAX)
				break;
			ck_assert_int_eq(cache_index_insert(&idx, key, item_of(key)),
					 model_has(&m, key) ? -EEXIST : 0);
			if (!model_has(&m, key)) {
				memmove(&m.keys[pos + 1], &m.keys[pos], (m.nr - pos) * 8);
				m.keys[pos] = key;
				m.nr++;
			}
			break;
		case 1:
			ck_assert_ptr_eq(cache_index_erase(&idx, key),
					 model_has(&m, key) ? item_of(key) : NULL);
			if (model_has(&m, key)) {
				memmove(&m.keys[pos], &m.keys[pos + 1], (m.nr - pos - 1) * 8);
				m.nr--;
			}
			break;
		case 2:
			ck_assert_ptr_eq(cache_index_lookup(&idx, key),
					 model_has(&m, key) ? item_of(key) : NULL);
			break;
		default: {
			uint64_t span = rng_next(&rng) >> rng_below(&rng, 64);

			check_find_matches_model(&idx, &m, key,
						 key + span < key ? UINT64_MAX : key + span);
			break;
		}
		}
		ck_assert_uint_eq(idx.nr_items, m.nr);
	}
	/* A full walk visits every key in order. */
	{
		uint64_t key = 0;
		unsigned seen = 0;
		void *item;

		while ((item = cache_index_find(&idx, &key, UINT64_MAX))) {
			ck_assert_uint_eq(key, m.keys[seen]);
			seen++;
			if (key == UINT64_MAX)
				break;
			key++;
		}
		ck_assert_uint_eq(seen, m.nr);
	}
	while (m.nr) {
		ck_assert_ptr_eq(cache_index_erase(&idx, m.keys[m.nr - 1]),
				 item_of(m.keys[m.nr - 1]));
		m.nr--;
	}
	ck_assert_ptr_null(idx.root);
	cache_index_destroy(&idx);
}
END_TEST

START_TEST(failed_insert_leaves_the_tree_unchanged)
{
	const uint64_t keys[] = {5, 1ull << 30, UINT64_MAX, 64 * 64 + 3, 1ull << 45};
	struct cache_index idx;
	int ret;

	cache_index_init(&idx);
	ck_assert_int_eq(cache_index_insert(&idx, 70, item_of(70)), 0);
	for (unsigned k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		for (long ok = 0;; ok++) {
			test_alloc_fail_after(ok);
			ret = cache_index_insert(&idx, keys[k], item_of(keys[k]));
			test_alloc_disarm();
			if (ret == 0)
				break;
			ck_assert_int_eq(ret, -ENOMEM);
			ck_assert_ptr_null(cache_index_lookup(&idx, keys[k]));
			ck_assert_ptr_eq(cache_index_lookup(&idx, 70), item_of(70));
			ck_assert_uint_eq(idx.nr_items, k + 1);
		}
		for (unsigned j = 0; j <= k; j++)
			ck_assert_ptr_eq(cache_index_lookup(&idx, keys[j]), item_of(keys[j]));
	}
	ck_assert_int_eq(cache_index_insert(&idx, 70, item_of(70)), -EEXIST);
	cache_index_destroy(&idx); /* frees every node; ASan checks for leaks */
	ck_assert_ptr_null(idx.root);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cache_index");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, random_operations_match_a_sorted_model);
	tcase_add_test(tc, failed_insert_leaves_the_tree_unchanged);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
