// SPDX-License-Identifier: MIT
/*
 * ns_wlog_test.c - the write log and its replay, against an independent model: a seeded run of
 * writes, write zeroes and flushes on a file namespace is mirrored in memory; replays at every
 * flush point and at 200+ random points rebuild images that must equal the model, and replays
 * that drop or reorder unflushed writes must leave every block as one of the values a crash
 * could have left. The same seed replays to the same image.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ns.h"
#include "core/ns_fault.h"
#include "core/ns_wlog.h"
#include "ns_test_util.h"

#define NLB 128
#define LBA 4096u
#define MD  8u
#define OPS 320

struct model_op {
	enum ns_wlog_kind kind;
	uint64_t slba;
	uint32_t nlb;
	uint8_t *data; /* nlb * LBA, then nlb * MD */
};

struct model {
	uint8_t data[NLB][LBA];
	uint8_t md[NLB][MD];
};

static struct model_op ops[OPS];
static struct model base_state, want;

static void model_apply(struct model *m, const struct model_op *op)
{
	for (uint32_t i = 0; i < op->nlb; i++) {
		if (op->kind == NS_WLOG_ZEROES) {
			memset(m->data[op->slba + i], 0, LBA);
			memset(m->md[op->slba + i], 0xFF, MD);
		} else if (op->kind == NS_WLOG_WRITE) {
			memcpy(m->data[op->slba + i], op->data + (size_t)i * LBA, LBA);
			memcpy(m->md[op->slba + i], op->data + (size_t)op->nlb * LBA + i * MD, MD);
		}
	}
}

/* The image's raw contents (QEMU layout) into a model. */
static void image_read(const char *path, struct model *m)
{
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, m->data, sizeof(m->data), 0), (ssize_t)sizeof(m->data));
	ck_assert_int_eq(pread(fd, m->md, sizeof(m->md), NLB * LBA), (ssize_t)sizeof(m->md));
	close(fd);
}

static void run_op(struct ns *ns, struct model_op *op)
{
	struct ns_pi_params pi = nst_pi(op->slba, 0x1, 0);
	struct ns_request rq = {.op = op->kind == NS_WLOG_ZEROES ? NS_OP_WRITE_ZEROES : NS_OP_FLUSH,
				.slba = op->slba,
				.nlb = op->nlb};

	if (op->kind == NS_WLOG_WRITE)
		ck_assert_int_eq(ns_write_sync(ns, op->slba, op->nlb, op->data,
					       op->data + (size_t)op->nlb * LBA, &pi),
				 0);
	else
		ck_assert_int_eq(ns_submit_wait(ns, &rq), 0);
}

static void make_ops(void)
{
	for (int i = 0; i < OPS; i++) {
		struct model_op *op = &ops[i];
		uint64_t r = test_rand() % 100;

		op->kind = r < 12 ? NS_WLOG_FLUSH : r < 17 ? NS_WLOG_ZEROES : NS_WLOG_WRITE;
		op->nlb = op->kind == NS_WLOG_FLUSH ? 0 : 1 + (uint32_t)(test_rand() % 6);
		op->slba = op->kind == NS_WLOG_FLUSH ? 0 : test_rand() % (NLB - op->nlb + 1);
		if (op->kind != NS_WLOG_WRITE)
			continue;
		op->data = malloc((size_t)op->nlb * (LBA + MD));
		for (size_t b = 0; b < (size_t)op->nlb * (LBA + MD); b++)
			op->data[b] = (uint8_t)test_rand();
	}
}

/* The first OPS ops ran with the log on, after a logged-out prefix that is in the base copy. */
static struct ns_wlog *record_run(char *path, char *base)
{
	struct pi_format fmt = test_format(LBA, MD, PI_TYPE_NONE, PI_GUARD_16, false);
	struct ns_wlog *log;
	struct nst_buf pre;
	struct ns *ns;

	nst_make_image(&fmt, NLB, path, 256);
	snprintf(base, 256, "%s.base", path);
	ns = test_ns_open(path, &fmt, false);
	nst_buf_alloc(&pre, &fmt, 16);
	nst_buf_fill(&pre, &fmt, 40, 0);
	ck_assert_int_eq(ns_write_sync(ns, 40, 16, pre.data, pre.md, NULL), 0);
	nst_buf_free(&pre);
	ck_assert_int_eq(ns_wlog_start(ns, base, &log), 0);
	image_read(base, &base_state);
	make_ops();
	for (int i = 0; i < OPS; i++)
		run_op(ns, &ops[i]);
	ns_close(ns);
	ck_assert_uint_eq(ns_wlog_count(log), OPS);
	return log;
}

