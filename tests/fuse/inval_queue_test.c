// SPDX-License-Identifier: MIT
/*
 * inval_queue_test.c - the notifier's queue (fuse/inval_queue.h): FIFO order, runs of one inode
 * folded into one covering range with the run's last sequence number, other inodes ending a run,
 * and lengths that mean "to the end of the file".
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuse/inval_queue.h"
#include "tests/util/test_util.h"

static uint64_t next_seq;

static void start(struct inval_queue *q)
{
	inval_queue_init(q);
	next_seq = 0;
}

static void push(struct inval_queue *q, uint64_t ino, uint64_t off, uint64_t len)
{
	struct inval_item *it = malloc(sizeof(*it));

	ck_assert_ptr_nonnull(it);
	*it = (struct inval_item){.ino = ino, .off = off, .len = len, .seq = ++next_seq};
	inval_queue_push(q, it);
}

/* Take a run and check it is exactly [off, off + len) of ino with sequence number seq. */
static void expect_run(struct inval_queue *q, uint64_t ino, uint64_t off, uint64_t len,
		       uint64_t seq)
{
	struct inval_item *it = inval_queue_take_run(q);

	ck_assert_ptr_nonnull(it);
	ck_assert_uint_eq(it->ino, ino);
	ck_assert_uint_eq(it->off, off);
	ck_assert_uint_eq(it->len, len);
	ck_assert_uint_eq(it->seq, seq);
	ck_assert_ptr_null(it->next);
	free(it);
}

START_TEST(an_empty_queue_has_no_run)
{
	struct inval_queue q;

	start(&q);
	ck_assert_ptr_null(inval_queue_take_run(&q));
	/* and stays usable: the tail was reset */
	push(&q, 7, 0, 4096);
	expect_run(&q, 7, 0, 4096, 1);
	ck_assert_ptr_null(inval_queue_take_run(&q));
	push(&q, 7, 8192, 4096);
	expect_run(&q, 7, 8192, 4096, 2);
}
END_TEST

START_TEST(a_run_of_one_inode_becomes_one_covering_range)
{
	struct inval_queue q;

	start(&q);
	/* out of order and disjoint, as direct writes at queue depth queue them */
	push(&q, 3, 65536, 4096);
	push(&q, 3, 4096, 4096);
	push(&q, 3, 1 << 20, 8192);
	push(&q, 3, 4096, 100);
	expect_run(&q, 3, 4096, (1 << 20) + 8192 - 4096, 4);
	ck_assert_ptr_null(inval_queue_take_run(&q));
}
END_TEST

START_TEST(another_inode_ends_a_run)
{
	struct inval_queue q;

	start(&q);
	push(&q, 1, 0, 4096);
	push(&q, 1, 4096, 4096);
	push(&q, 2, 0, 4096);
	push(&q, 1, 1 << 20, 4096);
	push(&q, 1, 8192, 4096);
	expect_run(&q, 1, 0, 8192, 2);
	expect_run(&q, 2, 0, 4096, 3);
	expect_run(&q, 1, 8192, (1 << 20) + 4096 - 8192, 5);
	ck_assert_ptr_null(inval_queue_take_run(&q));
}
END_TEST

START_TEST(to_the_end_of_the_file_survives_a_fold)
{
	struct inval_queue q;
	struct inval_item *it;

	start(&q);
	/* a shrinking truncate's range (to the end), then a direct write before it */
	push(&q, 9, 100000, UINT64_MAX);
	push(&q, 9, 4096, 4096);
	it = inval_queue_take_run(&q);
	ck_assert_ptr_nonnull(it);
	ck_assert_uint_eq(it->off, 4096);
	ck_assert_uint_eq(inval_item_end(it), UINT64_MAX);
	ck_assert_uint_eq(it->seq, 2);
	free(it);
}
END_TEST

static Suite *inval_queue_suite(void)
{
	Suite *s = suite_create("inval_queue");
	TCase *tc = tcase_create("queue");

	tcase_add_test(tc, an_empty_queue_has_no_run);
	tcase_add_test(tc, a_run_of_one_inode_becomes_one_covering_range);
	tcase_add_test(tc, another_inode_ends_a_run);
	tcase_add_test(tc, to_the_end_of_the_file_survives_a_fold);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(inval_queue_suite());
}
