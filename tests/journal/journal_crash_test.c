/* SPDX-License-Identifier: MIT */
/*
 * journal_crash_test.c - crash consistency of the journal with the file backend's write log: a
 * workload of appends, commits at random points, checkpoints and log wrap-around is recorded;
 * the image is rebuilt as of every flush and of random points between flushes (dropping and
 * reordering unflushed writes). Every rebuilt image must open, and what it replays must be
 * exactly the first p records of the workload for some p no smaller than the last commit that
 * had completed at that point.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/journal.h"
#include "core/ns_wlog.h"
#include "core/sb.h"
#include "tests/journal/jt_kv.h"
#include "tests/journal/jt_util.h"

#define OPS 700

struct op {
	uint32_t key;
	uint64_t val;
};

struct history {
	struct op ops[OPS + 1]; /* by sequence number */
	uint64_t appended;
	size_t commits;
	size_t commit_at[OPS + 1];    /* write-log length when commit i returned */
	uint64_t commit_seq[OPS + 1]; /* highest sequence number it made durable */
};

static void run_workload(struct kv_fs *fs, struct history *h)
{
	for (int i = 0; i < OPS; i++) {
		uint32_t key = (uint32_t)(jt_rand() % KV_KEYS);
		uint64_t val = jt_rand();
		int ret;

		while ((ret = kv_append(fs, key, val)) == -ENOSPC)
			ck_assert_int_eq(journal_checkpoint(fs->j, kv_emit, &fs->model), 0);
		ck_assert_int_eq(ret, 0);
		h->appended++;
		h->ops[h->appended] = (struct op){key, val};
		if (jt_rand() % 4 == 0) {
			ck_assert_int_eq(journal_commit_all(fs->j), 0);
			h->commit_at[h->commits] = ns_wlog_count(ns_wlog_of(fs->ns));
			h->commit_seq[h->commits++] = h->appended;
		}
		if (journal_should_checkpoint(fs->j))
			ck_assert_int_eq(journal_checkpoint(fs->j, kv_emit, &fs->model), 0);
	}
}

/* The newest commit complete when the first upto write-log records had happened. */
static uint64_t committed_at(const struct history *h, size_t upto)
{
	uint64_t seq = 0;

	for (size_t i = 0; i < h->commits; i++)
		if (h->commit_at[i] <= upto)
			seq = h->commit_seq[i];
	return seq;
}

static void check_image(const struct kv_fs *fs, const struct history *h, const char *img,
			size_t upto)
{
	struct kv_state st = {0};
	struct kv_model want;
	struct journal *j;
	struct ns *ns;
	struct sb sb;
	uint64_t p;

	ns = test_ns_open(img, &fs->fmt, false);
	ck_assert_int_eq(sb_read(ns, &sb), 0);
	ck_assert_msg(journal_open(ns, &sb, kv_replay, &st, &j) == 0, "crash point %zu", upto);
	p = journal_next_seq(j) - 1;
	ck_assert_msg(p >= committed_at(h, upto), "point %zu: replayed up to %lu, committed %lu",
		      upto, (unsigned long)p, (unsigned long)committed_at(h, upto));
	ck_assert_uint_le(p, h->appended);
	kv_model_reset(&want);
	for (uint64_t s = 1; s <= p; s++) {
		want.val[h->ops[s].key] = h->ops[s].val;
		want.set[h->ops[s].key] = true;
	}
	for (int k = 0; k < KV_KEYS; k++) {
		ck_assert_msg(st.m.set[k] == want.set[k], "point %zu key %d", upto, k);
		if (want.set[k])
			ck_assert_uint_eq(st.m.val[k], want.val[k]);
	}
	ck_assert_int_eq(journal_close(j), 0);
	ns_close(ns);
}

START_TEST(every_crash_point_recovers_a_committed_prefix)
{
	struct pi_format f = test_format(512, 8, PI_TYPE_1, PI_GUARD_16, false);
	struct sb_params p = {.block_size = 512, .log_blocks = 48};
	struct history *h = calloc(1, sizeof(*h));
	char base[300], img[300];
	struct ns_wlog *log;
	size_t n, points = 0;
	struct kv_fs fs;

	kv_mkfs(&fs, &f, 8192, &p);
	snprintf(base, sizeof(base), "%s.base", fs.path);
	snprintf(img, sizeof(img), "%s.crash", fs.path);
	fs.ns = test_ns_open(fs.path, &f, false);
	ck_assert_int_eq(sb_read(fs.ns, &fs.sb), 0);
	ck_assert_int_eq(ns_wlog_start(fs.ns, base, &log), 0);
	ck_assert_int_eq(journal_open(fs.ns, &fs.sb, NULL, NULL, &fs.j), 0);
	run_workload(&fs, h);
	ck_assert_int_eq(journal_close(fs.j), 0);
	fs.j = NULL;
	ns_close(fs.ns);
	fs.ns = NULL;

	n = ns_wlog_count(log);
	for (size_t i = 0; i <= n; i++) {
		struct ns_wlog_entry e;
		struct ns_wlog_replay_opts o = {.upto = i};

		if (i < n && (ns_wlog_get(log, i, &e) || e.kind != NS_WLOG_FLUSH))
			continue;
		o.upto = i < n ? i + 1 : n; /* just after each flush, and the very end */
		ck_assert_int_eq(ns_wlog_replay(log, base, img, &o), 0);
		check_image(&fs, h, img, o.upto);
		points++;
	}
	for (int r = 0; r < 200; r++) {
		struct ns_wlog_replay_opts o = {.upto = jt_rand() % (n + 1),
						.drop_unflushed = jt_rand() % 2,
						.reorder_unflushed = jt_rand() % 2,
						.seed = jt_rand()};

		ck_assert_int_eq(ns_wlog_replay(log, base, img, &o), 0);
		check_image(&fs, h, img, o.upto);
		points++;
	}
	printf("journal_crash: %zu crash points checked over %zu write-log records, %zu commits\n",
	       points, n, h->commits);
	ns_wlog_free(log);
	unlink(base);
	unlink(img);
	free(h);
	kv_destroy(&fs);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("journal_crash");
	TCase *tc = tcase_create("crash");

	jt_seed("journal_crash");
	tcase_set_timeout(tc, 280);
	tcase_add_test(tc, every_crash_point_recovers_a_committed_prefix);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