static void free_ops(void)
{
	for (int i = 0; i < OPS; i++)
		free(ops[i].data);
}

START_TEST(log_records_every_write_and_flush_in_order)
{
	char path[256], base[256];
	struct ns_wlog *log;

	nst_seed("log_records_every_write_and_flush_in_order");
	log = record_run(path, base);
	for (size_t i = 0; i < OPS; i++) {
		struct ns_wlog_entry e;

		ck_assert_int_eq(ns_wlog_get(log, i, &e), 0);
		ck_assert_int_eq(e.kind, ops[i].kind);
		if (e.kind == NS_WLOG_FLUSH) {
			/* Issued one at a time: a flush covers everything before it. */
			ck_assert_uint_eq(e.durable, i);
			continue;
		}
		ck_assert_uint_eq(e.slba, ops[i].slba);
		ck_assert_uint_eq(e.nlb, ops[i].nlb);
		if (e.kind == NS_WLOG_WRITE) {
			ck_assert_mem_eq(e.data, ops[i].data, (size_t)e.nlb * LBA);
			ck_assert_mem_eq(e.md, ops[i].data + (size_t)e.nlb * LBA, e.nlb * MD);
		}
	}
	ck_assert_int_eq(ns_wlog_get(log, OPS, &(struct ns_wlog_entry){0}), -ENOENT);
	ns_wlog_free(log);
	free_ops();
	unlink(path);
	unlink(base);
}
END_TEST

static void replay_exact(const struct ns_wlog *log, const char *base, const char *out, size_t upto,
			 bool drop)
{
	struct ns_wlog_replay_opts o = {.upto = upto,
					.drop_unflushed = drop,
					.reorder_unflushed = drop,
					.seed = test_rand()};
	static struct model got;

	ck_assert_int_eq(ns_wlog_replay(log, base, out, &o), 0);
	want = base_state;
	for (size_t i = 0; i < upto; i++)
		model_apply(&want, &ops[i]);
	image_read(out, &got);
	ck_assert_msg(memcmp(&got, &want, sizeof(got)) == 0, "replay up to %zu differs", upto);
}

START_TEST(replay_at_every_flush_point_and_random_points_matches_the_model)
{
	char path[256], base[256], out[300];
	struct ns_wlog *log;
	unsigned flushes = 0;

	nst_seed("replay_at_every_flush_point_and_random_points_matches_the_model");
	log = record_run(path, base);
	snprintf(out, sizeof(out), "%s.replay", path);
	/* At a flush point nothing is unflushed, so even a dropping replay is exact. */
	for (size_t i = 0; i < OPS; i++) {
		if (ops[i].kind != NS_WLOG_FLUSH)
			continue;
		replay_exact(log, base, out, i + 1, true);
		flushes++;
	}
	ck_assert_uint_gt(flushes, 10);
	for (int k = 0; k < 200; k++)
		replay_exact(log, base, out, test_rand() % (OPS + 1), false);
	replay_exact(log, base, out, 0, false);
	replay_exact(log, base, out, OPS, false);
	ns_wlog_free(log);
	free_ops();
	unlink(path);
	unlink(base);
	unlink(out);
}
END_TEST

/* Each block must hold its stable value or one an unflushed op left on it. */
static void check_crash_image(const struct model *got, size_t durable, size_t upto)
{
	static struct model stable;

	stable = base_state;
	for (size_t i = 0; i < durable; i++)
		model_apply(&stable, &ops[i]);
	for (uint64_t b = 0; b < NLB; b++) {
		bool ok = !memcmp(got->data[b], stable.data[b], LBA) &&
			  !memcmp(got->md[b], stable.md[b], MD);

		for (size_t i = durable; !ok && i < upto; i++) {
			struct model one = {0};
			const struct model_op *op = &ops[i];

			if (op->kind == NS_WLOG_FLUSH || b < op->slba || b >= op->slba + op->nlb)
				continue;
			memcpy(one.data[b], stable.data[b], LBA);
			memcpy(one.md[b], stable.md[b], MD);
			model_apply(&one, op);
			ok = !memcmp(got->data[b], one.data[b], LBA) &&
			     !memcmp(got->md[b], one.md[b], MD);
		}
		ck_assert_msg(ok, "block %llu after a crash at %zu holds a value never written",
			      (unsigned long long)b, upto);
	}
}

