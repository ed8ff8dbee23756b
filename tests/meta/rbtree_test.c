/* SPDX-License-Identifier: MIT */
/*
 * rbtree_test.c - the intrusive red-black tree against a sorted-array model: random inserts
 * (with duplicate keys) and erases, lookups, traversal both ways, an augmented variant
 * (subtree sizes, used for order statistics), and rb_check() catching broken trees.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/rbtree.h"
#include "tests/meta/meta_test_util.h"

struct item {
	struct rb_node rb;
	uint64_t key;
	uint64_t subtree_size; /* augmented trees only */
};

#define item_of(n) rb_entry(n, struct item, rb)

static bool item_less(const struct rb_node *a, const struct rb_node *b)
{
	return item_of(a)->key < item_of(b)->key;
}

static int item_cmp(const void *key, const struct rb_node *n)
{
	uint64_t k = *(const uint64_t *)key;

	return k < item_of(n)->key ? -1 : k > item_of(n)->key;
}

static uint64_t size_of(const struct rb_node *n)
{
	return n ? item_of(n)->subtree_size : 0;
}

static void item_update(struct rb_node *n)
{
	item_of(n)->subtree_size = 1 + size_of(n->rb_left) + size_of(n->rb_right);
}

/* The @k-th smallest item (0-based), through the augmented subtree sizes. */
static struct item *item_select(const struct rb_root *root, uint64_t k)
{
	const struct rb_node *n = root->rb_node;

	while (n) {
		uint64_t left = size_of(n->rb_left);

		if (k < left) {
			n = n->rb_left;
		} else if (k == left) {
			return item_of(n);
		} else {
			k -= left + 1;
			n = n->rb_right;
		}
	}
	return NULL;
}

static uint64_t check_sizes(const struct rb_node *n)
{
	uint64_t size;

	if (!n)
		return 0;
	size = 1 + check_sizes(n->rb_left) + check_sizes(n->rb_right);
	fast_eq(item_of(n)->subtree_size, size);
	return size;
}

/* Sorted multiset of keys. */
struct model {
	uint64_t *keys;
	size_t nr;
};

static size_t model_lower(const struct model *m, uint64_t key)
{
	return test_lower_bound(m->keys, m->nr, key);
}

static void model_insert(struct model *m, uint64_t key)
{
	size_t at = model_lower(m, key);

	memmove(&m->keys[at + 1], &m->keys[at], (m->nr - at) * sizeof(uint64_t));
	m->keys[at] = key;
	m->nr++;
}

static void model_erase(struct model *m, uint64_t key)
{
	size_t at = model_lower(m, key);

	fast_true(at < m->nr && m->keys[at] == key);
	memmove(&m->keys[at], &m->keys[at + 1], (m->nr - at - 1) * sizeof(uint64_t));
	m->nr--;
}

static void compare_with_model(const struct rb_root *root, const struct model *m, bool augmented)
{
	struct rb_node *n;
	size_t nr, i = 0;

	ck_assert_int_eq(rb_check(root, item_less, &nr), 0);
	fast_eq(nr, m->nr);
	for (n = rb_first(root); n; n = rb_next(n))
		fast_eq(item_of(n)->key, m->keys[i++]);
	fast_eq(i, m->nr);
	for (n = rb_last(root); n; n = rb_prev(n))
		fast_eq(item_of(n)->key, m->keys[--i]);
	fast_eq(i, 0);
	if (augmented)
		fast_eq(check_sizes(root->rb_node), m->nr);
}

static void check_queries(const struct rb_root *root, const struct model *m, uint64_t key)
{
	size_t at = model_lower(m, key);
	struct rb_node *lb = rb_lower_bound(&key, root, item_cmp);
	struct rb_node *fl = rb_floor(&key, root, item_cmp);
	struct rb_node *found = rb_find(&key, root, item_cmp);

	if (at < m->nr)
		fast_true(lb && item_of(lb)->key == m->keys[at]);
	else
		fast_true(!lb);
	if (at < m->nr && m->keys[at] == key)
		fast_true(found && item_of(found)->key == key && fl && item_of(fl)->key == key);
	else if (at > 0)
		fast_true(!found && fl && item_of(fl)->key == m->keys[at - 1]);
	else
		fast_true(!found && !fl);
}

