/* SPDX-License-Identifier: MIT */
/*
 * journal_log_test.c - the journal on real images: records come back in order after reopen
 * for every namespace format, group commit from many threads, one write serving many
 * waiters, log wrap-around with checkpoints, records larger than a block, checkpoint ENOSPC,
 * log write errors, replay callback errors, and a previous filesystem's log being ignored.
 *
 * A small key-value model stands for the metadata: type 1 records set a key (with a filler
 * whose bytes are checked on replay), a checkpoint writes one type 2 record per key.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/journal.h"
#include "core/ns_fault.h"
#include "core/sb.h"
#include "tests/journal/jt_util.h"
#include "tests/journal/jt_kv.h"

static const struct jt_fmt_case cases[] = {
	{512, 0, PI_TYPE_NONE, PI_GUARD_16, false, 512},
	{512, 8, PI_TYPE_1, PI_GUARD_16, false, 0},
	{512, 16, PI_TYPE_2, PI_GUARD_16, true, 1024},
	{512, 64, PI_TYPE_3, PI_GUARD_16, false, 512},
	{4096, 0, PI_TYPE_NONE, PI_GUARD_16, false, 0},
	{4096, 8, PI_TYPE_1, PI_GUARD_16, false, 0},
	{4096, 16, PI_TYPE_2, PI_GUARD_64, false, 0},
	{4096, 16, PI_TYPE_3, PI_GUARD_64, true, 8192},
	{4096, 64, PI_TYPE_1, PI_GUARD_64, true, 0},
	{4096, 64, PI_TYPE_NONE, PI_GUARD_16, false, 65536},
};

START_TEST(records_survive_reopen_in_order_every_format)
{
	const struct jt_fmt_case *c = &cases[_i];
	struct pi_format f = jt_case_format(c);
	struct sb_params p = {.block_size = c->bs};
	struct kv_fs fs;

	kv_mkfs(&fs, &f, c->bs == 65536 ? 65536 : 16384, &p);
	fs.strict = true; /* every metadata write and read passes a PRCHK-style check */
	for (int round = 0; round < 3; round++) {
		kv_open(&fs);
		ck_assert_uint_eq(journal_next_seq(fs.j), fs.model.next_seq);
		for (int i = 0; i < 300; i++) {
			kv_set_or_checkpoint(&fs, (uint32_t)(jt_rand() % KV_KEYS), jt_rand());
			if (i % 7 == 6)
				ck_assert_int_eq(journal_commit_all(fs.j), 0);
		}
		if (round == 1)
			ck_assert_int_eq(journal_checkpoint(fs.j, kv_emit, &fs.model), 0);
		kv_close(&fs);
		kv_check_reopen(&fs);
	}
	kv_destroy(&fs);
}
END_TEST

struct thr {
	struct journal *j;
	unsigned id, count;
	pthread_barrier_t *bar;
	uint64_t seq;
	int ret;
};

static void *append_commit_thread(void *arg)
{
	struct thr *t = arg;

	pthread_barrier_wait(t->bar);
	for (unsigned i = 0; i < t->count && !t->ret; i++) {
		uint32_t v[2] = {t->id, i};
		uint64_t seq;

		t->ret = journal_append(t->j, 3, v, sizeof(v), &seq);
		if (!t->ret)
			t->ret = journal_commit(t->j, seq);
	}
	return NULL;
}