START_TEST(dropping_and_reordering_unflushed_writes_leaves_possible_states)
{
	char path[256], base[256], out[300], again[300];
	static struct model got, got2;
	struct ns_wlog *log;
	unsigned differed = 0;

	nst_seed("dropping_and_reordering_unflushed_writes_leaves_possible_states");
	log = record_run(path, base);
	snprintf(out, sizeof(out), "%s.replay", path);
	snprintf(again, sizeof(again), "%s.again", path);
	for (int k = 0; k < 200; k++) {
		size_t upto = 1 + test_rand() % OPS, durable = 0;
		struct ns_wlog_replay_opts o = {.upto = upto,
						.drop_unflushed = true,
						.reorder_unflushed = k % 2 == 0,
						.seed = test_rand()};

		for (size_t i = 0; i < upto; i++)
			if (ops[i].kind == NS_WLOG_FLUSH)
				durable = i;
		ck_assert_int_eq(ns_wlog_replay(log, base, out, &o), 0);
		image_read(out, &got);
		check_crash_image(&got, durable, upto);
		want = base_state;
		for (size_t i = 0; i < upto; i++)
			model_apply(&want, &ops[i]);
		differed += memcmp(&got, &want, sizeof(got)) != 0;
		/* Same seed, same image. */
		ck_assert_int_eq(ns_wlog_replay(log, base, again, &o), 0);
		image_read(again, &got2);
		ck_assert(memcmp(&got, &got2, sizeof(got)) == 0);
	}
	/* Dropping really drops something on a run this long. */
	ck_assert_uint_gt(differed, 0);
	ns_wlog_free(log);
	free_ops();
	unlink(path);
	unlink(base);
	unlink(out);
	unlink(again);
}
END_TEST

/* The log keeps what reached the file: a lost write is not in it, a misdirected one moved. */
START_TEST(log_records_what_reached_the_file_under_faults)
{
	struct pi_format fmt = test_format(LBA, MD, PI_TYPE_NONE, PI_GUARD_16, false);
	struct ns_fault lost = {.kind = NS_FAULT_LOST, .nth = 1};
	struct ns_fault moved = {.kind = NS_FAULT_MISDIRECT, .nth = 2, .target_lba = 70};
	char path[256], out[300];
	struct ns_wlog_entry e;
	struct ns_wlog *log;
	struct nst_buf buf;
	static struct model img, live;
	struct ns *ns;

	nst_seed("log_records_what_reached_the_file_under_faults");
	nst_make_image(&fmt, NLB, path, sizeof(path));
	snprintf(out, sizeof(out), "%s.replay", path);
	ns = test_ns_open(path, &fmt, false);
	nst_buf_alloc(&buf, &fmt, 2);
	nst_buf_fill(&buf, &fmt, 0, 0);
	ck_assert_int_eq(ns_fault_add(ns, &lost), 0);
	ck_assert_int_eq(ns_fault_add(ns, &moved), 1);
	ck_assert_int_eq(ns_wlog_start(ns, NULL, &log), 0);
	ck_assert_int_eq(ns_write_sync(ns, 10, 2, buf.data, buf.md, NULL), 0);
	ck_assert_int_eq(ns_write_sync(ns, 20, 2, buf.data, buf.md, NULL), 0);
	ck_assert_int_eq(ns_flush_sync(ns), 0);
	ns_close(ns);
	ck_assert_uint_eq(ns_wlog_count(log), 2);
	ck_assert_int_eq(ns_wlog_get(log, 0, &e), 0);
	ck_assert_uint_eq(e.slba, 70);
	ck_assert_int_eq(ns_wlog_replay(log, NULL, out, &(struct ns_wlog_replay_opts){.upto = 2}),
			 0);
	image_read(out, &img);
	image_read(path, &live);
	ck_assert(memcmp(&img, &live, sizeof(img)) == 0);
	ck_assert_int_eq(ns_wlog_replay(log, NULL, out, &(struct ns_wlog_replay_opts){.upto = 3}),
			 -EINVAL);
	ns_wlog_free(log);
	nst_buf_free(&buf);
	unlink(path);
	unlink(out);
}
END_TEST

static Suite *ns_wlog_suite(void)
{
	Suite *s = suite_create("ns_wlog");
	TCase *tc = tcase_create("wlog");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, log_records_every_write_and_flush_in_order);
	tcase_add_test(tc, replay_at_every_flush_point_and_random_points_matches_the_model);
	tcase_add_test(tc, dropping_and_reordering_unflushed_writes_leaves_possible_states);
	tcase_add_test(tc, log_records_what_reached_the_file_under_faults);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(ns_wlog_suite());
}