/* 100k random inserts and erases; keys from a small space so duplicates are common. */
static void run_random_ops(bool augmented, const char *name)
{
	struct test_rng rng = {test_seed(name)};
	struct rb_root root = RB_ROOT;
	struct model m = {calloc(100000, sizeof(uint64_t)), 0};
	const int nr_ops = 100000;

	for (int op = 0; op < nr_ops; op++) {
		bool insert = m.nr == 0 || rng_below(&rng, 100) < (m.nr < 3000 ? 60 : 40);
		uint64_t key;

		if (insert) {
			struct item *it = malloc(sizeof(*it));

			it->key = key = rng_below(&rng, 20000);
			if (augmented)
				rb_add_augmented(&it->rb, &root, item_less, item_update);
			else
				rb_add(&it->rb, &root, item_less);
			model_insert(&m, key);
		} else {
			struct rb_node *n;

			key = m.keys[rng_below(&rng, m.nr)];
			n = rb_find(&key, &root, item_cmp);
			fast_true(n);
			if (augmented)
				rb_erase_augmented(n, &root, item_update);
			else
				rb_erase(n, &root);
			free(item_of(n));
			model_erase(&m, key);
		}
		check_queries(&root, &m, rng_below(&rng, 20001));
		if (augmented && m.nr) {
			uint64_t k = rng_below(&rng, m.nr);

			fast_eq(item_select(&root, k)->key, m.keys[k]);
		}
		if (op % 997 == 0 || op == nr_ops - 1)
			compare_with_model(&root, &m, augmented);
	}
	while (!rb_empty_root(&root)) {
		struct rb_node *n = root.rb_node;

		model_erase(&m, item_of(n)->key);
		if (augmented)
			rb_erase_augmented(n, &root, item_update);
		else
			rb_erase(n, &root);
		free(item_of(n));
		if (m.nr % 512 == 0)
			compare_with_model(&root, &m, augmented);
	}
	fast_eq(m.nr, 0);
	free(m.keys);
}

START_TEST(random_inserts_and_erases_match_sorted_model)
{
	run_random_ops(false, "random_inserts_and_erases_match_sorted_model");
}
END_TEST

START_TEST(augmented_subtree_sizes_stay_exact_under_random_ops)
{
	run_random_ops(true, "augmented_subtree_sizes_stay_exact_under_random_ops");
}
END_TEST

/*
 * Order without keys: nodes go in at random positions with rb_insert_next (the neighbour is
 * found by rank through the augmented sizes) and leave from random positions; the in-order
 * sequence must match an array that does the same.
 */
START_TEST(insert_next_places_nodes_by_position_without_keys)
{
	struct test_rng rng = {test_seed("insert_next_places_nodes_by_position_without_keys")};
	enum { NR_OPS = 40000 };
	uint64_t *ids = calloc(NR_OPS, sizeof(*ids));
	struct rb_root root = RB_ROOT;
	size_t nr = 0, i;
	struct rb_node *n;

	for (uint64_t op = 0; op < NR_OPS; op++) {
		if (nr && rng_below(&rng, 100) < 40) {
			size_t pos = rng_below(&rng, nr);
			struct item *it = item_select(&root, pos);

			fast_eq(it->key, ids[pos]);
			rb_erase_augmented(&it->rb, &root, item_update);
			free(it);
			memmove(&ids[pos], &ids[pos + 1], (nr - pos - 1) * sizeof(*ids));
			nr--;
		} else {
			size_t pos = rng_below(&rng, nr + 1);
			struct item *it = malloc(sizeof(*it));
			struct item *prev = pos ? item_select(&root, pos - 1) : NULL;

			it->key = op; /* an identity, not an order */
			rb_insert_next(&it->rb, prev ? &prev->rb : NULL, &root, item_update);
			memmove(&ids[pos + 1], &ids[pos], (nr - pos) * sizeof(*ids));
			ids[pos] = op;
			nr++;
		}
		if (op % 1000 == 0) {
			ck_assert_int_eq(rb_check(&root, NULL, &i), 0);
			ck_assert_uint_eq(i, nr);
			ck_assert_uint_eq(check_sizes(root.rb_node), nr);
			for (n = rb_first(&root), i = 0; n; n = rb_next(n), i++)
				fast_eq(item_of(n)->key, ids[i]);
		}
	}
	while ((n = rb_first(&root))) {
		rb_erase(n, &root);
		free(item_of(n));
	}
	free(ids);
}
END_TEST

START_TEST(empty_tree_has_no_nodes_and_validates)
{
	struct rb_root root = RB_ROOT;
	uint64_t key = 5;
	size_t nr = 99;

	ck_assert(rb_empty_root(&root));
	ck_assert_ptr_null(rb_first(&root));
	ck_assert_ptr_null(rb_last(&root));
	ck_assert_ptr_null(rb_find(&key, &root, item_cmp));
	ck_assert_ptr_null(rb_lower_bound(&key, &root, item_cmp));
	ck_assert_ptr_null(rb_floor(&key, &root, item_cmp));
	ck_assert_int_eq(rb_check(&root, item_less, &nr), 0);
	ck_assert_uint_eq(nr, 0);
}
END_TEST