START_TEST(group_commit_from_many_threads_keeps_everything_in_order)
{
	struct pi_format f = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	enum { THREADS = 8, PER = 150 };
	struct thr t[THREADS];
	pthread_t tid[THREADS];
	pthread_barrier_t bar;
	struct jt_collect col = {0};
	struct journal_stats st;
	struct kv_fs fs;
	unsigned next[THREADS] = {0};

	struct sb_params p = {.log_blocks = 2048}; /* every record may be its own batch */

	kv_mkfs(&fs, &f, 16384, &p);
	kv_open(&fs);
	pthread_barrier_init(&bar, NULL, THREADS);
	for (unsigned i = 0; i < THREADS; i++) {
		t[i] = (struct thr){.j = fs.j, .id = i, .count = PER, .bar = &bar};
		pthread_create(&tid[i], NULL, append_commit_thread, &t[i]);
	}
	for (unsigned i = 0; i < THREADS; i++) {
		pthread_join(tid[i], NULL);
		ck_assert_int_eq(t[i].ret, 0);
	}
	pthread_barrier_destroy(&bar);
	journal_get_stats(fs.j, &st);
	ck_assert_uint_eq(st.records_logged, THREADS * PER);
	ck_assert_uint_le(st.log_writes, THREADS * PER);
	ck_assert_int_eq(journal_close(fs.j), 0);
	ns_close(fs.ns);

	fs.ns = test_ns_open(fs.path, &fs.fmt, false);
	ck_assert_int_eq(sb_read(fs.ns, &fs.sb), 0);
	ck_assert_int_eq(journal_open(fs.ns, &fs.sb, jt_collect_fn, &col, &fs.j), 0);
	ck_assert_uint_eq(col.count, THREADS * PER);
	for (size_t i = 0; i < col.count; i++) {
		uint32_t v[2];

		ck_assert_int_eq(col.recs[i].src, JOURNAL_SRC_LOG);
		ck_assert_uint_eq(col.recs[i].seq, i + 1);
		ck_assert_uint_eq(col.recs[i].len, sizeof(v));
		memcpy(v, col.recs[i].payload, sizeof(v));
		ck_assert_uint_lt(v[0], THREADS);
		ck_assert_uint_eq(v[1], next[v[0]]); /* each thread's records in its order */
		next[v[0]]++;
	}
	jt_collect_free(&col);
	ck_assert_int_eq(journal_close(fs.j), 0);
	ns_close(fs.ns);
	fs.ns = NULL;
	fs.j = NULL;
	kv_destroy(&fs);
}
END_TEST

static void *commit_thread(void *arg)
{
	struct thr *t = arg;

	pthread_barrier_wait(t->bar);
	t->ret = journal_commit(t->j, t->seq);
	return NULL;
}

START_TEST(one_log_write_serves_every_waiting_commit)
{
	struct pi_format f = test_format(512, 8, PI_TYPE_1, PI_GUARD_16, false);
	enum { THREADS = 8 };
	struct thr t[THREADS];
	pthread_t tid[THREADS];
	pthread_barrier_t bar;
	struct journal_stats st;
	struct kv_fs fs;

	kv_mkfs(&fs, &f, 16384, NULL);
	kv_open(&fs);
	for (int i = 0; i < 100; i++)
		kv_set(&fs, (uint32_t)i % KV_KEYS, jt_rand());
	pthread_barrier_init(&bar, NULL, THREADS);
	for (unsigned i = 0; i < THREADS; i++) {
		t[i] = (struct thr){.j = fs.j, .bar = &bar, .seq = 1 + jt_rand() % 100};
		pthread_create(&tid[i], NULL, commit_thread, &t[i]);
	}
	for (unsigned i = 0; i < THREADS; i++) {
		pthread_join(tid[i], NULL);
		ck_assert_int_eq(t[i].ret, 0);
	}
	pthread_barrier_destroy(&bar);
	journal_get_stats(fs.j, &st);
	ck_assert_uint_eq(st.log_writes, 1);
	ck_assert_uint_eq(st.records_logged, 100);
	ck_assert_uint_eq(journal_durable_seq(fs.j), 101);
	ck_assert_int_eq(journal_commit(fs.j, 101), -EINVAL); /* not appended yet */
	kv_close(&fs);
	kv_check_reopen(&fs);
	kv_destroy(&fs);
}
END_TEST

START_TEST(log_wraps_many_times_with_checkpoints)
{
	struct pi_format f = test_format(512, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct sb_params p = {.block_size = 512, .log_blocks = 16};
	struct journal_stats st;
	uint64_t writes = 0, ckpts = 0;
	struct kv_fs fs;

	kv_mkfs(&fs, &f, 16384, &p);
	kv_open(&fs);
	for (int i = 0; i < 4000; i++) {
		kv_set_or_checkpoint(&fs, (uint32_t)(jt_rand() % KV_KEYS), jt_rand());
		if (jt_rand() % 3 == 0)
			ck_assert_int_eq(journal_commit_all(fs.j), 0);
		if (journal_should_checkpoint(fs.j))
			ck_assert_int_eq(journal_checkpoint(fs.j, kv_emit, &fs.model), 0);
		if (i % 1000 == 999) {
			journal_get_stats(fs.j, &st);
			writes += st.log_writes;
			ckpts += st.checkpoints;
			kv_close(&fs);
			kv_check_reopen(&fs);
			kv_open(&fs);
		}
	}
	kv_close(&fs);
	kv_check_reopen(&fs);
	/* 16 log blocks: the log went round many times. */
	ck_assert_uint_gt(writes, 10 * 16);
	ck_assert_uint_gt(ckpts, 10);
	kv_destroy(&fs);
}
END_TEST

START_TEST(records_larger_than_blocks_span_them)
{
	struct pi_format f = test_format(512, 16, PI_TYPE_2, PI_GUARD_16, false);
	struct sb_params p = {.block_size = 512, .log_blocks = 1024};
	uint8_t *big = malloc(300000);
	struct jt_collect col = {0};
	struct kv_fs fs;
	uint64_t seq;

	kv_mkfs(&fs, &f, 32768, &p);
	kv_open(&fs);
	for (uint32_t i = 0; i < 300000; i++)
		big[i] = (uint8_t)(i * 7 + 3);
	ck_assert_int_eq(journal_append(fs.j, 9, big, 65536, &seq), 0);
	ck_assert_int_eq(journal_append(fs.j, 9, big + 1, 1, &seq), 0);
	ck_assert_int_eq(journal_append(fs.j, 9, NULL, 0, &seq), 0);
	ck_assert_int_eq(journal_append(fs.j, 9, big, 100000, &seq), 0);
	ck_assert_int_eq(journal_commit(fs.j, seq), 0);
	/* The largest record fits, one byte more never can. */
	ck_assert_uint_eq(journal_max_record_len(fs.j), 512 * 448 - 32);
	ck_assert_int_eq(journal_append(fs.j, 9, big, journal_max_record_len(fs.j), &seq), 0);
	ck_assert_int_eq(journal_append(fs.j, 9, big, journal_max_record_len(fs.j) + 1, &seq),
			 -E2BIG);
	ck_assert_int_eq(journal_commit(fs.j, seq), 0);
	/* Larger than half the log: can never fit. */
	ck_assert_int_eq(journal_append(fs.j, 9, big, 300000, &seq), -E2BIG);
	ck_assert_int_eq(journal_append(fs.j, 0, big, 1, &seq), -EINVAL);
	ck_assert_int_eq(journal_close(fs.j), 0);
	ns_close(fs.ns);
	fs.ns = test_ns_open(fs.path, &fs.fmt, false);
	ck_assert_int_eq(sb_read(fs.ns, &fs.sb), 0);
	ck_assert_int_eq(journal_open(fs.ns, &fs.sb, jt_collect_fn, &col, &fs.j), 0);
	ck_assert_uint_eq(col.count, 5);
	ck_assert_uint_eq(col.recs[4].len, 512 * 448 - 32);
	ck_assert_uint_eq(col.recs[0].len, 65536);
	ck_assert_mem_eq(col.recs[0].payload, big, 65536);
	ck_assert_uint_eq(col.recs[1].len, 1);
	ck_assert_uint_eq(col.recs[2].len, 0);
	ck_assert_uint_eq(col.recs[3].len, 100000);
	ck_assert_mem_eq(col.recs[3].payload, big, 100000);
	jt_collect_free(&col);
	ck_assert_int_eq(journal_close(fs.j), 0);
	ns_close(fs.ns);
	fs.ns = NULL;
	fs.j = NULL;
	free(big);
	kv_destroy(&fs);
}
END_TEST

#define CNT_INC	 7
#define CNT_CKPT 8
#define CNTS	 5

struct counters {
	uint64_t v[CNTS];
	bool bad;
};

static int cnt_replay(void *arg, enum journal_src src, const struct journal_rec *rec)
{
	struct counters *c = arg;
	uint32_t idx;
	uint64_t v;

	ck_assert_uint_ge(rec->len, 4);
	memcpy(&idx, rec->payload, 4);
	ck_assert_uint_lt(idx, CNTS);
	if (rec->type == CNT_INC) {
		c->v[idx]++; /* not idempotent: a record replayed twice shows */
	} else {
		ck_assert_uint_eq(rec->type, CNT_CKPT);
		memcpy(&v, (const uint8_t *)rec->payload + 4, 8);
		c->v[idx] = v;
	}
	return 0;
}

static void cnt_inc(struct journal *j, struct counters *model, uint32_t idx)
{
	ck_assert_int_eq(journal_append(j, CNT_INC, &idx, 4, NULL), 0);
	model->v[idx]++;
}

/* Open fs's namespace and journal; the replayed counters must equal model, when given. */
static struct journal *cnt_open(struct kv_fs *fs, const struct counters *model)
{
	struct counters got = {0};
	struct journal *j;

	fs->ns = test_ns_open(fs->path, &fs->fmt, false);
	ck_assert_int_eq(sb_read(fs->ns, &fs->sb), 0);
	ck_assert_int_eq(journal_open(fs->ns, &fs->sb, cnt_replay, &got, &j), 0);
	if (model)
		ck_assert_mem_eq(got.v, model->v, sizeof(model->v));
	return j;
}

START_TEST(two_step_checkpoint_lets_appends_continue_while_it_is_written)
{
	struct pi_format f = test_format(4096, 16, PI_TYPE_2, PI_GUARD_64, false);
	struct counters model = {0}, snap;
	struct journal_ckpt *ck;
	struct journal *j;
	struct kv_fs fs;

	kv_mkfs(&fs, &f, 16384, NULL);
	j = cnt_open(&fs, NULL);
	for (int i = 0; i < 100; i++)
		cnt_inc(j, &model, (uint32_t)(jt_rand() % CNTS));
	ck_assert_int_eq(journal_checkpoint_begin(j, &ck), 0);
	ck_assert_uint_eq(journal_ckpt_next_seq(ck), 101);
	snap = model;
	/* Appends and commits go on while the snapshot is being written. */
	for (int i = 0; i < 50; i++) {
		cnt_inc(j, &model, (uint32_t)(jt_rand() % CNTS));
		if (i % 10 == 0)
			ck_assert_int_eq(journal_commit_all(j), 0);
		if (i % 10 == 5) {
			uint8_t rec[12];
			uint32_t idx = (uint32_t)(i / 10);

			memcpy(rec, &idx, 4);
			memcpy(rec + 4, &snap.v[idx], 8);
			ck_assert_int_eq(journal_ckpt_add(ck, CNT_CKPT, rec, sizeof(rec)), 0);
		}
	}
	ck_assert_int_eq(journal_checkpoint_end(ck, 0), 0);
	for (int i = 0; i < 20; i++)
		cnt_inc(j, &model, (uint32_t)(jt_rand() % CNTS));
	ck_assert_int_eq(journal_close(j), 0);
	ns_close(fs.ns);

	j = cnt_open(&fs, &model);
	ck_assert_uint_eq(journal_next_seq(j), 171);
	/* Giving up leaves the checkpoint that was there. */
	ck_assert_int_eq(journal_checkpoint_begin(j, &ck), 0);
	ck_assert_int_eq(journal_checkpoint_end(ck, -ECANCELED), -ECANCELED);
	ck_assert_int_eq(journal_close(j), 0);
	ns_close(fs.ns);
	j = cnt_open(&fs, &model);
	ck_assert_int_eq(journal_close(j), 0);
	ns_close(fs.ns);
	fs.ns = NULL;
	kv_destroy(&fs);
}
END_TEST

START_TEST(checkpoint_that_does_not_fit_is_enospc_and_harmless)
{
	struct pi_format f = test_format(512, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct sb_params p = {.block_size = 512, .ckpt_blocks = 2, .log_blocks = 256};
	struct kv_fs fs;

	kv_mkfs(&fs, &f, 16384, &p);
	kv_open(&fs);
	for (uint32_t k = 0; k < KV_KEYS; k++)
		kv_set(&fs, k, jt_rand());
	ck_assert_int_eq(journal_commit_all(fs.j), 0);
	test_log_capture();
	ck_assert_int_eq(journal_checkpoint(fs.j, kv_emit, &fs.model), -ENOSPC);
	ck_assert_ptr_nonnull(strstr(test_log_last_error(), "does not fit"));
	kv_set(&fs, 1, 12345);
	ck_assert_int_eq(journal_commit_all(fs.j), 0);
	kv_close(&fs);
	kv_check_reopen(&fs);
	kv_destroy(&fs);
}
END_TEST

START_TEST(log_write_error_fails_commit_and_later_appends)
{
	struct pi_format f = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct ns_fault fault = {.kind = NS_FAULT_IO_ERROR, .ops = NS_FAULT_OP(NS_OP_WRITE)};
	struct kv_fs fs;
	uint64_t seq;

	kv_mkfs(&fs, &f, 16384, NULL);
	kv_open(&fs);
	kv_set(&fs, 1, 1);
	ck_assert_int_eq(journal_commit_all(fs.j), 0);
	fault.lba_first = fs.sb.log_start * (fs.sb.block_size / 4096);
	fault.lba_last = (fs.sb.log_start + fs.sb.log_blocks) * (fs.sb.block_size / 4096) - 1;
	ck_assert_int_ge(ns_fault_add(fs.ns, &fault), 0);
	test_log_capture();
	ck_assert_int_eq(journal_append(fs.j, 1, "x", 1, &seq), 0);
	ck_assert_int_eq(journal_commit(fs.j, seq), -EIO);
	ck_assert_ptr_nonnull(strstr(test_log_last_error(), "log write at LBA"));
	ck_assert_int_eq(journal_append(fs.j, 1, "x", 1, &seq), -EIO);
	ck_assert_int_eq(journal_close(fs.j), -EIO);
	ns_fault_clear(fs.ns);
	fs.j = NULL;
	kv_close(&fs);
	kv_check_reopen(&fs); /* the committed record is there */
	kv_destroy(&fs);
}
END_TEST

static int failing_fn(void *arg, enum journal_src src, const struct journal_rec *rec)
{
	int *left = arg;

	return --*left ? 0 : -ECANCELED;
}

START_TEST(replay_callback_error_aborts_open)
{
	struct pi_format f = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct journal *j = NULL;
	struct kv_fs fs;
	int left = 5;

	kv_mkfs(&fs, &f, 16384, NULL);
	kv_open(&fs);
	for (int i = 0; i < 20; i++)
		kv_set(&fs, (uint32_t)i, 7);
	kv_close(&fs);
	fs.ns = test_ns_open(fs.path, &fs.fmt, false);
	ck_assert_int_eq(sb_read(fs.ns, &fs.sb), 0);
	ck_assert_int_eq(journal_open(fs.ns, &fs.sb, failing_fn, &left, &j), -ECANCELED);
	ck_assert_ptr_null(j);
	ns_close(fs.ns);
	fs.ns = NULL;
	kv_check_reopen(&fs);
	kv_destroy(&fs);
}
END_TEST

START_TEST(abandon_loses_only_uncommitted_records)
{
	struct pi_format f = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct kv_model committed;
	struct kv_fs fs;

	kv_mkfs(&fs, &f, 16384, NULL);
	kv_open(&fs);
	for (int i = 0; i < 30; i++)
		kv_set(&fs, (uint32_t)i, 1);
	ck_assert_int_eq(journal_commit_all(fs.j), 0);
	committed = fs.model;
	for (int i = 0; i < 30; i++)
		kv_set(&fs, (uint32_t)i, 2); /* never committed */
	journal_abandon(fs.j);
	fs.j = NULL;
	kv_close(&fs);
	fs.model = committed;
	kv_check_reopen(&fs);
	kv_destroy(&fs);
}
END_TEST

START_TEST(previous_filesystems_log_is_ignored_after_mkfs)
{
	struct pi_format f = test_format(4096, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct kv_fs fs;

	kv_mkfs(&fs, &f, 16384, NULL);
	kv_open(&fs);
	for (int i = 0; i < 50; i++)
		kv_set(&fs, (uint32_t)i % KV_KEYS, 9);
	kv_close(&fs);
	/* mkfs again over the same image: nothing of the old log may come back. */
	fs.ns = test_ns_open(fs.path, &fs.fmt, false);
	jt_mkfs(fs.ns, NULL, &fs.sb);
	ns_close(fs.ns);
	fs.ns = NULL;
	kv_model_reset(&fs.model);
	kv_check_reopen(&fs);
	kv_destroy(&fs);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("journal_log");
	TCase *tc = tcase_create("log");
	int n = (int)(sizeof(cases) / sizeof(cases[0]));

	jt_seed("journal_log");
	tcase_set_timeout(tc, 240);
	tcase_add_loop_test(tc, records_survive_reopen_in_order_every_format, 0, n);
	tcase_add_test(tc, group_commit_from_many_threads_keeps_everything_in_order);
	tcase_add_test(tc, one_log_write_serves_every_waiting_commit);
	tcase_add_test(tc, log_wraps_many_times_with_checkpoints);
	tcase_add_test(tc, records_larger_than_blocks_span_them);
	tcase_add_test(tc, two_step_checkpoint_lets_appends_continue_while_it_is_written);
	tcase_add_test(tc, checkpoint_that_does_not_fit_is_enospc_and_harmless);
	tcase_add_test(tc, log_write_error_fails_commit_and_later_appends);
	tcase_add_test(tc, replay_callback_error_aborts_open);
	tcase_add_test(tc, abandon_loses_only_uncommitted_records);
	tcase_add_test(tc, previous_filesystems_log_is_ignored_after_mkfs);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