START_TEST(sequential_inserts_stay_balanced)
{
	enum { N = 65535 };
	struct item *items = calloc(N, sizeof(*items));
	struct rb_root root = RB_ROOT;
	const struct rb_node *n;
	int depth = 0;

	for (int i = 0; i < N; i++) {
		items[i].key = i;
		rb_add(&items[i].rb, &root, item_less);
	}
	ck_assert_int_eq(rb_check(&root, item_less, NULL), 0);
	/* height <= 2 log2(n + 1) = 32 */
	for (n = rb_first(&root); n; n = rb_parent(n))
		depth++;
	ck_assert_int_le(depth, 32);
	for (n = rb_last(&root), depth = 0; n; n = rb_parent(n))
		depth++;
	ck_assert_int_le(depth, 32);
	for (int i = 0; i < N; i += 2)
		rb_erase(&items[i].rb, &root);
	ck_assert_int_eq(rb_check(&root, item_less, NULL), 0);
	ck_assert_uint_eq(item_of(rb_first(&root))->key, 1);
	free(items);
}
END_TEST

static uint64_t released_keys, released_count;

/* Children come before their parent: mark each released item and check its children were. */
static void item_release(struct rb_node *n)
{
	struct item *it = item_of(n);

	ck_assert_ptr_null(n->rb_left);
	ck_assert_ptr_null(n->rb_right);
	ck_assert_uint_eq(it->subtree_size, 0);
	it->subtree_size = 1;
	released_keys += it->key;
	released_count++;
}

START_TEST(destroy_releases_every_node_once_children_first)
{
	enum { N = 1000 };
	struct item *items = calloc(N, sizeof(*items));
	struct rb_root root = RB_ROOT;

	rb_destroy(&root, item_release); /* empty: nothing to release */
	ck_assert_uint_eq(released_count, 0);
	for (int i = 0; i < N; i++) {
		items[i].key = (uint64_t)(i * 7919) % N;
		rb_add(&items[i].rb, &root, item_less);
	}
	rb_destroy(&root, item_release);
	ck_assert(rb_empty_root(&root));
	ck_assert_uint_eq(released_count, N);
	ck_assert_uint_eq(released_keys, (uint64_t)N * (N - 1) / 2);
	for (int i = 0; i < N; i++)
		ck_assert_uint_eq(items[i].subtree_size, 1);
	free(items);
}
END_TEST

static int logged_lines;

static void count_lines(enum gfs_log_level level, const char *line, void *arg)
{
	logged_lines++;
}

/* Build a valid 100-node tree in @items. */
static void build_tree(struct rb_root *root, struct item *items)
{
	*root = RB_ROOT;
	for (int i = 0; i < 100; i++) {
		items[i].key = i * 10;
		rb_add(&items[i].rb, root, item_less);
	}
	ck_assert_int_eq(rb_check(root, item_less, NULL), 0);
}

START_TEST(check_reports_broken_colour_order_and_parent_links)
{
	struct item items[100];
	struct rb_root root;
	struct rb_node *n;

	gfs_log_set_hook(count_lines, NULL);

	build_tree(&root, items);
	root.rb_node->__rb_parent_color &= ~(uintptr_t)1; /* red root */
	logged_lines = 0;
	ck_assert_int_eq(rb_check(&root, item_less, NULL), -EUCLEAN);
	ck_assert_int_eq(logged_lines, 1);

	build_tree(&root, items);
	n = rb_first(&root);
	n->__rb_parent_color ^= 1; /* one path's black count changes (or red-red appears) */
	ck_assert_int_eq(rb_check(&root, item_less, NULL), -EUCLEAN);

	build_tree(&root, items);
	items[50].key = 1; /* out of order */
	ck_assert_int_eq(rb_check(&root, item_less, NULL), -EUCLEAN);
	ck_assert_int_eq(rb_check(&root, NULL, NULL), 0); /* structure alone is fine */

	build_tree(&root, items);
	n = rb_last(&root);
	n->__rb_parent_color = (n->__rb_parent_color & 1) | (uintptr_t)&items[0].rb;
	ck_assert_int_eq(rb_check(&root, item_less, NULL), -EUCLEAN);
	gfs_log_set_hook(NULL, NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rbtree");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, empty_tree_has_no_nodes_and_validates);
	tcase_add_test(tc, sequential_inserts_stay_balanced);
	tcase_add_test(tc, destroy_releases_every_node_once_children_first);
	tcase_add_test(tc, random_inserts_and_erases_match_sorted_model);
	tcase_add_test(tc, augmented_subtree_sizes_stay_exact_under_random_ops);
	tcase_add_test(tc, insert_next_places_nodes_by_position_without_keys);
	tcase_add_test(tc, check_reports_broken_colour_order_and_parent_links);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
